//! The owner-signed roles: placing an order and cancelling one. Each row is authorized by the
//! framework (`zkthread_prover::auth::roles::signed_transaction` over the row's
//! [`SignedFields`]): `key_step` moves the owner's thread key in the book's domain
//! (`Key(D_book, A, nonce, K) -> (nonce + 1, K_next)`: `thread_keys[owner]` of the book
//! contract), `signed_message` ties the row's own fields, as the four message blocks, to a
//! TS-WOTS signature under `K` verified by the authorization components. The client signs
//! the same blocks: [`OrderMessage`] is a `zkthread_sig::Message`.
//!
//! Message blocks: the framework's layout `[D, A] [p[0..8]] [p[8..12], nonce, K_next[0..3]]
//! [K_next[3], rho, p[12..16]]` with the program's 16-element payload `p`:
//!
//! ```text
//! place : p = [id, side, num, den, qty[4], 0; 7, TAG_PLACE]
//! cancel: p = [id, 0; 14, TAG_CANCEL]
//! ```
//!
//! The tag sits at `p[15]`, which separates the two kinds of one book. A token's transfer
//! payload (`[to.low, amount, to.high]`) has a receiver word there since session 50, which a
//! chosen address can make 2 or 3: the domain is what separates a book's messages from a
//! token's (the book's `D` names the book contract, a transfer's its token; the statement
//! refuses two contracts under one domain id).

use zkthread_prover::auth::roles::{message_blocks, signed_transaction, SignedFields, MESSAGE_BLOCKS};
use zkthread_prover::range::split16;
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};
use stwo::core::fields::m31::BaseField;
use zkthread_sig::wots::{Hash4, KeyCommitment, RATE, RHO_LEN};
use zkthread_sig::{Message, MessageError, M31};

use crate::state::{
    order, qty_limbs, Price, MAX_PRICE_PART, QTY_LIMBS, SIDE_BUY, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2, SIDE_SELL,
};

/// The last message element of a place (a transfer's is 0). 3 since prices are ratios (AIR
/// version 2): version 1's place (`[id, side, price, qty[4], 0; 8, 1]`) had tag 1, and its
/// fields read one element further on are a valid version-2 place (`den` = the quantity's
/// low limb): a version-1 signature still unsettled when a thread upgrades must never verify
/// as a version-2 place.
pub const TAG_PLACE: u32 = 3;
/// The last message element of a cancel.
pub const TAG_CANCEL: u32 = 2;

/// The columns a signed row shares (same order in both roles).
pub mod signed_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const BOOK: Range<usize> = 1..5;
    pub const OWNER: Range<usize> = 5..9;
    pub const ID: usize = 9;
    pub const SIDE: usize = 10;
    /// The limit price `[num, den]`.
    pub const PRICE: Range<usize> = 11..13;
    /// Place: the order's quantity. Cancel: the remaining quantity it drops.
    pub const QTY: Range<usize> = 13..17;
    pub const NONCE: usize = 17;
    pub const KEY: Range<usize> = 18..22;
    pub const NEXT_KEY: Range<usize> = 22..26;
    pub const PP: Range<usize> = 26..30;
    pub const RHO: Range<usize> = 30..33;
    /// The row's position in the sub-block (its digest's place in the transaction list).
    pub const TX: usize = 33;
    pub const N: usize = 34;
}

/// Place-only columns after the shared ones.
pub mod place_cols {
    use std::ops::Range;
    pub use super::signed_cols::*;
    /// The inverse of `sum(qty limbs)`: `qty != 0`.
    pub const QTY_INV: usize = super::signed_cols::N;
    /// Low bytes of the 16-bit checks: `qty` (4), then `v` and `v + PART_SHIFT` for
    /// `v = num - 1` and `v = den - 1`.
    pub const LIMB_LO: Range<usize> = QTY_INV + 1..QTY_INV + 9;
    pub const N: usize = LIMB_LO.end;
}

/// Elements of a message that are the program's own (the framework lays out the rest).
pub use zkthread_sig::PAYLOAD_LEN;

/// `v + PART_SHIFT < 2^16` iff `v <= MAX_PRICE_PART - 1`: with `v = part - 1` checked too,
/// a price part is in `1..=MAX_PRICE_PART`.
pub const PART_SHIFT: u32 = (1 << 16) - MAX_PRICE_PART;

/// The program's payload of a signed row: `[id, side, num, den, qty[4], 0; 7, TAG_PLACE]`
/// for a place, `[id, 0; 14, TAG_CANCEL]` for a cancel.
pub fn payload<T: Lane>(c: &[T], place: bool) -> Vec<T> {
    use signed_cols::*;
    let mut p = vec![c[ID].clone()];
    if place {
        p.push(c[SIDE].clone());
        p.extend(slice(c, PRICE));
        p.extend(slice(c, QTY));
    }
    p.resize(PAYLOAD_LEN - 1, k(0));
    p.push(k(if place { TAG_PLACE } else { TAG_CANCEL }));
    p
}

/// What a signed row exposes to the framework (`SignedFields`): the owner's key slot in the
/// book's domain, the signature's columns and the program's payload.
pub fn signed_fields<T: Lane>(c: &[T], place: bool) -> SignedFields<T> {
    use signed_cols::*;
    SignedFields {
        tx: c[TX].clone(),
        pp: slice(c, PP),
        key: slice(c, KEY),
        next_key: slice(c, NEXT_KEY),
        nonce: c[NONCE].clone(),
        domain: slice(c, BOOK),
        signer: slice(c, OWNER),
        // The book names owners by `A` alone (`crate::state::low_id`).
        signer_high: (0..4).map(|_| k(0)).collect(),
        rho: slice(c, RHO),
        payload: payload(c, place),
    }
}

/// The framework's fractions of a signed row: the owner's key step, then the signature over
/// the framework's message layout.
fn authorization<T: Lane>(c: &[T], place: bool) -> Vec<Frac<T>> {
    signed_transaction(&c[signed_cols::ENABLED], &signed_fields(c, place))
}

/// `enabled (side - 1)(side - 2)`: an enabled row's side is buy or sell.
fn live_side<T: Lane>(c: &[T]) -> T {
    let side = c[signed_cols::SIDE].clone();
    c[signed_cols::ENABLED].clone() * (side.clone() - k(SIDE_BUY)) * (side - k(SIDE_SELL))
}

/// The row's price columns as the tuple's `[num, den]`.
fn price<T: Lane>(c: &[T]) -> [T; 2] {
    [c[signed_cols::PRICE.start].clone(), c[signed_cols::PRICE.start + 1].clone()]
}

/// One signed place per row: consumes the empty slot `Order(D, A, id, 0, 0/0, 0)` and
/// produces `Order(D, A, id, side, num/den, qty)` with `side` buy or sell, `num` and `den` in
/// `1..2^14` and `0 < qty < 2^64`.
#[derive(Clone)]
pub struct PlaceRole;

impl Role for PlaceRole {
    const NAME: &'static str = "orderbook_place";
    const N_COLUMNS: usize = place_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use place_cols::*;
        let e = c[ENABLED].clone();
        let sum = QTY.map(|i| c[i].clone()).fold(T::zero(), |a, b| a + b);
        vec![boolean(&e), live_side(c), e * (sum * c[QTY_INV].clone() - k(1))]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use place_cols::*;
        let e = c[ENABLED].clone();
        let (book, owner, id) = (slice(c, BOOK), slice(c, OWNER), c[ID].clone());
        let empty = order(&book, &owner, id.clone(), k(0), [k(0), k(0)], &[k(0), k(0), k(0), k(0)]);
        let placed = order(&book, &owner, id, c[SIDE].clone(), price(c), &slice(c, QTY));
        let mut f = vec![Frac::new(Rel::State, neg(&e), empty), Frac::new(Rel::State, e.clone(), placed)];
        f.extend(authorization(c, true));
        // qty limbs < 2^16; num - 1 and den - 1 in 0..MAX_PRICE_PART, i.e. both in 1..2^14.
        let mut checked: Vec<T> = QTY.map(|i| c[i].clone()).collect();
        for part in price(c) {
            let v = part - k(1);
            checked.extend([v.clone(), v + k(PART_SHIFT)]);
        }
        for (j, v) in checked.into_iter().enumerate() {
            f.extend(split16(e.clone(), v, c[LIMB_LO.start + j].clone()));
        }
        f
    }

    fn batching() -> Vec<usize> {
        // 2 state + 2 key + 6 link + 16 range fractions, linear denominators: pairs.
        (0..26).map(|i| i / 2).collect()
    }
}

/// `(side - 1)(side - 2)(side - 4)`: a cancel row's side is buy, sell or cancelled on L2.
/// Without the `enabled` factor (the constraint would have degree 4): padding rows carry
/// side buy ([`CancelRole::padding_row`]), and their fractions are 0 whatever their side.
fn cancellable_side<T: Lane>(c: &[T]) -> T {
    let side = c[signed_cols::SIDE].clone();
    (side.clone() - k(SIDE_BUY)) * (side.clone() - k(SIDE_SELL)) * (side - k(SIDE_CANCELLED_ON_L2))
}

/// One signed cancel per row: consumes `Order(D, A, id, side, num/den, rem)` (a live or filled
/// order, side buy or sell, or one its owner cancelled on L2) and produces
/// `Order(D, A, id, SIDE_CANCELLED, num/den, 0)`.
///
/// The produced tuple always differs from the consumed one (its side is none of the consumed
/// sides), so the row's two `State` fractions never cancel each other: the consumed order must
/// come from the statement's inputs (or an earlier row), and the signed cancel of an id always
/// cancels that id's order. Before AIR version 4 the cancelled tuple kept its side; a row naming
/// any order at 0 (side and price are the prover's choice, the signature covers only the id)
/// then consumed and produced one tuple, and a batcher could settle an owner's cancel (her
/// nonce moved) with her order still live. An order already cancelled by a signed cancel
/// cannot be cancelled again (side 3 is refused): the batcher refuses that message. An order
/// cancelled on L2 ([`SIDE_CANCELLED_ON_L2`], written only by the book's own `cancel`, which
/// refuses a cancelled order) can be, once, so a signed cancel queued before it still settles
/// (AIR version 5).
#[derive(Clone)]
pub struct CancelRole;

impl Role for CancelRole {
    const NAME: &'static str = "orderbook_cancel";
    const N_COLUMNS: usize = signed_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        vec![boolean(&c[signed_cols::ENABLED]), cancellable_side(c)]
    }

    fn padding_row() -> Vec<u32> {
        let mut row = vec![0; Self::N_COLUMNS];
        row[signed_cols::SIDE] = SIDE_BUY;
        row
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use signed_cols::*;
        let e = c[ENABLED].clone();
        let (book, owner, id) = (slice(c, BOOK), slice(c, OWNER), c[ID].clone());
        let live = order(&book, &owner, id.clone(), c[SIDE].clone(), price(c), &slice(c, QTY));
        let cancelled = order(&book, &owner, id, k(SIDE_CANCELLED), price(c), &[k(0), k(0), k(0), k(0)]);
        let mut f = vec![Frac::new(Rel::State, neg(&e), live), Frac::new(Rel::State, e.clone(), cancelled)];
        f.extend(authorization(c, false));
        f
    }

    fn batching() -> Vec<usize> {
        (0..10).map(|i| i / 2).collect()
    }
}

/// What an owner signs to place or cancel an order (everything but `rho`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderMessage {
    pub book: Hash4,
    pub owner: Hash4,
    pub id: u32,
    /// `Some((side, price, quantity))`: a place; `None`: a cancel.
    pub place: Option<(u32, Price, u64)>,
    pub nonce: u32,
    pub next_key: KeyCommitment,
}

impl OrderMessage {
    /// The payload as the AIR reads it off the row (values reduced mod p, nothing checked):
    /// what [`zkthread_sig::Message::payload`] returns once the fields pass the checks.
    pub fn payload_unchecked(&self) -> [M31; PAYLOAD_LEN] {
        let mut row = vec![0u32; signed_cols::N];
        self.fill_columns(&mut row, &[M31::ZERO; RHO_LEN]);
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
        let p = payload(&cols, self.place.is_some());
        std::array::from_fn(|i| M31::reduce(p[i].0))
    }

    /// The four blocks the AIR reads off a row of this message (`message_blocks` of its
    /// [`signed_fields`]): for tests that they are the blocks the client signs.
    pub fn blocks(&self, rho: &[M31; RHO_LEN]) -> [[M31; RATE]; MESSAGE_BLOCKS as usize] {
        let mut row = vec![0u32; signed_cols::N];
        self.fill_columns(&mut row, rho);
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::reduce(u64::from(*v))).collect();
        let fields = signed_fields(&cols, self.place.is_some());
        message_blocks(&fields).map(|b| std::array::from_fn(|i| M31::reduce(b[i].0)))
    }

    /// The shared columns of this message's row (without key, pp, tx and `enabled`).
    fn fill_columns(&self, r: &mut [u32], rho: &[M31; RHO_LEN]) {
        use signed_cols::*;
        let u = |h: &Hash4| h.map(|v| v.to_u32());
        r[BOOK].copy_from_slice(&u(&self.book));
        r[OWNER].copy_from_slice(&u(&self.owner));
        r[ID] = self.id;
        if let Some((side, price, qty)) = self.place {
            r[SIDE] = side;
            r[PRICE].copy_from_slice(&[price.num, price.den]);
            r[QTY].copy_from_slice(&qty_limbs(qty));
        }
        r[NONCE] = self.nonce;
        r[NEXT_KEY].copy_from_slice(&u(&self.next_key.0));
        r[RHO].copy_from_slice(&rho.map(|v| v.to_u32()));
    }
}

/// The order book's messages in the framework's layout. The payload refuses what the AIR
/// would (a client never signs an order that cannot be placed): a side other than buy or
/// sell, a price part outside `1..2^14`, a zero quantity, an id that is not an M31 element.
impl Message for OrderMessage {
    fn domain(&self) -> Hash4 {
        self.book
    }

    fn signer(&self) -> Hash4 {
        self.owner
    }

    fn nonce(&self) -> u32 {
        self.nonce
    }

    fn next_key(&self) -> KeyCommitment {
        self.next_key
    }

    fn set_next_key(&mut self, key: KeyCommitment) {
        self.next_key = key;
    }

    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError> {
        let bad = |field, reason| Err(MessageError::Field { field, reason });
        if self.id >= zkthread_sig::field::MODULUS {
            return bad("id", "not below 2^31 - 1");
        }
        if let Some((side, price, quantity)) = self.place {
            if side != SIDE_BUY && side != SIDE_SELL {
                return bad("side", "neither buy (1) nor sell (2)");
            }
            if !price.is_valid() {
                return bad("price", "numerator or denominator outside 1..2^14");
            }
            if quantity == 0 {
                return bad("quantity", "zero");
            }
        }
        Ok(self.payload_unchecked())
    }
}

/// One signed place or cancel as the AIR sees it: the message, the order the cancel finds
/// (`side, price, remaining`; ignored for a place) and the signature with its verification.
#[derive(Clone, Debug)]
pub struct SignedOrderRow {
    pub message: OrderMessage,
    pub key: KeyCommitment,
    pub cancelled: (u32, Price, u64),
    pub signature: zkthread_sig::wots::Signature,
    pub trace: zkthread_sig::wots::VerificationTrace,
}

impl SignedOrderRow {
    /// The row of [`PlaceRole`] or [`CancelRole`] at sub-block position `tx`.
    pub fn row(&self, tx: u32) -> Vec<u32> {
        use signed_cols::*;
        let place = self.message.place.is_some();
        let mut r = vec![0u32; if place { place_cols::N } else { N }];
        r[ENABLED] = 1;
        self.message.fill_columns(&mut r, &self.signature.rho);
        if !place {
            let (side, price, remaining) = self.cancelled;
            r[SIDE] = side;
            r[PRICE].copy_from_slice(&[price.num, price.den]);
            r[QTY].copy_from_slice(&qty_limbs(remaining));
        }
        r[KEY].copy_from_slice(&self.key.0.map(|v| v.to_u32()));
        r[PP].copy_from_slice(&self.signature.pp.map(|v| v.to_u32()));
        r[TX] = tx;
        if place {
            let sum: u32 = r[QTY].iter().sum();
            r[place_cols::QTY_INV] = if sum == 0 { 0 } else { BaseField::from(sum).inverse().0 };
            let mut checked = r[QTY].to_vec();
            for part in &r[PRICE] {
                let v = (i64::from(*part) - 1).rem_euclid((1 << 31) - 1) as u32;
                checked.extend([v, ((u64::from(v) + u64::from(PART_SHIFT)) % ((1 << 31) - 1)) as u32]);
            }
            for (j, v) in checked.into_iter().enumerate() {
                r[place_cols::LIMB_LO.start + j] = zkthread_prover::range::low_byte(v);
            }
        }
        r
    }
}

const _: () = assert!(QTY_LIMBS == 4);
