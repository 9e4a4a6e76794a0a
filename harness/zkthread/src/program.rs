//! The thread program the CLI proves for: the signed token program
//! (`zkthread_prover::signed`: every transfer signed by its sender's thread key, slots bound to
//! `balances` / `thread_keys`) with the Poseidon252 channel and its only accepted parameters
//! [`PARAMS`]. Its Cairo verifier class `SignedVerifier` is the program: a thread's
//! `program_hash` is that class's hash, and registering the program makes the registry deploy
//! an instance of it, whose `verify` it calls on every settlement.
//!
//! [`unsigned`] is the first token program, whose proofs show conservation but no
//! authorization. No default path (`demo`, `deploy`, `thread create`, `batch`/`prove`/`settle`)
//! uses it; only the `bench` commands measure it, on their own devnet threads.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use zkthread_cairo_build::ContractArtifact;
use zkthread_client::registry::ThreadInfo;
use zkthread_client::{ChainClient, Felt};
use zkthread_prover::signed::{poseidon252, SignedPublicInput, SignedRow};
use zkthread_prover::{Poseidon252MerkleChannel, StarkParams};

use crate::chain::find;

/// The Merkle channel of OS version 1 (Cairo has the Poseidon builtin).
pub type Channel = Poseidon252MerkleChannel;

/// OS version the CLI registers and proves for.
pub const OS_VERSION: u64 = 1;

/// Proof parameters of the signed program (the only ones `SignedVerifier` accepts).
pub const PARAMS: StarkParams = zkthread_prover::signed::SIGNED_PARAMS;

/// The signed program's Cairo verifier (`contracts/signed_verifier`).
pub const VERIFIER: (&str, &str) = ("signed_verifier", "SignedVerifier");

/// The unsigned token program, for benchmarks only (see the module docs).
pub mod unsigned {
    use zkthread_prover::StarkParams;

    /// Its Cairo verifier (`contracts/thread_verifier`).
    pub const VERIFIER: (&str, &str) = ("thread_verifier", "ThreadVerifier");
    pub const PARAMS: StarkParams = StarkParams::DEFAULT;
}

/// Declares the verifier class `which` (unless declared) and returns its class hash — the
/// program hash threads of that program are created with — and the declare fee (0 if it was
/// declared).
pub async fn declare_verifier(
    client: &ChainClient,
    artifacts: &[ContractArtifact],
    which: (&str, &str),
) -> Result<(Felt, u128)> {
    let verifier = find(artifacts, which)?;
    let declared = client
        .declare(verifier)
        .await
        .with_context(|| format!("declaring {}", verifier.id()))?;
    ensure!(
        declared.class_hash == verifier.class_hash,
        "the node's class hash for {} differs from ours",
        verifier.id()
    );
    Ok((
        declared.class_hash,
        declared.outcome.map_or(0, |o| o.actual_fee),
    ))
}

/// The statement of a thread's next sub-block before its slot lists are known: the thread's
/// record in the registry (OS version, program, contract set, next sequence) and where it
/// lives (chain, registry, thread id), which every signature's domain covers.
pub fn thread_statement(
    info: &ThreadInfo,
    chain_id: Felt,
    registry: Felt,
    thread_id: u64,
) -> SignedPublicInput {
    SignedPublicInput {
        os_version: info.os_version,
        program_hash: info.program_hash,
        chain_id,
        registry,
        thread_id: Felt::from(thread_id),
        sequence: Felt::from(info.sequence),
        contract_set_commitment: info.contract_set_commitment,
        inputs: vec![],
        outputs: vec![],
    }
}

/// A signed sub-block proven by [`prove`].
pub struct ProvenSubBlock {
    pub proof: poseidon252::Proof,
    /// Time the prover took.
    pub elapsed: Duration,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
}

/// Proves a signed sub-block with [`PARAMS`] on a blocking thread (proving takes seconds to
/// minutes and must not stall the async runtime).
pub async fn prove(statement: SignedPublicInput, owners: Vec<Felt>, rows: Vec<SignedRow>) -> Result<ProvenSubBlock> {
    let (proof, elapsed) = tokio::task::spawn_blocking(move || {
        let began = Instant::now();
        poseidon252::prove(&statement, &owners, &rows, &PARAMS).map(|proof| (proof, began.elapsed()))
    })
    .await
    .context("the prover task failed")?
    .context("proving the sub-block")?;
    let log_rows = proof.log_sizes.iter().copied().max().unwrap_or(0);
    Ok(ProvenSubBlock { proof, elapsed, log_rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_prover::signed::prover::signed_air_digest;
    use zkthread_prover::{air_descriptor_digest, ThreadChannel};

    #[test]
    fn the_proven_parameters_are_secure_and_named_by_the_air_digest() {
        assert!(PARAMS.security_bits() >= 96);
        assert!(unsigned::PARAMS.security_bits() >= 96);
        let other = StarkParams {
            n_queries: PARAMS.n_queries + 1,
            ..PARAMS
        };
        assert_ne!(
            signed_air_digest(&other, Channel::NAME),
            signed_air_digest(&PARAMS, Channel::NAME)
        );
        let other = StarkParams {
            n_queries: unsigned::PARAMS.n_queries + 1,
            ..unsigned::PARAMS
        };
        assert_ne!(
            air_descriptor_digest(&other, Channel::NAME),
            air_descriptor_digest(&unsigned::PARAMS, Channel::NAME)
        );
    }
}
