//! The full stwo `verify` of a thread proof (the prover's `zkthread_prover::verify`):
//! statement -> slot binding (every input is `balances[owner]`) -> transcript replay (public input, AIR descriptor, preprocessed root constant,
//! trace commitments, LogUp draws, claimed sums) -> composition commitment -> OODS point ->
//! composition check with the generated AIR evaluation -> PCS/FRI (stark_verifier::pcs).

use stark_verifier::channel::{ChannelTrait, Poseidon252Channel};
use stark_verifier::circle::{
    CirclePoint, CirclePointIndexTrait, get_random_point, into_secure,
};
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::from_coordinates;
use stark_verifier::fri::FriConfigTrait;
use stark_verifier::pcs::{
    CommitmentSchemeVerifierTrait, PcsConfig, PcsProof, PointRun, TreeProof, composition_oods_eval,
};
use stark_verifier::channel::poseidon_hash_felts;
use crate::generated_air::{
    RANGE_CHECK_RELATION_SIZE, TOKEN_STATE_RELATION_SIZE, ThreadAirParams, column_log_sizes,
    eval_composition_at_point, mask_shape_ok,
};
use crate::generated_params::{MAX_LOG_ROWS, MIN_LOG_ROWS, RANGE_LOG_SIZE, ThreadStarkParams};
use crate::lookup::LookupElementsTrait;
use crate::proof::{ThreadProof, parse_proof, split_slot_owners};
use crate::statement::{boundary_sum, check_slot_owners, statement_slots};

/// Trees of a thread proof: preprocessed, main, interaction, composition.
const N_TREES: u32 = 4;
/// Columns of the split composition polynomial (2 halves x 4 coordinates).
const COMPOSITION_COLUMNS: u32 = 8;

/// The prover's `mix_felt252s`: `digest <- poseidon_hash_many([digest, felts...])`.
fn mix_felt252s(ref channel: Poseidon252Channel, felts: Span<felt252>) {
    let mut data: Array<felt252> = array![channel.digest];
    data.append_span(felts);
    channel.update_digest(poseidon_hash_felts(data.span()));
}

/// `pair` for a run of two-value columns, `single` for any other.
#[inline(always)]
fn points_of(
    is_pair: bool, pair: Span<CirclePoint<QM31>>, single: Span<CirclePoint<QM31>>,
) -> Span<CirclePoint<QM31>> {
    if is_pair {
        pair
    } else {
        single
    }
}

/// Ok(()) iff `proof` proves a sub-block with exactly `public_input` under `params`;
/// Err(reason) otherwise. Never accepts without every check below.
pub fn verify_thread_proof(
    public_input: Span<felt252>, proof: Span<felt252>, params: @ThreadStarkParams,
) -> Result<(), felt252> {
    let slots = statement_slots(public_input)?;
    let (owners, stark) = split_slot_owners(proof)?;
    check_slot_owners(public_input, owners)?;
    let proof: ThreadProof = parse_proof(stark)?;
    let params = *params;

    // The proof's parameters must be the verifier's (no weaker proof is accepted).
    if proof.pow_bits != params.pow_bits
        || proof.log_blowup != params.log_blowup
        || proof.log_last_layer_degree_bound != params.log_last_layer_degree_bound
        || proof.n_queries != params.n_queries
        || proof.fold_step != params.fold_step
        || proof.lifting != 0 {
        return Result::Err('verifier: params mismatch');
    }
    let n = proof.log_n_rows;
    if n < MIN_LOG_ROWS || n > MAX_LOG_ROWS {
        return Result::Err('verifier: log_n_rows range');
    }
    if proof.commitments.len() != N_TREES
        || proof.sampled_values.len() != N_TREES
        || proof.decommitments.len() != N_TREES
        || proof.queried_values.len() != N_TREES {
        return Result::Err('verifier: tree count');
    }
    if *proof.commitments[0] != params.preprocessed_root {
        return Result::Err('verifier: preprocessed root');
    }
    let mask = proof.sampled_values.slice(0, N_TREES - 1);
    if !mask_shape_ok(mask) {
        return Result::Err('verifier: mask shape');
    }
    let composition_samples = *proof.sampled_values[N_TREES - 1];
    if composition_samples.len() != COMPOSITION_COLUMNS {
        return Result::Err('verifier: composition shape');
    }
    let mut composition_evals: Array<QM31> = array![];
    let mut shape_ok = true;
    for column in composition_samples {
        if (*column).len() != 1 {
            shape_ok = false;
            break;
        }
        composition_evals.append(from_coordinates(*(*column)[0]));
    };
    if !shape_ok {
        return Result::Err('verifier: composition shape');
    }

    // Transcript: public input, AIR descriptor, then the trace commitments.
    let mut channel = ChannelTrait::new();
    mix_felt252s(ref channel, public_input);
    mix_felt252s(ref channel, array![params.air_descriptor_digest, n.into()].span());
    let fri_config = FriConfigTrait::new(
        params.log_last_layer_degree_bound, params.log_blowup, params.n_queries, params.fold_step,
    );
    let mut pcs = CommitmentSchemeVerifierTrait::new(
        PcsConfig { pow_bits: params.pow_bits, fri_config, lifting_log_size: Option::None },
    );
    // The relations are drawn after the main commitment, so only the log sizes matter here.
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let placeholder = LookupElementsTrait::empty();
    let sizes_params = ThreadAirParams {
        range_check_relation: placeholder,
        token_state_relation: placeholder,
        transfer_claimed_sum: zero,
        transfer_log_size: n,
        range_table_claimed_sum: zero,
        range_table_log_size: RANGE_LOG_SIZE,
    };
    let log_sizes = column_log_sizes(@sizes_params);
    pcs.commit(*proof.commitments[0], *log_sizes[0], ref channel);
    pcs.commit(*proof.commitments[1], *log_sizes[1], ref channel);
    let token_state = LookupElementsTrait::draw(ref channel, TOKEN_STATE_RELATION_SIZE);
    let range_check = LookupElementsTrait::draw(ref channel, RANGE_CHECK_RELATION_SIZE);
    pcs.commit(*proof.commitments[2], *log_sizes[2], ref channel);
    channel.mix_felts(array![proof.range_check_claimed_sum].span());

    // The transfer rows' LogUp sum is not sent: it is what the public lists imply.
    let boundary = boundary_sum(slots.span(), @token_state)?;
    let air_params = ThreadAirParams {
        range_check_relation: range_check,
        token_state_relation: token_state,
        transfer_claimed_sum: boundary - proof.range_check_claimed_sum,
        transfer_log_size: n,
        range_table_claimed_sum: proof.range_check_claimed_sum,
        range_table_log_size: RANGE_LOG_SIZE,
    };

    // stwo `verify`: composition commitment, OODS point, DEEP-ALI check.
    let random_coeff = channel.draw_secure_felt();
    // composition_log_degree_bound - COMPOSITION_LOG_SPLIT = max(n + 1, 17) - 1.
    let max_log_degree_bound = if n > RANGE_LOG_SIZE {
        n
    } else {
        RANGE_LOG_SIZE
    };
    let mut composition_sizes: Array<u32> = array![];
    while composition_sizes.len() != COMPOSITION_COLUMNS {
        composition_sizes.append(max_log_degree_bound);
    };
    pcs.commit(*proof.commitments[3], composition_sizes.span(), ref channel);
    let oods_point = get_random_point(ref channel);
    let composition = composition_oods_eval(
        oods_point, composition_evals.span(), max_log_degree_bound,
    );
    let expected = eval_composition_at_point(
        oods_point, mask, random_coeff, @air_params, max_log_degree_bound,
    );
    if composition != expected {
        return Result::Err('verifier: oods mismatch');
    }

    // Sample points: offset 0 -> the OODS point, offset -1 -> one step of the lifted trace
    // domain back (the running-sum columns), composition columns at the OODS point.
    let step = into_secure(CirclePointIndexTrait::subgroup_gen(max_log_degree_bound).to_point());
    let previous = oods_point - step;
    // Per tree, runs of columns with as many values as each other: two at [previous, OODS],
    // any other count at [OODS] (`mask_shape_ok` checked every mask column's count, and the
    // composition tree's is one; the PCS splits the flat values by these runs).
    let pair = array![previous, oods_point].span();
    let single = array![oods_point].span();
    let mut point_runs: Array<Span<PointRun>> = array![];
    let mut t = 0;
    while t != N_TREES {
        let mut runs: Array<PointRun> = array![];
        let mut run_pair = false;
        let mut run_count: u32 = 0;
        for column in *proof.sampled_values[t] {
            let is_pair = (*column).len() == 2;
            if run_count != 0 && is_pair != run_pair {
                runs.append((run_count, points_of(run_pair, pair, single)));
                run_count = 0;
            }
            run_pair = is_pair;
            run_count += 1;
        };
        if run_count != 0 {
            runs.append((run_count, points_of(run_pair, pair, single)));
        }
        point_runs.append(runs.span());
        t += 1;
    };
    let mut trees: Array<TreeProof> = array![];
    let mut t = 0;
    while t != N_TREES {
        trees
            .append(
                TreeProof {
                    hash_witness: *proof.decommitments[t],
                    queried_values: *proof.queried_values[t],
                },
            );
        t += 1;
    };
    let pcs_proof = PcsProof {
        trees: trees.span(),
        sampled_words: proof.sampled_words,
        proof_of_work: proof.proof_of_work,
        fri_first_layer: proof.fri_first_layer,
        fri_inner_layers: proof.fri_inner_layers,
        fri_last_layer_poly: proof.fri_last_layer_poly,
    };
    match pcs.verify_values_in_runs(point_runs.span(), pcs_proof, ref channel) {
        Result::Ok(()) => Result::Ok(()),
        Result::Err(_) => Result::Err('verifier: pcs'),
    }
}
