//! The width-16 Poseidon2-M31 permutation (Plonky3's `default_mersenne31_poseidon2_16()`) and
//! the feed-forward compression built on it. Nothing here but wiring: the round constants,
//! S-box (x^5), external MDS and internal diagonal are Plonky3's, pinned at `=0.8.0`.

use std::sync::LazyLock;

use p3_mersenne_31::{default_mersenne31_poseidon2_16, Mersenne31, Poseidon2Mersenne31};
use p3_symmetric::Permutation;

use crate::field::M31;

/// Permutation width (elements).
pub const WIDTH: usize = 16;

/// A permutation state.
pub type State = [M31; WIDTH];

// Built once: the constructor copies the round-constant tables into vectors.
static POSEIDON2: LazyLock<Poseidon2Mersenne31<WIDTH>> =
    LazyLock::new(default_mersenne31_poseidon2_16);

/// `P(x)`: the Poseidon2 permutation (4 full + 14 partial + 4 full rounds).
pub fn permute(state: State) -> State {
    let input: [Mersenne31; WIDTH] = state.map(M31::to_p3);
    POSEIDON2.permute(input).map(M31::from_p3)
}

/// `compress(x) = P(x) + x`, element-wise. The feed-forward makes the map non-invertible
/// (inverting P is free, inverting P + id is a preimage problem), which the chain steps and
/// key derivations rely on.
pub fn compress(state: State) -> State {
    let out = permute(state);
    std::array::from_fn(|k| out[k] + state[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(values: [u32; WIDTH]) -> State {
        M31::array_from_u32(values).unwrap()
    }

    /// The known answer published in p3-mersenne-31 0.8.0's own test module
    /// (`test_default_mersenne31_poseidon2_width_16`): pins that we call the default
    /// constants, not a freshly sampled instance.
    #[test]
    fn p3_published_vector() {
        let input = st(std::array::from_fn(|k| k as u32));
        let expected = st([
            0x0b2c803a, 0x5b1ee4d1, 0x49c6b1e3, 0x2cdc280c, 0x310a60c8, 0x530a729e, 0x4e61bcb4,
            0x2e84d3c3, 0x58709c08, 0x7e82ac42, 0x2162bcef, 0x6d153ab6, 0x742cf0e3, 0x2f21632d,
            0x61adce1e, 0x1973d6f1,
        ]);
        assert_eq!(permute(input), expected);
    }

    /// Our own pinned vectors (recorded from this crate at p3 0.8.0): any upstream change to
    /// the permutation, or to our wrapping of it, breaks these before it breaks an AIR.
    #[test]
    fn pinned_vectors() {
        // Input with the top value and redundant-looking entries: p - 1 everywhere.
        let input = st([crate::field::MODULUS - 1; WIDTH]);
        assert_eq!(permute(input), st(PINNED_PERMUTE_PM1));
        let input = st(std::array::from_fn(|k| {
            (k as u32 + 1) * 0x0101_0101 % crate::field::MODULUS
        }));
        assert_eq!(compress(input), st(PINNED_COMPRESS));
    }

    const PINNED_PERMUTE_PM1: [u32; WIDTH] = [
        1043514317, 90353239, 504558013, 119508879, 205409240, 1809226164, 102033135, 922950663,
        197378190, 706133213, 1306612627, 155342297, 854097881, 1071717067, 531204543, 1861717295,
    ];
    const PINNED_COMPRESS: [u32; WIDTH] = [
        575717797, 971513333, 2018831350, 336123220, 1003715958, 1634779533, 1095191092,
        1019140848, 1639749444, 23928271, 2035804643, 1822916869, 1902669723, 214697657, 111902399,
        1982219776,
    ];

    #[test]
    fn compress_is_feed_forward() {
        let input = st(std::array::from_fn(|k| 1000 + k as u32));
        let p = permute(input);
        let c = compress(input);
        for k in 0..WIDTH {
            assert_eq!(c[k], p[k] + input[k]);
        }
    }
}
