//! The order book on the engine's pipeline: signed order messages wait in the batcher's store
//! (`Store<StoredOrder>`, beside the token threads' transfers), [`batch`] builds the book's
//! next sub-block against chain and records it Built (refused messages kept with their
//! reasons), [`prove`] proves it with Stwo and records it Proven, and the engine's generic
//! [`settle`](crate::settle()) sends it exactly once (`Sending{hash, nonce}` recorded before the
//! broadcast; [`reconcile`](crate::reconcile()) resolves a crash by looking the hash up).
//! A sub-block that ends without applying anything (stale, reverted, superseded) hands its
//! messages back to pending in their original order, to be matched again on fresh state.
//!
//! The proof's rows (signature traces, fills) are not stored: [`prove`] matches the
//! sub-block's own messages again against the book on chain, on the order slots the batch read
//! and under the same slot budget (store notes), and proves only if that gives exactly the
//! stored lists; if the book moved in between, the sub-block could never settle and ends
//! Stale instead.
//!
//! A book round's settle calldata is not known until it is proven (the proof's felts grow with
//! its trace, the slots with every fill), and a proven sub-block above Starknet's 5,000 felts can
//! never be sent: [`settle_round`] then ends it (Stale, its messages pending again) and sets
//! the book's slot budget ([`slot_budget`], a store note, so a restart keeps it) below its
//! size; each settled round re-estimates the budget from its own calldata. The batcher
//! (`batcher::build_within`) stops a taker's fills at the budget, its remainder resting, and
//! defers every later message; once such a round settles, the next resumes the stopped taker
//! first ([`taker_to_resume`]), with fills alone if nothing else is pending ([`uncross_owed`]).
//! So a place crossing many makers fills over several settlements and is never refused for its
//! size. (A round over the limit that touched
//! no more than the smallest budget halves a message round cap, [`round_cap`], and a lone
//! message in one is refused.)

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use zkthread_client::{ChainClient, ChainReader, Felt};
use zkthread_orderbook::batcher::{self, BatchError, BookState, SignedOrder, SubBlock as BookSubBlock, Trade};
use zkthread_orderbook::state::SIDE_CANCELLED_ON_L2;
use zkthread_orderbook::{poseidon252, Price, SignedPublicInput};
use zkthread_prover::ThreadChannel;
use zkthread_sig::domain::account_id;
use zkthread_sig::wots::Message as _;
use crate::isolation::Blame;
use zkthread_store::{LaneAuth, Message, MessageBody, NewSubBlock, Rejected, Store, SubBlock, SubBlockStatus, ThreadKey};

use super::{Market, MarketError, StoredOrder};
use crate::batch::{abandon_if_stale, BatchOutcome, Built};
use crate::codec::{statement as stored_statement, to_entries, tx_list_record};
use crate::error::{ChainContext, EngineError};
use crate::program::{Channel, ProgramMessage, PARAMS};
use crate::reconcile::{reconcile, Reconciled};
use crate::settle::{settle, SettleOptions, SettleOutcome};
use crate::Observer;

type Result<T> = std::result::Result<T, MarketError>;

impl MessageBody for StoredOrder {
    const PROGRAM: &'static str = "orderbook";

    /// An owner's messages consume its key slot in the book (one book per thread).
    fn lane(&self) -> Option<(String, LaneAuth)> {
        Some((
            owner_lane(self.owner),
            LaneAuth { nonce: self.nonce, key: self.key, next_key: self.next_key, transfers: 1 },
        ))
    }
}

/// The store lane of `owner`'s messages.
fn owner_lane(owner: Felt) -> String {
    format!("{owner:#x}")
}

impl ProgramMessage for StoredOrder {
    fn verify_proof(statement: &SignedPublicInput, proof: &[Felt]) -> crate::Result<bool> {
        let proof = poseidon252::from_felts(proof)
            .map_err(|e| EngineError::Corrupt(format!("the stored order-book proof does not decode: {e}")))?;
        Ok(match poseidon252::verify(statement, &proof, &PARAMS) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "the stored order-book proof does not verify off-chain");
                false
            }
        })
    }
}

impl Market {
    /// The book's thread in the batcher's store.
    pub fn thread_key(&self) -> ThreadKey {
        ThreadKey::new(self.registry.address, self.thread_id)
    }
}

/// The store's note holding the orders an imported queue file knew of.
const IMPORTED_KNOWN: &str = "imported_known_orders";

/// The orders the [`IMPORTED_KNOWN`] note lists (none without the note).
fn imported_known(note: Option<String>) -> serde_json::Result<Vec<(Felt, u32)>> {
    note.map_or(Ok(Vec::new()), |json| serde_json::from_str(&json))
}

/// Every order `(owner, id)` the client knows of (storage cannot list a map's keys): those an
/// imported queue file of an earlier version knew, then those settled sub-blocks of the thread
/// placed, in placement order.
pub fn known_orders(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Vec<(Felt, u32)>> {
    let note = store.note(key, IMPORTED_KNOWN).map_err(EngineError::from)?;
    let mut known =
        imported_known(note).map_err(|e| EngineError::Corrupt(format!("the imported known orders: {e}")))?;
    // A set beside the list (which keeps first-seen order): a scan of the list per order was
    // quadratic in a long thread's history.
    let mut seen: BTreeSet<(Felt, u32)> = known.iter().copied().collect();
    for order in settled_placements(store, key)? {
        if seen.insert(order) {
            known.push(order);
        }
    }
    Ok(known)
}

/// The store's note caching what settled sub-blocks placed ([`SettledPlaced`]): admission,
/// every round and `GET /book` need the known orders, and reading the thread's whole history
/// each time grew with every sub-block ever settled.
const SETTLED_PLACED: &str = "settled_placed_orders";

/// The orders placed by the thread's settled sub-blocks below `next_sequence`, in placement
/// order, each once. Settled is final and sequences settle in order, so the prefix never
/// changes: each call reads only the sub-blocks recorded from `next_sequence` on.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct SettledPlaced {
    next_sequence: u64,
    orders: Vec<(Felt, u32)>,
}

/// Every order a settled sub-block of the thread placed, in placement order, each once: the
/// cached prefix ([`SETTLED_PLACED`]), moved forward over the sub-blocks recorded settled since
/// and written back.
///
/// Sequences settle in order on chain, so a sub-block recorded settled at `s` makes every
/// sequence below `s` final: what this store did not record there (settled elsewhere: a queue
/// imported mid-thread, another prover's sub-block that superseded one of ours) it can never
/// learn, and the cache moves past it rather than re-reading everything after it on each call.
fn settled_placements(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Vec<(Felt, u32)>> {
    let corrupt = |e: serde_json::Error| EngineError::Corrupt(format!("the settled-placements note: {e}"));
    let mut placed: SettledPlaced = match store.note(key, SETTLED_PLACED).map_err(EngineError::from)? {
        Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
        None => SettledPlaced::default(),
    };
    let cached_through = placed.next_sequence;
    let mut seen: BTreeSet<(Felt, u32)> = placed.orders.iter().copied().collect();
    for sub_block in store.sub_blocks_from(key, cached_through).map_err(EngineError::from)? {
        if !matches!(sub_block.status, SubBlockStatus::Settled { .. }) {
            continue;
        }
        for message in sub_block.body.messages.iter().filter(|m| m.body.place.is_some()) {
            let order = (message.body.owner, message.body.id);
            if seen.insert(order) {
                placed.orders.push(order);
            }
        }
        placed.next_sequence = sub_block.sequence() + 1;
    }
    if placed.next_sequence != cached_through {
        let json = serde_json::to_string(&placed).map_err(corrupt)?;
        store.set_note(key, SETTLED_PLACED, &json).map_err(EngineError::from)?;
    }
    Ok(placed.orders)
}

/// The store's note listing the known orders found closed on chain (filled or cancelled).
/// Closed is terminal (an id is placed once; nothing fills or revives a closed order), so a
/// round never needs to read them again: without this, every round and every admission read
/// every order the thread ever placed from the node.
const CLOSED_ORDERS: &str = "closed_orders";

/// The orders the [`CLOSED_ORDERS`] note lists.
fn closed_orders(store: &Store<StoredOrder>, key: ThreadKey) -> Result<BTreeSet<(Felt, u32)>> {
    let note = store.note(key, CLOSED_ORDERS).map_err(EngineError::from)?;
    let list: Vec<(Felt, u32)> = note
        .map_or(Ok(Vec::new()), |json| serde_json::from_str(&json))
        .map_err(|e| EngineError::Corrupt(format!("the closed-orders note: {e}")))?;
    Ok(list.into_iter().collect())
}

/// Adds `newly` to the [`CLOSED_ORDERS`] note (once each).
fn remember_closed(store: &Store<StoredOrder>, key: ThreadKey, newly: &[(Felt, u32)]) -> Result<()> {
    let mut closed = closed_orders(store, key)?;
    let before = closed.len();
    closed.extend(newly.iter().copied());
    if closed.len() == before {
        return Ok(());
    }
    let list: Vec<&(Felt, u32)> = closed.iter().collect();
    let json = serde_json::to_string(&list).map_err(|e| EngineError::Corrupt(format!("the closed-orders note: {e}")))?;
    store.set_note(key, CLOSED_ORDERS, &json).map_err(EngineError::from)?;
    Ok(())
}

/// Adds to the [`CLOSED_ORDERS`] note the orders of `seen` (found closed in the pre-confirmed
/// state) that closed block `block` holds closed too ([`Market::closed_on_block`]).
async fn remember_closed_on_block(
    store: &Store<StoredOrder>,
    key: ThreadKey,
    market: &Market,
    reader: &ChainReader,
    seen: &[(Felt, u32)],
    block: u64,
) -> Result<()> {
    remember_closed(store, key, &market.closed_on_block(reader, seen, block).await)
}

/// The known orders ([`known_orders`]) not yet found closed: what a round or an admission
/// reads from chain (an order a message names is read whatever this says).
pub fn live_orders(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Vec<(Felt, u32)>> {
    let closed = closed_orders(store, key)?;
    Ok(known_orders(store, key)?.into_iter().filter(|o| !closed.contains(o)).collect())
}

/// `owner`'s next nonce in the book: its key slot's on chain plus its messages queued in the
/// store (pending or in a sub-block on its way to settle).
pub fn next_nonce(store: &Store<StoredOrder>, key: ThreadKey, owner: Felt, on_chain: u32) -> Result<u32> {
    let queued = store.queued_in_lane(key, &owner_lane(owner)).map_err(EngineError::from)?;
    Ok(on_chain + queued.len() as u32)
}

/// `known` and the orders `messages` name, each once.
fn with_named(known: &[(Felt, u32)], messages: &[Message<StoredOrder>]) -> Vec<(Felt, u32)> {
    let mut orders = known.to_vec();
    let mut seen: BTreeSet<(Felt, u32)> = known.iter().copied().collect();
    for m in messages {
        let order = (m.body.owner, m.body.id);
        if seen.insert(order) {
            orders.push(order);
        }
    }
    orders
}

/// The address among `owners` whose account id is `id` (a stopped taker's owner: one of the
/// owners its batch read).
fn owner_of(owners: &[Felt], id: &zkthread_sig::wots::Hash4) -> Result<Felt> {
    owners
        .iter()
        .copied()
        .find(|o| account_id(*o) == *id)
        .ok_or_else(|| MarketError::Statement("the stopped taker's owner is not among the owners read".into()))
}

/// The owners a batch reads: of `messages` and of the known orders, sorted.
fn owners_of(messages: &[Message<StoredOrder>], known: &[(Felt, u32)]) -> Vec<Felt> {
    let set: BTreeSet<Felt> = messages.iter().map(|m| m.body.owner).chain(known.iter().map(|k| k.0)).collect();
    set.into_iter().collect()
}

/// [`Market::match_on_chain`]'s answer: the match (or every message refused), each message as a
/// signed order (`None`: not a canonical record), and the known orders found closed.
type MatchedOnChain =
    (std::result::Result<Matched, Vec<batcher::Refused>>, Vec<Option<SignedOrder>>, Vec<(Felt, u32)>);

/// What [`Market::match_on_chain`] matched: the batcher's result and the owners it read.
struct Matched {
    batch: batcher::Batch,
    owners: Vec<Felt>,
}

/// The orders of `known` that `state` (read from chain) holds closed: filled or cancelled.
fn closed_in(state: &BookState, known: &[(Felt, u32)]) -> Vec<(Felt, u32)> {
    known
        .iter()
        .filter(|(owner, id)| state.order(&account_id(*owner), *id).is_closed())
        .copied()
        .collect()
}

impl Market {
    /// The orders of `seen` (found closed in the pre-confirmed state) that closed block
    /// `block` holds closed too: what may be remembered closed for good ([`CLOSED_ORDERS`]).
    /// A pre-confirmed fill or cancel may still be dropped, and an order remembered closed
    /// would never be read again, so it could never trade (helper-88 15). The note is only a
    /// cache of reads, so a read that fails (a node without the block, a node that keeps no
    /// state for a block that stopped being the latest) confirms none, and the round goes on:
    /// the next one reads them again.
    async fn closed_on_block(&self, reader: &ChainReader, seen: &[(Felt, u32)], block: u64) -> Vec<(Felt, u32)> {
        if seen.is_empty() {
            return Vec::new();
        }
        let read = match self.stored_orders_at(reader, seen, block).await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, block, "orders seen closed are not remembered this round");
                return Vec::new();
            }
        };
        seen.iter()
            .zip(read)
            .filter(|(_, order)| order.as_ref().is_ok_and(zkthread_orderbook::OrderState::is_closed))
            .map(|(order, _)| *order)
            .collect()
    }

    /// The batcher's state from chain: `owners`' accounts and the `known` orders.
    pub async fn state_of(&self, reader: &ChainReader, owners: &[Felt], known: &[(Felt, u32)]) -> Result<BookState> {
        let mut state = self.book_state(reader, owners).await?;
        for (&(owner, id), order) in known.iter().zip(self.stored_orders(reader, known).await?) {
            match order {
                Ok(order) => state.insert_order(account_id(owner), id, order),
                // No program or L2 call writes such a value (the statement refuses it as an
                // output; the book's own cancel writes a canonical one). It stands in as a
                // closed order no row can touch (side cancelled, no price): a message naming
                // it is refused (a place: id used; a cancel: already cancelled), it never
                // trades, and the round finds it closed, so it stops nothing else of the book.
                Err(error @ MarketError::BadOrderSlot { .. }) => {
                    tracing::warn!(%error, "an unreadable order slot stands in as closed");
                    state.insert_order(account_id(owner), id, zkthread_orderbook::OrderState::cancelled(Price::ZERO));
                }
                Err(other) => return Err(other),
            }
        }
        Ok(state)
    }

    /// Matches `messages` (arrival order) against the book on chain: the order slots `orders`
    /// (the known orders and every order a message names: a cancel of an order placed through
    /// another batcher, an id used before) read from storage.
    async fn match_on_chain(
        &self,
        reader: &ChainReader,
        messages: &[Message<StoredOrder>],
        inputs: &RoundInputs,
    ) -> Result<MatchedOnChain> {
        let orders = &inputs.orders;
        let owners = owners_of(messages, orders);
        let state = self.state_of(reader, &owners, orders).await?;
        let closed = closed_in(&state, orders);
        let signed: Vec<Option<SignedOrder>> = messages.iter().map(|m| m.body.signed(state.book)).collect();
        let valid: Vec<SignedOrder> = signed.iter().flatten().cloned().collect();
        let resume = inputs.resume.as_ref().map(StoppedTaker::to_batcher);
        let outcome = match batcher::build_within(&state, &valid, inputs.budget, resume.as_ref()) {
            Ok(batch) => Ok(Matched { batch, owners }),
            Err(BatchError::Empty { refused }) => Err(refused),
            Err(other) => return Err(MarketError::Statement(other.to_string())),
        };
        Ok((outcome, signed, closed))
    }

    /// The statement and slot-binding witness of `sub` as the thread's sub-block `sequence`.
    async fn statement_at(
        &self,
        reader: &ChainReader,
        sub: &BookSubBlock,
        sequence: u64,
        owners: &[Felt],
    ) -> Result<(SignedPublicInput, Vec<Felt>)> {
        self.statement_under(&self.header(reader, sequence).await?, sub, owners)
    }

    /// The statement and slot-binding witness of `sub` under `header`.
    fn statement_under(
        &self,
        header: &SignedPublicInput,
        sub: &BookSubBlock,
        owners: &[Felt],
    ) -> Result<(SignedPublicInput, Vec<Felt>)> {
        sub.statement(header, &self.directory(owners)).map_err(|e| MarketError::Statement(e.to_string()))
    }
}

/// Builds the book's next sub-block from the pending messages (arrival order) against chain
/// and records it Built; refused messages leave pending with their reasons, messages that did
/// not fit stay pending. Reconciles first, ends an in-flight sub-block whose inputs or thread
/// changed on chain, refuses while another sub-block is in flight, and refuses a thread that
/// no longer runs the order book's program ([`MarketError::OtherProgram`], messages kept).
pub async fn batch(
    reader: &ChainReader,
    store: &Store<StoredOrder>,
    market: &Market,
    observer: &dyn Observer,
) -> Result<BatchOutcome<StoredOrder>> {
    let key = market.thread_key();
    let mut reconciled = reconcile(reader, &market.registry, store, key).await?;
    if let Some(stale) = abandon_if_stale(reader, store, key).await? {
        reconciled = Some(stale);
    }
    if let Some(in_flight) = store.in_flight(key).map_err(EngineError::from)? {
        return Err(EngineError::InFlight {
            thread_id: key.thread_id,
            sequence: in_flight.sequence(),
            status: in_flight.status.name(),
        }
        .into());
    }
    // The oldest messages up to the round's cap: the rest of the queue is not read.
    let pending = store.pending_within(key, this_round(round_cap(store, key)?), |_| 1).map_err(EngineError::from)?;
    let owed = uncross_owed(store, key)?;
    if pending.is_empty() && !owed {
        return Ok(BatchOutcome::NothingPending { reconciled });
    }
    // Moved to another program (`upgrade_thread`), the thread would only revert this prover's
    // proofs: refused before any matching or proving, so a service backs off instead of
    // paying for reverts (an in-flight sub-block of the old program was ended just above).
    let info = market
        .registry
        .thread(reader, market.thread_id)
        .await
        .map_err(|source| MarketError::Chain { doing: "reading the thread", source })?;
    Market::check_program(market.thread_id, &info)?;
    // While a round the prover failed on is being split: at most half of its messages.
    let pending = crate::isolation::cap_round(store, key, pending).map_err(MarketError::from)?;
    observer.step(&format!("matching {} pending order message(s) against the book on chain", pending.len()));
    let known = live_orders(store, key)?;
    let inputs = RoundInputs {
        orders: with_named(&known, &pending),
        budget: slot_budget(store, key)?,
        resume: taker_to_resume(store, key)?,
    };
    set_round_inputs(store, key, &inputs)?;
    let (matched, signed, closed) = market.match_on_chain(reader, &pending, &inputs).await?;
    // Read after the book's slots (`NewSubBlock::closed_block_at_build`).
    let closed_block_at_build = reader
        .latest_closed_block()
        .await
        .map_err(|source| MarketError::Chain { doing: "reading the latest closed block", source })?;
    remember_closed_on_block(store, key, market, reader, &closed, closed_block_at_build).await?;
    // Indices into `pending` of the messages the batcher saw (canonical records only).
    let seen: Vec<usize> = (0..pending.len()).filter(|&i| signed[i].is_some()).collect();
    let mut rejected: Vec<Rejected<StoredOrder>> = (0..pending.len())
        .filter(|&i| signed[i].is_none())
        .map(|i| Rejected { message: pending[i].clone(), reason: "not a canonical signed order record".into() })
        .collect();
    let refused = match &matched {
        Ok(m) => m.batch.refused.clone(),
        Err(refused) => refused.clone(),
    };
    rejected.extend(refused.iter().map(|r| Rejected { message: pending[seen[r.index]].clone(), reason: r.reason.to_string() }));
    rejected.sort_by_key(|r| r.message.id);
    let Ok(Matched { batch, owners }) = matched else {
        write_json_note(store, key, RESUME_NOTE, &None::<StoppedTaker>)?; // the resumed taker found nothing
        if pending.is_empty() {
            return Ok(BatchOutcome::NothingPending { reconciled });
        }
        store.record_rejected(key, rejected.clone()).map_err(EngineError::from)?;
        return Err(MarketError::AllRefused(rejected.iter().map(refusal_line).collect()));
    };
    let refused_at: BTreeSet<usize> = refused.iter().map(|r| seen[r.index]).collect();
    let looked_at = seen.len() - batch.deferred.len();
    let accepted: Vec<Message<StoredOrder>> = seen[..looked_at]
        .iter()
        .filter(|i| !refused_at.contains(i))
        .map(|&i| pending[i].clone())
        .collect();
    if accepted.len() != batch.sub_block.messages.len() {
        return Err(MarketError::Statement(format!(
            "the batcher accepted {} messages, the queue gives {}",
            batch.sub_block.messages.len(),
            accepted.len()
        )));
    }
    // The statement of the thread as read for the program check (no sub-block in flight: the
    // next sequence is the chain's): the program the proof is for is the one checked.
    let sequence = info.sequence;
    let (statement, _) = market.statement_under(&market.header_of(&info, sequence), &batch.sub_block, &owners)?;
    // The taker this round's budget stops: resumed by the round after this one, once this one
    // settles (however it is found settled). Written before the sub-block is recorded, for
    // the attempt `record_batch` gives it.
    let stopped = batch.stopped.as_ref().map(|s| StoppedTaker::from_batcher(s, &owners)).transpose()?;
    let attempt = store.next_attempt(key, sequence).map_err(EngineError::from)?;
    write_json_note(store, key, RESUME_NEXT_NOTE, &Some(ResumeNext { sequence, attempt, stopped }))?;
    let (record, still_pending) = store
        .record_batch_counted(
            key,
            NewSubBlock {
                sequence,
                chain_id: statement.chain_id,
                os_version: statement.os_version,
                program_hash: statement.program_hash,
                contract_set_commitment: statement.contract_set_commitment,
                messages: accepted,
                transactions: tx_list_record(&statement.transactions),
                inputs: to_entries(&statement.inputs),
                outputs: to_entries(&statement.outputs),
                parent_attempt: None,
                closed_block_at_build: Some(closed_block_at_build),
            },
            rejected.clone(),
        )
        .map_err(EngineError::from)?;
    observer.done(&format!(
        "sub-block {sequence}: {} message(s), {} fill(s), {} refused",
        record.body.messages.len(),
        batch.sub_block.trades.len(),
        rejected.len()
    ));
    Ok(BatchOutcome::Built(Built { sub_block: record, rejected, still_pending, reconciled }))
}

/// A refused message as one line: what it was, whose, and why.
pub fn refusal_line(r: &Rejected<StoredOrder>) -> String {
    format!("{} order {} from {:#x}: {}", action(&r.message.body), r.message.body.id, r.message.body.owner, r.reason)
}

/// `buy 30 @ 52`, `sell ...` or `cancel`.
pub fn action(o: &StoredOrder) -> String {
    match o.place {
        Some((side, price, quantity)) => {
            let side = if side == zkthread_orderbook::state::SIDE_BUY { "buy" } else { "sell" };
            format!("{side} {quantity} @ {price}")
        }
        None => "cancel".into(),
    }
}

/// What [`prove`] did.
pub enum BookProveOutcome {
    /// No sub-block is Built.
    NothingBuilt,
    /// The book moved on chain since the sub-block was batched: it ended Stale, its messages
    /// are pending again.
    Stale(Reconciled),
    /// The sub-block no longer matches the book, and its sequence was taken on chain: by its
    /// own twin, perhaps (proven from a copy of this data directory), whose settlement is what
    /// moved the book. Nothing is recorded: settling reconciles it, Settled or Superseded.
    SequenceTaken { next_sequence: u64 },
    Proved(ProvedRound),
}

/// A book sub-block proven now and recorded as Proven.
pub struct ProvedRound {
    pub sub_block: SubBlock<StoredOrder>,
    pub trades: Vec<Trade>,
    pub proof_felts: usize,
    pub prove_time: Duration,
}

/// The thread's next sequence if it passed `sub_block`'s (another settlement took it).
async fn sequence_taken(reader: &ChainReader, market: &Market, sub_block: &SubBlock<StoredOrder>) -> Result<Option<u64>> {
    let next_sequence = market
        .registry
        .next_sequence(reader, market.thread_key().thread_id)
        .await
        .chain("reading the thread's next sequence")?;
    Ok((next_sequence > sub_block.sequence()).then_some(next_sequence))
}

/// Proves the thread's Built sub-block: its messages matched again against chain must give
/// exactly its stored lists (else it ends Stale); the proof is verified off-chain before it is
/// stored.
pub async fn prove(
    reader: &ChainReader,
    store: &Store<StoredOrder>,
    market: &Market,
    observer: &dyn Observer,
) -> Result<BookProveOutcome> {
    let key = market.thread_key();
    let Some(sub_block) = store.built(key).map_err(EngineError::from)? else {
        return Ok(BookProveOutcome::NothingBuilt);
    };
    // A sequence taken already (its twin settled it, or another prover): no proof to make.
    if let Some(next_sequence) = sequence_taken(reader, market, &sub_block).await? {
        return Ok(BookProveOutcome::SequenceTaken { next_sequence });
    }
    // What it was batched under (written by `batch` just before it recorded this sub-block).
    let inputs = match round_inputs(store, key)? {
        Some(inputs) => inputs,
        None => RoundInputs {
            orders: with_named(&live_orders(store, key)?, &sub_block.body.messages),
            budget: None,
            resume: None,
        }, // batched by a version before the note: no budget, no resumed taker
    };
    let (matched, _, _) = market.match_on_chain(reader, &sub_block.body.messages, &inputs).await?;
    let stored = stored_statement(&sub_block, key.registry)?;
    let replayed = match matched {
        Ok(Matched { batch, owners }) if batch.refused.is_empty() && batch.deferred.is_empty() => {
            let (statement, witness) = market.statement_at(reader, &batch.sub_block, sub_block.sequence(), &owners).await?;
            (statement == stored).then_some((batch.sub_block, witness))
        }
        _ => None,
    };
    let Some((sub, witness)) = replayed else {
        // The sequence, read again after the book: if it was taken meanwhile, the registry's
        // record says whose settlement moved the book (helper-88 4), not this stale check.
        if let Some(next_sequence) = sequence_taken(reader, market, &sub_block).await? {
            return Ok(BookProveOutcome::SequenceTaken { next_sequence });
        }
        let ended = store
            .record_abandoned(
                key,
                sub_block.sequence(),
                sub_block.attempt,
                SubBlockStatus::Stale { tx_hash: None, reason: "the book moved on chain since it was batched".into() },
            )
            .map_err(EngineError::from)?;
        return Ok(BookProveOutcome::Stale(Reconciled {
            sequence: ended.sequence(),
            attempt: ended.attempt,
            from: "built",
            to: ended.status.name(),
            tx_hash: None,
            detail: format!("the book moved on chain; {} message(s) pending again", ended.body.messages.len()),
        }));
    };
    observer.step(&format!(
        "proving sub-block {} ({} messages, {} fills) with Stwo ({}, {} bits)",
        sub_block.sequence(),
        sub.messages.len(),
        sub.trades.len(),
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let began = Instant::now();
    let (statement, rows) = (stored.clone(), sub.witness.clone());
    let proof = tokio::task::spawn_blocking(move || poseidon252::prove(&statement, &witness, &rows, &PARAMS))
        .await
        .map_err(|e| MarketError::ProverTask(e.to_string()))?
        .map_err(|e| MarketError::Prove(e.to_string()))?;
    let prove_time = began.elapsed();
    poseidon252::verify(&stored, &proof, &PARAMS).map_err(|e| MarketError::Verify(e.to_string()))?;
    let felts = poseidon252::to_felts(&proof);
    let proof_felts = felts.len();
    observer.done(&format!("{:.1} s, {proof_felts} proof felts", prove_time.as_secs_f64()));
    let sub_block = store
        .record_proof(key, sub_block.sequence(), sub_block.attempt, felts)
        .map_err(EngineError::from)?;
    Ok(BookProveOutcome::Proved(ProvedRound { sub_block, trades: sub.trades, proof_felts, prove_time }))
}

/// One `book settle`: what was built, proven and sent (each step skipped when the store says
/// it was done before: a crashed run is resumed, never repeated).
pub struct Round {
    pub built: Option<Built<StoredOrder>>,
    pub proved: Option<ProvedRound>,
    /// Reconciliation or proving found the book moved: the sub-block ended, nothing was sent.
    pub ended: Option<Reconciled>,
    pub settled: Option<SettleOutcome<StoredOrder>>,
}

/// Batches (unless a sub-block is in flight), proves (if one is Built) and settles the book's
/// next sub-block with `client`'s account, exactly once.
pub async fn settle_round(
    client: &ChainClient,
    store: &Store<StoredOrder>,
    market: &Market,
    options: SettleOptions,
    observer: &dyn Observer,
) -> Result<Round> {
    let key = market.thread_key();
    let reader = client.reader();
    let mut round = Round { built: None, proved: None, ended: None, settled: None };
    // A sub-block in flight (a run that stopped after batching, proving or sending) is taken
    // up where it stopped: settle reconciles a recorded send before anything is sent again.
    if store.in_flight(key).map_err(EngineError::from)?.is_none() {
        match batch(reader, store, market, observer).await? {
            BatchOutcome::Built(built) => round.built = Some(built),
            BatchOutcome::NothingPending { reconciled } => {
                round.ended = reconciled;
                return Ok(round);
            }
        }
    }
    let proved = match prove(reader, store, market, observer).await {
        Err(error) if fails_every_time(&error) => {
            round.ended = Some(end_unprovable(store, key, &error)?);
            return Ok(round);
        }
        other => other?,
    };
    let taken = matches!(proved, BookProveOutcome::SequenceTaken { .. });
    match proved {
        BookProveOutcome::Stale(ended) => {
            round.ended = Some(ended);
            return Ok(round);
        }
        BookProveOutcome::Proved(proved) => round.proved = Some(proved),
        BookProveOutcome::NothingBuilt | BookProveOutcome::SequenceTaken { .. } => {}
    }
    match settle(client, store, key, options, observer).await {
        // Settling reconciles the taken sequence; a node that reads it open again is behind.
        Err(EngineError::NotProven { thread_id, sequence }) if taken => {
            return Err(EngineError::SequenceUnsettled { thread_id, sequence }.into());
        }
        Ok(settled) => {
            if let SettleOutcome::Sent(sent) = &settled {
                if sent.settled() {
                    // The round is on chain: a note that cannot be written must not turn that
                    // into an error (the cap is only a hint to the next batch).
                    let body = &sent.sub_block.body;
                    let calldata = crate::codec::settlement(&sent.sub_block).calldata().len();
                    if let Err(error) = relax_round_cap(store, key, body.messages.len()) {
                        tracing::warn!(%error, "the book's round cap could not be relaxed");
                    }
                    // A round of fills alone has no signature rows: its shorter proof would make
                    // the estimate too high for the next round with messages.
                    if !body.messages.is_empty() {
                        if let Err(error) = estimate_slot_budget(store, key, touched_slots(body.inputs.len()), calldata) {
                            tracing::warn!(%error, "the book's slot budget could not be re-estimated");
                        }
                    }
                }
            }
            round.settled = Some(settled);
        }
        Err(EngineError::PreflightBlocked { oversize: Some(felts), .. }) => {
            round.ended = Some(end_oversized(store, key, felts)?);
        }
        Err(other) => return Err(other.into()),
    }
    Ok(round)
}

/// How many of the oldest pending messages a round takes up: its cap, or without one
/// [`ROUND_READ_LIMIT`]. The messages past it stay pending, untouched (not even decoded), for
/// the next round.
fn this_round(cap: Option<usize>) -> usize {
    cap.map_or(ROUND_READ_LIMIT, |cap| cap.max(1))
}

/// The most pending messages an uncapped round reads, rather than the whole queue: more than
/// one sub-block accepts (each accepted message proves its signature in
/// `VERIFY_PERMUTATIONS + 1` of the `MAX_COMPONENT_ROWS` Poseidon2 rows, so at most 524),
/// and refused messages leave the queue, so whatever lies past it waits one round at most.
const ROUND_READ_LIMIT: usize = ROUND_CAP_LIFTED_AT;
const _: () = assert!(batcher::MAX_COMPONENT_ROWS / (zkthread_sig::wots::VERIFY_PERMUTATIONS + 1) < ROUND_READ_LIMIT);

/// The store note holding the book's round cap.
const ROUND_CAP_NOTE: &str = "book_round_cap";

/// A cap that grows to this is lifted: the batcher's own proof-size limit alone.
const ROUND_CAP_LIFTED_AT: usize = 1024;

/// The most pending messages one book sub-block takes, since a round came out too large to
/// settle (`None`: no cap, the batcher's own proof-size limit alone). The note holds JSON
/// `null` once a cap is lifted.
pub fn round_cap(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<usize>> {
    let Some(json) = store.note(key, ROUND_CAP_NOTE).map_err(EngineError::from)? else {
        return Ok(None);
    };
    let cap: Option<usize> = serde_json::from_str(&json)
        .map_err(|e| MarketError::Statement(format!("the store's book round cap {json:?}: {e}")))?;
    Ok(cap.map(|c| c.max(1)))
}

/// After a round of `messages` settled: a cap that bound it (the round was full) grows by one,
/// and is lifted at [`ROUND_CAP_LIFTED_AT`]. Additive increase, halving on a round too large
/// (as TCP's window): a cap that only halved let one large message (a taker crossing many
/// makers) cut the book to one message per settlement for good, and one that doubled back
/// after every settlement would, under steady load near the calldata limit, throw away every
/// other proof; growing by one costs one discarded proof per climb back to the limit.
fn relax_round_cap(store: &Store<StoredOrder>, key: ThreadKey, messages: usize) -> Result<()> {
    let Some(cap) = round_cap(store, key)? else {
        return Ok(());
    };
    if messages < cap {
        return Ok(()); // the cap did not bind: no evidence that a larger round fits
    }
    let grown = cap.saturating_add(1);
    let next = (grown < ROUND_CAP_LIFTED_AT).then_some(grown);
    let json = serde_json::to_string(&next).map_err(|e| MarketError::Statement(e.to_string()))?;
    store.set_note(key, ROUND_CAP_NOTE, &json).map_err(EngineError::from)?;
    tracing::info!(from = cap, to = ?next, "book round cap relaxed after a settlement");
    Ok(())
}

/// A taker the budget stopped, by address, and the makers its pass had visited
/// (`batcher::Stopped`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoppedTaker {
    pub taker: (Felt, u32),
    pub passed: Vec<(Felt, u32)>,
}

impl StoppedTaker {
    /// `stopped` with its owners' addresses, from the `owners` its batch read: the taker's is
    /// among them (it was matched). A visited maker whose owner is not (an order read only
    /// because a message named it) is left out: a later round reads it only if a message
    /// names it again, and may then visit it once more.
    fn from_batcher(stopped: &batcher::Stopped, owners: &[Felt]) -> Result<Self> {
        let (id, n) = &stopped.taker;
        let taker = (owner_of(owners, id)?, *n);
        let passed = stopped.passed.iter().filter_map(|(id, n)| owner_of(owners, id).ok().map(|owner| (owner, *n))).collect();
        Ok(StoppedTaker { taker, passed })
    }

    fn to_batcher(&self) -> batcher::Stopped {
        let order = |(owner, n): &(Felt, u32)| (account_id(*owner), *n);
        batcher::Stopped { taker: order(&self.taker), passed: self.passed.iter().map(order).collect() }
    }
}

/// The store note naming the taker the budget stopped in the last settled round that stopped
/// one (JSON `null` when none): the next round resumes it first (`batcher::build_within`).
const RESUME_NOTE: &str = "book_resume";

/// What the last batch stopped, for its sub-block `(sequence, attempt)`: it becomes
/// [`RESUME_NOTE`] once that sub-block is found settled, however (a round that ends without
/// settling leaves the taker to resume as it was).
const RESUME_NEXT_NOTE: &str = "book_resume_next";

#[derive(serde::Serialize, serde::Deserialize)]
struct ResumeNext {
    sequence: u64,
    attempt: u32,
    stopped: Option<StoppedTaker>,
}

impl ResumeNext {
    /// The status of the sub-block this note waits on, if the store has it (read from its
    /// sequence on: the service asks on every poll).
    fn sub_block_status(&self, store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<SubBlockStatus>> {
        Ok(store
            .sub_blocks_from(key, self.sequence)
            .map_err(EngineError::from)?
            .into_iter()
            .find(|s| s.sequence() == self.sequence && s.attempt == self.attempt)
            .map(|s| s.status))
    }
}

fn read_json_note<T: serde::de::DeserializeOwned>(store: &Store<StoredOrder>, key: ThreadKey, note: &str) -> Result<Option<T>> {
    let Some(json) = store.note(key, note).map_err(EngineError::from)? else {
        return Ok(None);
    };
    serde_json::from_str(&json).map_err(|e| EngineError::Corrupt(format!("the note {note}: {e}")).into())
}

fn write_json_note<T: serde::Serialize>(store: &Store<StoredOrder>, key: ThreadKey, note: &str, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| MarketError::Statement(e.to_string()))?;
    store.set_note(key, note, &json).map_err(EngineError::from)?;
    Ok(())
}

/// The taker a settled round's budget stopped, which the next round resumes first; while there
/// is one, a round is owed even with no message pending (a service runs it: fills alone).
/// Settles the notes first: the last batch's stopped taker counts once its sub-block is
/// settled in the store (by `settle`, a reconciled send or a restart alike), and is dropped if
/// that sub-block ended otherwise.
pub fn taker_to_resume(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<StoppedTaker>> {
    if let Some(next) = read_json_note::<Option<ResumeNext>>(store, key, RESUME_NEXT_NOTE)?.flatten() {
        match next.sub_block_status(store, key)? {
            Some(SubBlockStatus::Settled { .. }) => {
                write_json_note(store, key, RESUME_NOTE, &next.stopped)?;
                write_json_note(store, key, RESUME_NEXT_NOTE, &None::<ResumeNext>)?;
            }
            Some(status) if status.in_flight() => {} // still on its way
            // Ended without settling, or never recorded: the taker to resume stays as it was.
            _ => write_json_note(store, key, RESUME_NEXT_NOTE, &None::<ResumeNext>)?,
        }
    }
    Ok(read_json_note::<Option<StoppedTaker>>(store, key, RESUME_NOTE)?.flatten())
}

/// The taker a round is owed to, for views: [`taker_to_resume`] without settling the notes (a
/// view must not write: it may run beside a batch that has written [`RESUME_NEXT_NOTE`] and
/// not yet recorded its sub-block). The last batch's stopped taker counts once its sub-block
/// is settled in the store; until then, and if it ended otherwise, the one before it.
pub fn owed_taker(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<StoppedTaker>> {
    if let Some(next) = read_json_note::<Option<ResumeNext>>(store, key, RESUME_NEXT_NOTE)?.flatten() {
        if matches!(next.sub_block_status(store, key)?, Some(SubBlockStatus::Settled { .. })) {
            return Ok(next.stopped);
        }
    }
    Ok(read_json_note::<Option<StoppedTaker>>(store, key, RESUME_NOTE)?.flatten())
}

/// Whether a round is owed with nothing pending: a settled round's budget stopped a taker.
pub fn uncross_owed(store: &Store<StoredOrder>, key: ThreadKey) -> Result<bool> {
    Ok(taker_to_resume(store, key)?.is_some())
}

/// What a batch matched under, which `prove` must match under again: the order slots it read
/// (the known orders and those its messages name; a deferred or refused message's order may
/// have traded), the slot budget and the taker it resumed. Written before the sub-block is
/// recorded; one sub-block is in flight at a time.
#[derive(serde::Serialize, serde::Deserialize)]
struct RoundInputs {
    orders: Vec<(Felt, u32)>,
    budget: Option<usize>,
    resume: Option<StoppedTaker>,
}

/// The store note holding the last batch's [`RoundInputs`].
const ROUND_INPUTS_NOTE: &str = "book_round_inputs";

fn set_round_inputs(store: &Store<StoredOrder>, key: ThreadKey, inputs: &RoundInputs) -> Result<()> {
    let json = serde_json::to_string(inputs).map_err(|e| MarketError::Statement(e.to_string()))?;
    store.set_note(key, ROUND_INPUTS_NOTE, &json).map_err(EngineError::from)?;
    Ok(())
}

/// The last batch's [`RoundInputs`] (`None`: batched by a version that kept no such note).
fn round_inputs(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<RoundInputs>> {
    let Some(json) = store.note(key, ROUND_INPUTS_NOTE).map_err(EngineError::from)? else {
        return Ok(None);
    };
    let inputs = serde_json::from_str(&json).map_err(|e| EngineError::Corrupt(format!("the round's inputs: {e}")))?;
    Ok(Some(inputs))
}

/// The store note holding the book's slot budget (`batcher::build_within`).
const SLOT_BUDGET_NOTE: &str = "book_slot_budget";

/// A book statement's inputs beyond the slots its sub-block touches: the book's two
/// configuration slots (`base_token`, `quote_token`, read-only).
const BOOK_CONFIG_INPUTS: usize = 2;

/// Settle calldata felts one more touched slot costs at most: its input and output entries
/// (3 each) and its slot-binding witness (2).
const MOST_FELTS_PER_SLOT: usize = 8;

/// Calldata felts an estimate keeps free for a larger proof: more slots and messages can
/// lengthen the proof's decommitments (a component's trace growing past a power of two).
const PROOF_GROWTH_RESERVE: usize = 128;

/// The slots a book sub-block with `inputs` statement inputs touched.
fn touched_slots(inputs: usize) -> usize {
    inputs.saturating_sub(BOOK_CONFIG_INPUTS)
}

/// The most distinct slots one book sub-block touches, since a round was too large to settle
/// (`None`: no budget yet, the batcher's proof-size limit alone).
pub fn slot_budget(store: &Store<StoredOrder>, key: ThreadKey) -> Result<Option<usize>> {
    let Some(json) = store.note(key, SLOT_BUDGET_NOTE).map_err(EngineError::from)? else {
        return Ok(None);
    };
    let budget: Option<usize> = serde_json::from_str(&json)
        .map_err(|e| MarketError::Statement(format!("the store's book slot budget {json:?}: {e}")))?;
    Ok(budget.map(|b| b.max(batcher::MIN_SLOT_BUDGET)))
}

/// Sets the book's slot budget (`None` removes it): what an oversized round sets, for an
/// operator who knows the book's capacity (or a test that wants small rounds).
pub fn set_slot_budget(store: &Store<StoredOrder>, key: ThreadKey, budget: Option<usize>) -> Result<()> {
    let json = serde_json::to_string(&budget).map_err(|e| MarketError::Statement(e.to_string()))?;
    store.set_note(key, SLOT_BUDGET_NOTE, &json).map_err(EngineError::from)?;
    Ok(())
}

/// After a round that touched `slots` settled with `calldata` felts: a budget in force is
/// re-estimated from it, as its slots plus what the calldata left free (less
/// [`PROOF_GROWTH_RESERVE`]) at [`MOST_FELTS_PER_SLOT`]. So it climbs back in one settlement
/// after a cut, and settles near the book's real capacity without a blind climb that would
/// throw away a proof each time it overshoots; a round near the limit keeps it near its size.
fn estimate_slot_budget(store: &Store<StoredOrder>, key: ThreadKey, slots: usize, calldata: usize) -> Result<()> {
    let Some(budget) = slot_budget(store, key)? else {
        return Ok(());
    };
    let free = crate::preflight::MAX_CALLDATA_FELTS.saturating_sub(calldata).saturating_sub(PROOF_GROWTH_RESERVE);
    let next = (slots + free / MOST_FELTS_PER_SLOT).max(batcher::MIN_SLOT_BUDGET);
    if next != budget {
        store.set_note(key, SLOT_BUDGET_NOTE, &next.to_string()).map_err(EngineError::from)?;
        tracing::info!(from = budget, to = next, slots, calldata, "book slot budget re-estimated after a settlement");
    }
    Ok(())
}

/// Ends the Proven sub-block whose settle calldata (`felts`) is above Starknet's limit: its
/// messages go back to pending, and the slot budget drops below its size by what the excess
/// calldata needs (`batcher::slot_budget_below`). The batcher then defers the messages that
/// do not fit and stops a taker's fills there, its remainder resting to be filled by later
/// rounds, so one message crossing many makers is never refused for its size. A round that
/// touched no more than the smallest budget (none near the limit is known) halves the round
/// cap instead, and a lone message in one is refused.
fn end_oversized(store: &Store<StoredOrder>, key: ThreadKey, felts: usize) -> Result<Reconciled> {
    let Some(sub_block) = store.in_flight(key).map_err(EngineError::from)? else {
        return Err(MarketError::Statement("no sub-block in flight to end".into()));
    };
    let messages = sub_block.body.messages.len();
    let slots = touched_slots(sub_block.body.inputs.len());
    let limit = crate::preflight::MAX_CALLDATA_FELTS;
    let reason = format!("its settle calldata is {felts} felts, above Starknet's {limit}");
    let ended = store
        .record_abandoned(
            key,
            sub_block.sequence(),
            sub_block.attempt,
            SubBlockStatus::Stale { tx_hash: None, reason: reason.clone() },
        )
        .map_err(EngineError::from)?;
    let detail = if slots > batcher::MIN_SLOT_BUDGET {
        let budget = batcher::slot_budget_below(slots, felts.saturating_sub(limit));
        store.set_note(key, SLOT_BUDGET_NOTE, &budget.to_string()).map_err(EngineError::from)?;
        format!("{reason}; its {messages} message(s) are pending again, rounds now touch at most {budget} slots (it touched {slots})")
    } else if messages > 1 {
        let cap = messages / 2;
        store.set_note(key, ROUND_CAP_NOTE, &cap.to_string()).map_err(EngineError::from)?;
        format!("{reason}; its {messages} messages are pending again, rounds now take at most {cap}")
    } else if messages == 0 {
        // Fills alone of a resumed taker, at the smallest budget (not seen: ~72 felts of slots):
        // it is not resumed again, so the same round is not proven forever; its remainder rests.
        write_json_note(store, key, RESUME_NOTE, &None::<StoppedTaker>)?;
        format!("{reason} with fills alone: the stopped taker is not resumed")
    } else {
        let refused = ended
            .body
            .messages
            .iter()
            .map(|m| Rejected {
                message: m.clone(),
                reason: format!("{reason} even alone (too many fills for one settlement)"),
            })
            .collect();
        store.record_rejected(key, refused).map_err(EngineError::from)?;
        format!("{reason} with one message: refused")
    };
    tracing::warn!(sequence = ended.sequence(), %detail, "book sub-block too large to settle");
    Ok(Reconciled {
        sequence: ended.sequence(),
        attempt: ended.attempt,
        from: "proven",
        to: ended.status.name(),
        tx_hash: None,
        detail,
    })
}

/// Whether proving failed in a way that trying again repeats. The prover and the off-chain
/// verifier see only the stored sub-block's statement and the rows of its messages matched
/// again (a chain that moved ends the round Stale before them), so their failures are
/// deterministic: retried, such a round would stop the book for good (service review F6). A
/// chain read, the store or a stopped prover task may succeed next time, and is retried.
pub(crate) fn fails_every_time(error: &MarketError) -> bool {
    matches!(error, MarketError::Prove(_) | MarketError::Verify(_))
}

/// Ends the Built sub-block the prover failed on (`error`, [`fails_every_time`]),
/// `crate::isolation` splitting its messages until the one it fails on is refused. A round
/// that resumed a stopped taker (or made fills alone) does not blame its messages: the taker
/// is no longer resumed (its remainder rests), and the next round, without it, tells whether
/// a message is at fault. (Blaming them instead would refuse honest messages one by one
/// behind a taker the prover fails on, each with its key.)
fn end_unprovable(store: &Store<StoredOrder>, key: ThreadKey, error: &MarketError) -> Result<Reconciled> {
    let Some(sub_block) = store.built(key).map_err(EngineError::from)? else {
        return Err(MarketError::Statement("no built sub-block to end".into()));
    };
    let resumed = round_inputs(store, key)?.is_some_and(|inputs| inputs.resume.is_some());
    let blame = if resumed || sub_block.body.messages.is_empty() {
        write_json_note(store, key, RESUME_NOTE, &None::<StoppedTaker>)?;
        Blame::NotTheMessages
    } else {
        Blame::Messages
    };
    let mut detail = crate::isolation::end_unprovable(store, key, &sub_block, error, blame)?;
    if blame == Blame::NotTheMessages {
        detail.push_str("; the stopped taker is not resumed");
    }
    Ok(Reconciled {
        sequence: sub_block.sequence(),
        attempt: sub_block.attempt,
        from: "built",
        to: "stale",
        tx_hash: None,
        detail,
    })
}

/// The id of the message stored here exactly as `order` (same fields and signature) while it is
/// queued (pending or in a sub-block in flight): a client posting again what it posted, whose
/// first answer it lost. One that settled is found by [`admit_order`], once its nonce reads
/// spent; one that was refused is not found.
pub fn queued_duplicate(store: &Store<StoredOrder>, key: ThreadKey, order: &StoredOrder) -> Result<Option<u64>> {
    Ok(store.queued_copy(key, order).map_err(EngineError::from)?.map(|queued| queued.id))
}

/// `owner`'s messages the store holds that have not settled: in an in-flight sub-block (their
/// nonces are spent once it settles) and pending, in order.
fn queued_of(store: &Store<StoredOrder>, key: ThreadKey, owner: Felt) -> Result<Vec<Message<StoredOrder>>> {
    // One read of the owner's lane: a batch recorded meanwhile moves messages from pending
    // into a sub-block, and neither other owners' messages nor the settled history is decoded.
    Ok(store.lane_queue(key, &owner_lane(owner)).map_err(EngineError::from)?)
}

/// The book as `owner`'s queued messages leave it: chain, the known orders, then the
/// owner's in-flight and pending messages as the batcher would apply them (other owners'
/// messages are not replayed: a fill of theirs can still change an order before it settles).
async fn state_after_queued(
    reader: &ChainReader,
    store: &Store<StoredOrder>,
    market: &Market,
    owner: Felt,
    id: u32,
) -> Result<(BookState, Vec<SignedOrder>)> {
    let key = market.thread_key();
    let queued = queued_of(store, key, owner)?;
    let mut orders = with_named(&live_orders(store, key)?, &queued);
    if !orders.contains(&(owner, id)) {
        orders.push((owner, id));
    }
    let state = market.state_of(reader, &[owner], &orders).await?;
    let signed: Vec<SignedOrder> = queued.iter().filter_map(|m| m.body.signed(state.book)).collect();
    let after = match batcher::build(&state, &signed) {
        Ok(batch) if !batch.deferred.is_empty() => {
            return Err(MarketError::Statement(format!(
                "{} of the owner's queued messages do not fit the next sub-block: settle first",
                batch.deferred.len()
            )))
        }
        Ok(batch) => batch.sub_block.after,
        Err(BatchError::Empty { .. }) => state,
        Err(other) => return Err(MarketError::Statement(other.to_string())),
    };
    Ok((after, signed))
}

/// Why the batcher would refuse `owner`'s next message (`place`: `Some((side, price,
/// quantity))`, `None` to cancel order `id`) before it is signed, as far as it can tell
/// without the signature: the fields' ranges, a key in the book, the nonce bound, an id placed
/// before, a cancel of an order that is not there or already cancelled. A client checks this first because a
/// refused message burns the one-time key it was signed with (the book's key slot never
/// rotates to the next one). `nonce` is the one the message will carry.
pub async fn precheck(
    reader: &ChainReader,
    store: &Store<StoredOrder>,
    market: &Market,
    owner: Felt,
    id: u32,
    place: Option<(u32, Price, u64)>,
    nonce: u32,
) -> Result<Option<batcher::Rejection>> {
    let (after, _) = state_after_queued(reader, store, market, owner, id).await?;
    Ok(precheck_on(&after, owner, id, place, nonce))
}

/// [`precheck`] on the book as the owner's queued messages leave it. A *new* cancel of an
/// order its owner cancelled on L2 is reported as already cancelled: the batcher accepts one
/// (so a cancel signed before the L2 cancel still settles, crate docs of the batcher), but
/// signing one now would only spend a one-time key and a nonce on an order that cannot trade.
pub fn precheck_on(
    after: &BookState,
    owner: Felt,
    id: u32,
    place: Option<(u32, Price, u64)>,
    nonce: u32,
) -> Option<batcher::Rejection> {
    let message = zkthread_orderbook::OrderMessage {
        book: after.book,
        owner: account_id(owner),
        id,
        place,
        nonce,
        next_key: zkthread_sig::wots::KeyCommitment::NONE,
    };
    if let Err(e) = message.payload() {
        return Some(batcher::Rejection::OutOfRange(e));
    }
    let account = after.account(&message.owner);
    if account.key.is_none() {
        return Some(batcher::Rejection::NoKey);
    }
    if zkthread_sig::check_consumable_nonce(nonce).is_err() {
        return Some(batcher::Rejection::NonceExhausted { nonce });
    }
    let found = after.order(&message.owner, id);
    if place.is_none() && found.side == SIDE_CANCELLED_ON_L2 {
        return Some(batcher::Rejection::AlreadyCancelled { id });
    }
    batcher::slot_refusal(place.is_some(), id, &found)
}

/// Why an order message's owner, or a signer a client asks about, is refused: no account can
/// be that address.
pub fn not_an_account(owner: Felt) -> String {
    format!("owner {owner:#x} is not a Starknet account address (0, or not below 2^251)")
}

/// Why [`admit_order`] refuses a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRefusal {
    /// The message itself cannot apply (the batcher's reason). Its one-time key is spent on
    /// the client's side.
    Refused(String),
    /// The owner's queue is full for now: the same signed message may be posted again after
    /// the next settlement (a service answers 429, not 422, so a client does not re-sign).
    QueueFull(String),
}

impl std::fmt::Display for OrderRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderRefusal::Refused(reason) | OrderRefusal::QueueFull(reason) => f.write_str(reason),
        }
    }
}

/// What [`admit_order`] makes of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The owner's next message, which the batcher would take now: store it.
    Next,
    /// The same signed message settled here already, as stored message `id`: a client posting
    /// again what settled (its first answer lost) hears it settled, not refused as a replay
    /// that would have it sign and pay again. Nothing is stored.
    Settled(u64),
    Refused(OrderRefusal),
}

/// Admission of a signed message before it is stored (a service's): the batcher's own checks
/// (domain, ranges, key, nonce, signature, id reuse, no such order, already cancelled) on the book after the
/// owner's in-flight and pending messages. A spent nonce whose message, word for word, settled
/// in one of the thread's latest sub-blocks is that message ([`Admission::Settled`]); the
/// batcher checks every message again when it matches.
pub async fn admit_order(
    reader: &ChainReader,
    store: &Store<StoredOrder>,
    market: &Market,
    order: &StoredOrder,
) -> Result<Admission> {
    let key = market.thread_key();
    // Before any node call: the node cannot decode an owner past the address bound.
    if !crate::is_account_address(order.owner) {
        return Ok(Admission::Refused(OrderRefusal::Refused(not_an_account(order.owner))));
    }
    let queued = queued_of(store, key, order.owner)?;
    // Before any node call: one owner cannot fill the book's rounds (pending messages are
    // matched oldest first).
    if queued.len() >= crate::MAX_QUEUED_PER_SENDER {
        return Ok(Admission::Refused(OrderRefusal::QueueFull(format!(
            "the owner already has {} messages queued here (at most {}): post again after the next settlement",
            queued.len(),
            crate::MAX_QUEUED_PER_SENDER
        ))));
    }
    let book = market.book_domain();
    let Some(signed) = order.signed(book) else {
        return Ok(Admission::Refused(OrderRefusal::Refused("a key or signature word is not a canonical M31 value".into())));
    };
    if let Some(forged) = own_key_refusal(&signed) {
        return Ok(Admission::Refused(forged));
    }
    let mut orders = with_named(&live_orders(store, key)?, &queued);
    if !orders.contains(&(order.owner, order.id)) {
        orders.push((order.owner, order.id));
    }
    let state = market.state_of(reader, &[order.owner], &orders).await?;
    let mut queue: Vec<SignedOrder> = queued.iter().filter_map(|m| m.body.signed(book)).collect();
    let index = queue.len();
    queue.push(signed);
    let refused = match batcher::build(&state, &queue) {
        // Deferred messages are not checked by this build: refuse rather than store unchecked.
        Ok(batch) if !batch.deferred.is_empty() => {
            return Ok(Admission::Refused(OrderRefusal::QueueFull(format!(
                "the owner has more queued messages than one sub-block holds ({} waiting): post again after the next settlement",
                queue.len() - 1
            ))))
        }
        Ok(batch) => batch.refused,
        Err(BatchError::Empty { refused }) => refused,
        Err(other) => return Err(MarketError::Statement(other.to_string())),
    };
    let Some(refused) = refused.into_iter().find(|r| r.index == index) else {
        return Ok(Admission::Next);
    };
    // Only a spent nonce (below the owner's next) can be a message that settled here.
    if let batcher::Rejection::WrongNonce { given, current } = refused.reason {
        if given < current {
            if let Some(settled) = store.settled_copy(key, order, crate::submit::SETTLED_DUPLICATE_SEARCH).map_err(EngineError::from)? {
                return Ok(Admission::Settled(settled.id));
            }
        }
    }
    Ok(Admission::Refused(OrderRefusal::Refused(refused.reason.to_string())))
}

/// Before any node call: a message whose signature does not verify under the key it names
/// itself is refused, as the batcher would (it verifies under the owner's key slot, which must
/// be that key). So a forged post costs the service no chain read (every live order and the
/// owner's account) and holds the admission lock only for one verification. A message whose
/// payload is out of range is left to the batcher's own check, which names that first.
fn own_key_refusal(signed: &SignedOrder) -> Option<OrderRefusal> {
    signed.message.payload().ok()?;
    // `verify` gives `verify_trace`'s verdict and reason, most forgeries after 4 permutations.
    let refused = zkthread_sig::wots::verify(&signed.key, &signed.message, &signed.signature).err()?;
    Some(OrderRefusal::Refused(batcher::Rejection::BadSignature(refused).to_string()))
}

/// Where a client of an earlier version kept the thread's queue:
/// `<data-dir>/books/<registry>-<thread>.json` (read once by [`import_queue`]).
pub fn legacy_queue_path(data_dir: &std::path::Path, key: ThreadKey) -> std::path::PathBuf {
    data_dir.join("books").join(format!("{:#x}-{}.json", key.registry, key.thread_id))
}

/// Imports the messages of a client's JSON queue written before messages lived in the store
/// (`super::OrderQueue`): each pending message not already stored is submitted in its order,
/// then the file is renamed `<name>.imported` so it is read once. Returns how many were
/// submitted (0 when there is no file).
pub fn import_queue(store: &Store<StoredOrder>, key: ThreadKey, path: &std::path::Path) -> std::io::Result<usize> {
    let queue: super::OrderQueue = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let stored = store.snapshot(key).map_err(std::io::Error::other)?;
    let mut have: Vec<StoredOrder> = stored.pending.into_iter().map(|m| m.body).collect();
    have.extend(stored.rejected.into_iter().map(|r| r.message.body));
    have.extend(stored.sub_blocks.into_iter().flat_map(|s| s.body.messages).map(|m| m.body));
    if !queue.known.is_empty() {
        let note = store.note(key, IMPORTED_KNOWN).map_err(std::io::Error::other)?;
        let mut known = imported_known(note).map_err(std::io::Error::other)?;
        for order in queue.known {
            if !known.contains(&order) {
                known.push(order);
            }
        }
        let json = serde_json::to_string(&known).map_err(std::io::Error::other)?;
        store.set_note(key, IMPORTED_KNOWN, &json).map_err(std::io::Error::other)?;
    }
    let mut submitted = 0;
    for order in queue.pending {
        if !have.contains(&order) {
            store.submit(key, order).map_err(std::io::Error::other)?;
            submitted += 1;
        }
    }
    let mut imported = path.as_os_str().to_owned();
    imported.push(".imported");
    std::fs::rename(path, imported)?;
    Ok(submitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(owner: u64, id: u32, nonce: u32) -> StoredOrder {
        StoredOrder {
            owner: Felt::from(owner),
            id,
            place: Some((1, Price::whole(50), 10)),
            nonce,
            index: nonce,
            key: [1, 2, 3, 4],
            next_key: [5, 6, 7, 8],
            signature: vec![9; 4],
        }
    }

    #[test]
    fn a_stored_price_is_a_number_when_whole_and_num_den_otherwise() {
        let whole = serde_json::to_value(order(7, 3, 0)).unwrap();
        assert_eq!(whole["place"], serde_json::json!([1, 50, 10]), "the earlier integer form, unchanged");
        let ratio = StoredOrder { place: Some((2, Price::new(101, 2), 10)), ..order(7, 3, 0) };
        let json = serde_json::to_value(&ratio).unwrap();
        assert_eq!(json["place"], serde_json::json!([2, "101/2", 10]));
        assert_eq!(serde_json::from_value::<StoredOrder>(json).unwrap(), ratio);
        let mut bad = serde_json::to_value(&ratio).unwrap();
        bad["place"][1] = serde_json::json!("101:2");
        let err = serde_json::from_value::<StoredOrder>(bad).unwrap_err().to_string();
        assert!(err.contains("101:2"), "{err}");
    }

    /// The taker a round's budget stopped is resumed only once that round is settled in the
    /// store, however it got there; a round that ends otherwise leaves the taker to resume as
    /// it was; a restart keeps it.
    #[test]
    fn a_stopped_taker_is_resumed_once_its_round_settles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 2);
        let stopped = |id: u32| StoppedTaker { taker: (Felt::from(7u8), id), passed: vec![(Felt::from(8u8), 1)] };
        let round = |store: &Store<StoredOrder>, sequence: u64, stopped_id: u32| {
            store.submit(key, order(10 + sequence, sequence as u32, 0)).unwrap();
            let next = ResumeNext { sequence, attempt: 0, stopped: Some(stopped(stopped_id)) };
            write_json_note(store, key, RESUME_NEXT_NOTE, &Some(next)).unwrap();
            proven_round(store, key, sequence)
        };
        assert_eq!(taker_to_resume(&store, key).unwrap(), None);
        // In flight: not yet. Settled: resumed (and owed with nothing pending).
        let first = round(&store, 0, 1);
        assert_eq!(taker_to_resume(&store, key).unwrap(), None, "not before it settles");
        store.record_sending(key, 0, first.attempt, Felt::from(0x77u8), Felt::ONE).unwrap();
        store.record_settled(key, 0, first.attempt, Felt::from(0x77u8), 5, 100).unwrap();
        let resume_next = |store: &Store<StoredOrder>| store.note(key, RESUME_NEXT_NOTE).unwrap();
        let before = resume_next(&store);
        assert_eq!(owed_taker(&store, key).unwrap(), Some(stopped(1)), "a view sees it settled");
        assert_eq!(resume_next(&store), before, "and writes nothing");
        assert_eq!(taker_to_resume(&store, key).unwrap(), Some(stopped(1)));
        assert!(uncross_owed(&store, key).unwrap());
        // A batch that has written its note and not yet recorded its sub-block: a view in
        // between neither counts the new taker nor drops the note (taker_to_resume would).
        let unrecorded = ResumeNext { sequence: 1, attempt: 0, stopped: Some(stopped(9)) };
        write_json_note(&store, key, RESUME_NEXT_NOTE, &Some(unrecorded)).unwrap();
        let written = resume_next(&store);
        assert_eq!(owed_taker(&store, key).unwrap(), Some(stopped(1)));
        assert_eq!(resume_next(&store), written);
        // A round that stops another taker and ends Stale: the first is still the one to resume.
        let second = round(&store, 1, 2);
        store
            .record_abandoned(key, 1, second.attempt, SubBlockStatus::Stale { tx_hash: None, reason: "moved".into() })
            .unwrap();
        assert_eq!(taker_to_resume(&store, key).unwrap(), Some(stopped(1)));
        assert_eq!(owed_taker(&store, key).unwrap(), Some(stopped(1)));
        drop(store);
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        assert_eq!(taker_to_resume(&store, key).unwrap(), Some(stopped(1)), "kept across a restart");
    }

    /// A stopped taker is named by address: the taker's owner must be among the owners read;
    /// a visited maker whose owner is not (an order read only because a message named it) is
    /// left out rather than failing every later batch (helper-54's finding: closed makers once
    /// made `batch` fail for good).
    #[test]
    fn a_stopped_taker_keeps_the_makers_it_can_name() {
        let (alice, bob, gone) = (Felt::from(0xa11ceu64), Felt::from(0xb0bu64), Felt::from(0x9011eu64));
        let stopped = batcher::Stopped {
            taker: (account_id(bob), 3),
            passed: vec![(account_id(alice), 1), (account_id(gone), 2)],
        };
        let named = StoppedTaker::from_batcher(&stopped, &[alice, bob]).unwrap();
        assert_eq!(named, StoppedTaker { taker: (bob, 3), passed: vec![(alice, 1)] });
        assert_eq!(named.to_batcher(), batcher::Stopped { taker: (account_id(bob), 3), passed: vec![(account_id(alice), 1)] });
        assert!(StoppedTaker::from_batcher(&stopped, &[alice]).is_err(), "the taker's owner was read");
    }

    /// Before signing, a client learns what the batcher would refuse, and that a new cancel of
    /// an order cancelled on L2 would only spend a key; a cancel of a live or filled order, and
    /// a place at a fresh id, pass.
    #[test]
    fn precheck_refuses_before_signing_and_spares_a_key_on_an_l2_cancelled_order() {
        use zkthread_orderbook::batcher::{Account, Rejection};
        use zkthread_orderbook::OrderState;
        use zkthread_sig::M31;
        let (alice, eve) = (Felt::from(0xa11ceu64), Felt::from(0xe7eu64));
        let mut book = BookState::new([M31::reduce(1); 4], [M31::reduce(2); 4], [M31::reduce(3); 4], 0);
        let key = zkthread_sig::wots::KeyCommitment([M31::reduce(9); 4]);
        book.set_account(account_id(alice), Account { base: 5, quote: 5, nonce: 3, key });
        book.insert_order(account_id(alice), 1, OrderState::sell(50, 10));
        book.insert_order(account_id(alice), 2, OrderState::sell(50, 0));
        book.insert_order(account_id(alice), 3, OrderState::cancelled_on_l2(50));
        book.insert_order(account_id(alice), 4, OrderState::cancelled(50));
        let place = Some((zkthread_orderbook::state::SIDE_BUY, Price::whole(40), 5));
        assert_eq!(precheck_on(&book, alice, 1, None, 3), None, "a live order");
        assert_eq!(precheck_on(&book, alice, 2, None, 3), None, "a filled order");
        assert_eq!(precheck_on(&book, alice, 3, None, 3), Some(Rejection::AlreadyCancelled { id: 3 }), "cancelled on L2");
        assert_eq!(precheck_on(&book, alice, 4, None, 3), Some(Rejection::AlreadyCancelled { id: 4 }));
        assert_eq!(precheck_on(&book, alice, 5, None, 3), Some(Rejection::NoSuchOrder { id: 5 }));
        assert_eq!(precheck_on(&book, alice, 5, place, 3), None, "a fresh id");
        assert_eq!(precheck_on(&book, alice, 3, place, 3), Some(Rejection::IdReused { id: 3 }));
        assert_eq!(precheck_on(&book, eve, 5, place, 1), Some(Rejection::NoKey));
        let empty = Some((zkthread_orderbook::state::SIDE_BUY, Price::whole(40), 0));
        assert!(matches!(precheck_on(&book, alice, 5, empty, 3), Some(Rejection::OutOfRange(_))), "quantity 0");
    }

    /// An order found closed on chain (filled, or cancelled: side 3) is never read again by a
    /// round or an admission; live and unknown ones are, and the note survives a reopen.
    #[test]
    fn orders_found_closed_leave_the_live_set_for_good() {
        use zkthread_orderbook::OrderState;
        let dir = tempfile::tempdir().unwrap();
        let key = ThreadKey::new(Felt::from(0x99u64), 3);
        let known: Vec<(Felt, u32)> = (1..=4u64).map(|i| (Felt::from(0xa0 + i), i as u32)).collect();
        {
            let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
            store.set_note(key, IMPORTED_KNOWN, &serde_json::to_string(&known).unwrap()).unwrap();
            assert_eq!(live_orders(&store, key).unwrap(), known, "nothing found closed yet");
            let h = |i: usize| zkthread_sig::wots::Hash4::default().map(|_| zkthread_sig::M31::reduce(i as u32));
            let mut state = BookState::new(h(1), h(2), h(3), 0);
            let at = |i: usize| (account_id(known[i].0), known[i].1);
            state.insert_order(at(0).0, at(0).1, OrderState::sell(50, 10)); // live
            state.insert_order(at(1).0, at(1).1, OrderState::buy(50, 0)); // filled
            state.insert_order(at(2).0, at(2).1, OrderState::cancelled(50)); // cancelled
            // known[3] reads as the empty slot (never settled here): not closed.
            let closed = closed_in(&state, &known);
            assert_eq!(closed, vec![known[1], known[2]]);
            remember_closed(&store, key, &closed).unwrap();
            remember_closed(&store, key, &closed[..1]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        assert_eq!(live_orders(&store, key).unwrap(), vec![known[0], known[3]]);
        assert_eq!(known_orders(&store, key).unwrap(), known, "views still list every known order");
        store.set_note(key, CLOSED_ORDERS, "not json").unwrap();
        assert!(matches!(live_orders(&store, key), Err(MarketError::Engine(EngineError::Corrupt(_)))));
    }

    /// Records the pending messages as a Built, then Proven, sub-block (what `batch` and
    /// `prove` leave when preflight finds the settle calldata too large).
    fn proven_round(store: &Store<StoredOrder>, key: ThreadKey, sequence: u64) -> SubBlock<StoredOrder> {
        proven_with(store, key, sequence, &store.pending(key).unwrap(), 0)
    }

    /// The known orders are the imported ones, then what settled sub-blocks placed, in order
    /// and once each (a cancel places nothing); the settled prefix is cached in a note that
    /// moves forward as sequences settle, so a call reads only the sub-blocks recorded since,
    /// and a later call gives the same list as a cold one.
    #[test]
    fn known_orders_cache_the_settled_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 4);
        store.set_note(key, IMPORTED_KNOWN, &serde_json::to_string(&[(Felt::from(5u8), 1u32)]).unwrap()).unwrap();
        let settle = |sequence: u64, orders: &[StoredOrder]| {
            for o in orders {
                store.submit(key, o.clone()).unwrap();
            }
            let proven = proven_round(&store, key, sequence);
            store.record_sending(key, sequence, proven.attempt, Felt::from(0x77u8), Felt::ONE).unwrap();
            store.record_settled(key, sequence, proven.attempt, Felt::from(0x77u8), 5, 100).unwrap();
        };
        let cancel = StoredOrder { place: None, ..order(7, 2, 1) };
        settle(0, &[order(7, 2, 0), order(5, 1, 0)]);
        settle(1, &[cancel, order(8, 3, 0)]);
        let cached = |store: &Store<StoredOrder>| -> Option<SettledPlaced> {
            store.note(key, SETTLED_PLACED).unwrap().map(|json| serde_json::from_str(&json).unwrap())
        };
        assert_eq!(cached(&store), None, "nothing read yet");
        let known = |ids: &[(u64, u32)]| ids.iter().map(|&(o, i)| (Felt::from(o), i)).collect::<Vec<_>>();
        assert_eq!(known_orders(&store, key).unwrap(), known(&[(5, 1), (7, 2), (8, 3)]));
        assert_eq!(cached(&store).map(|c| c.next_sequence), Some(2));
        // An in-flight round is not known; once settled, the cache moves over it.
        store.submit(key, order(9, 4, 0)).unwrap();
        let proven = proven_round(&store, key, 2);
        assert_eq!(known_orders(&store, key).unwrap(), known(&[(5, 1), (7, 2), (8, 3)]));
        assert_eq!(cached(&store).map(|c| c.next_sequence), Some(2), "stops at the unsettled sequence");
        store.record_sending(key, 2, proven.attempt, Felt::from(0x78u8), Felt::TWO).unwrap();
        store.record_settled(key, 2, proven.attempt, Felt::from(0x78u8), 6, 100).unwrap();
        assert_eq!(known_orders(&store, key).unwrap(), known(&[(5, 1), (7, 2), (8, 3), (9, 4)]));
        assert_eq!(
            cached(&store),
            Some(SettledPlaced { next_sequence: 3, orders: known(&[(7, 2), (5, 1), (8, 3), (9, 4)]) })
        );
        // The cache is what a cold read gives: dropped, the same list comes back.
        store.set_note(key, SETTLED_PLACED, &serde_json::to_string(&SettledPlaced::default()).unwrap()).unwrap();
        assert_eq!(known_orders(&store, key).unwrap(), known(&[(5, 1), (7, 2), (8, 3), (9, 4)]));
        store.set_note(key, SETTLED_PLACED, "not json").unwrap();
        assert!(matches!(known_orders(&store, key), Err(MarketError::Engine(EngineError::Corrupt(_)))));

        // A store whose first sub-block is sequence 3 (the ones before settled elsewhere):
        // the cache starts there and moves on, rather than reading everything as past a gap.
        let other = ThreadKey::new(Felt::from(0x99u64), 5);
        store.submit(other, order(6, 7, 0)).unwrap();
        let proven = proven_round(&store, other, 3);
        store.record_sending(other, 3, proven.attempt, Felt::from(0x79u8), Felt::ONE).unwrap();
        store.record_settled(other, 3, proven.attempt, Felt::from(0x79u8), 7, 100).unwrap();
        assert_eq!(known_orders(&store, other).unwrap(), known(&[(6, 7)]));
        let seeded: Option<SettledPlaced> =
            store.note(other, SETTLED_PLACED).unwrap().map(|json| serde_json::from_str(&json).unwrap());
        assert_eq!(seeded, Some(SettledPlaced { next_sequence: 4, orders: known(&[(6, 7)]) }));
        // Sequence 4 of this store ended (another prover's settled it) and 5 settled here: the
        // cache moves past 4, which it can never learn, to 6.
        store.submit(other, order(6, 8, 0)).unwrap();
        let lost = proven_round(&store, other, 4);
        store.record_abandoned(other, 4, lost.attempt, SubBlockStatus::Superseded { next_sequence: 5 }).unwrap();
        let proven = proven_round(&store, other, 5);
        store.record_sending(other, 5, proven.attempt, Felt::from(0x7au8), Felt::TWO).unwrap();
        store.record_settled(other, 5, proven.attempt, Felt::from(0x7au8), 8, 100).unwrap();
        assert_eq!(known_orders(&store, other).unwrap(), known(&[(6, 7), (6, 8)]));
        let moved: Option<SettledPlaced> =
            store.note(other, SETTLED_PLACED).unwrap().map(|json| serde_json::from_str(&json).unwrap());
        assert_eq!(moved.map(|c| c.next_sequence), Some(6));
    }

    /// Records `messages` as a Built, then Proven, sub-block `sequence` whose statement has
    /// `inputs` input slots.
    fn proven_with(
        store: &Store<StoredOrder>,
        key: ThreadKey,
        sequence: u64,
        messages: &[Message<StoredOrder>],
        inputs: usize,
    ) -> SubBlock<StoredOrder> {
        let built = built_with(store, key, sequence, messages, inputs, 0);
        store.record_proof(key, sequence, built.attempt, vec![Felt::ONE; 4]).unwrap()
    }

    /// Records `messages` as a Built sub-block `sequence` with `inputs` input and `outputs`
    /// output slots.
    fn built_with(
        store: &Store<StoredOrder>,
        key: ThreadKey,
        sequence: u64,
        messages: &[Message<StoredOrder>],
        inputs: usize,
        outputs: usize,
    ) -> SubBlock<StoredOrder> {
        zkthread_store::fixtures::record_placeholder_sub_block(store, key, sequence, messages, (inputs, outputs), None).unwrap()
    }

    /// A round the prover fails on (a bug: the batcher checks what the AIR does) is not
    /// retried forever (service review F6): it ends with its messages pending again in order,
    /// rounds take half while one of them is pending, and a lone one it fails on is refused
    /// with the prover's reason while the others go on. A round that resumed a stopped taker
    /// does not blame its messages (helper-55 H1: they would be refused one by one behind the
    /// taker): the taker is no longer resumed and nothing is capped or refused; nor does a
    /// round of fills alone. Failures that may pass next time are retried instead.
    #[test]
    fn a_round_the_prover_fails_on_is_split_until_its_message_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 2);
        let failure = MarketError::Prove("ConstraintsNotSatisfied".into());
        assert!(fails_every_time(&failure) && fails_every_time(&MarketError::Verify("OodsNotMatching".into())));
        assert!(!fails_every_time(&MarketError::ProverTask("cancelled".into())));
        assert!(!fails_every_time(&MarketError::Statement("the store is busy".into())));
        for n in 0..4u32 {
            store.submit(key, order(10 + u64::from(n), n, 0)).unwrap();
        }
        let all = store.pending(key).unwrap();
        let capped = |store: &Store<StoredOrder>| crate::isolation::cap_round(store, key, store.pending(key).unwrap()).unwrap();
        let taker = StoppedTaker { taker: (Felt::from(7u8), 1), passed: vec![] };
        let fail = |round: &[Message<StoredOrder>], resume: Option<StoppedTaker>| {
            set_round_inputs(&store, key, &RoundInputs { orders: vec![], budget: None, resume }).unwrap();
            built_with(&store, key, 0, round, 2, 2);
            end_unprovable(&store, key, &failure).unwrap()
        };
        // Behind a resumed taker: not blamed, the taker dropped.
        write_json_note(&store, key, RESUME_NOTE, &Some(taker.clone())).unwrap();
        let ended = fail(&all, Some(taker.clone()));
        assert!(ended.detail.ends_with("the stopped taker is not resumed"), "{}", ended.detail);
        assert!(!uncross_owed(&store, key).unwrap());
        assert_eq!((capped(&store), store.rejected(key).unwrap().len()), (all.clone(), 0), "no cap, none refused");
        // Its own messages: halved while a suspect is pending, then the lone one refused.
        let ended = fail(&all, None);
        assert!(ended.detail.contains("the prover failed on it (proving: ConstraintsNotSatisfied)"), "{}", ended.detail);
        assert_eq!(store.pending(key).unwrap(), all, "pending again, in order");
        assert_eq!(capped(&store), all[..2]);
        let status = store.sub_blocks(key).unwrap().last().unwrap().status.clone();
        assert!(matches!(&status, SubBlockStatus::Stale { reason, .. } if reason.contains("the prover failed")), "{status:?}");
        assert!(store.built(key).unwrap().is_none() && store.in_flight(key).unwrap().is_none());
        fail(&capped(&store), None);
        assert_eq!(capped(&store), all[..1]);
        fail(&capped(&store), None);
        let rejected = store.rejected(key).unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].message, all[0]);
        assert!(rejected[0].reason.contains("ConstraintsNotSatisfied") && rejected[0].reason.ends_with("alone"), "{}", rejected[0].reason);
        assert_eq!(store.pending(key).unwrap(), all[1..], "the others go on");
        assert_eq!(capped(&store), all[1..], "the cap went with the last suspect");
        // Fills alone of a resumed taker: it is not resumed again.
        write_json_note(&store, key, RESUME_NOTE, &Some(taker.clone())).unwrap();
        fail(&[], Some(taker));
        assert!(!uncross_owed(&store, key).unwrap());
        assert_eq!(store.pending(key).unwrap(), all[1..]);
    }

    /// `book` commands pointed at a thread of the token's programs are told which one it runs.
    #[test]
    fn another_program_is_named_when_it_is_one_of_the_tokens() {
        let list = crate::program::TokenProgram::List.program_hash();
        let refused = MarketError::OtherProgram { thread_id: 3, program_hash: list }.to_string();
        let named = format!("thread 3 runs program {list:#x} (the token's list program), not the order book's (");
        assert!(refused.starts_with(&named), "{refused}");
        let refused = MarketError::OtherProgram { thread_id: 3, program_hash: Felt::from(5u8) }.to_string();
        assert!(refused.starts_with("thread 3 runs program 0x5, not the order book's ("), "{refused}");
    }

    #[test]
    fn an_oversized_round_ends_and_halves_the_cap_and_a_lone_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 2);
        let sent: Vec<_> = (0..5).map(|i| store.submit(key, order(10 + i, i as u32, 0)).unwrap()).collect();
        assert_eq!(round_cap(&store, key).unwrap(), None, "no cap before a round was too large");
        proven_round(&store, key, 0);
        assert!(store.pending(key).unwrap().is_empty());

        let ended = end_oversized(&store, key, 5_321).unwrap();
        assert_eq!((ended.sequence, ended.from, ended.to), (0, "proven", "stale"));
        assert!(ended.detail.contains("5321 felts, above Starknet's 5000"), "{}", ended.detail);
        assert!(store.in_flight(key).unwrap().is_none(), "the sequence is free again");
        assert_eq!(store.pending(key).unwrap(), sent, "every message pending again, in order");
        assert_eq!(round_cap(&store, key).unwrap(), Some(2));
        let ids = |ms: Vec<Message<StoredOrder>>| ms.iter().map(|m| m.id).collect::<Vec<_>>();
        let round = |cap| store.pending_within(key, this_round(cap), |_| 1).unwrap();
        assert_eq!(ids(round(Some(2))), ids(sent[..2].to_vec()), "the oldest two");
        assert_eq!(ids(round(None)), ids(sent.clone()));
        assert_eq!(ids(round(Some(0))), ids(sent[..1].to_vec()), "never none");
        assert_eq!(this_round(None), ROUND_READ_LIMIT, "not the whole queue");
        drop(store);
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        assert_eq!(round_cap(&store, key).unwrap(), Some(2), "the cap survives a restart");

        // One message alone too large through 58 touched slots (60 inputs with the book's
        // configuration): 103 felts over needs 21 slots fewer; it stays pending.
        let (lone, rest) = (sent[0].clone(), sent[1..].to_vec());
        let others = store.pending(key).unwrap().into_iter().filter(|m| m.id != lone.id).collect::<Vec<_>>();
        assert_eq!(others, rest);
        let round_of = |messages: &[Message<StoredOrder>], inputs: usize| proven_with(&store, key, 0, messages, inputs);
        let lone_round = |inputs: usize| round_of(std::slice::from_ref(&lone), inputs);
        assert_eq!(slot_budget(&store, key).unwrap(), None, "no budget before a round that touched slots was too large");
        lone_round(60);
        let ended = end_oversized(&store, key, 5_103).unwrap();
        assert!(ended.detail.contains("rounds now touch at most 37 slots (it touched 58)"), "{}", ended.detail);
        assert_eq!(slot_budget(&store, key).unwrap(), Some(37));
        assert!(store.rejected(key).unwrap().is_empty(), "not refused");
        assert_eq!(store.pending(key).unwrap(), sent, "pending again, first in line");
        // Several messages: the budget moves, not the cap.
        round_of(&sent[..3], 60);
        end_oversized(&store, key, 5_040).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(50));
        assert_eq!(round_cap(&store, key).unwrap(), Some(2));
        assert_eq!(store.pending(key).unwrap(), sent);
        // Far over: the budget never drops below the smallest the batcher applies.
        lone_round(30);
        end_oversized(&store, key, 9_000).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(batcher::MIN_SLOT_BUDGET));
        // Each settled round re-estimates it: its slots plus the calldata it left free, less a
        // reserve of 128 felts, at 8 felts a slot; never below the smallest.
        estimate_slot_budget(&store, key, 37, 4_725).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(37 + (275 - 128) / 8));
        estimate_slot_budget(&store, key, 55, 4_990).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(55), "near the limit: about its size");
        estimate_slot_budget(&store, key, 20, 4_990).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(20), "a larger proof near the limit lowers it");
        estimate_slot_budget(&store, key, 3, 5_000).unwrap();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(batcher::MIN_SLOT_BUDGET));
        drop(store);
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        assert_eq!(slot_budget(&store, key).unwrap(), Some(batcher::MIN_SLOT_BUDGET), "the budget survives a restart");

        // At the smallest budget (no fills to stop): refused with the reason, the others
        // still pending.
        proven_with(&store, key, 0, std::slice::from_ref(&lone), batcher::MIN_SLOT_BUDGET + BOOK_CONFIG_INPUTS);
        let ended = end_oversized(&store, key, 5_100).unwrap();
        assert!(ended.detail.contains("with one message: refused"), "{}", ended.detail);
        assert_eq!(store.pending(key).unwrap(), rest);
        let rejected = store.rejected(key).unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].message, lone);
        assert!(rejected[0].reason.contains("even alone"), "{}", rejected[0].reason);
        assert_eq!(round_cap(&store, key).unwrap(), Some(2), "one message refused, the cap unchanged");

        // A settled round below the cap is no evidence: the cap stays. A full one grows it by
        // one, until it is lifted.
        relax_round_cap(&store, key, 1).unwrap();
        assert_eq!(round_cap(&store, key).unwrap(), Some(2), "a round of 1 under a cap of 2");
        relax_round_cap(&store, key, 2).unwrap();
        assert_eq!(round_cap(&store, key).unwrap(), Some(3));
        store.set_note(key, ROUND_CAP_NOTE, "1022").unwrap();
        relax_round_cap(&store, key, 1022).unwrap();
        assert_eq!(round_cap(&store, key).unwrap(), Some(1023));
        relax_round_cap(&store, key, 1023).unwrap();
        assert_eq!(round_cap(&store, key).unwrap(), None, "1024: lifted");
        relax_round_cap(&store, key, 5000).unwrap();
        assert_eq!(round_cap(&store, key).unwrap(), None, "and stays lifted");
        drop(store);
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        assert_eq!(round_cap(&store, key).unwrap(), None, "lifted survives a restart");
    }

    #[test]
    fn order_messages_live_in_the_store_beside_transfers_and_import_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let key = ThreadKey::new(Felt::from(0x99u64), 2);
        let stored = store.submit(key, order(7, 3, 0)).unwrap();
        // The message's submission number and the order's id are both kept.
        assert_eq!(store.pending(key).unwrap(), vec![stored.clone()]);
        assert_eq!(store.pending(key).unwrap()[0].body.id, 3);
        assert_eq!(next_nonce(&store, key, Felt::from(7u64), 0).unwrap(), 1);
        assert_eq!(next_nonce(&store, key, Felt::from(8u64), 4).unwrap(), 4);
        // A token thread of the same store is read as transfers, untouched.
        assert!(store.program::<zkthread_store::NewTransfer>().pending(ThreadKey::new(Felt::ONE, 1)).unwrap().is_empty());

        // A queue file of the earlier version (`id` for the order id) is imported once; a
        // message already stored is not submitted twice.
        let legacy = dir.path().join("queue.json");
        let mut old = serde_json::to_value(super::super::OrderQueue {
            pending: vec![order(7, 3, 0), order(8, 4, 0)],
            known: vec![(Felt::from(9u64), 1)],
        })
        .unwrap();
        for m in old["pending"].as_array_mut().unwrap() {
            let id = m.as_object_mut().unwrap().remove("order_id").unwrap();
            m["id"] = id;
        }
        std::fs::write(&legacy, serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(import_queue(&store, key, &legacy).unwrap(), 1);
        assert!(!legacy.exists());
        assert_eq!(import_queue(&store, key, &legacy).unwrap(), 0);
        let pending = store.pending(key).unwrap();
        assert_eq!(pending.iter().map(|m| (m.body.owner, m.body.id)).collect::<Vec<_>>(), vec![(Felt::from(7u64), 3), (Felt::from(8u64), 4)]);
        assert_eq!(next_nonce(&store, key, Felt::from(8u64), 0).unwrap(), 1);
        // The orders the file knew stay known (the book's resting orders it matched against).
        assert_eq!(known_orders(&store, key).unwrap(), vec![(Felt::from(9u64), 1)]);
    }

    /// A market of made-up addresses (book 0x200), for tests that never deploy one.
    fn test_market() -> Market {
        use zkthread_client::{orderbook::OrderBook, registry::Registry, token::Token};
        Market {
            registry: Registry { address: Felt::from(0x100u64) },
            book: OrderBook { address: Felt::from(0x200u64) },
            base: Token { address: Felt::from(0x300u64) },
            quote: Token { address: Felt::from(0x400u64) },
            thread_id: 3,
            os_version: Felt::ONE,
            program_hash: Felt::TWO,
            chain_id: Felt::from(0x534e5f5345504f4c4941u128),
        }
    }

    /// helper-88 15: orders found closed in the pre-confirmed state are remembered closed
    /// (never read again) only where the latest closed block holds them closed too: a fill
    /// or cancel still pre-confirmed may be dropped, and an order remembered closed could
    /// never trade again. Order (9, 1) is cancelled on closed block 7, (9, 2) still a live
    /// sell there: only the first is confirmed. A node without block 7 (a node behind, behind
    /// one URL) confirms none, and the round goes on. Before, both were remembered as seen.
    #[tokio::test]
    async fn orders_seen_closed_are_remembered_only_as_a_closed_block_shows_them() {
        use serde_json::{json, Value};
        use zkthread_orderbook::statement::pack_order;
        use zkthread_orderbook::OrderState;
        let market = test_market();
        let seen = [(Felt::from(9u64), 1), (Felt::from(9u64), 2)];
        let cancelled = pack_order(&OrderState::cancelled(Price::whole(50))).unwrap();
        let live = pack_order(&OrderState::sell(Price::whole(50), 10)).unwrap();
        let slot_of = |id: u64| zkthread_orderbook::statement::order_slot_key(Felt::from(9u64), id);
        let (first, second) = (slot_of(1), slot_of(2));
        let node = |has_block: bool| {
            move |request: &Value| -> Value {
                assert_eq!(request["params"]["block_id"], json!({"block_number": 7}), "every read pinned: {request}");
                if !has_block {
                    return json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": 24, "message": "Block not found"}});
                }
                let key = Felt::from_hex(request["params"]["key"].as_str().unwrap()).unwrap();
                let value = if key == first { cancelled } else if key == second { live } else { panic!("slot {key:#x}") };
                json!({"jsonrpc": "2.0", "id": request["id"], "result": format!("{value:#x}")})
            }
        };
        for has_block in [true, false] {
            let answer = node(has_block);
            let reader = zkthread_client::scripted_node::scripted_reader(move |body| match body {
                Value::Array(requests) => Value::Array(requests.iter().map(&answer).collect()),
                single => answer(single),
            })
            .await;
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
            let key = ThreadKey::new(Felt::from(0x100u64), 3);
            remember_closed_on_block(&store, key, &market, &reader, &seen, 7).await.expect("never fails the round");
            let expected: BTreeSet<(Felt, u32)> = if has_block { [seen[0]].into() } else { BTreeSet::new() };
            assert_eq!(closed_orders(&store, key).unwrap(), expected, "node has block 7: {has_block}");
        }
    }

    /// A post whose signature does not verify under the key it names is refused before any
    /// node call (the reader here points at a closed port, so any read would be an error),
    /// with the batcher's reason; an honestly signed one passes that check and goes on to read
    /// the book (and meets the closed port). Nothing is stored either way.
    #[tokio::test]
    async fn a_forged_order_is_refused_before_the_node_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
        let market = test_market();
        let closed = "http://127.0.0.1:1".parse().unwrap();
        let client = ChainClient::with_chain_id(closed, Felt::ONE, Felt::ONE, market.chain_id);
        let owner = Felt::from(0xa11ceu64);
        let seed = zkthread_sig::wots::KeySeed::from_u32([1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut signer = super::super::OrderSigner::new(owner, seed);
        let state = BookState::new(market.book_domain(), account_id(market.base.address), account_id(market.quote.address), 0);
        let signed = signer.sign(&state, 7, Some((zkthread_orderbook::state::SIDE_SELL, Price::whole(50), 100))).unwrap();
        let honest = StoredOrder::new(owner, &signed);
        let mut forged = honest.clone();
        forged.place = Some((zkthread_orderbook::state::SIDE_SELL, Price::whole(50), 101));
        // The domain known without a node call is the one a sub-block's statement names.
        let info = zkthread_client::registry::ThreadInfo {
            os_version: market.os_version,
            program_hash: market.program_hash,
            admin: Felt::ONE,
            active: true,
            sequence: 0,
            contract_set_commitment: Felt::THREE,
            contract_count: 3,
            allowlist_enabled: false,
        };
        assert_eq!(market.book_domain(), market.header_of(&info, 0).domain(market.book.address));
        let refusal = admit_order(client.reader(), &store, &market, &forged).await.unwrap();
        assert!(
            matches!(&refusal, Admission::Refused(OrderRefusal::Refused(reason)) if reason.starts_with("bad signature")),
            "{refusal:?}"
        );
        // Signed for another book (another domain): refused the same way, before any read.
        let elsewhere = Market { book: zkthread_client::orderbook::OrderBook { address: Felt::from(0x201u64) }, ..market };
        let refusal = admit_order(client.reader(), &store, &elsewhere, &honest).await.unwrap();
        assert!(matches!(&refusal, Admission::Refused(OrderRefusal::Refused(reason)) if reason.starts_with("bad signature")), "{refusal:?}");
        let asked = admit_order(client.reader(), &store, &market, &honest).await;
        assert!(matches!(asked, Err(MarketError::Chain { .. })), "the honest message reads the node: {asked:?}");
    }

    /// The order book's `SequenceTaken` and `SequenceUnsettled`, against a test double node
    /// (`book_node`) and a placeholder Built sub-block.
    mod sequence_taken {
        use std::sync::{Arc, Mutex};

        use serde_json::{json, Value};
        use zkthread_client::scripted_node::scripted_url;

        use super::*;
        use crate::observer::Logged;

        const THREAD_ID: u64 = 3;

        /// [`test_market`] on the test double node's chain (id 1).
        fn market() -> Market {
            Market { thread_id: THREAD_ID, chain_id: Felt::ONE, ..test_market() }
        }

        /// The views the node answers, by name.
        const VIEWS: [&str; 5] = ["next_sequence", "thread", "fill_count", "thread_key", "balance_of"];

        /// A client of a test double node: the thread's next sequence is the next of
        /// `sequences` (the last one repeated), the thread's binding the placeholder
        /// sub-block's (OS version 1, program 2, contract set 3), and the book empty (no
        /// fills, every key slot, balance and order slot zero). Every view it is asked is
        /// logged by name, every storage read as `storage`.
        async fn book_node(sequences: &[u64]) -> (ChainClient, Arc<Mutex<Vec<&'static str>>>) {
            let log = Arc::new(Mutex::new(Vec::new()));
            let (seen, sequences) = (log.clone(), sequences.to_vec());
            let answer = move |request: &Value| -> Value {
                let result = match request["method"].as_str() {
                    Some("starknet_getStorageAt") => {
                        seen.lock().unwrap().push("storage");
                        json!("0x0")
                    }
                    Some("starknet_call") => {
                        let selector = request["params"]["request"]["entry_point_selector"].as_str().expect("a selector");
                        let selector = Felt::from_hex(selector).expect("a felt");
                        let view = *VIEWS
                            .iter()
                            .find(|name| zkthread_client::selector(name).expect("a selector") == selector)
                            .unwrap_or_else(|| panic!("unexpected call {request}"));
                        let mut seen = seen.lock().unwrap();
                        let sequence = || {
                            let asked = seen.iter().filter(|v| **v == "next_sequence").count();
                            sequences[asked.min(sequences.len() - 1)]
                        };
                        let words = match view {
                            "next_sequence" => json!([format!("{:#x}", sequence())]),
                            "thread" => json!(["0x1", "0x2", "0xabc", "0x1", "0x0", "0x3", "0x3", "0x0"]),
                            "balance_of" => json!(["0x0", "0x0"]),
                            _ => json!(["0x0"]),
                        };
                        seen.push(view);
                        words
                    }
                    other => panic!("unexpected method {other:?}"),
                };
                json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
            };
            let url = scripted_url(move |body| match body {
                Value::Array(requests) => Value::Array(requests.iter().map(&answer).collect()),
                single => answer(single),
            })
            .await;
            (ChainClient::with_chain_id(url, Felt::ONE, Felt::ONE, Felt::ONE), log)
        }

        /// A store with two order messages batched in Built sub-block 0.
        fn built_round() -> (tempfile::TempDir, Store<StoredOrder>, ThreadKey, SubBlock<StoredOrder>) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap().program::<StoredOrder>();
            let key = market().thread_key();
            store.submit(key, order(7, 2, 0)).unwrap();
            store.submit(key, order(8, 3, 0)).unwrap();
            let built = built_with(&store, key, 0, &store.pending(key).unwrap(), 1, 1);
            (dir, store, key, built)
        }

        /// What a taken sequence must leave: the sub-block Built as batched (same attempt,
        /// messages, no proof), nothing pending, no other sub-block.
        fn assert_unchanged(store: &Store<StoredOrder>, key: ThreadKey, built: &SubBlock<StoredOrder>) {
            let now = store.in_flight(key).unwrap().expect("still in flight");
            assert_eq!((now.sequence(), now.attempt, &now.status), (0, built.attempt, &SubBlockStatus::Built));
            assert_eq!(now.body.messages, built.body.messages);
            assert!(now.proof.is_none(), "no proof recorded");
            assert!(store.pending(key).unwrap().is_empty(), "nothing handed back");
            assert_eq!(store.sub_blocks(key).unwrap().len(), 1, "no other sub-block");
        }

        /// `prove` on a Built sub-block whose sequence was taken answers `SequenceTaken` with
        /// the chain's next sequence and records nothing: found before any matching (no book
        /// read), and found when read again after its messages no longer match the book. The
        /// control: the same mismatch with the sequence open ends it Stale, its messages
        /// pending again. Would catch a taken sequence proven anyway, or taken for a moved
        /// book and ended Stale (handing back messages its twin's settlement applied:
        /// helper-88 4).
        #[tokio::test]
        async fn prove_answers_a_taken_sequence_and_records_nothing() {
            let (_dir, store, key, built) = built_round();
            let (client, log) = book_node(&[1]).await;
            let proved = prove(client.reader(), &store, &market(), &Logged).await.map_err(|e| e.to_string()).unwrap();
            assert!(matches!(proved, BookProveOutcome::SequenceTaken { next_sequence: 1 }));
            assert_eq!(*log.lock().unwrap(), ["next_sequence"], "nothing matched");
            assert_unchanged(&store, key, &built);

            // Open at first; the book is read and no longer gives the sub-block (its messages'
            // records are not signed orders: nothing matches); then read taken.
            let (client, log) = book_node(&[0, 2]).await;
            let proved = prove(client.reader(), &store, &market(), &Logged).await.map_err(|e| e.to_string()).unwrap();
            assert!(matches!(proved, BookProveOutcome::SequenceTaken { next_sequence: 2 }));
            let log = log.lock().unwrap().clone();
            assert_eq!((log.first(), log.last()), (Some(&"next_sequence"), Some(&"next_sequence")), "{log:?}");
            assert!(log.contains(&"fill_count") && log.contains(&"storage"), "the book was read: {log:?}");
            assert_unchanged(&store, key, &built);

            let (client, _) = book_node(&[0]).await;
            let proved = prove(client.reader(), &store, &market(), &Logged).await.map_err(|e| e.to_string()).unwrap();
            let BookProveOutcome::Stale(ended) = proved else { panic!("the control ends it Stale") };
            assert_eq!((ended.from, ended.to), ("built", "stale"), "{}", ended.line());
            assert!(store.in_flight(key).unwrap().is_none());
            assert_eq!(store.pending(key).unwrap(), built.body.messages, "pending again, in order");
        }

        /// `settle_round` on a Built sub-block `prove` finds taken, whose sequence the
        /// settlement's reconcile then reads open (a node with views of different ages): the
        /// error is `SequenceUnsettled` for that sequence (not `NotProven`, which would read
        /// as a step skipped), after two reads of the sequence and no send, and the store is
        /// unchanged.
        #[tokio::test]
        async fn a_round_whose_taken_sequence_reads_open_to_settle_is_sequence_unsettled() {
            let (_dir, store, key, built) = built_round();
            let (client, log) = book_node(&[1, 0]).await;
            let round = settle_round(&client, &store, &market(), SettleOptions::default(), &Logged).await;
            let error = round.map(|_| ()).unwrap_err();
            assert!(
                matches!(error, MarketError::Engine(EngineError::SequenceUnsettled { thread_id: THREAD_ID, sequence: 0 })),
                "{error}"
            );
            assert_eq!(*log.lock().unwrap(), ["next_sequence", "next_sequence"]);
            assert_unchanged(&store, key, &built);
        }
    }
}
