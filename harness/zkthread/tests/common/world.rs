//! A devnet with a deployed registry, thread-ready token and thread, driven through the CLI as
//! users run it (account #0 deploys, batches and settles; every account has a key file and its
//! key registered from its own account), with a temporary data directory.
#![allow(dead_code)] // each test file uses its own subset

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use serde_json::Value;
use zkthread_client::registry::Registry;
use zkthread_client::token::Token;
use zkthread_client::{ChainClient, FeeMode, Felt};
use zkthread_devnet::{Devnet, EmbeddedOptions};

use super::shape::check;
use super::{json, stderr, zkthread};

pub const SUPPLY: u128 = 1_000_000;

pub fn felt(value: &Value) -> Felt {
    Felt::from_hex(value.as_str().expect("a hex string")).expect("a felt")
}

/// A devnet, a deployed registry + token + thread, and a data directory.
pub struct World {
    pub runtime: tokio::runtime::Runtime,
    pub devnet: Option<Devnet>,
    pub client: ChainClient,
    pub accounts: Vec<Felt>,
    pub data_dir: tempfile::TempDir,
    pub registry: Registry,
    pub token: Token,
    pub thread_id: u64,
    /// Predeployed accounts after the traders, with no key file and no tokens: for tests that
    /// enrol a wallet themselves (`(address, private key)`).
    pub spares: Vec<(Felt, Felt)>,
}

impl World {
    /// Starts devnet with 4 accounts and runs `deploy` and `thread create` through the CLI.
    pub fn deploy() -> Self {
        Self::deploy_with_accounts(4)
    }

    /// Like [`World::deploy`] with `accounts` predeployed accounts, each with its key registered.
    pub fn deploy_with_accounts(accounts: u8) -> Self {
        Self::deploy_with(accounts.into(), 0)
    }

    /// Like [`World::deploy`], with `spares` more predeployed accounts (`World::spares`).
    pub fn deploy_with_spares(spares: usize) -> Self {
        Self::deploy_with(4, spares)
    }

    /// `traders` accounts with a key file and a registered key (`World::accounts`), then
    /// `spares` accounts with neither (`World::spares`).
    fn deploy_with(traders: usize, spares: usize) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let devnet = runtime
            .block_on(Devnet::start_embedded_with(EmbeddedOptions {
                total_accounts: u8::try_from(traders + spares).expect("a few accounts"),
                ..EmbeddedOptions::default()
            }))
            .expect("devnet starts");
        let owner = devnet.account(0).expect("account #0").clone();
        let client = ChainClient::with_chain_id(
            devnet.url().clone(),
            owner.address,
            owner.private_key,
            devnet.chain_id().expect("embedded chain id"),
        );
        let accounts = devnet.accounts()[..traders].iter().map(|a| a.address).collect();
        let spares = devnet.accounts()[traders..]
            .iter()
            .map(|a| (a.address, a.private_key))
            .collect();
        let mut world = World {
            runtime,
            devnet: Some(devnet),
            client,
            accounts,
            data_dir: tempfile::tempdir().expect("a temp dir"),
            registry: Registry {
                address: Felt::ZERO,
            },
            token: Token {
                address: Felt::ZERO,
            },
            thread_id: 0,
            spares,
        };
        let deployed = json(&world.cli(&["deploy", "--supply", &SUPPLY.to_string(), "--json"]));
        check("deploy", &deployed);
        world.registry.address = felt(&deployed["registry"]);
        world.token.address = felt(&deployed["token"]);
        // The registered program is the declared Cairo verifier's class hash.
        assert_eq!(
            deployed["registered"]["program_hash"],
            deployed["verifier_class_hash"]
        );
        let token = deployed["token"].as_str().unwrap().to_owned();
        // Every trader: a key file, and its key registered from its own account.
        for i in 0..world.accounts.len() {
            let account = format!("{:#x}", world.accounts[i]);
            let created = json(&world.cli(&["key", "new", "--token", &token, "--account-address", &account, "--json"]));
            check("key new", &created);
            world.register_key(i);
        }
        let created = json(&world.cli(&["thread", "create", "--contract", &token, "--json"]));
        check("thread create", &created);
        world.thread_id = created["thread"]["thread_id"].as_u64().unwrap();
        assert_eq!(created["thread"]["verifier_declared"], true);
        assert_eq!(
            created["thread"]["program_hash"],
            deployed["verifier_class_hash"]
        );
        world
    }

    /// `key register` sent from account `i` itself: registers its key file's next key.
    pub fn register_key(&self, i: usize) -> Value {
        let out = self
            .command_as(i, &["key", "register", "--token", &format!("{:#x}", self.token.address), "--json"])
            .output()
            .expect("zkthread runs");
        let registered = json(&out);
        check("key register", &registered);
        registered
    }

    /// The CLI against this devnet, account #0 and data directory (registry once deployed).
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_as(0, args)
    }

    /// The CLI as account `i` (its address and private key in the environment).
    pub fn command_as(&self, i: usize, args: &[&str]) -> Command {
        let devnet = self.devnet.as_ref().expect("devnet runs");
        let owner = devnet.account(i).expect("a predeployed account");
        let mut cmd = zkthread();
        cmd.args(args)
            .env("ZKTHREAD_RPC_URL", devnet.url().as_str())
            .env("ZKTHREAD_ACCOUNT_ADDRESS", format!("{:#x}", owner.address))
            .env("ZKTHREAD_PRIVATE_KEY", format!("{:#x}", owner.private_key))
            .env("ZKTHREAD_DATA_DIR", self.data_dir.path());
        if self.registry.address != Felt::ZERO {
            cmd.env("ZKTHREAD_REGISTRY", format!("{:#x}", self.registry.address));
        }
        cmd
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("zkthread runs")
    }

    /// Like [`World::cli`] with another data directory (a second batcher on the same thread).
    pub fn cli_in(&self, data_dir: &std::path::Path, args: &[&str]) -> Output {
        self.command(args)
            .env("ZKTHREAD_DATA_DIR", data_dir)
            .output()
            .expect("zkthread runs")
    }

    pub fn thread(&self) -> String {
        self.thread_id.to_string()
    }

    /// `tx submit` of `amount` from account `from` to account `to`, signed with `from`'s key
    /// file; returns the transfer id.
    pub fn submit(&self, from: usize, to: usize, amount: u128) -> u64 {
        let submitted = json(&self.try_submit(from, to, amount));
        check("tx submit", &submitted);
        submitted["id"].as_u64().unwrap()
    }

    pub fn try_submit(&self, from: usize, to: usize, amount: u128) -> Output {
        let args = self.submit_args(from, to, amount);
        self.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `tx submit ... --json` of `amount` from account `from` to account `to` on this thread
    /// (add `--server URL` to post it to a service).
    pub fn submit_args(&self, from: usize, to: usize, amount: u128) -> Vec<String> {
        [
            "tx",
            "submit",
            "--thread",
            &self.thread(),
            "--token",
            &format!("{:#x}", self.token.address),
            "--from",
            &format!("{:#x}", self.accounts[from]),
            "--to",
            &format!("{:#x}", self.accounts[to]),
            "--amount",
            &amount.to_string(),
            "--json",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// A plain L2 `transfer` of the token from account #0 (not through the thread).
    pub fn direct_transfer(&self, to: usize, amount: u128) {
        self.direct_transfer_to(self.accounts[to], amount)
    }

    /// A plain L2 `transfer` of the token from account #0 to any address.
    pub fn direct_transfer_to(&self, to: Felt, amount: u128) {
        self.runtime.block_on(async {
            let transfer = self.token.transfer_call(to, amount).unwrap();
            self.client
                .invoke(vec![transfer], FeeMode::default())
                .await
                .unwrap()
                .require_success("direct transfer")
                .unwrap();
        })
    }

    /// `batch`, `prove` or `settle` of the thread: its document, checked against its shape.
    pub fn step(&self, command: &str) -> Value {
        let doc = json(&self.cli(&[command, "--thread", &self.thread(), "--json"]));
        check(command, &doc);
        doc
    }

    /// `settle` with a test-only crash point: the process must die of `abort()`.
    pub fn settle_crashing_at(&self, point: &str) {
        let out = self
            .command(&["settle", "--thread", &self.thread(), "--json"])
            .env("ZKTHREAD_CRASH_AT", point)
            .output()
            .expect("zkthread runs");
        assert_eq!(
            out.status.signal(),
            Some(6),
            "settle should abort at {point}: {:?}\n{}",
            out.status,
            stderr(&out)
        );
    }

    pub fn balances(&self) -> Vec<u128> {
        self.balances_of(&self.accounts)
    }

    pub fn balances_of(&self, accounts: &[Felt]) -> Vec<u128> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            for account in accounts {
                out.push(self.token.balance_of(&self.client, *account).await.unwrap());
            }
            out
        })
    }

    /// The calldata of the mined invoke (v3) `tx_hash`: `[calls, to, selector, length,
    /// calldata...]` for one call.
    pub fn mined_calldata(&self, tx_hash: Felt) -> Vec<Felt> {
        use starknet::core::types::{InvokeTransaction, Transaction};
        use starknet::providers::Provider;
        let tx = self
            .runtime
            .block_on(self.client.provider().get_transaction_by_hash(tx_hash))
            .expect("the transaction");
        match tx {
            Transaction::Invoke(InvokeTransaction::V3(invoke)) => invoke.calldata,
            other => panic!("not an invoke v3: {other:?}"),
        }
    }

    pub fn nonce(&self) -> Felt {
        self.runtime.block_on(self.client.nonce()).unwrap()
    }

    pub fn next_sequence(&self) -> u64 {
        self.runtime
            .block_on(self.registry.next_sequence(&self.client, self.thread_id))
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(devnet) = self.devnet.take() {
            devnet.stop();
        }
    }
}
