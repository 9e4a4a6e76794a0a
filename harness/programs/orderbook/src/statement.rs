//! The order book's storage layout: which storage variables a statement's slots may be, in
//! which contracts, and how the AIR sees them. The statement itself — encoding, list rules,
//! per-slot binding, boundary — is the framework's (`zkthread_prover::statement`); the
//! whole-list rules (which contract is a book, the market a fill counter names) are this
//! layout's [`ListRules`], run by `SignedPublicInput::bind_list`.
//!
//! ## Storage (the `OrderBook` contract and the token contracts must match exactly)
//!
//! | variable (Cairo) | storage key | value | witness `[w0, w1]` | AIR tuple |
//! | --- | --- | --- | --- | --- |
//! | token `balances: Map<ContractAddress, u128>` | `balances[owner]` (the token program's) | a u128 | `[owner, 0]` | `Balance(D_token, A, limbs)` |
//! | book `thread_keys: Map<ContractAddress, felt252>` | `thread_keys[owner]` (the token program's) | packed key and nonce (`zkthread_sig::pack_key_slot`), nonce `< 2^31 - 2` (`zkthread_sig::unpack_statement_key_slot`) | `[owner, 0]` | `Key(D_book, A, nonce, K)` |
//! | book `orders: Map<(ContractAddress, u64), felt252>` | `orders[(owner, id)]` | packed order ([`pack_order`]) | `[owner, id]` | `Order(D_book, A, id, side, num, den, remaining)` |
//! | book `fill_count: u64` | `sn_keccak('fill_count')` | `n < 2^64`, moving by at most `2^16` a sub-block | `[0, 0]` | `Market(D_book, D_base, D_quote, n - base)`, `base` = the input's `n` rounded down to a multiple of `2^30` |
//! | book `base_token: ContractAddress` | `sn_keccak('base_token')` | the base token's address, `0 < a < 2^251` | `[0, 0]` | none (read-only) |
//! | book `quote_token: ContractAddress` | `sn_keccak('quote_token')` | the quote token's address, `0 < a < 2^251` | `[0, 0]` | none (read-only) |
//!
//! Storage keys are Cairo's (`zkthread_sig::storage_var_key`, whose docs give the rule and
//! where it comes from): a plain variable's key is `sn_keccak(name)`; a map's is Pedersen
//! chained from `sn_keccak(name)` over the key's serialization, so
//! `orders[(owner, id)] = pedersen(pedersen(sn_keccak('orders'), owner), id) mod (2^251 - 256)`.
//! The balance and key slots are derived and parsed by the token program's own layout
//! (`zkthread_token::statement::TokenLayout`), not copied.
//!
//! An order slot's value is one felt ([`pack_order`]):
//! `remaining + num * 2^64 + den * 2^80 + side * 2^96` with `remaining < 2^64`, `num` and
//! `den < 2^16`, `side < 8` and nothing above bit 98: the limit price is `num / den` quote
//! units per base unit. [`unpack_order`] accepts exactly the values the AIR's invariants
//! allow: `side` 0 (empty), 1 (buy), 2 (sell), 3 (cancelled) or 4 (cancelled on L2 by the
//! book's `cancel`); the empty slot is the value 0 (no price, no quantity); a buy, sell or
//! cancelled order has `num` and `den` in `1..=MAX_PRICE_PART = 2^14 - 1`, and a cancelled
//! one `remaining = 0`. A filled order keeps its side and price with `remaining = 0`; a
//! cancelled one keeps its price (AIR version 4: before it, a cancel kept the side too, and
//! such slots still parse as filled orders; AIR version 5 added side 4, which only a signed
//! cancel consumes).
//!
//! Every witness felt is checked: `w1` is the order id for an order slot (`< 2^31 - 1`, an
//! M31 element, so two ids never name one `Order` tuple) and must be 0 for every other
//! slot; `w0` is the owner, 0 for the book's own variables.
//!
//! ## Which variable may live in which contract (attacker: a modified prover, a thread of
//! its own, any statement the registry's storage check lets through)
//!
//! The verifier sees the thread's contract-set commitment, not its contracts, so it cannot
//! tell a book from a token by address. The statement carries the evidence instead: **a
//! contract is a book in a statement iff both its `base_token` and `quote_token` slots are
//! inputs** (the registry checks every input's value against storage, so these are the
//! contract's real configuration; 0, an unset variable, is refused, so a contract without
//! them — a token — can never pass as a book). [`OrderLayout::resolve`] then enforces:
//!
//! - `orders[..]`, `fill_count` and `thread_keys[..]` only in books (refused otherwise,
//!   [`BookRefusal::NotABook`]). An order or counter tuple in a token's domain would let a
//!   prover place orders or run a market under a contract that never opted into being a book;
//!   a key slot in a token is never needed by this program (fills are unsigned; places and
//!   cancels are keyed in the book), so it is refused rather than argued about.
//! - `balances[..]` only in contracts that are not books in the statement
//!   ([`BookRefusal::BalanceInBook`]): a book holds no balances (no escrow). A statement
//!   that omits a book's configuration makes it look like a token, but its `Balance` tuples
//!   can only move through a fill whose `Market` names its domain as base or quote, i.e. some
//!   book whose own (storage-checked) configuration names it: the deployer's choice, not the
//!   prover's.
//! - the configuration is read-only: an output writing `base_token` or `quote_token` is
//!   refused ([`BookRefusal::ConfigWritten`]); otherwise a proof could retarget a book.
//!   A book whose base is its quote, or which names itself as a token, is refused
//!   ([`BookRefusal::DegenerateMarket`]).
//! - the counter's `Market` tuple takes `D_base`, `D_quote` from the same contract's config
//!   slots (`SignedPublicInput::domain(address)`), never from the counter's value: every fill
//!   row consumes it, so every fill of a book moves that book's configured tokens (the crate
//!   docs, "Why a fill moves the book's own tokens"). A configuration with only one of the
//!   two slots is refused ([`BookRefusal::IncompleteConfig`]).
//! - the counter is a u64 with no cap below `2^64` (a cap in M31, `p - 1`, let anyone stop a
//!   book's fills for good by settling ~32,768 sub-blocks of wash fills, which need no
//!   balance). Its tuples carry it rebased: an input `n_in` and output `n_out` become
//!   `n_in - base` and `n_out - base` with `base = n_in - n_in mod 2^30`, and
//!   `0 <= n_out - n_in <= 2^16` ([`BookRefusal::CounterJump`]), so both are below
//!   `2^30 + 2^16 < p`: a chain of fill rows from one to the other is exactly `n_out - n_in`
//!   fills (a cycle would need `p` rows), as before.
//!
//! What a prover can still choose is harmless: which owners' slots appear (each tuple is
//! bound to its owner by the key, and only a signed row moves an owner's key or places or
//! cancels an order), and its own book (a contract it deployed with any configuration): its
//! orders are signed in its domain, so it trades only with owners who signed orders there.
//! **That holds only for a genuine `OrderBook`**, whose orders reach storage only through
//! settled signed places: a contract of the prover's own that answers `read_slots` with a
//! fabricated resting order moves a token that accepts this program (fills are unsigned).
//! So a token accepts this program only beside peers it lists (`thread::interface::IThreadPeers`,
//! checked by the thread component on every read and write; `Market::deploy` lists the book and
//! the other token): README, "The order book by hand".

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use zkthread_prover::auth::link::with_tag;
use zkthread_prover::model::{felt_to_u128, Slot, SlotValue};
use zkthread_prover::role::Relations;
use zkthread_prover::statement::{self as framework, ListBindError, ListRules, StorageLayout};
pub use zkthread_prover::statement::{SignedPublicInput, SignedStatementError};
use zkthread_sig::domain::{account_id, pack_key_slot, AccountId};
use zkthread_sig::field::MODULUS;
use zkthread_sig::storage_var_key;
use zkthread_sig::tx_list::TxListCommitment;
use zkthread_sig::wots::Hash4;
use zkthread_token::statement::{SlotState, TokenLayout, TokenVariable};

use crate::state::{
    market_count_base, Change, Entry, OrderState, Price, MAX_FILLS_PER_SUB_BLOCK, SIDE_BUY, SIDE_CANCELLED,
    SIDE_CANCELLED_ON_L2, SIDE_EMPTY, SIDE_SELL,
};

/// `orders: Map<(ContractAddress, u64), felt252>` of the book.
pub const ORDERS_VAR: &str = "orders";
/// `fill_count: u64` of the book.
pub const FILL_COUNT_VAR: &str = "fill_count";
/// `base_token: ContractAddress` of the book.
pub const BASE_TOKEN_VAR: &str = "base_token";
/// `quote_token: ContractAddress` of the book.
pub const QUOTE_TOKEN_VAR: &str = "quote_token";

/// Bit offset of an order's price numerator in its slot value.
pub const PRICE_SHIFT: u32 = 64;
/// Bit offset of an order's price denominator in its slot value.
pub const DEN_SHIFT: u32 = 80;
/// Bit offset of an order's side in its slot value.
pub const SIDE_SHIFT: u32 = 96;
/// Bits of a packed order value: nothing at or above bit 99.
pub const ORDER_VALUE_BITS: u32 = 99;

/// A `StateRelation` kind no role consumes or produces: the values of a slot that must never
/// change (the configuration) or that was not resolved. Such a tuple never balances.
pub const KIND_NEVER: u32 = 16;

/// Storage key of `orders[(owner, id)]`.
pub fn order_slot_key(owner: Felt, id: u64) -> Felt {
    storage_var_key(ORDERS_VAR, &[owner, Felt::from(id)])
}

/// Storage key of the book's `fill_count`.
pub fn fill_count_key() -> Felt {
    storage_var_key(FILL_COUNT_VAR, &[])
}

/// Storage key of the book's `base_token`.
pub fn base_token_key() -> Felt {
    storage_var_key(BASE_TOKEN_VAR, &[])
}

/// Storage key of the book's `quote_token`.
pub fn quote_token_key() -> Felt {
    storage_var_key(QUOTE_TOKEN_VAR, &[])
}

/// `remaining + num * 2^64 + den * 2^80 + side * 2^96`; `None` for a state [`unpack_order`]
/// refuses.
pub fn pack_order(state: &OrderState) -> Option<Felt> {
    let Price { num, den } = state.price;
    let value = u128::from(state.remaining)
        | (u128::from(num) << PRICE_SHIFT)
        | (u128::from(den) << DEN_SHIFT)
        | (u128::from(state.side) << SIDE_SHIFT);
    let felt = Felt::from(value);
    let fits = num < 1 << 16 && den < 1 << 16 && state.side < 8;
    (fits && unpack_order(&felt) == Some(*state)).then_some(felt)
}

/// The order a slot value holds, if it is canonical: below `2^99`, the empty slot exactly 0,
/// a buy, sell or cancelled order (by a signed cancel or on L2) with both price parts in
/// `1..=MAX_PRICE_PART`, a cancelled one with nothing remaining.
pub fn unpack_order(value: &Felt) -> Option<OrderState> {
    let v = felt_to_u128(value)?;
    if v >> ORDER_VALUE_BITS != 0 {
        return None;
    }
    let part = |shift: u32| ((v >> shift) & 0xffff) as u32;
    let state = OrderState {
        side: (v >> SIDE_SHIFT) as u32,
        price: Price::new(part(PRICE_SHIFT), part(DEN_SHIFT)),
        remaining: v as u64,
    };
    let ok = match state.side {
        SIDE_EMPTY => v == 0,
        SIDE_BUY | SIDE_SELL => state.price.is_valid(),
        SIDE_CANCELLED | SIDE_CANCELLED_ON_L2 => state.price.is_valid() && state.remaining == 0,
        _ => false,
    };
    ok.then_some(state)
}

/// The order book's variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookVariable {
    /// `balances[owner]` (tokens) or `thread_keys[owner]` (books), the token program's.
    Token(TokenVariable),
    /// `orders[(owner, id)]`.
    Order { id: u32 },
    /// `fill_count`.
    FillCount,
    /// `base_token`.
    BaseToken,
    /// `quote_token`.
    QuoteToken,
}

impl BookVariable {
    fn name(&self) -> &'static str {
        match self {
            BookVariable::Token(TokenVariable::Balance) => "balances[owner]",
            BookVariable::Token(TokenVariable::ThreadKey) => "thread_keys[owner]",
            BookVariable::Order { .. } => "orders[(owner, id)]",
            BookVariable::FillCount => "fill_count",
            BookVariable::BaseToken => "base_token",
            BookVariable::QuoteToken => "quote_token",
        }
    }

    fn is_config(&self) -> bool {
        matches!(self, BookVariable::BaseToken | BookVariable::QuoteToken)
    }
}

/// A book's two token domains (from its configuration slots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketTokens {
    pub base: Hash4,
    pub quote: Hash4,
}

/// A slot's value as the AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSlot {
    /// A balance or a thread key, parsed by the token program's layout.
    Token(SlotState),
    Order { id: u32, state: OrderState },
    /// The fill counter; `market` is filled in by [`OrderLayout::resolve`] from the book's
    /// configuration (`None` only between per-slot binding and resolution).
    /// `fills`: the stored u64 as parsed, rebased by [`OrderLayout::resolve`] (module docs).
    FillCount { fills: u64, market: Option<MarketTokens> },
    /// A configured token address (read-only).
    Config(Felt),
}

/// One input slot of an order-book statement bound to its variable.
pub type BoundSlot = framework::BoundSlot<BookSlot>;

/// Why the order book's whole-list rules refuse a statement (module docs: which variable
/// may live in which contract).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookRefusal {
    #[error("input entry {index} is {variable} of a contract whose base_token and quote_token are not inputs")]
    NotABook { index: usize, variable: &'static str },
    #[error("contract {contract:#x} has only one of base_token and quote_token as an input")]
    IncompleteConfig { contract: Felt },
    #[error("output entry {index} writes a book's configuration")]
    ConfigWritten { index: usize },
    #[error("input entry {index} is balances[owner] of a book (a book holds no balances)")]
    BalanceInBook { index: usize },
    #[error("book {book:#x} names itself or one token twice (base {base:#x}, quote {quote:#x})")]
    DegenerateMarket { book: Felt, base: Felt, quote: Felt },
    #[error("input entry {index}: the fill counter moves from {before} to {after}, not by 0..=2^16")]
    CounterJump { index: usize, before: u64, after: u64 },
}

/// Why an order-book statement is refused: a framework rule or the book's.
pub type OrderBookStatementError = ListBindError<BookRefusal>;

/// The order book's storage layout (module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderLayout;

impl StorageLayout for OrderLayout {
    type Variable = BookVariable;
    type State = BookSlot;
    const VARIABLES: &'static str =
        "balances[owner], thread_keys[owner], orders[(owner, id)], fill_count, base_token or quote_token";
    const WITNESS_LEN: usize = 2;
    const LIST_RULES: bool = true;

    fn variable(&self, contract: Felt, key: Felt, witness: &[Felt]) -> Option<(BookVariable, Felt)> {
        let [owner, second] = witness else { return None };
        if *second == Felt::ZERO {
            if let Some((v, owner)) = TokenLayout.variable(contract, key, &[*owner]) {
                return Some((BookVariable::Token(v), owner));
            }
            if let Some(v) = book_variable(key).filter(|_| *owner == Felt::ZERO) {
                return Some((v, *owner));
            }
        }
        let id = u32::try_from(second.to_biguint()).ok().filter(|id| *id < MODULUS)?;
        (key == order_slot_key(*owner, id.into())).then_some((BookVariable::Order { id }, *owner))
    }

    fn parse(&self, variable: BookVariable, value: &Felt) -> Option<BookSlot> {
        match variable {
            // The token's parsing (a key nonce below `p - 1`: `zkthread_sig::KEY_NONCE_BOUND`).
            BookVariable::Token(v) => TokenLayout.parse(v, value).map(BookSlot::Token),
            BookVariable::Order { id } => unpack_order(value).map(|state| BookSlot::Order { id, state }),
            // Any u64: the tuples carry it rebased (module docs).
            BookVariable::FillCount => u64::try_from(value.to_biguint())
                .ok()
                .map(|fills| BookSlot::FillCount { fills, market: None }),
            BookVariable::BaseToken | BookVariable::QuoteToken => {
                (*value != Felt::ZERO && *value < Felt::TWO.pow(251u32)).then_some(BookSlot::Config(*value))
            }
        }
    }

    fn key_nonce(&self, state: &BookSlot) -> Option<u32> {
        match state {
            BookSlot::Token(token) => TokenLayout.key_nonce(token),
            _ => None,
        }
    }

    fn state_values(&self, domain: &Hash4, account: &AccountId, state: &BookSlot) -> Vec<BaseField> {
        // Every tuple of the book names its owner by the low id (`crate::state::book_balance`).
        match entry(domain, &account.low, state) {
            Some(e) => e.values(),
            None => {
                let d: Vec<BaseField> = domain.iter().map(|v| BaseField::from(v.to_u32())).collect();
                with_tag(KIND_NEVER, &[&d])
            }
        }
    }
}

/// The book's own plain variables by key.
fn book_variable(key: Felt) -> Option<BookVariable> {
    [
        (fill_count_key(), BookVariable::FillCount),
        (base_token_key(), BookVariable::BaseToken),
        (quote_token_key(), BookVariable::QuoteToken),
    ]
    .into_iter()
    .find_map(|(k, v)| (k == key).then_some(v))
}

/// The AIR's tuple of a bound slot in `state` (`None`: a configuration slot or an
/// unresolved counter, which no row may consume).
pub fn entry(domain: &Hash4, account: &Hash4, state: &BookSlot) -> Option<Entry> {
    let (domain, account) = (*domain, *account);
    Some(match *state {
        BookSlot::Token(SlotState::Balance(value)) => Entry::Balance { token: domain, account, value },
        BookSlot::Token(SlotState::Key { key, nonce }) => Entry::Key { domain, account, nonce, key },
        BookSlot::Order { id, state } => Entry::Order { book: domain, account, id, state },
        BookSlot::FillCount { fills, market: Some(m) } => {
            Entry::Market { book: domain, base: m.base, quote: m.quote, fills }
        }
        BookSlot::FillCount { market: None, .. } | BookSlot::Config(_) => return None,
    })
}

impl ListRules for OrderLayout {
    type Refusal = BookRefusal;

    fn resolve(
        &self,
        statement: &SignedPublicInput,
        slots: &mut [BoundSlot],
        variables: &[BookVariable],
    ) -> Result<(), BookRefusal> {
        refuse_config_writes(statement, variables)?;
        let markets = markets(statement, variables)?;
        for (index, (slot, variable)) in slots.iter_mut().zip(variables).enumerate() {
            let market = markets.get(&statement.inputs[index].slot.contract).copied();
            match (variable, market) {
                (BookVariable::Token(TokenVariable::Balance), Some(_)) => {
                    return Err(BookRefusal::BalanceInBook { index })
                }
                (BookVariable::Token(TokenVariable::ThreadKey) | BookVariable::Order { .. }, None)
                | (BookVariable::FillCount, None) => {
                    return Err(BookRefusal::NotABook { index, variable: variable.name() })
                }
                (BookVariable::FillCount, Some(m)) => {
                    let (before, after) = match (slot.before, slot.after) {
                        (BookSlot::FillCount { fills: b, .. }, BookSlot::FillCount { fills: a, .. }) => (b, a),
                        _ => continue, // parsed as a counter: unreachable
                    };
                    if after < before || after - before > MAX_FILLS_PER_SUB_BLOCK {
                        return Err(BookRefusal::CounterJump { index, before, after });
                    }
                    let base = market_count_base(before);
                    slot.before = BookSlot::FillCount { fills: before - base, market: Some(m) };
                    slot.after = BookSlot::FillCount { fills: after - base, market: Some(m) };
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Refuses an output that writes `base_token` or `quote_token` (outputs are input slots:
/// the framework checked it).
fn refuse_config_writes(statement: &SignedPublicInput, variables: &[BookVariable]) -> Result<(), BookRefusal> {
    for (index, out) in statement.outputs.iter().enumerate() {
        let at = statement.inputs.binary_search_by_key(&out.slot, |e| e.slot);
        if at.is_ok_and(|i| variables[i].is_config()) {
            return Err(BookRefusal::ConfigWritten { index });
        }
    }
    Ok(())
}

/// The books of the statement (contracts with both configuration slots as inputs) and the
/// domains of their tokens.
fn markets(
    statement: &SignedPublicInput,
    variables: &[BookVariable],
) -> Result<BTreeMap<Felt, MarketTokens>, BookRefusal> {
    let mut config: BTreeMap<Felt, (Option<Felt>, Option<Felt>)> = BTreeMap::new();
    for (entry, variable) in statement.inputs.iter().zip(variables) {
        let c = config.entry(entry.slot.contract).or_default();
        match variable {
            BookVariable::BaseToken => c.0 = Some(entry.value),
            BookVariable::QuoteToken => c.1 = Some(entry.value),
            _ => {}
        }
    }
    let mut markets = BTreeMap::new();
    for (book, tokens) in config {
        match tokens {
            (None, None) => {}
            (Some(base), Some(quote)) => {
                if base == quote || base == book || quote == book {
                    return Err(BookRefusal::DegenerateMarket { book, base, quote });
                }
                let tokens = MarketTokens { base: statement.domain(base), quote: statement.domain(quote) };
                markets.insert(book, tokens);
            }
            _ => return Err(BookRefusal::IncompleteConfig { contract: book }),
        }
    }
    Ok(markets)
}

/// Checks the lists, binds every input slot to its variable (`witness`: `[w0, w1]` per
/// input) and applies the book's whole-list rules.
pub fn bound_slots(statement: &SignedPublicInput, witness: &[Felt]) -> Result<Vec<BoundSlot>, OrderBookStatementError> {
    statement.bind_list(&OrderLayout, witness)
}

/// The sum of every component's claimed LogUp sum that the statement fixes: the state
/// boundary of the bound slots plus the transaction list's.
pub fn boundary(slots: &[BoundSlot], transactions: &TxListCommitment, relations: &Relations) -> SecureField {
    framework::boundary(&OrderLayout, slots, transactions, relations)
}

/// The addresses behind the hashes of an honest sub-block's [`Change`]s: one book, its
/// tokens, other token contracts the changes may touch, and the owners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    pub book: Felt,
    pub base: Felt,
    pub quote: Felt,
    pub other_tokens: Vec<Felt>,
    pub owners: Vec<Felt>,
}

/// Why [`statement_of`] cannot express a list of changes as a statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("change {index}: before and after describe different slots")]
    SlotMismatch { index: usize },
    #[error("change {index}: its domain is no contract of the directory")]
    UnknownDomain { index: usize },
    #[error("change {index}: its account is no owner of the directory")]
    UnknownOwner { index: usize },
    #[error("change {index}: a market other than the book's configured one")]
    OtherMarket { index: usize },
    #[error("change {index}: a value its slot cannot hold")]
    Value { index: usize },
    #[error("change {index}: a slot already in the list")]
    Duplicate { index: usize },
}

/// The statement and binding witness of an honest sub-block: `header`'s fields (thread,
/// sequence, transaction list, ...) with the slots of `changes` as inputs (before) and,
/// where they change, outputs (after), plus the book's `base_token` and `quote_token` as
/// read-only inputs; both lists sorted, the witness in input order. What a batcher hands
/// the registry and the verifier; nothing here is trusted by [`crate::prover::verify`].
pub fn statement_of(
    header: &SignedPublicInput,
    directory: &Directory,
    changes: &[Change],
) -> Result<(SignedPublicInput, Vec<Felt>), BuildError> {
    let mut slots: BTreeMap<Slot, ([Felt; 2], Felt, Felt)> = BTreeMap::new();
    for (key, value) in [(base_token_key(), directory.base), (quote_token_key(), directory.quote)] {
        slots.insert(Slot { contract: directory.book, key }, ([Felt::ZERO; 2], value, value));
    }
    let locate = Locator::new(header, directory);
    for (index, c) in changes.iter().enumerate() {
        let (slot, witness) = locate.slot(&c.before, index)?;
        if locate.slot(&c.after, index)? != (slot, witness) {
            return Err(BuildError::SlotMismatch { index });
        }
        let (before, after) = (encode(&c.before, index)?, encode(&c.after, index)?);
        if slots.insert(slot, (witness, before, after)).is_some() {
            return Err(BuildError::Duplicate { index });
        }
    }
    let mut statement = header.clone();
    statement.inputs = slots.iter().map(|(slot, (_, before, _))| SlotValue { slot: *slot, value: *before }).collect();
    statement.outputs = slots
        .iter()
        .filter(|(_, (_, before, after))| before != after)
        .map(|(slot, (_, _, after))| SlotValue { slot: *slot, value: *after })
        .collect();
    let witness = slots.values().flat_map(|(w, _, _)| *w).collect();
    Ok((statement, witness))
}

/// `entry`'s storage value if the layout accepts it for its variable: what any statement
/// carrying the entry needs. A batcher checks its own changes with it before proving.
pub fn storage_value(entry: &Entry) -> Option<Felt> {
    let value = encode(entry, 0).ok()?;
    let variable = match *entry {
        Entry::Balance { .. } => BookVariable::Token(TokenVariable::Balance),
        Entry::Key { .. } => BookVariable::Token(TokenVariable::ThreadKey),
        Entry::Order { id, .. } => BookVariable::Order { id },
        Entry::Market { .. } => BookVariable::FillCount,
    };
    OrderLayout.parse(variable, &value).map(|_| value)
}

/// A tuple's storage value.
fn encode(e: &Entry, index: usize) -> Result<Felt, BuildError> {
    let value = match *e {
        Entry::Balance { value, .. } => Some(Felt::from(value)),
        Entry::Key { nonce, key, .. } => pack_key_slot(&key, nonce).ok(),
        Entry::Order { state, .. } => pack_order(&state),
        Entry::Market { fills, .. } => Some(Felt::from(fills)),
    };
    value.ok_or(BuildError::Value { index })
}

/// Hashes back to addresses, by the directory.
struct Locator {
    contracts: Vec<(Hash4, Felt)>,
    owners: Vec<(Hash4, Felt)>,
    book: Felt,
    market: MarketTokens,
}

impl Locator {
    fn new(header: &SignedPublicInput, d: &Directory) -> Self {
        let contracts = [d.book, d.base, d.quote].into_iter().chain(d.other_tokens.iter().copied());
        let contracts = contracts.map(|c| (header.domain(c), c));
        Locator {
            contracts: contracts.collect(),
            owners: d.owners.iter().map(|o| (account_id(*o), *o)).collect(),
            book: d.book,
            market: MarketTokens { base: header.domain(d.base), quote: header.domain(d.quote) },
        }
    }

    fn find(list: &[(Hash4, Felt)], h: &Hash4) -> Option<Felt> {
        list.iter().find(|(x, _)| x == h).map(|(_, a)| *a)
    }

    /// The slot and witness of a tuple.
    fn slot(&self, e: &Entry, index: usize) -> Result<(Slot, [Felt; 2]), BuildError> {
        let contract = |d: &Hash4| Self::find(&self.contracts, d).ok_or(BuildError::UnknownDomain { index });
        let owner = |a: &Hash4| Self::find(&self.owners, a).ok_or(BuildError::UnknownOwner { index });
        let slot = |contract, key| Slot { contract, key };
        Ok(match e {
            Entry::Balance { token, account, .. } => {
                let o = owner(account)?;
                (slot(contract(token)?, zkthread_sig::balance_slot_key(o)), [o, Felt::ZERO])
            }
            Entry::Key { domain, account, .. } => {
                let o = owner(account)?;
                (slot(contract(domain)?, zkthread_sig::thread_key_slot_key(o)), [o, Felt::ZERO])
            }
            Entry::Order { book, account, id, .. } => {
                let o = owner(account)?;
                (slot(contract(book)?, order_slot_key(o, u64::from(*id))), [o, Felt::from(*id)])
            }
            Entry::Market { book, base, quote, .. } => {
                let c = contract(book)?;
                if c != self.book || (MarketTokens { base: *base, quote: *quote }) != self.market {
                    return Err(BuildError::OtherMarket { index });
                }
                (slot(c, fill_count_key()), [Felt::ZERO; 2])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MAX_PRICE_PART;

    #[test]
    fn order_packing_round_trips_and_refuses_non_canonical_values() {
        for state in [
            OrderState::EMPTY,
            OrderState::sell(1, 0),
            OrderState::buy(Price::new(MAX_PRICE_PART, MAX_PRICE_PART), u64::MAX),
            OrderState::sell(Price::new(1, MAX_PRICE_PART), 7),
            OrderState::sell(50, 100),
            OrderState::buy(Price::new(101, 2), 3),
            OrderState { side: SIDE_CANCELLED, price: Price::new(101, 2), remaining: 0 },
            OrderState::cancelled_on_l2(Price::new(MAX_PRICE_PART, 1)),
        ] {
            let v = pack_order(&state).expect("canonical");
            assert_eq!(unpack_order(&v), Some(state));
        }
        let two = |k: u32| Felt::TWO.pow(k);
        let refused = [
            (
                "cancelled with a quantity",
                Felt::from(3u8) * two(SIDE_SHIFT) + Felt::from(50u8) * two(PRICE_SHIFT) + two(DEN_SHIFT) + Felt::ONE,
            ),
            ("cancelled at price 0/1", Felt::from(3u8) * two(SIDE_SHIFT) + two(DEN_SHIFT)),
            ("cancelled at price 0/0", Felt::from(3u8) * two(SIDE_SHIFT)),
            (
                "cancelled on L2 with a quantity",
                Felt::from(4u8) * two(SIDE_SHIFT) + Felt::from(50u8) * two(PRICE_SHIFT) + two(DEN_SHIFT) + Felt::ONE,
            ),
            ("cancelled on L2 at price 0/1", Felt::from(4u8) * two(SIDE_SHIFT) + two(DEN_SHIFT)),
            ("side 5", Felt::from(5u8) * two(SIDE_SHIFT) + two(PRICE_SHIFT) + two(DEN_SHIFT)),
            ("side 7", Felt::from(7u8) * two(SIDE_SHIFT) + two(PRICE_SHIFT) + two(DEN_SHIFT)),
            (
                "numerator above MAX_PRICE_PART",
                Felt::from(2u8) * two(SIDE_SHIFT) + Felt::from(MAX_PRICE_PART + 1) * two(PRICE_SHIFT) + two(DEN_SHIFT),
            ),
            (
                "denominator above MAX_PRICE_PART",
                Felt::from(2u8) * two(SIDE_SHIFT) + two(PRICE_SHIFT) + Felt::from(MAX_PRICE_PART + 1) * two(DEN_SHIFT),
            ),
            ("live order at price 0/1", Felt::from(2u8) * two(SIDE_SHIFT) + two(DEN_SHIFT) + Felt::from(5u8)),
            ("live order at price 5/0", Felt::from(1u8) * two(SIDE_SHIFT) + Felt::from(5u8) * two(PRICE_SHIFT)),
            ("empty slot with a quantity", Felt::from(5u8)),
            ("empty slot with a price", Felt::from(50u8) * two(PRICE_SHIFT)),
            ("empty slot with a denominator", two(DEN_SHIFT)),
            ("a bit above 99", two(SIDE_SHIFT) + two(PRICE_SHIFT) + two(DEN_SHIFT) + two(ORDER_VALUE_BITS)),
            ("a felt near p", Felt::ZERO - Felt::ONE),
        ];
        for (what, v) in refused {
            assert_eq!(unpack_order(&v), None, "{what}");
        }
        assert_eq!(pack_order(&OrderState { side: 0, price: Price::ZERO, remaining: 1 }), None);
        assert_eq!(pack_order(&OrderState { side: 1, price: Price::new(1 << 16, 1), remaining: 1 }), None);
        assert_eq!(pack_order(&OrderState { side: 1, price: Price::new(1, 1 << 16), remaining: 1 }), None);
    }

    #[test]
    fn storage_keys_are_cairos() {
        let (owner, id) = (Felt::from(0xa11ceu64), 7u64);
        assert_eq!(order_slot_key(owner, id), storage_var_key("orders", &[owner, Felt::from(id)]));
        assert_ne!(order_slot_key(owner, id), order_slot_key(owner, id + 1));
        let keys = [fill_count_key(), base_token_key(), quote_token_key(), zkthread_sig::balance_slot_key(Felt::ZERO)];
        for (i, a) in keys.iter().enumerate() {
            assert!(keys[i + 1..].iter().all(|b| a != b));
        }
    }

    /// The `OrderBook` contract's keys (`contracts/programs/orderbook/orderbook`: its test
    /// `order_slots_are_the_programs_keys_and_decode` asserts the same `orders[('alice', 7)]`
    /// from the compiled contract's storage path; its plain variables are `selector!(name)`).
    #[test]
    fn storage_keys_are_the_contracts() {
        let alice = Felt::from_bytes_be_slice(b"alice");
        let expected = Felt::from_hex_unchecked("0x557b69fd55c255fc9cc578bffa2da81af46ce873efc98be25bf8cecc0fd86e7");
        assert_eq!(order_slot_key(alice, 7), expected);
        let fill_count = Felt::from_hex_unchecked("0xc822d167b820c62c17d1c5e89dfab5acf2cbb760774e847f446857167623b9");
        assert_eq!(fill_count_key(), fill_count);
    }

    #[test]
    fn unresolved_counters_and_config_slots_never_balance() {
        // Fail closed: a counter without its market, or a configuration slot, has a tuple of
        // a kind no role consumes or produces.
        let (d, a) = (zkthread_sig::domain::account_id(Felt::ONE), zkthread_sig::domain::account_id(Felt::TWO));
        for state in [BookSlot::FillCount { fills: 3, market: None }, BookSlot::Config(Felt::from(9u8))] {
            assert_eq!(entry(&d, &a, &state), None);
            assert_eq!(OrderLayout.state_values(&d, &zkthread_sig::domain::account_id_wide(Felt::TWO), &state)[0], BaseField::from(KIND_NEVER));
        }
        let market = Some(MarketTokens { base: a, quote: d });
        let resolved = entry(&d, &a, &BookSlot::FillCount { fills: 3, market }).expect("a Market tuple");
        assert_eq!(resolved, Entry::Market { book: d, base: a, quote: d, fills: 3 });
    }

    #[test]
    fn each_witness_felt_is_checked() {
        let (owner, contract) = (Felt::from(0xa11ceu64), Felt::from(0xb00cu64));
        let l = OrderLayout;
        let key = order_slot_key(owner, 5);
        assert_eq!(l.variable(contract, key, &[owner, Felt::from(5u8)]), Some((BookVariable::Order { id: 5 }, owner)));
        assert_eq!(l.variable(contract, key, &[owner, Felt::from(6u8)]), None, "another id");
        assert_eq!(l.variable(contract, key, &[Felt::ONE, Felt::from(5u8)]), None, "another owner");
        // An id that is not an M31 element names no order (its tuple would alias id - p).
        let wide = u64::from(MODULUS);
        assert_eq!(l.variable(contract, order_slot_key(owner, wide), &[owner, Felt::from(wide)]), None);
        // Slots without an id: the second felt must be 0, the book's own variables' owner too.
        let balance = zkthread_sig::balance_slot_key(owner);
        assert!(l.variable(contract, balance, &[owner, Felt::ZERO]).is_some());
        assert_eq!(l.variable(contract, balance, &[owner, Felt::ONE]), None);
        assert_eq!(l.variable(contract, fill_count_key(), &[Felt::ZERO; 2]), Some((BookVariable::FillCount, Felt::ZERO)));
        assert_eq!(l.variable(contract, fill_count_key(), &[Felt::ONE, Felt::ZERO]), None);
        assert_eq!(l.variable(contract, base_token_key(), &[Felt::ZERO, Felt::ONE]), None);
        // Values: a counter of any u64 (p - 1 and past it too), a nonzero address below 2^251.
        assert!(l.parse(BookVariable::FillCount, &Felt::from(MODULUS - 1)).is_some());
        assert!(l.parse(BookVariable::FillCount, &Felt::from(u64::MAX)).is_some());
        assert_eq!(l.parse(BookVariable::FillCount, &(Felt::from(u64::MAX) + Felt::ONE)), None);
        let key = zkthread_sig::wots::KeyCommitment::NONE;
        let thread_key = BookVariable::Token(TokenVariable::ThreadKey);
        assert!(l.parse(thread_key, &pack_key_slot(&key, MODULUS - 2).unwrap()).is_some());
        assert_eq!(l.parse(thread_key, &pack_key_slot(&key, MODULUS - 1).unwrap()), None);
        assert_eq!(l.parse(BookVariable::BaseToken, &Felt::ZERO), None);
        assert_eq!(l.parse(BookVariable::QuoteToken, &Felt::TWO.pow(251u32)), None);
    }
}
