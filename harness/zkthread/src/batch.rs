//! `zkthread batch`: build the thread's next sub-block from its pending signed transfers,
//! against the balances and thread-key slots on-chain now (`SignedBatcher`: every signature
//! and nonce is checked before batching; refused transfers are kept with their reason).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_client::Felt;
use zkthread_prover::signed::{SignedBatchError, SignedBatcher, SignedTransferTx};
use zkthread_prover::Slot;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};
use zkthread_store::{NewSubBlock, Rejected, SubBlockStatus, Transfer as StoredTransfer};

use crate::chain::ChainArgs;
use crate::datadir::{open_store, signed_tx, to_entries, ThreadArgs};
use crate::program::thread_statement;
use crate::output::{hex, nothing_to_do, print_json, Progress};
use crate::reconcile::{reconcile, Reconciled};

#[derive(Args, Debug)]
pub struct BatchArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    thread: ThreadArgs,
    /// At most this many pending transfers (oldest first) go into the sub-block; the rest stay
    /// pending for the next one.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_transfers: u32,
    /// At most this many distinct slots (balances and the senders' key slots) per sub-block.
    /// Each slot costs 6 settle calldata felts (input + output) on top of the proof, so the
    /// default keeps a settlement within the 5,000-felt calldata bound; the transfers past the
    /// cap stay pending.
    #[arg(long, default_value_t = DEFAULT_MAX_SLOTS, value_parser = clap::value_parser!(u32).range(3..=100_000))]
    max_slots: u32,
}

/// `(5,000 - 4,300 proof felts - 5 header felts) / 6` rounded down to a round number.
const DEFAULT_MAX_SLOTS: u32 = 110;

/// The slots a signed transfer touches: both balances and the sender's key slot.
fn slots_of(t: &SignedTransferTx) -> [Slot; 3] {
    let slot = |key| Slot { contract: t.token, key };
    [
        slot(balance_slot_key(t.from)),
        slot(balance_slot_key(t.to)),
        slot(thread_key_slot_key(t.from)),
    ]
}

/// The current on-chain value of every slot `txs` touch (what the signed batcher checks them
/// against), each read once.
pub async fn read_touched_slots<'a>(
    client: &zkthread_client::ChainClient,
    txs: impl Iterator<Item = &'a SignedTransferTx>,
) -> Result<BTreeMap<Slot, Felt>> {
    let mut current = BTreeMap::new();
    for t in txs {
        for slot in slots_of(t) {
            if let std::collections::btree_map::Entry::Vacant(entry) = current.entry(slot) {
                entry.insert(client.storage_at(slot.contract, slot.key).await?);
            }
        }
    }
    Ok(current)
}

/// How many transfers from the front of `transfers` fit in `max_slots` distinct slots (at
/// least one, so a sub-block always makes progress).
fn prefix_within_slots(transfers: &[SignedTransferTx], max_slots: usize) -> usize {
    let mut slots = BTreeSet::new();
    for (taken, t) in transfers.iter().enumerate() {
        slots.extend(slots_of(t));
        if slots.len() > max_slots {
            return taken.max(1);
        }
    }
    transfers.len()
}

#[derive(Serialize)]
struct Batched {
    thread_id: u64,
    sequence: Option<u64>,
    attempt: Option<u32>,
    transfers: usize,
    inputs: usize,
    outputs: usize,
    rejected: Vec<RejectedView>,
    still_pending: usize,
    reconciled: Option<Reconciled>,
}

#[derive(Serialize)]
struct RejectedView {
    id: u64,
    reason: String,
}

pub async fn run(args: BatchArgs, data_dir: &Path, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let store = open_store(data_dir)?;
    let client = args.chain.connect().await?;
    let registry = Registry {
        address: args.thread.registry,
    };
    // `reconcile` first: it looks up recorded sends, so a sub-block whose settle landed is
    // never taken for stale.
    let mut reconciled = reconcile(&client, &registry, &store, key).await?;
    if let Some(stale) = abandon_if_stale(&client, &store, key).await? {
        reconciled = Some(stale);
    }
    if let Some(r) = &reconciled {
        tracing::info!(change = %r.line(), "reconciled");
    }
    if let Some(in_flight) = store.in_flight(key)? {
        bail!(
            "thread {thread_id} already has sub-block {} in flight ({}): run `zkthread {}` first",
            in_flight.sequence(),
            in_flight.status.name(),
            if in_flight.status.name() == "built" {
                "prove"
            } else {
                "settle"
            }
        );
    }
    let mut pending = store.pending(key)?;
    if pending.is_empty() {
        if let Some(r) = &reconciled {
            if !json {
                println!("reconciled: {}", r.line());
            }
        }
        return nothing_to_do(
            thread_id,
            "no pending transfers (submit some with `zkthread tx submit`)",
            json,
        );
    }
    pending.truncate(args.max_transfers as usize);

    let step = progress.step(format!(
        "reading thread {thread_id} and the slots {} pending transfer(s) touch",
        pending.len()
    ));
    let info = registry.thread(&client, thread_id).await.with_context(|| {
        format!(
            "reading thread {thread_id} of registry {}",
            hex(registry.address)
        )
    })?;
    if !info.active {
        bail!(
            "thread {thread_id} is not active in registry {}",
            hex(registry.address)
        );
    }
    let contracts = registry.thread_contracts(&client, thread_id).await?;
    let sequence = info.sequence;
    let contract_set: BTreeSet<_> = contracts.iter().copied().collect();

    // Records written before transfers were signed cannot be proven: refuse them by name.
    let mut rejected = Vec::new();
    let mut signed: Vec<(StoredTransfer, SignedTransferTx)> = Vec::new();
    for stored in pending {
        match signed_tx(&stored) {
            Some(tx) => signed.push((stored, tx)),
            None => rejected.push(Rejected {
                transfer: stored,
                reason: "not signed by the sender's thread key (no valid signature record)".into(),
            }),
        }
    }
    let txs: Vec<SignedTransferTx> = signed.iter().map(|(_, tx)| tx.clone()).collect();
    let fit = prefix_within_slots(&txs, args.max_slots as usize);
    let (txs, signed) = (&txs[..fit], &signed[..fit]);
    let current = read_touched_slots(&client, txs.iter().filter(|t| contract_set.contains(&t.token))).await?;
    step.done(format!("sequence {sequence}, {} slot(s)", current.len()));

    let statement = thread_statement(&info, client.chain_id(), registry.address, thread_id);
    let batcher = SignedBatcher::new(statement, contracts.iter().copied());
    let (sub_block, refused) = match batcher.batch(txs, |slot: &Slot| current.get(slot).copied()) {
        Ok(batch) => (Some(batch.sub_block), batch.rejected),
        Err(SignedBatchError::Empty { rejected }) => (None, rejected),
        Err(error) => return Err(error).context("batching the pending transfers"),
    };
    let refused_ids: BTreeSet<usize> = refused.iter().map(|r| r.index()).collect();
    rejected.extend(refused.iter().map(|reason| Rejected {
        transfer: signed[reason.index()].0.clone(),
        reason: reason.reason(),
    }));
    rejected.sort_by_key(|r| r.transfer.id);
    let rejected_view: Vec<RejectedView> = rejected
        .iter()
        .map(|r| RejectedView {
            id: r.transfer.id,
            reason: r.reason.clone(),
        })
        .collect();

    let Some(sub_block) = sub_block else {
        store.record_rejected(key, rejected)?;
        for r in &rejected_view {
            eprintln!("rejected transfer {}: {}", r.id, r.reason);
        }
        bail!(
            "no sub-block built: all {} pending transfer(s) were rejected (reasons above)",
            rejected_view.len()
        );
    };
    let accepted: Vec<StoredTransfer> = signed
        .iter()
        .enumerate()
        .filter(|(index, _)| !refused_ids.contains(index))
        .map(|(_, (t, _))| t.clone())
        .collect();
    let record = store.record_batch(
        key,
        NewSubBlock {
            sequence,
            chain_id: client.chain_id(),
            os_version: info.os_version,
            program_hash: info.program_hash,
            contract_set_commitment: info.contract_set_commitment,
            transfers: accepted,
            inputs: to_entries(&sub_block.inputs),
            outputs: to_entries(&sub_block.outputs),
        },
        rejected,
    )?;
    let out = Batched {
        thread_id,
        sequence: Some(record.sequence()),
        attempt: Some(record.attempt),
        transfers: record.body.transfers.len(),
        inputs: record.body.inputs.len(),
        outputs: record.body.outputs.len(),
        rejected: rejected_view,
        still_pending: store.pending(key)?.len(),
        reconciled,
    };
    if json {
        return print_json(&out);
    }
    if let Some(r) = &out.reconciled {
        println!("reconciled: {}", r.line());
    }
    println!(
        "built sub-block {} of thread {thread_id}: {} transfer(s), {} input slot(s), {} output slot(s); {} rejected, {} still pending",
        record.sequence(),
        out.transfers,
        out.inputs,
        out.outputs,
        out.rejected.len(),
        out.still_pending
    );
    for r in &out.rejected {
        println!("  rejected transfer {}: {}", r.id, r.reason);
    }
    println!("next: zkthread prove --thread {thread_id}");
    Ok(())
}

/// A Built or Proven sub-block whose input slots changed on-chain can never settle: end it as
/// Stale (nothing is sent, nothing paid) so its transfers are rebuilt on fresh state now.
async fn abandon_if_stale(
    client: &zkthread_client::ChainClient,
    store: &zkthread_store::Store,
    key: zkthread_store::ThreadKey,
) -> Result<Option<Reconciled>> {
    let Some(sub_block) = store.in_flight(key)? else {
        return Ok(None);
    };
    if !matches!(
        sub_block.status,
        SubBlockStatus::Built | SubBlockStatus::Proven
    ) {
        return Ok(None);
    }
    let mut changed = 0;
    for input in &sub_block.body.inputs {
        if client.storage_at(input.contract, input.key).await? != input.value {
            changed += 1;
        }
    }
    if changed == 0 {
        return Ok(None);
    }
    let from = sub_block.status.name();
    let reason = format!("{changed} input slot(s) changed on-chain before it was settled");
    let ended = store.record_abandoned(
        key,
        sub_block.sequence(),
        sub_block.attempt,
        SubBlockStatus::Stale {
            tx_hash: None,
            reason: reason.clone(),
        },
    )?;
    Ok(Some(Reconciled {
        sequence: ended.sequence(),
        attempt: ended.attempt,
        from,
        to: ended.status.name(),
        tx_hash: None,
        detail: format!(
            "{reason}; {} transfer(s) rebuilt on fresh state",
            ended.body.transfers.len()
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_sig::wots::{KeyCommitment, Signature, HASH_LEN, RHO_LEN, V};
    use zkthread_sig::M31;

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
}
