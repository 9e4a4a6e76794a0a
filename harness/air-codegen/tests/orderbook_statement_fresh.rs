//! The committed order-book statement vectors (`contracts/programs/orderbook/orderbook_verifier`) must equal a
//! fresh generation from `zkthread_orderbook::statement`.

use zkthread_air_codegen::orderbook_statement_vectors as v;

mod common;

/// `ZKTHREAD_WRITE_STATEMENT_VECTORS=1` regenerates only this file (`cargo run -p zkthread-air-codegen -- --signed`
/// rewrites every signed file).
#[test]
fn committed_orderbook_statement_vectors_match_the_prover() {
    common::assert_fresh(
        v::orderbook_statement_vectors_path(),
        v::render_orderbook_statement_vectors(),
        "cargo run -p zkthread-air-codegen -- --signed",
        Some("ZKTHREAD_WRITE_STATEMENT_VECTORS"),
    );
}
