//! The committed Cairo vectors must equal what stwo computes today.

#[test]
fn committed_cairo_vectors_match_stwo() {
    let path = zkthread_stark_vectors::vectors_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let fresh = zkthread_stark_vectors::render_vectors();
    assert!(
        committed == fresh,
        "{} is stale: run `cargo run -p zkthread-stark-vectors`",
        path.display()
    );
}
