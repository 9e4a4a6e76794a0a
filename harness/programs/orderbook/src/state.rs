//! The order book's `StateRelation` entries and the boundary they imply.
//!
//! Kinds (all within `STATE_RELATION_SIZE = 17` values):
//! - 0 `Balance(D_token, A, limbs[8])`: the token program's entry, reused unchanged
//!   (`zkthread_token::transfer::balance`), so a fill reads and writes exactly the tuples a
//!   transfer does for the same `balances[owner]` slot;
//! - 1 `Key(D, A, nonce, K[4])`: the framework's replay state (signed place / cancel);
//! - 2 `Order(D_book, A, id, side, price, remaining[4])` (16 values): slot `orders[(owner, id)]`
//!   of the book contract; the empty slot is `side = price = remaining = 0`;
//! - 3 `Market(D_book, D_base, D_quote, fills)` (14 values): the book's fill counter, whose
//!   domains tie the book to its two tokens (see the crate docs, "Why a fill moves the book's
//!   own tokens").
//!
//! The statement's binding (`crate::statement`) is where the tuples' invariants are enforced:
//! every slot value parses to a tuple the roles may assume of their inputs (prices below
//! 2^15, sides in `{empty, buy, sell}`, the empty slot all zero, a counter below `p - 1`), and
//! a `Market` tuple's token domains come from the book's configuration slots. [`Entry`] and
//! [`Change`] are the AIR's view of a slot, what a batcher computes;
//! `crate::statement::statement_of` turns them into the statement.

use num_traits::Zero;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo_constraint_framework::Relation;
use zkthread_prover::air::{limbs, LIMB_BITS};
use zkthread_prover::auth::link::{self, with_tag};
use zkthread_prover::role::{Lane, StateRelation};
use zkthread_sig::wots::{Hash4, KeyCommitment};

pub use zkthread_token::transfer::{balance, KIND_BALANCE};

/// The `StateRelation` kind of an `orders[(owner, id)]` slot.
pub const KIND_ORDER: u32 = 2;
/// The `StateRelation` kind of the book's fill counter (its market: book and token domains).
pub const KIND_MARKET: u32 = 3;

/// `side` of an empty order slot.
pub const SIDE_EMPTY: u32 = 0;
/// `side` of a bid: the owner pays quote for base.
pub const SIDE_BUY: u32 = 1;
/// `side` of an ask: the owner sells base for quote.
pub const SIDE_SELL: u32 = 2;

/// Bits of a price (integer ticks: quote units per base unit). Every price is below
/// `2^PRICE_BITS`, so a price times a 16-bit limb plus a carry stays below `p` (crate docs).
pub const PRICE_BITS: u32 = 15;
/// The largest price.
pub const MAX_PRICE: u32 = (1 << PRICE_BITS) - 1;
/// 16-bit limbs of an order's quantity (quantities are u64).
pub const QTY_LIMBS: usize = 4;

/// `Order(2, D_book, A, id, side, price, remaining)`.
pub fn order<T: Lane>(book: &[T], account: &[T], id: T, side: T, price: T, remaining: &[T]) -> Vec<T> {
    with_tag(KIND_ORDER, &[book, account, &[id, side, price], remaining])
}

/// `Market(3, D_book, D_base, D_quote, fills)`.
pub fn market<T: Lane>(book: &[T], base: &[T], quote: &[T], fills: T) -> Vec<T> {
    with_tag(KIND_MARKET, &[book, base, quote, &[fills]])
}

/// The four 16-bit limbs of a quantity, least significant first.
pub fn qty_limbs(value: u64) -> [u32; QTY_LIMBS] {
    std::array::from_fn(|k| ((value >> (LIMB_BITS as usize * k)) & 0xffff) as u32)
}

/// An order slot's value as the AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OrderState {
    pub side: u32,
    pub price: u32,
    pub remaining: u64,
}

impl OrderState {
    /// The empty slot (the id was never used).
    pub const EMPTY: OrderState = OrderState { side: SIDE_EMPTY, price: 0, remaining: 0 };

    pub fn sell(price: u32, remaining: u64) -> Self {
        OrderState { side: SIDE_SELL, price, remaining }
    }

    pub fn buy(price: u32, remaining: u64) -> Self {
        OrderState { side: SIDE_BUY, price, remaining }
    }
}

/// One slot's state tuple (the statement's view of a slot, before or after).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Balance { token: Hash4, account: Hash4, value: u128 },
    Key { domain: Hash4, account: Hash4, nonce: u32, key: KeyCommitment },
    Order { book: Hash4, account: Hash4, id: u32, state: OrderState },
    Market { book: Hash4, base: Hash4, quote: Hash4, fills: u32 },
}

fn m(h: &Hash4) -> Vec<BaseField> {
    h.iter().map(|v| BaseField::from(v.to_u32())).collect()
}

fn f(values: &[u32]) -> Vec<BaseField> {
    values.iter().map(|v| BaseField::from(*v)).collect()
}

impl Entry {
    /// The `StateRelation` values of this tuple.
    pub fn values(&self) -> Vec<BaseField> {
        match self {
            Entry::Balance { token, account, value } => balance(&m(token), &m(account), &f(&limbs(*value))),
            Entry::Key { domain, account, nonce, key } => {
                link::key(&m(domain), &m(account), BaseField::from(*nonce), &m(&key.0))
            }
            Entry::Order { book, account, id, state } => order(
                &m(book),
                &m(account),
                BaseField::from(*id),
                BaseField::from(state.side),
                BaseField::from(state.price),
                &f(&qty_limbs(state.remaining)),
            ),
            Entry::Market { book, base, quote, fills } => {
                market(&m(book), &m(base), &m(quote), BaseField::from(*fills))
            }
        }
    }
}

/// A slot of the statement: its tuple before and after the sub-block (equal if only read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub before: Entry,
    pub after: Entry,
}

impl Change {
    pub fn new(before: Entry, after: Entry) -> Self {
        Change { before, after }
    }
}

/// `sum over slots of 1/d(after) - 1/d(before)`: the `StateRelation` sum the rows must have.
pub fn boundary_sum(changes: &[Change], state: &StateRelation) -> SecureField {
    let term = |e: &Entry| -> SecureField {
        let d: SecureField = state.combine(&e.values());
        d.inverse()
    };
    changes.iter().fold(SecureField::zero(), |acc, c| {
        if c.before == c.after {
            acc
        } else {
            acc + term(&c.after) - term(&c.before)
        }
    })
}
