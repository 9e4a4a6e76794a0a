//! The Poseidon2 component's constraints at the OODS point (`zkthread_prover::poseidon2::air`),
//! evaluated round by round from the generated tables (`generated_poseidon2`: p3's round
//! constants, `M4`, the internal diagonal, the column layout) instead of a flat program: the
//! 285 constraints expanded over the columns carry ~780 derived coefficients, which would not
//! fit a class.
//!
//! The constraints, in stwo's `add_constraint` order, for the mask values `main` (301 columns)
//! and the cumulative sum's values `interaction`:
//! - `state = E(input)`;
//! - 4 initial full rounds, each: `sq[i] - x[i]^2` for `x = state + rc` (16), then
//!   `next[i] - E(sq^2 x)[i]` (16); `state = next` (the round's state columns);
//! - 14 partial rounds `k`: `sq_k - x_k^2`, `p_k - sq_k^2 x_k` for `x_k = state[0] + rc_k`;
//!   then `state[0] = p_k` (the S-box output column) and `state = (J + diag(D)) state`.
//!   The Rust AIR writes `x_k` as a fixed linear form in the columns (the composition of the
//!   same layers); over the field both are the same polynomial, so the values are identical;
//! - 4 final full rounds as above;
//! - LogUp (`finalize_logup`, one fraction): `(cur - prev + claimed_sum / 2^log_size) *
//!   (sum_i alpha^i v_i - z) - multiplicity` with `v = (input, output)`.
//!
//! Arithmetic is lazy where it is cheap to bound: products are kept as unreduced coordinates
//! (`Wide`, non-negative integers in felt252) through the S-boxes, the linear layers and the
//! folds, and reduced once per coordinate. A full round's 32 constraints fold as two groups
//! with precomputed powers of the random coefficient (`FoldPowers`: `acc r^16 + sum_i c_i
//! r^(15 - i)`), left unreduced between them and reduced once per round (`narrow_wide`, which
//! takes coordinates below 2^160); a partial round's two fold likewise; the partial rounds'
//! lanes 1..15 are reduced every sixth round (`internal_layer`'s bounds). Lanes are named
//! rather than looped over where a loop iteration (a gas withdrawal, pops, its re-passed
//! state) would cost as much as the lane's arithmetic. Every step is an exact field operation,
//! so the values are stwo's bit for bit (the tests compare them; `narrow` panics on a
//! coordinate past 2^128 and `narrow_wide` past 2^160, so a broken bound fails them rather
//! than wrapping).

use stark_verifier::fields::qm31::{Coordinates, P_SQUARED_OFFSETS, coordinates, mul_coords};
use stark_verifier::fields::bounded::{BoundedInt, DivRemHelper};
use stark_verifier::fields::{CM31, M31, M31Trait, QM31};
use thread_verifier::lookup::LookupElements;
use thread_verifier::oods::column_size_inverse_m31;
use crate::generated_poseidon2::{
    EXTERNAL_FINAL_RC, EXTERNAL_INITIAL_RC, FINAL_START, FULL_ROUND_COLUMNS, HALF_FULL_ROUNDS,
    INITIAL_START, INPUT_START, INTERNAL_DIAG, INTERNAL_RC, MULTIPLICITY_COLUMN, N_COLUMNS,
    N_INTERACTION_VALUES, OUTPUT_START, PARTIAL_ROUNDS, PARTIAL_ROUND_COLUMNS, PARTIAL_START,
    WIDTH,
};

/// `8 P^2`: above every coordinate of `wide_mul` on canonical inputs (at most 8 products
/// below P^2 plus the added multiple of P^2), so `a + 8 P^2 - product` stays non-negative.
const EIGHT_P_SQUARED: felt252 = 0x1fffffff800000008;
/// `P`, as the offset of a difference of two canonical coordinates.
const P_FELT: felt252 = 0x7fffffff;
/// `32 P^2`: above every coordinate of `from_partial_evals` (below 9P).
const THIRTY_TWO_P_SQUARED: felt252 = 0x7ffffffe000000020;
/// `P * 2^119` (> 2^149): above the absolute value of a full round's signed fold (below
/// 2^148.5, `full_round`), so the fold plus it is non-negative, and below 2^150.5.
const FULL_ROUND_OFFSET: felt252 = 0x3fffffff800000000000000000000000000000;
/// `P * 2^71` (> 2^101): above the absolute value of a partial round's signed fold (below
/// 2^100.5, `partial_rounds`).
const PARTIAL_ROUND_OFFSET: felt252 = 0x3fffffff800000000000000000;

/// A QM31 value with unreduced coordinates: non-negative integers (below 2^128) as felt252.
#[derive(Copy, Drop)]
struct Wide {
    a: felt252,
    b: felt252,
    c: felt252,
    d: felt252,
}

#[inline]
fn wide(x: Coordinates) -> Wide {
    let (a, b, c, d) = x;
    Wide { a, b, c, d }
}

/// `x`'s coordinates as they are (no reduction, no step).
#[inline(always)]
fn unwide(x: Wide) -> Coordinates {
    (x.a, x.b, x.c, x.d)
}

#[inline]
fn wide_add(x: Wide, y: Wide) -> Wide {
    Wide { a: x.a + y.a, b: x.b + y.b, c: x.c + y.c, d: x.d + y.d }
}

/// `x - y` per coordinate, signed (exact in felt252 while the caller bounds it).
#[inline(always)]
fn wide_diff(x: Wide, y: Wide) -> Wide {
    Wide { a: x.a - y.a, b: x.b - y.b, c: x.c - y.c, d: x.d - y.d }
}

/// `x + k` per coordinate.
#[inline(always)]
fn wide_add_constant(x: Wide, k: felt252) -> Wide {
    Wide { a: x.a + k, b: x.b + k, c: x.c + k, d: x.d + k }
}

/// `x + offset - y` per coordinate (`offset` a multiple of P above `y`'s coordinates).
#[inline]
fn wide_sub(x: Wide, y: Wide, offset: felt252) -> Wide {
    Wide {
        a: x.a + offset - y.a, b: x.b + offset - y.b, c: x.c + offset - y.c, d: x.d + offset - y.d,
    }
}

/// `x * k` for a field element `k`.
#[inline(always)]
fn wide_scale_felt(x: Wide, k: felt252) -> Wide {
    Wide { a: x.a * k, b: x.b * k, c: x.c * k, d: x.d * k }
}

/// `x * k` for a constant `k < 2^31`.
#[inline]
fn wide_scale(x: Wide, k: u32) -> Wide {
    let k: felt252 = k.into();
    Wide { a: x.a * k, b: x.b * k, c: x.c * k, d: x.d * k }
}

/// The product of two canonical values, unreduced (every coordinate below 8 P^2).
#[inline(never)]
fn wide_mul(x: Coordinates, y: Coordinates) -> Wide {
    let (a, b, c, d) = mul_coords(x, y, P_SQUARED_OFFSETS);
    Wide { a, b, c, d }
}

#[inline(never)]
fn narrow(x: Wide) -> QM31 {
    QM31 {
        a: CM31 { a: M31Trait::reduce_felt(x.a), b: M31Trait::reduce_felt(x.b) },
        b: CM31 { a: M31Trait::reduce_felt(x.c), b: M31Trait::reduce_felt(x.d) },
    }
}

/// The QM31 of `x`'s coordinates reduced, each a non-negative integer below 2^160 (panics on
/// a coordinate past it, e.g. one that wrapped below zero): `v = h 2^128 + l` with
/// `2^128 = 2^(4 * 31 + 4) = 16 (mod P)`, so `v = l + 16 h (mod P)`, below 2^128 + 2^36: one
/// division by P on bounded integers. Seven range checks per coordinate (the split, `h`
/// below 2^32, the division) against four for `narrow`, which only takes coordinates below
/// 2^128: worth it where it replaces many `narrow`s.
#[inline(never)]
fn narrow_wide(x: Wide) -> QM31 {
    QM31 {
        a: CM31 { a: reduce_wide(x.a), b: reduce_wide(x.b) },
        b: CM31 { a: reduce_wide(x.c), b: reduce_wide(x.d) },
    }
}

#[inline(always)]
fn reduce_wide(v: felt252) -> M31 {
    let v: u256 = v.into();
    let high: u32 = v.high.try_into().expect('poseidon2: above 2^160');
    let shifted = bounded_int_mul(upcast::<u32, U32>(high), SIXTEEN);
    let folded = bounded_int_add(upcast::<u128, U128>(v.low), shifted);
    let (_, rem) = bounded_int_div_rem(folded, P_NZ);
    M31 { inner: upcast(rem) }
}

// `reduce_wide`'s bounded integers (the corelib keeps these libfunc declarations
// crate-private, as `stark_verifier::fields::bounded` notes; the helpers name the exact
// result ranges the libfuncs derive).
type U32 = BoundedInt<0, 0xffffffff>;
type U128 = BoundedInt<0, 0xffffffffffffffffffffffffffffffff>;
type Sixteen = BoundedInt<16, 16>;
type U36 = BoundedInt<0, 0xffffffff0>;
type Folded = BoundedInt<0, 0x100000000000000000000000fffffffef>;
type ConstP = BoundedInt<0x7fffffff, 0x7fffffff>;
const SIXTEEN: Sixteen = 16;
const P_NZ: NonZero<ConstP> = 0x7fffffff;

trait MulHelper<Lhs, Rhs> {
    type Result;
}
trait AddHelper<Lhs, Rhs> {
    type Result;
}
impl MulU32Sixteen of MulHelper<U32, Sixteen> {
    type Result = U36;
}
impl AddU128U36 of AddHelper<U128, U36> {
    type Result = Folded;
}
impl FoldedModP of DivRemHelper<Folded, ConstP> {
    type DivT = BoundedInt<0, 0x2000000040000000800000030>;
    type RemT = BoundedInt<0, 0x7ffffffe>;
}
extern fn bounded_int_mul<Lhs, Rhs, impl H: MulHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: Rhs,
) -> H::Result nopanic;
extern fn bounded_int_add<Lhs, Rhs, impl H: AddHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: Rhs,
) -> H::Result nopanic;
extern fn bounded_int_div_rem<Lhs, Rhs, impl H: DivRemHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: NonZero<Rhs>,
) -> (H::DivT, H::RemT) implicits(core::RangeCheck) nopanic;
extern fn upcast<FromType, ToType>(x: FromType) -> ToType nopanic;

/// stwo's `PointEvaluationAccumulator::accumulate` without the common denominator:
/// `acc * random_coeff + constraint` (`constraint` below 2^127). The product inlined: 129
/// folds per evaluation.
#[inline(never)]
fn fold(acc: QM31, random_coeff: QM31, constraint: Wide) -> QM31 {
    let product = wide(mul_coords(coordinates(acc), coordinates(random_coeff), P_SQUARED_OFFSETS));
    narrow(wide_add(product, constraint))
}

/// `x + c` for a base-field constant `c < P` and canonical `x`: only the first coordinate
/// moves, and it is left unreduced (below 2P; `square_signed` and `mul_signed_by_input` allow
/// it).
#[inline]
fn add_constant(x: Coordinates, c: u32) -> Coordinates {
    let (a, b, c_, d) = x;
    (a + c.into(), b, c_, d)
}

/// Poseidon2's external layer `E x`, `E = [[2 M4, M4, M4, M4], [M4, 2 M4, M4, M4], ...]`
/// (the shape `zkthread_prover::poseidon2::constants` checks on p3's layer): block `b` of the
/// output is `M4 (x_b + sum_b' x_b')`. Unreduced: each output is at most 35 times the largest
/// input in absolute value (5 inputs times `M4`'s row sums, 7), below 2^105 on `sbox_fold`
/// outputs (signed, below 2^100). Spans of lanes hold `Coordinates`, reduced or not, so that
/// one layout serves the input columns, the S-box outputs and the partial rounds' state
/// without copies.
fn external_layer(x: Span<Coordinates>) -> Span<Coordinates> {
    let mut x = x;
    let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15] = (*x
        .multi_pop_front::<16>()
        .expect('poseidon2: width'))
        .unbox();
    let (x0, x1, x2, x3) = (wide(x0), wide(x1), wide(x2), wide(x3));
    let (x4, x5, x6, x7) = (wide(x4), wide(x5), wide(x6), wide(x7));
    let (x8, x9, x10, x11) = (wide(x8), wide(x9), wide(x10), wide(x11));
    let (x12, x13, x14, x15) = (wide(x12), wide(x13), wide(x14), wide(x15));
    let s0 = wide_add(wide_add(x0, x4), wide_add(x8, x12));
    let s1 = wide_add(wide_add(x1, x5), wide_add(x9, x13));
    let s2 = wide_add(wide_add(x2, x6), wide_add(x10, x14));
    let s3 = wide_add(wide_add(x3, x7), wide_add(x11, x15));
    let mut out: Array<Coordinates> = array![];
    m4_block(ref out, wide_add(x0, s0), wide_add(x1, s1), wide_add(x2, s2), wide_add(x3, s3));
    m4_block(ref out, wide_add(x4, s0), wide_add(x5, s1), wide_add(x6, s2), wide_add(x7, s3));
    m4_block(ref out, wide_add(x8, s0), wide_add(x9, s1), wide_add(x10, s2), wide_add(x11, s3));
    m4_block(ref out, wide_add(x12, s0), wide_add(x13, s1), wide_add(x14, s2), wide_add(x15, s3));
    out.span()
}

/// Appends `M4 y` for one block `y` of the external layer (lanes named, not indexed: an
/// index costs a range check). `M4` is the circulant `circ(2, 3, 1, 1)` (`MAT4`;
/// `tests::test_poseidon2` checks the generated table), so row `i` is
/// `(y_0 + y_1 + y_2 + y_3) + y_i + 2 y_(i+1)`: 13 additions per coordinate instead of 16
/// products and 12 additions.
#[inline(always)]
fn m4_block(ref out: Array<Coordinates>, y0: Wide, y1: Wide, y2: Wide, y3: Wide) {
    let t01 = wide_add(y0, y1);
    let t23 = wide_add(y2, y3);
    let t = wide_add(t01, t23);
    out.append(unwide(wide_add(wide_add(t, t01), y1)));
    out.append(unwide(wide_add(wide_add(t, wide_add(y1, y2)), y2)));
    out.append(unwide(wide_add(wide_add(t, t23), y3)));
    out.append(unwide(wide_add(wide_add(t, wide_add(y3, y0)), y0)));
}

/// The internal layer `(J + diag(D)) s` of one partial round, `s = [first, rest...]`:
/// `first` canonical (the S-box output column), `rest` unreduced, every coordinate below
/// `B` with `2^31 <= B <= 2^111`. Returns the state: lane 0 reduced (the next S-box's input),
/// lanes 1..15 unreduced. Bounds: `D`'s entry for lane 0 is below 2^31 and those of lanes 1..15 at
/// most 2^16 (`tests::test_poseidon2` checks the generated table), so the sum of the lanes is
/// below 16 B and lanes 1..15 come out below (2^16 + 16) B < 2^16.001 B: from canonical
/// lanes, six layers stay below 2^127.01, which `narrow` takes (below 2^128), and lane 0
/// (below 16 B + 2^62) too. The caller reduces the state after the sixth, the twelfth and
/// the last layer (`reduce_state`): 45 narrows in 14 rounds. Lanes named, not looped over: a
/// loop iteration costs a gas withdrawal and re-passes its state, more than the lane's 12
/// additions and multiplications.
#[inline(never)]
fn internal_layer(first: Coordinates, rest: Span<Coordinates>) -> Span<Coordinates> {
    let mut rest = rest;
    let [x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15] = (*rest
        .multi_pop_front::<15>()
        .expect('poseidon2: width'))
        .unbox();
    let (x1, x2, x3, x4, x5) = (wide(x1), wide(x2), wide(x3), wide(x4), wide(x5));
    let (x6, x7, x8, x9, x10) = (wide(x6), wide(x7), wide(x8), wide(x9), wide(x10));
    let (x11, x12, x13, x14, x15) = (wide(x11), wide(x12), wide(x13), wide(x14), wide(x15));
    let [d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15] = INTERNAL_DIAG;
    let first = wide(first);
    let total = wide_add(
        wide_add(
            wide_add(wide_add(first, x1), wide_add(x2, x3)),
            wide_add(wide_add(x4, x5), wide_add(x6, x7)),
        ),
        wide_add(
            wide_add(wide_add(x8, x9), wide_add(x10, x11)),
            wide_add(wide_add(x12, x13), wide_add(x14, x15)),
        ),
    );
    array![
        coordinates(narrow(wide_add(total, wide_scale(first, d0)))),
        lane(total, x1, d1), lane(total, x2, d2), lane(total, x3, d3), lane(total, x4, d4),
        lane(total, x5, d5), lane(total, x6, d6), lane(total, x7, d7), lane(total, x8, d8),
        lane(total, x9, d9), lane(total, x10, d10), lane(total, x11, d11), lane(total, x12, d12),
        lane(total, x13, d13), lane(total, x14, d14), lane(total, x15, d15),
    ]
        .span()
}

/// `total + d x`, a lane of the internal layer.
#[inline(always)]
fn lane(total: Wide, x: Wide, d: u32) -> Coordinates {
    unwide(wide_add(total, wide_scale(x, d)))
}

/// The partial rounds' state reduced, every sixth round and after the last: lanes 1..15
/// (lane 0 is canonical already, `internal_layer`).
#[inline(never)]
fn reduce_state(state: Span<Coordinates>) -> Span<Coordinates> {
    let mut state = state;
    let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15] = (*state
        .multi_pop_front::<16>()
        .expect('poseidon2: width'))
        .unbox();
    array![
        x0, reduced(x1), reduced(x2), reduced(x3), reduced(x4), reduced(x5), reduced(x6),
        reduced(x7), reduced(x8), reduced(x9), reduced(x10), reduced(x11), reduced(x12),
        reduced(x13), reduced(x14), reduced(x15),
    ]
        .span()
}

#[inline(always)]
fn reduced(x: Coordinates) -> Coordinates {
    coordinates(narrow(wide(x)))
}

/// `x y` for `x` with signed coordinates of absolute value below `X = 10 P^2` (a
/// `square_signed` of a canonical value) and `y` an S-box input: `mul_coords`'s expansion
/// without offsets, exact in felt252. Every coordinate is below `X (y_a + y_b + 3 y_c +
/// 3 y_d)` in absolute value (the first two; the others less): below `9 X P = 90 P^3 < 2^100`
/// for `y` canonical but for its first coordinate (below 2P), below `281 X P < 2^104.5` for
/// `y`'s first coordinate below 36P and the others below 35P.
#[inline(always)]
fn mul_signed_by_input(x: Wide, y: Coordinates) -> Wide {
    let y = wide(y);
    let r = x.c * y.c - x.d * y.d;
    let s = x.c * y.d + x.d * y.c;
    Wide {
        a: x.a * y.a - x.b * y.b + r + r - s,
        b: x.a * y.b + x.b * y.a + r + s + s,
        c: x.a * y.c - x.b * y.d + x.c * y.a - x.d * y.b,
        d: x.a * y.d + x.b * y.c + x.c * y.b + x.d * y.a,
    }
}

/// `x^2`, with `x = a + b u`,
/// `a = x0 + x1 i`, `b = x2 + x3 i`, `x^2 = a^2 + (2 + i) b^2 + 2 a b u`, and a CM31 square
/// `(p + q i)^2 = (p + q)(p - q) + 2 p q i`: 23 operations instead of the general product's
/// 34. No offsets: the coordinates are signed integers (exact in felt252, whose prime is far
/// above them), for callers that bound their results' absolute values and add offsets of
/// their own: for `x` canonical but for its first coordinate (below 2P), in (-9 P^2, 10 P^2),
/// (-2 P^2, 10 P^2), (-2 P^2, 4 P^2) and [0, 6 P^2); for `x`'s first coordinate below 36P and
/// the others below 35P, below 9906 P^2 in absolute value.
#[inline(always)]
fn square_signed(x: Coordinates) -> Wide {
    let (x0, x1, x2, x3) = x;
    let x0_twice = x0 + x0;
    let x1_twice = x1 + x1;
    let re = (x2 + x3) * (x2 - x3);
    let im = (x2 + x2) * x3;
    Wide {
        a: (x0 + x1) * (x0 - x1) + re + re - im,
        b: x0_twice * x1 + re + im + im,
        c: x0_twice * x2 - x1_twice * x3,
        d: x0_twice * x3 + x1_twice * x2,
    }
}

/// One S-box `x^5` with its square column `sq`, `x = s + rc`, folded into `group`: returns
/// `group + (sq - x^2) power` and appends `sq^2 x` to `outputs` (written there directly, not
/// returned and copied). Signed throughout, no offsets (the callers add one multiple of P
/// above the absolute value of their whole fold before reducing). Bounds in absolute value,
/// for `s` canonical (the partial rounds, the full rounds but the first): `x`'s first
/// coordinate is below 2P (`add_constant`), `x^2`'s coordinates below 10 P^2
/// (`square_signed`), the constraint `sq - x^2` below 10 P^2 + P, its product by the power
/// below 80 P^3 + 8 P^2 (`mul_signed`), `sq^2` below 10 P^2 and `sq^2 x` below 90 P^3 < 2^100
/// (`mul_signed_by_input`; `sq^2` is not reduced first). For `s` below 35P (the first full
/// round's state, the initial layer's unreduced output): `x^2` below 9906 P^2, the product by
/// the power below 2^109.3, `sq^2 x` below 281 * 10 P^3 < 2^104.5. One call per S-box with
/// the products inlined: the 142 S-boxes' calls to them cost more than their code.
#[inline(never)]
fn sbox_fold(
    group: Wide,
    s: Coordinates,
    rc: u32,
    sq: Coordinates,
    power: Coordinates,
    ref outputs: Array<Coordinates>,
) -> Wide {
    let x = add_constant(s, rc);
    let constraint = wide_diff(wide(sq), square_signed(x));
    outputs.append(unwide(mul_signed_by_input(square_signed(sq), x)));
    wide_add(group, mul_signed(constraint, power))
}

/// The powers of the random coefficient `r` a grouped fold takes: `r^0` up to `r^15`, and
/// `r^16`, canonical. Folding k constraints one by one, `acc = acc r + c_i`, is
/// `acc r^k + sum_i c_i r^(k - 1 - i)`: with the powers at hand a run of small constraints is
/// one sum and one reduction instead of k products and k reductions. Kept ascending: a round
/// names them in reverse as it pops them, no reversed copy.
#[derive(Copy, Drop)]
struct FoldPowers {
    r16: Coordinates,
    ascending: Span<Coordinates>,
}

fn fold_powers(random_coeff: QM31) -> FoldPowers {
    let r = coordinates(random_coeff);
    let mut ascending: Array<Coordinates> = array![(1, 0, 0, 0), r];
    let mut power = r;
    while ascending.len() != 17 {
        power = coordinates(narrow(wide(mul_coords(power, r, P_SQUARED_OFFSETS))));
        ascending.append(power);
    };
    let mut ascending = ascending.span();
    let r16 = *ascending.pop_back().unwrap();
    FoldPowers { r16, ascending }
}

/// `x y` for `x` signed and `y` canonical (a power of the random coefficient):
/// `mul_coords`'s expansion without offsets, every coordinate a signed sum of at most 8
/// products: below `8 |x| P` in absolute value for `|x|` the bound of `x`'s coordinates.
#[inline(always)]
fn mul_signed(x: Wide, y: Coordinates) -> Wide {
    let (ya, yb, yc, yd) = y;
    let r = x.c * yc - x.d * yd;
    let s = x.c * yd + x.d * yc;
    Wide {
        a: x.a * ya - x.b * yb + r + r - s,
        b: x.a * yb + x.b * ya + r + s + s,
        c: x.a * yc - x.b * yd + x.c * ya - x.d * yb,
        d: x.a * yd + x.b * yc + x.c * yb + x.d * ya,
    }
}

/// `group + (next - expected) power` for a next-state constraint, signed: `next` canonical,
/// `expected` an external layer output (below 35 * 2810 P^3 < 2^109.6 in absolute value,
/// `sbox_fold`), so the constraint is below 2^109.6 and its product below 2^143.6.
#[inline(never)]
fn fold_next(group: Wide, next: Coordinates, expected: Coordinates, power: Coordinates) -> Wide {
    let constraint = wide_diff(wide(next), wide(expected));
    wide_add(group, mul_signed(constraint, power))
}

/// One full round from `state` with round constants `rc`; `columns` = the round's `sq[16]`
/// then `next[16]`. Folds its 32 constraints into `acc` as two groups with the powers of the
/// random coefficient (`FoldPowers`): `g = acc r^16 + sum_i c_i r^(15 - i)` over the S-box
/// constraints (signed, below 8 P^2 + 16 * 2^109.3 < 2^113.3 in absolute value,
/// `sbox_fold`), then `g r^16 + sum_i d_i r^(15 - i)` over the next-state ones (below
/// 8 * 2^113.3 * P + 16 * 2^143.6 < 2^148.5, `fold_next`), unreduced throughout, made
/// non-negative by `FULL_ROUND_OFFSET` and reduced once by `narrow_wide`. `state` canonical
/// or, for the first round, below 35P (the bounds above are that case's). Folding the
/// next-state constraints one by one instead took a product and a reduction each: 16
/// reductions per round where one now does.
fn full_round(
    acc: QM31,
    powers: FoldPowers,
    state: Span<Coordinates>,
    rc: Span<u32>,
    columns: Span<Coordinates>,
) -> QM31 {
    // Lanes named, not looped over: a loop iteration costs a gas withdrawal, four pops and
    // its re-passed state, about as much as the S-box itself.
    let mut state = state;
    let mut rc = rc;
    let mut columns = columns;
    let mut ascending = powers.ascending;
    let [
        s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15,
    ] = (*state.multi_pop_front::<16>().expect('poseidon2: width')).unbox();
    let [
        c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15,
    ] = (*rc.multi_pop_front::<16>().expect('poseidon2: round constants')).unbox();
    let [
        q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11, q12, q13, q14, q15,
    ] = (*columns.multi_pop_front::<16>().expect('poseidon2: round columns')).unbox();
    let [
        n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15,
    ] = (*columns.multi_pop_front::<16>().expect('poseidon2: round columns')).unbox();
    // w_i = r^(15 - i), lane i's power.
    let [w15, w14, w13, w12, w11, w10, w9, w8, w7, w6, w5, w4, w3, w2, w1, w0] = (*ascending
        .multi_pop_front::<16>()
        .expect('poseidon2: fold powers'))
        .unbox();
    let group = mul_signed(wide(coordinates(acc)), powers.r16);
    let mut outputs: Array<Coordinates> = array![];
    let group = sbox_fold(group, s0, c0, q0, w0, ref outputs);
    let group = sbox_fold(group, s1, c1, q1, w1, ref outputs);
    let group = sbox_fold(group, s2, c2, q2, w2, ref outputs);
    let group = sbox_fold(group, s3, c3, q3, w3, ref outputs);
    let group = sbox_fold(group, s4, c4, q4, w4, ref outputs);
    let group = sbox_fold(group, s5, c5, q5, w5, ref outputs);
    let group = sbox_fold(group, s6, c6, q6, w6, ref outputs);
    let group = sbox_fold(group, s7, c7, q7, w7, ref outputs);
    let group = sbox_fold(group, s8, c8, q8, w8, ref outputs);
    let group = sbox_fold(group, s9, c9, q9, w9, ref outputs);
    let group = sbox_fold(group, s10, c10, q10, w10, ref outputs);
    let group = sbox_fold(group, s11, c11, q11, w11, ref outputs);
    let group = sbox_fold(group, s12, c12, q12, w12, ref outputs);
    let group = sbox_fold(group, s13, c13, q13, w13, ref outputs);
    let group = sbox_fold(group, s14, c14, q14, w14, ref outputs);
    let group = sbox_fold(group, s15, c15, q15, w15, ref outputs);
    let mut expected = external_layer(outputs.span());
    let [
        e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15,
    ] = (*expected.multi_pop_front::<16>().expect('poseidon2: width')).unbox();
    let group = mul_signed(group, powers.r16);
    let group = fold_next(group, n0, e0, w0);
    let group = fold_next(group, n1, e1, w1);
    let group = fold_next(group, n2, e2, w2);
    let group = fold_next(group, n3, e3, w3);
    let group = fold_next(group, n4, e4, w4);
    let group = fold_next(group, n5, e5, w5);
    let group = fold_next(group, n6, e6, w6);
    let group = fold_next(group, n7, e7, w7);
    let group = fold_next(group, n8, e8, w8);
    let group = fold_next(group, n9, e9, w9);
    let group = fold_next(group, n10, e10, w10);
    let group = fold_next(group, n11, e11, w11);
    let group = fold_next(group, n12, e12, w12);
    let group = fold_next(group, n13, e13, w13);
    let group = fold_next(group, n14, e14, w14);
    let group = fold_next(group, n15, e15, w15);
    narrow_wide(wide_add_constant(group, FULL_ROUND_OFFSET))
}

/// Four full rounds from `state` (round constants `rcs`, 16 per round) on the columns from
/// `start`. Returns the accumulator and the last round's state columns.
fn full_rounds(
    acc: QM31,
    powers: FoldPowers,
    state: Span<Coordinates>,
    rcs: Span<u32>,
    main: Span<Coordinates>,
    start: u32,
) -> (QM31, Span<Coordinates>) {
    let mut acc = acc;
    let mut state = state;
    let mut r = 0;
    while r != HALF_FULL_ROUNDS {
        let columns = main.slice(start + r * FULL_ROUND_COLUMNS, FULL_ROUND_COLUMNS);
        acc = full_round(acc, powers, state, rcs.slice(r * WIDTH, WIDTH), columns);
        state = columns.slice(WIDTH, WIDTH);
        r += 1;
    };
    (acc, state)
}

/// `a + b i + c u + d iu` (stwo's `SecureField::from_partial_evals`) for canonical inputs,
/// unreduced: the products by the basis elements are permutations and small multiples of the
/// coordinates (`b i = (-b1, b0, -b3, b2)`, `c u = (2 c2 - c3, c2 + 2 c3, c0, c1)`,
/// `d iu = (-d2 - 2 d3, 2 d2 - d3, -d1, d0)`), with `5P`, `P` and `2P` above the subtracted
/// terms: every coordinate below 9P, and no products.
fn from_partial_evals(a: Coordinates, b: Coordinates, c: Coordinates, d: Coordinates) -> Wide {
    let (a0, a1, a2, a3) = a;
    let (b0, b1, b2, b3) = b;
    let (c0, c1, c2, c3) = c;
    let (d0, d1, d2, d3) = d;
    Wide {
        a: a0 - b1 + c2 + c2 - c3 - d2 - d3 - d3 + 5 * P_FELT,
        b: a1 + b0 + c2 + c3 + c3 + d2 + d2 - d3 + P_FELT,
        c: a2 - b3 + c0 - d1 + 2 * P_FELT,
        d: a3 + b2 + c1 + d0,
    }
}

/// `P * 2^40` (> 2^70 + P): above the absolute value of `combine`'s signed sum.
const COMBINE_OFFSET: felt252 = 0x7fffffff0000000000;

/// `sum_i alpha^i values_i - z` (stwo's `LookupElements::combine`) for `values = (input,
/// output)`, one reduction: the 32 products, signed (each coordinate below 8 P^2 in absolute
/// value), sum below 2^70 in absolute value; `COMBINE_OFFSET` makes the whole non-negative.
/// Input and output lanes taken in step, two products per iteration: half the loop's gas
/// withdrawals and pops, and no concatenated copy of the values.
fn combine(relation: @LookupElements, input: Span<Coordinates>, output: Span<Coordinates>) -> QM31 {
    let powers = *relation.alpha_powers;
    assert(input.len() == WIDTH && output.len() == WIDTH, 'poseidon2: width');
    assert(2 * WIDTH <= powers.len(), 'poseidon2: relation size');
    let mut low = powers.slice(0, WIDTH);
    let mut high = powers.slice(WIDTH, WIDTH);
    let mut input = input;
    let mut output = output;
    let mut sum = Wide { a: 0, b: 0, c: 0, d: 0 };
    while let Option::Some(x) = input.pop_front() {
        let y = *output.pop_front().expect('poseidon2: width');
        let alpha_x = *low.pop_front().expect('poseidon2: relation size');
        let alpha_y = *high.pop_front().expect('poseidon2: relation size');
        let product_x = mul_signed(wide(coordinates(alpha_x)), *x);
        let product_y = mul_signed(wide(coordinates(alpha_y)), y);
        sum = wide_add(sum, wide_add(product_x, product_y));
    };
    narrow(wide_add_constant(wide_diff(sum, wide(coordinates(*relation.z))), COMBINE_OFFSET))
}

/// The LogUp constraint of one fraction `multiplicity / denominator` (stwo's
/// `finalize_logup`): `(cur - prev + claimed_sum / 2^log_size) * denominator - multiplicity`,
/// with `cur`, `prev` the cumulative sum at offsets 0 and -1 (`interaction`: its 4 columns at
/// offsets -1 and 0, `[c0(-1), c0(0), c1(-1), ...]`). Unreduced.
fn logup_constraint(
    interaction: Span<Coordinates>,
    denominator: QM31,
    multiplicity: Coordinates,
    claimed_sum: QM31,
    log_size: u32,
) -> Wide {
    let prev = from_partial_evals(
        *interaction[0], *interaction[2], *interaction[4], *interaction[6],
    );
    let cur = from_partial_evals(*interaction[1], *interaction[3], *interaction[5], *interaction[7]);
    // claimed_sum / 2^log_size: the product, below 2^61 per coordinate, is reduced with the
    // rest.
    let inverse: felt252 = column_size_inverse_m31(log_size).inner.into();
    let shift = wide_scale_felt(wide(coordinates(claimed_sum)), inverse);
    let diff = narrow(wide_add(wide_sub(cur, prev, THIRTY_TWO_P_SQUARED), shift));
    wide_sub(
        wide_mul(coordinates(diff), coordinates(denominator)), wide(multiplicity), EIGHT_P_SQUARED,
    )
}

/// Partial rounds with round constants `rcs` from `state` (lane 0 canonical, lanes 1..15 at
/// most `internal_layer`'s six layers from canonical when the run ends), on the columns
/// `partial` (each round's S-box square, then its output). Returns the accumulator, the
/// state and the columns left.
fn partial_rounds(
    acc: QM31,
    r1: Coordinates,
    r2: Coordinates,
    state: Span<Coordinates>,
    rcs: Span<u32>,
    partial: Span<Coordinates>,
) -> (QM31, Span<Coordinates>, Span<Coordinates>) {
    let mut acc = acc;
    let mut state = state;
    let mut partial = partial;
    for rc in rcs {
        let lane0 = *state.pop_front().expect('poseidon2: width');
        let sq = *partial.pop_front().expect('poseidon2: partial columns');
        let p = *partial.pop_front().expect('poseidon2: partial columns');
        // The round's two constraints as one group: `acc r^2 + (sq - x^2) r + (p - y)`, signed
        // and below 8 P^2 + 80 P^3 + (P + 90 P^3) < 2^100.5 in absolute value (`sbox_fold`):
        // `PARTIAL_ROUND_OFFSET` makes it non-negative and below 2^103.
        let mut outputs: Array<Coordinates> = array![];
        let group = mul_signed(wide(coordinates(acc)), r2);
        let group = sbox_fold(group, lane0, *rc, sq, r1, ref outputs);
        let y = wide(outputs.pop_front().expect('poseidon2: S-box output'));
        let group = wide_add(group, wide_diff(wide(p), y));
        acc = narrow(wide_add_constant(group, PARTIAL_ROUND_OFFSET));
        state = internal_layer(p, state);
    };
    (acc, state, partial)
}

/// Folds the 285 constraints of one Poseidon2 component into `acc` (undivided:
/// `acc = acc * random_coeff + constraint`). `main`: its 301 main-column values; `interaction`:
/// its cumulative sum's 4 columns at offsets -1 and 0 (`[c0(-1), c0(0), c1(-1), ...]`).
pub fn accumulate_poseidon2(
    acc: QM31,
    random_coeff: QM31,
    main: Span<Coordinates>,
    interaction: Span<Coordinates>,
    relation: @LookupElements,
    claimed_sum: QM31,
    log_size: u32,
) -> QM31 {
    assert(main.len() == N_COLUMNS, 'poseidon2: main mask size');
    assert(interaction.len() == N_INTERACTION_VALUES, 'poseidon2: interaction size');
    let input = main.slice(INPUT_START, WIDTH);
    // Left unreduced (below 35P): the first full round takes it (`sbox_fold`'s bounds).
    let state = external_layer(input);
    let powers = fold_powers(random_coeff);
    // r and r^2 for the partial rounds' pairs.
    let r1 = coordinates(random_coeff);
    let r2 = *powers.ascending[2];
    let (acc, state) = full_rounds(
        acc, powers, state, EXTERNAL_INITIAL_RC.span(), main, INITIAL_START,
    );

    // Each partial round's two columns, the S-box's square then its output, popped in turn.
    // Lane 0 is reduced every round; lanes 1..15 every sixth round and after the last
    // (`internal_layer`'s bounds).
    assert(PARTIAL_ROUND_COLUMNS == 2, 'poseidon2: layout');
    let partial = main.slice(PARTIAL_START, PARTIAL_ROUNDS * PARTIAL_ROUND_COLUMNS);
    // The state reduced after rounds 6, 12 and 14 (`internal_layer`'s bounds): three runs of
    // one loop rather than a branch in it (an arm calling `reduce_state` would pad the other
    // with hundreds of memory holes per round).
    assert(PARTIAL_ROUNDS == 14, 'poseidon2: partial rounds');
    let rcs = INTERNAL_RC.span();
    let (acc, state, partial) = partial_rounds(acc, r1, r2, state, rcs.slice(0, 6), partial);
    let (acc, state, partial) = partial_rounds(
        acc, r1, r2, reduce_state(state), rcs.slice(6, 6), partial,
    );
    let (acc, state, _) = partial_rounds(
        acc, r1, r2, reduce_state(state), rcs.slice(12, 2), partial,
    );
    let state = reduce_state(state);

    let (acc, output) = full_rounds(
        acc, powers, state, EXTERNAL_FINAL_RC.span(), main, FINAL_START,
    );
    // The last round's state columns are the output columns.
    assert(
        OUTPUT_START == FINAL_START + (HALF_FULL_ROUNDS - 1) * FULL_ROUND_COLUMNS + WIDTH,
        'poseidon2: layout',
    );

    // LogUp: one fraction `multiplicity / combine(input, output)`.
    let denominator = combine(relation, input, output);
    let multiplicity = *main[MULTIPLICITY_COLUMN];
    fold(
        acc,
        random_coeff,
        logup_constraint(interaction, denominator, multiplicity, claimed_sum, log_size),
    )
}
