//! The token list program's AIR evaluation against stwo's own values (generated vectors):
//! every component alone, and the whole composition; a changed mask value or parameter moves
//! it.

use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::{Coordinates, coordinates, from_coordinates};
use thread_verifier::oods::{canonic_coset_vanishing, flatten_mask, mask_coordinates};
use crate::generated_air::{
    N_MASK_VALUES, ListAirParams, accumulate_chain_step, accumulate_digest_sponge,
    accumulate_key_sponge, accumulate_poseidon2, accumulate_range_table, accumulate_signed_list_head,
    accumulate_signed_list_item, accumulate_tx_list, column_log_sizes, eval_composition_at_point,
    mask_shape_ok,
};
use super::list_vectors::{ListCase, case_0, case_1};

const HEAD: u32 = 0;
const ITEM: u32 = 1;
const CHAIN_STEP: u32 = 2;
const DIGEST_SPONGE: u32 = 3;
const KEY_SPONGE: u32 = 4;
const TX_LIST: u32 = 5;
const POSEIDON2: u32 = 6;
const RANGE_TABLE: u32 = 7;

fn zero() -> QM31 {
    QM31Trait::from_u32_unchecked(0, 0, 0, 0)
}

/// Component `index`'s undivided fold of its constraints into `acc`.
fn accumulate(
    index: u32, acc: QM31, random_coeff: QM31, values: Span<Coordinates>,
    params: @ListAirParams,
) -> QM31 {
    if index == HEAD {
        accumulate_signed_list_head(acc, random_coeff, values, params)
    } else if index == ITEM {
        accumulate_signed_list_item(acc, random_coeff, values, params)
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
fn component_value(case: @ListCase, index: u32, values: Span<Coordinates>) -> QM31 {
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
    let value = component_value(@case, index, values);
    assert(value == *case.expected_components[index], 'case 0: component != stwo');
    let case = case_1();
    let values = flatten_mask(mask_coordinates(case.mask));
    assert(
        component_value(@case, index, values) == *case.expected_components[index],
        'case 1: component != stwo',
    );
}

#[test]
fn list_head_matches_stwo() {
    check_component(HEAD);
}

#[test]
fn list_item_matches_stwo() {
    check_component(ITEM);
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

fn eval(case: @ListCase) -> QM31 {
    eval_composition_at_point(
        *case.point, mask_coordinates(*case.mask), *case.random_coeff, case.params,
        *case.max_log_degree_bound,
    )
}

#[test]
fn composition_matches_stwo() {
    let case = case_0();
    assert(mask_shape_ok(mask_coordinates(case.mask)), 'shape 0');
    let before = core::testing::get_available_gas();
    let value = eval(@case);
    let after = core::testing::get_available_gas();
    println!("gas: eval_composition_at_point (list AIR) {}", before - after);
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

/// The whole fold over the vanishing polynomial of `case`'s point with `values` and `params`.
fn fold(case: @ListCase, values: Span<Coordinates>, params: @ListAirParams) -> QM31 {
    let denom_inv = QM31Trait::inverse(
        canonic_coset_vanishing(*case.max_log_degree_bound, *case.point),
    );
    denom_inv * crate::generated_air::accumulate_list_air(zero(), *case.random_coeff, values, params)
}

#[test]
fn a_changed_value_or_sum_moves_the_composition() {
    let case = case_0();
    let values = flatten_mask(mask_coordinates(case.mask));
    assert(fold(@case, values, @case.params) == case.expected, 'fold != stwo');
    // The first main column (the list head's) and the last value (the range table's
    // cumulative sum); the list item's claimed sum.
    assert(fold(@case, bumped(values, 1), @case.params) != case.expected, 'head column unread');
    assert(
        fold(@case, bumped(values, N_MASK_VALUES - 1), @case.params) != case.expected,
        'table sum unread',
    );
    let mut params = case.params;
    params.signed_list_item_claimed_sum = params.signed_list_item_claimed_sum
        + QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    assert(fold(@case, values, @params) != case.expected, 'item sum unread');
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
}

#[test]
fn column_log_sizes_follow_the_components() {
    let case = case_0();
    let sizes = column_log_sizes(@case.params);
    let mask = case.mask;
    let mut tree = 0;
    while tree != 3 {
        assert((*sizes[tree]).len() == (*mask[tree]).len(), 'one log size per column');
        tree += 1;
    };
    // The first main column is the list head's, the last the range multiplicities'.
    let main = *sizes[1];
    assert(*main[0] == case.params.signed_list_head_log_size, 'first main column');
    assert(*main[main.len() - 1] == case.params.range_table_log_size, 'last main column');
    assert(*(*sizes[0])[0] == case.params.range_table_log_size, 'preprocessed column');
}
