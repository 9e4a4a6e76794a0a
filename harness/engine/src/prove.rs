//! Proving a thread's built sub-block with Stwo (the signed program: every signature, nonce
//! and balance move in the AIR), verifying it off-chain and storing the proof felts
//! (Built → Proven). Needs no node: everything is in the store.

use std::time::{Duration, Instant};

use zkthread_token::poseidon252;
use zkthread_prover::ThreadChannel;
use zkthread_store::{Store, SubBlock, ThreadKey};

use crate::codec::{rebuild, statement};
use crate::error::{EngineError, Result};
use crate::program::{self, Channel, ProvenSubBlock, PARAMS};
use crate::Observer;

/// What [`prove`] did.
#[derive(Debug)]
pub enum ProveOutcome {
    /// The thread has no sub-block in flight.
    NothingBuilt,
    /// No sub-block is Built: the oldest in-flight one was proven before (it may be on its
    /// way to settle).
    AlreadyProven(SubBlock),
    Proved(Proved),
}

/// A sub-block proven now and recorded as Proven.
#[derive(Debug)]
pub struct Proved {
    pub sub_block: SubBlock,
    pub proof_felts: usize,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
    pub prove_time: Duration,
    pub verify_time: Duration,
}

/// Proves the thread's Built sub-block (there is at most one; it may have been built ahead on
/// a proven one: its statement names its own sequence and inputs). A proof that does not verify off-chain is never
/// stored: settling it would pay for a doomed transaction.
pub async fn prove(store: &Store, key: ThreadKey, observer: &dyn Observer) -> Result<ProveOutcome> {
    let Some(sub_block) = store.built(key)? else {
        return Ok(match store.in_flight(key)? {
            Some(proven) => ProveOutcome::AlreadyProven(proven),
            None => ProveOutcome::NothingBuilt,
        });
    };
    let statement = statement(&sub_block, key.registry)?;
    let witness = rebuild(&sub_block, key.registry)?;
    observer.step(&format!(
        "proving sub-block {} ({} signed transfers, {} slots) with Stwo ({}, {} bits)",
        sub_block.sequence(),
        witness.transfers.len(),
        witness.outputs.len(),
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let ProvenSubBlock {
        proof,
        elapsed: prove_time,
        log_rows,
    } = program::prove(statement.clone(), witness.owners, witness.rows).await?;
    observer.done(&format!("largest component 2^{log_rows} rows"));
    observer.step("verifying the proof off-chain");
    let began = Instant::now();
    poseidon252::verify(&statement, &proof, &PARAMS).map_err(|source| EngineError::Verify {
        what: "the new proof",
        source,
    })?;
    let verify_time = began.elapsed();
    let felts = poseidon252::to_felts(&proof);
    let proof_felts = felts.len();
    observer.done(&format!(
        "{:.0} ms, {proof_felts} proof felts",
        verify_time.as_secs_f64() * 1e3
    ));
    let sub_block = store.record_proof(key, sub_block.sequence(), sub_block.attempt, felts)?;
    Ok(ProveOutcome::Proved(Proved {
        sub_block,
        proof_felts,
        log_rows,
        prove_time,
        verify_time,
    }))
}
