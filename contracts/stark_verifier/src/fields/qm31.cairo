//! The secure field QM31 = CM31[u] / (u^2 - (2 + i)), stwo's `SecureField`.

use super::m31::{M31, M31Trait};
use super::cm31::{CM31, CM31Trait};

/// `a + b u`; as an M31 array (stwo's `to_m31_array`): [a.a, a.b, b.a, b.b].
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct QM31 {
    pub a: CM31,
    pub b: CM31,
}

#[generate_trait]
pub impl QM31Impl of QM31Trait {
    #[inline]
    fn from_u32_unchecked(a: u32, b: u32, c: u32, d: u32) -> QM31 {
        QM31 { a: CM31Trait::from_u32_unchecked(a, b), b: CM31Trait::from_u32_unchecked(c, d) }
    }

    #[inline]
    fn from_m31_array(values: [M31; 4]) -> QM31 {
        let [a, b, c, d] = values;
        QM31 { a: CM31 { a, b }, b: CM31 { a: c, b: d } }
    }

    #[inline]
    fn from_m31s(a: M31, b: M31, c: M31, d: M31) -> QM31 {
        QM31 { a: CM31 { a, b }, b: CM31 { a: c, b: d } }
    }

    #[inline]
    fn to_m31_array(self: QM31) -> [M31; 4] {
        [self.a.a, self.a.b, self.b.a, self.b.b]
    }

    #[inline]
    fn from_m31(value: M31) -> QM31 {
        let zero = M31 { inner: 0 };
        QM31 { a: CM31 { a: value, b: zero }, b: CM31 { a: zero, b: zero } }
    }

    #[inline]
    fn mul_m31(self: QM31, rhs: M31) -> QM31 {
        QM31 { a: self.a.mul_m31(rhs), b: self.b.mul_m31(rhs) }
    }

    #[inline]
    fn mul_cm31(self: QM31, rhs: CM31) -> QM31 {
        QM31 { a: self.a * rhs, b: self.b * rhs }
    }

    #[inline]
    fn double(self: QM31) -> QM31 {
        self + self
    }

    #[inline]
    fn square(self: QM31) -> QM31 {
        self * self
    }

    /// `(a - b u) / (a^2 - (2 + i) b^2)`; panics on zero as stwo does. The denominator is
    /// `(a + b u)(a - b u)`, a CM31 value: two QM31 products (calls) and one CM31 inverse,
    /// the smallest code for a rare operation.
    fn inverse(self: QM31) -> QM31 {
        assert(!is_zero_qm31(self), 'QM31: zero has no inverse');
        let conj = QM31 { a: self.a, b: -self.b };
        let denom_inverse = (self * conj).a.inverse();
        conj * QM31 { a: denom_inverse, b: CM31 { a: M31 { inner: 0 }, b: M31 { inner: 0 } } }
    }
}

impl QM31Add of Add<QM31> {
    #[inline]
    fn add(lhs: QM31, rhs: QM31) -> QM31 {
        QM31 { a: lhs.a + rhs.a, b: lhs.b + rhs.b }
    }
}

impl QM31Sub of Sub<QM31> {
    #[inline]
    fn sub(lhs: QM31, rhs: QM31) -> QM31 {
        QM31 { a: lhs.a - rhs.a, b: lhs.b - rhs.b }
    }
}

impl QM31Neg of Neg<QM31> {
    #[inline]
    fn neg(a: QM31) -> QM31 {
        QM31 { a: -a.a, b: -a.b }
    }
}

impl QM31Mul of Mul<QM31> {
    fn mul(lhs: QM31, rhs: QM31) -> QM31 {
        let (z0, z1, z2, z3) = mul_unreduced(lhs, rhs);
        QM31 {
            a: CM31 { a: M31Trait::reduce_felt(z0), b: M31Trait::reduce_felt(z1) },
            b: CM31 { a: M31Trait::reduce_felt(z2), b: M31Trait::reduce_felt(z3) },
        }
    }
}

/// A QM31 as its four M31 coordinates in felt252 integers, in `to_m31_array` order
/// ([a.a, a.b, b.a, b.b]). Canonical (each below P) where a type says so — sampled values keep
/// this form from the proof reader to the DEEP quotients, since they are only mixed, multiplied
/// and summed as integers there and a `u32` costs a range check per coordinate — otherwise
/// any integers congruent to the coordinates (unreduced products and sums).
pub type Coordinates = (felt252, felt252, felt252, felt252);

/// `value`'s coordinates (no check, no step: a `u32` is a felt252).
#[inline(always)]
pub fn coordinates(value: QM31) -> Coordinates {
    (value.a.a.inner.into(), value.a.b.inner.into(), value.b.a.inner.into(), value.b.b.inner.into())
}

/// The QM31 of canonical coordinates (each below P, e.g. a proof value the reader has
/// checked); panics on a coordinate of 2^32 or more (a range check per coordinate).
#[inline(never)]
pub fn from_coordinates(x: Coordinates) -> QM31 {
    let (a, b, c, d) = x;
    QM31Trait::from_u32_unchecked(
        a.try_into().unwrap(), b.try_into().unwrap(), c.try_into().unwrap(), d.try_into().unwrap(),
    )
}

/// The QM31 product on integer coordinates, unreduced: (a + b u)(c + d u) = (a c + (2 + i) b d)
/// + (a d + b c) u expanded over the M31 coordinates, with `offsets` added to the first three
/// coordinates, where products are subtracted. The one copy of the formula: with offsets
/// multiples of P above the subtracted products (5, 1 and 2 of them; `offsets_of`), each
/// coordinate of non-negative inputs is a non-negative integer congruent to the product's;
/// with zeros, the exact signed expansion. Offsets are a parameter, not a multiple of one
/// bound computed here: a caller's constants cost no step.
#[inline(always)]
pub fn mul_coords(
    x: Coordinates, y: Coordinates, offsets: (felt252, felt252, felt252),
) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    let (y0, y1, y2, y3) = y;
    let (o0, o1, o2) = offsets;
    // b d = r + s i.
    let r = x2 * y2 - x3 * y3;
    let s = x2 * y3 + x3 * y2;
    (
        x0 * y0 - x1 * y1 + r + r - s + o0,
        x0 * y1 + x1 * y0 + r + s + s + o1,
        x0 * y2 - x1 * y3 + x2 * y0 - x3 * y1 + o2,
        x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0,
    )
}

/// `mul_coords`' offsets for `bound`, a multiple of P above every coordinate product: the
/// coordinates of non-negative inputs are then non-negative and below 8 times the largest
/// product plus `8 * bound`.
#[inline(always)]
pub fn offsets_of(bound: felt252) -> (felt252, felt252, felt252) {
    (5 * bound, bound, 2 * bound)
}

/// `offsets_of(P^2)`, for canonical inputs.
pub const P_SQUARED_OFFSETS: (felt252, felt252, felt252) = (
    0x13ffffffb00000005, 0x3fffffff00000001, 0x7ffffffe00000002,
);

/// The product's four coordinates before reduction (`mul_coords` with `P_SQUARED_OFFSETS`):
/// each is a signed sum of at most 8 products below P^2 made non-negative (< 2^66).
#[inline]
pub fn mul_unreduced(lhs: QM31, rhs: QM31) -> (felt252, felt252, felt252, felt252) {
    mul_coords(coordinates(lhs), coordinates(rhs), P_SQUARED_OFFSETS)
}

/// The QM31 with the given non-negative felt252 coordinates (each below 2^128) reduced. Out
/// of line: the one copy of four reductions for the code that builds coordinates as felt252
/// integers.
#[inline(never)]
pub fn reduce_coords(a: felt252, b: felt252, c: felt252, d: felt252) -> QM31 {
    QM31 {
        a: CM31 { a: M31Trait::reduce_felt(a), b: M31Trait::reduce_felt(b) },
        b: CM31 { a: M31Trait::reduce_felt(c), b: M31Trait::reduce_felt(d) },
    }
}

#[inline]
fn is_zero_qm31(x: QM31) -> bool {
    x.a.a.inner == 0 && x.a.b.inner == 0 && x.b.a.inner == 0 && x.b.b.inner == 0
}

impl QM31Zero of core::num::traits::Zero<QM31> {
    fn zero() -> QM31 {
        QM31Trait::from_u32_unchecked(0, 0, 0, 0)
    }
    fn is_zero(self: @QM31) -> bool {
        is_zero_qm31(*self)
    }
    fn is_non_zero(self: @QM31) -> bool {
        !is_zero_qm31(*self)
    }
}

impl QM31One of core::num::traits::One<QM31> {
    fn one() -> QM31 {
        QM31Trait::from_u32_unchecked(1, 0, 0, 0)
    }
    fn is_one(self: @QM31) -> bool {
        *self == QM31Trait::from_u32_unchecked(1, 0, 0, 0)
    }
    fn is_non_one(self: @QM31) -> bool {
        *self != QM31Trait::from_u32_unchecked(1, 0, 0, 0)
    }
}
