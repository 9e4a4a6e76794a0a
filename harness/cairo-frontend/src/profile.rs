//! `test --profile`: where a test's Cairo steps go, as a call tree of inclusive step counts.
//!
//! The runner's profiler records, for every call stack it saw, the steps of the innermost frame
//! including its callees (frames deeper than the collection depth fold into their ancestor):
//! the inclusive cost of a call path, which is what a per-phase profile of a verifier needs
//! ("the OODS check costs X of the Y steps"). Cairo loops are recursive functions, so a loop of
//! n iterations is n nested frames; [`inclusive_weights`] folds each run of a repeated frame
//! into one, so a loop shows once, with everything it did.

use std::collections::BTreeMap;
use std::fmt::Write;

use cairo_lang_runner::profiling::ProfilingInfo;
use cairo_lang_sierra::program::{Function, Program};

/// What `--profile` prints.
#[derive(Debug, Clone, Copy)]
pub struct ProfileOptions {
    /// Call-tree levels below the test function to print.
    pub depth: usize,
    /// Hide call paths below this share of the test's steps (percent).
    pub min_percent: f64,
    /// How many of the largest functions (CASM felts) to list per package.
    pub top_functions: usize,
    /// How many of the heaviest (function, libfunc) pairs to list per test.
    pub top_libfuncs: usize,
}

/// A function's name in the program's debug info (its numeric id without it).
fn function_name(function: &Function) -> String {
    function
        .id
        .debug_name
        .as_ref()
        .map_or_else(|| function.id.id.to_string(), |name| name.to_string())
}

/// `stack` with each run of one repeated frame (a loop's iterations) folded into one frame, or
/// `None` when the stack ends in an inner iteration: that frame's weight is already inside
/// its outer iteration's. A call made from any iteration is its own call and keeps its path.
fn fold_loops(stack: &[usize]) -> Option<Vec<usize>> {
    if stack.len() >= 2 && stack[stack.len() - 1] == stack[stack.len() - 2] {
        return None;
    }
    let mut folded: Vec<usize> = Vec::with_capacity(stack.len());
    for idx in stack {
        if folded.last() != Some(idx) {
            folded.push(*idx);
        }
    }
    Some(folded)
}

/// Inclusive steps per call path (user-function names, outermost first; a run of recursive
/// frames of one function, i.e. a loop, is one frame).
pub fn inclusive_weights(program: &Program, info: &ProfilingInfo) -> BTreeMap<Vec<String>, usize> {
    let name = |idx: usize| program.funcs.get(idx).map_or_else(|| format!("#{idx}"), function_name);
    let mut inclusive: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (stack, weight) in info.stack_trace_weights.iter() {
        if let Some(folded) = fold_loops(stack) {
            let names: Vec<String> = folded.into_iter().map(name).collect();
            *inclusive.entry(names).or_insert(0) += *weight;
        }
    }
    inclusive
}

/// Which user function and which generic libfunc each Sierra statement belongs to: a
/// function's statements are contiguous from its entry point.
struct StatementIndex<'a> {
    program: &'a Program,
    /// (entry statement, function index), sorted.
    entries: Vec<(usize, usize)>,
    /// Libfunc id -> generic libfunc name.
    generic: std::collections::HashMap<u64, String>,
}

impl<'a> StatementIndex<'a> {
    fn new(program: &'a Program) -> Self {
        let mut entries: Vec<(usize, usize)> =
            program.funcs.iter().enumerate().map(|(i, f)| (f.entry_point.0, i)).collect();
        entries.sort();
        let generic = program
            .libfunc_declarations
            .iter()
            .map(|d| (d.id.id, d.long_id.generic_id.0.to_string()))
            .collect();
        Self { program, entries, generic }
    }

    /// The name of the user function holding `statement` ("?" if none).
    fn function(&self, statement: usize) -> String {
        let owner = match self.entries.binary_search(&(statement, usize::MAX)) {
            Ok(i) | Err(i) => i.checked_sub(1).map(|i| self.entries[i].1),
        };
        owner.and_then(|i| self.program.funcs.get(i)).map_or_else(|| "?".to_string(), function_name)
    }

    /// The generic libfunc `statement` invokes ("return" for a return, "?" if unknown).
    fn libfunc(&self, statement: usize) -> String {
        match self.program.statements.get(statement) {
            Some(cairo_lang_sierra::program::Statement::Invocation(inv)) => {
                self.generic.get(&inv.libfunc_id.id).cloned().unwrap_or_else(|| "?".to_string())
            }
            Some(cairo_lang_sierra::program::Statement::Return(_)) => "return".to_string(),
            None => "?".to_string(),
        }
    }
}

/// Steps per (user function, generic libfunc), heaviest first: which operations a function's
/// steps are spent in. Range checks are not attributed by the runner, so this is how to find
/// them: the libfuncs that consume range checks (u32/u64/u128 arithmetic and comparisons,
/// conversions from felt252, `array_get`, `withdraw_gas` once per loop iteration) are marked `rc`.
pub fn libfunc_weights(program: &Program, info: &ProfilingInfo) -> Vec<(String, String, usize)> {
    let index = StatementIndex::new(program);
    let mut weights: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (statement, weight) in info.sierra_statement_weights.iter_sorted() {
        let key = (index.function(statement.0), index.libfunc(statement.0));
        *weights.entry(key).or_insert(0) += *weight;
    }
    let mut out: Vec<(String, String, usize)> =
        weights.into_iter().map(|((f, l), w)| (f, l, w)).collect();
    out.sort_by(|a, b| b.2.cmp(&a.2));
    out
}

/// Memory holes the runner's `branch_align`s left, per user function, largest first: where a
/// branch writes fewer cells than its sibling, the compiler pads it with `ap += k` (one step,
/// k cells never written), and those cells are holes, which Starknet charges as steps. The
/// runner counts a run's holes but not where they are; this attributes the padding ones
/// (each executed `branch_align` times its k). Holes of locals a path never writes are not here.
pub fn branch_align_holes(
    program: &Program,
    casm: &cairo_lang_sierra_to_casm::compiler::CairoProgram,
    info: &ProfilingInfo,
) -> Vec<(String, usize)> {
    use cairo_lang_casm::instructions::InstructionBody;
    use cairo_lang_casm::operand::ResOperand;
    let statements = &casm.debug_info.sierra_statement_info;
    let index = StatementIndex::new(program);
    let mut holes: BTreeMap<String, usize> = BTreeMap::new();
    for (statement, weight) in info.sierra_statement_weights.iter_sorted() {
        if index.libfunc(statement.0) != "branch_align" {
            continue;
        }
        let Some(first) = statements.get(statement.0).map(|s| s.instruction_idx) else { continue };
        let end = statements.get(statement.0 + 1).map_or(casm.instructions.len(), |s| s.instruction_idx);
        let instructions = &casm.instructions[first..end.max(first)];
        if instructions.is_empty() {
            continue;
        }
        let padding: usize = instructions
            .iter()
            .filter_map(|i| match &i.body {
                InstructionBody::AddAp(add) => match &add.operand {
                    ResOperand::Immediate(k) => usize::try_from(&k.value).ok(),
                    _ => None,
                },
                _ => None,
            })
            .sum();
        let executions = *weight / instructions.len();
        *holes.entry(index.function(statement.0)).or_insert(0) += executions * padding;
    }
    let mut out: Vec<(String, usize)> = holes.into_iter().filter(|(_, n)| *n > 0).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1));
    out
}

/// Whether a generic libfunc consumes range checks.
pub fn uses_range_checks(libfunc: &str) -> bool {
    const RC: [&str; 9] = ["u8_", "u16_", "u32_", "u64_", "u128", "u256", "bounded_int", "downcast", "withdraw_gas"];
    RC.iter().any(|p| libfunc.starts_with(p))
        || matches!(libfunc, "array_get" | "array_slice" | "span_from_tuple" | "felt252_dict_squash")
}

/// The builtins a run used and the L2 gas Starknet would charge for them, as one line.
///
/// Classes metered in Cairo steps (Sierra < 1.7, ours) pay `40,000 L1->L2 x max(...)` over the
/// weighted resources, not their sum (blockifier `get_extended_vm_resources_cost`; weights of
/// the 0.14 versioned constants in L1 gas: step 0.0025, range check 0.04, bitwise 0.16,
/// Poseidon and Pedersen 0.08). So the heaviest resource sets the price: cutting steps only
/// pays while steps are that resource.
pub fn render_resources(steps: usize, holes: usize, builtins: &[(&'static str, usize)]) -> String {
    const L2_PER_L1: f64 = 40_000.0;
    let weight = |name: &str| match name {
        "range_check" | "range_check96" | "add_mod" | "mul_mod" => 0.04,
        "bitwise" => 0.16,
        "poseidon" | "pedersen" => 0.08,
        "ec_op" => 2.56,
        "ecdsa" | "keccak" => 5.12,
        _ => 0.0,
    };
    let mut heaviest = ("steps+holes", (steps + holes) as f64 * 0.0025 * L2_PER_L1);
    let mut out = format!("resources: steps {steps}, memory holes {holes}");
    let mut sorted = builtins.to_vec();
    sorted.sort();
    for (name, count) in sorted {
        if count == 0 {
            continue;
        }
        let gas = count as f64 * weight(name) * L2_PER_L1;
        let _ = write!(out, ", {name} {count}");
        if gas > heaviest.1 {
            heaviest = (name, gas);
        }
    }
    let _ = write!(out, "; L2 gas ~{:.3e} set by {}", heaviest.1, heaviest.0);
    out
}

/// The call tree under the test function, children sorted by cost, one line per path:
/// `steps  percent  name` indented by depth.
pub fn render(test_name: &str, steps: usize, weights: &BTreeMap<Vec<String>, usize>, opts: ProfileOptions) -> String {
    let mut out = format!("profile of {test_name}: {steps} steps\n");
    // The runner's outermost frame is the test function itself.
    let roots: Vec<&Vec<String>> = weights.keys().filter(|path| path.len() == 1).collect();
    for root in roots {
        render_children(&mut out, root, steps, weights, opts, 0);
    }
    out
}

fn render_children(
    out: &mut String,
    parent: &[String],
    total: usize,
    weights: &BTreeMap<Vec<String>, usize>,
    opts: ProfileOptions,
    level: usize,
) {
    if level >= opts.depth {
        return;
    }
    let mut children: Vec<(&Vec<String>, usize)> = weights
        .iter()
        .filter(|(path, _)| path.len() == parent.len() + 1 && path.starts_with(parent))
        .map(|(path, w)| (path, *w))
        .collect();
    children.sort_by(|a, b| b.1.cmp(&a.1));
    for (path, weight) in children {
        let percent = weight as f64 * 100.0 / total.max(1) as f64;
        if percent < opts.min_percent {
            continue;
        }
        let name = path.last().map_or("", String::as_str);
        let _ = writeln!(out, "{weight:>12} {percent:>6.2}%  {}{name}", "  ".repeat(level));
        render_children(out, path, total, weights, opts, level + 1);
    }
}

/// Bytecode size (CASM felts) per user function of a compiled test program, largest first.
/// Functions' Sierra statements are contiguous, so a function spans from its entry
/// statement's offset to the next function's. The test program is compiled by this crate's
/// 2.9 compiler, not the deployed class's, so sizes are relative: use them to see which
/// function grew, and the class-size tests for the limit.
pub fn casm_sizes(program: &Program, casm: &cairo_lang_sierra_to_casm::compiler::CairoProgram) -> Vec<(String, usize)> {
    let info = &casm.debug_info.sierra_statement_info;
    let offset = |statement: usize| info.get(statement).map_or_else(|| info.last().map_or(0, |s| s.end_offset), |s| s.start_offset);
    let mut entries: Vec<(usize, String)> = program
        .funcs
        .iter()
        .map(|f| (f.entry_point.0, function_name(f)))
        .collect();
    entries.sort();
    let mut sizes: Vec<(String, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, (entry, name))| {
            let end = entries.get(i + 1).map_or(info.len(), |next| next.0);
            (name.clone(), offset(end).saturating_sub(offset(*entry)))
        })
        .collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1));
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_loop_is_one_frame_and_its_inner_iterations_are_not_counted_again() {
        // f calls loop L (3 iterations); g is called from the second iteration.
        assert_eq!(fold_loops(&[0, 1]), Some(vec![0, 1]));
        assert_eq!(fold_loops(&[0, 1, 1]), None);
        assert_eq!(fold_loops(&[0, 1, 1, 1]), None);
        assert_eq!(fold_loops(&[0, 1, 1, 2]), Some(vec![0, 1, 2]));
        assert_eq!(fold_loops(&[0]), Some(vec![0]));
    }

    #[test]
    fn the_heaviest_weighted_resource_sets_the_gas() {
        // 1M steps = 1e8 L2 gas; 100k range checks = 1.6e8: the range checks set the price.
        let line = render_resources(1_000_000, 0, &[("range_check", 100_000), ("bitwise", 1)]);
        assert!(line.ends_with("L2 gas ~1.600e8 set by range_check"), "{line}");
        let line = render_resources(1_000_000, 0, &[("range_check", 10_000)]);
        assert!(line.ends_with("L2 gas ~1.000e8 set by steps+holes"), "{line}");
        assert!(uses_range_checks("u128_safe_divmod") && uses_range_checks("withdraw_gas"));
        assert!(!uses_range_checks("felt252_add"));
    }

    #[test]
    fn children_are_inclusive_and_sorted_and_small_paths_hidden() {
        let mut w = BTreeMap::new();
        w.insert(path(&["t"]), 100);
        w.insert(path(&["t", "a"]), 30);
        w.insert(path(&["t", "b"]), 60);
        w.insert(path(&["t", "b", "c"]), 50);
        w.insert(path(&["t", "z"]), 1);
        let text = render("t", 100, &w, ProfileOptions { depth: 3, min_percent: 2.0, top_functions: 0, top_libfuncs: 0 });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "profile of t: 100 steps");
        assert!(lines[1].ends_with("  b") && lines[1].contains("60"), "{text}");
        assert!(lines[2].ends_with("    c") && lines[2].contains("50"), "{text}");
        assert!(lines[3].ends_with("  a"), "{text}");
        assert_eq!(lines.len(), 4, "1% path hidden: {text}");
    }
}
