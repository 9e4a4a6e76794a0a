//! The fill role: one match of a sell order against a buy order per row (unsigned: the
//! batcher's matching, authorized by the two orders' own limits). The column layout, the
//! constraints and why they are sound are in the crate docs ("The fill row").

use zkthread_prover::air::{LIMB_BITS, N_LIMBS};
use zkthread_prover::auth::roles::HI_SHIFT;
use zkthread_prover::range::split16;
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};

use crate::state::{balance, market, order, QTY_LIMBS, SIDE_BUY, SIDE_SELL};

/// One fill per row.
#[derive(Clone)]
pub struct FillRole;

/// Limbs of the quote amount `x * q` (`x < 2^15`, `q < 2^64`: below `2^79`).
pub const AMOUNT_LIMBS: usize = QTY_LIMBS + 1;

const fn span(start: usize, len: usize) -> std::ops::Range<usize> {
    start..start + len
}

pub mod fill_cols {
    use super::{span, AMOUNT_LIMBS};
    use crate::state::QTY_LIMBS;
    use std::ops::Range;
    use zkthread_prover::air::N_LIMBS;

    pub const ENABLED: usize = 0;
    /// `D_book`, `D_base`, `D_quote` (the market) and its fill counter before this fill.
    pub const BOOK: Range<usize> = span(1, 4);
    pub const BASE: Range<usize> = span(BOOK.end, 4);
    pub const QUOTE: Range<usize> = span(BASE.end, 4);
    pub const FILLS: usize = QUOTE.end;
    /// The sell order: owner id, order id, limit price.
    pub const SELLER: Range<usize> = span(FILLS + 1, 4);
    pub const SELL_ID: usize = SELLER.end;
    pub const SELL_PRICE: usize = SELL_ID + 1;
    /// The buy order: owner id, order id, limit price.
    pub const BUYER: Range<usize> = span(SELL_PRICE + 1, 4);
    pub const BUY_ID: usize = BUYER.end;
    pub const BUY_PRICE: usize = BUY_ID + 1;
    /// Execution price `x` and quantity `q` (16-bit limbs).
    pub const PRICE: usize = BUY_PRICE + 1;
    pub const QTY: Range<usize> = span(PRICE + 1, QTY_LIMBS);
    /// The inverse of `sum(q limbs)`: `q != 0`.
    pub const QTY_INV: usize = QTY.end;
    /// The quote amount `x * q` and the product's carries.
    pub const AMOUNT: Range<usize> = span(QTY_INV + 1, AMOUNT_LIMBS);
    pub const MUL_CARRY: Range<usize> = span(AMOUNT.end, QTY_LIMBS);
    /// Remaining quantities before / after and the subtraction's borrows.
    pub const SELL_REM_OLD: Range<usize> = span(MUL_CARRY.end, QTY_LIMBS);
    pub const SELL_REM_NEW: Range<usize> = span(SELL_REM_OLD.end, QTY_LIMBS);
    pub const SELL_REM_BORROW: Range<usize> = span(SELL_REM_NEW.end, QTY_LIMBS - 1);
    pub const BUY_REM_OLD: Range<usize> = span(SELL_REM_BORROW.end, QTY_LIMBS);
    pub const BUY_REM_NEW: Range<usize> = span(BUY_REM_OLD.end, QTY_LIMBS);
    pub const BUY_REM_BORROW: Range<usize> = span(BUY_REM_NEW.end, QTY_LIMBS - 1);
    /// Balances (u128, 16-bit limbs) before / after and borrows or carries: the seller pays
    /// base, the buyer receives it; the buyer pays quote, the seller receives it.
    pub const SELLER_BASE_OLD: Range<usize> = span(BUY_REM_BORROW.end, N_LIMBS);
    pub const SELLER_BASE_NEW: Range<usize> = span(SELLER_BASE_OLD.end, N_LIMBS);
    pub const SELLER_BASE_BORROW: Range<usize> = span(SELLER_BASE_NEW.end, N_LIMBS - 1);
    pub const BUYER_BASE_OLD: Range<usize> = span(SELLER_BASE_BORROW.end, N_LIMBS);
    pub const BUYER_BASE_NEW: Range<usize> = span(BUYER_BASE_OLD.end, N_LIMBS);
    pub const BUYER_BASE_CARRY: Range<usize> = span(BUYER_BASE_NEW.end, N_LIMBS - 1);
    pub const BUYER_QUOTE_OLD: Range<usize> = span(BUYER_BASE_CARRY.end, N_LIMBS);
    pub const BUYER_QUOTE_NEW: Range<usize> = span(BUYER_QUOTE_OLD.end, N_LIMBS);
    pub const BUYER_QUOTE_BORROW: Range<usize> = span(BUYER_QUOTE_NEW.end, N_LIMBS - 1);
    pub const SELLER_QUOTE_OLD: Range<usize> = span(BUYER_QUOTE_BORROW.end, N_LIMBS);
    pub const SELLER_QUOTE_NEW: Range<usize> = span(SELLER_QUOTE_OLD.end, N_LIMBS);
    pub const SELLER_QUOTE_CARRY: Range<usize> = span(SELLER_QUOTE_NEW.end, N_LIMBS - 1);
    /// The low byte of every 16-bit check, in [`super::checked16`] order.
    pub const LIMB_LO: Range<usize> = span(SELLER_QUOTE_CARRY.end, super::N_CHECKED16);
    pub const N: usize = LIMB_LO.end;
}

/// 16-bit checks per row: `q` (4), `x * q` (5), the product's carries and the carries plus
/// [`HI_SHIFT`] (4 + 4), both new remainings (8), the four new balances (32), `x - p_sell` and
/// `p_buy - x` (2).
pub const N_CHECKED16: usize = QTY_LIMBS + AMOUNT_LIMBS + 2 * QTY_LIMBS + 2 * QTY_LIMBS + 4 * N_LIMBS + 2;

/// Every value the row range-checks to `0..2^16`, in the order of the `LIMB_LO` columns (the
/// witness reads the low bytes off this same list).
pub fn checked16<T: Lane>(c: &[T]) -> Vec<T> {
    use fill_cols::*;
    let mut v: Vec<T> = QTY.chain(AMOUNT).chain(MUL_CARRY).map(|i| c[i].clone()).collect();
    // carry + (2^16 - (2^15 - 1)) < 2^16: every carry is <= 2^15 - 2.
    v.extend(MUL_CARRY.map(|i| c[i].clone() + k(HI_SHIFT)));
    let written = SELL_REM_NEW
        .chain(BUY_REM_NEW)
        .chain(SELLER_BASE_NEW)
        .chain(BUYER_BASE_NEW)
        .chain(BUYER_QUOTE_NEW)
        .chain(SELLER_QUOTE_NEW);
    v.extend(written.map(|i| c[i].clone()));
    // p_sell <= x <= p_buy.
    v.push(c[PRICE].clone() - c[SELL_PRICE].clone());
    v.push(c[BUY_PRICE].clone() - c[PRICE].clone());
    v
}

/// `old - amount = new` limb by limb with boolean borrows and no borrow out of the top limb
/// (`amount` may have fewer limbs: the rest are zero).
fn sub_limbs<T: Lane>(old: &[T], amount: &[T], new: &[T], borrow: &[T]) -> Vec<T> {
    let base: T = k(1 << LIMB_BITS);
    (0..old.len())
        .map(|l| {
            let mut e = old[l].clone() - new[l].clone();
            if let Some(a) = amount.get(l) {
                e = e - a.clone();
            }
            if l > 0 {
                e = e - borrow[l - 1].clone();
            }
            if l + 1 < old.len() {
                e = e + borrow[l].clone() * base.clone();
            }
            e
        })
        .collect()
}

/// `old + amount = new` limb by limb with boolean carries and no carry out of the top limb.
fn add_limbs<T: Lane>(old: &[T], amount: &[T], new: &[T], carry: &[T]) -> Vec<T> {
    let base: T = k(1 << LIMB_BITS);
    (0..old.len())
        .map(|l| {
            let mut e = old[l].clone() - new[l].clone();
            if let Some(a) = amount.get(l) {
                e = e + a.clone();
            }
            if l > 0 {
                e = e + carry[l - 1].clone();
            }
            if l + 1 < old.len() {
                e = e - carry[l].clone() * base.clone();
            }
            e
        })
        .collect()
}

/// `x * q = amount`: `x q_l + c_{l-1} = a_l + 2^16 c_l` for `l < 4`, and `a_4 = c_3`.
fn product<T: Lane>(c: &[T]) -> Vec<T> {
    use fill_cols::*;
    let base: T = k(1 << LIMB_BITS);
    let x = c[PRICE].clone();
    let (q, a, carry) = (slice(c, QTY), slice(c, AMOUNT), slice(c, MUL_CARRY));
    let mut out: Vec<T> = (0..QTY_LIMBS)
        .map(|l| {
            let mut e = x.clone() * q[l].clone() - a[l].clone() - carry[l].clone() * base.clone();
            if l > 0 {
                e = e + carry[l - 1].clone();
            }
            e
        })
        .collect();
    out.push(a[QTY_LIMBS].clone() - carry[QTY_LIMBS - 1].clone());
    out
}

impl Role for FillRole {
    const NAME: &'static str = "orderbook_fill";
    const N_COLUMNS: usize = fill_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use fill_cols::*;
        let e = c[ENABLED].clone();
        let bits = SELL_REM_BORROW
            .chain(BUY_REM_BORROW)
            .chain(SELLER_BASE_BORROW)
            .chain(BUYER_BASE_CARRY)
            .chain(BUYER_QUOTE_BORROW)
            .chain(SELLER_QUOTE_CARRY);
        let mut out = vec![boolean(&e)];
        out.extend(bits.map(|i| boolean(&c[i])));
        // q != 0 on an enabled row: its limbs' sum (< 2^18, no wrap) has an inverse.
        let sum = QTY.map(|i| c[i].clone()).fold(T::zero(), |a, b| a + b);
        out.push(e * (sum * c[QTY_INV].clone() - k(1)));
        out.extend(product(c));
        let (q, amount) = (slice(c, QTY), slice(c, AMOUNT));
        let s = |r| slice(c, r);
        out.extend(sub_limbs(&s(SELL_REM_OLD), &q, &s(SELL_REM_NEW), &s(SELL_REM_BORROW)));
        out.extend(sub_limbs(&s(BUY_REM_OLD), &q, &s(BUY_REM_NEW), &s(BUY_REM_BORROW)));
        out.extend(sub_limbs(&s(SELLER_BASE_OLD), &q, &s(SELLER_BASE_NEW), &s(SELLER_BASE_BORROW)));
        out.extend(add_limbs(&s(BUYER_BASE_OLD), &q, &s(BUYER_BASE_NEW), &s(BUYER_BASE_CARRY)));
        out.extend(sub_limbs(&s(BUYER_QUOTE_OLD), &amount, &s(BUYER_QUOTE_NEW), &s(BUYER_QUOTE_BORROW)));
        out.extend(add_limbs(&s(SELLER_QUOTE_OLD), &amount, &s(SELLER_QUOTE_NEW), &s(SELLER_QUOTE_CARRY)));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use fill_cols::*;
        let e = c[ENABLED].clone();
        let s = |r| slice(c, r);
        let (book, base, quote) = (s(BOOK), s(BASE), s(QUOTE));
        let (seller, buyer) = (s(SELLER), s(BUYER));
        let fills = c[FILLS].clone();
        let sell = |rem: &[T]| {
            order(&book, &seller, c[SELL_ID].clone(), k(SIDE_SELL), c[SELL_PRICE].clone(), rem)
        };
        let buy = |rem: &[T]| order(&book, &buyer, c[BUY_ID].clone(), k(SIDE_BUY), c[BUY_PRICE].clone(), rem);
        // (consumed, produced) pairs: the market counter, both orders, the four balances.
        let moves = [
            (market(&book, &base, &quote, fills.clone()), market(&book, &base, &quote, fills + k(1))),
            (sell(&s(SELL_REM_OLD)), sell(&s(SELL_REM_NEW))),
            (buy(&s(BUY_REM_OLD)), buy(&s(BUY_REM_NEW))),
            (balance(&base, &seller, &s(SELLER_BASE_OLD)), balance(&base, &seller, &s(SELLER_BASE_NEW))),
            (balance(&base, &buyer, &s(BUYER_BASE_OLD)), balance(&base, &buyer, &s(BUYER_BASE_NEW))),
            (balance(&quote, &buyer, &s(BUYER_QUOTE_OLD)), balance(&quote, &buyer, &s(BUYER_QUOTE_NEW))),
            (balance(&quote, &seller, &s(SELLER_QUOTE_OLD)), balance(&quote, &seller, &s(SELLER_QUOTE_NEW))),
        ];
        let mut f = Vec::new();
        for (consumed, produced) in moves {
            f.push(Frac::new(Rel::State, neg(&e), consumed));
            f.push(Frac::new(Rel::State, e.clone(), produced));
        }
        // 16-bit checks on enabled rows (padding rows look nothing up: their shifted carries
        // would not be in range).
        for (j, v) in checked16(c).into_iter().enumerate() {
            f.extend(split16(e.clone(), v, c[LIMB_LO.start + j].clone()));
        }
        f
    }

    fn batching() -> Vec<usize> {
        // 14 state + 2 * N_CHECKED16 range fractions, linear denominators: pairs (degree 3).
        (0..14 + 2 * N_CHECKED16).map(|i| i / 2).collect()
    }
}
