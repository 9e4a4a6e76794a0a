//! The token program's transaction role: one signed transfer per row (see
//! `docs/signed-transfers.md`), and the program's `StateRelation` kind `Balance`. The row is
//! authorized by the framework (`zkthread_prover::auth`): [`signed_transaction`] moves the
//! sender's thread key and ties the row's fields to a signature verified by the
//! authorization components.

use zkthread_prover::air::{LIMB_BITS, N_LIMBS};
use zkthread_prover::auth::link::with_tag;
use zkthread_prover::auth::roles::{signed_transaction, SignedFields};
use zkthread_prover::range::split16;
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};

/// The `StateRelation` kind of a `balances` slot.
pub const KIND_BALANCE: u32 = 0;

/// `Balance(0, D, A, limbs, A_high)`: `account` is the owner's whole 248-bit id, `A ++ A_high`
/// (`zkthread_sig::domain::AccountId::words`), so a balance names one owner up to a 248-bit
/// collision. The high words go last, so the tuple's `[kind, D, A]` head is a key tuple's.
pub fn balance<T: Lane>(domain: &[T], account: &[T], limbs: &[T]) -> Vec<T> {
    debug_assert_eq!(account.len(), 8);
    with_tag(KIND_BALANCE, &[domain, &account[..4], limbs, &account[4..]])
}

/// The columns of one balance move (relative to the block's first column): `from` pays
/// `amount` to `to`. Shared by every row that moves a balance (a signed transfer, an item of a
/// signed list), so the arithmetic and its range checks are written once.
pub mod balance_block {
    use std::ops::Range;
    pub const FROM_OLD: Range<usize> = 0..8;
    pub const TO_OLD: Range<usize> = 8..16;
    pub const AMOUNT: Range<usize> = 16..24;
    pub const FROM_NEW: Range<usize> = 24..32;
    pub const TO_NEW: Range<usize> = 32..40;
    pub const BORROW: Range<usize> = 40..47;
    pub const CARRY: Range<usize> = 47..54;
    /// Low bytes of the 24 range-checked limbs: `amount`, `from_new`, `to_new`, in order.
    pub const LIMB_LO: Range<usize> = 54..78;
    pub const N: usize = 78;
}

/// The constraints of a balance move `b` ([`balance_block`]): boolean borrows and carries,
/// then per limb `from_old - amount = from_new` with borrows and `to_old + amount = to_new`
/// with carries; nothing leaves the top limb (no underflow, no overflow).
pub fn balance_constraints<T: Lane>(b: &[T]) -> Vec<T> {
    use balance_block::*;
    let base: T = k(1 << LIMB_BITS);
    let mut out: Vec<T> = BORROW.chain(CARRY).map(|i| boolean(&b[i])).collect();
    for l in 0..N_LIMBS {
        let mut sub = b[FROM_OLD.start + l].clone() - b[AMOUNT.start + l].clone() - b[FROM_NEW.start + l].clone();
        let mut add = b[TO_OLD.start + l].clone() + b[AMOUNT.start + l].clone() - b[TO_NEW.start + l].clone();
        if l > 0 {
            sub = sub - b[BORROW.start + l - 1].clone();
            add = add + b[CARRY.start + l - 1].clone();
        }
        if l < N_LIMBS - 1 {
            sub = sub + b[BORROW.start + l].clone() * base.clone();
            add = add - b[CARRY.start + l].clone() * base.clone();
        }
        out.push(sub);
        out.push(add);
    }
    out
}

/// The `State` fractions of a balance move, multiplicity `e`: both old balances consumed, both
/// new ones produced; `from` and `to` are 248-bit ids (8 words).
pub fn balance_moves<T: Lane>(e: &T, domain: &[T], from: &[T], to: &[T], b: &[T]) -> [Frac<T>; 4] {
    use balance_block::*;
    [
        Frac::new(Rel::State, neg(e), balance(domain, from, &slice(b, FROM_OLD))),
        Frac::new(Rel::State, e.clone(), balance(domain, from, &slice(b, FROM_NEW))),
        Frac::new(Rel::State, neg(e), balance(domain, to, &slice(b, TO_OLD))),
        Frac::new(Rel::State, e.clone(), balance(domain, to, &slice(b, TO_NEW))),
    ]
}

/// Every written limb of a balance move is < 2^16: two 8-bit look-ups each (48 fractions,
/// multiplicity 1: padding rows look up 0).
pub fn limb_range_checks<T: Lane>(b: &[T]) -> Vec<Frac<T>> {
    use balance_block::*;
    AMOUNT
        .chain(FROM_NEW)
        .chain(TO_NEW)
        .enumerate()
        .flat_map(|(j, i)| split16(k(1), b[i].clone(), b[LIMB_LO.start + j].clone()))
        .collect()
}

/// One signed transfer per row (see `docs/signed-transfers.md`).
#[derive(Clone)]
pub struct TransferRole;

pub mod transfer_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const DOMAIN: Range<usize> = 1..5;
    pub const FROM: Range<usize> = 5..9;
    pub const TO: Range<usize> = 9..13;
    pub const NONCE: usize = 13;
    pub const KEY: Range<usize> = 14..18;
    pub const NEXT_KEY: Range<usize> = 18..22;
    pub const PP: Range<usize> = 22..26;
    pub const RHO: Range<usize> = 26..29;
    pub const FROM_OLD: Range<usize> = 29..37;
    pub const TO_OLD: Range<usize> = 37..45;
    pub const AMOUNT: Range<usize> = 45..53;
    pub const FROM_NEW: Range<usize> = 53..61;
    pub const TO_NEW: Range<usize> = 61..69;
    pub const BORROW: Range<usize> = 69..76;
    pub const CARRY: Range<usize> = 76..83;
    /// Low bytes of the 24 range-checked limbs: `amount`, `from_new`, `to_new`, in order.
    pub const LIMB_LO: Range<usize> = 83..107;
    /// The transfer's position in the sub-block (its digest's place in the transaction list).
    pub const TX: usize = 107;
    /// The sender's id, bits 124..248 (`FROM` is bits 0..124, the signed signer field): not
    /// signed; the key tuple the row consumes carries them (`zkthread_prover::auth::link::
    /// key`), so the debited balance is named by the key slot owner's whole id.
    pub const FROM_HIGH: Range<usize> = 108..112;
    /// The receiver's id, bits 124..248: signed (payload elements 12..16).
    pub const TO_HIGH: Range<usize> = 112..116;
    pub const N: usize = 116;
    /// The balance move's block ([`super::balance_block`]).
    pub const BALANCES: Range<usize> = FROM_OLD.start..LIMB_LO.end;
    const _: () = assert!(BALANCES.end - BALANCES.start == super::balance_block::N);
}

impl Role for TransferRole {
    const NAME: &'static str = "signed_transfer";
    const N_COLUMNS: usize = transfer_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use transfer_cols::*;
        let mut out = vec![boolean(&c[ENABLED])];
        out.extend(balance_constraints(&c[BALANCES]));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use transfer_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, to) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO));
        let (from_high, to_high) = (slice(c, FROM_HIGH), slice(c, TO_HIGH));
        let (key, next, pp) = (slice(c, KEY), slice(c, NEXT_KEY), slice(c, PP));
        let amount = slice(c, AMOUNT);
        let nonce = c[NONCE].clone();
        let to_wide = [&to[..], &to_high].concat();
        // The message is the row's columns (payload `[to, amount, to_high]`, as
        // `zkthread_sig::TransferMessage` signs it), so the signature is over exactly what it
        // does, and the credited balance is named by the receiver's whole signed id.
        let fields = SignedFields {
            tx: c[TX].clone(),
            pp,
            key,
            next_key: next,
            nonce,
            domain: d.clone(),
            signer: from,
            signer_high: from_high,
            rho: slice(c, RHO),
            payload: [to, amount, to_high].concat(),
        };
        // The debit names the sender as its key tuple does.
        let mut f = Vec::from(balance_moves(&e, &d, &fields.signer_id(), &to_wide, &c[BALANCES]));
        // The sender's replay state, then the signature over this row's own fields.
        f.extend(signed_transaction(&e, &fields));
        f.extend(limb_range_checks(&c[BALANCES]));
        f
    }

    fn batching() -> Vec<usize> {
        // 12 + 48 fractions, linear denominators: pairs (degree 3).
        (0..60).map(|i| i / 2).collect()
    }
}

