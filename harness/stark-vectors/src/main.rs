//! Writes `contracts/stark_verifier/src/tests/vectors.cairo` from stwo 2.3.

fn main() -> anyhow::Result<()> {
    let path = zkthread_stark_vectors::vectors_path();
    let text = zkthread_stark_vectors::render_vectors();
    std::fs::write(&path, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
