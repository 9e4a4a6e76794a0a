//! `packed::unpack_words`: word `j` of a felt at bits `32 j`, refusing stray high bits.

use crate::packed::unpack_words;

#[test]
fn unpacks_words_in_order() {
    // Words 1..=7 in one felt, then 8, 0xffffffff in a partial last felt.
    let packed = array![
        0x00000007000000060000000500000004000000030000000200000001,
        0xffffffff00000008,
    ];
    let words = unpack_words(packed.span(), 9);
    assert(words == array![1, 2, 3, 4, 5, 6, 7, 8, 0xffffffff].span(), 'words');
    assert(unpack_words(array![].span(), 0).len() == 0, 'empty');
}

#[test]
#[should_panic(expected: ('packed: bits above a word',))]
fn refuses_bits_above_224() {
    let _ = unpack_words(
        array![0x100000007000000060000000500000004000000030000000200000001].span(), 7,
    );
}

#[test]
#[should_panic(expected: ('packed: bits above a word',))]
fn refuses_bits_above_the_last_word() {
    let _ = unpack_words(array![0x100000002].span(), 1);
}

#[test]
#[should_panic(expected: ('packed: too many felts',))]
fn refuses_extra_felts() {
    let _ = unpack_words(array![1, 2].span(), 1);
}

#[test]
#[should_panic(expected: ('packed: too few felts',))]
fn refuses_missing_felts() {
    let _ = unpack_words(array![1].span(), 8);
}
