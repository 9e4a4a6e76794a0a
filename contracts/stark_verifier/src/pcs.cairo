//! The PCS side of the DEEP/OODS check (stwo 2.3 `core::pcs::quotients::fri_answers`): the
//! first FRI layer's value at each query is the random linear combination of the quotients
//! (f(p) - line through the sample and its conjugate) / vanishing(sample pair).
//! Trees are flattened: column i of the flattened lists is the i-th column over all trees.

use crate::circle::{
    CirclePoint, CirclePointTrait, CirclePointIndexTrait, CosetTrait, m31_gen_window_table,
    m31_gen_doublings, M31_CIRCLE_LOG_ORDER,
};
use crate::fields::{M31, M31Trait, CM31, QM31, QM31Trait, P};
use crate::fields::cm31::P_SQUARED;
use crate::fields::qm31::{Coordinates, coordinates, from_coordinates};
use crate::poly::{canonic_circle_domain, bit_reverse_index};
use crate::circle::pow2_u32;
use crate::channel::{Poseidon252Channel, ChannelTrait};
use crate::merkle::{
    LeafRows, MerkleVerifierLifted, MerkleVerifierLiftedTrait, MerkleVerificationError, RowsByEight,
};
use crate::fri::{
    FriConfig, FriLayerProof, FriVerificationError, fri_commit, fri_decommit, sample_query_positions,
};

#[derive(Copy, Drop, Debug, PartialEq)]
pub struct PointSample {
    pub point: CirclePoint<QM31>,
    pub value: QM31,
}

/// Complex conjugation of QM31 over CM31: a + b u -> a - b u.
#[inline]
pub fn conjugate(value: QM31) -> QM31 {
    QM31 { a: value.a, b: -value.b }
}

/// stwo's `complex_conjugate_line_coeffs`: (alpha a, alpha b, alpha c) with
/// a = conj(v) - v, c = conj(p.y) - p.y, b = v c - a p.y.
pub fn complex_conjugate_line_coeffs(sample: @PointSample, alpha: QM31) -> (QM31, QM31, QM31) {
    let value = *sample.value;
    let y = *sample.point.y;
    assert(y != conjugate(y), 'pcs: sample point y in CM31');
    let a = conjugate(value) - value;
    let c = conjugate(y) - y;
    let b = value * c - a * y;
    (alpha * a, alpha * b, alpha * c)
}

/// One sample with its random coefficient (the samples not at the main point, see
/// [`sample_batches`]) and its column's queried values.
#[derive(Copy, Drop, Debug)]
struct ColumnSample {
    queried: Span<felt252>,
    sample: PointSample,
    random_coeff: QM31,
}

/// A batch's column: its queried values and alpha_j's coordinates packed two per felt252,
/// (alpha_0 + alpha_1 2^128, alpha_2 + alpha_3 2^128): a query's term is two products, and
/// each half's low sum stays below 2^128 (a coordinate is below 2^66, canonical or one
/// unreduced product, so a term is below 2^97), and the high half's sum, shifted by 2^128,
/// keeps the felt below P for any column count below 2^26, so the halves are split apart once
/// per batch.
pub(crate) type PackedColumn = (Span<felt252>, felt252, felt252);

/// 2^128, the offset of the high coordinate in a packed coefficient.
const TWO_POW_128: felt252 = 0x100000000000000000000000000000000;

/// Samples grouped by point. The quotient of a batch is linear in the queried values, so
/// everything that does not depend on the query is folded in once: per query only
/// `sum_j c_j v_j` remains, accumulated as felt252 integers (products of canonical M31
/// coordinates, far below the felt252 prime). Batch order and the order of columns inside a
/// batch do not matter: each query's answer is the field sum over all of them.
#[derive(Drop, Debug)]
struct SampleBatch {
    /// The point's part of the denominator (`denominator`): d = den - x piy + y pix over CM31
    /// for the domain point (x, y), with den = prx piy - pry pix (p = (prx + pix u,
    /// pry + piy u)) plus `DEN_OFFSET` in each coordinate; piy and pix as felt252 pairs.
    den: (felt252, felt252),
    piy: (felt252, felt252),
    pix: (felt252, felt252),
    /// c S for a QM31 S = (s0 + s1 i) + (s2 + s3 i) u, c = conj(y) - y = c_b u of the point
    /// (c_b in CM31): c S = c_b s_b (2 + i) + (c_b s_a) u, i.e. the coordinates
    /// (s2 m1 + s3 m2, s2 m3 + s3 m1, s0 c0 + s1 (P - c1), s0 c1 + s1 c0) for
    /// (m1, m2, m3, c0, c1, P - c1), m1 = 2 c0 - c1, m2 = -2 c1 - c0, m3 = c0 + 2 c1 (mod P):
    /// non-negative terms, one product each.
    cs: (felt252, felt252, felt252, felt252, felt252, felt252),
    /// sum_j a_j of the batch's line coefficients (a_j y + b_j is column j's line through the
    /// sample and its conjugate at domain y) and -sum_j b_j, canonical coordinates.
    sum_a: Coordinates,
    neg_sum_b: Coordinates,
    /// Per sample at this point, its column (`PackedColumn`).
    columns: Array<PackedColumn>,
}

/// A non-negative felt252 integer below 2^128 reduced mod P. Out of line: the batch setup
/// reduces in many places, once per batch.
#[inline(never)]
fn canonical(value: felt252) -> felt252 {
    reduce_to_felt(value)
}

/// A multiple of P above (P - 1)^2 (P 2^31): `DEN_OFFSET - x k` is non-negative for canonical
/// x and k.
const DEN_OFFSET: felt252 = 0x3fffffff80000000;
/// A multiple of P above 2^94 (P 2^64): `TERM_OFFSET - e` is non-negative for any product
/// below 2^94, and any product of an integer below 2^64 and a canonical coordinate.
const TERM_OFFSET: felt252 = 0x7fffffff0000000000000000;

/// A batch's samples folded so far: the unreduced coordinate sums of alpha v_a and alpha v_b
/// (v = v_a + v_b u) and its columns.
#[derive(Drop)]
struct BatchSums {
    sum_alpha_va: (felt252, felt252, felt252, felt252),
    sum_alpha_vb: (felt252, felt252, felt252, felt252),
    columns: Array<PackedColumn>,
}

/// alpha times the CM31 number (p + q i), unreduced: each coordinate is a signed sum of two
/// products below P^2, made non-negative with P^2 (< 2^63). alpha as four felt252
/// coordinates.
#[inline(always)]
fn mul_cm31_unreduced(
    alpha: (felt252, felt252, felt252, felt252), value: CM31,
) -> (felt252, felt252, felt252, felt252) {
    let p: felt252 = value.a.inner.into();
    let q: felt252 = value.b.inner.into();
    let (x0, x1, x2, x3) = alpha;
    (x0 * p - x1 * q + P_SQUARED, x0 * q + x1 * p, x2 * p - x3 * q + P_SQUARED, x2 * q + x3 * p)
}

/// A QM31 product kept out of line: the batch setup multiplies in many places, and inlining
/// each would cost class size (a hard limit) for no measurable saving.
#[inline(never)]
fn mul_out_of_line(lhs: QM31, rhs: QM31) -> QM31 {
    lhs * rhs
}


use crate::fields::bounded::felt_mod_p as reduce_to_felt;

/// A multiple of P above 2^100: above every product of an unreduced coordinate below 2^66 and
/// a canonical one (below 2^97), it makes `qm31::mul_coords`'s sums non-negative.
const WIDE_OFFSET: felt252 = 0x1fffffffc00000000000000000;

/// lhs * rhs over QM31 (`qm31::mul_coords` offset by `WIDE_OFFSET`, above the at most 5
/// subtracted products), lhs's coordinates non-negative and below 2^66 (canonical, or one
/// unreduced product: `mul_coords_unreduced`), rhs canonical: canonical felt252 coordinates
/// (each sum is below 2^103 before its reduction).
#[inline(never)]
fn mul_coords(lhs: Coordinates, rhs: Coordinates) -> Coordinates {
    let (a, b, c, d) = crate::fields::qm31::mul_coords(lhs, rhs, (WIDE_OFFSET, WIDE_OFFSET, WIDE_OFFSET));
    (reduce_to_felt(a), reduce_to_felt(b), reduce_to_felt(c), reduce_to_felt(d))
}

/// lhs * rhs over QM31 on canonical felt252 coordinates, not reduced: non-negative
/// coordinates below 2^66 congruent to the product's (`qm31::mul_unreduced`).
#[inline(never)]
fn mul_coords_unreduced(lhs: Coordinates, rhs: Coordinates) -> Coordinates {
    crate::fields::qm31::mul_coords(lhs, rhs, crate::fields::qm31::P_SQUARED_OFFSETS)
}

/// Canonical felt252 coordinates as a QM31.
#[inline(always)]
fn reduce_coords(coords: (felt252, felt252, felt252, felt252)) -> QM31 {
    let (a, b, c, d) = coords;
    crate::fields::qm31::reduce_coords(a, b, c, d)
}

#[inline(always)]
fn qm31_coords(value: QM31) -> (felt252, felt252, felt252, felt252) {
    (value.a.a.inner.into(), value.a.b.inner.into(), value.b.a.inner.into(), value.b.b.inner.into())
}

/// QM31 sums kept out of line, for the same reason (each inlined sum is four branching M31
/// sums).
#[inline(never)]
fn add_out_of_line(lhs: QM31, rhs: QM31) -> QM31 {
    lhs + rhs
}

#[inline(never)]
fn sub_out_of_line(lhs: QM31, rhs: QM31) -> QM31 {
    lhs - rhs
}

/// u, the QM31 generator over CM31 (u^2 = 2 + i).
const U: QM31 = QM31 { a: CM31 { a: M31 { inner: 0 }, b: M31 { inner: 0 } }, b: CM31 { a: M31 { inner: 1 }, b: M31 { inner: 0 } } };

#[generate_trait]
impl BatchSumsImpl of BatchSumsTrait {
    fn new() -> BatchSums {
        BatchSums { sum_alpha_va: (0, 0, 0, 0), sum_alpha_vb: (0, 0, 0, 0), columns: array![] }
    }

    /// One sample (value v, random coefficient alpha). stwo's `complex_conjugate_line_coeffs`
    /// are a = conj(v) - v, c = conj(y) - y, b = v c - a y, all times alpha; with
    /// v = v_a + v_b u, conj(v) - v = -2 v_b u, so the batch needs only sum alpha v_a and
    /// sum alpha v_b (two QM31 x CM31 products), and c_j = alpha c is applied per query to
    /// the batch's sum rather than per column.
    fn add(ref self: BatchSums, column: Span<felt252>, value: QM31, alpha: QM31) {
        let alpha = qm31_coords(alpha);
        let (a0, a1, a2, a3) = mul_cm31_unreduced(alpha, value.a);
        let (b0, b1, b2, b3) = mul_cm31_unreduced(alpha, value.b);
        let (v0, v1, v2, v3) = self.sum_alpha_va;
        let (w0, w1, w2, w3) = self.sum_alpha_vb;
        self.sum_alpha_va = (v0 + a0, v1 + a1, v2 + a2, v3 + a3);
        self.sum_alpha_vb = (w0 + b0, w1 + b1, w2 + b2, w3 + b3);
        let (x0, x1, x2, x3) = alpha;
        self.columns.append((column, x0 + x1 * TWO_POW_128, x2 + x3 * TWO_POW_128));
    }

    /// The batch at `point`: c = conj(y) - y = -2 y_b u (zero iff y is in CM31, refused);
    /// sum alpha v = A + B u and sum alpha a = sum alpha (conj(v) - v) = -2 B u, with
    /// A = sum alpha v_a, B = sum alpha v_b; sum alpha b = c sum alpha v - y sum alpha a.
    fn finish(self: BatchSums, point: CirclePoint<QM31>) -> SampleBatch {
        let y_b = point.y.b;
        assert(y_b.a.inner != 0 || y_b.b.inner != 0, 'pcs: sample point y in CM31');
        let c = QM31 { a: CM31 { a: M31 { inner: 0 }, b: M31 { inner: 0 } }, b: -(y_b + y_b) };
        let (v0, v1, v2, v3) = self.sum_alpha_va;
        let (w0, w1, w2, w3) = self.sum_alpha_vb;
        let b_u = mul_out_of_line(reduce_coordinates(w0, w1, w2, w3), U);
        let sum_alpha_v = add_out_of_line(reduce_coordinates(v0, v1, v2, v3), b_u);
        let sum_a = -add_out_of_line(b_u, b_u);
        let sum_b = sub_out_of_line(
            mul_out_of_line(c, sum_alpha_v), mul_out_of_line(point.y, sum_a),
        );
        // y_b = piy0 + piy1 i, so c_b = -2 y_b; products on felt252 integers, each coordinate
        // reduced once (`canonical`).
        let (piy0, piy1): (felt252, felt252) = (y_b.a.inner.into(), y_b.b.inner.into());
        let (pix0, pix1): (felt252, felt252) = (point.x.b.a.inner.into(), point.x.b.b.inner.into());
        let (prx0, prx1): (felt252, felt252) = (point.x.a.a.inner.into(), point.x.a.b.inner.into());
        let (pry0, pry1): (felt252, felt252) = (point.y.a.a.inner.into(), point.y.a.b.inner.into());
        let (sum_b0, sum_b1, sum_b2, sum_b3) = qm31_coords(sum_b);
        let p: felt252 = P.into();
        SampleBatch {
            den: (
                canonical(prx0 * piy0 - prx1 * piy1 - pry0 * pix0 + pry1 * pix1 + 2 * P_SQUARED)
                    + DEN_OFFSET,
                canonical(prx0 * piy1 + prx1 * piy0 - pry0 * pix1 - pry1 * pix0 + 2 * P_SQUARED)
                    + DEN_OFFSET,
            ),
            piy: (piy0, piy1),
            pix: (pix0, pix1),
            cs: (
                canonical(4 * (p - piy0) + 2 * piy1), canonical(4 * piy1 + 2 * piy0),
                canonical(2 * (p - piy0) + 4 * (p - piy1)), canonical(2 * (p - piy0)),
                canonical(2 * (p - piy1)), canonical(2 * piy1),
            ),
            sum_a: qm31_coords(sum_a),
            neg_sum_b: (p - sum_b0, p - sum_b1, p - sum_b2, p - sum_b3),
            columns: self.columns,
        }
    }
}

/// `point` + g^(2^log_size), g the lifting domain's generator: where a column sampled at
/// exactly two points [previous, p] takes its periodicity sample (p's value at p shifted).
/// g = `subgroup_gen(lifting_log_size)` is the point of index 2^(31 - lifting_log_size), so
/// g^(2^log_size) is the row 31 - lifting_log_size + log_size of `m31_gen_doublings`, or the
/// identity from log_size = lifting_log_size on (the same refusals as `subgroup_gen` and
/// `pow2_u32`): a row read instead of `to_point` (-1.7k steps a point).
#[inline(never)]
pub(crate) fn shifted_point(
    point: CirclePoint<QM31>, log_size: u32, lifting_log_size: u32,
) -> CirclePoint<QM31> {
    assert(lifting_log_size <= M31_CIRCLE_LOG_ORDER, 'circle: log size too large');
    assert(log_size < 32, 'pow2: exponent too large');
    if log_size >= lifting_log_size {
        return point;
    }
    let (x, y) = *m31_gen_doublings()[M31_CIRCLE_LOG_ORDER - lifting_log_size + log_size];
    crate::circle::add_m31_point(point, CirclePoint { x: M31 { inner: x }, y: M31 { inner: y } })
}

/// Appends a column that is not a single sample at the main point to `rest`, each sample with
/// its coefficient, advancing `power` (canonical coordinates) past them: a column sampled at
/// exactly two points [previous, p] first takes the periodicity sample at `shifted_point(p)`
/// with p's value. Out of line: the main pass calls it for a few columns only, and its loop
/// state stays small (random_coeff is read from `alphas`, not carried).
#[inline(never)]
fn set_aside(
    ref rest: Array<ColumnSample>,
    ref power: Coordinates,
    alphas: Box<AlphaPowers>,
    queried: Span<felt252>,
    points: Span<CirclePoint<QM31>>,
    values: Span<Coordinates>,
    log_size: u32,
    lifting_log_size: u32,
) {
    let (alpha, _, _, _) = alphas.unbox();
    let random_coeff = reduce_coords(alpha);
    let mut current = reduce_coords(power);
    if points.len() == 2 {
        let point = shifted_point(*points[1], log_size, lifting_log_size);
        let sample = PointSample { point, value: from_coordinates(*values[1]) };
        rest.append(ColumnSample { queried, sample, random_coeff: current });
        current = mul_out_of_line(current, random_coeff);
    }
    let mut s = 0;
    while s != points.len() {
        let sample = PointSample { point: *points[s], value: from_coordinates(*values[s]) };
        rest.append(ColumnSample { queried, sample, random_coeff: current });
        current = mul_out_of_line(current, random_coeff);
        s += 1;
    };
    power = qm31_coords(current);
}

/// A periodicity sample of a column sampled at [previous, main] (`fold_pair_column`) waiting
/// for its batch: (queried values, the main point's value, log size, coefficient).
type PendingShift = (Span<felt252>, Coordinates, u32, Coordinates);

/// The columns sampled at [previous, main] folded so far (`fold_pair_column`): the previous
/// point's sums and the periodicity samples not at the main point. Boxed: the main pass's loops
/// carry one word for it (unboxed, their extra state cost 362 CASM felts and 400 steps).
type PairFolds = (PackedSums, Array<PendingShift>);

/// Whether a run sampled at `points` = [previous, main] folds its previous-point samples into
/// the one previous batch (`PairFolds`): `bound` holds the first such run's points and previous
/// point's key (no points before it), and a run at another previous point is set aside
/// (`set_aside`), as is one whose previous point is the main one (the batches folded as read
/// must be at distinct points: a sample set aside joins every batch at its point).
#[inline(never)]
fn binds_previous(
    ref bound: (Span<CirclePoint<QM31>>, felt252),
    points: Span<CirclePoint<QM31>>,
    main_key: felt252,
) -> bool {
    let key = point_key(*points[0]);
    let (bound_points, bound_key) = bound;
    if bound_points.len() != 0 {
        return bound_key == key;
    }
    if key == main_key {
        return false;
    }
    bound = (points, key);
    true
}

/// A column sampled at [previous, main] (values in that order; a tree's cumulative-sum
/// columns), folded as read, with coefficients beta, beta alpha, beta alpha^2 from
/// beta = `fold.power` (stwo's order: the periodicity sample, then the column's points): the
/// previous-point sample into the previous batch (`pairs`), the main-point one into the main
/// batch, and the periodicity sample at main + g^(2^log_size) to the shifts
/// (`shifted_batches`), or, when that point is the main one (log_size = lifting_log_size:
/// g^(2^log_size) = 1), into the main batch as the same column's: coefficient
/// beta (alpha^2 + 1), one unreduced product plus a canonical coordinate, still below 2^66 (the
/// product is below 8 P^2). Nothing set aside, keyed or grouped: on a 32-transfer signed
/// proof's 28 such columns (16 periodicity samples at three shifted points, 12 at the main
/// point), -42.8k steps (the order book's proof: -53.0k).
#[inline(never)]
fn fold_pair_column(
    ref fold: MainFold,
    ref pairs: Box<PairFolds>,
    alphas: Box<AlphaPowers>,
    queried: Span<felt252>,
    at_previous: Coordinates,
    at_main: Coordinates,
    log_size: u32,
    lifting_log_size: u32,
) {
    let (mut previous, mut shifts) = pairs.unbox();
    let (a1, a2, a3, _) = alphas.unbox();
    let beta = fold.power;
    let (m0, m1, m2, m3) = mul_coords_unreduced(beta, a2);
    let main_power = if log_size == lifting_log_size {
        let (b0, b1, b2, b3) = beta;
        (m0 + b0, m1 + b1, m2 + b2, m3 + b3)
    } else {
        shifts.append((queried, at_main, log_size, beta));
        (m0, m1, m2, m3)
    };
    fold_column(ref previous, mul_coords_unreduced(beta, a1), at_previous, queried);
    pairs = BoxTrait::new((previous, shifts));
    fold_column(ref fold.sums, main_power, at_main, queried);
    fold.power = mul_coords(beta, a3);
}

/// The periodicity samples left by `fold_pair_column`, one batch per log size (at
/// main_point + g^(2^log_size)), in first-seen order: each pass folds the first entry's log
/// size and keeps the others for the next (a tree has a few log sizes). These batches are not
/// merged with the points set aside: one sharing another batch's point (no verifier's shape
/// does) would cost a batch, not correctness, each answer being linear in every batch's sums.
#[inline(never)]
fn shifted_batches(
    ref batches: Array<SampleBatch>,
    shifts: Span<PendingShift>,
    main_point: CirclePoint<QM31>,
    lifting_log_size: u32,
) {
    let mut pending = shifts;
    while pending.len() != 0 {
        let (_, _, log_size, _) = *pending[0];
        let mut sums = no_sums();
        let mut others: Array<PendingShift> = array![];
        for entry in pending {
            let (queried, value, entry_log_size, power) = *entry;
            if entry_log_size == log_size {
                fold_column(ref sums, power, value, queried);
            } else {
                others.append(*entry);
            }
        };
        pending = others.span();
        let point = shifted_point(main_point, log_size, lifting_log_size);
        batches.append(unpacked(sums).finish(point));
    };
}

/// `count` consecutive columns of a tree sampled at the same points (a verifier's mask gives
/// its columns a few shapes, each a run of hundreds of columns): the main pass tests a run's
/// points once, not every column's.
pub type PointRun = (u32, Span<CirclePoint<QM31>>);

/// Each column its own run.
pub fn runs_of_columns(column_points: Span<Span<CirclePoint<QM31>>>) -> Span<PointRun> {
    let mut runs: Array<PointRun> = array![];
    for points in column_points {
        runs.append((1, *points));
    };
    runs.span()
}

/// Columns as a verifier holds them (one group per tree): per column its log size and its
/// queried values (two lists of one entry a column), the columns' sample points as runs
/// (their counts summing to the column count), and the sampled values as one flat list of
/// words, each column one value per point of its run.
#[derive(Copy, Drop)]
pub struct ColumnGroup {
    /// The columns' log sizes, each `log_blowup` below its evaluation domain's.
    pub log_sizes: Span<u32>,
    pub log_blowup: u32,
    pub point_runs: Span<PointRun>,
    /// The columns' sampled values in order, each one value per point of its run, as
    /// canonical coordinates: four words a value, one flat list (the proof reader's form).
    pub values: Span<felt252>,
    pub queried: Span<Span<felt252>>,
}

/// The first `n` values of `words` (four words each) as coordinates, `words` advanced past
/// them: the few columns sampled at other than the main point (`sample_batches`), and the
/// thread program's columns (`thread_verifier::proof::sampled_columns`).
#[inline(never)]
pub fn take_values(ref words: Span<felt252>, n: u32) -> Span<Coordinates> {
    let mut values: Array<Coordinates> = array![];
    while values.len() != n {
        let [a, b, c, d] = (*words.multi_pop_front::<4>().unwrap()).unbox();
        values.append((a, b, c, d));
    };
    values.span()
}

/// Per-column values (canonical coordinates) as the flat list of their words
/// (`ColumnGroup::values`), each column's count checked against its points'.
fn flat_words(
    column_values: Span<Span<Coordinates>>, column_points: Span<Span<CirclePoint<QM31>>>,
) -> Span<felt252> {
    let mut words: Array<felt252> = array![];
    let mut points = column_points;
    for column in column_values {
        assert((*column).len() == (*points.pop_front().unwrap()).len(), 'pcs: values per point');
        for value in *column {
            let (a, b, c, d) = *value;
            words.append(a);
            words.append(b);
            words.append(c);
            words.append(d);
        };
    };
    words.span()
}

/// `count` columns as (blocks of four, the rest): the blocks as a felt252 to count down (a u32
/// comparison and subtraction per loop iteration would take two range checks).
#[inline(always)]
pub fn blocks_of_four(count: u32) -> (felt252, u32) {
    let (blocks, rest) = core::integer::u32_safe_divmod(count, 4);
    (blocks.into(), rest)
}

/// A multiple of P above 2^66: `CONJ_OFFSET - x` is non-negative for a coefficient
/// coordinate x below 2^66 and congruent to -x.
const CONJ_OFFSET: felt252 = 0x7fffffff000000000;
const TWO_POW_31: felt252 = 0x80000000;

/// A circle point over QM31 as one felt252: its 8 canonical coordinates in base 2^31 (248
/// bits), so two points are equal iff their keys are.
#[inline(always)]
fn point_key(point: CirclePoint<QM31>) -> felt252 {
    let mut key: felt252 = point.x.a.a.inner.into();
    key = key * TWO_POW_31 + point.x.a.b.inner.into();
    key = key * TWO_POW_31 + point.x.b.a.inner.into();
    key = key * TWO_POW_31 + point.x.b.b.inner.into();
    key = key * TWO_POW_31 + point.y.a.a.inner.into();
    key = key * TWO_POW_31 + point.y.a.b.inner.into();
    key = key * TWO_POW_31 + point.y.b.a.inner.into();
    key * TWO_POW_31 + point.y.b.b.inner.into()
}

/// The two halves (below 2^128 each) of a packed sum low + high 2^128, as felt252s.
#[inline(always)]
fn split_packed(value: felt252) -> (felt252, felt252) {
    let value: u256 = value.into();
    (value.low.into(), value.high.into())
}

/// The one value of a one-value column: popped, not indexed (an index costs a range check).
#[inline(always)]
pub fn only(column: Span<Coordinates>) -> Coordinates {
    let mut column = column;
    *column.pop_front().unwrap()
}

/// A batch's samples folded so far (`fold_column`): sum alpha v_a and sum alpha v_b two
/// coordinates per felt252 and the batch's columns.
#[derive(Drop)]
struct PackedSums {
    va_lo: felt252,
    va_hi: felt252,
    vb_lo: felt252,
    vb_hi: felt252,
    columns: Array<PackedColumn>,
}

/// No samples yet.
#[inline(always)]
fn no_sums() -> PackedSums {
    PackedSums { va_lo: 0, va_hi: 0, vb_lo: 0, vb_hi: 0, columns: array![] }
}

/// The main batch's fold so far (`sample_batches`): the next power of random_coeff as
/// canonical felt252 coordinates (it is only ever a felt252 factor here: no u32 conversions
/// per column) and the main point's sums.
#[derive(Drop)]
struct MainFold {
    power: Coordinates,
    sums: PackedSums,
}

/// The sums as a `BatchSums`, each coordinate below 2^128 (`fold_column`). Out of line: one
/// copy for the batches folded as read (the main point, the previous point, the shifted ones).
#[inline(never)]
fn unpacked(sums: PackedSums) -> BatchSums {
    let PackedSums { va_lo, va_hi, vb_lo, vb_hi, columns } = sums;
    let (va0, va1) = split_packed(va_lo);
    let (va2, va3) = split_packed(va_hi);
    let (vb0, vb1) = split_packed(vb_lo);
    let (vb2, vb3) = split_packed(vb_hi);
    BatchSums { sum_alpha_va: (va0, va1, va2, va3), sum_alpha_vb: (vb0, vb1, vb2, vb3), columns }
}

/// Whether a column's sample points are exactly the main point (key `main_key`).
#[inline(always)]
fn at_main(points: Span<CirclePoint<QM31>>, main_key: felt252) -> bool {
    if points.len() != 1 {
        return false;
    }
    let mut points = points;
    point_key(*points.pop_front().unwrap()) == main_key
}

/// Folds one main-point sample, value `(p_a, q_a, p_b, q_b)` (v = v_a + v_b u, v_a = p_a + q_a i,
/// v_b = p_b + q_b i) with coefficient `power` (coordinates non-negative, below 2^66: canonical
/// or one unreduced product), into the sums, and records its column. alpha = (x0 + x1 i) +
/// (x2 + x3 i) u times the CM31 number p + q i is (x0 p - x1 q) + (x0 q + x1 p) i + (x2 p - x3 q) u
/// + (x2 q + x3 p) i u; with lo = x0 + x1 2^128 and lo' = (C - x1) + x0 2^128 (C = CONJ_OFFSET, a
/// multiple of P above any x1), lo p + lo' q holds the first two coordinates (plus C q, a
/// multiple of P) in its two halves.
#[inline(always)]
fn fold_column(ref fold: PackedSums, power: Coordinates, value: Coordinates, queried: Span<felt252>) {
    let (p_a, q_a, p_b, q_b) = value;
    let (x0, x1, x2, x3) = power;
    let lo = x0 + x1 * TWO_POW_128;
    let hi = x2 + x3 * TWO_POW_128;
    let lo_conj = CONJ_OFFSET - x1 + x0 * TWO_POW_128;
    let hi_conj = CONJ_OFFSET - x3 + x2 * TWO_POW_128;
    fold.va_lo += lo * p_a + lo_conj * q_a;
    fold.va_hi += hi * p_a + hi_conj * q_a;
    fold.vb_lo += lo * p_b + lo_conj * q_b;
    fold.vb_hi += hi * p_b + hi_conj * q_b;
    fold.columns.append((queried, lo, hi));
}

/// alpha, alpha^2, alpha^3, alpha^4 of the DEEP random coefficient alpha, canonical.
type AlphaPowers = (Coordinates, Coordinates, Coordinates, Coordinates);

/// Folds the `count` columns in front, each one sample at the main point, into `fold`: four
/// per iteration, then one at a time. With beta = `fold.power` (canonical), a block's four
/// coefficients are beta and beta alpha^k for k = 1..3, each one product of canonical factors
/// left unreduced (below 2^66: a coefficient only needs to be congruent to its power and small
/// enough for the packed sums), and the next beta is beta alpha^4 reduced: one reduction (16
/// range checks) per four columns. Its own function with little loop state: the main pass's
/// per-column cost is mostly the state a loop iteration carries. Each queried column holds one
/// value per query: the trees' Merkle checks (`columns_by_log_size`) verified every length
/// before the answers are computed, and `fri_answers_columns` checks them for its callers.
#[inline(never)]
fn fold_main_columns(
    ref values: Span<felt252>,
    ref queried: Span<Span<felt252>>,
    ref fold: MainFold,
    alphas: Box<AlphaPowers>,
    count: u32,
) {
    let (mut blocks, mut left) = blocks_of_four(count);
    while blocks != 0 {
        let [p0, q0, r0, s0, p1, q1, r1, s1, p2, q2, r2, s2, p3, q3, r3, s3] = (*values
            .multi_pop_front::<16>()
            .unwrap())
            .unbox();
        let [c0, c1, c2, c3] = (*queried.multi_pop_front::<4>().unwrap()).unbox();
        let (a1, a2, a3, a4) = alphas.unbox();
        let beta = fold.power;
        fold_column(ref fold.sums, beta, (p0, q0, r0, s0), c0);
        fold_column(ref fold.sums, mul_coords_unreduced(beta, a1), (p1, q1, r1, s1), c1);
        fold_column(ref fold.sums, mul_coords_unreduced(beta, a2), (p2, q2, r2, s2), c2);
        fold_column(ref fold.sums, mul_coords_unreduced(beta, a3), (p3, q3, r3, s3), c3);
        fold.power = mul_coords(beta, a4);
        blocks -= 1;
    };
    while left != 0 {
        let [p, q, r, s] = (*values.multi_pop_front::<4>().unwrap()).unbox();
        let c = *queried.pop_front().unwrap();
        let (a1, _, _, _) = alphas.unbox();
        let beta = fold.power;
        fold_column(ref fold.sums, beta, (p, q, r, s), c);
        fold.power = mul_coords(beta, a1);
        left -= 1;
    };
}

/// stwo's `build_samples_with_randomness_and_periodicity` + grouping by point, over the
/// groups' columns in order: powers of `random_coeff` in sample order; a column sampled at
/// exactly two points [previous, p] gets an extra first sample at p + g^(2^log_size), g the
/// lifting domain's generator, with p's value.
///
/// Cost: almost every sample is a one-sample column at one point (the OODS point), so the
/// main pass folds samples at the first sampled column's last point into that batch directly
/// (coefficients as felt252 coordinates, never converted to u32), and those of the columns
/// sampled at [previous, main] into their points' batches too (`fold_pair_column`); it sets the
/// other columns' samples aside, grouped by point afterwards.
fn sample_batches(
    groups: Span<ColumnGroup>, lifting_log_size: u32, random_coeff: QM31, n_queries: u32,
) -> Array<SampleBatch> {
    let mut batches: Array<SampleBatch> = array![];
    let mut main_point: Option<CirclePoint<QM31>> = Option::None;
    for group in groups {
        for run in *group.point_runs {
            let (count, points) = *run;
            if count != 0 && points.len() != 0 {
                main_point = Option::Some(*points[points.len() - 1]);
                break;
            }
        };
        if main_point.is_some() {
            break;
        }
    };
    let main_point = match main_point {
        Option::Some(point) => point,
        Option::None => { return batches; },
    };
    let main_key = point_key(main_point);
    let a1 = qm31_coords(random_coeff);
    let a2 = mul_coords(a1, a1);
    let a3 = mul_coords(a2, a1);
    let alphas = BoxTrait::new((a1, a2, a3, mul_coords(a2, a2)));
    let mut fold = MainFold { power: (1, 0, 0, 0), sums: no_sums() };
    let mut rest: Array<ColumnSample> = array![];
    // The columns sampled at [previous, main]: the previous point (`binds_previous`) and its
    // batch with the periodicity samples (`PairFolds`).
    let mut previous: (Span<CirclePoint<QM31>>, felt252) = (array![].span(), 0);
    let mut pairs: Box<PairFolds> = BoxTrait::new((no_sums(), array![]));
    for group in groups {
        let group = *group;
        let mut values = group.values;
        let mut queried = group.queried;
        // The log sizes of the group's columns from the current run on (needed for the
        // columns not at the main point only).
        let mut log_sizes = group.log_sizes;
        for run in group.point_runs {
            let (count, points) = *run;
            if at_main(points, main_key) {
                fold_main_columns(ref values, ref queried, ref fold, alphas, count);
                log_sizes = log_sizes.slice(count, log_sizes.len() - count);
                continue;
            }
            // A run sampled at [previous, main] (a tree's cumulative-sum columns): its samples
            // join their batches as they are read.
            let pair_at_main = count != 0
                && points.len() == 2
                && point_key(*points[1]) == main_key
                && binds_previous(ref previous, points, main_key);
            let mut left = count;
            while left != 0 {
                let column_queried = *queried.pop_front().unwrap();
                assert(column_queried.len() == n_queries, 'pcs: values per query');
                let log_size = *log_sizes.pop_front().unwrap() + group.log_blowup;
                if pair_at_main {
                    let [p0, q0, r0, s0, p1, q1, r1, s1] = (*values
                        .multi_pop_front::<8>()
                        .unwrap())
                        .unbox();
                    fold_pair_column(
                        ref fold,
                        ref pairs,
                        alphas,
                        column_queried,
                        (p0, q0, r0, s0),
                        (p1, q1, r1, s1),
                        log_size,
                        lifting_log_size,
                    );
                } else {
                    set_aside(
                        ref rest,
                        ref fold.power,
                        alphas,
                        column_queried,
                        points,
                        take_values(ref values, points.len()),
                        log_size,
                        lifting_log_size,
                    );
                }
                left -= 1;
            };
        };
    };
    let MainFold { power: _, sums } = fold;
    let (at_previous, shifts) = pairs.unbox();
    // The main and previous batches, folded as read, then those of the points set aside, then
    // the shifted ones (`shifted_batches`).
    let mut points: Array<(CirclePoint<QM31>, felt252)> = array![(main_point, main_key)];
    let mut folded: Array<BatchSums> = array![unpacked(sums)];
    let (previous_points, previous_key) = previous;
    if previous_points.len() != 0 {
        points.append((*previous_points[0], previous_key));
        folded.append(unpacked(at_previous));
    }

    // Grouped by point, the points folded as read first (their batches already hold the main
    // pass's); points compared by key (`point_key`), each entry's computed once.
    let rest = rest.span();
    let mut keys: Array<felt252> = array![];
    let mut indexes: Array<u32> = array![];
    for entry in rest {
        indexes.append(keys.len());
        keys.append(point_key(*entry.sample.point));
    };
    let keys = keys.span();
    let indexes = indexes.span();
    let mut e = 0;
    for key in keys {
        let key = *key;
        let mut seen = false;
        for known in points.span() {
            let (_, known_key) = *known;
            if known_key == key {
                seen = true;
                break;
            }
        };
        if !seen {
            points.append((*rest[e].sample.point, key));
        }
        e += 1;
    };
    for entry in points {
        let (point, key) = entry;
        let mut batch = match folded.pop_front() {
            Option::Some(sums) => sums,
            Option::None => BatchSumsTrait::new(),
        };
        // The entries at this point, found first by a scan whose state is a few words (a scan
        // carrying the batch's sums cost ~80 steps per entry and point), then added.
        let mut mine: Array<u32> = array![];
        let mut entry_indexes = indexes;
        for entry_key in keys {
            let index = entry_indexes.pop_front().unwrap();
            if *entry_key == key {
                mine.append(*index);
            }
        };
        for index in mine {
            let entry = rest[index];
            batch.add(*entry.queried, *entry.sample.value, *entry.random_coeff);
        };
        batches.append(batch.finish(point));
    };
    shifted_batches(ref batches, shifts.span(), main_point, lifting_log_size);
    batches
}

/// The QM31 with the given non-negative felt252 coordinates (each below 2^128) reduced.
#[inline(never)]
fn reduce_coordinates(a: felt252, b: felt252, c: felt252, d: felt252) -> QM31 {
    QM31 {
        a: CM31 { a: M31Trait::reduce_felt(a), b: M31Trait::reduce_felt(b) },
        b: CM31 { a: M31Trait::reduce_felt(c), b: M31Trait::reduce_felt(d) },
    }
}

/// (prx - x) piy - (pry - y) pix over CM31, for the sample point p = (prx + pix u,
/// pry + piy u) and the domain point (x, y) (stwo's `denominator_inverses`, before
/// inversion), as non-negative felt252 coordinates below 2^63 + 2^31 (`SampleBatch::den`).
#[inline(always)]
fn denominator(batch: @SampleBatch, x: felt252, y: felt252) -> (felt252, felt252) {
    let (den0, den1) = *batch.den;
    let (piy0, piy1) = *batch.piy;
    let (pix0, pix1) = *batch.pix;
    (den0 - x * piy0 + y * pix0, den1 - x * piy1 + y * pix1)
}

/// Inverses of non-zero M31s with one field inversion (Montgomery's trick); panics on a zero
/// as the one-by-one inverse does.
pub fn batch_inverse_m31(values: Span<M31>) -> Array<M31> {
    let n = values.len();
    let mut out: Array<M31> = array![];
    if n == 0 {
        return out;
    }
    // prefix[i] = values[0] * ... * values[i].
    let mut prefix: Array<M31> = array![];
    let mut running = M31 { inner: 1 };
    for value in values {
        running = running * *value;
        prefix.append(running);
    };
    let mut inverse = running.inverse();
    // Walk back: inverse(values[i]) = inverse(prefix[i]) * prefix[i - 1].
    let mut reversed: Array<M31> = array![];
    let prefix = prefix.span();
    let mut i = n;
    while i != 1 {
        i -= 1;
        reversed.append(inverse * *prefix[i - 1]);
        inverse = inverse * *values[i];
    };
    reversed.append(inverse);
    let mut rest = reversed.span();
    loop {
        match rest.pop_back() {
            Option::Some(value) => out.append(*value),
            Option::None => { break; },
        }
    };
    out
}

/// alpha_j v_j for one sample, as its two packed halves (`PackedColumn`) times the column's
/// value at query q.
#[inline(always)]
fn column_term(entry: PackedColumn, q: u32) -> (felt252, felt252) {
    let (column, lo, hi) = entry;
    let v: felt252 = *column[q];
    (lo * v, hi * v)
}

/// sum_j alpha_j v_j (packed, `PackedColumn`) over `columns` at query q.
#[inline(never)]
pub(crate) fn sums_one(columns: Span<PackedColumn>, q: u32) -> (felt252, felt252) {
    let mut s_lo: felt252 = 0;
    let mut s_hi: felt252 = 0;
    for entry in columns {
        let (t0, t1) = column_term(*entry, q);
        s_lo += t0;
        s_hi += t1;
    };
    (s_lo, s_hi)
}

/// `sums_one` at the eight queries q0..q0 + 8, each column's eight values read as one slice,
/// appended to `out` in query order. Four columns per iteration (the last up to three one at a
/// time): an iteration's own cost is mostly its sixteen sums carried to the next (two columns
/// per iteration cost 9k steps more on a 32-transfer signed proof).
#[inline(never)]
pub(crate) fn sums_eight(columns: Span<PackedColumn>, q0: u32, ref out: Array<(felt252, felt252)>) {
    let mut s0_lo: felt252 = 0;
    let mut s0_hi: felt252 = 0;
    let mut s1_lo: felt252 = 0;
    let mut s1_hi: felt252 = 0;
    let mut s2_lo: felt252 = 0;
    let mut s2_hi: felt252 = 0;
    let mut s3_lo: felt252 = 0;
    let mut s3_hi: felt252 = 0;
    let mut s4_lo: felt252 = 0;
    let mut s4_hi: felt252 = 0;
    let mut s5_lo: felt252 = 0;
    let mut s5_hi: felt252 = 0;
    let mut s6_lo: felt252 = 0;
    let mut s6_hi: felt252 = 0;
    let mut s7_lo: felt252 = 0;
    let mut s7_hi: felt252 = 0;
    let mut entries = columns;
    while let Option::Some(quad) = entries.multi_pop_front::<4>() {
        let [(column_a, lo_a, hi_a), (column_b, lo_b, hi_b), (column_c, lo_c, hi_c), (column_d, lo_d, hi_d)] =
            (*quad)
            .unbox();
        let mut values_a = column_a.slice(q0, 8);
        let [a0, a1, a2, a3, a4, a5, a6, a7] = (*values_a.multi_pop_front::<8>().unwrap())
            .unbox();
        let mut values_b = column_b.slice(q0, 8);
        let [b0, b1, b2, b3, b4, b5, b6, b7] = (*values_b.multi_pop_front::<8>().unwrap())
            .unbox();
        let mut values_c = column_c.slice(q0, 8);
        let [c0, c1, c2, c3, c4, c5, c6, c7] = (*values_c.multi_pop_front::<8>().unwrap())
            .unbox();
        let mut values_d = column_d.slice(q0, 8);
        let [d0, d1, d2, d3, d4, d5, d6, d7] = (*values_d.multi_pop_front::<8>().unwrap())
            .unbox();
        s0_lo += lo_a * a0 + lo_b * b0 + lo_c * c0 + lo_d * d0;
        s0_hi += hi_a * a0 + hi_b * b0 + hi_c * c0 + hi_d * d0;
        s1_lo += lo_a * a1 + lo_b * b1 + lo_c * c1 + lo_d * d1;
        s1_hi += hi_a * a1 + hi_b * b1 + hi_c * c1 + hi_d * d1;
        s2_lo += lo_a * a2 + lo_b * b2 + lo_c * c2 + lo_d * d2;
        s2_hi += hi_a * a2 + hi_b * b2 + hi_c * c2 + hi_d * d2;
        s3_lo += lo_a * a3 + lo_b * b3 + lo_c * c3 + lo_d * d3;
        s3_hi += hi_a * a3 + hi_b * b3 + hi_c * c3 + hi_d * d3;
        s4_lo += lo_a * a4 + lo_b * b4 + lo_c * c4 + lo_d * d4;
        s4_hi += hi_a * a4 + hi_b * b4 + hi_c * c4 + hi_d * d4;
        s5_lo += lo_a * a5 + lo_b * b5 + lo_c * c5 + lo_d * d5;
        s5_hi += hi_a * a5 + hi_b * b5 + hi_c * c5 + hi_d * d5;
        s6_lo += lo_a * a6 + lo_b * b6 + lo_c * c6 + lo_d * d6;
        s6_hi += hi_a * a6 + hi_b * b6 + hi_c * c6 + hi_d * d6;
        s7_lo += lo_a * a7 + lo_b * b7 + lo_c * c7 + lo_d * d7;
        s7_hi += hi_a * a7 + hi_b * b7 + hi_c * c7 + hi_d * d7;
    };
    while let Option::Some(entry) = entries.pop_front() {
        let (column, lo, hi) = *entry;
        let mut values = column.slice(q0, 8);
        let [v0, v1, v2, v3, v4, v5, v6, v7] = (*values.multi_pop_front::<8>().unwrap()).unbox();
        s0_lo += lo * v0;
        s0_hi += hi * v0;
        s1_lo += lo * v1;
        s1_hi += hi * v1;
        s2_lo += lo * v2;
        s2_hi += hi * v2;
        s3_lo += lo * v3;
        s3_hi += hi * v3;
        s4_lo += lo * v4;
        s4_hi += hi * v4;
        s5_lo += lo * v5;
        s5_hi += hi * v5;
        s6_lo += lo * v6;
        s6_hi += hi * v6;
        s7_lo += lo * v7;
        s7_hi += hi * v7;
    };
    out.append((s0_lo, s0_hi));
    out.append((s1_lo, s1_hi));
    out.append((s2_lo, s2_hi));
    out.append((s3_lo, s3_hi));
    out.append((s4_lo, s4_hi));
    out.append((s5_lo, s5_hi));
    out.append((s6_lo, s6_hi));
    out.append((s7_lo, s7_hi));
}

/// `sums_eight`, eight columns per iteration, the last up to seven one at a time: an
/// iteration carries its sixteen sums to the next, so eight columns an iteration carry them
/// half as often (the list verifier's class only: `merkle::RowsByEightAndFour`).
#[inline(never)]
pub(crate) fn sums_eight_wide(columns: Span<PackedColumn>, q0: u32, ref out: Array<(felt252, felt252)>) {
    let mut s0_lo: felt252 = 0;
    let mut s0_hi: felt252 = 0;
    let mut s1_lo: felt252 = 0;
    let mut s1_hi: felt252 = 0;
    let mut s2_lo: felt252 = 0;
    let mut s2_hi: felt252 = 0;
    let mut s3_lo: felt252 = 0;
    let mut s3_hi: felt252 = 0;
    let mut s4_lo: felt252 = 0;
    let mut s4_hi: felt252 = 0;
    let mut s5_lo: felt252 = 0;
    let mut s5_hi: felt252 = 0;
    let mut s6_lo: felt252 = 0;
    let mut s6_hi: felt252 = 0;
    let mut s7_lo: felt252 = 0;
    let mut s7_hi: felt252 = 0;
    let mut entries = columns;
    while let Option::Some(octet) = entries.multi_pop_front::<8>() {
        let [(column_a, lo_a, hi_a), (column_b, lo_b, hi_b), (column_c, lo_c, hi_c), (column_d, lo_d, hi_d), (column_e, lo_e, hi_e), (column_f, lo_f, hi_f), (column_g, lo_g, hi_g), (column_h, lo_h, hi_h)] =
            (*octet).unbox();
        let mut values_a = column_a.slice(q0, 8);
        let [a0, a1, a2, a3, a4, a5, a6, a7] = (*values_a.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_b = column_b.slice(q0, 8);
        let [b0, b1, b2, b3, b4, b5, b6, b7] = (*values_b.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_c = column_c.slice(q0, 8);
        let [c0, c1, c2, c3, c4, c5, c6, c7] = (*values_c.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_d = column_d.slice(q0, 8);
        let [d0, d1, d2, d3, d4, d5, d6, d7] = (*values_d.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_e = column_e.slice(q0, 8);
        let [e0, e1, e2, e3, e4, e5, e6, e7] = (*values_e.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_f = column_f.slice(q0, 8);
        let [f0, f1, f2, f3, f4, f5, f6, f7] = (*values_f.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_g = column_g.slice(q0, 8);
        let [g0, g1, g2, g3, g4, g5, g6, g7] = (*values_g.multi_pop_front::<8>().unwrap()).unbox();
        let mut values_h = column_h.slice(q0, 8);
        let [h0, h1, h2, h3, h4, h5, h6, h7] = (*values_h.multi_pop_front::<8>().unwrap()).unbox();
        s0_lo += lo_a * a0 + lo_b * b0 + lo_c * c0 + lo_d * d0 + lo_e * e0 + lo_f * f0 + lo_g * g0 + lo_h * h0;
        s0_hi += hi_a * a0 + hi_b * b0 + hi_c * c0 + hi_d * d0 + hi_e * e0 + hi_f * f0 + hi_g * g0 + hi_h * h0;
        s1_lo += lo_a * a1 + lo_b * b1 + lo_c * c1 + lo_d * d1 + lo_e * e1 + lo_f * f1 + lo_g * g1 + lo_h * h1;
        s1_hi += hi_a * a1 + hi_b * b1 + hi_c * c1 + hi_d * d1 + hi_e * e1 + hi_f * f1 + hi_g * g1 + hi_h * h1;
        s2_lo += lo_a * a2 + lo_b * b2 + lo_c * c2 + lo_d * d2 + lo_e * e2 + lo_f * f2 + lo_g * g2 + lo_h * h2;
        s2_hi += hi_a * a2 + hi_b * b2 + hi_c * c2 + hi_d * d2 + hi_e * e2 + hi_f * f2 + hi_g * g2 + hi_h * h2;
        s3_lo += lo_a * a3 + lo_b * b3 + lo_c * c3 + lo_d * d3 + lo_e * e3 + lo_f * f3 + lo_g * g3 + lo_h * h3;
        s3_hi += hi_a * a3 + hi_b * b3 + hi_c * c3 + hi_d * d3 + hi_e * e3 + hi_f * f3 + hi_g * g3 + hi_h * h3;
        s4_lo += lo_a * a4 + lo_b * b4 + lo_c * c4 + lo_d * d4 + lo_e * e4 + lo_f * f4 + lo_g * g4 + lo_h * h4;
        s4_hi += hi_a * a4 + hi_b * b4 + hi_c * c4 + hi_d * d4 + hi_e * e4 + hi_f * f4 + hi_g * g4 + hi_h * h4;
        s5_lo += lo_a * a5 + lo_b * b5 + lo_c * c5 + lo_d * d5 + lo_e * e5 + lo_f * f5 + lo_g * g5 + lo_h * h5;
        s5_hi += hi_a * a5 + hi_b * b5 + hi_c * c5 + hi_d * d5 + hi_e * e5 + hi_f * f5 + hi_g * g5 + hi_h * h5;
        s6_lo += lo_a * a6 + lo_b * b6 + lo_c * c6 + lo_d * d6 + lo_e * e6 + lo_f * f6 + lo_g * g6 + lo_h * h6;
        s6_hi += hi_a * a6 + hi_b * b6 + hi_c * c6 + hi_d * d6 + hi_e * e6 + hi_f * f6 + hi_g * g6 + hi_h * h6;
        s7_lo += lo_a * a7 + lo_b * b7 + lo_c * c7 + lo_d * d7 + lo_e * e7 + lo_f * f7 + lo_g * g7 + lo_h * h7;
        s7_hi += hi_a * a7 + hi_b * b7 + hi_c * c7 + hi_d * d7 + hi_e * e7 + hi_f * f7 + hi_g * g7 + hi_h * h7;
    };
    // The last up to seven one at a time (a block of four here would cost the class its
    // code again).
    while let Option::Some(entry) = entries.pop_front() {
        let (column, lo, hi) = *entry;
        let mut values = column.slice(q0, 8);
        let [v0, v1, v2, v3, v4, v5, v6, v7] = (*values.multi_pop_front::<8>().unwrap()).unbox();
        s0_lo += lo * v0;
        s0_hi += hi * v0;
        s1_lo += lo * v1;
        s1_hi += hi * v1;
        s2_lo += lo * v2;
        s2_hi += hi * v2;
        s3_lo += lo * v3;
        s3_hi += hi * v3;
        s4_lo += lo * v4;
        s4_hi += hi * v4;
        s5_lo += lo * v5;
        s5_hi += hi * v5;
        s6_lo += lo * v6;
        s6_hi += hi * v6;
        s7_lo += lo * v7;
        s7_hi += hi * v7;
    };
    out.append((s0_lo, s0_hi));
    out.append((s1_lo, s1_hi));
    out.append((s2_lo, s2_hi));
    out.append((s3_lo, s3_hi));
    out.append((s4_lo, s4_hi));
    out.append((s5_lo, s5_hi));
    out.append((s6_lo, s6_hi));
    out.append((s7_lo, s7_hi));
}

/// `sums_one` at the four queries q0..q0 + 4, each column's four values read as one slice,
/// one column per iteration: the block a verifier querying 16 positions never reaches, so its
/// class keeps the short code (`merkle::RowsByEight`); `sums_four_wide` for the fast list
/// set's 20.
#[inline(never)]
pub(crate) fn sums_four(
    columns: Span<PackedColumn>, q0: u32,
) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
    let mut a_lo: felt252 = 0;
    let mut a_hi: felt252 = 0;
    let mut b_lo: felt252 = 0;
    let mut b_hi: felt252 = 0;
    let mut c_lo: felt252 = 0;
    let mut c_hi: felt252 = 0;
    let mut d_lo: felt252 = 0;
    let mut d_hi: felt252 = 0;
    let mut entries = columns;
    while let Option::Some(entry) = entries.pop_front() {
        let (column, lo, hi) = *entry;
        let mut values = column.slice(q0, 4);
        let [v0, v1, v2, v3] = (*values.multi_pop_front::<4>().unwrap()).unbox();
        let v0: felt252 = v0;
        let v1: felt252 = v1;
        let v2: felt252 = v2;
        let v3: felt252 = v3;
        a_lo += lo * v0;
        a_hi += hi * v0;
        b_lo += lo * v1;
        b_hi += hi * v1;
        c_lo += lo * v2;
        c_hi += hi * v2;
        d_lo += lo * v3;
        d_hi += hi * v3;
    };
    (a_lo, a_hi, b_lo, b_hi, c_lo, c_hi, d_lo, d_hi)
}

/// `sums_four`, eight columns per iteration, the last up to seven one at a time (by
/// `sums_four`): the fast list set's block of four (20 queries) on a 256-transfer list proof
/// took 13.7k steps less at four columns an iteration (docs/cost-history.md, session 44) and
/// ~2.4k less again at eight (session 57); only the list verifier's class takes the code
/// (`merkle::RowsByEightAndFour`).
#[inline(never)]
pub(crate) fn sums_four_wide(
    columns: Span<PackedColumn>, q0: u32,
) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
    let mut a_lo: felt252 = 0;
    let mut a_hi: felt252 = 0;
    let mut b_lo: felt252 = 0;
    let mut b_hi: felt252 = 0;
    let mut c_lo: felt252 = 0;
    let mut c_hi: felt252 = 0;
    let mut d_lo: felt252 = 0;
    let mut d_hi: felt252 = 0;
    let mut entries = columns;
    while let Option::Some(octet) = entries.multi_pop_front::<8>() {
        let [(column_s, lo_s, hi_s), (column_t, lo_t, hi_t), (column_u, lo_u, hi_u), (column_v, lo_v, hi_v), (column_w, lo_w, hi_w), (column_x, lo_x, hi_x), (column_y, lo_y, hi_y), (column_z, lo_z, hi_z)] =
            (*octet).unbox();
        let mut values_s = column_s.slice(q0, 4);
        let [s0, s1, s2, s3] = (*values_s.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_t = column_t.slice(q0, 4);
        let [t0, t1, t2, t3] = (*values_t.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_u = column_u.slice(q0, 4);
        let [u0, u1, u2, u3] = (*values_u.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_v = column_v.slice(q0, 4);
        let [v0, v1, v2, v3] = (*values_v.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_w = column_w.slice(q0, 4);
        let [w0, w1, w2, w3] = (*values_w.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_x = column_x.slice(q0, 4);
        let [x0, x1, x2, x3] = (*values_x.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_y = column_y.slice(q0, 4);
        let [y0, y1, y2, y3] = (*values_y.multi_pop_front::<4>().unwrap()).unbox();
        let mut values_z = column_z.slice(q0, 4);
        let [z0, z1, z2, z3] = (*values_z.multi_pop_front::<4>().unwrap()).unbox();
        a_lo += lo_s * s0 + lo_t * t0 + lo_u * u0 + lo_v * v0 + lo_w * w0 + lo_x * x0 + lo_y * y0 + lo_z * z0;
        a_hi += hi_s * s0 + hi_t * t0 + hi_u * u0 + hi_v * v0 + hi_w * w0 + hi_x * x0 + hi_y * y0 + hi_z * z0;
        b_lo += lo_s * s1 + lo_t * t1 + lo_u * u1 + lo_v * v1 + lo_w * w1 + lo_x * x1 + lo_y * y1 + lo_z * z1;
        b_hi += hi_s * s1 + hi_t * t1 + hi_u * u1 + hi_v * v1 + hi_w * w1 + hi_x * x1 + hi_y * y1 + hi_z * z1;
        c_lo += lo_s * s2 + lo_t * t2 + lo_u * u2 + lo_v * v2 + lo_w * w2 + lo_x * x2 + lo_y * y2 + lo_z * z2;
        c_hi += hi_s * s2 + hi_t * t2 + hi_u * u2 + hi_v * v2 + hi_w * w2 + hi_x * x2 + hi_y * y2 + hi_z * z2;
        d_lo += lo_s * s3 + lo_t * t3 + lo_u * u3 + lo_v * v3 + lo_w * w3 + lo_x * x3 + lo_y * y3 + lo_z * z3;
        d_hi += hi_s * s3 + hi_t * t3 + hi_u * u3 + hi_v * v3 + hi_w * w3 + hi_x * x3 + hi_y * y3 + hi_z * z3;
    };
    // The last up to seven one at a time.
    let (e_lo, e_hi, f_lo, f_hi, g_lo, g_hi, h_lo, h_hi) = sums_four(entries, q0);
    (a_lo + e_lo, a_hi + e_hi, b_lo + f_lo, b_hi + f_hi, c_lo + g_lo, c_hi + g_hi, d_lo + h_lo, d_hi + h_hi)
}

/// A batch's term of a query's answer, unreduced (each coordinate below 2^97): the quotient
/// (sum_j c_j v_j - (sum_j a_j) y - sum_j b_j) / denominator, from the packed
/// sum_j alpha_j v_j (sum_j c_j v_j = c sum_j alpha_j v_j), P - y and the denominator d
/// (`denominator`) with its norm's inverse: 1 / d = conj(d) / norm(d). The numerator's
/// coordinates are sums of non-negative terms below 2^64, the inverse's reduced: two
/// reductions besides the sum's four. Out of line: it runs once per batch and query.
#[inline(never)]
fn batch_answer(
    batch: @SampleBatch,
    s_lo: felt252,
    s_hi: felt252,
    p_minus_y: felt252,
    d: (felt252, felt252),
    norm_inverse: M31,
) -> (felt252, felt252, felt252, felt252) {
    let (s0, s1, s2, s3) = unpack_sum(s_lo, s_hi);
    let (m1, m2, m3, c0, c1, neg_c1) = *batch.cs;
    let (a0, a1, a2, a3) = *batch.sum_a;
    let (b0, b1, b2, b3) = *batch.neg_sum_b;
    let n0 = s2 * m1 + s3 * m2 + a0 * p_minus_y + b0;
    let n1 = s2 * m3 + s3 * m1 + a1 * p_minus_y + b1;
    let n2 = s0 * c0 + s1 * neg_c1 + a2 * p_minus_y + b2;
    let n3 = s0 * c1 + s1 * c0 + a3 * p_minus_y + b3;
    let (d0, d1) = d;
    let norm_inverse: felt252 = norm_inverse.inner.into();
    let e0 = reduce_to_felt(d0 * norm_inverse);
    let e1 = reduce_to_felt(TERM_OFFSET - d1 * norm_inverse);
    (
        n0 * e0 - n1 * e1 + TERM_OFFSET, n0 * e1 + n1 * e0, n2 * e0 - n3 * e1 + TERM_OFFSET,
        n2 * e1 + n3 * e0,
    )
}

/// The QM31 sum held packed (`PackedColumn`) in two felt252s, as canonical coordinates.
#[inline(always)]
fn unpack_sum(lo: felt252, hi: felt252) -> Coordinates {
    let lo: u256 = lo.into();
    let hi: u256 = hi.into();
    (
        M31Trait::reduce_u128(lo.low).inner.into(), M31Trait::reduce_u128(lo.high).inner.into(),
        M31Trait::reduce_u128(hi.low).inner.into(), M31Trait::reduce_u128(hi.high).inner.into(),
    )
}

/// stwo's `fri_answers`: the first FRI layer's value at each query position, for columns
/// given as (point, value) samples.
pub fn fri_answers(
    column_log_sizes: Span<u32>,
    samples: Span<Span<PointSample>>,
    random_coeff: QM31,
    query_positions: Span<u32>,
    queried_values: Span<Span<felt252>>,
    lifting_log_size: u32,
) -> Array<QM31> {
    let mut column_points: Array<Span<CirclePoint<QM31>>> = array![];
    let mut column_values: Array<Span<Coordinates>> = array![];
    for column in samples {
        let mut points: Array<CirclePoint<QM31>> = array![];
        let mut values: Array<Coordinates> = array![];
        for sample in *column {
            points.append(*sample.point);
            values.append(coordinates(*sample.value));
        };
        column_points.append(points.span());
        column_values.append(values.span());
    };
    fri_answers_columns(
        column_log_sizes,
        column_points.span(),
        column_values.span(),
        random_coeff,
        query_positions,
        queried_values,
        lifting_log_size,
    )
}

/// `fri_answers` with each column's sample points and values in two lists of the same
/// shape (what a verifier has at hand, without building (point, value) pairs); values as
/// canonical coordinates.
pub fn fri_answers_columns(
    column_log_sizes: Span<u32>,
    column_points: Span<Span<CirclePoint<QM31>>>,
    column_values: Span<Span<Coordinates>>,
    random_coeff: QM31,
    query_positions: Span<u32>,
    queried_values: Span<Span<felt252>>,
    lifting_log_size: u32,
) -> Array<QM31> {
    assert(column_log_sizes.len() == column_points.len(), 'pcs: samples per column');
    assert(column_values.len() == column_points.len(), 'pcs: samples per column');
    assert(queried_values.len() == column_points.len(), 'pcs: values per column');
    let n_queries = query_positions.len();
    for column in queried_values {
        assert((*column).len() == n_queries, 'pcs: values per query');
    };
    let group = ColumnGroup {
        log_sizes: column_log_sizes,
        log_blowup: 0,
        point_runs: runs_of_columns(column_points),
        values: flat_words(column_values, column_points),
        queried: queried_values,
    };
    fri_answers_groups::<RowsByEight>(array![group].span(), random_coeff, query_positions, lifting_log_size)
}

/// `fri_answers_columns` over groups of columns (a verifier's trees, in order, taken as one
/// flat list of columns). Each group's two column lists have one entry per column, its point
/// runs cover them, its flat sampled words hold one value per point of each column's run, and
/// every queried column one value per query position (the caller's shape checks). `R` picks the
/// code of a block of four queries (`merkle::LeafRows::sums_four`).
pub fn fri_answers_groups<R, +LeafRows<R>>(
    groups: Span<ColumnGroup>,
    random_coeff: QM31,
    query_positions: Span<u32>,
    lifting_log_size: u32,
) -> Array<QM31> {
    let batches = sample_batches(groups, lifting_log_size, random_coeff, query_positions.len());
    let lifting_domain = canonic_circle_domain(lifting_log_size);
    // Denominators of every (query, batch), inverted together: CM31 1/d = conj(d) / norm(d).
    let mut domain_points: Array<CirclePoint<M31>> = array![];
    let mut denominators: Array<(felt252, felt252)> = array![];
    let mut norms: Array<M31> = array![];
    // Domain point i of the circle domain: half_coset.at(i), or its conjugate past the first
    // half; converted by windows with one table for all queries.
    let table = m31_gen_window_table();
    let half_coset = lifting_domain.half_coset;
    let half_size = pow2_u32(half_coset.log_size);
    for position in query_positions {
        let i = bit_reverse_index(*position, lifting_log_size);
        let domain_point = if i < half_size {
            half_coset.index_at(i).to_point_windowed(table)
        } else {
            let p = half_coset.index_at(i - half_size).to_point_windowed(table);
            CirclePoint { x: p.x, y: -p.y }
        };
        domain_points.append(domain_point);
        let x: felt252 = domain_point.x.inner.into();
        let y: felt252 = domain_point.y.inner.into();
        for batch in batches.span() {
            let (d0, d1) = denominator(batch, x, y);
            denominators.append((d0, d1));
            // Below 2^128: each coordinate is below 2^63 + 2^31.
            norms.append(M31Trait::reduce_felt(d0 * d0 + d1 * d1));
        };
    };
    let norm_inverses = batch_inverse_m31(norms.span());
    let mut denominators = denominators.span();
    let mut norm_inverses = norm_inverses.span();

    // sum_j alpha_j v_j per (query, batch), packed (`PackedColumn`): eight queries at a time
    // (one slice of each column for eight values), the last block of eight overlapping the
    // one before when five to seven remain (its first queries' sums are not used), a block
    // of four when one to four remain (20 queries: 8 + 8 + 4, not 8 + 8 + 8 of which four
    // are thrown away); four at a time for fewer than eight queries, one at a time for fewer
    // than four. Laid out per block, then per batch, then per query of the block; `starts`
    // holds each query's first index and the distance between its batches' sums.
    let n_queries = query_positions.len();
    let mut sums: Array<(felt252, felt252)> = array![];
    let mut starts: Array<(u32, u32)> = array![];
    while starts.len() != n_queries {
        let left = n_queries - starts.len();
        let size = if n_queries >= 8 && left > 4 {
            8
        } else if n_queries >= 4 {
            4
        } else {
            1
        };
        // The block's first query: the next one, or size back from the end.
        let q0 = if left >= size {
            starts.len()
        } else {
            n_queries - size
        };
        let base = sums.len();
        for batch in batches.span() {
            let columns = batch.columns.span();
            if size == 8 {
                LeafRows::<R>::sums_eight(columns, q0, ref sums);
            } else if size == 4 {
                let (a0, a1, b0, b1, c0, c1, d0, d1) = LeafRows::<R>::sums_four(columns, q0);
                sums.append((a0, a1));
                sums.append((b0, b1));
                sums.append((c0, c1));
                sums.append((d0, d1));
            } else {
                sums.append(sums_one(columns, q0));
            }
        };
        let mut j = starts.len() - q0;
        while j != size {
            starts.append((base + j, size));
            j += 1;
        };
    };
    let sums = sums.span();
    let starts = starts.span();

    let mut answers: Array<QM31> = array![];
    let mut q = 0;
    while q != n_queries {
        // Where query q's sums start and how far apart its batches' are.
        let (mut index, stride) = *starts[q];
        let domain_point = *domain_points[q];
        let p_minus_y: felt252 = (P - domain_point.y.inner).into();
        let mut r0: felt252 = 0;
        let mut r1: felt252 = 0;
        let mut r2: felt252 = 0;
        let mut r3: felt252 = 0;
        for batch in batches.span() {
            let (s_lo, s_hi) = *sums[index];
            index += stride;
            let d = *denominators.pop_front().unwrap();
            let norm_inverse = *norm_inverses.pop_front().unwrap();
            let (t0, t1, t2, t3) = batch_answer(batch, s_lo, s_hi, p_minus_y, d, norm_inverse);
            r0 += t0;
            r1 += t1;
            r2 += t2;
            r3 += t3;
        };
        answers.append(reduce_coordinates(r0, r1, r2, r3));
        q += 1;
    };
    answers
}

/// stwo's `PcsConfig`.
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct PcsConfig {
    pub pow_bits: u32,
    pub fri_config: FriConfig,
    /// None: each tree is lifted to its largest column.
    pub lifting_log_size: Option<u32>,
}

/// One tree's part of the proof.
#[derive(Copy, Drop, Debug)]
pub struct TreeProof {
    pub hash_witness: Span<felt252>,
    /// Per column, the values at the tree's query positions.
    pub queried_values: Span<Span<felt252>>,
}

/// stwo's `CommitmentSchemeProof` (roots travel through `commit`).
#[derive(Copy, Drop, Debug)]
pub struct PcsProof {
    pub trees: Span<TreeProof>,
    /// Every tree's sampled values in order (tree, column, the column's points), canonical
    /// coordinates, four words a value: one flat list, as the channel mixes them (stwo's
    /// `sampled_values.flatten_cols()`). The verifier's point runs say which are whose.
    pub sampled_words: Span<felt252>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

#[derive(Copy, Drop, Debug, PartialEq)]
pub enum PcsVerificationError {
    /// Proof and verifier disagree on trees / columns / samples.
    ShapeMismatch,
    ProofOfWork,
    Merkle: (u32, MerkleVerificationError),
    Fri: FriVerificationError,
}

/// The columns `runs` cover and the values they hold (one per point of a column's run).
fn run_totals(runs: Span<PointRun>) -> (u32, u32) {
    let mut columns = 0;
    let mut values = 0;
    for run in runs {
        let (count, points) = *run;
        columns += count;
        values += count * points.len();
    };
    (columns, values)
}

/// stwo's `CommitmentSchemeVerifier`.
#[derive(Drop, Debug)]
pub struct CommitmentSchemeVerifier {
    pub config: PcsConfig,
    pub trees: Array<MerkleVerifierLifted>,
}

/// stwo's `prepare_preprocessed_query_positions`: the first (preprocessed) tree may be
/// lifted to a different height than the others.
pub fn prepare_preprocessed_query_positions(
    query_positions: Span<u32>, max_log_size: u32, pp_max_log_size: u32,
) -> Array<u32> {
    let mut out: Array<u32> = array![];
    if pp_max_log_size == 0 {
        return out;
    }
    for position in query_positions {
        let (half, low) = core::integer::u32_safe_divmod(*position, 2);
        let mapped = if max_log_size < pp_max_log_size {
            half * pow2_u32(pp_max_log_size - max_log_size + 1) + low
        } else {
            let (shifted, _) = core::integer::u32_safe_divmod(
                *position, pow2_u32(max_log_size - pp_max_log_size + 1).try_into().unwrap(),
            );
            shifted * 2 + low
        };
        out.append(mapped);
    };
    out
}

#[generate_trait]
pub impl CommitmentSchemeVerifierImpl of CommitmentSchemeVerifierTrait {
    fn new(config: PcsConfig) -> CommitmentSchemeVerifier {
        CommitmentSchemeVerifier { config, trees: array![] }
    }

    /// Mixes a tree root and records its columns (log sizes before the blowup).
    fn commit(
        ref self: CommitmentSchemeVerifier,
        root: felt252,
        log_sizes: Span<u32>,
        ref channel: Poseidon252Channel,
    ) {
        channel.mix_root(root);
        self
            .trees
            .append(
                MerkleVerifierLiftedTrait::new_blown_up(
                    root,
                    log_sizes,
                    self.config.fri_config.log_blowup_factor,
                    self.config.lifting_log_size,
                ),
            );
    }

    /// stwo's `verify_values`: sampled values -> random coefficient -> FRI commit -> proof of
    /// work -> queries -> tree decommitments -> quotient answers -> FRI decommitment.
    /// `sampled_points`: per tree, per column, the points the column was sampled at.
    fn verify_values(
        self: @CommitmentSchemeVerifier,
        sampled_points: Span<Span<Span<CirclePoint<QM31>>>>,
        proof: PcsProof,
        ref channel: Poseidon252Channel,
    ) -> Result<(), PcsVerificationError> {
        let mut point_runs: Array<Span<PointRun>> = array![];
        for tree_points in sampled_points {
            point_runs.append(runs_of_columns(*tree_points));
        };
        self.verify_values_in_runs(point_runs.span(), proof, ref channel)
    }

    /// `verify_values` with each tree's sample points as runs of columns (`PointRun`, in
    /// column order, covering the tree's columns): what a verifier's mask gives.
    fn verify_values_in_runs(
        self: @CommitmentSchemeVerifier,
        point_runs: Span<Span<PointRun>>,
        proof: PcsProof,
        ref channel: Poseidon252Channel,
    ) -> Result<(), PcsVerificationError> {
        self.verify_values_in_runs_by::<RowsByEight>(point_runs, proof, ref channel)
    }

    /// `verify_values_in_runs` with the trees' queried rows hashed by the passes of `R`
    /// (`merkle::LeafRows`: the same check, the code a verifier's query count wants).
    fn verify_values_in_runs_by<R, +LeafRows<R>>(
        self: @CommitmentSchemeVerifier,
        point_runs: Span<Span<PointRun>>,
        proof: PcsProof,
        ref channel: Poseidon252Channel,
    ) -> Result<(), PcsVerificationError> {
        let trees = self.trees.span();
        let n_trees = trees.len();
        if n_trees == 0 || proof.trees.len() != n_trees || point_runs.len() != n_trees {
            return Result::Err(PcsVerificationError::ShapeMismatch);
        }
        // Columns per tree (`ColumnGroup`, spans of the proof's lists): the runs cover the
        // tree's columns exactly, each column one value per point of its run, so the runs
        // say how many of the flat sampled words are the tree's (and whose each is). Nothing
        // is mixed before every word is accounted for.
        let mut words = proof.sampled_words;
        let mut groups: Array<ColumnGroup> = array![];
        let mut shape_ok = true;
        let mut t = 0;
        while t != n_trees {
            let tree = trees[t];
            let tree_proof = *proof.trees[t];
            let runs = *point_runs[t];
            let n_columns = (*tree.column_log_sizes).len();
            if tree_proof.queried_values.len() != n_columns {
                shape_ok = false;
                break;
            }
            let (run_columns, run_values) = run_totals(runs);
            // The verifier's runs (a few per tree) bound both totals far below 2^32.
            let tree_words = 4 * run_values;
            if run_columns != n_columns || words.len() < tree_words {
                shape_ok = false;
                break;
            }
            groups
                .append(
                    ColumnGroup {
                        log_sizes: *tree.column_log_sizes,
                        log_blowup: *tree.log_blowup,
                        point_runs: runs,
                        values: words.slice(0, tree_words),
                        queried: tree_proof.queried_values,
                    },
                );
            words = words.slice(tree_words, words.len() - tree_words);
            t += 1;
        };
        if !shape_ok || words.len() != 0 {
            return Result::Err(PcsVerificationError::ShapeMismatch);
        }

        channel.mix_words(proof.sampled_words);
        let random_coeff = channel.draw_secure_felt();
        let config = *self.config;
        let lifting_log_size = *trees[n_trees - 1].height;
        let blowup = config.fri_config.log_blowup_factor;
        if lifting_log_size < blowup {
            return Result::Err(PcsVerificationError::ShapeMismatch);
        }
        let mut inner_roots: Array<felt252> = array![];
        for layer in proof.fri_inner_layers {
            inner_roots.append(*layer.root);
        };
        let commitment = match fri_commit(
            ref channel,
            config.fri_config,
            lifting_log_size - blowup,
            proof.fri_first_layer.root,
            inner_roots.span(),
            proof.fri_last_layer_poly,
        ) {
            Result::Ok(commitment) => commitment,
            Result::Err(e) => { return Result::Err(PcsVerificationError::Fri(e)); },
        };
        let pow_ok = channel.verify_pow_nonce(config.pow_bits, proof.proof_of_work);
        if !pow_ok {
            return Result::Err(PcsVerificationError::ProofOfWork);
        }
        channel.mix_u64(proof.proof_of_work);
        let queries = sample_query_positions(ref channel, @commitment);
        let preprocessed_queries = prepare_preprocessed_query_positions(
            queries.span(), lifting_log_size, *trees[0].height,
        );

        let mut merkle_error: Option<PcsVerificationError> = Option::None;
        let mut t = 0;
        while t != n_trees {
            let positions = if t == 0 {
                preprocessed_queries.span()
            } else {
                queries.span()
            };
            let tree_proof = *proof.trees[t];
            match trees[t]
                .verify_by::<R>(positions, tree_proof.queried_values, tree_proof.hash_witness) {
                Result::Ok(()) => {},
                Result::Err(e) => {
                    merkle_error = Option::Some(PcsVerificationError::Merkle((t, e)));
                    break;
                },
            }
            t += 1;
        };
        if let Option::Some(e) = merkle_error {
            return Result::Err(e);
        }

        let answers = fri_answers_groups::<R>(
            groups.span(), random_coeff, queries.span(), lifting_log_size,
        );
        match fri_decommit(
            @commitment,
            queries.span(),
            answers.span(),
            proof.fri_first_layer,
            proof.fri_inner_layers,
        ) {
            Result::Ok(()) => Result::Ok(()),
            Result::Err(e) => Result::Err(PcsVerificationError::Fri(e)),
        }
    }
}

/// stwo's `SecureField::from_partial_evals`: e0 + e1 i + e2 u + e3 i u.
pub fn from_partial_evals(evals: Span<QM31>) -> QM31 {
    assert(evals.len() == 4, 'pcs: four partial evals');
    // Out-of-line products: this runs twice per proof, its bytecode counts against the class.
    let sum = add_out_of_line(
        *evals[0], mul_out_of_line(*evals[1], QM31Trait::from_u32_unchecked(0, 1, 0, 0)),
    );
    let sum = add_out_of_line(sum, mul_out_of_line(*evals[2], U));
    add_out_of_line(sum, mul_out_of_line(*evals[3], QM31Trait::from_u32_unchecked(0, 0, 0, 1)))
}

/// The composition polynomial's value at the OODS point from the last tree's 8 sampled
/// coordinate columns (left and right halves of the split composition polynomial):
/// left + x(2^(max_log_degree_bound - 1) * oods) * right (stwo's
/// `StarkProof::extract_composition_oods_eval`).
pub fn composition_oods_eval(
    oods_point: CirclePoint<QM31>, coordinate_evals: Span<QM31>, max_log_degree_bound: u32,
) -> QM31 {
    assert(max_log_degree_bound >= 1, 'pcs: composition bound');
    composition_at(coordinate_evals, oods_point.repeated_double(max_log_degree_bound - 1).x)
}

/// `composition_oods_eval` given x(2^(max_log_degree_bound - 1) * oods), which is also the
/// canonic coset's vanishing polynomial at the OODS point (the coset's initial point is half its
/// step, so stwo's `coset_vanishing` shift is zero): a verifier needing both doubles once.
pub fn composition_at(coordinate_evals: Span<QM31>, doubled_x: QM31) -> QM31 {
    assert(coordinate_evals.len() == 8, 'pcs: eight composition evals');
    let left = from_partial_evals(coordinate_evals.slice(0, 4));
    let right = from_partial_evals(coordinate_evals.slice(4, 4));
    add_out_of_line(left, mul_out_of_line(doubled_x, right))
}
