//! The order book's `StateRelation` entries and the boundary they imply.
//!
//! Kinds (all within `STATE_RELATION_SIZE = 21` values):
//! - 0 `Balance(D_token, A, limbs[8], 0; 4)`: the token program's entry
//!   (`zkthread_token::transfer::balance`) with the owner's low 124-bit id and zeros where a
//!   token program carries the id's high words ([`book_balance`]);
//! - 1 `Key(D, A, nonce, K[4], 0; 4)`: the framework's replay state (signed place / cancel),
//!   its high id words zero ([`low_id`]);
//! - 2 `Order(D_book, A, id, side, num, den, remaining[4])` (17 values, the rest zero): slot
//!   `orders[(owner, id)]` of the book contract, its limit price the ratio `num / den`; the
//!   empty slot is `side = num = den = remaining = 0`;
//! - 3 `Market(D_book, D_base, D_quote, fills)` (14 values): the book's fill counter, whose
//!   domains tie the book to its two tokens (see the crate docs, "Why a fill moves the book's
//!   own tokens").
//!
//! The statement's binding (`crate::statement`) is where the tuples' invariants are enforced:
//! every slot value parses to a tuple the roles may assume of their inputs (a price's
//! numerator and denominator in `1..2^14`, sides in `{empty, buy, sell, cancelled}`, the empty slot all zero, a cancelled order at
//! `remaining = 0`, a counter that moves forward by at most one full sub-block), and
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
use zkthread_prover::role::{k, Lane, StateRelation};
use zkthread_sig::wots::{Hash4, KeyCommitment};

pub use zkthread_token::transfer::{balance, KIND_BALANCE};

/// The book's `Balance` tuple: the token program's, its owner named by the low 124-bit id `A`
/// and zeros in the high words (`zkthread_sig::domain::AccountId::high`).
///
/// Why the book needs no more: the token program names a balance by the whole 248-bit id
/// because a signed transfer credits a receiver whose slot is nowhere else in the statement,
/// so a prover could credit another owner with the receiver's low id (a ~2^62 search over two
/// addresses). A fill credits only the owners of the two orders it fills, whose order slots are
/// in the same statement under the same low id, and the statement refuses one low id naming
/// two owners (`zkthread_prover::statement::DistinctIds`). A debit needs the owner's order (a
/// signed place) the same way. Zeros cost no columns and leave the book's verifier unchanged.
pub fn book_balance<T: Lane>(token: &[T], account: &[T], limbs: &[T]) -> Vec<T> {
    balance(token, &low_id(account), limbs)
}

/// `A ++ [0; 4]`: an owner as every book tuple names it, by its low 124-bit id (the whole-id
/// argument is [`book_balance`]'s; a key tuple's high words are zero too).
pub fn low_id<T: Lane>(account: &[T]) -> Vec<T> {
    account.iter().cloned().chain((0..4).map(|_| k(0))).collect()
}

/// The `StateRelation` kind of an `orders[(owner, id)]` slot.
pub const KIND_ORDER: u32 = 2;
/// The `StateRelation` kind of the book's fill counter (its market: book and token domains).
pub const KIND_MARKET: u32 = 3;

/// The `Market` tuple does not carry the stored counter `n` (a u64) but `n - base`, where
/// `base` is the sub-block's starting count rounded down to a multiple of this: below
/// `2^30 + 2^16 < p` for any sub-block (one fill row per fill, at most 2^16 rows), so a fill
/// chain never wraps in M31 and the stored counter has no cap a thread could exhaust.
pub const MARKET_COUNT_MODULUS: u64 = 1 << 30;

/// The most a statement's counter may move in one sub-block: one fill per row of the fill
/// component, at most 2^16 (`zkthread_prover::range::SIGNED_MAX_LOG_ROWS`).
pub const MAX_FILLS_PER_SUB_BLOCK: u64 = 1 << zkthread_prover::range::SIGNED_MAX_LOG_ROWS;

/// What a sub-block starting at stored count `fills` subtracts from every count it puts in a
/// `Market` tuple ([`MARKET_COUNT_MODULUS`]).
pub fn market_count_base(fills: u64) -> u64 {
    fills - fills % MARKET_COUNT_MODULUS
}

/// `side` of an empty order slot.
pub const SIDE_EMPTY: u32 = 0;
/// `side` of a bid: the owner pays quote for base.
pub const SIDE_BUY: u32 = 1;
/// `side` of an ask: the owner sells base for quote.
pub const SIDE_SELL: u32 = 2;
/// `side` of a cancelled order (either side: it never trades again), with `remaining = 0`
/// and the price it had. A cancel must change its slot: were a cancelled order to keep its
/// side, a cancel row naming any order already at 0 would consume and produce one tuple, and a
/// batcher could settle an owner's signed cancel (her nonce moves) while her order stays live.
pub const SIDE_CANCELLED: u32 = 3;
/// `side` of an order its owner cancelled on L2 (the book's `cancel`), with `remaining = 0` and
/// its price: closed like [`SIDE_CANCELLED`], but a signed cancel of it may still settle, once,
/// and moves it to [`SIDE_CANCELLED`]. Without it, an owner who cancels on L2 while her signed
/// cancel waits in a batcher's queue would see that message refused and her one-time key index
/// spent (AIR version 5).
pub const SIDE_CANCELLED_ON_L2: u32 = 4;

/// Bits of a price's numerator and of its denominator. Both are below `2^PRICE_BITS`, so a
/// 16-bit limb times either, plus a carry, stays well inside `p` (crate docs, "The fill row").
pub const PRICE_BITS: u32 = 14;
/// The largest numerator or denominator of a price.
pub const MAX_PRICE_PART: u32 = (1 << PRICE_BITS) - 1;

/// A limit price: `num / den` quote units per base unit, both in `1..=MAX_PRICE_PART` for a
/// live order (`0 / 0` only in the empty slot). Two prices compare as ratios ([`Price::cmp_ratio`]),
/// so `1/2` and `2/4` are the same limit; the derived `Eq` is the representation's (what a
/// slot stores and an owner signed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Price {
    pub num: u32,
    pub den: u32,
}

impl Price {
    /// The empty slot's price.
    pub const ZERO: Price = Price { num: 0, den: 0 };

    pub const fn new(num: u32, den: u32) -> Price {
        Price { num, den }
    }

    /// A whole number of quote units per base unit.
    pub const fn whole(num: u32) -> Price {
        Price { num, den: 1 }
    }

    /// Both parts in `1..=MAX_PRICE_PART`: a price an order may carry.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_PRICE_PART).contains(&self.num) && (1..=MAX_PRICE_PART).contains(&self.den)
    }

    /// The ratios compared (`num * other.den` against `other.num * den`: exact, no rounding).
    pub fn cmp_ratio(&self, other: &Price) -> std::cmp::Ordering {
        (u64::from(self.num) * u64::from(other.den)).cmp(&(u64::from(other.num) * u64::from(self.den)))
    }

    /// The quote for `quantity` base units at this price, rounded down (`None` for `den = 0`).
    pub fn quote_floor(&self, quantity: u64) -> Option<u128> {
        (self.den != 0).then(|| u128::from(quantity) * u128::from(self.num) / u128::from(self.den))
    }

    /// The quote for `quantity` base units at this price, rounded up (`None` for `den = 0`).
    pub fn quote_ceil(&self, quantity: u64) -> Option<u128> {
        let den = u128::from(self.den);
        (den != 0).then(|| (u128::from(quantity) * u128::from(self.num)).div_ceil(den))
    }
}

impl From<u32> for Price {
    fn from(num: u32) -> Price {
        Price::whole(num)
    }
}

impl std::fmt::Display for Price {
    /// `num` for a whole price, `num/den` otherwise (padded to the formatter's width).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            f.pad(&self.num.to_string())
        } else {
            f.pad(&format!("{}/{}", self.num, self.den))
        }
    }
}

/// Why a price did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("a price is `num` or `num/den` with whole numbers, not {0:?}")]
    Syntax(String),
    #[error("a price's numerator and denominator must be in 1..={MAX_PRICE_PART}, not {0}")]
    OutOfRange(Price),
}

impl std::str::FromStr for Price {
    type Err = PriceError;

    /// `"52"` or `"105/2"`; both parts in `1..=MAX_PRICE_PART`.
    fn from_str(s: &str) -> Result<Price, PriceError> {
        let price = parse_parts(s).ok_or_else(|| PriceError::Syntax(s.to_string()))?;
        if price.is_valid() {
            Ok(price)
        } else {
            Err(PriceError::OutOfRange(price))
        }
    }
}

/// `num` or `num/den` as whole numbers, without the range check.
fn parse_parts(s: &str) -> Option<Price> {
    let part = |t: &str| t.trim().parse::<u32>().ok();
    match s.split_once('/') {
        Some((n, d)) => Some(Price::new(part(n)?, part(d)?)),
        None => Some(Price::whole(part(s)?)),
    }
}

impl serde::Serialize for Price {
    /// A whole price as a number (the earlier, integer-tick form), any other as `"num/den"`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.den == 1 {
            s.serialize_u32(self.num)
        } else {
            s.serialize_str(&format!("{}/{}", self.num, self.den))
        }
    }
}

impl<'de> serde::Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Form {
            Whole(u32),
            Ratio(String),
        }
        match Form::deserialize(d)? {
            Form::Whole(num) => Ok(Price::whole(num)),
            // Parsed without the range check: a stored message is judged by the batcher.
            Form::Ratio(text) => parse_parts(&text)
                .ok_or_else(|| serde::de::Error::custom(format!("price {text:?} is not `num` or `num/den`"))),
        }
    }
}

/// 16-bit limbs of an order's quantity (quantities are u64).
pub const QTY_LIMBS: usize = 4;

/// `Order(2, D_book, A, id, side, num, den, remaining)`: `price = [num, den]`.
pub fn order<T: Lane>(book: &[T], account: &[T], id: T, side: T, price: [T; 2], remaining: &[T]) -> Vec<T> {
    let [num, den] = price;
    with_tag(KIND_ORDER, &[book, account, &[id, side, num, den], remaining])
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
    pub price: Price,
    pub remaining: u64,
}

impl OrderState {
    /// The empty slot (the id was never used).
    pub const EMPTY: OrderState = OrderState { side: SIDE_EMPTY, price: Price::ZERO, remaining: 0 };

    pub fn sell(price: impl Into<Price>, remaining: u64) -> Self {
        OrderState { side: SIDE_SELL, price: price.into(), remaining }
    }

    pub fn buy(price: impl Into<Price>, remaining: u64) -> Self {
        OrderState { side: SIDE_BUY, price: price.into(), remaining }
    }

    /// A cancelled order (of either side) that had limit `price`.
    pub fn cancelled(price: impl Into<Price>) -> Self {
        OrderState { side: SIDE_CANCELLED, price: price.into(), remaining: 0 }
    }

    /// An order (of either side) at limit `price` its owner cancelled on L2.
    pub fn cancelled_on_l2(price: impl Into<Price>) -> Self {
        OrderState { side: SIDE_CANCELLED_ON_L2, price: price.into(), remaining: 0 }
    }

    /// A buy or sell order with something left at a price the AIR accepts: one that can trade.
    pub fn is_live(&self) -> bool {
        (self.side == SIDE_BUY || self.side == SIDE_SELL) && self.remaining > 0 && self.price.is_valid()
    }

    /// Filled or cancelled: it never trades again, as an id is placed once and nothing fills
    /// or revives a closed order. Its slot may still change: a filled order can be cancelled
    /// (signed, or on L2), which turns its side. An empty slot is not closed: its id may still
    /// be placed.
    pub fn is_closed(&self) -> bool {
        self.side != SIDE_EMPTY && self.remaining == 0
    }

    /// Cancelled (signed or on L2): what a reader sees of it can no longer change, bar an L2
    /// cancel the book later records as signed (still cancelled, same price, nothing left), so
    /// it may keep what it read. A filled order is closed but not final: it can be cancelled.
    pub fn is_final(&self) -> bool {
        self.side == SIDE_CANCELLED || self.side == SIDE_CANCELLED_ON_L2
    }
}

/// One slot's state tuple (the statement's view of a slot, before or after).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Balance { token: Hash4, account: Hash4, value: u128 },
    Key { domain: Hash4, account: Hash4, nonce: u32, key: KeyCommitment },
    Order { book: Hash4, account: Hash4, id: u32, state: OrderState },
    /// `fills`: the stored u64 counter in a batcher's slot changes, the rebased count
    /// ([`MARKET_COUNT_MODULUS`]) in a row's or a statement's tuple, which is what
    /// [`Entry::values`] encodes.
    Market { book: Hash4, base: Hash4, quote: Hash4, fills: u64 },
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
            Entry::Balance { token, account, value } => book_balance(&m(token), &m(account), &f(&limbs(*value))),
            Entry::Key { domain, account, nonce, key } => {
                link::key(&m(domain), &low_id(&m(account)), BaseField::from(*nonce), &m(&key.0))
            }
            Entry::Order { book, account, id, state } => order(
                &m(book),
                &m(account),
                BaseField::from(*id),
                BaseField::from(state.side),
                [BaseField::from(state.price.num), BaseField::from(state.price.den)],
                &f(&qty_limbs(state.remaining)),
            ),
            Entry::Market { book, base, quote, fills } => {
                let count = (*fills % u64::from(zkthread_sig::field::MODULUS)) as u32;
                market(&m(book), &m(base), &m(quote), BaseField::from(count))
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

#[cfg(test)]
mod order_state_tests {
    use super::*;

    /// A filled order is closed (it never trades again) but not final (it may still be
    /// cancelled); a cancelled one is both; a live or empty one neither.
    #[test]
    fn closed_and_final_orders() {
        let filled = OrderState::buy(Price::whole(7), 0);
        let cases = [
            (OrderState::sell(Price::whole(7), 3), false, false),
            (OrderState::EMPTY, false, false),
            (filled, true, false),
            (OrderState::cancelled(Price::whole(7)), true, true),
            (OrderState::cancelled_on_l2(Price::whole(7)), true, true),
        ];
        for (order, closed, last) in cases {
            assert_eq!((order.is_closed(), order.is_final()), (closed, last), "{order:?}");
        }
    }
}
