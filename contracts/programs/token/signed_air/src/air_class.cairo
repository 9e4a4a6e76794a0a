//! `SignedAir`: the signed AIR's composition at the OODS point as a class of its own, which
//! `SignedVerifier` library-calls (`docs/thread-programs.md`, "The Cairo verifier: one core, a
//! class per program"). A verifier core and one program's generated constraints do not fit in
//! one class (Starknet's 81,920 CASM felts), so the program-specific evaluation lives here and
//! the verifier names this class by a compile-time constant (its `generated_air_class`), so the
//! verifier's own class hash commits to it.
//!
//! The call's input is one `Span<felt252>` ([`encode_air_call`]): a header of `HEADER_FELTS`
//! (OODS point, random coefficient, the four relations' `(z, alpha)`, the seven claimed sums,
//! the seven log sizes and `max_log_degree_bound`), then the mask's values in proof order,
//! four coordinates each. The class stores nothing and calls nothing: anyone may call it, and
//! its answer only matters to the verifier that sent its own, already checked, inputs (the
//! mask's shape and canonical coordinates are the verifier's proof reader's checks).

use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::{Coordinates, coordinates, from_coordinates};
use stark_verifier::pcs::only;
use thread_verifier::lookup::LookupElements;
use thread_verifier::oods::canonic_coset_vanishing;
use crate::generated_air::{
    LINK_RELATION_SIZE, N_MASK_VALUES, POSEIDON2_RELATION_SIZE, RANGE_CHECK_RELATION_SIZE,
    STATE_RELATION_SIZE, SignedAirParams, accumulate_signed_air,
};

/// Felts of the call's header: point (x, y), random coefficient, four `(z, alpha)`, seven
/// claimed sums (QM31s as 4 coordinates each), seven log sizes and `max_log_degree_bound`.
pub const HEADER_FELTS: u32 = 4 * (3 + 8 + 7) + 8;
/// Felts of the call's input: the header, then four coordinates per mask value.
pub const INPUT_FELTS: u32 = HEADER_FELTS + 4 * N_MASK_VALUES;
/// Where the log sizes start in the header.
const LOG_SIZES_AT: u32 = 4 * (3 + 8 + 7);
/// The entry point `SignedAir::eval_composition_at_point`.
pub const EVAL_SELECTOR: felt252 = selector!("eval_composition_at_point");

pub fn append_qm31(ref out: Array<felt252>, value: QM31) {
    let (a, b, c, d) = coordinates(value);
    out.append(a);
    out.append(b);
    out.append(c);
    out.append(d);
}

pub fn append_relation(ref out: Array<felt252>, relation: @LookupElements) {
    append_qm31(ref out, *relation.z);
    append_qm31(ref out, *relation.alpha);
}

/// The calldata of `eval_composition_at_point` (a `Span<felt252>`: its length, then the
/// input) for the composition at `point` of `mask` (the sampled values without the
/// composition tree, of the shape `mask_shape_ok` accepts: the caller checks it).
pub fn encode_air_call(
    point: CirclePoint<QM31>, mask: Span<Span<Span<Coordinates>>>, random_coeff: QM31,
    params: @SignedAirParams, max_log_degree_bound: u32,
) -> Array<felt252> {
    let mut out: Array<felt252> = array![INPUT_FELTS.into()];
    append_qm31(ref out, point.x);
    append_qm31(ref out, point.y);
    append_qm31(ref out, random_coeff);
    append_relation(ref out, params.state_relation);
    append_relation(ref out, params.link_relation);
    append_relation(ref out, params.poseidon2_relation);
    append_relation(ref out, params.range_check_relation);
    append_qm31(ref out, *params.signed_transfer_claimed_sum);
    append_qm31(ref out, *params.chain_step_claimed_sum);
    append_qm31(ref out, *params.digest_sponge_claimed_sum);
    append_qm31(ref out, *params.key_sponge_claimed_sum);
    append_qm31(ref out, *params.tx_list_claimed_sum);
    append_qm31(ref out, *params.poseidon2_claimed_sum);
    append_qm31(ref out, *params.range_table_claimed_sum);
    out.append((*params.signed_transfer_log_size).into());
    out.append((*params.chain_step_log_size).into());
    out.append((*params.digest_sponge_log_size).into());
    out.append((*params.key_sponge_log_size).into());
    out.append((*params.tx_list_log_size).into());
    out.append((*params.poseidon2_log_size).into());
    out.append((*params.range_table_log_size).into());
    out.append(max_log_degree_bound.into());
    append_mask(ref out, mask);
    out
}

#[inline(always)]
fn append_coordinates(ref out: Array<felt252>, value: Coordinates) {
    let (a, b, c, d) = value;
    out.append(a);
    out.append(b);
    out.append(c);
    out.append(d);
}

fn append_column(ref out: Array<felt252>, column: Span<Coordinates>) {
    let mut values = column;
    while let Option::Some(value) = values.pop_front() {
        append_coordinates(ref out, *value);
    };
}

/// Appends the mask values' coordinates in proof order: eight one-value columns per iteration
/// where they come (most columns; a loop iteration costs more than its appends).
pub fn append_mask(ref out: Array<felt252>, mask: Span<Span<Span<Coordinates>>>) {
    let mut trees = mask;
    while let Option::Some(tree) = trees.pop_front() {
        let mut columns = *tree;
        while let Option::Some(block) = columns.multi_pop_front::<8>() {
            let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
            if c0.len() == 1 && c1.len() == 1 && c2.len() == 1 && c3.len() == 1 && c4.len() == 1
                && c5.len() == 1 && c6.len() == 1 && c7.len() == 1 {
                append_coordinates(ref out, only(c0));
                append_coordinates(ref out, only(c1));
                append_coordinates(ref out, only(c2));
                append_coordinates(ref out, only(c3));
                append_coordinates(ref out, only(c4));
                append_coordinates(ref out, only(c5));
                append_coordinates(ref out, only(c6));
                append_coordinates(ref out, only(c7));
            } else {
                append_column(ref out, c0);
                append_column(ref out, c1);
                append_column(ref out, c2);
                append_column(ref out, c3);
                append_column(ref out, c4);
                append_column(ref out, c5);
                append_column(ref out, c6);
                append_column(ref out, c7);
            }
        };
        while let Option::Some(column) = columns.pop_front() {
            append_column(ref out, *column);
        };
    };
}

/// The QM31 at `at` (four coordinates below 2^32: panics otherwise).
pub fn qm31_at(felts: Span<felt252>, at: u32) -> QM31 {
    from_coordinates((*felts[at], *felts[at + 1], *felts[at + 2], *felts[at + 3]))
}

/// `(z, alpha)` at `at` with the `n` powers of alpha the relation combines with.
pub fn relation_at(felts: Span<felt252>, at: u32, n: u32) -> LookupElements {
    let alpha = qm31_at(felts, at + 4);
    let mut powers: Array<QM31> = array![];
    let mut current = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    while powers.len() != n {
        powers.append(current);
        current = current * alpha;
    };
    LookupElements { z: qm31_at(felts, at), alpha, alpha_powers: powers.span() }
}

pub fn u32_at(felts: Span<felt252>, at: u32) -> u32 {
    (*felts[at]).try_into().expect('air: log size')
}

/// The composition at the OODS point from [`encode_air_call`]'s input (without its length):
/// `generated_air::eval_composition_at_point` on the decoded values. Panics on an input of
/// another length.
pub fn eval_air_call(input: Span<felt252>) -> QM31 {
    assert(input.len() == INPUT_FELTS, 'air: input length');
    let header = input.slice(0, HEADER_FELTS);
    let mut mask = input.slice(HEADER_FELTS, 4 * N_MASK_VALUES);
    let mut values: Array<Coordinates> = array![];
    // Four values per iteration while four remain.
    while let Option::Some(block) = mask.multi_pop_front::<16>() {
        let [a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3] = (*block).unbox();
        values.append((a0, b0, c0, d0));
        values.append((a1, b1, c1, d1));
        values.append((a2, b2, c2, d2));
        values.append((a3, b3, c3, d3));
    };
    while let Option::Some(value) = mask.multi_pop_front::<4>() {
        let [a, b, c, d] = (*value).unbox();
        values.append((a, b, c, d));
    };
    let sums = 44;
    let logs = LOG_SIZES_AT;
    let params = SignedAirParams {
        state_relation: relation_at(header, 12, STATE_RELATION_SIZE),
        link_relation: relation_at(header, 20, LINK_RELATION_SIZE),
        poseidon2_relation: relation_at(header, 28, POSEIDON2_RELATION_SIZE),
        range_check_relation: relation_at(header, 36, RANGE_CHECK_RELATION_SIZE),
        signed_transfer_claimed_sum: qm31_at(header, sums),
        signed_transfer_log_size: u32_at(header, logs),
        chain_step_claimed_sum: qm31_at(header, sums + 4),
        chain_step_log_size: u32_at(header, logs + 1),
        digest_sponge_claimed_sum: qm31_at(header, sums + 8),
        digest_sponge_log_size: u32_at(header, logs + 2),
        key_sponge_claimed_sum: qm31_at(header, sums + 12),
        key_sponge_log_size: u32_at(header, logs + 3),
        tx_list_claimed_sum: qm31_at(header, sums + 16),
        tx_list_log_size: u32_at(header, logs + 4),
        poseidon2_claimed_sum: qm31_at(header, sums + 20),
        poseidon2_log_size: u32_at(header, logs + 5),
        range_table_claimed_sum: qm31_at(header, sums + 24),
        range_table_log_size: u32_at(header, logs + 6),
    };
    let point = CirclePoint { x: qm31_at(header, 0), y: qm31_at(header, 4) };
    let denom_inv = QM31Trait::inverse(
        canonic_coset_vanishing(u32_at(header, logs + 7), point),
    );
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    denom_inv * accumulate_signed_air(zero, qm31_at(header, 8), values.span(), @params)
}

/// The answer of `eval_composition_at_point` (a QM31's four coordinates), or `None` if it is
/// not one.
pub fn decode_air_answer(answer: Span<felt252>) -> Option<QM31> {
    if answer.len() != 4 {
        return Option::None;
    }
    let a: Option<u32> = (*answer[0]).try_into();
    let b: Option<u32> = (*answer[1]).try_into();
    let c: Option<u32> = (*answer[2]).try_into();
    let d: Option<u32> = (*answer[3]).try_into();
    match (a, b, c, d) {
        (
            Option::Some(a), Option::Some(b), Option::Some(c), Option::Some(d),
        ) => Option::Some(QM31Trait::from_u32_unchecked(a, b, c, d)),
        _ => Option::None,
    }
}

#[starknet::interface]
pub trait ISignedAir<TContractState> {
    /// The signed AIR's composition polynomial at the OODS point (stwo's
    /// `eval_composition_polynomial_at_point`) from [`encode_air_call`]'s input.
    fn eval_composition_at_point(self: @TContractState, input: Span<felt252>) -> QM31;
}

#[starknet::contract]
pub mod SignedAir {
    use stark_verifier::fields::QM31;
    use super::eval_air_call;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl SignedAirImpl of super::ISignedAir<ContractState> {
        fn eval_composition_at_point(self: @ContractState, input: Span<felt252>) -> QM31 {
            eval_air_call(input)
        }
    }
}
