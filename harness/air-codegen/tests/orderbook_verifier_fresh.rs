//! The order-book verifier's generated files (`contracts/programs/orderbook/orderbook_verifier`) must equal a
//! fresh generation: its parameter constants, its real proof vector (proving is
//! deterministic: Fiat-Shamir only) and the class hashes of the AIR classes it library-calls
//! (`OrderBookFillAir`, `OrderBookAir`, compiled by the harness's path: the hashes devnet
//! declares them under).

use zkthread_air_codegen::orderbook_proof_vector as proof;
use zkthread_air_codegen::signed_air_class::{air_class_path, render_air_classes, ORDERBOOK_AIR, ORDERBOOK_AIR_CLASSES};
use zkthread_air_codegen::signed_params as params;

mod common;

const REGENERATE: &str = "cargo run -p zkthread-air-codegen -- --orderbook";

#[test]
fn committed_orderbook_params_are_fresh() {
    common::assert_fresh(params::orderbook_params_path(), params::render_orderbook_params(), REGENERATE, None);
}

/// `ZKTHREAD_WRITE_ORDERBOOK_PROOF_VECTOR=1` regenerates only this file.
#[test]
fn committed_orderbook_proof_vector_is_a_fresh_proof() {
    common::assert_fresh(
        proof::orderbook_proof_vector_path(),
        proof::render_orderbook_proof_vector().expect("proves and verifies"),
        REGENERATE,
        Some("ZKTHREAD_WRITE_ORDERBOOK_PROOF_VECTOR"),
    );
}

/// `ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1` rewrites the constants (the build's second stage:
/// after any change to `contracts/programs/orderbook/orderbook_air` or what it depends on).
#[test]
fn committed_orderbook_air_class_hashes_are_fresh() {
    let hashes: Vec<_> = ORDERBOOK_AIR_CLASSES
        .iter()
        .map(|air| (air, common::class_artifact(air.package, air.contract).0.class_hash))
        .collect();
    common::assert_fresh(
        air_class_path(&ORDERBOOK_AIR),
        render_air_classes(&hashes),
        "ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test orderbook_verifier_fresh",
        Some("ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS"),
    );
}
