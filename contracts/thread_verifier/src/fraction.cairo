//! Sums of LogUp fractions on felt252 coordinates, for every program's statement boundary:
//! a tuple's denominator `d(t) = sum_i alpha^i t_i - z` as four unreduced felt252 coordinates
//! (`weights`, `dot`, `mul_add`, `mul_add_limbs16`: no reduction per product), and
//! `sum_of_differences`, the sum of `1/a - 1/b` over pairs with a single QM31 inversion and a
//! reduction every second pair. Integer arithmetic throughout, reduced mod P where a bound says
//! so, so the result is the field value bit for bit (bounds at each function).

use stark_verifier::fields::bounded::u128_mod_p_felt;
use stark_verifier::fields::{M31, M31Trait, P, QM31, QM31Trait};
use crate::lookup::LookupElements;

/// A QM31 as its four M31 coordinates widened to felts.
pub type Coordinates = (felt252, felt252, felt252, felt252);

pub fn coordinates(x: QM31) -> Coordinates {
    let [c0, c1, c2, c3] = x.to_m31_array();
    (c0.inner.into(), c1.inner.into(), c2.inner.into(), c3.inner.into())
}

/// `start + sum_i weights[i] v_i`, coordinates unreduced: each product is below 2^62, so a
/// start below 2^32 plus up to 2^5 products stays below 2^68, far from the field's size.
pub fn dot(mut values: Span<M31>, mut weights: Span<Coordinates>, start: Coordinates) -> Coordinates {
    let (mut s0, mut s1, mut s2, mut s3) = start;
    while let Option::Some(value) = values.pop_front() {
        let v: felt252 = (*value).inner.into();
        let (w0, w1, w2, w3) = *weights.pop_front().unwrap();
        s0 += w0 * v;
        s1 += w1 * v;
        s2 += w2 * v;
        s3 += w3 * v;
    };
    (s0, s1, s2, s3)
}

fn reduce(s: Coordinates) -> QM31 {
    let (s0, s1, s2, s3) = s;
    QM31Trait::from_m31s(
        M31Trait::reduce_felt(s0),
        M31Trait::reduce_felt(s1),
        M31Trait::reduce_felt(s2),
        M31Trait::reduce_felt(s3),
    )
}

/// `sum_i alpha^i v_i - z` with `-z` as the non-negative `minus_z`, reduced once per
/// coordinate.
pub fn combine(values: Span<M31>, weights: Span<Coordinates>, minus_z: Coordinates) -> QM31 {
    reduce(dot(values, weights, minus_z))
}

/// `alpha^0..n` of `elements` as coordinates, and `-z` as the non-negative `minus_z`.
pub fn weights(elements: @LookupElements, n: u32) -> (Span<Coordinates>, Coordinates) {
    let powers = *elements.alpha_powers;
    assert(n <= powers.len(), 'lookup: too many values');
    let mut weights: Array<Coordinates> = array![];
    let mut k = 0;
    while k != n {
        weights.append(coordinates(*powers[k]));
        k += 1;
    };
    let (z0, z1, z2, z3) = coordinates(*elements.z);
    let p: felt252 = P.into();
    (weights.span(), (p - z0, p - z1, p - z2, p - z3))
}

/// Inverses in the Starknet field of the shifts `split` uses: `low * inverse` undoes the
/// shift exactly, the shifted low part being a multiple of it.
const TWO_POW_64: felt252 = 0x10000000000000000;
const INV_TWO_POW_64: felt252 = 0x800000000000010f7ffffffffffffef00000000000000000000000000000001;
const TWO_POW_96: felt252 = 0x1000000000000000000000000;
const INV_TWO_POW_96: felt252 = 0x800000000000010fffffffff7ffffffffffffef000000000000000000000001;
const TWO_POW_112: felt252 = 0x10000000000000000000000000000;
const INV_TWO_POW_112: felt252 =
    0x800000000000010fffffffffffff7ffffffffffffef00000000000000000001;
/// Multiples of P bounding one coordinate product in `mul_coords` (which adds up to 5 of them
/// to keep every coordinate non-negative, so a result is below 8 times its bound):
/// `BOUND_SLOTS = P * 2^103 > 2^134` for two denominators (below 2^67),
/// `BOUND_SMALL = P * 2^34 > 2^64` for two factors below 2^32,
/// `BOUND_MIXED = P * 2^70 > 2^100` for factors below 2^32 and 2^68,
/// `BOUND_WIDE = P * 2^107 > 2^137` for factors below 2^105 and 2^32, or both below 2^68.
const BOUND_SLOTS: felt252 = 0x3fffffff80000000000000000000000000;
const BOUND_SMALL: felt252 = 0x1fffffffc00000000;
const BOUND_MIXED: felt252 = 0x1fffffffc00000000000000000;
const BOUND_WIDE: felt252 = 0x3fffffff800000000000000000000000000;
/// `P * 2^36`: above every denominator coordinate, so `b - a + P * 2^36` stays positive.
const P_TIMES_2_POW_36: felt252 = 0x7fffffff000000000;

/// `(y >> k, y mod 2^k)` for `y < 2^(2k)`, `shift = 2^(128 - k)`: one felt -> u256 split,
/// 1 range check when the high part is zero and 3 otherwise, where a u128 divmod costs 4 and
/// a downcast one more.
#[inline(always)]
fn split(y: felt252, shift: felt252, inv_shift: felt252) -> (felt252, felt252) {
    let wide: u256 = (y * shift).into();
    (wide.high.into(), wide.low.into() * inv_shift)
}

/// `split` at `k`, free for zero (a balance is mostly high zero limbs).
#[inline(always)]
fn split_nonzero(y: felt252, shift: felt252, inv_shift: felt252) -> (felt252, felt252) {
    if y == 0 {
        (0, 0)
    } else {
        split(y, shift, inv_shift)
    }
}

/// A felt congruent to `x` mod P, for an integer `0 <= x < 2^251`: `low mod P + 16 high`
/// (`2^128 = 2^4 mod P`), below `P + 2^(k - 124)` for `x < 2^k`. 4 range checks for `x` below
/// 2^128, 6 above.
#[inline(always)]
fn reduce_wide(x: felt252) -> felt252 {
    let wide: u256 = x.into();
    u128_mod_p_felt(wide.low) + wide.high.into() * 16
}

fn reduce_all(x: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    (reduce_wide(x0), reduce_wide(x1), reduce_wide(x2), reduce_wide(x3))
}

/// The QM31 product of `x` and `y` on integer coordinates, unreduced: the `mul_unreduced`
/// expansion with `bound` (a multiple of P above every coordinate product) added where
/// products are subtracted, so each coordinate is a non-negative integer below `8 * bound`.
#[inline(always)]
fn mul_coords(x: Coordinates, y: Coordinates, bound: felt252) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    let (y0, y1, y2, y3) = y;
    let r = x2 * y2 - x3 * y3;
    let s = x2 * y3 + x3 * y2;
    (
        x0 * y0 - x1 * y1 + 2 * r - s + 5 * bound,
        x0 * y1 + x1 * y0 + r + 2 * s + bound,
        x0 * y2 - x1 * y3 + x2 * y0 - x3 * y1 + 2 * bound,
        x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0,
    )
}

#[inline(always)]
fn add_coords(x: Coordinates, y: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    let (y0, y1, y2, y3) = y;
    (x0 + y0, x1 + y1, x2 + y2, x3 + y3)
}

/// `acc + w * v` on coordinates.
#[inline(always)]
pub fn mul_add(acc: Coordinates, ref weights: Span<Coordinates>, v: felt252) -> Coordinates {
    let (s0, s1, s2, s3) = acc;
    let (w0, w1, w2, w3) = *weights.pop_front().unwrap();
    (s0 + w0 * v, s1 + w1 * v, s2 + w2 * v, s3 + w3 * v)
}


/// `acc + sum_k w_k l_k` over the 8 little-endian 16-bit limbs `l_k` of `value` (the AIR's
/// limbs of a u128): halves, quarters, then limbs.
#[inline(always)]
pub fn mul_add_limbs16(acc: Coordinates, ref weights: Span<Coordinates>, value: u128) -> Coordinates {
    let (h64, l64) = split(value.into(), TWO_POW_64, INV_TWO_POW_64);
    let (q3, q2) = split_nonzero(h64, TWO_POW_96, INV_TWO_POW_96);
    let (q1, q0) = split_nonzero(l64, TWO_POW_96, INV_TWO_POW_96);
    let (l1, l0) = split_nonzero(q0, TWO_POW_112, INV_TWO_POW_112);
    let (l3, l2) = split_nonzero(q1, TWO_POW_112, INV_TWO_POW_112);
    let (l5, l4) = split_nonzero(q2, TWO_POW_112, INV_TWO_POW_112);
    let (l7, l6) = split_nonzero(q3, TWO_POW_112, INV_TWO_POW_112);
    let acc = mul_add(acc, ref weights, l0);
    let acc = mul_add(acc, ref weights, l1);
    let acc = mul_add(acc, ref weights, l2);
    let acc = mul_add(acc, ref weights, l3);
    let acc = mul_add(acc, ref weights, l4);
    let acc = mul_add(acc, ref weights, l5);
    let acc = mul_add(acc, ref weights, l6);
    mul_add(acc, ref weights, l7)
}

/// `sum over pairs (a, b) of 1/a - 1/b`, kept as one fraction `N / D`: one inversion. Each
/// pair adds `(b - a) / (a b)`; the final denominator is zero exactly when one `a` or `b` is
/// (QM31 is a field), then Err. `a b` is reduced to coordinates below 2^32; `N` and `D` are
/// reduced after every second pair (the bounds are at `add_pair`).
pub fn sum_of_differences(pairs: Span<(Coordinates, Coordinates)>) -> Result<QM31, felt252> {
    let mut numerator: Coordinates = (0, 0, 0, 0);
    let mut denominator: Coordinates = (1, 0, 0, 0);
    let mut pairs = pairs;
    while let Option::Some(first) = pairs.pop_front() {
        // N, D below 2^32 here: after this pair N < 2^105, D < 2^68.
        let (n, d) = add_pair(
            numerator, denominator, *first, BOUND_SMALL, BOUND_MIXED, BOUND_SMALL,
        );
        numerator = n;
        denominator = d;
        if let Option::Some(second) = pairs.pop_front() {
            // N < 2^142, D < 2^104 after it: reduced to below 2^32.
            let (n, d) = add_pair(
                numerator, denominator, *second, BOUND_WIDE, BOUND_WIDE, BOUND_MIXED,
            );
            numerator = reduce_all(n);
            denominator = reduce_all(d);
        }
    };
    let denominator = to_qm31(reduce_fully(denominator));
    if denominator == QM31Trait::from_u32_unchecked(0, 0, 0, 0) {
        return Result::Err('statement: zero denominator');
    }
    Result::Ok(to_qm31(reduce_fully(numerator)) * denominator.inverse())
}

/// `N / D + (b - a) / (a b)` as `(N a b + D (b - a), D a b)`, unreduced. `a`, `b` below 2^67
/// (`state_denominator`, or reduced); `a b` reduced to below `P + 2^13 < 2^32` (from below
/// 2^137), `b - a + P 2^36` below 2^68. The bounds are above a coordinate product of `N` and
/// `a b`, of `D` and `b - a`, of `D` and `a b`: for `N, D < 2^32` (`SMALL`, `MIXED`, `SMALL`)
/// the result is below `(2^68 + 2^104, 2^68)`; for `N < 2^105, D < 2^68` (`WIDE`, `WIDE`,
/// `MIXED`) below `(2^142, 2^104)`.
#[inline(always)]
fn add_pair(
    numerator: Coordinates,
    denominator: Coordinates,
    pair: (Coordinates, Coordinates),
    n_product_bound: felt252,
    d_difference_bound: felt252,
    d_product_bound: felt252,
) -> (Coordinates, Coordinates) {
    let (a, b) = pair;
    let product = reduce_all(mul_coords(a, b, BOUND_SLOTS));
    let (a0, a1, a2, a3) = a;
    let (b0, b1, b2, b3) = b;
    let difference = (
        b0 - a0 + P_TIMES_2_POW_36,
        b1 - a1 + P_TIMES_2_POW_36,
        b2 - a2 + P_TIMES_2_POW_36,
        b3 - a3 + P_TIMES_2_POW_36,
    );
    (
        add_coords(
            mul_coords(numerator, product, n_product_bound),
            mul_coords(denominator, difference, d_difference_bound),
        ),
        mul_coords(denominator, product, d_product_bound),
    )
}

/// Reduced coordinates (each below P) of coordinates below 2^142.
fn reduce_fully(x: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = reduce_all(x);
    (
        u128_mod_p_felt(x0.try_into().unwrap()),
        u128_mod_p_felt(x1.try_into().unwrap()),
        u128_mod_p_felt(x2.try_into().unwrap()),
        u128_mod_p_felt(x3.try_into().unwrap()),
    )
}

/// Reduced coordinates (each below P) as a QM31.
fn to_qm31(x: Coordinates) -> QM31 {
    let (x0, x1, x2, x3) = x;
    QM31Trait::from_u32_unchecked(
        x0.try_into().unwrap(), x1.try_into().unwrap(), x2.try_into().unwrap(), x3.try_into().unwrap(),
    )
}
