//! The base field M31 = Z / (2^31 - 1).

use core::integer::u128_safe_divmod;
use core::num::traits::{OverflowingSub, WrappingAdd, WrappingSub};
use core::num::traits::WideMul;

/// The Mersenne prime 2^31 - 1.
pub const P: u32 = 0x7fffffff;
const P_U256_NZ: NonZero<u256> = 0x7fffffff;

/// An element of M31, always canonical (`inner < P`).
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct M31 {
    pub inner: u32,
}

#[generate_trait]
pub impl M31Impl of M31Trait {
    /// Wraps a value the caller knows is below P (stwo's `from_u32_unchecked`).
    #[inline]
    fn from_u32_unchecked(value: u32) -> M31 {
        M31 { inner: value }
    }

    /// `value mod P` for any u32 (stwo's `From<u32>` reduces the same way).
    #[inline]
    fn reduce_u32(value: u32) -> M31 {
        if value >= P {
            // value < 2^32 = 2P + 2, so one subtraction may still leave exactly P.
            let once = value - P;
            if once >= P {
                M31 { inner: once - P }
            } else {
                M31 { inner: once }
            }
        } else {
            M31 { inner: value }
        }
    }

    /// `value mod P` (stwo's `M31::reduce`).
    #[inline]
    fn reduce_u64(value: u64) -> M31 {
        M31 { inner: super::bounded::u64_mod_p(value) }
    }

    /// `value mod P`.
    #[inline]
    fn reduce_u128(value: u128) -> M31 {
        M31 { inner: super::bounded::u128_mod_p(value) }
    }

    /// `value mod P` for a felt252 holding a non-negative integer below 2^128 (the extension
    /// field products produce such sums); panics on anything larger.
    #[inline]
    fn reduce_felt(value: felt252) -> M31 {
        let as_u128: u128 = value.try_into().unwrap();
        Self::reduce_u128(as_u128)
    }

    #[inline]
    fn to_felt(self: M31) -> felt252 {
        self.inner.into()
    }

    #[inline]
    fn double(self: M31) -> M31 {
        self + self
    }

    #[inline]
    fn square(self: M31) -> M31 {
        self * self
    }

    /// `self^exponent` by square and multiply.
    fn pow(self: M31, exponent: u128) -> M31 {
        let mut result = M31 { inner: 1 };
        let mut base = self;
        let mut e = exponent;
        while e != 0 {
            let (half, bit) = u128_safe_divmod(e, 2);
            if bit == 1 {
                result = result * base;
            }
            base = base * base;
            e = half;
        };
        result
    }

    /// The multiplicative inverse; panics on zero as stwo does. Uses the corelib's checked
    /// modular inverse (a hinted inverse verified by one multiplication), far cheaper than
    /// Fermat's self^(P - 2).
    fn inverse(self: M31) -> M31 {
        assert(self.inner != 0, 'M31: zero has no inverse');
        let value: u256 = u256 { low: self.inner.into(), high: 0 };
        let inverse: u256 = core::math::u256_inv_mod(value, P_U256_NZ).unwrap().into();
        M31 { inner: inverse.low.try_into().unwrap() }
    }
}

// The field operations use the non-panicking u32 operations (overflowing / wrapping): the same
// values, without a panic path per operation (each inlined sum, difference and negation is smaller and takes fewer
// steps).
impl M31Add of Add<M31> {
    #[inline]
    fn add(lhs: M31, rhs: M31) -> M31 {
        // Both below 2^31: the u32 sum cannot overflow.
        let sum = lhs.inner.wrapping_add(rhs.inner);
        let (reduced, below_p) = sum.overflowing_sub(P);
        if below_p {
            M31 { inner: sum }
        } else {
            M31 { inner: reduced }
        }
    }
}

impl M31Sub of Sub<M31> {
    #[inline]
    fn sub(lhs: M31, rhs: M31) -> M31 {
        let (difference, borrowed) = lhs.inner.overflowing_sub(rhs.inner);
        if borrowed {
            // lhs - rhs + 2^32: adding P wraps to lhs - rhs + P.
            M31 { inner: difference.wrapping_add(P) }
        } else {
            M31 { inner: difference }
        }
    }
}

impl M31Neg of Neg<M31> {
    #[inline]
    fn neg(a: M31) -> M31 {
        if a.inner == 0 {
            a
        } else {
            M31 { inner: P.wrapping_sub(a.inner) }
        }
    }
}

impl M31Mul of Mul<M31> {
    #[inline]
    fn mul(lhs: M31, rhs: M31) -> M31 {
        M31Trait::reduce_u64(lhs.inner.wide_mul(rhs.inner))
    }
}

impl M31Zero of core::num::traits::Zero<M31> {
    fn zero() -> M31 {
        M31 { inner: 0 }
    }
    fn is_zero(self: @M31) -> bool {
        *self.inner == 0
    }
    fn is_non_zero(self: @M31) -> bool {
        *self.inner != 0
    }
}

impl M31One of core::num::traits::One<M31> {
    fn one() -> M31 {
        M31 { inner: 1 }
    }
    fn is_one(self: @M31) -> bool {
        *self.inner == 1
    }
    fn is_non_one(self: @M31) -> bool {
        *self.inner != 1
    }
}
