//! The committed signed DEFAULT parameter constants (`contracts/programs/token/signed_verifier`) must equal a
//! fresh generation.

use zkthread_air_codegen::signed_params as v;

mod common;

/// `ZKTHREAD_WRITE_SIGNED_PARAMS=1` regenerates only this file (`cargo run -p zkthread-air-codegen -- --signed`
/// rewrites every signed file).
#[test]
fn committed_signed_params_are_fresh() {
    common::assert_fresh(
        v::signed_params_path(),
        v::render_signed_params(),
        "cargo run -p zkthread-air-codegen -- --signed",
        Some("ZKTHREAD_WRITE_SIGNED_PARAMS"),
    );
}
