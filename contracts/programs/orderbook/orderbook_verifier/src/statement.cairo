//! The order book's statement binding and boundary: `zkthread_orderbook::statement`
//! (`OrderLayout` and its `ListRules`, run by the framework's `SignedPublicInput::bind_list`)
//! bit for bit, on the Cairo statement framework `thread_statement` (tests: generated Rust
//! vectors, `tests/statement_vectors.cairo`).
//!
//! Storage (the Rust module docs have the table and the argument for each rule): every input
//! slot carries a witness `[w0, w1]` and is one of
//! - `balances[owner]` of a token (`[owner, 0]`, a u128: the token program's slot and
//!   `Balance(0, D_token, A, limbs[8])` tuple);
//! - `thread_keys[owner]` of a book (`[owner, 0]`, a packed key and nonce with the nonce below
//!   `p - 1`: `Key(1, D_book, A, nonce, K[4])`);
//! - `orders[(owner, id)]` of a book (`[owner, id]`, `id < p`, a packed order:
//!   `Order(2, D_book, A, id, side, num, den, remaining[4])`, the limit price `num / den`);
//! - `fill_count` of a book (`[0, 0]`, a u64 `n`: `Market(3, D_book, D_base, D_quote, n - base)`,
//!   the token domains from the book's configuration, `base` the input's `n` rounded down to a
//!   multiple of `2^30`; the output may exceed the input by `0..=2^16`);
//! - `base_token` / `quote_token` of a book (`[0, 0]`, an address `0 < a < 2^251`, read-only,
//!   no tuple).
//!
//! Whole-list rules (after every slot is bound and every output parsed, in the Rust order):
//! no output writes a configuration slot; a contract is a book iff both its configuration
//! slots are inputs (only one: refused), and a book's market is not degenerate (base = quote,
//! or the book itself as a token); `thread_keys`, `orders` and `fill_count` only in books,
//! `balances` only outside them; every counter's `Market` takes its token domains from its
//! book's configuration.
//!
//! Refusals are short strings: the framework's list rules are the token's
//! (`'statement: ...'`, `SignedStatementError`), the book's rules `'book: ...'`
//! (`BookRefusal`).

use core::pedersen::pedersen;
use starknet::storage_access::{storage_address_from_base, storage_base_address_from_felt252};
use stark_verifier::fields::{M31, M31Trait, P, QM31};
use thread_verifier::lookup::LookupElements;
use thread_statement::header::{HEADER_LEN, ascending, read_list, tx_list};
use thread_statement::ids::{DistinctIdsTrait, Hash4, account_id, transfer_domain, unpack_statement_key_slot};
use thread_statement::relation::{
    Coordinates, KIND_KEY, STATE_RELATION_SIZE, append_hash4, head_sum, mul_add, mul_add_hash4,
    mul_add_limbs16, sum_of_differences, tx_list_pair, weights,
};
use signed_verifier::statement::{KIND_BALANCE, SlotState, balance_key, key_steps_forward, thread_key_key};
use signed_verifier::statement::state_values as token_state_values;

/// `StateRelation` kind of an `orders[(owner, id)]` slot (`zkthread_orderbook::state`).
pub const KIND_ORDER: u32 = 2;
/// `StateRelation` kind of the book's fill counter.
pub const KIND_MARKET: u32 = 3;
/// A kind no role consumes or produces: the values of a configuration slot or an unresolved
/// counter (never in a boundary: configuration slots are never written, and every counter is
/// resolved or refused).
pub const KIND_NEVER: u32 = 16;

/// Order sides.
pub const SIDE_EMPTY: u32 = 0;
pub const SIDE_BUY: u32 = 1;
pub const SIDE_SELL: u32 = 2;
/// A cancelled order (AIR version 4: a cancel always changes its slot).
pub const SIDE_CANCELLED: u32 = 3;
/// An order its owner cancelled on L2 (the book's `cancel`); a signed cancel may still consume
/// it, once, and moves it to `SIDE_CANCELLED` (AIR version 5).
pub const SIDE_CANCELLED_ON_L2: u32 = 4;
/// The largest numerator or denominator of a price, `2^14 - 1`.
pub const MAX_PRICE_PART: u32 = 0x3fff;
/// Witness felts per input slot: `[owner, id]`.
pub const WITNESS_LEN: u32 = 2;
/// A counter's tuples count from its input rounded down to a multiple of this.
pub const MARKET_COUNT_MODULUS: u64 = 0x40000000;
/// The most the counter moves in one sub-block: one fill per row, at most 2^16 rows.
pub const MAX_FILLS_PER_SUB_BLOCK: u64 = 0x10000;

/// An order value is `remaining + num * 2^64 + den * 2^80 + side * 2^96`, below `2^99`.
const TWO_POW_64: u128 = 0x10000000000000000;
const TWO_POW_80: u128 = 0x100000000000000000000;
const TWO_POW_96: u128 = 0x1000000000000000000000000;
const TWO_POW_99: u128 = 0x8000000000000000000000000;
/// Configuration addresses are below `2^251`.
const TWO_POW_251: u256 = 0x800000000000000000000000000000000000000000000000000000000000000;

/// An order slot's value as the AIR sees it.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct OrderState {
    pub side: u32,
    /// The limit price `num / den` (quote units per base unit).
    pub num: u32,
    pub den: u32,
    pub remaining: u64,
}

/// A book's two token domains (from its configuration slots).
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct MarketTokens {
    pub base: Hash4,
    pub quote: Hash4,
}

/// A slot's value as the AIR sees it (the Rust `BookSlot`).
#[derive(Drop, Copy, Debug, PartialEq)]
pub enum BookSlot {
    /// A balance or a thread key, the token program's slot.
    Token: SlotState,
    /// `(id, order)`.
    Order: (u32, OrderState),
    /// `(fills, market)`: the market is filled in from the book's configuration (`None` only
    /// between per-slot binding and the whole-list rules), which also rebases the stored u64
    /// (`resolve`).
    FillCount: (u64, Option<MarketTokens>),
    /// A configured token address (read-only).
    Config: felt252,
}

/// The order book's variables.
#[derive(Drop, Copy, Debug, PartialEq)]
pub enum BookVariable {
    Balance,
    ThreadKey,
    /// `orders[(owner, id)]`.
    Order: u32,
    FillCount,
    BaseToken,
    QuoteToken,
}

/// One input slot bound to its variable: its domain, owner id and values before / after.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct BoundSlot {
    pub domain: Hash4,
    pub account: Hash4,
    pub before: BookSlot,
    pub after: BookSlot,
}

/// Storage key of `orders[(owner, id)]`:
/// `pedersen(pedersen(sn_keccak("orders"), owner), id) mod (2^251 - 256)`.
pub fn order_key(owner: felt252, id: u64) -> felt252 {
    let hash = pedersen(pedersen(selector!("orders"), owner), id.into());
    storage_address_from_base(storage_base_address_from_felt252(hash)).into()
}

/// Storage key of the book's `fill_count`.
pub fn fill_count_key() -> felt252 {
    selector!("fill_count")
}

/// Storage key of the book's `base_token`.
pub fn base_token_key() -> felt252 {
    selector!("base_token")
}

/// Storage key of the book's `quote_token`.
pub fn quote_token_key() -> felt252 {
    selector!("quote_token")
}

/// `remaining + num * 2^64 + den * 2^80 + side * 2^96` (the caller keeps `num, den < 2^16`,
/// `side < 8`).
pub fn pack_order(state: OrderState) -> felt252 {
    let remaining: felt252 = state.remaining.into();
    let num: felt252 = state.num.into();
    let den: felt252 = state.den.into();
    let side: felt252 = state.side.into();
    remaining + num * TWO_POW_64.into() + den * TWO_POW_80.into() + side * TWO_POW_96.into()
}

/// The order a slot value holds, if it is canonical (`zkthread_orderbook::unpack_order`):
/// below `2^99`, the empty slot exactly 0, a buy, sell or cancelled order (by a signed cancel
/// or on L2) with both price parts in `1..=MAX_PRICE_PART`, a cancelled one with nothing
/// remaining.
pub fn unpack_order(value: felt252) -> Option<OrderState> {
    let v: u128 = match value.try_into() {
        Option::Some(v) => v,
        Option::None => { return Option::None; },
    };
    if v >= TWO_POW_99 {
        return Option::None;
    }
    let side: u32 = (v / TWO_POW_96).try_into().unwrap();
    let num: u32 = ((v / TWO_POW_64) % 0x10000).try_into().unwrap();
    let den: u32 = ((v / TWO_POW_80) % 0x10000).try_into().unwrap();
    let remaining: u64 = (v % TWO_POW_64).try_into().unwrap();
    // `side < 8` (the value is below 2^99): empty, buy, sell, cancelled or cancelled on L2.
    let ok = if side == SIDE_EMPTY {
        v == 0
    } else if side > SIDE_CANCELLED_ON_L2 {
        false
    } else {
        let priced = num >= 1 && num <= MAX_PRICE_PART && den >= 1 && den <= MAX_PRICE_PART;
        priced && (side < SIDE_CANCELLED || remaining == 0)
    };
    if ok {
        Option::Some(OrderState { side, num, den, remaining })
    } else {
        Option::None
    }
}

/// The variable whose storage key is `key`, given the slot's witness `[owner, second]`
/// (`OrderLayout::variable`): `second` is 0 for every slot but an order, whose id it is (an
/// M31 element: `id < p`, so two ids never name one tuple); the book's own variables have
/// owner 0.
pub fn variable(key: felt252, owner: felt252, second: felt252) -> Option<BookVariable> {
    if second == 0 {
        if key == balance_key(owner) {
            return Option::Some(BookVariable::Balance);
        }
        if key == thread_key_key(owner) {
            return Option::Some(BookVariable::ThreadKey);
        }
        if owner == 0 {
            if key == fill_count_key() {
                return Option::Some(BookVariable::FillCount);
            }
            if key == base_token_key() {
                return Option::Some(BookVariable::BaseToken);
            }
            if key == quote_token_key() {
                return Option::Some(BookVariable::QuoteToken);
            }
        }
    }
    let id: u32 = match second.try_into() {
        Option::Some(id) => id,
        Option::None => { return Option::None; },
    };
    if id >= P {
        return Option::None;
    }
    if key == order_key(owner, id.into()) {
        Option::Some(BookVariable::Order(id))
    } else {
        Option::None
    }
}

/// `value` as the AIR sees `variable` (`OrderLayout::parse`); `None` if the variable cannot
/// hold it.
pub fn parse(variable: BookVariable, value: felt252) -> Option<BookSlot> {
    match variable {
        BookVariable::Balance => match value.try_into() {
            Option::Some(v) => Option::Some(BookSlot::Token(SlotState::Balance(v))),
            Option::None => Option::None,
        },
        // The token's key slot (a nonce below `KEY_NONCE_BOUND = p - 1`).
        BookVariable::ThreadKey => match unpack_statement_key_slot(value) {
            Option::Some(slot) => Option::Some(BookSlot::Token(SlotState::Key(slot))),
            Option::None => Option::None,
        },
        BookVariable::Order(id) => match unpack_order(value) {
            Option::Some(state) => Option::Some(BookSlot::Order((id, state))),
            Option::None => Option::None,
        },
        // Any u64: its tuples carry it rebased (`resolve`).
        BookVariable::FillCount => {
            let fills: Option<u64> = value.try_into();
            match fills {
                Option::Some(n) => Option::Some(BookSlot::FillCount((n, Option::None))),
                Option::None => Option::None,
            }
        },
        BookVariable::BaseToken => parse_config(value),
        BookVariable::QuoteToken => parse_config(value),
    }
}

/// A configured token address: nonzero (an unset variable is 0) and below `2^251`.
fn parse_config(value: felt252) -> Option<BookSlot> {
    let wide: u256 = value.into();
    if value != 0 && wide < TWO_POW_251 {
        Option::Some(BookSlot::Config(value))
    } else {
        Option::None
    }
}

/// Whether slot `(c1, k1)` is before `(c2, k2)`, as integers.
fn slot_lt(c1: felt252, k1: felt252, c2: felt252, k2: felt252) -> bool {
    if c1 == c2 {
        let a: u256 = k1.into();
        let b: u256 = k2.into();
        a < b
    } else {
        let a: u256 = c1.into();
        let b: u256 = c2.into();
        a < b
    }
}

/// The list rules every program shares, in the Rust order (`check_lists`), after the
/// encoding's own: a transaction list that decodes, lists that fit exactly, at least one
/// input, both lists strictly ascending, `WITNESS_LEN` witness felts per input. Returns the
/// input and output lists.
fn checked_lists(
    public_input: Span<felt252>, witness: Span<felt252>,
) -> Result<(u32, Span<felt252>, Span<felt252>), felt252> {
    if public_input.len() < HEADER_LEN {
        return Result::Err('statement: truncated');
    }
    tx_list(public_input)?;
    let mut felts = public_input.slice(HEADER_LEN, public_input.len() - HEADER_LEN);
    let (n_inputs, inputs) = read_list(ref felts)?;
    let (_, outputs) = read_list(ref felts)?;
    if felts.len() != 0 {
        return Result::Err('statement: trailing felts');
    }
    if n_inputs == 0 {
        return Result::Err('statement: no inputs');
    }
    if !(ascending(inputs) && ascending(outputs)) {
        return Result::Err('statement: unsorted list');
    }
    if witness.len() != n_inputs * WITNESS_LEN {
        return Result::Err('statement: owner count');
    }
    Result::Ok((n_inputs, inputs, outputs))
}

/// The inputs' columns: contracts, keys, values.
#[derive(Drop)]
struct Inputs {
    contracts: Array<felt252>,
    keys: Array<felt252>,
    values: Array<felt252>,
}

fn columns(mut list: Span<felt252>) -> Inputs {
    let mut inputs = Inputs { contracts: array![], keys: array![], values: array![] };
    while let Option::Some(contract) = list.pop_front() {
        inputs.contracts.append(*contract);
        inputs.keys.append(*list.pop_front().unwrap());
        inputs.values.append(*list.pop_front().unwrap());
    };
    inputs
}

/// Checks the lists, binds every input slot to its variable (`witness`: `[owner, id]` per
/// input, input order) and applies the book's whole-list rules: the Rust `bound_slots`
/// (`SignedPublicInput::bind_list(&OrderLayout, witness)`), same checks in the same order.
/// (Cairo 2.9 has no `return` inside a loop: each loop stops at its first error and returns
/// it after.)
pub fn bound_slots(
    public_input: Span<felt252>, witness: Span<felt252>,
) -> Result<Array<BoundSlot>, felt252> {
    let (n, input_list, outputs) = checked_lists(public_input, witness)?;
    let chain_id = *public_input[2];
    let registry = *public_input[3];
    let thread_id = *public_input[4];
    let inputs = columns(input_list);

    // Every input bound to a variable of its witness, its value parsed (input order).
    let mut variables: Array<BookVariable> = array![];
    let mut befores: Array<BookSlot> = array![];
    let mut domains: Array<Hash4> = array![];
    let mut accounts: Array<Hash4> = array![];
    let mut w = witness;
    let mut error: felt252 = 0;
    // The inputs ascend by contract: one domain per run of equal contracts.
    let mut run_contract = *inputs.contracts[0];
    let mut domain = transfer_domain(chain_id, registry, thread_id, run_contract);
    let mut ids = DistinctIdsTrait::new();
    let mut i = 0;
    while i != n {
        let owner = *w.pop_front().unwrap();
        let second = *w.pop_front().unwrap();
        match bind_input(*inputs.keys[i], *inputs.values[i], owner, second) {
            Result::Ok((
                variable, before,
            )) => {
                let contract = *inputs.contracts[i];
                if contract != run_contract {
                    run_contract = contract;
                    domain = transfer_domain(chain_id, registry, thread_id, contract);
                }
                // Both maps are asked on every input (the first one included): the Rust order.
                if !ids.domain(domain, contract) {
                    error = 'statement: domain clash';
                    break;
                }
                let account = account_id(owner);
                if !ids.account(account, owner) {
                    error = 'statement: account id clash';
                    break;
                }
                variables.append(variable);
                befores.append(before);
                domains.append(domain);
                accounts.append(account);
            },
            Result::Err(e) => {
                error = e;
                break;
            },
        }
        i += 1;
    };
    if error != 0 {
        return Result::Err(error);
    }

    // Every output is an input slot (both lists ascend: a merge) with a value its variable
    // can hold (output order). `written[j]` is output j's input.
    let mut afters: Array<Option<BookSlot>> = array![];
    let mut written: Array<u32> = array![];
    let mut outs = outputs;
    let mut at = 0;
    while let Option::Some(contract) = outs.pop_front() {
        let contract = *contract;
        let key = *outs.pop_front().unwrap();
        let value = *outs.pop_front().unwrap();
        while at != n && slot_lt(*inputs.contracts[at], *inputs.keys[at], contract, key) {
            afters.append(Option::None);
            at += 1;
        };
        if at == n || *inputs.contracts[at] != contract || *inputs.keys[at] != key {
            error = 'statement: output not read';
            break;
        }
        match parse(*variables[at], value) {
            Option::Some(s) => {
                if !book_key_steps_forward(*befores[at], s) {
                    error = 'statement: nonce not advanced';
                    break;
                }
                afters.append(Option::Some(s));
            },
            Option::None => {
                error = 'statement: bad value';
                break;
            },
        }
        written.append(at);
        at += 1;
    };
    if error != 0 {
        return Result::Err(error);
    }
    while at != n {
        afters.append(Option::None);
        at += 1;
    };

    // The book's rules (`OrderLayout::resolve`).
    refuse_config_writes(variables.span(), written.span())?;
    let books = markets(@inputs, variables.span(), chain_id, registry, thread_id)?;
    let mut slots: Array<BoundSlot> = array![];
    let mut i = 0;
    while i != n {
        let before = *befores[i];
        let after = match *afters[i] {
            Option::Some(s) => s,
            Option::None => before,
        };
        let market = market_of(books.span(), *inputs.contracts[i]);
        match resolve(*variables[i], market, before, after) {
            Result::Ok((
                before, after,
            )) => slots.append(BoundSlot { domain: *domains[i], account: *accounts[i], before, after }),
            Result::Err(e) => {
                error = e;
                break;
            },
        }
        i += 1;
    };
    if error != 0 {
        return Result::Err(error);
    }
    Result::Ok(slots)
}

/// A written thread key of the book moves its nonce forward (the token's `key_steps_forward`).
fn book_key_steps_forward(before: BookSlot, after: BookSlot) -> bool {
    match before {
        BookSlot::Token(old) => match after {
            BookSlot::Token(new) => key_steps_forward(old, new),
            _ => true,
        },
        _ => true,
    }
}

/// One input's variable and its value parsed.
fn bind_input(
    key: felt252, value: felt252, owner: felt252, second: felt252,
) -> Result<(BookVariable, BookSlot), felt252> {
    let variable = match variable(key, owner, second) {
        Option::Some(v) => v,
        Option::None => { return Result::Err('statement: unbound slot'); },
    };
    match parse(variable, value) {
        Option::Some(s) => Result::Ok((variable, s)),
        Option::None => Result::Err('statement: bad value'),
    }
}

/// The slot's states under the book's rules, given its contract's market (`None`: not a
/// book in this statement): `balances` only outside books; `thread_keys`, `orders` and
/// `fill_count` only in books; a counter takes its book's market.
fn resolve(
    variable: BookVariable, market: Option<MarketTokens>, before: BookSlot, after: BookSlot,
) -> Result<(BookSlot, BookSlot), felt252> {
    match variable {
        BookVariable::Balance => if market.is_some() {
            Result::Err('book: balance in book')
        } else {
            Result::Ok((before, after))
        },
        BookVariable::FillCount => match market {
            Option::Some(m) => rebase_counter(before, after, m),
            Option::None => Result::Err('book: not a book'),
        },
        BookVariable::ThreadKey => in_book(market, before, after),
        BookVariable::Order(_) => in_book(market, before, after),
        BookVariable::BaseToken => Result::Ok((before, after)),
        BookVariable::QuoteToken => Result::Ok((before, after)),
    }
}

fn in_book(
    market: Option<MarketTokens>, before: BookSlot, after: BookSlot,
) -> Result<(BookSlot, BookSlot), felt252> {
    if market.is_some() {
        Result::Ok((before, after))
    } else {
        Result::Err('book: not a book')
    }
}

/// Refuses an output writing `base_token` or `quote_token`: otherwise a proof could retarget
/// a book.
fn refuse_config_writes(variables: Span<BookVariable>, written: Span<u32>) -> Result<(), felt252> {
    let mut config_written = false;
    for at in written {
        match *variables[*at] {
            BookVariable::BaseToken => { config_written = true; },
            BookVariable::QuoteToken => { config_written = true; },
            _ => {},
        }
        if config_written {
            break;
        }
    };
    if config_written {
        Result::Err('book: config written')
    } else {
        Result::Ok(())
    }
}

/// The books of the statement (contracts with both configuration slots as inputs) and their
/// tokens' domains, in contract order (the inputs ascend, so each contract is one run).
fn markets(
    inputs: @Inputs,
    variables: Span<BookVariable>,
    chain_id: felt252,
    registry: felt252,
    thread_id: felt252,
) -> Result<Array<(felt252, MarketTokens)>, felt252> {
    let n = variables.len();
    let mut books: Array<(felt252, MarketTokens)> = array![];
    let mut error: felt252 = 0;
    let mut i = 0;
    while i != n {
        let book = *inputs.contracts[i];
        let mut base: Option<felt252> = Option::None;
        let mut quote: Option<felt252> = Option::None;
        while i != n && *inputs.contracts[i] == book {
            match *variables[i] {
                BookVariable::BaseToken => { base = Option::Some(*inputs.values[i]); },
                BookVariable::QuoteToken => { quote = Option::Some(*inputs.values[i]); },
                _ => {},
            }
            i += 1;
        };
        match market(book, base, quote, chain_id, registry, thread_id) {
            Result::Ok(found) => if let Option::Some(tokens) = found {
                books.append((book, tokens));
            },
            Result::Err(e) => {
                error = e;
                break;
            },
        }
    };
    if error != 0 {
        return Result::Err(error);
    }
    Result::Ok(books)
}

/// The market of `book` from its configuration slots: none without them, refused with only
/// one or a degenerate pair (base = quote, or the book itself as a token).
fn market(
    book: felt252,
    base: Option<felt252>,
    quote: Option<felt252>,
    chain_id: felt252,
    registry: felt252,
    thread_id: felt252,
) -> Result<Option<MarketTokens>, felt252> {
    match base {
        Option::Some(base) => match quote {
            Option::Some(quote) => {
                if base == quote || base == book || quote == book {
                    return Result::Err('book: degenerate market');
                }
                Result::Ok(
                    Option::Some(
                        MarketTokens {
                            base: transfer_domain(chain_id, registry, thread_id, base),
                            quote: transfer_domain(chain_id, registry, thread_id, quote),
                        },
                    ),
                )
            },
            Option::None => Result::Err('book: incomplete config'),
        },
        Option::None => if quote.is_some() {
            Result::Err('book: incomplete config')
        } else {
            Result::Ok(Option::None)
        },
    }
}

fn market_of(books: Span<(felt252, MarketTokens)>, contract: felt252) -> Option<MarketTokens> {
    let mut found = Option::None;
    for entry in books {
        let (book, tokens) = *entry;
        if book == contract {
            found = Option::Some(tokens);
            break;
        }
    };
    found
}

/// The counter's states with its market, rebased: `n - base` for `base` the input's `n`
/// rounded down to a multiple of `2^30`, after checking that it moves by `0..=2^16` (one fill
/// per row): both stay below `2^30 + 2^16 < p`, so no fill chain wraps in M31, and the stored
/// u64 has no cap a thread of wash fills could run into (`OrderLayout::resolve`).
fn rebase_counter(
    before: BookSlot, after: BookSlot, market: MarketTokens,
) -> Result<(BookSlot, BookSlot), felt252> {
    let (b, a) = match (before, after) {
        (BookSlot::FillCount((b, _)), BookSlot::FillCount((a, _))) => (b, a),
        _ => { return Result::Err('book: not a book'); },
    };
    // `a - b` as a felt is a u64 iff `a >= b` (else it is near p); felt arithmetic and one
    // range check keep this smaller in CASM than checked u64 subtractions.
    let moved: felt252 = a.into() - b.into();
    let moved: u64 = match moved.try_into() {
        Option::Some(d) => d,
        Option::None => { return Result::Err('book: counter jump'); },
    };
    if moved > MAX_FILLS_PER_SUB_BLOCK {
        return Result::Err('book: counter jump');
    }
    // `b mod 2^30`, its low bits: below 2^30, so adding `moved` cannot overflow a u64.
    let start = b & (MARKET_COUNT_MODULUS - 1);
    Result::Ok(
        (
            BookSlot::FillCount((start, Option::Some(market))),
            BookSlot::FillCount((start + moved, Option::Some(market))),
        ),
    )
}

/// The four 16-bit limbs of a quantity, least significant first.
fn append_qty_limbs(ref out: Array<M31>, value: u64) {
    let mut rest = value;
    let mut k = 0;
    while k != 4 {
        let limb: u32 = (rest % 0x10000).try_into().unwrap();
        out.append(M31Trait::from_u32_unchecked(limb));
        rest = rest / 0x10000;
        k += 1;
    };
}

/// The `StateRelation` values of a slot in `state` (`Entry::values`): the token's `Balance`
/// and `Key` (their high id words zero); `[2, D_book, A, id, side, num, den, remaining limbs[4]]` for an order;
/// `[3, D_book, D_base, D_quote, fills]` for a resolved counter; `[KIND_NEVER, D]` for a
/// configuration slot or an unresolved counter.
pub fn state_values(domain: Hash4, account: Hash4, state: BookSlot) -> Array<M31> {
    match state {
        // The book names an owner by `A` alone: zeros where the token program carries the
        // id's high words (`zkthread_orderbook::state::low_id`), which add nothing to a
        // denominator (`tail_sum` skips them).
        BookSlot::Token(s) => token_state_values(domain, account, (0, 0, 0, 0), s),
        BookSlot::Order((
            id, order,
        )) => {
            let mut out: Array<M31> = array![M31Trait::from_u32_unchecked(KIND_ORDER)];
            append_hash4(ref out, domain);
            append_hash4(ref out, account);
            out.append(M31Trait::from_u32_unchecked(id));
            out.append(M31Trait::from_u32_unchecked(order.side));
            out.append(M31Trait::from_u32_unchecked(order.num));
            out.append(M31Trait::from_u32_unchecked(order.den));
            append_qty_limbs(ref out, order.remaining);
            out
        },
        BookSlot::FillCount((
            fills, market,
        )) => {
            match market {
                Option::Some(m) => {
                    let mut out: Array<M31> = array![M31Trait::from_u32_unchecked(KIND_MARKET)];
                    append_hash4(ref out, domain);
                    append_hash4(ref out, m.base);
                    append_hash4(ref out, m.quote);
                    // Rebased (`rebase_counter`): below 2^30 + 2^16.
                    let count: u32 = fills.try_into().unwrap();
                    out.append(M31Trait::from_u32_unchecked(count));
                    out
                },
                Option::None => never(domain),
            }
        },
        BookSlot::Config(_) => never(domain),
    }
}

/// `[KIND_NEVER, D]`: a tuple no role consumes or produces.
fn never(domain: Hash4) -> Array<M31> {
    let mut out: Array<M31> = array![M31Trait::from_u32_unchecked(KIND_NEVER)];
    append_hash4(ref out, domain);
    out
}

/// Values of a tuple's head, the same before and after a write: `[kind, D, A]`, or
/// `[3, D_book, D_base, D_quote]` for a counter (a slot keeps its variable, domain, owner and
/// market).
const HEAD_LEN: u32 = 9;

/// `minus_z + sum_i alpha^i v_i` over the head of a slot holding `state` (`state_values`'
/// first values), and the weights of what follows, unreduced.
fn head(
    weights: Span<Coordinates>,
    minus_z: Coordinates,
    domain: Hash4,
    account: Hash4,
    state: BookSlot,
) -> (Coordinates, Span<Coordinates>) {
    let mut rest = weights.slice(HEAD_LEN, STATE_RELATION_SIZE - HEAD_LEN);
    let acc = match state {
        BookSlot::Token(token) => {
            let kind = match token {
                SlotState::Balance(_) => KIND_BALANCE,
                SlotState::Key(_) => KIND_KEY,
            };
            head_sum(weights, minus_z, kind.into(), domain, account)
        },
        BookSlot::Order(_) => head_sum(weights, minus_z, KIND_ORDER.into(), domain, account),
        BookSlot::FillCount((
            _, market,
        )) => match market {
            Option::Some(m) => {
                let acc = head_sum(weights, minus_z, KIND_MARKET.into(), domain, m.base);
                mul_add_hash4(acc, ref rest, m.quote)
            },
            Option::None => never_sum(weights, minus_z, domain),
        },
        BookSlot::Config(_) => never_sum(weights, minus_z, domain),
    };
    (acc, rest)
}

/// `d([KIND_NEVER, D])`.
fn never_sum(mut weights: Span<Coordinates>, minus_z: Coordinates, domain: Hash4) -> Coordinates {
    let acc = mul_add(minus_z, ref weights, KIND_NEVER.into());
    mul_add_hash4(acc, ref weights, domain)
}

/// `head + sum_i w_i tail_i` over the values of `state` after its head (`state_values`).
fn tail_sum(head: Coordinates, mut weights: Span<Coordinates>, state: BookSlot) -> Coordinates {
    match state {
        BookSlot::Token(token) => match token {
            SlotState::Balance(value) => mul_add_limbs16(head, ref weights, value),
            SlotState::Key(slot) => {
                let acc = mul_add(head, ref weights, slot.nonce.into());
                mul_add_hash4(acc, ref weights, slot.key)
            },
        },
        BookSlot::Order((
            id, order,
        )) => {
            let acc = mul_add(head, ref weights, id.into());
            let acc = mul_add(acc, ref weights, order.side.into());
            let acc = mul_add(acc, ref weights, order.num.into());
            let mut acc = mul_add(acc, ref weights, order.den.into());
            let mut rest = order.remaining;
            let mut k = 0;
            while k != 4 {
                acc = mul_add(acc, ref weights, (rest % 0x10000).into());
                rest = rest / 0x10000;
                k += 1;
            };
            acc
        },
        BookSlot::FillCount((
            fills, market,
        )) => if market.is_some() {
            mul_add(head, ref weights, fills.into())
        } else {
            head
        },
        BookSlot::Config(_) => head,
    }
}

/// `(d(after), d(before))` of every changed slot, `d(t) = sum_i alpha^i t_i - z` for the
/// slot's `state_values`, as unreduced coordinates (at most 17 products below 2^62 and `-z`:
/// below 2^67, the bound `sum_of_differences` takes). The head is summed once per slot.
fn state_pairs(slots: Span<BoundSlot>, state: @LookupElements) -> Array<(Coordinates, Coordinates)> {
    let (weights, minus_z) = weights(state, STATE_RELATION_SIZE);
    let mut pairs: Array<(Coordinates, Coordinates)> = array![];
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            let (acc, rest) = head(weights, minus_z, s.domain, s.account, s.before);
            pairs.append((tail_sum(acc, rest, s.after), tail_sum(acc, rest, s.before)));
        }
    };
    pairs
}

/// `sum over changed slots of 1/d(after) - 1/d(before)` (the Rust `boundary_sum` under
/// `OrderLayout`), with one inversion.
pub fn boundary_sum(slots: Span<BoundSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    sum_of_differences(state_pairs(slots, state).span())
}

/// The whole boundary the rows' LogUp sums must reach (the Rust `statement::boundary`):
/// `boundary_sum` + the transaction list's, with one inversion.
pub fn statement_boundary_sum(
    slots: Span<BoundSlot>,
    state: @LookupElements,
    tx_count: u32,
    tx_cap: Span<M31>,
    link: @LookupElements,
) -> Result<QM31, felt252> {
    let mut pairs = state_pairs(slots, state);
    pairs.append(tx_list_pair(tx_count, tx_cap, link));
    sum_of_differences(pairs.span())
}
