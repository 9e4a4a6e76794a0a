//! `zkthread serve` as wallets meet it: a child process on an embedded devnet, fed over HTTP by
//! `zkthread tx submit --server` and by clients signing in this process (four at once). Bad
//! input is refused with a 4xx and its reason and changes nothing; accepted transfers settle
//! and balances follow a reference model; the service is stopped right after broadcasting a settle (test-only
//! crash point) and killed with SIGKILL while proving, and each restart finishes the job with
//! every transfer applied exactly once; the node is cut off for a while (admission answers 503,
//! the pipeline shows its error and retries) and the transfer settles once it is back. The status page, rendered by headless Chromium, shows
//! the settled sub-blocks; the example clients (starknet.js, starknet-py) follow the same
//! settlements from the registry's events.

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json as body, Value};
use zkthread_client::Felt;
use zkthread_prover::signed::SignedTransferTx;
use zkthread_service::wire::TransferRequest;
use zkthread_sig::domain::{account_id, transfer_domain};
use zkthread_sig::{TransferDraft, Wallet};

mod common;
use common::json;
use common::shape::check;
use common::world::{World, SUPPLY};

/// How long a sub-block may take to be proven and settled in a test build.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A running `zkthread serve` child and its base URL.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    /// Starts `zkthread serve` on a free port, closing sub-blocks at `max_transfers`.
    fn start(world: &World, max_transfers: u32, crash_at: Option<&str>) -> Self {
        Self::start_with(world, max_transfers, 600, crash_at, None)
    }

    /// Also: close a sub-block after `max_wait` seconds; reach the node through `rpc_url`.
    fn start_with(
        world: &World,
        max_transfers: u32,
        max_wait: u32,
        crash_at: Option<&str>,
        rpc_url: Option<&str>,
    ) -> Self {
        let mut command = world.command(&[
            "serve",
            "--thread",
            &world.thread_id.to_string(),
            "--listen",
            "127.0.0.1:0",
            "--max-transfers",
            &max_transfers.to_string(),
            "--max-wait",
            &max_wait.to_string(),
            "--json",
        ]);
        if let Some(point) = crash_at {
            command.env("ZKTHREAD_CRASH_AT", point);
        }
        if let Some(url) = rpc_url {
            command.env("ZKTHREAD_RPC_URL", url);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("zkthread serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("serve prints its address");
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        check("serve", &started);
        Served {
            child,
            url: started["url"].as_str().expect("a url").to_owned(),
        }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client on the world's runtime.
struct Http<'a> {
    world: &'a World,
    client: reqwest::Client,
}

impl Http<'_> {
    fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        self.world.runtime.block_on(async {
            let response = request.send().await.expect("the service answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("a body");
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            (status, value)
        })
    }

    fn get(&self, url: String) -> (u16, Value) {
        self.send(self.client.get(url))
    }

    fn post_json(&self, url: &str, value: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{url}/transfers")).json(value))
    }

    fn post_raw(&self, url: &str, body: Vec<u8>) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{url}/transfers"))
                .header("content-type", "application/json")
                .body(body),
        )
    }

    /// A 4xx whose `error` contains `needle`; the thread's pending count is unchanged.
    fn refused(&self, url: &str, answer: (u16, Value), status: u16, needle: &str) {
        let (got, value) = answer;
        assert_eq!(got, status, "{value}");
        let error = value["error"].as_str().unwrap_or_else(|| panic!("no error in {value}"));
        assert!(error.contains(needle), "expected {needle:?} in {error:?}");
        assert_eq!(self.get(format!("{url}/thread")).1["pending"], 0, "after {needle:?}");
    }

    /// Polls `GET /transfers/{id}` until `done` holds; returns that answer.
    fn wait_for(&self, url: &str, id: u64, done: impl Fn(&Value) -> bool) -> Value {
        let began = Instant::now();
        loop {
            let (status, value) = self.get(format!("{url}/transfers/{id}"));
            assert_eq!(status, 200, "{value}");
            if done(&value) {
                return value;
            }
            assert_ne!(value["status"], "rejected", "transfer {id} was rejected: {value}");
            assert!(began.elapsed() < SETTLE_TIMEOUT, "transfer {id} stuck: {value}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_settled(&self, url: &str, id: u64) -> Value {
        self.wait_for(url, id, |v| v["status"] == "settled")
    }
}

/// `tx submit --server` from account `from`: returns the transfer id.
fn submit_via_cli(world: &World, url: &str, from: usize, to: usize, amount: u128) -> u64 {
    let out = world.cli(&[
        "tx",
        "submit",
        "--server",
        url,
        "--thread",
        &world.thread_id.to_string(),
        "--token",
        &format!("{:#x}", world.token.address),
        "--from",
        &format!("{:#x}", world.accounts[from]),
        "--to",
        &format!("{:#x}", world.accounts[to]),
        "--amount",
        &amount.to_string(),
        "--json",
    ]);
    let submitted = json(&out);
    check("tx submit", &submitted);
    submitted["id"].as_u64().expect("an id")
}

/// A transfer from account `from` signed in this process with its key file, at the nonce the
/// service says comes next.
fn sign_here(world: &World, http: &Http, url: &str, from: usize, to: usize, amount: u128) -> SignedTransferTx {
    let (token, sender) = (world.token.address, world.accounts[from]);
    let (status, view) = http.get(format!("{url}/senders/{token:#x}/{sender:#x}"));
    assert_eq!(status, 200, "{view}");
    let nonce = view["nonce"].as_u64().expect("a nonce") as u32;
    let key_file = world
        .data_dir
        .path()
        .join("keys")
        .join(format!("{sender:#x}-{token:#x}.json"));
    let mut wallet = Wallet::open(&key_file).expect("the key file");
    let signed = wallet
        .sign_transfer(&TransferDraft {
            domain: transfer_domain(
                world.client.chain_id(),
                world.registry.address,
                Felt::from(world.thread_id),
                token,
            ),
            from: account_id(sender),
            to: account_id(world.accounts[to]),
            amount,
            nonce,
        })
        .expect("signs");
    SignedTransferTx {
        token,
        from: sender,
        to: world.accounts[to],
        amount,
        nonce,
        key: signed.key,
        next_key: signed.message.next_key,
        signature: signed.signature,
    }
}

fn request(tx: &SignedTransferTx) -> Value {
    serde_json::to_value(TransferRequest::from_tx(tx)).expect("serializes")
}

#[test]
fn the_service_settles_posted_transfers_refuses_bad_ones_and_survives_kills() {
    let world = World::deploy();
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
    http.refused(&url, http.post_raw(&url, vec![b' '; 100_000]), 413, "length limit");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "101".into())), 422, "bad signature");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "0".into())), 422, "above zero");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["amount"] = "340282366920938463463374607431768211456".into())), 400, "below 2^128");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["token"] = "0x1234".into())), 422, "not in the thread's contract set");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["key"] = v["next_key"].clone())), 422, "not the sender's next key");
    let next_nonce = format!("not the sender's next nonce {}", valid.nonce);
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["nonce"] = 7.into())), 422, &next_nonce);
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["to"] = "0xnope".into())), 400, "to:");
    http.refused(&url, http.post_json(&url, &tampered(&|v| v["extra"] = 1.into())), 422, "extra");
    http.refused(&url, http.get(format!("{url}/transfers/999999")), 404, "no transfer 999999");
    http.refused(&url, http.get(format!("{url}/transfers/abc")), 400, "not a number");

    // Accepted: the valid one; its replay is refused by nonce; two more through the CLI.
    let (status, accepted) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 202, "{accepted}");
    let first = accepted["id"].as_u64().unwrap();
    let (status, replay) = http.post_json(&url, &request(&valid));
    assert_eq!(status, 422, "{replay}");
    assert!(replay["error"].as_str().unwrap().contains("replayed"), "{replay}");
    let second = submit_via_cli(&world, &url, 0, 2, 50);
    let third = submit_via_cli(&world, &url, 0, 3, 7);
    for id in [first, second, third] {
        let settled = http.wait_settled(&url, id);
        assert_eq!(settled["sequence"], 0, "{settled}");
    }
    let mut expected = [SUPPLY - 157, 100, 50, 7];
    assert_eq!(world.balances(), expected);
    let (_, thread) = http.get(format!("{url}/thread"));
    assert_eq!(thread["pending"], 0, "{thread}");
    assert_eq!(thread["settled_sub_blocks"], 1, "{thread}");
    assert_eq!(thread["sub_blocks"][0]["transfers"], 3, "{thread}");
    assert!(thread["sub_blocks"][0]["tx_hash"].is_string(), "{thread}");
    served.kill();

    // Four clients at once, each posting three transfers signed in its own thread: every one
    // is accepted (admissions are serialized per thread) and settles in one sub-block, once.
    let served = Served::start(&world, 12, None);
    let url = served.url.clone();
    let amount = |i: usize| 1 + i as u128;
    let ids: Vec<u64> = std::thread::scope(|scope| {
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
        clients.into_iter().flat_map(|c| c.join().expect("a client")).collect()
    });
    for i in 0..4 {
        expected[i] -= 3 * amount(i);
        expected[(i + 1) % 4] += 3 * amount(i);
    }
    for id in &ids {
        assert_eq!(http.wait_settled(&url, *id)["sequence"], 1);
    }
    assert_eq!(world.balances(), expected);
    served.kill();

    // Stopped right after broadcasting a settle: the restart finds it settled, sends nothing.
    let mut crashing = Served::start(&world, 1, Some("after-send"));
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
    for sub_block in thread["sub_blocks"].as_array().unwrap() {
        let tx = sub_block["tx_hash"].as_str().unwrap();
        assert!(page.contains(tx), "{tx} not on the page: {page}");
    }
}

/// Runs both example clients on the world's thread (every account's balance asked for) and
/// returns their output, which must be the same JSON from both.
fn follow_with_examples(world: &World) -> Value {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
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
