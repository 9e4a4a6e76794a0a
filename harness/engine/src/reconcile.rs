//! Bringing the batcher's store in line with the chain after a crash or restart (run at the
//! start of every batch and settle, and by readers that show a thread's state).
//!
//! For the thread's in-flight sub-block:
//! - `Sending`: every hash it was ever sent under is looked up. A succeeded receipt → Settled.
//!   The latest send reverted → Stale (stale input) or Reverted, transfers back to pending.
//!   No send known to the node → if the thread's next sequence on-chain passed the sub-block's,
//!   another settlement took it: Superseded, transfers back to pending; else back to Proven, to
//!   be sent again. Sending again is safe: the registry accepts one settlement per sequence,
//!   and a send that is found later is still found, as every hash is kept.
//! - `Built`/`Proven` whose sequence was taken on-chain → Superseded, transfers back to pending
//!   (a Proven one that was sent before has its sends looked up first).
//! - Before a sub-block whose sequence was taken is recorded Superseded, or a send of it
//!   Reverted, the registry's record of the sequence is read ([`settled_as_itself`]): if the
//!   settlement that took it carries this sub-block's own public input, the sub-block settled
//!   (a send this directory's lookups missed: a lagging node, or a copy of the directory made
//!   before the send was recorded; for a Built one, its twin proven from such a copy) and is
//!   recorded Settled under that transaction, its messages applied, not handed back to be
//!   refused as replays (helper-81 F6, helper-86 M2). `settle` asks the same before it
//!   records a revert. A taken sequence with no record the node can show is an error (the
//!   node is behind), never Superseded.
//!
//! Each change is one store transaction, so reconciling twice changes nothing the second time
//! and nothing is applied twice or dropped.

use serde::Serialize;
use zkthread_client::registry::{public_input_hash_committed, sub_block_settled_summary, Registry};
use zkthread_client::{ChainReader, Felt, TxLookup, TxOutcome, TxStatus};
use zkthread_store::{MessageBody, Store, SubBlock, SubBlockStatus, ThreadKey};

use crate::codec::settlement;
use crate::error::{ChainContext, EngineError, Result};
use crate::{hex, short_revert_reason};

/// One change reconciliation made.
#[derive(Clone, Debug, Serialize)]
pub struct Reconciled {
    pub sequence: u64,
    pub attempt: u32,
    pub from: &'static str,
    pub to: &'static str,
    pub tx_hash: Option<String>,
    pub detail: String,
}

impl Reconciled {
    pub fn line(&self) -> String {
        format!(
            "sub-block {} (attempt {}): {} -> {}{}",
            self.sequence,
            self.attempt,
            self.from,
            self.to,
            if self.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.detail)
            }
        )
    }
}

/// Resolves the thread's in-flight sub-block against the chain; returns the change made, if any.
pub async fn reconcile<M: MessageBody>(
    client: &ChainReader,
    registry: &Registry,
    store: &Store<M>,
    key: ThreadKey,
) -> Result<Option<Reconciled>> {
    let Some(sub_block) = store.in_flight(key)? else {
        return Ok(None);
    };
    let (sequence, attempt) = (sub_block.sequence(), sub_block.attempt);
    let from = sub_block.status.name();
    let change = |to: &SubBlock<M>, tx_hash: Option<Felt>, detail: String| Reconciled {
        sequence,
        attempt,
        from,
        to: to.status.name(),
        tx_hash: tx_hash.map(hex),
        detail,
    };
    // A Proven sub-block with sends was found unsent before; look again all the same, so a
    // send that surfaces late is never missed (its transfers must not be rebuilt).
    if !sub_block.sends.is_empty() {
        let latest = match sub_block.status {
            SubBlockStatus::Sending { tx_hash, .. } => Some(tx_hash),
            _ => None,
        };
        let mut latest_outcome = None;
        for send in sub_block.sends.iter().rev() {
            let lookup = client
                .lookup_transaction(send.tx_hash)
                .await
                .chain(format!("looking up settle tx {}", hex(send.tx_hash)))?;
            if let TxLookup::Known(outcome) = lookup {
                if outcome.status == TxStatus::Succeeded {
                    let done = record_success(store, key, &sub_block, &outcome)?;
                    return Ok(Some(change(
                        &done,
                        Some(outcome.hash),
                        format!("tx found succeeded in block {}", outcome.block_number),
                    )));
                }
                if Some(send.tx_hash) == latest {
                    latest_outcome = Some(outcome);
                }
            }
        }
        if let Some(outcome) = latest_outcome {
            // The latest send reverted; an earlier one may have settled the sub-block unseen
            // (or `send` could not finish this check before it stopped).
            if let Some(settled) = reverted_behind_itself(client, registry, store, key, &sub_block, &outcome).await? {
                let done = record_success(store, key, &sub_block, &settled)?;
                let detail = format!(
                    "tx {} reverted, but the registry's record of sequence {sequence} carries its public input: settled in block {}",
                    hex(outcome.hash),
                    settled.block_number
                );
                return Ok(Some(change(&done, Some(settled.hash), detail)));
            }
            let (done, reason) = record_revert(store, key, &sub_block, &outcome)?;
            let detail = format!("tx found reverted: {reason}");
            return Ok(Some(change(&done, Some(outcome.hash), detail)));
        }
    }
    let next = registry
        .next_sequence(client, key.thread_id)
        .await
        .chain("reading the thread's next sequence")?;
    if next > sequence {
        if let Some(outcome) = settled_as_itself(client, registry, store, key, &sub_block).await? {
            let done = record_success(store, key, &sub_block, &outcome)?;
            let detail = format!(
                "the registry's record of sequence {sequence} carries its public input: settled in block {} (its sends' lookups missed it)",
                outcome.block_number
            );
            return Ok(Some(change(&done, Some(outcome.hash), detail)));
        }
        let done = store.record_abandoned(
            key,
            sequence,
            attempt,
            SubBlockStatus::Superseded {
                next_sequence: next,
            },
        )?;
        return Ok(Some(change(
            &done,
            None,
            format!(
                "another settlement took sequence {sequence} (next is {next}); {} message(s) pending again",
                done.body.messages.len()
            ),
        )));
    }
    if matches!(sub_block.status, SubBlockStatus::Sending { .. }) {
        let done = store.record_not_sent(key, sequence, attempt)?;
        return Ok(Some(change(
            &done,
            None,
            "the node has no recorded send; it will be sent again".to_owned(),
        )));
    }
    Ok(None)
}

/// For a send of `sub_block` that reverted (`revert`): [`settled_as_itself`] if the sequence
/// was taken, which the registry's "wrong sequence" reason proves whatever a lagging node says
/// of the next sequence, and the next sequence on chain shows otherwise; `None` while the
/// sequence is open (the revert was the sub-block's own: stale input, a thread change).
pub async fn reverted_behind_itself<M: MessageBody>(
    client: &ChainReader,
    registry: &Registry,
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
    revert: &TxOutcome,
) -> Result<Option<TxOutcome>> {
    let wrong_sequence = revert.revert_reason().is_some_and(|r| r.contains(WRONG_SEQUENCE));
    let taken = wrong_sequence
        || registry
            .next_sequence(client, key.thread_id)
            .await
            .chain("reading the thread's next sequence")?
            > sub_block.sequence();
    if taken {
        settled_as_itself(client, registry, store, key, sub_block).await
    } else {
        Ok(None)
    }
}

/// The registry's revert reason for a settlement whose sequence is not the thread's next
/// (`contracts/registry/src/errors.cairo`, `WRONG_SEQUENCE`).
const WRONG_SEQUENCE: &str = "registry: wrong sequence";

/// The receipt of the settlement that took `sub_block`'s sequence (the caller saw it taken),
/// if that settlement is the sub-block itself: the registry's `SubBlockSettledSummary` for the
/// sequence carries the hash of the public input the verifier accepted, and this sub-block's
/// is recomputed from its own body (the thread binding it was batched for, its slot lists and
/// transaction list), so the answer depends neither on looking up the sub-block's sends nor
/// on the thread's current record (nor on a proof: a Built sub-block whose twin, proven from a
/// copy of this data directory, settled is found too, helper-86 M2). `None` when another
/// sub-block took the sequence. Either answer stands on the record's receipt in a closed block
/// (the events are searched through the pre-confirmed block, which a sequencer may still
/// drop). Errors, recording nothing: a taken sequence with no record the node can show (it is
/// behind), and a record whose receipt the node does not have as final or does not agree with.
pub async fn settled_as_itself<M: MessageBody>(
    client: &ChainReader,
    registry: &Registry,
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
) -> Result<Option<TxOutcome>> {
    if !sub_block.status.in_flight() {
        return Ok(None);
    }
    let (thread_id, sequence) = (key.thread_id, sub_block.sequence());
    let record = registry
        .settlement_record(client, thread_id, sequence, search_from(store, key, sequence)?)
        .await
        .chain(format!("reading the registry's record of sequence {sequence} (starknet_getEvents)"))?
        .ok_or(EngineError::SettlementRecordMissing { thread_id, sequence })?;
    let body = &sub_block.body;
    let own = public_input_hash_committed(body.os_version, body.program_hash, body.contract_set_commitment, &settlement(sub_block));
    let recorded = record.summary.public_input_hash;
    let receipt = client
        .lookup_transaction(record.tx_hash)
        .await
        .chain(format!("looking up settle tx {}", hex(record.tx_hash)))?;
    // The receipt must carry the same record (a load-balanced node can answer from two views);
    // one of several, if the settlement shared a multicall with others.
    let carries_record = |outcome: &TxOutcome| {
        outcome.events.iter().any(|event| {
            sub_block_settled_summary(registry.address, std::slice::from_ref(event))
                .is_ok_and(|s| (s.thread_id, s.sequence, s.public_input_hash) == (thread_id, sequence, recorded))
        })
    };
    match receipt {
        TxLookup::Known(outcome) if outcome.status == TxStatus::Succeeded && carries_record(&outcome) => {
            Ok((recorded == own).then_some(outcome))
        }
        _ => Err(EngineError::SettledWithoutReceipt { thread_id, sequence, tx_hash: record.tx_hash }),
    }
}

/// Where to start looking for sequence `sequence`'s record: the latest block this data
/// directory saw an earlier sequence settle in (the registry settles sequences in order, so
/// `sequence` settled there or later), else block 0.
fn search_from<M: MessageBody>(store: &Store<M>, key: ThreadKey, sequence: u64) -> Result<u64> {
    Ok(store
        .sub_blocks(key)?
        .iter()
        .filter_map(|s| match s.status {
            SubBlockStatus::Settled { block, .. } if s.sequence() < sequence => Some(block),
            _ => None,
        })
        .max()
        .unwrap_or(0))
}

/// The registry's short reason of a reverted settle (empty for one that succeeded).
pub fn short_reason(outcome: &TxOutcome) -> String {
    outcome.revert_reason().map(short_revert_reason).unwrap_or_default()
}

/// Records a succeeded settle of `sub_block`: Settled in the receipt's block, with its fee when
/// the transaction is one of its own sends (one its twin sent from a copy of this data
/// directory was paid by that copy's account: no fee is recorded).
pub fn record_success<M: MessageBody>(
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
    outcome: &TxOutcome,
) -> Result<SubBlock<M>> {
    let (sequence, attempt) = (sub_block.sequence(), sub_block.attempt);
    let sent_here = sub_block.sends.iter().any(|send| send.tx_hash == outcome.hash);
    Ok(if sent_here {
        store.record_settled(key, sequence, attempt, outcome.hash, outcome.block_number, outcome.actual_fee)?
    } else {
        store.record_settled_elsewhere(key, sequence, attempt, outcome.hash, outcome.block_number)?
    })
}

/// Records a reverted settle of `sub_block`: Stale for a stale input, Reverted otherwise; both
/// hand the transfers back to pending (a reverted settlement applied nothing). Returns the
/// ended sub-block and the registry's short reason.
pub fn record_revert<M: MessageBody>(
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
    outcome: &TxOutcome,
) -> Result<(SubBlock<M>, String)> {
    let reason = short_reason(outcome);
    let status = if reason.contains("stale input") {
        SubBlockStatus::Stale {
            tx_hash: Some(outcome.hash),
            reason: reason.clone(),
        }
    } else {
        SubBlockStatus::Reverted {
            tx_hash: outcome.hash,
            reason: reason.clone(),
        }
    };
    let ended = store.record_abandoned(key, sub_block.sequence(), sub_block.attempt, status)?;
    Ok((ended, reason))
}
