//! Cairo test vectors for `contracts/programs/orderbook/orderbook_verifier/src/statement.cairo`: order-book
//! statements built by `zkthread_orderbook::statement::statement_of` (and edits of them) with
//! what the Rust binding computes for each — the bound slots, each slot's `StateRelation`
//! values, the state boundary and the whole boundary (plus the transaction list's) at
//! relation elements drawn from a fixed channel — plus one statement per refusal rule, each
//! with the refusal's Cairo reason.

use std::fmt::Write;

use starknet_types_core::felt::Felt;
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::fields::qm31::SecureField;
use stwo_constraint_framework::logup::LookupElements;
use zkthread_orderbook::state::{Change, Entry, OrderState, Price, MAX_PRICE_PART};
use zkthread_orderbook::statement::{
    base_token_key, bound_slots, fill_count_key, order_slot_key, quote_token_key, statement_of, BookRefusal, BookSlot,
    BoundSlot, Directory, OrderBookStatementError, OrderLayout,
};
use zkthread_prover::auth::tx_list_boundary_sum;
use zkthread_prover::role::{LinkRelation, StateRelation, LINK_RELATION_SIZE, STATE_RELATION_SIZE};
use zkthread_prover::statement::{boundary_sum, ListBindError, SignedPublicInput, SignedStatementError, StorageLayout};
use zkthread_prover::{Slot, SlotValue};
use zkthread_sig::domain::{account_id, pack_key_slot};
use zkthread_sig::field::MODULUS;
use zkthread_sig::wots::{Hash4, KeyCommitment};
use zkthread_sig::{TxDigest, TxListCommitment, M31};
use zkthread_token::SlotState;

/// The generated vectors, relative to the workspace root.
pub const ORDERBOOK_STATEMENT_VECTORS_RELATIVE_PATH: &str =
    "contracts/programs/orderbook/orderbook_verifier/src/tests/statement_vectors.cairo";

pub fn orderbook_statement_vectors_path() -> std::path::PathBuf {
    crate::workspace_path(ORDERBOOK_STATEMENT_VECTORS_RELATIVE_PATH)
}

/// Seed of the channel the fixed relation elements are drawn from.
const RELATION_SEED: u64 = 0x6f72_6465_7262_6f6f;

const CHAIN_ID: &str = "0x534e5f5345504f4c4941";
const REGISTRY: &str = "0x3c2f1a9e0b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918070";
const BOOK: &str = "0xb00c0de";
const BASE: &str = "0x497d1c054cec40f64454b45deecdc83e0c7f7b961c63531eae03748abd95350";
const QUOTE: &str = "0x5a11d0c0ffee0000000000000000000000000000000000000000000000000b2";
/// A second book trading QUOTE for JUNK (the honest two-book statement).
const BOOK2: &str = "0x7b00c2";
/// A token of the prover's own, not the book's.
const JUNK: &str = "0x1dead";
const ALICE: &str = "0xa11ce";
const BOB: &str = "0xb0b";
const CAROL: &str = "0xca401";
const DAVE: &str = "0x4a5e0c1f3b2d";
const EVE: &str = "0xe7e";

fn felt(hex: &str) -> Felt {
    Felt::from_hex_unchecked(hex)
}

fn header() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::ONE,
        program_hash: felt("0x0b00c0000000000000000000000000000000000000000000000000000000001"),
        chain_id: felt(CHAIN_ID),
        registry: felt(REGISTRY),
        thread_id: Felt::from(5u8),
        sequence: Felt::from(9u8),
        contract_set_commitment: felt("0x2c0ffee"),
        transactions: fixture_transactions(),
        inputs: vec![],
        outputs: vec![],
    }
}

/// Two signed transactions of fixed digests (the statement's checks take any 8 words).
fn fixture_transactions() -> TxListCommitment {
    let digest = |seed: u32| -> TxDigest {
        std::array::from_fn(|k| M31::reduce(seed.wrapping_mul(0x85eb_ca6b).wrapping_add((k as u32).wrapping_mul(0x2545_f491))))
    };
    TxListCommitment::of(&[digest(7), digest(8)])
}

fn directory() -> Directory {
    Directory {
        book: felt(BOOK),
        base: felt(BASE),
        quote: felt(QUOTE),
        other_tokens: vec![felt(JUNK), felt(BOOK2)],
        owners: [ALICE, BOB, CAROL, DAVE, EVE].map(felt).to_vec(),
    }
}

fn d(contract: &str) -> Hash4 {
    header().domain(felt(contract))
}

fn a(owner: &str) -> Hash4 {
    account_id(felt(owner))
}

fn key(words: [u32; 4]) -> KeyCommitment {
    KeyCommitment(words.map(M31::reduce))
}

fn balance(token: &str, owner: &str, value: u128) -> Entry {
    Entry::Balance { token: d(token), account: a(owner), value }
}

fn order(owner: &str, id: u32, state: OrderState) -> Entry {
    Entry::Order { book: d(BOOK), account: a(owner), id, state }
}

fn market(fills: u64) -> Entry {
    Entry::Market { book: d(BOOK), base: d(BASE), quote: d(QUOTE), fills }
}

fn change(before: Entry, after: Entry) -> Change {
    Change::new(before, after)
}

/// A fill (alice sells to bob at 100), carol's signed place of a new order (her key steps),
/// and two read-only slots (dave's JUNK balance, his order of the largest id).
fn fill_and_place() -> Vec<Change> {
    let big: u128 = 100_000_000_000_000_000_000;
    let top = Price::new(MAX_PRICE_PART, MAX_PRICE_PART);
    let dave_order = order(DAVE, MODULUS - 1, OrderState::sell(Price::new(1, MAX_PRICE_PART), 1));
    let carol_key = |nonce, words| Entry::Key { domain: d(BOOK), account: a(CAROL), nonce, key: key(words) };
    vec![
        change(market(4), market(5)),
        change(order(ALICE, 7, OrderState::sell(100, 50)), order(ALICE, 7, OrderState::sell(100, 20))),
        change(order(BOB, 3, OrderState::buy(Price::new(241, 2), 30)), order(BOB, 3, OrderState::buy(Price::new(241, 2), 0))),
        change(balance(BASE, ALICE, 1000), balance(BASE, ALICE, 970)),
        change(balance(BASE, BOB, 5), balance(BASE, BOB, 35)),
        change(balance(QUOTE, BOB, big), balance(QUOTE, BOB, big - 3000)),
        change(balance(QUOTE, ALICE, 0), balance(QUOTE, ALICE, 3000)),
        change(carol_key(4, [MODULUS - 1, 12345, 0, 987_654_321]), carol_key(5, [1, 2, 3, 4])),
        change(order(CAROL, 0, OrderState::EMPTY), order(CAROL, 0, OrderState::buy(top, u64::MAX))),
        change(balance(JUNK, DAVE, 77), balance(JUNK, DAVE, 77)),
        change(dave_order, dave_order),
    ]
}

/// Slots only read: the book's counter, an order, a balance.
fn reads_only() -> Vec<Change> {
    let bob = order(BOB, 3, OrderState::buy(120, 30));
    vec![change(market(9), market(9)), change(bob, bob), change(balance(QUOTE, EVE, 12), balance(QUOTE, EVE, 12))]
}

fn bind(changes: &[Change]) -> (SignedPublicInput, Vec<Felt>) {
    statement_of(&header(), &directory(), changes).expect("the changes are expressible")
}

/// A statement with its witness, as lists of (entry, witness) pairs that can be edited and
/// re-sorted.
#[derive(Clone)]
struct Edit {
    statement: SignedPublicInput,
    inputs: Vec<(SlotValue, [Felt; 2])>,
    outputs: Vec<SlotValue>,
}

impl Edit {
    fn of((statement, witness): (SignedPublicInput, Vec<Felt>)) -> Self {
        let inputs = statement.inputs.iter().zip(witness.chunks(2)).map(|(e, w)| (*e, [w[0], w[1]])).collect();
        Edit { outputs: statement.outputs.clone(), statement, inputs }
    }

    /// The statement with both lists sorted, and its witness in input order.
    fn sorted(&self) -> (SignedPublicInput, Vec<Felt>) {
        let mut inputs = self.inputs.clone();
        let mut outputs = self.outputs.clone();
        inputs.sort_by_key(|(e, _)| e.slot);
        outputs.sort_by_key(|e| e.slot);
        self.unsorted(inputs, outputs)
    }

    fn unsorted(&self, inputs: Vec<(SlotValue, [Felt; 2])>, outputs: Vec<SlotValue>) -> (SignedPublicInput, Vec<Felt>) {
        let mut s = self.statement.clone();
        s.inputs = inputs.iter().map(|(e, _)| *e).collect();
        s.outputs = outputs;
        (s, inputs.iter().flat_map(|(_, w)| *w).collect())
    }

    fn input_at(&self, contract: &str, key: Felt) -> usize {
        self.inputs.iter().position(|(e, _)| e.slot == Slot { contract: felt(contract), key }).expect("an input")
    }

    fn output_at(&self, contract: &str, key: Felt) -> usize {
        self.outputs.iter().position(|e| e.slot == Slot { contract: felt(contract), key }).expect("an output")
    }

    fn set_input(mut self, contract: &str, key: Felt, value: Felt) -> Self {
        let at = self.input_at(contract, key);
        self.inputs[at].0.value = value;
        self
    }

    fn set_output(mut self, contract: &str, key: Felt, value: Felt) -> Self {
        let at = self.output_at(contract, key);
        self.outputs[at].value = value;
        self
    }

    fn set_witness(mut self, contract: &str, key: Felt, witness: [Felt; 2]) -> Self {
        let at = self.input_at(contract, key);
        self.inputs[at].1 = witness;
        self
    }

    fn remove_input(mut self, contract: &str, key: Felt) -> Self {
        let at = self.input_at(contract, key);
        self.inputs.remove(at);
        self
    }

    fn add_input(mut self, contract: &str, key: Felt, value: Felt, witness: [Felt; 2]) -> Self {
        self.inputs.push((SlotValue { slot: Slot { contract: felt(contract), key }, value }, witness));
        self
    }

    fn add_output(mut self, contract: &str, key: Felt, value: Felt) -> Self {
        self.outputs.push(SlotValue { slot: Slot { contract: felt(contract), key }, value });
        self
    }
}

/// `remaining + num * 2^64 + den * 2^80 + side * 2^96`.
fn order_value(side: u128, num: u128, den: u128, remaining: u128) -> Felt {
    let two = |k: u32| Felt::TWO.pow(k);
    Felt::from(remaining) + Felt::from(num) * two(64) + Felt::from(den) * two(80) + Felt::from(side) * two(96)
}

fn balance_key(owner: &str) -> Felt {
    zkthread_sig::balance_slot_key(felt(owner))
}

fn thread_key_key(owner: &str) -> Felt {
    zkthread_sig::thread_key_slot_key(felt(owner))
}

fn order_key(owner: &str, id: u64) -> Felt {
    order_slot_key(felt(owner), id)
}

/// Honest statements: (name, statement, witness).
fn honest() -> Vec<(&'static str, SignedPublicInput, Vec<Felt>)> {
    let (s, w) = bind(&fill_and_place());
    let mut out = vec![("fill and place", s, w)];
    let (s, w) = bind(&reads_only());
    assert!(s.outputs.is_empty());
    out.push(("reads only", s, w));
    // A second book (QUOTE for JUNK) with a written order and an unchanged counter, and an
    // output that writes an input's own value.
    let junk_balance = balance_key(DAVE);
    let (s, w) = Edit::of(bind(&fill_and_place()))
        .add_input(BOOK2, base_token_key(), felt(QUOTE), [Felt::ZERO; 2])
        .add_input(BOOK2, quote_token_key(), felt(JUNK), [Felt::ZERO; 2])
        .add_input(BOOK2, fill_count_key(), Felt::from(0u8), [Felt::ZERO; 2])
        .add_input(BOOK2, order_key(EVE, 1), Felt::ZERO, [felt(EVE), Felt::ONE])
        .add_output(BOOK2, order_key(EVE, 1), order_value(2, 7, 1, 1000))
        .add_output(JUNK, junk_balance, Felt::from(77u8))
        .sorted();
    out.push(("two books", s, w));
    // The counter is any u64, its tuples rebased to a multiple of 2^30 below the input: past
    // p (where an M31 count would wrap), and across a multiple of 2^30 within one sub-block.
    let mut past_p = fill_and_place();
    past_p[0] = change(market((1 << 40) + 4), market((1 << 40) + 5));
    let (s, w) = bind(&past_p);
    out.push(("counter past p", s, w));
    let mut across = fill_and_place();
    across[0] = change(market((3 << 30) - 1), market((3 << 30) + (1 << 16) - 1));
    let (s, w) = bind(&across);
    out.push(("counter across 2^30", s, w));
    // A cancel (Alice's ask of 20 left at 50 moves to cancelled, side 3) beside a read of Bob's
    // order cancelled earlier.
    let (s, w) = cancelled_beside(order_value(2, 50, 1, 20), 3);
    out.push(("cancel", s, w));
    // A signed cancel of an order its owner cancelled on L2 (side 4 moves to side 3), beside a
    // read of another order cancelled on L2.
    let (s, w) = cancelled_beside(order_value(4, 50, 1, 0), 4);
    out.push(("cancel after an L2 cancel", s, w));
    out
}

/// `fill_and_place` plus Alice's order 9 (`before`, at 50) moved to cancelled (side 3), beside
/// a read of Bob's order 4 at side `read_side` (a cancelled one, 40/3).
fn cancelled_beside(before: Felt, read_side: u128) -> (SignedPublicInput, Vec<Felt>) {
    Edit::of(bind(&fill_and_place()))
        .add_input(BOOK, order_key(ALICE, 9), before, [felt(ALICE), Felt::from(9u8)])
        .add_output(BOOK, order_key(ALICE, 9), order_value(3, 50, 1, 0))
        .add_input(BOOK, order_key(BOB, 4), order_value(read_side, 40, 3, 0), [felt(BOB), Felt::from(4u8)])
        .sorted()
}

/// Statements the Rust binding refuses: (name, statement, witness), one per rule.
fn refusals() -> Vec<(&'static str, SignedPublicInput, Vec<Felt>)> {
    let good = Edit::of(bind(&fill_and_place()));
    let (gs, gw) = good.sorted();
    let zero = Felt::ZERO;
    let mut out = vec![];
    let mut push = |name, (s, w): (SignedPublicInput, Vec<Felt>)| out.push((name, s, w));

    // The framework's list rules.
    let mut wrapped = gs.clone();
    wrapped.transactions.count += MODULUS;
    push("tx count wraps", (wrapped, gw.clone()));
    let mut empty = gs.clone();
    empty.inputs.clear();
    empty.outputs.clear();
    push("no inputs", (empty, vec![]));
    let mut swapped = good.inputs.clone();
    swapped.sort_by_key(|(e, _)| e.slot);
    swapped.swap(1, 2);
    let mut outputs = good.outputs.clone();
    outputs.sort_by_key(|e| e.slot);
    push("unsorted inputs", good.unsorted(swapped.clone(), outputs.clone()));
    let mut sorted_inputs = swapped;
    sorted_inputs.swap(1, 2);
    let mut swapped_outputs = outputs;
    swapped_outputs.swap(0, 1);
    push("unsorted outputs", good.unsorted(sorted_inputs, swapped_outputs));
    push("witness one felt short", (gs.clone(), gw[..gw.len() - 1].to_vec()));
    let mut longer = gw.clone();
    longer.extend([felt(ALICE), zero]);
    push("witness one slot more", (gs.clone(), longer));
    push("unsorted and unbound", {
        let (mut s, w) = good.clone().set_witness(BOOK, order_key(ALICE, 7), [felt(ALICE), Felt::from(8u8)]).sorted();
        s.outputs.swap(0, 1);
        (s, w)
    });

    // Per slot: the witness names no variable with this key.
    let e = |edit: Edit| edit.sorted();
    push("order of another id", e(good.clone().set_witness(BOOK, order_key(ALICE, 7), [felt(ALICE), Felt::from(8u8)])));
    push("order of another owner", e(good.clone().set_witness(BOOK, order_key(ALICE, 7), [felt(BOB), Felt::from(7u8)])));
    push("balance with an id", e(good.clone().set_witness(BASE, balance_key(ALICE), [felt(ALICE), Felt::ONE])));
    push("key with an id", e(good.clone().set_witness(BOOK, thread_key_key(CAROL), [felt(CAROL), Felt::ONE])));
    push("counter with an owner", e(good.clone().set_witness(BOOK, fill_count_key(), [felt(ALICE), zero])));
    push("config with an id", e(good.clone().set_witness(BOOK, base_token_key(), [zero, Felt::ONE])));
    let wide = u64::from(MODULUS);
    push("order id p", e(good.clone().add_input(BOOK, order_key(ALICE, wide), zero, [felt(ALICE), Felt::from(wide)])));
    push("order id 2^32", e(good.clone().add_input(BOOK, order_key(ALICE, 1 << 32), zero, [felt(ALICE), Felt::from(1u64 << 32)])));

    // Per slot: a value its variable cannot hold (inputs, then outputs).
    let alice_order = |v| e(good.clone().set_input(BOOK, order_key(ALICE, 7), v));
    let over = u128::from(MAX_PRICE_PART) + 1;
    push("cancelled order with quantity", alice_order(order_value(3, 100, 1, 50)));
    push("cancelled order at price 0", alice_order(order_value(3, 0, 1, 0)));
    push("order L2-cancelled with qty", alice_order(order_value(4, 100, 1, 50)));
    push("order L2-cancelled at price 0", alice_order(order_value(4, 0, 1, 0)));
    push("order side 5", alice_order(order_value(5, 100, 1, 0)));
    push("order side 7", alice_order(order_value(7, 100, 1, 0)));
    push("order price 0", alice_order(order_value(2, 0, 1, 50)));
    push("order price den 0", alice_order(order_value(2, 100, 0, 50)));
    push("order price num above max", alice_order(order_value(2, over, 1, 50)));
    push("order price den above max", alice_order(order_value(2, 1, over, 50)));
    push("empty order with quantity", alice_order(order_value(0, 0, 0, 5)));
    push("empty order with price", alice_order(order_value(0, 5, 1, 0)));
    push("empty order with den", alice_order(order_value(0, 0, 1, 0)));
    push("order bit 99", alice_order(order_value(1, 100, 1, 50) + Felt::TWO.pow(99u32)));
    push("order value -1", alice_order(zero - Felt::ONE));
    push("counter 2^64", e(good.clone().set_input(BOOK, fill_count_key(), Felt::TWO.pow(64u32))));
    push("counter -1", e(good.clone().set_input(BOOK, fill_count_key(), zero - Felt::ONE)));
    let nonce_top = pack_key_slot(&key([1, 2, 3, 4]), MODULUS - 1).expect("a key slot");
    push("key nonce p - 1", e(good.clone().set_input(BOOK, thread_key_key(CAROL), nonce_top)));
    push("key word 2^31 - 1", e(good.clone().set_input(BOOK, thread_key_key(CAROL), Felt::from(MODULUS))));
    // A written key slot moves forward (carol's steps 4 -> 5): two messages at 2^31 - 3 and
    // 2^31 - 2 would wrap it to 0; one that stays or steps back is the same wrap.
    let carol_slot = |nonce| pack_key_slot(&key([1, 2, 3, 4]), nonce).expect("a key slot");
    let carol_step = |before: u32, after: u32| {
        e(good.clone().set_input(BOOK, thread_key_key(CAROL), carol_slot(before)).set_output(BOOK, thread_key_key(CAROL), carol_slot(after)))
    };
    push("key nonce wraps to 0", carol_step(MODULUS - 2, 0));
    push("key nonce steps back", carol_step(9, 8));
    push("config zero", e(good.clone().set_input(BOOK, base_token_key(), zero)));
    push("config 2^251", e(good.clone().set_input(BOOK, quote_token_key(), Felt::TWO.pow(251u32))));
    push("balance 2^128", e(good.clone().set_input(BASE, balance_key(BOB), Felt::TWO.pow(128u32))));
    push("output cancelled with quantity", e(good.clone().set_output(BOOK, order_key(BOB, 3), order_value(3, 241, 2, 5))));
    push("output L2-cancelled with qty", e(good.clone().set_output(BOOK, order_key(BOB, 3), order_value(4, 241, 2, 5))));
    push("output counter 2^64", e(good.clone().set_output(BOOK, fill_count_key(), Felt::TWO.pow(64u32))));
    push("output config zero", e(good.clone().add_output(BOOK, base_token_key(), zero)));
    push("output not read", e(good.clone().add_output(BASE, balance_key(EVE), Felt::ONE)));

    // The book's whole-list rules.
    push("config written", e(good.clone().add_output(BOOK, quote_token_key(), felt(JUNK))));
    push("incomplete config", e(good.clone().remove_input(BOOK, quote_token_key())));
    push("incomplete config base", e(good.clone().remove_input(BOOK, base_token_key())));
    push("no config: not a book", e(good.clone().remove_input(BOOK, base_token_key()).remove_input(BOOK, quote_token_key())));
    push("balance in book", e(good.clone().add_input(BOOK, balance_key(EVE), Felt::from(3u8), [felt(EVE), zero])));
    push("order in a token", e(good.clone().add_input(BASE, order_key(EVE, 9), zero, [felt(EVE), Felt::from(9u8)])));
    push("key in a token", e(good.clone().add_input(QUOTE, thread_key_key(EVE), zero, [felt(EVE), zero])));
    push("counter in a token", e(good.clone().add_input(JUNK, fill_count_key(), Felt::ONE, [zero, zero])));
    push("base is quote", e(good.clone().set_input(BOOK, quote_token_key(), felt(BASE))));
    push("base is the book", e(good.clone().set_input(BOOK, base_token_key(), felt(BOOK))));
    push("quote is the book", e(good.clone().set_input(BOOK, quote_token_key(), felt(BOOK))));
    // The counter moves by 0..=2^16 fills (the honest fill moves it 4 -> 5).
    push("counter backwards", e(good.clone().set_input(BOOK, fill_count_key(), Felt::from(6u8))));
    push("counter jump", e(good.clone().set_output(BOOK, fill_count_key(), Felt::from(4 + (1u64 << 16) + 1))));
    push("counter back from the old cap", e(good.clone().set_input(BOOK, fill_count_key(), Felt::from(MODULUS - 1))));
    out
}

/// The Cairo reason of a Rust refusal.
fn reason(e: &OrderBookStatementError) -> &'static str {
    match e {
        ListBindError::Statement(s) => match s {
            SignedStatementError::NotSorted { .. } => "statement: unsorted list",
            SignedStatementError::OutputNotRead { .. } => "statement: output not read",
            SignedStatementError::NoInputs => "statement: no inputs",
            SignedStatementError::OwnerCount { .. } => "statement: owner count",
            SignedStatementError::UnboundSlot { .. } => "statement: unbound slot",
            SignedStatementError::BadValue { .. } => "statement: bad value",
            SignedStatementError::TxCount(_) => "statement: tx count",
            SignedStatementError::NonceNotAdvanced { .. } => "statement: nonce not advanced",
            SignedStatementError::DomainClash { .. } => "statement: domain clash",
            SignedStatementError::AccountClash { .. } => "statement: account id clash",
        },
        ListBindError::Layout(r) => match r {
            BookRefusal::NotABook { .. } => "book: not a book",
            BookRefusal::IncompleteConfig { .. } => "book: incomplete config",
            BookRefusal::ConfigWritten { .. } => "book: config written",
            BookRefusal::BalanceInBook { .. } => "book: balance in book",
            BookRefusal::DegenerateMarket { .. } => "book: degenerate market",
            BookRefusal::CounterJump { .. } => "book: counter jump",
        },
    }
}

fn q(v: SecureField) -> String {
    let [a, b, c, d] = v.to_m31_array();
    format!("q({}, {}, {}, {})", a.0, b.0, c.0, d.0)
}

fn felts(values: &[Felt]) -> String {
    let v: Vec<String> = values.iter().map(|f| format!("{f:#x}")).collect();
    format!("array![{}].span()", v.join(", "))
}

fn hash4(h: &Hash4) -> String {
    let v: Vec<String> = h.iter().map(|x| x.to_u32().to_string()).collect();
    format!("({})", v.join(", "))
}

fn book_slot(s: &BookSlot) -> String {
    match s {
        BookSlot::Token(SlotState::Balance(v)) => format!("BookSlot::Token(SlotState::Balance({v}))"),
        BookSlot::Token(SlotState::Key { key, nonce }) => {
            format!("BookSlot::Token(SlotState::Key(KeySlot {{ key: {}, nonce: {nonce} }}))", hash4(&key.0))
        }
        BookSlot::Order { id, state } => format!(
            "BookSlot::Order(({id}, OrderState {{ side: {}, num: {}, den: {}, remaining: {} }}))",
            state.side, state.price.num, state.price.den, state.remaining
        ),
        BookSlot::FillCount { fills, market } => match market {
            Some(m) => format!(
                "BookSlot::FillCount(({fills}, Option::Some(MarketTokens {{ base: {}, quote: {} }})))",
                hash4(&m.base),
                hash4(&m.quote)
            ),
            None => format!("BookSlot::FillCount(({fills}, Option::None))"),
        },
        BookSlot::Config(a) => format!("BookSlot::Config({a:#x})"),
    }
}

fn words(values: &[stwo::core::fields::m31::BaseField]) -> String {
    let w: Vec<String> = values.iter().map(|x| x.0.to_string()).collect();
    format!("array![{}].span()", w.join(", "))
}

/// A Cairo function `name() -> LookupElements` returning `elements`, documented by `doc`.
fn lookup_elements_fn<const N: usize>(out: &mut String, doc: &str, name: &str, elements: &LookupElements<N>) {
    let powers: Vec<String> = elements.alpha_powers.iter().map(|p| q(*p)).collect();
    let _ = writeln!(
        out,
        "/// {doc}\npub fn {name}() -> LookupElements {{\n    LookupElements {{\n        z: {},\n        alpha: {},\n        alpha_powers: array![\n            {},\n        ]\n            .span(),\n    }}\n}}\n",
        q(elements.z),
        q(elements.alpha),
        powers.join(",\n            ")
    );
}

fn render_slots(out: &mut String, slots: &[BoundSlot]) {
    out.push_str("            slots: array![\n");
    for s in slots {
        let _ = writeln!(
            out,
            "                BoundSlot {{\n                    domain: {},\n                    account: {},\n                    before: {},\n                    after: {},\n                }},",
            hash4(&s.domain),
            hash4(&s.account.low),
            book_slot(&s.before),
            book_slot(&s.after)
        );
    }
    out.push_str("            ],\n            state_values: array![\n");
    for s in slots {
        let v = |st: &BookSlot| words(&OrderLayout.state_values(&s.domain, &s.account, st));
        let _ = writeln!(out, "                ({}, {}),", v(&s.before), v(&s.after));
    }
    out.push_str("            ],\n");
}

const PRELUDE: &str = "// @generated by `cargo run -p zkthread-air-codegen` (harness/air-codegen/src/
// orderbook_statement_vectors.rs): expected values computed by zkthread_orderbook::statement.
// Do not edit.
use stark_verifier::fields::{QM31, QM31Trait};
use thread_verifier::lookup::LookupElements;
use signed_verifier::statement::{KeySlot, SlotState};
use crate::statement::{BookSlot, BoundSlot, MarketTokens, OrderState};

fn q(a: u32, b: u32, c: u32, d: u32) -> QM31 {
    QM31Trait::from_u32_unchecked(a, b, c, d)
}

/// A statement the Rust binding accepts, with what it computes.
#[derive(Drop)]
pub struct Honest {
    pub name: felt252,
    pub public_input: Span<felt252>,
    pub witness: Span<felt252>,
    pub slots: Array<BoundSlot>,
    /// `state_values` of each slot before, then after (M31 values).
    pub state_values: Array<(Span<u32>, Span<u32>)>,
    /// `boundary_sum(slots, state_relation)`.
    pub boundary_sum: QM31,
    /// The whole boundary: plus `tx_list_boundary_sum(transactions, link_relation)`.
    pub boundary: QM31,
}

/// A statement the Rust binding refuses, and the reason.
#[derive(Drop)]
pub struct Refusal {
    pub name: felt252,
    pub public_input: Span<felt252>,
    pub witness: Span<felt252>,
    pub reason: felt252,
}

";

/// The generated Cairo vector file.
pub fn render_orderbook_statement_vectors() -> String {
    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(RELATION_SEED);
    let mut twin = channel.clone();
    let state_elements = LookupElements::<STATE_RELATION_SIZE>::draw(&mut twin);
    let state = StateRelation::draw(&mut channel);
    let link_elements = LookupElements::<LINK_RELATION_SIZE>::draw(&mut twin);
    let link = LinkRelation::draw(&mut channel);

    let mut out = String::from(PRELUDE);
    let keys = [
        ("ORDER_KEY_ALICE_7", "`orders[(0xa11ce, 7)]`", order_key(ALICE, 7)),
        ("FILL_COUNT_KEY", "`fill_count`", fill_count_key()),
        ("BASE_TOKEN_KEY", "`base_token`", base_token_key()),
        ("QUOTE_TOKEN_KEY", "`quote_token`", quote_token_key()),
    ];
    for (name, doc, k) in keys {
        let _ = writeln!(out, "/// Storage key of {doc} (the Rust layout's).\npub const {name}: felt252 = {k:#x};");
    }
    out.push('\n');
    lookup_elements_fn(&mut out, &format!("`StateRelation` elements drawn from a channel seeded {RELATION_SEED:#x}."), "state_relation", &state_elements);
    lookup_elements_fn(&mut out, "`LinkRelation` elements drawn right after `state_relation`.", "link_relation", &link_elements);

    out.push_str("pub fn honest() -> Array<Honest> {\n    array![\n");
    for (name, s, w) in honest() {
        let slots = bound_slots(&s, &w).expect(name);
        assert!(slots.iter().any(|x| x.before != x.after) || s.outputs.is_empty(), "{name}");
        let sum = boundary_sum(&OrderLayout, &slots, &state);
        let whole = sum + tx_list_boundary_sum(&s.transactions, &link);
        let _ = writeln!(
            out,
            "        Honest {{\n            name: '{name}',\n            public_input: {},\n            witness: {},",
            felts(&s.to_felts()),
            felts(&w)
        );
        render_slots(&mut out, &slots);
        let _ = writeln!(out, "            boundary_sum: {},\n            boundary: {},\n        }},", q(sum), q(whole));
    }
    out.push_str("    ]\n}\n\npub fn refusals() -> Array<Refusal> {\n    array![\n");
    for (name, s, w) in refusals() {
        let e = bound_slots(&s, &w).expect_err(name);
        let _ = writeln!(
            out,
            "        Refusal {{\n            name: '{name}',\n            public_input: {},\n            witness: {},\n            reason: '{}',\n        }},",
            felts(&s.to_felts()),
            felts(&w),
            reason(&e)
        );
    }
    out.push_str("    ]\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal is refused for the reason its name says (a vector refused for another
    /// reason than intended would test less than it claims).
    #[test]
    fn each_refusal_has_its_intended_reason() {
        let expected = [
            ("tx count wraps", "statement: tx count"),
            ("no inputs", "statement: no inputs"),
            ("unsorted inputs", "statement: unsorted list"),
            ("unsorted outputs", "statement: unsorted list"),
            ("witness one felt short", "statement: owner count"),
            ("witness one slot more", "statement: owner count"),
            ("unsorted and unbound", "statement: unsorted list"),
            ("output not read", "statement: output not read"),
            ("config written", "book: config written"),
            ("incomplete config", "book: incomplete config"),
            ("incomplete config base", "book: incomplete config"),
            ("no config: not a book", "book: not a book"),
            ("balance in book", "book: balance in book"),
            ("order in a token", "book: not a book"),
            ("key in a token", "book: not a book"),
            ("counter in a token", "book: not a book"),
            ("base is quote", "book: degenerate market"),
            ("base is the book", "book: degenerate market"),
            ("quote is the book", "book: degenerate market"),
            ("output config zero", "statement: bad value"),
            ("counter backwards", "book: counter jump"),
            ("counter jump", "book: counter jump"),
            ("counter back from the old cap", "book: counter jump"),
        ];
        let all = refusals();
        for (name, want) in expected {
            let (_, s, w) = all.iter().find(|(n, _, _)| *n == name).expect(name);
            assert_eq!(reason(&bound_slots(s, w).unwrap_err()), want, "{name}");
        }
        for (name, s, w) in &all {
            let got = reason(&bound_slots(s, w).unwrap_err());
            let unbound = ["another", "with an", "order id"].iter().any(|p| name.contains(p));
            if unbound {
                assert_eq!(got, "statement: unbound slot", "{name}");
            }
            let bad = ["side", "price", "empty order", "bit 98", "value -1", "p - 1", "2^", "word"];
            if !unbound && bad.iter().any(|p| name.contains(p)) {
                assert_eq!(got, "statement: bad value", "{name}");
            }
        }
    }
}
