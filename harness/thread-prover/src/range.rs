//! The signed program's 8-bit range table: a preprocessed column holding the values `0..2^8`
//! with a multiplicity column (relation `RangeCheck(x)`, the same relation type as the unsigned
//! program's 16-bit table, drawn in the signed transcript).
//!
//! The table is sized to the trace, not to the limbs: a 2^16-row table set the height of every
//! committed tree (and so the prover's Merkle hashing and the proof's decommitment paths) even
//! for a 3-transfer sub-block. A 16-bit value `v` is range-checked as two 8-bit look-ups
//! ([`split16`]): `v = 256 hi + lo` with `lo` a column of the role and `hi = (v - lo) / 256` a
//! linear expression of the columns (never committed). `lo < 2^8` and `hi < 2^8` give
//! `v = 256 hi + lo < 2^16` as integers; conversely every `v < 2^16` has exactly these two
//! look-ups, so the pair means exactly "`v` is in `0..2^16`".
//!
//! Height: the table component has exactly the height of the tallest component,
//! `2^range_log_size(log)` rows, the values `0..2^8` repeated (row `j` holds `j mod 2^8`; the
//! multiplicities sit on rows `0..2^8`, the other rows have multiplicity 0). A 2^8-row
//! preprocessed tree below the trace's height is not possible with stwo 2.3's lifted Merkle
//! commitments: the preprocessed tree's query positions are the FRI positions projected onto
//! it (`prepare_preprocessed_query_positions`), which are no longer sorted when it is more
//! than one level below the lifting height, and the lifted Merkle verifier (`verify`, which
//! pairs siblings in order) then rejects honest proofs (measured: `RootMismatch` on some
//! transcripts). At equal height the projection is the identity. The preprocessed root
//! depends on the height, so the verifiers hold one root per height
//! (`SIGNED_MIN_RANGE_LOG_SIZE..=SIGNED_MAX_LOG_ROWS`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use num_traits::Zero;
use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::ColumnVec;
use stwo::prover::backend::simd::m31::LOG_N_LANES;
use stwo::prover::backend::simd::qm31::PackedSecureField;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use stwo::prover::poly::circle::{CircleEvaluation, PolyOps};
use stwo::core::utils::MaybeOwned;
use stwo::prover::pcs::CommitmentTreeProver;
use stwo::prover::poly::twiddles::TwiddleTree;
use stwo::prover::CommitmentSchemeProver;
use stwo_constraint_framework::preprocessed_columns::PreProcessedColumnId;
use stwo_constraint_framework::{
    EvalAtRow, FrameworkEval, LogupTraceGenerator, Relation, RelationEntry,
};

use crate::role::{Frac, Lane, Rel, Role};
use crate::air::RangeCheckRelation;
use crate::channel::ThreadChannel;
use crate::params::StarkParams;
use crate::trace::TraceColumn;

/// Bits of the table's values (`0..2^8`), and its smallest log size.
pub const SIGNED_RANGE_BITS: u32 = 8;
/// Largest component of a signed proof (rows = 2^SIGNED_MAX_LOG_ROWS; 2^16 Poseidon2 rows are
/// 524 signed transfers at 125 permutations each): the verifiers hold a preprocessed root per
/// table height up to it.
pub const SIGNED_MAX_LOG_ROWS: u32 = 16;

/// The table's log size for components of log sizes `log`: the tallest one's (at least 8).
pub fn range_log_size(log: &[u32]) -> u32 {
    log.iter().copied().max().unwrap_or(0).max(SIGNED_RANGE_BITS)
}
/// Name of its preprocessed column.
pub const SIGNED_RANGE_TABLE_COLUMN: &str = "zkthread_range8";
/// `2^-8` in M31 (`2^31 = 1`, so `2^-8 = 2^23`).
pub const INV_256: u32 = 1 << 23;

/// The two 8-bit look-ups that range-check `v` in `0..2^16` given its low byte `lo` (a
/// column): `RangeCheck(lo)` and `RangeCheck((v - lo) / 2^8)`, each with `multiplicity`.
pub fn split16<T: Lane>(multiplicity: T, v: T, lo: T) -> [Frac<T>; 2] {
    let hi = (v - lo.clone()) * BaseField::from(INV_256);
    [Frac::new(Rel::Range, multiplicity.clone(), vec![lo]), Frac::new(Rel::Range, multiplicity, vec![hi])]
}

/// The three 8-bit look-ups that range-check `v` in `0..2^bits` (`8 < bits < 16`) given its
/// low byte `lo` (a column): `RangeCheck(lo)`, `RangeCheck(hi)` and `RangeCheck(hi + 2^8 -
/// 2^(bits - 8))` with `hi = (v - lo) / 2^8`, each with `multiplicity`. Both of `hi`'s
/// look-ups pass iff `hi` is in `0..2^8` and in `2^(bits - 8) - 2^8..2^(bits - 8)` mod `p`,
/// i.e. in `0..2^(bits - 8)` (the second range's part below zero is `p - 2^8 + ..`, outside
/// the first); so `v = 256 hi + lo < 2^bits`, and every such `v` has these look-ups. One
/// look-up fewer than a value checked twice by [`split16`] (`v` and `v + 2^16 - 2^bits`),
/// and one low-byte column instead of two.
pub fn split_below<T: Lane>(multiplicity: T, v: T, lo: T, bits: u32) -> [Frac<T>; 3] {
    assert!(bits > SIGNED_RANGE_BITS && bits < 2 * SIGNED_RANGE_BITS, "split_below checks 9 to 15 bits, not {bits}");
    let hi = (v - lo.clone()) * BaseField::from(INV_256);
    let mut shifted = hi.clone();
    shifted += BaseField::from((1u32 << SIGNED_RANGE_BITS) - (1u32 << (bits - SIGNED_RANGE_BITS)));
    [
        Frac::new(Rel::Range, multiplicity.clone(), vec![lo]),
        Frac::new(Rel::Range, multiplicity.clone(), vec![hi]),
        Frac::new(Rel::Range, multiplicity, vec![shifted]),
    ]
}

/// The low byte the witness puts in the `lo` column of a 16-bit value (any byte for a value
/// outside `0..2^16`: its high look-up then misses the table whatever `lo` is).
pub fn low_byte(v: u32) -> u32 {
    v & 0xff
}

pub fn range_table_column_id() -> PreProcessedColumnId {
    PreProcessedColumnId { id: SIGNED_RANGE_TABLE_COLUMN.to_string() }
}

/// The 8-bit range table component (`2^log_size` rows, the values `0..2^8` repeated).
#[derive(Clone)]
pub struct Range8TableEval {
    pub log_size: u32,
    pub range: RangeCheckRelation,
}

impl FrameworkEval for Range8TableEval {
    fn log_size(&self) -> u32 {
        self.log_size
    }

    fn max_constraint_log_degree_bound(&self) -> u32 {
        self.log_size + 1
    }

    fn evaluate<E: EvalAtRow>(&self, mut eval: E) -> E {
        let value = eval.get_preprocessed_column(range_table_column_id());
        let multiplicity = eval.next_trace_mask();
        eval.add_to_relation(RelationEntry::new(&self.range, E::EF::from(-multiplicity), &[value]));
        eval.finalize_logup();
        eval
    }
}

fn column(log_size: u32, values: impl IntoIterator<Item = BaseField>) -> TraceColumn {
    let domain = CanonicCoset::new(log_size).circle_domain();
    CircleEvaluation::new(domain, values.into_iter().collect())
}

/// The preprocessed table: row `j` holds `j mod 2^8`.
pub fn range8_table_column(log_size: u32) -> TraceColumn {
    assert!(log_size >= SIGNED_RANGE_BITS);
    column(log_size, (0..1u32 << log_size).map(|j| BaseField::from(j & ((1 << SIGNED_RANGE_BITS) - 1))))
}

/// The multiplicity column (aligned with [`range8_table_column`]): value `v`'s count on row
/// `v`, zero on the repeated rows.
pub fn range8_multiplicity_column(log_size: u32, multiplicity: &[BaseField]) -> TraceColumn {
    assert_eq!(multiplicity.len(), 1 << SIGNED_RANGE_BITS);
    let zeros = std::iter::repeat_n(BaseField::zero(), (1 << log_size) - multiplicity.len());
    column(log_size, multiplicity.iter().copied().chain(zeros))
}

/// Look-ups of the table's values by role rows.
#[derive(Clone, Debug)]
pub struct RangeLookups {
    /// Per table value, the summed multiplicity of its look-ups.
    pub multiplicity: Vec<BaseField>,
    /// Look-ups with a nonzero multiplicity of a value outside the table: nothing the table
    /// yields balances them (an invalid witness, left for the verifier to refuse).
    pub outside: usize,
}

impl Default for RangeLookups {
    fn default() -> Self {
        RangeLookups { multiplicity: vec![BaseField::zero(); 1 << SIGNED_RANGE_BITS], outside: 0 }
    }
}

impl RangeLookups {
    /// Adds the `Range` fractions of `rows` of role `R` (each row counted `times`), read off
    /// the role's own fraction definitions on plain values.
    pub fn add<R: Role>(&mut self, rows: &[Vec<u32>], times: u32) {
        for row in rows {
            let cols: Vec<BaseField> = row.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
            for frac in R::fractions(&cols).into_iter().filter(|f| f.rel == Rel::Range) {
                let m = frac.multiplicity * BaseField::from(times);
                if m.is_zero() {
                    continue;
                }
                match self.multiplicity.get_mut(frac.values[0].0 as usize) {
                    Some(slot) => *slot += m,
                    None => self.outside += 1,
                }
            }
        }
    }
}

/// LogUp interaction trace of the table.
pub fn range8_interaction(
    table: &TraceColumn,
    multiplicity: &TraceColumn,
    range: &RangeCheckRelation,
) -> (ColumnVec<TraceColumn>, SecureField) {
    let log_size = table.domain.log_size();
    let mut gen = LogupTraceGenerator::new(log_size);
    let mut col = gen.new_col();
    for vec_row in 0..1usize << (log_size - LOG_N_LANES) {
        let m = PackedSecureField::from(multiplicity.values.data[vec_row]);
        col.write_frac(vec_row, -m, range.combine(&[table.values.data[vec_row]]));
    }
    col.finalize_col();
    gen.finalize_last()
}

type RootCache = Mutex<HashMap<(TypeId, StarkParams, u32), Vec<Felt>>>;
static ROOTS: LazyLock<RootCache> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The root of the signed program's preprocessed tree (the table at `2^log_size` rows) for
/// `params`, computed once per process and height. The Cairo verifier hard-codes one per
/// height.
pub fn signed_preprocessed_root<MC: ThreadChannel>(params: &StarkParams, log_size: u32) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    let key = (TypeId::of::<MC>(), *params, log_size);
    if let Some(root) = ROOTS.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return root;
    }
    let twiddles = SimdBackend::precompute_twiddles(
        CanonicCoset::new(log_size + 1 + params.log_blowup).circle_domain().half_coset,
    );
    let mut scheme = CommitmentSchemeProver::<SimdBackend, MC>::new(params.pcs_config(), &twiddles);
    let mut tree = scheme.tree_builder();
    tree.extend_evals(vec![range8_table_column(log_size)]);
    tree.commit(&mut MC::C::default());
    let mut felts = Vec::new();
    MC::hash_to_felts(&scheme.roots()[0], &mut felts);
    if let Ok(mut cache) = ROOTS.lock() {
        cache.insert(key, felts.clone());
    }
    felts
}

/// Records the root the prover just committed (the same tree [`signed_preprocessed_root`]
/// builds), so a verification in this process does not commit the table again.
pub fn remember_signed_preprocessed_root<MC: ThreadChannel>(
    params: &StarkParams,
    log_size: u32,
    root: &crate::channel::HashOf<MC>,
) where
    SimdBackend: BackendForChannel<MC>,
{
    let mut felts = Vec::new();
    MC::hash_to_felts(root, &mut felts);
    if let Ok(mut cache) = ROOTS.lock() {
        cache.entry((TypeId::of::<MC>(), *params, log_size)).or_insert(felts);
    }
}

/// The roots for every table height a verifier accepts, from the smallest.
pub fn signed_preprocessed_roots<MC: ThreadChannel>(params: &StarkParams) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    (SIGNED_RANGE_BITS..=SIGNED_MAX_LOG_ROWS)
        .map(|l| signed_preprocessed_root::<MC>(params, l)[0])
        .collect()
}

/// The last preprocessed tree a prover committed, with its key (channel, parameters, height).
/// One slot: a prover process (the service, a benchmark, the tests) mostly proves sub-blocks of
/// one height, and the tree is large (two hashes per leaf: 16 MB at 2^18 leaves, 256 MB at the
/// largest height 2^22), so older heights are not kept.
type TreeSlot = Mutex<Option<((TypeId, StarkParams, u32), Arc<dyn Any + Send + Sync>)>>;
static PREPROCESSED_TREE: LazyLock<TreeSlot> = LazyLock::new(|| Mutex::new(None));

/// The signed program's preprocessed tree (the range table at `2^log_size` rows, extended by
/// the blowup and committed) for the prover, built once per process and height: it does not
/// depend on the witness, and committing it costs a Poseidon252 hash per blown-up row (~5% of
/// a signed proof). `twiddles` must cover the tree's domain (the prover's do).
pub fn signed_preprocessed_tree<MC: ThreadChannel>(
    params: &StarkParams,
    log_size: u32,
    twiddles: &TwiddleTree<SimdBackend>,
) -> Arc<CommitmentTreeProver<SimdBackend, MC>>
where
    SimdBackend: BackendForChannel<MC>,
{
    let key = (TypeId::of::<MC>(), *params, log_size);
    let cached = PREPROCESSED_TREE.lock().ok().and_then(|slot| match slot.as_ref() {
        Some((k, tree)) if *k == key => Some(Arc::clone(tree)),
        _ => None,
    });
    if let Some(tree) = cached.and_then(|t| t.downcast::<CommitmentTreeProver<SimdBackend, MC>>().ok()) {
        return tree;
    }
    // Committed in a scratch scheme (its channel is discarded: the proof's channel mixes the
    // root when the prover adds the tree with `commit_tree`).
    let mut scheme = CommitmentSchemeProver::<SimdBackend, MC>::new(params.pcs_config(), twiddles);
    let mut builder = scheme.tree_builder();
    builder.extend_evals(vec![range8_table_column(log_size)]);
    builder.commit(&mut MC::C::default());
    let tree = match scheme.trees.0.pop() {
        Some(MaybeOwned::Owned(tree)) => Arc::new(tree),
        // `commit` always pushes the tree it built, owned.
        _ => unreachable!("the scheme holds the tree it just committed"),
    };
    if let Ok(mut slot) = PREPROCESSED_TREE.lock() {
        *slot = Some((key, Arc::clone(&tree) as Arc<dyn Any + Send + Sync>));
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether every look-up of `fracs` (multiplicity 1) names a value of the 8-bit table.
    fn in_table(fracs: &[Frac<BaseField>]) -> bool {
        fracs.iter().all(|f| f.values[0].0 < 1 << SIGNED_RANGE_BITS)
    }

    fn looked_up(v: BaseField, lo: u32, bits: u32) -> bool {
        in_table(&split_below(BaseField::from(1u32), v, BaseField::from(lo), bits))
    }

    /// `split_below` means exactly `v < 2^bits`: every value below passes with its own low
    /// byte; at and above the bound, and at the negative values a carry wraps to (`p - k`), no
    /// low byte a prover may choose passes.
    #[test]
    fn narrow_checks_accept_exactly_the_values_below_their_bound() {
        for bits in [9, 14, 15] {
            let bound = 1u32 << bits;
            for v in 0..bound {
                assert!(looked_up(BaseField::from(v), low_byte(v), bits), "{v} < 2^{bits}");
            }
            let above = (bound..bound + 1024).chain([1 << 16, (1 << 16) + bound, 1 << 20]);
            let negative = (1..1024u32).chain([1 << 14, 1 << 15, 1 << 16]).map(|k| BaseField::from(0u32) - BaseField::from(k));
            for v in above.map(BaseField::from).chain(negative) {
                assert!((0..256).all(|lo| !looked_up(v, lo, bits)), "{v:?} passed a {bits}-bit check");
            }
        }
    }

    #[test]
    #[should_panic(expected = "split_below checks 9 to 15 bits")]
    fn narrow_checks_refuse_a_full_width_bound() {
        split_below(BaseField::from(1u32), BaseField::from(1u32), BaseField::from(1u32), 16);
    }
}
