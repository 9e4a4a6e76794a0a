//! The thread program the CLI proves for: the token-transfer AIR of `zkthread-prover` with the
//! Poseidon252 channel and OS version 1's default (secure) parameters.

use anyhow::{ensure, Context, Result};
use zkthread_cairo_build::ContractArtifact;
use zkthread_client::{ChainClient, Felt};
use zkthread_prover::{Poseidon252MerkleChannel, StarkParams};

use crate::chain::find;

/// The Merkle channel of OS version 1 (Cairo has the Poseidon builtin).
pub type Channel = Poseidon252MerkleChannel;

/// OS version the CLI registers and proves for.
pub const OS_VERSION: u64 = 1;

/// Proof parameters of OS version 1.
pub const PARAMS: StarkParams = StarkParams::DEFAULT;

/// The thread program: the Cairo verifier of this AIR with [`PARAMS`] (`contracts/thread_verifier`).
/// A thread's `program_hash` is this class's hash; registering the program makes the registry
/// deploy an instance of the class, whose `verify` it calls on every settlement.
pub const VERIFIER: (&str, &str) = ("thread_verifier", "ThreadVerifier");

/// Declares the verifier class (unless declared) and returns its class hash — the program hash
/// threads proven by this CLI are created with — and the declare fee (0 if it was declared).
pub async fn declare_verifier(
    client: &ChainClient,
    artifacts: &[ContractArtifact],
) -> Result<(Felt, u128)> {
    let verifier = find(artifacts, VERIFIER)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_prover::{air_descriptor_digest, ThreadChannel};

    #[test]
    fn the_proven_parameters_are_secure_and_named_by_the_air_digest() {
        assert!(PARAMS.security_bits() >= 96);
        let other = StarkParams {
            n_queries: PARAMS.n_queries + 1,
            ..PARAMS
        };
        assert_ne!(
            air_descriptor_digest(&other, Channel::NAME),
            air_descriptor_digest(&PARAMS, Channel::NAME)
        );
    }
}
