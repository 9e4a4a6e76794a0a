//! The Poseidon252 Merkle channel of thread proofs, with a faster prover-side tree builder.
//!
//! Proofs on this channel are byte-for-byte those of stwo's
//! `vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel` (same channel, same hash type,
//! same leaf and node hashing; the Cairo verifier reads them unchanged). What differs is how
//! the prover computes the trees:
//!
//! - stwo 2.3 hashes with `starknet-crypto` 0.6 (`starknet-ff` arithmetic); this module calls
//!   the same Hades permutation from `starknet-crypto` 0.8 (`starknet-types-core`/lambdaworks
//!   arithmetic), measured ~1.7x faster per permutation on this machine. Merkle hashing of the
//!   64x blown-up trace is nearly all of a signed proof's time.
//! - Leaves are hashed row by row (every column value of a leaf absorbed in one pass) on
//!   rayon's pool, instead of column chunk by column chunk with the sponge states of every leaf
//!   stored in between.
//!
//! The verifier side (`update_leaf`, `finalize`, `hash_children` on few values) delegates to
//! stwo's hasher. `tests` below check the trees against stwo's on many shapes, and
//! `tests/signed_transfers.rs` checks whole proofs against stwo's channel.

use rayon::prelude::*;
use starknet_crypto::poseidon_permute_comp;
use starknet_types_core::felt::Felt;
use stwo::core::channel::{MerkleChannel, Poseidon252Channel};
use stwo::core::fields::m31::BaseField;
use stwo::core::vcs_lifted::merkle_hasher::MerkleHasherLifted;
use stwo::core::vcs_lifted::poseidon252_merkle as stwo_merkle;
use stwo::prover::backend::simd::column::BaseColumn;
use stwo::prover::backend::simd::m31::N_LANES;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::{BackendForChannel, Col, Column};
use stwo::prover::vcs_lifted::ops::MerkleOpsLifted;

/// stwo's felt252 (`starknet-ff`): the hash type of the trees and of the proof.
pub type Hash = <stwo_merkle::Poseidon252MerkleHasher as MerkleHasherLifted>::Hash;

/// M31 values packed into one felt252 (8 x 31 = 248 bits), as stwo packs them.
const ELEMENTS_IN_BLOCK: usize = 8;
/// M31 values absorbed per permutation (two felts in the rate).
const ELEMENTS_IN_BUFFER: usize = 2 * ELEMENTS_IN_BLOCK;
/// Leaves per rayon task: enough work per task (each leaf costs one or more ~5 us
/// permutations) while leaving many tasks for the two cores to share.
const LEAVES_PER_TASK: usize = 256;

/// The Poseidon252 Merkle channel of thread proofs (see the module docs).
#[derive(Default)]
pub struct Poseidon252MerkleChannel;

impl MerkleChannel for Poseidon252MerkleChannel {
    type C = Poseidon252Channel;
    type H = Poseidon252MerkleHasher;

    fn mix_root(channel: &mut Self::C, root: Hash) {
        stwo_merkle::Poseidon252MerkleChannel::mix_root(channel, root)
    }
}

/// stwo's lifted Poseidon252 hasher, under a type of this crate so that the prover's tree
/// building ([`MerkleOpsLifted`] for [`SimdBackend`]) can be this module's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poseidon252MerkleHasher(stwo_merkle::Poseidon252MerkleHasher);

impl MerkleHasherLifted for Poseidon252MerkleHasher {
    type Hash = Hash;

    fn hash_children(children: (Hash, Hash)) -> Hash {
        stwo_merkle::Poseidon252MerkleHasher::hash_children(children)
    }

    fn update_leaf(&mut self, column_values: &[BaseField]) {
        self.0.update_leaf(column_values)
    }

    fn finalize(self) -> Hash {
        self.0.finalize()
    }
}

impl BackendForChannel<Poseidon252MerkleChannel> for SimdBackend {}

fn to_felt(h: &Hash) -> Felt {
    Felt::from_bytes_be(&h.to_bytes_be())
}

fn from_felt(f: &Felt) -> Hash {
    // Both types hold canonical elements of the same prime field: the bytes convert exactly.
    Hash::from_bytes_be(&f.to_bytes_be()).expect("a Felt is below the Stark prime")
}

/// `2^248`: a partial block carries its length (1..7 values) in bits 248..251.
fn two_pow_248() -> Felt {
    Felt::from(1u128 << 124) * Felt::from(1u128 << 124)
}

/// The felt of a block of at most 8 M31 values: their 31-bit limbs concatenated big-endian,
/// plus `len * 2^248` for a partial block (stwo's `construct_felt252_from_m31s`).
fn block_felt(values: &[BaseField], pow248: &Felt) -> Felt {
    let mut lo = 0u128;
    let mut hi = 0u128;
    for v in values {
        hi = (hi << 31) | (lo >> (128 - 31));
        lo = (lo << 31) | u128::from(v.0);
    }
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&hi.to_be_bytes());
    bytes[16..].copy_from_slice(&lo.to_be_bytes());
    let felt = Felt::from_bytes_be(&bytes);
    if values.len() < ELEMENTS_IN_BLOCK {
        felt + Felt::from(values.len() as u64) * *pow248
    } else {
        felt
    }
}

/// The leaf hash of one row's values (all columns, sorted by length as the tree orders them):
/// full 16-value chunks absorbed two felts per permutation, then the rest (0..16 values as
/// 0..2 felts) and the sponge's padding, as stwo's `poseidon_update`/`poseidon_finalize`.
fn leaf_hash(values: &[BaseField], pow248: &Felt) -> Felt {
    let mut state = [Felt::ZERO; 3];
    let mut chunks = values.chunks_exact(ELEMENTS_IN_BUFFER);
    for chunk in chunks.by_ref() {
        state[0] += block_felt(&chunk[..ELEMENTS_IN_BLOCK], pow248);
        state[1] += block_felt(&chunk[ELEMENTS_IN_BLOCK..], pow248);
        poseidon_permute_comp(&mut state);
    }
    let rest = chunks.remainder();
    let pad_at = if rest.len() > ELEMENTS_IN_BLOCK {
        state[0] += block_felt(&rest[..ELEMENTS_IN_BLOCK], pow248);
        state[1] += block_felt(&rest[ELEMENTS_IN_BLOCK..], pow248);
        poseidon_permute_comp(&mut state);
        0
    } else if !rest.is_empty() {
        state[0] += block_felt(rest, pow248);
        1
    } else {
        0
    };
    state[pad_at] += Felt::ONE;
    poseidon_permute_comp(&mut state);
    state[0]
}

/// Row `i` of a tree of height `2^log_to` reads row `lift(i, log_to - log_from)` of a column
/// of `2^log_from` rows (stwo's lifting: the low bit is kept, the rest shifted down).
fn lift(i: usize, log_ratio: u32) -> usize {
    ((i >> (log_ratio + 1)) << 1) + (i & 1)
}

impl MerkleOpsLifted<Poseidon252MerkleHasher> for SimdBackend {
    fn build_leaves(columns: &[&Col<Self, BaseField>], lifting_log_size: u32) -> Col<Self, Hash> {
        // Empty or tiny trees: stwo's own code (it falls back to the CPU backend there).
        if columns.is_empty() || columns[0].len() < N_LANES {
            return <SimdBackend as MerkleOpsLifted<stwo_merkle::Poseidon252MerkleHasher>>::build_leaves(
                columns,
                lifting_log_size,
            );
        }
        // The caller (`MerkleProverLifted::commit`) sorted the columns by length.
        let max_log_size = columns.iter().map(|c| c.len().ilog2()).max().unwrap_or(0);
        let shifts: Vec<(&BaseColumn, u32)> =
            columns.iter().map(|c| (*c, max_log_size - c.len().ilog2())).collect();
        let pow248 = two_pow_248();
        let mut leaves = vec![Hash::default(); 1 << max_log_size];
        leaves.par_chunks_mut(LEAVES_PER_TASK).enumerate().for_each(|(task, out)| {
            let mut row = Vec::with_capacity(shifts.len());
            for (k, leaf) in out.iter_mut().enumerate() {
                let i = task * LEAVES_PER_TASK + k;
                row.clear();
                row.extend(shifts.iter().map(|(c, shift)| c.at(lift(i, *shift))));
                *leaf = from_felt(&leaf_hash(&row, &pow248));
            }
        });
        if lifting_log_size > max_log_size {
            let ratio = lifting_log_size - max_log_size;
            return (0..1usize << lifting_log_size).into_par_iter().map(|i| leaves[lift(i, ratio)]).collect();
        }
        leaves
    }

    fn build_next_layer(prev_layer: &Col<Self, Hash>) -> Col<Self, Hash> {
        prev_layer
            .par_chunks(2)
            .with_min_len(LEAVES_PER_TASK)
            .map(|pair| {
                let mut state = [to_felt(&pair[0]), to_felt(&pair[1]), Felt::TWO];
                // `poseidon_hash(x, y)`: the permutation of (x, y, 2), first element.
                poseidon_permute_comp(&mut state);
                from_felt(&state[0])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use stwo::core::fields::m31::M31;
    use stwo::prover::vcs_lifted::prover::MerkleProverLifted;

    use super::*;

    fn column(log_size: u32, seed: u32) -> BaseColumn {
        let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
        (0..1u32 << log_size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                M31::reduce(u64::from(x))
            })
            .collect()
    }

    /// Same layers as stwo's tree for many shapes: column counts around the 8/16-value block
    /// boundaries (every remainder case of the sponge), mixed heights, lifting, and values
    /// near the prime.
    #[test]
    fn trees_match_stwo() {
        let shapes: &[&[u32]] = &[
            &[4],
            &[4, 4],
            &[5; 7],
            &[5; 8],
            &[5; 9],
            &[5; 15],
            &[5; 16],
            &[5; 17],
            &[5; 32],
            &[4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7],
            &[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 10],
            &[3, 3, 6],
        ];
        for (s, shape) in shapes.iter().enumerate() {
            let mut cols: Vec<BaseColumn> =
                shape.iter().enumerate().map(|(i, l)| column(*l, (s * 100 + i) as u32)).collect();
            if s == 4 {
                // Values at the top of M31 (all 31 bits set but one).
                cols[0] = (0..32).map(|_| M31::reduce((1 << 31) - 2)).collect();
            }
            let refs: Vec<&BaseColumn> = cols.iter().collect();
            let max = shape.iter().copied().max().unwrap_or(0);
            for lifting in [max, max + 2] {
                let ours = MerkleProverLifted::<SimdBackend, Poseidon252MerkleHasher>::commit(refs.clone(), lifting, 0);
                let theirs = MerkleProverLifted::<SimdBackend, stwo_merkle::Poseidon252MerkleHasher>::commit(
                    refs.clone(),
                    lifting,
                    0,
                );
                assert_eq!(ours.layers, theirs.layers, "shape {s} lifting {lifting}");
            }
        }
    }

    #[test]
    fn packed_fri_leaves_match_stwo() {
        let cols: Vec<BaseColumn> = (0..4).map(|i| column(9, i)).collect();
        let refs: Vec<&BaseColumn> = cols.iter().collect();
        let ours = MerkleProverLifted::<SimdBackend, Poseidon252MerkleHasher>::commit(refs.clone(), 9, 2);
        let theirs = MerkleProverLifted::<SimdBackend, stwo_merkle::Poseidon252MerkleHasher>::commit(refs, 9, 2);
        assert_eq!(ours.layers, theirs.layers);
    }
}

/// Tree building and permutation times against stwo's, on one trace-like shape (300
/// columns) and one single-column tree:
/// `cargo test -p zkthread-prover --lib bench_trees -- --ignored --nocapture`.
#[cfg(test)]
mod bench {
    use std::time::Instant;

    use stwo::core::fields::m31::M31;
    use stwo::prover::vcs_lifted::prover::MerkleProverLifted;

    use super::*;

    #[test]
    #[ignore = "timing: run with --ignored --nocapture"]
    fn bench_trees() {
        for (n_cols, log) in [(300usize, 16u32), (1, 17)] {
            let cols: Vec<BaseColumn> = (0..n_cols)
                .map(|c| (0..1u32 << log).map(|i| M31::reduce(u64::from(i * 7 + c as u32))).collect())
                .collect();
            let refs: Vec<&BaseColumn> = cols.iter().collect();
            let t = Instant::now();
            let a = MerkleProverLifted::<SimdBackend, Poseidon252MerkleHasher>::commit(refs.clone(), log, 0);
            let ours = t.elapsed();
            let t = Instant::now();
            let b = MerkleProverLifted::<SimdBackend, stwo_merkle::Poseidon252MerkleHasher>::commit(refs, log, 0);
            let theirs = t.elapsed();
            assert_eq!(a.layers[0], b.layers[0]);
            eprintln!("{n_cols} columns of 2^{log} rows: this crate {ours:.2?}, stwo {theirs:.2?}");
        }
        let n = 100_000;
        let mut ours = [Felt::ONE, Felt::TWO, Felt::THREE];
        let t = Instant::now();
        for _ in 0..n {
            poseidon_permute_comp(&mut ours);
        }
        let a = t.elapsed();
        // stwo's permutation (starknet-crypto 0.6), reached through its sponge: `finalize` of
        // no values adds 1 to the first element, then permutes.
        let mut theirs = [Hash::ONE, Hash::TWO, Hash::THREE];
        let t = Instant::now();
        for _ in 0..n {
            theirs = stwo_merkle::poseidon_finalize(&[], [theirs[0] - Hash::ONE, theirs[1], theirs[2]]);
        }
        let b = t.elapsed();
        assert_eq!(to_felt(&theirs[0]), ours[0]);
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(n);
        eprintln!("one permutation: starknet-crypto 0.8 {:.2} us, stwo (0.6) {:.2} us", us(a), us(b));
    }
}
