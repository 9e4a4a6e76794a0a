//! stwo's `verify` of a signed thread program's proof (the Rust driver's
//! `zkthread_prover::program::verify::<P, _, _>`), generic over the program
//! ([`ThreadProgramVerifier`]): slot witness -> the program's statement binding -> stark part
//! -> parameter and shape checks -> transcript replay (public input, `[air_digest, log
//! sizes]`, preprocessed root constant, main tree, draws State / Link / Poseidon2 /
//! RangeCheck, interaction tree, claimed sums) -> the first component's claimed sum =
//! boundary (the program's, from the statement) - others -> composition commitment -> OODS
//! point -> composition check: the composition at the OODS point is the sum of the program's
//! AIR classes' answers (library-called: a verifier core and a program's constraints do not
//! fit in one class, and a large AIR's constraints not in one either; each class answers its
//! run of stwo's fold, shifted by the constraints after it) -> PCS/FRI (`stark_verifier::pcs`).

use stark_verifier::channel::poseidon_hash_felts;
use program_air::air_call::{EVAL_SELECTOR, decode_air_answer};
use program_air::layout::{mask_call, mask_values_of};
use starknet::ClassHash;
use starknet::syscalls::library_call_syscall;
use stark_verifier::channel::{ChannelTrait, Poseidon252Channel};
use stark_verifier::circle::{
    CirclePoint, CirclePointIndexTrait, CirclePointTrait, add_m31_point, get_random_point,
};
use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::from_coordinates;
use stark_verifier::fri::{FriConfigTrait, FriLayerProof};
use stark_verifier::merkle::LeafRows;
use stark_verifier::pcs::{
    CommitmentSchemeVerifierTrait, PcsConfig, PcsProof, PointRun, TreeProof, composition_at,
};
use thread_verifier::lookup::{LookupElements, LookupElementsTrait};
use thread_verifier::proof::{LowWords, parse_stark_proof, split_slot_owners};

/// Trees of a signed proof: preprocessed, main, interaction, composition.
const N_TREES: u32 = 4;
/// Columns of the split composition polynomial (2 halves x 4 coordinates).
const COMPOSITION_COLUMNS: u32 = 8;
/// Component log sizes the verifier accepts (the prover's `4..=MAX_LOG_ROWS`).
const MIN_LOG_SIZE: u32 = 4;
/// The framework's constraints need the trace extended once (`LOG_EXPANSION`).
const LOG_EXPANSION: u32 = 1;

/// FRI / proof-of-work parameters and the constants derived from them for one program.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct SignedStarkParams {
    pub log_blowup: u32,
    pub n_queries: u32,
    pub pow_bits: u32,
    pub log_last_layer_degree_bound: u32,
    pub fold_step: u32,
    /// The program's `air_digest(params, "poseidon252")`: mixed into every transcript, so a
    /// proof of one program (or under other parameters) never verifies as another's.
    pub signed_air_digest: felt252,
    /// Merkle roots of the preprocessed tree (the framework's 8-bit range table, which has the
    /// tallest component's height) for the heights `2^range_bits..=2^max_log_rows`.
    pub preprocessed_roots: Span<felt252>,
}

/// The framework's four relations, drawn in this order after the main tree.
#[derive(Drop, Copy)]
pub struct Relations {
    pub state: LookupElements,
    pub link: LookupElements,
    pub poseidon2: LookupElements,
    pub range_check: LookupElements,
}

/// One thread program as the verifier core sees it (`P` names the program, `S` is its bound
/// statement). Implemented by each program's verifier package from its generated AIR and its
/// statement; every function is a pure function of its arguments.
pub trait ThreadProgramVerifier<P, S> {
    /// Components with a size chosen by the prover, in proof order (the first one's claimed
    /// sum is derived from the statement; the range table, sized to the tallest, follows).
    fn sized_components() -> u32;
    /// `(range_bits, max_log_rows)`: the range table's smallest and the largest log size.
    fn log_size_bounds() -> (u32, u32);
    /// Sizes of the four relations (state, link, Poseidon2, range check).
    fn relation_sizes() -> (u32, u32, u32, u32);
    /// Checks the statement and binds every input slot with `witness` (the proof's first
    /// felts); Err(reason) if any rule refuses.
    fn bind(public_input: Span<felt252>, witness: Span<felt252>) -> Result<S, felt252>;
    /// The LogUp sum the rows must reach: the state change of the bound slots and the
    /// transaction list's ends.
    fn boundary(
        slots: @S, public_input: Span<felt252>, relations: @Relations,
    ) -> Result<QM31, felt252>;
    /// The length of the AIR classes' input: four coordinates per mask value, then the
    /// header (`encode_air_header`).
    fn air_input_felts() -> u32;
    /// The mask's shape as runs per tree: `[n_runs, (count, values)*]*`.
    fn mask_shape_runs() -> Span<u32>;
    /// Per tree (preprocessed, main, interaction), the columns' log sizes for component log
    /// sizes `log_sizes` (the sized components', then the range table's).
    fn column_log_sizes(log_sizes: Span<u32>) -> Span<Span<u32>>;
    /// How many AIR classes the program's constraints take (one, unless they do not fit one
    /// class): the composition is the sum of their answers (`program_air::air_call`).
    fn air_class_count() -> u32;
    /// The AIR classes' calldata (one input for all of them): `call` (`mask_call`'s) and the
    /// header for the composition at `point` (`sums` and `log_sizes` in component order, the
    /// range table last).
    fn encode_air_header(
        call: Array<felt252>,
        point: CirclePoint<QM31>,
        random_coeff: QM31,
        relations: @Relations,
        sums: Span<QM31>,
        log_sizes: Span<u32>,
        max_log_degree_bound: u32,
    ) -> Array<felt252>;
}

/// The prover's `mix_felt252s`: `digest <- poseidon_hash_many([digest, felts...])`.
fn mix_felt252s(ref channel: Poseidon252Channel, felts: Span<felt252>) {
    let mut data: Array<felt252> = array![channel.digest];
    data.append_span(felts);
    channel.update_digest(poseidon_hash_felts(data.span()));
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

#[inline(never)]
fn times(lhs: QM31, rhs: QM31) -> QM31 {
    lhs * rhs
}

/// One step of the lifted trace domain (of size 2^log_size) back from `point`.
#[inline(never)]
fn previous_point(point: CirclePoint<QM31>, log_size: u32) -> CirclePoint<QM31> {
    add_m31_point(point, -CirclePointIndexTrait::subgroup_gen(log_size).to_point())
}

/// Per tree, the runs of columns sampled at the same points (`PointRun`), from the mask's
/// `runs` (the shape the proof's sampled values were checked against, so a column has
/// `values` values): a run of two-value columns at `pair`, any other at `single`, as are the
/// composition tree's columns. No list per column: the PCS tests a run's points once.
#[inline(never)]
fn sampled_point_runs_of(
    runs: Span<u32>, pair: Span<CirclePoint<QM31>>, single: Span<CirclePoint<QM31>>,
) -> Span<Span<PointRun>> {
    let mut runs = runs;
    let mut trees: Array<Span<PointRun>> = array![];
    while let Option::Some(n_runs) = runs.pop_front() {
        let mut tree: Array<PointRun> = array![];
        let mut r = *n_runs;
        while r != 0 {
            let [count, values] = (*runs.multi_pop_front::<2>().unwrap()).unbox();
            tree.append((count, if values == 2 {
                pair
            } else {
                single
            }));
            r -= 1;
        };
        trees.append(tree.span());
    };
    trees.append(array![(COMPOSITION_COLUMNS, single)].span());
    trees.span()
}

/// The answer of the AIR class `air_class` (its `eval_composition_at_point`, library-called
/// with `calldata`); Err if the call fails or its answer is not a QM31.
#[inline(never)]
fn air_part(air_class: ClassHash, calldata: Span<felt252>) -> Result<QM31, felt252> {
    match library_call_syscall(air_class, EVAL_SELECTOR, calldata) {
        Result::Ok(answer) => match decode_air_answer(answer) {
            Option::Some(value) => Result::Ok(value),
            Option::None => Result::Err('verifier: air answer'),
        },
        Result::Err(_) => Result::Err('verifier: air call'),
    }
}

/// The composition at the OODS point: the sum of the AIR classes' answers for the same
/// `calldata` (`air_part`; each class folds its run of the constraints, shifted by those after
/// it); Err if a call fails or an answer is not a QM31.
#[inline(never)]
fn air_composition(air_classes: Span<ClassHash>, calldata: Array<felt252>) -> Result<QM31, felt252> {
    let calldata = calldata.span();
    let mut parts: Array<QM31> = array![];
    let mut classes = air_classes;
    let mut failed = Option::None;
    while let Option::Some(class) = classes.pop_front() {
        match air_part(*class, calldata) {
            Result::Ok(part) => parts.append(part),
            Result::Err(reason) => {
                failed = Option::Some(reason);
                break;
            },
        }
    };
    match failed {
        Option::Some(reason) => Result::Err(reason),
        Option::None => Result::Ok(sum_of(parts.span())),
    }
}

/// A proof's decoded STARK part: the sized components' log sizes, the claimed sums sent
/// (every component's but the first's) and stwo's commitment-scheme proof.
#[derive(Drop, Copy)]
struct ProgramProof {
    log_sizes: Span<u32>,
    claimed_sums: Span<QM31>,
    pow_bits: u32,
    log_blowup: u32,
    log_last_layer_degree_bound: u32,
    n_queries: u32,
    fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    lifting: u32,
    commitments: Span<felt252>,
    /// Per tree, the sampled values' runs (`(columns, values per column)` words).
    sampled_shape: Span<Span<felt252>>,
    /// Every tree's sampled values, canonical coordinates, four words each.
    sampled_words: Span<felt252>,
    decommitments: Span<Span<felt252>>,
    queried_values: Span<Span<Span<felt252>>>,
    proof_of_work: u64,
    fri_first_layer: FriLayerProof,
    fri_inner_layers: Span<FriLayerProof>,
    fri_last_layer_poly: Span<QM31>,
}

fn parse_program_proof<T, +LowWords<T>>(
    felts: Span<felt252>, sized: u32,
) -> Result<ProgramProof, felt252> {
    let (log_sizes, claimed_sums, s) = parse_stark_proof::<T>(felts, sized, sized)?;
    Result::Ok(
        ProgramProof {
            log_sizes,
            claimed_sums,
            pow_bits: s.pow_bits,
            log_blowup: s.log_blowup,
            log_last_layer_degree_bound: s.log_last_layer_degree_bound,
            n_queries: s.n_queries,
            fold_step: s.fold_step,
            lifting: s.lifting,
            commitments: s.commitments,
            sampled_shape: s.sampled_shape,
            sampled_words: s.sampled_words,
            decommitments: s.decommitments,
            queried_values: s.queried_values,
            proof_of_work: s.proof_of_work,
            fri_first_layer: s.fri_first_layer,
            fri_inner_layers: s.fri_inner_layers,
            fri_last_layer_poly: s.fri_last_layer_poly,
        },
    )
}

/// The last FRI layer's log degree bound for a proof whose tallest columns have 2^max_log rows:
/// `params`' bound, lowered to `max_log - fold_step` where the first fold would leave a line
/// domain smaller than the last layer's (the prover's `StarkParams::last_layer_bound_at`).
pub fn last_layer_bound_at(params: @SignedStarkParams, max_log: u32) -> u32 {
    let bound = *params.log_last_layer_degree_bound;
    let fold_step = *params.fold_step;
    if max_log < fold_step {
        return 0;
    }
    let at_height = max_log - fold_step;
    if at_height < bound {
        at_height
    } else {
        bound
    }
}

/// The parameter sets a verifier class accepts: one (`SignedStarkParams`), or several
/// (`Span<SignedStarkParams>`, the token list verifier's two). A trait rather than a span for
/// every class: a class with one set carries no search (class size is a hard limit, and the
/// order book's verifier is near it).
pub trait AcceptedParams<A> {
    /// The set a proof made at `log_blowup`, `n_queries` and `pow_bits` is checked against
    /// (whose other parameters it must then have too); None if no set has those three.
    fn named_by(self: @A, log_blowup: u32, n_queries: u32, pow_bits: u32) -> Option<SignedStarkParams>;
}

/// One set: the proof is checked against it whatever it names (`check_params` refuses any
/// difference).
pub impl OneParamSet of AcceptedParams<SignedStarkParams> {
    fn named_by(
        self: @SignedStarkParams, log_blowup: u32, n_queries: u32, pow_bits: u32,
    ) -> Option<SignedStarkParams> {
        Option::Some(*self)
    }
}

/// Several sets: the first with the proof's blowup, queries and proof-of-work bits. Every set
/// is >= 96 bits and names itself in the transcript (its AIR digest hashes the parameters),
/// so which one a proof picks is the prover's free choice.
pub impl ParamSets of AcceptedParams<Span<SignedStarkParams>> {
    fn named_by(
        self: @Span<SignedStarkParams>, log_blowup: u32, n_queries: u32, pow_bits: u32,
    ) -> Option<SignedStarkParams> {
        let mut found = Option::None;
        for params in *self {
            if *params.log_blowup == log_blowup
                && *params.n_queries == n_queries
                && *params.pow_bits == pow_bits {
                found = Option::Some(*params);
                break;
            }
        };
        found
    }
}

/// The proof's parameters are `params`, its last layer's bound `last_layer_bound` (the one at
/// its height, `last_layer_bound_at`); Err otherwise.
fn check_params(
    proof: @ProgramProof, params: @SignedStarkParams, last_layer_bound: u32,
) -> Result<(), felt252> {
    if *proof.pow_bits != *params.pow_bits
        || *proof.log_blowup != *params.log_blowup
        || *proof.log_last_layer_degree_bound != last_layer_bound
        || *proof.n_queries != *params.n_queries
        || *proof.fold_step != *params.fold_step
        || *proof.lifting != 0
        || *params.log_blowup < LOG_EXPANSION {
        return Result::Err('verifier: params mismatch');
    }
    Result::Ok(())
}

/// The range table's log size (the tallest component's, at least `range_bits`); Err if a
/// component's size is outside `MIN_LOG_SIZE..=max_log_rows`.
fn table_log_size(log_sizes: Span<u32>, range_bits: u32, max_log_rows: u32) -> Result<u32, felt252> {
    let mut max_log = range_bits;
    let mut sizes_ok = true;
    for l in log_sizes {
        if *l < MIN_LOG_SIZE || *l > max_log_rows {
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
    Result::Ok(max_log)
}

/// The composition tree's values at the OODS point (one per column) from their words.
fn composition_values(words: Span<felt252>) -> Span<QM31> {
    let mut words = words;
    let mut values: Array<QM31> = array![];
    while let Option::Some(value) = words.multi_pop_front::<4>() {
        let [a, b, c, d] = (*value).unbox();
        values.append(from_coordinates((a, b, c, d)));
    };
    values.span()
}

/// `values` and then `last`.
fn with_last<T, +Drop<T>, +Copy<T>>(values: Span<T>, last: T) -> Span<T> {
    let mut out: Array<T> = array![];
    out.append_span(values);
    out.append(last);
    out.span()
}

/// Ok(()) iff `proof` proves a sub-block of the program `Program` with exactly
/// `public_input` (chain id and registry in place) under `accepted` (one parameter set, or
/// the one of several it names: `AcceptedParams`), with the constraints
/// evaluated by the AIR classes `air_classes` (`Program::air_class_count` of them, in order);
/// Err(reason) otherwise. A shipped verifier class passes its compile-time constants (its
/// `generated_air_class`), never a hash from calldata or storage. `T` picks how the proof's
/// M31 stream is cut (`thread_verifier::proof::LowWords`: `Masked`, `Divided` or `Mixed`, the
/// same words at a different mix of bitwise and range-check builtins); `R` how the queried
/// rows are hashed into Merkle leaves and summed for the DEEP quotients
/// (`stark_verifier::merkle::LeafRows`: `RowsByEight`, or `RowsByEightAndFour`, wider code for
/// a parameter set querying 20 positions).
pub fn verify_program_proof<
    P,
    S,
    T,
    R,
    A,
    impl Program: ThreadProgramVerifier<P, S>,
    +Drop<S>,
    +LowWords<T>,
    +LeafRows<R>,
    +AcceptedParams<A>,
    +Drop<A>,
>(
    public_input: Span<felt252>, proof: Span<felt252>, accepted: A, air_classes: Span<ClassHash>,
) -> Result<(), felt252> {
    if air_classes.len() != Program::air_class_count() {
        return Result::Err('verifier: air classes');
    }
    let (witness, stark) = split_slot_owners(proof)?;
    let slots = Program::bind(public_input, witness)?;
    let sized = Program::sized_components();
    let proof = parse_program_proof::<T>(stark, sized)?;
    let (range_bits, max_log_rows) = Program::log_size_bounds();
    let max_log = table_log_size(proof.log_sizes, range_bits, max_log_rows)?;
    let params = match accepted.named_by(proof.log_blowup, proof.n_queries, proof.pow_bits) {
        Option::Some(params) => params,
        Option::None => { return Result::Err('verifier: params mismatch'); },
    };
    let last_layer_bound = last_layer_bound_at(@params, max_log);
    check_params(@proof, @params, last_layer_bound)?;
    if proof.commitments.len() != N_TREES
        || proof.sampled_shape.len() != N_TREES
        || proof.decommitments.len() != N_TREES
        || proof.queried_values.len() != N_TREES {
        return Result::Err('verifier: tree count');
    }
    // max_log is in range_bits..=max_log_rows here: one root per height.
    let root_index = max_log - range_bits;
    if root_index >= params.preprocessed_roots.len()
        || *proof.commitments[0] != *params.preprocessed_roots[root_index] {
        return Result::Err('verifier: preprocessed root');
    }
    // The sampled values: the mask (the AIR classes' input as it stands in the proof), then
    // the composition tree's, one value a column.
    let words = proof.sampled_words;
    let n_mask = match mask_values_of(
        proof.sampled_shape, Program::mask_shape_runs(), COMPOSITION_COLUMNS,
    ) {
        Option::Some(n) => n,
        Option::None => { return Result::Err('verifier: mask shape'); },
    };
    let mask_words = 4 * n_mask;
    if words.len() != mask_words + 4 * COMPOSITION_COLUMNS {
        return Result::Err('verifier: mask shape');
    }
    let call = mask_call(Program::air_input_felts(), words.slice(0, mask_words));
    let composition_evals = composition_values(words.slice(mask_words, 4 * COMPOSITION_COLUMNS));

    // Transcript: public input, [air_digest, log sizes], then the trace commitments.
    let mut channel = ChannelTrait::new();
    mix_felt252s(ref channel, public_input);
    let mut header: Array<felt252> = array![params.signed_air_digest];
    for l in proof.log_sizes {
        header.append((*l).into());
    };
    mix_felt252s(ref channel, header.span());
    let fri_config = FriConfigTrait::new(
        last_layer_bound, params.log_blowup, params.n_queries, params.fold_step,
    );
    let mut pcs = CommitmentSchemeVerifierTrait::new(
        PcsConfig { pow_bits: params.pow_bits, fri_config, lifting_log_size: Option::None },
    );
    let log_sizes = with_last(proof.log_sizes, max_log);
    let column_sizes = Program::column_log_sizes(log_sizes);
    pcs.commit(*proof.commitments[0], *column_sizes[0], ref channel);
    pcs.commit(*proof.commitments[1], *column_sizes[1], ref channel);
    // The verifier combines values under the state and link relations (the statement's
    // boundary) and only hands the other two on to the AIR class, which derives their powers
    // from alpha: those are drawn without powers (~8k steps fewer for the signed program).
    let (state_size, link_size, _, _) = Program::relation_sizes();
    let state = LookupElementsTrait::draw(ref channel, state_size);
    let link = LookupElementsTrait::draw(ref channel, link_size);
    let poseidon2 = LookupElementsTrait::draw_unexpanded(ref channel);
    let range_check = LookupElementsTrait::draw_unexpanded(ref channel);
    let relations = Relations { state, link, poseidon2, range_check };
    pcs.commit(*proof.commitments[2], *column_sizes[2], ref channel);
    let sent = proof.claimed_sums;
    channel.mix_felts(sent);

    // The first component's LogUp sum is not sent: boundary (the statement's state change and
    // the transaction list's ends) - others.
    let boundary = Program::boundary(@slots, public_input, @relations)?;
    let mut sums: Array<QM31> = array![difference(boundary, sum_of(sent))];
    sums.append_span(sent);

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
    // x(2^(max_log_degree_bound - 1) * oods): both the composition's split factor and the
    // canonic coset's vanishing polynomial at the OODS point (`pcs::composition_at`).
    let vanishing = oods_point.repeated_double(max_log_degree_bound - 1).x;
    let composition = composition_at(composition_evals, vanishing);
    let call = Program::encode_air_header(
        call, oods_point, random_coeff, @relations, sums.span(), log_sizes, max_log_degree_bound,
    );
    // stwo divides the constraints' fold by the vanishing polynomial at the OODS point; the
    // classes answer the fold undivided, so the composition is multiplied by it instead (one
    // vanishing polynomial a proof, no inverse). Zero only on the trace domain's coset, where
    // a point drawn from the channel lands with probability ~2^-100: refused, as stwo's
    // inverse would fail.
    if vanishing == QM31Trait::from_u32_unchecked(0, 0, 0, 0) {
        return Result::Err('verifier: oods point');
    }
    if times(composition, vanishing) != air_composition(air_classes, call)? {
        return Result::Err('verifier: oods mismatch');
    }

    // Sample points: offset 0 -> the OODS point, offset -1 -> one step of the lifted trace
    // domain back (the cumulative-sum columns), composition columns at the OODS point.
    let previous = previous_point(oods_point, max_log_degree_bound);
    // One list of points per shape, shared by every column of that shape.
    let pair = array![previous, oods_point].span();
    let single = array![oods_point].span();
    let point_runs = sampled_point_runs_of(Program::mask_shape_runs(), pair, single);
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
        sampled_words: words,
        proof_of_work: proof.proof_of_work,
        fri_first_layer: proof.fri_first_layer,
        fri_inner_layers: proof.fri_inner_layers,
        fri_last_layer_poly: proof.fri_last_layer_poly,
    };
    match pcs.verify_values_in_runs_by::<R>(point_runs, pcs_proof, ref channel) {
        Result::Ok(()) => Result::Ok(()),
        Result::Err(_) => Result::Err('verifier: pcs'),
    }
}
