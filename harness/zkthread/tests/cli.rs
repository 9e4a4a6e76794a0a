//! The `zkthread` binary as users and scripts run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};

use serde_json::Value;

mod common;
use common::shape::{check, check_error};
use common::{json, stderr, zkthread};

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
        &["demo", "--program", "dex"],
        &["order", "place", "--registry", "0x1", "--thread", "1", "--id", "1", "--side", "buy", "--price", "0", "--quantity", "1"],
        &["order", "place", "--registry", "0x1", "--thread", "1", "--id", "1", "--side", "hold", "--price", "5", "--quantity", "1"],
        &["order", "place", "--registry", "0x1", "--thread", "1", "--id", "1", "--side", "buy", "--price", "3/0", "--quantity", "1"],
        &["order", "place", "--registry", "0x1", "--thread", "1", "--id", "1", "--side", "buy", "--price", "16384/3", "--quantity", "1"],
        &["order", "place", "--registry", "0x1", "--thread", "1", "--id", "1", "--side", "buy", "--price", "1.5", "--quantity", "1"],
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
    // More than one proof holds (524 signed transfers) is refused up front, naming the flag:
    // such a sub-block could be built but never proven.
    for args in [
        &["demo", "--transfers", "525"][..],
        &["batch", "--registry", "0x1", "--thread", "1", "--max-transfers", "525"],
        &["serve", "--registry", "0x1", "--thread", "1", "--max-transfers", "525"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("525 is not in 1..=524"), "{args:?}: {}", stderr(&out));
    }
    // So is a slot cap whose sub-blocks could never fit one settle transaction's calldata.
    for args in [
        &["batch", "--registry", "0x1", "--thread", "1", "--max-slots", "148"][..],
        &["serve", "--registry", "0x1", "--thread", "1", "--max-slots", "148"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("148 is not in 3..=147"), "{args:?}: {}", stderr(&out));
    }
    // Under --json the usage error is the stdout document (scripts parse stdout).
    let reason = check_error("demo", &run(&["--json", "demo", "--no-such-flag"]), 2);
    assert!(reason.contains("--no-such-flag"), "{reason}");
    // A felt flag clap cannot parse is a usage error too.
    let reason = check_error(
        "thread show",
        &run(&["thread", "show", "--registry", "0xzz", "--thread", "1", "--json"]),
        2,
    );
    assert!(reason.contains("--registry"), "{reason}");
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
    let reason = check_error("status", &run(&["status", "--json"]), 1);
    assert!(reason.starts_with("no node: pass --rpc-url"), "{reason}");

    // More transfers per bench client than the service queues per sender, before any devnet.
    let out = run(&["bench", "serve", "--sizes", "256", "--clients", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("512 transfers from 2 clients is 256 messages each, more than the 64 the service queues per sender"),
        "{}",
        stderr(&out)
    );
    // On a list thread messages are lists, and a sender's queued transfers are capped too.
    let out = run(&["bench", "serve", "--program", "list", "--sizes", "1024", "--clients", "1", "--list-length", "8"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("2048 transfers from 1 clients is 256 messages each, more than the 64") && stderr(&out).contains("--list-length"), "{}", stderr(&out));
    let out = run(&["bench", "serve", "--program", "list", "--sizes", "1024", "--sub-blocks", "2", "--clients", "1", "--list-length", "1024"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("is 2048 each, more than the 1024 a list thread queues per sender"), "{}", stderr(&out));
    let out = run(&["bench", "serve", "--program", "unsigned"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("bench serve measures a signed program"), "{}", stderr(&out));
    // The fast parameter set is the list program's: refused for the signed one.
    let out = run(&["bench", "serve", "--fast-proofs", "--sizes", "8"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--fast-proofs is for --program list"), "{}", stderr(&out));

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

/// Every command's failure under `--json` is the documented `{"error"}` document with exit 1
/// (the same line on stderr), from invocations that fail before reaching a node or proving.
#[test]
fn every_command_fails_with_the_documented_error_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    // A regular file where a data directory should be.
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let thread = ["--registry", "0x123", "--thread", "1"];
    // In order: `sub-block show` runs before `batch` creates the data directory's database.
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("sub-block show", [&["sub-block", "show"][..], &thread].concat(), "no data directory"),
        ("demo", vec!["demo", "--repo", "/nonexistent"], "is not a zkthreads repository"),
        ("demo orderbook", vec!["demo", "--program", "orderbook", "--accounts", "3"], "--accounts 4"),
        ("deploy", vec!["deploy"], "no node"),
        ("key new", vec!["key", "new", "--token", "0x70c3"], "no key file"),
        // `--file` is the old spelling of `--key-file`.
        ("key show", vec!["key", "show", "--file", "/nonexistent/key.json"], "opening the key file"),
        ("key register", vec!["key", "register", "--token", "0x70c3"], "no node"),
        ("thread create", vec!["thread", "create", "--registry", "0x123", "--contract", "0x5"], "no node"),
        ("thread show", vec!["thread", "show", "--registry", "0x123", "--thread", "1"], "no node"),
        (
            "tx submit",
            [&["tx", "submit"][..], &thread, &["--token", "0x5", "--from", "0x1", "--to", "0x2", "--amount", "0"]].concat(),
            "--amount must be above zero",
        ),
        (
            "tx submit to 0",
            [&["tx", "submit"][..], &thread, &["--token", "0x5", "--from", "0x1", "--to", "0x0", "--amount", "5"]].concat(),
            "--to: receiver 0x0 is not a Starknet account address",
        ),
        ("batch", [&["batch"][..], &thread].concat(), "no node"),
        ("prove", [&["prove", "--data-dir", not_a_dir.to_str().unwrap()][..], &thread].concat(), "opening the data directory"),
        ("settle", [&["settle"][..], &thread].concat(), "no node"),
        ("serve", [&["serve"][..], &thread].concat(), "no node"),
        ("status", vec!["status"], "no node"),
        ("book deploy", vec!["book", "deploy"], "no node"),
        ("book show", [&["book", "show"][..], &thread].concat(), "no node"),
        ("book settle", [&["book", "settle"][..], &thread].concat(), "no node"),
        (
            "order place",
            [&["order", "place"][..], &thread, &["--id", "1", "--side", "buy", "--price", "5", "--quantity", "1"]].concat(),
            "no node",
        ),
        ("order cancel", [&["order", "cancel"][..], &thread, &["--id", "1"]].concat(), "no node"),
        ("bench verify", vec!["bench", "verify", "--min-log", "5", "--max-log", "3"], "--min-log"),
        ("bench settle", vec!["bench", "settle", "--sizes", "0"], "--sizes"),
        ("bench serve", vec!["bench", "serve", "--sizes", "0"], "--sizes"),
    ];
    for (command, args, needle) in cases {
        let out = zkthread()
            .args(&args)
            .arg("--json")
            .env("ZKTHREAD_DATA_DIR", data)
            .output()
            .expect("zkthread runs");
        let reason = check_error(command, &out, 1);
        assert!(reason.contains(needle), "{command}: {needle:?} not in {reason:?}");
    }
}

/// The README's main job, small: both revert paths (stale input, one proof felt changed) revert
/// with the registry's reason, the prover pays exactly the fee and no balance moves; then the
/// real settlement is verified on-chain by the Cairo verifier and writes the outputs.
#[test]
fn demo_runs_end_to_end_and_reports_json() {
    let out = run(&["demo", "--transfers", "12", "--json"]);
    let summary = json(&out);
    check("demo", &summary);
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
        ("stale_settlement_inputs_first", "registry: stale input"),
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
    // Rejecting a tampered proof runs the verifier up to the felt; a stale input is found
    // after the whole proof verified (each contract is checked right before it is written).
    assert!(
        summary["stale_settlement"]["l2_gas"].as_u64().unwrap()
            > summary["bad_proof_settlement"]["l2_gas"].as_u64().unwrap()
    );
    // Checked before the proof, the same stale input costs a fraction of a verification.
    assert!(
        3 * summary["stale_settlement_inputs_first"]["l2_gas"].as_u64().unwrap()
            < summary["stale_settlement"]["l2_gas"].as_u64().unwrap()
    );
}

/// The demo on the token's list program: the senders' lists carry the asked transfers, the
/// four attacks planted on lists are refused each for its own reason, the list settlement
/// goes through `ListVerifier` on-chain, and its two revert paths leave everything unchanged.
#[test]
fn demo_runs_the_list_program_end_to_end() {
    let out = run(&["demo", "--program", "list", "--transfers", "12", "--json"]);
    let summary = json(&out);
    check("demo", &summary);
    assert_eq!(summary["program"], "list");
    let t = &summary["transfers"];
    assert_eq!(t["transfers_applied"], 12);
    assert_eq!(t["rejected"], 4);
    assert!(t["accepted"].as_u64().unwrap() < 12, "fewer lists than transfers: {t}");
    let reasons: Vec<(&str, &str)> =
        t["attacks"].as_array().unwrap().iter().map(|a| (a["attack"].as_str().unwrap(), a["reason"].as_str().unwrap())).collect();
    assert!(reasons[0].1.starts_with("bad signature"), "{reasons:?}");
    assert!(reasons[1].1.contains("not the sender's current key"), "{reasons:?}");
    assert!(reasons[2].1.starts_with("nonce"), "{reasons:?}");
    assert!(reasons[3].1.starts_with("the list pays out more than the sender's balance"), "{reasons:?}");
    let settlement = &summary["settlement"];
    assert_eq!((settlement["status"].as_str(), settlement["outputs_applied"].as_bool()), (Some("SUCCEEDED"), Some(true)));
    assert_eq!(settlement["event_matches_outputs"], true);
    assert!(settlement["calldata_felts"].as_u64().unwrap() <= 5_000);
    for key in ["stale_settlement", "stale_settlement_inputs_first", "bad_proof_settlement"] {
        assert_eq!(summary[key]["status"], "REVERTED", "{key}");
        assert_eq!(summary[key]["token_balances_unchanged"], true, "{key}");
    }
    assert!(summary["settled_replay_refused"].as_str().unwrap().starts_with("nonce"));
}

/// The order-book demo: a trading round with three planted attacks refused, two fills at the
/// makers' prices, a round made stale by an L2 transfer that reverts with nothing changed, its
/// rematch settled, and the book read back from chain.
#[test]
fn orderbook_demo_runs_a_trading_round_and_reports_json() {
    let out = run(&["demo", "--program", "orderbook", "--json"]);
    let summary = json(&out);
    check("demo --program orderbook", &summary);
    let rounds = summary["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    let refused: Vec<&str> = rounds[0]["refused"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0].starts_with("#0 from alice: bad signature"), "{refused:?}");
    assert!(refused[1].contains("from bob: nonce"), "{refused:?}");
    assert!(refused[2].contains("from dave: the signer has no order 7"), "{refused:?}");
    assert_eq!(rounds[0]["fills"], serde_json::json!(["carol <- bob: 40 @ 97/2", "alice <- bob: 80 @ 50"]));
    assert_eq!(rounds[1]["fills"], serde_json::json!(["alice <- bob: 5 @ 50"]));
    for round in rounds {
        assert!(round["l2_gas"].as_u64().unwrap() > 100_000_000);
        assert!(round["calldata_felts"].as_u64().unwrap() <= 5_000);
    }
    assert_eq!(summary["stale_settlement"]["revert_reason"], "registry: stale input");
    assert_eq!(summary["stale_settlement"]["book_unchanged"], true);
    assert_eq!(summary["fill_count"], 3);
    let book: Vec<(String, u64, String, serde_json::Value, u64)> = summary["book_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["owner"].as_str().unwrap().to_owned(),
                o["id"].as_u64().unwrap(),
                o["side"].as_str().unwrap().to_owned(),
                o["price"].clone(),
                o["remaining"].as_u64().unwrap(),
            )
        })
        .collect();
    // A whole price is a JSON number, a ratio the string `num/den`.
    let (whole, ratio) = (|p: u64| serde_json::json!(p), |p: &str| serde_json::json!(p));
    let expected = [
        ("alice", 1, "sell", whole(50), 15),
        ("bob", 1, "buy", whole(52), 0),
        ("carol", 1, "sell", ratio("97/2"), 0),
        // Dave's bid, cancelled in round 1 (book AIR version 4: side 3).
        ("dave", 1, "cancelled", whole(48), 0),
        ("bob", 2, "buy", whole(50), 15),
    ];
    let expected: Vec<(String, u64, String, serde_json::Value, u64)> =
        expected.iter().map(|(o, i, s, p, r)| (o.to_string(), *i, s.to_string(), p.clone(), *r)).collect();
    assert_eq!(book, expected);
}

/// Kills the devnet child when the test ends, also on panic.
struct DevnetProcess(Child);

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `zkthread devnet` in the background (2 accounts, a free port): the process, killed when
/// dropped, and its JSON document (URL and accounts).
fn running_devnet() -> (DevnetProcess, Value) {
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
    (devnet, info)
}

/// `devnet` in the background, then `deploy`, `thread create`, `thread show` and `status`
/// against it through `--rpc-url` and the account environment variables.
#[test]
fn plain_commands_work_against_a_running_devnet() {
    let (devnet, info) = running_devnet();
    check("devnet", &info);
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
    check("deploy", &deployed);
    let registry = deployed["registry"].as_str().unwrap().to_owned();
    let token = deployed["token"].as_str().unwrap().to_owned();
    assert_eq!(deployed["registered"]["os_version"], "0x1");
    assert_eq!(deployed["supply"], "5000");

    // A second devnet on the port this one holds: the documented error, exit 1.
    let port = zkthread_client::Url::parse(&url).ok().and_then(|u| u.port()).expect("a port in the URL").to_string();
    let taken = zkthread().args(["devnet", "--port", &port, "--json"]).output().expect("zkthread runs");
    check_error("devnet", &taken, 1);

    let created = json(&with_node(&[
        "thread",
        "create",
        "--registry",
        &registry,
        "--contract",
        &token,
        "--json",
    ]));
    check("thread create", &created);
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
    check("thread show", &shown);
    assert_eq!(&shown, thread);

    let missing = with_node(&["thread", "show", "--registry", &registry, "--id", "7"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: no thread 7 in registry"), "{err}");
    let missing = with_node(&["thread", "show", "--registry", &registry, "--thread", "7", "--json"]);
    assert!(check_error("thread show", &missing, 1).starts_with("no thread 7 in registry"));

    let status = json(&with_node(&["status", "--registry", &registry, "--json"]));
    check("status", &status);
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
    check("thread show", &shown);
    assert_eq!(&shown, thread);
    let status = json(&read_only(&["status", "--registry", &registry, "--json"]));
    check("status", &status);
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
    let args = ["--data-dir", data, "--json", "key", "new", "--token", "0x70c3", "--account-address", "0xa11ce"];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let created = json(&out);
    check("key new", &created);
    assert_eq!(created["registered_in"], Value::Null);
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
    check_error("key new", &again, 1);
    // `--account` is the old spelling of `--account-address`: the same file.
    let again = run(&["--data-dir", data, "--json", "key", "new", "--token", "0x70c3", "--account", "0xa11ce"]);
    let reason = check_error("key new", &again, 1);
    assert!(reason.contains("0xa11ce-0x70c3.json: a key file already exists"), "{reason}");
    let shown = run(&["--data-dir", data, "--json", "key", "show", "--key-file", path.to_str().unwrap()]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let shown = json(&shown);
    check("key show", &shown);
    assert_eq!(shown["commitment"], created["commitment"]);
    let commitment = created["commitment"].as_str().unwrap();
    assert!(commitment.starts_with("0x") && commitment.len() <= 2 + 31, "{commitment}");

    let out = run(&["--data-dir", data, "key", "show", "--token", "0x70c3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: no key file"), "{}", stderr(&out));
}

/// The order book by hand against a running devnet: `book deploy` (funding Bob with both
/// tokens); both accounts create key files for the book and register them (`key new|register
/// --token <book>`); `order place` queues Alice's ask and Bob's crossing bid, `order cancel` a
/// cancel of an order Bob never placed; `book settle` proves and settles the round (one fill at
/// Alice's price, the cancel refused with its reason and dropped); `book show` reads the orders
/// back from chain with nothing pending; a second `book settle` has nothing to do.
#[test]
fn order_and_book_commands_trade_against_a_running_devnet() {
    let (_devnet, info) = running_devnet();
    let url = info["url"].as_str().unwrap().to_owned();
    let data = tempfile::tempdir().unwrap();
    let command = |i: usize, args: &[&str]| {
        let account = &info["accounts"][i];
        let mut command = zkthread();
        command
            .args(args)
            .arg("--json")
            .env("ZKTHREAD_RPC_URL", &url)
            .env("ZKTHREAD_ACCOUNT_ADDRESS", account["address"].as_str().unwrap())
            .env("ZKTHREAD_PRIVATE_KEY", account["private_key"].as_str().unwrap())
            .env("ZKTHREAD_DATA_DIR", data.path());
        command
    };
    let as_account = |i: usize, args: &[&str]| command(i, args).output().expect("zkthread runs");
    let (alice, bob) = (info["accounts"][0]["address"].as_str().unwrap(), info["accounts"][1]["address"].as_str().unwrap());
    let deployed = json(&as_account(0, &["book", "deploy", "--fund", bob]));
    check("book deploy", &deployed);
    let (registry, book) = (deployed["registry"].as_str().unwrap(), deployed["book"].as_str().unwrap());
    let thread = deployed["thread_id"].as_u64().unwrap().to_string();
    for i in 0..2 {
        check("key new", &json(&as_account(i, &["key", "new", "--token", book])));
        check("key register", &json(&as_account(i, &["key", "register", "--token", book])));
    }
    let thread_args = ["--registry", registry, "--thread", &thread];
    let place = |i: usize, side: &str, price: &str, qty: &str, id: &str| {
        let args = [&["order", "place"][..], &thread_args, &["--side", side, "--price", price, "--quantity", qty, "--id", id]].concat();
        let doc = json(&as_account(i, &args));
        check("order place", &doc);
        doc
    };
    place(0, "sell", "101/2", "100", "5");
    assert_eq!(place(1, "buy", "52", "30", "9")["pending"], 2);
    // A cancel of an order never placed is refused before it is signed (no one-time key
    // burnt), with the batcher's reason; nothing is queued.
    let reason = check_error("order cancel", &as_account(1, &[&["order", "cancel"][..], &thread_args, &["--id", "7"]].concat()), 1);
    assert!(reason.contains("no order 7 to cancel") && reason.contains("nothing was signed"), "{reason}");

    // Through the registry's other entry point (every input compared before the proof too).
    let settled = json(&as_account(0, &[&["book", "settle", "--inputs-first"][..], &thread_args].concat()));
    check("book settle", &settled);
    assert_eq!(settled["fills"], serde_json::json!(["order 5 <- order 9: 30 @ 101/2"]));
    assert_eq!((settled["pending"].as_u64(), settled["sent"].as_bool()), (Some(0), Some(true)));
    assert_eq!(settled["refused"], serde_json::json!([]));

    let shown = json(&as_account(0, &[&["book", "show"][..], &thread_args].concat()));
    check("book show", &shown);
    assert_eq!(shown["fill_count"], 1);
    assert_eq!(shown["pending"].as_array().unwrap().len(), 0);
    assert_eq!((&shown["slot_budget"], &shown["owed_round"]), (&serde_json::Value::Null, &serde_json::Value::Null), "no budget, nothing owed");
    let orders: Vec<(String, u64, String, u64)> = shown["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["owner"].as_str().unwrap().to_owned(), o["id"].as_u64().unwrap(), o["side"].as_str().unwrap().to_owned(), o["remaining"].as_u64().unwrap()))
        .collect();
    assert_eq!(orders, vec![(alice.to_owned(), 5, "sell".to_owned(), 70), (bob.to_owned(), 9, "buy".to_owned(), 0)]);
    let reason = check_error("book settle", &as_account(0, &[&["book", "settle"][..], &thread_args].concat()), 1);
    assert!(reason.contains("no pending order messages"), "{reason}");
    // A second book on the same node needs another salt; the same salt is refused.
    let again = as_account(0, &["book", "deploy"]);
    assert_eq!(again.status.code(), Some(1));
    let other = json(&as_account(0, &["book", "deploy", "--salt", "0x2"]));
    check("book deploy", &other);
    assert_ne!(other["book"], deployed["book"]);

    // An id Alice placed already: refused before signing.
    let args = [&["order", "place"][..], &thread_args, &["--side", "sell", "--price", "60", "--quantity", "10", "--id", "5"]].concat();
    let reason = check_error("order place", &as_account(0, &args), 1);
    assert!(reason.contains("order id 5 was used before"), "{reason}");

    // Exactly once: a settle stopped right after broadcasting (before its receipt) is found
    // settled by the next run, which sends nothing again. (No key was burnt above: both
    // traders sign on with their key files as they are.)
    place(0, "sell", "55", "10", "11");
    place(1, "buy", "55", "4", "12");
    let settle_args = [&["book", "settle"][..], &thread_args].concat();
    let crashed = command(0, &settle_args).env("ZKTHREAD_CRASH_AT", "after-send").output().expect("zkthread runs");
    assert!(
        !crashed.status.success() && String::from_utf8_lossy(&crashed.stderr).contains("after-send: aborting"),
        "the crash point stops the process after broadcasting: {}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let resumed = json(&as_account(0, &settle_args));
    check("book settle", &resumed);
    assert_eq!((resumed["sent"].as_bool(), resumed["status"].as_str()), (Some(false), Some("settled")), "{resumed}");
    assert_eq!(resumed["pending"], 0);
    let shown = json(&as_account(0, &[&["book", "show"][..], &thread_args].concat()));
    assert_eq!(shown["fill_count"], 2, "one fill in each of the two settled rounds");
    let reason = check_error("book settle", &as_account(0, &settle_args), 1);
    assert!(reason.contains("no pending order messages"), "{reason}");
}
