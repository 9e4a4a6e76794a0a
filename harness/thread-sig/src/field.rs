//! `M31`: an element of the Mersenne-31 field at the API edge, always canonical.
//!
//! Plonky3's `Mersenne31` may hold the non-canonical `2^31 - 1` for zero, and stwo's `M31` is
//! another type again; this newtype is the one representation both sides convert from, so a
//! value read here is the value an AIR column holds, bit for bit.

use p3_field::PrimeField32;
use p3_mersenne_31::Mersenne31;

/// The modulus `p = 2^31 - 1`.
pub const MODULUS: u32 = (1 << 31) - 1;

/// A field element of M31, held as its canonical representative in `0..2^31 - 1`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct M31(u32);

/// A `u32` that is not a canonical M31 element (it is `>= 2^31 - 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a canonical M31 element (must be < 2^31 - 1)")]
pub struct NotCanonical(pub u32);

impl M31 {
    pub const ZERO: M31 = M31(0);
    pub const ONE: M31 = M31(1);

    /// The element whose canonical value is `value`; refuses `value >= 2^31 - 1` rather than
    /// reducing, so that two different inputs never name the same element.
    pub const fn from_u32(value: u32) -> Result<M31, NotCanonical> {
        if value < MODULUS {
            Ok(M31(value))
        } else {
            Err(NotCanonical(value))
        }
    }

    /// `value mod (2^31 - 1)`: for values that are *defined* by reduction (hash limbs, tags).
    pub const fn reduce(value: u32) -> M31 {
        M31(value % MODULUS)
    }

    /// The canonical value, `< 2^31 - 1`.
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// `[u32; N]` -> `[M31; N]`, refusing any non-canonical entry.
    pub fn array_from_u32<const N: usize>(values: [u32; N]) -> Result<[M31; N], NotCanonical> {
        let mut out = [M31::ZERO; N];
        for (o, v) in out.iter_mut().zip(values) {
            *o = M31::from_u32(v)?;
        }
        Ok(out)
    }

    /// `[M31; N]` -> `[u32; N]` (canonical values).
    pub fn array_to_u32<const N: usize>(values: [M31; N]) -> [u32; N] {
        values.map(M31::to_u32)
    }

    /// Overwrite with zero in a way the optimizer keeps (for secret material on drop).
    pub(crate) fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }

    pub(crate) fn to_p3(self) -> Mersenne31 {
        // Canonical by construction, so `new` does not reduce anything.
        Mersenne31::new(self.0)
    }

    pub(crate) fn from_p3(x: Mersenne31) -> M31 {
        M31(x.as_canonical_u32())
    }
}

impl std::ops::Add for M31 {
    type Output = M31;
    fn add(self, rhs: M31) -> M31 {
        // Both < 2^31 - 1, so the sum fits in u32 and one conditional subtraction suffices.
        let s = self.0 + rhs.0;
        M31(if s >= MODULUS { s - MODULUS } else { s })
    }
}

impl std::fmt::Debug for M31 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for M31 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u32> for M31 {
    type Error = NotCanonical;
    fn try_from(value: u32) -> Result<M31, NotCanonical> {
        M31::from_u32(value)
    }
}

impl From<M31> for u32 {
    fn from(x: M31) -> u32 {
        x.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_edges() {
        assert_eq!(M31::from_u32(MODULUS - 1).unwrap().to_u32(), MODULUS - 1);
        assert_eq!(M31::from_u32(MODULUS), Err(NotCanonical(MODULUS)));
        assert!(M31::from_u32(1 << 31).is_err());
        assert!(M31::from_u32(u32::MAX).is_err());
        assert_eq!(M31::reduce(MODULUS), M31::ZERO);
        assert_eq!(M31::reduce(u32::MAX).to_u32(), u32::MAX - 2 * MODULUS);
        // p3's redundant zero (2^31 - 1) comes back canonical.
        assert_eq!(
            M31::from_p3(Mersenne31::new_checked(MODULUS).unwrap()),
            M31::ZERO
        );
    }

    proptest! {
        #[test]
        fn add_matches_p3(a in 0..MODULUS, b in 0..MODULUS) {
            let (x, y) = (M31::from_u32(a).unwrap(), M31::from_u32(b).unwrap());
            prop_assert_eq!(x + y, M31::from_p3(x.to_p3() + y.to_p3()));
            prop_assert_eq!((x + y).to_u32() as u64, (a as u64 + b as u64) % MODULUS as u64);
        }
    }
}
