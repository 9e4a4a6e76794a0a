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

/// `Balance(0, D, A, limbs)`.
pub fn balance<T: Lane>(domain: &[T], account: &[T], limbs: &[T]) -> Vec<T> {
    with_tag(KIND_BALANCE, &[domain, account, limbs])
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
    pub const N: usize = 108;
}

impl Role for TransferRole {
    const NAME: &'static str = "signed_transfer";
    const N_COLUMNS: usize = transfer_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use transfer_cols::*;
        let base: T = k(1 << LIMB_BITS);
        let mut out = vec![boolean(&c[ENABLED])];
        out.extend(BORROW.chain(CARRY).map(|i| boolean(&c[i])));
        for l in 0..N_LIMBS {
            // Sender: old - amount = new with borrows; receiver: old + amount = new with
            // carries; nothing leaves the top limb (no underflow, no overflow).
            let mut sub = c[FROM_OLD.start + l].clone() - c[AMOUNT.start + l].clone()
                - c[FROM_NEW.start + l].clone();
            let mut add = c[TO_OLD.start + l].clone() + c[AMOUNT.start + l].clone()
                - c[TO_NEW.start + l].clone();
            if l > 0 {
                sub = sub - c[BORROW.start + l - 1].clone();
                add = add + c[CARRY.start + l - 1].clone();
            }
            if l < N_LIMBS - 1 {
                sub = sub + c[BORROW.start + l].clone() * base.clone();
                add = add - c[CARRY.start + l].clone() * base.clone();
            }
            out.push(sub);
            out.push(add);
        }
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use transfer_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, to) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO));
        let (key, next, pp) = (slice(c, KEY), slice(c, NEXT_KEY), slice(c, PP));
        let amount = slice(c, AMOUNT);
        let nonce = c[NONCE].clone();
        let mut f = vec![
            Frac::new(Rel::State, neg(&e), balance(&d, &from, &slice(c, FROM_OLD))),
            Frac::new(Rel::State, e.clone(), balance(&d, &from, &slice(c, FROM_NEW))),
            Frac::new(Rel::State, neg(&e), balance(&d, &to, &slice(c, TO_OLD))),
            Frac::new(Rel::State, e.clone(), balance(&d, &to, &slice(c, TO_NEW))),
        ];
        // The sender's replay state, then the signature over this row's own fields: the
        // message is the row's columns (payload `[to, amount, 0; 4]`, as
        // `zkthread_sig::TransferMessage` signs it), so the signature is over exactly what it does.
        let mut payload = [to, amount].concat();
        payload.extend((0..4).map(|_| k::<T>(0)));
        f.extend(signed_transaction(
            &e,
            &SignedFields {
                tx: c[TX].clone(),
                pp,
                key,
                next_key: next,
                nonce,
                domain: d,
                signer: from,
                rho: slice(c, RHO),
                payload,
            },
        ));
        // Every written limb is < 2^16: two 8-bit look-ups each (padding rows look up 0).
        for (j, i) in AMOUNT.chain(FROM_NEW).chain(TO_NEW).enumerate() {
            f.extend(split16(k(1), c[i].clone(), c[LIMB_LO.start + j].clone()));
        }
        f
    }

    fn batching() -> Vec<usize> {
        // 12 + 48 fractions, linear denominators: pairs (degree 3).
        (0..60).map(|i| i / 2).collect()
    }
}

