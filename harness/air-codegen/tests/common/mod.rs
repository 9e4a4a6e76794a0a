//! Class-size measurement and freshness checks shared by the air-codegen test binaries.
#![allow(dead_code)] // each test binary uses part of it

/// Starknet's bytecode limit per class (versioned constants, 0.13.2+).
pub const MAX_CONTRACT_BYTECODE_FELTS: usize = 81_920;

/// Builds `package` with the Cairo front-end into a temporary target directory (the
/// repository's `target/dev` artifacts are left alone), compiles `<package>_<contract>` Sierra
/// -> CASM by the harness's path (`zkthread-cairo-build`, the compiler devnet uses) and returns
/// `(Sierra felts, CASM bytecode felts)`.
pub fn class_size(package: &str, contract: &str) -> (usize, usize) {
    let (artifact, bytecode) = class_artifact(package, contract);
    (artifact.sierra.sierra_program.len(), bytecode)
}

/// [`class_size`]'s build: the class as devnet would declare it (class hashes included) and
/// its CASM bytecode length.
pub fn class_artifact(package: &str, contract: &str) -> (zkthread_cairo_build::ContractArtifact, usize) {
    // The runtime value: see `workspace_path` in the crate.
    let repo = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..");
    let mut frontend = zkthread_cairo_build::Frontend::locate();
    frontend.ensure_built(&repo).expect("the Cairo front-end");
    // One directory per build: `cargo test` runs a binary's tests on threads of one process.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let build = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let target = std::env::temp_dir().join(format!(
        "zkthread-{package}-{contract}-{}-{build}",
        std::process::id()
    ));
    let output = std::process::Command::new(&frontend.program)
        .arg("build")
        .arg("--manifest")
        .arg(repo.join("Scarb.toml"))
        .arg("--package")
        .arg(package)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("runs the front-end");
    assert!(
        output.status.success(),
        "front-end failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sierra = target.join(format!("dev/{package}_{contract}.contract_class.json"));
    let artifact = zkthread_cairo_build::compile_sierra_file(&sierra).expect("Sierra -> CASM");
    let casm = std::fs::read_to_string(&artifact.paths.casm).expect("CASM written");
    let casm: serde_json::Value = serde_json::from_str(&casm).expect("CASM JSON");
    let bytecode = casm["bytecode"].as_array().expect("bytecode").len();
    let _ = std::fs::remove_dir_all(&target);
    (artifact, bytecode)
}

/// Asserts the committed file at `path` equals `fresh` (else names `regenerate`, the command that
/// rewrites it). When the environment variable `write_env` is set, writes `fresh` first: the
/// way to regenerate one file alone.
pub fn assert_fresh(path: std::path::PathBuf, fresh: String, regenerate: &str, write_env: Option<&str>) {
    if write_env.is_some_and(|var| std::env::var_os(var).is_some()) {
        std::fs::write(&path, &fresh).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(committed == fresh, "{} is stale: run `{regenerate}`", path.display());
}

/// (main columns, own constraints, interaction columns) of a role.
pub fn role_shape<R: zkthread_prover::role::Role>() -> (usize, usize, usize) {
    let zeros = vec![stwo::core::fields::m31::BaseField::from(0u32); R::N_COLUMNS];
    (R::N_COLUMNS, R::constraints(&zeros).len(), R::interaction_columns())
}

/// The generator's symbolic components of `P` are the framework driver's: named `names`, each
/// role's columns and constraints as `roles` (`role_shape` of the program's roles, then the
/// authorization roles; its own constraints plus one per LogUp batch), Poseidon2 right after
/// them, and the column log sizes the Cairo side commits with at sized-component heights `log`
/// equal to the driver's.
pub fn assert_symbolic_components_are_the_drivers<P: zkthread_prover::program::ThreadProgram>(
    components: &[zkthread_air_codegen::symbolic::SymbolicComponent],
    names: &[&str],
    roles: &[(usize, usize, usize)],
    log: &[u32],
) {
    use zkthread_prover::poseidon2::air as p2;
    let found: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(found, names);
    assert_eq!(log.len(), zkthread_prover::program::sized_components::<P>());
    for (c, (columns, own, interaction)) in components.iter().zip(roles) {
        assert_eq!(c.mask_offsets[1].len(), *columns, "{}", c.name);
        assert_eq!(c.mask_offsets[2].len(), *interaction, "{}", c.name);
        assert_eq!(c.constraints.len(), own + interaction / 4, "{}", c.name);
    }
    let poseidon2 = &components[roles.len()];
    assert_eq!(poseidon2.name, "poseidon2");
    assert_eq!(poseidon2.mask_offsets[1].len(), p2::N_COLUMNS);
    assert_eq!(poseidon2.constraints.len(), p2::N_CONSTRAINTS);
    let shape = zkthread_air_codegen::cairo::mask_shape(components, zkthread_air_codegen::signed::N_PREPROCESSED_COLUMNS);
    let sizes = zkthread_prover::program::column_log_sizes::<P>(log);
    let logs: Vec<u32> = log.iter().copied().chain([zkthread_prover::range::range_log_size(log)]).collect();
    for tree in 0..3 {
        assert_eq!(shape[tree].len(), sizes[tree].len(), "tree {tree} columns");
        // What the generated `column_log_sizes` appends: each component's columns, in order.
        let mut generated = vec![0; sizes[tree].len()];
        for (c, l) in components.iter().zip(&logs) {
            if tree == 0 {
                c.preprocessed.values().for_each(|col| generated[*col] = *l);
            } else {
                for k in 0..c.mask_offsets[tree].len() {
                    generated[c.col_start[tree] + k] = *l;
                }
            }
        }
        assert_eq!(generated, sizes[tree], "tree {tree} log sizes");
    }
}

/// Asserts the engine's pinned class hash `constant`
/// (`harness/engine/src/generated_verifier_classes.rs`, how the engine and the CLI tell a
/// thread's program from its `program_hash`) is `class_hash`; with
/// `ZKTHREAD_WRITE_VERIFIER_CLASSES` set, rewrites it first.
pub fn assert_pinned_verifier_class(constant: &str, class_hash: starknet_types_core::felt::Felt) {
    // The runtime value first, as in `class_artifact`: a target directory shared by two
    // checkouts can carry the other checkout's compile-time path over.
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../engine/src/generated_verifier_classes.rs");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let prefix = format!("pub const {constant}: Felt = Felt::from_hex_unchecked(\"");
    let start = source.find(&prefix).unwrap_or_else(|| panic!("{} names no {constant}", path.display())) + prefix.len();
    let end = start + source[start..].find('"').expect("a closing quote");
    let fresh = format!("{class_hash:#x}");
    if std::env::var_os("ZKTHREAD_WRITE_VERIFIER_CLASSES").is_some() && source[start..end] != fresh {
        let written = format!("{}{fresh}{}", &source[..start], &source[end..]);
        std::fs::write(&path, written).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path).expect("re-read");
    assert!(
        committed.contains(&format!("{prefix}{fresh}\")")),
        "{constant} in {} is stale ({fresh} now): run `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p zkthread-air-codegen --test signed_verifier_size --test list_classes --test orderbook_air_size`",
        path.display()
    );
}
