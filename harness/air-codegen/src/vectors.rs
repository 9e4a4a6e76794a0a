//! Cairo test vectors for the generated evaluation: random mask values at a random circle
//! point, relations drawn from a channel, and the value stwo's own
//! `Components::eval_composition_polynomial_at_point` returns for them.

use std::fmt::Write;

use stwo::core::air::{Component, Components};
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::circle::CirclePoint;
use stwo::core::fields::qm31::SecureField;
use stwo::core::pcs::TreeVec;
use stwo::core::verifier::COMPOSITION_LOG_SPLIT;
use stwo_constraint_framework::logup::LookupElements;
use zkthread_prover::air::{RangeCheckRelation, TokenStateRelation, STATE_TUPLE};
// The same deterministic xorshift64* samples as the stwo vectors: identical on every run.
use zkthread_stark_vectors::Samples;

use crate::thread_components;
use crate::N_PREPROCESSED_COLUMNS;

/// A QM31 as the Cairo vectors write it: `q(a, b, c, d)`.
pub(crate) fn q(v: SecureField) -> String {
    let [a, b, c, d] = v.to_m31_array();
    format!("q({}, {}, {}, {})", a.0, b.0, c.0, d.0)
}

fn lookup<const N: usize>(e: &LookupElements<N>) -> String {
    let powers: Vec<String> = e.alpha_powers.iter().map(|p| q(*p)).collect();
    format!(
        "LookupElements {{ z: {}, alpha: {}, alpha_powers: array![{}].span() }}",
        q(e.z),
        q(e.alpha),
        powers.join(", ")
    )
}

/// Random mask values for `components` at `point` (drawn from `samples`, tree by tree, column
/// by column) and what stwo's `eval_composition_polynomial_at_point` gives for them: the mask,
/// the lifted trace's `max_log_degree_bound` and the composition value.
pub(crate) fn sample_composition(
    components: &Components<'_>,
    point: CirclePoint<SecureField>,
    random_coeff: SecureField,
    samples: &mut Samples,
) -> (TreeVec<Vec<Vec<SecureField>>>, u32, SecureField) {
    let max_log_degree_bound = components.composition_log_degree_bound() - COMPOSITION_LOG_SPLIT;
    let points = components.mask_points(point, max_log_degree_bound, false);
    let mut mask: TreeVec<Vec<Vec<SecureField>>> = TreeVec::new(Vec::new());
    for tree in points.iter() {
        mask.push(
            tree.iter()
                .map(|col| col.iter().map(|_| samples.qm31()).collect())
                .collect(),
        );
    }
    let value = components.eval_composition_polynomial_at_point(
        point,
        &mask,
        random_coeff,
        max_log_degree_bound,
    );
    (mask, max_log_degree_bound, value)
}

/// One case: the AIR with `2^log_n_rows` transfer rows, everything else random from `seed`.
fn render_case(out: &mut String, index: usize, log_n_rows: u32, seed: u64) {
    let mut samples = Samples(seed);
    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(seed);
    // The relation types keep their elements private: draw them twice from equal channels.
    let state_elements = LookupElements::<STATE_TUPLE>::draw(&mut channel.clone());
    let state = TokenStateRelation::draw(&mut channel);
    let range_elements = LookupElements::<1>::draw(&mut channel.clone());
    let range = RangeCheckRelation::draw(&mut channel);
    let transfer_sum = samples.qm31();
    let table_sum = samples.qm31();
    let random_coeff = channel.draw_secure_felt();
    let point = CirclePoint::<SecureField>::get_random_point(&mut channel);

    let (transfer, table) = thread_components(log_n_rows, state, range, transfer_sum, table_sum);
    let list: Vec<&dyn Component> = vec![&transfer, &table];
    let components = Components {
        components: list,
        n_preprocessed_columns: N_PREPROCESSED_COLUMNS,
    };
    let (mask, max_log_degree_bound, expected) =
        sample_composition(&components, point, random_coeff, &mut samples);

    let _ = writeln!(
        out,
        "/// {index}: 2^{log_n_rows} transfer rows (max_log_degree_bound {max_log_degree_bound}), seed {seed}."
    );
    let _ = writeln!(out, "pub fn case_{index}() -> AirCase {{");
    let _ = writeln!(out, "    let mut mask: Array<Span<Span<QM31>>> = array![];");
    for tree in mask.iter() {
        let _ = writeln!(out, "    let mut tree: Array<Span<QM31>> = array![];");
        for col in tree {
            let values: Vec<String> = col.iter().map(|v| q(*v)).collect();
            let _ = writeln!(
                out,
                "    tree.append(array![{}].span());",
                values.join(", ")
            );
        }
        let _ = writeln!(out, "    mask.append(tree.span());");
    }
    let _ = writeln!(out, "    AirCase {{");
    let _ = writeln!(
        out,
        "        point: CirclePoint {{ x: {}, y: {} }},",
        q(point.x),
        q(point.y)
    );
    let _ = writeln!(out, "        mask: mask.span(),");
    let _ = writeln!(out, "        random_coeff: {},", q(random_coeff));
    let _ = writeln!(out, "        params: ThreadAirParams {{");
    let _ = writeln!(
        out,
        "            token_state_relation: {},",
        lookup(&state_elements)
    );
    let _ = writeln!(
        out,
        "            range_check_relation: {},",
        lookup(&range_elements)
    );
    let _ = writeln!(
        out,
        "            transfer_claimed_sum: {},",
        q(transfer_sum)
    );
    let _ = writeln!(out, "            transfer_log_size: {log_n_rows},");
    let _ = writeln!(
        out,
        "            range_table_claimed_sum: {},",
        q(table_sum)
    );
    let _ = writeln!(
        out,
        "            range_table_log_size: {},",
        zkthread_prover::air::RANGE_LOG_SIZE
    );
    let _ = writeln!(out, "        }},");
    let _ = writeln!(out, "        max_log_degree_bound: {max_log_degree_bound},");
    let _ = writeln!(out, "        expected: {},", q(expected));
    let _ = writeln!(out, "    }}\n}}\n");
}

/// (log_n_rows, seed) of the committed cases: one below and one above the range table's size
/// (the lifted domain and so the vanishing denominator and mask step change).
pub const CASES: [(u32, u64); 2] = [(3, 0x7a6b_7468_7265_6164), (17, 0x6169_7263_6f64_6567)];

/// The generated Cairo vector file.
pub fn render_vectors() -> String {
    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen`: expected values computed by stwo 2.3's
// Components::eval_composition_polynomial_at_point for the thread AIR. Do not edit.
use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{QM31, QM31Trait};
use crate::lookup::LookupElements;
use crate::generated_air::ThreadAirParams;

fn q(a: u32, b: u32, c: u32, d: u32) -> QM31 {
    QM31Trait::from_u32_unchecked(a, b, c, d)
}

#[derive(Drop, Copy)]
pub struct AirCase {
    pub point: CirclePoint<QM31>,
    pub mask: Span<Span<Span<QM31>>>,
    pub random_coeff: QM31,
    pub params: ThreadAirParams,
    pub max_log_degree_bound: u32,
    pub expected: QM31,
}

",
    );
    for (i, (log_n_rows, seed)) in CASES.iter().enumerate() {
        render_case(&mut out, i, *log_n_rows, *seed);
    }
    out
}
