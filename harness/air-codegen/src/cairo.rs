//! Cairo emission of symbolic components: the constraint evaluation at the OODS point.
//!
//! The constraints are emitted as data, one prefix-order program of `u32` words per component,
//! run by the hand-written interpreter `oods::accumulate_component` (the unsigned verifier, the
//! order book: code per constraint would not fit their class, Starknet caps one at 81,920
//! felts) or compiled to straight-line Cairo by [`crate::straight`] (the signed AIR's class).
//!
//! Every value is a QM31 (at the OODS point the mask values are extension-field values, as in
//! stwo's `PointEvaluator`). The accumulation is exactly stwo's
//! `PointEvaluationAccumulator`: `acc = acc * random_coeff + denom_inv * constraint`, components
//! in proof order, constraints in `add_constraint` order.

use std::collections::BTreeMap;
use std::fmt::Write;

use stwo::core::fields::m31::BaseField;
use stwo_constraint_framework::expr::{BaseExpr, ExtExpr};

use crate::symbolic::{Intermediate, SymbolicComponent};

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("component {0}: unknown parameter `{1}`")]
    Param(String, String),
    #[error("component {0}: column `{1}` has no sampled value")]
    Column(String, String),
}

/// A LogUp relation's parameters as the evaluator names them (`<Relation>_z`,
/// `<Relation>_alpha<i>`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RelationUse {
    pub name: String,
    pub size: usize,
}

/// `TokenStateRelation` -> `token_state_relation`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Opcodes of a constraint program; `oods::eval_node` in the thread verifier decodes the same
/// numbers. A node is its opcode followed by its operands (words), then its children.
pub mod op {
    /// `c`: the base constant c.
    pub const CONST: u32 = 0;
    /// `i`: the i-th mask value (trees, columns, values flattened in proof order).
    pub const SAMPLE: u32 = 1;
    pub const ADD: u32 = 2;
    pub const SUB: u32 = 3;
    pub const MUL: u32 = 4;
    /// `c, a`: a times the base constant c.
    pub const MUL_CONST: u32 = 5;
    pub const NEG: u32 = 6;
    pub const INV: u32 = 7;
    /// `a, b, c, d`: a + b i + c u + d iu.
    pub const PARTIAL_EVALS: u32 = 8;
    /// `a, b, c, d`: the QM31 constant with these coordinates.
    pub const EXT_CONST: u32 = 9;
    /// `k`: the component's k-th intermediate.
    pub const INTERMEDIATE: u32 = 10;
    /// `r`: relation r's z.
    pub const RELATION_Z: u32 = 11;
    /// `r, k`: relation r's alpha^k.
    pub const RELATION_ALPHA: u32 = 12;
    pub const CLAIMED_SUM: u32 = 13;
    /// 1 / 2^log_size of the component (LogUp's claimed-sum shift).
    pub const COLUMN_SIZE_INV: u32 = 14;
}

struct Emitter<'a> {
    component: &'a SymbolicComponent,
    /// Relation name -> index in `relations()` order.
    relations: &'a BTreeMap<String, u32>,
    /// First flat mask index of each (tree, column).
    mask_starts: &'a [Vec<u32>],
    code: Vec<u32>,
}

fn m31(c: BaseField) -> u32 {
    c.0
}

impl Emitter<'_> {
    fn relation(&self, name: &str, rel: &str) -> Result<u32, EmitError> {
        self.relations
            .get(rel)
            .copied()
            .ok_or_else(|| EmitError::Param(self.component.name.clone(), name.into()))
    }

    fn sample(&mut self, tree: usize, column: usize, value: usize) -> Result<(), EmitError> {
        let start = self
            .mask_starts
            .get(tree)
            .and_then(|t| t.get(column))
            .ok_or_else(|| {
                EmitError::Column(
                    self.component.name.clone(),
                    format!("tree {tree} column {column}"),
                )
            })?;
        self.code.extend([op::SAMPLE, start + value as u32]);
        Ok(())
    }

    fn param(&mut self, name: &str) -> Result<(), EmitError> {
        if let Some(k) = name.strip_prefix("intermediate") {
            if k.parse::<usize>().is_ok() {
                let index = self
                    .component
                    .intermediates
                    .iter()
                    .position(|(iname, _)| iname == name)
                    .ok_or_else(|| EmitError::Param(self.component.name.clone(), name.into()))?;
                self.code.extend([op::INTERMEDIATE, index as u32]);
                return Ok(());
            }
        }
        if name == "claimed_sum" {
            self.code.push(op::CLAIMED_SUM);
            return Ok(());
        }
        if let Some(column) = self.component.preprocessed.get(name) {
            return self.sample(0, *column, 0);
        }
        if let Some(rel) = name.strip_suffix("_z") {
            let r = self.relation(name, rel)?;
            self.code.extend([op::RELATION_Z, r]);
            return Ok(());
        }
        if let Some((rel, power)) = name.rsplit_once("_alpha") {
            if let Ok(power) = power.parse::<u32>() {
                let r = self.relation(name, rel)?;
                self.code.extend([op::RELATION_ALPHA, r, power]);
                return Ok(());
            }
        }
        Err(EmitError::Param(self.component.name.clone(), name.into()))
    }

    fn base(&mut self, e: &BaseExpr) -> Result<(), EmitError> {
        match e {
            BaseExpr::Col(_) => {
                let v = self.component.mask_value(e).ok_or_else(|| {
                    EmitError::Column(self.component.name.clone(), e.format_expr())
                })?;
                self.sample(v.tree, v.column, v.value)?;
            }
            BaseExpr::Const(c) => self.code.extend([op::CONST, m31(*c)]),
            BaseExpr::Param(name) => self.param(name)?,
            BaseExpr::Add(a, b) => self.binary(op::ADD, a, b)?,
            BaseExpr::Sub(a, b) => self.binary(op::SUB, a, b)?,
            BaseExpr::Mul(a, b) => match (&**a, &**b) {
                // A product by a constant is a cheap M31 scaling.
                (x, BaseExpr::Const(c)) | (BaseExpr::Const(c), x) => {
                    self.code.extend([op::MUL_CONST, m31(*c)]);
                    self.base(x)?;
                }
                _ => self.binary(op::MUL, a, b)?,
            },
            BaseExpr::Neg(a) => {
                self.code.push(op::NEG);
                self.base(a)?;
            }
            BaseExpr::Inv(a) => match &**a {
                // The LogUp shift `claimed_sum / 2^log_size`: the inverse is precomputed.
                BaseExpr::Param(p) if p == "column_size" => self.code.push(op::COLUMN_SIZE_INV),
                other => {
                    self.code.push(op::INV);
                    self.base(other)?;
                }
            },
        }
        Ok(())
    }

    fn binary(&mut self, opcode: u32, a: &BaseExpr, b: &BaseExpr) -> Result<(), EmitError> {
        self.code.push(opcode);
        self.base(a)?;
        self.base(b)
    }

    fn ext_binary(&mut self, opcode: u32, a: &ExtExpr, b: &ExtExpr) -> Result<(), EmitError> {
        self.code.push(opcode);
        self.ext(a)?;
        self.ext(b)
    }

    /// An extension expression that is a base constant embedded in QM31, if it is one.
    fn ext_base_const(e: &ExtExpr) -> Option<BaseField> {
        match e {
            ExtExpr::SecureCol([a, b, c, d]) => {
                let zero = BaseExpr::Const(BaseField::from(0u32));
                match (&**a, **b == zero && **c == zero && **d == zero) {
                    (BaseExpr::Const(v), true) => Some(*v),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn ext(&mut self, e: &ExtExpr) -> Result<(), EmitError> {
        match e {
            ExtExpr::SecureCol([a, b, c, d]) => {
                let zero = BaseExpr::Const(BaseField::from(0u32));
                if **b == zero && **c == zero && **d == zero {
                    self.base(a)?;
                } else {
                    self.code.push(op::PARTIAL_EVALS);
                    self.base(a)?;
                    self.base(b)?;
                    self.base(c)?;
                    self.base(d)?;
                }
            }
            ExtExpr::Const(q) => {
                let [a, b, c, d] = q.to_m31_array();
                self.code.extend([op::EXT_CONST, a.0, b.0, c.0, d.0]);
            }
            ExtExpr::Param(name) => self.param(name)?,
            ExtExpr::Add(a, b) => self.ext_binary(op::ADD, a, b)?,
            ExtExpr::Sub(a, b) => self.ext_binary(op::SUB, a, b)?,
            ExtExpr::Mul(a, b) => match (Self::ext_base_const(a), Self::ext_base_const(b)) {
                (_, Some(c)) => {
                    self.code.extend([op::MUL_CONST, m31(c)]);
                    self.ext(a)?;
                }
                (Some(c), _) => {
                    self.code.extend([op::MUL_CONST, m31(c)]);
                    self.ext(b)?;
                }
                _ => self.ext_binary(op::MUL, a, b)?,
            },
            ExtExpr::Neg(a) => {
                self.code.push(op::NEG);
                self.ext(a)?;
            }
        }
        Ok(())
    }
}

/// A component's constraint program: `[n_intermediates, n_constraints, intermediates...,
/// constraints...]`, each expression in prefix order. Intermediates are evaluated once, in
/// definition order (each may read the earlier ones).
pub fn component_program(
    c: &SymbolicComponent,
    relations: &BTreeMap<String, u32>,
    mask_starts: &[Vec<u32>],
) -> Result<Vec<u32>, EmitError> {
    let mut em = Emitter {
        component: c,
        relations,
        mask_starts,
        code: vec![c.intermediates.len() as u32, c.constraints.len() as u32],
    };
    for (_, e) in &c.intermediates {
        match e {
            Intermediate::Base(b) => em.base(b)?,
            Intermediate::Ext(x) => em.ext(x)?,
        }
    }
    for constraint in &c.constraints {
        em.ext(constraint)?;
    }
    Ok(em.code)
}

/// Emits `fn <name>_program() -> Span<u32>` holding the component's constraint program.
fn emit_component(
    out: &mut String,
    c: &SymbolicComponent,
    relations: &BTreeMap<String, u32>,
    mask_starts: &[Vec<u32>],
) -> Result<(), EmitError> {
    let code = component_program(c, relations, mask_starts)?;
    let _ = writeln!(
        out,
        "/// The {} intermediates and {} constraints of component `{}` as a program for
/// `accumulate_component` ({} words).
fn {}_program() -> Span<u32> {{
    array![",
        c.intermediates.len(),
        c.constraints.len(),
        c.name,
        code.len(),
        c.name
    );
    for line in code.chunks(20) {
        let words: Vec<String> = line.iter().map(|w| w.to_string()).collect();
        let _ = writeln!(out, "        {},", words.join(", "));
    }
    out.push_str(
        "    ]
        .span()
}

",
    );
    Ok(())
}

/// The relations the components use, with their sizes (largest alpha power + 1).
pub fn relations(components: &[SymbolicComponent]) -> Vec<RelationUse> {
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    fn walk_base(e: &BaseExpr, sizes: &mut BTreeMap<String, usize>) {
        match e {
            BaseExpr::Param(p) => note(p, sizes),
            BaseExpr::Add(a, b) | BaseExpr::Sub(a, b) | BaseExpr::Mul(a, b) => {
                walk_base(a, sizes);
                walk_base(b, sizes);
            }
            BaseExpr::Neg(a) | BaseExpr::Inv(a) => walk_base(a, sizes),
            _ => {}
        }
    }
    fn walk_ext(e: &ExtExpr, sizes: &mut BTreeMap<String, usize>) {
        match e {
            ExtExpr::Param(p) => note(p, sizes),
            ExtExpr::SecureCol(parts) => parts.iter().for_each(|p| walk_base(p, sizes)),
            ExtExpr::Add(a, b) | ExtExpr::Sub(a, b) | ExtExpr::Mul(a, b) => {
                walk_ext(a, sizes);
                walk_ext(b, sizes);
            }
            ExtExpr::Neg(a) => walk_ext(a, sizes),
            ExtExpr::Const(_) => {}
        }
    }
    fn note(p: &str, sizes: &mut BTreeMap<String, usize>) {
        if let Some(rel) = p.strip_suffix("_z") {
            sizes.entry(rel.to_string()).or_insert(0);
        } else if let Some((rel, power)) = p.rsplit_once("_alpha") {
            if let Ok(power) = power.parse::<usize>() {
                let e = sizes.entry(rel.to_string()).or_insert(0);
                *e = (*e).max(power + 1);
            }
        }
    }
    for c in components {
        for (_, e) in &c.intermediates {
            match e {
                Intermediate::Base(b) => walk_base(b, &mut sizes),
                Intermediate::Ext(x) => walk_ext(x, &mut sizes),
            }
        }
        c.constraints.iter().for_each(|x| walk_ext(x, &mut sizes));
    }
    sizes
        .into_iter()
        .map(|(name, size)| RelationUse { name, size })
        .collect()
}

/// Number of values sampled per column, per tree, for all components together (the proof's
/// `sampled_values` shape without the composition tree).
pub fn mask_shape(components: &[SymbolicComponent], n_preprocessed: usize) -> Vec<Vec<usize>> {
    let mut trees: Vec<Vec<usize>> = vec![vec![0; n_preprocessed], Vec::new(), Vec::new()];
    for c in components {
        for column in c.preprocessed.values() {
            trees[0][*column] = 1;
        }
        for tree in 1..c.mask_offsets.len() {
            let start = c.col_start[tree];
            for (local, offsets) in c.mask_offsets[tree].iter().enumerate() {
                let column = start + local;
                if trees[tree].len() <= column {
                    trees[tree].resize(column + 1, 0);
                }
                trees[tree][column] = offsets.len();
            }
        }
    }
    trees
}

/// Renders the whole generated Cairo module.
pub fn render(
    components: &[SymbolicComponent],
    n_preprocessed: usize,
    header: &str,
) -> Result<String, EmitError> {
    let mut out = String::new();
    out.push_str(header);
    out.push_str(
        "\nuse stark_verifier::circle::CirclePoint;\nuse stark_verifier::fields::{QM31, QM31Trait};\nuse stark_verifier::fields::qm31::Coordinates;\nuse crate::lookup::LookupElements;\nuse crate::oods::{accumulate_component, canonic_coset_vanishing, flatten_mask};\n\n",
    );

    let relations = relations(components);
    out.push_str("/// Everything the constraints read besides the mask: the LogUp relations' elements, each\n/// component's claimed LogUp sum and log size.\n#[derive(Drop, Copy)]\npub struct ThreadAirParams {\n");
    for r in &relations {
        let _ = writeln!(out, "    pub {}: LookupElements,", snake(&r.name));
    }
    for c in components {
        let _ = writeln!(out, "    pub {}_claimed_sum: QM31,", c.name);
        let _ = writeln!(out, "    pub {}_log_size: u32,", c.name);
    }
    out.push_str("}\n\n");
    for r in &relations {
        let _ = writeln!(
            out,
            "/// Values combined by relation `{}` (alpha powers drawn for it).\npub const {}_SIZE: u32 = {};\n",
            r.name,
            snake(&r.name).to_uppercase(),
            r.size
        );
    }

    let shape = mask_shape(components, n_preprocessed);
    out.push_str("/// Values sampled per column, per tree (preprocessed, main, interaction), in proof order.\npub fn mask_shape() -> Span<Span<u32>> {\n    array![\n");
    for tree in &shape {
        let items: Vec<String> = tree.iter().map(|n| n.to_string()).collect();
        let _ = writeln!(out, "        array![{}].span(),", items.join(", "));
    }
    out.push_str("    ]\n        .span()\n}\n\n");
    // Column log sizes per tree: every column of a component has the component's log size;
    // a preprocessed column has the log size of the component that reads it.
    out.push_str("/// Log sizes (before blowup) of the committed columns per tree (preprocessed, main,\n/// interaction), in proof order: what the verifier commits each root with.\npub fn column_log_sizes(params: @ThreadAirParams) -> Span<Span<u32>> {\n");
    let mut preprocessed: BTreeMap<usize, &str> = BTreeMap::new();
    for c in components {
        for column in c.preprocessed.values() {
            preprocessed.insert(*column, &c.name);
        }
    }
    out.push_str("    let mut preprocessed: Array<u32> = array![];\n");
    for column in 0..n_preprocessed {
        match preprocessed.get(&column) {
            Some(name) => {
                let _ = writeln!(out, "    preprocessed.append(*params.{name}_log_size);");
            }
            None => {
                let _ = writeln!(out, "    preprocessed.append(0);");
            }
        }
    }
    for (tree, label) in [(1usize, "main"), (2, "interaction")] {
        let _ = writeln!(out, "    let mut {label}: Array<u32> = array![];");
        let mut parts: Vec<(usize, &str, usize)> = components
            .iter()
            .filter(|c| tree < c.mask_offsets.len())
            .map(|c| {
                (
                    c.col_start[tree],
                    c.name.as_str(),
                    c.mask_offsets[tree].len(),
                )
            })
            .collect();
        parts.sort();
        for (_, name, count) in parts {
            let _ = writeln!(
                out,
                "    let mut k = 0;\n    while k != {count} {{\n        {label}.append(*params.{name}_log_size);\n        k += 1;\n    }};"
            );
        }
    }
    out.push_str("    array![preprocessed.span(), main.span(), interaction.span()].span()\n}\n\n");

    out.push_str(
        "/// True iff `mask` (the proof's sampled values without the composition tree) has the\n/// shape the AIR samples.\npub fn mask_shape_ok(mask: Span<Span<Span<Coordinates>>>) -> bool {\n    let shape = mask_shape();\n    if mask.len() != shape.len() {\n        return false;\n    }\n    let mut ok = true;\n    let mut t = 0;\n    while t != shape.len() {\n        let columns = *mask[t];\n        let expected = *shape[t];\n        if columns.len() != expected.len() {\n            ok = false;\n            break;\n        }\n        let mut c = 0;\n        while c != expected.len() {\n            if (*columns[c]).len() != *expected[c] {\n                ok = false;\n                break;\n            }\n            c += 1;\n        };\n        if !ok {\n            break;\n        }\n        t += 1;\n    };\n    ok\n}\n\n",
    );

    out.push_str("/// The composition polynomial at the OODS point from the sampled mask values: stwo's\n/// `Components::eval_composition_polynomial_at_point` for the thread AIR. Every constraint\n/// is divided by the vanishing polynomial of the canonic coset of size\n/// `2^max_log_degree_bound` (the lifted trace domain) and accumulated with `random_coeff`.\n/// `mask` must have `mask_shape()` (check with `mask_shape_ok`).\npub fn eval_composition_at_point(\n    point: CirclePoint<QM31>, mask: Span<Span<Span<Coordinates>>>, random_coeff: QM31,\n    params: @ThreadAirParams, max_log_degree_bound: u32,\n) -> QM31 {\n    let denom_inv = QM31Trait::inverse(canonic_coset_vanishing(max_log_degree_bound, point));\n    let values = flatten_mask(mask);\n");
    let names: Vec<String> = relations
        .iter()
        .map(|r| format!("*params.{}", snake(&r.name)))
        .collect();
    let _ = writeln!(
        out,
        "    let relations = array![{}].span();",
        names.join(", ")
    );
    out.push_str("    let acc = QM31Trait::from_u32_unchecked(0, 0, 0, 0);\n");
    for c in components {
        let _ = writeln!(
            out,
            "    let acc = accumulate_component(\n        acc, random_coeff, denom_inv, {name}_program(), values, relations,\n        *params.{name}_claimed_sum, *params.{name}_log_size,\n    );",
            name = c.name
        );
    }
    out.push_str("    acc\n}\n\n");
    let relation_index: BTreeMap<String, u32> = relations
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.clone(), i as u32))
        .collect();
    // Flat mask index of each (tree, column)'s first value, in proof order.
    let mut next = 0u32;
    let mask_starts: Vec<Vec<u32>> = shape
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
        .collect();
    for c in components {
        emit_component(&mut out, c, &relation_index, &mask_starts)?;
    }
    Ok(out)
}
