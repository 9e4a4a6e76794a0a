//! The thread proof's calldata form (harness/thread-prover/src/serialize.rs):
//! `[n_owners, owner * n_owners, n_m31, packed_m31 * ceil(n_m31 / 8), hash_felt *]`: the
//! input slots' owners (`split_slot_owners`), then the STARK proof (`parse_proof`), M31 values packed 8 per felt at bits
//! 31 j; the M31 stream carries counts, parameters and field values, the felt stream carries
//! hashes and the proof-of-work nonce, both in the order the proof meets them.

use stark_verifier::fields::{M31, QM31, QM31Trait};
use stark_verifier::fields::bounded::{BoundedInt, DivRemHelper};
use stark_verifier::fields::qm31::Coordinates;
use stark_verifier::fri::FriLayerProof;
use stark_verifier::pcs::take_values;

/// The corelib's bounded-integer division by a constant and upcast (audited; crate-private in
/// our 2.9 corelib, so declared here with the same signatures, as `thread_statement::ids` does).
extern fn bounded_int_div_rem<Lhs, Rhs, impl H: DivRemHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: NonZero<Rhs>,
) -> (H::DivT, H::RemT) implicits(core::RangeCheck) nopanic;
extern fn upcast<FromType, ToType>(x: FromType) -> ToType nopanic;

type U128 = BoundedInt<0, 0xffffffffffffffffffffffffffffffff>;
type U97 = BoundedInt<0, 0x1ffffffffffffffffffffffff>;
type U31 = BoundedInt<0, 0x7fffffff>;
type Const2Pow31 = BoundedInt<0x80000000, 0x80000000>;
impl U128By2Pow31 of DivRemHelper<U128, Const2Pow31> {
    type DivT = U97;
    type RemT = U31;
}
const TWO_POW_31_NZ: NonZero<Const2Pow31> = 0x80000000;

/// P as a stream word: the one 31-bit value that is not a canonical M31.
const P_FELT: felt252 = 0x7fffffff;

/// Upper bound on any count (the prover's `MAX_COUNT`).
const MAX_COUNT: u32 = 0x1000000;

/// stwo's `CommitmentSchemeProof` + the thread proof's own fields, decoded.
#[derive(Drop, Copy)]
pub struct ThreadProof {
    pub log_n_rows: u32,
    pub range_check_claimed_sum: QM31,
    pub pow_bits: u32,
    pub log_blowup: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    pub lifting: u32,
    pub commitments: Span<felt252>,
    /// Per tree, per column, the values at the column's sample points (canonical
    /// coordinates, [`sampled_columns`]).
    pub sampled_values: Span<Span<Span<Coordinates>>>,
    /// The same values as one flat list, four words each (what the PCS takes).
    pub sampled_words: Span<felt252>,
    /// Per tree, the Merkle hash witness.
    pub decommitments: Span<Span<felt252>>,
    /// Per tree, per column, the values at the query positions.
    pub queried_values: Span<Span<Span<felt252>>>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

/// Masks of the packed words inside the two u128 halves of a packed felt: words 0..3 in `low`
/// (above them, bits 124..128 hold the low 4 bits of word 4), the rest of word 4 and words 5..7
/// in `high` (above them, bits 120..128 are the felt's bits 248..256, which must be clear). The
/// two pieces above the masks are what is left of each half once its masked words are taken
/// away: a subtraction each, where a mask costs a bitwise builtin (priced as 64 steps).
const W0: u128 = 0x7fffffff;
const W1: u128 = 0x3fffffff80000000;
const W2: u128 = 0x1fffffffc000000000000000;
const W3: u128 = 0xfffffffe00000000000000000000000;
const W4_HIGH: u128 = 0x7ffffff;
const W5: u128 = 0x3fffffff8000000;
const W6: u128 = 0x1fffffffc00000000000000;
const W7: u128 = 0xfffffffe0000000000000000000000;
/// 2^-k in felt252: a masked word times it is the word shifted down (an exact division).
const INV_2_31: felt252 = 0x7fffffff0000010ffffffde0000000000000000000000000000000000000001;
const INV_2_62: felt252 = 0x800000000000010dfffffffffffffbc00000000000000000000000000000001;
const INV_2_93: felt252 = 0x800000000000010ffffffffbfffffffffffff78000000000000000000000001;
const INV_2_124: felt252 = 0x800000000000010ffffffffffffffff7ffffffffffffef00000000000000001;
const INV_2_27: felt252 = 0x7ffffff00000010fffffde00000000000000000000000000000000000000001;
const INV_2_58: felt252 = 0x80000000000000efffffffffffffbc000000000000000000000000000000001;
const INV_2_89: felt252 = 0x800000000000010fffffffbfffffffffffff780000000000000000000000001;
const TWO_POW_4_FELT: felt252 = 0x10;

/// How a packed felt's low half (words 0..3 at bits 31 j, then word 4's low 4 bits at
/// 124..128) is cut into `(w0, w1, w2, w3, w4_low)`, each an integer below 2^31 (`w4_low`
/// below 16): by four bitwise masks ([`Masked`]), or word 0 by a bounded division and the rest
/// by three masks on the quotient ([`Divided`]): one bitwise builtin (priced as 64 steps) for 3
/// range checks (16 each) and ~2 steps. Starknet charges a transaction's heaviest resource
/// only, so a program whose verification the bitwise builtin prices (the order book: 8 masks
/// a felt) takes `Divided`, one priced by steps (the token) `Masked`, and one where the two
/// are close ([`Mixed`], the list program) a share of each.
pub trait LowWords<T> {
    /// Appends the 8 words of one packed felt to `out` (`append_words`) and returns the
    /// felt's bits above 248 (zero for a valid felt).
    fn unpack_felt(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252;
    /// `unpack_felt` for six of every eight felts of a block (all but the sixth and the
    /// eighth): the same words, cut the way the impl shares out (see [`Mixed`]); by default
    /// cut as every other felt.
    #[inline(always)]
    fn unpack_shared_felt(
        packed: felt252, ref out: Array<felt252>, ref canonical: felt252,
    ) -> felt252 {
        Self::unpack_felt(packed, ref out, ref canonical)
    }
}

/// The low half by four masks (the token's verifier).
#[derive(Drop, Copy)]
pub struct Masked {}

/// Word 0 by a bounded division, the rest by three masks (the order book's verifier).
#[derive(Drop, Copy)]
pub struct Divided {}

/// Six felts of every block of eight `Divided`, the rest (and the up to seven felts after the
/// last block) `Masked` (the list verifier's). Both of its parameter sets were priced by the
/// bitwise builtin under `Masked` (on a 256-transfer list proof at 2^4 x 20 + 16: 24,167
/// masks, 1.547e8 L2 gas, steps ~1.5e8); all `Divided` would leave steps the price with
/// ~6.2k more of them (2.13 a felt). Three in eight moved 1,092 masks to range checks for
/// ~2.2k steps (session 43); the fourth (session 57) 373 more for ~700 steps, once the fast
/// set's steps fell under 1.5e8: 23,251 masks (1.488e8) against 1,497,012 steps and holes.
/// Session 59's proof format left the bitwise builtin pricing the fast set again (21,631
/// masks, 1.384e8, against 1,353,859 steps and holes): the fifth and sixth moved 692 more
/// for ~1.4k steps (1.355e8, steps the price; the shipped set 1.189e8 -> 1.190e8).
#[derive(Drop, Copy)]
pub struct Mixed {}

impl MaskedLowWords of LowWords<Masked> {
    #[inline(always)]
    fn unpack_felt(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252 {
        unpack_masked(packed, ref out, ref canonical)
    }
}

impl DividedLowWords of LowWords<Divided> {
    #[inline(always)]
    fn unpack_felt(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252 {
        unpack_divided(packed, ref out, ref canonical)
    }
}

impl MixedLowWords of LowWords<Mixed> {
    #[inline(always)]
    fn unpack_felt(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252 {
        unpack_masked(packed, ref out, ref canonical)
    }
    #[inline(always)]
    fn unpack_shared_felt(
        packed: felt252, ref out: Array<felt252>, ref canonical: felt252,
    ) -> felt252 {
        unpack_divided(packed, ref out, ref canonical)
    }
}

/// The low half by four masks.
#[inline(always)]
fn unpack_masked(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252 {
    let value: u256 = packed.into();
    let low = value.low;
    let m0: felt252 = (low & W0).into();
    let m1: felt252 = (low & W1).into();
    let m2: felt252 = (low & W2).into();
    let m3: felt252 = (low & W3).into();
    // The bits outside the disjoint masks, in place: bits 124..128.
    let low_top: felt252 = low.into() - m0 - m1 - m2 - m3;
    let low_words = (m0, m1 * INV_2_31, m2 * INV_2_62, m3 * INV_2_93, low_top * INV_2_124);
    append_words(low_words, value.high, ref out, ref canonical)
}

/// Word 0 by a bounded division, the rest of the low half by three masks on the quotient.
#[inline(always)]
fn unpack_divided(packed: felt252, ref out: Array<felt252>, ref canonical: felt252) -> felt252 {
    let value: u256 = packed.into();
    // low = q 2^31 + w0 with q below 2^97: words 1..3 are q's words 0..2, and word 4's
    // low bits are q's bits 93..97.
    let (q, w0) = bounded_int_div_rem(upcast::<u128, U128>(value.low), TWO_POW_31_NZ);
    let q: u128 = upcast(q);
    let m1: felt252 = (q & W0).into();
    let m2: felt252 = (q & W1).into();
    let m3: felt252 = (q & W2).into();
    let q_top: felt252 = q.into() - m1 - m2 - m3;
    let low_words = (upcast(w0), m1, m2 * INV_2_31, m3 * INV_2_62, q_top * INV_2_93);
    append_words(low_words, value.high, ref out, ref canonical)
}

/// The M31 stream, unpacked: the 8 raw 31-bit words of each packed felt (word j at bits 31 j),
/// the last felt's padding included, as felt252 integers, and the index of the first word
/// equal to P (the non-canonical value), if any. None if a felt has bits above 248 set. Values
/// are checked here, 8 per felt, so that the reader can hand out views of the stream without a
/// pass per value; a non-canonical one is still refused by the read that meets it (`Reader`),
/// with the reason that read gives. Words are cut out with bitwise masks and shifted down by an
/// exact felt252 division (a u128 division per word costs twice as many steps). They stay
/// felt252: a u32 costs 2 range checks per value (a range check weighs 16 steps in Starknet's
/// price), and the queried values, most of the stream, are only hashed and summed as integers.
pub(crate) fn unpack_m31s<T, +LowWords<T>>(
    packed: Span<felt252>,
) -> Option<(Array<felt252>, Option<u32>)> {
    let mut out: Array<felt252> = array![];
    // The product of `word - P` over every word: zero iff some word is P. Kept as a running
    // product rather than tested per felt, so that no word has to outlive a branch (a word
    // kept for one costs a local per word); the first P is looked for only when there is one.
    let mut canonical: felt252 = 1;
    let mut packed = packed;
    let mut ok = true;
    // Eight felts per iteration: a loop iteration costs a range check and ~10 steps of its own
    // (four per iteration: +9.8k steps on a 32-transfer SIGNED_PARAMS proof, for 560 fewer
    // CASM felts). The eight felts' bits above 248 are summed (each below 2^128, so the sum is
    // zero iff all are): one branch per eight felts, taken after their words are out (a branch
    // per felt made every word of the iteration a stored temporary).
    while let Option::Some(eight) = packed.multi_pop_front::<8>() {
        let [a, b, c, d, e, f, g, h] = (*eight).unbox();
        let above = LowWords::<T>::unpack_shared_felt(a, ref out, ref canonical)
            + LowWords::<T>::unpack_shared_felt(b, ref out, ref canonical)
            + LowWords::<T>::unpack_shared_felt(c, ref out, ref canonical)
            + LowWords::<T>::unpack_shared_felt(d, ref out, ref canonical)
            + LowWords::<T>::unpack_shared_felt(e, ref out, ref canonical)
            + LowWords::<T>::unpack_felt(f, ref out, ref canonical)
            + LowWords::<T>::unpack_shared_felt(g, ref out, ref canonical)
            + LowWords::<T>::unpack_felt(h, ref out, ref canonical);
        if above != 0 {
            ok = false;
            break;
        }
    };
    // The last (up to seven) felts, one at a time.
    if ok {
        while let Option::Some(last) = packed.pop_front() {
            if LowWords::<T>::unpack_felt(*last, ref out, ref canonical) != 0 {
                ok = false;
                break;
            }
        };
    }
    if !ok {
        return Option::None;
    }
    let first_bad = if canonical == 0 {
        Option::Some(first_p(out.span()))
    } else {
        Option::None
    };
    Option::Some((out, first_bad))
}

/// Appends the 8 words of one packed felt to `out` from its low half's words (`low_words`,
/// cut by a [`LowWords`] impl: `(w0, w1, w2, w3, w4_low)`) and its high half, multiplying
/// `canonical` by `word - P` for each, and returns the felt's bits above 248 (in place, below
/// 2^128; zero for a valid felt).
#[inline(always)]
fn append_words(
    low_words: (felt252, felt252, felt252, felt252, felt252),
    high: u128,
    ref out: Array<felt252>,
    ref canonical: felt252,
) -> felt252 {
    let (w0, w1, w2, w3, w4_low) = low_words;
    let m4: felt252 = (high & W4_HIGH).into();
    let m5: felt252 = (high & W5).into();
    let m6: felt252 = (high & W6).into();
    let m7: felt252 = (high & W7).into();
    // The masks cover disjoint bits, so the remainder is the half's bits outside them, in
    // place: below 2^128 and non-negative.
    let above: felt252 = high.into() - m4 - m5 - m6 - m7;
    // Each is below 2^31 by its mask.
    let w4 = w4_low + m4 * TWO_POW_4_FELT;
    let w5 = m5 * INV_2_27;
    let w6 = m6 * INV_2_58;
    let w7 = m7 * INV_2_89;
    // A product of field elements is zero iff a factor is.
    canonical = canonical * (w0 - P_FELT) * (w1 - P_FELT) * (w2 - P_FELT) * (w3 - P_FELT)
        * (w4 - P_FELT) * (w5 - P_FELT) * (w6 - P_FELT) * (w7 - P_FELT);
    out.append(w0);
    out.append(w1);
    out.append(w2);
    out.append(w3);
    out.append(w4);
    out.append(w5);
    out.append(w6);
    out.append(w7);
    above
}

/// Index of the first word equal to P (the length if none).
fn first_p(words: Span<felt252>) -> u32 {
    let mut j = 0;
    for word in words {
        if *word == P_FELT {
            break;
        }
        j += 1;
    };
    j
}

/// A stream word (below 2^31 by its mask) as a u32.
#[inline(always)]
fn word_u32(word: felt252) -> u32 {
    word.try_into().unwrap()
}

/// A stream word the reader has checked canonical, as an M31.
#[inline(always)]
fn word_m31(word: felt252) -> M31 {
    M31 { inner: word_u32(word) }
}

/// Four checked stream words as a QM31.
#[inline(always)]
fn qm31_of(a: felt252, b: felt252, c: felt252, d: felt252) -> QM31 {
    QM31Trait::from_m31s(word_m31(a), word_m31(b), word_m31(c), word_m31(d))
}

#[derive(Drop)]
struct Reader {
    /// The rest of the M31 stream, raw words (< 2^31).
    m31s: Span<felt252>,
    felts: Span<felt252>,
    error: felt252,
    /// Values from the stream's first non-canonical one to its end (0: all canonical). A read
    /// of k field values from the front of `m31s` meets it iff k + bad_tail > m31s.len().
    bad_tail: u32,
}

#[generate_trait]
impl ReaderImpl of ReaderTrait {
    /// A count (<= MAX_COUNT); records an error and returns 0 when missing or too big.
    #[inline(never)]
    fn count(ref self: Reader) -> u32 {
        match self.m31s.pop_front() {
            Option::Some(v) => {
                let v = word_u32(*v);
                if v > MAX_COUNT {
                    self.fail('proof: count out of range');
                    0
                } else {
                    v
                }
            },
            Option::None => {
                self.fail('proof: truncated');
                0
            },
        }
    }
    #[inline(never)]
    fn m31(ref self: Reader) -> M31 {
        match self.m31s.pop_front() {
            Option::Some(v) => {
                if *v == P_FELT {
                    self.fail('proof: M31 not canonical');
                    M31 { inner: 0 }
                } else {
                    word_m31(*v)
                }
            },
            Option::None => {
                self.fail('proof: truncated');
                M31 { inner: 0 }
            },
        }
    }
    fn qm31(ref self: Reader) -> QM31 {
        let a = self.m31();
        let b = self.m31();
        let c = self.m31();
        let d = self.m31();
        QM31Trait::from_m31s(a, b, c, d)
    }
    fn qm31s(ref self: Reader) -> Span<QM31> {
        let n = self.count();
        let mut out: Array<QM31> = array![];
        if self.error != 0 {
            return out.span();
        }
        let error = self.words_refusal(4 * n.into());
        if error != 0 {
            self.fail(error);
            return out.span();
        }
        // The first 4 n values of the stream are there: pop them in place, 4 at a time.
        let mut values = self.m31s;
        while out.len() != n {
            match values.multi_pop_front::<4>() {
                Option::Some(block) => {
                    let [a, b, c, d] = (*block).unbox();
                    out.append(qm31_of(a, b, c, d));
                },
                Option::None => { break; },
            }
        };
        self.m31s = values;
        out.span()
    }
    /// Why the stream's next `words` words cannot be taken as values, 0 if they can: fewer
    /// are left ('proof: truncated'), or they reach its first non-canonical word, `bad_tail`
    /// words from its end ('proof: M31 not canonical'). The one check of every read that takes
    /// a block of words at once; out of line (several reads call it, and inlined it costs the
    /// order book's class, near its limit, ~60 CASM felts).
    #[inline(never)]
    fn words_refusal(self: @Reader, words: u64) -> felt252 {
        let len: u64 = (*self.m31s).len().into();
        if words > len {
            'proof: truncated'
        } else if words + (*self.bad_tail).into() > len {
            'proof: M31 not canonical'
        } else {
            0
        }
    }
    /// A tree's sampled-value shape: `n_runs`, then per run its column count and its values
    /// per column (`Writer::sampled_shapes_and_values` in the prover), the run words handed out as a
    /// view of the stream. Every tree's shape comes before any value (the values follow as one
    /// flat list, `sampled_words`), so that the values are the channel's and the AIR classes'
    /// input as they stand; `n_values` grows by the tree's. A tree is a few components, each a
    /// run (almost every column one value): a few words give its shape. Refused: a run of no
    /// column or no value (it would cost no word, so the stream would no longer bound the
    /// counts) and neighbouring runs with as many values per column (the prover merges them):
    /// one encoding per proof.
    fn sampled_shape(ref self: Reader, ref n_values: u64) -> Span<felt252> {
        let n_runs = self.count();
        let runs = self.m31s;
        let mut r = 0;
        // The run before's values per column, 0 (no run has) at first.
        let mut previous = 0;
        while r != n_runs && self.error == 0 {
            let n_cols = self.count();
            let values = self.count();
            if self.error != 0 {
                break;
            }
            if values == 0 || n_cols == 0 {
                self.fail('proof: empty sampled run');
            } else if values == previous {
                self.fail('proof: split sampled run');
            } else {
                // Both counts are at most MAX_COUNT (2^24), and the total so far is at most a
                // quarter of the stream (below 2^27 words): no overflow.
                n_values += n_cols.into() * values.into();
                if 4 * n_values > self.m31s.len().into() {
                    self.fail('proof: truncated');
                }
            }
            previous = values;
            r += 1;
        };
        if self.error != 0 {
            return array![].span();
        }
        runs.slice(0, 2 * n_runs)
    }
    /// The `n_values` sampled values after the shapes, four words each, as one view of the
    /// stream after one check of its words (all present, all before the stream's first
    /// non-canonical word): canonical coordinates, which the channel, the AIR classes and
    /// the DEEP quotients use as felt252 integers (a `u32` per coordinate would cost a range
    /// check). Until session 59 each tree's runs carried their values and the reader built a
    /// list per column, which the verifier packed again for the channel and copied again for
    /// the AIR classes (~36 steps a value each).
    fn sampled_words(ref self: Reader, n_values: u64) -> Span<felt252> {
        let error = self.words_refusal(4 * n_values);
        if error != 0 {
            self.fail(error);
            return array![].span();
        }
        // Below the stream's length (checked): a u32.
        let n_words: u32 = (4 * n_values).try_into().unwrap();
        let words = self.m31s.slice(0, n_words);
        self.m31s = self.m31s.slice(n_words, self.m31s.len() - n_words);
        words
    }
    /// `n_cols` lists of `n` M31s each, a tree's queried values: every column of a tree is
    /// queried at the same rows (one per distinct query position), so the proof carries one
    /// row count `n` for the tree and none per column. Views of the stream, no copy, eight
    /// columns per iteration: the tree's words are checked once, all present and all before
    /// the stream's first non-canonical word, so that no column needs a check of its own.
    /// (Until session 58 each column had a count word: ~1,150 more words to unpack in an
    /// order-book proof, and a check per column.) Columns without rows are refused: they would
    /// cost no word, so the stream would no longer bound how many a tree can claim.
    fn m31_columns(ref self: Reader, n_cols: u32, n: u32) -> Array<Span<felt252>> {
        let mut out: Array<Span<felt252>> = array![];
        let m31s = self.m31s;
        // Rows of no column are refused too: a proof has one encoding. Both counts are at
        // most MAX_COUNT (2^24): the product fits a u64.
        let error = if (n == 0) != (n_cols == 0) {
            'proof: queried rows'
        } else {
            self.words_refusal(n_cols.into() * n.into())
        };
        if error != 0 {
            self.fail(error);
            return out;
        }
        // n <= MAX_COUNT (2^24): every offset below (at most 8 n) fits a u32.
        let s1 = n;
        let s2 = s1 + n;
        let s3 = s2 + n;
        let s4 = s3 + n;
        let s5 = s4 + n;
        let s6 = s5 + n;
        let s7 = s6 + n;
        let block_words = s7 + n;
        let (blocks, last) = DivRem::div_rem(n_cols, 8);
        // Counted down in felt252: no u32 arithmetic per block.
        let mut blocks: felt252 = blocks.into();
        let mut rest = m31s;
        while blocks != 0 {
            out.append(rest.slice(0, n));
            out.append(rest.slice(s1, n));
            out.append(rest.slice(s2, n));
            out.append(rest.slice(s3, n));
            out.append(rest.slice(s4, n));
            out.append(rest.slice(s5, n));
            out.append(rest.slice(s6, n));
            out.append(rest.slice(s7, n));
            rest = rest.slice(block_words, rest.len() - block_words);
            blocks -= 1;
        };
        let mut last: felt252 = last.into();
        while last != 0 {
            out.append(rest.slice(0, n));
            rest = rest.slice(n, rest.len() - n);
            last -= 1;
        };
        self.m31s = rest;
        out
    }
    #[inline(never)]
    fn hash(ref self: Reader) -> felt252 {
        match self.felts.pop_front() {
            Option::Some(h) => *h,
            Option::None => {
                self.fail('proof: truncated');
                0
            },
        }
    }
    #[inline(never)]
    fn hashes(ref self: Reader) -> Span<felt252> {
        let n = self.count();
        if self.error != 0 {
            return array![].span();
        }
        if self.felts.len() < n {
            self.fail('proof: truncated');
            return array![].span();
        }
        let out = self.felts.slice(0, n);
        self.felts = self.felts.slice(n, self.felts.len() - n);
        out
    }
    #[inline(never)]
    fn layer(ref self: Reader) -> FriLayerProof {
        let fri_witness = self.qm31s();
        let hash_witness = self.hashes();
        let root = self.hash();
        FriLayerProof { fri_witness, hash_witness, root }
    }
    #[inline(never)]
    fn fail(ref self: Reader, reason: felt252) {
        if self.error == 0 {
            self.error = reason;
        }
    }
}

/// The sampled values per tree and column from the reader's shapes (`sampled_shape`: runs
/// of `(columns, values per column)`) and flat words (`sampled_words`), which it checked to
/// agree: the thread program's verifier evaluates its AIR on values per column.
pub fn sampled_columns(
    shape: Span<Span<felt252>>, words: Span<felt252>,
) -> Span<Span<Span<Coordinates>>> {
    let mut words = words;
    let mut trees: Array<Span<Span<Coordinates>>> = array![];
    for tree in shape {
        let mut runs = *tree;
        let mut columns: Array<Span<Coordinates>> = array![];
        while let Option::Some(run) = runs.multi_pop_front::<2>() {
            let [n_cols, n_values] = (*run).unbox();
            let n_values: u32 = word_u32(n_values);
            let mut k = n_cols;
            while k != 0 {
                columns.append(take_values(ref words, n_values));
                k -= 1;
            };
        };
        trees.append(columns.span());
    };
    trees.span()
}

/// Splits the proof calldata into the input slots' owners and the STARK proof felts.
pub fn split_slot_owners(
    felts: Span<felt252>,
) -> Result<(Span<felt252>, Span<felt252>), felt252> {
    if felts.len() == 0 {
        return Result::Err('proof: truncated');
    }
    let n: u32 = match (*felts[0]).try_into() {
        Option::Some(n) => n,
        Option::None => { return Result::Err('proof: owner count'); },
    };
    if n > MAX_COUNT || felts.len() <= n {
        return Result::Err('proof: truncated');
    }
    Result::Ok((felts.slice(1, n), felts.slice(1 + n, felts.len() - 1 - n)))
}

/// Decodes a thread proof (header `log_n_rows, range_check_claimed_sum`); Err(reason) on any
/// malformed input (never panics on hostile calldata).
pub fn parse_proof(felts: Span<felt252>) -> Result<ThreadProof, felt252> {
    let (counts, sums, s) = parse_stark_proof::<Masked>(felts, 1, 1)?;
    Result::Ok(
        ThreadProof {
            log_n_rows: *counts[0],
            range_check_claimed_sum: *sums[0],
            pow_bits: s.pow_bits,
            log_blowup: s.log_blowup,
            log_last_layer_degree_bound: s.log_last_layer_degree_bound,
            n_queries: s.n_queries,
            fold_step: s.fold_step,
            lifting: s.lifting,
            commitments: s.commitments,
            sampled_values: sampled_columns(s.sampled_shape, s.sampled_words),
            sampled_words: s.sampled_words,
            decommitments: s.decommitments,
            queried_values: s.queried_values,
            proof_of_work: s.proof_of_work,
            fri_first_layer: s.fri_first_layer,
            fri_inner_layers: s.fri_inner_layers,
            fri_last_layer_poly: s.fri_last_layer_poly,
        },
    )
}

/// stwo's `CommitmentSchemeProof`, decoded: the part every program's proof shares.
#[derive(Drop, Copy)]
pub struct StarkPart {
    pub pow_bits: u32,
    pub log_blowup: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    pub lifting: u32,
    pub commitments: Span<felt252>,
    /// Per tree, its sampled values' runs: `(columns, values per column)` words.
    pub sampled_shape: Span<Span<felt252>>,
    /// Every tree's sampled values in order, canonical coordinates, four words each.
    pub sampled_words: Span<felt252>,
    pub decommitments: Span<Span<felt252>>,
    pub queried_values: Span<Span<Span<felt252>>>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

/// Decodes the STARK proof felts (after the owners) of any program: the program's header —
/// `n_counts` counts then `n_sums` QM31 values at the start of the M31 stream — and stwo's
/// proof. Err(reason) on any malformed input (never panics on hostile calldata).
pub fn parse_stark_proof<T, +LowWords<T>>(
    felts: Span<felt252>, n_counts: u32, n_sums: u32,
) -> Result<(Span<u32>, Span<QM31>, StarkPart), felt252> {
    let mut felts = felts;
    let n_m31: u32 = match felts.pop_front() {
        Option::Some(n) => match (*n).try_into() {
            Option::Some(n) => n,
            Option::None => { return Result::Err('proof: m31 count'); },
        },
        Option::None => { return Result::Err('proof: truncated'); },
    };
    if n_m31 > MAX_COUNT * 8 {
        return Result::Err('proof: m31 count');
    }
    let n_packed = (n_m31 + 7) / 8;
    if felts.len() < n_packed {
        return Result::Err('proof: truncated');
    }
    let (m31s, first_bad) = match unpack_m31s::<T>(felts.slice(0, n_packed)) {
        Option::Some(unpacked) => unpacked,
        Option::None => { return Result::Err('proof: bad m31 packing'); },
    };
    // The last felt's slots beyond n_m31 are padding: zero.
    let mut padding_ok = true;
    for value in m31s.span().slice(n_m31, m31s.len() - n_m31) {
        if *value != 0 {
            padding_ok = false;
        }
    };
    if !padding_ok {
        return Result::Err('proof: bad m31 packing');
    }
    // A non-canonical value is refused by the read that meets it (`Reader`); one in the
    // padding was refused above.
    let bad_tail = match first_bad {
        Option::Some(index) => n_m31 - index,
        Option::None => 0,
    };
    let mut r = Reader {
        m31s: m31s.span().slice(0, n_m31),
        felts: felts.slice(n_packed, felts.len() - n_packed),
        error: 0,
        bad_tail,
    };

    let mut counts: Array<u32> = array![];
    while counts.len() != n_counts {
        counts.append(r.count());
    };
    let mut sums: Array<QM31> = array![];
    while sums.len() != n_sums {
        sums.append(r.qm31());
    };
    let pow_bits = r.count();
    let log_blowup = r.count();
    let log_last_layer_degree_bound = r.count();
    let n_queries = r.count();
    let fold_step = r.count();
    let lifting = r.count();
    let commitments = r.hashes();

    let n_trees = r.count();
    let mut sampled_shape: Array<Span<felt252>> = array![];
    let mut n_values: u64 = 0;
    while sampled_shape.len() != n_trees && r.error == 0 {
        sampled_shape.append(r.sampled_shape(ref n_values));
    };
    let sampled_words = if r.error == 0 {
        r.sampled_words(n_values)
    } else {
        array![].span()
    };
    let n_trees = r.count();
    let mut decommitments: Array<Span<felt252>> = array![];
    while decommitments.len() != n_trees && r.error == 0 {
        decommitments.append(r.hashes());
    };
    let n_trees = r.count();
    let mut queried_values: Array<Span<Span<felt252>>> = array![];
    while queried_values.len() != n_trees && r.error == 0 {
        let n_cols = r.count();
        let rows = r.count();
        if r.error != 0 {
            break;
        }
        queried_values.append(r.m31_columns(n_cols, rows).span());
    };
    let pow_felt = r.hash();
    let proof_of_work: u64 = match pow_felt.try_into() {
        Option::Some(v) => v,
        Option::None => {
            r.fail('proof: pow nonce');
            0
        },
    };
    let fri_first_layer = r.layer();
    let n_inner = r.count();
    let mut inner: Array<FriLayerProof> = array![];
    while inner.len() != n_inner && r.error == 0 {
        inner.append(r.layer());
    };
    let fri_last_layer_poly = r.qm31s();
    if r.error != 0 {
        return Result::Err(r.error);
    }
    if r.m31s.len() != 0 || r.felts.len() != 0 {
        return Result::Err('proof: trailing data');
    }
    let stark = StarkPart {
        pow_bits,
        log_blowup,
        log_last_layer_degree_bound,
        n_queries,
        fold_step,
        lifting,
        commitments,
        sampled_shape: sampled_shape.span(),
        sampled_words,
        decommitments: decommitments.span(),
        queried_values: queried_values.span(),
        proof_of_work,
        fri_first_layer,
        fri_inner_layers: inner.span(),
        fri_last_layer_poly,
    };
    Result::Ok((counts.span(), sums.span(), stark))
}
