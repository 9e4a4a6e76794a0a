//! End-to-end checks of the `zkthread-cairo` binary on a small Scarb workspace
//! (tests/fixtures/counter_workspace: a contract with Map storage, an embedded component from a
//! path dependency, events, a test deploying it, a should_panic test, an ignored test).
//!
//! Needs the corelib (scripts/setup-corelib.sh, or ZKTHREAD_CORELIB).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/counter_workspace")
}

fn zkthread_cairo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkthread-cairo"))
        .args(args)
        .output()
        .expect("the zkthread-cairo binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn require_success(output: &Output) {
    assert!(
        output.status.success(),
        "zkthread-cairo failed (is the corelib set up? run scripts/setup-corelib.sh)\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn build_writes_scarb_artifacts() {
    let out = tempfile::tempdir().unwrap();
    let manifest = fixture().join("Scarb.toml");
    let output = zkthread_cairo(&[
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--target-dir",
        out.path().to_str().unwrap(),
    ]);
    require_success(&output);

    let dev = out.path().join("dev");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dev.join("counter.starknet_artifacts.json")).unwrap())
            .unwrap();
    assert_eq!(index["version"], 1);
    let contracts = index["contracts"].as_array().unwrap();
    assert_eq!(contracts.len(), 1, "only the starknet-contract package is built: {index}");
    let entry = &contracts[0];
    assert_eq!(entry["package_name"], "counter");
    assert_eq!(entry["contract_name"], "Counter");
    assert_eq!(entry["module_path"], "counter::Counter");
    assert_eq!(entry["artifacts"]["sierra"], "counter_Counter.contract_class.json");
    assert!(entry["artifacts"]["casm"].is_null());
    assert!(!dev.join("common.starknet_artifacts.json").exists(), "a library package has no artifacts");

    let class: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dev.join("counter_Counter.contract_class.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(class["contract_class_version"], "0.1.0");
    let program = class["sierra_program"].as_array().unwrap();
    assert!(program.len() > 100 && program.iter().all(|f| f.as_str().unwrap().starts_with("0x")));
    assert_eq!(class["entry_points_by_type"]["EXTERNAL"].as_array().unwrap().len(), 3);
    assert_eq!(class["entry_points_by_type"]["CONSTRUCTOR"].as_array().unwrap().len(), 1);
    assert!(class["sierra_program_debug_info"].is_object());
    let abi = class["abi"].as_array().unwrap();
    let names: Vec<&str> = abi.iter().filter_map(|item| item["name"].as_str()).collect();
    assert!(names.contains(&"common::counter_component::Bumped"), "component event in the ABI: {names:?}");
    assert!(names.contains(&"counter::Counter::ValueSet"), "{names:?}");
}

#[test]
fn test_runs_deploying_and_should_panic_tests() {
    let manifest = fixture().join("Scarb.toml");
    let output = zkthread_cairo(&["test", "--manifest", manifest.to_str().unwrap()]);
    require_success(&output);
    let text = stdout(&output);
    assert!(text.contains("test counter::tests::owner_sets_and_reads_back ... ok"), "{text}");
    assert!(text.contains("test counter::tests::stranger_cannot_set ... ok"), "{text}");
    assert!(text.contains("test counter::tests::ignored_one ... ignored"), "{text}");
    assert_eq!(text.lines().last(), Some("4 passed, 0 failed, 1 ignored"), "{text}");

    let filtered =
        zkthread_cairo(&["test", "--manifest", manifest.to_str().unwrap(), "--filter", "stranger"]);
    require_success(&filtered);
    assert_eq!(stdout(&filtered).lines().last(), Some("1 passed, 0 failed"));
}

#[test]
fn wrong_panic_message_and_compile_errors_fail() {
    let work = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), work.path());
    let lib = work.path().join("pkgs/counter/src/lib.cairo");
    let source = std::fs::read_to_string(&lib).unwrap();
    let changed = source.replace("expected: ('NOT_OWNER',", "expected: ('SOMETHING_ELSE',");
    assert_ne!(source, changed);
    std::fs::write(&lib, changed).unwrap();
    let manifest = work.path().join("Scarb.toml");
    let output = zkthread_cairo(&["test", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("stranger_cannot_set ... FAILED"), "{text}");
    assert_eq!(text.lines().last(), Some("3 passed, 1 failed, 1 ignored"), "{text}");

    std::fs::write(&lib, format!("{source}\nfn broken() -> u8 {{ 300_felt252 }}\n")).unwrap();
    let output = zkthread_cairo(&["build", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Unexpected return type"), "diagnostics are printed: {stderr}");
    assert!(!work.path().join("target/dev/counter_Counter.contract_class.json").exists());
}

#[test]
fn missing_corelib_is_one_line_and_exit_2() {
    let manifest = fixture().join("Scarb.toml");
    let output = zkthread_cairo(&["--corelib", "/nonexistent/corelib", "build", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: Cairo corelib not found at /nonexistent/corelib; run scripts/setup-corelib.sh or set ZKTHREAD_CORELIB"
    );
}

#[test]
fn profile_attributes_branch_padding_holes_to_their_function() {
    let manifest = fixture().join("Scarb.toml");
    let output = zkthread_cairo(&[
        "test", "--manifest", manifest.to_str().unwrap(), "--filter", "padded_branches",
        "--profile", "--profile-libfuncs", "5",
    ]);
    require_success(&output);
    let text = stdout(&output);
    let line = text
        .lines()
        .find(|l| l.starts_with("memory holes from branch padding: "))
        .unwrap_or_else(|| panic!("no holes line: {text}"));
    // "memory holes from branch padding: N of M; by function:"
    let numbers: Vec<usize> = line
        .trim_start_matches("memory holes from branch padding: ")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let (padded, all) = (numbers[0], numbers[1]);
    assert!(padded > 0 && padded <= all, "{line}");
    // The padding is the skipping branch's: 8 of 12 iterations skip the work.
    let after = text.split(line).nth(1).unwrap();
    assert!(after.lines().nth(1).is_some_and(|l| l.contains("padded_branches")), "{text}");
}
