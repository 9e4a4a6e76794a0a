//! The batcher commands as users run them — `deploy`, `thread create`, `key new`,
//! `key register`, `tx submit` (signed with the sender's key file), `batch`, `prove`, `settle`,
//! `status` — against an embedded devnet started in this test process (seed 0; account #0
//! deploys, batches and settles; each trader registers its key from its own account), with a
//! temporary data directory.
//!
//! Settlement must happen exactly once across crashes: `ZKTHREAD_CRASH_AT` aborts `settle`
//! right after it recorded the transaction hash (before broadcasting) or right after
//! broadcasting (before the receipt); the next `settle` must then send once / send nothing.

use std::process::Output;

use serde_json::Value;
use zkthread_client::Felt;

mod common;
use common::shape::{check, check_error};
use common::served::{Http, Served};
use common::world::{felt, World, SUPPLY};
use common::{copy_dir, json, stderr, zkthread};

/// Exit 1 with exactly one `error: ...` line on stderr containing `needle`.
fn assert_one_line_error(out: &Output, needle: &str) -> String {
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    err
}

/// (a) the whole loop; (b) a crash after recording the send but before broadcasting: the
/// re-run sends it once; (c) a crash after broadcasting, before the receipt: the re-run finds
/// the receipt and sends nothing. Balances on-chain follow a reference model throughout. On
/// the way: a refused transfer spends its sender's one-time key, so that key file cannot sign
/// again until the account registers its next key.
#[test]
fn the_cli_loop_settles_each_sub_block_exactly_once_across_crashes() {
    let world = World::deploy();
    // Account 3 gets a balance directly on L2, for the rival batcher below.
    world.direct_transfer(3, 7);
    let mut expected = [SUPPLY - 7, 0, 0, 7];
    assert_eq!(world.balances(), expected);

    // (a) deploy → keys → thread create → tx submit ×5 → batch → prove → settle.
    let first = world.submit(0, 1, 100);
    world.submit(0, 2, 50);
    world.submit(1, 2, 30);
    let overspend = world.submit(2, 3, 500); // account 2 holds 80 at that point
    world.submit(1, 3, 10);
    let batched = world.step("batch");
    assert_eq!(batched["sequence"], 0);
    assert_eq!(batched["transfers"], 4);
    // Balances of 0..3 and the key slots of the two senders whose transfers were accepted.
    assert_eq!(batched["inputs"], 6);
    assert_eq!(batched["outputs"], 6);
    assert_eq!(batched["still_pending"], 0);
    let rejected = batched["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["id"], overspend);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("overspend"),
        "{rejected:?}"
    );
    assert!(first < overspend);
    // Two copies of the data directory made now, while sub-block 0 is only built (restored
    // backups: below, its twin proven here settles, and each copy must find it settled).
    let built_copies = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for built in &built_copies {
        copy_dir(world.data_dir.path(), built.path());
    }
    // One sub-block in flight per thread.
    let busy = world.cli(&["batch", "--thread", &world.thread(), "--json"]);
    assert_one_line_error(&busy, "already has sub-block 0 in flight (built)");
    // Under --json the error is also the stdout document.
    assert!(check_error("batch", &busy, 1).contains("in flight (built)"));
    // A second batcher (its own data directory) builds sequence 0 of the same thread too, with
    // a transfer account 3 signs with its own key file.
    let rival = tempfile::tempdir().unwrap();
    let thread = world.thread();
    let token = format!("{:#x}", world.token.address);
    let (from, to) = (
        format!("{:#x}", world.accounts[3]),
        format!("{:#x}", world.accounts[0]),
    );
    let key_file = world.data_dir.path().join("keys").join(format!("{from}-{token}.json"));
    check("tx submit", &json(&world.cli_in(
        rival.path(),
        &[
            "tx", "submit", "--thread", &thread, "--token", &token, "--from", &from, "--to", &to,
            "--amount", "1", "--key-file", key_file.to_str().unwrap(), "--json",
        ],
    )));
    let rival_batch = json(&world.cli_in(rival.path(), &["batch", "--thread", &thread, "--json"]));
    check("batch", &rival_batch);
    assert_eq!(rival_batch["sequence"], 0);
    // The rival proves it: a proven sub-block whose sequence another one takes is superseded
    // (its public input is not the one the registry recorded; below).
    check("prove", &json(&world.cli_in(rival.path(), &["prove", "--thread", &thread, "--json"])));

    // The signed program's verifier accepts one parameter set: `--fast` is refused, nothing proven.
    let fast = world.cli(&["prove", "--thread", &world.thread(), "--fast"]);
    assert_one_line_error(
        &fast,
        &format!("--fast: thread {} runs the signed program, whose verifier accepts one parameter set", world.thread()),
    );
    let proved = world.step("prove");
    assert_eq!(proved["proved_now"], true);
    assert!(proved["proof_felts"].as_u64().unwrap() > 100);
    assert_eq!((&proved["log_blowup"], &proved["n_queries"], &proved["pow_bits"]), (&5.into(), &16.into(), &16.into()));
    // A copy of the data directory made now, before the send is recorded (a restored backup:
    // for the copy's lookups the send is as lost as behind a lagging node).
    let copy = tempfile::tempdir().unwrap();
    copy_dir(world.data_dir.path(), copy.path());
    let settled = world.step("settle");
    assert_eq!(settled["status"], "settled");
    assert_eq!(settled["sent"], true);
    assert_eq!(settled["preflight"]["blocked_by"], Value::Null);
    assert_eq!(settled["slots_written"], 6);
    // The copy's sub-block 0 is the one that settled: reconciling finds it in the registry's
    // record of sequence 0 (which carries its public input) and records it settled under that
    // transaction, sending nothing, instead of superseded with its transfers handed back to be
    // refused as replays (helper-81 F6).
    let nonce = world.nonce();
    let found = json(&world.cli_in(copy.path(), &["settle", "--thread", &world.thread(), "--json"]));
    check("settle", &found);
    assert_eq!(found["status"], "settled", "{found}");
    assert_eq!(found["sent"], false);
    assert_eq!(found["reconciled"]["from"], "proven");
    assert_eq!(found["reconciled"]["to"], "settled");
    assert_eq!(found["tx_hash"], settled["tx_hash"]);
    assert_eq!(world.nonce(), nonce, "the copy sent nothing");
    let copy_status = json(&world.cli_in(copy.path(), &["status", "--json"]));
    check("status", &copy_status);
    let copy_batcher = &copy_status["registry"]["batcher"][0];
    assert_eq!(copy_batcher["pending"], 0, "nothing handed back: {copy_status}");
    assert_eq!(copy_batcher["sub_blocks"][0]["status"], "settled");
    // A copy holding sub-block 0 only built finds it settled too, by its twin's public input
    // (helper-86 M2): reconciling (here by `status`) records it settled without a proof and
    // hands nothing back to be refused as a replay.
    let built_status = json(&world.cli_in(built_copies[0].path(), &["status", "--json"]));
    check("status", &built_status);
    let built_batcher = &built_status["registry"]["batcher"][0];
    assert_eq!(built_batcher["reconciled"]["from"], "built", "{built_status}");
    assert_eq!(built_batcher["reconciled"]["to"], "settled");
    assert_eq!(built_batcher["reconciled"]["tx_hash"], settled["tx_hash"]);
    assert_eq!(built_batcher["pending"], 0);
    assert_eq!(built_batcher["sub_blocks"][0]["status"], "settled");
    let shown = json(&world.cli_in(built_copies[0].path(), &["sub-block", "show", "--thread", &world.thread(), "--sequence", "0", "--json"]));
    check("sub-block show", &shown);
    assert_eq!(shown["settled_by"], settled["tx_hash"], "the twin's transaction: {shown}");
    assert_eq!((&shown["settle_txs"], &shown["proof"]), (&serde_json::json!([]), &Value::Null), "never sent or proven here");
    // The stale check a batcher runs after reconciling (the service's, on a blocked pre-flight)
    // sees the inputs changed by the settlement itself when it lands in between: it reconciles
    // instead of ending the sub-block stale (helper-86 L3).
    let store = zkthread_store::Store::open(built_copies[1].path()).expect("the copy's data directory");
    let key = zkthread_store::ThreadKey::new(world.registry.address, world.thread_id);
    let ended = world
        .runtime
        .block_on(zkthread_engine::batch::abandon_if_stale(&world.client, &store, key))
        .expect("reads the chain")
        .expect("a change");
    assert_eq!((ended.from, ended.to), ("built", "settled"), "{}", ended.line());
    assert_eq!(ended.tx_hash.as_deref(), settled["tx_hash"].as_str());
    assert!(store.pending(key).unwrap().is_empty(), "nothing handed back");
    drop(store);
    expected = [SUPPLY - 7 - 150, 60, 80, 17];
    assert_eq!(world.balances(), expected);
    assert_eq!(world.next_sequence(), 1);

    // `sub-block show` exports what settled, from the data directory alone: its settle call is
    // exactly the one the mined transaction carried (the account's multicall
    // [1, to, selector, calldata length, calldata...]), so anyone can check or send it.
    let shown = json(&world.cli(&[
        "sub-block", "show", "--thread", &world.thread(), "--sequence", "0", "--json",
    ]));
    check("sub-block show", &shown);
    assert_eq!(shown["status"], "settled");
    assert_eq!(shown["transfers"].as_array().unwrap().len() as u64, settled["transfers"].as_u64().unwrap());
    assert_eq!(shown["outputs"].as_array().unwrap().len(), 6);
    assert_eq!(shown["settle_txs"].as_array().unwrap().last(), Some(&settled["tx_hash"]));
    assert_eq!(shown["settled_by"], settled["tx_hash"]);
    assert_eq!(shown["proof"].as_array().unwrap().len() as u64, proved["proof_felts"].as_u64().unwrap());
    let call = &shown["settle_call"];
    assert_eq!(felt(&call["to"]), world.registry.address);
    let exported: Vec<Felt> = call["calldata"].as_array().unwrap().iter().map(felt).collect();
    let mined = world.mined_calldata(felt(&settled["tx_hash"]));
    assert_eq!(mined[0], Felt::ONE, "one call");
    assert_eq!(mined[1], world.registry.address);
    assert_eq!(mined[2], starknet::core::utils::get_selector_from_name("settle").unwrap());
    assert_eq!(mined[3], Felt::from(exported.len()));
    assert_eq!(&mined[4..], &exported[..], "exported calldata = mined calldata");
    assert_published_transactions_match_the_chain(&world, &shown, felt(&settled["tx_hash"]));
    // A sequence the data directory never built: one line, exit 1.
    assert_one_line_error(
        &world.cli(&["sub-block", "show", "--thread", &world.thread(), "--sequence", "9"]),
        "has no sub-block 9",
    );
    let missing = world.cli(&["sub-block", "show", "--thread", &world.thread(), "--sequence", "9", "--json"]);
    assert!(check_error("sub-block show", &missing, 1).contains("has no sub-block 9"));

    // The rival's sequence 0 was taken: its sub-block is superseded and its transfer rebuilt
    // at sequence 1 on the new balances (its signature is still good: account 3's key slot did
    // not move), without anything sent.
    let rebuilt = json(&world.cli_in(rival.path(), &["batch", "--thread", &thread, "--json"]));
    check("batch", &rebuilt);
    assert_eq!(rebuilt["reconciled"]["from"], "proven");
    assert_eq!(rebuilt["reconciled"]["to"], "superseded");
    assert_eq!(rebuilt["sequence"], 1);
    assert_eq!(rebuilt["transfers"], 1);
    assert_eq!(rebuilt["inputs"], 3);

    // (b) crash between recording the send and broadcasting it.
    world.submit(1, 0, 5);
    assert_eq!(world.step("batch")["sequence"], 1);
    world.step("prove");
    let nonce = world.nonce();
    world.settle_crashing_at("before-send");
    assert_eq!(world.nonce(), nonce, "nothing was broadcast");
    let status = json(&world.cli(&["status", "--json"]));
    check("status", &status);
    let batcher = &status["registry"]["batcher"][0];
    // status reconciles: the recorded hash is unknown to the node, so it is proven again.
    assert_eq!(batcher["sub_blocks"][1]["status"], "proven", "{status}");
    // Sent to the registry's other entry point: every input compared before the proof too.
    let settled = json(&world.cli(&["settle", "--thread", &world.thread(), "--inputs-first", "--json"]));
    check("settle", &settled);
    assert_eq!(settled["status"], "settled");
    assert_eq!(settled["sent"], true);
    let mined = world.mined_calldata(felt(&settled["tx_hash"]));
    assert_eq!(mined[2], starknet::core::utils::get_selector_from_name("settle_checking_inputs_first").unwrap());
    assert_eq!(world.nonce(), nonce + Felt::ONE, "exactly one settle sent");
    expected[0] += 5;
    expected[1] -= 5;
    assert_eq!(world.balances(), expected);
    assert_eq!(world.next_sequence(), 2);

    // Account 2's refused overspend spent its key 0, which the slot still holds: the key file
    // must not sign with key 1 under it. Registering the file's next key unblocks it.
    assert_one_line_error(&world.try_submit(2, 1, 4), "is not the sender's current thread key");
    let registered = world.register_key(2);
    assert_eq!(registered["next_index"], 1);

    // (c) crash between broadcasting and the receipt.
    world.submit(2, 1, 4);
    assert_eq!(world.step("batch")["sequence"], 2);
    world.step("prove");
    let nonce = world.nonce();
    world.settle_crashing_at("after-send");
    let settled = world.step("settle");
    assert_eq!(settled["status"], "settled");
    assert_eq!(settled["sent"], false, "the re-run must not send again");
    assert_eq!(settled["reconciled"]["from"], "sending");
    assert_eq!(settled["reconciled"]["to"], "settled");
    assert_eq!(world.nonce(), nonce + Felt::ONE, "exactly one settle sent");
    expected[2] -= 4;
    expected[1] += 4;
    assert_eq!(world.balances(), expected);
    assert_eq!(world.next_sequence(), 3);

    // Nothing left: a further settle sends nothing, says why, and is not an error (exit 0).
    let idle = world.cli(&["settle", "--thread", &world.thread(), "--json"]);
    assert_eq!(idle.status.code(), Some(0), "{}", stderr(&idle));
    let idle: Value = serde_json::from_slice(&idle.stdout).expect("a JSON report");
    check("settle", &idle);
    assert_eq!(idle["status"], "nothing to do");
    assert!(
        idle["reason"].as_str().is_some_and(|r| r.contains("nothing to settle")),
        "{idle}"
    );
    assert_eq!(world.nonce(), nonce + Felt::ONE);
    let status = json(&world.cli(&["status", "--json"]));
    check("status", &status);
    let batcher = &status["registry"]["batcher"][0];
    assert_eq!(batcher["pending"], 0);
    assert_eq!(batcher["rejected"], 1);
    let statuses: Vec<&str> = batcher["sub_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["settled", "settled", "settled"]);
}

/// (d) An input goes stale (a direct token transfer). Before proving, `batch` sees it and
/// rebuilds for free. After proving, `settle` refuses without sending; `settle --force` sends,
/// the registry reverts it as stale and the prover pays; the sub-block's transfers go back to
/// pending, `batch` rebuilds them on fresh state, and the rebuilt sub-block settles.
#[test]
fn a_stale_sub_block_is_refused_then_forced_reverted_and_rebuilt() {
    let world = World::deploy();
    let direct_transfer = |amount: u8| world.direct_transfer(3, u128::from(amount));
    world.submit(0, 1, 100);
    world.submit(1, 2, 40);
    world.step("batch");
    direct_transfer(5);
    let nonce = world.nonce();
    let rebuilt = world.step("batch");
    assert_eq!(rebuilt["reconciled"]["from"], "built");
    assert_eq!(rebuilt["reconciled"]["to"], "stale");
    assert_eq!(
        (rebuilt["sequence"].as_u64(), rebuilt["attempt"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(rebuilt["transfers"], 2);
    assert_eq!(world.nonce(), nonce, "rebuilding sends nothing");
    world.step("prove");

    direct_transfer(7);
    let nonce = world.nonce();
    let before = world.balances();
    let refused = world.cli(&["settle", "--thread", &world.thread(), "--json"]);
    check_error("settle", &refused, 1);
    let refused = assert_one_line_error(&refused, "settle not sent: 1 input slot(s) changed on-chain");
    assert!(
        refused.contains("run `zkthread batch --thread 1` to rebuild"),
        "{refused}"
    );
    assert_eq!(world.nonce(), nonce, "a refused settle sends nothing");

    let forced = world.cli(&["settle", "--thread", &world.thread(), "--force", "--json"]);
    let err = assert_one_line_error(&forced, "REVERTED: registry: stale input");
    assert!(err.contains("run `zkthread batch` to rebuild"), "{err}");
    assert!(err.contains("`--inputs-first` has a stale input refused before the on-chain verification"), "{err}");
    let report: Value = serde_json::from_slice(&forced.stdout).expect("the settle report");
    // The report carries the error itself: one document, the settle one.
    check("settle", &report);
    assert_eq!(report["error"].as_str().map(|e| format!("error: {e}")), Some(err.trim_end().to_owned()));
    assert!(report["nonce"].is_u64(), "{report}");
    assert_eq!(report["status"], "stale");
    assert_eq!(report["revert_reason"], "registry: stale input");
    assert_eq!(report["forced"], true);
    assert!(report["fee_fri"].as_str().unwrap().parse::<u128>().unwrap() > 0);
    assert_eq!(
        world.nonce(),
        nonce + Felt::ONE,
        "the forced settle was mined"
    );
    assert_eq!(world.balances(), before, "a reverted settle moves nothing");
    assert_eq!(world.next_sequence(), 0);

    let status = json(&world.cli(&["status", "--json"]));
    check("status", &status);
    let batcher = &status["registry"]["batcher"][0];
    assert_eq!(batcher["pending"], 2, "{status}");
    assert_eq!(batcher["sub_blocks"][0]["status"], "stale");
    assert_eq!(batcher["sub_blocks"][1]["status"], "stale");
    assert_eq!(batcher["sub_blocks"][1]["tx_hash"], report["tx_hash"]);

    let rebuilt = world.step("batch");
    assert_eq!(rebuilt["sequence"], 0);
    assert_eq!(rebuilt["attempt"], 2);
    assert_eq!(rebuilt["transfers"], 2);
    assert_eq!(rebuilt["reconciled"], Value::Null);
    world.step("prove");
    let settled = world.step("settle");
    assert_eq!(settled["status"], "settled");
    assert_eq!(world.next_sequence(), 1);
    assert_eq!(world.balances(), [SUPPLY - 5 - 7 - 100, 60, 40, 12]);

    a_thread_of_the_list_program_settles_signed_lists(&world);
}

/// `thread create --program list` on the same token (the key files serve both threads: a key
/// slot is the token's): `tx submit` signs ONE list of every `--to`/`--amount` pair there,
/// refuses several pairs on the signed thread, and `batch`, `prove`, `settle` and `status`
/// follow the thread's program from the data directory.
fn a_thread_of_the_list_program_settles_signed_lists(world: &World) {
    let token = format!("{:#x}", world.token.address);
    let created = json(&world.cli(&["thread", "create", "--program", "list", "--contract", &token, "--json"]));
    check("thread create", &created);
    assert_eq!(created["thread"]["program"], "list");
    let lists = created["thread"]["thread_id"].as_u64().unwrap().to_string();
    let shown = json(&world.cli(&["thread", "show", "--thread", &world.thread(), "--json"]));
    assert_eq!(shown["program"], "signed");

    let account = |i: usize| format!("{:#x}", world.accounts[i]);
    let submit = |thread: &str, from: usize, pairs: &[(usize, u128)]| {
        let mut args: Vec<String> =
            ["tx", "submit", "--thread", thread, "--token", &token, "--from", &account(from), "--json"].map(str::to_owned).to_vec();
        for (to, amount) in pairs {
            args.extend(["--to".to_owned(), account(*to), "--amount".to_owned(), amount.to_string()]);
        }
        world.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let refused = submit(&world.thread(), 1, &[(2, 1), (3, 1)]);
    assert_one_line_error(&refused, "runs the signed program (one transfer per signature)");
    // A list no settlement could carry is refused before its sender's key is spent (the next
    // submissions sign with the same key file).
    let mut wide: Vec<String> =
        ["tx", "submit", "--thread", &lists, "--token", &token, "--from", &account(1)].map(str::to_owned).to_vec();
    for i in 0..146u64 {
        wide.extend(["--to".to_owned(), format!("{:#x}", 0x5000 + i), "--amount".to_owned(), "1".to_owned()]);
    }
    let refused = world.cli(&wide.iter().map(String::as_str).collect::<Vec<_>>());
    assert_one_line_error(&refused, "the list pays 146 accounts: 148 slots, and one settlement carries at most 147");
    // The sender's own key file, offered for a contract outside the thread (the registry):
    // refused before signing, so the same key file signs next.
    let key_file = world.data_dir.path().join("keys").join(format!("{}-{token}.json", account(1)));
    let registry = format!("{:#x}", world.registry.address);
    let foreign = world.cli(&[
        "tx", "submit", "--thread", &lists, "--token", &registry, "--from", &account(1), "--to", &account(2),
        "--amount", "1", "--key-file", key_file.to_str().unwrap(),
    ]);
    assert_one_line_error(&foreign, &format!("token {registry} is not in the thread's contract set"));
    let submitted = json(&submit(&lists, 1, &[(2, 5), (3, 6), (2, 7)]));
    check("tx submit", &submitted);
    assert_eq!((submitted["program"].as_str(), submitted["to"].is_null()), (Some("list"), true));
    assert_eq!(submitted["transfers"].as_array().unwrap().len(), 3);
    assert_eq!(submitted["transfers"][2]["amount"], "7");
    let one = json(&submit(&lists, 2, &[(0, 1)]));
    assert_eq!((one["pending"].as_u64(), one["transfers"].as_array().unwrap().len()), (Some(2), 1));

    let step = |command: &str| {
        let doc = json(&world.cli(&[command, "--thread", &lists, "--json"]));
        check(command, &doc);
        doc
    };
    let built = step("batch");
    assert_eq!((built["program"].as_str(), built["messages"].as_u64(), built["transfers"].as_u64()), (Some("list"), Some(2), Some(4)));
    // Both senders' balances and key slots, and receivers #3's and #0's balances.
    assert_eq!(built["outputs"], 6);
    let proved = step("prove");
    assert_eq!((proved["program"].as_str(), proved["transfers"].as_u64()), (Some("list"), Some(4)));
    let settled = step("settle");
    assert_eq!(settled["status"], "settled", "{settled}");
    assert_eq!(world.balances(), [SUPPLY - 5 - 7 - 100 + 1, 60 - 18, 40 + 12 - 1, 12 + 6]);
    let shown = json(&world.cli(&["sub-block", "show", "--thread", &lists, "--json"]));
    check("sub-block show", &shown);
    assert_eq!((shown["program"].as_str(), shown["transfers"].as_array().unwrap().len()), (Some("list"), 0));
    assert_eq!(shown["lists"][0]["transfers"][2]["amount"], "7");
    assert_eq!(shown["lists"][1]["transfers"].as_array().unwrap().len(), 1);
    assert_eq!(shown["transactions"]["count"], 2, "one transaction-list entry per list");
    let status = json(&world.cli(&["status", "--json"]));
    check("status", &status);
    let batchers = status["registry"]["batcher"].as_array().unwrap();
    let of_lists = batchers.iter().find(|b| b["thread_id"].to_string() == lists).expect("the list thread's batcher");
    assert_eq!((of_lists["sub_blocks"][0]["status"].as_str(), of_lists["sub_blocks"][0]["transfers"].as_u64()), (Some("settled"), Some(4)));

    // The same thread served: `POST /lists` takes a list from `tx submit --server`, refuses
    // one changed after signing, and the pipeline settles it.
    let thread_id: u64 = lists.parse().unwrap();
    let served = Served::start_on(world, thread_id, (1, 1), None, None);
    let http = Http { world, client: reqwest::Client::new() };
    let mut args: Vec<String> =
        ["tx", "submit", "--thread", &lists, "--token", &token, "--from", &account(3), "--json", "--server", &served.url]
            .map(str::to_owned)
            .to_vec();
    for (to, amount) in [(0, 2u128), (1, 3)] {
        args.extend(["--to".to_owned(), account(to), "--amount".to_owned(), amount.to_string()]);
    }
    let posted = json(&world.cli(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    check("tx submit", &posted);
    assert_eq!((posted["program"].as_str(), posted["transfers"].as_array().unwrap().len()), (Some("list"), 2));
    let id = posted["id"].as_u64().unwrap();
    let (status, queued) = http.get(format!("{}/lists/{id}", served.url));
    assert_eq!(status, 200, "{queued}");
    assert_eq!(http.get(format!("{}/thread", served.url)).1["program"], "list");
    // The sender's next list, signed with its key file at the nonce the service names, then
    // changed (one amount raised): refused by its signature, nothing queued.
    let (_, sender) = http.get(format!("{}/senders/{token}/{}", served.url, account(3)));
    let nonce = sender["nonce"].as_u64().unwrap() as u32;
    let key_file = world.data_dir.path().join("keys").join(format!("{}-{token}.json", account(3)));
    let mut wallet = zkthread_sig::Wallet::open(&key_file).unwrap();
    let message = zkthread_sig::TransferListMessage {
        domain: zkthread_sig::domain::transfer_domain(world.client.chain_id(), world.registry.address, Felt::from(thread_id), world.token.address),
        from: zkthread_sig::domain::account_id(world.accounts[3]),
        transfers: vec![zkthread_sig::ListedTransfer { to: zkthread_sig::account_id_wide(world.accounts[0]), amount: 2 }],
        nonce,
        next_key: zkthread_sig::KeyCommitment::NONE,
    };
    let signed = wallet.sign_next(&message).unwrap();
    assert_eq!(signed.key.to_u32().to_vec(), serde_json::from_value::<Vec<u32>>(sender["key"].clone()).unwrap(), "signed under the next key");
    let changed = serde_json::json!({
        "token": token, "from": account(3), "transfers": [{ "to": account(0), "amount": "200" }],
        "nonce": nonce, "key": signed.key.to_u32(), "next_key": signed.message.next_key.to_u32(),
        "signature": signed.signature.to_u32()
    });
    let (status, refused) = http.send(http.client.post(format!("{}/lists", served.url)).json(&changed));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap().starts_with("bad signature"), "{refused}");
    // A list with an item to address 0: refused for that item before its signature is read.
    let mut burning = changed.clone();
    burning["transfers"] = serde_json::json!([{ "to": account(0), "amount": "2" }, { "to": "0x0", "amount": "1" }]);
    let (status, refused) = http.send(http.client.post(format!("{}/lists", served.url)).json(&burning));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap().starts_with("list item 1: receiver 0x0 is not a Starknet account"), "{refused}");
    let settled = http.wait_settled(&served.url, id);
    assert_eq!(settled["sequence"], 1, "{settled}");
    served.kill();
    assert_eq!(world.balances(), [SUPPLY - 5 - 7 - 100 + 1 + 2, 60 - 18 + 3, 40 + 12 - 1, 12 + 6 - 5]);
}

/// Bad arguments are one-line errors with exit 1, and nothing is stored.
#[test]
fn tx_submit_rejects_bad_arguments_in_one_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let submit = |from: &str, to: &str, amount: &str| {
        zkthread()
            .args([
                "tx",
                "submit",
                "--registry",
                "0x123",
                "--thread",
                "1",
                "--token",
                "0x5",
                "--from",
                from,
                "--to",
                to,
                "--amount",
                amount,
            ])
            .env("ZKTHREAD_DATA_DIR", data_dir.path())
            .output()
            .expect("zkthread runs")
    };
    assert_one_line_error(&submit("0x1", "0x2", "0"), "--amount must be above zero");
    let out = zkthread()
        .args(["tx", "submit", "--registry", "0x123", "--thread", "1", "--token", "0x5", "--to", "0x2", "--amount", "5", "--json"])
        .env("ZKTHREAD_DATA_DIR", data_dir.path())
        .output()
        .expect("zkthread runs");
    assert!(check_error("tx submit", &out, 1).starts_with("no sender"));
    assert_one_line_error(&submit("0x1", "0x2", "-3"), "--amount");
    assert_one_line_error(
        &submit("0x1", "0x2", "340282366920938463463374607431768211456"),
        "--amount",
    );
    assert_one_line_error(
        &submit("0xzz", "0x2", "5"),
        "--from: \"0xzz\" is not a felt",
    );
    assert_one_line_error(&submit("0x1", "0x1", "5"), "self-transfer");
    // The field prime plus 4 names no felt: never read as (a transfer to) address 4.
    let past_p = "3618502788666131213697322783095070105623107215331596699973092056135872020485";
    assert_one_line_error(&submit("0x1", past_p, "5"), "--to: \"3618502788666131213697322783095070105623107215331596699973092056135872020485\" is not a felt");
    assert_one_line_error(&submit("0x1", "0x0", "5"), "--to: receiver 0x0 is not a Starknet account address");
    let unpaired = zkthread()
        .args(["tx", "submit", "--registry", "0x123", "--thread", "1", "--token", "0x5", "--from", "0x1"])
        .args(["--to", "0x2", "--to", "0x3", "--amount", "5"])
        .env("ZKTHREAD_DATA_DIR", data_dir.path())
        .output()
        .expect("zkthread runs");
    assert_one_line_error(&unpaired, "--to and --amount pair up, one amount per receiver: 2 --to and 1 --amount given");
    assert!(
        !data_dir.path().join("zkthread.redb").exists(),
        "a refused transfer creates no database"
    );
    // Valid fields but no key file to sign with: one line naming `key new`, nothing stored.
    assert_one_line_error(&submit("0x1", "0x2", "5"), "zkthread key new");
    assert!(!data_dir.path().join("zkthread.redb").exists());

    // prove with nothing batched: nothing to do (exit 0), pointing at `batch`.
    let out = zkthread()
        .args(["prove", "--registry", "0x123", "--thread", "1"])
        .env("ZKTHREAD_DATA_DIR", data_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("nothing to do for thread 1:")
            && said.contains("run `zkthread batch --thread 1` first"),
        "{said}"
    );
    // The same under --json: the documented nothing-to-do document, exit 0.
    let out = zkthread()
        .args(["prove", "--registry", "0x123", "--thread", "1", "--json"])
        .env("ZKTHREAD_DATA_DIR", data_dir.path())
        .output()
        .unwrap();
    let idle = json(&out);
    check("prove", &idle);
    assert_eq!(idle["status"], "nothing to do");
    // `--fast` with no messages here: nothing to prove either way (not a refusal).
    let out = zkthread()
        .args(["prove", "--registry", "0x123", "--thread", "1", "--fast"])
        .env("ZKTHREAD_DATA_DIR", data_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// What a client holding the batcher's published sub-block does: recompute the transaction
/// list's commitment from the published transfers alone (`zkthread_sig`, no store, no prover)
/// and compare it with the `SubBlockSettledSummary` the registry emitted in the settle
/// transaction; then check that a list with one transfer dropped or two swapped would not
/// have matched.
fn assert_published_transactions_match_the_chain(world: &World, shown: &Value, settle_tx: Felt) {
    use zkthread_client::registry::sub_block_settled_summary;
    use zkthread_sig::wots::{KeyCommitment, TransferMessage};
    use zkthread_sig::{account_id, transfer_digest, transfer_domain, Signature, TxListCommitment, M31};
    let words = |v: &Value| -> Vec<u32> { v.as_array().unwrap().iter().map(|w| w.as_u64().unwrap() as u32).collect() };
    let key = |v: &Value| KeyCommitment::from_u32(words(v).try_into().unwrap()).unwrap();
    let digests: Vec<_> = shown["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let message = TransferMessage {
                domain: transfer_domain(
                    felt(&shown["chain_id"]),
                    world.registry.address,
                    Felt::from(world.thread_id),
                    felt(&t["token"]),
                ),
                from: account_id(felt(&t["from"])),
                to: zkthread_sig::account_id_wide(felt(&t["to"])),
                amount: t["amount"].as_str().unwrap().parse().unwrap(),
                nonce: t["nonce"].as_u64().unwrap() as u32,
                next_key: key(&t["next_key"]),
            };
            let rho: [u32; 3] = words(&t["rho"]).try_into().unwrap();
            let signature = Signature { rho: M31::array_from_u32(rho).unwrap(), pp: [M31::ZERO; 4], chains: [[M31::ZERO; 4]; 64] };
            transfer_digest(&key(&t["key"]), &message, &signature).unwrap()
        })
        .collect();
    let recomputed = TxListCommitment::of(&digests);
    assert_eq!(recomputed.count as u64, shown["transactions"]["count"].as_u64().unwrap());
    assert_eq!(recomputed.cap_felt(), felt(&shown["transactions"]["commitment"]));
    let outcome = world.runtime.block_on(world.client.wait_for_receipt(settle_tx)).expect("the settle receipt");
    let summary = sub_block_settled_summary(world.registry.address, &outcome.events).expect("the summary event");
    assert_eq!(summary.transactions.count, recomputed.count);
    assert_eq!(summary.transactions.commitment, recomputed.cap_felt(), "published list = settled list");
    // A batcher that published the list with one transfer left out, or reordered, is caught.
    assert!(digests.len() >= 2, "the loop settles several transfers");
    assert_ne!(TxListCommitment::of(&digests[1..]).cap_felt(), summary.transactions.commitment);
    let mut swapped = digests.clone();
    swapped.swap(0, 1);
    assert_ne!(TxListCommitment::of(&swapped).cap_felt(), summary.transactions.commitment);
}

