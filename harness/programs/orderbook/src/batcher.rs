//! The order book's batcher: turns a queue of signed places and cancels into one sub-block by
//! price-time-priority matching, checking every message first.
//!
//! The batcher is not trusted (DESIGN.md, "Trust model"): the AIR refuses whatever it could do
//! wrong. Its own duty is the converse: an honest batcher never produces a sub-block that fails
//! to prove, or that harms a user. So every rule below is checked here, before a row exists,
//! and [`build`] ends by checking its rows against every constraint and every slot value it
//! would put in a statement against the storage layout ([`storage_value`]): a bug is an error,
//! not a proof that fails later.
//!
//! ## Admission (each message, in arrival order, against the state the accepted ones left)
//! A message is refused with a [`Rejection`] (and the rest of the queue still goes in) if: it
//! is for another book's domain; its fields are out of the AIR's range (side neither buy nor
//! sell, a price part outside `1..2^14`, quantity 0, id not an M31 element); its signer has no key;
//! its nonce is not the signer's current one (replayed, reordered or stale); it names a key
//! that is not the signer's current one; its signature does not verify under that key; the
//! signer's nonce cannot move again (`nonce + 1` must stay below `p - 1`); a place reuses an id
//! (the slot is not empty); a cancel names no order of its signer (the slot is empty), or one
//! already cancelled (the AIR's cancel must change its slot, crate docs). Since
//! the owner field of a message is its signer, a cancel of another owner's order is either
//! under that owner's name (refused: not that owner's key or signature) or under the signer's
//! own name (refused: no such order of the signer).
//!
//! A refused message is returned unchanged with its reason; nothing of it enters the
//! sub-block. Its one-time key index is spent on the client's side, so the signer's later
//! messages (chained to the key it would have installed) are refused too, as `WrongNonce`:
//! the client re-signs them from its current key slot.
//!
//! A cancel of an order already filled is accepted: it marks the order cancelled
//! (`SIDE_CANCELLED`, nothing remaining), since refusing a valid signature would break the
//! owner's chain of later messages, and a fill may land while the cancel waits in the queue. A
//! second cancel of one id is refused (`AlreadyCancelled`): it could only leave the slot as it
//! was, which the AIR does not allow a cancel to do. A cancel of an order its owner cancelled on
//! L2 (`SIDE_CANCELLED_ON_L2`) is accepted for the same reason as one of a filled order: the
//! owner may have signed it before cancelling on L2, and it marks the order `SIDE_CANCELLED`.
//!
//! ## Matching (a place, right after it enters the book)
//! - **Priority**: the resting orders of the other side that cross the taker's limit (asks at
//!   or below a bid, bids at or above an ask), best price first (lowest ask, highest bid), then
//!   earliest arrival ([`BookState::insert_order`] stamps arrivals; the state after a
//!   sub-block keeps them, so priority carries across sub-blocks).
//! - **Price**: the maker's (resting order's) price `n / d`, rounded in the maker's favour: a
//!   fill of `q` base units moves `ceil(q n / d)` quote units when the maker sells and
//!   `floor(q n / d)` when it buys, so the maker never trades beyond its own limit. Prices are
//!   ratios compared exactly (`Price::cmp_ratio`); time priority breaks ties between equal
//!   ratios however they are written.
//! - **Quantity**: the largest both sides can pay at that moment: `min` of both remainings, the
//!   seller's base balance, what the buyer's quote balance pays for at that rounding, and what
//!   the receivers can hold without overflowing u128. Balances move with every fill, so later
//!   fills of the sub-block see earlier ones.
//! - **Rounding against the taker's limit**: when the rounded amount would cross the taker's
//!   own limit (a gap between the two prices smaller than one quote unit over the fill), the
//!   quantity drops to a whole number of the maker's lots (`d / gcd(n, d)` base units, whose
//!   quote is exact, so the taker's limit holds); if not one lot fits, that maker is skipped
//!   for this taker (the two cannot trade within both limits at this size). Since a smaller
//!   remainder may round better, matching passes over the crossing makers again until a pass
//!   fills nothing: it ends only when no crossing maker can trade with the taker.
//! - **Self-trade prevention**: a resting order of the taker's own owner is skipped (left
//!   untouched; the AIR accepts a self-trade, whose balance tuples cancel within its row, but
//!   it moves nothing, and this batcher's statement lists each touched balance slot once, which
//!   such a row would read twice; see the crate docs on wash trades). The taker may trade through it with other owners, and its
//!   remainder may rest crossing its own order: those two never trade with each other.
//! - **Unfunded maker**: if the maker's side cannot pay one unit (a seller without base, a
//!   buyer without the quote for one unit at its own price), its order is skipped and stays
//!   resting unchanged: it may be funded again later, and only its owner may cancel it.
//! - **Unfunded taker**: if the taker cannot pay one unit at the maker's price, its matching
//!   stops; its remainder rests (placing needs no funds: there is no escrow) and can fill
//!   later as a maker once funded.
//! - **A taker the slot budget stopped** (see "Size") rests, crossing the book, and the next
//!   sub-block resumes it first, ahead of every message ([`build_within`]'s `resume`): it
//!   finishes the pass the budget stopped, over the crossing orders that arrived *before* it
//!   and that the pass had not visited yet ([`Stopped::passed`]), at their prices, and starts
//!   no new pass. So each maker is visited once per taker: a maker it emptied and its owner
//!   refunded on L2 is not filled again (else refunds between settlements could keep the
//!   taker trading, and every message waiting, for ever). An order never takes a later one. Other resting crossed orders (an unfunded maker funded later, a
//!   taker's own order) are not matched with each other: a batcher that did so would fill, at
//!   its own cost and in every sub-block, any pair of crossing orders an attacker can keep
//!   funded, and could be kept from taking any message.
//! - The market's fill counter is a u64 (the `Market` tuples carry it rebased,
//!   `crate::state::MARKET_COUNT_MODULUS`): at `u64::MAX` matching stops, which no book reaches.
//!
//! ## Size
//! A proof's largest component has at most [`MAX_COMPONENT_ROWS`] rows; every signed message
//! costs its signature's Poseidon2 permutations plus one for the transaction list (125 with
//! today's parameters: at most 524 messages). The message that would not fit, and every one
//! after it, is returned untouched as [`Batch::deferred`], in arrival order, for the next
//! sub-block (which starts from [`SubBlock::after`]). Fill rows are not capped by the trace:
//! 2^16 fills would need every place of a full sub-block to cross ~125 resting orders; the
//! prover refuses such a sub-block before any work (`ProveError::TooLarge`).
//!
//! Settlement calldata is: every touched slot is in the statement's inputs (and, changed, in
//! its outputs), and Starknet takes at most 5,000 calldata felts per transaction, most of them
//! the proof's. So [`build_within`] takes a **slot budget**: the most distinct slots the
//! sub-block may touch (never below [`MIN_SLOT_BUDGET`]). A message whose own slots (its key
//! and order slots) do not fit is deferred like one that does not fit the trace; a fill whose
//! new slots (the market, both orders, both owners' balances) do not fit **stops the
//! sub-block** ([`Batch::stopped`] names the taker): its remainder rests, crossing the book,
//! no later fill happens, and every later message is deferred, untouched; the next sub-block
//! resumes that taker first (see "Matching") and fills the remainder at the same prices in the
//! same priority. Stopping everything, rather than skipping to a cheaper maker or letting a
//! later message trade, keeps price-time priority: with the book's balances moved by nothing
//! else, the sub-blocks of a queue under any budget make the fills one unbounded sub-block
//! makes, in order (`tests/batcher.rs`, `budgeted_sub_blocks_make_the_unbounded_fills_in_order`,
//! thin funds and ratio prices included). So a taker that crosses more makers than one
//! settlement can carry is filled over several, and is never refused for its size; a book is
//! held up only while such a taker's pass lasts: by the orders that had arrived before it
//! (each one a message), one sub-block per budget's worth of them. (Identical fills hold when
//! no rounding skip is retried: a stopped taker starts no new pass, so a maker its larger
//! remainder could not trade with in whole lots is not retried with the smaller one.)
//! The resumed taker leaves the first message's own slots free; when it is itself stopped,
//! the sub-block holds fills alone and no message (so does an empty queue with a taker to
//! resume), which the AIR and the registry accept.
//!
//! ## Output
//! [`SubBlock`]: the rows ([`OrderBookWitness`]: signed rows in arrival order with their
//! signatures' rows and the transaction list, and the fills in execution order), the
//! [`Change`] of every slot touched (sorted; a slot whose value came back to its start is
//! listed with `before == after`), the transaction-list commitment, the trades for display,
//! the accepted messages (what [`rematch`] replays), and the book's state after it.

use std::collections::{BTreeMap, BTreeSet};

use zkthread_sig::wots::{Hash4, KeyCommitment, VerificationTrace};
use zkthread_sig::{verify_trace, Message, MessageError, SignatureError, SignedMessage, TxListCommitment};

use crate::signed::{OrderMessage, SignedOrderRow};
use starknet_types_core::felt::Felt;

use crate::state::{
    market_count_base, Change, Entry, OrderState, Price, SIDE_BUY, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2, SIDE_SELL,
};
use crate::statement::{statement_of, storage_value, BuildError, Directory, SignedPublicInput};
use crate::witness::{Fill, OrderBookWitness};
use zkthread_prover::auth::witness::AuthWitness;
use zkthread_prover::range::SIGNED_MAX_LOG_ROWS;

/// The smallest slot budget [`build_within`] applies: the first message's own two slots, plus
/// one fill between two owners new to the sub-block (the market, two orders, four balances),
/// so a resumed taker fills at least once in every sub-block.
pub const MIN_SLOT_BUDGET: usize = MESSAGE_SLOTS + FILL_SLOTS;

/// Settle calldata felts each touched slot costs at least: its input entry (3 felts) and its
/// slot-binding witness (2); a slot in the outputs adds 3 more. Counting 5 errs toward a
/// smaller budget: one settlement fewer fills rather than a second proof too large.
pub const FELTS_PER_SLOT: usize = 5;

/// The slot budget after a sub-block that touched `touched` slots came out `excess` settle
/// calldata felts over the limit: enough slots fewer to cover the excess, never below
/// [`MIN_SLOT_BUDGET`].
pub fn slot_budget_below(touched: usize, excess: usize) -> usize {
    let cut = excess.div_ceil(FELTS_PER_SLOT).max(1);
    touched.saturating_sub(cut).max(MIN_SLOT_BUDGET)
}

/// The slots a message touches itself: its signer's key slot and its order slot.
const MESSAGE_SLOTS: usize = 2;

/// The most slots one fill touches: the market, both orders, both owners' two balances.
const FILL_SLOTS: usize = 7;

/// Rows of a proof's largest component (the driver's `2^SIGNED_MAX_LOG_ROWS`): what the
/// Poseidon2 permutations of a sub-block's signatures and transaction list must fit.
pub const MAX_COMPONENT_ROWS: usize = 1 << SIGNED_MAX_LOG_ROWS;

/// A signed place or cancel as a client hands it to the batcher.
pub type SignedOrder = SignedMessage<OrderMessage>;

/// An order slot's identity: `(owner, id)`.
pub type OrderKey = (Hash4, u32);



/// An account as the batcher sees it: its balances of the book's two tokens and its key slot
/// in the book's domain (`thread_keys[owner]` of the book contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Account {
    pub base: u128,
    pub quote: u128,
    pub nonce: u32,
    pub key: KeyCommitment,
}

/// An order slot with its arrival stamp (time priority; not stored on chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookOrder {
    pub state: OrderState,
    pub arrival: u64,
}

/// The book's state: its domains and fill counter, every known order slot, every known
/// account. An order slot that is not here is empty and an account that is not here holds
/// nothing and has no key: the caller must list every slot in use (a wrong value only makes
/// the sub-block stale: the registry's precondition refuses it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookState {
    pub book: Hash4,
    pub base: Hash4,
    pub quote: Hash4,
    /// The stored counter (`fill_count`).
    pub fills: u64,
    /// The current sub-block's `market_count_base`: fill rows carry `fills - count_base`.
    count_base: u64,
    orders: BTreeMap<OrderKey, BookOrder>,
    accounts: BTreeMap<Hash4, Account>,
    next_arrival: u64,
}

impl BookState {
    /// An empty book over `base`/`quote` whose counter is `fills`.
    pub fn new(book: Hash4, base: Hash4, quote: Hash4, fills: u64) -> Self {
        let count_base = market_count_base(fills);
        BookState { book, base, quote, fills, count_base, orders: BTreeMap::new(), accounts: BTreeMap::new(), next_arrival: 0 }
    }

    /// This state as the start of a sub-block: its fill rows count from here
    /// ([`market_count_base`] of the counter now).
    fn starting_sub_block(mut self) -> Self {
        self.count_base = market_count_base(self.fills);
        self
    }

    /// Sets `owner`'s balances and key slot.
    pub fn set_account(&mut self, owner: Hash4, account: Account) {
        self.accounts.insert(owner, account);
    }

    /// `owner`'s balances and key slot (nothing and no key if unknown).
    pub fn account(&self, owner: &Hash4) -> Account {
        self.accounts.get(owner).copied().unwrap_or_default()
    }

    /// Records order slot `(owner, id)`; if it is new, it arrives after every order known so
    /// far (insert resting orders oldest first).
    pub fn insert_order(&mut self, owner: Hash4, id: u32, state: OrderState) {
        let arrival = match self.orders.get(&(owner, id)) {
            Some(known) => known.arrival,
            None => {
                self.next_arrival += 1;
                self.next_arrival - 1
            }
        };
        self.orders.insert((owner, id), BookOrder { state, arrival });
    }

    /// A place of order `(owner, id)` (its slot was empty): it arrives after every order known
    /// so far, whatever stamp the empty slot had (a state read from chain lists the slots a
    /// round's messages name, in message order: a place must not rank ahead of a resting
    /// order a later message of the round names).
    fn place_order(&mut self, owner: Hash4, id: u32, state: OrderState) {
        debug_assert_eq!(self.order(&owner, id), OrderState::EMPTY, "a place needs the empty slot");
        self.orders.remove(&(owner, id));
        self.insert_order(owner, id, state);
    }

    /// Whether the owner of `order` holds anything to pay with (a seller base, a buyer quote):
    /// a resumed taker whose owner holds nothing is skipped (no maker's price changes that).
    fn can_pay_one(&self, owner: &Hash4, order: &OrderState) -> bool {
        let account = self.account(owner);
        if order.side == SIDE_SELL {
            account.base > 0
        } else {
            account.quote > 0
        }
    }

    /// Order slot `(owner, id)` (the empty slot if unknown).
    pub fn order(&self, owner: &Hash4, id: u32) -> OrderState {
        self.orders.get(&(*owner, id)).map_or(OrderState::EMPTY, |o| o.state)
    }

    /// Every known order slot with its arrival stamp.
    pub fn orders(&self) -> impl Iterator<Item = (&OrderKey, &BookOrder)> {
        self.orders.iter()
    }

    /// The resting orders a `side` order at `limit` would trade with, in priority order: best
    /// price for the taker first (lowest ask, highest bid), then earliest arrival.
    pub fn crossing(&self, side: u32, limit: Price) -> Vec<OrderKey> {
        use std::cmp::Ordering;
        let other = if side == SIDE_BUY { SIDE_SELL } else { SIDE_BUY };
        // The maker's price against the taker's limit, from the taker's side: `Greater` is worse.
        let worse = |p: &Price, q: &Price| if side == SIDE_BUY { p.cmp_ratio(q) } else { q.cmp_ratio(p) };
        let mut resting: Vec<(&OrderKey, &BookOrder)> = self
            .orders
            .iter()
            // A price outside the AIR's range (no valid book stores one) never trades.
            .filter(|(_, o)| o.state.side == other && o.state.remaining > 0 && o.state.price.is_valid())
            .filter(|(_, o)| worse(&o.state.price, &limit) != Ordering::Greater)
            .collect();
        resting.sort_by(|(_, x), (_, y)| worse(&x.state.price, &y.state.price).then(x.arrival.cmp(&y.arrival)));
        resting.into_iter().map(|(k, _)| *k).collect()
    }

    /// The tuple of `slot` in this state.
    fn entry(&self, slot: &Slot) -> Entry {
        let balance = |token, owner: &Hash4, value| Entry::Balance { token, account: *owner, value };
        match slot {
            Slot::Market => Entry::Market { book: self.book, base: self.base, quote: self.quote, fills: self.fills },
            Slot::Key(owner) => {
                let a = self.account(owner);
                Entry::Key { domain: self.book, account: *owner, nonce: a.nonce, key: a.key }
            }
            Slot::Order(owner, id) => {
                Entry::Order { book: self.book, account: *owner, id: *id, state: self.order(owner, *id) }
            }
            Slot::Base(owner) => balance(self.base, owner, self.account(owner).base),
            Slot::Quote(owner) => balance(self.quote, owner, self.account(owner).quote),
        }
    }

    fn account_mut(&mut self, owner: &Hash4) -> &mut Account {
        self.accounts.entry(*owner).or_default()
    }

    fn set_remaining(&mut self, key: &OrderKey, remaining: u64) {
        if let Some(o) = self.orders.get_mut(key) {
            o.state.remaining = remaining;
        }
    }

    /// What a cancel row produces: the order at [`SIDE_CANCELLED`] with its price, nothing left.
    fn cancel(&mut self, key: &OrderKey) {
        if let Some(o) = self.orders.get_mut(key) {
            o.state = OrderState { side: SIDE_CANCELLED, remaining: 0, ..o.state };
        }
    }
}

/// A slot a sub-block may touch (ordered: the statement lists slots sorted by this).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Market,
    Key(Hash4),
    Order(Hash4, u32),
    Base(Hash4),
    Quote(Hash4),
}

/// Why a message was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("signed for another book (domain)")]
    WrongDomain,
    #[error("order fields out of range: {0}")]
    OutOfRange(MessageError),
    #[error("the signer has no thread key in this book")]
    NoKey,
    #[error("nonce {given} is not the signer's current nonce {current} (replayed, reordered or stale)")]
    WrongNonce { given: u32, current: u32 },
    #[error("signed under a key that is not the signer's current key")]
    WrongKey,
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    #[error("the signer's nonce {nonce} cannot move again")]
    NonceExhausted { nonce: u32 },
    #[error("order id {id} was used before")]
    IdReused { id: u32 },
    #[error("the signer has no order {id} to cancel")]
    NoSuchOrder { id: u32 },
    #[error("order {id} is already cancelled")]
    AlreadyCancelled { id: u32 },
}

/// A refused message, unchanged, with its position in the queue and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub index: usize,
    pub message: SignedOrder,
    pub reason: Rejection,
}

/// Why no sub-block was built (the caller's input, or a bug caught before proving).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Every message was refused (they are returned with their reasons) and no resting order
    /// could be filled.
    #[error("no message was accepted and nothing crossed ({} refused)", .refused.len())]
    Empty { refused: Vec<Refused> },
    /// A touched slot would hold a value its storage variable cannot (e.g. a price above the
    /// AIR's in the given state): no statement could carry it.
    #[error("change {index}: a value no slot of the book's layout can hold")]
    Unstorable { index: usize },
    /// The built rows violate a constraint: a batcher bug, refused before any proof.
    #[error("internal: row {row} of {role} violates constraint {constraint}")]
    Unprovable { role: &'static str, row: usize, constraint: usize },
    /// The built rows look up a value outside the range table: a batcher bug.
    #[error("internal: {0} range look-ups out of the table")]
    OutOfTable(usize),
}

/// One fill for display: the maker's (resting) order, the taker's, the price and quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub maker: OrderKey,
    pub taker: OrderKey,
    /// The taker's side (buy or sell).
    pub taker_side: u32,
    /// The maker's limit price, at which the trade executed (rounded in its favour).
    pub price: Price,
    pub quantity: u64,
    /// The quote units the buyer paid.
    pub amount: u128,
}

/// One sub-block: what the prover proves, the statement it proves, and the state after it.
#[derive(Clone, Debug)]
pub struct SubBlock {
    pub witness: OrderBookWitness,
    /// Every slot touched, sorted, its tuple before and after.
    pub changes: Vec<Change>,
    /// The accepted messages' list (equal to `witness.auth.transactions`).
    pub transactions: TxListCommitment,
    pub trades: Vec<Trade>,
    /// The fills as the rows have them (values before each fill).
    pub fills: Vec<Fill>,
    /// The accepted messages in sub-block order (what [`rematch`] replays).
    pub messages: Vec<SignedOrder>,
    /// The book after this sub-block: the next [`build`] starts from it.
    pub after: BookState,
}

impl SubBlock {
    /// The statement this sub-block proves in the thread `header` names (its fields but the
    /// lists and the transaction list, which are this sub-block's), with the slot-binding
    /// witness: what the prover proves under and the registry settles. `directory` names the
    /// addresses behind the book's domains and owner ids.
    pub fn statement(
        &self,
        header: &SignedPublicInput,
        directory: &Directory,
    ) -> Result<(SignedPublicInput, Vec<Felt>), BuildError> {
        let header = SignedPublicInput { transactions: self.transactions, ..header.clone() };
        statement_of(&header, directory, &self.changes)
    }
}

/// A sub-block and the messages refused while building it.
#[derive(Clone, Debug)]
pub struct Batch {
    pub sub_block: SubBlock,
    pub refused: Vec<Refused>,
    /// The messages that did not fit this sub-block (module docs, "Size"), untouched and in
    /// arrival order: the next [`build`], on `sub_block.after`, takes them first (after the
    /// stopped taker, if any).
    pub deferred: Vec<SignedOrder>,
    /// The taker whose next fill the slot budget stopped (its remainder rests, crossing the
    /// book): the next sub-block resumes it first ([`build_within`]'s `resume`), even with no
    /// message.
    pub stopped: Option<Stopped>,
}

/// A taker the slot budget stopped, and the makers it had visited (filled or skipped) that are
/// still live: resumed, it visits only the others, once (module docs, "Matching").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub taker: OrderKey,
    pub passed: Vec<OrderKey>,
}

/// Builds one sub-block from `queue` (arrival order) on `state`, with no slot budget.
pub fn build(state: &BookState, queue: &[SignedOrder]) -> Result<Batch, BatchError> {
    build_within(state, queue, None, None)
}

/// Builds one sub-block from `queue` (arrival order) on `state` touching at most
/// `slot_budget` distinct slots (`None`: no budget; module docs, "Size"): it first resumes
/// `resume` (the previous sub-block's [`Batch::stopped`] taker), then takes the messages (none
/// after a fill the budget stopped). `BatchError::Empty` when it accepts no message and makes
/// no fill.
pub fn build_within(
    state: &BookState,
    queue: &[SignedOrder],
    slot_budget: Option<usize>,
    resume: Option<&Stopped>,
) -> Result<Batch, BatchError> {
    let mut b = Builder::new(state, slot_budget.map(|n| n.max(MIN_SLOT_BUDGET)));
    if let Some(stopped) = resume {
        b.resume(stopped);
    }
    let mut deferred = Vec::new();
    for (index, message) in queue.iter().enumerate() {
        if b.slots.full {
            // A fill the budget stopped goes first in the next sub-block: nothing later may
            // trade (or cancel) ahead of it here.
            deferred = queue[index..].to_vec();
            break;
        }
        match admit(&b.now, message) {
            Ok(admitted) if !b.fits(message, &admitted) => {
                deferred = queue[index..].to_vec();
                break;
            }
            Ok(admitted) => b.apply(message, admitted),
            Err(reason) => b.refused.push(Refused { index, message: message.clone(), reason }),
        }
    }
    let stopped = b.stopped.take();
    let mut batch = b.finish(state)?;
    (batch.deferred, batch.stopped) = (deferred, stopped);
    Ok(batch)
}

/// Rebuilds `stale` (a sub-block that can no longer settle: e.g. a direct L2 transfer moved a
/// balance it reads) from the same accepted messages, in the same order, with no slot budget
/// (the engine's rounds match again through [`build_within`] instead), against `fresh`
/// (the book's current state with the arrival stamps the batcher keeps: typically the state
/// `stale` started from, its moved slots refreshed with [`BookState::set_account`] and
/// [`BookState::insert_order`], which keep an order's stamp). Matching reruns
/// with the fresh balances, so no fill of the new sub-block exceeds what they can pay; a
/// message the fresh state refuses (e.g. its signer rotated its key directly) is returned
/// refused.
pub fn rematch(stale: &SubBlock, fresh: &BookState) -> Result<Batch, BatchError> {
    build(fresh, &stale.messages)
}

/// What the checks found for an admitted message.
struct Admitted {
    trace: VerificationTrace,
    /// The order a cancel finds (the empty slot for a place).
    found: OrderState,
}

/// Checks `m` against `now` (see the module docs, "Admission").
fn admit(now: &BookState, m: &SignedOrder) -> Result<Admitted, Rejection> {
    let msg = &m.message;
    if msg.book != now.book {
        return Err(Rejection::WrongDomain);
    }
    msg.payload().map_err(Rejection::OutOfRange)?;
    let trace = check_signature(&now.account(&msg.owner), m)?;
    let found = now.order(&msg.owner, msg.id);
    match slot_refusal(msg.place.is_some(), msg.id, &found) {
        Some(refusal) => Err(refusal),
        None => Ok(Admitted { trace, found }),
    }
}

/// Why a place (`place`) or a cancel of order `id` cannot apply to the slot holding `found`: a
/// place needs the empty slot, a cancel a buy or sell order (live or filled) or one cancelled
/// on L2: not empty, not already cancelled by a signed cancel.
pub fn slot_refusal(place: bool, id: u32, found: &OrderState) -> Option<Rejection> {
    match (place, found.side) {
        (true, _) if *found != OrderState::EMPTY => Some(Rejection::IdReused { id }),
        (true, _) | (false, SIDE_BUY | SIDE_SELL | SIDE_CANCELLED_ON_L2) => None,
        (false, SIDE_CANCELLED) => Some(Rejection::AlreadyCancelled { id }),
        (false, _) => Some(Rejection::NoSuchOrder { id }),
    }
}

/// The replay state and the signature: the key slot's nonce and key, then the signature under
/// that key (its verification trace is the rows' witness).
fn check_signature(account: &Account, m: &SignedOrder) -> Result<VerificationTrace, Rejection> {
    if account.key.is_none() {
        return Err(Rejection::NoKey);
    }
    let given = m.message.nonce;
    if given != account.nonce {
        return Err(Rejection::WrongNonce { given, current: account.nonce });
    }
    if m.key != account.key {
        return Err(Rejection::WrongKey);
    }
    // The key slot's next nonce must stay below `KEY_NONCE_BOUND = p - 1` (the statement
    // refuses more, `zkthread_sig::KEY_NONCE_BOUND`).
    if zkthread_sig::check_consumable_nonce(given).is_err() {
        return Err(Rejection::NonceExhausted { nonce: given });
    }
    verify_trace(&account.key, &m.message, &m.signature).map_err(Rejection::BadSignature)
}

/// The sub-block under construction: the working state and what has been emitted.
struct Builder {
    now: BookState,
    witness: OrderBookWitness,
    slots: SlotBudget,
    /// The taker whose fill the budget refused (then every later message is deferred).
    stopped: Option<Stopped>,
    trades: Vec<Trade>,
    fills: Vec<Fill>,
    messages: Vec<SignedOrder>,
    refused: Vec<Refused>,
}

impl Builder {
    fn new(state: &BookState, slot_budget: Option<usize>) -> Self {
        Builder {
            now: state.clone().starting_sub_block(),
            witness: OrderBookWitness::new(),
            slots: SlotBudget { touched: BTreeSet::new(), limit: slot_budget, full: false },
            stopped: None,
            trades: Vec::new(),
            fills: Vec::new(),
            messages: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Whether `m`'s Poseidon2 permutations (its signature's, counted on a scratch witness,
    /// and its transaction-list entry's) still fit the largest component, and its own slots
    /// the slot budget.
    fn fits(&self, m: &SignedOrder, admitted: &Admitted) -> bool {
        let mut scratch = AuthWitness::default();
        scratch.push_signature(0, &m.signature, &admitted.trace);
        let cost = scratch.permutations.len() + 1;
        self.witness.auth.permutations.len() + cost <= MAX_COMPONENT_ROWS
            && self.slots.has_room(&message_slots(&m.message))
    }

    /// Resumes `taker`, a taker the previous sub-block's budget stopped (module docs,
    /// "Matching"), ahead of every message, leaving the first message's own slots free.
    fn resume(&mut self, stopped: &Stopped) {
        let taker = stopped.taker;
        let order = self.now.order(&taker.0, taker.1);
        if !order.is_live() || !self.now.can_pay_one(&taker.0, &order) {
            return; // cancelled on L2, or its owner holds nothing now: it rests
        }
        let passed: BTreeSet<OrderKey> = stopped.passed.iter().copied().collect();
        let limit = self.slots.limit;
        self.slots.limit = limit.map(|n| n - MESSAGE_SLOTS);
        self.match_taker(taker, Some(&passed));
        self.slots.limit = limit;
    }

    /// An admitted message: its signed row, its key step, then its effect on the book.
    fn apply(&mut self, m: &SignedOrder, admitted: Admitted) {
        let msg = m.message;
        let found = admitted.found;
        let cancelled = (found.side, found.price, found.remaining);
        let row = SignedOrderRow { message: msg, key: m.key, cancelled, signature: m.signature, trace: admitted.trace };
        self.witness.push_signed(&row);
        self.messages.push(m.clone());
        let account = self.now.account_mut(&msg.owner);
        (account.nonce, account.key) = (account.nonce + 1, msg.next_key);
        let taken = self.slots.take(&message_slots(&msg));
        debug_assert!(taken, "fits() checked the message's slots");
        match msg.place {
            Some((side, price, quantity)) => {
                self.now.place_order(msg.owner, msg.id, OrderState { side, price, remaining: quantity });
                self.match_taker((msg.owner, msg.id), None);
            }
            None => self.now.cancel(&(msg.owner, msg.id)),
        }
    }

    /// Matches the order `taker` against the book (module docs, "Matching") until it is filled,
    /// nothing more crosses, or the next fill's slots are over the budget.
    fn match_taker(&mut self, taker: OrderKey, passed: Option<&BTreeSet<OrderKey>>) {
        let slots = &mut self.slots;
        let matched = match_within(&mut self.now, taker, passed, &mut |sell, buy| slots.take_fill(&fill_slots(sell, buy)));
        if let Some(passed) = matched.stopped {
            self.stopped = Some(Stopped { taker, passed });
        }
        for fill in matched.fills {
            self.witness.push_fill(&fill);
            let maker = if fill.seller == taker.0 && fill.sell_id == taker.1 {
                (fill.buyer, fill.buy_id)
            } else {
                (fill.seller, fill.sell_id)
            };
            let taker_side = self.now.order(&taker.0, taker.1).side;
            let price = self.now.order(&maker.0, maker.1).price;
            self.trades.push(Trade { maker, taker, taker_side, price, quantity: fill.quantity, amount: fill.amount });
            self.fills.push(fill);
        }
    }

    /// The statement and the self-checks: an honest batcher never hands out rows that fail.
    fn finish(self, before: &BookState) -> Result<Batch, BatchError> {
        if self.messages.is_empty() && self.fills.is_empty() {
            return Err(BatchError::Empty { refused: self.refused });
        }
        let changes: Vec<Change> =
            self.slots.touched.iter().map(|s| Change::new(before.entry(s), self.now.entry(s))).collect();
        let storable = |c: &Change| storage_value(&c.before).is_some() && storage_value(&c.after).is_some();
        if let Some(index) = changes.iter().position(|c| !storable(c)) {
            return Err(BatchError::Unstorable { index });
        }
        if let Some((role, row, constraint)) = self.witness.first_violation() {
            return Err(BatchError::Unprovable { role, row, constraint });
        }
        let outside = self.witness.range_lookups().outside;
        if outside != 0 {
            return Err(BatchError::OutOfTable(outside));
        }
        let sub_block = SubBlock {
            transactions: self.witness.auth.transactions,
            witness: self.witness,
            changes,
            trades: self.trades,
            fills: self.fills,
            messages: self.messages,
            after: self.now,
        };
        Ok(Batch { sub_block, refused: self.refused, deferred: Vec::new(), stopped: None })
    }
}

/// The slots a sub-block touches, and the most it may (module docs, "Size").
struct SlotBudget {
    touched: BTreeSet<Slot>,
    limit: Option<usize>,
    /// A fill did not fit: the sub-block is full, no later fill or message may go ahead of it.
    full: bool,
}

impl SlotBudget {
    /// How many of `slots` are not touched yet.
    fn new_among(&self, slots: &[Slot]) -> usize {
        slots.iter().filter(|s| !self.touched.contains(s)).collect::<BTreeSet<_>>().len()
    }

    fn has_room(&self, slots: &[Slot]) -> bool {
        self.limit.is_none_or(|limit| self.touched.len() + self.new_among(slots) <= limit)
    }

    /// Touches a message's `slots` if they fit; `false` (nothing touched) if not.
    fn take(&mut self, slots: &[Slot]) -> bool {
        let room = self.has_room(slots);
        if room {
            self.touched.extend(slots.iter().copied());
        }
        room
    }

    /// Touches a fill's `slots` if they fit and the sub-block is not full; a fill that does
    /// not fit makes it full.
    fn take_fill(&mut self, slots: &[Slot]) -> bool {
        let taken = !self.full && self.take(slots);
        self.full = !taken;
        taken
    }
}

/// A message's own slots: its signer's key slot and the order slot it names.
fn message_slots(msg: &OrderMessage) -> [Slot; MESSAGE_SLOTS] {
    [Slot::Key(msg.owner), Slot::Order(msg.owner, msg.id)]
}

/// The slots a fill between orders `sell` and `buy` touches.
fn fill_slots(sell: OrderKey, buy: OrderKey) -> [Slot; FILL_SLOTS] {
    [
        Slot::Market,
        Slot::Order(sell.0, sell.1),
        Slot::Order(buy.0, buy.1),
        Slot::Base(sell.0),
        Slot::Quote(sell.0),
        Slot::Base(buy.0),
        Slot::Quote(buy.0),
    ]
}

/// Why a match cannot happen: the maker's side cannot pay (it is skipped), the taker's cannot
/// (its matching ends), or no size of it fits both limits once rounded (the maker is skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Short {
    Maker,
    Taker,
    Rounding,
}

/// Matches the resting order `taker` (just placed, or resting crossed) against the orders of
/// `book` that arrived before it, in priority order, and applies every fill to `book`: the
/// fills, in execution order, with the values before each. Pure matching: no signature or row
/// is involved.
pub fn match_order(book: &mut BookState, taker: OrderKey) -> Vec<Fill> {
    match_within(book, taker, None, &mut |_, _| true).fills
}

/// How one taker's matching ended, for [`match_within`].
struct Matched {
    fills: Vec<Fill>,
    /// `may_fill` refused a fill: the makers visited before that one (filled or skipped, in any
    /// pass, with `passed` of a resumed taker) that are still live.
    stopped: Option<Vec<OrderKey>>,
}

/// [`match_order`], stopping before the first fill `may_fill(sell, buy)` refuses (the slot
/// budget): the taker's remainder then rests. With `passed` (a resumed taker), one pass only,
/// over the crossing makers not in `passed`: the rest of the pass the budget stopped. A
/// resumed taker never visits a maker twice, so refunding a maker it emptied on L2 cannot keep
/// it trading (and the book's messages waiting) round after round.
fn match_within(
    book: &mut BookState,
    taker: OrderKey,
    passed: Option<&BTreeSet<OrderKey>>,
    may_fill: &mut dyn FnMut(OrderKey, OrderKey) -> bool,
) -> Matched {
    let t = book.order(&taker.0, taker.1);
    let mut done = Matched { fills: Vec::new(), stopped: None };
    let Some(arrived) = book.orders.get(&taker).map(|o| o.arrival) else {
        return done; // not in the book
    };
    if !t.is_live() {
        return done; // not a live order: nothing to match
    }
    // Every maker visited by any pass (a stop in a later pass must not let a resume visit
    // again one an earlier pass visited).
    let mut visited: BTreeSet<OrderKey> = passed.cloned().unwrap_or_default();
    loop {
        let before = done.fills.len();
        for maker in book.crossing(t.side, t.price) {
            if maker.0 == taker.0 {
                continue; // self-trade prevention: the owner's own resting order is skipped
            }
            if book.orders[&maker].arrival > arrived {
                continue; // a later order takes this one when its own turn comes
            }
            if passed.is_some_and(|p| p.contains(&maker)) {
                continue; // visited before the budget stopped this taker
            }
            if book.fills == u64::MAX {
                return done;
            }
            match fill_terms(book, taker, maker) {
                Ok((quantity, amount)) => {
                    let (sell, buy) = sides(book, taker, maker);
                    if !may_fill(sell, buy) {
                        // Over the slot budget: the remainder rests. A maker no longer live
                        // (filled, cancelled) never crosses again: only live ones are kept.
                        let live = visited.into_iter().filter(|k| book.order(&k.0, k.1).is_live()).collect();
                        done.stopped = Some(live);
                        return done;
                    }
                    done.fills.push(apply_fill(book, taker, maker, quantity, amount))
                }
                Err(Short::Maker | Short::Rounding) => {}
                Err(Short::Taker) => return done,
            }
            visited.insert(maker);
            if book.order(&taker.0, taker.1).remaining == 0 {
                return done;
            }
        }
        if done.fills.len() == before || passed.is_some() {
            return done; // a pass that filled nothing, or the end of a resumed pass
        }
    }
}

/// The seller's and the buyer's order of a match, whichever is the taker.
fn sides(book: &BookState, taker: OrderKey, maker: OrderKey) -> (OrderKey, OrderKey) {
    if book.order(&taker.0, taker.1).side == SIDE_SELL {
        (taker, maker)
    } else {
        (maker, taker)
    }
}

/// The quote a fill of `quantity` moves at the maker's `price`, rounded in the maker's favour
/// (up when the maker sells, down when it buys).
fn quote_at(price: &Price, quantity: u64, maker_sells: bool) -> u128 {
    let quote = if maker_sells { price.quote_ceil(quantity) } else { price.quote_floor(quantity) };
    quote.unwrap_or(u128::MAX) // a live order's den is never 0
}

/// The most base units whose quote at `price` (rounded as [`quote_at`]) stays within `budget`.
fn units_for(price: &Price, budget: u128, maker_sells: bool) -> u128 {
    // Above 2^100 the budget never binds (a fill's quote is below 2^78): no overflow below.
    let (budget, num, den) = (budget.min(1 << 100), u128::from(price.num.max(1)), u128::from(price.den));
    if maker_sells {
        budget * den / num // ceil(q n / d) <= B  iff  q n <= B d
    } else {
        ((budget + 1) * den - 1) / num // floor(q n / d) <= B  iff  q n < (B + 1) d
    }
}

/// Whether paying `amount` for `quantity` keeps within the taker's limit `price`.
fn within_limit(price: &Price, taker_sells: bool, quantity: u64, amount: u128) -> bool {
    // Saturating: a state holding an order outside the AIR's range must not panic here (its
    // sub-block is refused as unstorable later).
    let (paid, owed) = (amount.saturating_mul(u128::from(price.den)), u128::from(quantity) * u128::from(price.num));
    if taker_sells {
        paid >= owed
    } else {
        paid <= owed
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The quantity and quote amount of the next fill of `taker` against `maker` at the maker's
/// price: the largest both orders and both owners' balances allow (module docs, "Matching"),
/// or which side cannot pay one unit.
fn fill_terms(book: &BookState, taker: OrderKey, maker: OrderKey) -> Result<(u64, u128), Short> {
    let (sell, buy) = sides(book, taker, maker);
    let (m, t) = (book.order(&maker.0, maker.1), book.order(&taker.0, taker.1));
    let maker_sells = sell == maker;
    let (s, b) = (book.account(&sell.0), book.account(&buy.0));
    // Each side's cap is its own: what the seller can deliver and still receive the quote,
    // what the buyer can pay and still receive the base (a maker near u128::MAX stops only
    // itself, never the taker's matching).
    let seller_cap = s.base.min(units_for(&m.price, u128::MAX - s.quote, maker_sells));
    let buyer_cap = units_for(&m.price, b.quote, maker_sells).min(u128::MAX - b.base);
    let (taker_cap, maker_cap) = if maker_sells { (buyer_cap, seller_cap) } else { (seller_cap, buyer_cap) };
    if taker_cap == 0 {
        return Err(Short::Taker);
    }
    if maker_cap == 0 {
        return Err(Short::Maker);
    }
    // `remaining` is a u64, so the minimum fits.
    let mut quantity = u128::from(t.remaining.min(m.remaining)).min(taker_cap).min(maker_cap) as u64;
    if !within_limit(&t.price, !maker_sells, quantity, quote_at(&m.price, quantity, maker_sells)) {
        let lot = u64::from(m.price.den / gcd(m.price.num, m.price.den).max(1)).max(1);
        quantity -= quantity % lot;
    }
    if quantity == 0 {
        return Err(Short::Rounding);
    }
    Ok((quantity, quote_at(&m.price, quantity, maker_sells)))
}

/// Applies a fill of `quantity` for `amount` quote units: both remainings, the four balances
/// and the counter move; returns the fill with the values before it.
fn apply_fill(book: &mut BookState, taker: OrderKey, maker: OrderKey, quantity: u64, amount: u128) -> Fill {
    let (sell, buy) = sides(book, taker, maker);
    let fill = describe_fill(book, sell, buy, quantity, amount);
    let (q, a) = (u128::from(quantity), amount);
    book.set_remaining(&sell, fill.sell_remaining - quantity);
    book.set_remaining(&buy, fill.buy_remaining - quantity);
    let seller = book.account_mut(&sell.0);
    (seller.base, seller.quote) = (seller.base - q, seller.quote + a);
    let buyer = book.account_mut(&buy.0);
    (buyer.base, buyer.quote) = (buyer.base + q, buyer.quote - a);
    book.fills += 1;
    fill
}

/// The fill row's values: the market, both orders and the four balances before the fill.
fn describe_fill(book: &BookState, sell: OrderKey, buy: OrderKey, quantity: u64, amount: u128) -> Fill {
    let (s, b) = (book.order(&sell.0, sell.1), book.order(&buy.0, buy.1));
    let (sa, ba) = (book.account(&sell.0), book.account(&buy.0));
    Fill {
        book: book.book,
        base: book.base,
        quote: book.quote,
        // Below 2^30 + 2^16 within a sub-block (at most 2^16 fills from its base).
        fills: (book.fills - book.count_base) as u32,
        seller: sell.0,
        sell_id: sell.1,
        sell_price: s.price,
        sell_remaining: s.remaining,
        buyer: buy.0,
        buy_id: buy.1,
        buy_price: b.price,
        buy_remaining: b.remaining,
        quantity,
        amount,
        seller_base: sa.base,
        seller_quote: sa.quote,
        buyer_base: ba.base,
        buyer_quote: ba.quote,
    }
}

#[cfg(test)]
mod tests {
    //! Pure matching on a hand-built book: no signature, no proof.
    use super::*;
    use zkthread_sig::M31;

    fn h(v: u32) -> Hash4 {
        [M31::reduce(v); 4]
    }

    const ALICE: u32 = 10;
    const BOB: u32 = 11;
    const CAROL: u32 = 12;
    const DAVE: u32 = 13;

    fn funded(base: u128, quote: u128) -> Account {
        Account { base, quote, nonce: 1, key: KeyCommitment(h(99)) }
    }

    /// Alice and Carol hold base, Bob and Dave quote (plenty).
    fn book() -> BookState {
        let mut b = BookState::new(h(1), h(2), h(3), 0);
        for (who, base, quote) in [(ALICE, 1_000, 0), (BOB, 0, 1_000_000), (CAROL, 1_000, 0), (DAVE, 0, 1_000_000)] {
            b.set_account(h(who), funded(base, quote));
        }
        b
    }

    fn place(b: &mut BookState, who: u32, id: u32, state: OrderState) -> Vec<Fill> {
        b.insert_order(h(who), id, state);
        match_order(b, (h(who), id))
    }

    /// `(sell id, quote paid, quantity)` of each fill.
    fn summary(fills: &[Fill]) -> Vec<(u32, u128, u64)> {
        fills.iter().map(|f| (f.sell_id, f.amount, f.quantity)).collect()
    }

    #[test]
    fn best_price_first_at_the_makers_price() {
        let mut b = book();
        assert!(place(&mut b, ALICE, 1, OrderState::sell(52, 10)).is_empty());
        assert!(place(&mut b, CAROL, 2, OrderState::sell(50, 10)).is_empty(), "a later, better ask");
        let fills = place(&mut b, BOB, 3, OrderState::buy(55, 15));
        assert_eq!(summary(&fills), vec![(2, 500, 10), (1, 260, 5)]);
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(52, 5));
        assert_eq!(b.account(&h(BOB)).quote, 1_000_000 - 500 - 260);
        assert_eq!(b.fills, 2);
    }

    #[test]
    fn earliest_first_at_equal_price() {
        let mut b = book();
        place(&mut b, CAROL, 1, OrderState::sell(50, 10));
        place(&mut b, ALICE, 2, OrderState::sell(50, 10));
        let fills = place(&mut b, BOB, 3, OrderState::buy(50, 12));
        assert_eq!(summary(&fills), vec![(1, 500, 10), (2, 100, 2)]);
        // Bids: highest first for an incoming ask.
        place(&mut b, BOB, 4, OrderState::buy(48, 5));
        place(&mut b, DAVE, 5, OrderState::buy(49, 5));
        let fills = place(&mut b, CAROL, 6, OrderState::sell(40, 7));
        let buys: Vec<(u32, u128, u64)> = fills.iter().map(|f| (f.buy_id, f.amount, f.quantity)).collect();
        assert_eq!(buys, vec![(5, 245, 5), (4, 96, 2)]);
    }

    #[test]
    fn no_fill_beyond_the_takers_limit() {
        let mut b = book();
        place(&mut b, ALICE, 1, OrderState::sell(52, 10));
        assert!(place(&mut b, BOB, 2, OrderState::buy(51, 10)).is_empty());
        assert_eq!(b.order(&h(BOB), 2), OrderState::buy(51, 10), "rests");
    }

    #[test]
    fn self_trade_is_skipped_and_both_rest() {
        let mut b = book();
        b.set_account(h(ALICE), funded(1_000, 1_000_000));
        place(&mut b, ALICE, 1, OrderState::sell(50, 10));
        place(&mut b, CAROL, 2, OrderState::sell(51, 10));
        let fills = place(&mut b, ALICE, 3, OrderState::buy(55, 15));
        assert_eq!(summary(&fills), vec![(2, 510, 10)], "Alice's own ask is skipped, Carol's fills");
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(50, 10), "untouched");
        assert_eq!(b.order(&h(ALICE), 3), OrderState::buy(55, 5), "rests crossing her own ask");
    }

    #[test]
    fn an_unfunded_maker_is_skipped_and_stays() {
        let mut b = book();
        place(&mut b, ALICE, 1, OrderState::sell(50, 10));
        place(&mut b, CAROL, 2, OrderState::sell(51, 10));
        b.set_account(h(ALICE), funded(4, 0)); // Alice's base drops to 4
        let fills = place(&mut b, BOB, 3, OrderState::buy(55, 12));
        assert_eq!(summary(&fills), vec![(1, 200, 4), (2, 408, 8)], "as much as Alice can deliver");
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(50, 6), "the rest stays resting");
        assert_eq!(b.account(&h(ALICE)).base, 0);
        // Now unfunded: skipped entirely by the next taker.
        let fills = place(&mut b, DAVE, 4, OrderState::buy(55, 3));
        assert_eq!(summary(&fills), vec![(2, 102, 2)]);
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(50, 6));
        assert_eq!(b.order(&h(DAVE), 4), OrderState::buy(55, 1), "Carol's ask had 2 left");
    }

    #[test]
    fn an_unfunded_taker_stops_and_rests() {
        let mut b = book();
        place(&mut b, ALICE, 1, OrderState::sell(50, 10));
        place(&mut b, CAROL, 2, OrderState::sell(60, 10));
        b.set_account(h(BOB), funded(0, 549)); // 10 at 50 = 500, then 49 < 60
        let fills = place(&mut b, BOB, 3, OrderState::buy(60, 20));
        assert_eq!(summary(&fills), vec![(1, 500, 10)]);
        assert_eq!(b.order(&h(BOB), 3), OrderState::buy(60, 10), "the rest rests");
        assert_eq!(b.order(&h(CAROL), 2), OrderState::sell(60, 10), "never touched");
        assert_eq!(b.account(&h(BOB)).quote, 49);
        // A seller taker without base matches nothing.
        b.set_account(h(CAROL), funded(0, 0));
        assert!(place(&mut b, CAROL, 4, OrderState::sell(1, 5)).is_empty());
        // As a maker, Bob's bid (60) cannot pay one unit with 49 quote: Carol's ask at 7 skips
        // it and rests below it.
        b.set_account(h(CAROL), funded(100, 0));
        assert!(place(&mut b, CAROL, 5, OrderState::sell(7, 100)).is_empty());
        assert_eq!(b.order(&h(CAROL), 5), OrderState::sell(7, 100));
    }

    #[test]
    fn the_counter_passes_p_and_stops_only_at_u64_max() {
        // Past p - 1 (where the AIR's M31 count would wrap) fills go on: rows carry the count
        // from the sub-block's base.
        let mut b = book();
        let far = u64::from(zkthread_sig::field::MODULUS) + 5;
        b.fills = far;
        b.count_base = market_count_base(far);
        place(&mut b, ALICE, 1, OrderState::sell(50, 10));
        let fills = place(&mut b, BOB, 2, OrderState::buy(50, 10));
        assert_eq!(fills.len(), 1);
        assert_eq!(u64::from(fills[0].fills), far % (1 << 30), "the row's count is rebased");
        assert_eq!(b.fills, far + 1);
        // Only the u64 counter's end stops matching (a book would need 2^48 full sub-blocks).
        b.fills = u64::MAX - 1;
        b.count_base = market_count_base(u64::MAX - 1);
        place(&mut b, CAROL, 3, OrderState::sell(50, 10));
        assert_eq!(place(&mut b, DAVE, 4, OrderState::buy(50, 5)).len(), 1, "the last fill");
        assert_eq!(b.fills, u64::MAX);
        assert!(place(&mut b, BOB, 5, OrderState::buy(50, 5)).is_empty(), "no further fill");
    }

    #[test]
    fn a_taker_that_is_not_a_live_order_matches_nothing() {
        let mut b = book();
        place(&mut b, ALICE, 1, OrderState::sell(50, 10));
        assert!(place(&mut b, BOB, 2, OrderState::EMPTY).is_empty());
        assert!(place(&mut b, BOB, 3, OrderState::buy(55, 0)).is_empty());
        assert!(place(&mut b, BOB, 4, OrderState { side: 3, price: 55.into(), remaining: 5 }).is_empty());
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(50, 10));
    }

    #[test]
    fn ratio_prices_rank_exactly_and_round_in_the_makers_favour() {
        let mut b = book();
        // 3/2 = 1.5 and 7/5 = 1.4: the lower ask first although placed later; 1/1 and 2/2 are
        // one limit, ranked by time.
        place(&mut b, ALICE, 1, OrderState::sell(Price::new(3, 2), 10));
        place(&mut b, CAROL, 2, OrderState::sell(Price::new(7, 5), 10));
        assert_eq!(b.crossing(SIDE_BUY, Price::new(3, 2)), vec![(h(CAROL), 2), (h(ALICE), 1)]);
        assert_eq!(b.crossing(SIDE_BUY, Price::new(29, 20)), vec![(h(CAROL), 2)], "1.45 crosses 1.4 only");
        // Bob buys 13 at up to 8/5 (1.6): 10 at 7/5 for 14 quote, then 3 at 3/2 = 4.5 quote,
        // which the maker's rounding makes 5 (1.67 a unit, above Bob's 1.6): the fill drops to
        // whole lots of 2 units (3 quote). The last unit cannot trade within both limits
        // (1.5..1.6 quote) and rests.
        let fills = place(&mut b, BOB, 3, OrderState::buy(Price::new(8, 5), 13));
        assert_eq!(summary(&fills), vec![(2, 14, 10), (1, 3, 2)]);
        assert_eq!(b.order(&h(BOB), 3), OrderState::buy(Price::new(8, 5), 1), "one unit rests");
        assert_eq!(b.order(&h(ALICE), 1), OrderState::sell(Price::new(3, 2), 8));
        // A buyer at 17/10 (1.7) takes 3 at 3/2: 4.5 rounded up to 5 (1.67 <= 1.7).
        let fills = place(&mut b, DAVE, 4, OrderState::buy(Price::new(17, 10), 3));
        assert_eq!(summary(&fills), vec![(1, 5, 3)]);
        // A maker bid rounds down: Dave bids 5 at 4/3, Carol sells 5 at 1: floor(20/3) = 6.
        let mut b = book();
        place(&mut b, DAVE, 5, OrderState::buy(Price::new(4, 3), 5));
        let fills = place(&mut b, CAROL, 6, OrderState::sell(1, 5));
        assert_eq!(fills.iter().map(|f| (f.buy_id, f.amount, f.quantity)).collect::<Vec<_>>(), vec![(5, 6, 5)]);
    }

    #[test]
    fn a_maker_that_cannot_receive_is_skipped_not_the_taker() {
        let mut b = book();
        // Carol's ask is the best, but her quote balance cannot take any more: she is skipped
        // and Bob's bid trades with Alice's worse ask.
        b.set_account(h(CAROL), funded(1_000, u128::MAX));
        place(&mut b, CAROL, 1, OrderState::sell(49, 10));
        place(&mut b, ALICE, 2, OrderState::sell(50, 10));
        let fills = place(&mut b, BOB, 3, OrderState::buy(55, 5));
        assert_eq!(summary(&fills), vec![(2, 250, 5)]);
        assert_eq!(b.order(&h(CAROL), 1).remaining, 10);
        // Orders outside the AIR's price range (no valid book holds one) never trade.
        place(&mut b, ALICE, 4, OrderState::sell(Price::new(40, 0), 10));
        assert!(!b.crossing(SIDE_BUY, Price::whole(55)).contains(&(h(ALICE), 4)));
        assert!(place(&mut b, DAVE, 5, OrderState::buy(Price::new(0, 0), 5)).is_empty());
    }

    #[test]
    fn equal_ratios_trade_only_in_exact_lots() {
        let mut b = book();
        place(&mut b, ALICE, 1, OrderState::sell(Price::new(101, 2), 3));
        // 3 at 50.5 = 151.5: the maker's rounding (152) would break the taker's equal limit, so
        // 2 units for exactly 101; the last unit cannot trade at 50.5 and rests on both sides.
        let fills = place(&mut b, BOB, 2, OrderState::buy(Price::new(202, 4), 3));
        assert_eq!(summary(&fills), vec![(1, 101, 2)]);
        assert_eq!(b.order(&h(BOB), 2).remaining, 1);
        assert_eq!(b.order(&h(ALICE), 1).remaining, 1);
        assert!(place(&mut b, DAVE, 3, OrderState::buy(Price::new(101, 2), 1)).is_empty(), "one unit never trades");
    }

    /// A small deterministic generator (xorshift64) for the randomized test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random books (four owners, both sides, thin balances so funding binds): after every
    /// place, the fills follow the priority order fixed before matching, execute at the maker's
    /// price within both limits, never self-trade, conserve both tokens, and leave no
    /// other-owner crossing order that both sides could still pay for.
    #[test]
    fn random_books_match_by_the_rules() {
        let mut rng = Rng(0x5_eed0_b00c);
        let owners = [ALICE, BOB, CAROL, DAVE];
        let (mut n_fills, mut n_left) = (0, 0);
        for _ in 0..200 {
            let mut b = BookState::new(h(1), h(2), h(3), 0);
            for w in owners {
                b.set_account(h(w), funded(u128::from(rng.below(60) as u32), u128::from(rng.below(3_000) as u32)));
            }
            let total = |b: &BookState| owners.iter().fold((0u128, 0u128), |(x, y), w| {
                let a = b.account(&h(*w));
                (x + a.base, y + a.quote)
            });
            let start = total(&b);
            for id in 0..12u32 {
                let who = owners[rng.below(4) as usize];
                let side = if rng.below(2) == 0 { SIDE_BUY } else { SIDE_SELL };
                // Ratios around 45..55 with small denominators: rounding and lots bind often.
                let den = [1, 2, 3, 7][rng.below(4) as usize];
                let price = Price::new(45 * den + rng.below(u64::from(10 * den)) as u32, den);
                let state = OrderState { side, price, remaining: 1 + rng.below(30) };
                b.insert_order(h(who), id, state);
                let taker = (h(who), id);
                let priority = b.crossing(side, state.price);
                let fills = place_checked(&mut b, taker);
                n_fills += fills.len();
                let makers: Vec<usize> = fills
                    .iter()
                    .map(|f| {
                        let maker = if side == SIDE_BUY { (f.seller, f.sell_id) } else { (f.buyer, f.buy_id) };
                        priority.iter().position(|k| *k == maker).expect("a maker from the crossing list")
                    })
                    .collect();
                assert!(makers.windows(2).all(|w| w[0] <= w[1]), "priority order: {makers:?}");
                for f in &fills {
                    let maker_sells = side == SIDE_BUY;
                    let maker_price = if maker_sells { f.sell_price } else { f.buy_price };
                    assert_eq!(f.amount, quote_at(&maker_price, f.quantity, maker_sells), "the maker's price, its rounding");
                    assert!(within_limit(&f.sell_price, true, f.quantity, f.amount), "the seller's limit");
                    assert!(within_limit(&f.buy_price, false, f.quantity, f.amount), "the buyer's limit");
                    assert!(f.seller != f.buyer);
                    assert!(f.quantity > 0 && f.quantity <= f.sell_remaining.min(f.buy_remaining));
                    assert!(f.seller_base >= u128::from(f.quantity) && f.buyer_quote >= f.amount);
                }
                assert_eq!(total(&b), start);
                if b.order(&h(who), id).remaining > 0 {
                    for maker in b.crossing(side, state.price) {
                        if maker.0 != taker.0 {
                            assert!(fill_terms(&b, taker, maker).is_err(), "a payable match was left");
                            n_left += 1;
                        }
                    }
                }
            }
        }
        // The generator exercises both: many fills, and crossing orders left unpaid.
        eprintln!("{n_fills} fills, {n_left} crossing orders left for lack of funds");
        assert!(n_fills > 500 && n_left > 50, "{n_fills} fills, {n_left} left");
    }

    fn place_checked(b: &mut BookState, taker: OrderKey) -> Vec<Fill> {
        let fills = match_order(b, taker);
        // Consecutive fills chain: each reads the counter the previous one wrote.
        assert!(fills.windows(2).all(|w| w[1].fills == w[0].fills + 1));
        fills
    }

    #[test]
    fn value_is_conserved_and_every_quantity_is_in_range() {
        let mut b = book();
        let total = |b: &BookState| {
            [ALICE, BOB, CAROL, DAVE].iter().fold((0u128, 0u128), |(x, y), w| {
                let a = b.account(&h(*w));
                (x + a.base, y + a.quote)
            })
        };
        let start = total(&b);
        let mut all = Vec::new();
        for (i, (who, state)) in [
            (ALICE, OrderState::sell(50, 300)),
            (CAROL, OrderState::sell(49, 200)),
            (BOB, OrderState::buy(51, 450)),
            (DAVE, OrderState::buy(49, 100)),
            (ALICE, OrderState::sell(40, 1_000)),
        ]
        .into_iter()
        .enumerate()
        {
            all.extend(place(&mut b, who, i as u32, state));
        }
        assert_eq!(total(&b), start);
        assert!(all.iter().all(|f| f.quantity > 0
            && within_limit(&f.sell_price, true, f.quantity, f.amount)
            && within_limit(&f.buy_price, false, f.quantity, f.amount)));
        assert!(all.iter().all(|f| f.quantity <= f.sell_remaining && f.quantity <= f.buy_remaining));
    }
}
