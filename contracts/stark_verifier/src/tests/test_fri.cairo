use crate::circle::{CirclePoint, CirclePointIndex, CosetTrait};
use crate::fields::{QM31, QM31Trait};
use crate::fri::{
    fold_line, fold_circle_into_line, fold_coset, fold_cosets, fri_commit, FriConfigTrait,
    FriVerificationError, sample_query_positions, sorted_unique, check_last_layer, fri_decommit,
    FriLayerProof, FriCommitment,
};
use crate::poly::{
    bit_reverse_index, canonic_circle_domain, CircleDomainTrait, LineDomainTrait,
};
use crate::channel::ChannelTrait;
use super::vectors;
use super::{m, q};

fn qm31s(values: @Array<(u32, u32, u32, u32)>) -> Array<QM31> {
    let mut out = array![];
    for value in values.span() {
        out.append(q(*value));
    };
    out
}

#[test]
fn bit_reversal_matches_stwo() {
    for row in vectors::bit_reverse_samples().span() {
        let (i, log_size, expected) = *row;
        assert(bit_reverse_index(i, log_size) == expected, 'bit reverse');
    };
}

#[test]
fn canonic_domain_matches_stwo() {
    let domain = canonic_circle_domain(5);
    assert(domain.log_size() == 5, 'log size');
    for row in vectors::canonic_domain_points().span() {
        let (i, point) = *row;
        let (x, y) = point;
        assert(domain.at(i) == CirclePoint { x: m(x), y: m(y) }, 'domain point');
    };
}

#[test]
fn line_domain_matches_stwo() {
    let line = LineDomainTrait::new(CosetTrait::half_odds(4));
    for row in vectors::line_domain_points().span() {
        let (i, x, doubled_x) = *row;
        assert(line.at(i) == m(x), 'line point');
        assert(line.double().at(i / 2) == m(doubled_x), 'doubled line point');
    };
}

#[test]
#[should_panic(expected: ('poly: line x not unique',))]
fn line_domain_rejects_repeated_x() {
    // The subgroup contains (0, y) and (0, -y): x-coordinates repeat.
    LineDomainTrait::new(CosetTrait::subgroup(3));
}

#[test]
fn fold_line_matches_stwo() {
    let (eval, alpha, expected) = vectors::fold_line_sample();
    let domain = LineDomainTrait::new(CosetTrait::half_odds(3));
    let folded = fold_line(qm31s(@eval).span(), domain, q(alpha));
    assert(folded == qm31s(@expected), 'fold_line');
}

#[test]
fn fold_circle_into_line_matches_stwo() {
    let (eval, alpha, expected) = vectors::fold_circle_sample();
    let folded = fold_circle_into_line(qm31s(@eval).span(), canonic_circle_domain(4), q(alpha));
    assert(folded == qm31s(@expected), 'fold_circle_into_line');
    // A different alpha gives a different fold.
    let other = fold_circle_into_line(
        qm31s(@eval).span(), canonic_circle_domain(4), q(alpha) + q((1, 0, 0, 0)),
    );
    assert(other != qm31s(@expected), 'alpha matters');
}

#[test]
fn line_poly_eval_matches_stwo() {
    let (coeffs, x, expected) = vectors::line_poly_sample();
    assert(
        crate::poly::line_poly_eval_at_point(qm31s(@coeffs).span(), q(x)) == q(expected),
        'eval_at_point',
    );
}

/// `equals_mod_p` (the last layer's comparison, by an exact division): true for multiples of P
/// plus the expected residue up to the largest value the fold can give (below 2^223), false
/// one off either way, and at the edges (zero, P itself, a value below the expected one).
#[test]
fn equals_mod_p_tells_residues_apart_up_to_2_223() {
    let p: felt252 = 0x7fffffff;
    // The largest multiple of P below 2^223 - P: (2^223 / P - 1) P.
    let big_k: felt252 = 0x100000002000000040000000800000010000000200000003f;
    assert(crate::poly::equals_mod_p(0, m(0)), 'zero');
    assert(crate::poly::equals_mod_p(p, m(0)), 'P is zero');
    assert(!crate::poly::equals_mod_p(p, m(1)), 'P is not one');
    assert(crate::poly::equals_mod_p(5, m(5)), 'small');
    assert(!crate::poly::equals_mod_p(4, m(5)), 'below expected');
    assert(!crate::poly::equals_mod_p(6, m(5)), 'above expected');
    let top = big_k * p;
    assert(crate::poly::equals_mod_p(top + 0x7ffffffe, m(0x7ffffffe)), 'largest residue');
    assert(!crate::poly::equals_mod_p(top + 0x7ffffffe, m(0x7ffffffd)), 'one below');
    assert(!crate::poly::equals_mod_p(top + 0x7ffffffe, m(0)), 'wraps to zero');
    assert(crate::poly::equals_mod_p(top + 12345, m(12345)), 'big multiple');
    assert(!crate::poly::equals_mod_p(top + 12345, m(12346)), 'big, one off');
    assert(!crate::poly::equals_mod_p(top + 12346, m(12345)), 'big, one over');
}

/// 2^log_n coefficients: the largest canonical coordinates (P - 1, the lazy fold's bound) or a
/// spread of values from a fixed multiplier.
fn last_layer_coeffs(log_n: u32, largest: bool) -> Array<QM31> {
    let mut out = array![];
    let mut seed: u64 = 0x9e3779b9;
    let n = crate::circle::pow2_u32(log_n);
    while out.len() != n {
        if largest {
            out.append(q((0x7ffffffe, 0x7ffffffe, 0x7ffffffe, 0x7ffffffe)));
        } else {
            let mut coords: Array<u32> = array![];
            while coords.len() != 4 {
                seed = (seed * 6364136223 + 1442695041) % 0x7fffffff;
                coords.append(seed.try_into().unwrap());
            };
            out.append(q((*coords[0], *coords[1], *coords[2], *coords[3])));
        }
    };
    out
}

#[test]
fn lazy_last_layer_fold_agrees_with_stwo_and_refuses_forged_values() {
    // Up to 2^6 coefficients, at the largest factor (P - 1) and ordinary ones: the lazy fold's
    // integers must not wrap around the felt252 modulus (the reference is the QM31 evaluation
    // checked against stwo). A forged folded value, off by one in any coordinate, is refused.
    let xs = array![0x7ffffffe_u32, 1, 2, 0x12345678, 0x7fff0000];
    let mut log_n = 0;
    while log_n <= crate::poly::LOG_MAX_LAZY_COEFFS {
        for largest in array![true, false] {
            let coeffs = last_layer_coeffs(log_n, largest);
            let coords = crate::poly::qm31_coordinate_felts(coeffs.span());
            for x in xs.span() {
                let x = m(*x);
                let value = crate::poly::line_poly_eval_at_point(
                    coeffs.span(), QM31Trait::from_m31s(x, m(0), m(0), m(0)),
                );
                assert(crate::poly::line_poly_matches_at_m31(coords, x, value), 'lazy eval');
                // Off by one in each coordinate in turn: refused.
                let one = crate::fields::M31 { inner: 1 };
                let mut bumped = value;
                bumped.a.a = bumped.a.a + one;
                assert(!crate::poly::line_poly_matches_at_m31(coords, x, bumped), 'bumped a.a');
                let mut bumped = value;
                bumped.a.b = bumped.a.b + one;
                assert(!crate::poly::line_poly_matches_at_m31(coords, x, bumped), 'bumped a.b');
                let mut bumped = value;
                bumped.b.a = bumped.b.a + one;
                assert(!crate::poly::line_poly_matches_at_m31(coords, x, bumped), 'bumped b.a');
                let mut bumped = value;
                bumped.b.b = bumped.b.b + one;
                assert(!crate::poly::line_poly_matches_at_m31(coords, x, bumped), 'bumped b.b');
            };
        };
        log_n += 1;
    };
}

#[test]
#[should_panic(expected: ('fri: last layer bound range',))]
fn fri_config_refuses_a_last_layer_past_the_lazy_fold() {
    FriConfigTrait::new(crate::poly::LOG_MAX_LAZY_COEFFS + 1, 1, 10, 1);
}

fn start_channel() -> crate::channel::Poseidon252Channel {
    let mut channel = crate::channel::ChannelTrait::new();
    channel.mix_u64(0xabcdef);
    channel
}

#[test]
fn fri_commit_matches_stwo() {
    for row in vectors::fri_commit_samples().span() {
        let (config, bound, roots, last_layer, alphas, digest, positions) = row;
        let (log_last, log_blowup, n_queries, fold_step) = *config;
        let config = FriConfigTrait::new(log_last, log_blowup, n_queries, fold_step);
        let roots = roots.span();
        let last = qm31s(last_layer);
        let mut channel = start_channel();
        let commitment = fri_commit(
            ref channel, config, *bound, *roots[0], roots.slice(1, roots.len() - 1), last.span(),
        )
            .unwrap();
        assert(channel.digest == *digest, 'digest after commit');
        assert(commitment.first_layer_alpha == q(*alphas[0]), 'first alpha');
        let inner = commitment.inner_layers.span();
        assert(inner.len() == roots.len() - 1, 'inner layer count');
        let mut i = 0;
        while i != inner.len() {
            assert(*inner[i].folding_alpha == q(*alphas[i + 1]), 'inner alpha');
            i += 1;
        };
        let sampled = sample_query_positions(ref channel, @commitment);
        assert(@sampled == positions, 'query positions');
    };
}

#[test]
fn fri_commit_rejects_wrong_layer_count_and_degree() {
    let row = vectors::fri_commit_samples();
    let (config, bound, roots, last_layer, _, _, _) = row.at(0);
    let (log_last, log_blowup, n_queries, fold_step) = *config;
    let config = FriConfigTrait::new(log_last, log_blowup, n_queries, fold_step);
    let roots = roots.span();
    let last = qm31s(last_layer);
    // One inner layer too few, one too many.
    let mut channel = start_channel();
    let few = fri_commit(
        ref channel, config, *bound, *roots[0], roots.slice(1, roots.len() - 2), last.span(),
    );
    assert(few.unwrap_err() == FriVerificationError::InvalidNumFriLayers, 'too few layers');
    let mut more = array![];
    more.append_span(roots.slice(1, roots.len() - 1));
    more.append(5);
    let mut channel = start_channel();
    let many = fri_commit(ref channel, config, *bound, *roots[0], more.span(), last.span());
    assert(many.unwrap_err() == FriVerificationError::InvalidNumFriLayers, 'too many layers');
    // A last layer with more coefficients than its degree bound allows.
    let mut long = last.clone();
    long.append_span(last.span());
    let mut channel = start_channel();
    let too_long = fri_commit(
        ref channel, config, *bound, *roots[0], roots.slice(1, roots.len() - 1), long.span(),
    );
    assert(too_long.unwrap_err() == FriVerificationError::LastLayerDegreeInvalid, 'degree');
}

/// The first sampled FRI commitment (`vectors::fri_commit_samples`) and its last layer.
fn sample_commitment() -> (FriCommitment, Array<QM31>) {
    let row = vectors::fri_commit_samples();
    let (config, bound, roots, last_layer, _, _, _) = row.at(0);
    let (log_last, log_blowup, n_queries, fold_step) = *config;
    let config = FriConfigTrait::new(log_last, log_blowup, n_queries, fold_step);
    let roots = roots.span();
    let last = qm31s(last_layer);
    let mut channel = start_channel();
    let commitment = fri_commit(
        ref channel, config, *bound, *roots[0], roots.slice(1, roots.len() - 1), last.span(),
    )
        .unwrap();
    (commitment, last)
}

/// `poly` evaluated at the points of `domain` the last layer's `queries` name (bit-reversed).
fn last_layer_evals(
    domain: crate::poly::LineDomain, poly: Span<QM31>, queries: Span<u32>,
) -> Array<QM31> {
    let mut evals = array![];
    for query in queries {
        let x = domain.at(bit_reverse_index(*query, domain.log_size()));
        evals.append(crate::poly::line_poly_eval_at_point(poly, QM31Trait::from_m31(x)));
    };
    evals
}

#[test]
fn last_layer_check_accepts_the_polynomial_and_rejects_changes() {
    let (commitment, last) = sample_commitment();
    let queries = array![0, 3, 5];
    let evals = last_layer_evals(commitment.last_layer_domain, last.span(), queries.span());
    assert(check_last_layer(@commitment, queries.span(), evals.span()).is_ok(), 'valid');
    let mut changed = array![*evals[0], *evals[1] + q((0, 0, 0, 1)), *evals[2]];
    assert(
        check_last_layer(@commitment, queries.span(), changed.span())
            .unwrap_err() == FriVerificationError::LastLayerEvaluationsInvalid,
        'changed eval',
    );
    assert(sorted_unique(array![5, 1, 5, 3, 1].span()) == array![1, 3, 5], 'sorted unique');
}

/// `check_last_layer` refuses a last layer of more than 2^6 coefficients before folding it
/// (the lazy fold's comparison, `equals_mod_p`, relies on the bound), in a commitment built
/// field by field past `FriConfigTrait::new`'s check: 128 small coefficients whose seven folds
/// would not overflow, with their true evaluations, are refused (with the bound lifted, the
/// lazy fold accepts them).
#[test]
fn last_layer_check_refuses_more_coefficients_than_the_lazy_fold_takes() {
    let (commitment, _) = sample_commitment();
    let mut long: Array<QM31> = array![];
    while long.len() != 128 {
        long.append(q((long.len() % 3, 1, 0, long.len() % 2)));
    };
    let long_commitment = FriCommitment { last_layer_poly: long.span(), ..commitment };
    let queries = array![0, 3, 5];
    let evals = last_layer_evals(long_commitment.last_layer_domain, long.span(), queries.span());
    assert(
        check_last_layer(@long_commitment, queries.span(), evals.span())
            .unwrap_err() == FriVerificationError::LastLayerEvaluationsInvalid,
        'more than 2^6 coefficients',
    );
}

/// The count the last layer is checked against (`MAX_LAZY_COEFFS`, in `check_last_layer`) is
/// the bound `FriConfigTrait::new` takes as a log (`LOG_MAX_LAZY_COEFFS`): the two must agree.
#[test]
fn lazy_fold_bounds_agree() {
    assert(
        crate::circle::pow2_u32(crate::poly::LOG_MAX_LAZY_COEFFS) == crate::poly::MAX_LAZY_COEFFS,
        'bounds disagree',
    );
}

/// `sorted_unique` on lists of every kind a query draw can give: empty, one value, ascending,
/// descending, repeats at either end and in the middle, all equal, and 20 values (the fast
/// list set's queries) with repeats, against the lists written out sorted.
#[test]
fn sorted_unique_sorts_and_drops_repeats() {
    let empty: Array<u32> = array![];
    assert(sorted_unique(empty.span()) == array![], 'empty');
    assert(sorted_unique(array![7].span()) == array![7], 'one');
    assert(sorted_unique(array![1, 2, 3, 4].span()) == array![1, 2, 3, 4], 'ascending');
    assert(sorted_unique(array![4, 3, 2, 1, 0].span()) == array![0, 1, 2, 3, 4], 'descending');
    assert(sorted_unique(array![9, 9, 2, 2].span()) == array![2, 9], 'repeats at the ends');
    assert(sorted_unique(array![3, 8, 5, 8, 1, 5].span()) == array![1, 3, 5, 8], 'repeats inside');
    assert(sorted_unique(array![6, 6, 6].span()) == array![6], 'all equal');
    let twenty = array![
        16383, 5, 900, 12, 0, 4096, 77, 900, 1, 16383, 3000, 42, 8191, 8192, 5, 600, 601, 11,
        9999, 2,
    ];
    assert(
        sorted_unique(
            twenty.span(),
        ) == array![0, 1, 2, 5, 11, 12, 42, 77, 600, 601, 900, 3000, 4096, 8191, 8192, 9999, 16383],
        'twenty',
    );
}

fn layer_proof(layer: @(Array<(u32, u32, u32, u32)>, Array<felt252>, felt252)) -> FriLayerProof {
    let (fri_witness, hash_witness, root) = layer;
    FriLayerProof {
        fri_witness: qm31s(fri_witness).span(), hash_witness: hash_witness.span(), root: *root,
    }
}

fn start_proof_channel() -> crate::channel::Poseidon252Channel {
    let mut channel = crate::channel::ChannelTrait::new();
    channel.mix_u64(0xfeed);
    channel
}

/// Runs commit + query sampling + decommit on a generated proof; `mutate` picks a change:
/// 0 none, 1 first-layer eval, 2 first-layer fri witness, 3 inner hash (else fri) witness,
/// 4 last layer.
fn run_fri(row_index: u32, mutate: u32) -> Result<(), FriVerificationError> {
    let rows = vectors::fri_proof_samples();
    let (config, bound, positions, evals, first, inner, last) = rows.at(row_index);
    let (log_last, log_blowup, n_queries, fold_step) = *config;
    let config = FriConfigTrait::new(log_last, log_blowup, n_queries, fold_step);
    let first = layer_proof(first);
    let mut inner_proofs: Array<FriLayerProof> = array![];
    let mut roots: Array<felt252> = array![];
    for layer in inner.span() {
        let proof = layer_proof(layer);
        roots.append(proof.root);
        inner_proofs.append(proof);
    };
    let mut last = qm31s(last);
    if mutate == 4 {
        let c0 = last.pop_front().unwrap();
        let mut changed = array![c0 + q((1, 0, 0, 0))];
        changed.append_span(last.span());
        last = changed;
    }
    let mut channel = start_proof_channel();
    let commitment = fri_commit(ref channel, config, *bound, first.root, roots.span(), last.span())
        .unwrap();
    let sampled = sample_query_positions(ref channel, @commitment);
    if mutate != 4 {
        assert(@sampled == positions, 'query positions');
    }
    let mut evals = qm31s(evals);
    let mut first = first;
    if mutate == 1 {
        let e0 = evals.pop_front().unwrap();
        let mut changed = array![e0 + q((0, 1, 0, 0))];
        changed.append_span(evals.span());
        evals = changed;
    } else if mutate == 2 {
        let mut w = first.fri_witness;
        let w0 = *w.pop_front().unwrap();
        let mut changed = array![w0 + q((0, 0, 1, 0))];
        changed.append_span(w);
        first = FriLayerProof { fri_witness: changed.span(), ..first };
    } else if mutate == 3 {
        // Change the first hash of the first inner layer that has a hash witness.
        let mut proofs: Array<FriLayerProof> = array![];
        let mut done = false;
        for proof in inner_proofs.span() {
            let p = *proof;
            if !done && p.hash_witness.len() != 0 {
                let mut h = p.hash_witness;
                let h0 = *h.pop_front().unwrap();
                let mut changed = array![h0 + 1];
                changed.append_span(h);
                proofs.append(FriLayerProof { hash_witness: changed.span(), ..p });
                done = true;
            } else {
                proofs.append(p);
            }
        };
        if !done {
            // Small layers can be fully covered by the queries: change a coset value instead.
            proofs = array![];
            for proof in inner_proofs.span() {
                let p = *proof;
                if !done && p.fri_witness.len() != 0 {
                    let mut w = p.fri_witness;
                    let w0 = *w.pop_front().unwrap();
                    let mut changed = array![w0 + q((0, 0, 0, 1))];
                    changed.append_span(w);
                    proofs.append(FriLayerProof { fri_witness: changed.span(), ..p });
                    done = true;
                } else {
                    proofs.append(p);
                }
            };
        }
        assert(done, 'nothing to change in inner');
        inner_proofs = proofs;
    }
    fri_decommit(@commitment, sampled.span(), evals.span(), first, inner_proofs.span())
}

#[test]
#[available_gas(4000000000)]
fn gas_fri_full_verify() {
    // Commit phase + query sampling + decommitment of the generated proofs.
    let before = core::testing::get_available_gas();
    let ok = run_fri(0, 0);
    core::gas::withdraw_gas().unwrap();
    let spent = before - core::testing::get_available_gas();
    println!("gas: fri verify, log size 7, blowup 2, 6 queries, fold 1 = {}", spent);
    assert(ok == Result::Ok(()), 'fold 1');
    let before = core::testing::get_available_gas();
    let ok = run_fri(1, 0);
    core::gas::withdraw_gas().unwrap();
    let spent = before - core::testing::get_available_gas();
    println!("gas: fri verify, log size 7, blowup 1, 5 queries, fold 3 = {}", spent);
    assert(ok == Result::Ok(()), 'fold 3');
}

#[test]
fn fri_proofs_from_stwo_verify() {
    assert(run_fri(0, 0) == Result::Ok(()), 'fold step 1 proof');
    assert(run_fri(1, 0) == Result::Ok(()), 'fold step 3 proof');
}

#[test]
fn fri_rejects_changed_first_layer_values() {
    assert(run_fri(0, 1).is_err(), 'eval, fold 1');
    assert(run_fri(1, 1).is_err(), 'eval, fold 3');
    assert(run_fri(0, 2).is_err(), 'witness, fold 1');
    assert(run_fri(1, 2).is_err(), 'witness, fold 3');
}

#[test]
fn fri_rejects_changed_inner_witness_and_last_layer() {
    assert(run_fri(0, 3).is_err(), 'hash witness, fold 1');
    assert(run_fri(1, 3).is_err(), 'hash witness, fold 3');
    assert(run_fri(0, 4).is_err(), 'last layer, fold 1');
    assert(run_fri(1, 4).is_err(), 'last layer, fold 3');
}

/// `n` QM31s from a fixed linear congruential sequence modulo P.
fn sample_values(n: u32, seed: u128) -> Array<QM31> {
    let mut state: u128 = seed + 1;
    let mut out: Array<QM31> = array![];
    while out.len() != n {
        let mut coordinates: Array<u32> = array![];
        while coordinates.len() != 4 {
            let (_, next) = core::integer::u128_safe_divmod(
                state * 1103515245 + 12345, 0x7fffffff,
            );
            state = next;
            coordinates.append(next.try_into().unwrap());
        };
        out
            .append(
                QM31Trait::from_u32_unchecked(
                    *coordinates[0], *coordinates[1], *coordinates[2], *coordinates[3],
                ),
            );
    };
    out
}

/// The layer folding of `fri_decommit` (windowed points, batched inverses, straight-line
/// fold_step 3) equals stwo's `fold_circle_into_line` + `fold_coset` and `fold_coset`
/// computed one coset at a time, for fold steps 1..4.
#[test]
#[available_gas(10000000000)]
fn fold_cosets_match_the_reference_folds() {
    let alpha = QM31Trait::from_u32_unchecked(123456789, 987654321, 5, 2000000000);
    let circle_domain = canonic_circle_domain(10);
    let line_domain = LineDomainTrait::new(CosetTrait::half_odds(9));
    let mut fold_step = 1;
    while fold_step != 5 {
        let coset_size = crate::circle::pow2_u32(fold_step);
        let starts = array![0_u32, 3 * coset_size, 17 * coset_size];
        let flat = sample_values(3 * coset_size, fold_step.into());
        // Circle cosets (first layer).
        let mut initials: Array<CirclePointIndex> = array![];
        for start in starts.span() {
            initials.append(circle_domain.half_coset.index_at(*start));
        };
        let folded = fold_cosets(flat.span(), initials.span(), true, fold_step, alpha);
        let mut s = 0;
        while s != 3 {
            let eval = flat.span().slice(s * coset_size, coset_size);
            let initial = *initials[s];
            let buffer = fold_circle_into_line(
                eval, CircleDomainTrait::new(CosetTrait::new(initial, fold_step - 1)), alpha,
            );
            let expected = if fold_step == 1 {
                *buffer[0]
            } else {
                fold_coset(
                    buffer.span(),
                    LineDomainTrait::new(CosetTrait::new(initial, fold_step - 1)),
                    alpha * alpha,
                )
            };
            assert(*folded[s] == expected, 'circle coset fold');
            s += 1;
        };
        // Line cosets (inner layers).
        let mut initials: Array<CirclePointIndex> = array![];
        for start in starts.span() {
            initials.append(line_domain.coset.index_at(*start));
        };
        let folded = fold_cosets(flat.span(), initials.span(), false, fold_step, alpha);
        let mut s = 0;
        while s != 3 {
            let eval = flat.span().slice(s * coset_size, coset_size);
            let expected = fold_coset(
                eval, LineDomainTrait::new(CosetTrait::new(*initials[s], fold_step)), alpha,
            );
            assert(*folded[s] == expected, 'line coset fold');
            s += 1;
        };
        fold_step += 1;
    };
}
