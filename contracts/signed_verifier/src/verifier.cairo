//! The full stwo `verify` of a signed-transfer proof (the prover's
//! `zkthread_token::verify_signed`): owners -> slot binding (`statement::bound_slots`)
//! -> signed header + stark part (`proof`) -> parameter and shape checks -> transcript replay
//! (public input, `[signed_air_digest, 6 log sizes]`, preprocessed root constant, main tree,
//! draws State / Link / Poseidon2 / RangeCheck, interaction tree, 6 claimed sums) -> the
//! transfer's claimed sum = boundary (state + transaction list) - others -> composition commitment -> OODS point ->
//! composition check: the composition at the OODS point is the AIR class's answer
//! (`signed_air::air_class::SignedAir`, library-called: a verifier core and the program's
//! constraints do not fit in one class) -> PCS/FRI (`stark_verifier::pcs`).

use core::poseidon::poseidon_hash_span;
use signed_air::air_class::{EVAL_SELECTOR, decode_air_answer, encode_air_call};
use signed_air::generated_air::{
    LINK_RELATION_SIZE, MASK_SHAPE_RUNS, POSEIDON2_RELATION_SIZE, RANGE_CHECK_RELATION_SIZE,
    STATE_RELATION_SIZE, SignedAirParams, column_log_sizes, mask_shape_ok,
};
use starknet::ClassHash;
use starknet::syscalls::library_call_syscall;
use stark_verifier::channel::{ChannelTrait, Poseidon252Channel};
use stark_verifier::circle::{CirclePoint, CirclePointIndexTrait, add_m31_point, get_random_point};
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::{Coordinates, from_coordinates};
use stark_verifier::fri::FriConfigTrait;
use stark_verifier::pcs::{
    CommitmentSchemeVerifierTrait, PcsConfig, PcsProof, TreeProof, composition_oods_eval,
};
use thread_verifier::lookup::LookupElementsTrait;
use thread_verifier::proof::split_slot_owners;
use crate::generated_params::{SIGNED_MAX_LOG_ROWS, SIGNED_RANGE_BITS};
use crate::proof::{SignedProof, parse_signed_proof};
use crate::statement::{bound_slots, statement_boundary_sum, tx_list};

/// Trees of a signed proof: preprocessed, main, interaction, composition.
const N_TREES: u32 = 4;
/// Columns of the split composition polynomial (2 halves x 4 coordinates).
const COMPOSITION_COLUMNS: u32 = 8;
/// Component log sizes the verifier accepts (the prover's `4..=MAX_LOG_ROWS`).
const MIN_LOG_SIZE: u32 = 4;
/// The signed AIR's constraints need the trace extended once (`LOG_EXPANSION`).
const LOG_EXPANSION: u32 = 1;

/// FRI / proof-of-work parameters and the constants derived from them (the signed program's
/// counterpart of `ThreadStarkParams`).
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct SignedStarkParams {
    pub log_blowup: u32,
    pub n_queries: u32,
    pub pow_bits: u32,
    pub log_last_layer_degree_bound: u32,
    pub fold_step: u32,
    /// `signed_air_digest(params, "poseidon252")`: mixed into every transcript.
    pub signed_air_digest: felt252,
    /// Merkle roots of the preprocessed tree (the 8-bit range table, which has the tallest
    /// component's height) for the heights `2^SIGNED_RANGE_BITS..=2^SIGNED_MAX_LOG_ROWS`.
    pub preprocessed_roots: Span<felt252>,
}

/// The prover's `mix_felt252s`: `digest <- poseidon_hash_many([digest, felts...])`.
fn mix_felt252s(ref channel: Poseidon252Channel, felts: Span<felt252>) {
    let mut data: Array<felt252> = array![channel.digest];
    data.append_span(felts);
    channel.update_digest(poseidon_hash_span(data.span()));
}

/// The sum of `values`. Out of line (as `difference` and `previous_point`): these run once per
/// proof, and their inlined field operations would cost class size (a hard limit).
#[inline(never)]
fn sum_of(values: Span<QM31>) -> QM31 {
    let mut sum = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    for value in values {
        sum = sum + *value;
    };
    sum
}

#[inline(never)]
fn difference(lhs: QM31, rhs: QM31) -> QM31 {
    lhs - rhs
}

/// One step of the lifted trace domain (of size 2^log_size) back from `point`.
#[inline(never)]
fn previous_point(point: CirclePoint<QM31>, log_size: u32) -> CirclePoint<QM31> {
    add_m31_point(point, -CirclePointIndexTrait::subgroup_gen(log_size).to_point())
}

/// Per tree, per column, the points its values were sampled at, from the mask's runs
/// (`MASK_SHAPE_RUNS`, the shape `mask_shape_ok` has checked the proof's sampled values
/// against, so a column has `values` values): a column of two values at `pair`, any other at
/// `single`, as are the composition tree's columns. Written run by run, without a pass over
/// the proof's columns.
#[inline(never)]
fn sampled_points_of(
    pair: Span<CirclePoint<QM31>>, single: Span<CirclePoint<QM31>>,
) -> Span<Span<Span<CirclePoint<QM31>>>> {
    let mut runs = MASK_SHAPE_RUNS.span();
    let mut trees: Array<Span<Span<CirclePoint<QM31>>>> = array![];
    while let Option::Some(n_runs) = runs.pop_front() {
        let mut columns: Array<Span<CirclePoint<QM31>>> = array![];
        let mut r = *n_runs;
        while r != 0 {
            let [count, values] = (*runs.multi_pop_front::<2>().unwrap()).unbox();
            repeat_points(ref columns, if values == 2 {
                pair
            } else {
                single
            }, count);
            r -= 1;
        };
        trees.append(columns.span());
    };
    let mut composition: Array<Span<CirclePoint<QM31>>> = array![];
    repeat_points(ref composition, single, COMPOSITION_COLUMNS);
    trees.append(composition.span());
    trees.span()
}

/// Appends `points` `count` times, 8 per iteration while 8 remain (runs are up to 575 columns).
fn repeat_points(
    ref out: Array<Span<CirclePoint<QM31>>>, points: Span<CirclePoint<QM31>>, count: u32,
) {
    let mut k = count;
    while k >= 8 {
        out.append(points);
        out.append(points);
        out.append(points);
        out.append(points);
        out.append(points);
        out.append(points);
        out.append(points);
        out.append(points);
        k -= 8;
    };
    while k != 0 {
        out.append(points);
        k -= 1;
    };
}

/// The signed AIR's composition at the OODS point, from the AIR class `air_class`
/// (`SignedAir::eval_composition_at_point`, library-called); Err if the call fails or its
/// answer is not a QM31.
#[inline(never)]
fn air_composition(
    air_class: ClassHash, point: CirclePoint<QM31>, mask: Span<Span<Span<Coordinates>>>,
    random_coeff: QM31, params: @SignedAirParams, max_log_degree_bound: u32,
) -> Result<QM31, felt252> {
    let calldata = encode_air_call(point, mask, random_coeff, params, max_log_degree_bound);
    match library_call_syscall(air_class, EVAL_SELECTOR, calldata.span()) {
        Result::Ok(answer) => match decode_air_answer(answer) {
            Option::Some(value) => Result::Ok(value),
            Option::None => Result::Err('verifier: air answer'),
        },
        Result::Err(_) => Result::Err('verifier: air call'),
    }
}

/// Ok(()) iff `proof` proves a signed sub-block with exactly `public_input` (chain id and
/// registry in place) under `params`, with the signed AIR's constraints evaluated by the class
/// `air_class` (`SignedAir`); Err(reason) otherwise. The shipped class passes its compile-time
/// constant (`generated_air_class`), never a hash from calldata or storage; Cairo tests pass
/// the test runner's `SignedAir::TEST_CLASS_HASH`.
pub fn verify_signed_proof(
    public_input: Span<felt252>, proof: Span<felt252>, params: @SignedStarkParams,
    air_class: ClassHash,
) -> Result<(), felt252> {
    let (owners, stark) = split_slot_owners(proof)?;
    let slots = bound_slots(public_input, owners)?;
    let proof: SignedProof = parse_signed_proof(stark)?;
    let params = *params;

    if proof.pow_bits != params.pow_bits
        || proof.log_blowup != params.log_blowup
        || proof.log_last_layer_degree_bound != params.log_last_layer_degree_bound
        || proof.n_queries != params.n_queries
        || proof.fold_step != params.fold_step
        || proof.lifting != 0
        || params.log_blowup < LOG_EXPANSION {
        return Result::Err('verifier: params mismatch');
    }
    let mut max_log = SIGNED_RANGE_BITS;
    let mut sizes_ok = true;
    for l in proof.log_sizes {
        if *l < MIN_LOG_SIZE || *l > SIGNED_MAX_LOG_ROWS {
            sizes_ok = false;
            break;
        }
        if *l > max_log {
            max_log = *l;
        }
    };
    if !sizes_ok {
        return Result::Err('verifier: log size range');
    }
    if proof.commitments.len() != N_TREES
        || proof.sampled_values.len() != N_TREES
        || proof.decommitments.len() != N_TREES
        || proof.queried_values.len() != N_TREES {
        return Result::Err('verifier: tree count');
    }
    // max_log is in SIGNED_RANGE_BITS..=SIGNED_MAX_LOG_ROWS here: one root per height.
    let root_index = max_log - SIGNED_RANGE_BITS;
    if root_index >= params.preprocessed_roots.len()
        || *proof.commitments[0] != *params.preprocessed_roots[root_index] {
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

    // Transcript: public input, [signed_air_digest, log sizes], then the trace commitments.
    let log = proof.log_sizes;
    let mut channel = ChannelTrait::new();
    mix_felt252s(ref channel, public_input);
    let mut header: Array<felt252> = array![params.signed_air_digest];
    for l in log {
        header.append((*l).into());
    };
    mix_felt252s(ref channel, header.span());
    let fri_config = FriConfigTrait::new(
        params.log_last_layer_degree_bound, params.log_blowup, params.n_queries, params.fold_step,
    );
    let mut pcs = CommitmentSchemeVerifierTrait::new(
        PcsConfig { pow_bits: params.pow_bits, fri_config, lifting_log_size: Option::None },
    );
    // Only the log sizes matter for the commitments: relations and sums are placeholders here.
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let placeholder = LookupElementsTrait::empty();
    let sizes_params = SignedAirParams {
        state_relation: placeholder,
        link_relation: placeholder,
        poseidon2_relation: placeholder,
        range_check_relation: placeholder,
        signed_transfer_claimed_sum: zero,
        signed_transfer_log_size: *log[0],
        chain_step_claimed_sum: zero,
        chain_step_log_size: *log[1],
        digest_sponge_claimed_sum: zero,
        digest_sponge_log_size: *log[2],
        key_sponge_claimed_sum: zero,
        key_sponge_log_size: *log[3],
        tx_list_claimed_sum: zero,
        tx_list_log_size: *log[4],
        poseidon2_claimed_sum: zero,
        poseidon2_log_size: *log[5],
        range_table_claimed_sum: zero,
        range_table_log_size: max_log,
    };
    let log_sizes = column_log_sizes(@sizes_params);
    pcs.commit(*proof.commitments[0], *log_sizes[0], ref channel);
    pcs.commit(*proof.commitments[1], *log_sizes[1], ref channel);
    let state = LookupElementsTrait::draw(ref channel, STATE_RELATION_SIZE);
    let link = LookupElementsTrait::draw(ref channel, LINK_RELATION_SIZE);
    let poseidon2 = LookupElementsTrait::draw(ref channel, POSEIDON2_RELATION_SIZE);
    let range_check = LookupElementsTrait::draw(ref channel, RANGE_CHECK_RELATION_SIZE);
    pcs.commit(*proof.commitments[2], *log_sizes[2], ref channel);
    let sums = proof.claimed_sums;
    channel.mix_felts(sums);

    // The transfer rows' LogUp sum is not sent: boundary (the public lists' state change and
    // the transaction list's first and last capacities) - others.
    let (tx_count, tx_cap) = tx_list(public_input)?;
    let boundary = statement_boundary_sum(slots.span(), @state, tx_count, tx_cap, @link)?;
    let others = sum_of(sums);
    let air_params = SignedAirParams {
        state_relation: state,
        link_relation: link,
        poseidon2_relation: poseidon2,
        range_check_relation: range_check,
        signed_transfer_claimed_sum: difference(boundary, others),
        signed_transfer_log_size: *log[0],
        chain_step_claimed_sum: *sums[0],
        chain_step_log_size: *log[1],
        digest_sponge_claimed_sum: *sums[1],
        digest_sponge_log_size: *log[2],
        key_sponge_claimed_sum: *sums[2],
        key_sponge_log_size: *log[3],
        tx_list_claimed_sum: *sums[3],
        tx_list_log_size: *log[4],
        poseidon2_claimed_sum: *sums[4],
        poseidon2_log_size: *log[5],
        range_table_claimed_sum: *sums[5],
        range_table_log_size: max_log,
    };

    // stwo `verify`: composition commitment, OODS point, DEEP-ALI check.
    // composition_log_degree_bound - COMPOSITION_LOG_SPLIT = max(log + LOG_EXPANSION) - 1.
    let random_coeff = channel.draw_secure_felt();
    let max_log_degree_bound = max_log;
    let mut composition_sizes: Array<u32> = array![];
    while composition_sizes.len() != COMPOSITION_COLUMNS {
        composition_sizes.append(max_log_degree_bound);
    };
    pcs.commit(*proof.commitments[3], composition_sizes.span(), ref channel);
    let oods_point = get_random_point(ref channel);
    let composition = composition_oods_eval(
        oods_point, composition_evals.span(), max_log_degree_bound,
    );
    let expected = air_composition(
        air_class, oods_point, mask, random_coeff, @air_params, max_log_degree_bound,
    )?;
    if composition != expected {
        return Result::Err('verifier: oods mismatch');
    }

    // Sample points: offset 0 -> the OODS point, offset -1 -> one step of the lifted trace
    // domain back (the cumulative-sum columns), composition columns at the OODS point.
    let previous = previous_point(oods_point, max_log_degree_bound);
    // One list of points per shape, shared by every column of that shape.
    let pair = array![previous, oods_point].span();
    let single = array![oods_point].span();
    let sampled_points = sampled_points_of(pair, single);
    let mut trees: Array<TreeProof> = array![];
    let mut t = 0;
    while t != N_TREES {
        trees
            .append(
                TreeProof {
                    sampled_values: *proof.sampled_values[t],
                    hash_witness: *proof.decommitments[t],
                    queried_values: *proof.queried_values[t],
                },
            );
        t += 1;
    };
    let pcs_proof = PcsProof {
        trees: trees.span(),
        proof_of_work: proof.proof_of_work,
        fri_first_layer: proof.fri_first_layer,
        fri_inner_layers: proof.fri_inner_layers,
        fri_last_layer_poly: proof.fri_last_layer_poly,
    };
    match pcs.verify_values(sampled_points, pcs_proof, ref channel) {
        Result::Ok(()) => Result::Ok(()),
        Result::Err(_) => Result::Err('verifier: pcs'),
    }
}
