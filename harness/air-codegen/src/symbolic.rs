//! Symbolic evaluation of one framework component with stwo's `ExprEvaluator`, and the map from
//! its symbolic columns to the proof's sampled values (tree, column in the tree, value index).

use std::collections::BTreeMap;

use stwo_constraint_framework::expr::{BaseExpr, ExprEvaluator, ExtExpr};
use stwo::core::pcs::TreeSubspan;
use stwo_constraint_framework::{FrameworkComponent, FrameworkEval, InfoEvaluator};
use zkthread_prover::program::SymbolicParts;

#[derive(Debug, thiserror::Error)]
pub enum SymbolicError {
    #[error("component {0}: cannot parse symbolic column `{1}`")]
    ColumnName(String, String),
    #[error("component {component}: tree {tree} has {declared} mask columns but the constraints use {used}")]
    UnusedColumn {
        component: String,
        tree: usize,
        declared: usize,
        used: usize,
    },
    #[error("component {0}: column {1} is sampled at offset {2}, which its mask does not declare")]
    Offset(String, usize, isize),
    #[error("component {0}: preprocessed column `{1}` is not allocated")]
    Preprocessed(String, String),
}

/// Where a symbolic mask value is in `sampled_values[tree][column][value]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaskValue {
    pub tree: usize,
    pub column: usize,
    pub value: usize,
}

/// An intermediate named by the evaluator (`intermediate<N>`), base or extension.
#[derive(Clone, Debug)]
pub enum Intermediate {
    Base(BaseExpr),
    Ext(ExtExpr),
}

/// A component's constraints as expressions, with everything needed to bind their leaves.
#[derive(Clone, Debug)]
pub struct SymbolicComponent {
    /// Snake-case name (Cairo identifiers are derived from it).
    pub name: String,
    /// Intermediates in definition order.
    pub intermediates: Vec<(String, Intermediate)>,
    /// Constraints in `add_constraint` order (= accumulation order).
    pub constraints: Vec<ExtExpr>,
    /// Evaluator column `(interaction, global index, offset)` -> sampled value.
    columns: BTreeMap<(usize, usize, isize), MaskValue>,
    /// Preprocessed column id -> column in tree 0.
    pub preprocessed: BTreeMap<String, usize>,
    /// Per tree: the component's columns' offsets, in trace order (the proof's mask shape).
    pub mask_offsets: Vec<Vec<Vec<isize>>>,
    /// Per tree: the component's first column in that tree.
    pub col_start: Vec<usize>,
}

impl SymbolicComponent {
    /// Runs `eval` symbolically and binds its columns to the component's trace locations.
    pub fn new<E: FrameworkEval>(
        name: &str,
        component: &FrameworkComponent<E>,
    ) -> Result<Self, SymbolicError> {
        Self::build(
            name,
            &component.evaluate(ExprEvaluator::new()),
            &component.evaluate(InfoEvaluator::empty()),
            component.trace_locations(),
            component.preprocessed_column_indices(),
        )
    }

    /// A component of a program's proof as the driver lists it
    /// (`zkthread_prover::program::symbolic_components`).
    pub fn from_parts(parts: &SymbolicParts) -> Result<Self, SymbolicError> {
        Self::build(
            parts.name,
            &parts.expr,
            &parts.info,
            &parts.trace_locations,
            &parts.preprocessed_column_indices,
        )
    }

    fn build(
        name: &str,
        symbolic: &ExprEvaluator,
        info: &InfoEvaluator,
        locations: &[TreeSubspan],
        preprocessed_indices: &[usize],
    ) -> Result<Self, SymbolicError> {

        // Intermediates are named `intermediate<N>` with N counting up in definition order.
        let mut intermediates: Vec<(usize, String, Intermediate)> = symbolic
            .intermediates
            .iter()
            .map(|(n, e)| (n.clone(), Intermediate::Base(e.clone())))
            .chain(
                symbolic
                    .ext_intermediates
                    .iter()
                    .map(|(n, e)| (n.clone(), Intermediate::Ext(e.clone()))),
            )
            .map(|(n, e)| {
                let k = n
                    .trim_start_matches("intermediate")
                    .parse::<usize>()
                    .unwrap_or(usize::MAX);
                (k, n, e)
            })
            .collect();
        intermediates.sort_by_key(|(k, _, _)| *k);
        let intermediates: Vec<(String, Intermediate)> = intermediates
            .into_iter()
            .map(|(_, n, e)| (n, e.simplify_intermediate()))
            .collect();
        let constraints: Vec<ExtExpr> = symbolic.constraints.iter().map(|c| c.simplify()).collect();

        // Every column the constraints read, as (interaction, evaluator index, offset).
        let mut used = Vec::new();
        for (_, e) in &intermediates {
            match e {
                Intermediate::Base(b) => collect_base(b, &mut used),
                Intermediate::Ext(x) => collect_ext(x, &mut used),
            }
        }
        constraints.iter().for_each(|c| collect_ext(c, &mut used));
        let mut parsed = Vec::new();
        for column in used {
            let key = parse_column(&column)
                .ok_or_else(|| SymbolicError::ColumnName(name.to_string(), column.clone()))?;
            parsed.push(key);
        }

        // The evaluator numbers columns globally in call order; the proof numbers them per tree
        // in the same call order. Rank the global indices per tree.
        let n_trees = info.mask_offsets.len();
        let mut columns = BTreeMap::new();
        let mut mask_offsets = vec![Vec::new(); n_trees.max(3)];
        let mut col_start = vec![0; n_trees.max(3)];
        for tree in 0..n_trees {
            let declared = &info.mask_offsets[tree];
            mask_offsets[tree] = declared.clone();
            if tree < locations.len() {
                col_start[tree] = locations[tree].col_start;
            }
            let mut globals: Vec<usize> = parsed
                .iter()
                .filter(|(t, _, _)| *t == tree)
                .map(|(_, g, _)| *g)
                .collect();
            globals.sort_unstable();
            globals.dedup();
            if globals.len() != declared.len() {
                return Err(SymbolicError::UnusedColumn {
                    component: name.into(),
                    tree,
                    declared: declared.len(),
                    used: globals.len(),
                });
            }
            for (local, global) in globals.iter().enumerate() {
                for &(t, g, offset) in parsed.iter().filter(|(t, g, _)| *t == tree && g == global) {
                    let value = declared[local]
                        .iter()
                        .position(|o| *o == offset)
                        .ok_or_else(|| SymbolicError::Offset(name.into(), local, offset))?;
                    columns.insert(
                        (t, g, offset),
                        MaskValue {
                            tree,
                            column: col_start[tree] + local,
                            value,
                        },
                    );
                }
            }
        }

        let mut preprocessed = BTreeMap::new();
        for (id, index) in info
            .preprocessed_columns
            .iter()
            .zip(preprocessed_indices)
        {
            preprocessed.insert(id.id.clone(), *index);
        }
        if info.preprocessed_columns.len() != preprocessed_indices.len() {
            return Err(SymbolicError::Preprocessed(name.into(), "count".into()));
        }

        Ok(SymbolicComponent {
            name: name.into(),
            intermediates,
            constraints,
            columns,
            preprocessed,
            mask_offsets,
            col_start,
        })
    }

    /// The sampled value a symbolic column stands for.
    pub fn mask_value(&self, column: &BaseExpr) -> Option<MaskValue> {
        let BaseExpr::Col(_) = column else {
            return None;
        };
        let key = parse_column(&column.format_expr())?;
        self.columns.get(&key).copied()
    }
}

trait SimplifyIntermediate {
    fn simplify_intermediate(self) -> Self;
}

impl SimplifyIntermediate for Intermediate {
    fn simplify_intermediate(self) -> Self {
        match self {
            Intermediate::Base(b) => Intermediate::Base(b.simplify()),
            Intermediate::Ext(x) => Intermediate::Ext(x.simplify()),
        }
    }
}

/// `trace_<interaction>_column_<idx>_offset_<n | neg_n>` (the evaluator's column names).
fn parse_column(name: &str) -> Option<(usize, usize, isize)> {
    let rest = name.strip_prefix("trace_")?;
    let (interaction, rest) = rest.split_once("_column_")?;
    let (idx, offset) = rest.split_once("_offset_")?;
    let offset = match offset.strip_prefix("neg_") {
        Some(n) => -n.parse::<isize>().ok()?,
        None => offset.parse::<isize>().ok()?,
    };
    Some((interaction.parse().ok()?, idx.parse().ok()?, offset))
}

fn collect_base(e: &BaseExpr, out: &mut Vec<String>) {
    match e {
        BaseExpr::Col(_) => out.push(e.format_expr()),
        BaseExpr::Const(_) | BaseExpr::Param(_) => {}
        BaseExpr::Add(a, b) | BaseExpr::Sub(a, b) | BaseExpr::Mul(a, b) => {
            collect_base(a, out);
            collect_base(b, out);
        }
        BaseExpr::Neg(a) | BaseExpr::Inv(a) => collect_base(a, out),
    }
}

fn collect_ext(e: &ExtExpr, out: &mut Vec<String>) {
    match e {
        ExtExpr::SecureCol(parts) => parts.iter().for_each(|p| collect_base(p, out)),
        ExtExpr::Const(_) | ExtExpr::Param(_) => {}
        ExtExpr::Add(a, b) | ExtExpr::Sub(a, b) | ExtExpr::Mul(a, b) => {
            collect_ext(a, out);
            collect_ext(b, out);
        }
        ExtExpr::Neg(a) => collect_ext(a, out),
    }
}
