//! A running `zkthread serve` child and clients that post to it (signing in this process or
//! through `zkthread tx submit --server`), shared by the service test files.
#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zkthread_client::Felt;
use zkthread_token::SignedTransferTx;
use zkthread_service::wire::TransferRequest;
use zkthread_sig::domain::{account_id, transfer_domain};
use zkthread_sig::{TransferDraft, Wallet};

use super::json;
use super::shape::check;
use super::world::World;

/// How long a sub-block may take to be proven and settled in a test build.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A running `zkthread serve` child and its base URL.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Served {
    /// Starts `zkthread serve` on a free port, closing sub-blocks at `max_transfers`.
    pub fn start(world: &World, max_transfers: u32, crash_at: Option<&str>) -> Self {
        Self::start_with(world, max_transfers, 600, crash_at, None)
    }

    /// Also: close a sub-block after `max_wait` seconds; reach the node through `rpc_url`.
    pub fn start_with(
        world: &World,
        max_transfers: u32,
        max_wait: u32,
        crash_at: Option<&str>,
        rpc_url: Option<&str>,
    ) -> Self {
        Self::start_on(world, world.thread_id, (max_transfers, max_wait), crash_at, rpc_url)
    }

    /// [`Served::start_with`] on thread `thread_id` of the world's registry.
    pub fn start_on(
        world: &World,
        thread_id: u64,
        (max_transfers, max_wait): (u32, u32),
        crash_at: Option<&str>,
        rpc_url: Option<&str>,
    ) -> Self {
        let mut command = world.command(&[
            "serve",
            "--thread",
            &thread_id.to_string(),
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

    pub fn kill(mut self) {
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
pub struct Http<'a> {
    pub world: &'a World,
    pub client: reqwest::Client,
}

impl Http<'_> {
    pub fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        self.world.runtime.block_on(async {
            let response = request.send().await.expect("the service answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("a body");
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            (status, value)
        })
    }

    pub fn get(&self, url: String) -> (u16, Value) {
        self.send(self.client.get(url))
    }

    pub fn post_json(&self, url: &str, value: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{url}/transfers")).json(value))
    }

    pub fn post_raw(&self, url: &str, body: Vec<u8>) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{url}/transfers"))
                .header("content-type", "application/json")
                .body(body),
        )
    }

    /// A 4xx whose `error` contains `needle`; the thread's pending count is unchanged.
    pub fn refused(&self, url: &str, answer: (u16, Value), status: u16, needle: &str) {
        let (got, value) = answer;
        assert_eq!(got, status, "{value}");
        let error = value["error"].as_str().unwrap_or_else(|| panic!("no error in {value}"));
        assert!(error.contains(needle), "expected {needle:?} in {error:?}");
        assert_eq!(self.get(format!("{url}/thread")).1["pending"], 0, "after {needle:?}");
    }

    /// Polls `GET /transfers/{id}` until `done` holds; returns that answer.
    pub fn wait_for(&self, url: &str, id: u64, done: impl Fn(&Value) -> bool) -> Value {
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

    pub fn wait_settled(&self, url: &str, id: u64) -> Value {
        self.wait_for(url, id, |v| v["status"] == "settled")
    }
}

/// `tx submit --server` from account `from`: returns the transfer id.
pub fn submit_via_cli(world: &World, url: &str, from: usize, to: usize, amount: u128) -> u64 {
    let mut args = world.submit_args(from, to, amount);
    args.extend(["--server".to_owned(), url.to_owned()]);
    let out = world.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let submitted = json(&out);
    check("tx submit", &submitted);
    submitted["id"].as_u64().expect("an id")
}

/// A transfer from account `from` signed in this process with its key file, at the nonce the
/// service says comes next.
pub fn sign_here(world: &World, http: &Http, url: &str, from: usize, to: usize, amount: u128) -> SignedTransferTx {
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
            to: zkthread_sig::account_id_wide(world.accounts[to]),
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

pub fn request(tx: &SignedTransferTx) -> Value {
    serde_json::to_value(TransferRequest::from_tx(tx)).expect("serializes")
}

