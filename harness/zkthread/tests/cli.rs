//! The `zkthread` binary as users and scripts run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};

use serde_json::Value;

mod common;
use common::{json, stderr, stdout_json, zkthread};

fn run(args: &[&str]) -> Output {
    zkthread()
        .args(args)
        .output()
        .expect("the zkthread binary runs")
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["demo", "--transfers", "0"][..],
        &["demo", "--no-such-flag"],
        &["frobnicate"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("error:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // Under --json the usage error is the stdout document (scripts parse stdout).
    let out = run(&["--json", "demo", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = stdout_json(&out);
    let reason = doc["error"].as_str().expect("an error string");
    assert!(reason.contains("--no-such-flag"), "{reason}");
}

#[test]
fn runtime_errors_are_one_line_and_exit_1() {
    // No node configured.
    let out = run(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: no node: pass --rpc-url"), "{err}");
    // Under --json the same line is also the stdout document.
    let out = run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1);
    let doc = stdout_json(&out);
    assert!(
        doc["error"].as_str().is_some_and(|e| e.starts_with("no node: pass --rpc-url")),
        "{doc}"
    );

    // A malformed felt.
    let out = run(&[
        "status",
        "--rpc-url",
        "http://127.0.0.1:9/rpc",
        "--account-address",
        "0xzz",
        "--private-key",
        "0x1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--account-address") && err.contains("not a felt"),
        "{err}"
    );

    // Nobody listens on the node URL (port 9 = discard, closed on loopback).
    let out = run(&[
        "status",
        "--rpc-url",
        "http://127.0.0.1:9/rpc",
        "--account-address",
        "0x1",
        "--private-key",
        "0x1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot reach the node"), "{err}");
}

/// The README's main job, small: both revert paths (stale input, one proof felt changed) revert
/// with the registry's reason, the prover pays exactly the fee and no balance moves; then the
/// real settlement is verified on-chain by the Cairo verifier and writes the outputs.
#[test]
fn demo_runs_end_to_end_and_reports_json() {
    let out = run(&["demo", "--transfers", "12", "--json"]);
    let summary = json(&out);
    let t = &summary["transfers"];
    // 12 valid signed transfers and 4 planted attacks, each refused with its own reason.
    assert_eq!(t["submitted"], 16);
    assert_eq!(t["accepted"], 12);
    assert_eq!(t["rejected"], 4);
    let attacks: Vec<(&str, &str)> = t["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["attack"].as_str().unwrap(), a["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(attacks.len(), 4, "{attacks:?}");
    assert_eq!(attacks[0].0, "tampered_amount");
    assert!(attacks[0].1.starts_with("bad signature"), "{attacks:?}");
    assert_eq!(attacks[1].0, "foreign_key");
    assert!(attacks[1].1.contains("not the sender's current key"), "{attacks:?}");
    assert_eq!(attacks[2].0, "replay");
    assert!(attacks[2].1.starts_with("nonce"), "{attacks:?}");
    assert_eq!(attacks[3].0, "overspend");
    assert!(attacks[3].1.starts_with("overspend"), "{attacks:?}");
    assert_eq!(summary["keys"]["registered"], 10);
    assert!(
        summary["settled_replay_refused"].as_str().unwrap().starts_with("nonce"),
        "{}",
        summary["settled_replay_refused"]
    );
    let slots_out = summary["slots_out"].as_u64().unwrap();
    assert!(summary["slots_in"].as_u64().unwrap() >= 2);
    assert!(summary["proof"]["felts"].as_u64().unwrap() > 100);
    assert!(summary["proof"]["security_bits"].as_u64().unwrap() >= 96);

    let settlement = &summary["settlement"];
    assert_eq!(settlement["preflight"]["proof_verifies"], true);
    assert_eq!(settlement["preflight"]["stale_inputs"], 0);
    assert_eq!(settlement["preflight"]["verifier_declared"], true);
    assert!(settlement["preflight"]["blocked_by"].is_null());
    assert_eq!(settlement["sent"], true);
    assert_eq!(settlement["status"], "SUCCEEDED");
    let sequence = settlement["sequence"].as_u64().unwrap();
    assert_eq!(
        settlement["next_sequence_after"].as_u64().unwrap(),
        sequence + 1
    );
    assert_eq!(settlement["slots_written"].as_u64().unwrap(), slots_out);
    assert_eq!(settlement["proof_felts"], summary["proof"]["felts"]);
    let calldata = settlement["calldata_felts"].as_u64().unwrap();
    assert!(calldata > settlement["proof_felts"].as_u64().unwrap());
    // The hard limit of one settlement transaction.
    assert!(calldata <= 5_000, "calldata {calldata}");
    assert_eq!(settlement["outputs_applied"], true);
    assert_eq!(settlement["event_matches_outputs"], true);
    let settle_fee: u128 = settlement["fee_fri"].as_str().unwrap().parse().unwrap();
    let settle_gas = settlement["l2_gas"].as_u64().unwrap();
    // On-chain STARK verification is heavy: far more than a plain transaction's ~1e6.
    assert!(settle_gas > 100_000_000, "L2 gas {settle_gas}");
    assert!(settle_fee > 0);

    for (key, reason) in [
        ("stale_settlement", "registry: stale input"),
        ("bad_proof_settlement", "registry: invalid proof"),
    ] {
        let revert = &summary[key];
        assert_eq!(revert["status"], "REVERTED", "{key}");
        assert_eq!(revert["revert_reason"], reason, "{key}");
        let fee: u128 = revert["fee_fri"].as_str().unwrap().parse().unwrap();
        let before: u128 = revert["strk_before_fri"].as_str().unwrap().parse().unwrap();
        let after: u128 = revert["strk_after_fri"].as_str().unwrap().parse().unwrap();
        assert!(fee > 0, "{key}");
        assert_eq!(
            before - after,
            fee,
            "{key}: the prover paid exactly the fee"
        );
        assert_eq!(revert["fee_matches_balance_change"], true, "{key}");
        assert_eq!(revert["token_balances_unchanged"], true, "{key}");
        assert_eq!(revert["sequence_unchanged"], true, "{key}");
        assert!(revert["l2_gas"].as_u64().unwrap() > 0, "{key}");
    }
    // Rejecting a tampered proof runs (part of) the verifier: it costs more than the stale
    // check, which stops before verification.
    assert!(
        summary["bad_proof_settlement"]["l2_gas"].as_u64().unwrap()
            > summary["stale_settlement"]["l2_gas"].as_u64().unwrap()
    );
}

/// Kills the devnet child when the test ends, also on panic.
struct DevnetProcess(Child);

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `devnet` in the background, then `deploy`, `thread create`, `thread show` and `status`
/// against it through `--rpc-url` and the account environment variables.
#[test]
fn plain_commands_work_against_a_running_devnet() {
    let mut child = zkthread()
        .args(["devnet", "--port", "0", "--accounts", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("devnet starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let devnet = DevnetProcess(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("devnet prints its URL");
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let url = info["url"].as_str().unwrap().to_owned();
    let account = &info["accounts"][0];
    let with_node = |args: &[&str]| {
        zkthread()
            .args(args)
            .env("ZKTHREAD_RPC_URL", &url)
            .env(
                "ZKTHREAD_ACCOUNT_ADDRESS",
                account["address"].as_str().unwrap(),
            )
            .env(
                "ZKTHREAD_PRIVATE_KEY",
                account["private_key"].as_str().unwrap(),
            )
            .output()
            .expect("zkthread runs")
    };

    let deployed = json(&with_node(&["deploy", "--supply", "5000", "--json"]));
    let registry = deployed["registry"].as_str().unwrap().to_owned();
    let token = deployed["token"].as_str().unwrap().to_owned();
    assert_eq!(deployed["registered"]["os_version"], 1);

    let created = json(&with_node(&[
        "thread",
        "create",
        "--registry",
        &registry,
        "--contract",
        &token,
        "--json",
    ]));
    let thread = &created["thread"];
    assert_eq!(thread["thread_id"], 1);
    assert_eq!(thread["sequence"], 0);
    assert_eq!(thread["active"], true);
    assert_eq!(thread["contracts"][0], token.as_str());
    assert_eq!(
        thread["program_hash"],
        deployed["registered"]["program_hash"]
    );
    // `deploy` declared the Cairo verifier and registered its class hash as the program.
    assert_eq!(thread["verifier_declared"], true);
    assert_eq!(thread["program_hash"], deployed["verifier_class_hash"]);

    let shown = json(&with_node(&[
        "thread",
        "show",
        "--registry",
        &registry,
        "--id",
        "1",
        "--json",
    ]));
    assert_eq!(&shown, thread);

    let missing = with_node(&["thread", "show", "--registry", &registry, "--id", "7"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: no thread 7 in registry"), "{err}");

    let status = json(&with_node(&["status", "--registry", &registry, "--json"]));
    assert_eq!(status["account"], account["address"]);
    assert_eq!(status["registry"]["owner"], account["address"]);
    assert_eq!(status["registry"]["threads"].as_array().unwrap().len(), 1);

    // Reading needs no account or key: `thread show` (flag `--thread`, like every command)
    // and `status` with only the node.
    let read_only = |args: &[&str]| {
        zkthread()
            .args(args)
            .env("ZKTHREAD_RPC_URL", &url)
            .env_remove("ZKTHREAD_ACCOUNT_ADDRESS")
            .env_remove("ZKTHREAD_PRIVATE_KEY")
            .output()
            .expect("zkthread runs")
    };
    let shown = json(&read_only(&[
        "thread", "show", "--registry", &registry, "--thread", "1", "--json",
    ]));
    assert_eq!(&shown, thread);
    let status = json(&read_only(&["status", "--registry", &registry, "--json"]));
    assert_eq!(status["account"], Value::Null);
    assert_eq!(status["strk_fri"], Value::Null);
    assert_eq!(status["registry"]["threads"].as_array().unwrap().len(), 1);
    drop(devnet);
}

/// `key new` writes an owner-only key file named after the account and the token, refuses to
/// overwrite it, and `key show` reports the key `register` would send; without a file or a
/// token+account the error is one line.
#[test]
fn key_files_are_created_once_and_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().unwrap();
    let args = ["--data-dir", data, "--json", "key", "new", "--token", "0x70c3", "--account", "0xa11ce"];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let created = json(&out);
    let path = dir.path().join("keys").join("0xa11ce-0x70c3.json");
    assert_eq!(created["file"], path.display().to_string());
    assert_eq!(created["next_index"], 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let again = run(&args);
    assert_eq!(again.status.code(), Some(1), "a second `key new` must not replace the seed");
    let shown = run(&["--data-dir", data, "--json", "key", "show", "--file", path.to_str().unwrap()]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    assert_eq!(json(&shown)["commitment"], created["commitment"]);
    let commitment = created["commitment"].as_str().unwrap();
    assert!(commitment.starts_with("0x") && commitment.len() <= 2 + 31, "{commitment}");

    let out = run(&["--data-dir", data, "key", "show", "--token", "0x70c3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: no key file"), "{}", stderr(&out));
}
