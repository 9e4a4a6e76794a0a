//! The order-book verifier's generated files (`contracts/programs/orderbook/orderbook_verifier`) must equal a
//! fresh generation: its parameter constants, its real proof vector (proving is
//! deterministic: Fiat-Shamir only) and the class hash of the AIR class it library-calls
//! (`OrderBookAir`, compiled by the harness's path: the hash devnet declares it under).

use zkthread_air_codegen::orderbook_proof_vector as proof;
use zkthread_air_codegen::signed_air_class::{air_class_path, render_air_class, ORDERBOOK_AIR};
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

/// `ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1` rewrites the constant (the build's second stage:
/// after any change to `contracts/programs/orderbook/orderbook_air` or what it depends on).
#[test]
fn committed_orderbook_air_class_hash_is_fresh() {
    let (artifact, _) = common::class_artifact(ORDERBOOK_AIR.package, ORDERBOOK_AIR.contract);
    common::assert_fresh(
        air_class_path(&ORDERBOOK_AIR),
        render_air_class(&ORDERBOOK_AIR, artifact.class_hash),
        "ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test orderbook_verifier_fresh",
        Some("ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS"),
    );
}
