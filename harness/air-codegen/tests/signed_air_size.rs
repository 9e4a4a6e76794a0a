//! The signed AIR's evaluation in a class: `contracts/signed_air`'s `SignedAirProbe` (one entry
//! point that evaluates the whole composition from calldata), compiled Sierra -> CASM by the
//! harness's path (`zkthread-cairo-build`, the compiler devnet uses). Built into a temporary
//! target directory, so the repository's `target/dev` artifacts are left alone.

/// Starknet's bytecode limit per class (versioned constants, 0.13.2+).
const MAX_CONTRACT_BYTECODE_FELTS: usize = 81_920;
/// What the probe may take (measured 25,451: ~19.3k are what a verifier adds for the signed AIR
/// — interpreter, Poseidon2 evaluator, programs as constant data, shape check; the rest is the
/// probe's calldata decoding and circle/field code a verifier has anyway). The rest of a signed
/// verifier (`stark_verifier` ~49k, proof parsing, statement, transcript) must fit next to it.
const SIGNED_AIR_BUDGET_FELTS: usize = 27_000;

#[test]
fn signed_air_probe_casm_size() {
    // The runtime value: see `workspace_path` in the crate.
    let repo = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..");
    let mut frontend = zkthread_cairo_build::Frontend::locate();
    frontend.ensure_built(&repo).expect("the Cairo front-end");
    let target =
        std::env::temp_dir().join(format!("zkthread-signed-air-size-{}", std::process::id()));
    let output = std::process::Command::new(&frontend.program)
        .arg("build")
        .arg("--manifest")
        .arg(repo.join("Scarb.toml"))
        .arg("--package")
        .arg("signed_air")
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("runs the front-end");
    assert!(
        output.status.success(),
        "front-end failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sierra = target.join("dev/signed_air_SignedAirProbe.contract_class.json");
    let artifact = zkthread_cairo_build::compile_sierra_file(&sierra).expect("Sierra -> CASM");
    let casm = std::fs::read_to_string(&artifact.paths.casm).expect("CASM written");
    let casm: serde_json::Value = serde_json::from_str(&casm).expect("CASM JSON");
    let bytecode = casm["bytecode"].as_array().expect("bytecode").len();
    let _ = std::fs::remove_dir_all(&target);
    println!(
        "SignedAirProbe: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})",
        artifact.sierra.sierra_program.len()
    );
    assert!(
        bytecode <= SIGNED_AIR_BUDGET_FELTS,
        "the signed AIR evaluation is {bytecode} CASM felts, over its {SIGNED_AIR_BUDGET_FELTS} budget"
    );
}
