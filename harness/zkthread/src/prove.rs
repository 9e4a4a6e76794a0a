//! `zkthread prove`: prove the thread's built sub-block with Stwo (the signed program: every
//! signature, nonce and balance move in the AIR), verify it off-chain, store the proof felts
//! (Built → Proven). Needs no node: everything is in the data directory.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_prover::signed::poseidon252;
use zkthread_prover::ThreadChannel;
use zkthread_store::SubBlockStatus;

use crate::datadir::{open_store, rebuild, statement, ThreadArgs};
use crate::output::{nothing_to_do, print_json, Progress};
use crate::program::{self, Channel, ProvenSubBlock, PARAMS};

#[derive(Args, Debug)]
pub struct ProveArgs {
    #[command(flatten)]
    thread: ThreadArgs,
}

#[derive(Serialize)]
struct Proved {
    thread_id: u64,
    sequence: u64,
    attempt: u32,
    transfers: usize,
    proof_felts: usize,
    log_rows: Option<u32>,
    prove_seconds: Option<f64>,
    verify_ms: Option<f64>,
    /// false when the sub-block was proven by an earlier run.
    proved_now: bool,
}

pub async fn run(args: ProveArgs, data_dir: &Path, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let key = args.thread.key();
    let thread_id = key.thread_id;
    let store = open_store(data_dir)?;
    let Some(sub_block) = store.in_flight(key)? else {
        return nothing_to_do(
            thread_id,
            &format!("no built sub-block (run `zkthread batch --thread {thread_id}` first)"),
            json,
        );
    };
    if sub_block.status != SubBlockStatus::Built {
        let out = Proved {
            thread_id,
            sequence: sub_block.sequence(),
            attempt: sub_block.attempt,
            transfers: sub_block.body.transfers.len(),
            proof_felts: sub_block.proof.as_ref().map_or(0, Vec::len),
            log_rows: None,
            prove_seconds: None,
            verify_ms: None,
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
    let statement = statement(&sub_block, key.registry);
    let witness = rebuild(&sub_block, key.registry)?;
    let step = progress.step(format!(
        "proving sub-block {} ({} signed transfers, {} slots) with Stwo ({}, {} bits)",
        sub_block.sequence(),
        witness.transfers.len(),
        witness.outputs.len(),
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let ProvenSubBlock { proof, elapsed: prove_time, log_rows } =
        program::prove(statement.clone(), witness.owners, witness.rows).await?;
    step.done(format!("largest component 2^{log_rows} rows"));
    let step = progress.step("verifying the proof off-chain");
    let began = Instant::now();
    // Never store a proof that does not verify: `settle` would pay for a doomed transaction.
    poseidon252::verify(&statement, &proof, &PARAMS).context("the new proof does not verify")?;
    let verify_time = began.elapsed();
    let felts = poseidon252::to_felts(&proof);
    step.done(format!(
        "{:.0} ms, {} proof felts",
        verify_time.as_secs_f64() * 1e3,
        felts.len()
    ));
    let proof_felts = felts.len();
    store.record_proof(key, sub_block.sequence(), sub_block.attempt, felts)?;
    let out = Proved {
        thread_id,
        sequence: sub_block.sequence(),
        attempt: sub_block.attempt,
        transfers: sub_block.body.transfers.len(),
        proof_felts,
        log_rows: Some(log_rows),
        prove_seconds: Some(prove_time.as_secs_f64()),
        verify_ms: Some(verify_time.as_secs_f64() * 1e3),
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
        log_rows,
        prove_time.as_secs_f64()
    );
    Ok(())
}
