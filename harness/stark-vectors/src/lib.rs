//! Test vectors that pin the Cairo STARK verifier (`contracts/stark_verifier`) to stwo 2.3.
//!
//! Every value here is computed by stwo itself (fields, circle, Poseidon252 channel, lifted
//! Poseidon252 Merkle tree), then rendered as a Cairo source file. The Cairo tests assert
//! against that file, and `tests/vectors_fresh.rs` fails whenever regenerating it would change
//! it, so the two sides cannot drift apart silently.

use std::fmt::Write as _;
use std::path::PathBuf;

use starknet_ff::FieldElement;
use stwo::core::channel::{Channel, MerkleChannel, Poseidon252Channel};
use stwo::core::circle::{
    CirclePoint, CirclePointIndex, Coset, M31_CIRCLE_GEN, SECURE_FIELD_CIRCLE_GEN,
};
use stwo::core::fields::cm31::CM31;
use stwo::core::fields::m31::{BaseField, M31, P};
use stwo::core::fields::qm31::{SecureField, QM31};
use stwo::core::fields::FieldExpOps;
use stwo::core::fri::{
    fold_circle_into_line, fold_line, CirclePolyDegreeBound, FriConfig, FriLayerProof, FriProof,
    FriVerifier,
};
use stwo::core::pcs::quotients::{fri_answers, PointSample};
use stwo::core::pcs::{CommitmentSchemeVerifier, PcsConfig, TreeVec};
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::poly::line::LineDomain;
use stwo::core::poly::line::LinePoly;
use stwo::core::queries::draw_queries;
use stwo::core::utils::bit_reverse_index;
use stwo::core::vcs::poseidon252_merkle::Poseidon252MerkleHasher as NodeHasher;
use stwo::core::vcs::MerkleHasher;
use stwo::core::vcs_lifted::merkle_hasher::MerkleHasherLifted;
use stwo::core::vcs_lifted::poseidon252_merkle::{
    Poseidon252MerkleChannel, Poseidon252MerkleHasher as LiftedHasher,
};
use stwo::core::vcs_lifted::verifier::MerkleDecommitmentLifted;
use stwo::core::vcs_lifted::verifier::MerkleVerifierLifted;
use stwo::prover::backend::cpu::CpuCirclePoly;
use stwo::prover::backend::CpuBackend;
use stwo::prover::fri::FriProver;
use stwo::prover::pcs::CommitmentSchemeProver;
use stwo::prover::poly::circle::{PolyOps, SecureEvaluation};
use stwo::prover::poly::BitReversedOrder;
use stwo::prover::vcs_lifted::prover::MerkleProverLifted;

/// Where the generated file lives, relative to the workspace root.
pub const VECTORS_RELATIVE_PATH: &str = "contracts/stark_verifier/src/tests/vectors.cairo";

/// Absolute path of the generated Cairo file in this checkout.
pub fn vectors_path() -> PathBuf {
    // Cargo sets CARGO_MANIFEST_DIR when it runs tests and `cargo run`; prefer it to the value
    // baked in at compile time, which a target directory shared by two checkouts of the repo
    // can carry over from the other one (cargo relocates workspace builds without rebuilding).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..")
        .join(VECTORS_RELATIVE_PATH)
}

/// Deterministic sample source (xorshift64*): the vectors must be identical on every run.
/// Shared with `zkthread-air-codegen`, whose AIR vectors use the same generator.
pub struct Samples(pub u64);

impl Samples {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A canonical M31 value (never P itself).
    pub fn m31(&mut self) -> M31 {
        M31::reduce(self.next_u64() >> 1)
    }
    pub fn nonzero_m31(&mut self) -> M31 {
        loop {
            let v = self.m31();
            if v.0 != 0 {
                return v;
            }
        }
    }
    pub fn qm31(&mut self) -> QM31 {
        QM31::from_m31(self.m31(), self.m31(), self.m31(), self.m31())
    }
}

fn felt(f: FieldElement) -> String {
    format!("{f:#x}")
}

fn qm31(q: QM31) -> String {
    let [a, b, c, d] = q.to_m31_array();
    format!("({}, {}, {}, {})", a.0, b.0, c.0, d.0)
}

fn m31_point(p: CirclePoint<M31>) -> String {
    format!("({}, {})", p.x.0, p.y.0)
}

fn qm31_point(p: CirclePoint<QM31>) -> String {
    format!("({}, {})", qm31(p.x), qm31(p.y))
}

/// A FRI layer as the Cairo tuple `(fri_witness, hash_witness, commitment)`.
fn fri_layer(l: &FriLayerProof<LiftedHasher>) -> String {
    format!(
        "({}, {}, {})",
        list(l.fri_witness.clone(), qm31),
        list(l.decommitment.hash_witness.clone(), felt),
        felt(l.commitment)
    )
}

fn list<T>(items: impl IntoIterator<Item = T>, render: impl Fn(T) -> String) -> String {
    let rendered: Vec<String> = items.into_iter().map(render).collect();
    format!("array![{}]", rendered.join(", "))
}

/// Appends `pub fn name() -> ty { body }` to the output.
fn function(out: &mut String, doc: &str, name: &str, ty: &str, body: &str) {
    let _ = writeln!(out, "/// {doc}");
    let _ = writeln!(out, "pub fn {name}() -> {ty} {{\n    {body}\n}}\n");
}

fn field_vectors(out: &mut String, samples: &mut Samples) {
    // Edge values first: 0, 1, P-1 exercise the reductions' boundaries.
    let mut pairs = vec![
        (M31(0), M31(1)),
        (M31(P - 1), M31(P - 1)),
        (M31(1), M31(P - 1)),
        (M31(P - 1), M31(2)),
    ];
    for _ in 0..12 {
        pairs.push((samples.nonzero_m31(), samples.m31()));
    }
    let rows = list(pairs, |(a, b)| {
        let inv = if a.0 == 0 { 0 } else { a.inverse().0 };
        format!(
            "({}, {}, {}, {}, {}, {})",
            a.0,
            b.0,
            (a + b).0,
            (a - b).0,
            (a * b).0,
            inv
        )
    });
    function(
        out,
        "M31 rows (a, b, a + b, a - b, a * b, a^-1 or 0 when a = 0).",
        "m31_samples",
        "Array<(u32, u32, u32, u32, u32, u32)>",
        &rows,
    );

    let mut cm_rows = Vec::new();
    for _ in 0..6 {
        let x = CM31::from_m31(samples.nonzero_m31(), samples.m31());
        let y = CM31::from_m31(samples.m31(), samples.m31());
        cm_rows.push(format!(
            "(({}, {}), ({}, {}), ({}, {}), ({}, {}), ({}, {}))",
            x.0 .0,
            x.1 .0,
            y.0 .0,
            y.1 .0,
            (x + y).0 .0,
            (x + y).1 .0,
            (x * y).0 .0,
            (x * y).1 .0,
            x.inverse().0 .0,
            x.inverse().1 .0
        ));
    }
    function(
        out,
        "CM31 rows (x, y, x + y, x * y, x^-1), each as (real, imaginary).",
        "cm31_samples",
        "Array<((u32, u32), (u32, u32), (u32, u32), (u32, u32), (u32, u32))>",
        &format!("array![{}]", cm_rows.join(", ")),
    );

    let mut q_pairs = vec![
        (
            QM31::from_u32_unchecked(P - 1, P - 1, P - 1, P - 1),
            QM31::from_u32_unchecked(P - 1, P - 1, P - 1, P - 1),
        ),
        (
            QM31::from_u32_unchecked(0, 0, 1, 0),
            QM31::from_u32_unchecked(0, 0, 1, 0),
        ),
    ];
    for _ in 0..10 {
        q_pairs.push((samples.qm31(), samples.qm31()));
    }
    let q_rows = list(q_pairs, |(x, y)| {
        format!(
            "({}, {}, {}, {}, {}, {})",
            qm31(x),
            qm31(y),
            qm31(x + y),
            qm31(x - y),
            qm31(x * y),
            qm31(x.inverse())
        )
    });
    const QT: &str = "(u32, u32, u32, u32)";
    function(
        out,
        "QM31 rows (x, y, x + y, x - y, x * y, x^-1); QM31 = CM31[u] / (u^2 - 2 - i).",
        "qm31_samples",
        &format!("Array<({QT}, {QT}, {QT}, {QT}, {QT}, {QT})>"),
        &q_rows,
    );
}

fn circle_vectors(out: &mut String, samples: &mut Samples) {
    function(
        out,
        "M31_CIRCLE_GEN as (x, y).",
        "m31_circle_gen",
        "(u32, u32)",
        &m31_point(M31_CIRCLE_GEN),
    );
    let logs = [0u32, 1, 2, 3, 5, 10, 20, 31];
    function(
        out,
        "(log_size, CirclePointIndex::subgroup_gen(log_size).to_point()).",
        "subgroup_generators",
        "Array<(u32, (u32, u32))>",
        &list(logs, |log| {
            format!(
                "({log}, {})",
                m31_point(CirclePointIndex::subgroup_gen(log).to_point())
            )
        }),
    );
    let mut index_rows = Vec::new();
    for _ in 0..6 {
        let a = (samples.next_u64() as usize) & ((1 << 31) - 1);
        let b = (samples.next_u64() as usize) & ((1 << 31) - 1);
        let (ia, ib) = (CirclePointIndex(a), CirclePointIndex(b));
        index_rows.push(format!(
            "({a}, {b}, {}, {}, {}, {}, {})",
            (ia + ib).0,
            (ia - ib).0,
            (-ia).0,
            m31_point(ia.to_point()),
            m31_point(ia.to_point() + ib.to_point())
        ));
    }
    function(
        out,
        "CirclePointIndex rows (a, b, a + b, a - b, -a, a.to_point(), a.to_point() + b.to_point()).",
        "circle_index_samples",
        "Array<(u32, u32, u32, u32, u32, (u32, u32), (u32, u32))>",
        &format!("array![{}]", index_rows.join(", ")),
    );
    let cosets = [(0u32, 3u32, 5usize), (1, 4, 3), (2, 5, 17), (3, 10, 1000)];
    function(
        out,
        "Coset rows (kind: 0 subgroup / 1 odds / 2 half_odds / 3 odds.conjugate(), log_size, i, initial_index, step_size, at(i), double().at(i / 2)).",
        "coset_samples",
        "Array<(u32, u32, u32, u32, u32, (u32, u32), (u32, u32))>",
        &list(cosets, |(kind, log, i)| {
            let coset = match kind {
                0 => Coset::subgroup(log),
                1 => Coset::odds(log),
                2 => Coset::half_odds(log),
                _ => Coset::odds(log).conjugate(),
            };
            format!(
                "({kind}, {log}, {i}, {}, {}, {}, {})",
                coset.initial_index.0,
                coset.step_size.0,
                m31_point(coset.at(i)),
                m31_point(coset.double().at(i / 2))
            )
        }),
    );
    function(
        out,
        "SECURE_FIELD_CIRCLE_GEN, its double, and its multiple by 123456789.",
        "secure_circle_samples",
        "Array<((u32, u32, u32, u32), (u32, u32, u32, u32))>",
        &list(
            [
                SECURE_FIELD_CIRCLE_GEN,
                SECURE_FIELD_CIRCLE_GEN.double(),
                SECURE_FIELD_CIRCLE_GEN.mul(123456789),
            ],
            qm31_point,
        ),
    );
}

fn channel_vectors(out: &mut String, samples: &mut Samples) {
    let mut channel = Poseidon252Channel::default();
    let mut digests = Vec::new();

    channel.mix_u64(0x1111_2222_3333_4444);
    digests.push(channel.digest());
    // Lengths 9 (padded), 7 (exact), 1 and 0 cover every branch of the u32 packing.
    channel.mix_u32s(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    digests.push(channel.digest());
    channel.mix_u32s(&[0xffff_ffff, 2, 3, 4, 5, 6, 0x8000_0000]);
    digests.push(channel.digest());
    channel.mix_u32s(&[5]);
    digests.push(channel.digest());
    channel.mix_u32s(&[]);
    digests.push(channel.digest());
    let mixed: Vec<SecureField> = (0..3).map(|_| samples.qm31()).collect();
    channel.mix_felts(&mixed);
    digests.push(channel.digest());
    let mixed_even: Vec<SecureField> = (0..2).map(|_| samples.qm31()).collect();
    channel.mix_felts(&mixed_even);
    digests.push(channel.digest());

    function(
        out,
        "The QM31s mixed by `mix_felts` (3, then 2) in the channel script.",
        "channel_mixed_felts",
        "(Array<(u32, u32, u32, u32)>, Array<(u32, u32, u32, u32)>)",
        &format!("({}, {})", list(mixed, qm31), list(mixed_even, qm31)),
    );
    function(
        out,
        "Channel digests after: mix_u64(0x1111222233334444), mix_u32s([1..9]), mix_u32s([0xffffffff, 2, 3, 4, 5, 6, 0x80000000]), mix_u32s([5]), mix_u32s([]), mix_felts(3), mix_felts(2).",
        "channel_mix_digests",
        "Array<felt252>",
        &list(digests, felt),
    );

    // Draws: secure felt, 3 secure felts (spans two felt252 draws), 7 words, queries.
    let first = channel.draw_secure_felt();
    let batch = channel.draw_secure_felts(3);
    let words = channel.draw_u32s();
    let queries = draw_queries(&mut channel, 18, 10);
    function(
        out,
        "Then draw_secure_felt(), draw_secure_felts(3), draw_u32s(), draw_queries(log 18, n 10).",
        "channel_draws",
        "((u32, u32, u32, u32), Array<(u32, u32, u32, u32)>, Array<u32>, Array<u32>)",
        &format!(
            "({}, {}, {}, {})",
            qm31(first),
            list(batch, qm31),
            list(words, |w| w.to_string()),
            list(queries, |q| q.to_string())
        ),
    );

    // A Merkle root mixed the way the PCS does it, then an OODS-style random point.
    let root = FieldElement::from(samples.next_u64()) * FieldElement::from(samples.next_u64());
    Poseidon252MerkleChannel::mix_root(&mut channel, root);
    let after_root = channel.digest();
    let point = CirclePoint::<SecureField>::get_random_point(&mut channel);
    function(
        out,
        "Then mix_root(root): (root, digest after), then CirclePoint::get_random_point.",
        "channel_root_and_point",
        "(felt252, felt252, ((u32, u32, u32, u32), (u32, u32, u32, u32)))",
        &format!(
            "({}, {}, {})",
            felt(root),
            felt(after_root),
            qm31_point(point)
        ),
    );

    // Proof of work on the resulting digest: the smallest nonce with 8 trailing zero bits, and
    // the results for every nonce below it (all must be rejected).
    let pow_bits = 8;
    let nonce = (0u64..)
        .find(|n| channel.verify_pow_nonce(pow_bits, *n))
        .unwrap_or_default();
    let below = (0..nonce.min(8))
        .map(|n| channel.verify_pow_nonce(pow_bits, n))
        .collect::<Vec<_>>();
    assert!(below.iter().all(|ok| !ok));
    let also_4 = channel.verify_pow_nonce(4, nonce);
    channel.mix_u64(nonce);
    function(
        out,
        "Then PoW with 8 bits: (smallest valid nonce, valid with 4 bits too, digest after mix_u64(nonce)).",
        "channel_pow",
        "(u64, bool, felt252)",
        &format!("({nonce}, {also_4}, {})", felt(channel.digest())),
    );
}

fn merkle_vectors(out: &mut String, samples: &mut Samples) {
    // Legacy node hasher (stwo's `vcs::poseidon252_merkle`).
    let mut node_rows = Vec::new();
    for (with_children, n_values) in [
        (false, 2usize),
        (true, 1),
        (true, 0),
        (false, 8),
        (true, 17),
    ] {
        let values: Vec<BaseField> = (0..n_values).map(|_| samples.m31()).collect();
        let children = with_children.then(|| {
            (
                FieldElement::from(samples.next_u64()),
                FieldElement::from(samples.next_u64()),
            )
        });
        let hash = NodeHasher::hash_node(children, &values);
        let (has, l, r) = match children {
            Some((l, r)) => ("true", felt(l), felt(r)),
            None => ("false", "0".to_string(), "0".to_string()),
        };
        node_rows.push(format!(
            "({has}, {l}, {r}, {}, {})",
            list(values, |v| v.0.to_string()),
            felt(hash)
        ));
    }
    function(
        out,
        "vcs::Poseidon252MerkleHasher::hash_node rows (has_children, left, right, values, hash).",
        "merkle_node_samples",
        "Array<(bool, felt252, felt252, Array<u32>, felt252)>",
        &format!("array![{}]", node_rows.join(", ")),
    );

    // Lifted Merkle tree (what stwo 2.3's PCS commits to), columns of mixed sizes.
    let log_sizes = [3u32, 5, 4, 5, 3, 2, 5, 4, 1, 5];
    let columns: Vec<Vec<BaseField>> = log_sizes
        .iter()
        .map(|log| (0..1usize << log).map(|_| samples.m31()).collect())
        .collect();
    let max_log = 5;
    let prover = MerkleProverLifted::<CpuBackend, LiftedHasher>::commit(
        columns.iter().collect(),
        max_log,
        0,
    );
    let queries = [1usize, 5, 5, 6, 7, 17, 30];
    let (values, decommitment) = prover.decommit(&queries, columns.iter().collect());
    let witness = decommitment.decommitment.hash_witness.clone();
    MerkleVerifierLifted::<LiftedHasher>::new(prover.root(), log_sizes.to_vec(), None)
        .verify(&queries, values.clone(), decommitment.decommitment)
        .unwrap_or_else(|e| panic!("stwo rejects its own decommitment: {e}"));
    function(
        out,
        "Lifted Merkle decommitment: (root, column log sizes, queries, queried values per column, hash witness).",
        "merkle_lifted_decommitment",
        "(felt252, Array<u32>, Array<u32>, Array<Array<u32>>, Array<felt252>)",
        &format!(
            "({}, {}, {}, {}, {})",
            felt(prover.root()),
            list(log_sizes, |l| l.to_string()),
            list(queries, |q| q.to_string()),
            list(values, |col| list(col, |v| v.0.to_string())),
            list(witness, felt)
        ),
    );

    // The lifted leaf hash of a row of 19 values (one full 16-element buffer plus a remainder).
    let row: Vec<BaseField> = (0..19).map(|_| samples.m31()).collect();
    let mut hasher = <LiftedHasher as Default>::default();
    hasher.update_leaf(&row[..5]);
    hasher.update_leaf(&row[5..]);
    function(
        out,
        "Lifted leaf hash of 19 values (given to the hasher as 5 + 14): (values, hash).",
        "merkle_lifted_leaf",
        "(Array<u32>, felt252)",
        &format!(
            "({}, {})",
            list(row, |v| v.0.to_string()),
            felt(hasher.finalize())
        ),
    );
}

fn domain_and_fri_vectors(out: &mut String, samples: &mut Samples) {
    let reversals = [
        (0usize, 0u32),
        (1, 1),
        (1, 5),
        (6, 3),
        (0x5a5a5, 20),
        (12345, 31),
    ];
    function(
        out,
        "bit_reverse_index rows (i, log_size, result).",
        "bit_reverse_samples",
        "Array<(u32, u32, u32)>",
        &list(reversals, |(i, log)| {
            format!("({i}, {log}, {})", bit_reverse_index(i, log))
        }),
    );
    let domain = CanonicCoset::new(5).circle_domain();
    function(
        out,
        "CanonicCoset::new(5).circle_domain().at(i) rows (i, point).",
        "canonic_domain_points",
        "Array<(u32, (u32, u32))>",
        &list([0usize, 1, 7, 15, 16, 17, 31], |i| {
            format!("({i}, {})", m31_point(domain.at(i)))
        }),
    );
    let line = LineDomain::new(stwo::core::circle::Coset::half_odds(4));
    function(
        out,
        "LineDomain::new(Coset::half_odds(4)) rows (i, at(i), double().at(i / 2)).",
        "line_domain_points",
        "Array<(u32, u32, u32)>",
        &list([0usize, 1, 5, 15], |i| {
            format!("({i}, {}, {})", line.at(i).0, line.double().at(i / 2).0)
        }),
    );

    let line_eval: Vec<SecureField> = (0..8).map(|_| samples.qm31()).collect();
    let line_alpha = samples.qm31();
    let (_, folded_line) = fold_line(
        &line_eval,
        LineDomain::new(stwo::core::circle::Coset::half_odds(3)),
        line_alpha,
    );
    function(
        out,
        "fold_line on LineDomain::new(Coset::half_odds(3)): (eval, alpha, folded).",
        "fold_line_sample",
        "(Array<(u32, u32, u32, u32)>, (u32, u32, u32, u32), Array<(u32, u32, u32, u32)>)",
        &format!(
            "({}, {}, {})",
            list(line_eval, qm31),
            qm31(line_alpha),
            list(folded_line, qm31)
        ),
    );

    let circle_eval: Vec<SecureField> = (0..16).map(|_| samples.qm31()).collect();
    let circle_alpha = samples.qm31();
    let folded_circle = fold_circle_into_line(
        &circle_eval,
        CanonicCoset::new(4).circle_domain(),
        circle_alpha,
    );
    function(
        out,
        "fold_circle_into_line on CanonicCoset::new(4).circle_domain(): (eval, alpha, folded).",
        "fold_circle_sample",
        "(Array<(u32, u32, u32, u32)>, (u32, u32, u32, u32), Array<(u32, u32, u32, u32)>)",
        &format!(
            "({}, {}, {})",
            list(circle_eval, qm31),
            qm31(circle_alpha),
            list(folded_circle, qm31)
        ),
    );
}

/// FRI commit phase: roots mixed, alphas drawn, last layer mixed, then query positions.
fn fri_commit_vectors(out: &mut String, samples: &mut Samples) {
    let poly_coeffs: Vec<SecureField> = (0..4).map(|_| samples.qm31()).collect();
    let x = samples.qm31();
    function(
        out,
        "LinePoly::new(coeffs).eval_at_point(x): (coeffs, x, value).",
        "line_poly_sample",
        "(Array<(u32, u32, u32, u32)>, (u32, u32, u32, u32), (u32, u32, u32, u32))",
        &format!(
            "({}, {}, {})",
            list(poly_coeffs.clone(), qm31),
            qm31(x),
            qm31(LinePoly::new(poly_coeffs).eval_at_point(x))
        ),
    );

    // (log_last_layer_degree_bound, log_blowup, n_queries, fold_step, column log degree bound,
    //  number of inner layers)
    let cases = [
        (1u32, 2u32, 10usize, 1u32, 6u32, 4usize),
        (0, 1, 12, 3, 10, 3),
    ];
    let mut rows = Vec::new();
    for (log_last, log_blowup, n_queries, fold_step, bound, n_inner) in cases {
        let config = FriConfig::new(log_last, log_blowup, n_queries, fold_step);
        let layer = |samples: &mut Samples| FriLayerProof::<LiftedHasher> {
            fri_witness: vec![],
            decommitment: MerkleDecommitmentLifted::empty(),
            commitment: FieldElement::from(samples.next_u64()),
        };
        let first_layer = layer(samples);
        let inner_layers: Vec<_> = (0..n_inner).map(|_| layer(samples)).collect();
        let last_layer: Vec<SecureField> =
            (0..1usize << log_last).map(|_| samples.qm31()).collect();
        let roots: Vec<FieldElement> = std::iter::once(first_layer.commitment)
            .chain(inner_layers.iter().map(|l| l.commitment))
            .collect();

        // Alphas: each is the first draw after mixing that layer's root.
        let mut start = Poseidon252Channel::default();
        start.mix_u64(0xabcdef);
        let mut replay = start.clone();
        let mut alphas = Vec::new();
        for root in &roots {
            Poseidon252MerkleChannel::mix_root(&mut replay, *root);
            alphas.push(replay.clone().draw_secure_felt());
        }

        let mut channel = start.clone();
        let proof = FriProof {
            first_layer,
            inner_layers,
            last_layer_poly: LinePoly::new(last_layer.clone()),
        };
        let mut verifier = FriVerifier::<Poseidon252MerkleChannel>::commit(
            &mut channel,
            config,
            proof,
            CirclePolyDegreeBound::new(bound),
        )
        .unwrap_or_else(|e| panic!("stwo rejects the FRI commitment: {e}"));
        let digest = channel.digest();
        let positions = verifier.sample_query_positions(&mut channel);
        rows.push(format!(
            "(({log_last}, {log_blowup}, {n_queries}, {fold_step}), {bound}, {}, {}, {}, {}, {})",
            list(roots, felt),
            list(last_layer, qm31),
            list(alphas, qm31),
            felt(digest),
            list(positions, |p| p.to_string())
        ));
    }
    function(
        out,
        "FRI commit rows ((log_last_layer_degree_bound, log_blowup_factor, n_queries, fold_step), column log degree bound, roots [first, inner...], last layer coeffs, alphas, digest after commit, sorted query positions); the channel starts as default + mix_u64(0xabcdef).",
        "fri_commit_samples",
        "Array<((u32, u32, u32, u32), u32, Array<felt252>, Array<(u32, u32, u32, u32)>, Array<(u32, u32, u32, u32)>, felt252, Array<u32>)>",
        &format!("array![{}]", rows.join(", ")),
    );
}

/// Complete FRI proofs by stwo's prover for random low-degree polynomials, checked by stwo's
/// verifier before they are written.
fn fri_proof_vectors(out: &mut String, samples: &mut Samples) {
    // (log_degree, log_blowup, log_last_layer_degree_bound, n_queries, fold_step)
    let cases = [(5u32, 2u32, 1u32, 6usize, 1u32), (6, 1, 0, 5, 3)];
    let mut rows = Vec::new();
    for (log_degree, log_blowup, log_last, n_queries, fold_step) in cases {
        let coeffs: Vec<BaseField> = (0..1usize << log_degree).map(|_| samples.m31()).collect();
        let poly = CpuCirclePoly::new(coeffs);
        let domain = CanonicCoset::new(log_degree + log_blowup).circle_domain();
        let values = poly.evaluate(domain);
        let column = SecureEvaluation::<CpuBackend, BitReversedOrder>::new(
            domain,
            values.into_iter().map(SecureField::from).collect(),
        );
        let twiddles = CpuBackend::precompute_twiddles(domain.half_coset);
        let config = FriConfig::new(log_last, log_blowup, n_queries, fold_step);
        let start = || {
            let mut channel = Poseidon252Channel::default();
            channel.mix_u64(0xfeed);
            channel
        };

        let mut channel = start();
        let prover = FriProver::<CpuBackend, Poseidon252MerkleChannel>::commit(
            &mut channel,
            config,
            &column,
            &twiddles,
        );
        let result = prover.decommit(&mut channel);
        let proof = result.fri_proof.proof;
        let positions = result.query_positions;
        let evals: Vec<SecureField> = positions.iter().map(|p| column.at(*p)).collect();

        let mut check = start();
        let mut verifier = FriVerifier::<Poseidon252MerkleChannel>::commit(
            &mut check,
            config,
            proof.clone(),
            CirclePolyDegreeBound::new(log_degree),
        )
        .unwrap_or_else(|e| panic!("stwo rejects its FRI commitment: {e}"));
        assert_eq!(verifier.sample_query_positions(&mut check), positions);
        verifier
            .decommit(evals.clone())
            .unwrap_or_else(|e| panic!("stwo rejects its FRI proof: {e}"));

        rows.push(format!(
            "(({log_last}, {log_blowup}, {n_queries}, {fold_step}), {log_degree}, {}, {}, {}, array![{}], {})",
            list(positions, |p| p.to_string()),
            list(evals, qm31),
            fri_layer(&proof.first_layer),
            proof.inner_layers.iter().map(fri_layer).collect::<Vec<_>>().join(", "),
            list(proof.last_layer_poly.to_vec(), qm31)
        ));
    }
    const Q: &str = "(u32, u32, u32, u32)";
    function(
        out,
        "FRI proofs ((log_last_layer_degree_bound, log_blowup_factor, n_queries, fold_step), log_degree_bound, query positions, first layer evaluations at them, first layer (fri_witness, hash_witness, root), inner layers, last layer coefficients); the channel starts as default + mix_u64(0xfeed).",
        "fri_proof_samples",
        &format!(
            "Array<((u32, u32, u32, u32), u32, Array<u32>, Array<{Q}>, (Array<{Q}>, Array<felt252>, felt252), Array<(Array<{Q}>, Array<felt252>, felt252)>, Array<{Q}>)>"
        ),
        &format!("array![{}]", rows.join(", ")),
    );
}

/// PCS quotient answers (`fri_answers`) on synthetic samples and queried values: two trees,
/// mixed column sizes, one column sampled at two points (the periodicity case), one unsampled.
fn pcs_answer_vectors(out: &mut String, samples: &mut Samples) {
    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(samples.next_u64());
    let oods = CirclePoint::<SecureField>::get_random_point(&mut channel);
    let previous = CirclePoint::<SecureField>::get_random_point(&mut channel);
    let lifting_log_size = 6u32;
    let log_sizes = vec![vec![5u32, 6], vec![6, 6, 4, 6]];
    // Number of sample points per column (0, 1 or 2 = [previous, oods]).
    let sample_counts = vec![vec![1usize, 2], vec![1, 1, 0, 2]];
    let mut point_samples: Vec<Vec<Vec<PointSample>>> = Vec::new();
    for tree in &sample_counts {
        let mut tree_samples = Vec::new();
        for &count in tree {
            let points = match count {
                0 => vec![],
                1 => vec![oods],
                _ => vec![previous, oods],
            };
            tree_samples.push(
                points
                    .into_iter()
                    .map(|point| PointSample {
                        point,
                        value: samples.qm31(),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        point_samples.push(tree_samples);
    }
    let random_coeff = samples.qm31();
    let queries = vec![3usize, 17, 40, 63];
    let queried: Vec<Vec<Vec<BaseField>>> = log_sizes
        .iter()
        .map(|tree| {
            tree.iter()
                .map(|_| queries.iter().map(|_| samples.m31()).collect())
                .collect()
        })
        .collect();
    let answers = fri_answers(
        TreeVec(log_sizes.clone()),
        TreeVec(point_samples.clone()),
        random_coeff,
        &queries,
        TreeVec(queried.clone()),
        lifting_log_size,
    )
    .unwrap_or_else(|e| panic!("fri_answers failed: {e}"));

    let flat_sizes: Vec<u32> = log_sizes.into_iter().flatten().collect();
    let flat_samples: Vec<Vec<PointSample>> = point_samples.into_iter().flatten().collect();
    let flat_values: Vec<Vec<BaseField>> = queried.into_iter().flatten().collect();
    function(
        out,
        "fri_answers: (lifting log size, column log sizes (trees flattened), per column samples (point, value), random coeff, queries, queried values per column, answers).",
        "pcs_answers_sample",
        "(u32, Array<u32>, Array<Array<(((u32, u32, u32, u32), (u32, u32, u32, u32)), (u32, u32, u32, u32))>>, (u32, u32, u32, u32), Array<u32>, Array<Array<u32>>, Array<(u32, u32, u32, u32)>)",
        &format!(
            "({lifting_log_size}, {}, {}, {}, {}, {}, {})",
            list(flat_sizes, |l| l.to_string()),
            list(flat_samples, |col| list(col, |s| format!(
                "({}, {})",
                qm31_point(s.point),
                qm31(s.value)
            ))),
            qm31(random_coeff),
            list(queries, |q| q.to_string()),
            list(flat_values, |col| list(col, |v| v.0.to_string())),
            list(answers, qm31)
        ),
    );
}

/// A complete PCS proof (two trees, one OODS point) by stwo's CommitmentSchemeProver, checked
/// by stwo's CommitmentSchemeVerifier before it is written.
fn pcs_proof_vectors(out: &mut String, samples: &mut Samples) {
    let config = PcsConfig {
        pow_bits: 3,
        fri_config: FriConfig::new(0, 1, 4, 1),
        lifting_log_size: None,
    };
    let tree_log_sizes = vec![vec![5u32], vec![5u32, 5, 3]];
    let max_log = 5 + config.fri_config.log_blowup_factor;
    let twiddles =
        CpuBackend::precompute_twiddles(CanonicCoset::new(max_log).circle_domain().half_coset);
    let start = || {
        let mut channel = Poseidon252Channel::default();
        channel.mix_u64(0xbeef);
        channel
    };
    let mut channel = start();
    let mut scheme =
        CommitmentSchemeProver::<CpuBackend, Poseidon252MerkleChannel>::new(config, &twiddles);
    for tree in &tree_log_sizes {
        let mut builder = scheme.tree_builder();
        builder
            .extend_polys(tree.iter().map(|log| {
                CpuCirclePoly::new((0..1usize << log).map(|_| samples.m31()).collect())
            }));
        builder.commit(&mut channel);
    }
    let oods = CirclePoint::<SecureField>::get_random_point(&mut channel);
    let sampled_points = TreeVec(
        tree_log_sizes
            .iter()
            .map(|tree| tree.iter().map(|_| vec![oods]).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    );
    let proof = scheme
        .prove_values(sampled_points.clone(), &mut channel)
        .proof;

    let mut check = start();
    let mut verifier = CommitmentSchemeVerifier::<Poseidon252MerkleChannel>::new(config);
    for (root, tree) in proof.commitments.iter().zip(&tree_log_sizes) {
        verifier.commit(*root, tree, &mut check);
    }
    assert_eq!(
        CirclePoint::<SecureField>::get_random_point(&mut check),
        oods
    );
    verifier
        .verify_values(sampled_points, proof.clone(), &mut check)
        .unwrap_or_else(|e| panic!("stwo rejects its PCS proof: {e}"));

    let fri = &proof.fri_proof;
    let trees = tree_log_sizes
        .iter()
        .enumerate()
        .map(|(t, sizes)| {
            format!(
                "({}, {}, {}, {}, {})",
                felt(proof.commitments[t]),
                list(sizes.clone(), |l| l.to_string()),
                list(proof.sampled_values[t].clone(), |col| list(col, qm31)),
                list(proof.decommitments[t].hash_witness.clone(), felt),
                list(proof.queried_values[t].clone(), |col| list(col, |v| v
                    .0
                    .to_string()))
            )
        })
        .collect::<Vec<_>>();
    const Q: &str = "(u32, u32, u32, u32)";
    function(
        out,
        "PCS proof: ((pow_bits, log_blowup, log_last_layer, n_queries, fold_step), oods point, trees (root, log sizes, sampled values per column, hash witness, queried values per column), pow nonce, FRI first layer, FRI inner layers, last layer); channel = default + mix_u64(0xbeef), then the roots, then the OODS point draw.",
        "pcs_proof_sample",
        &format!(
            "((u32, u32, u32, u32, u32), ({Q}, {Q}), Array<(felt252, Array<u32>, Array<Array<{Q}>>, Array<felt252>, Array<Array<u32>>)>, u64, (Array<{Q}>, Array<felt252>, felt252), Array<(Array<{Q}>, Array<felt252>, felt252)>, Array<{Q}>)"
        ),
        &format!(
            "(({}, {}, {}, {}, {}), {}, array![{}], {}, {}, array![{}], {})",
            config.pow_bits,
            config.fri_config.log_blowup_factor,
            config.fri_config.log_last_layer_degree_bound,
            config.fri_config.n_queries,
            config.fri_config.fold_step,
            qm31_point(oods),
            trees.join(", "),
            proof.proof_of_work,
            fri_layer(&fri.first_layer),
            fri.inner_layers.iter().map(fri_layer).collect::<Vec<_>>().join(", "),
            list(fri.last_layer_poly.to_vec(), qm31)
        ),
    );
}

/// `SecureField::from_partial_evals` and the split composition value stwo's verifier derives
/// from the last tree's 8 sampled values (left + x(2^(b-1) oods) * right, as in
/// `StarkProof::extract_composition_oods_eval`, which is crate-private: recomputed here from
/// the same public pieces).
fn composition_vectors(out: &mut String, samples: &mut Samples) {
    let evals: Vec<SecureField> = (0..8).map(|_| samples.qm31()).collect();
    let left = QM31::from_partial_evals(evals[..4].try_into().unwrap_or_else(|_| unreachable!()));
    let right = QM31::from_partial_evals(evals[4..].try_into().unwrap_or_else(|_| unreachable!()));
    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(samples.next_u64());
    let oods = CirclePoint::<SecureField>::get_random_point(&mut channel);
    let max_log_degree_bound = 9u32;
    let value = left + oods.repeated_double(max_log_degree_bound - 1).x * right;
    function(
        out,
        "Composition: (8 sampled coordinate evals, from_partial_evals(first 4), oods point, max_log_degree_bound, composition value).",
        "composition_sample",
        "(Array<(u32, u32, u32, u32)>, (u32, u32, u32, u32), ((u32, u32, u32, u32), (u32, u32, u32, u32)), u32, (u32, u32, u32, u32))",
        &format!(
            "({}, {}, {}, {max_log_degree_bound}, {})",
            list(evals, qm31),
            qm31(left),
            qm31_point(oods),
            qm31(value)
        ),
    );
}

/// Renders the whole generated Cairo file.
pub fn render_vectors() -> String {
    let mut out = String::new();
    out.push_str(
        "// @generated by harness/stark-vectors from stwo 2.3 — do not edit.\n\
         // Regenerate: cargo run -p zkthread-stark-vectors\n\
         // Checked: cargo test -p zkthread-stark-vectors (fails if this file is stale).\n\n",
    );
    let mut samples = Samples(0x5eed_2a7e_c0de_0001);
    field_vectors(&mut out, &mut samples);
    circle_vectors(&mut out, &mut samples);
    channel_vectors(&mut out, &mut samples);
    merkle_vectors(&mut out, &mut samples);
    domain_and_fri_vectors(&mut out, &mut samples);
    fri_commit_vectors(&mut out, &mut samples);
    fri_proof_vectors(&mut out, &mut samples);
    pcs_answer_vectors(&mut out, &mut samples);
    pcs_proof_vectors(&mut out, &mut samples);
    composition_vectors(&mut out, &mut samples);
    out
}
