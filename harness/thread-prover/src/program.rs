//! The generic prove/verify driver: one transcript for every thread program.
//!
//! A program is its transaction roles ([`ThreadProgram::roles`]); the framework adds the
//! authorization roles (chain step, digest sponge, key sponge, transaction list), the
//! Poseidon2 component and the 8-bit range table, in that order after the program's. The
//! first program role's claimed sum is never sent: the verifier derives it from the public
//! statement (`boundary - sum(others)`), so every program's state argument is checked the
//! same way.
//!
//! Transcript (a verifier, the Cairo one included, replays exactly this):
//! 1. `mix_felt252s(public input felts)`;
//! 2. `mix_felt252s([air_digest, log sizes of the sized components])`;
//! 3. commit the preprocessed tree (the range table), then the main tree (each role's
//!    columns in proof order, the Poseidon2 columns, then the range multiplicities);
//! 4. draw the relations (`State`, `Link`, `Poseidon2`, `RangeCheck`);
//! 5. commit the interaction tree (same component order);
//! 6. `mix_felts(claimed sums of every component but the first)`;
//! 7. stwo's `prove`/`verify`.

use std::marker::PhantomData;

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
use stwo::prover::{prove as stwo_prove, CommitmentSchemeProver, ComponentProver, ProvingError};
use stwo::core::pcs::TreeSubspan;
use stwo_constraint_framework::expr::ExprEvaluator;
use stwo_constraint_framework::{FrameworkComponent, FrameworkEval, InfoEvaluator, TraceLocationAllocator};

use crate::auth::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};
use crate::auth::witness::AuthWitness;
use crate::channel::ThreadChannel;
use crate::params::StarkParams;
use crate::poseidon2;
use crate::poseidon2::air::Poseidon2Eval;
use crate::prover::VerifyError;
use crate::range::{
    range8_interaction, range8_multiplicity_column, range8_table_column, range_log_size,
    remember_signed_preprocessed_root, signed_preprocessed_root, signed_preprocessed_tree, Range8TableEval,
    RangeLookups, SIGNED_MAX_LOG_ROWS,
};
use crate::role::{interaction_trace, main_trace, Relations, Role, RoleEval, LOG_EXPANSION};
use crate::trace::{log_rows_for, TraceColumn};

/// Components the framework adds after the program's roles with a size the prover chooses
/// (four authorization roles and Poseidon2); the range table follows them.
pub const FRAMEWORK_SIZED_COMPONENTS: usize = 5;

/// A [`Role`] behind an object, so a program lists its roles in one `Vec`.
pub trait ProgramRole: Send + Sync {
    fn name(&self) -> &'static str;
    fn n_columns(&self) -> usize;
    fn interaction_columns(&self) -> usize;
    /// The main trace of `rows`, padded with the role's padding row to `2^log_n_rows`.
    fn main_trace(&self, rows: &[Vec<u32>], log_n_rows: u32) -> Vec<TraceColumn>;
    fn interaction_trace(
        &self,
        trace: &[TraceColumn],
        log_n_rows: u32,
        relations: &Relations,
    ) -> (Vec<TraceColumn>, SecureField);
    /// The range look-ups of `rows` and of the padding rows up to `2^log_n_rows`.
    fn add_range_lookups(&self, lookups: &mut RangeLookups, rows: &[Vec<u32>], log_n_rows: u32);
    fn component(
        &self,
        allocator: &mut TraceLocationAllocator,
        log_n_rows: u32,
        relations: &Relations,
        claimed_sum: SecureField,
    ) -> Box<dyn ComponentProver<SimdBackend>>;
    /// The role's component as code generation reads it ([`SymbolicParts`]).
    fn symbolic(&self, allocator: &mut TraceLocationAllocator, relations: &Relations) -> SymbolicParts;
}

/// One component's constraints as stwo's symbolic expressions, its mask and its place in the
/// trace: what `harness/air-codegen` turns into a Cairo evaluation. Built by the same
/// constructor as the prover's component, so the generated code reads the prover's columns.
pub struct SymbolicParts {
    pub name: &'static str,
    pub expr: ExprEvaluator,
    pub info: InfoEvaluator,
    pub trace_locations: Vec<TreeSubspan>,
    pub preprocessed_column_indices: Vec<usize>,
}

impl SymbolicParts {
    pub fn of<E: FrameworkEval>(name: &'static str, component: &FrameworkComponent<E>) -> Self {
        SymbolicParts {
            name,
            expr: component.evaluate(ExprEvaluator::new()),
            info: component.evaluate(InfoEvaluator::empty()),
            trace_locations: component.trace_locations().to_vec(),
            preprocessed_column_indices: component.preprocessed_column_indices().to_vec(),
        }
    }
}

/// Role `R` as a [`ProgramRole`].
pub struct RoleComponent<R: Role>(PhantomData<R>);

impl<R: Role> RoleComponent<R> {
    pub fn boxed() -> Box<dyn ProgramRole> {
        Box::new(RoleComponent::<R>(PhantomData))
    }
}

impl<R: Role> ProgramRole for RoleComponent<R> {
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn n_columns(&self) -> usize {
        R::N_COLUMNS
    }

    fn interaction_columns(&self) -> usize {
        R::interaction_columns()
    }

    fn main_trace(&self, rows: &[Vec<u32>], log_n_rows: u32) -> Vec<TraceColumn> {
        main_trace::<R>(rows, &R::padding_row(), log_n_rows)
    }

    fn interaction_trace(
        &self,
        trace: &[TraceColumn],
        log_n_rows: u32,
        relations: &Relations,
    ) -> (Vec<TraceColumn>, SecureField) {
        interaction_trace::<R>(trace, log_n_rows, relations)
    }

    fn add_range_lookups(&self, lookups: &mut RangeLookups, rows: &[Vec<u32>], log_n_rows: u32) {
        lookups.add::<R>(rows, 1);
        let padding = (1usize << log_n_rows).saturating_sub(rows.len());
        lookups.add::<R>(&[R::padding_row()], padding as u32);
    }

    fn component(
        &self,
        allocator: &mut TraceLocationAllocator,
        log_n_rows: u32,
        relations: &Relations,
        claimed_sum: SecureField,
    ) -> Box<dyn ComponentProver<SimdBackend>> {
        Box::new(FrameworkComponent::new(allocator, RoleEval::<R>::new(log_n_rows, relations.clone()), claimed_sum))
    }

    fn symbolic(&self, allocator: &mut TraceLocationAllocator, relations: &Relations) -> SymbolicParts {
        // The expressions do not depend on the row count or the claimed sum (parameters).
        let zero = SecureField::from_u32_unchecked(0, 0, 0, 0);
        let component = FrameworkComponent::new(allocator, RoleEval::<R>::new(4, relations.clone()), zero);
        SymbolicParts::of(R::NAME, &component)
    }
}

/// What the driver needs to know about one program.
pub trait ThreadProgram {
    /// Short-string name in the AIR descriptor (e.g. `zkthread.signed_air`).
    const NAME: &'static str;
    /// Bump on any change of the program's columns, constraints or fraction order.
    const AIR_VERSION: u64;
    /// The program's roles in proof order (at least one: the first one's sum is derived).
    fn roles() -> Vec<Box<dyn ProgramRole>>;
}

/// Every role of a proof of `P`: the program's, then the authorization roles.
pub fn all_roles<P: ThreadProgram>() -> Vec<Box<dyn ProgramRole>> {
    let mut roles = P::roles();
    roles.extend([
        RoleComponent::<ChainStepRole>::boxed(),
        RoleComponent::<DigestRole>::boxed(),
        RoleComponent::<KeySpongeRole>::boxed(),
        RoleComponent::<TxListRole>::boxed(),
    ]);
    roles
}

/// Sized components of a proof of `P` (its roles, the framework's roles, Poseidon2).
pub fn sized_components<P: ThreadProgram>() -> usize {
    P::roles().len() + FRAMEWORK_SIZED_COMPONENTS
}

/// `poseidon_hash_many` over a description of `P`'s AIR (name, version, channel, every sized
/// component's column count) and the parameters: a proof for another AIR or other parameters
/// mixes another digest.
pub fn air_digest<P: ThreadProgram>(params: &StarkParams, channel: &str) -> Felt {
    let short = |s: &str| Felt::from_bytes_be_slice(s.as_bytes());
    let mut data = vec![short(P::NAME), Felt::from(P::AIR_VERSION), short(channel)];
    let columns = all_roles::<P>().into_iter().map(|r| r.n_columns()).chain([poseidon2::air::N_COLUMNS]);
    data.extend(columns.map(|n| Felt::from(n as u64)));
    data.extend(
        [params.log_blowup, params.n_queries, params.pow_bits]
            .into_iter()
            .chain([params.log_last_layer_degree_bound, params.fold_step])
            .map(Felt::from),
    );
    poseidon_hash_many(&data)
}

/// Column log sizes per tree (preprocessed, main, interaction), as the verifier commits them.
pub fn column_log_sizes<P: ThreadProgram>(log: &[u32]) -> [Vec<u32>; 3] {
    let widths = all_roles::<P>()
        .iter()
        .map(|r| (r.n_columns(), r.interaction_columns()))
        .chain([(poseidon2::air::N_COLUMNS, poseidon2::air::N_INTERACTION_COLUMNS)])
        .collect::<Vec<_>>();
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

/// Every component of a proof of `P` in proof order; `sums` has one claimed sum per component.
pub fn components<P: ThreadProgram>(
    log: &[u32],
    relations: &Relations,
    sums: &[SecureField],
) -> Vec<Box<dyn ComponentProver<SimdBackend>>> {
    let roles = all_roles::<P>();
    let n = roles.len();
    let mut a = TraceLocationAllocator::default();
    let mut out: Vec<Box<dyn ComponentProver<SimdBackend>>> =
        roles.iter().enumerate().map(|(i, r)| r.component(&mut a, log[i], relations, sums[i])).collect();
    let poseidon2 = Poseidon2Eval { log_n_rows: log[n], relation: relations.poseidon2.clone() };
    out.push(Box::new(FrameworkComponent::new(&mut a, poseidon2, sums[n])));
    let table = Range8TableEval { log_size: range_log_size(log), range: relations.range.clone() };
    out.push(Box::new(FrameworkComponent::new(&mut a, table, sums[n + 1])));
    out
}

/// Every component of a proof of `P` as [`SymbolicParts`], in [`components`]' proof order
/// (roles, `poseidon2`, `range_table`); `relations` only name the parameters.
pub fn symbolic_components<P: ThreadProgram>(relations: &Relations) -> Vec<SymbolicParts> {
    let mut a = TraceLocationAllocator::default();
    let mut out: Vec<SymbolicParts> = all_roles::<P>().iter().map(|r| r.symbolic(&mut a, relations)).collect();
    let zero = SecureField::from_u32_unchecked(0, 0, 0, 0);
    let poseidon2 = Poseidon2Eval { log_n_rows: 4, relation: relations.poseidon2.clone() };
    out.push(SymbolicParts::of("poseidon2", &FrameworkComponent::new(&mut a, poseidon2, zero)));
    let table = Range8TableEval { log_size: range_log_size(&[4]), range: relations.range.clone() };
    out.push(SymbolicParts::of("range_table", &FrameworkComponent::new(&mut a, table, zero)));
    out
}

/// The rows of one proof: each program role's rows in [`ThreadProgram::roles`] order, and the
/// authorization rows.
pub struct ProofRows<'a> {
    pub program: Vec<&'a [Vec<u32>]>,
    pub auth: &'a AuthWitness,
}

/// A proof as the driver makes it: sized components' log sizes, every component's claimed
/// sum but the first, stwo's proof.
pub struct ProvenParts<MC: MerkleChannel> {
    pub log_sizes: Vec<u32>,
    pub claimed_sums: Vec<SecureField>,
    pub stark: StarkProof<MC::H>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("parameters need log_blowup >= {LOG_EXPANSION} (the constraints need the trace extended once)")]
    Blowup,
    #[error("too many rows for one proof")]
    TooLarge,
    #[error("{given} row sets given for {roles} program roles")]
    RowSets { given: usize, roles: usize },
    #[error("stwo prover: {0}")]
    Stwo(#[from] ProvingError),
}

fn mix_header<P: ThreadProgram, MC: ThreadChannel>(
    channel: &mut MC::C,
    public_input: &[Felt],
    params: &StarkParams,
    log: &[u32],
) where
    SimdBackend: BackendForChannel<MC>,
{
    MC::mix_felt252s(channel, public_input);
    let mut header = vec![air_digest::<P>(params, MC::NAME)];
    header.extend(log.iter().map(|l| Felt::from(*l)));
    MC::mix_felt252s(channel, &header);
}

/// Proves `rows` for the statement whose felts are `public_input`. Raw: nothing about the rows
/// is checked here — the constraints and the verifier refuse a bad witness. The range table's
/// multiplicities are counted from the rows; a look-up outside the table stays unbalanced.
pub fn prove<P: ThreadProgram, MC: ThreadChannel>(
    public_input: &[Felt],
    rows: &ProofRows<'_>,
    params: &StarkParams,
) -> Result<ProvenParts<MC>, ProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    if params.log_blowup < LOG_EXPANSION {
        return Err(ProveError::Blowup);
    }
    let roles = all_roles::<P>();
    let auth = rows.auth;
    let n_program = roles.len() - 4;
    if rows.program.len() != n_program {
        return Err(ProveError::RowSets { given: rows.program.len(), roles: n_program });
    }
    let role_rows: Vec<&[Vec<u32>]> = rows
        .program
        .iter()
        .copied()
        .chain([&auth.chain_steps[..], &auth.digests[..], &auth.key_sponges[..], &auth.tx_list[..]])
        .collect();
    let mut log: Vec<u32> = role_rows.iter().map(|r| log_rows_for(r.len())).collect();
    log.push(poseidon2::trace::log_rows_for(auth.permutations.len()));
    if log.iter().any(|l| *l > SIGNED_MAX_LOG_ROWS) {
        return Err(ProveError::TooLarge);
    }
    let max_log = range_log_size(&log);
    let twiddles = SimdBackend::precompute_twiddles(
        CanonicCoset::new(max_log + LOG_EXPANSION + params.log_blowup).circle_domain().half_coset,
    );
    let mut channel = MC::C::default();
    mix_header::<P, MC>(&mut channel, public_input, params, &log);
    let mut scheme =
        CommitmentSchemeProver::<SimdBackend, MC>::new(params.pcs_config_at(max_log), &twiddles);

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
    let mut lookups = RangeLookups::default();
    for (i, role) in roles.iter().enumerate().take(n_program) {
        role.add_range_lookups(&mut lookups, role_rows[i], log[i]);
    }
    auth.add_range_lookups(&mut lookups);
    let multiplicity = range8_multiplicity_column(max_log, &lookups.multiplicity);
    let mut traces: Vec<Vec<TraceColumn>> =
        roles.iter().enumerate().map(|(i, r)| r.main_trace(role_rows[i], log[i])).collect();
    let n = roles.len();
    traces.push(poseidon2::trace::main_trace(&poseidon2::trace::rows_for(&auth.permutations), log[n]));
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
    let mut interactions: Vec<(Vec<TraceColumn>, SecureField)> =
        roles.iter().enumerate().map(|(i, r)| r.interaction_trace(&traces[i], log[i], &relations)).collect();
    interactions.push(poseidon2::trace::interaction_trace(&traces[n], log[n], &relations.poseidon2));
    interactions.push(range8_interaction(&table, &multiplicity, &relations.range));
    span.exit();
    let span = tracing::info_span!("signed: interaction tree").entered();
    let mut tree = scheme.tree_builder();
    for (cols, _) in &interactions {
        tree.extend_evals(cols.clone());
    }
    tree.commit(&mut channel);
    span.exit();
    let sums: Vec<SecureField> = interactions.iter().map(|(_, s)| *s).collect();
    let claimed_sums = sums[1..].to_vec();
    channel.mix_felts(&claimed_sums);

    let c = components::<P>(&log, &relations, &sums);
    let refs: Vec<&dyn ComponentProver<SimdBackend>> = c.iter().map(|b| b.as_ref()).collect();
    let _span = tracing::info_span!("signed: stwo prove").entered();
    let stark = stwo_prove::<SimdBackend, MC>(&refs, &mut channel, scheme)?;
    Ok(ProvenParts { log_sizes: log, claimed_sums, stark })
}

/// Verifies a proof of `P` for the statement whose felts are `public_input`; `boundary` gives
/// the sum of every claimed sum that the statement fixes (the state boundary plus the
/// transaction-list boundary), from the relations drawn in the transcript. The statement
/// itself (sorted lists, slots bound to the storage layout) is the program's to check first.
pub fn verify<P: ThreadProgram, MC: ThreadChannel, S: std::error::Error + 'static>(
    public_input: &[Felt],
    log: &[u32],
    claimed_sums: &[SecureField],
    stark: &StarkProof<MC::H>,
    params: &StarkParams,
    boundary: impl FnOnce(&Relations) -> SecureField,
) -> Result<(), VerifyError<S>>
where
    SimdBackend: BackendForChannel<MC>,
{
    if params.log_blowup < LOG_EXPANSION {
        return Err(VerifyError::ParamsMismatch);
    }
    let n_sized = sized_components::<P>();
    if log.len() != n_sized || claimed_sums.len() != n_sized {
        return Err(VerifyError::Shape("wrong number of components"));
    }
    if log.iter().any(|l| !(4..=SIGNED_MAX_LOG_ROWS).contains(l)) {
        return Err(VerifyError::Shape("component log size out of range"));
    }
    // The FRI configuration at this proof's height (the last layer's bound depends on it).
    let config = params.pcs_config_at(range_log_size(log));
    if stark.config != config {
        return Err(VerifyError::ParamsMismatch);
    }
    let commitments = &stark.commitments;
    if commitments.len() != 4 {
        return Err(VerifyError::Shape("expected 4 commitments"));
    }
    let mut root = Vec::new();
    MC::hash_to_felts(&commitments[0], &mut root);
    if root != signed_preprocessed_root::<MC>(params, range_log_size(log)) {
        return Err(VerifyError::PreprocessedRoot);
    }
    let mut channel = MC::C::default();
    mix_header::<P, MC>(&mut channel, public_input, params, log);
    let mut scheme = CommitmentSchemeVerifier::<MC>::new(config);
    let [pre, main, interaction] = column_log_sizes::<P>(log);
    scheme.commit(commitments[0], &pre, &mut channel);
    scheme.commit(commitments[1], &main, &mut channel);
    let relations = Relations::draw(&mut channel);
    scheme.commit(commitments[2], &interaction, &mut channel);
    channel.mix_felts(claimed_sums);

    let others: SecureField = claimed_sums.iter().copied().sum();
    let mut sums = vec![boundary(&relations) - others];
    sums.extend_from_slice(claimed_sums);
    let c = components::<P>(log, &relations, &sums);
    let stark = stark.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let refs: Vec<&dyn Component> = c.iter().map(|b| b.as_ref() as &dyn Component).collect();
        stwo_verify::<MC>(&refs, &mut channel, &mut scheme, stark)
    }))
    .map_err(|_| VerifyError::Shape("stwo verifier rejected a malformed proof (panic)"))??;
    Ok(())
}
