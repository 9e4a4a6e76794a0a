//! `ListAir`: the token list program's composition at the OODS point as a class of its own,
//! which the list program's verifier library-calls (`docs/thread-programs.md`, "The Cairo
//! verifier: one core, a class per program"), named there by a compile-time constant so the
//! verifier's class hash commits to it.
//!
//! The call's input is one `Span<felt252>` ([`encode_air_call`]): the mask's values in proof
//! order, four coordinates each ([`encode_mask`]), then a header of `HEADER_FELTS` (OODS point,
//! random coefficient, the four relations' `(z, alpha)` with the state and link relations'
//! alpha powers, the eight claimed sums, the eight log
//! sizes and `max_log_degree_bound`, [`encode_air_header`]). The class stores nothing and calls
//! nothing: anyone may call it, and its answer only matters to the verifier that sent its own,
//! already checked, inputs.

use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::Coordinates;
use program_air::air_call::{append_qm31, mask_values, qm31_at};
use program_air::layout::encode_mask_with;
use crate::generated_air::{
    MASK_SHAPE_RUNS, N_MASK_VALUES, ListAirParams,
    accumulate_list_air, append_params, params_at,
};
pub use crate::generated_air::HEADER_FELTS;

/// Felts of the call's input: four coordinates per mask value, then the header.
pub const INPUT_FELTS: u32 = 4 * N_MASK_VALUES + HEADER_FELTS;
/// Where the header starts in the input.
pub const HEADER_AT: u32 = 4 * N_MASK_VALUES;

/// The start of `eval_composition_at_point`'s calldata (a `Span<felt252>`: its length, then
/// the input): the length and the coordinates of `mask` (the sampled values without the
/// composition tree), if it has the AIR's mask shape (`generated_air::MASK_SHAPE_RUNS`); None
/// otherwise.
pub fn encode_mask(mask: Span<Span<Span<Coordinates>>>) -> Option<Array<felt252>> {
    encode_mask_with(INPUT_FELTS, mask, MASK_SHAPE_RUNS.span())
}

/// The whole calldata: `call` ([`encode_mask`]'s) and the header for the composition at
/// `point`.
pub fn encode_air_header(
    call: Array<felt252>, point: CirclePoint<QM31>, random_coeff: QM31, params: @ListAirParams,
    max_log_degree_bound: u32,
) -> Array<felt252> {
    let mut out = call;
    append_qm31(ref out, point.x);
    append_qm31(ref out, point.y);
    append_qm31(ref out, random_coeff);
    append_params(ref out, params);
    out.append(max_log_degree_bound.into());
    out
}

/// [`encode_mask`] then [`encode_air_header`]: the calldata for the composition at `point` of
/// `mask`. Panics unless `mask` has the AIR's mask shape.
pub fn encode_air_call(
    point: CirclePoint<QM31>, mask: Span<Span<Span<Coordinates>>>, random_coeff: QM31,
    params: @ListAirParams, max_log_degree_bound: u32,
) -> Array<felt252> {
    let call = encode_mask(mask).expect('air: mask shape');
    encode_air_header(call, point, random_coeff, params, max_log_degree_bound)
}

/// The composition at the OODS point times the vanishing polynomial there, from
/// [`encode_air_call`]'s input (without its length): `generated_air::accumulate_list_air` on the
/// decoded values (what `eval_composition_at_point` divides). The verifier checks the proof's composition value times
/// the vanishing polynomial against the answer (`program_air::air_call`): no class computes
/// the vanishing polynomial or its inverse. Panics on an input of another length.
pub fn eval_air_call(input: Span<felt252>) -> QM31 {
    assert(input.len() == INPUT_FELTS, 'air: input length');
    let values = mask_values(input.slice(0, HEADER_AT));
    let header = input.slice(HEADER_AT, HEADER_FELTS);
    let params = params_at(header);
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    accumulate_list_air(zero, qm31_at(header, 8), values, @params)
}

#[starknet::interface]
pub trait IListAir<TContractState> {
    /// The list AIR's composition polynomial at the OODS point times the vanishing
    /// polynomial there (stwo's `eval_composition_polynomial_at_point`, not divided) from
    /// [`encode_air_call`]'s input.
    fn eval_composition_at_point(self: @TContractState, input: Span<felt252>) -> QM31;
}

#[starknet::contract]
pub mod ListAir {
    use stark_verifier::fields::QM31;
    use super::eval_air_call;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl ListAirImpl of super::IListAir<ContractState> {
        fn eval_composition_at_point(self: @ContractState, input: Span<felt252>) -> QM31 {
            eval_air_call(input)
        }
    }
}
