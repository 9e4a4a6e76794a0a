//! Constraint programs stored packed: up to 7 `u32` words per `felt252`, word `j` of a felt at
//! bits `32 j` (the generator's `signed::pack_words`). A constant costs one CASM felt however
//! wide, so the packed programs take ~1/7 of the class size of one word per felt; they are
//! unpacked once per evaluation for `thread_verifier::oods::accumulate_component`.

/// Words per felt (7 x 32 = 224 bits < 252).
pub const WORDS_PER_FELT: u32 = 7;

use stark_verifier::fields::bounded::{u128_words, u96_words};

/// The `n_words` words packed in `packed` (`WORDS_PER_FELT` per felt, the last felt holding the
/// rest). Panics if a felt has any bit set above its words (in particular above 224 bits), or if
/// `packed` does not hold exactly `n_words` words.
pub fn unpack_words(packed: Span<felt252>, n_words: u32) -> Span<u32> {
    let word: NonZero<u128> = 0x100000000_u128.try_into().unwrap();
    let mut out: Array<u32> = array![];
    let mut felts = packed;
    let mut left = n_words;
    // Full felts: words 0-3 are `low`'s; `high` must be below 2^96 for words 4-6 to be all.
    // (Masks and exact felt252 shifts take 4 fewer range checks per felt but 70 more steps.)
    while left >= WORDS_PER_FELT {
        let v: u256 = (*felts.pop_front().expect('packed: too few felts')).into();
        let (w0, w1, w2, w3) = u128_words(v.low);
        let (w4, w5, w6) = u96_words(v.high).expect('packed: bits above a word');
        out.append(w0);
        out.append(w1);
        out.append(w2);
        out.append(w3);
        out.append(w4);
        out.append(w5);
        out.append(w6);
        left -= WORDS_PER_FELT;
    };
    // The last, partial felt (1 to 6 words): word by word, then nothing may remain.
    if left != 0 {
        let v: u256 = (*felts.pop_front().expect('packed: too few felts')).into();
        let mut part = v.low;
        let mut high = v.high;
        let mut j: u32 = 0;
        while left != 0 {
            if j == 4 {
                assert(part == 0, 'packed: bits above a word');
                part = high;
                high = 0;
            }
            let (q, r) = DivRem::div_rem(part, word);
            out.append(r.try_into().unwrap());
            part = q;
            j += 1;
            left -= 1;
        };
        assert(part == 0 && high == 0, 'packed: bits above a word');
    }
    assert(felts.is_empty(), 'packed: too many felts');
    out.span()
}
