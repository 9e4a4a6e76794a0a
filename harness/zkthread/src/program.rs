//! The thread program the CLI proves for: the engine's signed token program
//! (`zkthread_engine::program`: Poseidon252 channel, its only accepted parameters [`PARAMS`]).
//! Its Cairo verifier class `SignedVerifier` is the program: a thread's `program_hash` is that
//! class's hash, and registering the program makes the registry deploy an instance of it,
//! whose `verify` it calls on every settlement.
//!
//! [`unsigned`] is the first token program, whose proofs show conservation but no
//! authorization. No default path (`demo`, `deploy`, `thread create`, `batch`/`prove`/`settle`)
//! uses it; only the `bench` commands measure it, on their own devnet threads.

use anyhow::{ensure, Context, Result};
use zkthread_cairo_build::ContractArtifact;
use zkthread_client::{ChainClient, Felt};

pub use zkthread_engine::program::{
    libraries_of, prove_program, thread_statement, Channel, ProvenSubBlock, LIST_VERIFIER, OS_VERSION, PARAMS,
    VERIFIER,
};

use crate::chain::find;

/// The unsigned token program, for benchmarks only (see the module docs).
pub mod unsigned {
    use zkthread_prover::StarkParams;

    /// Its Cairo verifier (`contracts/thread_verifier`).
    pub const VERIFIER: (&str, &str) = ("thread_verifier", "ThreadVerifier");
    pub const PARAMS: StarkParams = StarkParams::DEFAULT;
}

/// Declares the verifier class `which` (unless declared), after the classes it library-calls
/// (`libraries_of`: their hashes are constants of its code), and returns its class hash — the
/// program hash threads of that program are created with — and the declare fees (0 for what
/// was declared).
pub async fn declare_verifier(
    client: &ChainClient,
    artifacts: &[ContractArtifact],
    which: (&str, &str),
) -> Result<(Felt, u128)> {
    let mut fees = 0;
    for library in libraries_of(which) {
        let (_, fee) = declare_class(client, artifacts, library.class).await?;
        fees += fee;
    }
    let (class_hash, fee) = declare_class(client, artifacts, which).await?;
    Ok((class_hash, fees + fee))
}

/// Declares the class `which` (unless declared); its class hash and the declare fee.
pub(crate) async fn declare_class(
    client: &ChainClient,
    artifacts: &[ContractArtifact],
    which: (&str, &str),
) -> Result<(Felt, u128)> {
    let class = find(artifacts, which)?;
    let declared = client
        .declare(class)
        .await
        .with_context(|| format!("declaring {}", class.id()))?;
    ensure!(
        declared.class_hash == class.class_hash,
        "the node's class hash for {} differs from ours",
        class.id()
    );
    Ok((
        declared.class_hash,
        declared.outcome.map_or(0, |o| o.actual_fee),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_prover::{air_descriptor_digest, StarkParams, ThreadChannel};

    #[test]
    fn the_unsigned_parameters_are_secure_and_named_by_the_air_digest() {
        assert!(unsigned::PARAMS.security_bits() >= 96);
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
