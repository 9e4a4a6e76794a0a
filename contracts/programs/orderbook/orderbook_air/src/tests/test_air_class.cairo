//! The classes `OrderBookFillAir` and `OrderBookAir` as a verifier reaches them: library calls
//! with `encode_air_call`'s input answer parts whose sum is stwo's composition value (the
//! generated vectors) times the vanishing polynomial at the OODS point; every claimed sum, the
//! state and link powers the header hands on and the last mask value are read; an input of
//! another length fails either call.

use starknet::ClassHash;
use starknet::syscalls::library_call_syscall;
use thread_verifier::oods::{canonic_coset_vanishing, mask_coordinates};
use stark_verifier::fields::QM31;
use program_air::air_call::{EVAL_SELECTOR, decode_air_answer};
use crate::air_class::{
    HEADER_AT, HEADER_FELTS, INPUT_FELTS, N_COMPONENTS, OrderBookAir, OrderBookFillAir,
    encode_air_call, eval_air_call, eval_fill_call,
};
use crate::generated_air::{
    HEADER_RELATIONS_AT, HEADER_SUMS_AT, LINK_RELATION_SIZE, N_MASK_VALUES, STATE_RELATION_SIZE,
};
use super::orderbook_vectors::{OrderBookCase, case_0, case_1};

/// Test-only: the test runner's hash of `OrderBookAir` (not its Sierra class hash).
fn air() -> ClassHash {
    OrderBookAir::TEST_CLASS_HASH.try_into().unwrap()
}

/// Test-only: the test runner's hash of `OrderBookFillAir`.
fn fill_air() -> ClassHash {
    OrderBookFillAir::TEST_CLASS_HASH.try_into().unwrap()
}

/// The classes' parts of `input` added as the verifier adds them.
fn composition(input: Span<felt252>) -> QM31 {
    eval_fill_call(input) + eval_air_call(input)
}

/// The answer of `class` to `calldata`.
fn answer(class: ClassHash, calldata: Span<felt252>) -> QM31 {
    let answer = library_call_syscall(class, EVAL_SELECTOR, calldata).unwrap();
    decode_air_answer(answer).expect('not a QM31')
}

/// What the class answers for `case`: stwo's composition value times the vanishing polynomial
/// at the OODS point (the classes leave the division to the verifier, which multiplies).
fn undivided(case: @OrderBookCase) -> QM31 {
    *case.expected * canonic_coset_vanishing(*case.max_log_degree_bound, *case.point)
}

fn calldata(case: @OrderBookCase) -> Array<felt252> {
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
    // The point, the random coefficient, four relations (state and link with their powers),
    // the claimed sums, the log sizes and `max_log_degree_bound`.
    let powers = STATE_RELATION_SIZE + LINK_RELATION_SIZE;
    assert(HEADER_FELTS == 4 * (3 + 8 + powers + N_COMPONENTS) + N_COMPONENTS + 1, 'header felts');
    assert(INPUT_FELTS == HEADER_FELTS + 4 * N_MASK_VALUES, 'input felts');
}

#[test]
fn library_calls_answer_stwo_composition() {
    let case = case_0();
    let data = calldata(@case);
    let fill = answer(fill_air(), data.span());
    let others = answer(air(), data.span());
    assert(fill + others == undivided(@case), 'case 0 != stwo');
    // Neither class alone answers the composition.
    assert(fill != undivided(@case) && others != undivided(@case), 'one class is the whole');
    let case = case_1();
    let data = calldata(@case);
    let sum = answer(fill_air(), data.span()) + answer(air(), data.span());
    assert(sum == undivided(@case), 'case 1 != stwo');
}

/// `input` with felt `at` increased by one.
fn bumped(input: Span<felt252>, at: u32) -> Span<felt252> {
    let mut out: Array<felt252> = array![];
    let mut i = 0;
    while i != input.len() {
        out.append(if i == at {
            *input[i] + 1
        } else {
            *input[i]
        });
        i += 1;
    };
    out.span()
}

#[test]
fn every_claimed_sum_the_handed_powers_and_the_last_value_are_read() {
    let case = case_0();
    let data = calldata(@case);
    let input = data.span().slice(1, INPUT_FELTS);
    assert(composition(input) == undivided(@case), 'direct != stwo');
    let mut k = 0;
    while k != N_COMPONENTS {
        // The first coordinate of claimed sum `k` (after point, coefficient, four relations,
        // two of them with their powers).
        assert(composition(bumped(input, HEADER_AT + HEADER_SUMS_AT + 4 * k)) != undivided(@case), 'claimed sum unread');
        k += 1;
    };
    assert(composition(bumped(input, HEADER_AT - 1)) != undivided(@case), 'last value unread');
    // The state and link relations' powers, read from the header (not recomputed from
    // alpha): the first two and a middle one of each change the answer. (The book's tuples are
    // shorter than the relations, sized for the token: its top four state and three link
    // powers combine nothing.)
    let state_powers = HEADER_AT + HEADER_RELATIONS_AT + 8;
    let link_powers = state_powers + 4 * STATE_RELATION_SIZE + 8;
    for (at, n) in array![(state_powers, STATE_RELATION_SIZE), (link_powers, LINK_RELATION_SIZE)] {
        for k in array![0, 1, n / 2] {
            assert(composition(bumped(input, at + 4 * k)) != undivided(@case), 'power unread');
        };
    };
    // The fill's first main column (its first constraints: `OrderBookFillAir`'s part).
    let fill_column = bumped(input, 4);
    assert(eval_fill_call(fill_column) != eval_fill_call(input), 'fill class ignores it');
    assert(composition(fill_column) != undivided(@case), 'fill column unread');
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
    match library_call_syscall(fill_air(), EVAL_SELECTOR, short.span()) {
        Result::Ok(_) => panic!("the fill class evaluated a short input"),
        Result::Err(reason) => assert(*reason[0] == 'air: input length', 'fill reason'),
    }
}
