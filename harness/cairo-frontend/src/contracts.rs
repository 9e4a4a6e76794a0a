//! `build`: compiles every starknet-contract package to Sierra contract classes and writes the
//! same artifacts as `scarb build` into `<target>/dev/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cairo_lang_compiler::CompilerConfig;
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_defs::ids::{NamedLanguageElementId, TopLevelLanguageElementId};
use cairo_lang_starknet::compile::compile_prepared_db;
use cairo_lang_starknet::contract::find_contracts;
use cairo_lang_starknet_classes::allowed_libfuncs::ListSelector;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::manifest::Workspace;
use crate::unit::{Unit, UnitKind};

/// One entry of `<package>.starknet_artifacts.json` (scarb's shape, version 1).
#[derive(Debug, Serialize)]
pub struct ArtifactEntry {
    pub id: String,
    pub package_name: String,
    pub contract_name: String,
    pub module_path: String,
    pub artifacts: ArtifactFiles,
}

#[derive(Debug, Serialize)]
pub struct ArtifactFiles {
    pub sierra: String,
    /// CASM is produced elsewhere (by the Sierra->CASM compiler devnet uses), never here.
    pub casm: Option<String>,
}

#[derive(Debug, Serialize)]
struct StarknetArtifacts {
    version: u32,
    contracts: Vec<ArtifactEntry>,
}

/// A stable id per contract, like scarb's: short, unique per package + module path.
fn contract_id(package: &str, module_path: &str) -> String {
    let digest = Sha256::digest(format!("{package}\0{module_path}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds every starknet-contract package (or only `only`), returning the artifacts written.
pub fn build_workspace(
    workspace: &Workspace,
    corelib_src: &Path,
    target_dir: &Path,
    only: Option<&str>,
) -> Result<Vec<PathBuf>> {
    let out_dir = target_dir.join("dev");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();
    let mut built_any = false;
    for name in &workspace.members {
        let package = &workspace.packages[name];
        if only.is_some_and(|o| o != name) || !package.starknet_contract {
            continue;
        }
        built_any = true;
        written.extend(build_package(workspace, name, corelib_src, &out_dir)?);
    }
    if let Some(only) = only {
        if !built_any {
            bail!("`{only}` is not a starknet-contract package of this workspace");
        }
    }
    Ok(written)
}

fn build_package(
    workspace: &Workspace,
    name: &str,
    corelib_src: &Path,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let started = std::time::Instant::now();
    let unit = Unit::new(workspace, name, UnitKind::StarknetContract, corelib_src)?;
    let db = &unit.db;
    let contracts = find_contracts(db, &[unit.main_crate]);
    let reporter = DiagnosticsReporter::stderr().with_crates(&unit.crates).allow_warnings();
    let config = CompilerConfig {
        diagnostics_reporter: reporter,
        // scarb's dev profile keeps readable Sierra names in the debug info.
        replace_ids: true,
        ..CompilerConfig::default()
    };
    let declarations: Vec<_> = contracts.iter().collect();
    let classes = compile_prepared_db(db, &declarations, config)
        .map_err(|err| anyhow::anyhow!("could not compile package `{name}`: {err}"))?;

    let mut entries = Vec::new();
    let mut written = Vec::new();
    for (declaration, class) in contracts.iter().zip(classes) {
        let contract_name = declaration.submodule_id.name(db).to_string();
        let module_path = declaration.submodule_id.full_path(db);
        // Devnet/Starknet reject classes using libfuncs outside the audited list; fail here
        // with the libfunc's name rather than at declare time.
        class
            .validate_version_compatible(ListSelector::DefaultList)
            .with_context(|| format!("contract {module_path} uses a libfunc Starknet rejects"))?;
        let file_name = format!("{name}_{contract_name}.contract_class.json");
        let path = out_dir.join(&file_name);
        // Compact JSON, as scarb writes it.
        let json = serde_json::to_string(&class).context("serializing the contract class")?;
        write_atomically(&path, json.as_bytes())?;
        written.push(path);
        entries.push(ArtifactEntry {
            id: contract_id(name, &module_path),
            package_name: name.to_string(),
            contract_name,
            module_path,
            artifacts: ArtifactFiles { sierra: file_name, casm: None },
        });
    }
    let index = StarknetArtifacts { version: 1, contracts: entries };
    let index_path = out_dir.join(format!("{name}.starknet_artifacts.json"));
    write_atomically(&index_path, serde_json::to_string(&index)?.as_bytes())?;
    written.push(index_path);
    eprintln!(
        "   Compiled {name} ({} contract{}) in {:.1}s",
        contracts.len(),
        if contracts.len() == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    Ok(written)
}

/// Readers (the CASM step, tests) never see a half-written artifact.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
