//! The thread program the CLI proves for: the token-transfer AIR of `zkthread-prover` with the
//! Poseidon252 channel and OS version 1's default (secure) parameters.

use anyhow::{ensure, Context, Result};
use zkthread_cairo_build::ContractArtifact;
use zkthread_client::{ChainClient, Felt};
use zkthread_prover::{
    air_descriptor_digest, Poseidon252MerkleChannel, StarkParams, ThreadChannel,
};

use crate::chain::find;

/// The Merkle channel of OS version 1 (Cairo has the Poseidon builtin).
pub type Channel = Poseidon252MerkleChannel;

/// OS version the CLI registers and proves for.
pub const OS_VERSION: u64 = 1;

/// Proof parameters of OS version 1.
pub const PARAMS: StarkParams = StarkParams::DEFAULT;

/// The thread program: the Cairo verifier of this AIR with [`PARAMS`] (`contracts/thread_verifier`).
/// A thread's `program_hash` is this class's hash; the registry `library_call`s its `verify`.
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

/// Program hash `zkthread deploy` registers when it does not declare the verifier.
///
/// A thread's `program_hash` is the class hash of its Cairo verifier, which the registry
/// reaches with `library_call`. That verifier (issue 4) has not landed, so no class is declared
/// under this value: we use the prover's AIR descriptor digest — the constant the verifier
/// class will hard-code — so the hash at least names exactly the AIR and parameters the proofs
/// are made for. Once the verifier is declared, threads are created with its class hash.
pub fn pending_verifier_program_hash() -> Felt {
    air_descriptor_digest(&PARAMS, Channel::NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_hash_names_the_air_and_its_parameters() {
        let hash = pending_verifier_program_hash();
        assert_ne!(hash, Felt::ZERO);
        // A class hash must fit in 251 bits (Cairo's ClassHash).
        assert!(hash < Felt::from(2u8).pow(251u32));
        let other = StarkParams {
            n_queries: PARAMS.n_queries + 1,
            ..PARAMS
        };
        assert_ne!(air_descriptor_digest(&other, Channel::NAME), hash);
        assert!(PARAMS.security_bits() >= 96);
    }
}
