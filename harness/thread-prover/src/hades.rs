//! The Starknet Poseidon (Hades) permutation the prover hashes with: pathfinder-crypto's.
//!
//! Merkle hashing of the blown-up trace and the proof-of-work search are nearly all of a
//! thread proof's time, and both are this one permutation over the Stark field (width 3,
//! 8 full and 83 partial rounds, the constants of Starknet's `poseidon_hash`). Three crates
//! on crates.io implement it; one permutation, one thread, on this repository's 2-core
//! machine (2026-12-07, release build, 200,000 permutations each, twice):
//!
//! | crate | arithmetic | us per permutation |
//! |---|---|---:|
//! | stwo 2.3's hasher (`starknet-crypto` 0.6) | `starknet-ff` | ~10 |
//! | `starknet-crypto` 0.8 / `starknet-types-core` 1.0 | lambdaworks-math, generic Montgomery | 7.40-7.50 |
//! | `pathfinder-crypto` 0.24 (Pathfinder, the Starknet full node) | `MontFelt`, Montgomery for the Stark prime | **6.10-6.31** |
//!
//! So the prover takes pathfinder's. The values are the same field elements whichever crate
//! computes them: `tests` below check this crate's permutation against `starknet-crypto`'s
//! bit for bit, and `poseidon252_merkle`'s and `poseidon252_channel`'s tests check trees and
//! proof-of-work nonces against stwo's own. Nothing a verifier checks depends on this choice.
//!
//! Values cross in and out of Montgomery form once per felt (one field multiplication each,
//! against the permutation's ~214), at the edges: M31 blocks and tree nodes in, leaf and node
//! hashes out.

use pathfinder_crypto::hash::poseidon::permute as pathfinder_permute;
pub use pathfinder_crypto::MontFelt;

use crate::poseidon252_merkle::Hash;

/// A sponge state of the Poseidon hash: rate 2, capacity 1.
pub type State = [MontFelt; 3];

/// The all-zero state every `poseidon_hash_many` starts from.
pub const ZERO_STATE: State = [MontFelt::ZERO, MontFelt::ZERO, MontFelt::ZERO];

/// The Hades permutation, in place.
#[inline]
pub fn permute(state: &mut State) {
    pathfinder_permute(state);
}

/// `poseidon_hash(x, y)`: the first element of the permutation of `(x, y, 2)`.
#[inline]
pub fn hash_pair(x: MontFelt, y: MontFelt) -> MontFelt {
    let mut state = [x, y, MontFelt::TWO];
    permute(&mut state);
    state[0]
}

/// The field element of 32 big-endian bytes that encode a value below the Stark prime.
#[inline]
pub fn from_be_bytes(bytes: [u8; 32]) -> MontFelt {
    MontFelt::from_be_bytes(bytes)
}

/// A stwo felt252 (a tree node, a transcript digest) in this module's form.
#[inline]
pub fn from_stwo(hash: &Hash) -> MontFelt {
    MontFelt::from_be_bytes(hash.to_bytes_be())
}

/// A field element of this module as stwo's felt252 (exact: both are canonical below the prime).
#[inline]
pub fn to_stwo(felt: &MontFelt) -> Hash {
    Hash::from_bytes_be(&felt.to_be_bytes()).expect("a reduced element is below the Stark prime")
}

#[cfg(test)]
mod tests {
    use starknet_crypto::poseidon_permute_comp;
    use starknet_types_core::felt::Felt;

    use super::*;

    fn to_types_core(f: &MontFelt) -> Felt {
        Felt::from_bytes_be(&f.to_be_bytes())
    }

    /// The same permutation as `starknet-crypto`'s, on states that chain from small values
    /// to full-width ones, and on the field's edge values (0, 1, p - 1).
    #[test]
    fn permutation_is_starknet_cryptos() {
        let minus_one = Felt::ZERO - Felt::ONE;
        let mut theirs = [Felt::ZERO, Felt::ONE, minus_one];
        let mut ours = theirs.map(|f| from_be_bytes(f.to_bytes_be()));
        for _ in 0..200 {
            poseidon_permute_comp(&mut theirs);
            permute(&mut ours);
            assert_eq!(ours.map(|f| to_types_core(&f)), theirs);
        }
    }

    /// `hash_pair` is `poseidon_hash`, and stwo felts cross both ways unchanged.
    #[test]
    fn hash_pair_is_poseidon_hash_and_stwo_felts_round_trip() {
        let (x, y) = (Felt::from(0x1234_5678_u64), Felt::ZERO - Felt::from(7u64));
        let ours = hash_pair(from_be_bytes(x.to_bytes_be()), from_be_bytes(y.to_bytes_be()));
        assert_eq!(to_types_core(&ours), starknet_crypto::poseidon_hash(x, y));
        let node = Hash::from_bytes_be(&(Felt::ZERO - Felt::from(3u64)).to_bytes_be()).expect("below p");
        assert_eq!(to_stwo(&from_stwo(&node)), node);
    }
}
