//! The committed signed DEFAULT parameter constants (`contracts/signed_verifier`) must equal a
//! fresh generation.

use zkthread_air_codegen::signed_params as v;

#[test]
fn committed_signed_params_are_fresh() {
    let path = v::signed_params_path();
    let fresh = v::render_signed_params();
    if std::env::var_os("ZKTHREAD_WRITE_SIGNED_PARAMS").is_some() {
        // Regenerate only this file (`cargo run -p zkthread-air-codegen -- --signed` rewrites
        // every signed file).
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == fresh,
        "{} is stale: run `cargo run -p zkthread-air-codegen -- --signed`",
        path.display()
    );
}
