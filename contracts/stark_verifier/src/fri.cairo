//! FRI folding steps as stwo 2.3 computes them (the verifier re-folds the queried values).

use crate::fields::{M31, M31Trait, QM31, QM31Trait};
use crate::poly::{
    CircleDomain, CircleDomainTrait, LineDomain, LineDomainTrait, bit_reverse_index,
    canonic_circle_domain, line_poly_eval_at_point,
};
use crate::circle::{CosetTrait, pow2_u32};
use crate::channel::{Poseidon252Channel, ChannelTrait};
use crate::merkle::{MerkleVerificationError, MerkleVerifierLiftedTrait};

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
    /// Same ranges stwo's `FriConfig::new` asserts.
    fn new(
        log_last_layer_degree_bound: u32, log_blowup_factor: u32, n_queries: u32, fold_step: u32,
    ) -> FriConfig {
        assert(log_last_layer_degree_bound <= 10, 'fri: last layer bound range');
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

/// Ascending distinct values of `values` (selection of the next larger value; n is the
/// number of FRI queries, a few dozen).
pub fn sorted_unique(values: Span<u32>) -> Array<u32> {
    let mut out: Array<u32> = array![];
    let mut last: Option<u32> = Option::None;
    loop {
        let mut best: Option<u32> = Option::None;
        for value in values {
            let v = *value;
            let above_last = match last {
                Option::Some(l) => v > l,
                Option::None => true,
            };
            if above_last {
                best = match best {
                    Option::Some(b) => if v < b {
                        Option::Some(v)
                    } else {
                        Option::Some(b)
                    },
                    Option::None => Option::Some(v),
                };
            }
        };
        match best {
            Option::Some(b) => {
                out.append(b);
                last = Option::Some(b);
            },
            Option::None => { break; },
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
    let mut i = 0;
    let mut ok = true;
    while i != queries.len() {
        let x = domain.at(bit_reverse_index(*queries[i], log_size));
        let expected = line_poly_eval_at_point(*commitment.last_layer_poly, QM31Trait::from_m31(x));
        if *query_evals[i] != expected {
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

/// stwo's `fold_coset`: folds 2^n evaluations on a line coset down to one value.
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
/// 2^leaf_log_size consecutive QM31s as 4 * 2^leaf_log_size M31 columns.
fn verify_layer_merkle(
    root: felt252,
    layer_log_size: u32,
    sparse: @SparseEvaluation,
    leaf_log_size: u32,
    hash_witness: Span<felt252>,
) -> Result<(), MerkleVerificationError> {
    let leaf_size = pow2_u32(leaf_log_size);
    let leaf_size_nz: NonZero<u32> = leaf_size.try_into().unwrap();
    // Leaf positions, deduplicated.
    let mut merkle_positions: Array<u32> = array![];
    let mut last: Option<u32> = Option::None;
    for position in sparse.positions.span() {
        let (leaf, _) = core::integer::u32_safe_divmod(*position, leaf_size_nz);
        let repeat = match last {
            Option::Some(l) => l == leaf,
            Option::None => false,
        };
        if !repeat {
            merkle_positions.append(leaf);
            last = Option::Some(leaf);
        }
    };
    // Column c holds coordinate c % 4 of the value at offset c / 4 of every leaf.
    let flat = sparse.flat_evals.span();
    let n_columns = 4 * leaf_size;
    let mut columns: Array<Span<M31>> = array![];
    let mut log_sizes: Array<u32> = array![];
    let mut c = 0;
    while c != n_columns {
        let (offset, coordinate) = core::integer::u32_safe_divmod(c, 4);
        let mut column: Array<M31> = array![];
        let mut m = 0;
        while m != merkle_positions.len() {
            let value = *flat[m * leaf_size + offset];
            column.append(coordinate_of(value, coordinate));
            m += 1;
        };
        columns.append(column.span());
        log_sizes.append(layer_log_size - leaf_log_size);
        c += 1;
    };
    let verifier = MerkleVerifierLiftedTrait::new(root, log_sizes.span(), Option::None);
    verifier.verify(merkle_positions.span(), columns.span(), hash_witness)
}

#[inline]
fn coordinate_of(value: QM31, coordinate: u32) -> M31 {
    if coordinate == 0 {
        value.a.a
    } else if coordinate == 1 {
        value.a.b
    } else if coordinate == 2 {
        value.b.a
    } else {
        value.b.b
    }
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
    let alpha = *commitment.first_layer_alpha;
    let coset_size = pow2_u32(fold_step);
    let mut layer_evals: Array<QM31> = array![];
    let mut s = 0;
    let flat = sparse.flat_evals.span();
    while s != sparse.initial_indexes.len() {
        let eval = flat.slice(s * coset_size, coset_size);
        let initial = column_domain.index_at(*sparse.initial_indexes[s]);
        let circle_domain = CircleDomainTrait::new(CosetTrait::new(initial, fold_step - 1));
        let buffer = fold_circle_into_line(eval, circle_domain, alpha);
        let value = if fold_step == 1 {
            *buffer[0]
        } else {
            let line_domain = LineDomainTrait::new(CosetTrait::new(initial, fold_step - 1));
            fold_coset(buffer.span(), line_domain, alpha * alpha)
        };
        layer_evals.append(value);
        s += 1;
    };
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
        let coset_size = pow2_u32(layer.fold_step);
        let flat = sparse.flat_evals.span();
        let mut folded: Array<QM31> = array![];
        let mut s = 0;
        while s != sparse.initial_indexes.len() {
            let initial = domain.coset.index_at(*sparse.initial_indexes[s]);
            let fold_domain = LineDomainTrait::new(CosetTrait::new(initial, layer.fold_step));
            folded
                .append(
                    fold_coset(flat.slice(s * coset_size, coset_size), fold_domain, layer.folding_alpha),
                );
            s += 1;
        };
        layer_queries = fold_queries(layer_queries.span(), layer.fold_step);
        layer_evals = folded;
        index += 1;
    };
    if let Option::Some(e) = error {
        return Result::Err(e);
    }
    check_last_layer(commitment, layer_queries.span(), layer_evals.span())
}
