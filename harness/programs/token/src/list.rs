//! Signed transfer lists: one signature for all of a sender's transfers in a sub-block
//! (`zkthread_sig::transfer_list`; issue 11). Two roles:
//!
//! - [`ListHeadRole`], one row per signed list: the sender's key step and the signature over
//!   the list message (`[D, A] [cap] [n, LIST_MARK, 0, 0, nonce, K_next[0..3]] [K_next[3],
//!   rho, 0, 0, 0, 0]`), through the framework's `signed_transaction`, exactly as a single
//!   transfer's row; and the list sponge's two ends: it offers `ListCap(D, A[8], tx, 0,
//!   initial)` and takes `ListCap(D, A[8], tx, n, cap)`, where `cap` and `n` are the signed
//!   payload and `A[8]` the sender's whole id, its high words the key tuple's.
//! - [`ListItemRole`], one row per transfer of a list: the balance move (the same block and
//!   constraints as a single transfer's, [`crate::transfer::balance_block`]) and its two
//!   blocks of the list sponge, `[to, amount[0..4]]` and `[amount[4..8], to_high]` (the
//!   transfer's 16-element encoding, the receiver's whole 248-bit id), taking `ListCap(.., j,
//!   cap)` and offering `ListCap(.., j + 1, cap')`. Two Poseidon2 look-ups per transfer.
//!
//! Why an item row moves only what its sender signed: its `ListCap` entries name the sender
//! `from` and the domain `D` of the balances it moves, and the list position `tx` of the
//! head. Every item consumes one entry and produces the next index's, so the items of one
//! `(D, A, tx)` form a single path `0 -> n` from the head's initial capacity (the index only
//! rises; a cycle needs `p` rows), and the head accepts only the capacity its signature
//! covers. The blocks along the path are the stream of the path's items, each block made of
//! the item's own `TO`, amount limbs and `TO_HIGH` columns, which are the ids its `Balance`
//! tuples credit; so the items are the signed list (in its signed order), each once (any
//! other list changes the capacity, else a collision of the 248-bit capacity), each paying
//! the whole 248-bit id its sender signed. Like every row, they move balances without a
//! proven sequence (`Balance` tuples carry none), creating no value. The head is authorized
//! like any signed row (its `tx` is unique in the transaction list, the key step makes it the
//! signer's next key use), so a debit of `A` needs `A`'s signature either way. A single
//! transfer's payload has an amount limb (range-checked below `2^16`) where the list's has
//! `LIST_MARK = 2^16`, so neither kind of signature can stand in for the other.
//!
//! Until session 51 (list AIR version 3) a list named its receivers by their low 124-bit ids
//! (12 elements an item, 1.5 permutations a transfer), and an item's credited `Balance` took
//! the high words from an unsigned column: a prover could credit an owner whose low id equals
//! the signed receiver's (a ~2^62 search over two addresses the searcher chooses). Version 4
//! signs all 248 bits, at two permutations a transfer.

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
    /// The sender's id bits 124..248: not signed; the key tuple carries them, and the list's
    /// `ListCap` entries hand them to every item, whose debits name the sender by them.
    pub const FROM_HIGH: Range<usize> = 35..39;
    pub const N: usize = 39;
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
        // The payload `zkthread_sig::TransferListMessage` signs: `[cap_n, n, MARK, 0; 6]`.
        let mut payload: Vec<T> = (0..zkthread_sig::PAYLOAD_LEN).map(|_| k(0)).collect();
        payload[..8].clone_from_slice(&commitment);
        payload[LIST_COUNT_AT] = count.clone();
        payload[LIST_MARK_AT] = k(LIST_MARK.to_u32());
        let fields = SignedFields {
            tx: tx.clone(),
            pp: slice(c, PP),
            key: slice(c, KEY),
            next_key: slice(c, NEXT_KEY),
            nonce: c[NONCE].clone(),
            domain: d.clone(),
            signer: from,
            signer_high: slice(c, FROM_HIGH),
            rho: slice(c, RHO),
            payload,
        };
        let mut f = signed_transaction(&e, &fields);
        // The items' debits name the sender as its key tuple does: `ListCap` hands them this id.
        let from_wide = fields.signer_id();
        let initial: Vec<T> = list_initial_cap().iter().map(|v| k(v.to_u32())).collect();
        f.push(Frac::new(Rel::Link, e.clone(), link::list_cap(&d, &from_wide, tx.clone(), k(0), &initial)));
        f.push(Frac::new(Rel::Link, neg(&e), link::list_cap(&d, &from_wide, tx, count, &commitment)));
        f
    }

    fn batching() -> Vec<usize> {
        // 8 authorization + 2 list-end fractions, linear denominators: pairs (degree 3).
        (0..10).map(|i| i / 2).collect()
    }
}

/// One transfer of a signed list per row: the balance move and its share of the list sponge.
#[derive(Clone)]
pub struct ListItemRole;

pub mod list_item_cols {
    use std::ops::Range;
    /// 1 on a transfer's row, 0 on padding.
    pub const ENABLED: usize = 0;
    pub const DOMAIN: Range<usize> = 1..5;
    pub const FROM: Range<usize> = 5..9;
    /// The receiver's id bits 0..124 (signed: the first block).
    pub const TO: Range<usize> = 9..13;
    /// The list's position in the sub-block (the head's `TX`).
    pub const TX: usize = 13;
    /// This transfer's place in its list.
    pub const INDEX: usize = 14;
    /// The list sponge's capacity before this row's blocks.
    pub const CAP: Range<usize> = 15..23;
    /// `P([to, amount[0..4]] ++ CAP)`.
    pub const MID: Range<usize> = 23..39;
    /// `P([amount[4..8], to_high] ++ MID[8..16])`.
    pub const OUT: Range<usize> = 39..55;
    /// The balance move ([`super::balance_block`]).
    pub const BALANCES: Range<usize> = 55..133;
    /// Bits 124..248 of the sender's id: not signed here, they come with the head's `ListCap`
    /// (its key tuple's).
    pub const FROM_HIGH: Range<usize> = 133..137;
    /// Bits 124..248 of the receiver's id (signed: the second block).
    pub const TO_HIGH: Range<usize> = 137..141;
    pub const N: usize = 141;
    const _: () = assert!(BALANCES.end - BALANCES.start == super::balance_block::N);
}

impl Role for ListItemRole {
    const NAME: &'static str = "signed_list_item";
    const N_COLUMNS: usize = list_item_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        let mut out = vec![boolean(&c[list_item_cols::ENABLED])];
        out.extend(balance_constraints(&c[list_item_cols::BALANCES]));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_item_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, to, to_high) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO), slice(c, TO_HIGH));
        let (cap, mid, out) = (slice(c, CAP), slice(c, MID), slice(c, OUT));
        let (tx, index) = (c[TX].clone(), c[INDEX].clone());
        let b = &c[BALANCES];
        let amount = &b[balance_block::AMOUNT];
        let from_wide = [&from[..], &c[FROM_HIGH]].concat();
        let to_wide = [&to[..], &to_high[..]].concat();
        let mut f = Vec::from(balance_moves(&e, &d, &from_wide, &to_wide, b));
        // The transfer's two blocks are its own receiver and amount columns: what its balance
        // moves credit is what the list signed.
        let first = [&to[..], &amount[..4], &cap[..], &mid[..]].concat();
        let second = [&amount[4..], &to_high[..], &mid[8..], &out[..]].concat();
        f.push(Frac::new(Rel::Poseidon2, neg(&e), first));
        f.push(Frac::new(Rel::Poseidon2, neg(&e), second));
        f.push(Frac::new(Rel::Link, neg(&e), link::list_cap(&d, &from_wide, tx.clone(), index.clone(), &cap)));
        f.push(Frac::new(Rel::Link, e, link::list_cap(&d, &from_wide, tx, index + k(1), &out[8..])));
        f.extend(limb_range_checks(b));
        f
    }

    fn batching() -> Vec<usize> {
        // 4 + 2 + 2 + 48 fractions, linear denominators: pairs (degree 3).
        (0..56).map(|i| i / 2).collect()
    }
}
