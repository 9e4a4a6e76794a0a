//! Proving and verifying a signed sub-block: the signed token program as the framework's
//! driver sees it ([`SignedTokenProgram`]: one role, [`TransferRole`], before the
//! authorization roles), with the token's statement checks and proof type around
//! `zkthread_prover::program::{prove, verify}` (whose docs give the transcript).
//!
//! The transfer component's claimed sum is not sent: it is `boundary - sum(others)`, where the
//! boundary comes from the public lists and the transaction-list commitment (`State` and
//! `Link`; every other relation is internal and sums to zero).

use starknet_types_core::felt::Felt;
use stwo::core::channel::MerkleChannel;
use stwo::core::fields::qm31::SecureField;
use stwo::core::proof::StarkProof;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use stwo_constraint_framework::{FrameworkComponent, TraceLocationAllocator};
use zkthread_prover::channel::ThreadChannel;
use zkthread_prover::params::StarkParams;
use zkthread_prover::poseidon2::air::Poseidon2Eval;
use zkthread_prover::program::{self, ProgramRole, ProofRows, RoleComponent, ThreadProgram};
use zkthread_prover::prover::VerifyError;
use zkthread_prover::range::{range_log_size, Range8TableEval, SIGNED_MAX_LOG_ROWS};
use zkthread_prover::role::{Relations, RoleEval};
use zkthread_prover::serialize::{program_proof_from_felts, program_proof_to_felts, DecodeError};

use crate::roles::{ChainStepRole, DigestRole, KeySpongeRole, TransferRole, TxListRole};
use crate::statement::{bound_slots, boundary, SignedPublicInput, SignedStatementError};
use crate::witness::{SignedRow, SignedWitness};

/// Version of the signed AIR (bump on any change of columns, constraints or fraction order).
pub const SIGNED_AIR_VERSION: u64 = 5;
/// Largest component (rows = 2^MAX_LOG_ROWS): see [`crate::range`] for why 16.
pub const MAX_LOG_ROWS: u32 = SIGNED_MAX_LOG_ROWS;
/// Components with a size chosen by the prover, in proof order.
pub const SIZED_COMPONENTS: usize = 6;
/// Poseidon2 permutations (rows of the Poseidon2 component, the largest) one signed transfer
/// adds: its signature's verification and its digest's place in the transaction list.
pub const PERMUTATIONS_PER_TRANSFER: usize = zkthread_sig::wots::VERIFY_PERMUTATIONS + 1;
/// Signed transfers one proof holds (524): the Poseidon2 component's rows are capped at
/// `2^MAX_LOG_ROWS`, and a larger sub-block is refused before any work
/// (`ProveError::TooLarge`), so batchers cut their sub-blocks at this size.
pub const MAX_TRANSFERS_PER_PROOF: usize = (1 << MAX_LOG_ROWS) / PERMUTATIONS_PER_TRANSFER;

/// A signed-transfer proof.
#[derive(Debug)]
pub struct SignedProof<MC: MerkleChannel> {
    /// Owner of each input slot (binds the slot to `balances`/`thread_keys`).
    pub slot_owners: Vec<Felt>,
    /// Log sizes of transfer, chain step, digest, key sponge, tx list, Poseidon2.
    pub log_sizes: [u32; SIZED_COMPONENTS],
    /// Claimed LogUp sums of chain step, digest, key sponge, tx list, Poseidon2, range table.
    pub claimed_sums: [SecureField; SIZED_COMPONENTS],
    pub stark: StarkProof<MC::H>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignedProveError {
    #[error(transparent)]
    Statement(#[from] SignedStatementError),
    #[error(transparent)]
    Program(#[from] program::ProveError),
    #[error("the driver returned {0} sized components, the signed program has {SIZED_COMPONENTS}")]
    ComponentCount(usize),
    /// A list row carries an amount no list can (its stream holds amounts below 2^120):
    /// `SignedBatcher` never builds one.
    #[error("list {list}, item {item}: amount {amount} is 2^120 or more, which a list cannot carry")]
    ListAmountTooLarge { list: usize, item: usize, amount: u128 },
}

/// Why a signed proof is refused (the shared verifier errors over the signed statement).
pub type SignedVerifyError = VerifyError<SignedStatementError>;

/// The signed token program for the framework's driver: its one role, [`TransferRole`].
pub struct SignedTokenProgram;

impl ThreadProgram for SignedTokenProgram {
    const NAME: &'static str = "zkthread.signed_air";
    const AIR_VERSION: u64 = SIGNED_AIR_VERSION;

    fn roles() -> Vec<Box<dyn ProgramRole>> {
        vec![RoleComponent::<TransferRole>::boxed()]
    }
}

/// `poseidon_hash_many` over a description of the signed AIR and the parameters
/// ([`program::air_digest`]).
pub fn signed_air_digest(params: &StarkParams, channel: &str) -> Felt {
    program::air_digest::<SignedTokenProgram>(params, channel)
}

/// The seven components of a signed proof, in proof order.
pub type Components = (
    FrameworkComponent<RoleEval<TransferRole>>,
    FrameworkComponent<RoleEval<ChainStepRole>>,
    FrameworkComponent<RoleEval<DigestRole>>,
    FrameworkComponent<RoleEval<KeySpongeRole>>,
    FrameworkComponent<RoleEval<TxListRole>>,
    FrameworkComponent<Poseidon2Eval>,
    FrameworkComponent<Range8TableEval>,
);

/// Every component's claimed sum, in proof order.
pub const N_COMPONENTS: usize = SIZED_COMPONENTS + 1;

/// The seven components in proof order; `sums` = transfer, chain, digest, key, tx list,
/// Poseidon2, table. Public so the Cairo generator (`harness/air-codegen`) evaluates exactly
/// these.
pub fn components(log: &[u32; SIZED_COMPONENTS], r: &Relations, sums: [SecureField; N_COMPONENTS]) -> Components {
    let mut a = TraceLocationAllocator::default();
    (
        FrameworkComponent::new(&mut a, RoleEval::new(log[0], r.clone()), sums[0]),
        FrameworkComponent::new(&mut a, RoleEval::new(log[1], r.clone()), sums[1]),
        FrameworkComponent::new(&mut a, RoleEval::new(log[2], r.clone()), sums[2]),
        FrameworkComponent::new(&mut a, RoleEval::new(log[3], r.clone()), sums[3]),
        FrameworkComponent::new(&mut a, RoleEval::new(log[4], r.clone()), sums[4]),
        FrameworkComponent::new(
            &mut a,
            Poseidon2Eval { log_n_rows: log[5], relation: r.poseidon2.clone() },
            sums[5],
        ),
        FrameworkComponent::new(
            &mut a,
            Range8TableEval { log_size: range_log_size(log), range: r.range.clone() },
            sums[6],
        ),
    )
}

/// Column log sizes per tree (preprocessed, main, interaction), as the verifier commits them.
pub fn column_log_sizes(log: &[u32; SIZED_COMPONENTS]) -> [Vec<u32>; 3] {
    program::column_log_sizes::<SignedTokenProgram>(log)
}

/// Proves `rows` (signed transfers with their signatures' verification traces) for
/// `public_input`, with `slot_owners` binding its input slots. Raw entry point: the rows are
/// not checked against the lists, nor the signatures against the keys — the constraints and
/// the verifier are what refuse a bad witness.
pub fn prove_signed<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    slot_owners: &[Felt],
    rows: &[SignedRow],
    params: &StarkParams,
) -> Result<SignedProof<MC>, SignedProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let mut witness = SignedWitness::new();
    rows.iter().for_each(|r| witness.push(r));
    prove_signed_witness(public_input, slot_owners, &witness, params)
}

/// [`prove_signed`] from the components' rows themselves (rawer still: a test may edit any
/// column). The range table's multiplicities are counted from the rows; a look-up of a value
/// outside the table is left unbalanced, for the verifier to refuse.
pub fn prove_signed_witness<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    slot_owners: &[Felt],
    witness: &SignedWitness,
    params: &StarkParams,
) -> Result<SignedProof<MC>, SignedProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    bound_slots(public_input, slot_owners)?;
    let rows = ProofRows { program: vec![&witness.transfers], auth: &witness.auth };
    let parts = program::prove::<SignedTokenProgram, MC>(&public_input.to_felts(), &rows, params)?;
    let n = parts.log_sizes.len();
    let log_sizes = parts.log_sizes.try_into().map_err(|_| SignedProveError::ComponentCount(n))?;
    let claimed_sums = parts.claimed_sums.try_into().map_err(|_| SignedProveError::ComponentCount(n))?;
    Ok(SignedProof { slot_owners: slot_owners.to_vec(), log_sizes, claimed_sums, stark: parts.stark })
}

/// Verifies `proof` for `public_input` with stwo's verifier.
pub fn verify_signed<MC: ThreadChannel>(
    public_input: &SignedPublicInput,
    proof: &SignedProof<MC>,
    params: &StarkParams,
) -> Result<(), SignedVerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let slots = bound_slots(public_input, &proof.slot_owners)?;
    program::verify::<SignedTokenProgram, MC, SignedStatementError>(
        &public_input.to_felts(),
        &proof.log_sizes,
        &proof.claimed_sums,
        &proof.stark,
        params,
        |relations| boundary(&slots, &public_input.transactions, relations),
    )
}

impl<MC: MerkleChannel> Clone for SignedProof<MC> {
    fn clone(&self) -> Self {
        SignedProof {
            slot_owners: self.slot_owners.clone(),
            log_sizes: self.log_sizes,
            claimed_sums: self.claimed_sums,
            stark: self.stark.clone(),
        }
    }
}

/// Encodes a signed-transfer proof as felts: the framework's layout with the header
/// `log_sizes(6), claimed_sums(6 x 4)` in the M31 stream.
pub fn signed_proof_to_felts<MC: ThreadChannel>(proof: &SignedProof<MC>) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    program_proof_to_felts::<MC>(&proof.log_sizes, &proof.claimed_sums, &proof.stark, &proof.slot_owners)
}

/// Decodes felts produced by [`signed_proof_to_felts`].
pub fn signed_proof_from_felts<MC: ThreadChannel>(felts: &[Felt]) -> Result<SignedProof<MC>, DecodeError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let (slot_owners, log_sizes, claimed_sums, stark) =
        program_proof_from_felts::<MC, SIZED_COMPONENTS>(felts)?;
    Ok(SignedProof { slot_owners, log_sizes, claimed_sums, stark })
}
