//! Shared fixtures for the zkthreads end-to-end tests: an embedded devnet with a client for a
//! funded account, the compiled contracts, the test-only classes of `tests/cairo`, and a deployed
//! "thread world" (registry, token accepting the program, registered OS version and program,
//! one thread containing the token). [`settle`] has the helpers for real settlements (batch,
//! prove, settle, check a revert changed nothing).

pub mod orderbook;
pub mod settle;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use zkthread_cairo_build::{build_contracts_with, BuildOptions, ContractArtifact, Rebuild};
use zkthread_client::registry::{NewThread, Registry};
use zkthread_client::token::{Token, TokenConfig};
use zkthread_client::{ChainClient, FeeMode, Felt, ResourceBounds, TxOutcome};
use zkthread_devnet::{Devnet, EmbeddedOptions};

use crate::settle::ThreadRef;

pub use zkthread_client as client;
pub use zkthread_devnet as devnet;

/// OS version the fixtures register (any felt the registry accepts).
pub const OS_VERSION: u8 = 1;
/// Initial token supply minted to the holder (account #0).
pub const SUPPLY: u128 = 1_000_000;

/// Repository root (the e2e crate lives in `<repo>/tests`).
pub fn repo_root() -> PathBuf {
    // Cargo sets CARGO_MANIFEST_DIR when it runs the tests; prefer it to the value baked in at
    // compile time, which a target directory shared by two checkouts of the repo can carry over
    // from the other one (cargo relocates workspace builds without rebuilding them).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Logs to the test output when `RUST_LOG` is set.
/// The comma-separated sizes in the environment variable `name` (else `default`), for the
/// ignored measurements' `ZKTHREAD_*` knobs.
pub fn sizes_from_env(name: &str, default: &str) -> Result<Vec<usize>> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().parse::<usize>().with_context(|| format!("{name}: comma-separated sizes")))
        .collect()
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Compiles the packages the tests deploy, once per test process (the front-end only if a
/// Cairo source changed since the last build, so per-test processes under nextest stay fast).
pub fn contracts() -> Result<&'static [ContractArtifact]> {
    static CONTRACTS: OnceLock<std::result::Result<Vec<ContractArtifact>, String>> =
        OnceLock::new();
    CONTRACTS
        .get_or_init(|| {
            let options = BuildOptions {
                rebuild: Rebuild::IfStale,
                packages: [
                    REGISTRY.0,
                    TOKEN.0,
                    VERIFIER.0,
                    SIGNED_AIR.0,
                    SIGNED_VERIFIER.0,
                    LIST_AIR.0,
                    LIST_VERIFIER.0,
                    ORDERBOOK_AIR.0,
                    ORDERBOOK_VERIFIER.0,
                    ORDERBOOK.0,
                ]
                .map(String::from)
                .to_vec(),
            };
            build_contracts_with(&repo_root(), &options).map_err(|error| error.to_string())
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|error| anyhow!("building the contracts failed: {error}"))
}

/// The artifact of `package`'s contract named `contract`.
pub fn artifact(package: &str, contract: &str) -> Result<&'static ContractArtifact> {
    let all = contracts()?;
    all.iter()
        .find(|a| a.package == package && a.contract == contract)
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(ContractArtifact::id).collect();
            anyhow!("no contract {package}_{contract}; built: {names:?}")
        })
}

/// The test-only Cairo package (`tests/cairo`, its own Scarb.toml): classes that exist to attack
/// the registry and must never be deployed outside tests.
pub const TEST_DOUBLES_PACKAGE: &str = "zkthread_test_doubles";
/// A verifier class whose `verify` tries the attack its "proof" names, then accepts.
pub const HOSTILE_VERIFIER: (&str, &str) = (TEST_DOUBLES_PACKAGE, "HostileVerifierTestDouble");

/// Compiles the test-only package `tests/cairo` into `tests/cairo/target/dev`, once per test
/// process. Always through the front-end: the package depends on `contracts/thread`, which the
/// build's staleness check (it watches the package's own tree) does not see.
pub fn test_doubles() -> Result<&'static [ContractArtifact]> {
    static DOUBLES: OnceLock<std::result::Result<Vec<ContractArtifact>, String>> = OnceLock::new();
    DOUBLES
        .get_or_init(|| {
            let options = BuildOptions {
                rebuild: Rebuild::Always,
                packages: vec![TEST_DOUBLES_PACKAGE.to_owned()],
            };
            build_contracts_with(&repo_root().join("tests/cairo"), &options)
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|error| anyhow!("building the test doubles failed: {error}"))
}

/// The artifact of a test-only contract (`which` = (package, contract)).
pub fn test_double(which: (&str, &str)) -> Result<&'static ContractArtifact> {
    test_doubles()?
        .iter()
        .find(|a| a.package == which.0 && a.contract == which.1)
        .ok_or_else(|| anyhow!("no test double {}_{}", which.0, which.1))
}

/// An embedded devnet and a client signing as one of its predeployed accounts.
pub struct Chain {
    pub devnet: Devnet,
    pub client: ChainClient,
}

impl Chain {
    /// Starts a devnet (seed 0) and signs as account #`index`.
    pub async fn start(index: usize) -> Result<Self> {
        Self::start_with(index, EmbeddedOptions::default()).await
    }

    /// Starts a devnet with `options` and signs as account #`index`.
    pub async fn start_with(index: usize, options: EmbeddedOptions) -> Result<Self> {
        let devnet = Devnet::start_embedded_with(options)
            .await
            .context("starting the embedded devnet")?;
        let client = client_for(&devnet, index)?;
        Ok(Self { devnet, client })
    }

    /// Another client on the same devnet, signing as account #`index`.
    pub fn client(&self, index: usize) -> Result<ChainClient> {
        client_for(&self.devnet, index)
    }
}

fn client_for(devnet: &Devnet, index: usize) -> Result<ChainClient> {
    let account = devnet
        .account(index)
        .ok_or_else(|| anyhow!("no predeployed account #{index}"))?;
    let chain_id = devnet
        .chain_id()
        .ok_or_else(|| anyhow!("embedded devnet without chain id"))?;
    Ok(ChainClient::with_chain_id(
        devnet.url().clone(),
        account.address,
        account.private_key,
        chain_id,
    ))
}

/// Registry + token deployed, OS version and program registered, one thread over the token.
pub struct ThreadWorld {
    pub chain: Chain,
    pub registry: Registry,
    pub token: Token,
    pub thread_id: u64,
    pub os_version: Felt,
    pub program_hash: Felt,
    /// Account #0: deployer, registry owner, thread admin, token holder.
    pub holder: Felt,
}

/// Names of the contracts the world uses (package, contract).
pub const REGISTRY: (&str, &str) = ("registry", "ThreadRegistry");
pub const TOKEN: (&str, &str) = ("token", "ThreadToken");
/// Reads a token balance with `balance_of` and records it (another contract seeing thread state).
pub const BALANCE_READER: (&str, &str) = ("token", "BalanceReader");
/// The thread program: the Cairo verifier of token-transfer sub-block proofs (DEFAULT params).
pub const VERIFIER: (&str, &str) = ("thread_verifier", "ThreadVerifier");
/// The signed thread program: the Cairo verifier of signed-transfer sub-block proofs (DEFAULT
/// params; chain id and caller enter its statement).
pub const SIGNED_VERIFIER: (&str, &str) = ("signed_verifier", "SignedVerifier");
/// The signed AIR's class, which `SignedVerifier` library-calls for the composition at the OODS
/// point (its hash is a constant of the verifier's code): declared before the verifier.
pub const SIGNED_AIR: (&str, &str) = ("signed_air", "SignedAir");

/// The token list program: the Cairo verifier of signed transfer lists (one signature per list
/// of a sender's transfers; the token's statement and parameters).
pub const LIST_VERIFIER: (&str, &str) = ("list_verifier", "ListVerifier");
/// The list AIR's class, which `ListVerifier` library-calls (declared before it).
pub const LIST_AIR: (&str, &str) = ("list_air", "ListAir");

/// The order-book thread program: the Cairo verifier of order-book sub-block proofs.
pub const ORDERBOOK_VERIFIER: (&str, &str) = ("orderbook_verifier", "OrderBookVerifier");
/// The order book's AIR classes, which `OrderBookVerifier` library-calls (declared before it):
/// the fill's first constraints, then the rest.
pub const ORDERBOOK_FILL_AIR: (&str, &str) = ("orderbook_air", "OrderBookFillAir");
pub const ORDERBOOK_AIR: (&str, &str) = ("orderbook_air", "OrderBookAir");
/// The order book contract (`contracts/programs/orderbook/orderbook`).
pub const ORDERBOOK: (&str, &str) = ("orderbook", "OrderBook");

/// The classes `program` library-calls, to declare before it (none for a class that calls
/// nothing).
pub fn libraries_of(program: &ContractArtifact) -> Result<Vec<&'static ContractArtifact>> {
    let id = (program.package.as_str(), program.contract.as_str());
    if id == SIGNED_VERIFIER {
        Ok(vec![artifact(SIGNED_AIR.0, SIGNED_AIR.1)?])
    } else if id == LIST_VERIFIER {
        Ok(vec![artifact(LIST_AIR.0, LIST_AIR.1)?])
    } else if id == ORDERBOOK_VERIFIER {
        Ok(vec![artifact(ORDERBOOK_FILL_AIR.0, ORDERBOOK_FILL_AIR.1)?, artifact(ORDERBOOK_AIR.0, ORDERBOOK_AIR.1)?])
    } else {
        Ok(vec![])
    }
}

impl ThreadWorld {
    /// The thread's signed statement at its next on-chain sequence, its lists and transaction
    /// list empty: what a signed sub-block of it is batched and proven under.
    pub async fn next_statement(&self) -> Result<zkthread_token::SignedPublicInput> {
        // The thread's record holds its next sequence, OS version and program hash.
        let info = self.registry.thread(self.client(), self.thread_id).await?;
        Ok(zkthread_engine::program::thread_statement(
            &info,
            self.chain.devnet.chain_id().context("chain id")?,
            self.registry.address,
            self.thread_id,
        ))
    }

    /// Deploys the world with the thread running `program`: its class is declared first, after
    /// the classes it library-calls ([`libraries_of`]; the token accepts it from deployment,
    /// and registering it deploys its verifier instance), then
    /// the registry and the token, then the OS version and program are registered and the
    /// thread is created.
    pub async fn deploy_with_program(program: &ContractArtifact) -> Result<Self> {
        Self::deploy_declaring(program, EmbeddedOptions::default()).await
    }

    async fn deploy_declaring(program: &ContractArtifact, options: EmbeddedOptions) -> Result<Self> {
        let registry_artifact = artifact(REGISTRY.0, REGISTRY.1)?;
        let token_artifact = artifact(TOKEN.0, TOKEN.1)?;

        let chain = Chain::start_with(0, options).await?;
        let client = &chain.client;
        let holder = client.address();

        let mut classes = libraries_of(program)?;
        classes.extend([program, registry_artifact, token_artifact]);
        for artifact in classes {
            let declared = client
                .declare(artifact)
                .await
                .with_context(|| format!("declare {}", artifact.id()))?;
            // The node computes the class hash itself: it must be the one we computed.
            anyhow::ensure!(
                declared.class_hash == artifact.class_hash,
                "class hash differs for {}",
                artifact.id()
            );
        }
        let program_hash = program.class_hash;
        let (registry, _) =
            Registry::deploy(client, registry_artifact.class_hash, holder, Felt::ONE)
                .await
                .context("deploy registry")?;
        let config = TokenConfig {
            registry: registry.address,
            owner: holder,
            programs: vec![program_hash],
            name: "Thread Token".into(),
            symbol: "THR".into(),
            initial_holder: holder,
            supply: SUPPLY,
        };
        let (token, _) = Token::deploy(client, token_artifact.class_hash, &config, Felt::ONE)
            .await
            .context("deploy token")?;

        let os_version = Felt::from(OS_VERSION);
        let thread = NewThread {
            os_version,
            program_hash,
            contracts: vec![token.address],
            admin: holder,
            provers: vec![],
        };
        let (thread_id, _) = registry
            .open_thread(client, &thread)
            .await
            .context("opening the thread")?;
        Ok(Self {
            chain,
            registry,
            token,
            thread_id,
            os_version,
            program_hash,
            holder,
        })
    }

    /// Deploys the world with the thread bound to the real verifier: the `ThreadVerifier` class
    /// is declared and its class hash becomes the thread's `program_hash`.
    ///
    /// The devnet keeps Starknet's class-size limits (81,920 CASM felts): the verifier class
    /// must fit them (`harness/air-codegen/tests/contract_size.rs` guards it).
    pub async fn deploy_with_verifier() -> Result<Self> {
        Self::deploy_with_program(artifact(VERIFIER.0, VERIFIER.1)?).await
    }

    pub fn client(&self) -> &ChainClient {
        &self.chain.client
    }

    /// Moves thread `thread_id` to another program, as its admin may at any time: `ThreadVerifier`
    /// (declared here) under OS version 2, which the thread's `contracts` accept first, then
    /// `upgrade_thread`, in one transaction. What a prover's in-flight work meets when the
    /// thread's program changes; returns the new program hash.
    pub async fn upgrade_to_thread_verifier(&self, thread_id: u64, contracts: &[Felt]) -> Result<Felt> {
        let newer = artifact(VERIFIER.0, VERIFIER.1)?;
        self.client().declare(newer).await.context("declare ThreadVerifier")?;
        let os_2 = Felt::TWO;
        let mut calls = vec![
            self.registry.register_os_version_call(os_2)?,
            self.registry.register_program_call(os_2, newer.class_hash)?,
        ];
        for &address in contracts {
            calls.push(Token { address }.set_program_accepted_call(newer.class_hash, true)?);
        }
        calls.push(self.registry.upgrade_thread_call(thread_id, os_2, newer.class_hash)?);
        self.client().invoke(calls, FeeMode::default()).await?.require_success("upgrade_thread")?;
        Ok(newer.class_hash)
    }

    /// The world's thread, as settlements address it.
    pub fn thread(&self) -> ThreadRef {
        self.thread_with_id(self.thread_id)
    }

    /// Another thread of this world's registry, with the world's OS version and program.
    pub fn thread_with_id(&self, thread_id: u64) -> ThreadRef {
        ThreadRef {
            registry: self.registry,
            thread_id,
            os_version: self.os_version,
            program_hash: self.program_hash,
        }
    }

    /// Opens one more thread over `contracts` (any order) with the world's OS version and
    /// program, admin = the holder, no prover allowlist.
    pub async fn open_thread(&self, contracts: &[Felt]) -> Result<ThreadRef> {
        let mut contracts = contracts.to_vec();
        contracts.sort();
        let thread = NewThread {
            os_version: self.os_version,
            program_hash: self.program_hash,
            contracts,
            admin: self.holder,
            provers: vec![],
        };
        let (thread_id, _) = self
            .registry
            .open_thread(self.client(), &thread)
            .await
            .context("opening another thread")?;
        Ok(self.thread_with_id(thread_id))
    }

    /// Addresses of the devnet's first `n` predeployed accounts (#0 is the holder).
    pub fn accounts(&self, n: usize) -> Vec<Felt> {
        self.chain
            .devnet
            .accounts()
            .iter()
            .take(n)
            .map(|a| a.address)
            .collect()
    }

    /// Deploys another `ThreadToken` on this world's registry (in no thread yet) accepting the
    /// world's program, all of its supply held by the holder, who is also its thread owner.
    pub async fn deploy_token(&self, symbol: &str, salt: Felt) -> Result<Token> {
        self.deploy_token_accepting(self.client(), symbol, salt, &[self.program_hash])
            .await
    }

    /// Deploys a `ThreadToken` on this world's registry from `deployer` (its thread owner and
    /// the holder of its supply), accepting exactly `programs`.
    pub async fn deploy_token_accepting(
        &self,
        deployer: &ChainClient,
        symbol: &str,
        salt: Felt,
        programs: &[Felt],
    ) -> Result<Token> {
        let config = TokenConfig {
            registry: self.registry.address,
            owner: deployer.address(),
            programs: programs.to_vec(),
            name: format!("Token {symbol}"),
            symbol: symbol.into(),
            initial_holder: deployer.address(),
            supply: SUPPLY,
        };
        let (token, _) = Token::deploy(
            deployer,
            artifact(TOKEN.0, TOKEN.1)?.class_hash,
            &config,
            salt,
        )
        .await
        .with_context(|| format!("deploy token {symbol}"))?;
        Ok(token)
    }

    /// Declares and deploys a [`BalanceReader`].
    pub async fn deploy_balance_reader(&self) -> Result<BalanceReader> {
        let artifact = artifact(BALANCE_READER.0, BALANCE_READER.1)?;
        self.client()
            .declare(artifact)
            .await
            .context("declare BalanceReader")?;
        let deployed = self
            .client()
            .deploy(artifact.class_hash, vec![], Felt::ONE)
            .await
            .context("deploy BalanceReader")?;
        Ok(BalanceReader {
            address: deployed.address,
        })
    }
}

/// A deployed `BalanceReader` (`contracts/programs/token/token/src/balance_reader.cairo`).
#[derive(Clone, Copy, Debug)]
pub struct BalanceReader {
    pub address: Felt,
}

impl BalanceReader {
    /// Invokes `record(token, account)`: the contract reads `balance_of` in this transaction.
    /// Returns the outcome and the balance its `BalanceSeen` event reports.
    pub async fn record(
        &self,
        client: &ChainClient,
        token: Felt,
        account: Felt,
    ) -> Result<(TxOutcome, u128)> {
        let call = client::call(self.address, "record", vec![token, account])?;
        let outcome = client
            .invoke(vec![call], FeeMode::default())
            .await?
            .require_success("BalanceReader.record")?;
        // BalanceSeen: keys [selector, token, account], data [balance, index].
        let seen = client::selector("BalanceSeen")?;
        let event = outcome
            .events
            .iter()
            .find(|e| e.from_address == self.address && e.keys.first() == Some(&seen))
            .ok_or_else(|| anyhow!("record emitted no BalanceSeen"))?;
        anyhow::ensure!(
            event.keys[1..] == [token, account],
            "BalanceSeen for another balance: {:?}",
            event.keys
        );
        let balance = event
            .data
            .first()
            .and_then(|b| u128::try_from(*b).ok())
            .ok_or_else(|| anyhow!("BalanceSeen data {:?}", event.data))?;
        Ok((outcome, balance))
    }

    /// The balance the last `record(token, account)` stored.
    pub async fn last_seen(
        &self,
        client: &ChainClient,
        token: Felt,
        account: Felt,
    ) -> Result<u128> {
        let words = client
            .call(self.address, "last_seen", vec![token, account])
            .await?;
        Ok(client::calldata::single(&words, "last_seen")?)
    }
}

/// Hand-set bounds for transactions expected to revert (estimation would refuse them): ample
/// L2 gas, small L1 amounts, at twice the current prices.
pub async fn revert_bounds(client: &ChainClient) -> Result<ResourceBounds> {
    Ok(client
        .bounds_at_current_prices(0, 50_000_000, 2_000, 2)
        .await?)
}
