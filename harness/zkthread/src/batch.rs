//! `zkthread batch`: build the thread's next sub-block from its pending transfers, against
//! the balances on-chain now (Batcher, non-strict: refused transfers are kept with their reason).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_prover::{BatchError, Batcher, Slot, Transfer, TransferRejected};
use zkthread_store::{NewSubBlock, Rejected, SubBlockStatus, Transfer as StoredTransfer};

use crate::chain::ChainArgs;
use crate::datadir::{open_store, prover_transfer, to_entries, ThreadArgs};
use crate::output::{hex, print_json, Progress};
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
    /// At most this many distinct balance slots per sub-block. Each slot costs 6 settle calldata
    /// felts (input + output) on top of a ~3,700-4,300-felt proof, so the default keeps a
    /// settlement within the 5,000-felt calldata goal; the transfers past the cap stay pending.
    #[arg(long, default_value_t = DEFAULT_MAX_SLOTS, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    max_slots: u32,
}

/// `(5,000 - 4,300 proof felts - 5 header felts) / 6` rounded down to a round number.
const DEFAULT_MAX_SLOTS: u32 = 110;

/// How many transfers from the front of `transfers` fit in `max_slots` distinct slots (at
/// least one, so a sub-block always makes progress).
fn prefix_within_slots(transfers: &[Transfer], max_slots: usize) -> usize {
    let mut slots = BTreeSet::new();
    for (taken, t) in transfers.iter().enumerate() {
        slots.insert(t.from_slot());
        slots.insert(t.to_slot());
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
        bail!("no pending transfers for thread {thread_id}: submit some with `zkthread tx submit`");
    }
    pending.truncate(args.max_transfers as usize);

    let step = progress.step(format!(
        "reading thread {thread_id} and the balances {} pending transfer(s) touch",
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
    let sequence = registry.next_sequence(&client, thread_id).await?;
    let contract_set: BTreeSet<_> = contracts.iter().copied().collect();
    let mut transfers: Vec<Transfer> = pending.iter().map(prover_transfer).collect();
    let fit = prefix_within_slots(&transfers, args.max_slots as usize);
    transfers.truncate(fit);
    pending.truncate(fit);
    let mut current = BTreeMap::new();
    for t in transfers.iter().filter(|t| contract_set.contains(&t.token)) {
        for slot in [t.from_slot(), t.to_slot()] {
            if let std::collections::btree_map::Entry::Vacant(entry) = current.entry(slot) {
                entry.insert(client.storage_at(slot.contract, slot.key).await?);
            }
        }
    }
    step.done(format!("sequence {sequence}, {} slot(s)", current.len()));

    let batcher = Batcher::new(contracts.iter().copied());
    let lookup = |slot: &Slot| current.get(slot).copied();
    let (sub_block, refused) = match batcher.batch(&transfers, lookup) {
        Ok(batch) => (Some(batch.sub_block), batch.rejected),
        // Nothing was accepted, so no balance moved, but `Batcher::batch` returns no reasons
        // then: name each transfer's reason against the unchanged balances.
        Err(BatchError::Empty) => {
            let refused = transfers
                .iter()
                .enumerate()
                .map(|(index, t)| reason_alone(index, t, &contract_set, &current))
                .collect::<Result<Vec<_>>>()?;
            (None, refused)
        }
        Err(error) => return Err(error).context("batching the pending transfers"),
    };
    let mut refused_ids = BTreeSet::new();
    let rejected: Vec<Rejected> = refused
        .iter()
        .map(|reason| {
            let index = rejected_index(reason);
            refused_ids.insert(index);
            Rejected {
                transfer: pending[index].clone(),
                reason: strip_index(&reason.to_string()),
            }
        })
        .collect();
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
    let accepted: Vec<StoredTransfer> = pending
        .iter()
        .enumerate()
        .filter(|(index, _)| !refused_ids.contains(index))
        .map(|(_, t)| t.clone())
        .collect();
    let record = store.record_batch(
        key,
        NewSubBlock {
            sequence,
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

/// Position of the refused transfer in the batch's input.
fn rejected_index(reason: &TransferRejected) -> usize {
    match reason {
        TransferRejected::ZeroAmount { index }
        | TransferRejected::SelfTransfer { index, .. }
        | TransferRejected::ForeignToken { index, .. }
        | TransferRejected::Overspend { index, .. }
        | TransferRejected::ReceiverOverflow { index, .. } => *index,
    }
}

/// Why the batcher refuses `t` against unchanged balances (its checks, in its order), for
/// when it accepted nothing and so reported no reasons.
fn reason_alone(
    index: usize,
    t: &Transfer,
    contract_set: &BTreeSet<zkthread_client::Felt>,
    current: &BTreeMap<Slot, zkthread_client::Felt>,
) -> Result<TransferRejected> {
    if !contract_set.contains(&t.token) {
        return Ok(TransferRejected::ForeignToken {
            index,
            token: t.token,
        });
    }
    if t.amount == 0 {
        return Ok(TransferRejected::ZeroAmount { index });
    }
    if t.from == t.to {
        return Ok(TransferRejected::SelfTransfer {
            index,
            account: t.from,
        });
    }
    let balance = |slot: Slot| -> Result<u128> {
        let value = current.get(&slot).context("a touched slot was not read")?;
        zkthread_prover::model::felt_to_u128(value).with_context(|| {
            format!(
                "slot {} holds {}, not a balance",
                hex(slot.key),
                hex(*value)
            )
        })
    };
    let (from_balance, to_balance) = (balance(t.from_slot())?, balance(t.to_slot())?);
    if from_balance < t.amount {
        return Ok(TransferRejected::Overspend {
            index,
            token: t.token,
            account: t.from,
            balance: from_balance,
            amount: t.amount,
        });
    }
    if to_balance.checked_add(t.amount).is_none() {
        return Ok(TransferRejected::ReceiverOverflow {
            index,
            account: t.to,
            balance: to_balance,
            amount: t.amount,
        });
    }
    bail!("the batcher accepted nothing, yet transfer #{index} is valid alone")
}

/// The batcher's reason without its `transfer #i: ` prefix (`i` is a position in this batch,
/// not the transfer's id, which we show instead).
fn strip_index(reason: &str) -> String {
    match reason.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("transfer #") => rest.to_owned(),
        _ => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_block_stops_before_the_slot_cap_but_always_takes_one_transfer() {
        let token = zkthread_client::Felt::ONE;
        let transfer = |from: u64, to: u64| Transfer {
            token,
            from: zkthread_client::Felt::from(from),
            to: zkthread_client::Felt::from(to),
            amount: 1,
        };
        // Slots: {1,2}, {1,2}, {1,2,3}, {1,2,3,4}.
        let transfers = [
            transfer(1, 2),
            transfer(2, 1),
            transfer(1, 3),
            transfer(3, 4),
        ];
        assert_eq!(prefix_within_slots(&transfers, 2), 2);
        assert_eq!(prefix_within_slots(&transfers, 3), 3);
        assert_eq!(prefix_within_slots(&transfers, 4), 4);
        assert_eq!(prefix_within_slots(&transfers[2..], 1), 1);
        assert_eq!(prefix_within_slots(&[], 5), 0);
    }

    #[test]
    fn reasons_lose_the_batch_position_and_keep_the_rest() {
        let reason = TransferRejected::ZeroAmount { index: 4 };
        assert_eq!(rejected_index(&reason), 4);
        assert_eq!(strip_index(&reason.to_string()), "amount is zero");
        let set = BTreeSet::from([zkthread_client::Felt::ONE]);
        let t = Transfer {
            token: zkthread_client::Felt::ONE,
            from: zkthread_client::Felt::TWO,
            to: zkthread_client::Felt::THREE,
            amount: 5,
        };
        let current = BTreeMap::from([
            (t.from_slot(), zkthread_client::Felt::from(4u8)),
            (t.to_slot(), zkthread_client::Felt::ZERO),
        ]);
        let why = reason_alone(9, &t, &set, &current).unwrap();
        assert!(
            matches!(
                why,
                TransferRejected::Overspend {
                    index: 9,
                    balance: 4,
                    amount: 5,
                    ..
                }
            ),
            "{why:?}"
        );
        let foreign = reason_alone(1, &t, &BTreeSet::new(), &current).unwrap();
        assert!(matches!(
            foreign,
            TransferRejected::ForeignToken { index: 1, .. }
        ));
        assert_eq!(strip_index("other: thing"), "other: thing");
    }
}
