//! Writes the generated Cairo AIR evaluation and its test vectors (see the library docs).

fn main() -> anyhow::Result<()> {
    let air = zkthread_air_codegen::render_air()?;
    let vectors = zkthread_air_codegen::vectors::render_vectors();
    for (path, text) in [
        (zkthread_air_codegen::air_path(), air),
        (zkthread_air_codegen::vectors_path(), vectors),
    ] {
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
