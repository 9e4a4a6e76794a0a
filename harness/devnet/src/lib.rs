//! A Starknet node for zkthreads: starknet-devnet embedded in-process (the default), or an
//! external JSON-RPC node reached by URL.
//!
//! The embedded devnet runs on its own OS thread with its own tokio runtime, so a [`Devnet`] does
//! not depend on the caller's runtime: it can be shared by tests or a CLI, and dropping it from
//! any context (async or not) stops the server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use starknet_devnet_core::starknet::starknet_config::{ClassSizeConfig, StarknetConfig};
use starknet_devnet_core::starknet::Starknet;
use starknet_devnet_server::api::{Api, JsonRpcHandler};
use starknet_devnet_server::server::serve_http_json_rpc;
use starknet_devnet_server::ServerConfig;
pub use starknet_types_core::felt::Felt;
use tokio::sync::oneshot;
use url::Url;

/// Seed whose account #0 is the well-known OpenZeppelin account used across the project docs.
pub const DEFAULT_SEED: u32 = 0;
/// Fee token (STRK) address on devnet and on Starknet networks.
pub const STRK_FEE_TOKEN_ADDRESS: Felt =
    Felt::from_hex_unchecked("0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d");
/// Seconds a JSON-RPC request may take before the server answers 408. Generous: debug builds
/// execute declares slowly.
const REQUEST_TIMEOUT_SECS: u16 = 300;

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("devnet state could not be created: {0}")]
    Create(String),
    #[error("could not bind the devnet JSON-RPC port on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not start a tokio runtime for the devnet: {0}")]
    Runtime(std::io::Error),
    #[error("could not spawn the devnet thread: {0}")]
    Thread(std::io::Error),
    #[error("the devnet thread ended before reporting that it started")]
    ThreadEnded,
    #[error("invalid node URL {url:?}: {source}")]
    Url {
        url: String,
        source: url::ParseError,
    },
    #[error("invalid felt {value:?} for {what}")]
    Felt { what: &'static str, value: String },
}

pub type Result<T, E = DevnetError> = std::result::Result<T, E>;

/// An account the node knows the key of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetAccount {
    pub address: Felt,
    pub private_key: Felt,
    /// Known for predeployed accounts of an embedded devnet; `None` for an external node.
    pub public_key: Option<Felt>,
}

/// Settings of an embedded devnet. The default is seed 0, 10 funded accounts.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    pub seed: u32,
    pub total_accounts: u8,
    /// Port on 127.0.0.1; 0 picks a free one (what tests want: they run in parallel).
    pub port: u16,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            total_accounts: 10,
            port: 0,
        }
    }
}

/// What the server thread reports once it listens.
struct Started {
    addr: SocketAddr,
    accounts: Vec<DevnetAccount>,
    chain_id: Felt,
}

struct EmbeddedServer {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedServer {
    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The receiver is gone only if the server already ended: nothing to stop then.
            let _ = shutdown.send(());
        }
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("devnet server thread panicked");
            }
        }
    }
}

/// A Starknet JSON-RPC node plus the accounts zkthreads may sign with.
pub struct Devnet {
    url: Url,
    accounts: Vec<DevnetAccount>,
    /// Known up front for an embedded devnet; ask the node otherwise.
    chain_id: Option<Felt>,
    embedded: Option<EmbeddedServer>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("url", &self.url.as_str())
            .field("accounts", &self.accounts.len())
            .field("embedded", &self.embedded.is_some())
            .finish()
    }
}

impl Devnet {
    /// Starts starknet-devnet in-process with seed 0 on a free loopback port.
    pub async fn start_embedded() -> Result<Self> {
        Self::start_embedded_with(EmbeddedOptions::default()).await
    }

    /// Starts starknet-devnet in-process. Returns once the server accepts connections.
    pub async fn start_embedded_with(options: EmbeddedOptions) -> Result<Self> {
        let began = Instant::now();
        let (started_tx, started_rx) = oneshot::channel::<Result<Started>>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("zkthread-devnet".into())
            .spawn(move || run_server(options, started_tx, shutdown_rx))
            .map_err(DevnetError::Thread)?;
        let mut server = EmbeddedServer {
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        };
        let started = match started_rx.await {
            Ok(Ok(started)) => started,
            Ok(Err(error)) => {
                server.join();
                return Err(error);
            }
            Err(_) => {
                server.join();
                return Err(DevnetError::ThreadEnded);
            }
        };
        let url = parse_url(&format!("http://{}/rpc", started.addr))?;
        tracing::info!(%url, elapsed_ms = began.elapsed().as_millis() as u64, "embedded devnet started");
        Ok(Self {
            url,
            accounts: started.accounts,
            chain_id: Some(started.chain_id),
            embedded: Some(server),
        })
    }

    /// Uses an external node (e.g. `starknet-devnet --seed 0` or a testnet RPC) with one account.
    pub fn connect(url: &str, account_address: Felt, private_key: Felt) -> Result<Self> {
        Ok(Self {
            url: parse_url(url)?,
            accounts: vec![DevnetAccount {
                address: account_address,
                private_key,
                public_key: None,
            }],
            chain_id: None,
            embedded: None,
        })
    }

    /// Like [`Devnet::connect`] with the address and key given as hex strings (CLI input).
    pub fn connect_hex(url: &str, account_address: &str, private_key: &str) -> Result<Self> {
        let address = parse_felt("account address", account_address)?;
        let key = parse_felt("private key", private_key)?;
        Self::connect(url, address, key)
    }

    /// JSON-RPC endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Accounts with known keys: the predeployed ones (embedded) or the one given to `connect`.
    pub fn accounts(&self) -> &[DevnetAccount] {
        &self.accounts
    }

    /// Account `index`, if there is one.
    pub fn account(&self, index: usize) -> Option<&DevnetAccount> {
        self.accounts.get(index)
    }

    /// Chain id when known without asking the node (embedded devnet).
    pub fn chain_id(&self) -> Option<Felt> {
        self.chain_id
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Stops an embedded devnet and waits for its thread; does nothing for an external node.
    /// Blocks briefly (runtime shutdown), so call it outside hot async paths.
    pub fn stop(mut self) {
        if let Some(server) = self.embedded.as_mut() {
            server.stop();
            server.join();
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        // Only signal: joining here could block an async caller. The thread tears its runtime
        // down (aborting the server task) right after the signal.
        if let Some(server) = self.embedded.as_mut() {
            server.stop();
        }
    }
}

fn parse_url(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|source| DevnetError::Url {
        url: url.to_owned(),
        source,
    })
}

fn parse_felt(what: &'static str, value: &str) -> Result<Felt> {
    Felt::from_hex(value.trim()).map_err(|_| DevnetError::Felt {
        what,
        value: value.to_owned(),
    })
}

/// Body of the devnet thread: build the state, bind, report, serve until told to stop.
fn run_server(
    options: EmbeddedOptions,
    started: oneshot::Sender<Result<Started>>,
    shutdown: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("zkthread-devnet-rt")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = started.send(Err(DevnetError::Runtime(error)));
            return;
        }
    };
    runtime.block_on(async move {
        let config = StarknetConfig {
            seed: options.seed,
            total_accounts: options.total_accounts,
            // Starknet's declare limits (81,920 CASM felts, 81,920 Sierra felts, 4,089,446
            // bytes): the verifier class must fit them as it would on mainnet.
            class_size_config: ClassSizeConfig::default(),
            ..StarknetConfig::default()
        };
        let starknet = match Starknet::new(&config) {
            Ok(starknet) => starknet,
            Err(error) => {
                let _ = started.send(Err(DevnetError::Create(error.to_string())));
                return;
            }
        };
        let accounts = starknet
            .get_predeployed_accounts()
            .into_iter()
            .map(|account| DevnetAccount {
                address: account.account_address.into(),
                private_key: account.keys.private_key,
                public_key: Some(account.keys.public_key),
            })
            .collect();
        let chain_id = starknet.chain_id().to_felt();

        let bind_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), options.port);
        let listener = match tokio::net::TcpListener::bind(bind_addr).await {
            Ok(listener) => listener,
            Err(source) => {
                let _ = started.send(Err(DevnetError::Bind {
                    addr: bind_addr,
                    source,
                }));
                return;
            }
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(source) => {
                let _ = started.send(Err(DevnetError::Bind {
                    addr: bind_addr,
                    source,
                }));
                return;
            }
        };
        let server_config = ServerConfig {
            host: addr.ip(),
            port: addr.port(),
            timeout: REQUEST_TIMEOUT_SECS,
            log_request: false,
            log_response: false,
            restricted_methods: None,
            ui_enabled: false,
        };
        let handler = JsonRpcHandler::new(Api::new(starknet, server_config.clone()));
        let server = serve_http_json_rpc(listener, &server_config, handler).await;
        // The listener is bound already, so clients may connect as soon as we report.
        let serving = tokio::spawn(std::future::IntoFuture::into_future(server));
        if started
            .send(Ok(Started {
                addr,
                accounts,
                chain_id,
            }))
            .is_err()
        {
            serving.abort();
            return;
        }
        tokio::select! {
            result = serving => match result {
                Ok(Ok(())) => tracing::warn!("devnet server ended by itself"),
                Ok(Err(error)) => tracing::error!(%error, "devnet server failed"),
                Err(error) => tracing::error!(%error, "devnet server task failed"),
            },
            // A dropped sender (Devnet dropped without stop) also means stop.
            _ = shutdown => tracing::debug!("devnet stopping"),
        }
    });
    // Dropping the runtime aborts the server task and any open connections; don't wait long
    // for in-flight requests.
    runtime.shutdown_timeout(Duration::from_secs(1));
}
