//! Signed transfer lists: one signature for all of a sender's transfers in a sub-block
//! (`zkthread_sig::transfer_list`; issue 11). Two roles:
//!
//! - [`ListHeadRole`], one row per signed list: the sender's key step and the signature over
//!   the list message (`[D, A] [cap] [n, LIST_MARK, 0, 0, nonce, K_next[0..3]] [K_next[3],
//!   rho, 0, 0, 0, 0]`), through the framework's `signed_transaction`, exactly as a single
//!   transfer's row; and the list sponge's two ends: it offers `ListCap(D, A[8], tx, 0,
//!   initial, 0, 0)` and takes `ListCap(D, A[8], tx, n, cap, 0, n mod 2)`, where `cap` and `n`
//!   are the signed payload and `A[8]` the sender's whole id, its high words the key tuple's.
//! - [`ListItemRole`], one row per transfer of a list: the balance move (the same block and
//!   constraints as a single transfer's, [`crate::transfer::balance_block`]) and its share of
//!   the list sponge, which absorbs the transfers' 12-element encodings `[to, amount]` as one
//!   stream in rate-8 blocks. An even item (`phase 0`) absorbs `[to, amount[0..4]]` and
//!   `[amount[4..8], next_to]`, taking `ListCap(.., j, cap, 0, 0)` and offering
//!   `ListCap(.., j + 1, cap', next_to, 1)`; an odd item absorbs `[amount[0..8]]`, taking
//!   `ListCap(.., j, cap, to, 1)` (its own receiver, already absorbed by the even item before
//!   it) and offering `ListCap(.., j + 1, cap', 0, 0)`. 1.5 Poseidon2 look-ups per transfer.
//!
//! Why an item row moves only what its sender signed: its `ListCap` entries name the sender
//! `from` and the domain `D` of the balances it moves, and the list position `tx` of the
//! head. Every item consumes one entry and produces the next index's, so the items of one
//! `(D, A, tx)` form a single path `0 -> n` from the head's initial capacity (the index only
//! rises; a cycle needs `p` rows), their phases alternate from 0, and the head accepts only
//! the capacity its signature covers. The blocks along the path are the padded stream of the
//! path's items (a pending receiver is consumed only by the item whose `to` it is), so the
//! items are the signed list (in its signed order), each once (any other list changes the
//! capacity, else a collision of the 248-bit capacity); like every row, they move balances
//! without a proven sequence (`Balance` tuples carry none), creating no value. The head is authorized like any signed row (its `tx`
//! is unique in the transaction list, the key step makes it the signer's next key use), so a
//! debit of `A` needs `A`'s signature either way. A single transfer's payload has an amount
//! limb (range-checked below `2^16`) where the list's has `LIST_MARK = 2^16`, so neither kind of
//! signature can stand in for the other.
//!
//! What a list does not bind (yet): its receivers are named by their low 124-bit ids, and an
//! item's `Balance` tuples take the ids' high words from unsigned columns, so a prover can
//! credit an owner whose low id equals the signed receiver's (a ~2^62 search over two
//! addresses the searcher chooses; a single transfer names all 248 bits).

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
    /// `n mod 2`: the phase the list sponge ends in (the items' path fixes it).
    pub const COUNT_ODD: usize = 35;
    /// The sender's id bits 124..248: not signed; the key tuple carries them, and the list's
    /// `ListCap` entries hand them to every item, whose debits name the sender by them.
    pub const FROM_HIGH: std::ops::Range<usize> = 36..40;
    pub const N: usize = 40;
}

impl Role for ListHeadRole {
    const NAME: &'static str = "signed_list_head";
    const N_COLUMNS: usize = list_head_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        vec![boolean(&c[list_head_cols::ENABLED]), boolean(&c[list_head_cols::COUNT_ODD])]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_head_cols::*;
        let e = c[ENABLED].clone();
        let (d, from, commitment) = (slice(c, DOMAIN), slice(c, FROM), slice(c, COMMITMENT));
        let from_high = slice(c, FROM_HIGH);
        let from_wide = [&from[..], &from_high].concat();
        let (count, tx) = (c[COUNT].clone(), c[TX].clone());
        // The payload `zkthread_sig::TransferListMessage` signs: `[cap_n, n, MARK, 0; 6]`.
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
                signer: from,
                signer_high: from_high,
                rho: slice(c, RHO),
                payload,
            },
        );
        let initial: Vec<T> = list_initial_cap().iter().map(|v| k(v.to_u32())).collect();
        let none = zeros::<T>(4);
        f.push(Frac::new(Rel::Link, e.clone(), link::list_cap(&d, &from_wide, tx.clone(), k(0), &initial, &none, k(0))));
        f.push(Frac::new(
            Rel::Link,
            neg(&e),
            link::list_cap(&d, &from_wide, tx, count, &commitment, &none, c[COUNT_ODD].clone()),
        ));
        f
    }

    fn batching() -> Vec<usize> {
        // 8 authorization + 2 list-end fractions, linear denominators: pairs (degree 3).
        (0..10).map(|i| i / 2).collect()
    }
}

/// `n` zeros.
fn zeros<T: Lane>(n: usize) -> Vec<T> {
    (0..n).map(|_| k(0)).collect()
}

/// One transfer of a signed list per row: the balance move and its share of the list sponge.
#[derive(Clone)]
pub struct ListItemRole;

pub mod list_item_cols {
    use std::ops::Range;
    /// An even item (`j mod 2 = 0`: two permutations).
    pub const EVEN: usize = 0;
    /// An odd item (one permutation). At most one of `EVEN`, `ODD` is set; neither on padding.
    pub const ODD: usize = 1;
    pub const DOMAIN: Range<usize> = 2..6;
    pub const FROM: Range<usize> = 6..10;
    pub const TO: Range<usize> = 10..14;
    /// Even items: the next item's receiver (0 after the last), absorbed in this row's second
    /// block.
    pub const NEXT_TO: Range<usize> = 14..18;
    /// The list's position in the sub-block (the head's `TX`).
    pub const TX: usize = 18;
    /// This transfer's place in its list.
    pub const INDEX: usize = 19;
    /// The list sponge's capacity before this row's blocks.
    pub const CAP: Range<usize> = 20..28;
    /// The first block: `[to, amount[0..4]]` (even), `[amount[0..8]]` (odd).
    pub const BLOCK: Range<usize> = 28..36;
    /// `P(BLOCK ++ CAP)`.
    pub const MID: Range<usize> = 36..52;
    /// Even items: `P([amount[4..8], NEXT_TO] ++ MID[8..16])`.
    pub const OUT: Range<usize> = 52..68;
    /// The balance move ([`super::balance_block`]).
    pub const BALANCES: Range<usize> = 68..146;
    /// Bits 124..248 of the sender's and the receiver's ids, not signed: the sender's come with
    /// the head's `ListCap` (its key tuple's), the receiver's are bound only by the statement
    /// to the credited balance's owner (a list names its receivers by `TO`, 124 bits).
    pub const FROM_HIGH: Range<usize> = 146..150;
    pub const TO_HIGH: Range<usize> = 150..154;
    pub const N: usize = 154;
    const _: () = assert!(BALANCES.end - BALANCES.start == super::balance_block::N);
}

impl Role for ListItemRole {
    const NAME: &'static str = "signed_list_item";
    const N_COLUMNS: usize = list_item_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use list_item_cols::*;
        let (even, odd) = (c[EVEN].clone(), c[ODD].clone());
        let amount = &c[BALANCES][balance_block::AMOUNT];
        let mut out = vec![boolean(&even), boolean(&odd), even.clone() * odd.clone()];
        // The first block is the item's own elements at its place in the stream.
        let even_block = [&c[TO], &amount[..4]].concat();
        for (i, b) in BLOCK.enumerate() {
            out.push(even.clone() * (c[b].clone() - even_block[i].clone()));
            out.push(odd.clone() * (c[b].clone() - amount[i].clone()));
        }
        out.extend(balance_constraints(&c[BALANCES]));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_item_cols::*;
        let (even, odd) = (c[EVEN].clone(), c[ODD].clone());
        let e = even.clone() + odd.clone();
        let (d, from, to, next_to) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO), slice(c, NEXT_TO));
        let (cap, block, mid, out) = (slice(c, CAP), slice(c, BLOCK), slice(c, MID), slice(c, OUT));
        let (tx, index) = (c[TX].clone(), c[INDEX].clone());
        let b = &c[BALANCES];
        let amount = &b[balance_block::AMOUNT];
        let next = index.clone() + k(1);
        let none = zeros::<T>(4);
        let from_wide = [&from[..], &c[FROM_HIGH]].concat();
        let to_wide = [&to[..], &c[TO_HIGH]].concat();
        let mut f = Vec::from(balance_moves(&e, &d, &from_wide, &to_wide, b));
        let first = [&block[..], &cap[..], &mid[..]].concat();
        let second = [&amount[4..], &next_to[..], &mid[8..], &out[..]].concat();
        f.push(Frac::new(Rel::Poseidon2, neg(&e), first));
        f.push(Frac::new(Rel::Poseidon2, neg(&even), second));
        let cap_at = |m: T, j: T, cap: &[T], pending: &[T], phase: u32| {
            Frac::new(Rel::Link, m, link::list_cap(&d, &from_wide, tx.clone(), j, cap, pending, k(phase)))
        };
        f.push(cap_at(neg(&even), index.clone(), &cap, &none, 0));
        f.push(cap_at(neg(&odd), index, &cap, &to, 1));
        f.push(cap_at(even, next.clone(), &out[8..], &next_to, 1));
        f.push(cap_at(odd, next, &mid[8..], &none, 0));
        f.extend(limb_range_checks(b));
        f
    }

    fn batching() -> Vec<usize> {
        // 4 + 2 + 4 + 48 fractions, linear denominators: pairs (degree 3).
        (0..58).map(|i| i / 2).collect()
    }
}
