//! `zkthread serve` as wallets meet it: a child process on an embedded devnet, fed over HTTP by
//! `zkthread tx submit --server` and by clients signing in this process (four at once). Bad
//! input is refused with a 4xx and its reason and changes nothing; accepted transfers settle
//! and balances follow a reference model; the service is stopped right after broadcasting a settle (test-only
//! crash point) and killed with SIGKILL while proving, and each restart finishes the job with
//! every transfer applied exactly once; the node is cut off for a while (admission answers 503,
//! the pipeline shows its error and retries) and the transfer settles once it is back. The status page, rendered by headless Chromium, shows
//! the settled sub-blocks; the example clients (starknet.js, starknet-py) follow the same
//! settlements from the registry's events. The example wallets in both languages (signing with
//! zkthread-sig built for WebAssembly) enrol two fresh accounts, post a transfer each into the
//! four-client sub-block and wait for it to settle; the Rust keystore reads their key files. On
//! a thread of the list program over the same token each wallet signs one list of two
//! transfers, which wait queued (`GET /senders` counts them), then one of one transfer, and all
//! four lists settle in one sub-block (a settled list posted again is answered 200 as the one
//! stored, a duplicate, and queues nothing); before it spends a key index a wallet refuses a list
//! that would pass the service's queue caps (1,024 queued transfers; 64 queued messages, which
//! a test double in front of the service reports, for `tx submit --server` too), and on the
//! signed thread a list. Posts that go wrong (a double that loses an answer or answers 503):
//! `tx submit --server` and both wallets keep the signed request, refuse to sign again while it
//! is kept, and post it again with `resend`; a copy the service already holds is refused by
//! nonce and set aside.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use serde_json::{json as body, Value};
use zkthread_client::Felt;
use zkthread_sig::Wallet;

mod common;
use common::json;
use common::shape::{check, check_error};
use common::served::{request, sign_here, submit_via_cli, Http, Served};
use common::world::{World, SUPPLY};

#[test]
fn the_service_settles_posted_transfers_refuses_bad_ones_and_survives_kills() {
    let world = World::deploy_with_spares(2);
    let http = Http {
        world: &world,
        client: reqwest::Client::new(),
    };
    let served = Served::start(&world, 3, None);
    let url = served.url.clone();
    assert_eq!(http.get(format!("{url}/health")), (200, body!({ "status": "ok" })));

    // A valid transfer from account 0, signed here, to tamper with before it is sent.
    let valid = sign_here(&world, &http, &url, 0, 1, 100);
    let tampered = |edit: &dyn Fn(&mut Value)| {
        let mut value = request(&valid);
        edit(&mut value);
        value
    };
    http.refused(&url, http.post_raw(&url, b"{\"token\": ".to_vec()), 400, "");
    http.refused(&url, http.post_raw(&url, vec![b' '; 100_000]), 413, "over the service's 65536 bytes (length limit exceeded)");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "101".into())), 422, "bad signature");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "0".into())), 422, "above zero");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "340282366920938463463374607431768211456".into())), 400, "below 2^128");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["token"] = "0x1234".into())), 422, "not in the thread's contract set");
    // A key or nonce changed after signing breaks the signature, which is checked before the
    // sender's state is read from the node (a forged post costs no chain read); a validly
    // signed stale nonce is refused by nonce (the replay below).
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["key"] = v["next_key"].clone())), 422, "bad signature");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["nonce"] = 7.into())), 422, "bad signature");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["to"] = "0xnope".into())), 400, "to:");
    // A receiver no account can be is refused for that, before its (now broken) signature.
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["to"] = "0x0".into())), 422, "receiver 0x0 is not a Starknet account address");
    let past = "0x800000000000000000000000000000000000000000000000000000000000000";
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["to"] = past.into())), 422, "not below 2^251");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["extra"] = 1.into())), 422, "extra");
    http.refused(&url, http.get(format!("{url}/transfers/999999")), 404, "no transfer 999999");
    http.refused(&url, http.get(format!("{url}/transfers/abc")), 400, "not a number");
    // axum's own refusals answer JSON too: an undecodable path, no route, a wrong method.
    http.refused(&url, http.get(format!("{url}/transfers/%FF")), 400, "");
    http.refused(&url, http.get(format!("{url}/nope")), 404, "no route GET /nope");
    http.refused(&url, http.send(http.client.post(format!("{url}/health"))), 405, "does not take that method");
    // A sender's view in a token outside the thread (here no contract at all) is refused as
    // such, not answered as the node failing.
    let stranger = format!("{url}/senders/0x1234/{:#x}", world.accounts[0]);
    http.refused(&url, http.get(stranger), 422, "token 0x1234 is not in the thread's contract set");

    // Accepted: the valid one; posted again while it is queued, it is answered as the message
    // stored (200, a duplicate: a wallet whose first answer was lost); two more through the CLI.
    let (status, accepted) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 202, "{accepted}");
    // Counted in the write that stored it: no batcher can have taken it yet.
    assert_eq!(accepted["pending"], 1, "{accepted}");
    assert_eq!(accepted.get("duplicate"), None, "{accepted}");
    let first = accepted["id"].as_u64().unwrap();
    let (status, again) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 200, "{again}");
    assert_eq!((again["id"].as_u64(), &again["duplicate"], again["pending"].as_u64()), (Some(first), &Value::Bool(true), Some(1)), "{again}");
    let (second, third) = (first + 1, first + 2);
    posts_that_go_wrong_are_kept_and_resent(&world, &http, &url, (second, third));
    // While that sub-block is proven and settled, the example wallets (examples/: starknet.js
    // and starknet-py, signing with zkthread-sig built for WebAssembly) enrol two fresh
    // accounts: each creates its key file and registers its key from its own account (their
    // own key slots: nothing the sub-block reads).
    let wallets = ExampleWallet::both(&world);
    std::thread::scope(|scope| {
        for wallet in &wallets {
            let world = &world;
            scope.spawn(move || wallet.enrol(world));
        }
        for id in [first, second, third] {
            let settled = http.wait_settled(&url, id);
            assert_eq!(settled["sequence"], 0, "{settled}");
        }
    });
    let mut expected = [SUPPLY - 157, 100, 50, 7];
    assert_eq!(world.balances(), expected);
    // Settled (its nonce spent on chain), the same post is still answered as that message: a
    // wallet whose answer was lost hears it settled, not refused as a replay.
    let (status, again) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 200, "{again}");
    assert_eq!((again["id"].as_u64(), &again["duplicate"], again["status"].as_str()), (Some(first), &Value::Bool(true), Some("settled")), "{again}");
    let (_, thread) = http.get(format!("{url}/thread"));
    assert_eq!(thread["pending"], 0, "{thread}");
    assert_eq!(thread["settled_sub_blocks"], 1, "{thread}");
    // No stale revert here: the cheaper entry point, no early-check window.
    assert_eq!((&thread["settle_entry"], &thread["inputs_first_left"]), (&Value::from("settle"), &Value::Null), "{thread}");
    assert_eq!(thread["sub_blocks"][0]["transfers"], 3, "{thread}");
    assert!(thread["sub_blocks"][0]["tx_hash"].is_string(), "{thread}");
    // Settled by its own send: the fee the service's account paid is recorded.
    assert!(thread["sub_blocks"][0]["fee_fri"].as_str().and_then(|f| f.parse::<u128>().ok()).is_some_and(|f| f > 0), "{thread}");
    served.kill();

    // The example wallets' accounts get tokens from account #0 (while no service settles from it).
    for wallet in &wallets {
        world.direct_transfer_to(wallet.address, FUNDED);
    }
    expected[0] -= FUNDED * wallets.len() as u128;

    // Four clients at once, each posting three transfers signed in its own thread, and the two
    // example wallets posting one each (`--wait`: they return once it settled): every one is
    // accepted (admissions are serialized per thread) and settles in one sub-block, once.
    let served = Served::start(&world, 12 + wallets.len() as u32, None);
    let url = served.url.clone();
    // Each client can pay its three transfers from its own balance (trader 3 holds 7), so no
    // admission depends on how the four clients interleave: a receipt from a neighbour is
    // never needed (CI once admitted trader 3's 4s before trader 2's 3s and refused one).
    let amount = |i: usize| 4 - i as u128;
    let (ids, by_wallets): (Vec<u64>, Vec<Value>) = std::thread::scope(|scope| {
        let posted: Vec<_> = wallets
            .iter()
            .map(|wallet| {
                let (world, url) = (&world, &url);
                scope.spawn(move || wallet.submit(world, url))
            })
            .collect();
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let (world, http, url) = (&world, &http, &url);
                scope.spawn(move || {
                    (0..3)
                        .map(|_| {
                            let tx = sign_here(world, http, url, i, (i + 1) % 4, amount(i));
                            let (status, answer) = http.post_json(url, &request(&tx));
                            assert_eq!(status, 202, "client {i}: {answer}");
                            answer["id"].as_u64().unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let ids = clients.into_iter().flat_map(|c| c.join().expect("a client")).collect();
        (ids, posted.into_iter().map(|p| p.join().expect("an example wallet")).collect())
    });
    for i in 0..4 {
        expected[i] -= 3 * amount(i);
        expected[(i + 1) % 4] += 3 * amount(i);
    }
    let settled: Vec<Value> = ids.iter().map(|id| http.wait_settled(&url, *id)).collect();
    for settled in &settled {
        assert_eq!(settled["sequence"], 1, "{settled}");
    }
    for (wallet, report) in wallets.iter().zip(&by_wallets) {
        assert_eq!(report["status"], "settled", "{}: {report}", wallet.language);
        assert_eq!(report["sequence"], 1, "{}: {report}", wallet.language);
        assert_eq!(report["tx_hash"], settled[0]["tx_hash"], "{}: {report}", wallet.language);
        assert_eq!(report["key_index"], 0, "{}: {report}", wallet.language);
        assert_eq!(http.get(format!("{url}/transfers/{}", report["id"])).1["status"], "settled");
        expected[wallet.to] += wallet.amount;
    }
    assert_eq!(world.balances(), expected);
    let addresses: Vec<Felt> = wallets.iter().map(|w| w.address).collect();
    let left: Vec<u128> = wallets.iter().map(|w| FUNDED - w.amount).collect();
    assert_eq!(world.balances_of(&addresses), left);
    // Their key files are the Rust keystore's: it opens them at the next index, whose key is
    // the one the settled transfer rotated the sender's slot to.
    for wallet in &wallets {
        let opened = Wallet::open(&wallet.key_file).unwrap_or_else(|e| panic!("{}: {e}", wallet.language));
        assert_eq!(opened.next_index(), 1, "{}", wallet.language);
        let token = world.token.address;
        let (_, slot) = http.get(format!("{url}/senders/{token:#x}/{:#x}", wallet.address));
        assert_eq!((slot["queued"].as_u64(), slot["queued_transfers"].as_u64()), (Some(0), Some(0)), "{slot}");
        assert_eq!(slot["key"], body!(opened.current_commitment().unwrap().to_u32()), "{}", wallet.language);
    }
    served.kill();

    // A thread of the list program over the same token (the same key slots): each wallet signs
    // one list of two transfers and then one of one, each with its key file's next index, and
    // posts them to `POST /lists`; all four settle in one sub-block (six transfers batch).
    let token = format!("{:#x}", world.token.address);
    let created = json(&world.cli(&["thread", "create", "--program", "list", "--contract", &token, "--json"]));
    let list_thread = created["thread"]["thread_id"].as_u64().unwrap();
    let served = Served::start_on(&world, list_thread, (6, 600), None, None);
    let pays = |wallet: &ExampleWallet| -> [(usize, u128); 2] {
        let first = if wallet.language == "javascript" { 0 } else { 2 };
        [(first, 10 + first as u128), (first + 1, 11 + first as u128)]
    };
    let to_traders = |pays: [(usize, u128); 2]| pays.map(|(to, amount)| (world.accounts[to], amount));
    // A list no settlement carries (146 receivers: 148 slots) is refused by both before a key
    // index is spent, with the same line.
    let wide: Vec<(Felt, u128)> = (0..146u64).map(|i| (Felt::from(0x5000 + i), 1)).collect();
    let refusals: Vec<String> =
        wallets.iter().map(|w| w.run_refused(&w.submit_args(&world, &served.url, list_thread, &wide))).collect();
    assert!(refusals[0].contains("146 accounts: 148 slots, and one settlement carries at most 147"), "{}", refusals[0]);
    assert_eq!(refusals[0], refusals[1], "the two wallets disagree");
    // So is one longer than the service queues from one sender (1,025 transfers to one
    // receiver: few slots, a small body), which no settlement makes room for; the CLI's
    // `tx submit --server` refuses it with the same line, its key file untouched.
    let long = vec![(Felt::from(0x5000_u64), 1); 1_025];
    let split_it = "a list of 1025 transfers is longer than one sender may have queued here (at most 1024): split it";
    let line = refused_by_both(&wallets, &world, (&served.url, list_thread), &long, split_it);
    refused_by_cli(&world, (&served.url, list_thread), &long, &line);
    // And one with an amount a list cannot carry (2^120: four 30-bit elements), the same line
    // as the service's refusal.
    let huge = [(world.accounts[2], 1), (world.accounts[3], 1_u128 << 120)];
    let too_large = format!("list item 1: amount {} is 2^120 or more, which a list cannot carry: send it as a single transfer", 1_u128 << 120);
    let line = refused_by_both(&wallets, &world, (&served.url, list_thread), &huge, &too_large);
    refused_by_cli(&world, (&served.url, list_thread), &huge, &line);
    for wallet in &wallets {
        assert_eq!(Wallet::open(&wallet.key_file).unwrap().next_index(), 1, "{}: no index spent", wallet.language);
    }
    // The first lists wait (four transfers of six): each sender has one message and two
    // transfers queued, and a list that would take it past 1,024 queued transfers is refused
    // by both wallets before a key index is spent, with the service's line.
    let queued: Vec<Value> = wallets
        .iter()
        .map(|wallet| {
            let mut args = wallet.submit_args(&world, &served.url, list_thread, &to_traders(pays(wallet)));
            args.retain(|a| a != "--wait");
            wallet.run(&args)
        })
        .collect();
    for (wallet, report) in wallets.iter().zip(&queued) {
        assert_eq!((report["status"].as_str(), report["key_index"].as_u64()), (Some("pending"), Some(1)), "{report}");
        let (_, slot) = http.get(format!("{}/senders/{token}/{:#x}", served.url, wallet.address));
        assert_eq!((slot["queued"].as_u64(), slot["queued_transfers"].as_u64()), (Some(1), Some(2)), "{slot}");
    }
    let past_cap = vec![(Felt::from(0x5000_u64), 1); 1_023];
    let would_pass = "already has 2 transfers queued here in lists; with these 1023 it would pass 1024";
    refused_by_both(&wallets, &world, (&served.url, list_thread), &past_cap, would_pass);
    // A service whose sender queue is full (64 messages; a test double in front of the real
    // one says so): both wallets and `tx submit --server` refuse before signing, with its line.
    let busy = ServiceDouble::start(&served.url, Acting::FullQueue);
    let one = [(world.accounts[2], 1_u128)];
    let queue_full = "already has 64 transfers queued here (at most 64): post again after the next settlement";
    let line = refused_by_both(&wallets, &world, (&busy.url, list_thread), &one, queue_full);
    refused_by_cli(&world, (&busy.url, list_thread), &one, &line);
    for wallet in &wallets {
        assert_eq!(Wallet::open(&wallet.key_file).unwrap().next_index(), 2, "{}: no index spent", wallet.language);
    }
    // A list of one more transfer each fills the sub-block; it settles with the first.
    let more = |wallet: &ExampleWallet| (wallet.to, 1_u128);
    let by_wallets: Vec<Value> = std::thread::scope(|scope| {
        let posted: Vec<_> = wallets
            .iter()
            .map(|wallet| {
                let (world, url) = (&world, &served.url);
                let (to, amount) = more(wallet);
                scope.spawn(move || wallet.run(&wallet.submit_args(world, url, list_thread, &[(world.accounts[to], amount)])))
            })
            .collect();
        posted.into_iter().map(|p| p.join().expect("an example wallet")).collect()
    });
    for ((wallet, report), first) in wallets.iter().zip(&by_wallets).zip(&queued) {
        let what = format!("{}: {report}", wallet.language);
        assert_eq!((report["status"].as_str(), report["program"].as_str()), (Some("settled"), Some("list")), "{what}");
        assert_eq!((report["sequence"].as_u64(), report["key_index"].as_u64()), (Some(0), Some(2)), "{what}");
        assert_eq!(report["tx_hash"], by_wallets[0]["tx_hash"], "one sub-block: {what}");
        assert_eq!(report["transfers"].as_array().map(Vec::len), Some(1), "{what}");
        assert_eq!(first["transfers"].as_array().map(Vec::len), Some(2), "{first}");
        assert!(report.get("to").is_none(), "{what}");
        let (_, first) = http.get(format!("{}/lists/{}", served.url, first["id"]));
        assert_eq!((first["status"].as_str(), &first["tx_hash"]), (Some("settled"), &report["tx_hash"]), "{first}");
        for (to, amount) in pays(wallet).into_iter().chain([more(wallet)]) {
            expected[to] += amount;
        }
    }
    // Each wallet's first list, settled, posted again as the wallet posted it (its request,
    // set aside once accepted until a later submit sees the nonce spent): answered 200 as the
    // message stored, settled, and nothing queued. Without the settled look-up it would be
    // refused (422) as a replay of a spent nonce; without the duplicate check, queued again.
    for (wallet, first) in wallets.iter().zip(&queued) {
        let what = format!("{}: {first}", wallet.language);
        let aside = format!("{}.accepted-{}.json", wallet.key_file.display(), first["nonce"]);
        let kept: Value = serde_json::from_slice(&std::fs::read(&aside).unwrap_or_else(|e| panic!("{aside}: {e}"))).expect("JSON");
        assert_eq!(kept["route"], "/lists", "{what}: {kept}");
        let body = serde_json::to_vec(&kept["request"]).unwrap();
        let post = http.client.post(format!("{}/lists", served.url)).header("content-type", "application/json").body(body);
        let (status, again) = http.send(post);
        assert_eq!(status, 200, "{what}: {again}");
        let answer = (again["id"].as_u64(), &again["duplicate"], again["status"].as_str(), again["pending"].as_u64());
        assert_eq!(answer, (first["id"].as_u64(), &Value::Bool(true), Some("settled"), Some(0)), "{what}: {again}");
        let (_, slot) = http.get(format!("{}/senders/{token}/{:#x}", served.url, wallet.address));
        assert_eq!((slot["queued"].as_u64(), slot["queued_transfers"].as_u64()), (Some(0), Some(0)), "{what}: {slot}");
    }
    let (_, thread) = http.get(format!("{}/thread", served.url));
    assert_eq!((thread["pending"].as_u64(), thread["settled_sub_blocks"].as_u64()), (Some(0), Some(1)), "{thread}");
    wallets_keep_and_resend(&wallets, &world, &http, (&served.url, list_thread));
    served.kill();
    assert_eq!(world.balances(), expected);
    let paid = |w: &ExampleWallet| pays(w).iter().map(|(_, a)| a).sum::<u128>() + more(w).1;
    let left: Vec<u128> = wallets.iter().zip(&left).map(|(w, left)| left - paid(w)).collect();
    assert_eq!(world.balances_of(&addresses), left);
    for wallet in &wallets {
        assert_eq!(Wallet::open(&wallet.key_file).unwrap().next_index(), 4, "{}", wallet.language);
    }

    // Stopped right after broadcasting a settle: the restart finds it settled, sends nothing.
    let mut crashing = Served::start(&world, 1, Some("after-send"));
    // Two pairs for a thread of the signed program: refused by both before a key index is
    // spent, with the same line.
    let two = [(world.accounts[0], 1), (world.accounts[1], 1)];
    let refusals: Vec<String> =
        wallets.iter().map(|w| w.run_refused(&w.submit_args(&world, &crashing.url, world.thread_id, &two))).collect();
    assert!(refusals[0].contains("runs the signed program (one transfer per signature)"), "{}", refusals[0]);
    assert_eq!(refusals[0], refusals[1], "the two wallets disagree");
    for wallet in &wallets {
        assert_eq!(Wallet::open(&wallet.key_file).unwrap().next_index(), 4, "{}: no index spent", wallet.language);
    }
    let fourth = submit_via_cli(&world, &crashing.url, 1, 2, 30);
    let exited = crashing.child.wait().expect("serve exits");
    assert_eq!(exited.signal(), Some(6), "serve should abort after sending: {exited:?}");
    let served = Served::start(&world, 1, None);
    let url = served.url.clone();
    let settled = http.wait_settled(&url, fourth);
    assert_eq!(settled["sequence"], 2, "{settled}");
    expected[1] -= 30;
    expected[2] += 30;
    assert_eq!(world.balances(), expected);

    // Killed while proving: the restart proves again and settles once.
    let fifth = submit_via_cli(&world, &url, 2, 3, 5);
    http.wait_for(&url, fifth, |v| v["sub_block_status"] == "built");
    served.kill();
    let served = Served::start(&world, 1, None);
    let settled = http.wait_settled(&served.url, fifth);
    assert_eq!(settled["sequence"], 3, "{settled}");
    expected[2] -= 5;
    expected[3] += 5;
    assert_eq!(world.balances(), expected);
    let (_, thread) = http.get(format!("{}/thread", served.url));
    assert_eq!(thread["settled_sub_blocks"], 4, "{thread}");
    assert_eq!(thread["pending"], 0, "{thread}");

    // The node unreachable for a while: admission answers 503 and stores nothing, the pipeline
    // fails its step, shows the error and retries; once the node is back the transfer settles.
    served.kill();
    let proxy = NodeProxy::start(world.devnet.as_ref().unwrap().url().as_str());
    let served = Served::start_with(&world, 100, 2, None, Some(&proxy.url));
    let url = served.url.clone();
    let sixth = submit_via_cli(&world, &url, 3, 1, 2);
    proxy.set_up(false);
    // Any transfer: the service cannot read the sender's key slot to check it (the contract set
    // it read for the previous transfer is still cached).
    let (status, answer) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 503, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("key slot"), "{answer}");
    let began = Instant::now();
    let failing = loop {
        let (_, thread) = http.get(format!("{url}/thread"));
        if thread["last_error"].is_string() {
            break thread;
        }
        assert!(began.elapsed() < Duration::from_secs(60), "the pipeline never failed: {thread}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(failing["pending"], 1, "{failing}");
    std::thread::sleep(Duration::from_secs(2));
    proxy.set_up(true);
    let settled = http.wait_settled(&url, sixth);
    assert_eq!(settled["sequence"], 4, "{settled}");
    expected[3] -= 2;
    expected[1] += 2;
    assert_eq!(world.balances(), expected);
    let (_, thread) = http.get(format!("{url}/thread"));
    assert_eq!(thread["last_error"], Value::Null, "{thread}");
    assert_eq!(thread["settled_sub_blocks"], 5, "{thread}");

    // Clients in other languages follow the same settlements from events alone
    // (examples/: starknet.js and starknet-py, pinned; scripts/setup-examples.sh installs them).
    let followed = follow_with_examples(&world);
    assert_eq!(followed["next_sequence"], 5, "{followed}");
    let settlements = followed["settlements"].as_array().expect("settlements");
    let on_page: Vec<&Value> = thread["sub_blocks"].as_array().unwrap().iter().rev().collect();
    assert_eq!(settlements.len(), on_page.len(), "{followed}");
    for (settlement, served) in settlements.iter().zip(&on_page) {
        assert_eq!(settlement["sequence"], served["sequence"], "{settlement}");
        assert_eq!(settlement["tx_hash"], served["tx_hash"], "{settlement}");
        assert_eq!(settlement["n_outputs"], served["slots"], "{settlement}");
        // The transaction list the chain published is the one the batcher serves.
        assert_eq!(settlement["n_transactions"], served["transfers"], "{settlement}");
        assert_eq!(settlement["transactions_commitment"], served["transactions_commitment"], "{settlement}");
    }
    let now: Vec<String> = expected.iter().map(u128::to_string).collect();
    let reported: Vec<String> = world
        .accounts
        .iter()
        .map(|a| followed["balances_now"][format!("{a:#x}")].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(reported, now, "{followed}");

    // A person watching the thread sees the same: the page, rendered by a browser.
    let page = rendered_page(&served.url);
    assert!(page.contains(&format!("zkThread {}", world.thread_id)), "{page}");
    assert!(page.contains(r#"<dd id="settled">5</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="pending">0</dd>"#), "{page}");
    assert!(page.contains(r#"<code id="settle-entry">settle</code>"#), "{page}");
    for sub_block in thread["sub_blocks"].as_array().unwrap() {
        let tx = sub_block["tx_hash"].as_str().unwrap();
        assert!(page.contains(tx), "{tx} not on the page: {page}");
    }
}

/// What each example wallet starts with (from account #0).
const FUNDED: u128 = 1_000;

/// An example wallet (examples/javascript/submit-transfer.mjs or
/// examples/python/submit_transfer.py) on one of the world's spare accounts.
struct ExampleWallet {
    language: &'static str,
    program: std::path::PathBuf,
    script: std::path::PathBuf,
    key_file: std::path::PathBuf,
    address: Felt,
    private_key: Felt,
    /// Its transfer: to trader `to`, `amount`.
    to: usize,
    amount: u128,
}

impl ExampleWallet {
    /// The JavaScript wallet on spare account 0 (paying trader 2), the Python one on spare
    /// account 1 (paying trader 3).
    fn both(world: &World) -> [ExampleWallet; 2] {
        let examples = examples_dir();
        let keys = world.data_dir.path().join("example-keys");
        let wallet = |language, program, script: &str, spare: usize, to, amount| {
            let (address, private_key) = world.spares[spare];
            ExampleWallet {
                language,
                program,
                script: examples.join(script),
                key_file: keys.join(format!("{language}.json")),
                address,
                private_key,
                to,
                amount,
            }
        };
        [
            wallet("javascript", "node".into(), "javascript/submit-transfer.mjs", 0, 2, 40),
            wallet("python", examples.join("python/.venv/bin/python"), "python/submit_transfer.py", 1, 3, 60),
        ]
    }

    /// Runs the wallet; its one JSON document (it must succeed).
    fn run(&self, args: &[String]) -> Value {
        let out = std::process::Command::new(&self.program)
            .arg(&self.script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{} runs (scripts/setup-examples.sh installs it): {e}", self.program.display()));
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            self.language,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON document")
    }

    fn node(&self, world: &World) -> Vec<String> {
        let url = world.devnet.as_ref().unwrap().url().to_string();
        vec!["--rpc-url".into(), url, "--account-address".into(), format!("{:#x}", self.address)]
    }

    /// Checks its signer against the committed vectors, creates a key file, registers its key.
    fn enrol(&self, world: &World) {
        assert_eq!(self.run(&["--self-check".into()])["self_check"], "ok", "{}", self.language);
        let key_file = self.key_file.display().to_string();
        let created = self.run(&["key-new".into(), "--key-file".into(), key_file.clone()]);
        assert_eq!(created["next_index"], 0, "{created}");
        let mut register = vec!["key-register".into(), "--key-file".into(), key_file, "--token".into()];
        register.push(format!("{:#x}", world.token.address));
        register.extend(self.node(world));
        register.extend(["--private-key".into(), format!("{:#x}", self.private_key)]);
        let registered = self.run(&register);
        assert_eq!(registered["commitment"], created["commitment"], "{registered}");
        assert_eq!(registered["registered_in"], format!("{:#x}", world.token.address));
        // The Rust keystore reads the file and derives the same key.
        let opened = Wallet::open(&self.key_file).unwrap_or_else(|e| panic!("{}: {e}", self.language));
        let packed = zkthread_sig::pack_key_slot(&opened.current_commitment().unwrap(), 0).unwrap();
        assert_eq!(created["commitment"], format!("{packed:#x}"), "{}", self.language);
    }

    /// Runs the wallet expecting a refusal: exit 1 and its one-line error (stdout's JSON and
    /// stderr say the same).
    fn run_refused(&self, args: &[String]) -> String {
        let out = std::process::Command::new(&self.program).arg(&self.script).args(args).output().expect("the wallet runs");
        assert_eq!(out.status.code(), Some(1), "{}: {}", self.language, String::from_utf8_lossy(&out.stdout));
        let error: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        let error = error["error"].as_str().expect("an error").to_owned();
        assert!(String::from_utf8_lossy(&out.stderr).contains(&error), "{}", self.language);
        error
    }

    /// Signs and posts its transfer to the service, waiting until it settled.
    fn submit(&self, world: &World, url: &str) -> Value {
        self.run(&self.submit_args(world, url, world.thread_id, &[(world.accounts[self.to], self.amount)]))
    }

    /// `submit --wait` of `pays` (receiver, amount) to thread `thread_id` served at `url`: one
    /// transfer on a thread of the signed program, one list on a thread of the list program.
    fn submit_args(&self, world: &World, url: &str, thread_id: u64, pays: &[(Felt, u128)]) -> Vec<String> {
        let mut args: Vec<String> = vec!["submit".into(), "--key-file".into(), self.key_file.display().to_string()];
        args.extend(["--server".into(), url.into(), "--registry".into(), format!("{:#x}", world.registry.address)]);
        args.extend(["--thread".into(), thread_id.to_string()]);
        args.extend(["--token".into(), format!("{:#x}", world.token.address)]);
        for (to, amount) in pays {
            args.extend(["--to".into(), format!("{to:#x}"), "--amount".into(), amount.to_string()]);
        }
        args.push("--wait".into());
        args.extend(self.node(world));
        args
    }
}

/// Two transfers through `tx submit --server` whose posts go wrong (a [`ServiceDouble`] in front
/// of the service at `url`), which the service must end up holding once each, as messages
/// `ids`: the first is stored but its answer lost, the second answered 503. Each time the CLI
/// keeps the signed request (its key index is spent) and names `tx resend`; a new `tx submit`
/// is refused before signing while one is kept; `tx resend` finds the first stored (the service
/// answers its second copy as that message: set aside in `unsent/accepted/`) and delivers the
/// second.
fn posts_that_go_wrong_are_kept_and_resent(world: &World, http: &Http, url: &str, ids: (u64, u64)) {
    let flaky = ServiceDouble::start(url, Acting::FlakyPosts);
    let key_file = world.data_dir.path().join("keys").join(format!("{:#x}-{:#x}.json", world.accounts[0], world.token.address));
    let index = || Wallet::open(&key_file).unwrap().next_index();
    let unsent = world.data_dir.path().join("unsent");
    let json_files = |dir: &std::path::Path| {
        std::fs::read_dir(dir).map_or(0, |files| files.flatten().filter(|f| f.path().extension().is_some_and(|e| e == "json")).count())
    };
    let kept = || json_files(&unsent);
    let submit = |to: usize, amount: u128, server: &str| {
        let mut args = world.submit_args(0, to, amount);
        args.extend(["--server".to_owned(), server.to_owned()]);
        world.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let resend = |server: Option<&str>| {
        let mut args = vec!["tx", "resend", "--json"];
        args.extend(server.map(|s| ["--server", s]).into_iter().flatten());
        world.cli(&args)
    };
    let before = index();
    let lost = check_error("tx submit", &submit(2, 50, &flaky.url), 1);
    assert!(lost.contains("may be queued") && lost.contains("kept in") && lost.contains("zkthread tx resend"), "{lost}");
    assert_eq!((index(), kept()), (before + 1, 1), "one index spent, the request kept");
    let blocked = check_error("tx submit", &submit(3, 7, url), 1);
    assert!(blocked.contains("run `zkthread tx resend` first"), "{blocked}");
    assert_eq!(index(), before + 1, "nothing signed while a request is kept");
    // Its first post was stored: the service answers the copy as that message (a duplicate),
    // and the request is set aside as accepted, not refused as a replay.
    let accepted_before = json_files(&unsent.join("accepted"));
    let out = resend(Some(url));
    let report = json(&out);
    check("tx resend", &report);
    assert!(out.status.success(), "{report}");
    let resent = &report["resent"][0];
    assert_eq!((resent["outcome"].as_str(), report["resent"].as_array().unwrap().len()), (Some("accepted"), 1), "{report}");
    assert_eq!(resent["id"].as_u64(), Some(ids.0), "the message stored by the lost post: {report}");
    assert_eq!((kept(), json_files(&unsent.join("accepted"))), (0, accepted_before + 1), "set aside, not deleted");
    let (status, stored) = http.get(format!("{url}/transfers/{}", ids.0));
    assert_eq!(status, 200, "the post whose answer was lost is stored: {stored}");
    let dropped_nonce = resent["nonce"].as_u64().unwrap();
    // The next transfer meets a 503: kept; `tx resend` to the same double keeps it (exit 1,
    // the report carrying the error), then to the service itself it is accepted.
    let unavailable = check_error("tx submit", &submit(3, 7, &flaky.url), 1);
    assert!(unavailable.contains("503") && unavailable.contains("kept in"), "{unavailable}");
    let out = resend(None);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    check("tx resend", &report);
    assert_eq!((report["resent"][0]["outcome"].as_str(), report["resent"][0]["nonce"].as_u64()), (Some("kept"), Some(dropped_nonce + 1)), "{report}");
    assert!(report["error"].as_str().unwrap().contains("1 signed request(s) still kept"), "{report}");
    let report = json(&resend(Some(url)));
    check("tx resend", &report);
    let resent = &report["resent"][0];
    assert_eq!((resent["outcome"].as_str(), resent["id"].as_u64(), resent["nonce"].as_u64()), (Some("accepted"), Some(ids.1), Some(dropped_nonce + 1)), "{report}");
    assert_eq!((kept(), index()), (0, before + 2));
    assert_eq!(json_files(&unsent.join("accepted")), accepted_before + 2, "set aside as accepted, not deleted");
    let report = json(&resend(None));
    assert_eq!(report["resent"], body!([]), "{report}");
}

/// Each example wallet posts a list through a [`ServiceDouble`] that answers every POST 503: it
/// keeps the signed list beside its key file and says so, refuses to sign anything new while it
/// is kept, and `resend` to the service at `url` (thread `thread_id`) stores it (left pending:
/// one transfer each does not close a sub-block of six before the service stops).
fn wallets_keep_and_resend(wallets: &[ExampleWallet; 2], world: &World, http: &Http, (url, thread_id): (&str, u64)) {
    let down = ServiceDouble::start(url, Acting::UnavailablePosts);
    let mut lines = Vec::new();
    for wallet in wallets {
        let pays = [(world.accounts[wallet.to], 1_u128)];
        let submit = |server: &str| {
            let mut args = wallet.submit_args(world, server, thread_id, &pays);
            args.retain(|a| a != "--wait");
            wallet.run_refused(&args)
        };
        let kept = std::path::PathBuf::from(format!("{}.unsent.json", wallet.key_file.display()));
        let what = wallet.language;
        let lost = submit(&down.url);
        assert!(lost.contains("answered 503") && lost.contains(&format!("kept in {}", kept.display())), "{what}: {lost}");
        assert!(kept.exists(), "{what}");
        let blocked = submit(url);
        assert!(blocked.contains(&format!("run resend --key-file {}", wallet.key_file.display())), "{what}: {blocked}");
        assert_eq!(Wallet::open(&wallet.key_file).unwrap().next_index(), 4, "{what}: one index spent");
        let resend = ["resend", "--key-file", &wallet.key_file.display().to_string(), "--server", url].map(str::to_owned);
        let resent = wallet.run(&resend);
        assert_eq!((resent["status"].as_str(), resent["route"].as_str()), (Some("pending"), Some("/lists")), "{what}: {resent}");
        let (_, stored) = http.get(format!("{url}/lists/{}", resent["id"]));
        assert_eq!(stored["status"], "pending", "{what}: {stored}");
        let accepted = format!("{}.accepted-{}.json", wallet.key_file.display(), resent["nonce"]);
        assert!(!kept.exists() && std::path::Path::new(&accepted).exists(), "{what}: set aside as accepted");
        let key_file = wallet.key_file.display().to_string();
        lines.push([lost, blocked].map(|line| line.replace(&key_file, "F").replace(&down.url, "DOUBLE")));
    }
    assert_eq!(lines[0], lines[1], "the two wallets word it differently");
}

/// `pays` posted by both wallets to the service at `url` for thread `thread_id`: each refuses
/// it before signing, with the same line, which contains `expected`. Returns the line.
fn refused_by_both(
    wallets: &[ExampleWallet; 2],
    world: &World,
    (url, thread_id): (&str, u64),
    pays: &[(Felt, u128)],
    expected: &str,
) -> String {
    let mut refusals: Vec<String> = wallets.iter().map(|w| w.run_refused(&w.submit_args(world, url, thread_id, pays))).collect();
    assert!(refusals[0].contains(expected), "{}", refusals[0]);
    assert_eq!(refusals[0], refusals[1], "the two wallets disagree");
    refusals.swap_remove(0)
}

/// `pays` posted as one list by `tx submit --server` from account 0: refused with `line`
/// (the wallets' refusal), its key file untouched.
fn refused_by_cli(world: &World, (url, thread_id): (&str, u64), pays: &[(Felt, u128)], line: &str) {
    let mut cli = world.submit_args(0, 1, 1);
    cli[3] = thread_id.to_string();
    cli.truncate(cli.len() - 5); // --to, --amount and --json: the list's own follow
    for (to, amount) in pays {
        cli.extend(["--to".to_owned(), format!("{to:#x}"), "--amount".to_owned(), amount.to_string()]);
    }
    cli.extend(["--server".to_owned(), url.to_owned()]);
    let key_file = world.data_dir.path().join("keys").join(format!("{:#x}-{:#x}.json", world.accounts[0], world.token.address));
    let index_before = Wallet::open(&key_file).unwrap().next_index();
    let out = world.cli(&cli.iter().map(String::as_str).collect::<Vec<_>>());
    let refused = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && refused.contains(line), "the CLI refuses otherwise: {refused}");
    assert_eq!(Wallet::open(&key_file).unwrap().next_index(), index_before, "the CLI spent an index");
}

fn examples_dir() -> std::path::PathBuf {
    // Run-time value first (see `sig-wasm`'s vector test: a shared target directory).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../examples")
}

/// Runs both example clients on the world's thread (every account's balance asked for) and
/// returns their output, which must be the same JSON from both.
fn follow_with_examples(world: &World) -> Value {
    let examples = examples_dir();
    let accounts: Vec<String> = world.accounts.iter().map(|a| format!("{a:#x}")).collect();
    let args = [
        "--rpc-url".to_owned(),
        world.devnet.as_ref().unwrap().url().to_string(),
        "--registry".to_owned(),
        format!("{:#x}", world.registry.address),
        "--thread".to_owned(),
        world.thread_id.to_string(),
        "--accounts".to_owned(),
        accounts.join(","),
    ];
    let run = |program: std::path::PathBuf, script: std::path::PathBuf| {
        let out = std::process::Command::new(&program)
            .arg(&script)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{} runs (scripts/setup-examples.sh installs it): {e}", program.display()));
        assert!(out.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).expect("one JSON document")
    };
    let javascript = run("node".into(), examples.join("javascript/follow-thread.mjs"));
    let python = run(examples.join("python/.venv/bin/python"), examples.join("python/follow_thread.py"));
    assert_eq!(javascript, python, "the two clients disagree");
    javascript
}

/// How [`ServiceDouble`] acts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Acting {
    /// A busy service: every GET as the service behind it answers, but the sender's queue
    /// reported full (64 messages) in `GET /senders/..`; anything else a 405 (a client that
    /// reached a POST would have ignored the count).
    FullQueue,
    /// A service whose posts go wrong: every GET as the service answers it; the first POST is
    /// passed on to the service and its answer dropped (the connection closes: the message is
    /// stored, the client never hears so), every later one answered 503 and not passed on.
    FlakyPosts,
    /// A service that cannot store: every GET as the service answers it, every POST a 503.
    UnavailablePosts,
}

/// A test double in front of a real service, at `url` (see [`Acting`]).
struct ServiceDouble {
    url: String,
}

impl ServiceDouble {
    fn start(service_url: &str, acting: Acting) -> Self {
        let service = reqwest::Url::parse(service_url).expect("the service's URL");
        let target = format!("{}:{}", service.host_str().unwrap(), service.port_or_known_default().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(0_usize));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (target, posts) = (target.clone(), posts.clone());
                std::thread::spawn(move || {
                    if let Err(error) = Self::answer(client, &target, acting, &posts) {
                        eprintln!("ServiceDouble: {error}");
                    }
                });
            }
        });
        ServiceDouble { url }
    }

    fn answer(mut client: TcpStream, target: &str, acting: Acting, posts: &Mutex<usize>) -> std::io::Result<()> {
        // A stalled peer fails the client's request, not the whole test.
        let limit = Some(Duration::from_secs(30));
        client.set_read_timeout(limit)?;
        client.set_write_timeout(limit)?;
        let mut reader = BufReader::new(client.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let mut body_length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? <= 2 {
                break; // the blank line
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    body_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        // Read whole, so that closing the socket does not reset the connection before the answer.
        let mut request_body = Vec::new();
        (&mut reader).take(body_length).read_to_end(&mut request_body)?;
        let (method, path) = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
            [method, path, ..] => (method.to_owned(), path.to_owned()),
            _ => return Ok(()),
        };
        let post_number = (method == "POST").then(|| {
            let mut posts = posts.lock().unwrap();
            *posts += 1;
            *posts
        });
        let (status, body) = match (acting, post_number) {
            (_, None) => {
                let (status, mut body) = Self::pass_on(target, &method, &path, &[])?;
                if acting == Acting::FullQueue && path.starts_with("/senders/") && status == "200" {
                    body["queued"] = body!(64);
                }
                (status, body)
            }
            (Acting::FullQueue, Some(_)) => ("405".to_owned(), body!({ "error": "the test double answers GETs only" })),
            (Acting::FlakyPosts, Some(1)) => {
                Self::pass_on(target, &method, &path, &request_body)?;
                return client.shutdown(Shutdown::Both); // the answer is lost
            }
            (Acting::FlakyPosts | Acting::UnavailablePosts, Some(_)) => {
                ("503".to_owned(), body!({ "error": "the test double is unavailable" }))
            }
        };
        let body = body.to_string();
        write!(
            client,
            "HTTP/1.1 {status} -\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// The service's answer (status, JSON body) to the request.
    fn pass_on(target: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<(String, Value)> {
        let mut service = TcpStream::connect(target)?;
        service.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            service,
            "{method} {path} HTTP/1.0\r\nhost: {target}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )?;
        service.write_all(body)?;
        let mut answer = String::new();
        service.read_to_string(&mut answer)?;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split_whitespace().nth(1).unwrap_or("502").to_owned();
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| body!({ "error": format!("the service's answer is not JSON: {e}") }));
        Ok((status, body))
    }
}

/// A TCP proxy to the node that the test can cut: while down it closes every connection it
/// holds and refuses new ones (what a node going away looks like to the service).
struct NodeProxy {
    url: String,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl NodeProxy {
    fn start(node_url: &str) -> Self {
        let node = reqwest::Url::parse(node_url).expect("the node's URL");
        let target = format!("{}:{}", node.host_str().unwrap(), node.port_or_known_default().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let mut url = node.clone();
        url.set_port(Some(listener.local_addr().unwrap().port())).unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up_flag, held) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up_flag.load(Ordering::SeqCst) {
                    continue; // dropped: connection closed
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let mut list = held.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        NodeProxy {
            url: url.to_string(),
            up,
            open,
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for stream in self.open.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// The status page as headless Chromium (Debian's package; `scripts/setup-chromium.sh`)
/// renders it, after its script has fetched `/thread`.
fn rendered_page(url: &str) -> String {
    let profile = tempfile::tempdir().expect("a temp dir");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{url}/"))
        .output()
        .expect("chromium runs (scripts/setup-chromium.sh installs it)");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
