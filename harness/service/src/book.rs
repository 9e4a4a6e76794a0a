//! The service of an order-book thread: traders post signed order messages (`StoredOrder`
//! JSON, what `zkthread order place|cancel` stores), admission runs the batcher's own checks
//! on the book after the owner's queued messages (`admit_order`: domain, ranges, key, nonce,
//! signature, id reuse, a cancel of an order that is not there or already cancelled) and stores only what it
//! accepts; the pipeline runs the engine's `settle_round` (batch against chain, prove with
//! Stwo, settle exactly once) whenever messages wait or a sub-block is in flight.
//!
//! | route | answer |
//! |---|---|
//! | `POST /orders` | 202 [`Accepted`] once durably stored; 200 (`duplicate`, its status) for a message stored here already, queued or settled in the thread's latest 20 sub-blocks; 400 malformed JSON, 413 too large, 422 refused with the batcher's reason, 429 the owner's queue is full (post the same message again after the next settlement) |
//! | `GET /orders/{id}` | [`TransferStatus`]: pending, rejected (reason), in_sub_block (its status), settled (sequence, tx hash, block) |
//! | `GET /book` | [`BookView`]: fill count, the known orders (from chain; a cancelled one read once), the slot budget and an owed round, pending messages, recent sub-blocks, the pipeline's last error and settle entry point |
//! | `GET /signers/{address}` | [`SignerView`]: the key and nonce the owner's next message is signed under |
//! | `GET /health` | `{"status": "ok"}` |

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Notify;
use zkthread_client::{ChainClient, Felt};
use zkthread_engine::orderbook::{
    side_name,
    action, admit_order, known_orders, next_nonce, not_an_account, owed_taker, queued_duplicate, settle_round, slot_budget, uncross_owed, Admission, Market, MarketError,
    OrderRefusal, OrderState, Round, StoredOrder,
};
use zkthread_engine::{hex, is_account_address, EngineError, Observer, SettleOutcome};
use zkthread_store::{Store, ThreadKey};

use crate::api::{duplicate_answer, health, json_answers, message_status, sub_block_view, ApiError, MAX_BODY_BYTES};
use crate::pipeline::{end_if_stale, Backoff, Step};
use crate::wire::{parse_felt, Accepted, BookView, OrderLine, OwedRound, PendingOrder, SignerView, TransferStatus};
use crate::{LastError, PipelineConfig, SettleEntry};

/// Sub-blocks listed by `GET /book`.
const RECENT_SUB_BLOCKS: usize = 20;

/// What the book's handlers and its pipeline share.
pub struct BookShared {
    /// The prover's account (it pays for settlements) and the node reads.
    pub client: ChainClient,
    pub store: Store<StoredOrder>,
    pub market: Market,
    /// Serializes admissions: each checks the nonce against the queue the previous one left.
    pub admission: tokio::sync::Mutex<()>,
    /// Wakes an idle pipeline when a message arrives.
    pub wake: Notify,
    last_error: LastError,
    /// The settle entry point the pipeline sends to now.
    pub(crate) settle_entry: SettleEntry,
    /// Orders `GET /book` read cancelled (`OrderState::is_final`: nothing changes them again):
    /// shown from here instead of read from the node on every request, which would grow with
    /// the book's history. A filled order is read each time: it may still be cancelled.
    cancelled: std::sync::Mutex<BTreeMap<(Felt, u32), OrderState>>,
    /// The chain's part of `GET /book` (orders, fill counter) as last read: reused for
    /// [`BOOK_READ_TTL`] while the data directory has settled nothing since, so a client polling
    /// the route (or many at once: they wait for one read) costs the node one read a second,
    /// not one per request (helper-81 F8).
    chain_view: tokio::sync::Mutex<Option<ChainView>>,
}

/// How long `GET /book` shows the orders and fill counter it read.
pub const BOOK_READ_TTL: Duration = Duration::from_secs(1);

/// The pending messages `GET /book` lists, oldest first (`pending` counts them all).
pub const BOOK_PENDING_SHOWN: usize = 100;

/// The chain's part of `GET /book`, when it was read and how many sub-blocks had settled here.
#[derive(Clone)]
struct ChainView {
    read_at: Instant,
    settled_sub_blocks: usize,
    orders: Vec<OrderLine>,
    fill_count: u64,
}

impl BookShared {
    pub fn new(client: ChainClient, store: Store<StoredOrder>, market: Market) -> Self {
        BookShared {
            client,
            store,
            market,
            admission: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            last_error: LastError::default(),
            settle_entry: SettleEntry::default(),
            cancelled: Default::default(),
            chain_view: Default::default(),
        }
    }

    /// Orders `orders` as on chain, in their order: the cancelled ones from those already read,
    /// the others read now in batched requests (and kept if cancelled).
    async fn orders(&self, orders: &[(Felt, u32)]) -> Result<Vec<OrderState>, MarketError> {
        let mut states: Vec<Option<OrderState>> = {
            let cancelled = self.cancelled_orders();
            orders.iter().map(|order| cancelled.get(order).copied()).collect()
        };
        let unknown: Vec<(Felt, u32)> =
            orders.iter().zip(&states).filter(|(_, state)| state.is_none()).map(|(order, _)| *order).collect();
        let mut read = self.market.stored_orders(self.client.reader(), &unknown).await?.into_iter();
        let mut cancelled = Vec::new();
        for (order, state) in orders.iter().zip(states.iter_mut()) {
            if state.is_none() {
                let now = read.next().expect("one read per unknown order")?;
                if now.is_final() {
                    cancelled.push((*order, now));
                }
                *state = Some(now);
            }
        }
        self.cancelled_orders().extend(cancelled);
        Ok(states.into_iter().flatten().collect())
    }

    /// The cancelled orders read (a panic while it was held left nothing half-written: one
    /// insert).
    fn cancelled_orders(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Felt, u32), OrderState>> {
        self.cancelled.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn thread(&self) -> ThreadKey {
        self.market.thread_key()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.get()
    }
}

pub fn router(shared: Arc<BookShared>) -> Router {
    json_answers(
        Router::new()
            .route("/orders", post(submit))
            .route("/orders/{id}", get(order_status))
            .route("/book", get(book))
            .route("/signers/{address}", get(signer))
            .route("/health", get(health))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(shared),
    )
}

impl From<MarketError> for ApiError {
    fn from(error: MarketError) -> Self {
        match error {
            MarketError::Engine(error) => error.into(),
            MarketError::Chain { .. } => {
                tracing::warn!(%error, "request failed");
                ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            other => {
                tracing::warn!(error = %other, "request failed");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

impl From<OrderRefusal> for ApiError {
    /// A full queue is "too many requests" (post the same signed message again after the next
    /// settlement), any other refusal the message's own fault.
    fn from(refusal: OrderRefusal) -> Self {
        match refusal {
            OrderRefusal::QueueFull(reason) => ApiError(StatusCode::TOO_MANY_REQUESTS, reason),
            OrderRefusal::Refused(reason) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, reason),
        }
    }
}

fn store_error(error: zkthread_store::StoreError) -> ApiError {
    EngineError::from(error).into()
}

/// The fields of a `POST /orders` body (a [`StoredOrder`] as JSON). `StoredOrder` itself takes
/// unknown fields (a stored message carries its submission number beside them), so a
/// misspelled `placement` would be dropped and the message read as a cancel.
const ORDER_FIELDS: [&str; 8] = ["owner", "order_id", "place", "nonce", "index", "key", "next_key", "signature"];

/// A `POST /orders` body as an order message: 422 for a field it does not have or a field of
/// the wrong shape, 400 for an owner that is not a felt (as the token's routes answer).
fn order_request(body: serde_json::Value) -> Result<StoredOrder, ApiError> {
    let unprocessable = |reason: String| ApiError(StatusCode::UNPROCESSABLE_ENTITY, reason);
    let Some(fields) = body.as_object() else {
        return Err(unprocessable("an order message is a JSON object".into()));
    };
    if let Some(unknown) = fields.keys().find(|field| !ORDER_FIELDS.contains(&field.as_str())) {
        return Err(unprocessable(format!("unknown field `{unknown}`, expected one of {}", ORDER_FIELDS.join(", "))));
    }
    if let Some(owner) = fields.get("owner").and_then(|owner| owner.as_str()) {
        parse_felt("owner", owner).map_err(ApiError::bad_request)?;
    }
    serde_json::from_value(body).map_err(|error| unprocessable(error.to_string()))
}

async fn submit(
    State(shared): State<Arc<BookShared>>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Json(body) = body.map_err(ApiError::from)?;
    let order = order_request(body)?;
    let _admitting = shared.admission.lock().await;
    let key = shared.thread();
    // The same signed message posted again while it is queued (its first answer lost): that
    // message, before any node read (helper-81 F11).
    if let Some(id) = queued_duplicate(&shared.store, key, &order)? {
        return posted_again(&shared.store, key, id);
    }
    let reader = shared.client.reader();
    match admit_order(reader, &shared.store, &shared.market, &order).await? {
        Admission::Next => {}
        // Settled here already (its nonce spent on chain): that message, as a transfer's
        // settled duplicate is answered, so the client does not sign it again.
        Admission::Settled(id) => return posted_again(&shared.store, key, id),
        Admission::Refused(refusal) => {
            tracing::info!(owner = %hex(order.owner), order_id = order.id, reason = %refusal, "order message refused");
            return Err(refusal.into());
        }
    }
    let (stored, pending) = shared.store.submit_counted(key, order).map_err(store_error)?;
    tracing::info!(id = stored.id, pending, "order message accepted");
    shared.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Accepted { id: stored.id, status: "pending".into(), pending, duplicate: false })))
}

/// `200` for a post of stored message `id` (queued or settled): where it is now.
fn posted_again(store: &Store<StoredOrder>, key: ThreadKey, id: u64) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let pending = store.pending_count(key).map_err(store_error)?;
    duplicate_answer(store, key, id, pending).map_err(store_error)
}

async fn order_status(
    State(shared): State<Arc<BookShared>>,
    Path(id): Path<String>,
) -> Result<Json<TransferStatus>, ApiError> {
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request(format!("message id {id:?} is not a number")))?;
    let key = shared.thread();
    match message_status(&shared.store, key, id).map_err(store_error)? {
        Some(status) => Ok(Json(status)),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no order message {id} in thread {}", key.thread_id))),
    }
}

async fn signer(
    State(shared): State<Arc<BookShared>>,
    Path(address): Path<String>,
) -> Result<Json<SignerView>, ApiError> {
    let owner = parse_felt("address", &address).map_err(ApiError::bad_request)?;
    if !is_account_address(owner) {
        return Err(OrderRefusal::Refused(not_an_account(owner)).into());
    }
    let key = shared.thread();
    let account = shared.market.account(shared.client.reader(), owner).await?;
    let queued = shared.store.queued_in_lane(key, &format!("{owner:#x}")).map_err(store_error)?;
    let nonce = next_nonce(&shared.store, key, owner, account.nonce)?;
    Ok(Json(SignerView {
        address: hex(owner),
        key: queued.last().map_or(account.key.to_u32(), |last| last.next_key),
        nonce,
        queued: queued.len(),
    }))
}

/// The orders settled sub-blocks placed and the book's fill counter, read from the node at
/// most every [`BOOK_READ_TTL`] and again at once after a settlement recorded here.
async fn chain_view(shared: &BookShared, settled_sub_blocks: usize) -> Result<ChainView, ApiError> {
    let mut cached = shared.chain_view.lock().await;
    if let Some(view) = cached.as_ref() {
        if view.settled_sub_blocks == settled_sub_blocks && view.read_at.elapsed() < BOOK_READ_TTL {
            return Ok(view.clone());
        }
    }
    let (market, key) = (&shared.market, shared.thread());
    let chain = |source| MarketError::Chain { doing: "reading the book", source };
    let known = known_orders(&shared.store, key)?;
    let mut orders = Vec::new();
    for (&(owner, id), o) in known.iter().zip(shared.orders(&known).await?) {
        let (side, price) = (side_name(o.side).into(), o.price);
        orders.push(OrderLine { owner: hex(owner), order_id: id, side, price, remaining: o.remaining });
    }
    let fill_count = market.book.fill_count(shared.client.reader()).await.map_err(chain)?;
    let view = ChainView { read_at: Instant::now(), settled_sub_blocks, orders, fill_count };
    *cached = Some(view.clone());
    Ok(view)
}

async fn book(State(shared): State<Arc<BookShared>>) -> Result<Json<BookView>, ApiError> {
    let (market, key) = (&shared.market, shared.thread());
    let overview = shared.store.overview(key, RECENT_SUB_BLOCKS).map_err(store_error)?;
    let entry = shared.settle_entry.after(overview.settled_since_stale_revert);
    let ChainView { orders, fill_count, .. } = chain_view(&shared, overview.settled_sub_blocks).await?;
    let pending_messages = shared
        .store
        .pending_within(key, BOOK_PENDING_SHOWN, |_| 1)
        .map_err(store_error)?
        .iter()
        .map(|m| PendingOrder {
            id: m.id,
            owner: hex(m.body.owner),
            order_id: m.body.id,
            action: action(&m.body),
            nonce: m.body.nonce,
        })
        .collect();
    Ok(Json(BookView {
        thread_id: key.thread_id,
        registry: hex(key.registry),
        chain_id: hex(shared.client.chain_id()),
        book: hex(market.book.address),
        base_token: hex(market.base.address),
        quote_token: hex(market.quote.address),
        fill_count,
        orders,
        slot_budget: slot_budget(&shared.store, key)?,
        owed_round: owed_taker(&shared.store, key)?.map(|owed| OwedRound {
            owner: hex(owed.taker.0),
            order_id: owed.taker.1,
            visited: owed.passed.len(),
        }),
        pending: overview.pending,
        pending_messages,
        rejected: overview.rejected,
        settled_sub_blocks: overview.settled_sub_blocks,
        sub_blocks: overview.recent.iter().map(sub_block_view).collect(),
        last_error: shared.last_error(),
        settle_entry: entry.current().entry_point().to_owned(),
        inputs_first_left: entry.inputs_first_left(),
    }))
}

/// The book's pipeline: whenever enough messages wait (`limits.max_transfers`, or the oldest
/// has waited `max_wait`), a sub-block is in flight (a restart after batching, proving or
/// sending) or a round is owed to a taker the slot budget stopped (`uncross_owed`), one
/// `settle_round` — batch, prove, settle exactly once; every step is durable
/// before the next, so stopping it anywhere is safe. A failure is kept as the last error and
/// retried with backoff. Runs until the task is dropped.
pub async fn run_pipeline(shared: Arc<BookShared>, config: PipelineConfig, observer: Arc<dyn Observer>) {
    shared.settle_entry.set_configured(config.settle.input_check);
    let mut backoff = Backoff::new();
    let mut pending_since: Option<Instant> = None;
    let mut waiting_since = None;
    loop {
        match step(&shared, &config, observer.as_ref(), &mut pending_since).await {
            Ok(step) => {
                let (wait, why) = step.pause(&mut waiting_since);
                shared.last_error.set(why);
                backoff.reset();
                if let Some(wait) = wait {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shared.wake.notified() => {}
                    }
                }
            }
            Err(error) => {
                let wait = backoff.bump();
                tracing::warn!(%error, retry_in = ?wait, "book pipeline step failed");
                shared.last_error.set(Some(error));
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn step(
    shared: &BookShared,
    config: &PipelineConfig,
    observer: &dyn Observer,
    pending_since: &mut Option<Instant>,
) -> Result<Step, String> {
    let (store, key) = (&shared.store, shared.thread());
    let in_flight = store.in_flight(key).map_err(|e| e.to_string())?.is_some();
    if !in_flight {
        let pending = store.pending_count(key).map_err(|e| e.to_string())?;
        if pending == 0 {
            *pending_since = None;
        }
        // A settled round's budget stopped a taker: the next round resumes it at once, with
        // fills alone if nothing is pending (`batch` clears the note when it finds nothing).
        if !uncross_owed(store, key).map_err(|e| e.to_string())? {
            if pending == 0 {
                return Ok(Step::Idle(config.poll));
            }
            let waited = pending_since.get_or_insert_with(Instant::now).elapsed();
            if pending < config.limits.max_transfers && waited < config.max_wait {
                return Ok(Step::Idle(config.max_wait.saturating_sub(waited).min(config.poll)));
            }
        }
    }
    let round = shared
        .settle_entry
        .settling(store, key, config.settle, |options| settle_round(&shared.client, store, &shared.market, options, observer))
        .await?;
    if store.pending_count(key).map_err(|e| e.to_string())? == 0 {
        *pending_since = None;
    }
    match round {
        Ok(round) => round_done(round),
        Err(MarketError::AllRefused(lines)) => {
            tracing::info!(refused = ?lines, "every pending order message was refused");
            Ok(Step::Progressed)
        }
        // The proven sub-block's inputs or thread changed on chain: end it, its messages are
        // pending again (a thread moved to another program then refuses the next batch, and
        // the pipeline backs off).
        Err(MarketError::Engine(EngineError::PreflightBlocked { rebuild: true, why, .. })) => {
            end_if_stale(shared.client.reader(), store, key, &why, config.poll).await
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Logs a round; a reverted settlement is a failure (the pipeline backs off before paying
/// for another try).
fn round_done(round: Round) -> Result<Step, String> {
    if let Some(ended) = &round.ended {
        tracing::info!(ended = %ended.line(), "book sub-block ended; its messages are pending again");
    }
    match round.settled {
        Some(SettleOutcome::Sent(sent)) => match (&sent.revert_reason, sent.settled()) {
            // Settled (by this send, or by an earlier one this one reverted behind).
            (None, _) | (_, true) => {
                tracing::info!(
                    sequence = sent.sub_block.sequence(),
                    tx = %hex(sent.settled_by().unwrap_or(sent.tx_hash)),
                    fee_fri = sent.fee_fri,
                    fills = round.proved.as_ref().map_or(0, |p| p.trades.len()),
                    "book sub-block settled"
                );
                Ok(Step::Progressed)
            }
            (Some(reason), false) => Err(format!(
                "settle of book sub-block {} reverted: {reason}; its messages are pending again",
                sent.sub_block.sequence()
            )),
        },
        _ => Ok(Step::Progressed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full queue is "too many requests" (the client posts the same signed message again and
    /// keeps its key); a refusal of the message itself is its own fault (422).
    #[test]
    fn a_full_order_queue_answers_429_a_refused_message_422() {
        let full = ApiError::from(OrderRefusal::QueueFull("post again after the next settlement".into()));
        assert_eq!(full.0, StatusCode::TOO_MANY_REQUESTS);
        let refused = ApiError::from(OrderRefusal::Refused("order 3 is already cancelled".into()));
        assert_eq!((refused.0, refused.1.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "order 3 is already cancelled"));
    }
}
