//! Cairo emission of symbolic components: the constraint evaluation at the OODS point.
//!
//! Arithmetic goes through the non-inlined `oods::{qadd, qsub, qmul, qneg, qmul_const}`: inlined
//! QM31 arithmetic made the AIR two thirds of the contract's bytecode.
//!
//! Every value is a QM31 (at the OODS point the mask values are extension-field values, as in
//! stwo's `PointEvaluator`). The accumulation is exactly stwo's
//! `PointEvaluationAccumulator`: `acc = acc * random_coeff + denom_inv * constraint`, components
//! in proof order, constraints in `add_constraint` order.

use std::collections::{BTreeMap, BTreeSet};
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

/// What one expression needs bound before it can be evaluated.
#[derive(Default)]
struct Uses {
    intermediates: BTreeSet<String>,
    relations_z: BTreeSet<String>,
    relations_alpha: BTreeSet<(String, usize)>,
    claimed_sum: bool,
    column_size_inv: bool,
}

struct Emitter<'a> {
    component: &'a SymbolicComponent,
    uses: Uses,
}

fn m31(c: BaseField) -> u32 {
    c.0
}

impl Emitter<'_> {
    fn param(&mut self, name: &str) -> Result<String, EmitError> {
        if name.starts_with("intermediate") && name["intermediate".len()..].parse::<usize>().is_ok()
        {
            self.uses.intermediates.insert(name.to_string());
            return Ok(name.to_string());
        }
        if name == "claimed_sum" {
            self.uses.claimed_sum = true;
            return Ok("claimed_sum".into());
        }
        if let Some(column) = self.component.preprocessed.get(name) {
            return Ok(format!("sample(mask, 0, {column}, 0)"));
        }
        if let Some(rel) = name.strip_suffix("_z") {
            self.uses.relations_z.insert(rel.to_string());
            return Ok(format!("{}_z", snake(rel)));
        }
        if let Some((rel, power)) = name.rsplit_once("_alpha") {
            if let Ok(power) = power.parse::<usize>() {
                self.uses.relations_alpha.insert((rel.to_string(), power));
                return Ok(format!("{}_alpha_{power}", snake(rel)));
            }
        }
        Err(EmitError::Param(self.component.name.clone(), name.into()))
    }

    fn base(&mut self, e: &BaseExpr) -> Result<String, EmitError> {
        Ok(match e {
            BaseExpr::Col(_) => {
                let v = self.component.mask_value(e).ok_or_else(|| {
                    EmitError::Column(self.component.name.clone(), e.format_expr())
                })?;
                // Read at the use site: hundreds of live locals overflow Sierra's stack offsets.
                format!("sample(mask, {}, {}, {})", v.tree, v.column, v.value)
            }
            BaseExpr::Const(c) => format!("qm31_const({})", m31(*c)),
            BaseExpr::Param(name) => self.param(name)?,
            BaseExpr::Add(a, b) => format!("qadd({}, {})", self.base(a)?, self.base(b)?),
            BaseExpr::Sub(a, b) => format!("qsub({}, {})", self.base(a)?, self.base(b)?),
            BaseExpr::Mul(a, b) => match (&**a, &**b) {
                // A product by a constant is a cheap M31 scaling.
                (x, BaseExpr::Const(c)) | (BaseExpr::Const(c), x) => {
                    format!("qmul_const({}, {})", self.base(x)?, m31(*c))
                }
                _ => format!("qmul({}, {})", self.base(a)?, self.base(b)?),
            },
            BaseExpr::Neg(a) => format!("qneg({})", self.base(a)?),
            BaseExpr::Inv(a) => match &**a {
                // The LogUp shift `claimed_sum / 2^log_size`: the inverse is precomputed.
                BaseExpr::Param(p) if p == "column_size" => {
                    self.uses.column_size_inv = true;
                    "column_size_inv".into()
                }
                other => format!("QM31Trait::inverse({})", self.base(other)?),
            },
        })
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

    fn ext(&mut self, e: &ExtExpr) -> Result<String, EmitError> {
        Ok(match e {
            ExtExpr::SecureCol([a, b, c, d]) => {
                let zero = BaseExpr::Const(BaseField::from(0u32));
                if **b == zero && **c == zero && **d == zero {
                    self.base(a)?
                } else {
                    format!(
                        "partial_evals({}, {}, {}, {})",
                        self.base(a)?,
                        self.base(b)?,
                        self.base(c)?,
                        self.base(d)?
                    )
                }
            }
            ExtExpr::Const(q) => {
                let [a, b, c, d] = q.to_m31_array();
                format!(
                    "QM31Trait::from_u32_unchecked({}, {}, {}, {})",
                    a.0, b.0, c.0, d.0
                )
            }
            ExtExpr::Param(name) => self.param(name)?,
            ExtExpr::Add(a, b) => format!("qadd({}, {})", self.ext(a)?, self.ext(b)?),
            ExtExpr::Sub(a, b) => format!("qsub({}, {})", self.ext(a)?, self.ext(b)?),
            ExtExpr::Mul(a, b) => match (Self::ext_base_const(a), Self::ext_base_const(b)) {
                (_, Some(c)) => format!("qmul_const({}, {})", self.ext(a)?, m31(c)),
                (Some(c), _) => format!("qmul_const({}, {})", self.ext(b)?, m31(c)),
                _ => format!("qmul({}, {})", self.ext(a)?, self.ext(b)?),
            },
            ExtExpr::Neg(a) => format!("qneg({})", self.ext(a)?),
        })
    }
}

/// Emits one small function per intermediate and per constraint, and
/// `fn accumulate_<name>(acc, random_coeff, denom_inv, mask, params) -> QM31` folding the
/// constraints in a loop. (Straight-line code for a whole component overflows the 16-bit `ap`
/// offsets of Sierra-to-CASM: the loop keeps every frame small.)
fn emit_component(out: &mut String, c: &SymbolicComponent) -> Result<(), EmitError> {
    let name = &c.name;
    let mut pieces = String::new();
    // Direct intermediate dependencies of every intermediate, by name.
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (iname, e) in &c.intermediates {
        let mut em = Emitter {
            component: c,
            uses: Uses::default(),
        };
        let rhs = match e {
            Intermediate::Base(b) => em.base(b)?,
            Intermediate::Ext(x) => em.ext(x)?,
        };
        emit_piece(
            &mut pieces,
            &format!("{name}_{iname}"),
            &em.uses,
            name,
            "",
            &rhs,
        );
        deps.insert(iname.clone(), em.uses.intermediates.clone());
    }
    let mut dispatch = String::new();
    for (i, constraint) in c.constraints.iter().enumerate() {
        let mut em = Emitter {
            component: c,
            uses: Uses::default(),
        };
        let rhs = em.ext(constraint)?;
        // Compute the intermediates the constraint needs (transitively), in definition order.
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = em.uses.intermediates.iter().cloned().collect();
        while let Some(n) = todo.pop() {
            if needed.insert(n.clone()) {
                todo.extend(deps.get(&n).into_iter().flatten().cloned());
            }
        }
        let mut prelude = String::new();
        for (iname, _) in c.intermediates.iter().filter(|(n, _)| needed.contains(n)) {
            let mut args = vec!["mask".to_string(), "params".to_string()];
            args.extend(deps[iname].iter().cloned());
            let _ = writeln!(
                prelude,
                "    let {iname} = {name}_{iname}({});",
                args.join(", ")
            );
        }
        let mut uses = em.uses;
        uses.intermediates.clear();
        emit_piece(
            &mut pieces,
            &format!("{name}_constraint_{i}"),
            &uses,
            name,
            &prelude,
            &rhs,
        );
        let _ = writeln!(
            dispatch,
            "            {i} => {name}_constraint_{i}(mask, params),"
        );
    }
    let n = c.constraints.len();
    let _ = writeln!(
        out,
        "/// The {n} constraints of component `{name}`, accumulated into `acc` in stwo's order."
    );
    let _ = writeln!(
        out,
        "fn accumulate_{name}(\n    acc: QM31, random_coeff: QM31, denom_inv: QM31, mask: Span<Span<Span<QM31>>>,\n    params: @ThreadAirParams,\n) -> QM31 {{"
    );
    let _ = writeln!(
        out,
        "    let mut acc = acc;\n    let mut i: u32 = 0;\n    while i != {n} {{"
    );
    let _ = writeln!(out, "        let constraint = match i {{");
    out.push_str(&dispatch);
    let _ = writeln!(
        out,
        "            _ => core::panic_with_felt252('air: constraint index'),"
    );
    let _ = writeln!(out, "        }};");
    let _ = writeln!(out, "        acc = acc * random_coeff + denom_inv * constraint;\n        i += 1;\n    }};\n    acc\n}}\n");
    out.push_str(&pieces);
    Ok(())
}

/// Emits `fn <fname>(mask, params, intermediates...) -> QM31 { prelude rhs }` binding what
/// `rhs` uses; returns the call's argument list.
fn emit_piece(
    out: &mut String,
    fname: &str,
    uses: &Uses,
    component: &str,
    prelude: &str,
    rhs: &str,
) -> String {
    let mut params = vec![
        "mask: Span<Span<Span<QM31>>>".to_string(),
        "params: @ThreadAirParams".to_string(),
    ];
    let mut args = vec!["mask".to_string(), "params".to_string()];
    for i in &uses.intermediates {
        params.push(format!("{i}: QM31"));
        args.push(i.clone());
    }
    let _ = writeln!(
        out,
        "#[inline(never)]\nfn {fname}({}) -> QM31 {{",
        params.join(", ")
    );
    if uses.claimed_sum {
        let _ = writeln!(
            out,
            "    let claimed_sum = *params.{component}_claimed_sum;"
        );
    }
    if uses.column_size_inv {
        let _ = writeln!(
            out,
            "    let column_size_inv = column_size_inverse(*params.{component}_log_size);"
        );
    }
    for rel in &uses.relations_z {
        let _ = writeln!(out, "    let {s}_z = *params.{s}.z;", s = snake(rel));
    }
    let rels: BTreeSet<&String> = uses.relations_alpha.iter().map(|(r, _)| r).collect();
    for rel in rels {
        let _ = writeln!(
            out,
            "    let {s}_alpha_powers = *params.{s}.alpha_powers;",
            s = snake(rel)
        );
    }
    for (rel, power) in &uses.relations_alpha {
        let _ = writeln!(
            out,
            "    let {s}_alpha_{power} = *{s}_alpha_powers[{power}];",
            s = snake(rel)
        );
    }
    out.push_str(prelude);
    let _ = writeln!(out, "    {rhs}\n}}\n");
    args.join(", ")
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
        "\nuse stark_verifier::circle::CirclePoint;\nuse stark_verifier::fields::{QM31, QM31Trait};\nuse crate::lookup::LookupElements;\nuse crate::oods::{\n    canonic_coset_vanishing, column_size_inverse, partial_evals, qadd, qm31_const, qmul, qmul_const,\n    qneg, qsub, sample,\n};\n\n",
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
        "/// True iff `mask` (the proof's sampled values without the composition tree) has the\n/// shape the AIR samples.\npub fn mask_shape_ok(mask: Span<Span<Span<QM31>>>) -> bool {\n    let shape = mask_shape();\n    if mask.len() != shape.len() {\n        return false;\n    }\n    let mut ok = true;\n    let mut t = 0;\n    while t != shape.len() {\n        let columns = *mask[t];\n        let expected = *shape[t];\n        if columns.len() != expected.len() {\n            ok = false;\n            break;\n        }\n        let mut c = 0;\n        while c != expected.len() {\n            if (*columns[c]).len() != *expected[c] {\n                ok = false;\n                break;\n            }\n            c += 1;\n        };\n        if !ok {\n            break;\n        }\n        t += 1;\n    };\n    ok\n}\n\n",
    );

    out.push_str("/// The composition polynomial at the OODS point from the sampled mask values: stwo's\n/// `Components::eval_composition_polynomial_at_point` for the thread AIR. Every constraint\n/// is divided by the vanishing polynomial of the canonic coset of size\n/// `2^max_log_degree_bound` (the lifted trace domain) and accumulated with `random_coeff`.\n/// `mask` must have `mask_shape()` (check with `mask_shape_ok`).\npub fn eval_composition_at_point(\n    point: CirclePoint<QM31>, mask: Span<Span<Span<QM31>>>, random_coeff: QM31,\n    params: @ThreadAirParams, max_log_degree_bound: u32,\n) -> QM31 {\n    let denom_inv = QM31Trait::inverse(canonic_coset_vanishing(max_log_degree_bound, point));\n    let acc: QM31 = qm31_const(0);\n");
    for c in components {
        let _ = writeln!(
            out,
            "    let acc = accumulate_{}(acc, random_coeff, denom_inv, mask, params);",
            c.name
        );
    }
    out.push_str("    acc\n}\n\n");
    for c in components {
        emit_component(&mut out, c)?;
    }
    Ok(out)
}
