//! Components defined once: a [`Role`] lists its columns' constraints and its LogUp fractions
//! as functions over any [`Lane`] (a column value), so the same definition drives stwo's
//! evaluators (prover, verifier, the symbolic evaluator of the Cairo generator) and the
//! interaction-trace generator. Nothing about a fraction is written twice.

use std::marker::PhantomData;
use std::ops::{Add, AddAssign, Mul, Sub};

use num_traits::{One, Zero};
use stwo::core::channel::Channel;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::ColumnVec;
use stwo::prover::backend::simd::column::BaseColumn;
use stwo::prover::backend::simd::m31::{PackedM31, LOG_N_LANES};
use stwo::prover::backend::simd::qm31::PackedSecureField;
use stwo_constraint_framework::{
    relation, EvalAtRow, FrameworkEval, LogupTraceGenerator, Relation, RelationEntry,
};

use crate::air::RangeCheckRelation;
use crate::poseidon2::air::Poseidon2Relation;
use crate::trace::TraceColumn;

/// What a column value is in every evaluator: base-field arithmetic and constants.
pub trait Lane:
    Clone
    + Zero
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Mul<BaseField, Output = Self>
    + AddAssign<BaseField>
{
}

impl<T> Lane for T where
    T: Clone
        + Zero
        + Add<Output = T>
        + Sub<Output = T>
        + Mul<Output = T>
        + Mul<BaseField, Output = T>
        + AddAssign<BaseField>
{
}

/// The constant `v` as a lane value.
pub fn k<T: Lane>(v: u32) -> T {
    let mut z = T::zero();
    z += BaseField::from(v);
    z
}

/// `a * b`, `a - b` and friends read better than operator chains on clones.
pub fn one_minus<T: Lane>(x: &T) -> T {
    k::<T>(1) - x.clone()
}

/// `x (x - 1)`: vanishes exactly on booleans.
pub fn boolean<T: Lane>(x: &T) -> T {
    x.clone() * (x.clone() - k(1))
}

/// `-x` (fractions a row consumes have multiplicity `-enabled`).
pub fn neg<T: Lane>(x: &T) -> T {
    T::zero() - x.clone()
}

/// The columns `r` of a row.
pub fn slice<T: Clone>(cols: &[T], r: std::ops::Range<usize>) -> Vec<T> {
    cols[r].to_vec()
}

/// Values of one `StateRelation` entry: `Balance(0, D[4], A[4], limbs[8], A_high[4])` or
/// `Key(1, D[4], A[4], nonce, K[4], A_high[4])` (the owner's whole 248-bit id,
/// `zkthread_sig::domain::AccountId`); a program's own kinds fit the same 21 values.
pub const STATE_RELATION_SIZE: usize = 21;
relation!(StateRelation, STATE_RELATION_SIZE);

/// Values of one `LinkRelation` entry: a tag and up to 27 values (see [`crate::auth::link`];
/// `ListCap` is the longest).
pub const LINK_RELATION_SIZE: usize = 28;
relation!(LinkRelation, LINK_RELATION_SIZE);

/// The relations of a signed-transfer proof, in draw order.
#[derive(Clone, Debug)]
pub struct Relations {
    pub state: StateRelation,
    pub link: LinkRelation,
    pub poseidon2: Poseidon2Relation,
    pub range: RangeCheckRelation,
}

impl Relations {
    pub fn draw(channel: &mut impl Channel) -> Self {
        Relations {
            state: StateRelation::draw(channel),
            link: LinkRelation::draw(channel),
            poseidon2: Poseidon2Relation::draw(channel),
            range: RangeCheckRelation::draw(channel),
        }
    }

    pub fn dummy() -> Self {
        Relations {
            state: StateRelation::dummy(),
            link: LinkRelation::dummy(),
            poseidon2: Poseidon2Relation::dummy(),
            range: RangeCheckRelation::dummy(),
        }
    }
}

/// Which relation a fraction belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    State,
    Link,
    Poseidon2,
    Range,
}

/// `multiplicity / (z - sum alpha^i values_i)` in relation `rel`.
pub struct Frac<T> {
    pub rel: Rel,
    pub multiplicity: T,
    pub values: Vec<T>,
}

impl<T> Frac<T> {
    pub fn new(rel: Rel, multiplicity: T, values: Vec<T>) -> Self {
        Frac { rel, multiplicity, values }
    }
}

/// A component given by its columns' constraints and LogUp fractions.
pub trait Role: Clone + Send + Sync + 'static {
    /// Component name (symbolic evaluation, errors).
    const NAME: &'static str;
    /// Main-trace columns, in order.
    const N_COLUMNS: usize;
    /// Constraints (each must vanish on every row), degree <= 3.
    fn constraints<T: Lane>(cols: &[T]) -> Vec<T>;
    /// The row's fractions, in batch order.
    fn fractions<T: Lane>(cols: &[T]) -> Vec<Frac<T>>;
    /// LogUp batch of each fraction (non-decreasing, consecutive from 0). A batch of
    /// fractions with denominators of degree `d_i` gives a constraint of degree
    /// `1 + sum d_i`, which must stay <= 3: pairs of linear entries, or one entry of degree 2.
    fn batching() -> Vec<usize>;

    /// The row that pads the trace to a power of two: all zero unless a constraint needs
    /// otherwise (it must satisfy every constraint, and its fractions must all be 0, as they
    /// are when its `enabled` column is 0).
    fn padding_row() -> Vec<u32> {
        vec![0; Self::N_COLUMNS]
    }

    /// Interaction columns (4 per batch).
    fn interaction_columns() -> usize {
        4 * (Self::batching().iter().max().map_or(0, |m| m + 1))
    }
}

/// `max_constraint_log_degree_bound - log_n_rows` of every role. stwo 2.3 splits the
/// composition polynomial in two halves of the largest trace, so every constraint has degree
/// <= 3 (and every component of the proof the same expansion, so stwo evaluates constraints on
/// the committed evaluations).
pub const LOG_EXPANSION: u32 = 1;

/// A [`Role`] as a stwo component.
#[derive(Clone)]
pub struct RoleEval<R: Role> {
    pub log_n_rows: u32,
    pub relations: Relations,
    _role: PhantomData<R>,
}

impl<R: Role> RoleEval<R> {
    pub fn new(log_n_rows: u32, relations: Relations) -> Self {
        RoleEval { log_n_rows, relations, _role: PhantomData }
    }
}

impl<R: Role> FrameworkEval for RoleEval<R> {
    fn log_size(&self) -> u32 {
        self.log_n_rows
    }

    fn max_constraint_log_degree_bound(&self) -> u32 {
        self.log_n_rows + LOG_EXPANSION
    }

    fn evaluate<E: EvalAtRow>(&self, mut eval: E) -> E {
        let cols: Vec<E::F> = (0..R::N_COLUMNS).map(|_| eval.next_trace_mask()).collect();
        for constraint in R::constraints(&cols) {
            eval.add_constraint(constraint);
        }
        for frac in R::fractions(&cols) {
            let m = E::EF::from(frac.multiplicity);
            let v = &frac.values;
            let r = &self.relations;
            match frac.rel {
                Rel::State => eval.add_to_relation(RelationEntry::new(&r.state, m, v)),
                Rel::Link => eval.add_to_relation(RelationEntry::new(&r.link, m, v)),
                Rel::Poseidon2 => eval.add_to_relation(RelationEntry::new(&r.poseidon2, m, v)),
                Rel::Range => eval.add_to_relation(RelationEntry::new(&r.range, m, v)),
            }
        }
        eval.finalize_logup_batched(&R::batching());
        eval
    }
}

/// The main trace of a role from raw rows (values reduced mod p), padded with `padding` to
/// `2^log_n_rows` rows. Raw entry point: nothing is checked.
pub fn main_trace<R: Role>(rows: &[Vec<u32>], padding: &[u32], log_n_rows: u32) -> Vec<TraceColumn> {
    let n = 1usize << log_n_rows;
    assert!(rows.len() <= n, "{}: {} rows do not fit 2^{log_n_rows}", R::NAME, rows.len());
    let mut cols = vec![vec![BaseField::zero(); n]; R::N_COLUMNS];
    for r in 0..n {
        let row = rows.get(r).map_or(padding, Vec::as_slice);
        assert_eq!(row.len(), R::N_COLUMNS, "{}: row width", R::NAME);
        for (c, v) in row.iter().enumerate() {
            cols[c][r] = BaseField::reduce(u64::from(*v));
        }
    }
    let domain = CanonicCoset::new(log_n_rows).circle_domain();
    cols.into_iter().map(|c| TraceColumn::new(domain, BaseColumn::from_iter(c))).collect()
}

fn combine(relations: &Relations, rel: Rel, values: &[PackedM31]) -> PackedSecureField {
    match rel {
        Rel::State => relations.state.combine(values),
        Rel::Link => relations.link.combine(values),
        Rel::Poseidon2 => relations.poseidon2.combine(values),
        Rel::Range => relations.range.combine(values),
    }
}

/// The LogUp interaction trace of a role (one column per batch, in batch order) and its
/// claimed sum, from the same fraction definitions the constraints use.
pub fn interaction_trace<R: Role>(
    trace: &[TraceColumn],
    log_n_rows: u32,
    relations: &Relations,
) -> (ColumnVec<TraceColumn>, SecureField) {
    let batching = R::batching();
    let n_batches = batching.iter().max().map_or(0, |m| m + 1);
    let n_vecs = 1usize << (log_n_rows - LOG_N_LANES);
    // Per vector row, per batch: the batch's fractions summed into one.
    let mut sums = vec![vec![(PackedSecureField::zero(), PackedSecureField::one()); n_vecs]; n_batches];
    for v in 0..n_vecs {
        let cols: Vec<PackedM31> = trace.iter().map(|c| c.values.data[v]).collect();
        for (frac, batch) in R::fractions(&cols).into_iter().zip(&batching) {
            let n = PackedSecureField::from(frac.multiplicity);
            let d = combine(relations, frac.rel, &frac.values);
            let (acc_n, acc_d) = sums[*batch][v];
            sums[*batch][v] = (acc_n * d + n * acc_d, acc_d * d);
        }
    }
    let mut gen = LogupTraceGenerator::new(log_n_rows);
    for batch in sums {
        let mut col = gen.new_col();
        for (v, (n, d)) in batch.into_iter().enumerate() {
            col.write_frac(v, n, d);
        }
        col.finalize_col();
    }
    gen.finalize_last()
}

/// Every constraint of `rows` evaluated on plain values (no LogUp): the index of the first row
/// and constraint that does not vanish. A fast check for tests and for the witness builder.
pub fn first_violation<R: Role>(rows: &[Vec<u32>]) -> Option<(usize, usize)> {
    rows.iter().enumerate().find_map(|(r, row)| {
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
        R::constraints(&cols).iter().position(|c| !c.is_zero()).map(|c| (r, c))
    })
}

/// The LogUp sum of `rows` per relation (State, Link, Poseidon2, Range), on plain values: a
/// debugging aid that names the relation a witness leaves unbalanced.
pub fn relation_sums<R: Role>(rows: &[Vec<u32>], relations: &Relations) -> [SecureField; 4] {
    use stwo::core::fields::FieldExpOps;
    let mut sums = [SecureField::zero(); 4];
    for row in rows {
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
        for frac in R::fractions(&cols) {
            let d: SecureField = match frac.rel {
                Rel::State => relations.state.combine(&frac.values),
                Rel::Link => relations.link.combine(&frac.values),
                Rel::Poseidon2 => relations.poseidon2.combine(&frac.values),
                Rel::Range => relations.range.combine(&frac.values),
            };
            let i = frac.rel as usize;
            sums[i] += SecureField::from(frac.multiplicity) * d.inverse();
        }
    }
    sums
}

/// Runs a role's constraints, LogUp included, on every row of its trace (panics at the first
/// failing row): the fast check tests use instead of a full proof.
pub fn assert_role_constraints<R: Role>(rows: &[Vec<u32>], relations: &Relations) {
    use stwo::core::pcs::TreeVec;
    use stwo::prover::backend::Column;
    use stwo_constraint_framework::assert_constraints_on_trace;
    let log_n = crate::trace::log_rows_for(rows.len());
    let trace = main_trace::<R>(rows, &R::padding_row(), log_n);
    let (interaction, sum) = interaction_trace::<R>(&trace, log_n, relations);
    let cpu = |cols: &[TraceColumn]| -> Vec<Vec<BaseField>> {
        cols.iter().map(|c| c.values.to_cpu()).collect()
    };
    let (main, inter) = (cpu(&trace), cpu(&interaction));
    let trees = TreeVec::new(vec![vec![], main.iter().collect(), inter.iter().collect()]);
    let eval = RoleEval::<R>::new(log_n, relations.clone());
    assert_constraints_on_trace(&trees, log_n, |e| {
        eval.evaluate(e);
    }, sum);
}
