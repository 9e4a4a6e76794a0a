//! The token program with signed transfer lists ([`SignedListProgram`]): every message is a
//! list of one sender's transfers under one signature ([`ListHeadRole`] and [`ListItemRole`],
//! `crate::list`; a single transfer is a list of one), on the framework's driver with the
//! token's statement and boundary, which do not change: a list moves the same `balances` and
//! `thread_keys` slots, and its digest takes one place in the transaction list.
//!
//! List-only, not beside the signed program's [`crate::transfer::TransferRole`]: a list of
//! one costs 127 Poseidon2 permutations where a single signed transfer costs 125, and one
//! message kind fewer keeps the on-chain evaluation smaller (its mask values price every
//! query) and wallets to one message.
//!
//! Status (issue 11): the prover side, stwo's Rust verifier, the generated Cairo evaluation
//! (`contracts/programs/token/list_air`, class `ListAir`) and the Cairo verifier
//! (`contracts/programs/token/list_verifier`, class `ListVerifier`, at [`crate::SIGNED_PARAMS`]),
//! which settle lists on a devnet, and the `zkthread bench` commands (`--program list`). The
//! CLI's batch/prove/settle, the service and the engine still run
//! [`crate::prover::SignedTokenProgram`].

use starknet_types_core::felt::Felt;
use stwo::core::channel::MerkleChannel;
use stwo::core::fields::qm31::SecureField;
use stwo::core::proof::StarkProof;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use zkthread_prover::channel::ThreadChannel;
use zkthread_prover::params::StarkParams;
use zkthread_prover::program::{self, ProgramRole, ProofRows, RoleComponent, ThreadProgram};
use zkthread_prover::range::SIGNED_MAX_LOG_ROWS;
use zkthread_prover::serialize::{program_proof_from_felts, program_proof_to_felts, DecodeError};

use crate::list::{ListHeadRole, ListItemRole};
use crate::prover::{SignedProveError, SignedVerifyError};
use crate::statement::{bound_slots, boundary, SignedPublicInput};
use crate::witness::{SignedListRow, SignedListWitness};

/// Version of the list AIR (bump on any change of columns, constraints or fraction order).
pub const SIGNED_LIST_AIR_VERSION: u64 = 2;
/// Components with a size chosen by the prover: list head, list item, the four authorization
/// roles, Poseidon2.
pub const LIST_SIZED_COMPONENTS: usize = 7;
/// Poseidon2 permutations one proof holds (the largest component's rows).
pub const MAX_PERMUTATIONS_PER_PROOF: usize = 1 << SIGNED_MAX_LOG_ROWS;

/// The token program with signed lists, for the framework's driver.
pub struct SignedListProgram;

impl ThreadProgram for SignedListProgram {
    const NAME: &'static str = "zkthread.signed_list_air";
    const AIR_VERSION: u64 = SIGNED_LIST_AIR_VERSION;

    fn roles() -> Vec<Box<dyn ProgramRole>> {
        vec![
            RoleComponent::<ListHeadRole>::boxed(),
            RoleComponent::<ListItemRole>::boxed(),
        ]
    }
}

const _: () = assert!(LIST_SIZED_COMPONENTS == 2 + program::FRAMEWORK_SIZED_COMPONENTS);

/// A proof of the list program.
#[derive(Debug)]
pub struct SignedListProof<MC: MerkleChannel> {
    /// Owner of each input slot (binds the slot to `balances`/`thread_keys`).
    pub slot_owners: Vec<Felt>,
    pub log_sizes: [u32; LIST_SIZED_COMPONENTS],
    /// Claimed LogUp sums of every component but the first.
    pub claimed_sums: [SecureField; LIST_SIZED_COMPONENTS],
    pub stark: StarkProof<MC::H>,
}

impl<MC: MerkleChannel> Clone for SignedListProof<MC> {
    fn clone(&self) -> Self {
        SignedListProof {
            slot_owners: self.slot_owners.clone(),
            log_sizes: self.log_sizes,
            claimed_sums: self.claimed_sums,
            stark: self.stark.clone(),
        }
    }
}

/// Proves `lists` (with their signatures' verification traces) for `public_input`. Raw entry
/// point: nothing is checked against the lists or the keys.
pub fn prove_list<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    slot_owners: &[Felt],
    lists: &[SignedListRow],
    params: &StarkParams,
) -> Result<SignedListProof<MC>, SignedProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    prove_list_witness(public_input, slot_owners, &SignedListWitness::of(lists), params)
}

/// [`prove_list`] from the components' rows themselves (a test may edit any column).
pub fn prove_list_witness<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    slot_owners: &[Felt],
    witness: &SignedListWitness,
    params: &StarkParams,
) -> Result<SignedListProof<MC>, SignedProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    bound_slots(public_input, slot_owners)?;
    let rows = ProofRows {
        program: vec![&witness.heads, &witness.items],
        auth: &witness.auth,
    };
    let parts = program::prove::<SignedListProgram, MC>(&public_input.to_felts(), &rows, params)?;
    let n = parts.log_sizes.len();
    let log_sizes = parts.log_sizes.try_into().map_err(|_| SignedProveError::ComponentCount(n))?;
    let claimed_sums = parts.claimed_sums.try_into().map_err(|_| SignedProveError::ComponentCount(n))?;
    Ok(SignedListProof { slot_owners: slot_owners.to_vec(), log_sizes, claimed_sums, stark: parts.stark })
}

/// Verifies `proof` for `public_input` with stwo's verifier.
pub fn verify_list<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    proof: &SignedListProof<MC>,
    params: &StarkParams,
) -> Result<(), SignedVerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let slots = bound_slots(public_input, &proof.slot_owners)?;
    program::verify::<SignedListProgram, MC, _>(
        &public_input.to_felts(),
        &proof.log_sizes,
        &proof.claimed_sums,
        &proof.stark,
        params,
        |relations| boundary(&slots, &public_input.transactions, relations),
    )
}

/// Encodes a list proof as felts (the framework's layout).
pub fn list_proof_to_felts<MC: ThreadChannel>(proof: &SignedListProof<MC>) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    program_proof_to_felts::<MC>(&proof.log_sizes, &proof.claimed_sums, &proof.stark, &proof.slot_owners)
}

/// Decodes felts produced by [`list_proof_to_felts`].
pub fn list_proof_from_felts<MC: ThreadChannel>(felts: &[Felt]) -> Result<SignedListProof<MC>, DecodeError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let (slot_owners, log_sizes, claimed_sums, stark) =
        program_proof_from_felts::<MC, LIST_SIZED_COMPONENTS>(felts)?;
    Ok(SignedListProof { slot_owners, log_sizes, claimed_sums, stark })
}

/// The list program on the Poseidon252 channel (the one `ListVerifier` reads), instantiated
/// here for the reason `crate::poseidon252` gives: a caller built at opt-level 0 would run
/// stwo's generic prover and verifier unoptimised.
pub mod poseidon252 {
    use starknet_types_core::felt::Felt;
    use zkthread_prover::params::StarkParams;
    use zkthread_prover::serialize::DecodeError;
    use zkthread_prover::Poseidon252MerkleChannel as MC;

    use super::{SignedListProof, SignedProveError, SignedPublicInput, SignedVerifyError};
    use crate::witness::SignedListRow;

    pub type Proof = SignedListProof<MC>;

    pub fn prove(
        public_input: &SignedPublicInput,
        slot_owners: &[Felt],
        lists: &[SignedListRow],
        params: &StarkParams,
    ) -> Result<Proof, SignedProveError> {
        super::prove_list::<MC>(public_input, slot_owners, lists, params)
    }

    pub fn verify(public_input: &SignedPublicInput, proof: &Proof, params: &StarkParams) -> Result<(), SignedVerifyError> {
        super::verify_list::<MC>(public_input, proof, params)
    }

    pub fn to_felts(proof: &Proof) -> Vec<Felt> {
        super::list_proof_to_felts(proof)
    }

    pub fn from_felts(felts: &[Felt]) -> Result<Proof, DecodeError> {
        super::list_proof_from_felts::<MC>(felts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two token programs start their transcripts apart: a proof of one is never checked
    /// against the other's constraints under the same digest.
    #[test]
    fn the_list_programs_air_digest_is_not_the_tokens() {
        let params = crate::SIGNED_PARAMS;
        assert_ne!(
            program::air_digest::<SignedListProgram>(&params, "poseidon252"),
            crate::prover::signed_air_digest(&params, "poseidon252")
        );
    }
}
