//! The signed fixtures: key seeds, signed place and cancel rows, and an honest sub-block of
//! two places, a fill and a cancel with its changes.

use zkthread_orderbook::state::{Price, SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::{Change, Entry, Fill, OrderBookWitness, OrderMessage, OrderState, SignedOrderRow};
use zkthread_sig::sign;
use zkthread_sig::verify_trace;
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::wots::Hash4;
use zkthread_sig::{Message, MessageError, M31, PAYLOAD_LEN};

use super::{account, domain, ALICE, BASE, BOB, BOOK, QUOTE};

pub fn seed(a: u64) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(a as u32 + 7 * i as u32 + 1)))
}

pub fn key(a: u64, index: u32) -> KeyCommitment {
    commitment(&seed(a), index).unwrap()
}

/// `owner`'s key slot in the book: key `index` at `nonce`.
pub fn key_slot(owner: u64, nonce: u32, index: u32) -> Entry {
    Entry::Key { domain: domain(BOOK), account: account(owner), nonce, key: key(owner, index) }
}

pub fn order(owner: u64, id: u32, state: OrderState) -> Entry {
    Entry::Order { book: domain(BOOK), account: account(owner), id, state }
}

/// `owner` (key `index`, nonce `index + 1`) places `(side, price, qty)` as order `id`.
pub fn place(owner: u64, index: u32, id: u32, side: u32, price: impl Into<Price>, qty: u64) -> OrderMessage {
    OrderMessage {
        book: domain(BOOK),
        owner: account(owner),
        id,
        place: Some((side, price.into(), qty)),
        nonce: index + 1,
        next_key: key(owner, index + 1),
    }
}

/// `owner` (key `index`, nonce `index + 1`) cancels order `id`.
pub fn cancel(owner: u64, index: u32, id: u32) -> OrderMessage {
    OrderMessage { place: None, ..place(owner, index, id, 0, 0, 0) }
}

/// `msg` signed by `signer`'s key `index`; `found` is the order a cancel drops.
pub fn signed(signer: u64, index: u32, msg: &OrderMessage, found: (u32, impl Into<Price>, u64)) -> SignedOrderRow {
    let found = (found.0, found.1.into(), found.2);
    let signature = sign(&seed(signer), index, msg).expect("sign");
    let key = key(signer, index);
    let trace = verify_trace(&key, msg, &signature).expect("a valid signature");
    SignedOrderRow { message: *msg, key, cancelled: found, signature, trace }
}

/// Alice sells 100 at 50 (id 5), Bob buys 30 at 105/2 (id 9), a fill of 30 for 1,530 quote (51
/// a unit, within both limits), Alice cancels the 70 left: the rows, in sub-block order, and
/// the statement's changes.
pub fn honest() -> (OrderBookWitness, Vec<Change>) {
    let mut w = OrderBookWitness::new();
    w.push_signed(&signed(ALICE, 0, &place(ALICE, 0, 5, SIDE_SELL, 50, 100), (0, 0, 0)));
    w.push_signed(&signed(BOB, 0, &place(BOB, 0, 9, SIDE_BUY, BOB_PRICE, 30), (0, 0, 0)));
    w.push_fill(&fill(100));
    w.push_signed(&signed(ALICE, 1, &cancel(ALICE, 1, 5), (SIDE_SELL, 50, 70)));
    let bal = |token, owner, value| Entry::Balance { token: domain(token), account: account(owner), value };
    let market = |fills| Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(QUOTE), fills };
    let changes = vec![
        Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 3, 2)),
        Change::new(key_slot(BOB, 1, 0), key_slot(BOB, 2, 1)),
        Change::new(order(ALICE, 5, OrderState::EMPTY), order(ALICE, 5, OrderState::cancelled(50))),
        Change::new(order(BOB, 9, OrderState::EMPTY), order(BOB, 9, OrderState::buy(BOB_PRICE, 0))),
        Change::new(market(0), market(1)),
        Change::new(bal(BASE, ALICE, 1_000), bal(BASE, ALICE, 970)),
        Change::new(bal(QUOTE, ALICE, 0), bal(QUOTE, ALICE, 30 * 51)),
        Change::new(bal(BASE, BOB, 0), bal(BASE, BOB, 30)),
        Change::new(bal(QUOTE, BOB, 10_000), bal(QUOTE, BOB, 10_000 - 30 * 51)),
    ];
    (w, changes)
}

/// Bob's limit in [`honest`]: 52.5 quote units per base unit.
pub const BOB_PRICE: Price = Price::new(105, 2);

/// Bob's 30 at 105/2 against Alice's ask at 50 (`sell_remaining` left), for 51 a unit.
pub fn fill(sell_remaining: u64) -> Fill {
    Fill {
        book: domain(BOOK),
        base: domain(BASE),
        quote: domain(QUOTE),
        fills: 0,
        seller: account(ALICE),
        sell_id: 5,
        sell_price: Price::whole(50),
        sell_remaining,
        buyer: account(BOB),
        buy_id: 9,
        buy_price: BOB_PRICE,
        buy_remaining: 30,
        quantity: 30,
        amount: 30 * 51,
        seller_base: 1_000,
        seller_quote: 0,
        buyer_base: 0,
        buyer_quote: 10_000,
    }
}

/// An order message encoded without the client's range checks: what a malicious or buggy
/// owner signs (test double: the real `OrderMessage::payload` refuses such fields).
pub struct UncheckedOrderTestDouble(pub OrderMessage);

impl Message for UncheckedOrderTestDouble {
    fn domain(&self) -> Hash4 {
        self.0.book
    }
    fn signer(&self) -> Hash4 {
        self.0.owner
    }
    fn nonce(&self) -> u32 {
        self.0.nonce
    }
    fn next_key(&self) -> KeyCommitment {
        self.0.next_key
    }
    fn set_next_key(&mut self, key: KeyCommitment) {
        self.0.next_key = key;
    }
    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError> {
        Ok(self.0.payload_unchecked())
    }
}
