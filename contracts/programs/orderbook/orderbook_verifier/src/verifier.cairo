//! The full stwo `verify` of an order-book proof (the prover's
//! `zkthread_orderbook::prover::verify`): the framework's verifier core
//! (`program_verifier::verifier::verify_program_proof`) over the order book ([`OrderBookProgram`]):
//! its statement (`statement::bound_slots` with the `[owner, id]` witness, the order, market,
//! balance and key slots' boundary), its generated AIR's mask shape and column sizes, and its
//! two AIR classes `OrderBookFillAir` and `OrderBookAir` (`orderbook_air::air_class`,
//! library-called for their parts of the composition at the OODS point).

use orderbook_air::air_class::{INPUT_FELTS, N_CLASSES, encode_air_header};
use orderbook_air::generated_air::{
    LINK_RELATION_SIZE, MASK_SHAPE_RUNS, OrderBookAirParams, POSEIDON2_RELATION_SIZE,
    RANGE_CHECK_RELATION_SIZE, STATE_RELATION_SIZE, column_log_sizes,
};
use starknet::ClassHash;
use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::merkle::RowsByEightWide;
use thread_verifier::lookup::LookupElementsTrait;
use thread_verifier::proof::Divided;
use thread_statement::header::tx_list;
use program_verifier::verifier::{
    Relations, SignedStarkParams, ThreadProgramVerifier, verify_program_proof,
};
use crate::generated_params::{SIGNED_MAX_LOG_ROWS, SIGNED_RANGE_BITS};
use crate::statement::{BoundSlot, bound_slots, statement_boundary_sum};

/// Components with a size chosen by the prover (fill, place, cancel, chain step, digest, key
/// sponge, tx list, Poseidon2): `zkthread_orderbook::poseidon252::SIZED_COMPONENTS`.
pub const SIZED_COMPONENTS: u32 = 8;

/// The order-book program.
#[derive(Drop, Copy)]
pub struct OrderBookProgram {}

/// The generated AIR's parameters for `sums` and `log_sizes` in component order (fill, place,
/// cancel, chain step, digest, key sponge, tx list, Poseidon2, range table). Out of line:
/// built twice per proof (column sizes, AIR call), and each index is a bounds check.
#[inline(never)]
fn air_params(relations: @Relations, sums: Span<QM31>, log_sizes: Span<u32>) -> OrderBookAirParams {
    OrderBookAirParams {
        state_relation: *relations.state,
        link_relation: *relations.link,
        poseidon2_relation: *relations.poseidon2,
        range_check_relation: *relations.range_check,
        orderbook_fill_claimed_sum: *sums[0],
        orderbook_fill_log_size: *log_sizes[0],
        orderbook_place_claimed_sum: *sums[1],
        orderbook_place_log_size: *log_sizes[1],
        orderbook_cancel_claimed_sum: *sums[2],
        orderbook_cancel_log_size: *log_sizes[2],
        chain_step_claimed_sum: *sums[3],
        chain_step_log_size: *log_sizes[3],
        digest_sponge_claimed_sum: *sums[4],
        digest_sponge_log_size: *log_sizes[4],
        key_sponge_claimed_sum: *sums[5],
        key_sponge_log_size: *log_sizes[5],
        tx_list_claimed_sum: *sums[6],
        tx_list_log_size: *log_sizes[6],
        poseidon2_claimed_sum: *sums[7],
        poseidon2_log_size: *log_sizes[7],
        range_table_claimed_sum: *sums[8],
        range_table_log_size: *log_sizes[8],
    }
}

impl OrderBookProgramVerifier of ThreadProgramVerifier<OrderBookProgram, Array<BoundSlot>> {
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
        let sums = array![zero, zero, zero, zero, zero, zero, zero, zero, zero];
        column_log_sizes(@air_params(@relations, sums.span(), log_sizes))
    }

    fn air_class_count() -> u32 {
        N_CLASSES
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

/// Ok(()) iff `proof` (`[2 n_in, owner_0, id_0, ..., stark felts]`) proves an order-book
/// sub-block with exactly `public_input` (chain id and registry in place) under `params`, with
/// the order book's constraints evaluated by the classes `air_classes` (`[OrderBookFillAir,
/// OrderBookAir]`); Err(reason) otherwise. The shipped class passes its compile-time constants
/// (`generated_air_class`), never hashes from calldata or storage.
pub fn verify_orderbook_proof(
    public_input: Span<felt252>, proof: Span<felt252>, params: @SignedStarkParams,
    air_classes: Span<ClassHash>,
) -> Result<(), felt252> {
    // The bitwise builtin prices the book's verification (eight masks per packed felt, 64
    // steps each): word 0 of each felt by a bounded division instead.
    verify_program_proof::<
        OrderBookProgram, Array<BoundSlot>, Divided, RowsByEightWide, SignedStarkParams,
    >(public_input, proof, *params, air_classes)
}
