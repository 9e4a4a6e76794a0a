//! A constraint program (the [`crate::cairo::op`] format) compiled to straight-line Cairo: one
//! function per intermediate and per constraint, computing exactly what the thread verifier's
//! interpreter (`oods::accumulate_component`) computes from the same words, with no decoding at
//! verification time.
//!
//! The interpreter spends most of its steps deciding what to do (a call, a match and a word
//! pop per node; ~90 steps a node on the signed AIR); the arithmetic is the same integer
//! arithmetic on `oods::Wide` coordinates either way. The generated code keeps the
//! interpreter's rule of when a value is narrowed (a node is "small" exactly when the
//! interpreter's `eval_op` returns it small), so every intermediate value, and the folded
//! result, is the interpreter's bit for bit, and the interpreter's bound argument (`oods::Wide`:
//! no felt252 wraps, `narrow` in range) carries over unchanged. The Cairo tests compare both
//! with stwo at random points.
//!
//! Class size is the price: ~7 CASM felts a program word where a stored word takes ~0.8, even
//! with the products, mask reads and folds as calls (`oods::mul_small`, `sample`, `fold_wide`).
//! Every program of the signed AIR is compiled; the order book keeps its fill program (7,759
//! words) as data for the interpreter (`AirSpec::interpreted`).

use std::collections::HashMap;
use std::fmt::Write;

use crate::cairo::op;

/// Calls (intermediates, folds) per generated function.
const CALLS_PER_CHUNK: usize = 8;

/// Why a program cannot be compiled (it came from [`crate::cairo::component_program`], so these
/// are generator bugs, not user errors).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("program of `{0}` ends inside an expression")]
    Truncated(String),
    #[error("program of `{0}`: unknown opcode {1}")]
    Opcode(String, u32),
    #[error("program of `{0}`: {1} words left after its expressions")]
    Trailing(String, usize),
}

/// Emits one expression's Cairo statements.
struct Expr<'a> {
    name: &'a str,
    code: &'a [u32],
    pos: usize,
    body: String,
    temps: usize,
    /// Leaves already bound in this function (a mask value, a relation element, a slot, a
    /// constant), by their Cairo expression: read once, reused.
    leaves: HashMap<String, String>,
}

impl Expr<'_> {
    fn word(&mut self) -> Result<u32, CompileError> {
        let w = *self
            .code
            .get(self.pos)
            .ok_or_else(|| CompileError::Truncated(self.name.to_string()))?;
        self.pos += 1;
        Ok(w)
    }

    fn peek(&self) -> Result<u32, CompileError> {
        self.code
            .get(self.pos)
            .copied()
            .ok_or_else(|| CompileError::Truncated(self.name.to_string()))
    }

    /// Binds `value` to a fresh temporary and returns its name.
    fn bind(&mut self, value: String) -> String {
        let t = format!("t{}", self.temps);
        self.temps += 1;
        let _ = writeln!(self.body, "    let {t} = {value};");
        t
    }

    /// The longest run (at least 2, at most `max` operands) of `mul(alpha[r, i + k], sample
    /// j + k)` operands at the head of the stream, as `(r, i, j, length)`: the interpreter's
    /// `sum_operand` fast path, consecutive.
    fn combine_run(&self, max: usize) -> Option<(u32, u32, u32, usize)> {
        let at = |k: usize| -> Option<(u32, u32, u32)> {
            match self.code.get(self.pos + 6 * k..self.pos + 6 * k + 6)? {
                [op::MUL, op::RELATION_ALPHA, r, i, op::SAMPLE, j] => Some((*r, *i, *j)),
                _ => None,
            }
        };
        let (r, i, j) = at(0)?;
        let mut m = 1;
        while m < max && at(m) == Some((r, i + m as u32, j + m as u32)) {
            m += 1;
        }
        (m >= 2).then_some((r, i, j, m))
    }

    /// A leaf (always small): bound on first use, its temporary reused after.
    fn leaf(&mut self, value: String) -> (String, bool) {
        if let Some(t) = self.leaves.get(&value) {
            return (t.clone(), true);
        }
        let t = self.bind(value.clone());
        self.leaves.insert(value, t.clone());
        (t, true)
    }

    /// The node at the head of the stream: the temporary holding it and whether it is small
    /// (coordinates in [0, 2^32), as `oods::eval_op` marks it).
    fn node(&mut self) -> Result<(String, bool), CompileError> {
        let opcode = self.word()?;
        self.op(opcode)
    }

    /// A small operand: the node narrowed unless it already is small (`oods::small`).
    fn small(&mut self) -> Result<String, CompileError> {
        let (t, is_small) = self.node()?;
        Ok(if is_small { t } else { self.bind(format!("narrow({t})")) })
    }

    fn op(&mut self, opcode: u32) -> Result<(String, bool), CompileError> {
        let out = match opcode {
            op::CONST => {
                let c = self.word()?;
                self.leaf(format!("Wide {{ a: {c}, b: 0, c: 0, d: 0 }}"))
            }
            op::SAMPLE => {
                let j = self.word()?;
                self.leaf(format!("sample(values, {j})"))
            }
            op::ADD => {
                // `add` n times, then n + 1 operands in prefix order: one sum.
                let mut n = 1;
                while self.peek()? == op::ADD {
                    self.pos += 1;
                    n += 1;
                }
                let mut terms = Vec::with_capacity(n + 1);
                let mut left = n + 1;
                while left > 0 {
                    // A run of `alpha[r, i + k] * value[j + k]` operands is one `alpha_dot`.
                    let run = self.combine_run(left);
                    if let Some((r, i, j, m)) = run {
                        self.pos += 6 * m;
                        left -= m;
                        terms.push(self.bind(format!(
                            "alpha_dot((*relations[{r}].alpha_powers).slice({i}, {m}), values.slice({j}, {m}))"
                        )));
                    } else {
                        terms.push(self.node()?.0);
                        left -= 1;
                    }
                }
                let coordinate = |k: &str| -> String {
                    terms.iter().map(|t| format!("{t}.{k}")).collect::<Vec<_>>().join(" + ")
                };
                let value = format!(
                    "Wide {{ a: {}, b: {}, c: {}, d: {} }}",
                    coordinate("a"),
                    coordinate("b"),
                    coordinate("c"),
                    coordinate("d")
                );
                (self.bind(value), false)
            }
            op::SUB => {
                let (x, _) = self.node()?;
                let (y, _) = self.node()?;
                let value = format!(
                    "Wide {{ a: {x}.a - {y}.a, b: {x}.b - {y}.b, c: {x}.c - {y}.c, d: {x}.d - {y}.d }}"
                );
                (self.bind(value), false)
            }
            op::MUL => {
                let x = self.small()?;
                let y = self.small()?;
                (self.bind(format!("mul_small({x}, {y})")), false)
            }
            op::MUL_CONST => {
                let k = self.word()?;
                let x = self.small()?;
                let value = format!(
                    "Wide {{ a: {x}.a * {k}, b: {x}.b * {k}, c: {x}.c * {k}, d: {x}.d * {k} }}"
                );
                (self.bind(value), false)
            }
            op::NEG => {
                let (x, _) = self.node()?;
                (self.bind(format!("Wide {{ a: -{x}.a, b: -{x}.b, c: -{x}.c, d: -{x}.d }}")), false)
            }
            op::INV => {
                let (x, _) = self.node()?;
                (self.bind(format!("wide(QM31Trait::inverse(to_qm31(narrow({x}))))")), true)
            }
            op::PARTIAL_EVALS => {
                let (a, b, c, d) = (self.small()?, self.small()?, self.small()?, self.small()?);
                (self.bind(format!("from_partial_evals({a}, {b}, {c}, {d})")), false)
            }
            op::EXT_CONST => {
                let (a, b, c, d) = (self.word()?, self.word()?, self.word()?, self.word()?);
                self.leaf(format!("Wide {{ a: {a}, b: {b}, c: {c}, d: {d} }}"))
            }
            op::INTERMEDIATE => {
                let k = self.word()?;
                self.leaf(format!("*slots[{}]", k + 2))
            }
            op::RELATION_Z => {
                let r = self.word()?;
                self.leaf(format!("relation_z(relations, {r})"))
            }
            op::RELATION_ALPHA => {
                let r = self.word()?;
                let i = self.word()?;
                self.leaf(format!("alpha(relations, {r}, {i})"))
            }
            op::CLAIMED_SUM => self.leaf("*slots[0]".into()),
            op::COLUMN_SIZE_INV => self.leaf("*slots[1]".into()),
            other => return Err(CompileError::Opcode(self.name.to_string(), other)),
        };
        Ok(out)
    }
}

/// Component `name`'s program as Cairo: `fn {name}_i{k}` per intermediate and `fn {name}_c{k}`
/// per constraint (`(values, relations, slots) -> Wide`, slots as the interpreter's: claimed
/// sum, `1 / 2^log_size`, then the intermediates), and `fn accumulate_{name}_program`, which
/// evaluates the intermediates in order and folds the constraints into `acc` with a unit
/// denominator (`oods::fold_wide`), as `accumulate_component` does.
pub fn compile_program(name: &str, code: &[u32]) -> Result<String, CompileError> {
    let (n_intermediates, n_constraints) = match code {
        [i, c, ..] => (*i as usize, *c as usize),
        _ => return Err(CompileError::Truncated(name.to_string())),
    };
    let mut functions = String::new();
    let mut pos = 2;
    let mut expression = |fn_name: String, doc: String, pos: &mut usize| -> Result<bool, CompileError> {
        let mut e = Expr { name, code, pos: *pos, body: String::new(), temps: 0, leaves: HashMap::new() };
        let (t, is_small) = e.node()?;
        *pos = e.pos;
        let _ = write!(
            functions,
            "/// {doc}
#[inline(never)]
fn {fn_name}(values: Span<Coordinates>, relations: Span<LookupElements>, slots: Span<Wide>) -> Wide {{
{}    {t}
}}

",
            e.body
        );
        Ok(is_small)
    };
    // The calls go in chunks of `CALLS_PER_CHUNK` per function, each function revoking `ap`
    // tracking first: a call's `ap` change is all its callee's work, and after calls adding up
    // past 2^15 cells a value addressed relative to `ap` is out of an instruction offset's reach
    // (devnet's Sierra -> CASM refuses such a class: "Offset overflow"). With tracking revoked
    // the values that live across calls are kept as `fp` locals.
    let mut main = format!(
        "/// Folds the {n_constraints} constraints of `{name}` into `acc` (unit denominator): its
/// program compiled to straight-line code (`straight` in the generator).
fn accumulate_{name}_program(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, relations: Span<LookupElements>,
    claimed_sum: QM31, log_size: u32,
) -> QM31 {{
    core::internal::revoke_ap_tracking();
    let mut slots: Array<Wide> = array![wide(claimed_sum), wide(column_size_inverse(log_size))];
"
    );
    let mut chunks = String::new();
    let mut calls = Vec::new();
    for k in 0..n_intermediates {
        let f = format!("{name}_i{k}");
        let small = expression(f.clone(), format!("Intermediate {k} of `{name}`."), &mut pos)?;
        let value = format!("{f}(values, relations, slots.span())");
        calls.push(if small { value } else { format!("narrow({value})") });
    }
    for (c, chunk) in calls.chunks(CALLS_PER_CHUNK).enumerate() {
        let _ = writeln!(main, "    {name}_intermediates_{c}(ref slots, values, relations);");
        let _ = write!(
            chunks,
            "/// Appends intermediates {first}.. of `{name}` to `slots`.
#[inline(never)]
fn {name}_intermediates_{c}(
    ref slots: Array<Wide>, values: Span<Coordinates>, relations: Span<LookupElements>,
) {{
    core::internal::revoke_ap_tracking();
",
            first = c * CALLS_PER_CHUNK,
        );
        for call in chunk {
            let _ = writeln!(chunks, "    slots.append({call});");
        }
        chunks.push_str("}\n\n");
    }
    main.push_str(
        "    let slots = slots.span();\n    let random_coeff = wide(random_coeff);\n    let acc = wide(acc);\n",
    );
    let mut folds = Vec::new();
    for k in 0..n_constraints {
        let f = format!("{name}_c{k}");
        expression(f.clone(), format!("Constraint {k} of `{name}` (undivided)."), &mut pos)?;
        folds.push(format!("    let acc = fold_wide(acc, random_coeff, {f}(values, relations, slots));"));
    }
    for (c, chunk) in folds.chunks(CALLS_PER_CHUNK).enumerate() {
        let _ = writeln!(main, "    let acc = {name}_fold_{c}(acc, random_coeff, values, relations, slots);");
        let _ = write!(
            chunks,
            "/// Folds constraints {first}.. of `{name}` into `acc`.
#[inline(never)]
fn {name}_fold_{c}(
    acc: Wide, random_coeff: Wide, values: Span<Coordinates>, relations: Span<LookupElements>,
    slots: Span<Wide>,
) -> Wide {{
    core::internal::revoke_ap_tracking();
{}
    acc
}}

",
            chunk.join("\n"),
            first = c * CALLS_PER_CHUNK,
        );
    }
    main.push_str("    to_qm31(acc)\n}\n\n");
    main.push_str(&chunks);
    if pos != code.len() {
        return Err(CompileError::Trailing(name.to_string(), code.len() - pos));
    }
    Ok(main + &functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_every_opcode_with_the_interpreters_smallness() {
        // One intermediate: inv(sample 3); one constraint:
        // add(add(mul(alpha[1, 2], sample 0), mul_const(5, sub(sample 1, const 7))), neg(intermediate 0)).
        let code = [
            1, 1, //
            op::INV, op::SAMPLE, 3, //
            op::ADD, op::ADD, op::MUL, op::RELATION_ALPHA, 1, 2, op::SAMPLE, 0, op::MUL_CONST, 5,
            op::SUB, op::SAMPLE, 1, op::CONST, 7, op::NEG, op::INTERMEDIATE, 0,
        ];
        let cairo = compile_program("demo", &code).unwrap();
        // The inverse is small: stored without narrowing.
        assert!(cairo.contains("slots.append(demo_i0(values, relations, slots.span()));"), "{cairo}");
        // The scaled difference is narrowed first (a difference is not small).
        assert!(cairo.contains("narrow(t"), "{cairo}");
        assert!(cairo.contains("mul_small(t"), "{cairo}");
        assert!(cairo.contains("*slots[2]"), "{cairo}");
        assert!(cairo.contains("alpha(relations, 1, 2)"), "{cairo}");
        assert!(cairo.contains("fold_wide(acc, random_coeff, demo_c0(values, relations, slots))"));
        assert!(cairo.contains("demo_intermediates_0(ref slots, values, relations);"), "{cairo}");
        assert!(cairo.contains("let acc = demo_fold_0(acc, random_coeff, values, relations, slots);"));
    }

    #[test]
    fn consecutive_combine_terms_are_one_alpha_dot() {
        // add(add(add(mul(alpha[2, 4], s 10), mul(alpha[2, 5], s 11)), mul(alpha[2, 6], s 12)), mul(alpha[2, 8], s 13))
        let term = |i: u32, j: u32| [op::MUL, op::RELATION_ALPHA, 2, i, op::SAMPLE, j];
        let mut code = vec![0, 1, op::ADD, op::ADD, op::ADD];
        for (i, j) in [(4, 10), (5, 11), (6, 12), (8, 13)] {
            code.extend(term(i, j));
        }
        let cairo = compile_program("demo", &code).unwrap();
        assert!(
            cairo.contains("alpha_dot((*relations[2].alpha_powers).slice(4, 3), values.slice(10, 3))"),
            "{cairo}"
        );
        // The fourth term breaks the run (alpha 8, not 7): a product of its own.
        assert!(cairo.contains("alpha(relations, 2, 8)"), "{cairo}");
        assert_eq!(cairo.matches("mul_small(").count(), 1, "{cairo}");
    }

    #[test]
    fn refuses_truncated_unknown_and_trailing_programs() {
        assert!(matches!(compile_program("x", &[0, 1, op::SUB, op::SAMPLE, 0]), Err(CompileError::Truncated(_))));
        assert!(matches!(compile_program("x", &[0, 1, 99]), Err(CompileError::Opcode(_, 99))));
        assert!(matches!(compile_program("x", &[0, 1, op::CLAIMED_SUM, 0]), Err(CompileError::Trailing(_, 1))));
    }
}
