//! The order book's AIR composition at the OODS point as two classes for the order book's
//! verifier to library-call (`docs/thread-programs.md`, "The Cairo verifier: one core, a class
//! per program"): its programs compiled to straight-line code do not fit one class, so
//! `OrderBookFillAir` evaluates most of the fill (the first component: its first 152 of 172
//! constraints, `generated_air::accumulate_orderbook_air_part_0`) and `OrderBookAir` the rest
//! of the fill and the other eight components (`_part_1`). Each answers its part of stwo's
//! fold, started from zero, shifted by the constraints after it (`random_coeff` to the power
//! `generated_air::PART_CONSTRAINTS[1]` for the fill's part), not divided by the vanishing
//! polynomial: the composition times the vanishing polynomial is the sum of the answers
//! (`program_air::air_call`).
//!
//! Both take `SignedAir`'s entry point and the same input ([`encode_air_call`], one
//! `Span<felt252>` built once): the mask's values in proof order, four coordinates each
//! (the proof's words as the verifier copies them, `program_air::layout::mask_call`;
//! [`encode_mask`] builds the same from a mask per column), then a
//! header of `HEADER_FELTS` (OODS point, random coefficient, the four relations' `(z, alpha)`,
//! the state and link relations' alpha powers after theirs,
//! the nine claimed sums, the nine log sizes and `max_log_degree_bound`,
//! [`encode_air_header`]). The classes store nothing and call nothing: their answers only
//! matter to the verifier that sent its own, already checked, inputs (the mask's shape and
//! canonical coordinates are the verifier's proof reader's checks).

use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::Coordinates;
use program_air::air_call::{append_qm31, mask_values, qm31_at, qm31_pow};
use program_air::layout::encode_mask_with;
use crate::generated_air::{
    MASK_SHAPE_RUNS, N_MASK_VALUES, OrderBookAirParams, PART_CONSTRAINTS,
    accumulate_orderbook_air_part_0, accumulate_orderbook_air_part_1, append_params, params_at,
};
/// Components of an order-book proof (nine: claimed sums and log sizes in the header) and the
/// header's length, as generated from the AIR.
pub use crate::generated_air::{HEADER_FELTS, N_COMPONENTS};

/// Felts of the call's input: four coordinates per mask value, then the header.
pub const INPUT_FELTS: u32 = 4 * N_MASK_VALUES + HEADER_FELTS;
/// Where the header starts in the input.
pub const HEADER_AT: u32 = 4 * N_MASK_VALUES;

/// The classes the order book's constraints take (`OrderBookFillAir`, `OrderBookAir`).
pub const N_CLASSES: u32 = 2;

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
    call: Array<felt252>, point: CirclePoint<QM31>, random_coeff: QM31,
    params: @OrderBookAirParams, max_log_degree_bound: u32,
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
    params: @OrderBookAirParams, max_log_degree_bound: u32,
) -> Array<felt252> {
    let call = encode_mask(mask).expect('air: mask shape');
    encode_air_header(call, point, random_coeff, params, max_log_degree_bound)
}

/// [`encode_air_call`]'s input (without its length) decoded: the parameters, the flat mask
/// values and the random coefficient. Panics on an input of another length.
fn decode_air_call(input: Span<felt252>) -> (OrderBookAirParams, Span<Coordinates>, QM31) {
    assert(input.len() == INPUT_FELTS, 'air: input length');
    let values = mask_values(input.slice(0, HEADER_AT));
    let header = input.slice(HEADER_AT, HEADER_FELTS);
    (params_at(header), values, qm31_at(header, 8))
}

/// `OrderBookAir`'s part from [`encode_air_call`]'s input (without its length): the fill's
/// last constraints and the other components (`accumulate_orderbook_air_part_1`), folded from
/// zero, not divided by the vanishing polynomial (the verifier multiplies the composition by
/// it instead: no class computes it). Panics on an input of another length.
pub fn eval_air_call(input: Span<felt252>) -> QM31 {
    let (params, values, random_coeff) = decode_air_call(input);
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    accumulate_orderbook_air_part_1(zero, random_coeff, values, @params)
}

/// `OrderBookFillAir`'s part from the same input: the fill's first constraints
/// (`accumulate_orderbook_air_part_0`), folded from zero, shifted by the constraints folded
/// after them (`OrderBookAir`'s), not divided by the vanishing polynomial. Panics on an input
/// of another length.
pub fn eval_fill_call(input: Span<felt252>) -> QM31 {
    let (params, values, random_coeff) = decode_air_call(input);
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let [_, after] = PART_CONSTRAINTS;
    let shift = qm31_pow(random_coeff, after);
    shift * accumulate_orderbook_air_part_0(zero, random_coeff, values, @params)
}

#[starknet::interface]
pub trait IOrderBookAir<TContractState> {
    /// This class's part of the order book's AIR composition at the OODS point times the
    /// vanishing polynomial there (stwo's `eval_composition_polynomial_at_point` over its
    /// components, from zero, not divided) from [`encode_air_call`]'s input.
    fn eval_composition_at_point(self: @TContractState, input: Span<felt252>) -> QM31;
}

/// The fill's last constraints and the eight components after it.
#[starknet::contract]
pub mod OrderBookAir {
    use stark_verifier::fields::QM31;
    use super::eval_air_call;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl OrderBookAirImpl of super::IOrderBookAir<ContractState> {
        fn eval_composition_at_point(self: @ContractState, input: Span<felt252>) -> QM31 {
            eval_air_call(input)
        }
    }
}

/// The fill's first constraints (the first component).
#[starknet::contract]
pub mod OrderBookFillAir {
    use stark_verifier::fields::QM31;
    use super::eval_fill_call;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl OrderBookFillAirImpl of super::IOrderBookAir<ContractState> {
        fn eval_composition_at_point(self: @ContractState, input: Span<felt252>) -> QM31 {
            eval_fill_call(input)
        }
    }
}
