//! The `SignedAir` class as `SignedVerifier` reaches it: a library call with
//! `encode_air_call`'s input answers stwo's composition value (the generated vectors) times the
//! vanishing polynomial at the OODS point; an input of another length fails the call; an answer that is not a QM31 is refused.

use starknet::ClassHash;
use starknet::syscalls::library_call_syscall;
use stark_verifier::fields::{QM31, QM31Trait};
use thread_verifier::oods::{canonic_coset_vanishing, mask_coordinates};
use program_air::air_call::{EVAL_SELECTOR, decode_air_answer};
use crate::air_class::{
    HEADER_AT, HEADER_FELTS, INPUT_FELTS, SignedAir, encode_air_call, encode_mask, eval_air_call,
};
use crate::generated_air::{HEADER_SUMS_AT, N_MASK_VALUES};
use super::signed_vectors::{SignedCase, case_0, case_1};

/// Test-only: the test runner's hash of `SignedAir` (not its Sierra class hash).
fn air() -> ClassHash {
    SignedAir::TEST_CLASS_HASH.try_into().unwrap()
}

/// What the class answers for `case`: stwo's composition value times the vanishing polynomial
/// at the OODS point (the classes leave the division to the verifier, which multiplies).
fn undivided(case: @SignedCase) -> QM31 {
    *case.expected * canonic_coset_vanishing(*case.max_log_degree_bound, *case.point)
}

fn calldata(case: @SignedCase) -> Array<felt252> {
    encode_air_call(
        *case.point,
        mask_coordinates(*case.mask),
        *case.random_coeff,
        case.params,
        *case.max_log_degree_bound,
    )
}

#[test]
fn input_has_the_documented_length() {
    let data = calldata(@case_0());
    assert(data.len() == 1 + INPUT_FELTS, 'calldata length');
    assert(*data[0] == INPUT_FELTS.into(), 'length prefix');
    assert(INPUT_FELTS == HEADER_FELTS + 4 * N_MASK_VALUES, 'input felts');
    // The mask first, the header after it: the mask's part is `encode_mask`'s.
    let mask = encode_mask(mask_coordinates(case_0().mask)).unwrap();
    assert(mask.len() == 1 + HEADER_AT, 'mask part length');
    assert(mask.span() == data.span().slice(0, 1 + HEADER_AT), 'mask part');
}

#[test]
fn the_mask_is_encoded_only_in_its_shape() {
    let case = case_0();
    let two_trees: Array<Span<Span<stark_verifier::fields::QM31>>> = array![*case.mask[0], *case.mask[1]];
    assert(encode_mask(mask_coordinates(two_trees.span())).is_none(), 'missing tree');
    let main = *case.mask[1];
    let short_main = array![*case.mask[0], main.slice(0, main.len() - 1), *case.mask[2]];
    assert(encode_mask(mask_coordinates(short_main.span())).is_none(), 'short tree');
    // The first main column with a second value: the lengths are checked, not only counted.
    let mut doubled: Array<Span<stark_verifier::fields::QM31>> = array![];
    let first = *main[0];
    doubled.append(array![*first[0], *first[0]].span());
    doubled.append_span(main.slice(1, main.len() - 1));
    let wide_column = array![*case.mask[0], doubled.span(), *case.mask[2]];
    assert(encode_mask(mask_coordinates(wide_column.span())).is_none(), 'two values');
    let extra_tree = array![*case.mask[0], *case.mask[1], *case.mask[2], *case.mask[2]];
    assert(encode_mask(mask_coordinates(extra_tree.span())).is_none(), 'extra tree');
}

#[test]
fn library_call_answers_stwo_composition() {
    let case = case_0();
    let data = calldata(@case);
    let answer = library_call_syscall(air(), EVAL_SELECTOR, data.span()).unwrap();
    assert(decode_air_answer(answer) == Option::Some(undivided(@case)), 'case 0 != stwo');
    // The direct evaluation of the same input agrees.
    assert(eval_air_call(data.span().slice(1, INPUT_FELTS)) == undivided(@case), 'direct 0');
    let case = case_1();
    let answer = library_call_syscall(air(), EVAL_SELECTOR, calldata(@case).span()).unwrap();
    assert(decode_air_answer(answer) == Option::Some(undivided(@case)), 'case 1 != stwo');
}

#[test]
fn a_changed_input_changes_the_answer() {
    // The last mask coordinate (the range table's cumulative sum) and a claimed sum.
    let case = case_0();
    let data = calldata(@case);
    let last = HEADER_AT;
    let mut changed: Array<felt252> = array![];
    let mut i = 0;
    while i != data.len() {
        let delta = if i == last || i == 1 + HEADER_AT + HEADER_SUMS_AT {
            1
        } else {
            0
        };
        changed.append(*data[i] + delta);
        i += 1;
    };
    let answer = library_call_syscall(air(), EVAL_SELECTOR, changed.span()).unwrap();
    assert(decode_air_answer(answer) != Option::Some(undivided(@case)), 'change not read');
}

#[test]
fn input_of_another_length_fails_the_call() {
    let data = calldata(@case_0());
    // One mask felt short (and the length prefix saying so).
    let mut short: Array<felt252> = array![(INPUT_FELTS - 1).into()];
    short.append_span(data.span().slice(1, INPUT_FELTS - 1));
    match library_call_syscall(air(), EVAL_SELECTOR, short.span()) {
        Result::Ok(_) => panic!("a short input was evaluated"),
        Result::Err(reason) => assert(*reason[0] == 'air: input length', 'reason'),
    }
}

#[test]
fn an_answer_that_is_not_a_qm31_is_refused() {
    assert(decode_air_answer(array![1, 2, 3].span()).is_none(), 'three felts');
    assert(decode_air_answer(array![1, 2, 3, 4, 5].span()).is_none(), 'five felts');
    assert(decode_air_answer(array![1, 2, 3, 0x100000000].span()).is_none(), '2^32 coordinate');
    assert(
        decode_air_answer(array![1, 2, 3, 4].span()) == Option::Some(
            QM31Trait::from_u32_unchecked(1, 2, 3, 4),
        ),
        'a QM31',
    );
}
