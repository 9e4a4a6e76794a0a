//! `StateRelation` / `LinkRelation` pieces every signed program's statement shares: the
//! `[kind, D, A]` head of a state tuple (`head_sum`, `mul_add_hash4`) and the transaction list's
//! `LinkRelation` pair (the Rust `tx_list_boundary_sum`), on the felt-coordinate fraction sums
//! of `thread_verifier::fraction` (re-exported here).

use stark_verifier::fields::{M31, M31Trait, QM31};
use thread_verifier::lookup::LookupElements;
pub use thread_verifier::fraction::{
    Coordinates, combine, coordinates, dot, mul_add, mul_add_limbs16, sum_of_differences, weights,
};
use crate::ids::Hash4;

/// `LinkRelation` tag of a transaction-list capacity (`zkthread_prover::auth::link`).
pub const TAG_TX_CAP: u32 = 7;
/// `zkthread_sig::tx_list::TAG_TX_LIST`: the first word of the empty list's capacity.
pub const TAG_TX_LIST: u32 = 7;
/// Values of a `StateRelation` entry (`zkthread_prover::role::STATE_RELATION_SIZE`).
pub const STATE_RELATION_SIZE: u32 = 21;
/// `StateRelation` kind of the framework's thread-key tuple `Key(1, D, A, nonce, K[4], A_high)`
/// (`zkthread_prover::auth::link`).
pub const KIND_KEY: u32 = 1;

/// Appends the four words of `h` as M31s.
pub fn append_hash4(ref out: Array<M31>, h: Hash4) {
    let (a, b, c, d) = h;
    out.append(M31Trait::from_u32_unchecked(a));
    out.append(M31Trait::from_u32_unchecked(b));
    out.append(M31Trait::from_u32_unchecked(c));
    out.append(M31Trait::from_u32_unchecked(d));
}

#[inline(always)]
pub fn mul_add_hash4(acc: Coordinates, ref weights: Span<Coordinates>, h: Hash4) -> Coordinates {
    let (a, b, c, d) = h;
    let acc = mul_add(acc, ref weights, a.into());
    let acc = mul_add(acc, ref weights, b.into());
    let acc = mul_add(acc, ref weights, c.into());
    mul_add(acc, ref weights, d.into())
}

/// `minus_z + sum_i alpha^i v_i` over the `[kind, D, A]` head, unreduced (below 2^66).
pub fn head_sum(
    mut weights: Span<Coordinates>, minus_z: Coordinates, kind: felt252, domain: Hash4, account: Hash4,
) -> Coordinates {
    let acc = mul_add(minus_z, ref weights, kind);
    let acc = mul_add_hash4(acc, ref weights, domain);
    mul_add_hash4(acc, ref weights, account)
}

/// `(d(TxCap(n, cap)), d(TxCap(0, initial)))` in `link`. For the empty list (`n = 0`, `cap`
/// initial) the two are equal and the pair adds exactly zero.
pub fn tx_list_pair(count: u32, cap: Span<M31>, link: @LookupElements) -> (Coordinates, Coordinates) {
    let mut initial: Array<M31> = array![M31Trait::from_u32_unchecked(TAG_TX_LIST)];
    while initial.len() != 8 {
        initial.append(M31Trait::from_u32_unchecked(0));
    };
    let (weights, minus_z) = weights(link, 10);
    (
        coordinates(combine(tx_cap_entry(count, cap), weights, minus_z)),
        coordinates(combine(tx_cap_entry(0, initial.span()), weights, minus_z)),
    )
}

/// `1/d(TxCap(n, cap)) - 1/d(TxCap(0, initial))` in `link` (the Rust
/// `tx_list_boundary_sum`): zero for the empty list, Err if a denominator is zero.
pub fn tx_list_boundary_sum(
    count: u32, cap: Span<M31>, link: @LookupElements,
) -> Result<QM31, felt252> {
    sum_of_differences(array![tx_list_pair(count, cap, link)].span())
}

/// `TxCap(index, cap)`: `[TAG_TX_CAP, index, cap[8]]`.
fn tx_cap_entry(index: u32, cap: Span<M31>) -> Span<M31> {
    let mut values = array![
        M31Trait::from_u32_unchecked(TAG_TX_CAP), M31Trait::from_u32_unchecked(index),
    ];
    values.append_span(cap);
    values.span()
}
