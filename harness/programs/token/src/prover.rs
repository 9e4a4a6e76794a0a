//! Proving and verifying a signed sub-block.
//!
//! Transcript (a verifier replays exactly this):
//! 1. `mix_felt252s(public_input.to_felts())`;
//! 2. `mix_felt252s([signed_air_digest, log sizes of the six sized components])`;
//! 3. commit the preprocessed tree (the 8-bit range table), then the main tree (transfer,
//!    chain step, digest, key sponge, tx list, Poseidon2 columns, then the range
//!    multiplicities);
//! 4. draw the relations (`State`, `Link`, `Poseidon2`, `RangeCheck`);
//! 5. commit the interaction tree (same component order);
//! 6. `mix_felts(claimed sums of chain step, digest, key sponge, tx list, Poseidon2, range
//!    table)`;
//! 7. stwo's `prove`/`verify`.
//!
//! The transfer component's claimed sum is not sent: it is `boundary - sum(others)`, where the
//! boundary comes from the public lists and the transaction-list commitment (`State` and
//! `Link`; every other relation is internal and sums to zero).

use num_traits::Zero;
use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;
use stwo::core::air::Component;
use stwo::core::channel::{Channel, MerkleChannel};
use stwo::core::fields::qm31::SecureField;
use stwo::core::pcs::CommitmentSchemeVerifier;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::proof::StarkProof;
use stwo::core::utils::MaybeOwned;
use stwo::core::verifier::verify as stwo_verify;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use stwo::prover::poly::circle::PolyOps;
use stwo::prover::{prove as stwo_prove, CommitmentSchemeProver, ProvingError};
use stwo_constraint_framework::{FrameworkComponent, TraceLocationAllocator};

use zkthread_prover::channel::ThreadChannel;
use zkthread_prover::params::StarkParams;
use zkthread_prover::poseidon2;
use zkthread_prover::poseidon2::air::Poseidon2Eval;
use zkthread_prover::prover::VerifyError;
use zkthread_prover::range::{
    range8_interaction, range8_multiplicity_column, range8_table_column, range_log_size,
    remember_signed_preprocessed_root, signed_preprocessed_root, signed_preprocessed_tree, Range8TableEval,
    SIGNED_MAX_LOG_ROWS,
};
use zkthread_prover::role::{interaction_trace, main_trace, Relations, Role, RoleEval, LOG_EXPANSION};
use zkthread_prover::serialize::{program_proof_from_felts, program_proof_to_felts, DecodeError};
use zkthread_prover::trace::TraceColumn;

use crate::roles::{ChainStepRole, DigestRole, KeySpongeRole, TransferRole, TxListRole};
use crate::statement::{boundary, SignedPublicInput, SignedStatementError};
use crate::witness::{SignedRow, SignedWitness};

/// Version of the signed AIR (bump on any change of columns, constraints or fraction order).
pub const SIGNED_AIR_VERSION: u64 = 3;
/// Largest component (rows = 2^MAX_LOG_ROWS): see [`crate::range`] for why 16.
pub const MAX_LOG_ROWS: u32 = SIGNED_MAX_LOG_ROWS;
/// Components with a size chosen by the prover, in proof order.
pub const SIZED_COMPONENTS: usize = 6;

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
    #[error("parameters need log_blowup >= {LOG_EXPANSION} (the constraints need the trace extended once)")]
    Blowup,
    #[error("too many rows for one proof")]
    TooLarge,
    #[error("stwo prover: {0}")]
    Stwo(#[from] ProvingError),
}

/// Why a signed proof is refused (the shared verifier errors over the signed statement).
pub type SignedVerifyError = VerifyError<SignedStatementError>;

impl From<SignedStatementError> for SignedVerifyError {
    fn from(error: SignedStatementError) -> Self {
        VerifyError::Statement(error)
    }
}

/// `poseidon_hash_many` over a description of the signed AIR and the parameters.
pub fn signed_air_digest(params: &StarkParams, channel: &str) -> Felt {
    let short = |s: &str| Felt::from_bytes_be_slice(s.as_bytes());
    let mut data = vec![short("zkthread.signed_air"), Felt::from(SIGNED_AIR_VERSION), short(channel)];
    for n in [
        TransferRole::N_COLUMNS,
        ChainStepRole::N_COLUMNS,
        DigestRole::N_COLUMNS,
        KeySpongeRole::N_COLUMNS,
        TxListRole::N_COLUMNS,
        poseidon2::air::N_COLUMNS,
    ] {
        data.push(Felt::from(n as u64));
    }
    data.extend(
        [params.log_blowup, params.n_queries, params.pow_bits]
            .into_iter()
            .chain([params.log_last_layer_degree_bound, params.fold_step])
            .map(Felt::from),
    );
    poseidon_hash_many(&data)
}

fn log_rows(n: usize) -> u32 {
    zkthread_prover::trace::log_rows_for(n)
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
    let widths = [
        (TransferRole::N_COLUMNS, TransferRole::interaction_columns()),
        (ChainStepRole::N_COLUMNS, ChainStepRole::interaction_columns()),
        (DigestRole::N_COLUMNS, DigestRole::interaction_columns()),
        (KeySpongeRole::N_COLUMNS, KeySpongeRole::interaction_columns()),
        (TxListRole::N_COLUMNS, TxListRole::interaction_columns()),
        (poseidon2::air::N_COLUMNS, poseidon2::air::N_INTERACTION_COLUMNS),
    ];
    let mut main = Vec::new();
    let mut interaction = Vec::new();
    for ((m, i), l) in widths.iter().zip(log) {
        main.extend(std::iter::repeat_n(*l, *m));
        interaction.extend(std::iter::repeat_n(*l, *i));
    }
    let range = range_log_size(log);
    main.push(range);
    interaction.extend([range; 4]);
    [vec![range], main, interaction]
}

fn mix_header<MC: ThreadChannel>(
    channel: &mut MC::C,
    pi: &SignedPublicInput,
    params: &StarkParams,
    log: &[u32; SIZED_COMPONENTS],
) where
    SimdBackend: BackendForChannel<MC>,
{
    MC::mix_felt252s(channel, &pi.to_felts());
    let mut header = vec![signed_air_digest(params, MC::NAME)];
    header.extend(log.iter().map(|l| Felt::from(*l)));
    MC::mix_felt252s(channel, &header);
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
    public_input.bound_slots(slot_owners)?;
    if params.log_blowup < LOG_EXPANSION {
        return Err(SignedProveError::Blowup);
    }
    let log = [
        log_rows(witness.transfers.len()),
        log_rows(witness.auth.chain_steps.len()),
        log_rows(witness.auth.digests.len()),
        log_rows(witness.auth.key_sponges.len()),
        log_rows(witness.auth.tx_list.len()),
        poseidon2::trace::log_rows_for(witness.auth.permutations.len()),
    ];
    if log.iter().any(|l| *l > MAX_LOG_ROWS) {
        return Err(SignedProveError::TooLarge);
    }
    let max_log = range_log_size(&log);
    let twiddles = SimdBackend::precompute_twiddles(
        CanonicCoset::new(max_log + LOG_EXPANSION + params.log_blowup).circle_domain().half_coset,
    );
    let mut channel = MC::C::default();
    mix_header::<MC>(&mut channel, public_input, params, &log);
    let mut scheme = CommitmentSchemeProver::<SimdBackend, MC>::new(params.pcs_config(), &twiddles);

    // Spans per phase (stwo's own spans nest inside them): `profile_signed_prove` prints them.
    let span = tracing::info_span!("signed: preprocessed tree").entered();
    let table = range8_table_column(max_log);
    // The same tree for every proof of this height: built once per process.
    let preprocessed = signed_preprocessed_tree::<MC>(params, max_log, &twiddles);
    scheme.commit_tree(MaybeOwned::Borrowed(&*preprocessed), &mut channel);
    // The verifier compares against this constant; computing it costs a blown-up commitment.
    remember_signed_preprocessed_root::<MC>(params, max_log, &scheme.roots()[0]);
    span.exit();

    let span = tracing::info_span!("signed: main trace").entered();

    let multiplicity = range8_multiplicity_column(max_log, &witness.range_lookups(log[0]).multiplicity);
    let traces = [
        main_trace::<TransferRole>(&witness.transfers, &[0; TransferRole::N_COLUMNS], log[0]),
        main_trace::<ChainStepRole>(&witness.auth.chain_steps, &[0; ChainStepRole::N_COLUMNS], log[1]),
        main_trace::<DigestRole>(&witness.auth.digests, &[0; DigestRole::N_COLUMNS], log[2]),
        main_trace::<KeySpongeRole>(&witness.auth.key_sponges, &[0; KeySpongeRole::N_COLUMNS], log[3]),
        main_trace::<TxListRole>(&witness.auth.tx_list, &[0; TxListRole::N_COLUMNS], log[4]),
        poseidon2::trace::main_trace(&poseidon2::trace::rows_for(&witness.auth.permutations), log[5]),
    ];
    span.exit();
    let span = tracing::info_span!("signed: main tree").entered();
    let mut tree = scheme.tree_builder();
    for t in &traces {
        tree.extend_evals(t.clone());
    }
    tree.extend_evals(vec![multiplicity.clone()]);
    tree.commit(&mut channel);
    span.exit();

    let relations = Relations::draw(&mut channel);
    let span = tracing::info_span!("signed: interaction trace").entered();
    let interactions: [(Vec<TraceColumn>, SecureField); N_COMPONENTS] = [
        interaction_trace::<TransferRole>(&traces[0], log[0], &relations),
        interaction_trace::<ChainStepRole>(&traces[1], log[1], &relations),
        interaction_trace::<DigestRole>(&traces[2], log[2], &relations),
        interaction_trace::<KeySpongeRole>(&traces[3], log[3], &relations),
        interaction_trace::<TxListRole>(&traces[4], log[4], &relations),
        poseidon2::trace::interaction_trace(&traces[5], log[5], &relations.poseidon2),
        range8_interaction(&table, &multiplicity, &relations.range),
    ];
    span.exit();
    let span = tracing::info_span!("signed: interaction tree").entered();
    let mut tree = scheme.tree_builder();
    for (cols, _) in &interactions {
        tree.extend_evals(cols.clone());
    }
    tree.commit(&mut channel);
    span.exit();
    let sums: [SecureField; N_COMPONENTS] = std::array::from_fn(|i| interactions[i].1);
    let claimed_sums: [SecureField; SIZED_COMPONENTS] = std::array::from_fn(|i| sums[i + 1]);
    channel.mix_felts(&claimed_sums);

    let c = components(&log, &relations, sums);
    let _span = tracing::info_span!("signed: stwo prove").entered();
    let stark =
        stwo_prove::<SimdBackend, MC>(&[&c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6], &mut channel, scheme)?;
    Ok(SignedProof { slot_owners: slot_owners.to_vec(), log_sizes: log, claimed_sums, stark })
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
    let slots = public_input.bound_slots(&proof.slot_owners)?;
    if proof.stark.config != params.pcs_config() || params.log_blowup < LOG_EXPANSION {
        return Err(SignedVerifyError::ParamsMismatch);
    }
    let log = proof.log_sizes;
    if log.iter().any(|l| !(4..=MAX_LOG_ROWS).contains(l)) {
        return Err(SignedVerifyError::Shape("component log size out of range"));
    }
    let commitments = &proof.stark.commitments;
    if commitments.len() != 4 {
        return Err(SignedVerifyError::Shape("expected 4 commitments"));
    }
    let mut root = Vec::new();
    MC::hash_to_felts(&commitments[0], &mut root);
    if root != signed_preprocessed_root::<MC>(params, range_log_size(&log)) {
        return Err(SignedVerifyError::PreprocessedRoot);
    }
    let mut channel = MC::C::default();
    mix_header::<MC>(&mut channel, public_input, params, &log);
    let mut scheme = CommitmentSchemeVerifier::<MC>::new(params.pcs_config());
    let [pre, main, interaction] = column_log_sizes(&log);
    scheme.commit(commitments[0], &pre, &mut channel);
    scheme.commit(commitments[1], &main, &mut channel);
    let relations = Relations::draw(&mut channel);
    scheme.commit(commitments[2], &interaction, &mut channel);
    channel.mix_felts(&proof.claimed_sums);

    let others: SecureField = proof.claimed_sums.iter().copied().sum();
    let transfer_sum = boundary(&slots, &public_input.transactions, &relations) - others;
    let mut sums = [SecureField::zero(); N_COMPONENTS];
    sums[0] = transfer_sum;
    sums[1..].copy_from_slice(&proof.claimed_sums);
    let c = components(&log, &relations, sums);
    debug_assert_eq!(c.0.trace_log_degree_bounds()[1].len(), TransferRole::N_COLUMNS);
    let stark = proof.stark.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        stwo_verify::<MC>(&[&c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6], &mut channel, &mut scheme, stark)
    }))
    .map_err(|_| SignedVerifyError::Shape("stwo verifier rejected a malformed proof (panic)"))??;
    Ok(())
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
