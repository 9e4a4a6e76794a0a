//! stwo's `Poseidon252Channel`: the Fiat-Shamir transcript. State = (digest, n_draws); every
//! mix replaces the digest and resets the draw counter; draw i after a mix is
//! hades(digest, i, 3)[0].

use core::poseidon::hades_permutation;
use core::integer::u128_safe_divmod;
use crate::fields::{M31, QM31, P};
use crate::fields::qm31::{Coordinates, coordinates};

/// Domain separator of the proof-of-work hash.
pub const POW_PREFIX: felt252 = 0x12345678;
const TWO_POW_31: felt252 = 0x80000000;
const TWO_POW_32: felt252 = 0x100000000;
/// 2^248: the length tag of a partial u32 / M31 word goes in bits 248..251.
const TWO_POW_248: felt252 = 0x100000000000000000000000000000000000000000000000000000000000000;
const TWO_POW_31_U128_NZ: NonZero<u128> = 0x80000000;
const TWO_POW_32_U128_NZ: NonZero<u128> = 0x100000000;
const TWO_POW_27_U128_NZ: NonZero<u128> = 0x8000000;

/// Poseidon hash of two felts as starknet-crypto's `poseidon_hash` (capacity 2), which is not
/// what `poseidon_hash_span` of a pair gives.
#[inline]
pub fn poseidon_hash_pair(x: felt252, y: felt252) -> felt252 {
    let (r, _, _) = hades_permutation(x, y, 2);
    r
}

/// `core::poseidon::poseidon_hash_span(felts)`, the same sponge and value, absorbing 8 felts per
/// loop iteration where the corelib takes 2: a loop iteration costs a range check (its gas
/// withdrawal) and a few steps of bookkeeping, and the verifier hashes thousands of felts
/// (Merkle leaves, the public input, the channel's mixes).
pub fn poseidon_hash_felts(mut felts: Span<felt252>) -> felt252 {
    let (mut s0, mut s1, mut s2) = (0, 0, 0);
    while let Option::Some(block) = felts.multi_pop_front::<8>() {
        let [f0, f1, f2, f3, f4, f5, f6, f7] = (*block).unbox();
        let (t0, t1, t2) = hades_permutation(s0 + f0, s1 + f1, s2);
        let (t0, t1, t2) = hades_permutation(t0 + f2, t1 + f3, t2);
        let (t0, t1, t2) = hades_permutation(t0 + f4, t1 + f5, t2);
        let (t0, t1, t2) = hades_permutation(t0 + f6, t1 + f7, t2);
        s0 = t0;
        s1 = t1;
        s2 = t2;
    };
    // The tail (up to 7 felts) without a loop: 4, 2, then the odd one with the padding.
    if let Option::Some(block) = felts.multi_pop_front::<4>() {
        let [f0, f1, f2, f3] = (*block).unbox();
        let (t0, t1, t2) = hades_permutation(s0 + f0, s1 + f1, s2);
        let (t0, t1, t2) = hades_permutation(t0 + f2, t1 + f3, t2);
        s0 = t0;
        s1 = t1;
        s2 = t2;
    }
    if let Option::Some(block) = felts.multi_pop_front::<2>() {
        let [f0, f1] = (*block).unbox();
        let (t0, t1, t2) = hades_permutation(s0 + f0, s1 + f1, s2);
        s0 = t0;
        s1 = t1;
        s2 = t2;
    }
    // The corelib's `HashState::finalize`: a 1 after the last felt.
    let (hash, _, _) = match felts.pop_front() {
        Option::Some(last) => hades_permutation(s0 + *last, s1 + 1, s2),
        Option::None => hades_permutation(s0 + 1, s1, s2),
    };
    hash
}

#[derive(Copy, Drop, Debug, PartialEq, Serde, Default)]
pub struct Poseidon252Channel {
    pub digest: felt252,
    pub n_draws: u32,
}

/// A 31-bit chunk (below 2^31) reduced mod P: only P itself changes.
#[inline]
fn chunk_to_m31(chunk: u128) -> M31 {
    let value: u32 = chunk.try_into().unwrap();
    if value == P {
        M31 { inner: 0 }
    } else {
        M31 { inner: value }
    }
}

/// Splits `value` into `count` 31-bit chunks, least significant first.
fn push_31_bit_chunks(ref out: Array<M31>, value: u128, count: u32) -> u128 {
    let mut rest = value;
    let mut i = 0;
    while i != count {
        let (next, chunk) = u128_safe_divmod(rest, TWO_POW_31_U128_NZ);
        out.append(chunk_to_m31(chunk));
        rest = next;
        i += 1;
    };
    rest
}

#[generate_trait]
pub impl Poseidon252ChannelImpl of ChannelTrait {
    #[inline]
    fn new() -> Poseidon252Channel {
        Poseidon252Channel { digest: 0, n_draws: 0 }
    }

    #[inline]
    fn update_digest(ref self: Poseidon252Channel, new_digest: felt252) {
        self.digest = new_digest;
        self.n_draws = 0;
    }

    /// `MerkleChannel::mix_root` of stwo's `Poseidon252MerkleChannel`.
    #[inline]
    fn mix_root(ref self: Poseidon252Channel, root: felt252) {
        self.update_digest(poseidon_hash_pair(self.digest, root));
    }

    fn mix_u64(ref self: Poseidon252Channel, value: u64) {
        self.update_digest(poseidon_hash_pair(self.digest, value.into()));
    }

    /// Mixes QM31s two at a time: each pair's 8 M31 coordinates (4 for an odd last one) are
    /// packed big-endian in base 2^31 behind a leading 1.
    fn mix_felts(ref self: Poseidon252Channel, felts: Span<QM31>) {
        let mut words: Array<felt252> = array![self.digest];
        let mut rest = felts;
        loop {
            let first = match rest.pop_front() {
                Option::Some(first) => *first,
                Option::None => { break; },
            };
            let mut word = pack_coordinates(1, coordinates(first));
            match rest.pop_front() {
                Option::Some(second) => { word = pack_coordinates(word, coordinates(*second)); },
                Option::None => {},
            }
            words.append(word);
        };
        self.update_digest(poseidon_hash_felts(words.span()));
    }

    /// `mix_felts` of QM31s given by canonical coordinates (the same words, the same digest).
    fn mix_coordinates(ref self: Poseidon252Channel, values: Span<Coordinates>) {
        let mut words: Array<felt252> = array![];
        for value in values {
            let (a, b, c, d) = *value;
            words.append(a);
            words.append(b);
            words.append(c);
            words.append(d);
        };
        self.mix_words(words.span());
    }

    /// `mix_felts` of QM31s given as their canonical coordinates, four words a value in order
    /// (the proof's sampled values as the proof reader hands them out, one flat list): each
    /// pair's eight words packed big-endian behind a 1, a last odd value's four likewise, in
    /// one pass over the list (no value or column taken apart), two pairs an iteration.
    /// Panics unless `words` holds whole values (the PCS checks its length first).
    fn mix_words(ref self: Poseidon252Channel, words: Span<felt252>) {
        let mut input: Array<felt252> = array![self.digest];
        let mut rest = words;
        while let Option::Some(block) = rest.multi_pop_front::<16>() {
            let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, q] = (*block).unbox();
            input.append(pack_eight(a, b, c, d, e, f, g, h));
            input.append(pack_eight(i, j, k, l, m, n, o, q));
        };
        if let Option::Some(pair) = rest.multi_pop_front::<8>() {
            let [a, b, c, d, e, f, g, h] = (*pair).unbox();
            input.append(pack_eight(a, b, c, d, e, f, g, h));
        }
        if let Option::Some(last) = rest.multi_pop_front::<4>() {
            let [a, b, c, d] = (*last).unbox();
            input.append(pack_coordinates(1, (a, b, c, d)));
        }
        assert(rest.is_empty(), 'channel: partial value');
        self.update_digest(poseidon_hash_felts(input.span()));
    }

    /// Mixes u32s in big-endian groups of 7 per felt252; a short last group is zero-padded and
    /// tagged with its length in bits 248..251.
    fn mix_u32s(ref self: Poseidon252Channel, data: Span<u32>) {
        let mut words: Array<felt252> = array![self.digest];
        let mut rest = data;
        while rest.len() != 0 {
            let mut word: felt252 = 0;
            let mut taken: u32 = 0;
            let mut real: u32 = 0;
            while taken != 7 {
                let value: felt252 = match rest.pop_front() {
                    Option::Some(v) => {
                        real += 1;
                        (*v).into()
                    },
                    Option::None => 0,
                };
                word = word * TWO_POW_32 + value;
                taken += 1;
            };
            // Only the last group can be short.
            if real != 7 {
                word = word + real.into() * TWO_POW_248;
            }
            words.append(word);
        };
        self.update_digest(poseidon_hash_felts(words.span()));
    }

    /// One random felt252: hades(digest, n_draws, 3)[0] (3 separates draws from mixes).
    fn draw_secure_felt252(ref self: Poseidon252Channel) -> felt252 {
        let (result, _, _) = hades_permutation(self.digest, self.n_draws.into(), 3);
        self.n_draws += 1;
        result
    }

    /// The 8 M31s stwo takes from one draw: 31-bit chunks of the felt252, low first.
    fn draw_base_felts(ref self: Poseidon252Channel) -> Array<M31> {
        let value: u256 = self.draw_secure_felt252().into();
        let mut out: Array<M31> = array![];
        // Chunks 0..3 are bits 0..124 of the low word; chunk 4 straddles the two words.
        let low_rest = push_31_bit_chunks(ref out, value.low, 4);
        let (high_rest, high_low_bits) = u128_safe_divmod(value.high, TWO_POW_27_U128_NZ);
        out.append(chunk_to_m31(low_rest + high_low_bits * 16));
        push_31_bit_chunks(ref out, high_rest, 3);
        out
    }

    /// A QM31 from the first four M31 chunks of one draw.
    fn draw_secure_felt(ref self: Poseidon252Channel) -> QM31 {
        let value: u256 = self.draw_secure_felt252().into();
        // Only bits 0..124 are needed: skip the high word entirely.
        let (r1, c0) = u128_safe_divmod(value.low, TWO_POW_31_U128_NZ);
        let (r2, c1) = u128_safe_divmod(r1, TWO_POW_31_U128_NZ);
        let (c3, c2) = u128_safe_divmod(r2, TWO_POW_31_U128_NZ);
        let (_, c3) = u128_safe_divmod(c3, TWO_POW_31_U128_NZ);
        QM31 {
            a: crate::fields::CM31 { a: chunk_to_m31(c0), b: chunk_to_m31(c1) },
            b: crate::fields::CM31 { a: chunk_to_m31(c2), b: chunk_to_m31(c3) },
        }
    }

    /// `n` QM31s, two per draw (the second half of the last draw is dropped when `n` is odd).
    fn draw_secure_felts(ref self: Poseidon252Channel, n: u32) -> Array<QM31> {
        let mut out: Array<QM31> = array![];
        while out.len() != n {
            let base = self.draw_base_felts();
            let b = base.span();
            out
                .append(
                    QM31 {
                        a: crate::fields::CM31 { a: *b[0], b: *b[1] },
                        b: crate::fields::CM31 { a: *b[2], b: *b[3] },
                    },
                );
            if out.len() != n {
                out
                    .append(
                        QM31 {
                            a: crate::fields::CM31 { a: *b[4], b: *b[5] },
                            b: crate::fields::CM31 { a: *b[6], b: *b[7] },
                        },
                    );
            }
        };
        out
    }

    /// 7 u32s: 32-bit chunks of one draw, low first (bits 224.. are dropped).
    fn draw_u32s(ref self: Poseidon252Channel) -> Array<u32> {
        let value: u256 = self.draw_secure_felt252().into();
        let mut out: Array<u32> = array![];
        let mut rest = value.low;
        let mut i = 0;
        while i != 4 {
            let (next, word) = u128_safe_divmod(rest, TWO_POW_32_U128_NZ);
            out.append(word.try_into().unwrap());
            rest = next;
            i += 1;
        };
        rest = value.high;
        while i != 7 {
            let (next, word) = u128_safe_divmod(rest, TWO_POW_32_U128_NZ);
            out.append(word.try_into().unwrap());
            rest = next;
            i += 1;
        };
        out
    }

    /// stwo's `draw_queries`: `n_queries` positions in [0, 2^log_domain_size), unsorted,
    /// with repetitions, 7 per draw.
    fn draw_queries(
        ref self: Poseidon252Channel, log_domain_size: u32, n_queries: u32,
    ) -> Array<u32> {
        assert(log_domain_size <= 32, 'channel: query domain too large');
        let modulus: u64 = if log_domain_size == 32 {
            0x100000000
        } else {
            crate::circle::pow2_u32(log_domain_size).into()
        };
        let modulus_nz: NonZero<u64> = modulus.try_into().unwrap();
        let mut out: Array<u32> = array![];
        while out.len() != n_queries {
            let mut words = self.draw_u32s().span();
            while out.len() != n_queries {
                match words.pop_front() {
                    Option::Some(word) => {
                        let (_, position) = core::integer::u64_safe_divmod(
                            (*word).into(), modulus_nz,
                        );
                        out.append(position.try_into().unwrap());
                    },
                    Option::None => { break; },
                }
            };
        };
        out
    }

    /// True iff hash(hash_many(POW_PREFIX, digest, n_bits), nonce) has at least `n_bits`
    /// trailing zero bits in its low 128 bits (stwo's `verify_pow_nonce`).
    fn verify_pow_nonce(self: @Poseidon252Channel, n_bits: u32, nonce: u64) -> bool {
        let prefixed = core::poseidon::poseidon_hash_span(
            array![POW_PREFIX, *self.digest, n_bits.into()].span(),
        );
        let hash: u256 = poseidon_hash_pair(prefixed, nonce.into()).into();
        if n_bits == 0 {
            return true;
        }
        if n_bits >= 128 {
            // u128::trailing_zeros is at most 128 (for zero).
            return n_bits == 128 && hash.low == 0;
        }
        let mut divisor: u128 = 1;
        let mut i = 0;
        while i != n_bits {
            divisor = divisor * 2;
            i += 1;
        };
        let (_, rem) = u128_safe_divmod(hash.low, divisor.try_into().unwrap());
        rem == 0
    }
}

/// 1 and then eight canonical coordinates in base 2^31, big-endian: `mix_felts`' word for a
/// pair of values.
#[inline(always)]
fn pack_eight(
    a: felt252, b: felt252, c: felt252, d: felt252, e: felt252, f: felt252, g: felt252, h: felt252,
) -> felt252 {
    let mut word = TWO_POW_31 + a;
    word = word * TWO_POW_31 + b;
    word = word * TWO_POW_31 + c;
    word = word * TWO_POW_31 + d;
    word = word * TWO_POW_31 + e;
    word = word * TWO_POW_31 + f;
    word = word * TWO_POW_31 + g;
    word * TWO_POW_31 + h
}

/// `acc * 2^124 + (a, b, c, d)` in base 2^31, big-endian (canonical coordinates).
#[inline]
fn pack_coordinates(acc: felt252, value: Coordinates) -> felt252 {
    let (a, b, c, d) = value;
    let mut word = acc * TWO_POW_31 + a;
    word = word * TWO_POW_31 + b;
    word = word * TWO_POW_31 + c;
    word * TWO_POW_31 + d
}
