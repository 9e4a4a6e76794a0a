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
//! The prover side and stwo's Rust verifier are here; the generated Cairo evaluation is
//! `contracts/programs/token/list_air` (class `ListAir`) and the Cairo verifier
//! `contracts/programs/token/list_verifier` (class `ListVerifier`). The engine, the CLI, the
//! service and the `zkthread bench` commands (`--program list`) run it on a thread whose
//! program is `ListVerifier`.
//!
//! # Two parameter sets
//!
//! `ListVerifier` accepts a proof at either of [`LIST_PARAM_SETS`]: [`crate::SIGNED_PARAMS`]
//! (2^5 x 16 + 16, the smallest proof and the cheapest verification) or [`LIST_FAST_PARAMS`]
//! (2^4 x 20 + 16, about half the proving time). The proof names its set by its blowup,
//! queries and pow bits; the verifier checks the proof's whole configuration against that
//! set, and takes the AIR digest, the preprocessed roots and the FRI configuration all from
//! it, so no proof is checked under a mix of the two. Security: each set is 96 conjectured
//! bits (`log_blowup * n_queries + pow_bits`, the ethSTARK conjecture stwo counts by, over
//! the 124-bit QM31 field) and about 56 proven (the Johnson-bound count, ~2.5 x 16 + 16 =
//! 2 x 20 + 16; `zkthread_prover`'s "Security count"). Each set's AIR digest
//! ([`program::air_digest`]) hashes its parameters and opens the transcript after the public
//! input, so the two sets never share a Fiat-Shamir transcript: a cheating prover's attempts
//! each target one set, and two sets cost at most one bit by a union bound (none counted per
//! attempt). What a client must never do: accept a proof at parameters outside
//! [`LIST_PARAM_SETS`] (use [`verify_list_accepted`], not [`verify_list`] with the proof's own
//! parameters), or add a set below 96 bits or one matched by the same three numbers as
//! another (the `const` assertions below refuse both).

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
use zkthread_sig::transfer_list::LIST_AMOUNT_LIMIT;
use zkthread_prover::serialize::{program_proof_from_felts, program_proof_to_felts, DecodeError};

use crate::list::{ListHeadRole, ListItemRole};
use crate::prover::{SignedProveError, SignedVerifyError};
use crate::statement::{bound_slots, boundary, SignedPublicInput};
use crate::witness::{SignedListRow, SignedListWitness};

/// Version of the list AIR (bump on any change of columns, constraints or fraction order).
pub const SIGNED_LIST_AIR_VERSION: u64 = 5;
/// Components with a size chosen by the prover: list head, list item, the four authorization
/// roles, Poseidon2.
pub const LIST_SIZED_COMPONENTS: usize = 7;
/// Poseidon2 permutations one proof holds (the largest component's rows).
pub const MAX_PERMUTATIONS_PER_PROOF: usize = 1 << SIGNED_MAX_LOG_ROWS;
/// The longest list one proof holds alone (`SignedRejection::ListTooLong`'s bound, and the
/// engine's): its signature, transaction-list entry and `ceil(1.5 n)` list permutations fill
/// at most [`MAX_PERMUTATIONS_PER_PROOF`]. 43,607.
pub const MAX_LIST_TRANSFERS: usize = (MAX_PERMUTATIONS_PER_PROOF - zkthread_sig::wots::VERIFY_PERMUTATIONS - 1)
    * zkthread_sig::wots::RATE
    / zkthread_sig::transfer_list::TRANSFER_ELEMENTS;
const _: () = {
    let fixed = zkthread_sig::wots::VERIFY_PERMUTATIONS + 1;
    let list_blocks = zkthread_sig::transfer_list::list_blocks;
    assert!(fixed + list_blocks(MAX_LIST_TRANSFERS) <= MAX_PERMUTATIONS_PER_PROOF);
    assert!(fixed + list_blocks(MAX_LIST_TRANSFERS + 1) > MAX_PERMUTATIONS_PER_PROOF);
};

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

/// The list program's second parameter set: blowup 2^4 x 20 queries + 16 pow bits = 96
/// conjectured bits, as [`crate::SIGNED_PARAMS`] (2^5 x 16 + 16). Half its Merkle hashing (the
/// trees are blown up 16x instead of 32x), so about half the prover's time, for four more
/// queries on chain (~1.55e8 L2 gas against ~1.32e8 at 256 transfers) and ~500 more proof
/// felts (256 transfers, dev build, 2026-12-05: one sender 1.59 s and 3,917 felts, four senders
/// 3.09 s and 4,150 felts; 2.67-2.84 s and 5.35 s at the first set). A batcher chooses per
/// sub-block: this one when latency matters and the settlement's calldata allows it.
pub const LIST_FAST_PARAMS: StarkParams = StarkParams {
    log_blowup: 4,
    n_queries: 20,
    ..crate::SIGNED_PARAMS
};

const _: () = assert!(LIST_FAST_PARAMS.security_bits() >= 96);

/// Every parameter set `ListVerifier` accepts, in the order its generated constants list them
/// (`contracts/programs/token/list_verifier/src/generated_params.cairo`): the cheapest to verify
/// first. Each is >= 96 bits and has its own AIR digest (the parameters are hashed into it,
/// [`program::air_digest`]), so the two never share a transcript: a cheating prover gains at
/// most a factor two in attempts by having two sets to try, not a weaker one.
pub const LIST_PARAM_SETS: [StarkParams; 2] = [crate::SIGNED_PARAMS, LIST_FAST_PARAMS];

/// Every accepted set is >= 96 bits, and no two share the blowup, queries and pow bits a proof
/// is matched by (the second of two would never be used, here or in `ListVerifier`).
const _: () = {
    let mut i = 0;
    while i < LIST_PARAM_SETS.len() {
        let p = LIST_PARAM_SETS[i];
        assert!(p.security_bits() >= 96);
        let mut j = i + 1;
        while j < LIST_PARAM_SETS.len() {
            let q = LIST_PARAM_SETS[j];
            assert!(p.log_blowup != q.log_blowup || p.n_queries != q.n_queries || p.pow_bits != q.pow_bits);
            j += 1;
        }
        i += 1;
    }
};

/// The accepted set `proof` says it was made at (by its blowup, queries and pow bits; the
/// verifier then checks the rest of its configuration), `None` for any other.
pub fn accepted_params_of<MC: MerkleChannel>(proof: &SignedListProof<MC>) -> Option<StarkParams> {
    let config = &proof.stark.config;
    LIST_PARAM_SETS.into_iter().find(|p| {
        p.pow_bits == config.pow_bits
            && p.log_blowup == config.fri_config.log_blowup_factor
            && p.n_queries as usize == config.fri_config.n_queries
    })
}

/// Verifies `proof` as `ListVerifier` does: at the accepted set it was made at
/// ([`accepted_params_of`]); a proof at any other parameters is refused
/// ([`zkthread_prover::VerifyError::ParamsMismatch`]), whatever its security.
pub fn verify_list_accepted<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    proof: &SignedListProof<MC>,
) -> Result<(), SignedVerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let params = accepted_params_of(proof).ok_or(zkthread_prover::VerifyError::ParamsMismatch)?;
    verify_list(public_input, proof, &params)
}

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
/// point: nothing is checked against the lists or the keys, but an amount no list can carry
/// (2^120 or more) is an error, not a panic of the witness builder.
pub fn prove_list<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    slot_owners: &[Felt],
    lists: &[SignedListRow],
    params: &StarkParams,
) -> Result<SignedListProof<MC>, SignedProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    // The witness builder panics on such an amount (it has no commitment): refuse it here.
    for (list, row) in lists.iter().enumerate() {
        if let Some((item, i)) = row.items.iter().enumerate().find(|(_, i)| i.amount >= LIST_AMOUNT_LIMIT) {
            return Err(SignedProveError::ListAmountTooLarge { list, item, amount: i.amount });
        }
    }
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

    /// [`super::verify_list_accepted`]: at whichever accepted set the proof names.
    pub fn verify_accepted(public_input: &SignedPublicInput, proof: &Proof) -> Result<(), SignedVerifyError> {
        super::verify_list_accepted::<MC>(public_input, proof)
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
