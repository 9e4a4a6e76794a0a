//! What the CLI test files share: the binary with a clean environment and its output decoders.
#![allow(dead_code)] // each test file uses its own subset

use std::process::{Command, Output};

use serde_json::Value;

pub mod served;
pub mod shape;
pub mod world;

/// The `zkthread` binary, without any of the environment variables it reads: each test chooses
/// the node, account, registry and data directory itself.
pub fn zkthread() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkthread"));
    for var in [
        "ZKTHREAD_RPC_URL",
        "ZKTHREAD_ACCOUNT_ADDRESS",
        "ZKTHREAD_PRIVATE_KEY",
        "ZKTHREAD_REGISTRY",
        "ZKTHREAD_DATA_DIR",
        "ZKTHREAD_CRASH_AT",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout of a successful run, parsed as JSON.
/// The stdout JSON document whatever the exit status (errors under `--json` are one too).
#[allow(dead_code)]
pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    })
}

pub fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr:\n{}",
        out.status,
        stderr(out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Copies the data directory `from` into `to` (files and subdirectories).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("a data directory") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            std::fs::create_dir_all(&target).expect("a directory");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}
