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

/// `line_poly_eval_at_point` at a point of M31 (FRI's last layer domain): the same value, the
/// factors x, pi(x), ... computed in M31 and each fold multiplying by an M31 (a quarter of a
/// QM31 product).
pub fn line_poly_eval_at_m31(coeffs: Span<QM31>, x: M31) -> QM31 {
    let mut factors: Array<M31> = array![];
    let mut size = coeffs.len();
    let mut current = x;
    while size > 1 {
        factors.append(current);
        let square = current * current;
        current = square + square - M31 { inner: 1 };
        size = size / 2;
    };
    fold_values_m31(coeffs, factors.span())
}

/// `fold_values` with M31 factors.
fn fold_values_m31(values: Span<QM31>, factors: Span<M31>) -> QM31 {
    let n = values.len();
    if n == 1 {
        return *values[0];
    }
    let half = n / 2;
    let mut rest_factors = factors;
    let factor = *rest_factors.pop_front().unwrap();
    let lhs = fold_values_m31(values.slice(0, half), rest_factors);
    let rhs = fold_values_m31(values.slice(half, half), rest_factors);
    crate::fields::qm31::mul_m31_add(lhs, rhs, factor)
}
