//! Rows of an order-book proof. Raw: a [`Fill`] is turned into a row whatever it says; the
//! arithmetic is done over the integers where the fill is honest and reduced mod `p` where it
//! is not (a negative top limb becomes `p - k`, a carry that does not divide becomes its
//! field quotient), so that a dishonest fill gives a row whose equations hold mod `p` and
//! only the range checks refuse it — the strongest form of the attack for the tests. (A
//! balance that cannot pay or receive is the exception since AIR version 6: its borrow or
//! carry out of the top limb is refused by the leg's `b_6 z_7 = 0`, `fill::upper_limbs`.)

use stwo::core::fields::m31::BaseField;
use zkthread_prover::air::{limbs, LIMB_BITS};
use zkthread_prover::auth::witness::{u32s, AuthWitness};
use zkthread_prover::range::{low_byte, RangeLookups};
use zkthread_prover::role::Role;
use zkthread_sig::wots::Hash4;

use crate::fill::{fill_cols, range_checked, BalanceLeg, FillRole, AMOUNT_LIMBS, BALANCE_LEGS, GAP_LIMBS};
use crate::signed::{CancelRole, PlaceRole, SignedOrderRow};
use crate::state::{qty_limbs, Entry, OrderState, Price, SIDE_BUY, SIDE_SELL};

const P: i64 = (1 << 31) - 1;

fn reduce(v: i64) -> u32 {
    v.rem_euclid(P) as u32
}

/// One match: the sell order `(seller, sell_id)` and the buy order `(buyer, buy_id)` of book
/// `book` (market `base`/`quote`, counter `fills` as its `Market` tuple carries it: rebased,
/// `crate::state::MARKET_COUNT_MODULUS`) trade `quantity` base units for `amount`
/// quote units (an honest batcher's `amount` is at the maker's price, rounded in the maker's
/// favour, within both limits). The `*_remaining` and balances are the values before the fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub book: Hash4,
    pub base: Hash4,
    pub quote: Hash4,
    pub fills: u32,
    pub seller: Hash4,
    pub sell_id: u32,
    pub sell_price: Price,
    pub sell_remaining: u64,
    pub buyer: Hash4,
    pub buy_id: u32,
    pub buy_price: Price,
    pub buy_remaining: u64,
    pub quantity: u64,
    pub amount: u128,
    pub seller_base: u128,
    pub seller_quote: u128,
    pub buyer_base: u128,
    pub buyer_quote: u128,
}

/// The state tuples a fill consumes, and those it produces (honest fills: integer arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillEffect {
    pub market: Entry,
    pub sell: Entry,
    pub buy: Entry,
    pub seller_base: Entry,
    pub buyer_base: Entry,
    pub buyer_quote: Entry,
    pub seller_quote: Entry,
}

impl FillEffect {
    pub fn entries(&self) -> [Entry; 7] {
        [self.market, self.sell, self.buy, self.seller_base, self.buyer_base, self.buyer_quote, self.seller_quote]
    }
}

impl Fill {
    /// The tuples this fill reads.
    pub fn before(&self) -> FillEffect {
        self.effect(self.fills, self.sell_remaining, self.buy_remaining, [
            self.seller_base,
            self.buyer_base,
            self.buyer_quote,
            self.seller_quote,
        ])
    }

    /// The tuples an honest fill writes (wrapping arithmetic: meaningful for honest fills).
    pub fn after(&self) -> FillEffect {
        self.after_paying(self.amount)
    }

    /// The tuples written if the buyer pays (and the seller receives) `a` quote units.
    pub fn after_paying(&self, a: u128) -> FillEffect {
        let q = u128::from(self.quantity);
        self.effect(
            self.fills + 1,
            self.sell_remaining.wrapping_sub(self.quantity),
            self.buy_remaining.wrapping_sub(self.quantity),
            [
                self.seller_base.wrapping_sub(q),
                self.buyer_base.wrapping_add(q),
                self.buyer_quote.wrapping_sub(a),
                self.seller_quote.wrapping_add(a),
            ],
        )
    }

    fn effect(&self, fills: u32, sell_rem: u64, buy_rem: u64, b: [u128; 4]) -> FillEffect {
        let bal = |token, account, value| Entry::Balance { token, account, value };
        FillEffect {
            market: Entry::Market { book: self.book, base: self.base, quote: self.quote, fills: u64::from(fills) },
            sell: Entry::Order {
                book: self.book,
                account: self.seller,
                id: self.sell_id,
                state: OrderState { side: SIDE_SELL, price: self.sell_price, remaining: sell_rem },
            },
            buy: Entry::Order {
                book: self.book,
                account: self.buyer,
                id: self.buy_id,
                state: OrderState { side: SIDE_BUY, price: self.buy_price, remaining: buy_rem },
            },
            seller_base: bal(self.base, self.seller, b[0]),
            buyer_base: bal(self.base, self.buyer, b[1]),
            buyer_quote: bal(self.quote, self.buyer, b[2]),
            seller_quote: bal(self.quote, self.seller, b[3]),
        }
    }

    /// The fill row (see [`fill_cols`]), whatever the fill says: a limit it breaks shows as a
    /// negative gap (its top carry `p - k`), which only the range checks refuse.
    pub fn row(&self) -> Vec<u32> {
        use fill_cols::*;
        let mut r = vec![0u32; N];
        r[ENABLED] = 1;
        put(&mut r, BOOK, u32s(&self.book));
        put(&mut r, BASE, u32s(&self.base));
        put(&mut r, QUOTE, u32s(&self.quote));
        r[FILLS] = self.fills;
        put(&mut r, SELLER, u32s(&self.seller));
        r[SELL_ID] = self.sell_id;
        put(&mut r, SELL_PRICE, [self.sell_price.num, self.sell_price.den]);
        put(&mut r, BUYER, u32s(&self.buyer));
        r[BUY_ID] = self.buy_id;
        put(&mut r, BUY_PRICE, [self.buy_price.num, self.buy_price.den]);
        let q = qty_limbs(self.quantity);
        put(&mut r, QTY, q);
        let sum: u32 = q.iter().sum();
        r[QTY_INV] = if sum == 0 { 0 } else { BaseField::from(sum).inverse().0 };
        let all = limbs(self.amount);
        let amount: [u32; AMOUNT_LIMBS] = std::array::from_fn(|l| all[l]);
        put(&mut r, AMOUNT, amount);
        let (sell, buy) = (self.sell_price, self.buy_price);
        gap(&mut r, (&amount, sell.den), (&q, sell.num), SELL_GAP, SELL_GAP_CARRY);
        gap(&mut r, (&q, buy.num), (&amount, buy.den), BUY_GAP, BUY_GAP_CARRY);
        sub(&mut r, &qty_limbs(self.sell_remaining), &q, SELL_REM_OLD, SELL_REM_BORROW);
        sub(&mut r, &qty_limbs(self.buy_remaining), &q, BUY_REM_OLD, BUY_REM_BORROW);
        let balances = [self.seller_base, self.buyer_base, self.buyer_quote, self.seller_quote];
        for (leg, old) in BALANCE_LEGS.iter().zip(balances) {
            let old = limbs(old);
            let moved = r[leg.amount.clone()].to_vec();
            if leg.pays {
                sub(&mut r, &old, &moved, leg.old.clone(), leg.borrow.clone());
            } else {
                add(&mut r, &old, &moved, leg.old.clone(), leg.borrow.clone());
            }
            pass_through_inverses(&mut r, &old, leg);
        }
        set_low_bytes(&mut r);
        r
    }
}

fn put(r: &mut [u32], cols: std::ops::Range<usize>, values: impl IntoIterator<Item = u32>) {
    for (i, v) in cols.zip(values) {
        r[i] = v;
    }
}

/// Recomputes a row's `LIMB_LO` columns from its other columns (after a test edits a row).
pub fn set_low_bytes(r: &mut [u32]) {
    let cols: Vec<BaseField> = r.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
    let lo: Vec<u32> = range_checked(&cols).iter().map(|v| low_byte(v.value.0)).collect();
    put(r, fill_cols::LIMB_LO, lo);
}

/// A gap chain `plus * ps - minus * pm` ([`crate::fill`]) into columns `g` and `c`: each limb
/// the remainder mod `2^16`, each carry the floor quotient (negative carries as `p - k`); a
/// negative gap leaves a negative top carry.
fn gap(r: &mut [u32], plus: (&[u32], u32), minus: (&[u32], u32), g: Range, c: Range) {
    let mut carry = 0i64;
    for l in 0..GAP_LIMBS {
        let limb = |v: &[u32]| i64::from(*v.get(l).unwrap_or(&0));
        let t = limb(plus.0) * i64::from(plus.1) - limb(minus.0) * i64::from(minus.1) + carry;
        r[g.start + l] = t.rem_euclid(1 << LIMB_BITS) as u32;
        carry = t.div_euclid(1 << LIMB_BITS);
        r[c.start + l] = reduce(carry);
    }
}

/// `old` into columns `o` and the borrows of `old - amount` into `b`: a limb borrows when it
/// goes below zero, the top limb never. What is left, negative for an over-fill, shows in the
/// written top limb `crate::fill::written` computes (`p - k`, which the range check refuses)
/// or, for a balance, as a borrow into its top limb where that limb is 0 (which the leg's
/// `b_6 z_7 = 0` refuses).
fn sub(r: &mut [u32], old: &[u32], amount: &[u32], o: Range, b: Range) {
    let mut borrow = 0i64;
    for l in 0..old.len() {
        r[o.start + l] = old[l];
        if l + 1 < old.len() {
            let d = i64::from(old[l]) - i64::from(*amount.get(l).unwrap_or(&0)) - borrow;
            borrow = i64::from(d < 0);
            r[b.start + l] = borrow as u32;
        }
    }
}

/// `old` into columns `o` and the carries of `old + amount` into `c` (none out of the top
/// limb: an overflow shows as a carry into a top limb of `2^16 - 1`, which the leg's
/// `b_6 z_7 = 0` refuses).
fn add(r: &mut [u32], old: &[u32], amount: &[u32], o: Range, c: Range) {
    let mut carry = 0i64;
    for l in 0..old.len() {
        r[o.start + l] = old[l];
        if l + 1 < old.len() {
            let s = i64::from(old[l]) + i64::from(*amount.get(l).unwrap_or(&0)) + carry;
            carry = i64::from(s >= 1 << LIMB_BITS);
            r[c.start + l] = carry as u32;
        }
    }
}

/// A balance leg's inverses above its amount's limbs ([`crate::fill::upper_limbs`]): of
/// `old_l` (paying) or `old_l - (2^16 - 1)` (receiving), 0 where that is 0.
fn pass_through_inverses(r: &mut [u32], old: &[u32], leg: &BalanceLeg) {
    for l in leg.amount_limbs()..old.len() {
        let x = leg.pass_through_x(BaseField::from(old[l]));
        r[leg.inv.start + l - leg.amount_limbs()] = if x.0 == 0 { 0 } else { x.inverse().0 };
    }
}

type Range = std::ops::Range<usize>;

/// Rows of every component of an order-book proof: the program's roles (fills; signed
/// place/cancel rows when they exist) and the framework's authorization rows.
#[derive(Clone, Debug, Default)]
pub struct OrderBookWitness {
    pub fills: Vec<Vec<u32>>,
    pub places: Vec<Vec<u32>>,
    pub cancels: Vec<Vec<u32>>,
    /// Signatures' verification rows, the transaction list, every permutation.
    pub auth: AuthWitness,
}

impl OrderBookWitness {
    pub fn new() -> Self {
        OrderBookWitness::default()
    }

    pub fn push_fill(&mut self, fill: &Fill) {
        self.fills.push(fill.row());
    }

    /// Signed rows so far (the next one's position in the sub-block).
    pub fn signed_rows(&self) -> usize {
        self.places.len() + self.cancels.len()
    }

    /// A signed place or cancel at the next sub-block position, its signature's verification
    /// rows, and its digest as the next transaction-list entry.
    pub fn push_signed(&mut self, row: &SignedOrderRow) {
        let tx = self.signed_rows() as u32;
        let r = row.row(tx);
        if row.message.place.is_some() {
            self.places.push(r);
        } else {
            self.cancels.push(r);
        }
        self.auth.push_signature(tx, &row.signature, &row.trace);
        self.auth.push_tx_list(&row.trace.digest);
    }

    /// Every role row's constraints on plain values (no LogUp): the first that fails.
    pub fn first_violation(&self) -> Option<(&'static str, usize, usize)> {
        use zkthread_prover::role::first_violation;
        let named = |name, v: Option<(usize, usize)>| v.map(|(r, c)| (name, r, c));
        named(FillRole::NAME, first_violation::<FillRole>(&self.fills))
            .or_else(|| named(PlaceRole::NAME, first_violation::<PlaceRole>(&self.places)))
            .or_else(|| named(CancelRole::NAME, first_violation::<CancelRole>(&self.cancels)))
            .or_else(|| self.auth.first_violation())
    }

    /// The 8-bit look-ups of the rows (padding rows look nothing up; cancels look up nothing).
    pub fn range_lookups(&self) -> RangeLookups {
        let mut lookups = RangeLookups::default();
        lookups.add::<FillRole>(&self.fills, 1);
        lookups.add::<PlaceRole>(&self.places, 1);
        self.auth.add_range_lookups(&mut lookups);
        lookups
    }
}
