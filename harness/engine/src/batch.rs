//! Building a thread's next sub-block from its pending signed messages (transfers or lists,
//! `crate::token`), against the balances and thread-key slots on-chain now (`SignedBatcher`:
//! every signature and nonce is checked before batching; refused messages are kept with their
//! reason).

use std::collections::{BTreeMap, BTreeSet};

use zkthread_client::registry::{Registry, ThreadInfo};
use zkthread_client::{ChainReader, Felt};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::{SignedBatchError, SignedBatcher, SignedTransferTx};
use zkthread_prover::Slot;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};
use zkthread_store::{Message, MessageBody, NewSubBlock, NewTransfer, Rejected, Store, SubBlock, SubBlockStatus, ThreadKey};

use crate::codec::{to_entries, tx_list_record};
use crate::error::{ChainContext, EngineError, RefusedMessage, Result};
use crate::preflight::ThreadBinding;
use crate::program::thread_statement;
use crate::reconcile::{reconcile, Reconciled};
use crate::token::TokenMessage;
use crate::{hex, Observer};

/// Distinct slots per sub-block by default: what fits the 5,000-felt settle calldata goal under
/// `SIGNED_PARAMS`. A slot costs 7 felts (input and output, 3 each, and its owner in the proof's
/// witness) on top of the STARK proof, ~3,720 felts at the default 256 transfers (2^15 rows;
/// `docs/signed-transfers.md`, "Cost": 3,853 with 129 owners) plus up to ~240 of wiggle
/// (queries sharing Merkle paths), and 7 fixed felts: `(5,000 - 3,960 - 7) / 7 = 147`, rounded
/// down. (110 until issue 11's verifier cuts, when it assumed a 4,300-felt proof.)
pub const DEFAULT_MAX_SLOTS: usize = 140;
/// The most slots `--max-slots` takes: the same count with no margin left (147). More could
/// never settle in one transaction: preflight would block every such sub-block, and it would
/// hold the thread's next sequence.
pub const MAX_SLOTS_WITHIN_CALLDATA: usize = 147;
pub const DEFAULT_MAX_TRANSFERS: usize = 256;

/// How much one sub-block takes; what does not fit stays pending for the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Pending transfers looked at (oldest first, counting each of a list's; a list longer
    /// than this goes alone); never more than one proof holds
    /// ([`TokenMessage::MAX_TRANSFERS_PER_PROOF`]: a larger sub-block could not be proven, and would hold the
    /// thread's next sequence until abandoned).
    pub max_transfers: usize,
    /// Distinct slots (balances and the senders' key slots).
    pub max_slots: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_transfers: DEFAULT_MAX_TRANSFERS,
            max_slots: DEFAULT_MAX_SLOTS,
        }
    }
}

/// What [`batch`] (or a program's own batch over the engine) did.
#[derive(Debug)]
pub enum BatchOutcome<M = zkthread_store::NewTransfer> {
    Built(Built<M>),
    /// No pending transfer (after reconciling, which may have handed some back).
    NothingPending { reconciled: Option<Reconciled> },
}

/// A sub-block recorded as Built.
#[derive(Debug)]
pub struct Built<M = zkthread_store::NewTransfer> {
    pub sub_block: SubBlock<M>,
    /// Refused messages (recorded with their reasons), in submission order.
    pub rejected: Vec<Rejected<M>>,
    pub still_pending: usize,
    pub reconciled: Option<Reconciled>,
}

/// The slots a signed transfer touches: both balances and the sender's key slot.
pub fn slots_of(t: &SignedTransferTx) -> [Slot; 3] {
    let slot = |key| Slot {
        contract: t.token,
        key,
    };
    [
        slot(balance_slot_key(t.from)),
        slot(balance_slot_key(t.to)),
        slot(thread_key_slot_key(t.from)),
    ]
}

/// The slots a signed list touches: the sender's balance and key slot, then every receiver's
/// balance.
pub fn list_slots_of(list: &SignedTransferListTx) -> Vec<Slot> {
    let slot = |key| Slot { contract: list.token, key };
    let sender = [slot(balance_slot_key(list.from)), slot(thread_key_slot_key(list.from))];
    sender
        .into_iter()
        .chain(list.transfers.iter().map(|(to, _)| slot(balance_slot_key(*to))))
        .collect()
}

/// The current on-chain value of every slot the messages `txs` of program `M` touch, each
/// read once.
pub async fn read_message_slots<'a, M: TokenMessage>(
    client: &ChainReader,
    txs: impl Iterator<Item = &'a M::Tx>,
) -> Result<BTreeMap<Slot, Felt>> {
    read_slots(client, txs.flat_map(M::slots)).await
}

/// The current on-chain value of each of `slots`, each read once, in batched requests.
pub async fn read_slots(client: &ChainReader, slots: impl Iterator<Item = Slot>) -> Result<BTreeMap<Slot, Felt>> {
    let distinct: Vec<Slot> = slots.collect::<BTreeSet<_>>().into_iter().collect();
    let keys: Vec<(Felt, Felt)> = distinct.iter().map(|slot| (slot.contract, slot.key)).collect();
    let values = client.storage_many(&keys).await.chain("reading the slots pending transfers touch")?;
    Ok(distinct.into_iter().zip(values).collect())
}

/// How many transfers from the front of `transfers` fit in `max_slots` distinct slots (at
/// least one, so a sub-block always makes progress).
pub fn prefix_within_slots(transfers: &[SignedTransferTx], max_slots: usize) -> usize {
    prefix_within::<NewTransfer>(transfers, max_slots)
}

/// How many messages from the front of `txs` fit in `max_slots` distinct slots (at least one,
/// so a sub-block always makes progress).
pub fn prefix_within<M: TokenMessage>(txs: &[M::Tx], max_slots: usize) -> usize {
    let mut slots = BTreeSet::new();
    for (taken, tx) in txs.iter().enumerate() {
        slots.extend(M::slots(tx));
        if slots.len() > max_slots {
            return taken.max(1);
        }
    }
    txs.len()
}


/// Builds and records the thread's next sub-block. Reconciles first (a sub-block whose settle
/// landed is never taken for stale), ends an in-flight sub-block whose inputs or thread changed
/// on-chain, and refuses to build while another one is in flight.
pub async fn batch<M: TokenMessage>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
    limits: Limits,
    observer: &dyn Observer,
) -> Result<BatchOutcome<M>> {
    build(client, store, key, limits, false, observer).await
}

/// Like [`batch`], but while the thread's in-flight sub-block is proven or being sent, builds
/// the next one *ahead* on its outputs (next sequence; the slots it wrote read as its output
/// values), so proving it overlaps that one's settlement. The sub-block built ahead is sent
/// only once its parent is settled, and ends with it (handing its transfers back) if the
/// parent ends without applying anything: it is then rebuilt on fresh state.
pub async fn batch_ahead<M: TokenMessage>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
    limits: Limits,
    observer: &dyn Observer,
) -> Result<BatchOutcome<M>> {
    build(client, store, key, limits, true, observer).await
}

async fn build<M: TokenMessage>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
    limits: Limits,
    ahead: bool,
    observer: &dyn Observer,
) -> Result<BatchOutcome<M>> {
    let thread_id = key.thread_id;
    let registry = Registry {
        address: key.registry,
    };
    let mut reconciled = reconcile(client, &registry, store, key).await?;
    // The thread as the stale check read it, if it did (a Built or Proven sub-block in flight).
    let mut thread_read = None;
    let held_up = match stale_check_reading(client, store, key, &mut thread_read).await? {
        StaleCheck::Ended(stale) => {
            reconciled = Some(stale);
            None
        }
        StaleCheck::HeldUp { seen, no_verdict } => Some(format!("{seen}; {no_verdict}")),
        StaleCheck::Current => None,
    };
    if let Some(r) = &reconciled {
        tracing::info!(change = %r.line(), "reconciled");
    }
    let parent = match (ahead, store.all_in_flight(key)?.as_slice()) {
        (_, []) => None,
        (true, [parent])
            if matches!(
                parent.status,
                SubBlockStatus::Proven | SubBlockStatus::Sending { .. }
            ) =>
        {
            // Not on a parent the pre-confirmed state already says will not settle as it is:
            // its child would be proven for nothing (helper-91 L1).
            if let Some(why) = held_up {
                return Err(EngineError::ParentHeldUp { thread_id, sequence: parent.sequence(), attempt: parent.attempt, why });
            }
            Some(parent.clone())
        }
        (_, [in_flight, ..]) => {
            return Err(EngineError::InFlight {
                thread_id,
                sequence: in_flight.sequence(),
                status: in_flight.status.name(),
            })
        }
    };
    // The oldest messages carrying at most a sub-block's transfers (a list longer than that
    // alone), read without decoding the rest of the queue.
    let pending = store.pending_within(key, limits.max_transfers.min(M::MAX_TRANSFERS_PER_PROOF), M::transfer_count)?;
    if pending.is_empty() {
        return Ok(BatchOutcome::NothingPending { reconciled });
    }
    // While a sub-block the prover failed on (or too large to settle) is being split: at most
    // half of its messages.
    let pending = crate::isolation::cap_round(store, key, pending)?;

    observer.step(&format!(
        "reading thread {thread_id} and the slots {} pending {}(s) touch",
        pending.len(),
        M::NOUN
    ));
    // The stale check's read serves a sub-block built ahead only: its parent, read from the
    // store after that read, was still in flight, so the thread's sequence then is the parent's
    // (checked below). With no parent a settlement may have landed in between: read it now.
    let (info, contracts) = match thread_read.filter(|_| parent.is_some()) {
        Some(info) => {
            let contracts = registry
                .thread_contracts(client, thread_id)
                .await
                .chain(format!("reading the contract set of thread {thread_id}"))?;
            (info, contracts)
        }
        None => registry
            .thread_with_contracts(client, thread_id)
            .await
            .chain(format!("reading thread {thread_id} of registry {}", hex(registry.address)))?,
    };
    if !info.active {
        return Err(EngineError::ThreadInactive {
            thread_id,
            registry: registry.address,
        });
    }
    if info.program_hash != M::TOKEN_PROGRAM.program_hash() {
        return Err(EngineError::OtherProgram { thread_id, program_hash: info.program_hash, expected: M::TOKEN_PROGRAM });
    }
    let contract_set: BTreeSet<_> = contracts.iter().copied().collect();
    // Built ahead, the sub-block takes the sequence after its parent's, which must still be the
    // thread's next one on-chain (reconciliation above ended the parent otherwise).
    let sequence = match &parent {
        Some(parent) if info.sequence != parent.sequence() => {
            return Err(EngineError::ThreadMoved {
                thread_id,
                expected: parent.sequence(),
                on_chain: info.sequence,
            })
        }
        Some(parent) => parent.sequence() + 1,
        None => info.sequence,
    };

    // Records written before transfers were signed cannot be proven, and a message touching
    // more slots than one settlement carries could never settle: refuse them by name.
    let mut rejected = Vec::new();
    let mut signed: Vec<(Message<M>, M::Tx)> = Vec::new();
    for stored in pending {
        match M::signed(&stored).map(|tx| (M::slots(&tx).into_iter().collect::<BTreeSet<_>>().len(), tx)) {
            Some((slots, _)) if slots > MAX_SLOTS_WITHIN_CALLDATA => rejected.push(Rejected {
                message: stored,
                reason: format!("touches {slots} slots; one settlement carries at most {MAX_SLOTS_WITHIN_CALLDATA}"),
            }),
            Some((_, tx)) => signed.push((stored, tx)),
            None => rejected.push(Rejected {
                message: stored,
                reason: "not signed by the sender's thread key (no valid signature record)".into(),
            }),
        }
    }
    let txs: Vec<M::Tx> = signed.iter().map(|(_, tx)| tx.clone()).collect();
    let fit = prefix_within::<M>(&txs, limits.max_slots);
    let (txs, signed) = (&txs[..fit], &signed[..fit]);
    let mut current =
        read_slots(client, txs.iter().filter(|t| contract_set.contains(&M::token(t))).flat_map(M::slots)).await?;
    if let Some(parent) = &parent {
        for output in &parent.body.outputs {
            let slot = Slot {
                contract: output.contract,
                key: output.key,
            };
            if let Some(value) = current.get_mut(&slot) {
                *value = output.value;
            }
        }
    }
    // Read after the slots: a closed block past this one includes the state they were read
    // from, which is what the stale check may judge them on.
    let closed_block_at_build = client.latest_closed_block().await.chain("reading the latest closed block")?;
    observer.done(&format!(
        "sequence {sequence}{}, {} slot(s)",
        if parent.is_some() { " (built ahead)" } else { "" },
        current.len()
    ));

    let mut statement = thread_statement(&info, client.chain_id(), registry.address, thread_id);
    statement.sequence = Felt::from(sequence);
    let batcher = SignedBatcher::new(statement, contracts.iter().copied());
    // `taken`: the messages the batcher looked at; those it deferred (past one proof) stay
    // pending for the next sequence.
    let (sub_block, refused, taken) = match M::batch(&batcher, txs, |slot: &Slot| current.get(slot).copied()) {
        Ok(mut batch) => {
            let refused = std::mem::take(&mut batch.rejected);
            let taken = batch.taken;
            (Some(batch), refused, taken)
        }
        Err(SignedBatchError::Empty { rejected }) => (None, rejected, txs.len()),
        Err(error) => return Err(EngineError::Batch(error)),
    };
    let refused_ids: BTreeSet<usize> = refused.iter().map(|r| r.index()).collect();
    rejected.extend(refused.iter().map(|reason| Rejected {
        message: signed[reason.index()].0.clone(),
        reason: reason.reason(),
    }));
    rejected.sort_by_key(|r| r.message.id);

    let Some(sub_block) = sub_block else {
        store.record_rejected(key, rejected.clone())?;
        let rejected = rejected.into_iter().map(|r| RefusedMessage { id: r.message.id, reason: r.reason }).collect();
        return Err(EngineError::AllRejected { rejected });
    };
    let accepted: Vec<Message<M>> = signed[..taken]
        .iter()
        .enumerate()
        .filter(|(index, _)| !refused_ids.contains(index))
        .map(|(_, (t, _))| t.clone())
        .collect();
    let (record, still_pending) = store.record_batch_counted(
        key,
        NewSubBlock {
            sequence,
            chain_id: client.chain_id(),
            os_version: info.os_version,
            program_hash: info.program_hash,
            contract_set_commitment: info.contract_set_commitment,
            messages: accepted,
            transactions: tx_list_record(&sub_block.transactions),
            inputs: to_entries(&sub_block.inputs),
            outputs: to_entries(&sub_block.outputs),
            parent_attempt: parent.as_ref().map(|p| p.attempt),
            closed_block_at_build: Some(closed_block_at_build),
        },
        rejected.clone(),
    )?;
    Ok(BatchOutcome::Built(Built {
        sub_block: record,
        rejected,
        still_pending,
        reconciled,
    }))
}

/// A Built or Proven sub-block whose input slots changed on-chain, or whose thread moved to
/// another OS version or program (`upgrade_thread`), can never settle: end it as Stale
/// (nothing is sent, nothing paid) so its messages are rebuilt on the thread as it is now
/// (messages of a program the thread no longer runs then wait, refused by batch with
/// [`EngineError::OtherProgram`], until it runs theirs again). If its sequence was taken
/// meanwhile, it is reconciled instead ([`reconcile`]): Settled if the settlement that took it
/// was its own, else Superseded. Either verdict is taken on the latest closed block, all its
/// reads pinned to it; a change seen only in the pre-confirmed state is looked at again on the
/// next call ([`check_stale`] says why it was not ended).
pub async fn abandon_if_stale<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
) -> Result<Option<Reconciled>> {
    Ok(match check_stale(client, store, key).await? {
        StaleCheck::Ended(change) => Some(change),
        StaleCheck::Current | StaleCheck::HeldUp { .. } => None,
    })
}

/// What the stale check ([`abandon_if_stale`]) found about the thread's oldest in-flight
/// sub-block.
#[derive(Debug)]
pub enum StaleCheck {
    /// Nothing Built or Proven in flight, or the pre-confirmed state says it can still settle.
    Current,
    /// Ended Stale, or reconciled (Settled, Superseded).
    Ended(Reconciled),
    /// The pre-confirmed state says it cannot settle as it is (`seen`), but no verdict could
    /// be taken on a closed block yet (`no_verdict`): it is held up, neither ended nor worth
    /// building on (helper-91 L1, L3).
    HeldUp { seen: String, no_verdict: String },
}

/// [`abandon_if_stale`], saying why a sub-block that looks unsettleable was not ended.
pub async fn check_stale<M: MessageBody>(client: &ChainReader, store: &Store<M>, key: ThreadKey) -> Result<StaleCheck> {
    stale_check_reading(client, store, key, &mut None).await
}

/// [`check_stale`], leaving the thread in `thread` if it read it (only a Built or Proven
/// sub-block in flight needs it), so a batch that follows does not read it again.
async fn stale_check_reading<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    key: ThreadKey,
    thread: &mut Option<ThreadInfo>,
) -> Result<StaleCheck> {
    let Some(sub_block) = store.in_flight(key)? else {
        return Ok(StaleCheck::Current);
    };
    if !matches!(
        sub_block.status,
        SubBlockStatus::Built | SubBlockStatus::Proven
    ) {
        return Ok(StaleCheck::Current);
    }
    let registry = Registry { address: key.registry };
    let now = registry.thread(client, key.thread_id).await.chain("reading the thread")?;
    let Some(seen) = why_unsettleable(client, &now, &sub_block.body, None).await? else {
        *thread = Some(now);
        return Ok(StaleCheck::Current);
    };
    let held_up = |no_verdict: String| Ok(StaleCheck::HeldUp { seen: seen.clone(), no_verdict });
    // Ending it hands its messages back, so the verdict is taken on one closed block: the
    // thread (its binding and next sequence) and the input slots read as of one block number.
    // Read from the pre-confirmed state, a node whose view is ahead could answer the slots
    // (changed by this very sub-block's settlement: a twin sent from a copy of this data
    // directory, a send whose lookup missed) and one behind it the sequence (still open),
    // which would end a settled sub-block Stale (helper-86 L3, helper-88 6).
    let (block, closed, why) = match read_at_closed_block(client, &registry, key.thread_id, &sub_block.body).await? {
        ClosedRead::Read(block, closed, why) => (block, closed, why),
        ClosedRead::Missing(block) => {
            *thread = Some(now);
            return held_up(format!("a node does not have closed block {block} yet"));
        }
    };
    if closed.sequence > sub_block.sequence() {
        // Reconciling reads the sequence again: one that reads open now is a node behind (or
        // two views of it), not a stale sub-block, and not a loop to run again at once. The
        // thread read before it is not handed on: its sequence may be the one just taken.
        return match reconcile(client, &registry, store, key).await? {
            Some(change) => Ok(StaleCheck::Ended(change)),
            None => Err(EngineError::SequenceUnsettled { thread_id: key.thread_id, sequence: sub_block.sequence() }),
        };
    }
    *thread = Some(now);
    // No verdict on a closed block older than the state the sub-block was built on: its
    // parent's settlement (built ahead) or the pre-confirmed state its inputs were read from
    // has not closed there yet (helper-91 M1). Nor a verdict of "not stale": what the
    // pre-confirmed reads saw has not closed yet, or came from two views. The next round
    // reads again.
    let built_later = closed.sequence < sub_block.sequence() || sub_block.body.closed_block_at_build.is_some_and(|at_build| block <= at_build);
    if built_later {
        return held_up(format!("closed block {block} is not past the state it was built on"));
    }
    let Some(reason) = why else {
        return held_up(format!("closed block {block} does not show it yet"));
    };
    let from = sub_block.status.name();
    let ended = store.record_abandoned(
        key,
        sub_block.sequence(),
        sub_block.attempt,
        SubBlockStatus::Stale {
            tx_hash: None,
            reason: reason.clone(),
        },
    )?;
    Ok(StaleCheck::Ended(Reconciled {
        sequence: ended.sequence(),
        attempt: ended.attempt,
        from,
        to: ended.status.name(),
        tx_hash: None,
        detail: format!(
            "{reason}; {} message(s) pending again",
            ended.body.messages.len()
        ),
    }))
}

/// What [`read_at_closed_block`] read.
enum ClosedRead {
    /// The block's number, the thread and [`why_unsettleable`] as of that block.
    Read(u64, ThreadInfo, Option<String>),
    /// A node answered that it does not have this block.
    Missing(u64),
}

/// The latest closed block's number, the thread and [`why_unsettleable`] as of that block. A
/// block that closes between reading its number and the reads (a node that keeps no older
/// state then refuses them) is followed, up to [`CLOSED_READ_ATTEMPTS`] times. A node that
/// answers that it does not have the block (helper-91 L2) is, behind one URL, a node behind the
/// one that reported it closed (the reader never moves its latest closed block back): no
/// verdict yet, as a change not closed yet is, rather than a failure to back off on.
async fn read_at_closed_block<M>(
    client: &ChainReader,
    registry: &Registry,
    thread_id: u64,
    body: &NewSubBlock<M>,
) -> Result<ClosedRead> {
    let mut attempt = 1;
    loop {
        let block = client.latest_closed_block().await.chain("reading the latest closed block")?;
        let read = async {
            let thread = registry.thread_at(client, thread_id, block).await.chain("reading the thread at the latest closed block")?;
            let why = why_unsettleable(client, &thread, body, Some(block)).await?;
            Result::Ok(ClosedRead::Read(block, thread, why))
        };
        match read.await {
            Ok(read) => return Ok(read),
            Err(error) if attempt < CLOSED_READ_ATTEMPTS => {
                let moved = client.latest_closed_block().await.chain("reading the latest closed block")? != block;
                if !moved {
                    return not_there_yet(error, block);
                }
                attempt += 1;
            }
            Err(error) => return not_there_yet(error, block),
        }
    }
}

/// A failed read of closed block `block`: [`ClosedRead::Missing`] if the node did not have it,
/// else the error.
fn not_there_yet(error: EngineError, block: u64) -> Result<ClosedRead> {
    match error {
        EngineError::Chain { ref source, .. } if source.is_block_not_found() => {
            tracing::info!(%error, block, "a node does not have the latest closed block yet: no stale verdict this round");
            Ok(ClosedRead::Missing(block))
        }
        error => Err(error),
    }
}

/// Reads of one closed block tried before giving up while blocks keep closing under them.
const CLOSED_READ_ATTEMPTS: u32 = 3;

/// Why a batched sub-block can never settle as it is: its thread changed what a proof binds,
/// or some of its input slots changed on-chain.
/// `now` is the thread as just read; `block` the closed block it was read at (None: the
/// pre-confirmed state), where the input slots are read too.
async fn why_unsettleable<M>(
    client: &ChainReader,
    now: &ThreadInfo,
    body: &NewSubBlock<M>,
    block: Option<u64>,
) -> Result<Option<String>> {
    if let Some(changed) = ThreadBinding::of_sub_block(body).changed_in(now) {
        return Ok(Some(format!("{changed} before it was settled")));
    }
    let keys: Vec<(Felt, Felt)> = body.inputs.iter().map(|input| (input.contract, input.key)).collect();
    let values = match block {
        None => client.storage_many(&keys).await,
        Some(block) => client.storage_many_at(&keys, block).await,
    };
    let values = values.chain("reading the input slots of the in-flight sub-block")?;
    let changed = body.inputs.iter().zip(&values).filter(|(input, value)| **value != input.value).count();
    Ok((changed > 0).then(|| format!("{changed} input slot(s) changed on-chain before it was settled")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_sig::wots::{KeyCommitment, Signature, HASH_LEN, RHO_LEN, V};
    use zkthread_sig::M31;

    /// helper-88 6: what the stale check reads, by view. The pre-confirmed reads disagree: the
    /// input slot changed (answered by a node ahead, where, say, this sub-block's own
    /// settlement applied) while the sequence is open (answered by a node behind). The closed
    /// block 7 is one consistent state: `closed_slot` at next sequence `closed_sequence`.
    mod stale_check_views {
        use std::sync::{Arc, Mutex};

        use serde_json::{json, Value};
        use zkthread_client::scripted_node::scripted_reader;
        use zkthread_store::fixtures::{placeholder_body, PLACEHOLDER_SLOT};
        use zkthread_store::{NewTransfer, SlotEntry, Store, ThreadKey};

        use super::*;

        const CLOSED_BLOCK: u64 = 7;

        /// `thread(id)` as the registry answers it for the placeholder sub-block's binding
        /// (OS version 1, program 2, contract set 3) at next sequence `sequence`.
        fn thread_words(sequence: u64) -> Value {
            json!(["0x1", "0x2", "0xabc", "0x1", format!("{sequence:#x}"), "0x3", "0x1", "0x0"])
        }

        /// Answers one request from the view its block id names, and records that block id.
        /// `closed` is the closed block's `(slot, sequence)`; None: the node does not have
        /// that block (JSON-RPC error 24), as a node behind another behind one URL answers.
        fn answer(request: &Value, closed: Option<(u64, u64)>, seen: &Mutex<Vec<String>>) -> Value {
            let block = &request["params"]["block_id"];
            let pinned = *block == json!({"block_number": CLOSED_BLOCK});
            if pinned && closed.is_none() {
                seen.lock().unwrap().push(format!("refused {block}"));
                return json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": 24, "message": "Block not found"}});
            }
            // The pre-confirmed view's answers below do not use these.
            let (closed_slot, closed_sequence) = closed.unwrap_or_default();
            let result = match request["method"].as_str() {
                Some("starknet_blockNumber") => json!(CLOSED_BLOCK),
                Some("starknet_getStorageAt") => {
                    seen.lock().unwrap().push(format!("storage {block}"));
                    json!(format!("{:#x}", if pinned { closed_slot } else { 4 }))
                }
                Some("starknet_call") => {
                    seen.lock().unwrap().push(format!("call {block}"));
                    let sequence = if pinned { closed_sequence } else { 0 };
                    let next_sequence = zkthread_client::selector("next_sequence").expect("a selector");
                    match Felt::from_hex(request["params"]["request"]["entry_point_selector"].as_str().expect("a selector")) {
                        // `next_sequence(id)`, which the check read before it used `thread`'s.
                        Ok(selector) if selector == next_sequence => json!([format!("{sequence:#x}")]),
                        _ => thread_words(sequence),
                    }
                }
                other => panic!("unexpected method {other:?}"),
            };
            json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
        }

        /// A store with sub-block `sequence` Built, its input slot (1, 2) = 3 read once block
        /// `at_build` was the latest closed one (the pre-confirmed view reads 4), and a reader
        /// of the scripted node; the block ids of the reads are left in the returned log.
        async fn setup(
            closed: Option<(u64, u64)>,
            (sequence, at_build): (u64, Option<u64>),
        ) -> (tempfile::TempDir, Store, ThreadKey, ChainReader, Arc<Mutex<Vec<String>>>) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let key = ThreadKey::new(Felt::from(0xabcu64), 1);
            store.submit(key, NewTransfer { token: Felt::ONE, from: Felt::from(10u64), to: Felt::TWO, amount: 5, auth: None }).unwrap();
            let body = NewSubBlock {
                outputs: vec![SlotEntry { value: Felt::from(8u64), ..PLACEHOLDER_SLOT }],
                closed_block_at_build: at_build,
                ..placeholder_body(sequence, store.pending(key).unwrap())
            };
            store.record_batch(key, body, vec![]).unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            let reader = scripted_reader(move |body| match body {
                Value::Array(requests) => Value::Array(requests.iter().map(|r| answer(r, closed, &log)).collect()),
                single => answer(single, closed, &log),
            })
            .await;
            (dir, store, key, reader, seen)
        }

        /// The pre-confirmed reads disagree (slot written, sequence open), the closed block
        /// shows neither change: not stale, the sub-block stays Built. Reading the sequence
        /// from the pre-confirmed view after the slots (the check before) ended it Stale.
        #[tokio::test]
        async fn a_change_seen_only_in_the_pre_confirmed_view_does_not_end_a_sub_block() {
            let (_dir, store, key, reader, seen) = setup(Some((3, 0)), (0, Some(CLOSED_BLOCK - 1))).await;
            let check = check_stale(&reader, &store, key).await.expect("the check runs");
            let StaleCheck::HeldUp { seen: why, no_verdict } = check else { panic!("not held up: {check:?}") };
            assert!(why.starts_with("1 input slot(s) changed on-chain"), "{why}");
            assert_eq!(no_verdict, "closed block 7 does not show it yet");
            assert_eq!(store.in_flight(key).unwrap().expect("in flight").status, SubBlockStatus::Built);
            let pinned = format!("{}", json!({"block_number": CLOSED_BLOCK}));
            let seen = seen.lock().unwrap().clone();
            assert!(
                seen.ends_with(&[format!("call {pinned}"), format!("storage {pinned}")]),
                "the verdict's reads name the closed block: {seen:?}"
            );
        }

        /// The closed block, past the one its inputs were read after, shows the input changed
        /// with the sequence open there too: Stale, with the count of changed slots as its
        /// reason (and so for a record written before `closed_block_at_build` existed).
        #[tokio::test]
        async fn an_input_changed_on_the_closed_block_ends_the_sub_block_stale() {
            for at_build in [Some(CLOSED_BLOCK - 1), None] {
                let (_dir, store, key, reader, _seen) = setup(Some((4, 0)), (0, at_build)).await;
                let ended = abandon_if_stale(&reader, &store, key).await.expect("the check runs").expect("ended");
                assert_eq!((ended.from, ended.to), ("built", "stale"), "{}", ended.line());
                assert!(ended.detail.starts_with("1 input slot(s) changed on-chain"), "{}", ended.detail);
                assert!(store.in_flight(key).unwrap().is_none());
            }
        }

        /// helper-91 M1: the same reads on a closed block that is not past the state the
        /// sub-block was built on are no verdict: not the block its inputs were read after
        /// (they may hold a pre-confirmed transaction it lacks), nor one where the thread's
        /// sequence is still below the sub-block's (built ahead, its parent's settlement has
        /// not closed there). The sub-block stays Built.
        #[tokio::test]
        async fn no_verdict_on_a_closed_block_older_than_the_build() {
            for (sequence, at_build) in [(0, Some(CLOSED_BLOCK)), (0, Some(CLOSED_BLOCK + 3)), (1, None)] {
                let (_dir, store, key, reader, _seen) = setup(Some((4, 0)), (sequence, at_build)).await;
                let ended = abandon_if_stale(&reader, &store, key).await.expect("the check runs");
                assert!(ended.is_none(), "sequence {sequence}, built after {at_build:?}: {:?}", ended.map(|r| r.line()));
                assert_eq!(store.in_flight(key).unwrap().expect("in flight").status, SubBlockStatus::Built);
            }
        }

        /// helper-91 L2: the pre-confirmed reads show an input changed, and the node asked for
        /// the closed block answers that it does not have it (a node behind the one that
        /// reported it, behind one URL). No verdict, and no error to back off on: the
        /// sub-block stays Built and the next round reads again. Before, the check failed
        /// with the node's "Block not found".
        #[tokio::test]
        async fn a_node_without_the_closed_block_gives_no_verdict_and_no_error() {
            let (_dir, store, key, reader, seen) = setup(None, (0, Some(CLOSED_BLOCK - 1))).await;
            let check = check_stale(&reader, &store, key).await.expect("no error");
            let StaleCheck::HeldUp { no_verdict, .. } = check else { panic!("not held up: {check:?}") };
            assert_eq!(no_verdict, "a node does not have closed block 7 yet");
            assert_eq!(store.in_flight(key).unwrap().expect("in flight").status, SubBlockStatus::Built);
            let refused = format!("refused {}", json!({"block_number": CLOSED_BLOCK}));
            assert!(seen.lock().unwrap().contains(&refused), "the pinned read was asked: {:?}", seen.lock().unwrap());
        }

        /// The stale check's `SequenceUnsettled` (helper-92): closed block 7 shows the
        /// sub-block's sequence taken, then reconciling reads it open again (a node whose views
        /// are of different ages). Nothing may be recorded then: ending the sub-block Stale
        /// would hand back messages a settlement may have applied, recording it Superseded
        /// would need the registry's record, which an open read cannot give. Both ways into the
        /// check — `abandon_if_stale` alone, and `batch`, which reconciles first (finding
        /// nothing: the sequence reads open) — answer `SequenceUnsettled` for the sub-block's
        /// sequence and leave the store as it was: the sub-block Built (same attempt, its
        /// message in it), nothing pending, no other sub-block. Would catch the open read taken
        /// as "not stale" (a batch would then go on to build on a taken sequence) or a verdict
        /// recorded on it (Stale, Superseded).
        #[tokio::test]
        async fn a_sequence_taken_on_the_closed_block_but_open_to_reconcile_is_an_error_and_changes_nothing() {
            let (_dir, store, key, reader, _seen) = setup(Some((3, 1)), (0, Some(CLOSED_BLOCK - 1))).await;
            let built = store.in_flight(key).unwrap().expect("in flight");
            let unchanged = |store: &Store| {
                let in_flight = store.in_flight(key).unwrap().expect("still in flight");
                assert_eq!((in_flight.sequence(), in_flight.attempt, &in_flight.status), (0, built.attempt, &SubBlockStatus::Built));
                assert_eq!(in_flight.body.messages, built.body.messages);
                assert!(store.pending(key).unwrap().is_empty(), "nothing handed back");
                assert_eq!(store.sub_blocks(key).unwrap().len(), 1, "no other sub-block");
            };
            let unsettled = |error: EngineError| {
                assert!(matches!(error, EngineError::SequenceUnsettled { thread_id: 1, sequence: 0 }), "{error}");
            };
            unsettled(abandon_if_stale(&reader, &store, key).await.map(|r| r.map(|r| r.line())).unwrap_err());
            unchanged(&store);
            unsettled(batch(&reader, &store, key, Limits::default(), &crate::Logged).await.map(|_| ()).unwrap_err());
            unchanged(&store);
        }

        /// helper-91 L1 (helper-93's finding): the next sub-block is not built ahead on a
        /// proven parent that the pre-confirmed state shows unsettleable while no closed block
        /// does (its child would be proven for nothing): `batch_ahead` refuses with
        /// `ParentHeldUp`, the parent stays Proven and its message is not taken. Before, the
        /// stale check's "no verdict" let the child be built.
        #[tokio::test]
        async fn nothing_is_built_ahead_on_a_held_up_parent() {
            let (_dir, store, key, reader, _seen) = setup(Some((3, 0)), (0, Some(CLOSED_BLOCK - 1))).await;
            let parent = store.in_flight(key).unwrap().expect("in flight");
            store.record_proof(key, 0, parent.attempt, vec![Felt::ONE]).unwrap();
            store.submit(key, NewTransfer { token: Felt::ONE, from: Felt::from(11u64), to: Felt::TWO, amount: 1, auth: None }).unwrap();
            let refused = batch_ahead(&reader, &store, key, Limits::default(), &crate::Logged).await;
            let Err(EngineError::ParentHeldUp { sequence: 0, attempt, why, .. }) = refused else {
                panic!("built ahead: {:?}", refused.map(|_| "a sub-block"))
            };
            assert_eq!(attempt, parent.attempt);
            assert!(why.ends_with("closed block 7 does not show it yet"), "{why}");
            assert_eq!(store.all_in_flight(key).unwrap().len(), 1, "nothing built");
            assert_eq!(store.in_flight(key).unwrap().expect("in flight").status, SubBlockStatus::Proven);
            assert_eq!(store.pending_count(key).unwrap(), 1);
        }
    }

    #[test]
    fn a_sub_block_stops_before_the_slot_cap_but_always_takes_one_transfer() {
        let token = Felt::ONE;
        let transfer = |from: u64, to: u64| SignedTransferTx {
            token,
            from: Felt::from(from),
            to: Felt::from(to),
            amount: 1,
            nonce: 0,
            key: KeyCommitment::NONE,
            next_key: KeyCommitment::NONE,
            signature: Signature {
                rho: [M31::ZERO; RHO_LEN],
                pp: [M31::ZERO; HASH_LEN],
                chains: [[M31::ZERO; HASH_LEN]; V],
            },
        };
        // Slots (balances b, key slots k): {b1,b2,k1}, +{k2}, +{b3}, +{b4,k3}.
        let transfers = [
            transfer(1, 2),
            transfer(2, 1),
            transfer(1, 3),
            transfer(3, 4),
        ];
        assert_eq!(slots_of(&transfers[0]).len(), 3);
        assert_eq!(prefix_within_slots(&transfers, 3), 1);
        assert_eq!(prefix_within_slots(&transfers, 4), 2);
        assert_eq!(prefix_within_slots(&transfers, 5), 3);
        assert_eq!(prefix_within_slots(&transfers, 6), 3);
        assert_eq!(prefix_within_slots(&transfers, 7), 4);
        assert_eq!(prefix_within_slots(&transfers[2..], 1), 1);
        assert_eq!(prefix_within_slots(&[], 5), 0);
    }

    /// Limits count transfers, a list's each: lists are taken while their transfers fit, and a
    /// list longer than the limit goes alone rather than never.
    #[test]
    fn a_round_takes_lists_while_their_transfers_fit_and_a_long_one_alone() {
        use zkthread_store::{ListedTransfer, NewTransferList, TransferAuth};
        let list = |from: u64, n: usize| NewTransferList {
            token: Felt::ONE,
            from: Felt::from(from),
            transfers: vec![ListedTransfer { to: Felt::TWO, amount: 1 }; n],
            auth: TransferAuth { nonce: 0, key: [0; 4], next_key: [0; 4], signature: vec![] },
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<NewTransferList>();
        let (thread, other) = (ThreadKey::new(Felt::ONE, 1), ThreadKey::new(Felt::ONE, 2));
        for (from, n) in [(1, 3), (2, 4), (3, 1)] {
            store.submit(thread, list(from, n)).unwrap();
        }
        store.submit(other, list(3, 1)).unwrap();
        let senders = |thread, max| -> Vec<Felt> {
            let taken = store.pending_within(thread, max, NewTransferList::transfer_count).unwrap();
            taken.iter().map(|m| m.body.from).collect()
        };
        let felts = |ids: &[u64]| ids.iter().map(|&i| Felt::from(i)).collect::<Vec<_>>();
        assert_eq!(senders(thread, 7), felts(&[1, 2]));
        assert_eq!(senders(thread, 8), felts(&[1, 2, 3]));
        assert_eq!(senders(thread, 6), felts(&[1]));
        assert_eq!(senders(thread, 2), felts(&[1]), "longer than the limit: alone");
        assert_eq!(senders(other, 1), felts(&[3]));
    }
}
