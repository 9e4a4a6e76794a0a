use crate::circle::{CirclePoint, CirclePointIndexTrait, pow2_u32};
use crate::fields::{M31, M31Trait, QM31};
use crate::fields::qm31::{Coordinates, coordinates, from_coordinates};
use crate::pcs::{
    fri_answers, PointSample, PcsConfig, TreeProof, PcsProof, PcsVerificationError,
    CommitmentSchemeVerifierTrait, PointRun,
};
use crate::fri::{FriConfigTrait, FriLayerProof};
use crate::channel::ChannelTrait;
use super::vectors;
use super::{m, q};

fn point(value: ((u32, u32, u32, u32), (u32, u32, u32, u32))) -> CirclePoint<QM31> {
    let (x, y) = value;
    CirclePoint { x: q(x), y: q(y) }
}

/// The vectors' sample columns as `PointSample`s.
fn point_samples(
    samples: @Array<Array<(((u32, u32, u32, u32), (u32, u32, u32, u32)), (u32, u32, u32, u32))>>,
) -> Array<Span<PointSample>> {
    let mut sample_columns: Array<Span<PointSample>> = array![];
    for column in samples.span() {
        let mut col: Array<PointSample> = array![];
        for entry in column.span() {
            let (p, v) = *entry;
            col.append(PointSample { point: point(p), value: q(v) });
        };
        sample_columns.append(col.span());
    };
    sample_columns
}

#[test]
fn fri_answers_match_stwo() {
    let (lifting, log_sizes, samples, random_coeff, queries, values, expected) =
        vectors::pcs_answers_sample();
    let sample_columns = point_samples(@samples);
    let value_columns = m31_columns(@values);
    let answers = fri_answers(
        log_sizes.span(),
        sample_columns.span(),
        q(random_coeff),
        queries.span(),
        value_columns,
        lifting,
    );
    let mut i = 0;
    assert(answers.len() == expected.len(), 'answer count');
    while i != answers.len() {
        assert(*answers[i] == q(*expected[i]), 'fri answer');
        i += 1;
    };

    // A changed queried value changes that query's answer only.
    let mut changed: Array<Span<felt252>> = array![];
    let mut c = 0;
    for column in value_columns {
        if c == 1 {
            let mut col: Array<felt252> = array![];
            let mut j = 0;
            for v in (*column) {
                col.append(if j == 2 {
                    (m(1) + M31 { inner: (*v).try_into().unwrap() }).inner.into()
                } else {
                    *v
                });
                j += 1;
            };
            changed.append(col.span());
        } else {
            changed.append(*column);
        }
        c += 1;
    };
    let other = fri_answers(
        log_sizes.span(), sample_columns.span(), q(random_coeff), queries.span(), changed.span(), lifting,
    );
    assert(*other[2] != *answers[2], 'changed answer');
    assert(*other[0] == *answers[0], 'other answers kept');
}

/// The columns sampled at [previous, main] agree folded as read (`fold_pair_column`) and set
/// aside (`set_aside`, grouped by point): a column of zeros sampled at [x, main] put first (x the
/// main point's conjugate by y, log size 5: its periodicity sample at a shifted point) binds the
/// previous batch to x, so stwo's two-point columns are set aside; its three samples (zero
/// terms) take the first three powers of alpha, so each answer is alpha^3 times stwo's.
#[test]
#[available_gas(10000000000)]
fn fri_answers_with_pairs_set_aside_match_stwo() {
    let (lifting, log_sizes, samples, random_coeff, queries, values, expected) =
        vectors::pcs_answers_sample();
    let main = *(*point_samples(@samples)[0])[0].point;
    let x = CirclePoint { x: main.x, y: -main.y };
    let zero = q((0, 0, 0, 0));
    let mut sample_columns: Array<Span<PointSample>> = array![
        array![PointSample { point: x, value: zero }, PointSample { point: main, value: zero }]
            .span(),
    ];
    for column in point_samples(@samples) {
        sample_columns.append(column);
    };
    let mut sizes: Array<u32> = array![5];
    sizes.append_span(log_sizes.span());
    let mut zeros: Array<felt252> = array![];
    for _ in queries.span() {
        zeros.append(0);
    };
    let mut value_columns: Array<Span<felt252>> = array![zeros.span()];
    value_columns.append_span(m31_columns(@values));
    let alpha = q(random_coeff);
    let answers = fri_answers(
        sizes.span(), sample_columns.span(), alpha, queries.span(), value_columns.span(), lifting,
    );
    assert(answers.len() == expected.len(), 'answer count');
    let alpha_cubed = alpha * alpha * alpha;
    let mut i = 0;
    while i != answers.len() {
        assert(*answers[i] == alpha_cubed * q(*expected[i]), 'answer with pairs set aside');
        i += 1;
    };
}

/// `shifted_point` (a row of the generator's doublings) is the point shifted by
/// `subgroup_gen(lifting).mul(2^log_size).to_point()`, for every lifting log size up to 31 and
/// log size up to 31 (the identity from log_size = lifting on).
#[test]
#[available_gas(100000000000)]
fn shifted_point_matches_the_subgroup_generator_power() {
    let (_, _, samples, _, _, _, _) = vectors::pcs_answers_sample();
    let main = *(*point_samples(@samples)[0])[0].point;
    let mut lifting: u32 = 0;
    while lifting != 32 {
        let generator = CirclePointIndexTrait::subgroup_gen(lifting);
        let mut log_size: u32 = 0;
        while log_size != 32 {
            let shift = generator.mul(pow2_u32(log_size)).to_point();
            let expected = crate::circle::add_m31_point(main, shift);
            assert(crate::pcs::shifted_point(main, log_size, lifting) == expected, 'shifted point');
            log_size += 1;
        };
        lifting += 1;
    };
}

/// The DEEP sums of eight queries (four columns per iteration, the last up to three one at a
/// time: `sums_eight`; eight per iteration, the last up to seven one at a time:
/// `sums_eight_wide`) and of four (one column per iteration: `sums_four`; eight:
/// `sums_four_wide`) equal the one-query sums (`sums_one`) at each of their queries, for every
/// column count 0..=17 (no block, one or two blocks of either width, each with every
/// remainder) and a block that starts inside the columns.
#[test]
#[available_gas(10000000000)]
fn sums_eight_four_and_their_wide_codes_match_sums_one_for_every_column_count() {
    let mut columns: Array<crate::pcs::PackedColumn> = array![];
    let mut n: u32 = 0;
    // Up to 17 columns: two blocks of eight in the wide code (the second adds to the first's
    // sums), each remainder after one.
    while n != 18 {
        let mut q0: u32 = 0;
        while q0 != 4 {
            let mut out: Array<(felt252, felt252)> = array![];
            crate::pcs::sums_eight(columns.span(), q0, ref out);
            assert(out.len() == 8, 'eight sums');
            let mut wide: Array<(felt252, felt252)> = array![];
            crate::pcs::sums_eight_wide(columns.span(), q0, ref wide);
            assert(wide == out, 'wide sums of eight');
            let mut k: u32 = 0;
            while k != 8 {
                assert(*out[k] == crate::pcs::sums_one(columns.span(), q0 + k), 'sum of a query');
                k += 1;
            };
            let (a0, a1, b0, b1, c0, c1, d0, d1) = crate::pcs::sums_four(columns.span(), q0 + 1);
            assert((a0, a1) == crate::pcs::sums_one(columns.span(), q0 + 1), 'sum of four: 0');
            assert((b0, b1) == crate::pcs::sums_one(columns.span(), q0 + 2), 'sum of four: 1');
            assert((c0, c1) == crate::pcs::sums_one(columns.span(), q0 + 3), 'sum of four: 2');
            assert((d0, d1) == crate::pcs::sums_one(columns.span(), q0 + 4), 'sum of four: 3');
            // Eight columns per iteration: the same sums.
            let wide = crate::pcs::sums_four_wide(columns.span(), q0 + 1);
            assert(wide == (a0, a1, b0, b1, c0, c1, d0, d1), 'wide sums of four');
            q0 += 2;
        };
        // One more column: ten values, packed coefficients far from each other's.
        let mut values: Array<felt252> = array![];
        let mut i: u32 = 0;
        while i != 10 {
            values.append(((n * 7919 + i * 104729 + 3) % 0x7fffffff).into());
            i += 1;
        };
        let lo: felt252 = (n + 1).into() * 0x1000000000000000000000001234567;
        let hi: felt252 = (n + 5).into() * 0x7654321000000000000000000000089;
        columns.append((values.span(), lo, hi));
        n += 1;
    };
}

/// A queried column short of one value per query is refused before any sum reads it (the
/// verifier's own path has every length checked by the trees' Merkle checks first).
#[test]
#[should_panic(expected: ('pcs: values per query',))]
fn fri_answers_refuse_a_column_short_of_a_value_per_query() {
    let (lifting, log_sizes, samples, random_coeff, queries, values, _) =
        vectors::pcs_answers_sample();
    let sample_columns = point_samples(@samples);
    let value_columns = m31_columns(@values);
    let mut short: Array<Span<felt252>> = array![];
    let mut c = 0;
    for column in value_columns {
        short.append(if c == 1 {
            (*column).slice(0, (*column).len() - 1)
        } else {
            *column
        });
        c += 1;
    };
    fri_answers(
        log_sizes.span(), sample_columns.span(), q(random_coeff), queries.span(), short.span(), lifting,
    );
}

/// `fri_answers` at 9, 13, 17 and 20 queries equals `fri_answers` at each query alone
/// (`sums_one`), on stwo's sample columns (batches of 5 columns (the main point's, odd), 2
/// and 2) with queried values made up per query. Each count takes another block layout: 9 is
/// a block of eight and one of four overlapping it (`sums_four`), 13 two blocks of eight
/// overlapping by three, 17 two of eight and one of four overlapping by three, 20 two of eight
/// and one of four (the fast list set's queries).
#[test]
#[available_gas(10000000000)]
fn fri_answers_at_several_query_counts_match_each_query_alone() {
    let (lifting, log_sizes, samples, random_coeff, _, _, _) = vectors::pcs_answers_sample();
    let sample_columns = point_samples(@samples);
    let positions: Array<u32> = array![
        1, 5, 9, 17, 22, 30, 41, 50, 62, 3, 7, 11, 13, 19, 23, 29, 31, 37, 43, 47,
    ];
    for n in array![9_u32, 13, 17, 20] {
        let queries = positions.span().slice(0, n);
        let mut values: Array<Span<felt252>> = array![];
        let mut c: u32 = 0;
        while c != log_sizes.len() {
            let mut col: Array<felt252> = array![];
            let mut j: u32 = 0;
            while j != n {
                col.append(((c * 1000003 + j * 7777777 + n * 31 + 11) % 0x7fffffff).into());
                j += 1;
            };
            values.append(col.span());
            c += 1;
        };
        let answers = fri_answers(
            log_sizes.span(), sample_columns.span(), q(random_coeff), queries, values.span(), lifting,
        );
        assert(answers.len() == n, 'answer count');
        let mut j: u32 = 0;
        while j != n {
            let mut one: Array<Span<felt252>> = array![];
            for column in values.span() {
                one.append((*column).slice(j, 1));
            };
            let alone = fri_answers(
                log_sizes.span(),
                sample_columns.span(),
                q(random_coeff),
                array![*queries[j]].span(),
                one.span(),
                lifting,
            );
            assert(*alone[0] == *answers[j], 'answer of a query');
            j += 1;
        };
    };
}

/// Sampled values as the verifier takes them: canonical coordinates.
fn qm31_columns(columns: @Array<Array<(u32, u32, u32, u32)>>) -> Span<Span<Coordinates>> {
    let mut out: Array<Span<Coordinates>> = array![];
    for column in columns.span() {
        let mut col: Array<Coordinates> = array![];
        for v in column.span() {
            col.append(coordinates(q(*v)));
        };
        out.append(col.span());
    };
    out.span()
}

/// Queried values as the verifier takes them: M31 integers held as felt252 (canonical: `m`
/// reduces).
fn m31_columns(columns: @Array<Array<u32>>) -> Span<Span<felt252>> {
    let mut out: Array<Span<felt252>> = array![];
    for column in columns.span() {
        let mut col: Array<felt252> = array![];
        for v in column.span() {
            col.append(m(*v).inner.into());
        };
        out.append(col.span());
    };
    out.span()
}

fn fri_layer(layer: @(Array<(u32, u32, u32, u32)>, Array<felt252>, felt252)) -> FriLayerProof {
    let (fri_witness, hash_witness, root) = layer;
    let mut w: Array<QM31> = array![];
    for v in fri_witness.span() {
        w.append(q(*v));
    };
    FriLayerProof { fri_witness: w.span(), hash_witness: hash_witness.span(), root: *root }
}

/// Verifies the generated PCS proof; `mutate`: 0 none, 1 a sampled value, 2 a queried value,
/// 3 the proof-of-work nonce, 4 a tree hash witness.
fn run_pcs(mutate: u32) -> Result<(), PcsVerificationError> {
    run_pcs_with(mutate, 0)
}

/// `run_pcs` with the sample points handed over as: 0 a list per column (`verify_values`),
/// 1 one run per tree (`verify_values_in_runs`), 2 that run a column short, 3 a column long,
/// 4 at two points for one-value columns; 5 (a list per column) with a value's four words
/// more in the flat sampled list, 6 with its last value's words left out.
fn run_pcs_with(mutate: u32, runs: u32) -> Result<(), PcsVerificationError> {
    let (config, oods, trees, nonce, first, inner, last) = vectors::pcs_proof_sample();
    let (pow_bits, log_blowup, log_last, n_queries, fold_step) = config;
    let config = PcsConfig {
        pow_bits,
        fri_config: FriConfigTrait::new(log_last, log_blowup, n_queries, fold_step),
        lifting_log_size: Option::None,
    };
    let oods = point(oods);
    let mut channel = ChannelTrait::new();
    channel.mix_u64(0xbeef);
    let mut verifier = CommitmentSchemeVerifierTrait::new(config);
    let mut tree_proofs: Array<TreeProof> = array![];
    // Every tree's sampled values, flat (`PcsProof::sampled_words`).
    let mut sampled_words: Array<felt252> = array![];
    let mut point_runs: Array<Span<PointRun>> = array![];
    let mut sampled_points: Array<Span<Span<CirclePoint<QM31>>>> = array![];
    let mut t = 0;
    for tree in trees.span() {
        let (root, log_sizes, sampled, witness, queried) = tree;
        verifier.commit(*root, log_sizes.span(), ref channel);
        let mut sampled_values = qm31_columns(sampled);
        let mut queried_values = m31_columns(queried);
        let mut hash_witness = witness.span();
        if t == 1 && mutate == 1 {
            let first_column = *sampled_values[0];
            let bumped = from_coordinates(*first_column[0]) + q((1, 0, 0, 0));
            let mut changed: Array<Span<Coordinates>> = array![
                array![coordinates(bumped)].span(),
            ];
            changed.append_span(sampled_values.slice(1, sampled_values.len() - 1));
            sampled_values = changed.span();
        }
        if t == 1 && mutate == 2 {
            let first_column = *queried_values[0];
            let bumped = m(1) + M31 { inner: (*first_column[0]).try_into().unwrap() };
            let mut col: Array<felt252> = array![bumped.inner.into()];
            col.append_span(first_column.slice(1, first_column.len() - 1));
            let mut changed: Array<Span<felt252>> = array![col.span()];
            changed.append_span(queried_values.slice(1, queried_values.len() - 1));
            queried_values = changed.span();
        }
        if t == 0 && mutate == 4 {
            let mut h: Array<felt252> = array![*hash_witness[0] + 1];
            h.append_span(hash_witness.slice(1, hash_witness.len() - 1));
            hash_witness = h.span();
        }
        for column in sampled_values {
            for value in *column {
                let (a, b, c, d) = *value;
                sampled_words.append_span(array![a, b, c, d].span());
            };
        };
        tree_proofs.append(TreeProof { hash_witness, queried_values });
        let mut points: Array<Span<CirclePoint<QM31>>> = array![];
        let mut c = 0;
        while c != log_sizes.len() {
            points.append(array![oods].span());
            c += 1;
        };
        sampled_points.append(points.span());
        let n_columns = log_sizes.len();
        point_runs
            .append(
                if runs == 2 {
                    array![(n_columns - 1, array![oods].span())].span()
                } else if runs == 3 {
                    array![(n_columns + 1, array![oods].span())].span()
                } else if runs == 4 {
                    array![(n_columns, array![oods, oods].span())].span()
                } else {
                    array![(n_columns, array![oods].span())].span()
                },
            );
        t += 1;
    };
    // The OODS point comes from the channel after the roots, as in the prover.
    assert(crate::circle::get_random_point(ref channel) == oods, 'oods point');
    let mut inner_layers: Array<FriLayerProof> = array![];
    for layer in inner.span() {
        inner_layers.append(fri_layer(layer));
    };
    let mut last_layer: Array<QM31> = array![];
    for v in last.span() {
        last_layer.append(q(*v));
    };
    if runs == 5 {
        sampled_words.append_span(array![1, 2, 3, 4].span());
    }
    let sampled_words = if runs == 6 {
        sampled_words.span().slice(0, sampled_words.len() - 4)
    } else {
        sampled_words.span()
    };
    let proof = PcsProof {
        trees: tree_proofs.span(),
        sampled_words,
        proof_of_work: if mutate == 3 {
            nonce + 1
        } else {
            nonce
        },
        fri_first_layer: fri_layer(@first),
        fri_inner_layers: inner_layers.span(),
        fri_last_layer_poly: last_layer.span(),
    };
    if runs == 0 || runs == 5 || runs == 6 {
        verifier.verify_values(sampled_points.span(), proof, ref channel)
    } else {
        verifier.verify_values_in_runs(point_runs.span(), proof, ref channel)
    }
}

#[test]
fn pcs_proof_verifies_with_points_as_runs() {
    assert(run_pcs_with(0, 1) == Result::Ok(()), 'one run per tree');
    assert(run_pcs_with(1, 1).is_err(), 'sampled value, runs');
}

#[test]
fn pcs_refuses_runs_that_do_not_cover_the_columns() {
    let mismatch = Result::Err(PcsVerificationError::ShapeMismatch);
    assert(run_pcs_with(0, 2) == mismatch, 'a column short');
    assert(run_pcs_with(0, 3) == mismatch, 'a column long');
    assert(run_pcs_with(0, 4) == mismatch, 'points per value');
    // The runs split the flat sampled list exactly: a word more or fewer is refused.
    assert(run_pcs_with(0, 5) == mismatch, 'a value more');
    assert(run_pcs_with(0, 6) == mismatch, 'a value fewer');
}

#[test]
fn pcs_proof_from_stwo_verifies() {
    assert(run_pcs(0) == Result::Ok(()), 'valid pcs proof');
}

#[test]
fn pcs_rejects_mutations() {
    assert(run_pcs(1).is_err(), 'sampled value');
    assert(run_pcs(2).is_err(), 'queried value');
    assert(run_pcs(4).is_err(), 'hash witness');
}

#[test]
fn pcs_rejects_wrong_proof_of_work() {
    // With 3 bits, nonce + 1 is valid with probability 1/8: the vector's nonce + 1 is not
    // (stwo's grinder returns the first valid nonce counting up).
    assert(run_pcs(3) == Result::Err(PcsVerificationError::ProofOfWork), 'pow');
}

#[test]
#[available_gas(4000000000)]
fn gas_pcs_verify() {
    let before = core::testing::get_available_gas();
    let result = run_pcs(0);
    core::gas::withdraw_gas().unwrap();
    let spent = before - core::testing::get_available_gas();
    println!("gas: pcs verify (2 trees, 4 columns of log 5 + blowup 1, 4 queries, incl. vector setup) = {}", spent);
    assert(result == Result::Ok(()), 'valid');
}

#[test]
fn composition_oods_eval_matches_stwo() {
    let (evals, left, oods, bound, expected) = vectors::composition_sample();
    let mut values: Array<QM31> = array![];
    for v in evals.span() {
        values.append(q(*v));
    };
    assert(crate::pcs::from_partial_evals(values.span().slice(0, 4)) == q(left), 'partial evals');
    assert(
        crate::pcs::composition_oods_eval(point(oods), values.span(), bound) == q(expected),
        'composition value',
    );
}

#[test]
fn batch_inverse_matches_one_by_one_inverses() {
    let values = array![m(1), m(2), m(2147483646), m(123456789), m(5)];
    let inverses = crate::pcs::batch_inverse_m31(values.span());
    assert(inverses.len() == values.len(), 'inverse count');
    let mut i = 0;
    while i != values.len() {
        assert(*inverses[i] == (*values[i]).inverse(), 'batch inverse');
        i += 1;
    };
    assert(crate::pcs::batch_inverse_m31(array![].span()).len() == 0, 'empty batch');
}

#[test]
#[should_panic(expected: ('M31: zero has no inverse',))]
fn batch_inverse_refuses_zero() {
    crate::pcs::batch_inverse_m31(array![m(3), m(0), m(7)].span());
}

/// A committed tree keeps its columns' log sizes as given and the blowup beside them, and is as
/// high as its tallest column's domain, wherever that column stands (a block of four at the
/// tallest size so far is passed by equality tests only): leading, trailing, alone in a block,
/// in the one-at-a-time tail, and an empty tree.
#[test]
fn a_committed_tree_is_as_high_as_its_tallest_domain() {
    let cases: Array<(Span<u32>, u32)> = array![
        (array![5, 5, 5, 5, 3, 3, 3, 3, 4].span(), 5), (array![3, 3, 3, 3, 5, 5, 5, 5].span(), 5),
        (array![2, 2, 2, 2, 2, 7, 2, 2, 2].span(), 7), (array![4, 4, 4, 4, 4, 4, 4, 6].span(), 6),
        (array![1, 1, 1, 1, 1, 1, 1, 1, 1, 9].span(), 9), (array![8].span(), 8),
        (array![].span(), 0),
    ];
    for case in cases {
        let (sizes, tallest) = case;
        let config = PcsConfig {
            pow_bits: 0,
            fri_config: FriConfigTrait::new(0, 2, 3, 1),
            lifting_log_size: Option::None,
        };
        let mut verifier = CommitmentSchemeVerifierTrait::new(config);
        let mut channel = ChannelTrait::new();
        verifier.commit(1, sizes, ref channel);
        let tree = *verifier.trees[0];
        assert(tree.column_log_sizes == sizes, 'sizes as given');
        assert(tree.log_blowup == 2, 'blowup beside them');
        let height = if sizes.len() == 0 {
            0
        } else {
            tallest + 2
        };
        assert(tree.height == height, 'tallest domain');
    };
}
