//! `zkthread serve` on an order-book thread, on a running devnet with real proofs: traders sign
//! with `zkthread order place` in their own data directory (not the service's) and post the
//! signed message to `POST /orders`. A message changed after signing, and another signed
//! under the nonce a settled one spent, are refused with 422 and their reasons and never
//! stored; the same signed message posted again, queued or settled, is answered 200 as the
//! stored one (`duplicate`); a malformed body is a 400; the ask and
//! the crossing bid settle in one sub-block with a real proof: the service is stopped right
//! after broadcasting the settle (test-only crash point) and the restarted one finds it settled
//! without sending again (`GET /orders/{id}`); `GET /book` shows the fill and the maker's
//! remaining amount read from chain.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json as body, Value};
use zkthread_client::Felt;
use zkthread_engine::orderbook::StoredOrder;
use zkthread_store::{Store, ThreadKey};

mod common;
use common::shape::check;
use common::{copy_dir, json, zkthread};

/// A child process killed when dropped (the devnet, the service).
struct Running(Child);

impl Running {
    /// Waits for the process to stop by itself; its exit status.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let began = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            assert!(began.elapsed() < within, "still running after {within:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` and reads the one JSON line it prints once it is up.
fn start(mut command: Command) -> (Running, Value) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("prints its line");
    let doc: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (running, doc)
}

/// Blocking HTTP, one JSON answer per request.
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
}

impl Http {
    fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        self.runtime.block_on(async {
            let response = request.send().await.expect("the service answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("a body");
            (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}")))
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.url)))
    }

    fn post(&self, value: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}/orders", self.url)).json(value))
    }

    fn book(&self) -> Value {
        let (status, book) = self.get("/book");
        assert_eq!(status, 200, "{book}");
        book
    }

    /// A 4xx whose error contains `needle`, with nothing stored: the book's pending and
    /// rejected counts are `pending` and 0.
    fn refused(&self, answer: (u16, Value), status: u16, needle: &str, pending: usize) {
        let (got, value) = answer;
        assert_eq!(got, status, "{value}");
        let error = value["error"].as_str().unwrap_or_else(|| panic!("no error in {value}"));
        assert!(error.contains(needle), "expected {needle:?} in {error:?}");
        let book = self.book();
        assert_eq!((book["pending"].as_u64(), book["rejected"].as_u64()), (Some(pending as u64), Some(0)), "{book}");
    }

    fn wait_settled(&self, id: u64) -> Value {
        let began = Instant::now();
        loop {
            let (status, value) = self.get(&format!("/orders/{id}"));
            assert_eq!(status, 200, "{value}");
            if value["status"] == "settled" {
                return value;
            }
            assert_ne!(value["status"], "rejected", "message {id} was rejected: {value}");
            assert!(began.elapsed() < Duration::from_secs(600), "message {id} stuck: {value}; book {}", self.book());
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

#[test]
fn the_book_service_admits_signed_orders_refuses_replays_and_tampering_and_settles_a_fill() {
    let began = Instant::now();
    let (_devnet, info) = start({
        let mut c = zkthread();
        c.args(["devnet", "--port", "0", "--accounts", "2", "--json"]);
        c
    });
    let node = info["url"].as_str().unwrap().to_owned();
    // The traders' data directory (key files, the messages `order place` signs) and the
    // service's: what the service stores it only has from POST /orders.
    let (traders, service_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let command = |i: usize, data: &std::path::Path, args: &[&str]| {
        let account = &info["accounts"][i];
        let mut command = zkthread();
        command
            .args(args)
            .arg("--json")
            .env("ZKTHREAD_RPC_URL", &node)
            .env("ZKTHREAD_ACCOUNT_ADDRESS", account["address"].as_str().unwrap())
            .env("ZKTHREAD_PRIVATE_KEY", account["private_key"].as_str().unwrap())
            .env("ZKTHREAD_DATA_DIR", data);
        command
    };
    let trader_in = |data: &std::path::Path, i: usize, args: &[&str]| json(&command(i, data, args).output().expect("zkthread runs"));
    let trader = |i: usize, args: &[&str]| trader_in(traders.path(), i, args);
    let (alice, bob) = (info["accounts"][0]["address"].as_str().unwrap(), info["accounts"][1]["address"].as_str().unwrap());
    let deployed = trader(0, &["book", "deploy", "--fund", bob]);
    let (registry, book) = (deployed["registry"].as_str().unwrap(), deployed["book"].as_str().unwrap());
    let thread = deployed["thread_id"].as_u64().unwrap().to_string();
    for i in 0..2 {
        trader(i, &["key", "new", "--token", book]);
        trader(i, &["key", "register", "--token", book]);
    }
    let thread_args = ["--registry", registry, "--thread", &thread];
    let key = ThreadKey::new(Felt::from_hex(registry).unwrap(), thread.parse().unwrap());
    // Signs with `order place` in a traders' directory and returns the stored message's JSON
    // (what a wallet posts), checking the nonce it used.
    let sign_in = |data: &std::path::Path, i: usize, side: &str, price: &str, qty: &str, id: &str| {
        let args = [&["order", "place"][..], &thread_args, &["--side", side, "--price", price, "--quantity", qty, "--id", id]].concat();
        let placed = trader_in(data, i, &args);
        let store = Store::open(data).unwrap().program::<StoredOrder>();
        let message = store.pending(key).unwrap().pop().expect("the signed message").body;
        assert_eq!(u64::from(message.nonce), placed["nonce"].as_u64().unwrap());
        serde_json::to_value(&message).unwrap()
    };
    let sign = |i: usize, side: &str, price: &str, qty: &str, id: &str| sign_in(traders.path(), i, side, price, qty, id);

    // The service, settling with account 0, closes a sub-block at two messages; this first
    // one stops right after broadcasting its settle.
    let serve = |crash_at: Option<&str>| {
        let args = [&["serve"][..], &thread_args, &["--listen", "127.0.0.1:0", "--max-transfers", "2", "--max-wait", "600"]].concat();
        let mut command = command(0, service_data.path(), &args);
        if let Some(point) = crash_at {
            command.env("ZKTHREAD_CRASH_AT", point);
        }
        let (service, started) = start(command);
        check("serve", &started);
        assert_eq!(started["program"], "book", "{started}");
        (service, started["url"].as_str().unwrap().to_owned())
    };
    let (mut crashing, url) = serve(Some("after-send"));
    let mut http = Http {
        runtime: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        client: reqwest::Client::new(),
        url,
    };
    assert_eq!(http.get("/health"), (200, body!({ "status": "ok" })));
    let (status, signer) = http.get(&format!("/signers/{alice}"));
    assert_eq!(status, 200, "{signer}");
    let alice_nonce = signer["nonce"].as_u64().unwrap();

    // Alice's directory copied before she signs: its key file signs another message at the
    // ask's nonce and key, which the ask spends once it settles.
    let forked = tempfile::tempdir().unwrap();
    copy_dir(traders.path(), forked.path());
    let ask = sign(0, "sell", "50", "100", "5");
    let rival = sign_in(forked.path(), 0, "sell", "51", "100", "6");
    assert_eq!((&rival["nonce"], &rival["key"]), (&ask["nonce"], &ask["key"]), "{rival}");
    assert_eq!(ask["nonce"].as_u64(), Some(alice_nonce), "GET /signers gave the nonce order place signed at");
    assert_eq!(ask["key"], signer["key"], "GET /signers gave the key order place signed under");
    http.refused(http.send(http.client.post(format!("{}/orders", http.url)).header("content-type", "application/json").body("{\"owner\": ")), 400, "", 0);
    let mut tampered = ask.clone();
    tampered["place"][2] = 101.into();
    http.refused(http.post(&tampered), 422, "bad signature", 0);
    // An owner past the address bound: refused before any node call (which could not decode
    // it and would have answered 503), on both routes.
    let past = "0x800000000000000000000000000000000000000000000000000000000000000";
    let mut unbound = ask.clone();
    unbound["owner"] = past.into();
    http.refused(http.post(&unbound), 422, "is not a Starknet account address", 0);
    let (status, refused) = http.get(&format!("/signers/{past}"));
    assert_eq!(status, 422, "{refused}");
    // A misspelled field is named, not dropped (a place without `place` reads as a cancel);
    // an owner that is not hex is named as such.
    let mut misspelled = ask.clone();
    misspelled["placement"] = misspelled["place"].take();
    misspelled.as_object_mut().unwrap().remove("place");
    http.refused(http.post(&misspelled), 422, "unknown field `placement`", 0);
    let mut not_hex = ask.clone();
    not_hex["owner"] = "0xzz".into();
    http.refused(http.post(&not_hex), 400, "owner: \"0xzz\" is not a felt", 0);
    let (status, accepted) = http.post(&ask);
    assert_eq!(status, 202, "{accepted}");
    let ask_id = accepted["id"].as_u64().unwrap();
    // Posted again while it is queued (its first answer lost): answered as the stored message.
    let (status, again) = http.post(&ask);
    assert_eq!((status, again["id"].as_u64(), &again["duplicate"], again["pending"].as_u64()), (200, Some(ask_id), &Value::Bool(true), Some(1)), "{again}");
    let (_, signer) = http.get(&format!("/signers/{alice}"));
    assert_eq!((signer["nonce"].as_u64(), signer["queued"].as_u64()), (Some(alice_nonce + 1), Some(1)), "{signer}");
    assert_eq!(signer["key"], ask["next_key"], "{signer}");

    let bid = sign(1, "buy", "52", "30", "9");
    let (status, accepted) = http.post(&bid);
    assert_eq!(status, 202, "{accepted}");
    let bid_id = accepted["id"].as_u64().unwrap();
    // Nothing refused took a submission number: the next accepted message is the next id.
    assert_eq!(bid_id, ask_id + 1);
    let stopped = crashing.wait_exit(Duration::from_secs(600));
    assert!(!stopped.success(), "the crash point stops the service: {stopped:?}");
    let (_service, url) = serve(None);
    http.url = url;
    let settled = [http.wait_settled(ask_id), http.wait_settled(bid_id)];
    for s in &settled {
        assert_eq!(s["sequence"], 0, "{s}");
        assert!(s["tx_hash"].is_string(), "{s}");
    }
    let shown = http.book();
    assert_eq!(shown["fill_count"], 1, "{shown}");
    assert_eq!(shown["pending"], 0, "{shown}");
    assert_eq!(shown["settled_sub_blocks"], 1, "{shown}");
    let sub_blocks = shown["sub_blocks"].as_array().unwrap();
    assert_eq!(sub_blocks.len(), 1, "one sub-block, one attempt: nothing sent again {shown}");
    assert_eq!((sub_blocks[0]["transfers"].as_u64(), sub_blocks[0]["attempt"].as_u64()), (Some(2), Some(0)), "{shown}");
    assert_eq!(sub_blocks[0]["tx_hash"], settled[0]["tx_hash"], "{shown}");
    assert_eq!(shown["last_error"], Value::Null, "{shown}");
    assert_eq!((&shown["settle_entry"], &shown["inputs_first_left"]), (&Value::from("settle"), &Value::Null), "{shown}");
    let orders: Vec<(String, u64, String, u64)> = shown["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["owner"].as_str().unwrap().to_owned(), o["order_id"].as_u64().unwrap(), o["side"].as_str().unwrap().to_owned(), o["remaining"].as_u64().unwrap()))
        .collect();
    assert_eq!(orders, vec![(alice.to_owned(), 5, "sell".to_owned(), 70), (bob.to_owned(), 9, "buy".to_owned(), 0)]);
    // Settled, the same message posted again (its first answer lost) is answered as the
    // settled one, nothing stored; another signed under the nonce it spent is refused as a
    // replay; unknown ids are 404.
    let (status, again) = http.post(&ask);
    assert_eq!(
        (status, again["id"].as_u64(), &again["status"], &again["duplicate"], again["pending"].as_u64()),
        (200, Some(ask_id), &body!("settled"), &Value::Bool(true), Some(0)),
        "{again}"
    );
    http.refused(http.post(&rival), 422, "replayed", 0);
    let (status, missing) = http.get("/orders/999");
    assert_eq!(status, 404, "{missing}");
    eprintln!("book service test: {:.1} s", began.elapsed().as_secs_f64());
}
