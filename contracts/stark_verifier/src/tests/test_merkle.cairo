use crate::merkle::{
    hash_node, lifted_leaf_hash, MerkleVerifierLifted, MerkleVerifierLiftedTrait,
    MerkleVerificationError,
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
        root: verifier.root + 1, column_log_sizes: verifier.column_log_sizes, height: 5,
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

#[test]
fn leaf_hashes_of_many_rows_match_one_row_at_a_time() {
    // Eight, four and one row per pass, with and without a short last block of columns.
    for n_columns in array![3_u32, 8, 11, 16, 21] {
        for n_rows in array![1_u32, 3, 4, 7, 8, 12, 16, 19] {
            let columns = spread_columns(n_columns, n_rows).span();
            let hashes = crate::merkle::row_leaf_hashes(columns, n_rows);
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
        };
    };
}
