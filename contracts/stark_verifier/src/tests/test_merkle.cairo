use crate::merkle::{
    hash_node, lifted_leaf_hash, LeafRows, MerkleVerifierLifted, MerkleVerifierLiftedTrait,
    MerkleVerificationError, RowsByEight, RowsByEightAndFour, tallest_log_size,
};
use crate::fields::M31;
use super::vectors;
use super::m;

fn m31s(values: @Array<u32>) -> Array<M31> {
    let mut out = array![];
    for value in values.span() {
        out.append(m(*value));
    };
    out
}

#[test]
fn node_hashes_match_stwo() {
    for row in vectors::merkle_node_samples().span() {
        let (has_children, left, right, values, expected) = row;
        let children = if *has_children {
            Option::Some((*left, *right))
        } else {
            Option::None
        };
        assert(hash_node(children, m31s(values).span()) == *expected, 'hash_node');
    };
}

#[test]
fn lifted_leaf_hash_matches_stwo() {
    let (values, expected) = vectors::merkle_lifted_leaf();
    assert(lifted_leaf_hash(m31s(@values).span()) == expected, 'leaf hash');
}

/// (verifier, queries, values per column, witness) of the generated decommitment.
fn decommitment() -> (MerkleVerifierLifted, Span<u32>, Array<Array<M31>>, Array<felt252>) {
    let (root, log_sizes, queries, values, witness) = vectors::merkle_lifted_decommitment();
    let verifier = MerkleVerifierLiftedTrait::new(root, log_sizes.span(), Option::None);
    let mut columns: Array<Array<M31>> = array![];
    for column in values.span() {
        columns.append(m31s(column));
    };
    (verifier, queries.span(), columns, witness)
}

/// The columns as the verifier takes them: M31 integers held as felt252.
fn spans(columns: @Array<Array<M31>>) -> Array<Span<felt252>> {
    let mut out = array![];
    for column in columns.span() {
        let mut felts: Array<felt252> = array![];
        for value in column.span() {
            felts.append((*value.inner).into());
        };
        out.append(felts.span());
    };
    out
}

#[test]
fn lifted_decommitment_verifies() {
    let (verifier, queries, columns, witness) = decommitment();
    assert(verifier.height == 5, 'height');
    let result = verifier.verify(queries, spans(@columns).span(), witness.span());
    assert(result == Result::Ok(()), 'valid decommitment');
}

#[test]
fn changed_value_is_rejected() {
    let (verifier, queries, columns, witness) = decommitment();
    // Flip the value of column 3 at the 4th query.
    let mut changed: Array<Array<M31>> = array![];
    let mut c = 0;
    for column in columns.span() {
        if c == 3 {
            let mut col: Array<M31> = array![];
            let mut i = 0;
            for value in column.span() {
                if i == 3 {
                    col.append(*value + m(1));
                } else {
                    col.append(*value);
                }
                i += 1;
            };
            changed.append(col);
        } else {
            changed.append(column.clone());
        }
        c += 1;
    };
    let result = verifier.verify(queries, spans(@changed).span(), witness.span());
    assert(result == Result::Err(MerkleVerificationError::RootMismatch), 'root mismatch');
}

#[test]
fn witness_tampering_is_rejected() {
    let (verifier, queries, columns, witness) = decommitment();
    let values = spans(@columns);
    // Changed witness element.
    let mut changed: Array<felt252> = array![];
    for w in witness.span() {
        changed.append(*w);
    };
    let first = changed.pop_front().unwrap();
    let mut tampered = array![first + 1];
    tampered.append_span(changed.span());
    assert(
        verifier.verify(queries, values.span(), tampered.span()) == Result::Err(
            MerkleVerificationError::RootMismatch,
        ),
        'tampered witness',
    );
    // Too short.
    let short = witness.span().slice(0, witness.len() - 1);
    assert(
        verifier.verify(queries, values.span(), short) == Result::Err(
            MerkleVerificationError::WitnessTooShort,
        ),
        'short witness',
    );
    // Too long.
    let mut long = witness.clone();
    long.append(7);
    assert(
        verifier.verify(queries, values.span(), long.span()) == Result::Err(
            MerkleVerificationError::WitnessTooLong,
        ),
        'long witness',
    );
}

#[test]
fn wrong_root_and_bad_queries_are_rejected() {
    let (verifier, queries, columns, witness) = decommitment();
    let values = spans(@columns);
    let wrong_root = MerkleVerifierLifted {
        root: verifier.root + 1,
        column_log_sizes: verifier.column_log_sizes,
        log_blowup: 0,
        height: 5,
    };
    assert(
        wrong_root.verify(queries, values.span(), witness.span()) == Result::Err(
            MerkleVerificationError::RootMismatch,
        ),
        'wrong root',
    );
    // Duplicate positions (queries 1 and 2 are both 5) must carry equal values.
    let mut changed: Array<Array<M31>> = array![];
    for column in columns.span() {
        let mut col: Array<M31> = array![];
        let mut i = 0;
        for value in column.span() {
            if i == 2 {
                col.append(*value + m(1));
            } else {
                col.append(*value);
            }
            i += 1;
        };
        changed.append(col);
    };
    assert(
        verifier.verify(queries, spans(@changed).span(), witness.span()) == Result::Err(
            MerkleVerificationError::DuplicateQueryMismatch,
        ),
        'duplicate mismatch',
    );
    // Out-of-tree position.
    let mut outside = array![];
    for p in queries {
        outside.append(*p);
    };
    let last = outside.len() - 1;
    let mut moved = array![];
    let mut i = 0;
    for p in outside.span() {
        moved.append(if i == last {
            32
        } else {
            *p
        });
        i += 1;
    };
    assert(
        verifier.verify(moved.span(), values.span(), witness.span()) == Result::Err(
            MerkleVerificationError::BadQueryPosition,
        ),
        'outside tree',
    );
    // A missing column.
    assert(
        verifier.verify(queries, values.span().slice(1, values.len() - 1), witness.span()) == Result::Err(
            MerkleVerificationError::ValuesCountMismatch,
        ),
        'missing column',
    );
}

/// `n_columns` columns of `n_rows` values each, column-major, from a fixed multiplier.
fn spread_columns(n_columns: u32, n_rows: u32) -> Array<Span<felt252>> {
    let mut seed: u64 = 0x2545f491;
    let mut columns: Array<Span<felt252>> = array![];
    while columns.len() != n_columns {
        let mut column: Array<felt252> = array![];
        while column.len() != n_rows {
            seed = (seed * 6364136223 + 1442695041) % 0x7fffffff;
            column.append(seed.into());
        };
        columns.append(column.span());
    };
    columns
}

/// Asserts `hashes` holds `lifted_leaf_hash` of every row of `columns`, in order.
fn assert_row_hashes(columns: Span<Span<felt252>>, n_rows: u32, hashes: Span<felt252>) {
    assert(hashes.len() == n_rows, 'one hash per row');
    let mut q = 0;
    while q != n_rows {
        let mut row: Array<M31> = array![];
        for column in columns {
            let value: felt252 = *(*column)[q];
            row.append(M31 { inner: value.try_into().unwrap() });
        };
        assert(*hashes[q] == lifted_leaf_hash(row.span()), 'row hash');
        q += 1;
    };
}

#[test]
fn leaf_hashes_of_many_rows_match_one_row_at_a_time() {
    // Both row passes (`RowsByEight`; `RowsByEightAndFour`, whose pass of four takes the last
    // four of the fast list set's 20 queries), with no columns, with and without a short last
    // block of columns, at row counts that leave each of 0-7 rows after the passes of eight.
    for n_columns in array![0_u32, 3, 8, 11, 16, 21] {
        for n_rows in array![
            0_u32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 24,
        ] {
            let columns = spread_columns(n_columns, n_rows).span();
            let by_eight = LeafRows::<RowsByEight>::leaf_hashes(columns, n_rows);
            assert_row_hashes(columns, n_rows, by_eight.span());
            let by_eight_and_four = LeafRows::<RowsByEightAndFour>::leaf_hashes(columns, n_rows);
            assert_row_hashes(columns, n_rows, by_eight_and_four.span());
        };
    };
}

/// The layers of a full tree over `leaves` (2^height hashes), leaves first, root last.
fn full_tree(leaves: Span<felt252>) -> Array<Span<felt252>> {
    let mut layers: Array<Span<felt252>> = array![leaves];
    let mut layer = leaves;
    while layer.len() != 1 {
        let mut next: Array<felt252> = array![];
        let mut i = 0;
        while i != layer.len() {
            next.append(crate::merkle::hash_children(*layer[i], *layer[i + 1]));
            i += 2;
        };
        layer = next.span();
        layers.append(layer);
    };
    layers
}

/// The witness a prover sends for the known leaves `indexes` (ascending): level by level, the
/// siblings that are not known themselves, in node order. Worked out by halving indexes, as a
/// reference independent of the verifier's walk.
fn witness_for(layers: Span<Span<felt252>>, indexes: Span<u32>) -> Array<felt252> {
    let mut witness: Array<felt252> = array![];
    let mut known = indexes;
    let mut level = 0;
    while level != layers.len() - 1 {
        let mut parents: Array<u32> = array![];
        let mut i = 0;
        while i != known.len() {
            let index = *known[i];
            let sibling = index ^ 1;
            let has_sibling = i + 1 != known.len() && *known[i + 1] == sibling;
            if index % 2 == 1 || !has_sibling {
                witness.append(*(*layers[level])[sibling]);
            }
            parents.append(index / 2);
            i += if index % 2 == 0 && has_sibling {
                2
            } else {
                1
            };
        };
        known = parents.span();
        level += 1;
    };
    witness
}

fn walk(
    leaves: Span<(u128, felt252)>, witness: Span<felt252>, root: felt252,
) -> Result<(), MerkleVerificationError> {
    let mut copy: Array<(u128, felt252)> = array![];
    copy.append_span(leaves);
    crate::merkle::walk_to_root(copy, 5, witness, root)
}

/// `walk_to_root` (indexes kept unshifted, parents by clearing a bit) climbs a height-5 tree
/// from known leaves at the edges (0 and 31), sibling pairs at the bottom and higher up, every
/// leaf, and single leaves: each reaches the root with exactly the reference witness; a witness
/// one hash short or long, a wrong sibling and a wrong root are refused.
#[test]
#[available_gas(10000000000)]
fn the_walk_to_the_root_takes_the_reference_witness() {
    let mut leaf_hashes: Array<felt252> = array![];
    let mut i: u32 = 0;
    while i != 32 {
        leaf_hashes.append(core::poseidon::poseidon_hash_span(array![i.into(), 7].span()));
        i += 1;
    };
    let layers = full_tree(leaf_hashes.span());
    let root = *(*layers[5])[0];
    let mut every: Array<u32> = array![];
    let mut i: u32 = 0;
    while i != 32 {
        every.append(i);
        i += 1;
    };
    let sets: Array<Span<u32>> = array![
        array![0].span(), array![31].span(), array![0, 31].span(), array![6, 7].span(),
        array![4, 5, 6, 7].span(), array![1, 2, 13, 16, 17, 30].span(), array![15, 16].span(),
        every.span(),
    ];
    for indexes in sets {
        let witness = witness_for(layers.span(), indexes);
        let mut leaves: Array<(u128, felt252)> = array![];
        for index in indexes {
            leaves.append(((*index).into(), *leaf_hashes[*index]));
        };
        let leaves = leaves.span();
        assert(walk(leaves, witness.span(), root) == Result::Ok(()), 'reaches the root');
        assert(walk(leaves, witness.span(), root + 1) == Result::Err(MerkleVerificationError::RootMismatch), 'wrong root');
        let mut long = witness.clone();
        long.append(1);
        assert(walk(leaves, long.span(), root) == Result::Err(MerkleVerificationError::WitnessTooLong), 'long');
        if witness.len() != 0 {
            let short = witness.span().slice(0, witness.len() - 1);
            assert(walk(leaves, short, root) == Result::Err(MerkleVerificationError::WitnessTooShort), 'short');
            let mut wrong: Array<felt252> = array![*witness[0] + 1];
            wrong.append_span(witness.span().slice(1, witness.len() - 1));
            assert(walk(leaves, wrong.span(), root) == Result::Err(MerkleVerificationError::RootMismatch), 'wrong sibling');
        }
    };
}

fn felt_spans(columns: @Array<Array<felt252>>) -> Array<Span<felt252>> {
    let mut out = array![];
    for column in columns.span() {
        out.append(column.span());
    };
    out
}

/// Decommitments of 20 and 22 of 32 rows (the fast list set's query count: two passes of
/// eight and one of four under `RowsByEightAndFour`, and two rows after it one at a time)
/// verify under both row passes. A prover's forgeries are refused under both: a value changed
/// in a row of each pass, in a row hashed alone, or in the last column (the short block), and
/// two rows of the pass of four swapped in one column (`RootMismatch`); a column one value
/// short (`ValuesCountMismatch`, before any row is hashed, not a failed pop in a pass).
#[test]
#[available_gas(10000000000)]
fn queried_rows_verify_by_either_row_pass_and_forged_values_do_not() {
    let n_columns = 11;
    let all_rows = spread_columns(n_columns, 32);
    let mut leaf_hashes: Array<felt252> = array![];
    let mut row_index = 0;
    while row_index != 32 {
        let mut row: Array<M31> = array![];
        for column in all_rows.span() {
            let value: felt252 = *(*column)[row_index];
            row.append(M31 { inner: value.try_into().unwrap() });
        };
        leaf_hashes.append(lifted_leaf_hash(row.span()));
        row_index += 1;
    };
    let layers = full_tree(leaf_hashes.span());
    let root = *(*layers[5])[0];
    let mut log_sizes: Array<u32> = array![];
    while log_sizes.len() != n_columns {
        log_sizes.append(5);
    };
    let verifier = MerkleVerifierLiftedTrait::new(root, log_sizes.span(), Option::None);
    let twenty = array![0_u32, 1, 3, 4, 6, 7, 9, 10, 12, 14, 15, 17, 19, 21, 22, 24, 26, 28, 30, 31];
    let twenty_two = array![
        0_u32, 1, 2, 3, 4, 6, 7, 9, 10, 12, 14, 15, 17, 19, 21, 22, 24, 26, 27, 28, 30, 31,
    ];
    // (column, query index): a row of the first and second pass of eight, of the pass of four,
    // the last column, and (22 queries) the rows hashed alone.
    let changes_twenty = array![(0_u32, 2_u32), (5, 11), (3, 16), (9, 18), (10, 19)];
    let changes_twenty_two = array![(0_u32, 2_u32), (5, 11), (3, 16), (10, 19), (4, 20), (10, 21)];
    for (queries, changes) in array![
        (twenty.span(), changes_twenty.span()), (twenty_two.span(), changes_twenty_two.span()),
    ] {
        let witness = witness_for(layers.span(), queries);
        let mut queried: Array<Array<felt252>> = array![];
        for column in all_rows.span() {
            let mut values: Array<felt252> = array![];
            for q in queries {
                values.append(*(*column)[*q]);
            };
            queried.append(values);
        };
        let values = felt_spans(@queried);
        let ok = verifier.verify_by::<RowsByEight>(queries, values.span(), witness.span());
        assert(ok == Result::Ok(()), 'by eight');
        let ok = verifier.verify_by::<RowsByEightAndFour>(queries, values.span(), witness.span());
        assert(ok == Result::Ok(()), 'by eight and four');
        let root_mismatch = Result::Err(MerkleVerificationError::RootMismatch);
        for (column, row) in changes {
            let forged = with_value(@queried, *column, *row, *queried.at(*column).at(*row) + 1);
            assert_refused_by_both(@verifier, queries, @forged, witness.span(), root_mismatch);
        };
        // Rows 16 and 17 (the pass of four's first two) of column 3 swapped.
        let first = *queried.at(3).at(16);
        let second = *queried.at(3).at(17);
        let swapped = with_value(@with_value(@queried, 3, 16, second), 3, 17, first);
        assert_refused_by_both(@verifier, queries, @swapped, witness.span(), root_mismatch);
        // Column 7 without its last value.
        let mut short: Array<Array<felt252>> = array![];
        let mut c = 0;
        for values in queried.span() {
            let mut copy: Array<felt252> = array![];
            copy.append_span(if c == 7 {
                values.span().slice(0, values.len() - 1)
            } else {
                values.span()
            });
            short.append(copy);
            c += 1;
        };
        let count_mismatch = Result::Err(MerkleVerificationError::ValuesCountMismatch);
        assert_refused_by_both(@verifier, queries, @short, witness.span(), count_mismatch);
    };
}

/// Asserts both row passes refuse the decommitment of `queried` with `refusal`.
fn assert_refused_by_both(
    verifier: @MerkleVerifierLifted,
    queries: Span<u32>,
    queried: @Array<Array<felt252>>,
    witness: Span<felt252>,
    refusal: Result<(), MerkleVerificationError>,
) {
    let values = felt_spans(queried);
    assert(verifier.verify_by::<RowsByEight>(queries, values.span(), witness) == refusal, 'by eight');
    assert(
        verifier.verify_by::<RowsByEightAndFour>(queries, values.span(), witness) == refusal,
        'by eight and four',
    );
}

/// `queried` with the value of `column` at query index `row` replaced by `value`.
fn with_value(
    queried: @Array<Array<felt252>>, column: u32, row: u32, value: felt252,
) -> Array<Array<felt252>> {
    let mut changed: Array<Array<felt252>> = array![];
    let mut c = 0;
    for values in queried.span() {
        let mut copy: Array<felt252> = array![];
        let mut r = 0;
        for old in values.span() {
            copy.append(if c == column && r == row {
                value
            } else {
                *old
            });
            r += 1;
        };
        changed.append(copy);
        c += 1;
    };
    changed
}

/// `runs` (`[(size, count), ...]`) as one list of log sizes.
fn sizes_of_runs(runs: Span<(u32, u32)>) -> Span<u32> {
    let mut out: Array<u32> = array![];
    for run in runs {
        let (size, count) = *run;
        let mut k = 0;
        while k != count {
            out.append(size);
            k += 1;
        };
    };
    out.span()
}

/// The tallest of runs in every order a tree lays components out: the tallest first (later
/// shorter runs pass by their equality with the block before), last, between, in a run that
/// changes size inside a block of four, and in the last three sizes outside any block.
#[test]
fn tallest_log_size_is_the_largest_whatever_the_runs() {
    assert(tallest_log_size(array![].span()) == 0, 'none');
    let cases: Array<(Span<(u32, u32)>, u32)> = array![
        (array![(12, 9), (4, 10), (5, 30)].span(), 12),
        (array![(4, 10), (5, 30), (12, 9)].span(), 12),
        (array![(4, 8), (12, 1), (4, 7)].span(), 12),
        (array![(3, 6), (9, 3), (3, 8)].span(), 9),
        (array![(7, 8), (11, 3)].span(), 11),
        (array![(7, 8), (2, 2), (11, 1)].span(), 11),
        (array![(0, 5), (1, 1)].span(), 1),
        (array![(6, 4), (6, 4), (5, 4)].span(), 6),
        // The tallest only in the middle of a block whose ends equal the block before.
        (array![(4, 4), (4, 1), (12, 1), (4, 2)].span(), 12),
        (array![(4, 4), (4, 2), (12, 1), (4, 1)].span(), 12),
    ];
    for case in cases.span() {
        let (runs, expected) = *case;
        assert(tallest_log_size(sizes_of_runs(runs)) == expected, 'tallest');
    };
}
