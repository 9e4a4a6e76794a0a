//! `zkthread settle`: send the thread's proven sub-block to the registry, exactly once (the
//! engine's [`settle`]: reconcile → pre-flight → record `Sending` → broadcast → receipt).
//!
//! `ZKTHREAD_CRASH_AT=before-send|after-send` (test-only) aborts the process right after
//! recording `Sending` / right after broadcasting, to test exactly that recovery.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_engine::isolation::end_oversized;
use zkthread_engine::preflight::Preflight;
use zkthread_engine::settle::{InputCheck, DEFAULT_L2_GAS};
use zkthread_engine::{settle, EngineError, Reconciled, SettleOptions, SettleOutcome};

use crate::chain::ChainArgs;
use crate::datadir::{open_store, stored_program, ThreadArgs};
use zkthread_engine::program::TokenProgram;
use zkthread_engine::token::{transfers_in, TokenMessage};
use zkthread_store::{NewTransferList, Store, SubBlockStatus};
use crate::output::{hex, nothing_to_do, print_json, strk, Reported, Steps};

#[derive(Args, Debug)]
pub struct SettleArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    thread: ThreadArgs,
    /// Send even if the pre-settlement checks fail (the transaction is mined as REVERTED and
    /// the prover pays its fee).
    #[arg(long)]
    force: bool,
    /// Largest L2 gas the settle transaction may use.
    #[arg(long, default_value_t = DEFAULT_L2_GAS)]
    l2_gas: u64,
    #[command(flatten)]
    input_check: InputCheckArgs,
}

/// `--inputs-first`, shared by every command that settles (`settle`, `book settle`, `serve`).
#[derive(Args, Debug)]
pub struct InputCheckArgs {
    /// Compare every input with current storage before the proof too
    /// (`settle_checking_inputs_first`; each contract's inputs are compared again right before
    /// its writes either way): a stale input then reverts before the on-chain verification and
    /// costs the prover its calldata and reads, not a verification, for one more read of every
    /// input on every settlement. For threads whose inputs other L2 transactions may move
    /// (anyone can credit a receiver). `serve` without it switches to this entry point by
    /// itself for 64 settlements after a stale revert; `settle` and `book settle` do not.
    #[arg(long)]
    inputs_first: bool,
}

impl InputCheckArgs {
    /// The registry entry point the settlement goes to.
    pub fn input_check(&self) -> InputCheck {
        if self.inputs_first {
            InputCheck::First
        } else {
            InputCheck::BeforeWrites
        }
    }
}

#[derive(Serialize)]
struct SettleOutput {
    thread_id: u64,
    sequence: u64,
    attempt: u32,
    /// settled, stale, reverted.
    status: &'static str,
    tx_hash: String,
    /// The signing account's nonce the transaction used: a counter, so a JSON number like
    /// every nonce (key-slot nonces included).
    nonce: Option<u64>,
    block: Option<u64>,
    fee_fri: Option<String>,
    revert_reason: Option<String>,
    /// Sent by this run (false: found settled by reconciliation, nothing sent).
    sent: bool,
    forced: bool,
    preflight: Option<Preflight>,
    reconciled: Option<Reconciled>,
    transfers: usize,
    slots_written: usize,
    /// Why the command fails (exit 1) after this report: the settlement reverted.
    error: Option<String>,
}

pub async fn run(args: SettleArgs, data_dir: &Path, json: bool) -> Result<()> {
    let store = open_store(data_dir)?;
    match stored_program(&store, args.thread.key())? {
        TokenProgram::Signed => run_program(args, store, json).await,
        TokenProgram::List => run_program(args, store.program::<NewTransferList>(), json).await,
    }
}

async fn run_program<M: TokenMessage>(args: SettleArgs, store: Store<M>, json: bool) -> Result<()> {
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let client = args.chain.connect().await?;
    let options = SettleOptions {
        force: args.force,
        l2_gas: args.l2_gas,
        input_check: args.input_check.input_check(),
    };
    let outcome = match settle(&client, &store, key, options, &Steps::new(json)).await {
        Ok(outcome) => outcome,
        // Too large to send however often it is rebuilt: ended, its messages split (a lone
        // one refused), so the thread does not stall on it.
        Err(EngineError::PreflightBlocked { why, oversize: Some(felts), .. }) => {
            let sub_block = store.in_flight(key)?.context("the oversized sub-block is no longer in flight")?;
            let detail = end_oversized(&store, key, &sub_block, felts)?;
            bail!("settle not sent: {why}; sub-block {} ended: {detail}; run `zkthread batch --thread {thread_id}`", sub_block.sequence())
        }
        Err(error) => return Err(with_hint(error, thread_id)),
    };
    let sent = match outcome {
        SettleOutcome::NothingToSettle { reconciled } => {
            let reason = match &reconciled {
                Some(r) => format!("nothing to settle: {}; run `zkthread batch` to rebuild", r.line()),
                None => "nothing to settle: no proven sub-block (run `zkthread batch`, then `zkthread prove`)"
                    .to_string(),
            };
            return nothing_to_do(thread_id, &reason, json);
        }
        SettleOutcome::FoundSettled {
            sub_block,
            tx_hash,
            block,
            reconciled,
        } => {
            let out = SettleOutput {
                thread_id,
                sequence: sub_block.sequence(),
                attempt: sub_block.attempt,
                status: "settled",
                tx_hash: hex(tx_hash),
                nonce: None,
                block: Some(block),
                fee_fri: None,
                revert_reason: None,
                sent: false,
                forced: args.force,
                preflight: None,
                reconciled: Some(reconciled),
                transfers: transfers_in(&sub_block.body.messages),
                slots_written: sub_block.body.outputs.len(),
                error: None,
            };
            return print(&out, json);
        }
        SettleOutcome::Sent(sent) => sent,
    };
    let sequence = sent.sub_block.sequence();
    // The transaction is out: a nonce past u64 (no account gets there) is shown as null rather
    // than failing a settlement that happened.
    let nonce = u64::try_from(sent.nonce).ok();
    let mut out = SettleOutput {
        thread_id,
        sequence,
        attempt: sent.sub_block.attempt,
        status: sent.sub_block.status.name(),
        tx_hash: hex(sent.tx_hash),
        nonce,
        block: Some(sent.block),
        fee_fri: Some(sent.fee_fri.to_string()),
        revert_reason: sent.revert_reason.clone(),
        sent: true,
        forced: sent.forced,
        preflight: Some(sent.preflight.clone()),
        reconciled: sent.reconciled.clone(),
        transfers: transfers_in(&sent.sub_block.body.messages),
        slots_written: if sent.settled() {
            sent.sub_block.body.outputs.len()
        } else {
            0
        },
        error: None,
    };
    // A send that reverted because an earlier send of the same sub-block had settled it
    // leaves the sub-block settled: its revert reason is reported, and nothing is to be rebuilt.
    let (Some(reason), false) = (&sent.revert_reason, sent.settled()) else {
        return print(&out, json);
    };
    // A stale input found after the verification (the engine ended the sub-block Stale for
    // it): say how to have the next one cost less.
    let stale = matches!(sent.sub_block.status, SubBlockStatus::Stale { .. });
    let cheaper = if stale && options.input_check == InputCheck::BeforeWrites {
        " (`--inputs-first` has a stale input refused before the on-chain verification, for a fraction of this fee)"
    } else {
        ""
    };
    let error = format!(
        "settle tx {} REVERTED: {reason} (fee {}){cheaper}; sub-block {sequence} is {}, its {} transfer(s) are pending again: run `zkthread batch` to rebuild",
        hex(sent.tx_hash),
        strk(sent.fee_fri),
        out.status,
        out.transfers
    );
    out.error = Some(error.clone());
    print(&out, json)?;
    Err(Reported(error).into())
}

/// The engine's error with what to run next.
fn with_hint(error: EngineError, thread_id: u64) -> anyhow::Error {
    let hint = match &error {
        EngineError::NotProven { .. } => format!(": run `zkthread prove --thread {thread_id}`"),
        EngineError::PreflightBlocked { rebuild: true, .. } => format!(
            "; run `zkthread batch --thread {thread_id}` to rebuild it on fresh state (--force sends it anyway and pays for the revert)"
        ),
        EngineError::PreflightBlocked { rebuild: false, .. } => {
            " (--force sends it anyway and pays for the revert)".to_owned()
        }
        _ => return error.into(),
    };
    anyhow::anyhow!("{error}{hint}")
}

fn print(out: &SettleOutput, json: bool) -> Result<()> {
    if json {
        return print_json(out);
    }
    let fee = || strk(out.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or_default());
    match out.status {
        "settled" if out.sent => println!(
            "settled sub-block {} of thread {} (tx {}, block {}): {} transfer(s), {} slot(s) written, fee {}",
            out.sequence,
            out.thread_id,
            out.tx_hash,
            out.block.unwrap_or_default(),
            out.transfers,
            out.slots_written,
            fee()
        ),
        "settled" => println!(
            "sub-block {} of thread {} was already settled (tx {}, block {}); nothing sent",
            out.sequence,
            out.thread_id,
            out.tx_hash,
            out.block.unwrap_or_default()
        ),
        other => println!(
            "sub-block {} of thread {}: {} (tx {}, reason '{}', fee {})",
            out.sequence,
            out.thread_id,
            other,
            out.tx_hash,
            out.revert_reason.as_deref().unwrap_or_default(),
            fee()
        ),
    }
    Ok(())
}
