//! The Poseidon252 Merkle channel of thread proofs, with a faster prover-side tree builder.
//!
//! Proofs on this channel are byte-for-byte those of stwo's
//! `vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel` (same transcript, same hash type,
//! same leaf and node hashing; the Cairo verifier reads them unchanged). What differs is how
//! the prover computes the trees:
//!
//! - stwo 2.3 hashes with `starknet-crypto` 0.6 (`starknet-ff` arithmetic, ~10 us per
//!   permutation here); this module calls the same Hades permutation from `pathfinder-crypto`
//!   ([`crate::hades`]: 6.1-6.3 us, 1.2x faster than `starknet-crypto` 0.8, which it used
//!   until 2026-12-07). Merkle hashing of the blown-up trace is nearly all of a proof's time.
//! - Leaves are hashed on rayon's pool as stwo's are (16 columns at a time, each chunk at its
//!   own height), consecutive chunks of one height in one pass over the rows.
//! - The proof-of-work search is shared between the cores block by block: the channel is
//!   [`ThreadPoseidon252Channel`], stwo's transcript with its own grinding
//!   ([`crate::poseidon252_channel`]).
//!
//! The verifier side (`update_leaf`, `finalize`, `hash_children` on few values) delegates to
//! stwo's hasher. `tests` below check the trees against stwo's on many shapes, and
//! `tests/signed_transfers.rs` checks whole proofs against stwo's channel.

use rayon::prelude::*;
use stwo::core::channel::MerkleChannel;
use stwo::core::fields::m31::BaseField;
use stwo::core::vcs_lifted::merkle_hasher::MerkleHasherLifted;
use stwo::core::vcs_lifted::poseidon252_merkle as stwo_merkle;
use stwo::prover::backend::simd::column::BaseColumn;
use stwo::prover::backend::simd::m31::N_LANES;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::{BackendForChannel, Col, Column};
use stwo::prover::vcs_lifted::ops::MerkleOpsLifted;

use crate::hades::{self, permute, MontFelt, State};
use crate::poseidon252_channel::ThreadPoseidon252Channel;

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
    type C = ThreadPoseidon252Channel;
    type H = Poseidon252MerkleHasher;

    fn mix_root(channel: &mut Self::C, root: Hash) {
        stwo_merkle::Poseidon252MerkleChannel::mix_root(&mut channel.0, root)
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

/// `2^248`: a partial block carries its length (1..7 values) in bits 248..251.
fn two_pow_248() -> MontFelt {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    hades::from_be_bytes(bytes)
}

/// The felt of a block of at most 8 M31 values: their 31-bit limbs concatenated big-endian,
/// plus `len * 2^248` for a partial block (stwo's `construct_felt252_from_m31s`).
fn block_felt(values: &[BaseField], pow248: &MontFelt) -> MontFelt {
    let mut lo = 0u128;
    let mut hi = 0u128;
    for v in values {
        hi = (hi << 31) | (lo >> (128 - 31));
        lo = (lo << 31) | u128::from(v.0);
    }
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&hi.to_be_bytes());
    bytes[16..].copy_from_slice(&lo.to_be_bytes());
    let felt = hades::from_be_bytes(bytes);
    if values.len() < ELEMENTS_IN_BLOCK {
        felt + MontFelt::from(values.len() as u64) * *pow248
    } else {
        felt
    }
}

/// Absorbs 16 values (two felts) and permutes (stwo's `poseidon_update` on one chunk).
fn absorb(state: &mut State, values: &[BaseField], pow248: &MontFelt) {
    state[0] += block_felt(&values[..ELEMENTS_IN_BLOCK], pow248);
    state[1] += block_felt(&values[ELEMENTS_IN_BLOCK..], pow248);
    permute(state);
}

/// Absorbs the last 1..=16 values of a leaf (as 1 or 2 felts) with the sponge's padding and
/// returns the leaf hash (stwo's `poseidon_finalize` on the chunk's felts).
fn finalize(mut state: State, values: &[BaseField], pow248: &MontFelt) -> MontFelt {
    let pad_at = if values.len() > ELEMENTS_IN_BLOCK {
        // Two felts (the second may be partial): absorbed, then the padding alone.
        state[0] += block_felt(&values[..ELEMENTS_IN_BLOCK], pow248);
        state[1] += block_felt(&values[ELEMENTS_IN_BLOCK..], pow248);
        permute(&mut state);
        0
    } else if !values.is_empty() {
        state[0] += block_felt(values, pow248);
        1
    } else {
        0
    };
    state[pad_at] += MontFelt::ONE;
    permute(&mut state);
    state[0]
}

fn stwo_build_leaves(columns: &[&BaseColumn], lifting_log_size: u32) -> Vec<Hash> {
    <SimdBackend as MerkleOpsLifted<stwo_merkle::Poseidon252MerkleHasher>>::build_leaves(columns, lifting_log_size)
}

/// Row `i` of a tree of height `2^log_to` reads row `lift(i, log_to - log_from)` of a column
/// of `2^log_from` rows (stwo's lifting: the low bit is kept, the rest shifted down).
fn lift(i: usize, log_ratio: u32) -> usize {
    ((i >> (log_ratio + 1)) << 1) + (i & 1)
}

impl MerkleOpsLifted<Poseidon252MerkleHasher> for SimdBackend {
    /// The columns come sorted by length (`MerkleProverLifted::commit`). As in stwo, they are
    /// absorbed 16 at a time, each chunk at the height of its tallest column (a short column
    /// is hashed once per row, not once per lifted row), the sponge states lifted between
    /// heights; consecutive chunks of one height are absorbed in one pass over the rows.
    fn build_leaves(columns: &[&Col<Self, BaseField>], lifting_log_size: u32) -> Col<Self, Hash> {
        // Empty or tiny trees: stwo's own code (it falls back to the CPU backend there).
        let (Some(first), Some(last)) = (columns.first(), columns.last()) else {
            return stwo_build_leaves(columns, lifting_log_size);
        };
        if first.len() < N_LANES {
            return stwo_build_leaves(columns, lifting_log_size);
        }
        let log = |c: &BaseColumn| c.len().ilog2();
        let max_log_size = log(last);
        let pow248 = two_pow_248();
        let chunks: Vec<&[&BaseColumn]> = columns.chunks(ELEMENTS_IN_BUFFER).collect();
        let Some((last_chunk, body)) = chunks.split_last() else {
            return stwo_build_leaves(columns, lifting_log_size);
        };
        // Sponge states of the rows at height `2^states_log` (two zero states to start, as
        // stwo's).
        let mut states: Vec<State> = vec![hades::ZERO_STATE; 2];
        let mut states_log = 1;
        let mut start = 0;
        while start < body.len() {
            let height = |chunk: &[&BaseColumn]| chunk.last().map_or(0, |c| log(c));
            let h = height(body[start]);
            let end = start + body[start..].iter().take_while(|c| height(c) == h).count();
            let group = &body[start..end];
            let mut next = vec![hades::ZERO_STATE; 1 << h];
            next.par_chunks_mut(LEAVES_PER_TASK).enumerate().for_each(|(task, out)| {
                let mut values = [BaseField::from(0); ELEMENTS_IN_BUFFER];
                for (k, state) in out.iter_mut().enumerate() {
                    let i = task * LEAVES_PER_TASK + k;
                    *state = states[lift(i, h - states_log)];
                    for chunk in group {
                        for (v, c) in values.iter_mut().zip(chunk.iter()) {
                            *v = c.at(lift(i, h - log(c)));
                        }
                        absorb(state, &values, &pow248);
                    }
                }
            });
            states = next;
            states_log = h;
            start = end;
        }
        let mut leaves = vec![Hash::default(); 1 << max_log_size];
        leaves.par_chunks_mut(LEAVES_PER_TASK).enumerate().for_each(|(task, out)| {
            let mut values = [BaseField::from(0); ELEMENTS_IN_BUFFER];
            let n = last_chunk.len();
            for (k, leaf) in out.iter_mut().enumerate() {
                let i = task * LEAVES_PER_TASK + k;
                for (v, c) in values.iter_mut().zip(last_chunk.iter()) {
                    *v = c.at(lift(i, max_log_size - log(c)));
                }
                let state = states[lift(i, max_log_size - states_log)];
                *leaf = hades::to_stwo(&finalize(state, &values[..n], &pow248));
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
                hades::to_stwo(&hades::hash_pair(hades::from_stwo(&pair[0]), hades::from_stwo(&pair[1])))
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
        // Several chunk heights: chunk groups of one height, lifted states between them, and a
        // last chunk taller than the states.
        let multi: Vec<Vec<u32>> = vec![
            [4u32; 20].into_iter().chain([6; 20]).chain([7; 17]).collect(),
            [5u32; 16].into_iter().chain([8; 3]).collect(),
            [4u32; 33].into_iter().chain([5; 40]).chain([9; 16]).collect(),
        ];
        let shapes: Vec<&[u32]> = shapes.iter().copied().chain(multi.iter().map(|v| v.as_slice())).collect();
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

    use starknet_types_core::felt::Felt;

    use stwo::core::fields::m31::M31;
    use stwo::prover::vcs_lifted::prover::MerkleProverLifted;

    use super::*;

    #[test]
    #[ignore = "timing: run with --ignored --nocapture"]
    fn bench_trees() {
        // A signed proof's main tree in miniature: many short columns, then tall ones.
        let shapes: [Vec<u32>; 3] = [[9u32; 270].into_iter().chain([14; 50]).chain([16; 300]).collect(), vec![16; 300], vec![17]];
        for shape in shapes {
            let (n_cols, log) = (shape.len(), shape.iter().copied().max().unwrap_or(0));
            let cols: Vec<BaseColumn> = shape
                .iter()
                .enumerate()
                .map(|(c, l)| (0..1u32 << l).map(|i| M31::reduce(u64::from(i * 7 + c as u32))).collect())
                .collect();
            let refs: Vec<&BaseColumn> = cols.iter().collect();
            // Interleaved (ours, stwo, stwo, ours), the best of two each: the box is shared.
            let (mut ours, mut theirs) = ([f64::MAX; 2], [f64::MAX; 2]);
            for round in 0..4 {
                let mine = round == 0 || round == 3;
                let (wall, cpu) = (Instant::now(), cpu_seconds());
                let root = if mine {
                    MerkleProverLifted::<SimdBackend, Poseidon252MerkleHasher>::commit(refs.clone(), log, 0).layers[0][0]
                } else {
                    MerkleProverLifted::<SimdBackend, stwo_merkle::Poseidon252MerkleHasher>::commit(refs.clone(), log, 0)
                        .layers[0][0]
                };
                let t = [wall.elapsed().as_secs_f64(), cpu_seconds() - cpu];
                let best = if mine { &mut ours } else { &mut theirs };
                *best = [best[0].min(t[0]), best[1].min(t[1])];
                std::hint::black_box(root);
            }
            eprintln!(
                "{n_cols} columns, tallest 2^{log} rows: this crate {:.2} s ({:.2} s CPU), stwo {:.2} s ({:.2} s CPU)",
                ours[0], ours[1], theirs[0], theirs[1]
            );
        }
        let n = 100_000;
        let mut ours = [MontFelt::ONE, MontFelt::TWO, MontFelt::from(3u64)];
        let t = Instant::now();
        for _ in 0..n {
            permute(&mut ours);
        }
        let a = t.elapsed();
        let mut lambdaworks = [Felt::ONE, Felt::TWO, Felt::THREE];
        let t = Instant::now();
        for _ in 0..n {
            starknet_crypto::poseidon_permute_comp(&mut lambdaworks);
        }
        let b = t.elapsed();
        // stwo's permutation (starknet-crypto 0.6), reached through its sponge: `finalize` of
        // no values adds 1 to the first element, then permutes.
        let mut theirs = [Hash::ONE, Hash::TWO, Hash::THREE];
        let t = Instant::now();
        for _ in 0..n {
            theirs = stwo_merkle::poseidon_finalize(&[], [theirs[0] - Hash::ONE, theirs[1], theirs[2]]);
        }
        let c = t.elapsed();
        assert_eq!(hades::to_stwo(&ours[0]), theirs[0]);
        assert_eq!(crate::channel::from_stwo(&theirs[0]), lambdaworks[0]);
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(n);
        eprintln!(
            "one permutation: pathfinder-crypto (this crate's) {:.2} us, starknet-crypto 0.8 {:.2} us, stwo (0.6) {:.2} us",
            us(a),
            us(b),
            us(c)
        );
    }

    /// This process's user + system CPU time (Linux `/proc/self/stat`, 100 ticks a second).
    fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        let ticks = |k: usize| fields.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    }
}
