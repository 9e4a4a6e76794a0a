//! The service's pipeline: close a sub-block when enough transfers wait (or the oldest has
//! waited long enough), prove it off the request path, settle it, and go again — the engine's
//! `batch`, `prove` and `settle`, driven by what the store says is next. Every step is durable
//! before the next, so the pipeline can be stopped anywhere (a `kill -9` included) and a new
//! one resumes from the store; a failed step (node unreachable, say) is retried with backoff.
//!
//! Proving runs as its own task, so it overlaps settling: once sub-block `n` is proven, the
//! next one is built ahead on `n`'s outputs (`zkthread_engine::batch_ahead`) and proven while
//! `n` settles. The store keeps the order safe: `n + 1` is sent only after `n` is settled,
//! and if `n` ends without applying anything (stale, reverted), `n + 1` ends with it and both
//! are rebuilt. Batching, settling and reconciling stay in this one loop, so they never race.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use zkthread_engine::program::{ProofParams, TokenProgram};
use zkthread_engine::token::TokenMessage;
use zkthread_engine::batch::{check_stale, StaleCheck};
use zkthread_engine::isolation::end_oversized;
use zkthread_engine::{
    batch, batch_ahead, prove_at, settle, BatchOutcome, EngineError, Limits, Observer, SettleOptions,
    SettleOutcome,
};
use zkthread_client::ChainReader;
use zkthread_store::{MessageBody, Store, StoreError, SubBlockStatus, ThreadKey};

use crate::Shared;

/// When a sub-block is closed and how it is settled.
#[derive(Clone, Copy, Debug)]
pub struct PipelineConfig {
    pub limits: Limits,
    /// Close a sub-block once the oldest pending transfer has waited this long, even if it
    /// is not full.
    pub max_wait: Duration,
    /// How sub-blocks are settled. `settle.input_check` is where the pipeline starts:
    /// `InputCheck::First` always checks the inputs first; `BeforeWrites` adapts, switching to
    /// the early check for `zkthread_engine::adaptive::CALM_SETTLEMENTS` settlements after a
    /// stale revert.
    pub settle: SettleOptions,
    /// How often an idle pipeline looks at the store (a new transfer or a finished proof also
    /// wakes it).
    pub poll: Duration,
    /// Build and prove the next sub-block while the previous one settles.
    pub build_ahead: bool,
    /// The parameter set sub-blocks are proven at, where the program and the sub-block allow
    /// it (`zkthread_engine::prove_at`): `Fast` halves a list thread's proving time.
    pub proof_params: ProofParams,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            limits: Limits::default(),
            max_wait: Duration::from_secs(10),
            settle: SettleOptions::default(),
            poll: Duration::from_secs(1),
            build_ahead: true,
            proof_params: ProofParams::Compact,
        }
    }
}

pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(500);
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait between failed proofs. A sub-block the prover or the off-chain verifier
/// fails on is not retried: the engine ends it and splits its transfers until the one it fails
/// on is refused (`EngineError::Unprovable`). What is left (the store, a stopped prover task)
/// needs no node either and may well fail again: a signed proof takes 15-170 s of both cores
/// here, and retrying it every [`MAX_BACKOFF`] would keep the machine busy for nothing.
/// Settling and batching still retry at [`MAX_BACKOFF`] (a node may come back), and a failure
/// shows in `GET /thread` as the last error meanwhile.
pub(crate) const MAX_PROVE_BACKOFF: Duration = Duration::from_secs(600);

/// What one step did.
pub(crate) enum Step {
    /// Something changed: look again at once.
    Progressed,
    /// Nothing to do for this long (or until a transfer arrives or a proof is done).
    Idle(Duration),
    /// Held up by the chain for this long, for the reason given: not a failure to back off
    /// on, but a wait that may last (a change the pre-confirmed state shows and no closed
    /// block does yet), so the reason shows as the last error while it lasts.
    Waiting(Duration, String),
}

impl Step {
    /// How long to wait before the next step (None: at once) and what the last error shows
    /// meanwhile (None: no error). `waiting_since` is when the run of `Waiting` steps this one
    /// continues began (set by the first, kept across failed steps, cleared by any other
    /// step): the reason says how long the thread has been held up, so a wait that never ends
    /// (a node stuck behind the others) reads as one.
    pub(crate) fn pause(self, waiting_since: &mut Option<Instant>) -> (Option<Duration>, Option<String>) {
        let (wait, why) = match self {
            Step::Progressed => (None, None),
            Step::Idle(wait) => (Some(wait), None),
            Step::Waiting(wait, why) => {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                return (Some(wait), Some(format!("{why} [held up for {} s]", since.elapsed().as_secs())));
            }
        };
        *waiting_since = None;
        (wait, why)
    }
}

/// Exponential backoff between failed attempts.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// From [`MIN_BACKOFF`] up to [`MAX_BACKOFF`].
    pub(crate) fn new() -> Self {
        Backoff::up_to(MAX_BACKOFF)
    }

    /// From [`MIN_BACKOFF`] up to `max`.
    pub(crate) fn up_to(max: Duration) -> Self {
        Backoff { next: MIN_BACKOFF, max }
    }

    pub(crate) fn reset(&mut self) {
        self.next = MIN_BACKOFF;
    }

    /// The wait before the next attempt; doubles the one after.
    pub(crate) fn bump(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }
}

/// The running proof task; aborted when the pipeline stops (a proof that is not recorded is
/// simply made again by the next pipeline).
struct Proving(JoinHandle<Result<(), String>>);

impl Drop for Proving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The loop's state between steps.
struct Pipeline<M: TokenMessage> {
    shared: Arc<Shared<M>>,
    config: PipelineConfig,
    observer: Arc<dyn Observer>,
    /// When the oldest pending transfer was first seen.
    pending_since: Option<Instant>,
    proving: Option<Proving>,
    /// No new proof task before this (after a failed one).
    prove_not_before: Option<Instant>,
    prove_backoff: Backoff,
    /// The oldest sub-block, `(sequence, attempt)`, while its pre-flight is blocked by a
    /// change no closed block shows yet: nothing is built ahead on it meanwhile (helper-91
    /// L1), since the pre-confirmed state already says it will not settle as it is.
    held_up: Option<(u64, u32)>,
}

/// After a pre-flight that says the oldest sub-block must be rebuilt (`why`): ends it if the
/// stale check finds it stale, else looks again after `poll`, not at once (the check takes its
/// verdict on the latest closed block, which may not show yet what blocked the pre-flight),
/// with the reason shown as the last error while it lasts (helper-91 L3: a change that never
/// reaches a closed block, or a node behind, would otherwise hold the thread up unseen).
pub(crate) async fn end_if_stale<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
    why: &str,
    poll: Duration,
) -> Result<Step, String> {
    let no_verdict = match check_stale(client, store, key).await.map_err(|e| e.to_string())? {
        StaleCheck::Ended(ended) => {
            tracing::info!(%why, ended = %ended.line(), "not settled: rebuilding");
            return Ok(Step::Progressed);
        }
        StaleCheck::HeldUp { no_verdict, .. } => no_verdict,
        // The pre-flight and the check's own pre-confirmed reads disagree (two views).
        StaleCheck::Current => "the stale check's pre-confirmed reads find nothing changed".to_string(),
    };
    tracing::info!(%why, %no_verdict, "not settled: no verdict on a closed block yet");
    Ok(Step::Waiting(poll, held_up(why, &no_verdict)))
}

/// The last error while the oldest sub-block is held up (`end_if_stale`): what blocked its
/// pre-flight, and why the stale check took no verdict.
fn held_up(why: &str, no_verdict: &str) -> String {
    format!("the oldest sub-block is held up: {why}; {no_verdict}, so it is neither sent nor rebuilt (looked at again each poll)")
}

/// Runs until the task is dropped; `observer` sees the engine's steps and settle checkpoints
/// (from the loop and the proof task at once: steps may interleave).
pub async fn run<M: TokenMessage>(shared: Arc<Shared<M>>, config: PipelineConfig, observer: Arc<dyn Observer>) {
    shared.settle_entry.set_configured(config.settle.input_check);
    let mut pipeline = Pipeline {
        shared,
        config,
        observer,
        pending_since: None,
        proving: None,
        prove_not_before: None,
        prove_backoff: Backoff::up_to(MAX_PROVE_BACKOFF),
        held_up: None,
    };
    let mut backoff = Backoff::new();
    let mut waiting_since = None;
    loop {
        pipeline.collect_proof().await;
        match pipeline.step().await {
            Ok(step) => {
                let (wait, why) = step.pause(&mut waiting_since);
                pipeline.shared.set_last_error(why);
                backoff.reset();
                if let Some(wait) = wait {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = pipeline.shared.wake.notified() => {}
                    }
                }
            }
            Err(error) => {
                let wait = backoff.bump();
                tracing::warn!(%error, retry_in = ?wait, "pipeline step failed");
                pipeline.shared.set_last_error(Some(error));
                tokio::time::sleep(wait).await;
            }
        }
    }
}

impl<M: TokenMessage> Pipeline<M> {
    async fn step(&mut self) -> Result<Step, String> {
        let (store, key) = (&self.shared.store, self.shared.thread);
        let in_flight = store.all_in_flight(key).map_err(|e| e.to_string())?;
        // After a failed proof, the next attempt waits; settling the parent does not.
        let prove_wait = self
            .prove_not_before
            .and_then(|t| t.checked_duration_since(Instant::now()));
        let built = in_flight.iter().any(|s| s.status == SubBlockStatus::Built);
        if built && self.proving.is_none() && prove_wait.is_none() {
            self.start_proving();
            return Ok(Step::Progressed);
        }
        match in_flight.first().map(|s| &s.status) {
            // Being proven (or waiting to be proven again): the proof task wakes the loop.
            Some(SubBlockStatus::Built) => Ok(Step::Idle(
                prove_wait.map_or(self.config.poll, |wait| wait.min(self.config.poll)),
            )),
            Some(_) => {
                // Proven or sending. Before settling it, build the next sub-block ahead so its
                // proof runs while this one settles (not on one held up: `held_up`).
                let oldest = in_flight.first().map(|s| (s.sequence(), s.attempt));
                let held_up = self.held_up.is_some() && self.held_up == oldest;
                if self.config.build_ahead && !held_up && in_flight.len() == 1 && self.ready_to_batch()? {
                    return self.batch(true).await;
                }
                self.settle_oldest().await
            }
            None if self.ready_to_batch()? => self.batch(false).await,
            None => Ok(Step::Idle(self.idle_wait())),
        }
    }

    /// Whether enough transfers wait (or the oldest has waited long enough) to close a
    /// sub-block. A list counts its transfers, as the batcher's limit does; the queue is read
    /// only as far as one sub-block's worth (this runs on every poll).
    fn ready_to_batch(&mut self) -> Result<bool, String> {
        let (store, key) = (&self.shared.store, self.shared.thread);
        let pending = match M::TOKEN_PROGRAM {
            TokenProgram::Signed => store.pending_count(key),
            TokenProgram::List => store.pending_weight(key, self.config.limits.max_transfers, M::transfer_count),
        }
        .map_err(|e| e.to_string())?;
        if pending == 0 {
            self.pending_since = None;
            return Ok(false);
        }
        let waited = self.pending_since.get_or_insert_with(Instant::now).elapsed();
        Ok(pending >= self.config.limits.max_transfers || waited >= self.config.max_wait)
    }

    fn idle_wait(&self) -> Duration {
        match self.pending_since {
            Some(since) => self.config.max_wait.saturating_sub(since.elapsed()).min(self.config.poll),
            None => self.config.poll,
        }
    }

    async fn batch(&mut self, ahead: bool) -> Result<Step, String> {
        let shared = &self.shared;
        let (store, key, limits) = (&shared.store, shared.thread, self.config.limits);
        let observer = self.observer.as_ref();
        let outcome = if ahead {
            batch_ahead(&shared.client, store, key, limits, observer).await
        } else {
            batch(&shared.client, store, key, limits, observer).await
        };
        match outcome {
            Ok(BatchOutcome::Built(built)) => {
                tracing::info!(
                    sequence = built.sub_block.sequence(),
                    messages = built.sub_block.body.messages.len(),
                    rejected = built.rejected.len(),
                    ahead,
                    "sub-block built"
                );
                if built.still_pending == 0 {
                    self.pending_since = None;
                }
            }
            Ok(BatchOutcome::NothingPending { .. }) => self.pending_since = None,
            Err(EngineError::AllRejected { rejected }) => {
                tracing::info!(rejected = rejected.len(), "every pending transfer was refused");
            }
            // Reconciliation ended or settled the parent meanwhile: look again.
            Err(EngineError::InFlight { .. } | EngineError::ThreadMoved { .. }) if ahead => {}
            // The parent looks unsettleable and no closed block says so yet: settle it next
            // (its pre-flight takes it from there), nothing built ahead on it meanwhile.
            Err(EngineError::ParentHeldUp { sequence, attempt, why, .. }) if ahead => {
                tracing::info!(sequence, %why, "nothing built ahead on a held-up sub-block");
                self.held_up = Some((sequence, attempt));
            }
            Err(error) => return Err(error.to_string()),
        }
        Ok(Step::Progressed)
    }

    /// Proves the Built sub-block on a task of its own; it wakes the loop when done.
    fn start_proving(&mut self) {
        let (shared, observer, params) = (self.shared.clone(), self.observer.clone(), self.config.proof_params);
        self.proving = Some(Proving(tokio::spawn(async move {
            let proved = prove_at(&shared.store, shared.thread, params, observer.as_ref()).await;
            shared.wake.notify_one();
            match proved {
                Ok(_) => Ok(()),
                // The sub-block ended while it was proven (its parent went stale): nothing to
                // record, the rebuilt one gets its own proof.
                Err(EngineError::Store(StoreError::WrongStatus { sequence, actual, .. })) => {
                    tracing::info!(sequence, status = %actual, "sub-block ended while it was proven");
                    Ok(())
                }
                // The engine ended it and is splitting its transfers (the prover would fail on
                // it every time): nothing to wait for, the next sub-block is built at once.
                Err(error @ EngineError::Unprovable { .. }) => {
                    shared.set_last_error(Some(error.to_string()));
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        })));
    }

    /// Takes the proof task's result once it is done (a failure delays the next attempt).
    async fn collect_proof(&mut self) {
        if !self.proving.as_ref().is_some_and(|p| p.0.is_finished()) {
            return;
        }
        let Some(mut task) = self.proving.take() else {
            return;
        };
        let result = (&mut task.0)
            .await
            .unwrap_or_else(|join| Err(format!("the proof task stopped: {join}")));
        match result {
            Ok(()) => {
                self.prove_backoff.reset();
                self.prove_not_before = None;
            }
            Err(error) => {
                let wait = self.prove_backoff.bump();
                tracing::warn!(%error, retry_in = ?wait, "proving failed");
                self.shared.set_last_error(Some(error));
                self.prove_not_before = Some(Instant::now() + wait);
            }
        }
    }

    /// Settles the oldest in-flight sub-block (proven, or sending after a restart). One whose
    /// inputs or thread changed on-chain is ended as stale — with the one built ahead on it —
    /// so its transfers are pending again; a revert is reported as a failure so the pipeline
    /// backs off before paying for another try.
    async fn settle_oldest(&mut self) -> Result<Step, String> {
        let shared = &self.shared;
        let (store, key) = (&shared.store, shared.thread);
        let observer = self.observer.as_ref();
        let outcome = shared
            .settle_entry
            .settling(store, key, self.config.settle, |options| settle(&shared.client, store, key, options, observer))
            .await?;
        // Past its pre-flight (sent, found settled, or gone): no longer held up. A failure
        // leaves `held_up` as it was: keyed on (sequence, attempt), it lapses by itself once
        // another sub-block is the oldest.
        if outcome.is_ok() {
            self.held_up = None;
        }
        match outcome {
            Ok(SettleOutcome::Sent(sent)) => match (&sent.revert_reason, sent.settled()) {
                // Settled (by this send, or by an earlier one this one reverted behind).
                (None, _) | (_, true) => {
                    tracing::info!(
                        sequence = sent.sub_block.sequence(),
                        tx = %zkthread_engine::hex(sent.settled_by().unwrap_or(sent.tx_hash)),
                        fee_fri = sent.fee_fri,
                        "sub-block settled"
                    );
                    Ok(Step::Progressed)
                }
                (Some(reason), false) => Err(format!(
                    "settle of sub-block {} reverted: {reason}; its transfers are pending again",
                    sent.sub_block.sequence()
                )),
            },
            Ok(SettleOutcome::FoundSettled { .. } | SettleOutcome::NothingToSettle { .. }) => {
                Ok(Step::Progressed)
            }
            Err(EngineError::PreflightBlocked { rebuild: true, why, .. }) => {
                let step = end_if_stale(&shared.client, store, key, &why, self.config.poll).await?;
                if matches!(step, Step::Waiting(..)) {
                    let oldest = store.in_flight(key).map_err(|e| e.to_string())?;
                    self.held_up = oldest.map(|s| (s.sequence(), s.attempt));
                }
                Ok(step)
            }
            // Too large to send, however often it is rebuilt: ended, its messages split.
            Err(EngineError::PreflightBlocked { oversize: Some(felts), .. }) => {
                let oldest = store.in_flight(key).map_err(|e| e.to_string())?;
                if let Some(sub_block) = oldest {
                    let detail = end_oversized(store, key, &sub_block, felts).map_err(|e| e.to_string())?;
                    tracing::warn!(%detail, "not settled: too large for one transaction");
                }
                Ok(Step::Progressed)
            }
            // The oldest is built (its proof is on its way): nothing to send yet.
            Err(EngineError::NotProven { .. }) => Ok(Step::Idle(self.config.poll)),
            Err(error) => Err(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_client::{ChainClient, Felt, Url};
    use zkthread_engine::Logged;
    use zkthread_store::fixtures::record_placeholder_sub_block;
    use zkthread_store::{NewTransfer, Store, ThreadKey};

    /// A Built sub-block that does not batch again (its transfers carry no signature record:
    /// only a bug or a tampered store makes one), in a store of its own.
    fn store_with_a_sub_block_the_prover_fails_on() -> (tempfile::TempDir, Store, ThreadKey) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = ThreadKey::new(Felt::from(0xabcu64), 1);
        for from in 0..2u64 {
            let unsigned = NewTransfer { token: Felt::ONE, from: Felt::from(10 + from), to: Felt::TWO, amount: 5, auth: None };
            store.submit(key, unsigned).unwrap();
        }
        let pending = store.pending(key).unwrap();
        record_placeholder_sub_block(&store, key, 0, &pending, (1, 1), None).unwrap();
        (dir, store, key)
    }

    /// Service review F6 (helper-55: the arm was untested): a proof the engine gave up on
    /// (`EngineError::Unprovable`: the sub-block ended, its transfers split) shows as the last
    /// error but is not a failure to back off on: the next sub-block may be proven at once.
    /// No node is asked (the client points at a closed port).
    #[tokio::test]
    async fn a_proof_the_engine_gave_up_on_shows_its_error_without_a_backoff() {
        let (_dir, store, key) = store_with_a_sub_block_the_prover_fails_on();
        let node = Url::parse("http://127.0.0.1:9").unwrap();
        let client = ChainClient::with_chain_id(node, Felt::ONE, Felt::ONE, Felt::ONE);
        let shared = Arc::new(Shared::new(client, store, key));
        let mut pipeline = Pipeline {
            shared: shared.clone(),
            config: PipelineConfig::default(),
            observer: Arc::new(Logged),
            pending_since: None,
            proving: None,
            prove_not_before: None,
            prove_backoff: Backoff::up_to(MAX_PROVE_BACKOFF),
            held_up: None,
        };
        assert!(matches!(pipeline.step().await, Ok(Step::Progressed)), "the Built sub-block is proven");
        let began = Instant::now();
        while !pipeline.proving.as_ref().is_some_and(|p| p.0.is_finished()) {
            assert!(began.elapsed() < Duration::from_secs(60), "the proof task never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        pipeline.collect_proof().await;
        assert!(pipeline.prove_not_before.is_none(), "no backoff after a sub-block the engine ended");
        let error = shared.last_error().expect("the error shows");
        assert!(error.contains("take at most 1 while"), "{error}");
        let store = &shared.store;
        assert!(store.in_flight(key).unwrap().is_none(), "the sub-block ended");
        assert_eq!(store.pending_count(key).unwrap(), 2, "its transfers are pending again");
        // Nothing in flight and too few transfers to close a sub-block at once: it waits.
        assert!(matches!(pipeline.step().await, Ok(Step::Idle(_))));
    }

    /// An observer (test double) that keeps the engine's step lines.
    #[derive(Default)]
    struct RecordedSteps(std::sync::Mutex<Vec<String>>);

    impl Observer for RecordedSteps {
        fn step(&self, what: &str) {
            self.0.lock().unwrap().push(what.into());
        }
    }

    /// helper-91 L1: while the oldest sub-block is held up (its pre-flight blocked by a change
    /// no closed block shows yet), nothing is built ahead on it. A Proven sub-block, and
    /// enough transfers pending to close the next: not held up, the step builds ahead (whose
    /// node reads come before any step line); held up, it goes to settling the oldest, whose
    /// first step line is its reconcile. The node is a closed port, so both fail: what is
    /// asserted is which one was tried. Without the check, the held-up case builds ahead too.
    #[tokio::test]
    async fn nothing_is_built_ahead_on_a_held_up_sub_block() {
        let (_dir, store, key) = store_with_a_sub_block_the_prover_fails_on();
        let oldest = store.in_flight(key).unwrap().expect("in flight");
        store.record_proof(key, 0, oldest.attempt, vec![Felt::ONE]).unwrap();
        for from in 20..22u64 {
            store.submit(key, NewTransfer { token: Felt::ONE, from: Felt::from(from), to: Felt::TWO, amount: 1, auth: None }).unwrap();
        }
        let node = Url::parse("http://127.0.0.1:9").unwrap();
        let client = ChainClient::with_chain_id(node, Felt::ONE, Felt::ONE, Felt::ONE);
        let observer = Arc::new(RecordedSteps::default());
        let mut config = PipelineConfig::default();
        config.limits.max_transfers = 1;
        let mut pipeline = Pipeline {
            shared: Arc::new(Shared::new(client, store, key)),
            config,
            observer: observer.clone(),
            pending_since: None,
            proving: None,
            prove_not_before: None,
            prove_backoff: Backoff::up_to(MAX_PROVE_BACKOFF),
            held_up: None,
        };
        for held_up in [false, true] {
            pipeline.held_up = held_up.then_some((0, oldest.attempt));
            observer.0.lock().unwrap().clear();
            let step = pipeline.step().await;
            assert!(step.is_err(), "no node: held up {held_up}");
            let settling = vec!["reconciling the store with the chain".to_string()];
            let steps = observer.0.lock().unwrap().clone();
            assert_eq!(steps == settling, held_up, "held up {held_up}: {steps:?}");
        }
        assert_eq!(pipeline.shared.store.all_in_flight(key).unwrap().len(), 1, "nothing was built");
    }

    /// helper-91 L3: a blocked pre-flight whose change no closed block shows (here the
    /// pre-confirmed state has the input slot changed, closed block 7 does not) is a wait of
    /// one poll whose reason shows as the last error, not a quiet `Idle`: a change that
    /// never closes would otherwise hold the thread up unseen. The sub-block stays in flight.
    #[tokio::test]
    async fn a_held_up_sub_block_shows_why_while_it_waits() {
        use serde_json::{json, Value};
        let (_dir, store, key) = store_with_a_sub_block_the_prover_fails_on();
        // The registry's `thread(id)` for the placeholder's binding (OS version 1, program 2,
        // contract set 3), next sequence 0; the input slot (1, 2) reads 4 pre-confirmed, 3
        // (as recorded) on closed block 7.
        let answer = |request: &Value| {
            let pinned = request["params"]["block_id"] == json!({"block_number": 7});
            let result = match request["method"].as_str() {
                Some("starknet_blockNumber") => json!(7),
                Some("starknet_getStorageAt") => json!(if pinned { "0x3" } else { "0x4" }),
                Some("starknet_call") => json!(["0x1", "0x2", "0xabc", "0x1", "0x0", "0x3", "0x1", "0x0"]),
                other => panic!("unexpected method {other:?}"),
            };
            json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
        };
        let reader = zkthread_client::scripted_node::scripted_reader(move |body| match body {
            Value::Array(requests) => Value::Array(requests.iter().map(answer).collect()),
            single => answer(single),
        })
        .await;
        let poll = Duration::from_millis(250);
        let step = end_if_stale(&reader, &store, key, "1 input slot(s) changed", poll).await.expect("no error");
        let Step::Waiting(wait, why) = step else { panic!("not a wait with a reason") };
        assert_eq!(wait, poll);
        assert!(why.contains("held up: 1 input slot(s) changed") && why.contains("neither sent nor rebuilt"), "{why}");
        assert!(why.contains("closed block 7 does not show it yet"), "why no verdict: {why}");
        assert_eq!(store.in_flight(key).unwrap().expect("in flight").status, SubBlockStatus::Built);
        // The run loops show it with how long the thread has been held up, from the first
        // wait of a run of them until another step ends the run.
        let mut since = None;
        let shown = Step::Waiting(wait, why.clone()).pause(&mut since);
        assert_eq!(shown, (Some(poll), Some(format!("{why} [held up for 0 s]"))));
        let began = since.expect("the run of waits began");
        since = Some(began - Duration::from_secs(90));
        let (_, again) = Step::Waiting(wait, why.clone()).pause(&mut since);
        assert!(again.is_some_and(|shown| shown.ends_with("[held up for 90 s]")), "the first wait's time is kept");
        assert_eq!(Step::Idle(poll).pause(&mut since), (Some(poll), None), "another step clears the error");
        assert!(since.is_none(), "and ends the run");
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_starts_over_after_a_success() {
        let mut steps = Backoff::new();
        let waits: Vec<Duration> = (0..8).map(|_| steps.bump()).collect();
        assert_eq!(&waits[..3], &[MIN_BACKOFF, MIN_BACKOFF * 2, MIN_BACKOFF * 4]);
        assert_eq!(waits[7], MAX_BACKOFF, "{waits:?}");
        steps.reset();
        assert_eq!(steps.bump(), MIN_BACKOFF);
        // Failed proofs wait longer: a retry every 30 s would keep both cores proving.
        let mut proofs = Backoff::up_to(MAX_PROVE_BACKOFF);
        let waits: Vec<Duration> = (0..14).map(|_| proofs.bump()).collect();
        assert!(waits[8] > MAX_BACKOFF, "{waits:?}");
        assert_eq!(waits[13], MAX_PROVE_BACKOFF, "{waits:?}");
    }
}
