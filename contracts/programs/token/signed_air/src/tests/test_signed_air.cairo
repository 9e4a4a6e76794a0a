//! The signed AIR's evaluation against stwo's own values (generated vectors): every component
//! alone, and the whole composition.

use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::{Coordinates, coordinates, from_coordinates};
use thread_verifier::oods::{canonic_coset_vanishing, flatten_mask, mask_coordinates};
use crate::generated_air::{
    N_MASK_VALUES, POSEIDON2_INTERACTION_START, POSEIDON2_MAIN_START, SignedAirParams,
    accumulate_chain_step, accumulate_digest_sponge, accumulate_key_sponge, accumulate_poseidon2,
    accumulate_range_table, accumulate_signed_transfer, accumulate_tx_list,
    eval_composition_at_point, mask_shape_ok,
};
use super::signed_vectors::{SignedCase, case_0, case_1};

const SIGNED_TRANSFER: u32 = 0;
const CHAIN_STEP: u32 = 1;
const DIGEST_SPONGE: u32 = 2;
const KEY_SPONGE: u32 = 3;
const TX_LIST: u32 = 4;
const POSEIDON2: u32 = 5;
const RANGE_TABLE: u32 = 6;

fn zero() -> QM31 {
    QM31Trait::from_u32_unchecked(0, 0, 0, 0)
}

/// Component `index`'s undivided fold of its constraints into `acc`.
fn accumulate(
    index: u32, acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @SignedAirParams,
) -> QM31 {
    if index == SIGNED_TRANSFER {
        accumulate_signed_transfer(acc, random_coeff, values, params)
    } else if index == CHAIN_STEP {
        accumulate_chain_step(acc, random_coeff, values, params)
    } else if index == DIGEST_SPONGE {
        accumulate_digest_sponge(acc, random_coeff, values, params)
    } else if index == KEY_SPONGE {
        accumulate_key_sponge(acc, random_coeff, values, params)
    } else if index == TX_LIST {
        accumulate_tx_list(acc, random_coeff, values, params)
    } else if index == POSEIDON2 {
        accumulate_poseidon2(acc, random_coeff, values, params)
    } else {
        accumulate_range_table(acc, random_coeff, values, params)
    }
}

/// stwo's value of component `index` alone (a fresh accumulator): the undivided fold over
/// the common vanishing polynomial.
fn component_value(case: @SignedCase, index: u32, values: Span<Coordinates>) -> QM31 {
    let denom_inv = QM31Trait::inverse(
        canonic_coset_vanishing(*case.max_log_degree_bound, *case.point),
    );
    denom_inv * accumulate(index, zero(), *case.random_coeff, values, case.params)
}

/// Component `index` equals stwo on both cases. (No gas print: a component compiled to
/// loop-free code has its gas withdrawn by the caller before the call, so the available gas
/// around it does not measure it; `--profile` counts its steps.)
fn check_component(index: u32) {
    let case = case_0();
    let values = flatten_mask(mask_coordinates(case.mask));
    assert(values.len() == N_MASK_VALUES, 'mask size');
    let raw = accumulate(index, zero(), case.random_coeff, values, @case.params);
    let denom_inv = QM31Trait::inverse(
        canonic_coset_vanishing(case.max_log_degree_bound, case.point),
    );
    assert(denom_inv * raw == *case.expected_components[index], 'case 0: component != stwo');
    let case = case_1();
    let values = flatten_mask(mask_coordinates(case.mask));
    assert(
        component_value(@case, index, values) == *case.expected_components[index],
        'case 1: component != stwo',
    );
}

#[test]
fn signed_transfer_matches_stwo() {
    check_component(SIGNED_TRANSFER);
}

#[test]
fn chain_step_matches_stwo() {
    check_component(CHAIN_STEP);
}

#[test]
fn digest_sponge_matches_stwo() {
    check_component(DIGEST_SPONGE);
}

#[test]
fn key_sponge_matches_stwo() {
    check_component(KEY_SPONGE);
}

#[test]
fn tx_list_matches_stwo() {
    check_component(TX_LIST);
}

#[test]
fn poseidon2_matches_stwo() {
    check_component(POSEIDON2);
}

#[test]
fn range_table_matches_stwo() {
    check_component(RANGE_TABLE);
}

fn eval(case: @SignedCase) -> QM31 {
    eval_composition_at_point(
        *case.point, mask_coordinates(*case.mask), *case.random_coeff, case.params, *case.max_log_degree_bound,
    )
}

#[test]
fn composition_matches_stwo() {
    let case = case_0();
    assert(mask_shape_ok(mask_coordinates(case.mask)), 'shape 0');
    let before = core::testing::get_available_gas();
    let value = eval(@case);
    let after = core::testing::get_available_gas();
    println!("gas: eval_composition_at_point (signed AIR) {}", before - after);
    assert(value == case.expected, 'case 0: composition != stwo');
    // A Poseidon2 component above the range table: the lifted domain is Poseidon2's.
    let case = case_1();
    assert(mask_shape_ok(mask_coordinates(case.mask)), 'shape 1');
    assert(eval(@case) == case.expected, 'case 1: composition != stwo');
}

/// `values` with entry `at` increased by one.
fn bumped(values: Span<Coordinates>, at: u32) -> Span<Coordinates> {
    let one = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    let mut out: Array<Coordinates> = array![];
    let mut i = 0;
    while i != values.len() {
        if i == at {
            out.append(coordinates(from_coordinates(*values[i]) + one));
        } else {
            out.append(*values[i]);
        }
        i += 1;
    };
    out.span()
}

#[test]
fn every_poseidon2_column_kind_moves_its_value() {
    // Multiplicity, input, a square and a state column of an initial and a final round, a
    // partial round's square and S-box output, the last output column, and the cumulative
    // sum at both offsets.
    let case = case_0();
    let values = flatten_mask(mask_coordinates(case.mask));
    let expected = *case.expected_components[POSEIDON2];
    let main = array![0_u32, 1, 16, 17, 40, 144, 145, 146, 172, 173, 250, 300];
    for column in main {
        let mutated = bumped(values, POSEIDON2_MAIN_START + column);
        assert(component_value(@case, POSEIDON2, mutated) != expected, 'main column unread');
    };
    let mut k = 0;
    while k != 8 {
        let mutated = bumped(values, POSEIDON2_INTERACTION_START + k);
        assert(component_value(@case, POSEIDON2, mutated) != expected, 'cumulative sum unread');
        k += 1;
    };
}

#[test]
fn wrong_shape_is_refused() {
    let case = case_0();
    let two_trees: Array<Span<Span<QM31>>> = array![*case.mask[0], *case.mask[1]];
    assert(!mask_shape_ok(mask_coordinates(two_trees.span())), 'missing tree accepted');
    let main = *case.mask[1];
    let short_main: Array<Span<Span<QM31>>> = array![
        *case.mask[0], main.slice(0, main.len() - 1), *case.mask[2],
    ];
    assert(!mask_shape_ok(mask_coordinates(short_main.span())), 'short tree accepted');
    let mut columns: Array<Span<QM31>> = array![];
    columns.append_span(main.slice(0, main.len() - 1));
    columns.append(array![*(*main[0])[0], *(*main[0])[0]].span());
    let doubled: Array<Span<Span<QM31>>> = array![*case.mask[0], columns.span(), *case.mask[2]];
    assert(!mask_shape_ok(mask_coordinates(doubled.span())), 'two values accepted');
}
