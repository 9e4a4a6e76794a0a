//! `zkthread batch`: build the thread's next sub-block from its pending signed transfers,
//! against the balances and thread-key slots on-chain now (the engine's [`batch`]: every
//! signature and nonce is checked before batching; refused transfers are kept with their
//! reason). Reads the chain only: no account is needed.

use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use zkthread_engine::batch::{DEFAULT_MAX_SLOTS, DEFAULT_MAX_TRANSFERS, MAX_SLOTS_WITHIN_CALLDATA};
use zkthread_token::MAX_TRANSFERS_PER_PROOF;
use zkthread_engine::program::TokenProgram;
use zkthread_engine::token::{transfers_in, TokenMessage};
use zkthread_engine::{batch, BatchOutcome, EngineError, Limits, Reconciled};
use zkthread_store::{NewTransferList, Store};

use crate::chain::ChainArgs;
use crate::datadir::{open_store, stored_program, ThreadArgs};
use crate::output::{nothing_to_do, print_json, Steps};

#[derive(Args, Debug)]
pub struct BatchArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    thread: ThreadArgs,
    /// At most this many pending transfers (oldest first) go into the sub-block; the rest stay
    /// pending for the next one. One proof holds at most 524 signed transfers.
    #[arg(long, default_value_t = DEFAULT_MAX_TRANSFERS as u32, value_parser = clap::value_parser!(u32).range(1..=MAX_TRANSFERS_PER_PROOF as i64))]
    max_transfers: u32,
    /// At most this many distinct slots (balances and the senders' key slots) per sub-block.
    /// Each slot costs 6 settle calldata felts (input + output) on top of the proof, so the
    /// default keeps a settlement within the 5,000-felt calldata bound; the transfers past the
    /// cap stay pending.
    #[arg(long, default_value_t = DEFAULT_MAX_SLOTS as u32, value_parser = clap::value_parser!(u32).range(3..=MAX_SLOTS_WITHIN_CALLDATA as i64))]
    max_slots: u32,
}

#[derive(Serialize)]
struct Batched {
    thread_id: u64,
    /// The thread's token program: `signed` (a message per transfer) or `list`.
    program: TokenProgram,
    sequence: u64,
    attempt: u32,
    /// Messages taken (transfers, or lists of them).
    messages: usize,
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
    let store = open_store(data_dir)?;
    match stored_program(&store, args.thread.key())? {
        TokenProgram::Signed => run_program(args, store, json).await,
        TokenProgram::List => run_program(args, store.program::<NewTransferList>(), json).await,
    }
}

async fn run_program<M: TokenMessage>(args: BatchArgs, store: Store<M>, json: bool) -> Result<()> {
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let client = args.chain.connect_read_only().await?;
    let limits = Limits {
        max_transfers: args.max_transfers as usize,
        max_slots: args.max_slots as usize,
    };
    let outcome = match batch(&client, &store, key, limits, &Steps::new(json)).await {
        Ok(outcome) => outcome,
        Err(error @ EngineError::InFlight { status, .. }) => {
            let next = if status == "built" { "prove" } else { "settle" };
            bail!("{error}: run `zkthread {next}` first")
        }
        Err(EngineError::AllRejected { rejected }) => {
            for r in &rejected {
                eprintln!("rejected {} {}: {}", M::NOUN, r.id, r.reason);
            }
            bail!(
                "no sub-block built: all {} pending {}(s) were rejected (reasons above)",
                rejected.len(),
                M::NOUN
            );
        }
        Err(error) => return Err(error.into()),
    };
    let built = match outcome {
        BatchOutcome::Built(built) => built,
        BatchOutcome::NothingPending { reconciled } => {
            let mut reason = "no pending transfers (submit some with `zkthread tx submit`)".to_owned();
            match (&reconciled, json) {
                (Some(r), false) => println!("reconciled: {}", r.line()),
                // The nothing-to-do document has one shape for every command: what
                // reconciliation changed goes into its reason, as `settle` does.
                (Some(r), true) => reason.push_str(&format!("; reconciled: {}", r.line())),
                (None, _) => {}
            }
            return nothing_to_do(thread_id, &reason, json);
        }
    };
    let record = &built.sub_block;
    let out = Batched {
        thread_id,
        program: M::TOKEN_PROGRAM,
        sequence: record.sequence(),
        attempt: record.attempt,
        messages: record.body.messages.len(),
        transfers: transfers_in(&record.body.messages),
        inputs: record.body.inputs.len(),
        outputs: record.body.outputs.len(),
        rejected: built
            .rejected
            .iter()
            .map(|r| RejectedView {
                id: r.message.id,
                reason: r.reason.clone(),
            })
            .collect(),
        still_pending: built.still_pending,
        reconciled: built.reconciled,
    };
    if json {
        return print_json(&out);
    }
    if let Some(r) = &out.reconciled {
        println!("reconciled: {}", r.line());
    }
    println!(
        "built sub-block {} of thread {thread_id} ({} program): {} transfer(s) in {} message(s), {} input slot(s), {} output slot(s); {} rejected, {} still pending",
        record.sequence(),
        out.program,
        out.transfers,
        out.messages,
        out.inputs,
        out.outputs,
        out.rejected.len(),
        out.still_pending
    );
    for r in &out.rejected {
        println!("  rejected {} {}: {}", M::NOUN, r.id, r.reason);
    }
    println!("next: zkthread prove --thread {thread_id}");
    Ok(())
}
