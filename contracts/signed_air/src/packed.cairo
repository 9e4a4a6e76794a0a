//! Constraint programs stored packed: up to 7 `u32` words per `felt252`, word `j` of a felt at
//! bits `32 j` (the generator's `signed::pack_words`). A constant costs one CASM felt however
//! wide, so the packed programs take ~1/7 of the class size of one word per felt; they are
//! unpacked once per evaluation for `thread_verifier::oods::accumulate_component`.

/// Words per felt (7 x 32 = 224 bits < 252).
pub const WORDS_PER_FELT: u32 = 7;

/// The `n_words` words packed in `packed` (`WORDS_PER_FELT` per felt, the last felt holding the
/// rest). Panics if a felt has any bit set above its words (in particular above 224 bits), or if
/// `packed` does not hold exactly `n_words` words.
pub fn unpack_words(packed: Span<felt252>, n_words: u32) -> Span<u32> {
    let word: NonZero<u128> = 0x100000000_u128.try_into().unwrap();
    let mut out: Array<u32> = array![];
    let mut felts = packed;
    let mut left = n_words;
    // Full felts, unrolled: 5 divisions for 7 words; the last quotient of each half is a word
    // (`low` < 2^128 makes word 3 fit; `high` must be < 2^96 for word 6 to fit).
    while left >= WORDS_PER_FELT {
        let v: u256 = (*felts.pop_front().expect('packed: too few felts')).into();
        let (q, w0) = DivRem::div_rem(v.low, word);
        let (q, w1) = DivRem::div_rem(q, word);
        let (w3, w2) = DivRem::div_rem(q, word);
        let (q, w4) = DivRem::div_rem(v.high, word);
        let (w6, w5) = DivRem::div_rem(q, word);
        out.append(w0.try_into().unwrap());
        out.append(w1.try_into().unwrap());
        out.append(w2.try_into().unwrap());
        out.append(w3.try_into().unwrap());
        out.append(w4.try_into().unwrap());
        out.append(w5.try_into().unwrap());
        out.append(w6.try_into().expect('packed: bits above a word'));
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
