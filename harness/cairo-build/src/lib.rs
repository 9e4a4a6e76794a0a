//! Turns the Sierra artifacts of the zkthreads Cairo packages into what a Starknet node needs to
//! declare them: CASM (`.compiled_contract_class.json`, scarb's shape), the Sierra class hash and
//! the **Blake2** compiled class hash.
//!
//! The Cairo -> Sierra step runs in a separate binary (`zkthread-cairo`, its own Cargo
//! workspace: its `cairo-lang-*` pins cannot share a graph with devnet's). Sierra -> CASM and the
//! hashes use `cairo-lang-starknet-classes =2.19.4`, the version starknet-devnet 0.10.1 compiles
//! declared classes with, so the compiled class hash we sign is the one the node recomputes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cairo_lang_starknet_classes::allowed_libfuncs::ListSelector;
use cairo_lang_starknet_classes::casm_contract_class::CasmContractClass;
use cairo_lang_starknet_classes::contract_class::ContractClass;
use starknet::core::types::contract::SierraClass;
use starknet::core::types::FlattenedSierraClass;
pub use starknet_types_core::felt::Felt;

/// Where the front-end writes artifacts, relative to the repository root (as `scarb build`).
pub const ARTIFACT_DIR: &str = "target/dev";
const SIERRA_SUFFIX: &str = ".contract_class.json";
const CASM_SUFFIX: &str = ".compiled_contract_class.json";
/// Starknet's audited libfunc list: what public networks accept, so we check against it too.
const LIBFUNC_LIST: &str = "audited";
/// Environment variable naming the front-end binary (overrides the default location).
pub const FRONTEND_ENV: &str = "ZKTHREAD_CAIRO_BIN";
/// The script that builds the front-end binary when it is missing.
pub const FRONTEND_BUILD_SCRIPT: &str = "scripts/build-frontend.sh";

#[derive(Debug, thiserror::Error)]
pub enum CairoBuildError {
    #[error("I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{program} failed ({status}):\n{stderr}")]
    FrontendFailed {
        program: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("the Cairo front-end binary is missing at {0} and {FRONTEND_BUILD_SCRIPT} did not produce it")]
    FrontendMissing(PathBuf),
    #[error("{path} is not a Sierra contract class: {source}")]
    SierraJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: cannot flatten the Sierra class (ABI): {message}")]
    Flatten { path: PathBuf, message: String },
    #[error("{path}: Sierra program does not decode: {message}")]
    SierraProgram { path: PathBuf, message: String },
    #[error("{path}: uses libfuncs outside the '{LIBFUNC_LIST}' list: {message}")]
    Libfuncs { path: PathBuf, message: String },
    #[error("{path}: Sierra -> CASM failed: {message}")]
    Casm { path: PathBuf, message: String },
    #[error("{path}: cannot write CASM JSON: {source}")]
    CasmJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no artifact {0} (build the contracts first)")]
    ArtifactMissing(PathBuf),
    #[error("artifact name {0:?} is not <package>_<Contract>{SIERRA_SUFFIX}")]
    ArtifactName(String),
    #[error("no contract artifacts in {0}")]
    NoArtifacts(PathBuf),
}

pub type Result<T, E = CairoBuildError> = std::result::Result<T, E>;

/// Files of one contract artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactPaths {
    /// `<package>_<Contract>.contract_class.json` (Sierra, written by the front-end).
    pub sierra: PathBuf,
    /// `<package>_<Contract>.compiled_contract_class.json` (CASM, written here).
    pub casm: PathBuf,
}

/// One contract ready to declare.
#[derive(Clone, Debug)]
pub struct ContractArtifact {
    pub package: String,
    pub contract: String,
    /// The class as a declare transaction carries it (ABI as a string).
    pub sierra: Arc<FlattenedSierraClass>,
    /// Blake2 compiled class hash (Starknet >= 0.14.1; what devnet 0.10.1 checks).
    pub casm_hash: Felt,
    /// Sierra class hash (the id the class is declared under).
    pub class_hash: Felt,
    pub paths: ArtifactPaths,
}

impl ContractArtifact {
    /// `<package>_<Contract>`, the artifact file stem.
    pub fn id(&self) -> String {
        format!("{}_{}", self.package, self.contract)
    }
}

/// How to reach the Cairo front-end binary.
#[derive(Clone, Debug)]
pub struct Frontend {
    pub program: PathBuf,
}

impl Frontend {
    /// `$ZKTHREAD_CAIRO_BIN` if set, else where `scripts/build-frontend.sh` puts it:
    /// `$CARGO_TARGET_DIR/cairo-frontend/release/zkthread-cairo` (`$CARGO_TARGET_DIR` defaults to
    /// `$HOME/.cache/zkthreads/target`, as in `scripts/env.sh`).
    pub fn locate() -> Self {
        if let Some(program) = std::env::var_os(FRONTEND_ENV) {
            return Self {
                program: PathBuf::from(program),
            };
        }
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                home.join(".cache/zkthreads/target")
            });
        Self {
            program: target_dir.join("cairo-frontend/release/zkthread-cairo"),
        }
    }

    /// Builds the binary with the front-end's script if it does not exist yet; the script
    /// prints the binary's path on its last line, which then replaces the located one.
    pub fn ensure_built(&mut self, repo_root: &Path) -> Result<()> {
        if self.program.is_file() {
            return Ok(());
        }
        let script = repo_root.join(FRONTEND_BUILD_SCRIPT);
        tracing::info!(script = %script.display(), "building the Cairo front-end (first run only)");
        let stdout = run(
            Command::new("bash").arg(&script).current_dir(repo_root),
            &script,
        )?;
        if let Some(last) = stdout.lines().map(str::trim).rfind(|line| !line.is_empty()) {
            self.program = PathBuf::from(last);
        }
        if self.program.is_file() {
            Ok(())
        } else {
            Err(CairoBuildError::FrontendMissing(self.program.clone()))
        }
    }

    /// Cairo -> Sierra for every contract package of the workspace (or only `package`), into
    /// `<repo>/target/dev`.
    pub fn build(&self, repo_root: &Path, package: Option<&str>) -> Result<()> {
        let manifest = repo_root.join("Scarb.toml");
        let mut command = Command::new(&self.program);
        command
            .arg("build")
            .arg("--manifest")
            .arg(&manifest)
            .current_dir(repo_root);
        if let Some(package) = package {
            command.arg("--package").arg(package);
        }
        run(&mut command, &self.program).map(|_| ())
    }
}

/// Runs `command`; returns its stdout, or its stderr and stdout in the error.
fn run(command: &mut Command, program: &Path) -> Result<String> {
    let output = command.output().map_err(|source| CairoBuildError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        stderr.push_str(&String::from_utf8_lossy(&output.stdout));
        Err(CairoBuildError::FrontendFailed {
            program: program.to_owned(),
            status: output.status,
            stderr,
        })
    }
}

/// Compiles every contract of the Cairo workspace at `repo_root` (front-end, then CASM and
/// hashes). The front-end binary is built on first use.
/// Concurrent callers (parallel test processes) are serialised by a lock file in `target/`,
/// so no one reads an artifact while another process rewrites it.
pub fn build_contracts(repo_root: &Path) -> Result<Vec<ContractArtifact>> {
    build_contracts_with(repo_root, &BuildOptions::default())
}

/// What [`build_contracts_with`] builds, and when.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    pub rebuild: Rebuild,
    /// Packages to build and return; empty means every contract package.
    pub packages: Vec<String>,
}

/// When to run the Cairo front-end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rebuild {
    #[default]
    Always,
    /// Only if a file under `contracts/`, the root `Scarb.toml` or the front-end binary is newer
    /// than the oldest Sierra artifact of the requested packages (of all, when none is named),
    /// or there is none. CASM and hashes are always redone.
    IfStale,
}

/// [`build_contracts`] with a choice of when to run the front-end.
pub fn build_contracts_with(
    repo_root: &Path,
    options: &BuildOptions,
) -> Result<Vec<ContractArtifact>> {
    let artifact_dir = repo_root.join(ARTIFACT_DIR);
    fs::create_dir_all(&artifact_dir).map_err(|source| CairoBuildError::Io {
        path: artifact_dir.clone(),
        source,
    })?;
    let lock_path = repo_root.join("target").join(".zkthread-cairo-build.lock");
    let lock = fs::File::create(&lock_path).map_err(|source| CairoBuildError::Io {
        path: lock_path.clone(),
        source,
    })?;
    lock.lock().map_err(|source| CairoBuildError::Io {
        path: lock_path.clone(),
        source,
    })?;
    let mut frontend = Frontend::locate();
    frontend.ensure_built(repo_root)?;
    // Fresh artifacts of other packages (another process built a different list) do not make
    // a requested package's missing artifacts fresh.
    let missing = options
        .packages
        .iter()
        .any(|package| !has_artifacts(&artifact_dir, package));
    if options.rebuild == Rebuild::Always
        || missing
        || is_stale(repo_root, &artifact_dir, &frontend.program, &options.packages)?
    {
        if options.packages.is_empty() {
            frontend.build(repo_root, None)?;
        }
        for package in &options.packages {
            frontend.build(repo_root, Some(package))?;
        }
    } else {
        tracing::debug!("Sierra artifacts are up to date");
    }
    let artifacts = compile_packages(&artifact_dir, &options.packages);
    // Unlocks on drop too; explicit so the lock's extent is visible.
    drop(lock);
    artifacts
}

/// Whether `artifact_dir` holds a contract class of `package` (`<package>_<Contract>`).
fn has_artifacts(artifact_dir: &Path, package: &str) -> bool {
    let prefix = format!("{package}_");
    fs::read_dir(artifact_dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(SIERRA_SUFFIX)
        })
    })
}

/// Whether the Sierra artifacts of `packages` (of every package, if empty) may be older than
/// their inputs. Only the requested packages' artifacts count: a process that rebuilt its own
/// packages after a contract edit must find them fresh, although other packages' artifacts are
/// still older than the edit (comparing against every artifact rebuilt them in each later
/// process, a rebuild storm across a test run). Any file under `contracts/` counts as an input
/// of every package, since packages depend on each other.
fn is_stale(repo_root: &Path, artifact_dir: &Path, frontend: &Path, packages: &[String]) -> Result<bool> {
    let requested = |name: &str| {
        packages.is_empty() || packages.iter().any(|package| name.starts_with(&format!("{package}_")))
    };
    let modified = |path: &Path| -> Result<std::time::SystemTime> {
        fs::metadata(path)
            .and_then(|meta| meta.modified())
            .map_err(|source| CairoBuildError::Io {
                path: path.to_owned(),
                source,
            })
    };
    let mut oldest_artifact = None;
    for entry in fs::read_dir(artifact_dir).map_err(|source| CairoBuildError::Io {
        path: artifact_dir.to_owned(),
        source,
    })? {
        let path = entry
            .map_err(|source| CairoBuildError::Io {
                path: artifact_dir.to_owned(),
                source,
            })?
            .path();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(SIERRA_SUFFIX) && requested(&name) {
            let time = modified(&path)?;
            oldest_artifact =
                Some(oldest_artifact.map_or(time, |old: std::time::SystemTime| old.min(time)));
        }
    }
    let Some(oldest_artifact) = oldest_artifact else {
        return Ok(true);
    };
    let mut inputs = vec![repo_root.join("Scarb.toml"), frontend.to_owned()];
    let mut pending = vec![repo_root.join("contracts")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|source| CairoBuildError::Io {
            path: dir.clone(),
            source,
        })? {
            let path = entry
                .map_err(|source| CairoBuildError::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else {
                inputs.push(path);
            }
        }
    }
    for input in inputs {
        if modified(&input)? > oldest_artifact {
            return Ok(true);
        }
    }
    Ok(false)
}

/// CASM and hashes for every `*.contract_class.json` in `artifact_dir`, sorted by name.
pub fn compile_artifacts(artifact_dir: &Path) -> Result<Vec<ContractArtifact>> {
    compile_packages(artifact_dir, &[])
}

/// [`compile_artifacts`] restricted to `packages` (empty = all).
pub fn compile_packages(artifact_dir: &Path, packages: &[String]) -> Result<Vec<ContractArtifact>> {
    let entries = fs::read_dir(artifact_dir).map_err(|source| CairoBuildError::Io {
        path: artifact_dir.to_owned(),
        source,
    })?;
    let mut sierra_paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CairoBuildError::Io {
            path: artifact_dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let wanted = packages.is_empty()
            || name
                .strip_suffix(SIERRA_SUFFIX)
                .and_then(split_artifact_name)
                .is_some_and(|(package, _)| packages.contains(&package));
        if name.ends_with(SIERRA_SUFFIX) && wanted {
            sierra_paths.push(entry.path());
        }
    }
    if sierra_paths.is_empty() {
        return Err(CairoBuildError::NoArtifacts(artifact_dir.to_owned()));
    }
    sierra_paths.sort();
    let artifacts = sierra_paths
        .iter()
        .map(|path| compile_sierra_file(path))
        .collect::<Result<Vec<_>>>()?;
    record_casm_in_manifests(artifact_dir, &artifacts)?;
    Ok(artifacts)
}

/// Fills `artifacts.casm` in the `<package>.starknet_artifacts.json` manifests (as scarb does
/// with `casm = true`), so tools that read them find the CASM files we wrote.
fn record_casm_in_manifests(artifact_dir: &Path, artifacts: &[ContractArtifact]) -> Result<()> {
    let file_name = |path: &Path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
    };
    let mut packages: Vec<&str> = artifacts.iter().map(|a| a.package.as_str()).collect();
    packages.dedup();
    for package in packages {
        let path = artifact_dir.join(format!("{package}.starknet_artifacts.json"));
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let mut manifest: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| CairoBuildError::SierraJson {
                path: path.clone(),
                source,
            })?;
        let Some(contracts) = manifest.get_mut("contracts").and_then(|c| c.as_array_mut()) else {
            continue;
        };
        for entry in contracts {
            let Some(files) = entry.get_mut("artifacts") else {
                continue;
            };
            let sierra = files
                .get("sierra")
                .and_then(|s| s.as_str())
                .map(str::to_owned);
            let matching = artifacts
                .iter()
                .find(|a| sierra.is_some() && file_name(&a.paths.sierra) == sierra);
            if let Some(artifact) = matching {
                files["casm"] = serde_json::Value::from(file_name(&artifact.paths.casm));
            }
        }
        let text = serde_json::to_string_pretty(&manifest).map_err(|source| {
            CairoBuildError::CasmJson {
                path: path.clone(),
                source,
            }
        })?;
        fs::write(&path, text).map_err(|source| CairoBuildError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Loads `<repo>/target/dev/<package>_<contract>.contract_class.json` and compiles it to CASM
/// (writing the CASM file next to it).
pub fn load_artifact(repo_root: &Path, package: &str, contract: &str) -> Result<ContractArtifact> {
    let path = repo_root
        .join(ARTIFACT_DIR)
        .join(format!("{package}_{contract}{SIERRA_SUFFIX}"));
    if !path.is_file() {
        return Err(CairoBuildError::ArtifactMissing(path));
    }
    let mut artifact = compile_sierra_file(&path)?;
    // The file name split is a guess when names contain '_'; the caller's words are exact.
    artifact.package = package.to_owned();
    artifact.contract = contract.to_owned();
    Ok(artifact)
}

/// Splits `<package>_<Contract>` at the last '_' (package names are snake_case, contract
/// names CamelCase without '_').
fn split_artifact_name(stem: &str) -> Option<(String, String)> {
    let (package, contract) = stem.rsplit_once('_')?;
    if package.is_empty() || contract.is_empty() {
        return None;
    }
    Some((package.to_owned(), contract.to_owned()))
}

/// The whole Sierra -> declarable step for one file.
pub fn compile_sierra_file(sierra_path: &Path) -> Result<ContractArtifact> {
    let file_name = sierra_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file_name
        .strip_suffix(SIERRA_SUFFIX)
        .ok_or_else(|| CairoBuildError::ArtifactName(file_name.clone()))?;
    let (package, contract) = split_artifact_name(stem)
        .ok_or_else(|| CairoBuildError::ArtifactName(file_name.clone()))?;
    let text = fs::read_to_string(sierra_path).map_err(|source| CairoBuildError::Io {
        path: sierra_path.to_owned(),
        source,
    })?;
    let compiled = compile_sierra_json(&text, sierra_path)?;

    let casm_path = sierra_path.with_file_name(format!("{stem}{CASM_SUFFIX}"));
    let casm_json = serde_json::to_string_pretty(&compiled.casm).map_err(|source| {
        CairoBuildError::CasmJson {
            path: casm_path.clone(),
            source,
        }
    })?;
    fs::write(&casm_path, casm_json).map_err(|source| CairoBuildError::Io {
        path: casm_path.clone(),
        source,
    })?;
    tracing::debug!(%package, %contract, class_hash = %compiled.class_hash.to_fixed_hex_string(), "compiled");

    Ok(ContractArtifact {
        package,
        contract,
        sierra: Arc::new(compiled.sierra),
        casm_hash: compiled.casm_hash,
        class_hash: compiled.class_hash,
        paths: ArtifactPaths {
            sierra: sierra_path.to_owned(),
            casm: casm_path,
        },
    })
}

/// Result of compiling one Sierra class in memory.
#[derive(Debug)]
pub struct CompiledClass {
    pub sierra: FlattenedSierraClass,
    pub casm: CasmContractClass,
    pub class_hash: Felt,
    pub casm_hash: Felt,
}

/// Sierra JSON (scarb's `contract_class.json` shape) -> flattened class, CASM and both hashes.
/// `origin` only names the input in errors.
pub fn compile_sierra_json(text: &str, origin: &Path) -> Result<CompiledClass> {
    let path = || origin.to_owned();
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| CairoBuildError::SierraJson {
            path: path(),
            source,
        })?;
    // starknet-rs requires debug info to be present; compilers may write null for it.
    if value
        .get("sierra_program_debug_info")
        .is_none_or(|info| info.is_null())
    {
        value["sierra_program_debug_info"] = serde_json::json!({
            "type_names": [], "libfunc_names": [], "user_func_names": []
        });
    }

    let sierra_class: SierraClass =
        serde_json::from_value(value.clone()).map_err(|source| CairoBuildError::SierraJson {
            path: path(),
            source,
        })?;
    let flattened = sierra_class
        .flatten()
        .map_err(|error| CairoBuildError::Flatten {
            path: path(),
            message: error.to_string(),
        })?;
    let class_hash = flattened.class_hash();

    let contract_class: ContractClass =
        serde_json::from_value(value).map_err(|source| CairoBuildError::SierraJson {
            path: path(),
            source,
        })?;
    let extracted = contract_class
        .extract_sierra_program(false)
        .map_err(|error| CairoBuildError::SierraProgram {
            path: path(),
            message: error.to_string(),
        })?;
    extracted
        .validate_version_compatible(ListSelector::ListName(LIBFUNC_LIST.to_owned()))
        .map_err(|error| CairoBuildError::Libfuncs {
            path: path(),
            message: error.to_string(),
        })?;
    // No pythonic hints (only the Python VM needs them); no bytecode cap here: the node
    // enforces its own size limits at declare time and reports them precisely.
    let casm = CasmContractClass::from_contract_class(contract_class, extracted, false, usize::MAX)
        .map_err(|error| CairoBuildError::Casm {
            path: path(),
            message: error.to_string(),
        })?;
    let casm_hash = casm.compiled_class_hash();

    Ok(CompiledClass {
        sierra: flattened,
        casm,
        class_hash,
        casm_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_split_at_the_last_underscore() {
        assert_eq!(
            split_artifact_name("zkthread_registry_Registry"),
            Some(("zkthread_registry".into(), "Registry".into()))
        );
        assert_eq!(
            split_artifact_name("token_Token"),
            Some(("token".into(), "Token".into()))
        );
        assert_eq!(split_artifact_name("Token"), None);
        assert_eq!(split_artifact_name("token_"), None);
    }

    /// Our class hash (starknet-rs over the flattened class) must equal the hashes Starknet
    /// published for classes devnet ships: the STRK fee token, the UDC and the OZ account.
    #[test]
    fn class_hashes_match_published_hashes_of_devnet_system_classes() {
        use starknet_devnet_core::constants as devnet;
        let account_hash = Felt::from_hex(devnet::CAIRO_1_ACCOUNT_CONTRACT_SIERRA_HASH).unwrap();
        let cases = [
            (
                "strk",
                devnet::STRK_ERC20_CONTRACT_CLASS,
                devnet::STRK_ERC20_CONTRACT_CLASS_HASH,
            ),
            (
                "account",
                devnet::CAIRO_1_ACCOUNT_CONTRACT_SIERRA,
                account_hash,
            ),
        ];
        for (name, sierra, published) in cases {
            let compiled = compile_sierra_json(sierra, Path::new(name)).unwrap();
            assert_eq!(compiled.class_hash, published, "{name}: class hash");
            // The Blake2 hash is a different function of the CASM than the legacy Poseidon one;
            // equal values would mean we send the hash devnet 0.10.1 rejects.
            assert_ne!(
                compiled.casm_hash,
                compiled.casm.legacy_compiled_class_hash(),
                "{name}"
            );
            assert!(!compiled.casm.bytecode.is_empty(), "{name}: empty CASM");
        }
    }

    #[test]
    fn casm_file_is_written_next_to_the_sierra_file() {
        let dir = std::env::temp_dir().join(format!("zkthread-cairo-build-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let sierra_path = dir.join("fee_token_Strk.contract_class.json");
        fs::write(
            &sierra_path,
            starknet_devnet_core::constants::STRK_ERC20_CONTRACT_CLASS,
        )
        .unwrap();
        let manifest_path = dir.join("fee_token.starknet_artifacts.json");
        let manifest = r#"{"version":1,"contracts":[{"id":"x","package_name":"fee_token","contract_name":"Strk",
            "artifacts":{"sierra":"fee_token_Strk.contract_class.json","casm":null}}]}"#;
        fs::write(&manifest_path, manifest).unwrap();
        let artifacts = compile_artifacts(&dir).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&manifest_path).unwrap()).unwrap();
        assert_eq!(
            manifest["contracts"][0]["artifacts"]["casm"],
            "fee_token_Strk.compiled_contract_class.json"
        );
        assert_eq!(artifacts.len(), 1);
        let artifact = &artifacts[0];
        assert_eq!(
            (artifact.package.as_str(), artifact.contract.as_str()),
            ("fee_token", "Strk")
        );
        let casm: CasmContractClass =
            serde_json::from_str(&fs::read_to_string(&artifact.paths.casm).unwrap()).unwrap();
        // The file round-trips to the same compiled class hash we report.
        assert_eq!(casm.compiled_class_hash(), artifact.casm_hash);
        assert_eq!(artifact.sierra.class_hash(), artifact.class_hash);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// After a contract edit, a package rebuilt since is fresh for a caller that asks for it,
    /// while a package not rebuilt (and a caller asking for everything) still sees stale
    /// artifacts; an edit after every artifact makes all of them stale.
    #[test]
    fn staleness_is_judged_by_the_requested_packages_artifacts() {
        use std::time::{Duration, SystemTime};
        let repo = std::env::temp_dir().join(format!("zkthread-cairo-stale-{}", std::process::id()));
        let artifacts = repo.join("artifacts");
        fs::create_dir_all(repo.join("contracts").join("token")).unwrap();
        fs::create_dir_all(&artifacts).unwrap();
        let at = |path: PathBuf, seconds: u64| {
            let file = fs::File::create(&path).unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)).unwrap();
            path
        };
        at(repo.join("Scarb.toml"), 0);
        let frontend = at(repo.join("frontend"), 0);
        let edit = repo.join("contracts").join("token").join("lib.cairo");
        at(edit.clone(), 10);
        at(artifacts.join("token_ThreadToken.contract_class.json"), 20);
        at(artifacts.join("registry_ThreadRegistry.contract_class.json"), 5);
        let stale = |packages: &[&str]| {
            let packages: Vec<String> = packages.iter().map(|p| p.to_string()).collect();
            is_stale(&repo, &artifacts, &frontend, &packages).unwrap()
        };
        assert!(!stale(&["token"]), "rebuilt after the edit");
        assert!(stale(&["registry"]), "older than the edit");
        assert!(stale(&["token", "registry"]));
        assert!(stale(&[]), "every package counts when none is named");
        at(edit, 30);
        assert!(stale(&["token"]), "edited after its artifact");
        assert!(stale(&["escrow"]), "no artifact at all");
        fs::remove_dir_all(&repo).unwrap();
    }

    #[test]
    fn non_sierra_json_is_a_typed_error() {
        let error = compile_sierra_json("{\"abi\": 3}", Path::new("x.json")).unwrap_err();
        assert!(
            matches!(error, CairoBuildError::SierraJson { .. }),
            "{error}"
        );
    }
}
