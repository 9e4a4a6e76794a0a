//! The service's pipeline: close a sub-block when enough transfers wait (or the oldest has
//! waited long enough), prove it off the request path, settle it, and go again — the engine's
//! `batch`, `prove` and `settle`, driven by what the store says is next. Every step is durable
//! before the next, so the pipeline can be stopped anywhere (a `kill -9` included) and a new
//! one resumes from the store; a failed step (node unreachable, say) is retried with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zkthread_engine::batch::abandon_if_stale;
use zkthread_engine::{
    batch, prove, settle, BatchOutcome, EngineError, Limits, Observer, SettleOptions, SettleOutcome,
};
use zkthread_store::SubBlockStatus;

use crate::Shared;

/// When a sub-block is closed and how it is settled.
#[derive(Clone, Copy, Debug)]
pub struct PipelineConfig {
    pub limits: Limits,
    /// Close a sub-block once the oldest pending transfer has waited this long, even if it
    /// is not full.
    pub max_wait: Duration,
    pub settle: SettleOptions,
    /// How often an idle pipeline looks at the store (a new transfer also wakes it).
    pub poll: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            limits: Limits::default(),
            max_wait: Duration::from_secs(10),
            settle: SettleOptions::default(),
            poll: Duration::from_secs(1),
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What one step did.
enum Step {
    /// Something changed: look again at once.
    Progressed,
    /// Nothing to do for this long (or until a transfer arrives).
    Idle(Duration),
}

/// Runs until the task is dropped; `observer` sees the engine's steps and settle checkpoints.
pub async fn run(shared: Arc<Shared>, config: PipelineConfig, observer: Arc<dyn Observer>) {
    let mut pending_since: Option<Instant> = None;
    let mut backoff = MIN_BACKOFF;
    loop {
        match step(&shared, &config, &mut pending_since, observer.as_ref()).await {
            Ok(Step::Progressed) => {
                shared.set_last_error(None);
                backoff = MIN_BACKOFF;
            }
            Ok(Step::Idle(wait)) => {
                shared.set_last_error(None);
                backoff = MIN_BACKOFF;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "pipeline step failed");
                shared.set_last_error(Some(error));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn step(
    shared: &Shared,
    config: &PipelineConfig,
    pending_since: &mut Option<Instant>,
    observer: &dyn Observer,
) -> Result<Step, String> {
    let (store, key) = (&shared.store, shared.thread);
    let in_flight = store.in_flight(key).map_err(|e| e.to_string())?;
    match in_flight.map(|s| s.status) {
        Some(SubBlockStatus::Built) => {
            prove(store, key, observer).await.map_err(|e| e.to_string())?;
            Ok(Step::Progressed)
        }
        Some(_) => settle_in_flight(shared, config, observer).await,
        None => {
            let pending = store.pending(key).map_err(|e| e.to_string())?.len();
            if pending == 0 {
                *pending_since = None;
                return Ok(Step::Idle(config.poll));
            }
            let since = *pending_since.get_or_insert_with(Instant::now);
            let waited = since.elapsed();
            if pending < config.limits.max_transfers && waited < config.max_wait {
                return Ok(Step::Idle((config.max_wait - waited).min(config.poll)));
            }
            match batch(&shared.client, store, key, config.limits, observer).await {
                Ok(BatchOutcome::Built(built)) => {
                    tracing::info!(
                        sequence = built.sub_block.sequence(),
                        transfers = built.sub_block.body.transfers.len(),
                        rejected = built.rejected.len(),
                        "sub-block built"
                    );
                    if built.still_pending == 0 {
                        *pending_since = None;
                    }
                }
                Ok(BatchOutcome::NothingPending { .. }) => *pending_since = None,
                Err(EngineError::AllRejected { rejected }) => {
                    tracing::info!(rejected = rejected.len(), "every pending transfer was refused");
                }
                Err(error) => return Err(error.to_string()),
            }
            Ok(Step::Progressed)
        }
    }
}

/// Settles the Proven (or Sending) sub-block. One whose inputs changed on-chain is ended as
/// stale, so its transfers are rebuilt on fresh state; a revert is reported as a failure so
/// the pipeline backs off before paying for another try.
async fn settle_in_flight(
    shared: &Shared,
    config: &PipelineConfig,
    observer: &dyn Observer,
) -> Result<Step, String> {
    let (store, key) = (&shared.store, shared.thread);
    match settle(&shared.client, store, key, config.settle, observer).await {
        Ok(SettleOutcome::Sent(sent)) => match &sent.revert_reason {
            None => {
                tracing::info!(
                    sequence = sent.sub_block.sequence(),
                    tx = %zkthread_engine::hex(sent.tx_hash),
                    fee_fri = sent.fee_fri,
                    "sub-block settled"
                );
                Ok(Step::Progressed)
            }
            Some(reason) => Err(format!(
                "settle of sub-block {} reverted: {reason}; its transfers are pending again",
                sent.sub_block.sequence()
            )),
        },
        Ok(SettleOutcome::FoundSettled { .. } | SettleOutcome::NothingToSettle { .. }) => {
            Ok(Step::Progressed)
        }
        Err(EngineError::PreflightBlocked { rebuild: true, why }) => {
            let ended = abandon_if_stale(&shared.client, store, key)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(%why, ended = ?ended.map(|r| r.line()), "not settled: rebuilding");
            Ok(Step::Progressed)
        }
        Err(error) => Err(error.to_string()),
    }
}
