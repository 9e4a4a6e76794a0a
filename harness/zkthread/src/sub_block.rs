//! `zkthread sub-block show`: one stored sub-block as data anyone can check or send
//! themselves: its transfers (or, on a thread of the list program, its signed lists), input and
//! output slots, proof, and the registry's `settle` call
//! (target, entry point and calldata), read from the data directory alone (no node, no key).

use std::path::Path;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_client::Felt;
use zkthread_sig::wots::RHO_LEN;
use zkthread_engine::token::TokenMessage;
use zkthread_store::{Message, NewTransfer, NewTransferList, SlotEntry, Store, SubBlock, SubBlockStatus};

use crate::datadir::{open_store, settlement, stored_program, ThreadArgs};
use zkthread_engine::program::TokenProgram;
use crate::output::{hex, print_json};

#[derive(Subcommand, Debug)]
pub enum SubBlockCommand {
    /// Show a sub-block of the data directory: transfers, slots, proof, settle calldata.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    /// The sub-block's sequence (default: the newest one of the thread).
    #[arg(long)]
    sequence: Option<u64>,
    /// Which build of that sequence (default: the newest; a stale sub-block is rebuilt as the
    /// next attempt).
    #[arg(long, requires = "sequence")]
    attempt: Option<u32>,
}

#[derive(Serialize)]
struct SlotView {
    contract: String,
    key: String,
    value: String,
}

#[derive(Serialize)]
struct TransferView {
    id: u64,
    token: String,
    from: String,
    to: String,
    /// Decimal string (u128 does not survive every JSON reader).
    amount: String,
    /// The sender's key-slot nonce the transfer consumes (absent for unsigned records).
    nonce: Option<u32>,
    /// The key the transfer is signed under and the key it rotates to (4 M31 words each), and
    /// the signature's `rho` (3 words): with the fields above and the thread's identity, what
    /// a client needs to recompute the transfer's message digest (`zkthread_sig::tx_list`).
    key: Option<[u32; 4]>,
    next_key: Option<[u32; 4]>,
    rho: Option<Vec<u32>>,
}

/// A signed list of a sub-block of the list program.
#[derive(Serialize)]
struct ListView {
    id: u64,
    token: String,
    from: String,
    /// In the order they apply.
    transfers: Vec<ListedView>,
    /// The sender's key-slot nonce the list consumes (one for the whole list).
    nonce: u32,
    /// The key the list is signed under, the key it rotates to, and the signature's `rho`:
    /// with the transfers and the thread's identity, what a client needs to recompute the
    /// list's message digest.
    key: [u32; 4],
    next_key: [u32; 4],
    rho: Vec<u32>,
}

#[derive(Serialize)]
struct ListedView {
    to: String,
    amount: String,
}

/// How a token program's messages show: single transfers, or lists.
trait ShownMessage: TokenMessage {
    fn show(messages: &[Message<Self>]) -> (Vec<TransferView>, Vec<ListView>);
}

impl ShownMessage for NewTransfer {
    fn show(messages: &[Message<Self>]) -> (Vec<TransferView>, Vec<ListView>) {
        let transfers = messages
            .iter()
            .map(|t| TransferView {
                id: t.id,
                token: hex(t.body.token),
                from: hex(t.body.from),
                to: hex(t.body.to),
                amount: t.body.amount.to_string(),
                nonce: t.body.auth.as_ref().map(|a| a.nonce),
                key: t.body.auth.as_ref().map(|a| a.key),
                next_key: t.body.auth.as_ref().map(|a| a.next_key),
                rho: t.body.auth.as_ref().map(|a| a.signature.iter().take(RHO_LEN).copied().collect()),
            })
            .collect();
        (transfers, vec![])
    }
}

impl ShownMessage for NewTransferList {
    fn show(messages: &[Message<Self>]) -> (Vec<TransferView>, Vec<ListView>) {
        let lists = messages
            .iter()
            .map(|l| ListView {
                id: l.id,
                token: hex(l.body.token),
                from: hex(l.body.from),
                transfers: l
                    .body
                    .transfers
                    .iter()
                    .map(|t| ListedView { to: hex(t.to), amount: t.amount.to_string() })
                    .collect(),
                nonce: l.body.auth.nonce,
                key: l.body.auth.key,
                next_key: l.body.auth.next_key,
                rho: l.body.auth.signature.iter().take(RHO_LEN).copied().collect(),
            })
            .collect();
        (vec![], lists)
    }
}

#[derive(Serialize)]
struct TransactionsView {
    count: u32,
    /// The proof's commitment to the ordered transfer list, as `settle` passes it and
    /// `SubBlockSettledSummary.transactions_commitment` publishes it.
    commitment: String,
}

#[derive(Serialize)]
struct SettleCallView {
    /// The registry.
    to: String,
    entry_point: &'static str,
    calldata: Vec<String>,
}

#[derive(Serialize)]
struct SubBlockView {
    thread_id: u64,
    sequence: u64,
    attempt: u32,
    status: &'static str,
    /// The settle transactions recorded for it (newest last).
    settle_txs: Vec<String>,
    /// The transaction that settled it: one of `settle_txs`, or its twin's (proven from a copy
    /// of this data directory), which this directory never sent.
    settled_by: Option<String>,
    chain_id: String,
    os_version: String,
    program_hash: String,
    contract_set_commitment: String,
    /// The thread's token program: `signed` (its messages in `transfers`) or `list` (in `lists`).
    program: TokenProgram,
    transfers: Vec<TransferView>,
    lists: Vec<ListView>,
    transactions: TransactionsView,
    inputs: Vec<SlotView>,
    outputs: Vec<SlotView>,
    /// Proof felts (absent until proven).
    proof: Option<Vec<String>>,
    /// The registry's `settle` call for this sub-block (absent until proven).
    settle_call: Option<SettleCallView>,
}

fn slots(list: &[SlotEntry]) -> Vec<SlotView> {
    list.iter()
        .map(|e| SlotView {
            contract: hex(e.contract),
            key: hex(e.key),
            value: hex(e.value),
        })
        .collect()
}

fn view<M: ShownMessage>(sub_block: &SubBlock<M>, registry: Felt) -> SubBlockView {
    let body = &sub_block.body;
    let proven = sub_block.proof.is_some();
    let (transfers, lists) = M::show(&body.messages);
    SubBlockView {
        thread_id: sub_block.thread_id,
        sequence: sub_block.sequence(),
        attempt: sub_block.attempt,
        status: sub_block.status.name(),
        settle_txs: sub_block.sends.iter().map(|s| hex(s.tx_hash)).collect(),
        settled_by: match sub_block.status {
            SubBlockStatus::Settled { tx_hash, .. } => Some(hex(tx_hash)),
            _ => None,
        },
        chain_id: hex(body.chain_id),
        os_version: hex(body.os_version),
        program_hash: hex(body.program_hash),
        contract_set_commitment: hex(body.contract_set_commitment),
        program: M::TOKEN_PROGRAM,
        transfers,
        lists,
        transactions: TransactionsView {
            count: body.transactions.count,
            commitment: hex(body.transactions.commitment),
        },
        inputs: slots(&body.inputs),
        outputs: slots(&body.outputs),
        proof: sub_block
            .proof
            .as_ref()
            .map(|p| p.iter().copied().map(hex).collect()),
        settle_call: proven.then(|| SettleCallView {
            to: hex(registry),
            entry_point: "settle",
            calldata: settlement(sub_block).calldata().into_iter().map(hex).collect(),
        }),
    }
}

pub fn run(cmd: SubBlockCommand, data_dir: &Path, json: bool) -> Result<()> {
    let SubBlockCommand::Show(args) = cmd;
    let key = args.thread.key();
    // Reading must not create a database.
    if !zkthread_store::Store::exists(data_dir) {
        bail!("no data directory at {}: nothing was batched here", data_dir.display());
    }
    let store = open_store(data_dir)?;
    match stored_program(&store, key)? {
        TokenProgram::Signed => show(&args, &store, data_dir, json),
        TokenProgram::List => show(&args, &store.program::<NewTransferList>(), data_dir, json),
    }
}

fn show<M: ShownMessage>(args: &ShowArgs, store: &Store<M>, data_dir: &Path, json: bool) -> Result<()> {
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let all = store.sub_blocks(key)?;
    let chosen = all
        .iter()
        .filter(|s| args.sequence.is_none_or(|q| s.sequence() == q))
        .filter(|s| args.attempt.is_none_or(|a| s.attempt == a))
        .max_by_key(|s| (s.sequence(), s.attempt));
    let Some(sub_block) = chosen else {
        match (args.sequence, args.attempt) {
            (None, _) => bail!("thread {thread_id} has no sub-block in {}", data_dir.display()),
            (Some(q), None) => bail!("thread {thread_id} has no sub-block {q} in {}", data_dir.display()),
            (Some(q), Some(a)) => bail!(
                "thread {thread_id} has no attempt {a} of sub-block {q} in {}",
                data_dir.display()
            ),
        }
    };
    let out = view(sub_block, key.registry);
    if json {
        return print_json(&out);
    }
    println!(
        "sub-block {} of thread {thread_id} (attempt {}): {}",
        out.sequence, out.attempt, out.status
    );
    let transfers = out.transfers.len() + out.lists.iter().map(|l| l.transfers.len()).sum::<usize>();
    println!(
        "  {transfers} transfer(s){}, {} input slot(s), {} output slot(s)",
        if out.lists.is_empty() { String::new() } else { format!(" in {} signed list(s)", out.lists.len()) },
        out.inputs.len(),
        out.outputs.len()
    );
    match (&out.proof, &out.settle_call) {
        (Some(proof), Some(call)) => println!(
            "  proof {} felts; settle calldata {} felts to {}",
            proof.len(),
            call.calldata.len(),
            call.to
        ),
        _ if sub_block.status == SubBlockStatus::Built => {
            println!("  not proven yet (`zkthread prove --thread {thread_id}`)")
        }
        // Its twin, proven from a copy of this data directory, settled it.
        _ => match &out.settled_by {
            Some(tx) => println!("  never proven here; settled by its twin's tx {tx}"),
            None => println!("  never proven"),
        },
    }
    if let Some(tx) = out.settle_txs.last() {
        println!("  settle tx {tx}");
    }
    if matches!(
        sub_block.status,
        SubBlockStatus::Stale { .. } | SubBlockStatus::Reverted { .. } | SubBlockStatus::Superseded { .. }
    ) {
        println!("  its transfers went back to pending");
    }
    println!("  (--json prints every transfer, slot, proof felt and the calldata)");
    Ok(())
}
