//! The `SignedVerifier` class (`contracts/signed_verifier/src/contract.cairo`) compiled Sierra
//! -> CASM by the harness's path (`zkthread-cairo-build`, the compiler devnet uses), the way
//! `contract_size.rs` measures `ThreadVerifier`. Built into a temporary target directory, so the
//! repository's `target/dev` artifacts are left alone.

/// Starknet's bytecode limit per class (versioned constants, 0.13.2+).
const MAX_CONTRACT_BYTECODE_FELTS: usize = 81_920;
/// The class fits: measured 79,292 CASM felts (41,841 Sierra), 2,628 under the limit, since the
/// signed AIR's role and range-table programs are stored packed 7 words per felt252
/// (`signed_air::packed`; 82,665 CASM felts before). This test asserts the fit, and fails if the
/// class grows past this ceiling.
const SIGNED_VERIFIER_CEILING_FELTS: usize = 80_000;

#[test]
fn signed_verifier_casm_size() {
    // The runtime value: see `workspace_path` in the crate.
    let repo = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..");
    let mut frontend = zkthread_cairo_build::Frontend::locate();
    frontend.ensure_built(&repo).expect("the Cairo front-end");
    let target = std::env::temp_dir().join(format!(
        "zkthread-signed-verifier-size-{}",
        std::process::id()
    ));
    let output = std::process::Command::new(&frontend.program)
        .arg("build")
        .arg("--manifest")
        .arg(repo.join("Scarb.toml"))
        .arg("--package")
        .arg("signed_verifier")
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("runs the front-end");
    assert!(
        output.status.success(),
        "front-end failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sierra = target.join("dev/signed_verifier_SignedVerifier.contract_class.json");
    let artifact = zkthread_cairo_build::compile_sierra_file(&sierra).expect("Sierra -> CASM");
    let casm = std::fs::read_to_string(&artifact.paths.casm).expect("CASM written");
    let casm: serde_json::Value = serde_json::from_str(&casm).expect("CASM JSON");
    let bytecode = casm["bytecode"].as_array().expect("bytecode").len();
    let _ = std::fs::remove_dir_all(&target);
    let fit = if bytecode <= MAX_CONTRACT_BYTECODE_FELTS {
        "fits".to_string()
    } else {
        format!("OVER by {}", bytecode - MAX_CONTRACT_BYTECODE_FELTS)
    };
    println!(
        "SignedVerifier: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS}: {fit})",
        artifact.sierra.sierra_program.len()
    );
    assert!(
        bytecode <= MAX_CONTRACT_BYTECODE_FELTS,
        "SignedVerifier is {bytecode} CASM felts, over Starknet's {MAX_CONTRACT_BYTECODE_FELTS} class limit"
    );
    assert!(
        bytecode <= SIGNED_VERIFIER_CEILING_FELTS,
        "SignedVerifier grew to {bytecode} CASM felts, past its recorded {SIGNED_VERIFIER_CEILING_FELTS} ceiling"
    );
}
