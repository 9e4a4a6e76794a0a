//! Reads a Scarb workspace (`Scarb.toml` files) into the package graph the compiler needs.
//!
//! Only what a Starknet contract workspace uses is supported: `[workspace]` members (plain paths
//! or a trailing `/*`), `[workspace.package]` inheritance of `version`/`edition`,
//! `[workspace.dependencies]`, path dependencies, the built-in `starknet`/`cairo_test`/`core`
//! dependencies and `[[target.starknet-contract]]`. Anything else is ignored, as scarb would for
//! keys it does not need for a build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Value;

/// Dependencies that name the compiler's built-ins rather than packages.
const BUILTIN_DEPENDENCIES: [&str; 4] = ["core", "starknet", "cairo_test", "assert_macros"];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn invalid(path: &Path, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid { path: path.to_path_buf(), message: message.into() }
}

/// One Scarb package: a Cairo crate rooted at `<dir>/src/lib.cairo`.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    pub dir: PathBuf,
    pub edition: Option<String>,
    /// Names of packages this one depends on for its build.
    pub dependencies: Vec<String>,
    /// Extra packages visible to its tests only.
    pub dev_dependencies: Vec<String>,
    /// Whether it has a `[[target.starknet-contract]]` (scarb builds its contracts).
    pub starknet_contract: bool,
}

impl Package {
    pub fn src_dir(&self) -> PathBuf {
        self.dir.join("src")
    }
}

/// All packages of the workspace plus the path dependencies they reach.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// Workspace members in manifest order.
    pub members: Vec<String>,
    /// Every package by name (members and path dependencies outside the workspace).
    pub packages: BTreeMap<String, Package>,
}

impl Workspace {
    /// Loads the workspace whose root manifest is `manifest`.
    pub fn load(manifest: &Path) -> Result<Self, ManifestError> {
        let manifest = manifest
            .canonicalize()
            .map_err(|source| ManifestError::Read { path: manifest.to_path_buf(), source })?;
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let doc = read_toml(&manifest)?;
        let workspace = doc.get("workspace");
        let inherited = WorkspaceDefaults::from(workspace);

        let mut member_dirs = Vec::new();
        if doc.get("package").is_some() {
            member_dirs.push(root.clone());
        }
        if let Some(members) = workspace.and_then(|w| w.get("members")) {
            let members = members
                .as_array()
                .ok_or_else(|| invalid(&manifest, "`workspace.members` must be an array"))?;
            for member in members {
                let member = member
                    .as_str()
                    .ok_or_else(|| invalid(&manifest, "workspace members must be strings"))?;
                member_dirs.extend(expand_member(&root, member, &manifest)?);
            }
        }
        if member_dirs.is_empty() {
            return Err(invalid(&manifest, "no [package] and no [workspace] members"));
        }

        let mut ws = Workspace { root, members: Vec::new(), packages: BTreeMap::new() };
        let mut pending: Vec<PathBuf> = Vec::new();
        for dir in member_dirs {
            let name = ws.load_package(&dir, &inherited, &mut pending)?;
            ws.members.push(name);
        }
        // Path dependencies outside the workspace are loaded too (they inherit nothing).
        while let Some(dir) = pending.pop() {
            if !ws.packages.values().any(|p| p.dir == dir) {
                ws.load_package(&dir, &WorkspaceDefaults::default(), &mut pending)?;
            }
        }
        for package in ws.packages.values() {
            for dep in package.dependencies.iter().chain(&package.dev_dependencies) {
                if !ws.packages.contains_key(dep) {
                    return Err(invalid(
                        &package.dir.join("Scarb.toml"),
                        format!("dependency `{dep}` is not a package of this workspace"),
                    ));
                }
            }
        }
        Ok(ws)
    }

    fn load_package(
        &mut self,
        dir: &Path,
        inherited: &WorkspaceDefaults,
        pending: &mut Vec<PathBuf>,
    ) -> Result<String, ManifestError> {
        let path = dir.join("Scarb.toml");
        let doc = read_toml(&path)?;
        let package =
            doc.get("package").ok_or_else(|| invalid(&path, "missing [package] table"))?;
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&path, "missing `package.name`"))?
            .to_string();
        let edition = match package.get("edition") {
            None => None,
            Some(Value::String(edition)) => Some(edition.clone()),
            Some(value) if is_workspace_ref(value) => Some(
                inherited
                    .edition
                    .clone()
                    .ok_or_else(|| invalid(&path, "`edition.workspace = true` but the workspace has no edition"))?,
            ),
            Some(_) => return Err(invalid(&path, "`package.edition` must be a string")),
        };
        let dependencies = read_dependencies(&doc, "dependencies", dir, inherited, &path, pending)?;
        let dev_dependencies =
            read_dependencies(&doc, "dev-dependencies", dir, inherited, &path, pending)?;
        let starknet_contract = doc
            .get("target")
            .and_then(|t| t.get("starknet-contract"))
            .is_some();
        if let Some(existing) = self.packages.get(&name) {
            if existing.dir != dir {
                return Err(invalid(&path, format!("two packages are named `{name}`")));
            }
        }
        self.packages.insert(
            name.clone(),
            Package {
                name: name.clone(),
                dir: dir.to_path_buf(),
                edition,
                dependencies,
                dev_dependencies,
                starknet_contract,
            },
        );
        Ok(name)
    }

    /// The package and every package it reaches through build dependencies, main one first.
    pub fn closure(&self, name: &str, with_dev: bool) -> Vec<&Package> {
        let Some(main) = self.packages.get(name) else { return Vec::new() };
        let mut order: Vec<&Package> = vec![main];
        let mut stack: Vec<String> = main.dependencies.clone();
        if with_dev {
            stack.extend(main.dev_dependencies.iter().cloned());
        }
        while let Some(next) = stack.pop() {
            if order.iter().any(|p| p.name == next) {
                continue;
            }
            if let Some(package) = self.packages.get(&next) {
                order.push(package);
                stack.extend(package.dependencies.iter().cloned());
            }
        }
        // The main package stays first; the rest in a stable order.
        order[1..].sort_by(|a, b| a.name.cmp(&b.name));
        order
    }
}

#[derive(Default)]
struct WorkspaceDefaults {
    edition: Option<String>,
    dependencies: BTreeMap<String, Value>,
}

impl From<Option<&Value>> for WorkspaceDefaults {
    fn from(workspace: Option<&Value>) -> Self {
        let edition = workspace
            .and_then(|w| w.get("package"))
            .and_then(|p| p.get("edition"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let dependencies = workspace
            .and_then(|w| w.get("dependencies"))
            .and_then(Value::as_table)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Self { edition, dependencies }
    }
}

fn is_workspace_ref(value: &Value) -> bool {
    value.get("workspace").and_then(Value::as_bool) == Some(true)
}

fn read_toml(path: &Path) -> Result<Value, ManifestError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ManifestError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|source| ManifestError::Parse { path: path.to_path_buf(), source })
}

fn expand_member(root: &Path, member: &str, manifest: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let canonical = |p: PathBuf| {
        p.canonicalize().map_err(|source| ManifestError::Read { path: p.clone(), source })
    };
    if let Some(parent) = member.strip_suffix("/*") {
        let parent = root.join(parent);
        let entries = std::fs::read_dir(&parent)
            .map_err(|source| ManifestError::Read { path: parent.clone(), source })?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("Scarb.toml").is_file())
            .collect();
        dirs.sort();
        return dirs.into_iter().map(canonical).collect();
    }
    if member.contains('*') {
        return Err(invalid(manifest, format!("unsupported member pattern `{member}`")));
    }
    Ok(vec![canonical(root.join(member))?])
}

/// Returns the package names of the path dependencies in `[<table>]`, queueing their folders.
fn read_dependencies(
    doc: &Value,
    table: &str,
    dir: &Path,
    inherited: &WorkspaceDefaults,
    manifest: &Path,
    pending: &mut Vec<PathBuf>,
) -> Result<Vec<String>, ManifestError> {
    let Some(deps) = doc.get(table) else { return Ok(Vec::new()) };
    let deps = deps.as_table().ok_or_else(|| invalid(manifest, format!("[{table}] must be a table")))?;
    let mut names = Vec::new();
    for (name, spec) in deps {
        if BUILTIN_DEPENDENCIES.contains(&name.as_str()) {
            continue;
        }
        // `dep.workspace = true` takes the spec from [workspace.dependencies]; its path is
        // relative to the workspace root, which is where the inherited table lives.
        let (spec, base) = if is_workspace_ref(spec) {
            let spec = inherited.dependencies.get(name).ok_or_else(|| {
                invalid(manifest, format!("`{name}.workspace = true` but the workspace does not define it"))
            })?;
            (spec.clone(), None)
        } else {
            (spec.clone(), Some(dir))
        };
        let Some(path) = spec.get("path").and_then(Value::as_str) else {
            return Err(invalid(
                manifest,
                format!("dependency `{name}`: only path dependencies and the built-ins are supported"),
            ));
        };
        let base = match base {
            Some(base) => base.to_path_buf(),
            None => manifest_workspace_root(manifest),
        };
        let dep_dir = base.join(path);
        let dep_dir = dep_dir
            .canonicalize()
            .map_err(|source| ManifestError::Read { path: dep_dir.clone(), source })?;
        pending.push(dep_dir);
        names.push(name.clone());
    }
    Ok(names)
}

/// The nearest folder above `manifest` whose Scarb.toml has a [workspace] table.
fn manifest_workspace_root(manifest: &Path) -> PathBuf {
    let mut dir = manifest.parent();
    while let Some(d) = dir {
        if let Ok(doc) = read_toml(&d.join("Scarb.toml")) {
            if doc.get("workspace").is_some() {
                return d.to_path_buf();
            }
        }
        dir = d.parent();
    }
    manifest.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_members_inherited_edition_and_path_dependencies() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            &root.join("Scarb.toml"),
            "[workspace]\nmembers = [\"contracts/thread\", \"contracts/registry\"]\n\
             [workspace.package]\nedition = \"2024_07\"\n[workspace.dependencies]\nstarknet = \"2.9.0\"\n",
        );
        write(
            &root.join("contracts/thread/Scarb.toml"),
            "[package]\nname = \"thread\"\nedition.workspace = true\n[dependencies]\nstarknet.workspace = true\n",
        );
        write(
            &root.join("contracts/registry/Scarb.toml"),
            "[package]\nname = \"registry\"\nedition.workspace = true\n[dependencies]\n\
             starknet.workspace = true\nthread = { path = \"../thread\" }\n\
             [[target.starknet-contract]]\nsierra = true\n",
        );
        let mut ws = Workspace::load(&root.join("Scarb.toml")).unwrap();
        assert_eq!(ws.members, vec!["thread", "registry"]);
        let registry = &ws.packages["registry"];
        assert_eq!(registry.edition.as_deref(), Some("2024_07"));
        assert_eq!(registry.dependencies, vec!["thread"]);
        assert!(registry.starknet_contract);
        assert!(!ws.packages["thread"].starknet_contract);
        let closure: Vec<_> = ws.closure("registry", false).iter().map(|p| p.name.clone()).collect();
        assert_eq!(closure, vec!["registry", "thread"]);
        // A dev-dependency joins the test unit, but the package under test stays the main crate.
        let mut with_dev = ws.packages["registry"].clone();
        with_dev.dev_dependencies = vec!["thread".into()];
        with_dev.dependencies.clear();
        ws.packages.insert("registry".into(), with_dev);
        let closure: Vec<_> = ws.closure("registry", true).iter().map(|p| p.name.clone()).collect();
        assert_eq!(closure, vec!["registry", "thread"]);
        assert_eq!(ws.closure("registry", false).len(), 1);
    }

    #[test]
    fn rejects_registry_dependencies() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join("Scarb.toml"),
            "[package]\nname = \"a\"\n[dependencies]\nalexandria = \"0.1\"\n",
        );
        let err = Workspace::load(&tmp.path().join("Scarb.toml")).unwrap_err();
        assert!(err.to_string().contains("only path dependencies"), "{err}");
    }
}
