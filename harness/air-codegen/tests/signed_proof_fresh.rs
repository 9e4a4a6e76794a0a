//! The committed signed proof vector (`contracts/programs/token/signed_verifier`) must equal a fresh proof
//! (proving is deterministic: Fiat-Shamir only).

use zkthread_air_codegen::signed_proof_vector as v;

mod common;

/// `ZKTHREAD_WRITE_SIGNED_PROOF_VECTOR=1` regenerates only this file (`cargo run -p zkthread-air-codegen -- --signed`
/// rewrites every signed file).
#[test]
fn committed_signed_proof_vector_is_a_fresh_proof() {
    common::assert_fresh(
        v::signed_proof_vector_path(),
        v::render_signed_proof_vector().expect("proves and verifies"),
        "cargo run -p zkthread-air-codegen -- --signed",
        Some("ZKTHREAD_WRITE_SIGNED_PROOF_VECTOR"),
    );
}
