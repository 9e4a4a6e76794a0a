//! Signed transfer lists: one signature for all of a sender's transfers in a sub-block
//! (`zkthread_sig::transfer_list`; issue 11). Two roles:
//!
//! - [`ListHeadRole`], one row per signed list: the sender's key step and the signature over
//!   the list message (`[D, A] [cap_n] [n, 0, 0, 0, nonce, K_next[0..3]] [K_next[3], rho,
//!   LIST_MARK, 0, 0, 0]`), through the framework's `signed_transaction`, exactly as a single
//!   transfer's row; and the list sponge's two ends: it offers `ListCap(D, A, tx, 0, initial)`
//!   and takes `ListCap(D, A, tx, n, cap_n)`, where `cap_n` and `n` are the signed payload.
//! - [`ListItemRole`], one row per transfer of a list: the balance move (the same block and
//!   constraints as a single transfer's, [`crate::transfer::balance_block`]), and one step of
//!   that list's sponge: it takes `ListCap(D, from, tx, j, cap)` and offers
//!   `ListCap(D, from, tx, j + 1, cap')` with `cap' = P(b1 ++ P(b0 ++ cap)[8..16])[8..16]`,
//!   `b0 = [to, amount[0..4]]`, `b1 = [amount[4..8], 0; 4]` (two Poseidon2 look-ups).
//!
//! Why an item row moves only what its sender signed: its `ListCap` entries name the
//! sender `from` and the domain `D` of the balances it moves, and the list position `tx` of
//! the head. Every item consumes one entry and produces the next index's, so the items of
//! one `(D, A, tx)` form a single path `0 -> n` from the head's initial capacity (the index
//! only rises; a cycle needs `p` rows), and the head accepts only the capacity its signature
//! covers. So the items are the signed list, in order, each once: any other item on the path
//! changes the capacity (a collision of the 248-bit capacity otherwise). The head is
//! authorized like any signed row (its `tx` is unique in the transaction list, the key step
//! makes it the signer's next key use), so a debit of `A` needs `A`'s signature either way.
//! A single transfer's payload has `0` where the list's has `LIST_MARK`, so neither kind of
//! signature can stand in for the other.

use zkthread_prover::auth::link;
use zkthread_prover::auth::roles::{signed_transaction, SignedFields};
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};
use zkthread_sig::transfer_list::{list_initial_cap, LIST_MARK, LIST_MARK_AT, LIST_COUNT_AT};

use crate::transfer::{balance_block, balance_constraints, balance_moves, limb_range_checks};

/// One signed list per row: the key step, the signature, the list sponge's ends.
#[derive(Clone)]
pub struct ListHeadRole;

pub mod list_head_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const DOMAIN: Range<usize> = 1..5;
    pub const FROM: Range<usize> = 5..9;
    pub const NONCE: usize = 9;
    pub const KEY: Range<usize> = 10..14;
    pub const NEXT_KEY: Range<usize> = 14..18;
    pub const PP: Range<usize> = 18..22;
    pub const RHO: Range<usize> = 22..25;
    /// The list sponge's final capacity (the signed commitment).
    pub const COMMITMENT: Range<usize> = 25..33;
    /// The number of transfers in the list (signed).
    pub const COUNT: usize = 33;
    /// The list's position in the sub-block (its digest's place in the transaction list).
    pub const TX: usize = 34;
    pub const N: usize = 35;
}

impl Role for ListHeadRole {
    const NAME: &'static str = "signed_list_head";
    const N_COLUMNS: usize = list_head_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        vec![boolean(&c[list_head_cols::ENABLED])]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_head_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, commitment) = (slice(c, DOMAIN), slice(c, FROM), slice(c, COMMITMENT));
        let (count, tx) = (c[COUNT].clone(), c[TX].clone());
        // The payload `zkthread_sig::TransferListMessage` signs: `[cap_n, n, 0, 0, 0, MARK, 0; 3]`.
        let mut payload: Vec<T> = (0..zkthread_sig::PAYLOAD_LEN).map(|_| k(0)).collect();
        payload[..8].clone_from_slice(&commitment);
        payload[LIST_COUNT_AT] = count.clone();
        payload[LIST_MARK_AT] = k(LIST_MARK.to_u32());
        let mut f = signed_transaction(
            &e,
            &SignedFields {
                tx: tx.clone(),
                pp: slice(c, PP),
                key: slice(c, KEY),
                next_key: slice(c, NEXT_KEY),
                nonce: c[NONCE].clone(),
                domain: d.clone(),
                signer: from.clone(),
                rho: slice(c, RHO),
                payload,
            },
        );
        let initial: Vec<T> = list_initial_cap().iter().map(|v| k(v.to_u32())).collect();
        f.push(Frac::new(Rel::Link, e.clone(), link::list_cap(&d, &from, tx.clone(), k(0), &initial)));
        f.push(Frac::new(Rel::Link, neg(&e), link::list_cap(&d, &from, tx, count, &commitment)));
        f
    }

    fn batching() -> Vec<usize> {
        // 8 authorization + 2 list-end fractions, linear denominators: pairs (degree 3).
        (0..10).map(|i| i / 2).collect()
    }
}

/// One transfer of a signed list per row: the balance move and one step of the list sponge.
#[derive(Clone)]
pub struct ListItemRole;

pub mod list_item_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const DOMAIN: Range<usize> = 1..5;
    pub const FROM: Range<usize> = 5..9;
    pub const TO: Range<usize> = 9..13;
    /// The list's position in the sub-block (the head's `TX`).
    pub const TX: usize = 13;
    /// This transfer's place in its list.
    pub const INDEX: usize = 14;
    /// The list sponge's capacity before this transfer.
    pub const CAP: Range<usize> = 15..23;
    /// `P([to, amount[0..4]] ++ cap)`.
    pub const MID: Range<usize> = 23..39;
    /// `P([amount[4..8], 0; 4] ++ MID[8..16])`: the capacity after this transfer is `OUT[8..16]`.
    pub const OUT: Range<usize> = 39..55;
    /// The balance move ([`super::balance_block`]).
    pub const BALANCES: Range<usize> = 55..133;
    pub const N: usize = 133;
    const _: () = assert!(BALANCES.end - BALANCES.start == super::balance_block::N);
}

impl Role for ListItemRole {
    const NAME: &'static str = "signed_list_item";
    const N_COLUMNS: usize = list_item_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use list_item_cols::*;
        let mut out = vec![boolean(&c[ENABLED])];
        out.extend(balance_constraints(&c[BALANCES]));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_item_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, to) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO));
        let (cap, mid, out) = (slice(c, CAP), slice(c, MID), slice(c, OUT));
        let (tx, index) = (c[TX].clone(), c[INDEX].clone());
        let b = &c[BALANCES];
        let amount = &b[balance_block::AMOUNT];
        let mut f = Vec::from(balance_moves(&e, &d, &from, &to, b));
        // The two blocks `zkthread_sig::ListedTransfer::blocks` absorbs, as look-ups of the
        // permutations that absorb them.
        let mut first = [&to[..], &amount[..4], &cap[..]].concat();
        first.extend(mid.iter().cloned());
        let mut second = amount[4..].to_vec();
        second.extend((0..4).map(|_| k::<T>(0)));
        second.extend(mid[8..].iter().cloned());
        second.extend(out.iter().cloned());
        f.push(Frac::new(Rel::Poseidon2, neg(&e), first));
        f.push(Frac::new(Rel::Poseidon2, neg(&e), second));
        f.push(Frac::new(Rel::Link, neg(&e), link::list_cap(&d, &from, tx.clone(), index.clone(), &cap)));
        f.push(Frac::new(Rel::Link, e, link::list_cap(&d, &from, tx, index + k(1), &out[8..])));
        f.extend(limb_range_checks(b));
        f
    }

    fn batching() -> Vec<usize> {
        // 4 + 2 + 2 + 48 fractions, linear denominators: pairs (degree 3).
        (0..56).map(|i| i / 2).collect()
    }
}
