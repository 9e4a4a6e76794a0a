//! The HTTP API: routes, their handlers, and how errors become 4xx/5xx JSON bodies.
//!
//! | route | answer |
//! |---|---|
//! | `POST /transfers` | 202 [`Accepted`] once durably stored; 4xx [`ErrorBody`] with the reason |
//! | `POST /lists` | the same for a signed list (a thread of the list program: [`lists_router`]) |
//! | `GET /transfers/{id}` | [`TransferStatus`] |
//! | `GET /senders/{token}/{address}` | [`SenderView`]: the key and nonce to sign the next transfer with |
//! | `GET /thread` | [`ThreadView`]: pending count, recent sub-blocks, the pipeline's last error and settle entry point |
//! | `GET /health` | `{"status": "ok"}` |
//! | `GET /` | a status page (HTML) drawing `GET /thread` every 2 s |

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use zkthread_engine::token::TokenMessage;
use zkthread_engine::{admit, admit_list, hex, queued_list_duplicate, queued_transfer_duplicate, sender_state, EngineError, Refused, SubmitError};
use zkthread_store::{MessageBody, NewTransferList, Store, StoreError, SubBlock, SubBlockStatus, ThreadKey, TransferPlace};

use crate::wire::{
    parse_felt, Accepted, ErrorBody, SenderView, SubBlockView, ThreadView, TransferListRequest, TransferRequest,
    TransferStatus,
};
use crate::Shared;

/// A signed transfer is ~3 KB of JSON; anything far larger is refused unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Sub-blocks listed by `GET /thread`.
const RECENT_SUB_BLOCKS: usize = 20;

pub fn router(shared: Arc<Shared>) -> Router {
    json_answers(common_routes(Router::new().route("/transfers", post(submit))).with_state(shared))
}

/// The API of a thread of the list program: `POST /lists` takes a signed list (a
/// [`TransferListRequest`]: one signature over a sender's transfers); `GET /lists/{id}` (and
/// `GET /transfers/{id}`) where it is; the other routes as [`router`]'s. A list is refused
/// on `POST /transfers` (404: no such route), as a transfer is on `POST /lists` (its body is not a list).
pub fn lists_router(shared: Arc<Shared<NewTransferList>>) -> Router {
    json_answers(
        common_routes(
            Router::new()
                .route("/lists", post(submit_list))
                .route("/lists/{id}", get(transfer_status::<NewTransferList>)),
        )
        .with_state(shared),
    )
}

/// The routes both token programs' APIs answer the same way.
fn common_routes<M: TokenMessage>(routes: Router<Arc<Shared<M>>>) -> Router<Arc<Shared<M>>> {
    routes
        .route("/transfers/{id}", get(transfer_status::<M>))
        .route("/senders/{token}/{address}", get(sender::<M>))
        .route("/thread", get(thread::<M>))
        .route("/health", get(health))
        .route("/", get(page))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `router` with a JSON 404 for any other route, and every error answer as JSON
/// ([`json_errors`]): every service's routes end here.
pub(crate) fn json_answers(router: Router) -> Router {
    router.fallback(no_route).layer(map_response(json_errors))
}

/// Every error answer as `{"error": reason}`, as the handlers' own: axum answers an
/// undecodable path segment in plain text, and an unknown route or a wrong method with an empty
/// body, which a client could only show as "no reason given". (A wrong method keeps `Allow`.)
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // axum's rejections are one short line; a longer body is cut, not buffered whole.
    let text = axum::body::to_bytes(body, 4096).await.map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned());
    let reason = match (text, status) {
        (Ok(text), _) if !text.is_empty() => text,
        (_, StatusCode::METHOD_NOT_ALLOWED) => "this route does not take that method".to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut answer = ApiError(status, reason).into_response();
    if let Some(allow) = parts.headers.remove(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// Any request no route takes.
async fn no_route(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no route {method} {}", uri.path()))
}

/// An error answer: a status and a one-line reason.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl ApiError {
    pub(crate) fn bad_request(reason: impl ToString) -> Self {
        ApiError(StatusCode::BAD_REQUEST, reason.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    /// axum's reason, except for a body over the limit, whose generic text ("length limit
    /// exceeded") tells a wallet neither the limit nor what to do, and a body that came too
    /// late (408).
    fn from(rejection: JsonRejection) -> Self {
        if let Some(late) = crate::http::body_timed_out(&rejection) {
            return ApiError(StatusCode::REQUEST_TIMEOUT, late.to_string());
        }
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError(
                status,
                format!("the request body is over the service's {MAX_BODY_BYTES} bytes (length limit exceeded): no signed message is that long but a list of several hundred transfers, which must be split"),
            );
        }
        ApiError(status, rejection.body_text())
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        tracing::warn!(%error, "request failed");
        let status = match error {
            EngineError::Chain { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, error.to_string())
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Refused(refused @ (Refused::SenderQueueFull { .. } | Refused::SenderTransfersFull { .. })) => {
                ApiError(StatusCode::TOO_MANY_REQUESTS, refused.to_string())
            }
            SubmitError::Refused(refused) => {
                ApiError(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string())
            }
            SubmitError::Engine(error) => error.into(),
        }
    }
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<TransferRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Json(request) = body.map_err(ApiError::from)?;
    let tx = request.to_tx().map_err(ApiError::bad_request)?;
    // One admission at a time: each checks the nonce against the queue the previous one left.
    let _admitting = shared.admission.lock().await;
    let admitted = match queued_transfer_duplicate(&shared.store, shared.thread, &tx)? {
        Some(stored) => stored,
        None => admit(&shared.client, &shared.store, shared.thread, &shared.contracts().await?, &tx).await?,
    };
    tracing::info!(id = admitted.message.id, pending = admitted.pending, duplicate = admitted.duplicate, "transfer accepted");
    accepted(&shared, admitted.message.id, admitted.pending, admitted.duplicate)
}

/// The answer to a post admitted as message `id`: `202` once stored now (the pipeline woken),
/// `200` with where it is for a duplicate of a message stored before.
fn accepted<M: MessageBody>(shared: &Shared<M>, id: u64, pending: usize, duplicate: bool) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if duplicate {
        return duplicate_answer(&shared.store, shared.thread, id, pending).map_err(|e| EngineError::from(e).into());
    }
    shared.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Accepted { id, status: "pending".into(), pending, duplicate })))
}

/// `200` for a post of message `id`, stored before: where it is now.
pub(crate) fn duplicate_answer<M: MessageBody>(
    store: &Store<M>,
    thread: ThreadKey,
    id: u64,
    pending: usize,
) -> Result<(StatusCode, Json<Accepted>), StoreError> {
    let status = message_status(store, thread, id)?.map_or_else(|| "pending".to_owned(), |place| place.status);
    Ok((StatusCode::OK, Json(Accepted { id, status, pending, duplicate: true })))
}

async fn submit_list(
    State(shared): State<Arc<Shared<NewTransferList>>>,
    body: Result<Json<TransferListRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Json(request) = body.map_err(ApiError::from)?;
    let tx = request.to_tx().map_err(ApiError::bad_request)?;
    let _admitting = shared.admission.lock().await;
    let admitted = match queued_list_duplicate(&shared.store, shared.thread, &tx)? {
        Some(stored) => stored,
        None => admit_list(&shared.client, &shared.store, shared.thread, &shared.contracts().await?, &tx).await?,
    };
    tracing::info!(id = admitted.message.id, transfers = tx.transfers.len(), pending = admitted.pending, duplicate = admitted.duplicate, "list accepted");
    accepted(&shared, admitted.message.id, admitted.pending, admitted.duplicate)
}

async fn transfer_status<M: TokenMessage>(
    State(shared): State<Arc<Shared<M>>>,
    Path(id): Path<String>,
) -> Result<Json<TransferStatus>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("transfer id {id:?} is not a number")))?;
    match message_status(&shared.store, shared.thread, id).map_err(EngineError::from)? {
        Some(status) => Ok(Json(status)),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no transfer {id} in thread {}", shared.thread.thread_id),
        )),
    }
}

/// Where stored message `id` of the thread is (any program's: a transfer, an order message),
/// `None` if the thread has no such message.
pub fn message_status<M: MessageBody>(
    store: &Store<M>,
    thread: ThreadKey,
    id: u64,
) -> Result<Option<TransferStatus>, StoreError> {
    let status = |status: &str| TransferStatus {
        id,
        status: status.into(),
        sequence: None,
        sub_block_status: None,
        tx_hash: None,
        block: None,
        reason: None,
    };
    // One read transaction: a batch moving the message between lists cannot hide it.
    Ok(match store.place(thread, id)? {
        Some(TransferPlace::Pending) => Some(status("pending")),
        Some(TransferPlace::Rejected { reason }) => Some(TransferStatus {
            reason: Some(reason),
            ..status("rejected")
        }),
        Some(TransferPlace::SubBlock(sub_block)) => {
            let sequence = Some(sub_block.sequence());
            Some(match &sub_block.status {
                SubBlockStatus::Settled { tx_hash, block, .. } => TransferStatus {
                    sequence,
                    tx_hash: Some(hex(*tx_hash)),
                    block: Some(*block),
                    ..status("settled")
                },
                live => TransferStatus {
                    sequence,
                    sub_block_status: Some(live.name().into()),
                    ..status("in_sub_block")
                },
            })
        }
        None => None,
    })
}

async fn sender<M: TokenMessage>(
    State(shared): State<Arc<Shared<M>>>,
    Path((token, address)): Path<(String, String)>,
) -> Result<Json<SenderView>, ApiError> {
    let token_felt = parse_felt("token", &token).map_err(ApiError::bad_request)?;
    let address_felt = parse_felt("address", &address).map_err(ApiError::bad_request)?;
    // A token outside the thread is the caller's mistake (422, as `POST /transfers` answers),
    // not the node's: reading its key slot would fail as a chain error (503) for an address
    // with no contract, or answer a key no sub-block of this thread reads.
    if !shared.contracts().await?.contains(&token_felt) {
        return Err(SubmitError::from(Refused::ForeignToken(token_felt)).into());
    }
    let state = sender_state(&shared.client, &shared.store, shared.thread, token_felt, address_felt).await?;
    Ok(Json(SenderView {
        token: hex(token_felt),
        address: hex(address_felt),
        key: state.key.to_u32(),
        nonce: state.nonce,
        queued: state.queued,
        queued_transfers: Some(state.queued_transfers),
    }))
}

async fn thread<M: TokenMessage>(State(shared): State<Arc<Shared<M>>>) -> Result<Json<ThreadView>, ApiError> {
    let thread = shared.thread;
    let overview = shared
        .store
        .overview(thread, RECENT_SUB_BLOCKS)
        .map_err(EngineError::from)?;
    let entry = shared.settle_entry.after(overview.settled_since_stale_revert);
    Ok(Json(ThreadView {
        thread_id: thread.thread_id,
        program: M::TOKEN_PROGRAM,
        registry: hex(thread.registry),
        chain_id: hex(shared.client.chain_id()),
        pending: overview.pending,
        rejected: overview.rejected,
        settled_sub_blocks: overview.settled_sub_blocks,
        sub_blocks: overview.recent.iter().map(sub_block_view).collect(),
        last_error: shared.last_error(),
        settle_entry: entry.current().entry_point().to_owned(),
        inputs_first_left: entry.inputs_first_left(),
    }))
}

pub fn sub_block_view<M: MessageBody>(sub_block: &SubBlock<M>) -> SubBlockView {
    let fee_fri = match &sub_block.status {
        SubBlockStatus::Settled { fee_fri, .. } => fee_fri.map(|fee| fee.to_string()),
        _ => None,
    };
    let (tx_hash, block, reason) = match &sub_block.status {
        SubBlockStatus::Settled { tx_hash, block, .. } => (Some(hex(*tx_hash)), Some(*block), None),
        SubBlockStatus::Sending { tx_hash, .. } => (Some(hex(*tx_hash)), None, None),
        SubBlockStatus::Reverted { tx_hash, reason } => {
            (Some(hex(*tx_hash)), None, Some(reason.clone()))
        }
        SubBlockStatus::Stale { tx_hash, reason } => (tx_hash.map(hex), None, Some(reason.clone())),
        SubBlockStatus::Superseded { next_sequence } => (
            None,
            None,
            Some(format!("another settlement took the sequence (next is {next_sequence})")),
        ),
        SubBlockStatus::Built | SubBlockStatus::Proven => (None, None, None),
    };
    SubBlockView {
        sequence: sub_block.sequence(),
        attempt: sub_block.attempt,
        status: sub_block.status.name().into(),
        built_ahead: sub_block.body.parent_attempt.is_some(),
        transfers: sub_block.body.messages.len(),
        transactions_commitment: format!("{:#x}", sub_block.body.transactions.commitment),
        slots: sub_block.body.outputs.len(),
        proof_felts: sub_block.proof.as_ref().map_or(0, Vec::len),
        tx_hash,
        block,
        fee_fri,
        reason,
    }
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_client::Felt;
    use zkthread_engine::orderbook::StoredOrder;
    use zkthread_store::Rejected;

    fn order(owner: u64, nonce: u32) -> StoredOrder {
        StoredOrder {
            owner: Felt::from(owner),
            id: 3,
            place: Some((1, 50.into(), 10)),
            nonce,
            index: nonce,
            key: [1, 2, 3, 4],
            next_key: [5, 6, 7, 8],
            signature: vec![9; 4],
        }
    }

    /// A full sender lane is "too many requests" (the client should wait for a settlement), any
    /// other refusal the transfer's own fault.
    #[test]
    fn a_full_sender_lane_answers_429_other_refusals_422() {
        let full = ApiError::from(SubmitError::Refused(Refused::SenderQueueFull { queued: 64 }));
        assert_eq!(full.0, StatusCode::TOO_MANY_REQUESTS);
        assert!(full.1.contains("post again after the next settlement"), "{}", full.1);
        let lists = ApiError::from(SubmitError::Refused(Refused::SenderTransfersFull { queued: 1_000, adding: 30 }));
        assert_eq!(lists.0, StatusCode::TOO_MANY_REQUESTS, "{}", lists.1);
        // A list no settlement makes room for is the list's own fault.
        let alone = ApiError::from(SubmitError::Refused(Refused::ListOverSenderCap { transfers: 1_025 }));
        assert_eq!(alone.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", alone.1);
        let zero = ApiError::from(SubmitError::Refused(Refused::ZeroAmount));
        assert_eq!((zero.0, zero.1.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "amount must be above zero"));
    }

    /// `GET /orders/{id}` and `GET /transfers/{id}` answer from one reader of any program's
    /// store: an order message is found pending, then rejected with its reason; an id the
    /// thread never had (or another thread's) is not found.
    #[test]
    fn a_stored_order_message_reads_as_pending_then_rejected_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 2);
        let stored = store.submit(key, order(7, 0)).unwrap();
        let status = message_status(&store, key, stored.id).unwrap().unwrap();
        assert_eq!((status.id, status.status.as_str(), status.reason), (stored.id, "pending", None));
        assert!(message_status(&store, key, stored.id + 1).unwrap().is_none());
        assert!(message_status(&store, ThreadKey::new(Felt::from(0x99u64), 3), stored.id).unwrap().is_none());

        let reason = "order id 3 was used before".to_owned();
        store.record_rejected(key, vec![Rejected { message: stored.clone(), reason: reason.clone() }]).unwrap();
        let status = message_status(&store, key, stored.id).unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.reason), ("rejected", Some(reason)));
        assert_eq!(status.sequence, None);
    }
}
