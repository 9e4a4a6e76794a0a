//! Cairo test vectors for `contracts/programs/token/signed_air`: random mask values at a random circle point,
//! relations drawn from a channel, random claimed sums, and what stwo computes for them — each
//! component's `evaluate_constraint_quotients_at_point` into a fresh accumulator, and the whole
//! `Components::eval_composition_polynomial_at_point`.

use std::fmt::Write;

use stwo::core::air::accumulation::PointEvaluationAccumulator;
use stwo::core::air::{Component, Components};
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::circle::CirclePoint;
use stwo::core::fields::qm31::SecureField;
use stwo_constraint_framework::logup::LookupElements;
use zkthread_token::range::range_log_size;
use zkthread_prover::poseidon2::air::RELATION_SIZE as POSEIDON2_RELATION_SIZE;
use zkthread_token::prover::{N_COMPONENTS, SIZED_COMPONENTS};
use zkthread_token::role::{Relations, LINK_RELATION_SIZE, STATE_RELATION_SIZE};
use zkthread_stark_vectors::Samples;

use crate::signed::{signed_components, COMPONENT_NAMES, N_PREPROCESSED_COLUMNS};
use crate::vectors::{q, sample_composition};

fn lookup<const N: usize>(e: &LookupElements<N>) -> String {
    let powers: Vec<String> = e.alpha_powers.iter().map(|p| q(*p)).collect();
    format!(
        "LookupElements {{\n                z: {},\n                alpha: {},\n                alpha_powers: array![{}].span(),\n            }}",
        q(e.z),
        q(e.alpha),
        powers.join(", ")
    )
}

/// One case: components of `2^log_sizes` rows, everything else random from `seed`.
fn render_case(out: &mut String, index: usize, log_sizes: [u32; SIZED_COMPONENTS], seed: u64) {
    let mut samples = Samples(seed);
    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(seed);
    // The relation types keep their elements private: draw them twice from equal channels.
    let mut twin = channel.clone();
    let state = LookupElements::<STATE_RELATION_SIZE>::draw(&mut twin);
    let link = LookupElements::<LINK_RELATION_SIZE>::draw(&mut twin);
    let poseidon2 = LookupElements::<POSEIDON2_RELATION_SIZE>::draw(&mut twin);
    let range = LookupElements::<1>::draw(&mut twin);
    let relations = Relations::draw(&mut channel);
    let sums: [SecureField; N_COMPONENTS] = std::array::from_fn(|_| samples.qm31());
    let random_coeff = channel.draw_secure_felt();
    let point = CirclePoint::<SecureField>::get_random_point(&mut channel);

    let c = signed_components(&log_sizes, &relations, sums);
    let list: Vec<&dyn Component> = vec![&c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6];
    let components = Components {
        components: list.clone(),
        n_preprocessed_columns: N_PREPROCESSED_COLUMNS,
    };
    let (mask, max_log_degree_bound, expected) =
        sample_composition(&components, point, random_coeff, &mut samples);
    let per_component: Vec<SecureField> = list
        .iter()
        .map(|component| {
            let mut acc = PointEvaluationAccumulator::new(random_coeff);
            component.evaluate_constraint_quotients_at_point(
                point,
                &mask,
                &mut acc,
                max_log_degree_bound,
            );
            acc.finalize()
        })
        .collect();

    let words: Vec<u32> = mask
        .iter()
        .flatten()
        .flatten()
        .flat_map(|v| v.to_m31_array().map(|x| x.0))
        .collect();
    let _ = writeln!(
        out,
        "/// {index}: log sizes {log_sizes:?} (transfer, chain step, digest, key sponge, Poseidon2), range\n/// table 2^{}; max_log_degree_bound {max_log_degree_bound}; seed {seed:#x}.",
        range_log_size(&log_sizes)
    );
    let _ = writeln!(out, "pub fn case_{index}() -> SignedCase {{");
    let _ = writeln!(out, "    SignedCase {{");
    let _ = writeln!(
        out,
        "        point: CirclePoint {{ x: {}, y: {} }},",
        q(point.x),
        q(point.y)
    );
    let _ = writeln!(
        out,
        "        mask: mask_from_words(CASE_{index}_MASK.span()),"
    );
    let _ = writeln!(out, "        random_coeff: {},", q(random_coeff));
    let _ = writeln!(out, "        params: SignedAirParams {{");
    let _ = writeln!(out, "            state_relation: {},", lookup(&state));
    let _ = writeln!(out, "            link_relation: {},", lookup(&link));
    let _ = writeln!(
        out,
        "            poseidon2_relation: {},",
        lookup(&poseidon2)
    );
    let _ = writeln!(out, "            range_check_relation: {},", lookup(&range));
    let logs: Vec<u32> = log_sizes.iter().copied().chain([range_log_size(&log_sizes)]).collect();
    for (i, name) in COMPONENT_NAMES.iter().enumerate() {
        let _ = writeln!(out, "            {name}_claimed_sum: {},", q(sums[i]));
        let _ = writeln!(out, "            {name}_log_size: {},", logs[i]);
    }
    let _ = writeln!(out, "        }},");
    let _ = writeln!(out, "        max_log_degree_bound: {max_log_degree_bound},");
    let _ = writeln!(out, "        expected: {},", q(expected));
    let each: Vec<String> = per_component.iter().map(|v| q(*v)).collect();
    let _ = writeln!(
        out,
        "        expected_components: array![\n            {},\n        ]\n            .span(),",
        each.join(",\n            ")
    );
    let _ = writeln!(out, "    }}\n}}\n");
    let _ = writeln!(
        out,
        "/// Case {index}'s mask: every sampled value's four M31 coordinates, in proof order.\nconst CASE_{index}_MASK: [u32; {}] = [",
        words.len()
    );
    for line in words.chunks(8) {
        let w: Vec<String> = line.iter().map(|w| w.to_string()).collect();
        let _ = writeln!(out, "    {},", w.join(", "));
    }
    out.push_str("];\n\n");
}

/// (log sizes, seed) of the committed cases: every component below the range table's smallest
/// height 2^8, and components of several sizes (the table has the tallest one's height).
pub const CASES: [([u32; SIZED_COMPONENTS], u64); 2] = [
    ([4, 6, 4, 5, 4, 7], 0x7369_676e_6564_0001),
    ([5, 8, 6, 7, 4, 12], 0x7369_676e_6564_0002),
];

/// The generated Cairo vector file.
pub fn render_signed_vectors() -> String {
    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen`: expected values computed by stwo 2.3
// (each component's evaluate_constraint_quotients_at_point into a fresh accumulator, and
// Components::eval_composition_polynomial_at_point) for the signed AIR. Do not edit.
use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use thread_verifier::lookup::LookupElements;
use crate::generated_air::{MASK_SHAPE_RUNS, SignedAirParams};
use program_air::layout::mask_from_words_with;

fn q(a: u32, b: u32, c: u32, d: u32) -> QM31 {
    QM31Trait::from_u32_unchecked(a, b, c, d)
}

fn mask_from_words(words: Span<u32>) -> Span<Span<Span<QM31>>> {
    mask_from_words_with(words, MASK_SHAPE_RUNS.span())
}

#[derive(Drop, Copy)]
pub struct SignedCase {
    pub point: CirclePoint<QM31>,
    pub mask: Span<Span<Span<QM31>>>,
    pub random_coeff: QM31,
    pub params: SignedAirParams,
    pub max_log_degree_bound: u32,
    /// stwo's composition value (all seven components).
    pub expected: QM31,
    /// stwo's value of each component alone (a fresh accumulator), in proof order.
    pub expected_components: Span<QM31>,
}

",
    );
    for (i, (log_sizes, seed)) in CASES.iter().enumerate() {
        render_case(&mut out, i, *log_sizes, *seed);
    }
    out
}
