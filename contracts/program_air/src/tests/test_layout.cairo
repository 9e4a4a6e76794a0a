//! `mask_values_of`, the program verifier's check that a proof's sampled-value shape is the
//! AIR's: a shape equal to the mask's runs and a composition tree of one-value columns counts
//! the mask's values; every other shape is refused, including those that keep the number of
//! values (the proof's flat list of values would still parse); `mask_call` copies the words
//! behind the input length.

use crate::layout::{mask_call, mask_values_of};

/// A mask of three trees: one preprocessed column, ten main columns, then three one-value
/// and two two-value interaction columns (`MASK_SHAPE_RUNS`' form).
fn runs() -> Span<u32> {
    array![1, 1, 1, 1, 10, 1, 2, 3, 1, 2, 2].span()
}

/// `mask_values_of` of the shape given as per-tree run words.
fn values_of(trees: Array<Array<felt252>>) -> Option<u32> {
    let mut shape: Array<Span<felt252>> = array![];
    for tree in trees {
        shape.append(tree.span());
    };
    mask_values_of(shape.span(), runs(), 8)
}

#[test]
fn the_mask_shape_counts_its_values() {
    let shape = array![array![1, 1], array![10, 1], array![3, 1, 2, 2], array![8, 1]];
    assert(values_of(shape) == Option::Some(1 + 10 + 3 + 4), 'mask values');
}

#[test]
fn another_shape_is_refused_even_with_as_many_values() {
    // A column moved from the main tree to the preprocessed one: 18 values still.
    let moved = array![array![2, 1], array![9, 1], array![3, 1, 2, 2], array![8, 1]];
    assert(values_of(moved).is_none(), 'moved column');
    // Two two-value columns read as four one-value ones (merged into the run before).
    let merged = array![array![1, 1], array![10, 1], array![7, 1], array![8, 1]];
    assert(values_of(merged).is_none(), 'merged runs');
    // A run split in two.
    let split = array![array![1, 1], array![5, 1, 5, 1], array![3, 1, 2, 2], array![8, 1]];
    assert(values_of(split).is_none(), 'split run');
    // The composition tree: another shape, missing, or a tree after it.
    let composition = array![array![1, 1], array![10, 1], array![3, 1, 2, 2], array![4, 2]];
    assert(values_of(composition).is_none(), 'composition shape');
    let missing = array![array![1, 1], array![10, 1], array![3, 1, 2, 2]];
    assert(values_of(missing).is_none(), 'no composition tree');
    let extra = array![array![1, 1], array![10, 1], array![3, 1, 2, 2], array![8, 1], array![8, 1]];
    assert(values_of(extra).is_none(), 'extra tree');
    // A mask tree with a run more or fewer.
    let more = array![array![1, 1], array![10, 1], array![3, 1, 2, 2, 1, 1], array![8, 1]];
    assert(values_of(more).is_none(), 'a run more');
    let fewer = array![array![1, 1], array![10, 1], array![3, 1], array![8, 1]];
    assert(values_of(fewer).is_none(), 'a run fewer');
}

#[test]
fn the_mask_call_is_the_length_then_the_words() {
    let mut words: Array<felt252> = array![];
    let mut i = 0;
    while i != 21 {
        words.append(i + 100);
        i += 1;
    };
    let call = mask_call(7, words.span());
    assert(call.len() == 22, 'length');
    assert(*call[0] == 7, 'input length first');
    assert(call.span().slice(1, 21) == words.span(), 'the words in order');
}
