//! The signed-transfer AIR's constraint evaluation at the OODS point, for the Cairo library
//! `contracts/programs/token/signed_air` (the program-specific half of the future signed verifier).
//!
//! Seven components, in proof order (`zkthread_token::prover::components`): the five
//! roles (`signed_transfer`, `chain_step`, `digest_sponge`, `key_sponge`, `tx_list`),
//! `poseidon2` and the 8-bit `range_table`. Generated here, never typed by hand:
//! - the roles and the range table as constraint programs (the `cairo::op` format, from stwo's
//!   `ExprEvaluator`), compiled to straight-line Cairo ([`crate::straight`]); where the
//!   compiled programs do not fit one class, the fold is split over two classes inside the
//!   first component ([`AirSpec::split`]: the order book's fill);
//! - for Poseidon2, not a program: its 285 constraints expanded into ~780 derived coefficients
//!   would not fit a class. `program_air::poseidon2` (hand-written) evaluates them with loops over
//!   the rounds, reading the tables generated here from `zkthread_prover::poseidon2::constants`
//!   (p3's round constants, `M4`, the internal diagonal) and the component's column layout
//!   (checked regular here, so the Cairo loops address exactly the Rust AIR's columns);
//! - the proof's mask shape and column log sizes, and the composition over all seven components.
//!
//! Equality with stwo is shown by the Cairo tests at random points (`signed_vectors`), per
//! component and for the whole composition.

use std::collections::BTreeMap;
use std::fmt::Write;

use zkthread_prover::poseidon2::air as p2;
use zkthread_prover::poseidon2::constants::{CONSTANTS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use zkthread_prover::program::{self, ThreadProgram};
use zkthread_token::prover::{SignedTokenProgram, N_COMPONENTS};
use zkthread_token::role::{Relations, LINK_RELATION_SIZE, STATE_RELATION_SIZE};

use crate::cairo::{self, component_program, snake};
use crate::symbolic::SymbolicComponent;
use crate::CodegenError;

/// The generated evaluation (programs, shape, composition), relative to the workspace root.
pub const SIGNED_AIR_RELATIVE_PATH: &str = "contracts/programs/token/signed_air/src/generated_air.cairo";
/// The generated Poseidon2 tables, relative to the workspace root.
pub const SIGNED_POSEIDON2_RELATIVE_PATH: &str =
    "contracts/program_air/src/generated_poseidon2.cairo";
/// The generated test vectors, relative to the workspace root.
pub const SIGNED_VECTORS_RELATIVE_PATH: &str =
    "contracts/programs/token/signed_air/src/tests/signed_vectors.cairo";

/// Preprocessed columns of a signed proof (the 8-bit range table).
pub const N_PREPROCESSED_COLUMNS: usize = 1;

/// Component names, in proof order (Cairo identifiers derive from them).
pub const COMPONENT_NAMES: [&str; N_COMPONENTS] = [
    "signed_transfer",
    "chain_step",
    "digest_sponge",
    "key_sponge",
    "tx_list",
    "poseidon2",
    "range_table",
];
/// Index of the Poseidon2 component in [`COMPONENT_NAMES`].
pub const POSEIDON2_INDEX: usize = 5;

/// How many relations, first in draw order (state and link), the verifier draws with their
/// alpha powers (it combines the statement's values under them) and hands on to the AIR
/// classes in the call's header, where the others travel as `(z, alpha)` only.
pub const RELATIONS_WITH_POWERS: usize = 2;

/// The relations in draw order (`Relations::draw`): evaluator name and size.
pub fn relation_order() -> [(&'static str, usize); 4] {
    [
        ("StateRelation", STATE_RELATION_SIZE),
        ("LinkRelation", LINK_RELATION_SIZE),
        ("Poseidon2Relation", p2::RELATION_SIZE),
        ("RangeCheckRelation", 1),
    ]
}

pub fn signed_air_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_AIR_RELATIVE_PATH)
}

pub fn signed_poseidon2_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_POSEIDON2_RELATIVE_PATH)
}

pub fn signed_vectors_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_VECTORS_RELATIVE_PATH)
}

/// Symbolic forms of every component of a proof of `P`, in the driver's proof order (its
/// roles, the authorization roles, `poseidon2`, `range_table`), from the program's own
/// description (`zkthread_prover::program::symbolic_components`).
pub fn symbolic_program_components<P: ThreadProgram>() -> Result<Vec<SymbolicComponent>, CodegenError> {
    // The expressions do not depend on the sizes or the relations' values.
    let parts = program::symbolic_components::<P>(&Relations::dummy());
    Ok(parts.iter().map(SymbolicComponent::from_parts).collect::<Result<_, _>>()?)
}

/// [`symbolic_program_components`] of `P`, checked to be the components `names` in proof order
/// (the generated params struct and vector files name them so).
pub fn symbolic_program_components_named<P: ThreadProgram>(
    names: &[&str],
) -> Result<Vec<SymbolicComponent>, CodegenError> {
    let comps = symbolic_program_components::<P>()?;
    let found: Vec<&str> = comps.iter().map(|c| c.name.as_str()).collect();
    if found != names {
        return Err(CodegenError::Layout(format!("components {found:?}, expected {names:?}")));
    }
    Ok(comps)
}

/// Symbolic forms of the seven components, in proof order (checked to be [`COMPONENT_NAMES`]).
pub fn symbolic_signed_components() -> Result<Vec<SymbolicComponent>, CodegenError> {
    symbolic_program_components_named::<SignedTokenProgram>(&COMPONENT_NAMES)
}

/// Flat index (trees, columns, values in proof order) of each column's first sampled value.
pub fn mask_starts(shape: &[Vec<usize>]) -> Vec<Vec<u32>> {
    let mut next = 0u32;
    shape
        .iter()
        .map(|tree| {
            tree.iter()
                .map(|n| {
                    let start = next;
                    next += *n as u32;
                    start
                })
                .collect()
        })
        .collect()
}

/// The mask shape as runs: per tree `[n_runs, (columns, values per column) * n_runs]`.
pub fn shape_runs(shape: &[Vec<usize>]) -> Vec<u32> {
    let mut out = Vec::new();
    for tree in shape {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for n in tree {
            match runs.last_mut() {
                Some((count, values)) if *values == *n as u32 => *count += 1,
                _ => runs.push((1, *n as u32)),
            }
        }
        out.push(runs.len() as u32);
        for (count, values) in runs {
            out.extend([count, values]);
        }
    }
    out
}

/// Where the Poseidon2 component's values are in the flattened mask, checked to be what
/// `program_air::poseidon2` reads: its main columns, one value each, contiguous; its
/// interaction columns (one QM31 cumulative sum = 4 columns at offsets -1 and 0), contiguous.
pub struct Poseidon2Mask {
    pub main_start: u32,
    pub interaction_start: u32,
}

fn poseidon2_mask(
    c: &SymbolicComponent,
    starts: &[Vec<u32>],
) -> Result<Poseidon2Mask, CodegenError> {
    let bad = |what: &str| CodegenError::Layout(format!("poseidon2 mask: {what}"));
    if !c.preprocessed.is_empty() || !c.mask_offsets[0].is_empty() {
        return Err(bad("reads a preprocessed column"));
    }
    if c.mask_offsets[1].len() != p2::N_COLUMNS || c.mask_offsets[1].iter().any(|o| o != &[0]) {
        return Err(bad("main columns are not N_COLUMNS at offset 0"));
    }
    if c.mask_offsets[2].len() != p2::N_INTERACTION_COLUMNS
        || c.mask_offsets[2].iter().any(|o| o != &[-1, 0])
    {
        return Err(bad(
            "interaction is not one cumulative sum at offsets [-1, 0]",
        ));
    }
    let main_start = starts[1][c.col_start[1]];
    let interaction_start = starts[2][c.col_start[2]];
    // Contiguity: the next column's values follow.
    for k in 0..p2::N_COLUMNS {
        if starts[1][c.col_start[1] + k] != main_start + k as u32 {
            return Err(bad("main values not contiguous"));
        }
    }
    for k in 0..p2::N_INTERACTION_COLUMNS {
        if starts[2][c.col_start[2] + k] != interaction_start + 2 * k as u32 {
            return Err(bad("interaction values not contiguous"));
        }
    }
    if c.constraints.len() != p2::N_CONSTRAINTS {
        return Err(bad("constraint count"));
    }
    Ok(Poseidon2Mask {
        main_start,
        interaction_start,
    })
}

/// Component `c`'s `accumulate_*` function over its program compiled to straight-line Cairo
/// ([`crate::straight`]).
fn render_compiled(
    out: &mut String,
    spec: &AirSpec,
    c: &SymbolicComponent,
    code: &[u32],
    parts: &[(usize, usize)],
) -> Result<(), CodegenError> {
    let _ = writeln!(
        out,
        "/// Folds the {n} undivided constraints of component `{name}` into `acc`.
pub fn accumulate_{name}(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @{params},
) -> QM31 {{
    accumulate_{name}_program(
        acc,
        random_coeff,
        values,
        relations(params),
        *params.{name}_claimed_sum,
        *params.{name}_log_size,
    )
}}
",
        n = c.constraints.len(),
        name = c.name,
        params = spec.params,
    );
    out.push_str(&crate::straight::compile_program_parts(&c.name, code, parts)?);
    Ok(())
}

/// The fold split over two AIR classes at constraint `at` of the first component `first`:
/// `PART_CONSTRAINTS` and `accumulate_<air>_part_0` (`first`'s constraints before `at`) and
/// `_part_1` (the rest of `first`'s, then every other component's), whose consecutive folds
/// are `accumulate_<air>`'s.
fn render_parts(out: &mut String, spec: &AirSpec, first: &str, at: usize) -> Result<(), CodegenError> {
    let comps = &spec.components;
    let head = comps
        .first()
        .filter(|c| c.name == first && at > 0 && at < c.constraints.len())
        .ok_or_else(|| CodegenError::Layout(format!("cannot split the fold at constraint {at} of {first}")))?;
    let total: usize = comps.iter().map(|c| c.constraints.len()).sum();
    let (n, params, air) = (head.constraints.len(), spec.params, spec.air);
    let _ = write!(
        out,
        "/// Constraints each part of the fold takes, in order: the AIR's two classes evaluate
/// `accumulate_{air}_part_0` and `_part_1`, the first shifting its part by
/// `random_coeff^PART_CONSTRAINTS[1]` (`program_air::air_call::qm31_pow`).
pub const PART_CONSTRAINTS: [u32; 2] = [{at}, {rest}];

/// The fold's first part: constraints 0..{at} of `{first}` (a class of its own; the compiled
/// programs do not fit one class).
pub fn accumulate_{air}_part_0(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @{params},
) -> QM31 {{
    accumulate_{first}_program_0_{at}(
        acc, random_coeff, values, relations(params), *params.{first}_claimed_sum,
        *params.{first}_log_size,
    )
}}

/// The fold's second part: constraints {at}..{n} of `{first}`, then the {others} other
/// components in proof order.
pub fn accumulate_{air}_part_1(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @{params},
) -> QM31 {{
    let acc = accumulate_{first}_program_{at}_{n}(
        acc, random_coeff, values, relations(params), *params.{first}_claimed_sum,
        *params.{first}_log_size,
    );
",
        rest = total - at,
        others = count_word(comps.len() - 1),
    );
    for c in &comps[1..] {
        let _ = writeln!(out, "    let acc = accumulate_{}(acc, random_coeff, values, params);", c.name);
    }
    out.push_str("    acc\n}\n\n");
    Ok(())
}

fn words(out: &mut String, code: &[u32]) {
    for line in code.chunks(24) {
        let w: Vec<String> = line.iter().map(|w| w.to_string()).collect();
        let _ = writeln!(out, "    {},", w.join(", "));
    }
}

const AIR_HEADER: &str =
    "// @generated by `cargo run -p zkthread-air-codegen` from harness/programs/token and
// harness/thread-prover (the roles and the range table through stwo-constraint-framework's ExprEvaluator; Poseidon2
// through `program_air::poseidon2` and the tables in `program_air::generated_poseidon2`). Do not edit:
// `cargo test -p zkthread-air-codegen` fails if this file differs from a fresh generation.
//! The signed-transfer AIR's constraints at the OODS point: seven components in proof order,
//! folded as stwo's `PointEvaluationAccumulator` folds them.
//!
//! Every component of the proof divides its constraints by the same vanishing polynomial (the
//! canonic coset of size `2^max_log_degree_bound`), so the `accumulate_*` functions fold the
//! undivided constraints, `acc = acc * random_coeff + constraint`, and
//! `eval_composition_at_point` multiplies the sum by `1 / vanishing` once: stwo's value, bit for
//! bit (the field is exact), one product per constraint cheaper.
";

/// What differs between two programs' generated evaluations besides their components.
pub struct AirSpec<'a> {
    /// The components in proof order (`zkthread_prover::program::symbolic_components`).
    pub components: Vec<SymbolicComponent>,
    /// The file's header comment.
    pub header: &'a str,
    /// Cairo path of the shared modules `layout` and `poseidon2` (the framework
    /// package `program_air`).
    pub shared: &'a str,
    /// The parameter struct's name (`SignedAirParams`).
    pub params: &'a str,
    /// The AIR's snake-case name: the fold over every component is `accumulate_<air>`.
    pub air: &'a str,
    /// The proof's name in doc comments (`signed proof`).
    pub proof: &'a str,
    /// The AIR's name in doc comments (`the signed AIR`).
    pub label: &'a str,
    /// Where the fold splits over two classes, if it does: `(first component, constraint)`.
    /// Every program is compiled to straight-line Cairo (`crate::straight`: no decoding at
    /// verification, ~4x fewer steps than the interpreter and no branch padding, ~11 CASM
    /// felts a program word); where they do not fit one class, one class takes the first
    /// component's constraints before `constraint`, the other the rest ([`render_parts`]).
    pub split: Option<(&'a str, usize)>,
}

/// The AIR call's header layout and its parameters' encoding (`air_call` in each AIR class):
/// the OODS point and the random coefficient (12 felts), each relation's `(z, alpha)` (8
/// felts, in `order`; the first [`RELATIONS_WITH_POWERS`], which the verifier draws with their
/// powers, followed by their alpha powers, 4 felts each), each component's claimed sum (4
/// felts) then each one's log size, then `max_log_degree_bound`. Generated so that a
/// program's classes and verifier agree on it by construction.
fn render_air_call_header(
    out: &mut String,
    params: &str,
    order: &[(&'static str, usize)],
    comps: &[SymbolicComponent],
) {
    let _ = write!(
        out,
        "/// Components of a proof: a claimed sum and a log size each in the AIR call's header.
pub const N_COMPONENTS: u32 = {n};
/// Where the AIR call's header (after the mask values) holds each relation's `(z, alpha)`:
/// after the OODS point (x, y) and the random coefficient, 8 felts each in the order above,
/// the first {n_with_powers} (drawn with their powers by the verifier) followed by their powers.
pub const HEADER_RELATIONS_AT: u32 = 4 * 3;
/// Where the header holds the claimed sums (4 coordinates each, components in proof order).
pub const HEADER_SUMS_AT: u32 = HEADER_RELATIONS_AT + 8 * {n_relations} + 4 * {n_powers};
/// Where the header holds the log sizes (then `max_log_degree_bound`).
pub const HEADER_LOG_SIZES_AT: u32 = HEADER_SUMS_AT + 4 * N_COMPONENTS;
/// Felts of the AIR call's header.
pub const HEADER_FELTS: u32 = HEADER_LOG_SIZES_AT + N_COMPONENTS + 1;

/// Appends `params` to an AIR call's header after the point and the random coefficient:
/// the relations, the claimed sums, the log sizes ([`params_at`] reads them back).
#[inline(always)]
pub fn append_params(ref out: Array<felt252>, params: @{params}) {{
",
        n = comps.len(),
        n_relations = order.len(),
        n_with_powers = RELATIONS_WITH_POWERS,
        n_powers = order.iter().take(RELATIONS_WITH_POWERS).map(|(_, size)| size).sum::<usize>(),
    );
    for (i, (name, _)) in order.iter().enumerate() {
        if i < RELATIONS_WITH_POWERS {
            let _ = writeln!(
                out,
                "    append_relation_with_powers(ref out, params.{}, {}_SIZE);",
                snake(name),
                snake(name).to_uppercase()
            );
        } else {
            let _ = writeln!(out, "    append_relation(ref out, params.{});", snake(name));
        }
    }
    for c in comps {
        let _ = writeln!(out, "    append_qm31(ref out, *params.{}_claimed_sum);", c.name);
    }
    for c in comps {
        let _ = writeln!(out, "    out.append((*params.{}_log_size).into());", c.name);
    }
    let _ = write!(
        out,
        "}}

/// The parameters in an AIR call's `header` ([`append_params`]'s layout).
#[inline(always)]
pub fn params_at(header: Span<felt252>) -> {params} {{
    let relations = HEADER_RELATIONS_AT;
    let sums = HEADER_SUMS_AT;
    let logs = HEADER_LOG_SIZES_AT;
    {params} {{
",
    );
    // `base`, or `base + offset` past the first field.
    let at = |base: &str, offset: usize| {
        if offset == 0 { base.to_string() } else { format!("{base} + {offset}") }
    };
    // Each relation's offset: 8 felts for each before it, and 4 for each power handed on.
    let mut offset = 0;
    for (i, (name, size)) in order.iter().enumerate() {
        let read = if i < RELATIONS_WITH_POWERS { "relation_with_powers_at" } else { "relation_at" };
        let _ = writeln!(
            out,
            "        {}: {read}(header, {}, {}_SIZE),",
            snake(name),
            at("relations", offset),
            snake(name).to_uppercase()
        );
        offset += 8 + if i < RELATIONS_WITH_POWERS { 4 * size } else { 0 };
    }
    for (i, c) in comps.iter().enumerate() {
        let _ = writeln!(out, "        {}_claimed_sum: qm31_at(header, {}),", c.name, at("sums", 4 * i));
        let _ = writeln!(out, "        {}_log_size: u32_at(header, {}),", c.name, at("logs", i));
    }
    out.push_str("    }\n}\n\n");
}

/// `n` in words (the doc comments' component counts).
fn count_word(n: usize) -> String {
    let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    words.get(n).map(|w| w.to_string()).unwrap_or_else(|| n.to_string())
}

/// The token's [`AirSpec`] (`contracts/programs/token/signed_air`).
pub fn signed_air_spec() -> Result<AirSpec<'static>, CodegenError> {
    Ok(AirSpec {
        components: symbolic_signed_components()?,
        header: AIR_HEADER,
        shared: "program_air",
        params: "SignedAirParams",
        air: "signed_air",
        proof: "signed proof",
        label: "the signed AIR",
        split: None,
    })
}

/// The generated Cairo evaluation of the signed AIR.
pub fn render_signed_air() -> Result<String, CodegenError> {
    render_air_with(&signed_air_spec()?)
}

/// The generated Cairo evaluation of `spec`'s AIR: constraint programs, mask shape, column log
/// sizes and the composition, with Poseidon2 evaluated by the shared `poseidon2` module.
pub fn render_air_with(spec: &AirSpec) -> Result<String, CodegenError> {
    let comps = &spec.components;
    let order = relation_order();
    let index: BTreeMap<String, u32> = order
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.to_string(), i as u32))
        .collect();
    for used in cairo::relations(&comps) {
        let size = order
            .iter()
            .find(|(n, _)| *n == used.name)
            .map(|(_, s)| *s)
            .ok_or_else(|| CodegenError::Layout(format!("unknown relation {}", used.name)))?;
        if used.size > size {
            return Err(CodegenError::Layout(format!(
                "relation {} uses {} values",
                used.name, used.size
            )));
        }
    }
    let shape = cairo::mask_shape(&comps, N_PREPROCESSED_COLUMNS);
    let starts = mask_starts(&shape);
    let n_values: usize = shape.iter().flatten().sum();
    let poseidon2_index = comps
        .iter()
        .position(|c| c.name == "poseidon2")
        .ok_or_else(|| CodegenError::Layout("no poseidon2 component".into()))?;
    let p2mask = poseidon2_mask(&comps[poseidon2_index], &starts)?;
    let (params, lib, air, n_comps) = (spec.params, spec.shared, spec.air, count_word(comps.len()));

    let mut out = String::from(spec.header);
    let _ = write!(
        out,
        "
use stark_verifier::circle::CirclePoint;
use stark_verifier::fields::{{QM31, QM31Trait}};
use stark_verifier::fields::qm31::Coordinates;
use thread_verifier::lookup::LookupElements;
use thread_verifier::oods::{{
    Wide, alpha, alpha_dot, canonic_coset_vanishing, column_size_inverse, flatten_mask, fold_wide,
    from_partial_evals, mul_small, narrow, relation_z, sample, to_qm31, wide,
}};
use {lib}::air_call::{{
    append_qm31, append_relation, append_relation_with_powers, qm31_at, relation_at,
    relation_with_powers_at, u32_at,
}};
use {lib}::layout::{{mask_shape_ok_with, repeat_log_size}};

",
    );
    for (name, size) in order {
        let _ = writeln!(
            out,
            "/// Values combined by `{name}` (alpha powers drawn for it).\npub const {}_SIZE: u32 = {size};\n",
            snake(name).to_uppercase()
        );
    }
    let _ = write!(
        out,
        "/// Everything the constraints read besides the mask: the relations' elements (drawn in the
/// order State, Link, Poseidon2, RangeCheck), each component's claimed LogUp sum and log size.
#[derive(Drop, Copy)]
pub struct {params} {{
",
    );
    for (name, _) in order {
        let _ = writeln!(out, "    pub {}: LookupElements,", snake(name));
    }
    for c in comps {
        let _ = writeln!(out, "    pub {}_claimed_sum: QM31,", c.name);
        let _ = writeln!(out, "    pub {}_log_size: u32,", c.name);
    }
    out.push_str("}\n\n");
    render_air_call_header(&mut out, params, &order, comps);

    let _ = writeln!(
        out,
        "/// Sampled values of a {} without the composition tree ({} trees).\npub const N_MASK_VALUES: u32 = {n_values};\n",
        spec.proof,
        shape.len()
    );
    let _ = writeln!(
        out,
        "/// Flat mask index of the Poseidon2 component's first main column ({} columns, one value\n/// each) and of its cumulative sum's values (4 columns x offsets [-1, 0]).\npub const POSEIDON2_MAIN_START: u32 = {};\npub const POSEIDON2_INTERACTION_START: u32 = {};\n",
        p2::N_COLUMNS, p2mask.main_start, p2mask.interaction_start
    );
    for c in comps {
        let _ = writeln!(
            out,
            "pub const {}_N_CONSTRAINTS: u32 = {};",
            c.name.to_uppercase(),
            c.constraints.len()
        );
    }
    out.push('\n');

    let runs = shape_runs(&shape);
    let _ = writeln!(
        out,
        "/// Values sampled per column, as runs per tree (preprocessed, main, interaction):
/// `[n_runs, (columns, values per column) * n_runs]`.
pub const MASK_SHAPE_RUNS: [u32; {}] = [",
        runs.len()
    );
    words(&mut out, &runs);
    out.push_str("];\n\n");
    out.push_str(
        "/// True iff `mask` (the sampled values without the composition tree) has the shape the
/// AIR samples.
pub fn mask_shape_ok(mask: Span<Span<Span<Coordinates>>>) -> bool {
    mask_shape_ok_with(mask, MASK_SHAPE_RUNS.span())
}

",
    );

    // Column log sizes per tree.
    let _ = write!(
        out,
        "/// Log sizes (before blowup) of the committed columns per tree (preprocessed, main,
/// interaction), in proof order: what the verifier commits each root with.
pub fn column_log_sizes(params: @{params}) -> Span<Span<u32>> {{
    let mut preprocessed: Array<u32> = array![];
",
    );
    let mut pre: BTreeMap<usize, &str> = BTreeMap::new();
    for c in comps {
        for column in c.preprocessed.values() {
            pre.insert(*column, &c.name);
        }
    }
    for column in 0..N_PREPROCESSED_COLUMNS {
        match pre.get(&column) {
            Some(name) => {
                let _ = writeln!(out, "    preprocessed.append(*params.{name}_log_size);");
            }
            None => out.push_str("    preprocessed.append(0);\n"),
        }
    }
    for (tree, label) in [(1usize, "main"), (2, "interaction")] {
        let _ = writeln!(out, "    let mut {label}: Array<u32> = array![];");
        let mut parts: Vec<(usize, &str, usize)> = comps
            .iter()
            .map(|c| {
                (
                    c.col_start[tree],
                    c.name.as_str(),
                    c.mask_offsets[tree].len(),
                )
            })
            .filter(|(_, _, n)| *n > 0)
            .collect();
        parts.sort();
        for (_, name, count) in parts {
            let _ = writeln!(
                out,
                "    repeat_log_size(ref {label}, *params.{name}_log_size, {count});"
            );
        }
    }
    out.push_str("    array![preprocessed.span(), main.span(), interaction.span()].span()\n}\n\n");

    let _ = write!(
        out,
        "/// The composition polynomial at the OODS point from the sampled mask values: stwo's
/// `Components::eval_composition_polynomial_at_point` for {label}. `mask` must have
/// `mask_shape()` (check with `mask_shape_ok`).
pub fn eval_composition_at_point(
    point: CirclePoint<QM31>, mask: Span<Span<Span<Coordinates>>>, random_coeff: QM31,
    params: @{params}, max_log_degree_bound: u32,
) -> QM31 {{
    let denom_inv = QM31Trait::inverse(canonic_coset_vanishing(max_log_degree_bound, point));
    let values = flatten_mask(mask);
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    denom_inv * accumulate_{air}(zero, random_coeff, values, params)
}}

/// Folds the undivided constraints of the {n_comps} components, in proof order, into `acc`.
/// `values`: the flattened mask (`flatten_mask`).
pub fn accumulate_{air}(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @{params},
) -> QM31 {{
",
        label = spec.label,
    );
    for c in comps {
        let _ = writeln!(out, "    let acc = accumulate_{}(acc, random_coeff, values, params);", c.name);
    }
    out.push_str("    acc\n}\n\n");
    if let Some((first, at)) = spec.split {
        render_parts(&mut out, spec, first, at)?;
    }

    let names: Vec<String> = order
        .iter()
        .map(|(n, _)| format!("*params.{}", snake(n)))
        .collect();
    let _ = writeln!(
        out,
        "/// The relations in the programs' order (the draw order).
fn relations(params: @{params}) -> Span<LookupElements> {{
    array![
        {},
    ]
        .span()
}}
",
        names.join(",\n        ")
    );

    for (i, c) in comps.iter().enumerate() {
        if i == poseidon2_index {
            let _ = writeln!(
                out,
                "/// Folds the {n} undivided constraints of component `{name}` into `acc` (loops over the
/// rounds, `{lib}::poseidon2`).
pub fn accumulate_{name}(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, params: @{params},
) -> QM31 {{
    {lib}::poseidon2::accumulate_poseidon2(
        acc,
        random_coeff,
        values.slice(POSEIDON2_MAIN_START, {cols}),
        values.slice(POSEIDON2_INTERACTION_START, {inter}),
        params.poseidon2_relation,
        *params.{name}_claimed_sum,
        *params.{name}_log_size,
    )
}}
",
                n = c.constraints.len(),
                name = c.name,
                cols = p2::N_COLUMNS,
                inter = 2 * p2::N_INTERACTION_COLUMNS,
            );
            continue;
        }
        let code = component_program(c, &index, &starts)?;
        let parts = match spec.split {
            Some((first, at)) if first == c.name => vec![(0, at), (at, c.constraints.len())],
            _ => Vec::new(),
        };
        render_compiled(&mut out, spec, c, &code, &parts)?;
    }
    Ok(out)
}

const POSEIDON2_HEADER: &str =
    "// @generated by `cargo run -p zkthread-air-codegen` from harness/thread-prover/src/poseidon2
// (p3's Poseidon2-M31-16 constants as `zkthread_prover::poseidon2::constants` reads them off
// p3's layers, and the component's column layout). Do not edit: `cargo test -p
// zkthread-air-codegen` fails if this file differs from a fresh generation.
//! Tables of the Poseidon2 component for `crate::poseidon2`.
";

fn m31_table(out: &mut String, doc: &str, name: &str, values: &[u32]) {
    let _ = writeln!(
        out,
        "/// {doc}\npub const {name}: [u32; {}] = [",
        values.len()
    );
    words(out, values);
    out.push_str("];\n\n");
}

/// The Poseidon2 component's column layout, checked to be the regular layout the Cairo loops
/// assume (every round at a fixed stride).
pub fn poseidon2_layout() -> Result<[(&'static str, &'static str, usize); 11], CodegenError> {
    let bad = |what: &str| CodegenError::Layout(format!("poseidon2 layout: {what}"));
    let initial = p2::initial_round_square_columns(0).start;
    let partial = p2::partial_round_square_column(0);
    let fin = p2::final_round_square_columns(0).start;
    for r in 0..HALF_FULL_ROUNDS {
        for (sq, state, first) in [
            (
                p2::initial_round_square_columns(r),
                p2::initial_round_state_columns(r),
                initial,
            ),
            (
                p2::final_round_square_columns(r),
                p2::final_round_state_columns(r),
                fin,
            ),
        ] {
            if sq.start != first + r * p2::FULL_ROUND_COLUMNS
                || sq.len() != WIDTH
                || state.start != sq.end
                || state.len() != WIDTH
            {
                return Err(bad("full rounds are not [sq[16], state[16]] at stride 32"));
            }
        }
    }
    for k in 0..PARTIAL_ROUNDS {
        if p2::partial_round_square_column(k) != partial + k * p2::PARTIAL_ROUND_COLUMNS
            || p2::partial_round_sbox_column(k) != p2::partial_round_square_column(k) + 1
        {
            return Err(bad("partial rounds are not [sq, p] at stride 2"));
        }
    }
    if p2::INPUT_COLUMNS.len() != WIDTH
        || p2::OUTPUT_COLUMNS != p2::final_round_state_columns(HALF_FULL_ROUNDS - 1)
        || p2::FULL_ROUND_COLUMNS != 2 * WIDTH
    {
        return Err(bad("input/output columns"));
    }
    Ok([
        ("N_COLUMNS", "Main-trace columns.", p2::N_COLUMNS),
        (
            "N_CONSTRAINTS",
            "Constraints (2 per S-box, 1 LogUp).",
            p2::N_CONSTRAINTS,
        ),
        (
            "MULTIPLICITY_COLUMN",
            "Column of the multiplicity.",
            p2::MULTIPLICITY_COLUMN,
        ),
        (
            "INPUT_START",
            "First column of the input state.",
            p2::INPUT_COLUMNS.start,
        ),
        (
            "INITIAL_START",
            "First column of initial full round 0 (`sq[16]`, then `state[16]`).",
            initial,
        ),
        (
            "FULL_ROUND_COLUMNS",
            "Columns per full round.",
            p2::FULL_ROUND_COLUMNS,
        ),
        (
            "PARTIAL_START",
            "Column of partial round 0's `sq` (then `p`).",
            partial,
        ),
        (
            "PARTIAL_ROUND_COLUMNS",
            "Columns per partial round.",
            p2::PARTIAL_ROUND_COLUMNS,
        ),
        ("FINAL_START", "First column of final full round 0.", fin),
        (
            "OUTPUT_START",
            "First column of the output state.",
            p2::OUTPUT_COLUMNS.start,
        ),
        (
            "N_INTERACTION_VALUES",
            "Sampled interaction values (4 columns x offsets [-1, 0]).",
            2 * p2::N_INTERACTION_COLUMNS,
        ),
    ])
}

/// The generated Poseidon2 tables and layout.
pub fn render_signed_poseidon2() -> Result<String, CodegenError> {
    let c = &*CONSTANTS;
    let mut out = String::from(POSEIDON2_HEADER);
    out.push('\n');
    for (name, doc, value) in [
        ("WIDTH", "State width.", WIDTH),
        (
            "HALF_FULL_ROUNDS",
            "Full rounds before (and after) the partial rounds.",
            HALF_FULL_ROUNDS,
        ),
        ("PARTIAL_ROUNDS", "Partial rounds.", PARTIAL_ROUNDS),
    ]
    .into_iter()
    .chain(poseidon2_layout()?)
    {
        let _ = writeln!(out, "/// {doc}\npub const {name}: u32 = {value};\n");
    }
    let flat = |rounds: &[[stwo::core::fields::m31::BaseField; WIDTH]]| -> Vec<u32> {
        rounds.iter().flatten().map(|x| x.0).collect()
    };
    m31_table(
        &mut out,
        "Round constants of the initial full rounds (round-major, 16 per round).",
        "EXTERNAL_INITIAL_RC",
        &flat(&c.external_initial),
    );
    m31_table(
        &mut out,
        "Round constants of the partial rounds (added to element 0).",
        "INTERNAL_RC",
        &c.internal.map(|x| x.0),
    );
    m31_table(
        &mut out,
        "Round constants of the final full rounds (round-major, 16 per round).",
        "EXTERNAL_FINAL_RC",
        &flat(&c.external_final),
    );
    m31_table(
        &mut out,
        "`M4`, row-major: the external layer is `[[2 M4, M4, M4, M4], [M4, 2 M4, M4, M4], ...]`.",
        "MAT4",
        &c.mat4.iter().flatten().map(|x| x.0).collect::<Vec<_>>(),
    );
    m31_table(
        &mut out,
        "`D`: the internal layer is `J + diag(D)`.",
        "INTERNAL_DIAG",
        &c.internal_diag.map(|x| x.0),
    );
    Ok(out)
}
