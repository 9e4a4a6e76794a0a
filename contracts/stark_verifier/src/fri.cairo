//! FRI folding steps as stwo 2.3 computes them (the verifier re-folds the queried values).

use crate::fields::{M31, M31Trait, CM31, QM31, QM31Trait, P};
use crate::fields::cm31::P_SQUARED;
use crate::poly::{
    CircleDomain, CircleDomainTrait, LineDomain, LineDomainTrait, bit_reverse_index,
    canonic_circle_domain, line_poly_matches_at_m31, qm31_coordinate_felts,
    LOG_MAX_LAZY_COEFFS,
};
use crate::circle::{
    CirclePoint, CirclePointIndex, CirclePointIndexTrait, CosetTrait, m31_gen_window_table,
    pow2_u32,
};
use crate::channel::{Poseidon252Channel, ChannelTrait};
use crate::merkle::{MerkleVerificationError, walk_to_root};

/// Leaves of FRI layers folded by more than one step hold 2^2 consecutive QM31 values.
pub const LOG_PACKED_LEAF_SIZE: u32 = 2;

/// stwo's `FriConfig` (chosen by the verifier, part of the OS version).
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct FriConfig {
    pub log_blowup_factor: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
}

#[generate_trait]
pub impl FriConfigImpl of FriConfigTrait {
    /// The ranges stwo's `FriConfig::new` asserts, except that the last layer holds at most
    /// 2^6 coefficients (stwo: 2^10), the most `check_last_layer`'s unreduced fold takes.
    fn new(
        log_last_layer_degree_bound: u32, log_blowup_factor: u32, n_queries: u32, fold_step: u32,
    ) -> FriConfig {
        assert(
            log_last_layer_degree_bound <= LOG_MAX_LAZY_COEFFS, 'fri: last layer bound range',
        );
        assert(log_blowup_factor >= 1 && log_blowup_factor <= 16, 'fri: blowup range');
        assert(fold_step > 0, 'fri: fold step must be positive');
        FriConfig { log_blowup_factor, log_last_layer_degree_bound, n_queries, fold_step }
    }

    /// Query security: log_blowup_factor * n_queries (proof of work bits come on top).
    fn security_bits(self: @FriConfig) -> u32 {
        *self.log_blowup_factor * *self.n_queries
    }
}

#[derive(Copy, Drop, Debug, PartialEq)]
pub enum FriVerificationError {
    InvalidNumFriLayers,
    FirstLayerEvaluationsInvalid,
    FirstLayerCommitmentInvalid: MerkleVerificationError,
    InnerLayerCommitmentInvalid: (u32, MerkleVerificationError),
    InnerLayerEvaluationsInvalid: u32,
    LastLayerDegreeInvalid,
    LastLayerEvaluationsInvalid,
}

/// One inner FRI layer after the commit phase.
#[derive(Copy, Drop, Debug, PartialEq)]
pub struct FriInnerLayer {
    pub root: felt252,
    pub domain: LineDomain,
    pub folding_alpha: QM31,
    pub fold_step: u32,
    pub pack_leaves: bool,
}

/// The verifier's state after stwo's `FriVerifier::commit`.
#[derive(Drop, Debug)]
pub struct FriCommitment {
    pub config: FriConfig,
    pub column_commitment_domain: CircleDomain,
    pub first_layer_root: felt252,
    pub first_layer_alpha: QM31,
    pub first_layer_pack_leaves: bool,
    pub inner_layers: Array<FriInnerLayer>,
    pub last_layer_domain: LineDomain,
    pub last_layer_poly: Span<QM31>,
}

/// stwo's `FriVerifier::commit`: mixes every layer root, draws each layer's folding alpha,
/// derives the layer domains and fold steps, checks the layer count and the last layer's
/// degree, and mixes the last layer's coefficients.
pub fn fri_commit(
    ref channel: Poseidon252Channel,
    config: FriConfig,
    column_log_degree_bound: u32,
    first_layer_root: felt252,
    inner_layer_roots: Span<felt252>,
    last_layer_poly: Span<QM31>,
) -> Result<FriCommitment, FriVerificationError> {
    channel.mix_root(first_layer_root);
    let column_commitment_domain = canonic_circle_domain(
        column_log_degree_bound + config.log_blowup_factor,
    );
    let first_layer_alpha = channel.draw_secure_felt();
    let first_layer_pack_leaves = column_commitment_domain.log_size() >= LOG_PACKED_LEAF_SIZE
        && config.fold_step > 1;

    if column_log_degree_bound < config.fold_step {
        return Result::Err(FriVerificationError::InvalidNumFriLayers);
    }
    let mut layer_bound = column_log_degree_bound - config.fold_step;
    let mut layer_domain = LineDomainTrait::new(
        CosetTrait::half_odds(layer_bound + config.log_blowup_factor),
    );
    let mut inner_layers: Array<FriInnerLayer> = array![];
    let n_inner = inner_layer_roots.len();
    let mut layer_index = 0;
    let mut error: Option<FriVerificationError> = Option::None;
    while layer_index != n_inner {
        let root = *inner_layer_roots[layer_index];
        channel.mix_root(root);
        let fold_step = if layer_index + 1 != n_inner {
            config.fold_step
        } else {
            // The last inner layer folds exactly down to the last layer's degree bound.
            if layer_bound < config.log_last_layer_degree_bound {
                error = Option::Some(FriVerificationError::InvalidNumFriLayers);
                break;
            }
            let rest = layer_bound - config.log_last_layer_degree_bound;
            if rest < 1 || rest > config.fold_step {
                error = Option::Some(FriVerificationError::InvalidNumFriLayers);
                break;
            }
            rest
        };
        let folding_alpha = channel.draw_secure_felt();
        inner_layers
            .append(
                FriInnerLayer {
                    root,
                    domain: layer_domain,
                    folding_alpha,
                    fold_step,
                    pack_leaves: layer_domain.log_size() >= LOG_PACKED_LEAF_SIZE && fold_step > 1,
                },
            );
        if layer_bound < fold_step {
            error = Option::Some(FriVerificationError::InvalidNumFriLayers);
            break;
        }
        layer_bound -= fold_step;
        layer_domain = layer_domain.repeated_double(fold_step);
        layer_index += 1;
    };
    if let Option::Some(e) = error {
        return Result::Err(e);
    }
    if layer_bound != config.log_last_layer_degree_bound {
        return Result::Err(FriVerificationError::InvalidNumFriLayers);
    }
    // stwo's LinePoly holds 2^k coefficients, at most 2^log_last_layer_degree_bound.
    let n_coeffs = last_layer_poly.len();
    if n_coeffs == 0
        || n_coeffs > pow2_u32(config.log_last_layer_degree_bound)
        || !is_power_of_two(n_coeffs) {
        return Result::Err(FriVerificationError::LastLayerDegreeInvalid);
    }
    channel.mix_felts(last_layer_poly);
    Result::Ok(
        FriCommitment {
            config,
            column_commitment_domain,
            first_layer_root,
            first_layer_alpha,
            first_layer_pack_leaves,
            inner_layers,
            last_layer_domain: layer_domain,
            last_layer_poly,
        },
    )
}

fn is_power_of_two(n: u32) -> bool {
    let mut rest = n;
    while rest > 1 {
        let (half, low) = core::integer::u32_safe_divmod(rest, 2);
        if low != 0 {
            break;
        }
        rest = half;
    };
    rest == 1
}

/// stwo's `FriVerifier::sample_query_positions`: `n_queries` draws over the first layer's
/// domain, sorted ascending without repetitions.
pub fn sample_query_positions(
    ref channel: Poseidon252Channel, commitment: @FriCommitment,
) -> Array<u32> {
    let log_size = commitment.column_commitment_domain.log_size();
    let raw = channel.draw_queries(log_size, *commitment.config.n_queries);
    sorted_unique(raw.span())
}

/// Ascending distinct values of `values` (a merge sort that drops repeats while merging:
/// O(n log n) for the few dozen FRI queries).
pub fn sorted_unique(values: Span<u32>) -> Array<u32> {
    let n = values.len();
    if n <= 1 {
        let mut out: Array<u32> = array![];
        out.append_span(values);
        return out;
    }
    let half = n / 2;
    let left = sorted_unique(values.slice(0, half));
    let right = sorted_unique(values.slice(half, n - half));
    let mut a = left.span();
    let mut b = right.span();
    let mut out: Array<u32> = array![];
    // Both halves are strictly ascending; equal heads are emitted once.
    loop {
        if a.len() == 0 {
            out.append_span(b);
            break;
        }
        if b.len() == 0 {
            out.append_span(a);
            break;
        }
        let x = *a[0];
        let y = *b[0];
        if x < y {
            out.append(x);
            a.pop_front().unwrap();
        } else if y < x {
            out.append(y);
            b.pop_front().unwrap();
        } else {
            out.append(x);
            a.pop_front().unwrap();
            b.pop_front().unwrap();
        }
    };
    out
}

/// stwo's `decommit_last_layer`: each query's folded value must equal the last layer
/// polynomial at x = last_layer_domain.at(bit_reverse(query)).
pub fn check_last_layer(
    commitment: @FriCommitment, queries: Span<u32>, query_evals: Span<QM31>,
) -> Result<(), FriVerificationError> {
    if queries.len() != query_evals.len() {
        return Result::Err(FriVerificationError::LastLayerEvaluationsInvalid);
    }
    let domain = *commitment.last_layer_domain;
    let log_size = domain.log_size();
    // Points past the first few converted by windows, with one table for all queries.
    let table = m31_gen_window_table();
    // At most 2^6 coefficients (`FriConfigTrait::new`; checked here too, because the lazy
    // fold's comparison, `poly::equals_mod_p`, relies on it and a `FriConfig` built field by
    // field would skip `new`), read as felt252 coordinates once and folded per query without
    // reductions.
    let n_coeffs = (*commitment.last_layer_poly).len();
    if n_coeffs > crate::poly::MAX_LAZY_COEFFS {
        return Result::Err(FriVerificationError::LastLayerEvaluationsInvalid);
    }
    let coords = qm31_coordinate_felts(*commitment.last_layer_poly);
    let mut i = 0;
    let mut ok = true;
    while i != queries.len() {
        let index = bit_reverse_index(*queries[i], log_size);
        let x = if index < 8 {
            domain.at(index)
        } else {
            domain.coset.index_at(index).to_point_windowed(table).x
        };
        if !line_poly_matches_at_m31(coords, x, *query_evals[i]) {
            ok = false;
            break;
        }
        i += 1;
    };
    if ok {
        Result::Ok(())
    } else {
        Result::Err(FriVerificationError::LastLayerEvaluationsInvalid)
    }
}

/// stwo's `ibutterfly`: (v0, v1) -> (v0 + v1, (v0 - v1) * itwid).
#[inline]
pub fn ibutterfly(v0: QM31, v1: QM31, itwid: M31) -> (QM31, QM31) {
    (v0 + v1, (v0 - v1).mul_m31(itwid))
}

/// Folds one pair (f(x), f(-x)) of a line evaluation: f0 + alpha * f1 where
/// (f0, f1) = ibutterfly(f(x), f(-x), 1 / x), x = domain.at(bit_reverse(2 i)).
pub fn fold_line_pair(
    f_x: QM31, f_neg_x: QM31, domain: @LineDomain, pair_index: u32, alpha: QM31,
) -> QM31 {
    let x = domain.at(bit_reverse_index(pair_index * 2, domain.log_size()));
    let (f0, f1) = ibutterfly(f_x, f_neg_x, x.inverse());
    f0 + alpha * f1
}

/// stwo's `fold_line`: the folded values (the folded domain is `domain.double()`).
pub fn fold_line(eval: Span<QM31>, domain: LineDomain, alpha: QM31) -> Array<QM31> {
    assert(eval.len() >= 2, 'fri: evaluation too small');
    let mut out: Array<QM31> = array![];
    let mut rest = eval;
    let mut i = 0;
    loop {
        match rest.multi_pop_front::<2>() {
            Option::Some(pair) => {
                let [f_x, f_neg_x] = (*pair).unbox();
                out.append(fold_line_pair(f_x, f_neg_x, @domain, i, alpha));
                i += 1;
            },
            Option::None => { break; },
        }
    };
    out
}

/// Folds one pair (f(p), f(-p)) of a circle evaluation into the line:
/// alpha * f1 + f0 where (f0, f1) = ibutterfly(f(p), f(-p), 1 / p.y).
pub fn fold_circle_pair(
    f_p: QM31, f_neg_p: QM31, domain: @CircleDomain, pair_index: u32, alpha: QM31,
) -> QM31 {
    let p = domain.at(bit_reverse_index(pair_index * 2, domain.log_size()));
    let (f0, f1) = ibutterfly(f_p, f_neg_p, p.y.inverse());
    alpha * f1 + f0
}

/// stwo's `fold_circle_into_line`.
pub fn fold_circle_into_line(src: Span<QM31>, domain: CircleDomain, alpha: QM31) -> Array<QM31> {
    let mut out: Array<QM31> = array![];
    let mut rest = src;
    let mut i = 0;
    loop {
        match rest.multi_pop_front::<2>() {
            Option::Some(pair) => {
                let [f_p, f_neg_p] = (*pair).unbox();
                out.append(fold_circle_pair(f_p, f_neg_p, @domain, i, alpha));
                i += 1;
            },
            Option::None => { break; },
        }
    };
    out
}

/// One FRI layer's decommitment as carried in the proof.
#[derive(Copy, Drop, Debug, PartialEq)]
pub struct FriLayerProof {
    /// Values of the folding cosets that the queries do not provide, in order.
    pub fri_witness: Span<QM31>,
    /// The Merkle hash witness of the layer's lifted tree.
    pub hash_witness: Span<felt252>,
    pub root: felt252,
}

/// stwo's `fold_coset`: folds 2^n evaluations on a line coset down to one value (the
/// one-coset reference; `fri_decommit` folds whole layers with `fold_cosets`).
pub fn fold_coset(eval: Span<QM31>, domain: LineDomain, alpha: QM31) -> QM31 {
    let n = domain.log_size();
    let mut values = eval;
    let mut current_domain = domain;
    let mut folding_alpha = alpha;
    let mut i = 0;
    while i != n {
        let mut folded: Array<QM31> = array![];
        let log_size = current_domain.log_size();
        let mut j = 0;
        let mut rest = values;
        loop {
            match rest.multi_pop_front::<2>() {
                Option::Some(pair) => {
                    let [f_x, f_neg_x] = (*pair).unbox();
                    let x = current_domain.at(bit_reverse_index(j, log_size));
                    let (f0, f1) = ibutterfly(f_x, f_neg_x, x.inverse());
                    folded.append(f0 + folding_alpha * f1);
                    j += 2;
                },
                Option::None => { break; },
            }
        };
        values = folded.span();
        folding_alpha = folding_alpha * folding_alpha;
        current_domain = current_domain.double();
        i += 1;
    };
    *values[0]
}

/// 2^64 P: a multiple of P above every product of an M31 coordinate (< 2^31) and an
/// unreduced `(v0 - v1) * itwid` coordinate (< 2^63).
const P_TIMES_2_64: felt252 = 0x7fffffff0000000000000000;

/// `f0 + alpha * f1` for `(f0, f1) = ibutterfly(v0, v1, itwid)` (one FRI fold of a pair):
/// f1 stays unreduced (coordinates below 2^63) and each result coordinate is reduced once.
fn fold_pair(v0: QM31, v1: QM31, itwid: M31, alpha: QM31) -> QM31 {
    let t: felt252 = itwid.inner.into();
    let p: felt252 = P.into();
    let y0 = (v0.a.a.inner.into() + p - v1.a.a.inner.into()) * t;
    let y1 = (v0.a.b.inner.into() + p - v1.a.b.inner.into()) * t;
    let y2 = (v0.b.a.inner.into() + p - v1.b.a.inner.into()) * t;
    let y3 = (v0.b.b.inner.into() + p - v1.b.b.inner.into()) * t;
    let x0: felt252 = alpha.a.a.inner.into();
    let x1: felt252 = alpha.a.b.inner.into();
    let x2: felt252 = alpha.b.a.inner.into();
    let x3: felt252 = alpha.b.b.inner.into();
    // alpha * f1 as in `mul_unreduced`, the negative parts offset by multiples of 2^64 P
    // (every product is below 2^94 < 2^64 P); the sums stay below 2^98.
    let r = x2 * y2 - x3 * y3;
    let s = x2 * y3 + x3 * y2;
    let z0 = x0 * y0 - x1 * y1 + 2 * r - s + 5 * P_TIMES_2_64;
    let z1 = x0 * y1 + x1 * y0 + r + 2 * s + P_TIMES_2_64;
    let z2 = x0 * y2 - x1 * y3 + x2 * y0 - x3 * y1 + 2 * P_TIMES_2_64;
    let z3 = x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0;
    QM31 {
        a: CM31 {
            a: M31Trait::reduce_felt(z0 + v0.a.a.inner.into() + v1.a.a.inner.into()),
            b: M31Trait::reduce_felt(z1 + v0.a.b.inner.into() + v1.a.b.inner.into()),
        },
        b: CM31 {
            a: M31Trait::reduce_felt(z2 + v0.b.a.inner.into() + v1.b.a.inner.into()),
            b: M31Trait::reduce_felt(z3 + v0.b.b.inner.into() + v1.b.b.inner.into()),
        },
    }
}

/// `p + q` over M31 with felt252 products, one reduction per coordinate.
#[inline]
fn add_points(p: CirclePoint<M31>, q: CirclePoint<M31>) -> CirclePoint<M31> {
    let (x0, y0): (felt252, felt252) = (p.x.inner.into(), p.y.inner.into());
    let (x1, y1): (felt252, felt252) = (q.x.inner.into(), q.y.inner.into());
    CirclePoint {
        x: M31Trait::reduce_felt(x0 * x1 - y0 * y1 + P_SQUARED),
        y: M31Trait::reduce_felt(x0 * y1 + y0 * x1),
    }
}

/// 2 x^2 - 1: the x-coordinate of a doubled point.
#[inline]
fn double_x(x: M31) -> M31 {
    let x: felt252 = x.inner.into();
    // 2 x^2 - 1 + P >= 0.
    M31Trait::reduce_felt(2 * x * x + 0x7ffffffe)
}

/// The fold twiddles of one coset, level after level, from its points in bit-reversed order
/// (`points[m]` = initial + bit_reverse(m) * step): for a circle coset the y of every point
/// then the line levels; a line level uses the x of the pairs' points, and the next level
/// the doubled x (2 x^2 - 1) of every other one.
fn append_coset_twiddles(
    ref twiddles: Array<M31>, points: Span<CirclePoint<M31>>, circle: bool,
) {
    let mut xs: Array<M31> = array![];
    if circle {
        let mut even = true;
        for point in points {
            twiddles.append(*point.y);
            if even {
                xs.append(*point.x);
            }
            even = !even;
        };
        if points.len() == 1 {
            return;
        }
    } else {
        for point in points {
            xs.append(*point.x);
        };
    }
    let mut level = xs.span();
    loop {
        let mut next: Array<M31> = array![];
        let mut even = true;
        for x in level {
            twiddles.append(*x);
            if even {
                next.append(double_x(*x));
            }
            even = !even;
        };
        if level.len() == 1 {
            break;
        }
        level = next.span();
    };
}

/// Folds every queried coset of a layer (2^fold_step values each, coset after coset in
/// `flat`) to one value: stwo's `fold_circle_into_line` + `fold_coset` for the first layer
/// (`circle`), `fold_coset` for the inner ones. Each coset's points come from one windowed
/// conversion of its initial index plus the layer's offsets, and every twiddle of the layer
/// is inverted at once.
pub fn fold_cosets(
    flat: Span<QM31>, initials: Span<CirclePointIndex>, circle: bool, fold_step: u32, alpha: QM31,
) -> Array<QM31> {
    let log_points = fold_step - 1;
    // A circle coset of 2^fold_step points is a half coset of 2^(fold_step - 1) and its
    // conjugate; a line coset of 2^fold_step x's pairs its points with their negations.
    let step = if circle {
        CirclePointIndexTrait::subgroup_gen(fold_step - 1)
    } else {
        CirclePointIndexTrait::subgroup_gen(fold_step)
    }
        .to_point();
    // offsets[j - 1] = 2^(j-1) step: bit-reversed order doubles a list [p...] into
    // [p, p + 2^(j-1) step, ...] (bit_reverse(2m + 1) = 2^(j-1) + bit_reverse(m)).
    let mut offsets: Array<CirclePoint<M31>> = array![];
    let mut offset = step;
    while offsets.len() != log_points {
        offsets.append(offset);
        offset = add_points(offset, offset);
    };
    let table = m31_gen_window_table();
    let mut twiddles: Array<M31> = array![];
    for initial in initials {
        let first = (*initial).to_point_windowed(table);
        if log_points == 2 {
            // fold_step 3 (the shipped one) without lists: points in bit-reversed order are
            // p0, p0 + 2 step, p0 + step, p0 + 3 step.
            let offset_1 = *offsets[0];
            let offset_2 = *offsets[1];
            let p1 = add_points(first, offset_2);
            let p2 = add_points(first, offset_1);
            let p3 = add_points(p1, offset_1);
            if circle {
                twiddles.append(first.y);
                twiddles.append(p1.y);
                twiddles.append(p2.y);
                twiddles.append(p3.y);
                twiddles.append(first.x);
                twiddles.append(p2.x);
                twiddles.append(double_x(first.x));
            } else {
                twiddles.append(first.x);
                twiddles.append(p1.x);
                twiddles.append(p2.x);
                twiddles.append(p3.x);
                let x0 = double_x(first.x);
                twiddles.append(x0);
                twiddles.append(double_x(p2.x));
                twiddles.append(double_x(x0));
            }
            continue;
        }
        let mut points: Array<CirclePoint<M31>> = array![first];
        for offset in offsets.span() {
            let mut doubled: Array<CirclePoint<M31>> = array![];
            for point in points.span() {
                doubled.append(*point);
                doubled.append(add_points(*point, *offset));
            };
            points = doubled;
        };
        append_coset_twiddles(ref twiddles, points.span(), circle);
    };
    let mut inverses = crate::pcs::batch_inverse_m31(twiddles.span()).span();
    let coset_size = pow2_u32(fold_step);
    // alpha, alpha^2, alpha^4, ...: one per folding level, the same for every coset.
    let mut level_alphas: Array<QM31> = array![alpha];
    let mut level_alpha = alpha;
    while level_alphas.len() != fold_step {
        level_alpha = level_alpha * level_alpha;
        level_alphas.append(level_alpha);
    };
    let mut out: Array<QM31> = array![];
    let mut s = 0;
    while s != initials.len() {
        let mut values = flat.slice(s * coset_size, coset_size);
        if coset_size == 8 {
            // fold_step 3: three levels straight-line.
            let [v0, v1, v2, v3, v4, v5, v6, v7] = (*values.multi_pop_front::<8>().unwrap())
                .unbox();
            let [t0, t1, t2, t3, t4, t5, t6] = (*inverses.multi_pop_front::<7>().unwrap())
                .unbox();
            let alpha_0 = *level_alphas[0];
            let alpha_1 = *level_alphas[1];
            let f0 = fold_pair(v0, v1, t0, alpha_0);
            let f1 = fold_pair(v2, v3, t1, alpha_0);
            let f2 = fold_pair(v4, v5, t2, alpha_0);
            let f3 = fold_pair(v6, v7, t3, alpha_0);
            let g0 = fold_pair(f0, f1, t4, alpha_1);
            let g1 = fold_pair(f2, f3, t5, alpha_1);
            out.append(fold_pair(g0, g1, t6, *level_alphas[2]));
            s += 1;
            continue;
        }
        let mut alphas = level_alphas.span();
        while values.len() != 1 {
            let level_alpha = *alphas.pop_front().unwrap();
            let mut folded: Array<QM31> = array![];
            loop {
                match values.multi_pop_front::<2>() {
                    Option::Some(pair) => {
                        let [v0, v1] = (*pair).unbox();
                        folded.append(fold_pair(v0, v1, *inverses.pop_front().unwrap(), level_alpha));
                    },
                    Option::None => { break; },
                }
            };
            values = folded.span();
        };
        out.append(*values[0]);
        s += 1;
    };
    out
}

/// The evaluations of the folding cosets that hold the queries (stwo's `SparseEvaluation`).
#[derive(Drop, Debug)]
struct SparseEvaluation {
    /// All coset values, coset after coset (2^fold_step each).
    flat_evals: Array<QM31>,
    /// Bit-reversed index of each coset's first position.
    initial_indexes: Array<u32>,
    /// The positions decommitted in the layer, ascending.
    positions: Array<u32>,
}

/// stwo's `compute_decommitment_positions_and_rebuild_evals`: completes each queried coset of
/// size 2^fold_step with witness values. None when the witness runs out.
fn rebuild_cosets(
    queries: Span<u32>,
    log_domain_size: u32,
    query_evals: Span<QM31>,
    ref witness: Span<QM31>,
    fold_step: u32,
) -> Option<SparseEvaluation> {
    let coset_size = pow2_u32(fold_step);
    let coset_size_nz: NonZero<u32> = coset_size.try_into().unwrap();
    let mut flat_evals: Array<QM31> = array![];
    let mut initial_indexes: Array<u32> = array![];
    let mut positions: Array<u32> = array![];
    let mut evals = query_evals;
    let mut q = 0;
    let n = queries.len();
    let mut ok = true;
    while q != n {
        let (coset, _) = core::integer::u32_safe_divmod(*queries[q], coset_size_nz);
        let start = coset * coset_size;
        let mut position = start;
        while position != start + coset_size {
            positions.append(position);
            let is_query = q != n && *queries[q] == position;
            if is_query {
                match evals.pop_front() {
                    Option::Some(value) => flat_evals.append(*value),
                    Option::None => {
                        ok = false;
                        break;
                    },
                }
                q += 1;
            } else {
                match witness.pop_front() {
                    Option::Some(value) => flat_evals.append(*value),
                    Option::None => {
                        ok = false;
                        break;
                    },
                }
            }
            position += 1;
        };
        if !ok {
            break;
        }
        initial_indexes.append(bit_reverse_index(start, log_domain_size));
    };
    if !ok {
        return Option::None;
    }
    Option::Some(SparseEvaluation { flat_evals, initial_indexes, positions })
}

/// stwo's `build_merkle_verification_inputs` followed by the lifted Merkle check: leaves hold
/// 2^leaf_log_size consecutive QM31s as 4 * 2^leaf_log_size M31 columns of equal log size,
/// so a leaf's row is its values' coordinates in order. Cosets (2^fold_step values, with
/// fold_step >= leaf_log_size whenever leaves are packed) are whole leaves: the rebuilt
/// values split into leaves in order and each leaf is hashed straight from them.
fn verify_layer_merkle(
    root: felt252,
    layer_log_size: u32,
    sparse: @SparseEvaluation,
    leaf_log_size: u32,
    hash_witness: Span<felt252>,
) -> Result<(), MerkleVerificationError> {
    let height = layer_log_size - leaf_log_size;
    if height == 0 {
        return Result::Ok(());
    }
    let leaf_size = pow2_u32(leaf_log_size);
    let leaf_size_nz: NonZero<u32> = leaf_size.try_into().unwrap();
    let tree_width = pow2_u32(height);
    let mut positions = sparse.positions.span();
    let mut values = sparse.flat_evals.span();
    let mut leaves: Array<(u128, felt252)> = array![];
    let mut error: Option<MerkleVerificationError> = Option::None;
    while positions.len() != 0 {
        let (leaf, offset) = core::integer::u32_safe_divmod(*positions[0], leaf_size_nz);
        if offset != 0 || leaf >= tree_width || positions.len() < leaf_size {
            error = Option::Some(MerkleVerificationError::BadQueryPosition);
            break;
        }
        positions = positions.slice(leaf_size, positions.len() - leaf_size);
        // Row = the leaf's QM31s as M31 coordinates, packed 8 (two QM31s) per word.
        let mut words: Array<felt252> = array![];
        let mut k = 0;
        while k != leaf_size {
            let first = *values.pop_front().unwrap();
            k += 1;
            if k == leaf_size {
                // An odd last QM31: a short block of 4 carries its length.
                words.append(pack_qm31_into(first, 0) + 4 * TWO_POW_248);
            } else {
                let second = *values.pop_front().unwrap();
                k += 1;
                words.append(pack_qm31_into(second, pack_qm31_into(first, 0)));
            }
        };
        leaves.append((leaf.into(), core::poseidon::poseidon_hash_span(words.span())));
    };
    if let Option::Some(e) = error {
        return Result::Err(e);
    }
    if leaves.len() == 0 {
        return Result::Err(MerkleVerificationError::BadQueryPosition);
    }
    walk_to_root(leaves, height, hash_witness, root)
}

const TWO_POW_31: felt252 = 0x80000000;
const TWO_POW_248: felt252 = 0x100000000000000000000000000000000000000000000000000000000000000;

/// `acc * 2^124 + (a, b, c, d)` in base 2^31, big-endian (the Merkle block packing).
#[inline]
fn pack_qm31_into(value: QM31, acc: felt252) -> felt252 {
    let mut word = acc * TWO_POW_31 + value.a.a.inner.into();
    word = word * TWO_POW_31 + value.a.b.inner.into();
    word = word * TWO_POW_31 + value.b.a.inner.into();
    word * TWO_POW_31 + value.b.b.inner.into()
}

/// Positions of the next layer: `position >> fold_step`, deduplicated.
fn fold_queries(queries: Span<u32>, fold_step: u32) -> Array<u32> {
    let divisor: NonZero<u32> = pow2_u32(fold_step).try_into().unwrap();
    let mut out: Array<u32> = array![];
    let mut last: Option<u32> = Option::None;
    for query in queries {
        let (folded, _) = core::integer::u32_safe_divmod(*query, divisor);
        let repeat = match last {
            Option::Some(l) => l == folded,
            Option::None => false,
        };
        if !repeat {
            out.append(folded);
            last = Option::Some(folded);
        }
    };
    out
}

/// stwo's `FriVerifier::decommit_on_queries`: checks the first layer, folds through every
/// inner layer (checking each), and compares with the last layer polynomial.
/// `queries` are the sorted positions from `sample_query_positions`; `first_layer_evals` the
/// first layer's values at them (from the PCS quotients).
pub fn fri_decommit(
    commitment: @FriCommitment,
    queries: Span<u32>,
    first_layer_evals: Span<QM31>,
    first_layer: FriLayerProof,
    inner_layers: Span<FriLayerProof>,
) -> Result<(), FriVerificationError> {
    let config = *commitment.config;
    let fold_step = config.fold_step;
    if inner_layers.len() != commitment.inner_layers.len() {
        return Result::Err(FriVerificationError::InvalidNumFriLayers);
    }

    // First layer: rebuild the queried cosets, check them against the root, fold them.
    let column_domain = *commitment.column_commitment_domain;
    let column_log_size = column_domain.log_size();
    let mut witness = first_layer.fri_witness;
    let sparse = match rebuild_cosets(
        queries, column_log_size, first_layer_evals, ref witness, fold_step,
    ) {
        Option::Some(sparse) => sparse,
        Option::None => { return Result::Err(FriVerificationError::FirstLayerEvaluationsInvalid); },
    };
    if witness.len() != 0 {
        return Result::Err(FriVerificationError::FirstLayerEvaluationsInvalid);
    }
    let leaf_log_size = if *commitment.first_layer_pack_leaves {
        LOG_PACKED_LEAF_SIZE
    } else {
        0
    };
    if first_layer.root != *commitment.first_layer_root {
        return Result::Err(
            FriVerificationError::FirstLayerCommitmentInvalid(MerkleVerificationError::RootMismatch),
        );
    }
    match verify_layer_merkle(
        first_layer.root, column_log_size, @sparse, leaf_log_size, first_layer.hash_witness,
    ) {
        Result::Ok(()) => {},
        Result::Err(e) => { return Result::Err(FriVerificationError::FirstLayerCommitmentInvalid(e)); },
    }
    // The coset starting at bit-reversed position i of the circle domain starts at index
    // half_coset.index_at(i), or its negation (the conjugate half) past the first half.
    let half_coset = column_domain.half_coset;
    let half_size = pow2_u32(half_coset.log_size);
    let mut initials: Array<CirclePointIndex> = array![];
    for index in sparse.initial_indexes.span() {
        let i = *index;
        initials
            .append(
                if i < half_size {
                    half_coset.index_at(i)
                } else {
                    -half_coset.index_at(i - half_size)
                },
            );
    };
    let layer_evals = fold_cosets(
        sparse.flat_evals.span(), initials.span(), true, fold_step, *commitment.first_layer_alpha,
    );
    let mut layer_evals = layer_evals;
    let mut layer_queries = fold_queries(queries, fold_step);

    // Inner layers.
    let layers = commitment.inner_layers.span();
    let mut index = 0;
    let mut error: Option<FriVerificationError> = Option::None;
    while index != layers.len() {
        let layer = *layers[index];
        let proof = *inner_layers[index];
        let domain = layer.domain;
        let log_size = domain.log_size();
        let mut witness = proof.fri_witness;
        let rebuilt = rebuild_cosets(
            layer_queries.span(), log_size, layer_evals.span(), ref witness, layer.fold_step,
        );
        let sparse = match rebuilt {
            Option::Some(sparse) => sparse,
            Option::None => {
                error = Option::Some(FriVerificationError::InnerLayerEvaluationsInvalid(index));
                break;
            },
        };
        if witness.len() != 0 {
            error = Option::Some(FriVerificationError::InnerLayerEvaluationsInvalid(index));
            break;
        }
        if proof.root != layer.root {
            error =
                Option::Some(
                    FriVerificationError::InnerLayerCommitmentInvalid(
                        (index, MerkleVerificationError::RootMismatch),
                    ),
                );
            break;
        }
        let leaf_log_size = if layer.pack_leaves {
            LOG_PACKED_LEAF_SIZE
        } else {
            0
        };
        match verify_layer_merkle(layer.root, log_size, @sparse, leaf_log_size, proof.hash_witness) {
            Result::Ok(()) => {},
            Result::Err(e) => {
                error =
                    Option::Some(FriVerificationError::InnerLayerCommitmentInvalid((index, e)));
                break;
            },
        }
        let mut initials: Array<CirclePointIndex> = array![];
        for index in sparse.initial_indexes.span() {
            initials.append(domain.coset.index_at(*index));
        };
        let folded = fold_cosets(
            sparse.flat_evals.span(), initials.span(), false, layer.fold_step, layer.folding_alpha,
        );
        layer_queries = fold_queries(layer_queries.span(), layer.fold_step);
        layer_evals = folded;
        index += 1;
    };
    if let Option::Some(e) = error {
        return Result::Err(e);
    }
    check_last_layer(commitment, layer_queries.span(), layer_evals.span())
}
