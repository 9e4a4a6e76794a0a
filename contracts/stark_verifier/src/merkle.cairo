//! Poseidon252 Merkle hashing and decommitment checks as stwo 2.3 does them.
//!
//! - `hash_node`: stwo's `vcs::poseidon252_merkle::Poseidon252MerkleHasher` (node hash with
//!   optional children and column values), kept for the non-lifted layout.
//! - `MerkleVerifierLifted`: stwo's `vcs_lifted` verifier, the one the 2.3 PCS and FRI use.
//!   Every column is lifted to the tree height, a leaf hashes one full row (columns sorted by
//!   log size, stable), inner nodes are poseidon(left, right).

use crate::fields::M31;
use crate::channel::{poseidon_hash_felts, poseidon_hash_pair};
use core::cmp::max;

/// M31s packed per felt252.
pub const ELEMENTS_IN_BLOCK: u32 = 8;
const TWO_POW_31: felt252 = 0x80000000;
const TWO_POW_248: felt252 = 0x100000000000000000000000000000000000000000000000000000000000000;

/// Packs up to 8 M31s big-endian in base 2^31; a block of fewer than 8 carries its length in
/// bits 248..251 (stwo's `construct_felt252_from_m31s`).
pub fn pack_m31_block(block: Span<M31>) -> felt252 {
    let mut word: felt252 = 0;
    let mut rest = block;
    let len = block.len();
    loop {
        match rest.pop_front() {
            Option::Some(value) => { word = word * TWO_POW_31 + (*value.inner).into(); },
            Option::None => { break; },
        }
    };
    if len < ELEMENTS_IN_BLOCK {
        word = word + len.into() * TWO_POW_248;
    }
    word
}

/// Appends the packed blocks of `values` (chunks of 8, the last possibly shorter).
fn append_packed_blocks(ref out: Array<felt252>, values: Span<M31>) {
    let mut rest = values;
    // Full blocks without a per-element loop: one multi-pop per 8 values.
    loop {
        match rest.multi_pop_front::<8>() {
            Option::Some(block) => {
                let [v0, v1, v2, v3, v4, v5, v6, v7] = (*block).unbox();
                let mut word: felt252 = v0.inner.into();
                word = word * TWO_POW_31 + v1.inner.into();
                word = word * TWO_POW_31 + v2.inner.into();
                word = word * TWO_POW_31 + v3.inner.into();
                word = word * TWO_POW_31 + v4.inner.into();
                word = word * TWO_POW_31 + v5.inner.into();
                word = word * TWO_POW_31 + v6.inner.into();
                word = word * TWO_POW_31 + v7.inner.into();
                out.append(word);
            },
            Option::None => { break; },
        }
    };
    if rest.len() != 0 {
        out.append(pack_m31_block(rest));
    }
}

/// stwo's (non-lifted) `Poseidon252MerkleHasher::hash_node`.
pub fn hash_node(children: Option<(felt252, felt252)>, column_values: Span<M31>) -> felt252 {
    let mut words: Array<felt252> = array![];
    match children {
        Option::Some((
            left, right,
        )) => {
            if column_values.len() == 0 {
                return poseidon_hash_pair(left, right);
            }
            words.append(left);
            words.append(right);
        },
        Option::None => {},
    }
    append_packed_blocks(ref words, column_values);
    poseidon_hash_felts(words.span())
}

/// Leaf hash of the lifted tree: the sponge over the packed row, i.e.
/// poseidon_hash_felts(pack(row[0..8]), pack(row[8..16]), ...).
pub fn lifted_leaf_hash(row: Span<M31>) -> felt252 {
    let mut words: Array<felt252> = array![];
    append_packed_blocks(ref words, row);
    poseidon_hash_felts(words.span())
}

/// `lifted_leaf_hash` of row q of `columns` (in their order), packed straight from the
/// columns eight at a time without building the row.
fn row_leaf_hash(columns: Span<Span<felt252>>, q: u32) -> felt252 {
    let mut words: Array<felt252> = array![];
    let mut rest = columns;
    loop {
        match rest.multi_pop_front::<8>() {
            Option::Some(block) => {
                let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
                let mut word: felt252 = *c0[q];
                word = word * TWO_POW_31 + *c1[q];
                word = word * TWO_POW_31 + *c2[q];
                word = word * TWO_POW_31 + *c3[q];
                word = word * TWO_POW_31 + *c4[q];
                word = word * TWO_POW_31 + *c5[q];
                word = word * TWO_POW_31 + *c6[q];
                word = word * TWO_POW_31 + *c7[q];
                words.append(word);
            },
            Option::None => { break; },
        }
    };
    let len = rest.len();
    if len != 0 {
        // A short last block carries its length in bits 248..251.
        let mut word: felt252 = 0;
        for column in rest {
            word = word * TWO_POW_31 + *(*column)[q];
        };
        words.append(word + len.into() * TWO_POW_248);
    }
    poseidon_hash_felts(words.span())
}

/// The first eight values of `column`, the rest of it appended to `rest` (popped, not sliced:
/// a slice costs a range check).
#[inline(always)]
fn eight_values(
    column: Span<felt252>, ref rest: Array<Span<felt252>>,
) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
    let mut values = column;
    let [a, b, c, d, e, f, g, h] = (*values.multi_pop_front::<8>().unwrap()).unbox();
    rest.append(values);
    (a, b, c, d, e, f, g, h)
}

/// `row_leaf_hash` of the first eight rows of `columns`, appended to `hashes`: each column's
/// eight values popped at once (a column's pop and re-append costs more than packing its
/// values, so the more rows per pass the better); `columns` becomes the columns without them.
fn row_leaf_hashes_eight(ref columns: Span<Span<felt252>>, ref hashes: Array<felt252>) {
    let mut advanced: Array<Span<felt252>> = array![];
    let mut words_a: Array<felt252> = array![];
    let mut words_b: Array<felt252> = array![];
    let mut words_c: Array<felt252> = array![];
    let mut words_d: Array<felt252> = array![];
    let mut words_e: Array<felt252> = array![];
    let mut words_f: Array<felt252> = array![];
    let mut words_g: Array<felt252> = array![];
    let mut words_h: Array<felt252> = array![];
    let mut rest = columns;
    while let Option::Some(block) = rest.multi_pop_front::<8>() {
        let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
        let (mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h) = eight_values(
            c0, ref advanced,
        );
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c1, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c2, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c3, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c4, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c5, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c6, ref advanced);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        e = e * TWO_POW_31 + e1;
        f = f * TWO_POW_31 + f1;
        g = g * TWO_POW_31 + g1;
        h = h * TWO_POW_31 + h1;
        let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(c7, ref advanced);
        words_a.append(a * TWO_POW_31 + a1);
        words_b.append(b * TWO_POW_31 + b1);
        words_c.append(c * TWO_POW_31 + c1_);
        words_d.append(d * TWO_POW_31 + d1);
        words_e.append(e * TWO_POW_31 + e1);
        words_f.append(f * TWO_POW_31 + f1);
        words_g.append(g * TWO_POW_31 + g1);
        words_h.append(h * TWO_POW_31 + h1);
    };
    let len = rest.len();
    if len != 0 {
        // A short last block carries its length in bits 248..251.
        let mut a: felt252 = 0;
        let mut b: felt252 = 0;
        let mut c: felt252 = 0;
        let mut d: felt252 = 0;
        let mut e: felt252 = 0;
        let mut f: felt252 = 0;
        let mut g: felt252 = 0;
        let mut h: felt252 = 0;
        for column in rest {
            let (a1, b1, c1_, d1, e1, f1, g1, h1) = eight_values(*column, ref advanced);
            a = a * TWO_POW_31 + a1;
            b = b * TWO_POW_31 + b1;
            c = c * TWO_POW_31 + c1_;
            d = d * TWO_POW_31 + d1;
            e = e * TWO_POW_31 + e1;
            f = f * TWO_POW_31 + f1;
            g = g * TWO_POW_31 + g1;
            h = h * TWO_POW_31 + h1;
        };
        let tag = len.into() * TWO_POW_248;
        words_a.append(a + tag);
        words_b.append(b + tag);
        words_c.append(c + tag);
        words_d.append(d + tag);
        words_e.append(e + tag);
        words_f.append(f + tag);
        words_g.append(g + tag);
        words_h.append(h + tag);
    }
    columns = advanced.span();
    hashes.append(poseidon_hash_felts(words_a.span()));
    hashes.append(poseidon_hash_felts(words_b.span()));
    hashes.append(poseidon_hash_felts(words_c.span()));
    hashes.append(poseidon_hash_felts(words_d.span()));
    hashes.append(poseidon_hash_felts(words_e.span()));
    hashes.append(poseidon_hash_felts(words_f.span()));
    hashes.append(poseidon_hash_felts(words_g.span()));
    hashes.append(poseidon_hash_felts(words_h.span()));
}

/// The first four values of `column`. Unlike `eight_values` it keeps nothing of the rest:
/// the pass of four is the last pass, and rows after it are read from the untouched columns.
#[inline(always)]
fn four_values(column: Span<felt252>) -> (felt252, felt252, felt252, felt252) {
    let mut values = column;
    let [a, b, c, d] = (*values.multi_pop_front::<4>().unwrap()).unbox();
    (a, b, c, d)
}

/// `row_leaf_hash` of the first four rows of `columns`, appended to `hashes`, as
/// `row_leaf_hashes_eight` does for eight (each column's four values popped at once).
fn row_leaf_hashes_four(columns: Span<Span<felt252>>, ref hashes: Array<felt252>) {
    let mut words_a: Array<felt252> = array![];
    let mut words_b: Array<felt252> = array![];
    let mut words_c: Array<felt252> = array![];
    let mut words_d: Array<felt252> = array![];
    let mut rest = columns;
    while let Option::Some(block) = rest.multi_pop_front::<8>() {
        let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
        let (mut a, mut b, mut c, mut d) = four_values(c0);
        let (a1, b1, c1_, d1) = four_values(c1);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c2);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c3);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c4);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c5);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c6);
        a = a * TWO_POW_31 + a1;
        b = b * TWO_POW_31 + b1;
        c = c * TWO_POW_31 + c1_;
        d = d * TWO_POW_31 + d1;
        let (a1, b1, c1_, d1) = four_values(c7);
        words_a.append(a * TWO_POW_31 + a1);
        words_b.append(b * TWO_POW_31 + b1);
        words_c.append(c * TWO_POW_31 + c1_);
        words_d.append(d * TWO_POW_31 + d1);
    };
    let len = rest.len();
    if len != 0 {
        // A short last block carries its length in bits 248..251.
        let mut a: felt252 = 0;
        let mut b: felt252 = 0;
        let mut c: felt252 = 0;
        let mut d: felt252 = 0;
        for column in rest {
            let (a1, b1, c1_, d1) = four_values(*column);
            a = a * TWO_POW_31 + a1;
            b = b * TWO_POW_31 + b1;
            c = c * TWO_POW_31 + c1_;
            d = d * TWO_POW_31 + d1;
        };
        let tag = len.into() * TWO_POW_248;
        words_a.append(a + tag);
        words_b.append(b + tag);
        words_c.append(c + tag);
        words_d.append(d + tag);
    }
    hashes.append(poseidon_hash_felts(words_a.span()));
    hashes.append(poseidon_hash_felts(words_b.span()));
    hashes.append(poseidon_hash_felts(words_c.span()));
    hashes.append(poseidon_hash_felts(words_d.span()));
}

/// How a verifier hashes its queried rows into leaves, and sums their columns for the DEEP
/// quotients: every impl gives `row_leaf_hash` of every row 0..n_queries of `columns` (each
/// column holds n_queries values), in order, and the same sums; they differ only in the code
/// they compile into a class. A pass over many rows (or columns) at once is cheaper per row
/// but its code is large, so a verifier takes only what its class has room for: the signed
/// and order-book verifiers (`RowsByEight`) the short code, the list verifier
/// (`RowsByEightAndFour`) the wide one.
pub trait LeafRows<T> {
    fn leaf_hashes(columns: Span<Span<felt252>>, n_queries: u32) -> Array<felt252>;
    /// The DEEP sums of a block of four queries q0..q0 + 4 (`pcs::sums_four`): one column per
    /// iteration where the block never comes up (16 queries), eight where a parameter set
    /// queries it on every proof (20 queries: `pcs::sums_four_wide`).
    fn sums_four(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32,
    ) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252);
    /// The DEEP sums of a block of eight queries (`pcs::sums_eight`): four columns per
    /// iteration, or eight (`pcs::sums_eight_wide`).
    fn sums_eight(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32, ref out: Array<(felt252, felt252)>,
    );
}

/// Passes of eight rows, the last n_queries mod 8 rows one at a time: for parameter sets
/// querying a multiple of eight positions (16 in every default set), nothing is left over.
#[derive(Copy, Drop)]
pub struct RowsByEight {}

/// `RowsByEight`'s passes with the DEEP sums of eight queries taken eight columns an
/// iteration (`pcs::sums_eight_wide`): for a verifier querying 16 positions whose class has
/// room for the wider code (the signed token's; the order book's has not).
#[derive(Copy, Drop)]
pub struct RowsByEightWide {}

/// Passes of eight rows, then one of four if four or more are left, the rest one at a time:
/// for the fast list set's 20 queries (8 + 8 + 4). Hashing its four leftover rows one at a
/// time cost ~59k steps on a 256-transfer list proof, the pass ~26k (verification 1.514e8 ->
/// 1.481e8 L2 gas); the pass costs a class 1,003 CASM felts, which only the list verifier's
/// has room for (the order book's sits 66 under the limit). Its DEEP sums take eight columns
/// an iteration (session 57: with `thread_verifier::proof::Mixed` at four felts in eight,
/// the fast set's 256-transfer list proof 1.517e8 -> 1.497e8 L2 gas, the default set's
/// 1.336e8 -> 1.332e8, for 1,744 CASM felts, the two together).
#[derive(Copy, Drop)]
pub struct RowsByEightAndFour {}

/// Hashes rows by passes of eight while a whole pass is left; `rest` becomes the columns
/// without them.
fn eight_row_passes(ref rest: Span<Span<felt252>>, ref hashes: Array<felt252>, n_queries: u32) {
    let n_eight = n_queries - n_queries % 8;
    while hashes.len() != n_eight {
        row_leaf_hashes_eight(ref rest, ref hashes);
    };
}

/// Hashes the rows from `hashes.len()` to n_queries one at a time (row q of the untouched
/// `columns`).
fn single_rows(columns: Span<Span<felt252>>, ref hashes: Array<felt252>, n_queries: u32) {
    while hashes.len() != n_queries {
        hashes.append(row_leaf_hash(columns, hashes.len()));
    };
}

impl RowsByEightLeafRows of LeafRows<RowsByEight> {
    fn leaf_hashes(columns: Span<Span<felt252>>, n_queries: u32) -> Array<felt252> {
        let mut hashes: Array<felt252> = array![];
        let mut rest = columns;
        eight_row_passes(ref rest, ref hashes, n_queries);
        single_rows(columns, ref hashes, n_queries);
        hashes
    }

    #[inline(always)]
    fn sums_four(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32,
    ) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
        crate::pcs::sums_four(columns, q0)
    }

    #[inline(always)]
    fn sums_eight(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32, ref out: Array<(felt252, felt252)>,
    ) {
        crate::pcs::sums_eight(columns, q0, ref out)
    }
}

impl RowsByEightWideLeafRows of LeafRows<RowsByEightWide> {
    fn leaf_hashes(columns: Span<Span<felt252>>, n_queries: u32) -> Array<felt252> {
        LeafRows::<RowsByEight>::leaf_hashes(columns, n_queries)
    }

    #[inline(always)]
    fn sums_four(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32,
    ) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
        crate::pcs::sums_four(columns, q0)
    }

    #[inline(always)]
    fn sums_eight(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32, ref out: Array<(felt252, felt252)>,
    ) {
        crate::pcs::sums_eight_wide(columns, q0, ref out)
    }
}

impl RowsByEightAndFourLeafRows of LeafRows<RowsByEightAndFour> {
    fn leaf_hashes(columns: Span<Span<felt252>>, n_queries: u32) -> Array<felt252> {
        let mut hashes: Array<felt252> = array![];
        let mut rest = columns;
        eight_row_passes(ref rest, ref hashes, n_queries);
        if n_queries % 8 >= 4 {
            row_leaf_hashes_four(rest, ref hashes);
        }
        single_rows(columns, ref hashes, n_queries);
        hashes
    }

    #[inline(always)]
    fn sums_four(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32,
    ) -> (felt252, felt252, felt252, felt252, felt252, felt252, felt252, felt252) {
        crate::pcs::sums_four_wide(columns, q0)
    }

    #[inline(always)]
    fn sums_eight(
        columns: Span<(Span<felt252>, felt252, felt252)>, q0: u32, ref out: Array<(felt252, felt252)>,
    ) {
        crate::pcs::sums_eight_wide(columns, q0, ref out)
    }
}

/// Inner node of the lifted tree.
#[inline]
pub fn hash_children(left: felt252, right: felt252) -> felt252 {
    poseidon_hash_pair(left, right)
}

#[derive(Copy, Drop, Debug, PartialEq)]
pub enum MerkleVerificationError {
    WitnessTooShort,
    WitnessTooLong,
    RootMismatch,
    /// A column does not hold one value per query position (stwo panics here).
    ValuesCountMismatch,
    /// Two equal query positions came with different values (stwo panics here).
    DuplicateQueryMismatch,
    /// Positions must be ascending and inside the tree.
    BadQueryPosition,
    /// A column is taller than the tree.
    ColumnTooLarge,
}

#[derive(Copy, Drop, Debug)]
pub struct MerkleVerifierLifted {
    pub root: felt252,
    /// Log sizes of the committed columns, in commitment order, each `log_blowup` below the
    /// log size of the domain its values are committed on.
    pub column_log_sizes: Span<u32>,
    /// What the column log sizes lack of their committed domains' (a PCS tree holds its
    /// columns' evaluations, `log_blowup` larger than their polynomials, and is handed the
    /// latter rather than a copy of the list raised by it); 0 when they are the domains'.
    pub log_blowup: u32,
    pub height: u32,
}

/// Why a tree's columns cannot be read as leaves.
#[derive(Drop)]
enum LeafColumnsError {
    TooLarge,
    Count,
}

/// The largest of `log_sizes` (0 for none). A tree is a few components, each a run of one
/// size, so a block of eight at the size the block before ended with is passed by equality
/// tests alone (an order comparison costs a range check): every block inside a run, whether
/// or not the run is the tallest so far. (Comparing with the tallest instead sent every
/// block of a shorter component after a taller one through the comparisons: 13.8k of the
/// order book's steps.)
pub(crate) fn tallest_log_size(log_sizes: Span<u32>) -> u32 {
    let mut tallest = 0;
    // The last size seen: below or at `tallest` (0 at first).
    let mut last = 0;
    let mut rest = log_sizes;
    while let Option::Some(block) = rest.multi_pop_front::<8>() {
        let [s0, s1, s2, s3, s4, s5, s6, s7] = (*block).unbox();
        if eight_off(
            s0.into(), s1.into(), s2.into(), s3.into(), s4.into(), s5.into(), s6.into(), s7.into(),
            last.into(),
        ) == 0 {
            continue;
        }
        tallest = max(max(max(tallest, s0), max(s1, s2)), max(max(s3, s4), max(s5, max(s6, s7))));
        last = s7;
    };
    for log_size in rest {
        tallest = max(tallest, *log_size);
    };
    tallest
}

/// Appends `columns` to `out`, eight per iteration (`append_span` takes a loop iteration, with
/// its gas withdrawal and range check, per column).
fn append_columns(ref out: Array<Span<felt252>>, columns: Span<Span<felt252>>) {
    let mut rest = columns;
    while let Option::Some(block) = rest.multi_pop_front::<8>() {
        let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
        out.append(c0);
        out.append(c1);
        out.append(c2);
        out.append(c3);
        out.append(c4);
        out.append(c5);
        out.append(c6);
        out.append(c7);
    };
    while let Option::Some(column) = rest.pop_front() {
        out.append(*column);
    };
}

/// `(a - s)^2 + ... + (h - s)^2` over felt252: zero iff all eight u32s equal `s` (the sum of
/// squares of integers below 2^32 is below 2^67: no wraparound). One branch for eight tests
/// where a chain of comparisons branches per test (and stores each result).
#[inline(always)]
fn eight_off(
    a: felt252, b: felt252, c: felt252, d: felt252, e: felt252, f: felt252, g: felt252, h: felt252,
    s: felt252,
) -> felt252 {
    let (a, b, c, d) = (a - s, b - s, c - s, d - s);
    let (e, f, g, h) = (e - s, f - s, g - s, h - s);
    a * a + b * b + c * c + d * d + e * e + f * f + g * g + h * h
}

/// Passes the columns at the front of `log_sizes` and `columns` whose log size is `log_size`
/// (one at least: the first's), eight at a time while eight are; true iff each held `n_values`
/// values.
#[inline(never)]
fn skip_run(
    ref log_sizes: Span<u32>, ref columns: Span<Span<felt252>>, log_size: u32, n_values: u32,
) -> bool {
    let mut ok = true;
    let size: felt252 = log_size.into();
    let n: felt252 = n_values.into();
    loop {
        let saved = log_sizes;
        if let Option::Some(block) = log_sizes.multi_pop_front::<8>() {
            let [l0, l1, l2, l3, l4, l5, l6, l7] = (*block).unbox();
            let off = eight_off(
                l0.into(), l1.into(), l2.into(), l3.into(), l4.into(), l5.into(), l6.into(),
                l7.into(), size,
            );
            if off == 0 {
                let [c0, c1, c2, c3, c4, c5, c6, c7] = (*columns.multi_pop_front::<8>().unwrap())
                    .unbox();
                let short = eight_off(
                    c0.len().into(), c1.len().into(), c2.len().into(), c3.len().into(),
                    c4.len().into(), c5.len().into(), c6.len().into(), c7.len().into(), n,
                );
                if short != 0 {
                    ok = false;
                }
                continue;
            }
            log_sizes = saved;
        }
        let saved = log_sizes;
        match log_sizes.pop_front() {
            Option::Some(size) => {
                if *size != log_size {
                    log_sizes = saved;
                    break;
                }
                if (*columns.pop_front().unwrap()).len() != n_values {
                    ok = false;
                }
            },
            Option::None => { break; },
        }
    };
    ok
}

/// `columns` in leaf order: by log size, ties kept in commitment order (a stable sort).
/// Err(TooLarge) if a column is taller than the tree, else Err(Count) if a column does not
/// hold `n_values` values. Sorted once per tree so that every leaf reads its row straight
/// from the result; the one pass over the columns also checks their lengths.
fn columns_by_log_size(
    column_log_sizes: Span<u32>, columns: Span<Span<felt252>>, height: u32, n_values: u32,
) -> Result<Span<Span<felt252>>, LeafColumnsError> {
    // Runs of equal log size `(log_size, first column, run length)`: a tree holds a few
    // components, each a run, so sorting runs instead of columns costs almost nothing. Each
    // run is passed by `skip_run`, whose loop carries little state (a loop iteration costs
    // per variable it carries: this loop, passing the columns itself four at a time with its
    // nine, cost the order book's proof ~30 steps a column).
    let mut runs: Array<(u32, u32, u32)> = array![];
    let mut sorted = true;
    let mut run_log_size = 0;
    let mut run_start = 0;
    let mut too_large = false;
    let mut lengths_ok = true;
    let mut log_sizes = column_log_sizes;
    let mut values = columns;
    while let Option::Some(first) = log_sizes.get(0) {
        let log_size = *first.unbox();
        // Only a new run is compared with the height and the run before.
        if log_size > height {
            too_large = true;
        }
        if log_size < run_log_size {
            sorted = false;
        }
        let before = log_sizes.len();
        if !skip_run(ref log_sizes, ref values, log_size, n_values) {
            lengths_ok = false;
        }
        // The run holds its first column at least: the loop ends.
        let len = before - log_sizes.len();
        runs.append((log_size, run_start, len));
        run_log_size = log_size;
        run_start += len;
    };
    if too_large {
        return Result::Err(LeafColumnsError::TooLarge);
    }
    if !lengths_ok {
        return Result::Err(LeafColumnsError::Count);
    }
    // Common case (one component per tree): already non-decreasing, nothing to sort.
    if sorted {
        return Result::Ok(columns);
    }
    // Each distinct log size in increasing order, then its runs in commitment order.
    let mut ordered: Array<Span<felt252>> = array![];
    let mut next: Option<u32> = Option::Some(0);
    while let Option::Some(log_size) = next {
        next = Option::None;
        for run in runs.span() {
            let (run_log_size, start, len) = *run;
            if run_log_size == log_size {
                append_columns(ref ordered, columns.slice(start, len));
            } else if run_log_size > log_size {
                next = match next {
                    Option::Some(smallest) => if run_log_size < smallest {
                        Option::Some(run_log_size)
                    } else {
                        Option::Some(smallest)
                    },
                    Option::None => Option::Some(run_log_size),
                };
            }
        };
    };
    Result::Ok(ordered.span())
}

#[generate_trait]
pub impl MerkleVerifierLiftedImpl of MerkleVerifierLiftedTrait {
    /// `lifting_log_size` = None uses the largest column's log size as the height.
    fn new(
        root: felt252, column_log_sizes: Span<u32>, lifting_log_size: Option<u32>,
    ) -> MerkleVerifierLifted {
        Self::new_blown_up(root, column_log_sizes, 0, lifting_log_size)
    }

    /// `new` for columns of log sizes `column_log_sizes` committed on domains `log_blowup`
    /// larger (a PCS tree), kept as the sizes and the blowup: no raised copy of the list.
    fn new_blown_up(
        root: felt252, column_log_sizes: Span<u32>, log_blowup: u32, lifting_log_size: Option<u32>,
    ) -> MerkleVerifierLifted {
        let max_log_size = if column_log_sizes.len() == 0 {
            0
        } else {
            tallest_log_size(column_log_sizes) + log_blowup
        };
        let height = match lifting_log_size {
            Option::Some(height) => height,
            Option::None => max_log_size,
        };
        assert(max_log_size <= height, 'merkle: lifting size too small');
        MerkleVerifierLifted { root, column_log_sizes, log_blowup, height }
    }

    /// Checks `queried_values` (per column, one value per entry of `query_positions`, which
    /// are ascending and may repeat) against the root with the given hash witness. Values are
    /// M31 integers held as felt252 (below P: the proof reader hands out no other), so that
    /// the proof's values are hashed and summed without a u32 conversion each.
    fn verify(
        self: @MerkleVerifierLifted,
        query_positions: Span<u32>,
        queried_values: Span<Span<felt252>>,
        hash_witness: Span<felt252>,
    ) -> Result<(), MerkleVerificationError> {
        self.verify_by::<RowsByEight>(query_positions, queried_values, hash_witness)
    }

    /// `verify` with the leaves hashed by the passes of `R` (`LeafRows`: the same hashes,
    /// different code in the class).
    fn verify_by<R, +LeafRows<R>>(
        self: @MerkleVerifierLifted,
        query_positions: Span<u32>,
        queried_values: Span<Span<felt252>>,
        hash_witness: Span<felt252>,
    ) -> Result<(), MerkleVerificationError> {
        let height = *self.height;
        if height == 0 {
            return Result::Ok(());
        }
        let column_log_sizes = *self.column_log_sizes;
        let n_columns = column_log_sizes.len();
        if queried_values.len() != n_columns {
            return Result::Err(MerkleVerificationError::ValuesCountMismatch);
        }
        let n_queries = query_positions.len();
        let tree_width: u64 = crate::circle::pow2_u32(height).into();
        let leaf_columns =
            // A tree of columns is at least as high as their committed domains (`commit`).
            match columns_by_log_size(
                column_log_sizes, queried_values, height - *self.log_blowup, n_queries,
            ) {
            Result::Ok(columns) => columns,
            Result::Err(e) => {
                return Result::Err(
                    match e {
                        LeafColumnsError::TooLarge => MerkleVerificationError::ColumnTooLarge,
                        LeafColumnsError::Count => MerkleVerificationError::ValuesCountMismatch,
                    },
                );
            },
        };

        // Leaves: one per distinct position, hashing the row in log-size order (every row's
        // hash computed up front, by the passes of `R`; a repeated position's is not used).
        let leaf_hashes = LeafRows::<R>::leaf_hashes(leaf_columns, n_queries).span();
        let mut layer: Array<(u128, felt252)> = array![];
        let mut q = 0;
        let mut previous: Option<u32> = Option::None;
        let mut duplicate_mismatch = false;
        while q != n_queries {
            let position = *query_positions[q];
            let is_repeat = match previous {
                Option::Some(prev) => {
                    if position < prev {
                        break;
                    }
                    position == prev
                },
                Option::None => false,
            };
            if position.into() >= tree_width {
                break;
            }
            if is_repeat {
                let mut same = true;
                for column in queried_values {
                    if (*column)[q] != (*column)[q - 1] {
                        same = false;
                    }
                };
                if !same {
                    duplicate_mismatch = true;
                    break;
                }
            } else {
                layer.append((position.into(), *leaf_hashes[q]));
            }
            previous = Option::Some(position);
            q += 1;
        };
        if duplicate_mismatch {
            return Result::Err(MerkleVerificationError::DuplicateQueryMismatch);
        }
        if q != n_queries || n_queries == 0 {
            return Result::Err(MerkleVerificationError::BadQueryPosition);
        }

        walk_to_root(layer, height, hash_witness, *self.root)
    }
}

/// Hashes the known nodes of the lowest layer (`(index, hash)`, indexes ascending, distinct and
/// below 2^height) up `height` levels, taking each missing sibling from `hash_witness` in
/// order, and compares the result with `root`. The witness must be used up exactly.
///
/// A node keeps its leaf's index with the bits below its level cleared: its parent clears bit
/// `level` (one bitwise AND, which comes out of the bitwise builtin's budget, where halving the
/// index took a `u32_safe_divmod` and its range checks, the scarcer resource), it is a right
/// child iff that changes it, and a left child's sibling is the node at index + 2^level.
pub fn walk_to_root(
    leaves: Array<(u128, felt252)>, height: u32, hash_witness: Span<felt252>, root: felt252,
) -> Result<(), MerkleVerificationError> {
    let mut layer = leaves;
    let mut witness = hash_witness;
    let mut level = 0;
    // 2^level, as the mask's complement and as a felt252 step between siblings.
    let mut bit: u128 = 1;
    let mut bit_felt: felt252 = 1;
    let mut short = false;
    while level != height {
        let clear_bit: u128 = 0xffffffffffffffffffffffffffffffff - bit;
        let mut next: Array<(u128, felt252)> = array![];
        let mut nodes = layer.span();
        loop {
            let (index, hash) = match nodes.pop_front() {
                Option::Some(node) => *node,
                Option::None => { break; },
            };
            let parent = index & clear_bit;
            let index_felt: felt252 = index.into();
            let node_hash = if index_felt == parent.into() {
                // A left child: its sibling is the next known node or the next witness hash.
                // Peeked by a pop from a copy and compared as felt252 (no range check).
                let mut peek = nodes;
                let next_is_sibling = match peek.pop_front() {
                    Option::Some(next_node) => {
                        let (next_index, _) = *next_node;
                        let next_index: felt252 = next_index.into();
                        next_index == index_felt + bit_felt
                    },
                    Option::None => false,
                };
                if next_is_sibling {
                    let (_, sibling) = *nodes.pop_front().unwrap();
                    hash_children(hash, sibling)
                } else {
                    match witness.pop_front() {
                        Option::Some(sibling) => hash_children(hash, *sibling),
                        Option::None => {
                            short = true;
                            break;
                        },
                    }
                }
            } else {
                match witness.pop_front() {
                    Option::Some(sibling) => hash_children(*sibling, hash),
                    Option::None => {
                        short = true;
                        break;
                    },
                }
            };
            next.append((parent, node_hash));
        };
        if short {
            break;
        }
        layer = next;
        level += 1;
        // At most 2^32 after the last level (height <= 32): no u128 overflow.
        bit = bit + bit;
        bit_felt = bit_felt + bit_felt;
    };
    if short {
        return Result::Err(MerkleVerificationError::WitnessTooShort);
    }
    if witness.len() != 0 {
        return Result::Err(MerkleVerificationError::WitnessTooLong);
    }
    let (_, computed_root) = *layer[0];
    if computed_root != root {
        return Result::Err(MerkleVerificationError::RootMismatch);
    }
    Result::Ok(())
}
