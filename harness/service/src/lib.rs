//! `zkthread serve`: a thread's batcher as a service. Wallets and apps post signed transfers
//! (or, on a thread of the list program, signed lists of a sender's transfers) to a JSON HTTP
//! API ([`api`]); each is checked (signature, nonce, key, contract set) and
//! durably stored before the answer; the [`pipeline`] batches, proves and settles them with
//! the same engine the CLI uses (`zkthread_engine`). An order-book thread is served by
//! [`book`] instead: signed order messages in, the same store, the same batch -> prove ->
//! settle engine (`zkthread_engine::orderbook::pipeline`).
//!
//! The service trusts no client: a transfer is only stored once its signature verifies under
//! the sender's next key at its next nonce, and everything the engine checks before settling
//! is checked again by the registry on-chain. A client must not trust the service either: it
//! signs with its own key file, reads the chain id from its own node, and can only be delayed
//! or refused by a dishonest service, never robbed (a signature binds chain, registry, thread,
//! token, receiver, amount and nonce).

pub mod api;
pub mod book;
pub mod http;
pub mod pipeline;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use zkthread_client::{ChainClient, Felt};
use zkthread_engine::adaptive::AdaptiveInputCheck;
use zkthread_engine::settle::InputCheck;
use zkthread_engine::{thread_contracts, Observer, SettleOptions, SubmitError};
use zkthread_store::{MessageBody, NewTransfer, NewTransferList, Store, ThreadKey};

pub use http::HttpLimits;
pub use pipeline::PipelineConfig;

/// How long admission trusts the contract set it read.
pub const CONTRACT_SET_TTL: Duration = Duration::from_secs(30);

/// What the handlers and the pipeline share, for a thread of the token program whose
/// messages are `M` (single signed transfers, or signed lists).
pub struct Shared<M = NewTransfer> {
    /// The prover's account (it pays for settlements) and the node reads.
    pub client: ChainClient,
    pub store: Store<M>,
    pub thread: ThreadKey,
    /// Serializes admissions (see `zkthread_engine::submit`).
    pub admission: tokio::sync::Mutex<()>,
    /// Wakes an idle pipeline when a transfer arrives.
    pub wake: Notify,
    last_error: LastError,
    /// The settle entry point the operator configured (the pipeline adapts from it).
    pub(crate) settle_entry: SettleEntry,
    /// The thread's contract set and when it was read (admission checks tokens against it).
    contracts: tokio::sync::Mutex<Option<(Instant, Vec<Felt>)>>,
}

impl<M: MessageBody> Shared<M> {
    pub fn new(client: ChainClient, store: Store<M>, thread: ThreadKey) -> Self {
        Shared {
            client,
            store,
            thread,
            admission: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            last_error: LastError::default(),
            settle_entry: SettleEntry::default(),
            contracts: tokio::sync::Mutex::new(None),
        }
    }

    /// The thread's contract set, read from the registry at most every [`CONTRACT_SET_TTL`]:
    /// one node read less per admission. A set changed since is caught by the batcher, which
    /// reads it again for every sub-block.
    pub async fn contracts(&self) -> Result<Vec<Felt>, SubmitError> {
        let mut cached = self.contracts.lock().await;
        if let Some((read_at, contracts)) = cached.as_ref() {
            if read_at.elapsed() < CONTRACT_SET_TTL {
                return Ok(contracts.clone());
            }
        }
        let contracts = thread_contracts(&self.client, self.thread).await?;
        *cached = Some((Instant::now(), contracts.clone()));
        Ok(contracts)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.get()
    }

    fn set_last_error(&self, error: Option<String>) {
        self.last_error.set(error);
    }

    /// The entry point the pipeline settles with now (`zkthread_engine::adaptive`).
    pub fn settle_entry(&self) -> Result<AdaptiveInputCheck, zkthread_engine::EngineError> {
        self.settle_entry.of_thread(&self.store, self.thread)
    }
}

/// The pipeline's last failure (cleared by its next success), shown by the status routes.
#[derive(Debug, Default)]
pub struct LastError(Mutex<Option<String>>);

impl LastError {
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set(&self, error: Option<String>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = error;
    }
}

/// The settle entry point the operator configured (`serve --inputs-first`, set by the
/// pipeline as it starts); where the pipeline settles now follows from it and the thread's
/// store (`zkthread_engine::adaptive`), for the pipeline and the status routes alike.
#[derive(Debug, Default)]
pub struct SettleEntry(Mutex<InputCheck>);

impl SettleEntry {
    pub fn set_configured(&self, configured: InputCheck) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = configured;
    }

    pub fn configured(&self) -> InputCheck {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry point for the thread's next settlement.
    pub fn of_thread<M: MessageBody>(&self, store: &Store<M>, key: ThreadKey) -> Result<AdaptiveInputCheck, zkthread_engine::EngineError> {
        AdaptiveInputCheck::of_thread(self.configured(), store, key)
    }

    /// The entry point given the thread's settlements since its last stale revert (the
    /// store's `Overview`, read by a status route in one transaction).
    pub fn after(&self, settled_since_stale_revert: Option<u64>) -> AdaptiveInputCheck {
        AdaptiveInputCheck::after(self.configured(), settled_since_stale_revert)
    }

    /// Runs one settle step (`settle`, given `base` through the entry point the thread's store
    /// gives now) and logs a change of entry point it made: a stale revert, or the window's end.
    pub(crate) async fn settling<M: MessageBody, T, F: Future<Output = T>>(
        &self,
        store: &Store<M>,
        key: ThreadKey,
        base: SettleOptions,
        settle: impl FnOnce(SettleOptions) -> F,
    ) -> Result<T, String> {
        let before = self.of_thread(store, key).map_err(|e| e.to_string())?;
        let settled = settle(SettleOptions { input_check: before.current(), ..base }).await;
        // A store that cannot be read now is reported by the next step's read.
        if let Ok(after) = self.of_thread(store, key) {
            if before.current() != after.current() {
                match after.inputs_first_left() {
                    Some(left) => tracing::warn!(
                        left,
                        "a settlement reverted on a stale input: the next ones check every input before the proof (`settle_checking_inputs_first`)"
                    ),
                    None => tracing::info!(
                        calm = zkthread_engine::adaptive::CALM_SETTLEMENTS,
                        "no stale revert for a while: settling through `settle` again"
                    ),
                }
            }
        }
        Ok(settled)
    }
}

/// Which program's API and pipeline a [`Service`] runs.
enum App {
    Token(Arc<Shared>),
    Lists(Arc<Shared<NewTransferList>>),
    Book(Arc<book::BookShared>),
}

/// A bound, not yet running service.
pub struct Service {
    app: App,
    listener: TcpListener,
    limits: HttpLimits,
}

impl Service {
    /// Binds `listen` (port 0 picks a free one: see [`Service::local_addr`]).
    pub async fn bind(shared: Shared, listen: SocketAddr) -> std::io::Result<Self> {
        Ok(Service {
            app: App::Token(Arc::new(shared)),
            listener: TcpListener::bind(listen).await?,
            limits: HttpLimits::default(),
        })
    }

    /// Binds `listen` for a thread of the token's list program: `POST /lists` instead of
    /// `POST /transfers`, the same pipeline.
    pub async fn bind_lists(shared: Shared<NewTransferList>, listen: SocketAddr) -> std::io::Result<Self> {
        Ok(Service {
            app: App::Lists(Arc::new(shared)),
            listener: TcpListener::bind(listen).await?,
            limits: HttpLimits::default(),
        })
    }

    /// Binds `listen` for an order-book thread: the [`book`] API and pipeline.
    pub async fn bind_book(shared: book::BookShared, listen: SocketAddr) -> std::io::Result<Self> {
        Ok(Service {
            app: App::Book(Arc::new(shared)),
            listener: TcpListener::bind(listen).await?,
            limits: HttpLimits::default(),
        })
    }

    /// Serves within `limits` instead of [`HttpLimits::default`].
    pub fn with_http_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
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
        // Before the pipeline runs, so a status route never shows another entry point.
        match &self.app {
            App::Token(shared) => shared.settle_entry.set_configured(pipeline.settle.input_check),
            App::Lists(shared) => shared.settle_entry.set_configured(pipeline.settle.input_check),
            App::Book(shared) => shared.settle_entry.set_configured(pipeline.settle.input_check),
        }
        let (worker, router) = match self.app {
            App::Token(shared) => (
                tokio::spawn(pipeline::run(shared.clone(), pipeline, observer)),
                api::router(shared),
            ),
            App::Lists(shared) => (
                tokio::spawn(pipeline::run(shared.clone(), pipeline, observer)),
                api::lists_router(shared),
            ),
            App::Book(shared) => (
                tokio::spawn(book::run_pipeline(shared.clone(), pipeline, observer)),
                book::router(shared),
            ),
        };
        serve_beside(self.listener, router, self.limits, worker, shutdown).await
    }
}

/// Serves `router` until `shutdown` completes, while `worker` (the pipeline, which never
/// returns on its own) runs. If the worker ends first — a panic is a bug — the service stops
/// with an error naming it instead of answering 202 to messages nobody would batch (and
/// `/health` "ok"); the data directory is consistent at every step, so a restart resumes.
async fn serve_beside(
    listener: TcpListener,
    router: axum::Router,
    limits: HttpLimits,
    mut worker: tokio::task::JoinHandle<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = http::serve(listener, router, limits, http::SHUTDOWN_GRACE, shutdown);
    tokio::select! {
        served = server => {
            worker.abort();
            served
        }
        ended = &mut worker => {
            let why = match ended {
                Ok(()) => "it returned".to_string(),
                Err(error) if error.is_panic() => match error.into_panic().downcast::<String>() {
                    Ok(message) => format!("it panicked: {message}"),
                    Err(payload) => match payload.downcast::<&'static str>() {
                        Ok(message) => format!("it panicked: {message}"),
                        Err(_) => "it panicked".to_string(),
                    },
                },
                Err(error) => error.to_string(),
            };
            tracing::error!(%why, "the batcher's pipeline stopped");
            Err(std::io::Error::other(format!(
                "the batcher's pipeline stopped ({why}): the service stopped taking messages; restart it to resume from its data directory"
            )))
        }
    }
}

#[cfg(test)]
mod supervision_tests {
    use super::*;

    /// A pipeline that panics stops the service with its message (test double worker); a
    /// shutdown stops it cleanly while the worker runs.
    #[tokio::test]
    async fn a_pipeline_that_panics_stops_the_service() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let worker = tokio::spawn(async { panic!("test double pipeline gave up") });
        let stopped = serve_beside(listener, axum::Router::new(), HttpLimits::default(), worker, std::future::pending()).await;
        let error = stopped.expect_err("the service stops");
        assert!(error.to_string().contains("it panicked: test double pipeline gave up"), "{error}");

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let worker = tokio::spawn(std::future::pending::<()>());
        serve_beside(listener, axum::Router::new(), HttpLimits::default(), worker, async {}).await.expect("a clean shutdown");
    }
}
