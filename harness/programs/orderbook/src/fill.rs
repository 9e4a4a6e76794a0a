//! The fill role: one match of a sell order against a buy order per row (unsigned: the
//! batcher's matching, authorized by the two orders' own limits). The column layout, the
//! constraints and why they are sound are in the crate docs ("The fill row").

use stwo::core::fields::m31::BaseField;
use zkthread_prover::air::LIMB_BITS;
use zkthread_prover::range::{split16, split_below};
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};

use crate::state::{book_balance, market, order, QTY_LIMBS, SIDE_BUY, SIDE_SELL};

/// One fill per row.
#[derive(Clone)]
pub struct FillRole;

/// Limbs of the quote amount `a` (a fill's `a <= q * num / den < 2^64 * 2^14`: five limbs).
pub const AMOUNT_LIMBS: usize = QTY_LIMBS + 1;
/// Limbs of a limit's gap (`a * ds - q * ns` or `q * nb - a * db`) below its top carry.
pub const GAP_LIMBS: usize = AMOUNT_LIMBS;

/// A gap chain's middle carries lie in `-2^14..2^14`: checked as `c + CARRY_OFFSET` in
/// `0..2^15` ([`MIDDLE_CARRY_BITS`]).
pub const CARRY_OFFSET: u32 = 1 << 14;
/// Bound of a middle carry's shifted value: `c + 2^14 < 2^15`.
pub const MIDDLE_CARRY_BITS: u32 = 15;
/// Bound of a gap's top carry: `0 <= c_4 < 2^14` (the gap is not negative).
pub const TOP_CARRY_BITS: u32 = 14;

const fn span(start: usize, len: usize) -> std::ops::Range<usize> {
    start..start + len
}

pub mod fill_cols {
    use super::{span, AMOUNT_LIMBS, GAP_LIMBS};
    use crate::state::QTY_LIMBS;
    use std::ops::Range;
    use zkthread_prover::air::N_LIMBS;

    pub const ENABLED: usize = 0;
    /// `D_book`, `D_base`, `D_quote` (the market) and its fill counter before this fill.
    pub const BOOK: Range<usize> = span(1, 4);
    pub const BASE: Range<usize> = span(BOOK.end, 4);
    pub const QUOTE: Range<usize> = span(BASE.end, 4);
    pub const FILLS: usize = QUOTE.end;
    /// The sell order: owner id, order id, limit price `[num, den]`.
    pub const SELLER: Range<usize> = span(FILLS + 1, 4);
    pub const SELL_ID: usize = SELLER.end;
    pub const SELL_PRICE: Range<usize> = span(SELL_ID + 1, 2);
    /// The buy order: owner id, order id, limit price `[num, den]`.
    pub const BUYER: Range<usize> = span(SELL_PRICE.end, 4);
    pub const BUY_ID: usize = BUYER.end;
    pub const BUY_PRICE: Range<usize> = span(BUY_ID + 1, 2);
    /// The quantity `q` (16-bit limbs) and the inverse of `sum(q limbs)`: `q != 0`.
    pub const QTY: Range<usize> = span(BUY_PRICE.end, QTY_LIMBS);
    pub const QTY_INV: usize = QTY.end;
    /// The quote amount `a` the buyer pays and the seller receives.
    pub const AMOUNT: Range<usize> = span(QTY_INV + 1, AMOUNT_LIMBS);
    /// The seller's limit: `a * ds - q * ns` in limbs, and the chain's carries (the last is
    /// the gap's top part).
    pub const SELL_GAP: Range<usize> = span(AMOUNT.end, GAP_LIMBS);
    pub const SELL_GAP_CARRY: Range<usize> = span(SELL_GAP.end, GAP_LIMBS);
    /// The buyer's limit: `q * nb - a * db` in limbs, and the chain's carries.
    pub const BUY_GAP: Range<usize> = span(SELL_GAP_CARRY.end, GAP_LIMBS);
    pub const BUY_GAP_CARRY: Range<usize> = span(BUY_GAP.end, GAP_LIMBS);
    /// Remaining quantities before the fill and the subtraction's borrows (the quantities
    /// after are expressions of these: [`super::written`]).
    pub const SELL_REM_OLD: Range<usize> = span(BUY_GAP_CARRY.end, QTY_LIMBS);
    pub const SELL_REM_BORROW: Range<usize> = span(SELL_REM_OLD.end, QTY_LIMBS - 1);
    pub const BUY_REM_OLD: Range<usize> = span(SELL_REM_BORROW.end, QTY_LIMBS);
    pub const BUY_REM_BORROW: Range<usize> = span(BUY_REM_OLD.end, QTY_LIMBS - 1);
    /// Balances (u128, 16-bit limbs) before the fill and the borrows or carries: the seller
    /// pays base, the buyer receives it; the buyer pays quote, the seller receives it.
    pub const SELLER_BASE_OLD: Range<usize> = span(BUY_REM_BORROW.end, N_LIMBS);
    pub const SELLER_BASE_BORROW: Range<usize> = span(SELLER_BASE_OLD.end, N_LIMBS - 1);
    pub const BUYER_BASE_OLD: Range<usize> = span(SELLER_BASE_BORROW.end, N_LIMBS);
    pub const BUYER_BASE_CARRY: Range<usize> = span(BUYER_BASE_OLD.end, N_LIMBS - 1);
    pub const BUYER_QUOTE_OLD: Range<usize> = span(BUYER_BASE_CARRY.end, N_LIMBS);
    pub const BUYER_QUOTE_BORROW: Range<usize> = span(BUYER_QUOTE_OLD.end, N_LIMBS - 1);
    pub const SELLER_QUOTE_OLD: Range<usize> = span(BUYER_QUOTE_BORROW.end, N_LIMBS);
    pub const SELLER_QUOTE_CARRY: Range<usize> = span(SELLER_QUOTE_OLD.end, N_LIMBS - 1);
    /// Per balance limb above the moved amount's (base: limbs 4..8, quote: 5..8), the inverse
    /// of `old_l` (a subtraction) or of `old_l - (2^16 - 1)` (an addition), or 0 where that
    /// is 0: whether a borrow or carry passes through the limb ([`super::upper_limbs`]).
    pub const SELLER_BASE_INV: Range<usize> = span(SELLER_QUOTE_CARRY.end, N_LIMBS - QTY_LIMBS);
    pub const BUYER_BASE_INV: Range<usize> = span(SELLER_BASE_INV.end, N_LIMBS - QTY_LIMBS);
    pub const BUYER_QUOTE_INV: Range<usize> = span(BUYER_BASE_INV.end, N_LIMBS - AMOUNT_LIMBS);
    pub const SELLER_QUOTE_INV: Range<usize> = span(BUYER_QUOTE_INV.end, N_LIMBS - AMOUNT_LIMBS);
    /// The low byte of every range-checked value, in [`super::range_checked`] order.
    pub const LIMB_LO: Range<usize> = span(SELLER_QUOTE_INV.end, super::N_RANGE_CHECKED);
    pub const N: usize = LIMB_LO.end;
}

/// Range-checked values per row: `q` (4), `a` (5), both gaps' limbs (10), both gaps' middle
/// carries (8, 15 bits) and top carries (2, 14 bits), both new remainings (8), the four new
/// balances' limbs the moved amount reaches (4 + 4 + 5 + 5: the limbs above it are checked
/// by [`upper_limbs`]); all 16-bit but the carries.
pub const N_RANGE_CHECKED: usize =
    QTY_LIMBS + AMOUNT_LIMBS + 2 * GAP_LIMBS + 2 * GAP_LIMBS + 2 * QTY_LIMBS + 2 * QTY_LIMBS + 2 * AMOUNT_LIMBS;
/// The carries' checks (three 8-bit look-ups each, the rest two).
pub const N_NARROW_CHECKED: usize = 2 * GAP_LIMBS;

/// A value the row range-checks to `0..2^bits`.
#[derive(Clone, Debug)]
pub struct RangeChecked<T> {
    pub value: T,
    pub bits: u32,
}

/// One gap chain's carries: the middle ones in `-2^14..2^14`, the top one in `0..2^14` (the
/// gap is not negative).
fn gap_carry_checks<T: Lane>(c: &[T], carry: std::ops::Range<usize>, v: &mut Vec<RangeChecked<T>>) {
    let top = carry.end - 1;
    for middle in &c[carry.start..top] {
        v.push(RangeChecked { value: middle.clone() + k(CARRY_OFFSET), bits: MIDDLE_CARRY_BITS });
    }
    v.push(RangeChecked { value: c[top].clone(), bits: TOP_CARRY_BITS });
}

/// Every value the row range-checks, with its bound, in the order of the `LIMB_LO` columns
/// (the witness reads the low bytes off this same list).
pub fn range_checked<T: Lane>(c: &[T]) -> Vec<RangeChecked<T>> {
    use fill_cols::*;
    let sixteen = |value| RangeChecked { value, bits: LIMB_BITS };
    let mut v: Vec<RangeChecked<T>> =
        QTY.chain(AMOUNT).chain(SELL_GAP).chain(BUY_GAP).map(|i| sixteen(c[i].clone())).collect();
    gap_carry_checks(c, SELL_GAP_CARRY, &mut v);
    gap_carry_checks(c, BUY_GAP_CARRY, &mut v);
    v.extend(written(c).into_checked_limbs().map(sixteen));
    v
}

/// What a fill writes, as expressions of its columns (no column holds a written limb: each is
/// the old limb with the moved amount and the borrows or carries, and is range-checked).
pub struct Written<T> {
    pub sell_rem: Vec<T>,
    pub buy_rem: Vec<T>,
    pub seller_base: Vec<T>,
    pub buyer_base: Vec<T>,
    pub buyer_quote: Vec<T>,
    pub seller_quote: Vec<T>,
}

impl<T> Written<T> {
    /// The written limbs [`range_checked`] checks (its last 26), in its order: both
    /// remainings, and each balance's limbs the moved amount reaches.
    pub fn into_checked_limbs(self) -> impl Iterator<Item = T> {
        let balances = [self.seller_base, self.buyer_base, self.buyer_quote, self.seller_quote];
        let low = BALANCE_LEGS.iter().zip(balances).flat_map(|(leg, limbs)| limbs.into_iter().take(leg.amount_limbs()));
        self.sell_rem.into_iter().chain(self.buy_rem).chain(low)
    }
}

/// A balance's move: its columns and whether the amount leaves (borrows) or arrives
/// (carries).
#[derive(Clone, Debug)]
pub struct BalanceLeg {
    pub old: std::ops::Range<usize>,
    /// The moved amount's columns (`q`: 4 limbs, `a`: 5): the limbs above it only pass a
    /// borrow or carry on.
    pub amount: std::ops::Range<usize>,
    pub borrow: std::ops::Range<usize>,
    pub inv: std::ops::Range<usize>,
    pub pays: bool,
}

impl BalanceLeg {
    /// Limbs of the moved amount.
    pub fn amount_limbs(&self) -> usize {
        self.amount.len()
    }

    /// The leg's written limbs: `old - amount` with its borrows (paying) or `old + amount`
    /// with its carries (receiving).
    pub fn written<T: Lane>(&self, c: &[T]) -> Vec<T> {
        let (old, amount, borrow) = (slice(c, self.old.clone()), slice(c, self.amount.clone()), slice(c, self.borrow.clone()));
        if self.pays {
            sub_limbs(&old, &amount, &borrow)
        } else {
            add_limbs(&old, &amount, &borrow)
        }
    }

    /// What is zero exactly where a borrow (carry) passes an upper limb `old`: `old` itself
    /// (paying) or `old - (2^16 - 1)` (receiving). The constraints ([`upper_limbs`]) and the
    /// witness's inverses read it from here.
    pub fn pass_through_x<T: Lane>(&self, old: T) -> T {
        if self.pays {
            old
        } else {
            old - k(PASS_THROUGH_LIMB)
        }
    }
}

/// The four balance legs of a fill: the seller's base (pays `q`), the buyer's base (receives
/// `q`), the buyer's quote (pays `a`), the seller's quote (receives `a`).
pub const BALANCE_LEGS: [BalanceLeg; 4] = {
    use fill_cols::*;
    const fn leg(
        old: std::ops::Range<usize>,
        amount: std::ops::Range<usize>,
        borrow: std::ops::Range<usize>,
        inv: std::ops::Range<usize>,
        pays: bool,
    ) -> BalanceLeg {
        BalanceLeg { old, amount, borrow, inv, pays }
    }
    [
        leg(SELLER_BASE_OLD, QTY, SELLER_BASE_BORROW, SELLER_BASE_INV, true),
        leg(BUYER_BASE_OLD, QTY, BUYER_BASE_CARRY, BUYER_BASE_INV, false),
        leg(BUYER_QUOTE_OLD, AMOUNT, BUYER_QUOTE_BORROW, BUYER_QUOTE_INV, true),
        leg(SELLER_QUOTE_OLD, AMOUNT, SELLER_QUOTE_CARRY, SELLER_QUOTE_INV, false),
    ]
};

/// The value a borrow (carry) passes through: 0 (`2^16 - 1`), read as `old_l` (`old_l - (2^16
/// - 1)`) being zero.
pub const PASS_THROUGH_LIMB: u32 = (1 << LIMB_BITS) - 1;

/// The constraints on one balance leg's limbs above its amount, in place of their 16-bit
/// checks: with `x_l = old_l` (paying) or `old_l - (2^16 - 1)` (receiving) and `z_l = 1 - x_l
/// inv_l`, `x_l z_l = 0` makes `z_l` exactly "x_l is zero" (a nonzero `x_l` forces `inv_l =
/// 1 / x_l`, so `z_l = 0`; a zero one gives `z_l = 1` whatever `inv_l`); then
/// `b_l = b_{l-1} z_l` (a borrow passes a limb iff that limb is 0, a carry iff it is
/// `2^16 - 1`) and `b_top z_top = 0` (none leaves the top limb). With `b_{amount_limbs - 1}`
/// boolean and the old limbs below `2^16` (the `State` invariant), each written limb
/// `old_l - b_{l-1} + 2^16 b_l` (or `old_l + c_{l-1} - 2^16 c_l`) is the old one, one less or
/// more without crossing 0 or `2^16`, or wraps exactly at them: below `2^16`.
pub fn upper_limbs<T: Lane>(c: &[T], leg: &BalanceLeg) -> Vec<T> {
    let mut out = Vec::new();
    let top = leg.old.len() - 1;
    for l in leg.amount_limbs()..=top {
        let x = leg.pass_through_x(c[leg.old.start + l].clone());
        let z = k::<T>(1) - x.clone() * c[leg.inv.start + l - leg.amount_limbs()].clone();
        out.push(x * z.clone());
        let below = c[leg.borrow.start + l - 1].clone();
        if l < top {
            out.push(c[leg.borrow.start + l].clone() - below * z);
        } else {
            out.push(below * z);
        }
    }
    out
}

/// The limbs a fill row writes: both remainings less `q`, the seller's base less `q`, the
/// buyer's plus `q`, the buyer's quote less `a`, the seller's plus `a`.
pub fn written<T: Lane>(c: &[T]) -> Written<T> {
    use fill_cols::*;
    let s = |r| slice(c, r);
    let q = s(QTY);
    let [seller_base, buyer_base, buyer_quote, seller_quote] = BALANCE_LEGS.each_ref().map(|leg| leg.written(c));
    Written {
        sell_rem: sub_limbs(&s(SELL_REM_OLD), &q, &s(SELL_REM_BORROW)),
        buy_rem: sub_limbs(&s(BUY_REM_OLD), &q, &s(BUY_REM_BORROW)),
        seller_base,
        buyer_base,
        buyer_quote,
        seller_quote,
    }
}

/// `old - amount` limb by limb with borrows, `new_l = old_l - amount_l - b_{l-1} + 2^16 b_l`,
/// and no borrow out of the top limb (`amount` may have fewer limbs: the rest are zero).
fn sub_limbs<T: Lane>(old: &[T], amount: &[T], borrow: &[T]) -> Vec<T> {
    let base: T = k(1 << LIMB_BITS);
    (0..old.len())
        .map(|l| {
            let mut e = old[l].clone();
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

/// `old + amount` limb by limb with carries, `new_l = old_l + amount_l + c_{l-1} - 2^16 c_l`,
/// and no carry out of the top limb.
fn add_limbs<T: Lane>(old: &[T], amount: &[T], carry: &[T]) -> Vec<T> {
    let base: T = k(1 << LIMB_BITS);
    (0..old.len())
        .map(|l| {
            let mut e = old[l].clone();
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

/// A limit as a gap chain: `plus * ps - minus * pm = gap >= 0` over the integers, limb by
/// limb: `plus_l ps - minus_l pm + c_{l-1} = g_l + 2^16 c_l` (`c_{-1} = 0`, missing limbs
/// zero), the last carry being the gap's part above its [`GAP_LIMBS`] limbs.
fn gap_chain<T: Lane>(plus: (&[T], &T), minus: (&[T], &T), gap: &[T], carry: &[T]) -> Vec<T> {
    let base: T = k(1 << LIMB_BITS);
    (0..GAP_LIMBS)
        .map(|l| {
            let mut e = T::zero() - gap[l].clone() - carry[l].clone() * base.clone();
            if let Some(x) = plus.0.get(l) {
                e = e + x.clone() * plus.1.clone();
            }
            if let Some(x) = minus.0.get(l) {
                e = e - x.clone() * minus.1.clone();
            }
            if l > 0 {
                e = e + carry[l - 1].clone();
            }
            e
        })
        .collect()
}

/// Both limits: the seller's `a * ds - q * ns >= 0` (it receives at least its price) and the
/// buyer's `q * nb - a * db >= 0` (it pays at most its price).
fn limits<T: Lane>(c: &[T]) -> Vec<T> {
    use fill_cols::*;
    let (q, a) = (slice(c, QTY), slice(c, AMOUNT));
    let (ns, ds) = (&c[SELL_PRICE.start], &c[SELL_PRICE.start + 1]);
    let (nb, db) = (&c[BUY_PRICE.start], &c[BUY_PRICE.start + 1]);
    let mut out = gap_chain((&a, ds), (&q, ns), &slice(c, SELL_GAP), &slice(c, SELL_GAP_CARRY));
    out.extend(gap_chain((&q, nb), (&a, db), &slice(c, BUY_GAP), &slice(c, BUY_GAP_CARRY)));
    out
}

impl Role for FillRole {
    const NAME: &'static str = "orderbook_fill";
    const N_COLUMNS: usize = fill_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use fill_cols::*;
        let e = c[ENABLED].clone();
        // Boolean: the remainings' borrows, and each balance's borrows or carries up to the
        // one leaving its amount's limbs (those above are products of it: `upper_limbs`).
        let low = BALANCE_LEGS.iter().flat_map(|leg| leg.borrow.start..leg.borrow.start + leg.amount_limbs());
        let bits = SELL_REM_BORROW.chain(BUY_REM_BORROW).chain(low);
        let mut out = vec![boolean(&e)];
        out.extend(bits.map(|i| boolean(&c[i])));
        // q != 0 on an enabled row: its limbs' sum (< 2^18, no wrap) has an inverse.
        let sum = QTY.map(|i| c[i].clone()).fold(T::zero(), |a, b| a + b);
        out.push(e * (sum * c[QTY_INV].clone() - k(1)));
        out.extend(limits(c));
        for leg in &BALANCE_LEGS {
            out.extend(upper_limbs(c, leg));
        }
        out
    }

    /// Zero but the receiving legs' upper inverses: `x_l = 0 - (2^16 - 1)` there, whose
    /// `x_l z_l = 0` needs `inv_l = 1 / x_l`.
    fn padding_row() -> Vec<u32> {
        let mut row = vec![0; fill_cols::N];
        for leg in BALANCE_LEGS.iter().filter(|leg| !leg.pays) {
            row[leg.inv.clone()].fill(leg.pass_through_x(BaseField::from(0u32)).inverse().0);
        }
        row
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use fill_cols::*;
        let e = c[ENABLED].clone();
        let s = |r| slice(c, r);
        let (book, base, quote) = (s(BOOK), s(BASE), s(QUOTE));
        let (seller, buyer) = (s(SELLER), s(BUYER));
        let fills = c[FILLS].clone();
        let w = written(c);
        let price = |r: std::ops::Range<usize>| [c[r.start].clone(), c[r.start + 1].clone()];
        let sell = |rem: &[T]| order(&book, &seller, c[SELL_ID].clone(), k(SIDE_SELL), price(SELL_PRICE), rem);
        let buy = |rem: &[T]| order(&book, &buyer, c[BUY_ID].clone(), k(SIDE_BUY), price(BUY_PRICE), rem);
        // (consumed, produced) pairs: the market counter, both orders, the four balances.
        let moves = [
            (market(&book, &base, &quote, fills.clone()), market(&book, &base, &quote, fills + k(1))),
            (sell(&s(SELL_REM_OLD)), sell(&w.sell_rem)),
            (buy(&s(BUY_REM_OLD)), buy(&w.buy_rem)),
            (book_balance(&base, &seller, &s(SELLER_BASE_OLD)), book_balance(&base, &seller, &w.seller_base)),
            (book_balance(&base, &buyer, &s(BUYER_BASE_OLD)), book_balance(&base, &buyer, &w.buyer_base)),
            (book_balance(&quote, &buyer, &s(BUYER_QUOTE_OLD)), book_balance(&quote, &buyer, &w.buyer_quote)),
            (book_balance(&quote, &seller, &s(SELLER_QUOTE_OLD)), book_balance(&quote, &seller, &w.seller_quote)),
        ];
        let mut f = Vec::new();
        for (consumed, produced) in moves {
            f.push(Frac::new(Rel::State, neg(&e), consumed));
            f.push(Frac::new(Rel::State, e.clone(), produced));
        }
        // 16-bit checks on enabled rows (padding rows look nothing up: their shifted values
        // are not all in range).
        for (j, checked) in range_checked(c).into_iter().enumerate() {
            let lo = c[LIMB_LO.start + j].clone();
            if checked.bits == LIMB_BITS {
                f.extend(split16(e.clone(), checked.value, lo));
            } else {
                f.extend(split_below(e.clone(), checked.value, lo, checked.bits));
            }
        }
        f
    }

    fn batching() -> Vec<usize> {
        // 14 state and 2 (16-bit) or 3 (narrower) range fractions per check, linear
        // denominators: pairs (degree 3).
        (0..14 + 2 * N_RANGE_CHECKED + N_NARROW_CHECKED).map(|i| i / 2).collect()
    }
}
