//! CM31 = M31[i] / (i^2 + 1).

use super::m31::{M31, M31Trait};

/// P^2 as felt252: added before reducing a difference of products so the integer stays
/// non-negative without changing its residue mod P.
pub(crate) const P_SQUARED: felt252 = 0x3fffffff00000001;

/// `a + b i`.
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct CM31 {
    pub a: M31,
    pub b: M31,
}

#[generate_trait]
pub impl CM31Impl of CM31Trait {
    #[inline]
    fn from_u32_unchecked(a: u32, b: u32) -> CM31 {
        CM31 { a: M31 { inner: a }, b: M31 { inner: b } }
    }

    #[inline]
    fn from_m31(a: M31) -> CM31 {
        CM31 { a, b: M31 { inner: 0 } }
    }

    #[inline]
    fn mul_m31(self: CM31, rhs: M31) -> CM31 {
        CM31 { a: self.a * rhs, b: self.b * rhs }
    }

    /// `a^2 + b^2` (the norm over M31).
    #[inline]
    fn norm(self: CM31) -> M31 {
        let a: felt252 = self.a.inner.into();
        let b: felt252 = self.b.inner.into();
        M31Trait::reduce_felt(a * a + b * b)
    }

    /// `(a - b i) / (a^2 + b^2)`; panics on zero.
    fn inverse(self: CM31) -> CM31 {
        assert(!(self.a.inner == 0 && self.b.inner == 0), 'CM31: zero has no inverse');
        let norm_inverse = self.norm().inverse();
        CM31 { a: self.a * norm_inverse, b: -self.b * norm_inverse }
    }
}

impl CM31Add of Add<CM31> {
    #[inline]
    fn add(lhs: CM31, rhs: CM31) -> CM31 {
        CM31 { a: lhs.a + rhs.a, b: lhs.b + rhs.b }
    }
}

impl CM31Sub of Sub<CM31> {
    #[inline]
    fn sub(lhs: CM31, rhs: CM31) -> CM31 {
        CM31 { a: lhs.a - rhs.a, b: lhs.b - rhs.b }
    }
}

impl CM31Neg of Neg<CM31> {
    #[inline]
    fn neg(a: CM31) -> CM31 {
        CM31 { a: -a.a, b: -a.b }
    }
}

impl CM31Mul of Mul<CM31> {
    #[inline]
    fn mul(lhs: CM31, rhs: CM31) -> CM31 {
        let (x0, x1): (felt252, felt252) = (lhs.a.inner.into(), lhs.b.inner.into());
        let (y0, y1): (felt252, felt252) = (rhs.a.inner.into(), rhs.b.inner.into());
        CM31 {
            a: M31Trait::reduce_felt(x0 * y0 - x1 * y1 + P_SQUARED),
            b: M31Trait::reduce_felt(x0 * y1 + x1 * y0),
        }
    }
}


impl CM31Zero of core::num::traits::Zero<CM31> {
    fn zero() -> CM31 {
        CM31Trait::from_u32_unchecked(0, 0)
    }
    fn is_zero(self: @CM31) -> bool {
        *self.a.inner == 0 && *self.b.inner == 0
    }
    fn is_non_zero(self: @CM31) -> bool {
        !(*self.a.inner == 0 && *self.b.inner == 0)
    }
}

impl CM31One of core::num::traits::One<CM31> {
    fn one() -> CM31 {
        CM31Trait::from_u32_unchecked(1, 0)
    }
    fn is_one(self: @CM31) -> bool {
        *self.a.inner == 1 && *self.b.inner == 0
    }
    fn is_non_one(self: @CM31) -> bool {
        !(*self.a.inner == 1 && *self.b.inner == 0)
    }
}
