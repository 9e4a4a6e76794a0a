//! The ThreadVerifier class must be declarable: its CASM bytecode within Starknet's
//! `max_contract_bytecode_size` (81,920 felts). The generated AIR is data (a constraint
//! program per component, run by `oods::accumulate_component`), so a larger AIR mostly grows
//! that program; a change of the generator or the verifier shows here first.

/// Starknet's bytecode limit per class (versioned constants, 0.13.2+).
const MAX_CONTRACT_BYTECODE_FELTS: usize = 81_920;

#[test]
fn thread_verifier_casm_fits_starknet_class_limits() {
    // The runtime value: see `workspace_path` in the crate.
    let repo = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..");
    let options = zkthread_cairo_build::BuildOptions {
        rebuild: zkthread_cairo_build::Rebuild::IfStale,
        packages: vec!["thread_verifier".into()],
    };
    let artifacts = zkthread_cairo_build::build_contracts_with(&repo, &options).expect("builds");
    let verifier = artifacts
        .iter()
        .find(|a| a.id() == "thread_verifier_ThreadVerifier")
        .expect("ThreadVerifier artifact");
    let casm = std::fs::read_to_string(&verifier.paths.casm).expect("CASM written");
    let casm: serde_json::Value = serde_json::from_str(&casm).expect("CASM JSON");
    let bytecode = casm["bytecode"].as_array().expect("bytecode").len();
    println!(
        "ThreadVerifier: {} Sierra felts, {bytecode} CASM felts",
        verifier.sierra.sierra_program.len()
    );
    assert!(
        bytecode <= MAX_CONTRACT_BYTECODE_FELTS,
        "ThreadVerifier CASM is {bytecode} felts, over Starknet's {MAX_CONTRACT_BYTECODE_FELTS}"
    );
}
