//! `zkthread prove`: prove the thread's built sub-block with Stwo (the engine's [`prove`]),
//! verify it off-chain, store the proof felts (Built → Proven). Needs no node: everything is
//! in the data directory.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use zkthread_engine::program::{describe_params, ProofParams, TokenProgram};
use zkthread_engine::token::{transfers_in, TokenMessage};
use zkthread_engine::{prove_at, ProveOutcome};
use zkthread_store::{NewTransferList, Store};

use crate::datadir::{open_store, stored_program, ThreadArgs};
use crate::output::{nothing_to_do, print_json, Steps};

#[derive(Args, Debug)]
pub struct ProveArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    /// Prove a list thread's sub-block at the list program's fast parameter set (2^4 x 20 +
    /// 16, also 96 bits, accepted by `ListVerifier`): about half the proving time, for ~17%
    /// more verification gas and ~500 more proof felts. A sub-block of more than 1,024
    /// Poseidon2 permutations, or whose settlement would not fit 5,000 calldata felts, is
    /// proven at the default set.
    #[arg(long)]
    fast: bool,
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
    /// The proof's parameters (null when proven by an earlier run).
    log_blowup: Option<u32>,
    n_queries: Option<u32>,
    pow_bits: Option<u32>,
    log_rows: Option<u32>,
    prove_seconds: Option<f64>,
    verify_seconds: Option<f64>,
    /// false when the sub-block was proven by an earlier run.
    proved_now: bool,
}

pub async fn run(args: ProveArgs, data_dir: &Path, json: bool) -> Result<()> {
    let store = open_store(data_dir)?;
    match stored_program(&store, args.thread.key())? {
        TokenProgram::Signed => {
            // With no messages here there is nothing to prove either way.
            anyhow::ensure!(
                !args.fast || store.program_of(args.thread.key())?.is_none(),
                "--fast: thread {} runs the signed program, whose verifier accepts one parameter set (only list threads have a fast one)",
                args.thread.key().thread_id
            );
            run_program(args, store, json).await
        }
        TokenProgram::List => run_program(args, store.program::<NewTransferList>(), json).await,
    }
}

async fn run_program<M: TokenMessage>(args: ProveArgs, store: Store<M>, json: bool) -> Result<()> {
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let choice = if args.fast { ProofParams::Fast } else { ProofParams::Compact };
    let proved = match prove_at(&store, key, choice, &Steps::new(json)).await? {
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
                log_blowup: None,
                n_queries: None,
                pow_bits: None,
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
        log_blowup: Some(proved.params.log_blowup),
        n_queries: Some(proved.params.n_queries),
        pow_bits: Some(proved.params.pow_bits),
        log_rows: Some(proved.log_rows),
        prove_seconds: Some(proved.prove_time.as_secs_f64()),
        verify_seconds: Some(proved.verify_time.as_secs_f64()),
        proved_now: true,
    };
    if json {
        return print_json(&out);
    }
    println!(
        "proved sub-block {} of thread {thread_id}: {} transfers, {} proof felts (2^{} rows, {}) in {:.1} s; next: zkthread settle --thread {thread_id}",
        out.sequence,
        out.transfers,
        out.proof_felts,
        proved.log_rows,
        describe_params(&proved.params),
        proved.prove_time.as_secs_f64()
    );
    Ok(())
}
