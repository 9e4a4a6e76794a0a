//! Proving and verifying a sub-block against its public input.
//!
//! Transcript (the Cairo verifier replays exactly this):
//! 1. `mix_felt252s(public_input.to_felts())`: the public input, before anything else;
//! 2. `mix_felt252s([air_descriptor_digest, log_n_rows])`;
//! 3. commit the preprocessed tree (the range table; its root must equal the constant for the
//!    parameters), then the main trace tree (transfer columns, then the range multiplicities);
//! 4. draw `TokenStateRelation` (z, alpha), then `RangeCheckRelation` (z, alpha);
//! 5. commit the interaction tree (transfer LogUp columns, then the table's);
//! 6. `mix_felts([range_check_claimed_sum])`;
//! 7. stwo's `prove`/`verify` (composition, OODS, FRI, proof of work, queries).
//!
//! The transfer component's claimed LogUp sum is not sent: the verifier sets it to
//! `boundary - range_check_claimed_sum`, where `boundary` is computed from the public lists.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use num_traits::Zero;
use stwo::core::air::Component;
use stwo::core::channel::{Channel, MerkleChannel};
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo::core::pcs::CommitmentSchemeVerifier;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::proof::StarkProof;
use stwo::core::verifier::{verify as stwo_verify, VerificationError};
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use stwo::prover::poly::circle::PolyOps;
use stwo::prover::{prove as stwo_prove, CommitmentSchemeProver, ProvingError};
use stwo_constraint_framework::{FrameworkComponent, Relation, TraceLocationAllocator};

use crate::air::{
    state_tuple, RangeCheckRelation, RangeTableEval, TokenStateRelation, TransferEval,
    RANGE_LOG_SIZE, TRANSFER_COLUMNS, TRANSFER_INTERACTION_COLUMNS,
};
use crate::channel::{HashOf, ThreadChannel};
use crate::model::SubBlock;
use crate::params::{air_descriptor_digest, StarkParams};
use crate::public_input::{PublicInput, StatementError, StatementSlot};
use crate::trace::{
    log_rows_for, range_interaction, range_multiplicity_column, range_table_column, rows_for,
    transfer_interaction, transfer_trace, TransferRow, WitnessError,
};

/// Largest transfer component (rows = 2^MAX_LOG_ROWS).
pub const MAX_LOG_ROWS: u32 = 22;

/// A thread proof: stwo's STARK proof plus what the verifier needs to rebuild the components.
#[derive(Debug)]
pub struct ThreadProof<MC: MerkleChannel> {
    /// The account owning each input slot, in input order (see
    /// [`PublicInput::check_slot_owners`]): the verifier refuses a list entry that is not
    /// `balances[owner]` of its contract.
    pub slot_owners: Vec<starknet_types_core::felt::Felt>,
    /// Log2 of the transfer component's rows.
    pub log_n_rows: u32,
    /// Claimed LogUp sum of the range-table component.
    pub range_check_claimed_sum: SecureField,
    pub stark: StarkProof<MC::H>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error(transparent)]
    Witness(#[from] WitnessError),
    #[error("the sub-block's lists differ from the public input's")]
    ListsDiffer,
    #[error("an input slot of the sub-block is touched by none of its transfers")]
    UnownedSlot,
    #[error("stwo prover: {0}")]
    Stwo(#[from] ProvingError),
}

/// Why a thread proof is refused; `S` is the program's statement error (the token program's
/// [`StatementError`] by default, `SignedStatementError` for signed transfers).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError<S: std::error::Error + 'static = StatementError> {
    #[error(transparent)]
    Statement(S),
    #[error("proof parameters differ from the verifier's")]
    ParamsMismatch,
    #[error("proof shape is invalid: {0}")]
    Shape(&'static str),
    #[error("preprocessed (range table) commitment is not the expected constant")]
    PreprocessedRoot,
    #[error("stwo verifier: {0}")]
    Stwo(#[from] VerificationError),
}

impl From<StatementError> for VerifyError {
    fn from(error: StatementError) -> Self {
        VerifyError::Statement(error)
    }
}

/// Proves `sub_block` for `public_input` (whose lists must be the sub-block's).
pub fn prove<MC: ThreadChannel>(
    public_input: &PublicInput,
    sub_block: &SubBlock,
    params: &StarkParams,
) -> Result<ThreadProof<MC>, ProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    if public_input.inputs != sub_block.inputs || public_input.outputs != sub_block.outputs {
        return Err(ProveError::ListsDiffer);
    }
    let slots = public_input.statement_slots()?;
    let index: BTreeMap<_, _> =
        public_input.inputs.iter().enumerate().map(|(i, e)| (e.slot, i as u32)).collect();
    let rows = rows_for(sub_block, &slots, &index)?;
    let owners = sub_block.slot_owners().ok_or(ProveError::UnownedSlot)?;
    public_input.check_slot_owners(&owners)?;
    prove_rows::<MC>(public_input, &owners, &rows, params)
}

/// Proves raw transfer rows with the given slot owners. No semantic check is done here (not
/// even that the owners bind the slots): this is the entry point used to show that the
/// constraints and the verifier (not the batcher) reject an invalid witness.
pub fn prove_rows<MC: ThreadChannel>(
    public_input: &PublicInput,
    slot_owners: &[starknet_types_core::felt::Felt],
    rows: &[TransferRow],
    params: &StarkParams,
) -> Result<ThreadProof<MC>, ProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    public_input.statement_slots()?;
    if rows.len() > 1 << MAX_LOG_ROWS {
        return Err(WitnessError::TooManyTransfers(rows.len()).into());
    }
    let log_n_rows = log_rows_for(rows.len());
    let config = params.pcs_config();
    let max_log = log_n_rows.max(RANGE_LOG_SIZE);
    let twiddles = SimdBackend::precompute_twiddles(
        CanonicCoset::new(max_log + 1 + params.log_blowup).circle_domain().half_coset,
    );

    let mut channel = MC::C::default();
    MC::mix_felt252s(&mut channel, &public_input.to_felts());
    MC::mix_felt252s(
        &mut channel,
        &[air_descriptor_digest(params, MC::NAME), log_n_rows.into()],
    );
    let mut scheme = CommitmentSchemeProver::<SimdBackend, MC>::new(config, &twiddles);

    let table = range_table_column();
    let mut tree = scheme.tree_builder();
    tree.extend_evals(vec![table.clone()]);
    tree.commit(&mut channel);
    remember_preprocessed_root::<MC>(params, scheme.roots()[0]);

    let (trace, multiplicity) = transfer_trace(rows, log_n_rows);
    let multiplicity = range_multiplicity_column(&multiplicity);
    let mut tree = scheme.tree_builder();
    tree.extend_evals(trace.clone());
    tree.extend_evals(vec![multiplicity.clone()]);
    tree.commit(&mut channel);

    let state = TokenStateRelation::draw(&mut channel);
    let range = RangeCheckRelation::draw(&mut channel);
    let (transfer_lookup, transfer_sum) = transfer_interaction(&trace, log_n_rows, &state, &range);
    let (table_lookup, table_sum) = range_interaction(&table, &multiplicity, &range);
    let mut tree = scheme.tree_builder();
    tree.extend_evals(transfer_lookup);
    tree.extend_evals(table_lookup);
    tree.commit(&mut channel);
    channel.mix_felts(&[table_sum]);

    let (transfer, table_component) =
        components(log_n_rows, state, range, transfer_sum, table_sum);
    let stark = stwo_prove::<SimdBackend, MC>(&[&transfer, &table_component], &mut channel, scheme)?;
    Ok(ThreadProof {
        slot_owners: slot_owners.to_vec(),
        log_n_rows,
        range_check_claimed_sum: table_sum,
        stark,
    })
}

impl<MC: MerkleChannel> Clone for ThreadProof<MC> {
    fn clone(&self) -> Self {
        ThreadProof {
            slot_owners: self.slot_owners.clone(),
            log_n_rows: self.log_n_rows,
            range_check_claimed_sum: self.range_check_claimed_sum,
            stark: self.stark.clone(),
        }
    }
}

/// The two components of a thread proof, in proof order (also used by the Cairo AIR generator).
pub fn components(
    log_n_rows: u32,
    state: TokenStateRelation,
    range: RangeCheckRelation,
    transfer_sum: SecureField,
    table_sum: SecureField,
) -> (FrameworkComponent<TransferEval>, FrameworkComponent<RangeTableEval>) {
    let mut allocator = TraceLocationAllocator::default();
    let transfer = FrameworkComponent::new(
        &mut allocator,
        TransferEval { log_n_rows, state, range: range.clone() },
        transfer_sum,
    );
    let table = FrameworkComponent::new(&mut allocator, RangeTableEval { range }, table_sum);
    (transfer, table)
}

/// `sum over slots of 1/d(slot, token, after) - 1/d(slot, token, before)`: the LogUp sum the
/// trace must have for the public lists (inputs produce `+1`, the final state consumes `-1`,
/// rows consume old and produce new, so trace sum + inputs - final = 0).
pub fn boundary_sum(slots: &[StatementSlot], state: &TokenStateRelation) -> SecureField {
    let term = |value: u128, s: &StatementSlot| -> SecureField {
        let d: SecureField = state.combine(&state_tuple(s.index, s.token, value));
        d.inverse()
    };
    slots.iter().fold(SecureField::zero(), |acc, s| {
        if s.before == s.after {
            acc // read, not written: +1 and -1 of the same tuple cancel
        } else {
            acc + term(s.after, s) - term(s.before, s)
        }
    })
}

type RootCache = Mutex<HashMap<(TypeId, StarkParams), Vec<starknet_types_core::felt::Felt>>>;
static PREPROCESSED_ROOTS: LazyLock<RootCache> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn remember_preprocessed_root<MC: ThreadChannel>(params: &StarkParams, root: HashOf<MC>)
where
    SimdBackend: BackendForChannel<MC>,
{
    let mut felts = Vec::new();
    MC::hash_to_felts(&root, &mut felts);
    if let Ok(mut cache) = PREPROCESSED_ROOTS.lock() {
        cache.entry((TypeId::of::<MC>(), *params)).or_insert(felts);
    }
}

/// The constant root of the preprocessed tree (the range table `0..2^16`) for `params`,
/// computed once per process. The Cairo verifier hard-codes it.
pub fn preprocessed_root<MC: ThreadChannel>(params: &StarkParams) -> Vec<starknet_types_core::felt::Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    let key = (TypeId::of::<MC>(), *params);
    if let Some(root) = PREPROCESSED_ROOTS.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return root;
    }
    let twiddles = SimdBackend::precompute_twiddles(
        CanonicCoset::new(RANGE_LOG_SIZE + 1 + params.log_blowup).circle_domain().half_coset,
    );
    let mut scheme = CommitmentSchemeProver::<SimdBackend, MC>::new(params.pcs_config(), &twiddles);
    let mut tree = scheme.tree_builder();
    tree.extend_evals(vec![range_table_column()]);
    tree.commit(&mut MC::C::default());
    remember_preprocessed_root::<MC>(params, scheme.roots()[0]);
    let mut felts = Vec::new();
    MC::hash_to_felts(&scheme.roots()[0], &mut felts);
    felts
}

/// Verifies `proof` for `public_input` with stwo's verifier.
pub fn verify<MC: ThreadChannel>(
    public_input: &PublicInput,
    proof: &ThreadProof<MC>,
    params: &StarkParams,
) -> Result<(), VerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let slots = public_input.statement_slots()?;
    public_input.check_slot_owners(&proof.slot_owners)?;
    let config = params.pcs_config();
    if proof.stark.config != config {
        return Err(VerifyError::ParamsMismatch);
    }
    if !(crate::trace::log_rows_for(1)..=MAX_LOG_ROWS).contains(&proof.log_n_rows) {
        return Err(VerifyError::Shape("log_n_rows out of range"));
    }
    let commitments = &proof.stark.commitments;
    if commitments.len() != 4 {
        return Err(VerifyError::Shape("expected 4 commitments"));
    }
    let mut root = Vec::new();
    MC::hash_to_felts(&commitments[0], &mut root);
    if root != preprocessed_root::<MC>(params) {
        return Err(VerifyError::PreprocessedRoot);
    }

    let mut channel = MC::C::default();
    MC::mix_felt252s(&mut channel, &public_input.to_felts());
    MC::mix_felt252s(
        &mut channel,
        &[air_descriptor_digest(params, MC::NAME), proof.log_n_rows.into()],
    );
    let mut scheme = CommitmentSchemeVerifier::<MC>::new(config);
    let n = proof.log_n_rows;
    scheme.commit(commitments[0], &[RANGE_LOG_SIZE], &mut channel);
    let mut main = vec![n; TRANSFER_COLUMNS];
    main.push(RANGE_LOG_SIZE);
    scheme.commit(commitments[1], &main, &mut channel);
    let state = TokenStateRelation::draw(&mut channel);
    let range = RangeCheckRelation::draw(&mut channel);
    let mut interaction = vec![n; TRANSFER_INTERACTION_COLUMNS];
    interaction.extend([RANGE_LOG_SIZE; 4]);
    scheme.commit(commitments[2], &interaction, &mut channel);
    channel.mix_felts(&[proof.range_check_claimed_sum]);

    let transfer_sum = boundary_sum(&slots, &state) - proof.range_check_claimed_sum;
    let (transfer, table) =
        components(n, state, range, transfer_sum, proof.range_check_claimed_sum);
    // The component layout must be what we committed to above.
    debug_assert_eq!(transfer.trace_log_degree_bounds()[1].len(), TRANSFER_COLUMNS);
    // stwo's verifier indexes into the proof; a malformed (hostile) proof must be an error, not
    // a crash of the caller.
    let stark = proof.stark.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        stwo_verify::<MC>(&[&transfer, &table], &mut channel, &mut scheme, stark)
    }))
    .map_err(|_| VerifyError::Shape("stwo verifier rejected a malformed proof (panic)"))??;
    Ok(())
}
