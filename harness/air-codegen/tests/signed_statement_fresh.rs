//! The committed signed-statement vectors (`contracts/signed_verifier`) must equal a fresh
//! generation from `zkthread_prover::signed::statement`.

use zkthread_air_codegen::signed_statement_vectors as v;

#[test]
fn committed_signed_statement_vectors_match_the_prover() {
    let path = v::signed_statement_vectors_path();
    if std::env::var_os("ZKTHREAD_WRITE_STATEMENT_VECTORS").is_some() {
        // Regenerate only this file (`cargo run -p zkthread-air-codegen -- --signed` rewrites
        // every signed file).
        std::fs::write(&path, v::render_signed_statement_vectors()).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == v::render_signed_statement_vectors(),
        "{} is stale: run `cargo run -p zkthread-air-codegen -- --signed`",
        path.display()
    );
}
