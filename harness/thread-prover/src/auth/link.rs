//! Entries of `LinkRelation` and the framework's `StateRelation` kind (`Key`), built the same
//! way by every component and by the verifier's boundary. A program adds its own
//! `StateRelation` kinds (the token program's `Balance` is kind 0) with [`with_tag`].
//!
//! `LinkRelation` ties the pieces of one signature verification together; its first value is
//! a tag, so entries of different kinds never meet. Every entry of a signature carries the
//! sub-block position `tx` of the row it authorizes, which the transaction list makes unique
//! (one `Tx(i, d)` is absorbed per position), so the pieces of two signatures never meet
//! either — not even when both use one `pp`: `pp` is only a hash tweak, and anyone can
//! register a key over somebody else's `pp` (keyed by `pp` alone, two rows sharing it could
//! trade message blocks or chain walks, so a victim's real signature would digest half of a
//! forged row; `crossed_signatures_over_one_pp_do_not_verify` in the token's tests):
//! - `Chain(pp, tx, i, j, c[4])`: chain `i` of the key with public parameter `pp`, walked for
//!   the row at `tx`, holds `c` at position `j`;
//! - `Block(pp, tx, k, block[8])`: message block `k` of the row at `tx`;
//! - `DigestCap(pp, tx, k, cap[8])`: the digest sponge's capacity before block `k`, for the
//!   transfer at position `tx` of the sub-block;
//! - `KeyCap(pp, tx, b, cap[8], queue[8], phase, sigma)`: the key sponge before block `b`, with
//!   the digits still to read (`queue`: digest elements, the first one partly consumed), the
//!   position in the current element (`phase`) and the digit sum so far (`sigma`);
//! - `KeyOk(pp, tx, K[4])`: the key sponge over `pp` and the 32 chain-end pairs outputs `K`
//!   for the row at `tx`;
//! - `Tx(tx, d[8])`: the transfer at position `tx` has message digest `d`;
//! - `TxCap(i, cap[8])`: the transaction-list sponge's capacity after `i` digests
//!   (`zkthread_sig::tx_list`; the verifier's boundary offers `TxCap(0, initial)` and takes
//!   `TxCap(n, committed)`).
//! - `ListCap(D, A[8], tx, j, cap[8], pending[4], phase)`: the list sponge
//!   (`zkthread_sig::transfer_list`) of the signed list at position `tx`, signed by the account
//!   whose whole 248-bit id is `A` (the key tuple's, so every item debits that owner) in domain
//!   `D`, holds `cap` after its first `j` items (1.5 blocks each), with `pending` the part of
//!   item `j`'s encoding already absorbed (an odd item's receiver high words, else zeros) and
//!   `phase = j mod 2`. The list's signed row offers `ListCap(.., 0, initial, 0, 0)` and takes
//!   `ListCap(.., n, committed, 0, n mod 2)`; each item row moves `j` to `j + 1`.

use crate::role::{k, Lane};

pub const TAG_CHAIN: u32 = 1;
pub const TAG_BLOCK: u32 = 2;
pub const TAG_DIGEST_CAP: u32 = 3;
pub const TAG_KEY_CAP: u32 = 4;
pub const TAG_KEY_OK: u32 = 5;
pub const TAG_TX: u32 = 6;
pub const TAG_TX_CAP: u32 = 7;
pub const TAG_LIST_CAP: u32 = 8;

/// The `StateRelation` kind of a thread-key slot (replay state). Kind 0 and kinds from 2 up
/// are the program's.
pub const KIND_KEY: u32 = 1;

/// `[tag, parts...]`: an entry of kind (or tag) `tag`.
pub fn with_tag<T: Lane>(tag: u32, parts: &[&[T]]) -> Vec<T> {
    let mut out = vec![k::<T>(tag)];
    for part in parts {
        out.extend(part.iter().cloned());
    }
    out
}

pub fn chain<T: Lane>(pp: &[T], tx: T, i: T, j: T, c: &[T]) -> Vec<T> {
    with_tag(TAG_CHAIN, &[pp, &[tx, i, j], c])
}

pub fn block<T: Lane>(pp: &[T], tx: T, index: T, block: &[T]) -> Vec<T> {
    with_tag(TAG_BLOCK, &[pp, &[tx, index], block])
}

pub fn digest_cap<T: Lane>(pp: &[T], tx: T, index: T, cap: &[T]) -> Vec<T> {
    with_tag(TAG_DIGEST_CAP, &[pp, &[tx, index], cap])
}

/// `KeyCap(pp, tx, b, cap, queue, phase, sigma)`: 25 values with the tag.
pub fn key_cap<T: Lane>(pp: &[T], tx: T, b: T, cap: &[T], queue: &[T], phase: T, sigma: T) -> Vec<T> {
    with_tag(TAG_KEY_CAP, &[pp, &[tx, b], cap, queue, &[phase, sigma]])
}

pub fn key_ok<T: Lane>(pp: &[T], tx: T, key: &[T]) -> Vec<T> {
    with_tag(TAG_KEY_OK, &[pp, &[tx], key])
}

pub fn tx<T: Lane>(tx: T, digest: &[T]) -> Vec<T> {
    with_tag(TAG_TX, &[&[tx], digest])
}

pub fn tx_cap<T: Lane>(index: T, cap: &[T]) -> Vec<T> {
    with_tag(TAG_TX_CAP, &[&[index], cap])
}

/// `ListCap(D, A[8], tx, j, cap, pending, phase)`: 28 values with the tag (the longest entry,
/// `zkthread_prover::role::LINK_RELATION_SIZE`). `pending` is the part of item `j`'s encoding
/// the row of item `j - 1` absorbed (its receiver's high id when `j` is odd, zeros when even),
/// `phase` is `j mod 2`.
#[allow(clippy::too_many_arguments)]
pub fn list_cap<T: Lane>(domain: &[T], account: &[T], tx: T, index: T, cap: &[T], pending: &[T], phase: T) -> Vec<T> {
    with_tag(TAG_LIST_CAP, &[domain, account, &[tx, index], cap, pending, &[phase]])
}

/// `Key(1, D, A, nonce, K, A_high)`: `account` is the owner's whole 248-bit id `A ++ A_high`
/// (`zkthread_sig::domain::AccountId::words`), so a key slot names one owner up to a 248-bit
/// collision, like a token's `Balance` tuple. A program whose tuples name owners by `A` alone
/// passes zeros for `A_high` (the order book). The high words go last, so the `[kind, D, A]`
/// head is unchanged.
///
/// Why the key tuple needs them (helper-83's review, session 50): a signed row's sender
/// balance carries the high words in unsigned columns. Were the key tuple to carry `A` alone,
/// an owner `M` sharing `A` with a contract `V` others pay could sign a transfer of its own
/// whose row debits a `Balance(A ++ A_high(V))` tuple that another row of the same proof
/// credited for a payment signed to `V`: the two tuples cancel inside the proof, `V`'s slot
/// never shows, and `M`'s receiver keeps the payment. With the high words in the key tuple,
/// the debited balance's whole id is the key slot's owner's.
pub fn key<T: Lane>(domain: &[T], account: &[T], nonce: T, key: &[T]) -> Vec<T> {
    debug_assert_eq!(account.len(), 8);
    with_tag(KIND_KEY, &[domain, &account[..4], &[nonce], key, &account[4..]])
}
