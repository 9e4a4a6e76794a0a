//! Finds the Cairo corelib (`core` crate sources) to compile against.
//!
//! No crate ships the corelib, so it is never auto-detected next to the executable: the
//! lookup order is explicit and the first candidate that exists wins.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a corelib candidate came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorelibSource {
    Flag,
    Env,
    Scarb,
    Cache,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "Cairo corelib not found at {}; run scripts/setup-corelib.sh or set ZKTHREAD_CORELIB",
    .path.display()
)]
pub struct CorelibNotFound {
    pub path: PathBuf,
}

/// Accepts either the corelib `src` folder or the corelib root that contains `src/`.
fn normalize(dir: &Path) -> Option<PathBuf> {
    if dir.join("lib.cairo").is_file() {
        return Some(dir.to_path_buf());
    }
    if dir.join("src").join("lib.cairo").is_file() {
        return Some(dir.join("src"));
    }
    None
}

/// The default cache location written by scripts/setup-corelib.sh.
pub fn cache_corelib() -> PathBuf {
    let cache = std::env::var_os("ZKTHREAD_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache").join("zkthreads")
    });
    cache.join("corelib").join("src")
}

/// scarb keeps its corelib in its cache under `registry/std/<version>/core/src`; only a 2.9
/// one matches this compiler. Best effort: any failure just skips this candidate.
fn scarb_corelib() -> Option<PathBuf> {
    let output = Command::new("scarb").args(["cache", "path"]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let cache = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    let std_dir = cache.join("registry").join("std");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(std_dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains("2.9.")))
        .collect();
    versions.sort();
    versions.into_iter().rev().find_map(|v| normalize(&v.join("core")))
}

/// Resolves the corelib `src` directory: `--corelib`, `ZKTHREAD_CORELIB`, scarb's, the cache.
/// An explicit flag or env value that is invalid is an error (no silent fallback).
pub fn find_corelib(flag: Option<&Path>) -> Result<(PathBuf, CorelibSource), CorelibNotFound> {
    if let Some(dir) = flag {
        return normalize(dir)
            .map(|p| (p, CorelibSource::Flag))
            .ok_or_else(|| CorelibNotFound { path: dir.to_path_buf() });
    }
    if let Some(dir) = std::env::var_os("ZKTHREAD_CORELIB").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return normalize(&dir)
            .map(|p| (p, CorelibSource::Env))
            .ok_or(CorelibNotFound { path: dir });
    }
    if let Some(dir) = scarb_corelib() {
        return Ok((dir, CorelibSource::Scarb));
    }
    let cache = cache_corelib();
    normalize(&cache).map(|p| (p, CorelibSource::Cache)).ok_or(CorelibNotFound { path: cache })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_accepts_src_or_root_and_rejects_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("corelib").join("src");
        std::fs::create_dir_all(&src).unwrap();
        let missing = find_corelib(Some(&src)).unwrap_err();
        assert!(missing.to_string().starts_with("Cairo corelib not found at"));
        std::fs::write(src.join("lib.cairo"), "").unwrap();
        assert_eq!(find_corelib(Some(&src)).unwrap().0, src);
        assert_eq!(find_corelib(Some(&tmp.path().join("corelib"))).unwrap().0, src);
    }
}
