//! The generated constraint evaluation against stwo's own values (generated vectors).

use stark_verifier::channel::ChannelTrait;
use stark_verifier::fields::{QM31, QM31Trait};
use crate::generated_air::{eval_composition_at_point, mask_shape_ok};
use crate::oods::mask_coordinates;
use super::air_vectors::{AirCase, case_0, case_1};

fn eval(case: @AirCase) -> QM31 {
    eval_composition_at_point(
        *case.point, mask_coordinates(*case.mask), *case.random_coeff, case.params, *case.max_log_degree_bound,
    )
}

/// `mask` with the value at (tree, column, value) replaced by `v`.
fn with_value(
    mask: Span<Span<Span<QM31>>>, tree: u32, column: u32, value: u32, v: QM31,
) -> Span<Span<Span<QM31>>> {
    let mut trees: Array<Span<Span<QM31>>> = array![];
    let mut t = 0;
    while t != mask.len() {
        let mut columns: Array<Span<QM31>> = array![];
        let mut c = 0;
        while c != (*mask[t]).len() {
            let mut values: Array<QM31> = array![];
            let mut k = 0;
            while k != (*(*mask[t])[c]).len() {
                if t == tree && c == column && k == value {
                    values.append(v);
                } else {
                    values.append(*(*(*mask[t])[c])[k]);
                }
                k += 1;
            };
            columns.append(values.span());
            c += 1;
        };
        trees.append(columns.span());
        t += 1;
    };
    trees.span()
}

#[test]
fn small_component_matches_stwo() {
    let case = case_0();
    assert(mask_shape_ok(mask_coordinates(case.mask)), 'shape');
    assert(eval(@case) == case.expected, 'composition != stwo');
}

#[test]
fn large_component_matches_stwo() {
    // 2^17 transfer rows: the lifted domain is the transfer's, not the range table's.
    let case = case_1();
    assert(mask_shape_ok(mask_coordinates(case.mask)), 'shape');
    assert(eval(@case) == case.expected, 'composition != stwo');
}

#[test]
fn every_sampled_value_moves_the_composition() {
    // Each tree's first, a middle and last column (incl. the previous-row value of a running
    // sum column) must enter the evaluation.
    let case = case_0();
    let one = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    let positions = array![
        (0_u32, 0_u32, 0_u32), (1, 0, 0), (1, 30, 0), (1, 58, 0), (2, 0, 0), (2, 52, 0),
        (2, 55, 1), (2, 59, 0), (2, 59, 1),
    ];
    let mut i = 0;
    while i != positions.len() {
        let (t, c, k) = *positions[i];
        let old = *(*(*case.mask[t])[c])[k];
        let mutated = AirCase { mask: with_value(case.mask, t, c, k, old + one), ..case };
        assert(eval(@mutated) != case.expected, 'mutation not detected');
        i += 1;
    };
}

#[test]
fn wrong_shape_is_refused() {
    let case = case_0();
    let mut trees: Array<Span<Span<QM31>>> = array![*case.mask[0], *case.mask[1]];
    assert(!mask_shape_ok(mask_coordinates(trees.span())), 'missing tree accepted');
    let short = with_value(case.mask, 2, 59, 1, QM31Trait::from_u32_unchecked(0, 0, 0, 0));
    assert(mask_shape_ok(mask_coordinates(short)), 'same shape refused');
}

#[test]
fn gas_of_the_composition_evaluation() {
    let case = case_0();
    let before = core::testing::get_available_gas();
    let value = eval(@case);
    let after = core::testing::get_available_gas();
    assert(value == case.expected, 'composition != stwo');
    println!("gas: eval_composition_at_point {}", before - after);
}

/// `column_size_inverse`'s table is `1 / 2^k` for every log size a column can have (0..31).
#[test]
fn column_size_inverse_inverts_every_power_of_two() {
    let mut k: u32 = 0;
    while k != 31 {
        let power = stark_verifier::fields::M31Trait::from_u32_unchecked(
            stark_verifier::circle::pow2_u32(k),
        );
        let product = crate::oods::column_size_inverse_m31(k) * power;
        assert(product.inner == 1, 'not the inverse');
        assert(
            crate::oods::column_size_inverse(k) == stark_verifier::fields::QM31Trait::from_m31(
                crate::oods::column_size_inverse_m31(k),
            ),
            'QM31 differs',
        );
        k += 1;
    };
}

#[test]
#[should_panic(expected: ('oods: column log size too big',))]
fn column_size_inverse_refuses_log_size_31() {
    crate::oods::column_size_inverse_m31(31);
}

/// The canonic coset's vanishing polynomial at a point is the x coordinate of the point doubled
/// `log_size - 1` times (the coset's initial point is half its step, so stwo's shift is zero):
/// what the program verifier multiplies the composition by (`pcs::composition_at`), checked
/// here against `canonic_coset_vanishing` at the vectors' OODS points and a point drawn from a
/// channel, for every log size up to 24.
#[test]
fn the_canonic_coset_vanishing_is_a_repeated_double() {
    let mut channel = ChannelTrait::new();
    channel.mix_u64(59);
    let drawn = stark_verifier::circle::get_random_point(ref channel);
    for point in array![case_0().point, case_1().point, drawn] {
        let mut log_size = 1;
        while log_size != 25 {
            let doubled = stark_verifier::circle::CirclePointTrait::repeated_double(
                point, log_size - 1,
            )
                .x;
            assert(
                doubled == crate::oods::canonic_coset_vanishing(log_size, point), 'vanishing',
            );
            log_size += 1;
        };
    };
}
