//! A compilation unit: the compiler database for one package and the packages it depends on,
//! with `core` taken from an explicit corelib folder (never auto-detected).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_filesystem::cfg::{Cfg, CfgSet};
use cairo_lang_filesystem::db::{
    CrateConfiguration, CrateSettings, DependencySettings, Edition, ExperimentalFeaturesConfig,
    FilesGroupEx, init_dev_corelib,
};
use cairo_lang_filesystem::ids::{CrateId, CrateLongId, Directory};
use cairo_lang_starknet::starknet_plugin_suite;
use cairo_lang_test_plugin::test_plugin_suite;
use cairo_lang_utils::Intern;

use crate::manifest::{Package, Workspace};

/// What the unit is compiled for; decides plugins and `#[cfg]`s like scarb's targets do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// `[[target.starknet-contract]]`: `cfg(target: 'starknet-contract')`.
    StarknetContract,
    /// `scarb test` (cairo-test): `cfg(test)` and `cfg(target: 'test')` on the main crate.
    Test,
}

pub struct Unit {
    pub db: RootDatabase,
    /// The package being built or tested.
    pub main_crate: CrateId,
    /// The main crate followed by every crate it depends on (not `core`).
    pub crates: Vec<CrateId>,
}

fn parse_edition(edition: Option<&str>, package: &Package) -> Result<Edition> {
    // scarb's default edition for a package without one.
    let Some(edition) = edition else { return Ok(Edition::V2023_01) };
    serde_json::from_value(serde_json::Value::String(edition.to_string())).with_context(|| {
        format!(
            "package `{}`: edition `{edition}` is not supported by this compiler (newest: 2024_07)",
            package.name
        )
    })
}

pub fn crate_id(db: &RootDatabase, name: &str) -> CrateId {
    CrateLongId::Real { name: name.into(), discriminator: None }.intern(db)
}

impl Unit {
    pub fn new(
        workspace: &Workspace,
        package_name: &str,
        kind: UnitKind,
        corelib_src: &Path,
    ) -> Result<Self> {
        let mut builder = RootDatabase::builder();
        builder.with_plugin_suite(starknet_plugin_suite());
        if kind == UnitKind::Test {
            builder.with_plugin_suite(test_plugin_suite());
            // As cairo-test does: tests pay for gas refunds at the end of each function.
            builder.with_add_redeposit_gas();
        }
        let mut db = builder.build()?;
        init_dev_corelib(&mut db, corelib_src.to_path_buf());

        let packages = workspace.closure(package_name, kind == UnitKind::Test);
        let Some(main) = packages.first() else {
            bail!("no package named `{package_name}` in {}", workspace.root.display());
        };
        // Every crate of the unit gets the unit's `target`: the starknet plugin puts
        // `TEST_CLASS_HASH` under `#[cfg(target: 'test')]`, and tests deploy contracts of
        // dependencies too. Only the package under test gets `test`, so the test modules of its
        // dependencies stay out, as with scarb.
        let target = match kind {
            UnitKind::StarknetContract => "starknet-contract",
            UnitKind::Test => "test",
        };
        let dependency_cfg = CfgSet::from_iter([Cfg::kv("target", target)]);
        let main_cfg = match kind {
            UnitKind::StarknetContract => dependency_cfg.clone(),
            UnitKind::Test => CfgSet::from_iter([Cfg::name("test"), Cfg::kv("target", target)]),
        };

        let mut crates = Vec::new();
        for package in &packages {
            let is_main = package.name == main.name;
            let dep_names = package
                .dependencies
                .iter()
                .chain(if is_main && kind == UnitKind::Test { &main.dev_dependencies[..] } else { &[] });
            // A crate sees itself by name too (`use thread::errors;` inside `thread`), as
            // scarb sets it up.
            let dependencies: BTreeMap<String, DependencySettings> = dep_names
                .chain(std::iter::once(&package.name))
                .map(|d| (d.clone(), DependencySettings { discriminator: None }))
                .collect();
            let settings = CrateSettings {
                edition: parse_edition(package.edition.as_deref(), package)?,
                version: None,
                cfg_set: Some(if is_main { main_cfg.clone() } else { dependency_cfg.clone() }),
                dependencies,
                experimental_features: ExperimentalFeaturesConfig::default(),
            };
            let src = package.src_dir();
            if !src.join("lib.cairo").is_file() {
                bail!("package `{}` has no {}", package.name, src.join("lib.cairo").display());
            }
            let id = crate_id(&db, &package.name);
            db.set_crate_config(
                id,
                Some(CrateConfiguration { root: Directory::Real(src), settings }),
            );
            crates.push(id);
        }
        let main_crate = crates[0];
        Ok(Self { db, main_crate, crates })
    }
}
