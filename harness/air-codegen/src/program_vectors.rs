//! Cairo test vectors for a program's generated AIR package (the order book's, the token list
//! program's): random mask values at a random circle point, relations drawn from a channel,
//! random claimed sums, and what stwo computes for them over the components the framework's
//! driver builds for the program (`zkthread_prover::program::components`): each component's
//! `evaluate_constraint_quotients_at_point` into a fresh accumulator, and the whole
//! `Components::eval_composition_polynomial_at_point`.

use std::fmt::Write;

use stwo::core::air::accumulation::PointEvaluationAccumulator;
use stwo::core::air::{Component, Components};
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::circle::CirclePoint;
use stwo::core::fields::qm31::SecureField;
use stwo_constraint_framework::logup::LookupElements;
use zkthread_prover::poseidon2::air::RELATION_SIZE as POSEIDON2_RELATION_SIZE;
use zkthread_prover::program::{self, sized_components, ThreadProgram};
use zkthread_prover::range::range_log_size;
use zkthread_prover::role::{Relations, LINK_RELATION_SIZE, STATE_RELATION_SIZE};
use zkthread_stark_vectors::Samples;

use crate::signed::N_PREPROCESSED_COLUMNS;
use crate::vectors::{q, sample_composition};

/// How one program's vector file names its parts.
#[derive(Clone, Copy, Debug)]
pub struct VectorSpec<'a> {
    /// Component names in proof order, as the generated params struct names its fields.
    pub names: &'a [&'a str],
    /// The sized components in words, for each case's doc line (e.g. "fill, place, ...").
    pub sized_doc: &'a str,
    /// The Cairo case struct and the generated params struct.
    pub case: &'a str,
    pub params: &'a str,
    /// The file's header: imports and the case struct.
    pub header: &'a str,
}

fn lookup<const N: usize>(e: &LookupElements<N>) -> String {
    let powers: Vec<String> = e.alpha_powers.iter().map(|p| q(*p)).collect();
    format!(
        "LookupElements {{\n                z: {},\n                alpha: {},\n                alpha_powers: array![{}].span(),\n            }}",
        q(e.z),
        q(e.alpha),
        powers.join(", ")
    )
}

/// One case: sized components of `2^log_sizes` rows, everything else random from `seed`.
fn render_case<P: ThreadProgram>(out: &mut String, spec: &VectorSpec, index: usize, log_sizes: &[u32], seed: u64) {
    assert_eq!(log_sizes.len(), sized_components::<P>(), "one log size per sized component");
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
    let n = spec.names.len();
    let sums: Vec<SecureField> = (0..n).map(|_| samples.qm31()).collect();
    let random_coeff = channel.draw_secure_felt();
    let point = CirclePoint::<SecureField>::get_random_point(&mut channel);

    let provers = program::components::<P>(log_sizes, &relations, &sums);
    let list: Vec<&dyn Component> = provers.iter().map(|c| &**c as &dyn Component).collect();
    assert_eq!(list.len(), n, "the driver's component count");
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
            component.evaluate_constraint_quotients_at_point(point, &mask, &mut acc, max_log_degree_bound);
            acc.finalize()
        })
        .collect();

    let words: Vec<u32> = mask
        .iter()
        .flatten()
        .flatten()
        .flat_map(|v| v.to_m31_array().map(|x| x.0))
        .collect();
    let logs: Vec<u32> = log_sizes.iter().copied().chain([range_log_size(log_sizes)]).collect();
    let _ = writeln!(
        out,
        "/// {index}: log sizes {log_sizes:?} ({}), range table 2^{}; max_log_degree_bound {max_log_degree_bound}; seed {seed:#x}.",
        spec.sized_doc,
        logs[n - 1]
    );
    let _ = writeln!(out, "pub fn case_{index}() -> {} {{\n    {} {{", spec.case, spec.case);
    let _ = writeln!(out, "        point: CirclePoint {{ x: {}, y: {} }},", q(point.x), q(point.y));
    let _ = writeln!(out, "        mask: mask_from_words(CASE_{index}_MASK.span()),");
    let _ = writeln!(out, "        random_coeff: {},", q(random_coeff));
    let _ = writeln!(out, "        params: {} {{", spec.params);
    let _ = writeln!(out, "            state_relation: {},", lookup(&state));
    let _ = writeln!(out, "            link_relation: {},", lookup(&link));
    let _ = writeln!(out, "            poseidon2_relation: {},", lookup(&poseidon2));
    let _ = writeln!(out, "            range_check_relation: {},", lookup(&range));
    for (i, name) in spec.names.iter().enumerate() {
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

/// The generated Cairo vector file: `spec`'s header, then one case per `(log sizes, seed)`.
pub fn render_program_vectors<P: ThreadProgram>(spec: &VectorSpec, cases: &[(&[u32], u64)]) -> String {
    let mut out = String::from(spec.header);
    for (i, (log_sizes, seed)) in cases.iter().enumerate() {
        render_case::<P>(&mut out, spec, i, log_sizes, *seed);
    }
    out
}
