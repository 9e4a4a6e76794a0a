//! The full stwo `verify` of a token list proof (the prover's `verify_list`): the framework's
//! verifier core (`program_verifier::verifier::verify_program_proof`) over the list program
//! ([`ListProgram`]): the token's statement (`signed_verifier::statement::bound_slots`, the
//! balance and key slots' boundary), the generated list AIR's mask shape and column sizes, and
//! its AIR class `ListAir` (`list_air::air_class`, library-called for the composition at the
//! OODS point).

use list_air::air_class::{INPUT_FELTS, encode_air_header};
use list_air::generated_air::{
    LINK_RELATION_SIZE, ListAirParams, MASK_SHAPE_RUNS, POSEIDON2_RELATION_SIZE,
    RANGE_CHECK_RELATION_SIZE, STATE_RELATION_SIZE, column_log_sizes,
};
use starknet::ClassHash;
use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::merkle::RowsByEightAndFour;
use thread_verifier::lookup::LookupElementsTrait;
use thread_verifier::proof::Mixed;
use program_verifier::verifier::{
    Relations, SignedStarkParams, ThreadProgramVerifier, verify_program_proof,
};
use signed_verifier::statement::{BoundSlot, bound_slots, statement_boundary_sum, tx_list};
use crate::generated_params::{SIGNED_MAX_LOG_ROWS, SIGNED_RANGE_BITS};

/// Components with a size chosen by the prover (list head, list item, chain step, digest, key
/// sponge, tx list, Poseidon2), the prover's `LIST_SIZED_COMPONENTS`.
pub const SIZED_COMPONENTS: u32 = 7;

/// The token list program.
#[derive(Drop, Copy)]
pub struct ListProgram {}

/// The generated AIR's parameters for `sums` and `log_sizes` in component order (list head,
/// list item, chain step, digest, key sponge, tx list, Poseidon2, range table). Out of line:
/// built twice per proof (column sizes, AIR call), and each index is a bounds check.
#[inline(never)]
fn air_params(relations: @Relations, sums: Span<QM31>, log_sizes: Span<u32>) -> ListAirParams {
    ListAirParams {
        state_relation: *relations.state,
        link_relation: *relations.link,
        poseidon2_relation: *relations.poseidon2,
        range_check_relation: *relations.range_check,
        signed_list_head_claimed_sum: *sums[0],
        signed_list_head_log_size: *log_sizes[0],
        signed_list_item_claimed_sum: *sums[1],
        signed_list_item_log_size: *log_sizes[1],
        chain_step_claimed_sum: *sums[2],
        chain_step_log_size: *log_sizes[2],
        digest_sponge_claimed_sum: *sums[3],
        digest_sponge_log_size: *log_sizes[3],
        key_sponge_claimed_sum: *sums[4],
        key_sponge_log_size: *log_sizes[4],
        tx_list_claimed_sum: *sums[5],
        tx_list_log_size: *log_sizes[5],
        poseidon2_claimed_sum: *sums[6],
        poseidon2_log_size: *log_sizes[6],
        range_table_claimed_sum: *sums[7],
        range_table_log_size: *log_sizes[7],
    }
}

impl ListProgramVerifier of ThreadProgramVerifier<ListProgram, Array<BoundSlot>> {
    fn sized_components() -> u32 {
        SIZED_COMPONENTS
    }

    fn log_size_bounds() -> (u32, u32) {
        (SIGNED_RANGE_BITS, SIGNED_MAX_LOG_ROWS)
    }

    fn relation_sizes() -> (u32, u32, u32, u32) {
        (STATE_RELATION_SIZE, LINK_RELATION_SIZE, POSEIDON2_RELATION_SIZE, RANGE_CHECK_RELATION_SIZE)
    }

    fn bind(public_input: Span<felt252>, witness: Span<felt252>) -> Result<Array<BoundSlot>, felt252> {
        bound_slots(public_input, witness)
    }

    fn boundary(
        slots: @Array<BoundSlot>, public_input: Span<felt252>, relations: @Relations,
    ) -> Result<QM31, felt252> {
        let (tx_count, tx_cap) = tx_list(public_input)?;
        statement_boundary_sum(slots.span(), relations.state, tx_count, tx_cap, relations.link)
    }

    fn air_input_felts() -> u32 {
        INPUT_FELTS
    }

    fn mask_shape_runs() -> Span<u32> {
        MASK_SHAPE_RUNS.span()
    }

    fn column_log_sizes(log_sizes: Span<u32>) -> Span<Span<u32>> {
        // Only the log sizes matter for the column sizes: relations and sums are placeholders.
        let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
        let placeholder = LookupElementsTrait::empty();
        let relations = Relations {
            state: placeholder, link: placeholder, poseidon2: placeholder, range_check: placeholder,
        };
        let sums = array![zero, zero, zero, zero, zero, zero, zero, zero];
        column_log_sizes(@air_params(@relations, sums.span(), log_sizes))
    }

    fn air_class_count() -> u32 {
        // `ListAir` folds them all.
        1
    }

    fn encode_air_header(
        call: Array<felt252>,
        point: CirclePoint<QM31>,
        random_coeff: QM31,
        relations: @Relations,
        sums: Span<QM31>,
        log_sizes: Span<u32>,
        max_log_degree_bound: u32,
    ) -> Array<felt252> {
        encode_air_header(
            call, point, random_coeff, @air_params(relations, sums, log_sizes), max_log_degree_bound,
        )
    }
}

/// Ok(()) iff `proof` proves a token list sub-block with exactly `public_input` (chain id and
/// registry in place) under one of the parameter sets `accepted` (the shipped class's
/// `generated_params::accepted_list_params`: the proof names its set), with the list AIR's constraints evaluated by the class
/// `air_class` (`ListAir`); Err(reason) otherwise. The shipped class passes its compile-time
/// constant (`generated_air_class`), never a hash from calldata or storage; Cairo tests pass
/// the test runner's `ListAir::TEST_CLASS_HASH`.
pub fn verify_list_proof(
    public_input: Span<felt252>, proof: Span<felt252>, accepted: Span<SignedStarkParams>,
    air_class: ClassHash,
) -> Result<(), felt252> {
    verify_program_proof::<
        ListProgram, Array<BoundSlot>, Mixed, RowsByEightAndFour, Span<SignedStarkParams>,
    >(public_input, proof, accepted, array![air_class].span())
}
