//! Sending a thread's proven sub-block to the registry, exactly once.
//!
//! Order of events, each durable before the next: reconcile → pre-flight → compute the
//! transaction hash and record `Sending{hash, nonce}` → broadcast → wait for the receipt →
//! record Settled / Stale / Reverted. A crash anywhere is resolved by the next run's
//! reconciliation, which looks the recorded hash up before anything is sent again.

pub use zkthread_client::registry::InputCheck;
use zkthread_client::registry::Registry;
use zkthread_client::{ChainClient, ClientError, Felt, TxStatus};
use zkthread_store::{Store, SubBlock, SubBlockStatus, ThreadKey};

use crate::codec::{settlement, statement};
use crate::error::{ChainContext, EngineError, Result};
use crate::observer::Checkpoint;
use crate::preflight::{self, Preflight};
use crate::program::ProgramMessage;
use crate::reconcile::{reconcile, record_revert, record_success, reverted_behind_itself, short_reason, Reconciled};
use crate::{hex, Observer};

/// Hand-set bounds for settle: estimation would execute the whole on-chain verification once
/// more, and refuses a transaction that would revert (which `force` wants mined). Prices are
/// twice the current ones. L1 data gas pays for the state diff: measured 576 + 32 per written
/// slot on devnet 0.10.1, bounded at twice that and at least 10,000.
const SETTLE_L1_DATA_GAS: u64 = 10_000;

fn l1_data_gas_bound(written_slots: usize) -> u64 {
    SETTLE_L1_DATA_GAS.max(2 * (576 + 32 * written_slots as u64))
}
const PRICE_MULTIPLIER: u128 = 2;

/// Largest L2 gas a settle may use by default: above what a full verification uses on
/// devnet 0.10.1 (~7.6e8 at the calldata bound).
pub const DEFAULT_L2_GAS: u64 = 4_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleOptions {
    /// Send even if the pre-settlement checks fail (the transaction is mined as REVERTED and
    /// the prover pays its fee).
    pub force: bool,
    pub l2_gas: u64,
    /// Which entry point the registry is sent the settlement to ([`InputCheck`]).
    pub input_check: InputCheck,
}

impl Default for SettleOptions {
    fn default() -> Self {
        SettleOptions {
            force: false,
            l2_gas: DEFAULT_L2_GAS,
            input_check: InputCheck::BeforeWrites,
        }
    }
}

/// What [`settle`] did.
#[derive(Debug)]
pub enum SettleOutcome<M = zkthread_store::NewTransfer> {
    /// No proven sub-block (reconciliation may have ended one; see `reconciled`).
    NothingToSettle { reconciled: Option<Reconciled> },
    /// Reconciliation found an earlier send of it settled: nothing was sent now.
    FoundSettled {
        sub_block: SubBlock<M>,
        tx_hash: Felt,
        block: u64,
        reconciled: Reconciled,
    },
    Sent(Sent<M>),
}

/// A settle transaction sent by this call and mined.
#[derive(Debug)]
pub struct Sent<M = zkthread_store::NewTransfer> {
    /// The sub-block as it ended: Settled, or Stale / Reverted with its messages pending again.
    /// Settled under another transaction than `tx_hash` when this send reverted because an
    /// earlier send of the same sub-block had taken the sequence.
    pub sub_block: SubBlock<M>,
    pub tx_hash: Felt,
    pub nonce: Felt,
    pub block: u64,
    pub fee_fri: u128,
    /// The registry's short reason when this send reverted.
    pub revert_reason: Option<String>,
    pub preflight: Preflight,
    pub reconciled: Option<Reconciled>,
    pub forced: bool,
}

impl<M> Sent<M> {
    /// Whether the sub-block settled (by this send, or by an earlier one that took the
    /// sequence before this one reverted).
    pub fn settled(&self) -> bool {
        self.settled_by().is_some()
    }

    /// The transaction that settled the sub-block: `tx_hash`, or the earlier send this one
    /// reverted behind; `None` if it did not settle.
    pub fn settled_by(&self) -> Option<Felt> {
        match self.sub_block.status {
            SubBlockStatus::Settled { tx_hash, .. } => Some(tx_hash),
            _ => None,
        }
    }
}

/// Settles the thread's Proven sub-block with `client`'s account, after the pre-settlement
/// checks (unless `options.force`). Any thread program: the store's message type names it.
pub async fn settle<M: ProgramMessage>(
    client: &ChainClient,
    store: &Store<M>,
    key: ThreadKey,
    options: SettleOptions,
    observer: &dyn Observer,
) -> Result<SettleOutcome<M>> {
    let thread_id = key.thread_id;
    let registry = Registry {
        address: key.registry,
    };
    observer.step("reconciling the store with the chain");
    let reconciled = reconcile(client, &registry, store, key).await?;
    observer.done(&reconciled.as_ref().map(Reconciled::line).unwrap_or_else(|| "nothing to do".into()));

    let Some(sub_block) = store.in_flight(key)? else {
        return Ok(after_reconcile(store, key, reconciled)?);
    };
    match &sub_block.status {
        SubBlockStatus::Proven => {}
        SubBlockStatus::Built => {
            return Err(EngineError::NotProven {
                thread_id,
                sequence: sub_block.sequence(),
            })
        }
        other => {
            return Err(EngineError::SendUnresolved {
                thread_id,
                sequence: sub_block.sequence(),
                status: other.name(),
            })
        }
    }
    let preflight = check(client, &registry, &sub_block, key, observer).await?;
    if let Some(why) = &preflight.blocked_by {
        if !options.force {
            return Err(EngineError::PreflightBlocked {
                why: why.clone(),
                rebuild: preflight.stale_inputs > 0 || !preflight.sequence_matches || !preflight.thread_current,
                oversize: preflight.oversize(),
            });
        }
    }
    send(client, store, key, sub_block, options, preflight, reconciled, observer).await
}

/// No sub-block in flight: either reconciliation found the last send settled, or there is
/// nothing to settle.
fn after_reconcile<M: ProgramMessage>(
    store: &Store<M>,
    key: ThreadKey,
    reconciled: Option<Reconciled>,
) -> Result<SettleOutcome<M>> {
    let Some(done) = reconciled.clone().filter(|r| r.to == "settled") else {
        return Ok(SettleOutcome::NothingToSettle { reconciled });
    };
    let record = store
        .sub_blocks(key)?
        .into_iter()
        .find(|s| s.sequence() == done.sequence && s.attempt == done.attempt)
        .ok_or_else(|| EngineError::Corrupt("the reconciled sub-block vanished".into()))?;
    let SubBlockStatus::Settled { tx_hash, block, .. } = record.status else {
        return Err(EngineError::Corrupt(format!(
            "sub-block {} was reconciled as settled but is {}",
            done.sequence,
            record.status.name()
        )));
    };
    Ok(SettleOutcome::FoundSettled {
        sub_block: record,
        tx_hash,
        block,
        reconciled: done,
    })
}

/// The pre-settlement checks of a proven sub-block.
async fn check<M: ProgramMessage>(
    client: &ChainClient,
    registry: &Registry,
    sub_block: &SubBlock<M>,
    key: ThreadKey,
    observer: &dyn Observer,
) -> Result<Preflight> {
    let statement = statement(sub_block, key.registry)?;
    let settle = settlement(sub_block);
    observer.step(
        "pre-settlement checks (proof off-chain, thread, input slots, sequence, verifier class, calldata)",
    );
    let proof_verifies = M::verify_proof(&statement, &settle.proof)?;
    let claim = preflight::Claim {
        thread_id: key.thread_id,
        sequence: sub_block.sequence(),
        thread: preflight::ThreadBinding::of_sub_block(&sub_block.body),
        inputs: &statement.inputs,
        proof_verifies,
        calldata_felts: settle.calldata().len(),
        prover: client.address(),
    };
    let preflight = preflight::check(client, registry, &claim).await?;
    observer.done(preflight.blocked_by.as_deref().unwrap_or("all passed"));
    Ok(preflight)
}

/// Records the send, broadcasts, waits for the receipt and records how it ended.
#[allow(clippy::too_many_arguments)]
async fn send<M: ProgramMessage>(
    client: &ChainClient,
    store: &Store<M>,
    key: ThreadKey,
    sub_block: SubBlock<M>,
    options: SettleOptions,
    preflight: Preflight,
    reconciled: Option<Reconciled>,
    observer: &dyn Observer,
) -> Result<SettleOutcome<M>> {
    let (sequence, attempt) = (sub_block.sequence(), sub_block.attempt);
    let registry = Registry {
        address: key.registry,
    };
    let settle = settlement(&sub_block);
    let bounds = client
        .bounds_at_current_prices(0, options.l2_gas, l1_data_gas_bound(sub_block.body.outputs.len()), PRICE_MULTIPLIER)
        .await
        .chain("reading the current gas prices")?;
    let call = registry.settle_call_checking(&settle, options.input_check).chain("encoding the settle call")?;
    let prepared = client
        .prepare_invoke(vec![call], bounds)
        .await
        .chain("preparing the settle transaction")?;
    // The record with this send in it: its outcome is recorded as this sub-block's own send.
    let sub_block = store.record_sending(key, sequence, attempt, prepared.hash, prepared.nonce)?;
    observer.reached(Checkpoint::SendRecorded);

    observer.step(&format!(
        "settling sub-block {sequence} (tx {}, {} calldata felts; on-chain verification)",
        hex(prepared.hash),
        preflight.calldata_felts
    ));
    if let Err(error) = client.broadcast(&prepared).await {
        if matches!(error, ClientError::Rejected { .. }) {
            // The node refused it outright: nothing is in flight, it may be sent again.
            store.record_not_sent(key, sequence, attempt)?;
        }
        return Err(EngineError::Chain {
            doing: "broadcasting settle".into(),
            source: error,
        });
    }
    observer.reached(Checkpoint::Broadcast);
    let outcome = client
        .wait_for_receipt(prepared.hash)
        .await
        .chain("waiting for the settle receipt (the next settle looks it up again)")?;
    let (ended, revert_reason) = match &outcome.status {
        TxStatus::Succeeded => {
            let ended = record_success(store, key, &sub_block, &outcome)?;
            observer.done(&format!("SUCCEEDED in block {}", outcome.block_number));
            (ended, None)
        }
        TxStatus::Reverted { .. } => match reverted_behind_itself(client, &registry, store, key, &sub_block, &outcome).await? {
            // An earlier send of this very sub-block took the sequence first (one a lagging
            // node hid from `reconcile`): it settled, and its messages must not go back to
            // pending to be refused as replays (helper-81 F6). This send paid for its revert.
            // If the check fails, the store stays Sending and the next `reconcile` asks again.
            Some(settled) => {
                let reason = short_reason(&outcome);
                let ended = record_success(store, key, &sub_block, &settled)?;
                observer.done(&format!(
                    "REVERTED '{reason}', but sub-block {sequence} had settled already (tx {}, block {})",
                    hex(settled.hash),
                    settled.block_number
                ));
                (ended, Some(reason))
            }
            None => {
                let (ended, reason) = record_revert(store, key, &sub_block, &outcome)?;
                observer.done(&format!("REVERTED '{reason}'"));
                (ended, Some(reason))
            }
        },
    };
    Ok(SettleOutcome::Sent(Sent {
        sub_block: ended,
        tx_hash: outcome.hash,
        nonce: prepared.nonce,
        block: outcome.block_number,
        fee_fri: outcome.actual_fee,
        revert_reason,
        preflight,
        reconciled,
        forced: options.force,
    }))
}
