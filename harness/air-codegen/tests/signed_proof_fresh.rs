//! The committed signed proof vector (`contracts/signed_verifier`) must equal a fresh proof
//! (proving is deterministic: Fiat-Shamir only).

use zkthread_air_codegen::signed_proof_vector as v;

#[test]
fn committed_signed_proof_vector_is_a_fresh_proof() {
    let path = v::signed_proof_vector_path();
    let fresh = v::render_signed_proof_vector().expect("proves and verifies");
    if std::env::var_os("ZKTHREAD_WRITE_SIGNED_PROOF_VECTOR").is_some() {
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
