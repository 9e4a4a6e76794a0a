//! The order book's AIR classes `OrderBookFillAir` and `OrderBookAir`
//! (`contracts/programs/orderbook/orderbook_air/src/air_class.cairo`: their parts of the composition at the
//! OODS point, for the order book's verifier to library-call) and the verifier,
//! compiled Sierra -> CASM by the harness's path (`zkthread-cairo-build`, the compiler devnet
//! uses). Built into a temporary target directory, so the repository's `target/dev` artifacts
//! are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// What the AIR class may take: measured 65,822 CASM felts (26,845 Sierra; 2026-12-02, session
/// 23: the header's decoding, now generated, inlined into `decode_air_call`, -3,776; 69,357 in
/// session 21, 72,186 before products by `alpha^0` were dropped) with the fill's last 20 constraints, place, cancel, the authorization roles and the
/// range table compiled to straight-line code (`zkthread_air_codegen::straight`), the
/// Poseidon2 evaluator and the field and circle code they use. Before: 66,191 with the whole
/// fill's 7,759 words kept as data for the interpreter (whose branch padding cost ~170k memory
/// holes a proof); 24,592 with fill, place, cancel and key sponge packed 7 words per felt252
/// and unpacked at every verification, 34,141 with every program as words.
const ORDERBOOK_AIR_BUDGET_FELTS: usize = 75_000;

/// What the fill's class may take: measured 68,702 CASM felts (28,022 Sierra; 2026-12-02,
/// session 23, the same -3,776; 72,714 in session 21, 76,570 before products by `alpha^0` were
/// dropped) with
/// the fill's first 152 of 172 constraints and the intermediates they read compiled to
/// straight-line code (~11 CASM felts a program word), the input's decoding and the field
/// code. The whole fill in one class measured 89,482: over the limit, hence the split
/// (`zkthread_air_codegen::orderbook::FILL_SPLIT`, a multiple of the 8-constraint fold chunk;
/// 136 put 83,060 in `OrderBookAir`).
const ORDERBOOK_FILL_AIR_BUDGET_FELTS: usize = 78_000;

/// The order book's AIR class `contract` (package `orderbook_air`) is at most `budget` CASM felts.
fn assert_air_class_within(contract: &str, budget: usize) {
    let (sierra_felts, bytecode) = class_size("orderbook_air", contract);
    println!(
        "{contract}: {sierra_felts} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})"
    );
    assert!(bytecode <= budget, "{contract} is {bytecode} CASM felts, over its {budget} budget");
}

#[test]
fn orderbook_fill_air_class_casm_size() {
    assert_air_class_within("OrderBookFillAir", ORDERBOOK_FILL_AIR_BUDGET_FELTS);
}

#[test]
fn orderbook_air_class_casm_size() {
    assert_air_class_within("OrderBookAir", ORDERBOOK_AIR_BUDGET_FELTS);
}

/// The order book's verifier class `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`: the
/// framework's verifier core, the book's statement and the AIR class's call): must fit
/// Starknet's class limit. Measured 77,060 CASM felts (35,662 Sierra; 76,898 before the
/// statement carried ratio prices), 4,860 under the limit,
/// since the DEEP quotients' eight-query sums take two columns per iteration (+300; -23,176
/// steps on a SIGNED_PARAMS book proof) and the proof reader unpacks the M31 stream four felts
/// per iteration (+642; -15,596 steps; 75,956 before both): the core is ~2/3 of it
/// (`SignedVerifier` is 70,048 with the token's smaller statement), the book's statement
/// (`bound_slots` with the whole-list rules, five tuple kinds) the rest. The ceiling is that
/// plus a little room.
/// 2026-12-02: 78,310 with the last layer's unreduced fold, eight-row Merkle leaves, point runs
/// and the height's last-layer bound (as `SignedVerifier`, +856), 3,610 under the limit.
/// 2026-12-02 (session 20): 79,383 with the M31 stream unpacked eight felts per iteration
/// (+560; -9.8k steps on a 32-transfer signed proof) and the DEEP sums taking four columns per
/// iteration (+~300; -9.1k steps), as `SignedVerifier` (+1,073): 2,537 under the limit.
/// 2026-12-02 (session 21): 79,793 with the AIR classes as a list (their answers added: the
/// order book's constraints take two classes; +341), then 79,632 with the mask's shape check
/// and its encoding for the AIR call in one walk (`program_air::layout::encode_mask_with`):
/// 2,288 under the limit.
/// 2026-12-02 (session 22): 80,579 with a cumulative-sum column's main-point sample folded into
/// the main DEEP batch as it is read (`pcs::set_aside_pair`, +947; -22.6k steps on the book's
/// production proof, -18.8k on a 32-transfer signed one): 1,341 under the limit.
/// 2026-12-02 (session 23): 80,645 with the cumulative-sum columns' previous-point and
/// periodicity samples folded into their batches as they are read too (`pcs::fold_pair_column`,
/// +96; -53.0k steps on the book's production proof, -42.8k on a 32-transfer signed one) and
/// their shifted points read from the generator's doublings (`pcs::shifted_point`, -30;
/// -3.5k / -5.1k); then 80,667 with word 0 of each packed M31 felt cut by a bounded division
/// (`thread_verifier::proof::Divided`, +22: the book's proof priced by steps again, 1.919e8 ->
/// 1.857e8): 1,253 under the limit (session 23).
/// 2026-12-03 (session 26): 80,989 with the fill counter a u64 whose tuples are rebased
/// (`rebase_counter`: the move checked in felt arithmetic, the base by a bit mask; +322; checked
/// u64 subtractions and `%` cost +408): 931 under the limit.
/// 2026-12-03 (session 27): 80,983 with AIR version 4 (a cancel writes side 3).
/// 2026-12-04 (session 28): 81,006 with AIR version 5 (the cancel role's side may be 4,
/// cancelled on L2; `unpack_order` accepts side 4 below 2^99): 914 under the limit. The
/// ceiling moves to 81,100: the next statement rule must first find room.
/// 2026-12-06 (session 43): 80,918 with the last FRI layer compared by an exact felt252
/// division instead of a u256 remainder (`poly::equals_mod_p`, -107 with the DEEP sums' tail
/// block of four, +19), then 80,947 with the last layer's coefficient count checked where it is
/// folded (+29): 973 under the limit.
/// 2026-12-06 (session 49): 81,854 with the statement's distinct-id map (`thread_statement::
/// ids::DistinctIds`, a `Felt252Dict` and its squash: two 124-bit ids naming two owners or
/// contracts are refused) and the key-step rule (+907): 66 under the limit. The ceiling is the
/// limit's neighbour: the next statement rule or AIR column must first find room.
const ORDERBOOK_VERIFIER_CEILING_FELTS: usize = 81_900;

#[test]
fn orderbook_verifier_class_casm_size() {
    let (artifact, bytecode) = common::class_artifact("orderbook_verifier", "OrderBookVerifier");
    let sierra_felts = artifact.sierra.sierra_program.len();
    // The same build pins the class hash the engine tells an order-book thread by.
    common::assert_pinned_verifier_class("ORDERBOOK_VERIFIER_CLASS_HASH", artifact.class_hash);
    println!(
        "OrderBookVerifier: {sierra_felts} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})"
    );
    assert!(
        bytecode <= MAX_CONTRACT_BYTECODE_FELTS,
        "OrderBookVerifier is {bytecode} CASM felts, over Starknet's {MAX_CONTRACT_BYTECODE_FELTS} class limit"
    );
    assert!(
        bytecode <= ORDERBOOK_VERIFIER_CEILING_FELTS,
        "OrderBookVerifier grew to {bytecode} CASM felts, past its recorded {ORDERBOOK_VERIFIER_CEILING_FELTS} ceiling"
    );
}
