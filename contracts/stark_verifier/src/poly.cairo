//! Evaluation domains of stwo: `CanonicCoset`, `CircleDomain`, `LineDomain`, and the
//! bit-reversal of indices used by every committed evaluation.

use crate::circle::{CirclePoint, CirclePointIndex, Coset, CosetTrait};
use crate::fields::{M31, QM31};

/// stwo's `bit_reverse_index`: the low `log_size` bits of `i`, reversed. Four bits per step
/// (a nibble-reversal table), then the remaining bits one by one; the result is built as a
/// felt252 (no overflow checks) below 2^log_size.
pub fn bit_reverse_index(i: u32, log_size: u32) -> u32 {
    let mut rest = i;
    let mut result: felt252 = 0;
    let mut bits = log_size;
    while bits >= 4 {
        let (next, nibble) = core::integer::u32_safe_divmod(rest, 16);
        result = result * 16 + reverse_nibble(nibble);
        rest = next;
        bits -= 4;
    };
    while bits != 0 {
        let (next, low) = core::integer::u32_safe_divmod(rest, 2);
        result = result * 2 + low.into();
        rest = next;
        bits -= 1;
    };
    result.try_into().unwrap()
}

/// The 4-bit reversal of `nibble` (< 16).
fn reverse_nibble(nibble: u32) -> felt252 {
    match nibble {
        0 => 0,
        1 => 8,
        2 => 4,
        3 => 12,
        4 => 2,
        5 => 10,
        6 => 6,
        7 => 14,
        8 => 1,
        9 => 9,
        10 => 5,
        11 => 13,
        12 => 3,
        13 => 11,
        14 => 7,
        _ => 15,
    }
}

/// A circle domain: `half_coset` followed by its conjugate.
#[derive(Copy, Drop, Debug, PartialEq)]
pub struct CircleDomain {
    pub half_coset: Coset,
}

#[generate_trait]
pub impl CircleDomainImpl of CircleDomainTrait {
    #[inline]
    fn new(half_coset: Coset) -> CircleDomain {
        CircleDomain { half_coset }
    }

    #[inline]
    fn log_size(self: @CircleDomain) -> u32 {
        *self.half_coset.log_size + 1
    }

    fn index_at(self: @CircleDomain, i: u32) -> CirclePointIndex {
        let half_size = self.half_coset.size();
        if i < half_size {
            self.half_coset.index_at(i)
        } else {
            -self.half_coset.index_at(i - half_size)
        }
    }

    fn at(self: @CircleDomain, i: u32) -> CirclePoint<M31> {
        let half_size = self.half_coset.size();
        if i < half_size {
            self.half_coset.at(i)
        } else {
            // -index is the conjugate point.
            let p = self.half_coset.at(i - half_size);
            CirclePoint { x: p.x, y: -p.y }
        }
    }
}

/// stwo's `CanonicCoset::new(log_size).circle_domain()`: G_{2n} + <G_{n/2}> and conjugate.
pub fn canonic_circle_domain(log_size: u32) -> CircleDomain {
    assert(log_size > 0, 'poly: canonic log size 0');
    CircleDomain { half_coset: CosetTrait::half_odds(log_size - 1) }
}

/// A domain of x-coordinates of a coset (stwo's `LineDomain`).
#[derive(Copy, Drop, Debug, PartialEq)]
pub struct LineDomain {
    pub coset: Coset,
}

#[generate_trait]
pub impl LineDomainImpl of LineDomainTrait {
    /// Wraps a coset whose x-coordinates are distinct (stwo asserts the same conditions).
    fn new(coset: Coset) -> LineDomain {
        let size = coset.size();
        if size == 2 {
            assert(coset.initial.x.inner != 0, 'poly: line x not unique');
        } else if size > 2 {
            assert(
                log_order(coset.initial_index) >= log_order(coset.step_size) + 2,
                'poly: line x not unique',
            );
        }
        LineDomain { coset }
    }

    #[inline]
    fn at(self: @LineDomain, i: u32) -> M31 {
        self.coset.at(i).x
    }

    #[inline]
    fn log_size(self: @LineDomain) -> u32 {
        *self.coset.log_size
    }

    fn double(self: LineDomain) -> LineDomain {
        LineDomain { coset: self.coset.double() }
    }

    fn repeated_double(self: LineDomain, n_doubles: u32) -> LineDomain {
        LineDomain { coset: self.coset.repeated_double(n_doubles) }
    }
}

/// log2 of the order of the point `index * G`: 31 minus the number of trailing zero bits.
fn log_order(index: CirclePointIndex) -> u32 {
    if index.value == 0 {
        return 0;
    }
    let mut rest = index.value;
    let mut zeros = 0;
    loop {
        let (next, low) = core::integer::u32_safe_divmod(rest, 2);
        if low != 0 {
            break;
        }
        rest = next;
        zeros += 1;
    };
    crate::circle::M31_CIRCLE_LOG_ORDER - zeros
}

/// stwo's `poly::utils::fold`: values[0..n/2] folded + factor[0] * values[n/2..n] folded, with
/// the remaining factors, recursively (n = 2^factors.len()).
pub fn fold_values(values: Span<QM31>, factors: Span<QM31>) -> QM31 {
    let n = values.len();
    if n == 1 {
        return *values[0];
    }
    let half = n / 2;
    let mut rest_factors = factors;
    let factor = *rest_factors.pop_front().unwrap();
    let lhs = fold_values(values.slice(0, half), rest_factors);
    let rhs = fold_values(values.slice(half, half), rest_factors);
    lhs + rhs * factor
}

/// stwo's `LinePoly::eval_at_point`: coefficients (bit-reversed FFT basis, 2^k of them)
/// evaluated at x with the factors x, pi(x), pi^2(x), ... where pi(x) = 2x^2 - 1.
pub fn line_poly_eval_at_point(coeffs: Span<QM31>, x: QM31) -> QM31 {
    let mut factors: Array<QM31> = array![];
    let mut size = coeffs.len();
    let mut current = x;
    let one: QM31 = core::num::traits::One::one();
    while size > 1 {
        factors.append(current);
        let square = current * current;
        current = square + square - one;
        size = size / 2;
    };
    fold_values(coeffs, factors.span())
}

/// Most coefficients `line_poly_matches_at_m31` folds without a reduction: 2^6 (see there).
pub const LOG_MAX_LAZY_COEFFS: u32 = 6;
/// 2^LOG_MAX_LAZY_COEFFS.
pub const MAX_LAZY_COEFFS: u32 = 64;

/// The four coordinates of each QM31, in order, as felt252s (once per polynomial: the lazy
/// evaluation below reads them for every query).
pub fn qm31_coordinate_felts(values: Span<QM31>) -> Span<felt252> {
    let mut out: Array<felt252> = array![];
    for value in values {
        let value = *value;
        out.append(value.a.a.inner.into());
        out.append(value.a.b.inner.into());
        out.append(value.b.a.inner.into());
        out.append(value.b.b.inner.into());
    };
    out.span()
}

/// Whether the line polynomial whose coefficients' coordinates are `coords`
/// (`qm31_coordinate_felts`; 2^k coefficients, k <= LOG_MAX_LAZY_COEFFS) equals `expected` at
/// x: stwo's `LinePoly::eval_at_point` at an M31 point, folded bottom up on exact non-negative integers, one reduction
/// per coordinate at the end instead of one per fold.
///
/// The fold pairs neighbours first: index i's bit j (from the bottom) selects the factor
/// pi^(k-1-j)(x), so the first pass pairs (2m, 2m + 1) with the last factor and the last pass
/// the two halves with x itself, as `fold_values` does top down. Every value stays a
/// non-negative integer: a coordinate starts below 2^31 and a fold a + f b with f < 2^31 keeps
/// it below 2^32 times its bound, so after k <= 6 folds every value is below 2^(31 + 32 * 6)
/// = 2^223, under the felt252 modulus: the felt252 sums are the integers themselves, reduced
/// mod P once.
pub fn line_poly_matches_at_m31(coords: Span<felt252>, x: M31, expected: QM31) -> bool {
    // Factors x, pi(x), pi^2(x), ... (canonical), one per halving of the coefficients.
    let mut factors: Array<felt252> = array![];
    let mut size = coords.len() / 4;
    let mut current = x;
    while size > 1 {
        factors.append(current.inner.into());
        let square = current * current;
        current = square + square - M31 { inner: 1 };
        size = size / 2;
    };
    let mut level = coords;
    let mut factors = factors.span();
    // Three folds per pass while three factors are left (eight coefficients to one: a loop
    // iteration costs far more than the 28 products it holds), then one per pass.
    while factors.len() >= 3 {
        let fc = *factors.pop_back().unwrap();
        let fb = *factors.pop_back().unwrap();
        let fa = *factors.pop_back().unwrap();
        let mut next: Array<felt252> = array![];
        while let Option::Some(octet) = level.multi_pop_front::<32>() {
            let [
                a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,
                e0, e1, e2, e3, g0, g1, g2, g3, h0, h1, h2, h3, k0, k1, k2, k3,
            ] = (*octet).unbox();
            next.append(fold_eight(a0, b0, c0, d0, e0, g0, h0, k0, fa, fb, fc));
            next.append(fold_eight(a1, b1, c1, d1, e1, g1, h1, k1, fa, fb, fc));
            next.append(fold_eight(a2, b2, c2, d2, e2, g2, h2, k2, fa, fb, fc));
            next.append(fold_eight(a3, b3, c3, d3, e3, g3, h3, k3, fa, fb, fc));
        };
        level = next.span();
    };
    while let Option::Some(factor) = factors.pop_back() {
        let f = *factor;
        let mut next: Array<felt252> = array![];
        while let Option::Some(pair) = level.multi_pop_front::<8>() {
            let [a0, a1, a2, a3, b0, b1, b2, b3] = (*pair).unbox();
            next.append(a0 + f * b0);
            next.append(a1 + f * b1);
            next.append(a2 + f * b2);
            next.append(a3 + f * b3);
        };
        level = next.span();
    };
    let [v0, v1, v2, v3] = (*level.multi_pop_front::<4>().unwrap()).unbox();
    equals_mod_p(v0, expected.a.a) && equals_mod_p(v1, expected.a.b)
        && equals_mod_p(v2, expected.b.a) && equals_mod_p(v3, expected.b.b)
}

/// One coordinate of eight neighbouring coefficients folded three times: pairs by `fc`, then
/// pairs of those by `fb`, then the two halves by `fa`.
#[inline(always)]
fn fold_eight(
    a: felt252,
    b: felt252,
    c: felt252,
    d: felt252,
    e: felt252,
    g: felt252,
    h: felt252,
    k: felt252,
    fa: felt252,
    fb: felt252,
    fc: felt252,
) -> felt252 {
    let low = a + fc * b + fb * (c + fc * d);
    let high = e + fc * g + fb * (h + fc * k);
    low + fa * high
}

/// 1 / P in felt252: a multiple of P times it is its quotient by P (an exact division).
const INV_P: felt252 = 0x3c17561c782eacb8a1f454f143e8a9e287d153c50fa2a78a1f454f143e8a9e3;
/// P as a felt252.
const P_FELT: felt252 = 0x7fffffff;
/// 2^65: a u256's high half below it is a value below 2^193.
const TWO_POW_65: u128 = 0x20000000000000000;

/// Whether a non-negative integer below 2^223 (as a felt252; `line_poly_matches_at_m31`'s
/// folds) is congruent to `expected` mod P, by one exact division in felt252 instead of a u256
/// remainder (~70 steps a call, four per query): d = value + P - expected is an integer in
/// [1, 2^223 + 2^31), and d / P in felt252 is below 2^193 iff d is a multiple of P. If it is,
/// the quotient is d / P < 2^193 itself; if d / P in felt252 is some k < 2^193, then d and P k
/// are both below 2^224, under the felt252 modulus, and equal mod it, so d = P k. So a true
/// result needs only d below the modulus; the 2^223 bound is what keeps a congruent value from
/// being refused (`check_last_layer` refuses more than 2^6 coefficients before folding).
#[inline(never)]
pub(crate) fn equals_mod_p(value: felt252, expected: M31) -> bool {
    let expected: felt252 = expected.inner.into();
    let quotient: u256 = ((value + P_FELT - expected) * INV_P).into();
    quotient.high < TWO_POW_65
}

