//! `zkthread prove`: prove the thread's built sub-block with Stwo (the engine's [`prove`]),
//! verify it off-chain, store the proof felts (Built → Proven). Needs no node: everything is
//! in the data directory.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use zkthread_engine::program::TokenProgram;
use zkthread_engine::token::{transfers_in, TokenMessage};
use zkthread_engine::{prove, ProveOutcome};
use zkthread_store::{NewTransferList, Store};

use crate::datadir::{open_store, stored_program, ThreadArgs};
use crate::output::{nothing_to_do, print_json, Steps};

#[derive(Args, Debug)]
pub struct ProveArgs {
    #[command(flatten)]
    thread: ThreadArgs,
}

#[derive(Serialize)]
struct Proved {
    thread_id: u64,
    /// The thread's token program: `signed` or `list`.
    program: TokenProgram,
    sequence: u64,
    attempt: u32,
    /// Messages proven (transfers, or lists of them).
    messages: usize,
    transfers: usize,
    proof_felts: usize,
    log_rows: Option<u32>,
    prove_seconds: Option<f64>,
    verify_seconds: Option<f64>,
    /// false when the sub-block was proven by an earlier run.
    proved_now: bool,
}

pub async fn run(args: ProveArgs, data_dir: &Path, json: bool) -> Result<()> {
    let store = open_store(data_dir)?;
    match stored_program(&store, args.thread.key())? {
        TokenProgram::Signed => run_program(args, store, json).await,
        TokenProgram::List => run_program(args, store.program::<NewTransferList>(), json).await,
    }
}

async fn run_program<M: TokenMessage>(args: ProveArgs, store: Store<M>, json: bool) -> Result<()> {
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let proved = match prove(&store, key, &Steps::new(json)).await? {
        ProveOutcome::NothingBuilt => {
            return nothing_to_do(
                thread_id,
                &format!("no built sub-block (run `zkthread batch --thread {thread_id}` first)"),
                json,
            )
        }
        ProveOutcome::AlreadyProven(sub_block) => {
            let out = Proved {
                thread_id,
                program: M::TOKEN_PROGRAM,
                sequence: sub_block.sequence(),
                attempt: sub_block.attempt,
                messages: sub_block.body.messages.len(),
                transfers: transfers_in(&sub_block.body.messages),
                proof_felts: sub_block.proof.as_ref().map_or(0, Vec::len),
                log_rows: None,
                prove_seconds: None,
                verify_seconds: None,
                proved_now: false,
            };
            if json {
                return print_json(&out);
            }
            println!(
                "sub-block {} of thread {thread_id} is already {} ({} proof felts): run `zkthread settle`",
                out.sequence,
                sub_block.status.name(),
                out.proof_felts
            );
            return Ok(());
        }
        ProveOutcome::Proved(proved) => proved,
    };
    let out = Proved {
        thread_id,
        program: M::TOKEN_PROGRAM,
        sequence: proved.sub_block.sequence(),
        attempt: proved.sub_block.attempt,
        messages: proved.sub_block.body.messages.len(),
        transfers: transfers_in(&proved.sub_block.body.messages),
        proof_felts: proved.proof_felts,
        log_rows: Some(proved.log_rows),
        prove_seconds: Some(proved.prove_time.as_secs_f64()),
        verify_seconds: Some(proved.verify_time.as_secs_f64()),
        proved_now: true,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "proved sub-block {} of thread {thread_id}: {} transfers, {} proof felts (2^{} rows) in {:.1} s; next: zkthread settle --thread {thread_id}",
        out.sequence,
        out.transfers,
        out.proof_felts,
        proved.log_rows,
        proved.prove_time.as_secs_f64()
    );
    Ok(())
}
