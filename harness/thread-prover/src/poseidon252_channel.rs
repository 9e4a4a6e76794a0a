//! The Fiat-Shamir channel of thread proofs: stwo's Poseidon252 channel, with a proof-of-work
//! search that the cores share block by block.
//!
//! [`ThreadPoseidon252Channel`] wraps stwo's `Poseidon252Channel` and delegates every mix and
//! draw to it, so the transcript (and every proof) is stwo's byte for byte; only the prover's
//! grinding ([`GrindOps`] for [`SimdBackend`]) is this module's.
//!
//! ## Why not stwo's grinding
//! The proof-of-work nonce is the first `(a << 32) | b`, ordered by `(a, b)` with
//! `b < 2^14`, whose hash `H(H(POW_PREFIX, digest, pow_bits), nonce)` has `pow_bits` trailing
//! zeros in its low 128 bits (stwo 2.3's Poseidon252 grinding; its Blake2s grinding uses
//! `b < 2^20`). stwo hands each rayon worker a whole chunk `a` of 2^14 nonces and takes the
//! smallest answer of the chunks that hold one, with starknet-crypto 0.6's `poseidon_hash`
//! (~10 us). Here the workers share each chunk in blocks of [`NONCES_PER_BLOCK`] and stop
//! once no block left can hold a smaller nonce, so the answer is the same nonce; each hash is
//! pathfinder-crypto's permutation ([`crate::hades`], ~1.6x faster than stwo's), and a worker
//! typically searches at most one block past the answer (stwo's, up to a whole chunk).
//!
//! ## Soundness
//! None of this touches what a verifier checks: `verify_pow_nonce` (stwo) and the Cairo
//! verifier recompute the hash of whatever nonce the proof carries, and the proof-of-work
//! bits are the parameters'. Returning stwo's own nonce keeps proofs identical to stwo's
//! channel (tested here nonce for nonce, and proof for proof in the token crate,
//! `poseidon252_channel_proofs_are_stwos`).

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::fields::qm31::SecureField;
use stwo::core::proof_of_work::GrindOps;
use stwo::prover::backend::simd::SimdBackend;

use crate::channel::from_stwo;
use crate::hades::{self, MontFelt};

/// stwo's nonce form for Poseidon252 grinding: `(chunk << 32) | low` with
/// `low < 2^GRIND_LOW_BITS` (`stwo::prover::backend::simd::grind::poseidon252`).
const GRIND_LOW_BITS: u32 = 14;
/// Nonces a worker tries before taking the next block: ~1,000 hashes (a few ms) per block,
/// so typically at most one block per worker is searched past the answer (more only while
/// the worker holding the answer's block is descheduled).
pub const NONCES_PER_BLOCK: u64 = 1 << 10;

/// The channel of thread proofs: stwo's `Poseidon252Channel` (same transcript), with its own
/// proof-of-work search (module docs).
#[derive(Clone, Default, Debug)]
pub struct ThreadPoseidon252Channel(pub Poseidon252Channel);

impl Channel for ThreadPoseidon252Channel {
    const BYTES_PER_HASH: usize = Poseidon252Channel::BYTES_PER_HASH;

    fn verify_pow_nonce(&self, n_bits: u32, nonce: u64) -> bool {
        self.0.verify_pow_nonce(n_bits, nonce)
    }

    fn mix_u32s(&mut self, data: &[u32]) {
        self.0.mix_u32s(data)
    }

    fn mix_felts(&mut self, felts: &[SecureField]) {
        self.0.mix_felts(felts)
    }

    fn mix_u64(&mut self, value: u64) {
        self.0.mix_u64(value)
    }

    fn draw_secure_felt(&mut self) -> SecureField {
        self.0.draw_secure_felt()
    }

    fn draw_secure_felts(&mut self, n_felts: usize) -> Vec<SecureField> {
        self.0.draw_secure_felts(n_felts)
    }

    fn draw_u32s(&mut self) -> Vec<u32> {
        self.0.draw_u32s()
    }
}

impl GrindOps<ThreadPoseidon252Channel> for SimdBackend {
    fn grind(channel: &ThreadPoseidon252Channel, pow_bits: u32) -> u64 {
        let prefixed = poseidon_hash_many(&[
            Felt::from(Poseidon252Channel::POW_PREFIX),
            from_stwo(&channel.0.digest()),
            Felt::from(pow_bits),
        ]);
        let prefixed = hades::from_be_bytes(prefixed.to_bytes_be());
        smallest_nonce(
            |nonce| has_trailing_zeros(prefixed, nonce, pow_bits),
            GRIND_LOW_BITS,
        )
    }
}

/// Whether `poseidon_hash(prefixed, nonce)` has at least `pow_bits` trailing zeros in its low
/// 128 bits, as stwo's `verify_pow_nonce` asks.
fn has_trailing_zeros(prefixed: MontFelt, nonce: u64, pow_bits: u32) -> bool {
    let bytes = hades::hash_pair(prefixed, MontFelt::from(nonce)).to_be_bytes();
    let low = u128::from_be_bytes(bytes[16..].try_into().expect("16 bytes"));
    low.trailing_zeros() >= pow_bits
}

/// The smallest nonce `(chunk << 32) | low`, `low < 2^low_bits`, that `good` accepts.
///
/// The nonces, in increasing order, are cut into blocks of [`NONCES_PER_BLOCK`] (fewer when a
/// chunk is smaller) that rayon's workers draw from one counter. A worker stops at its first
/// hit, or when the block it draws starts above the best hit so far. The minimum is exact:
/// every hit lies at or above the smallest good nonce `m`, so each worker's stop draws a block
/// at or past `m`'s, which therefore was drawn; its worker found no hit below `m` to stop
/// at, so it searched that block from its start and found `m`.
pub fn smallest_nonce(good: impl Fn(u64) -> bool + Sync, low_bits: u32) -> u64 {
    assert!(low_bits <= 32, "the low part of a nonce is at most 32 bits");
    let per_block = NONCES_PER_BLOCK.min(1 << low_bits);
    let blocks_per_chunk = (1u64 << low_bits) / per_block;
    let next_block = AtomicU64::new(0);
    let best = AtomicU64::new(u64::MAX);
    let workers = rayon::current_num_threads().max(1);
    (0..workers).into_par_iter().for_each(|_| loop {
        let block = next_block.fetch_add(1, Ordering::Relaxed);
        let start = ((block / blocks_per_chunk) << 32) | ((block % blocks_per_chunk) * per_block);
        if start > best.load(Ordering::Relaxed) {
            break;
        }
        if let Some(nonce) = (start..start + per_block).find(|n| good(*n)) {
            best.fetch_min(nonce, Ordering::Relaxed);
            break;
        }
    });
    best.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same nonce as stwo's grinding on its own channel, for several transcripts and bit
    /// counts (0 bits: nonce 0; 14 and 16: answers past the first chunk of 2^14). Up to 9
    /// bits, stwo's `verify_pow_nonce` also refuses every nonce below the answer, in the
    /// order grinding walks them: this module's hash agrees with stwo's on misses as on hits.
    #[test]
    fn grinding_finds_stwos_nonce() {
        let mut past_the_first_chunk = 0;
        for seed in 0..6u64 {
            let mut stwo_channel = Poseidon252Channel::default();
            stwo_channel.mix_u64(seed * 0x9e37_79b9 + 1);
            let ours = ThreadPoseidon252Channel(stwo_channel.clone());
            for bits in [0, 1, 5, 9, 12, 14, 16] {
                if seed > 1 && bits > 9 {
                    continue;
                }
                let nonce = <SimdBackend as GrindOps<ThreadPoseidon252Channel>>::grind(&ours, bits);
                let theirs =
                    <SimdBackend as GrindOps<Poseidon252Channel>>::grind(&stwo_channel, bits);
                assert_eq!(nonce, theirs, "seed {seed}, {bits} bits");
                assert!(stwo_channel.verify_pow_nonce(bits, nonce));
                past_the_first_chunk += usize::from(nonce >> 32 > 0);
                if bits <= 9 {
                    let walked = (0..=nonce >> 32).flat_map(|chunk| {
                        (0..1u64 << GRIND_LOW_BITS).map(move |low| (chunk << 32) | low)
                    });
                    for below in walked.take_while(|n| *n < nonce) {
                        assert!(
                            !stwo_channel.verify_pow_nonce(bits, below),
                            "seed {seed}, {bits} bits, {below}"
                        );
                    }
                }
            }
        }
        // The chunked order is exercised, not only chunk 0 (fixed transcripts: not luck).
        assert!(past_the_first_chunk > 0, "every answer in chunk 0");
    }

    /// The search returns the smallest accepted nonce, wherever it lies among the blocks,
    /// and moves to the next chunk (nonce `(1 << 32) | low`) when a chunk has none.
    #[test]
    fn the_smallest_nonce_wins() {
        let mut x = 0x2545_f491u64;
        for _ in 0..40 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let hits: Vec<u64> = (0..3).map(|i| (x >> (i * 12)) & 0x3fff).collect();
            let got = smallest_nonce(|n| hits.contains(&n), 14);
            assert_eq!(got, *hits.iter().min().expect("three hits"));
        }
        // No hit in chunk 0 (low bits 0..2^12): the answer is in chunk 1.
        let got = smallest_nonce(|n| n >> 32 == 1 && n & 0xfff >= 3000, 12);
        assert_eq!(got, (1 << 32) | 3000);
        assert_eq!(smallest_nonce(|_| true, 12), 0);
        // Hits only several chunks on, the first at a chunk's last nonce.
        let first = (3 << 32) | 0xfff;
        let got = smallest_nonce(
            |n| n == first || n == (5 << 32) || n == (3 << 32) | 0x1000,
            12,
        );
        assert_eq!(got, first);
        // Chunks smaller than a block (2^4 nonces: one block a chunk).
        let got = smallest_nonce(|n| n == (2 << 32) | 15 || n == (3 << 32), 4);
        assert_eq!(got, (2 << 32) | 15);
        assert_eq!(smallest_nonce(|n| n & 0xf == 9, 4), 9);
    }

    /// Grinding time, this module's against stwo's, over many transcripts (each one's nonce is
    /// luck: 2^bits hashes on average). Prints a table:
    /// `cargo test -p zkthread-prover --lib -- --ignored --nocapture grinding_cost`
    /// (`ZKTHREAD_GRIND=bits,transcripts`, default 16,32).
    #[test]
    #[ignore = "measurement: run with --ignored --nocapture"]
    fn grinding_cost() {
        use std::time::{Duration, Instant};
        let (bits, transcripts) = std::env::var("ZKTHREAD_GRIND")
            .ok()
            .and_then(|v| {
                let (b, n) = v.split_once(',')?;
                Some((b.trim().parse().ok()?, n.trim().parse().ok()?))
            })
            .unwrap_or((16u32, 32u64));
        let (mut ours_total, mut stwo_total, mut nonces) = (Duration::ZERO, Duration::ZERO, 0u64);
        for seed in 0..transcripts {
            let mut stwo_channel = Poseidon252Channel::default();
            stwo_channel.mix_u64(seed);
            let ours = ThreadPoseidon252Channel(stwo_channel.clone());
            let t = Instant::now();
            let nonce = <SimdBackend as GrindOps<ThreadPoseidon252Channel>>::grind(&ours, bits);
            ours_total += t.elapsed();
            let t = Instant::now();
            let theirs = <SimdBackend as GrindOps<Poseidon252Channel>>::grind(&stwo_channel, bits);
            stwo_total += t.elapsed();
            assert_eq!(nonce, theirs, "transcript {seed}");
            // The answer's place in the walk: how many hashes a single core would try.
            nonces += (nonce >> 32 << GRIND_LOW_BITS) + (nonce & 0xffff_ffff) + 1;
        }
        let n = transcripts as u32;
        eprintln!("| pow bits | transcripts | mean place of the nonce | stwo 2.3 | this channel | speed-up | rayon threads |");
        eprintln!("|---:|---:|---:|---:|---:|---:|---:|");
        eprintln!(
            "| {bits} | {transcripts} | {} | {:.0?} | {:.0?} | {:.2}x | {} |",
            nonces / transcripts,
            stwo_total / n,
            ours_total / n,
            stwo_total.as_secs_f64() / ours_total.as_secs_f64(),
            rayon::current_num_threads()
        );
    }
}
