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
//!   the list sponge (`zkthread_sig::transfer_list`: 12 elements a transfer, three blocks a
//!   pair). An even item `j` absorbs `[to, amount30]` and `[to_high, next_to_high]`, where
//!   `next_to_high` is item `j + 1`'s receiver's high id (zeros after the last item); an odd
//!   item absorbs `[to, amount30]` alone, and its `to_high` is the one its even neighbour
//!   absorbed, handed on in the `ListCap` entry between them (`pending`). Item `j` takes
//!   `ListCap(.., j, cap, pending, j mod 2)` and offers `ListCap(.., j + 1, cap', pending',
//!   (j + 1) mod 2)`. `amount30` is the amount's four 30-bit chunks, linear in the balance
//!   block's limbs and their low bytes and in eight split bits ([`amount_chunks`]). Two
//!   Poseidon2 look-ups on an even item, one on an odd one.
//!
//! Why an item row moves only what its sender signed: its `ListCap` entries name the sender
//! `from` and the domain `D` of the balances it moves, and the list position `tx` of the
//! head. Every item consumes one entry and produces the next index's, so the items of one
//! `(D, A, tx)` form a single path `0 -> n` from the head's initial capacity (the index only
//! rises; a cycle needs `p` rows), and the head accepts only the capacity its signature
//! covers. The phase alternates along the path (an even item takes phase 0 and offers 1, an
//! odd one the reverse; the head offers phase 0 and takes `n mod 2`), so item `j` absorbs the
//! blocks of its parity, and the blocks along the path are the signed stream, each block made
//! of the items' own `TO`, amount and `TO_HIGH` columns (an odd item's `TO_HIGH` through the
//! pending value, which the head takes as zeros at the end, the stream's padding). So the
//! items are the signed list (in its signed order), each once (any other list changes the
//! capacity, else a collision of the 248-bit capacity), each paying the whole 248-bit id and
//! the amount its sender signed: the chunks are below `2^30` on both sides, so equal elements
//! are equal chunks, and the chunks fix the limbs. Like every row, they move balances without
//! a proven sequence (`Balance` tuples carry none), creating no value. The head is authorized
//! like any signed row (its `tx` is unique in the transaction list, the key step makes it the
//! signer's next key use), so a debit of `A` needs `A`'s signature either way. A single
//! transfer's payload has an amount limb (range-checked below `2^16`) where the list's has
//! `LIST_MARK = 2^16`, so neither kind of signature can stand in for the other.
//!
//! History: until session 51 (version 3) a list named its receivers by their low 124-bit ids
//! (12 elements an item, this same even/odd layout); version 4 signed all 248 bits at two
//! permutations a transfer (16-bit amount limbs, an item's own two blocks); version 5 packs
//! the amount into four 30-bit elements, so a transfer is 12 elements again with its whole
//! receiver, and one sender's 256 transfers fit 2^9 Poseidon2 rows.

use stwo::core::fields::m31::BaseField;
use zkthread_prover::auth::link;
use zkthread_prover::auth::roles::{signed_transaction, SignedFields};
use zkthread_prover::range::INV_256;
use zkthread_prover::role::{boolean, k, neg, slice, Frac, Lane, Rel, Role};
use zkthread_sig::transfer_list::{list_initial_cap, LIST_COUNT_AT, LIST_MARK, LIST_MARK_AT};

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
    /// `n mod 2`: the phase the list's path ends in. A boolean the prover chooses, not tied to
    /// `COUNT` by a constraint: the items' alternation fixes it (the path's entry at `n` has
    /// phase `n mod 2`), so a wrong value leaves the `ListCap` entry the head takes unoffered.
    pub const COUNT_ODD: usize = 35;
    /// The sender's id bits 124..248: not signed; the key tuple carries them, and the list's
    /// `ListCap` entries hand them to every item, whose debits name the sender by them.
    pub const FROM_HIGH: Range<usize> = 36..40;
    pub const N: usize = 40;
}

/// `n` zeros.
fn zeros<T: Lane>(n: usize) -> Vec<T> {
    (0..n).map(|_| k(0)).collect()
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
        let (count, tx) = (c[COUNT].clone(), c[TX].clone());
        // The payload `zkthread_sig::TransferListMessage` signs: `[cap_n, n, MARK, 0; 6]`.
        let mut payload: Vec<T> = zeros(zkthread_sig::PAYLOAD_LEN);
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
        // Nothing pending at either end: the path starts even, and ends on the stream's padding.
        let none = zeros::<T>(4);
        f.push(Frac::new(Rel::Link, e.clone(), link::list_cap(&d, &from_wide, tx.clone(), k(0), &initial, &none, k(0))));
        let end = link::list_cap(&d, &from_wide, tx, count, &commitment, &none, c[COUNT_ODD].clone());
        f.push(Frac::new(Rel::Link, neg(&e), end));
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
    /// An even item (`j mod 2 = 0`: two permutations).
    pub const EVEN: usize = 0;
    /// An odd item (one permutation). At most one of `EVEN`, `ODD` is set; neither on padding.
    pub const ODD: usize = 1;
    pub const DOMAIN: Range<usize> = 2..6;
    pub const FROM: Range<usize> = 6..10;
    /// The receiver's id bits 0..124 (signed: the item's first block).
    pub const TO: Range<usize> = 10..14;
    /// Even items: the next item's receiver's high id (zeros after the last item), absorbed in
    /// this row's second block and handed to the next item as pending.
    pub const NEXT_TO_HIGH: Range<usize> = 14..18;
    /// The list's position in the sub-block (the head's `TX`).
    pub const TX: usize = 18;
    /// This transfer's place in its list.
    pub const INDEX: usize = 19;
    /// The list sponge's capacity before this row's blocks.
    pub const CAP: Range<usize> = 20..28;
    /// `P([to, amount30] ++ CAP)`.
    pub const MID: Range<usize> = 28..44;
    /// Even items: `P([to_high, next_to_high] ++ MID[8..16])`. Unused on odd items (every
    /// fraction that reads it, and `NEXT_TO_HIGH`, has multiplicity `EVEN = 0` there; the
    /// witness writes zeros).
    pub const OUT: Range<usize> = 44..60;
    /// The balance move ([`super::balance_block`]).
    pub const BALANCES: Range<usize> = 60..138;
    /// Bits 124..248 of the sender's id: not signed here, they come with the head's `ListCap`
    /// (its key tuple's).
    pub const FROM_HIGH: Range<usize> = 138..142;
    /// Bits 124..248 of the receiver's id (signed: an even item's second block, or the
    /// pending value an odd item takes from its even neighbour).
    pub const TO_HIGH: Range<usize> = 142..146;
    /// The eight split bits of [`super::amount_chunks`].
    pub const SPLIT: Range<usize> = 146..154;
    pub const N: usize = 154;
    const _: () = assert!(BALANCES.end - BALANCES.start == super::balance_block::N);
}

/// The amount's four 30-bit chunks (`zkthread_sig::transfer_list::amount_elements`) from a
/// balance block's amount limbs `l_k` and their low bytes `L_k` (range-checked by
/// [`limb_range_checks`]; each high byte is `H_k = (l_k - L_k) / 2^8`), and eight split bits
/// `s`, with the constraints ([`amount_chunk_constraints`]) and range look-ups that make them
/// exact:
///
/// ```text
/// H_1 = a1 + 2^6 b1   b1 = s0 + 2 s1            (look-up 4 a1: a1 < 2^6)
/// H_3 = a3 + 2^4 b3   b3 = s2 + 2 s3 + 4 s4 + 8 s5  (look-up 16 a3: a3 < 2^4)
/// H_5 = a5 + 2^2 b5   a5 = s6 + 2 s7            (look-up b5: b5 < 2^6)
/// H_7 = 0             (l_7 = L_7: the amount is below 2^120)
/// e0 = l0 + 2^16 L1 + 2^24 a1          bits 0..30
/// e1 = b1 + 2^2 l2 + 2^18 L3 + 2^26 a3  bits 30..60
/// e2 = b3 + 2^4 l4 + 2^20 L5 + 2^28 a5  bits 60..90
/// e3 = b5 + 2^6 l6 + 2^22 l7            bits 90..120
/// ```
///
/// Each bit is boolean; `H_k` is in `0..2^8` as an integer, so `a1 = H_1 - 2^6 b1` lies in
/// `(-2^8, 2^8)` and its look-up `4 a1 < 2^8` (no wrap mod `p`) puts it in `0..2^6`; the same
/// for `a3`; `4 b5 = H_5 - a5` is in `(-4, 2^8)` and `b5`'s look-up makes it a multiple of 4 in
/// range. So each chunk is the integer the bits of the amount name, below `2^30 < p`, and
/// every amount below `2^120` has exactly one witness (the split bits of its bytes).
/// Returns `(chunks, look-ups)`; the look-ups have multiplicity 1 (padding rows are zeros,
/// which pass). The constraints are [`amount_chunk_constraints`].
pub fn amount_chunks<T: Lane>(b: &[T], s: &[T]) -> ([T; 4], Vec<Frac<T>>) {
    use balance_block::{AMOUNT, LIMB_LO};
    let l = |i: usize| b[AMOUNT.start + i].clone();
    // The amount's limbs are the first eight range-checked ones: their low bytes come first.
    let lo = |i: usize| b[LIMB_LO.start + i].clone();
    let hi = |i: usize| (l(i) - lo(i)) * BaseField::from(INV_256);
    let c = |v: u32| BaseField::from(v);
    let bits = |r: std::ops::Range<usize>| r.enumerate().fold(T::zero(), |acc, (j, i)| acc + s[i].clone() * c(1 << j));
    let (b1, b3, a5) = (bits(0..2), bits(2..6), bits(6..8));
    let a1 = hi(1) - b1.clone() * c(1 << 6);
    let a3 = hi(3) - b3.clone() * c(1 << 4);
    // `(H_5 - a5) / 4`; `2^-2 = 2^29` in M31.
    let b5 = (hi(5) - a5.clone()) * c(1 << 29);
    let chunks = [
        l(0) + lo(1) * c(1 << 16) + a1.clone() * c(1 << 24),
        b1 + l(2) * c(1 << 2) + lo(3) * c(1 << 18) + a3.clone() * c(1 << 26),
        b3 + l(4) * c(1 << 4) + lo(5) * c(1 << 20) + a5 * c(1 << 28),
        b5.clone() + l(6) * c(1 << 6) + l(7) * c(1 << 22),
    ];
    let looks = [a1 * c(4), a3 * c(16), b5];
    let lookups = looks.into_iter().map(|v| Frac::new(Rel::Range, k(1), vec![v])).collect();
    (chunks, lookups)
}

/// The constraints of [`amount_chunks`] on a balance block `b` and split bits `s`: each bit
/// boolean, and the top limb's high byte zero (`l7 = L7`). Apart from the chunks, so the
/// constraint evaluation builds no chunk or look-up expression it does not use.
pub fn amount_chunk_constraints<T: Lane>(b: &[T], s: &[T]) -> Vec<T> {
    use balance_block::{AMOUNT, LIMB_LO};
    let mut constraints: Vec<T> = s.iter().map(boolean).collect();
    // The only guard of the top chunk: without it `2^22 l7` wraps mod p (`l7 = 2^9` gives
    // `2^31 = 1`), and 2^121 + 100 has the elements of 2^90 + 100
    // (`an_item_amount_aliasing_the_signed_one_mod_p_does_not_verify`).
    constraints.push(b[AMOUNT.start + 7].clone() - b[LIMB_LO.start + 7].clone());
    constraints
}

impl Role for ListItemRole {
    const NAME: &'static str = "signed_list_item";
    const N_COLUMNS: usize = list_item_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use list_item_cols::*;
        let (even, odd) = (c[EVEN].clone(), c[ODD].clone());
        let mut out = vec![boolean(&even), boolean(&odd), even * odd];
        out.extend(balance_constraints(&c[BALANCES]));
        out.extend(amount_chunk_constraints(&c[BALANCES], &c[SPLIT]));
        out
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use list_item_cols::*;
        let (even, odd) = (c[EVEN].clone(), c[ODD].clone());
        let e = even.clone() + odd.clone();
        let (d, from, to, to_high) = (slice(c, DOMAIN), slice(c, FROM), slice(c, TO), slice(c, TO_HIGH));
        let (cap, mid, out, next_to_high) = (slice(c, CAP), slice(c, MID), slice(c, OUT), slice(c, NEXT_TO_HIGH));
        let (tx, index) = (c[TX].clone(), c[INDEX].clone());
        let b = &c[BALANCES];
        let (chunks, amount_lookups) = amount_chunks(b, &c[SPLIT]);
        let from_wide = [&from[..], &c[FROM_HIGH]].concat();
        let to_wide = [&to[..], &to_high[..]].concat();
        let mut f = Vec::from(balance_moves(&e, &d, &from_wide, &to_wide, b));
        // The blocks are the item's own receiver and amount columns: what its balance moves
        // credit is what the list signed. Both parities open with `[to, amount30]`.
        let first = [&to[..], &chunks[..], &cap[..], &mid[..]].concat();
        let second = [&to_high[..], &next_to_high[..], &mid[8..], &out[..]].concat();
        f.push(Frac::new(Rel::Poseidon2, neg(&e), first));
        f.push(Frac::new(Rel::Poseidon2, neg(&even), second));
        let next = index.clone() + k(1);
        let none = zeros::<T>(4);
        let cap_at = |m: T, j: T, cap: &[T], pending: &[T], phase: u32| {
            Frac::new(Rel::Link, m, link::list_cap(&d, &from_wide, tx.clone(), j, cap, pending, k(phase)))
        };
        f.push(cap_at(neg(&even), index.clone(), &cap, &none, 0));
        // An odd item's receiver's high id is the one its even neighbour absorbed.
        f.push(cap_at(neg(&odd), index, &cap, &to_high, 1));
        f.push(cap_at(even, next.clone(), &out[8..], &next_to_high, 1));
        f.push(cap_at(odd, next, &mid[8..], &none, 0));
        f.extend(limb_range_checks(b));
        f.extend(amount_lookups);
        f
    }

    fn batching() -> Vec<usize> {
        // 4 + 2 + 4 + 48 + 3 fractions, linear denominators: pairs (degree 3).
        (0..61).map(|i| i / 2).collect()
    }
}
