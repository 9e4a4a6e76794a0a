//! `zkthread serve`: a thread's batcher as a service. Wallets and apps post signed transfers
//! to a JSON HTTP API ([`api`]); each is checked (signature, nonce, key, contract set) and
//! durably stored before the answer; the [`pipeline`] batches, proves and settles them with
//! the same engine the CLI uses (`zkthread_engine`).
//!
//! The service trusts no client: a transfer is only stored once its signature verifies under
//! the sender's next key at its next nonce, and everything the engine checks before settling
//! is checked again by the registry on-chain. A client must not trust the service either: it
//! signs with its own key file, reads the chain id from its own node, and can only be delayed
//! or refused by a dishonest service, never robbed (a signature binds chain, registry, thread,
//! token, receiver, amount and nonce).

pub mod api;
pub mod pipeline;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use zkthread_client::ChainClient;
use zkthread_engine::Observer;
use zkthread_store::{Store, ThreadKey};

pub use pipeline::PipelineConfig;

/// What the handlers and the pipeline share.
pub struct Shared {
    /// The prover's account (it pays for settlements) and the node reads.
    pub client: ChainClient,
    pub store: Store,
    pub thread: ThreadKey,
    /// Serializes admissions (see `zkthread_engine::submit`).
    pub admission: tokio::sync::Mutex<()>,
    /// Wakes an idle pipeline when a transfer arrives.
    pub wake: Notify,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(client: ChainClient, store: Store, thread: ThreadKey) -> Self {
        Shared {
            client,
            store,
            thread,
            admission: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            last_error: Mutex::new(None),
        }
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_last_error(&self, error: Option<String>) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = error;
    }
}

/// A bound, not yet running service.
pub struct Service {
    shared: Arc<Shared>,
    listener: TcpListener,
}

impl Service {
    /// Binds `listen` (port 0 picks a free one: see [`Service::local_addr`]).
    pub async fn bind(shared: Shared, listen: SocketAddr) -> std::io::Result<Self> {
        Ok(Service {
            shared: Arc::new(shared),
            listener: TcpListener::bind(listen).await?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves the API and runs the pipeline (its progress to `observer`, e.g.
    /// `zkthread_engine::Logged`) until `shutdown` completes. Stopping mid-step is
    /// safe: every step is durable before the next.
    pub async fn run(
        self,
        pipeline: PipelineConfig,
        observer: Arc<dyn Observer>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let worker = tokio::spawn(pipeline::run(self.shared.clone(), pipeline, observer));
        let served = axum::serve(self.listener, api::router(self.shared))
            .with_graceful_shutdown(shutdown)
            .await;
        worker.abort();
        served
    }
}
