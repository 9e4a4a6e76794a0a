//! A constraint program (the [`crate::cairo::op`] format) compiled to straight-line Cairo: one
//! function per intermediate and per constraint, computing exactly what the thread verifier's
//! interpreter (`oods::accumulate_component`) computes from the same words, with no decoding at
//! verification time.
//!
//! The interpreter spends most of its steps deciding what to do (a call, a match and a word
//! pop per node; ~90 steps a node on the signed AIR); the arithmetic is the same exact integer
//! arithmetic on `oods::Wide` coordinates either way, so every field value is the interpreter's
//! and stwo's. Where it narrows differs: the interpreter narrows every operand of a product
//! that is not a leaf; the compiler knows each node's bound at generation time ([`Node`]: a
//! leaf or narrowed value is below 2^31, a sum adds `ceil_log2(n)` bits, a product of two
//! values `bx + by + 3` bits since each coordinate of `mul_wide` sums 8 products, a scaling by
//! an M31 constant 31 bits, `from_partial_evals` 3) and narrows an operand only where a result
//! would pass [`LIMIT_BITS`] (2^120): no felt252 wraps, and the fold `acc * random_coeff +
//! constraint` stays inside `oods::narrow`'s window (+-2^126). On the signed AIR that is 4
//! narrows per evaluation instead of 221 (each 4 reductions of ~3 range checks). The Cairo
//! tests compare every component and the composition with stwo at random points.
//!
//! Class size is the price: ~7 CASM felts a program word where a stored word takes ~0.8, even
//! with the products, mask reads and folds as calls (`oods::mul_small`, `sample`, `fold_wide`).
//! Every program is compiled; the order book's do not fit one class together, so its fill
//! (7,759 words) has a class of its own (`AirSpec::split_off`).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::cairo::op;

/// Calls (intermediates, folds) per generated function.
const CALLS_PER_CHUNK: usize = 8;

/// A compiled node: the temporary holding it and a bound `b` on its coordinates' absolute
/// values (`|x| < 2^b`).
type Node = (String, u32);

/// Canonical values (mask values, relation elements, constants, narrowed values): below 2^31.
const CANONICAL_BITS: u32 = 31;

/// Every node stays below 2^120 in absolute value: far from felt252's wrap, and the fold
/// `acc * random_coeff + constraint` (below 2^65 + 2^120) inside `oods::narrow`'s +-2^126.
/// Operands are narrowed (to canonical) only where a result would pass it.
const LIMIT_BITS: u32 = 120;

fn ceil_log2(n: usize) -> u32 {
    usize::BITS - n.saturating_sub(1).leading_zeros()
}

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
    #[error("program of `{0}`: constraints {1}..{2} are not a part at chunk bounds")]
    Part(String, usize, usize),
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
    /// The intermediates the expression reads.
    reads: BTreeSet<usize>,
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

    /// Whether the head of the stream is `alpha^0` of some relation.
    fn alpha_zero(&self) -> bool {
        matches!(self.code.get(self.pos..self.pos + 3), Some([op::RELATION_ALPHA, _, 0]))
    }

    /// A leaf (canonical: below 2^31): bound on first use, its temporary reused after.
    fn leaf(&mut self, value: String) -> Node {
        if let Some(t) = self.leaves.get(&value) {
            return (t.clone(), CANONICAL_BITS);
        }
        let t = self.bind(value.clone());
        self.leaves.insert(value, t.clone());
        (t, CANONICAL_BITS)
    }

    /// The node at the head of the stream: the temporary holding it and its bound.
    fn node(&mut self) -> Result<Node, CompileError> {
        let opcode = self.word()?;
        self.op(opcode)
    }

    /// `x` narrowed (canonical) unless it already is.
    fn narrowed(&mut self, x: Node) -> Node {
        if x.1 <= CANONICAL_BITS {
            x
        } else {
            (self.bind(format!("narrow({})", x.0)), CANONICAL_BITS)
        }
    }

    /// The operands of a product (`extra` bits for its sum of products), narrowed, the larger
    /// first, until the product stays within [`LIMIT_BITS`].
    fn factors(&mut self, x: Node, y: Node, extra: u32) -> (Node, Node) {
        let (mut x, mut y) = (x, y);
        while x.1 + y.1 + extra > LIMIT_BITS {
            if x.1 >= y.1 {
                x = self.narrowed(x);
            } else {
                y = self.narrowed(y);
            }
        }
        (x, y)
    }

    /// Terms of a linear combination whose coefficients' absolute values add up to at most
    /// `2^extra` (a sum of n terms: `ceil_log2(n)`), all narrowed if the result would pass
    /// [`LIMIT_BITS`]; the result's bound.
    fn terms(&mut self, terms: Vec<Node>, extra: u32) -> (Vec<Node>, u32) {
        let bound = |terms: &[Node]| terms.iter().map(|t| t.1).max().unwrap_or(0) + extra;
        if bound(&terms) <= LIMIT_BITS {
            let b = bound(&terms);
            return (terms, b);
        }
        let terms: Vec<Node> = terms.into_iter().map(|t| self.narrowed(t)).collect();
        let b = bound(&terms);
        (terms, b)
    }

    fn op(&mut self, opcode: u32) -> Result<Node, CompileError> {
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
                    // A run of `alpha[r, i + k] * value[j + k]` operands is one `alpha_dot`:
                    // m products of canonical values, each below 2^65.
                    let run = self.combine_run(left);
                    if let Some((r, i, j, m)) = run {
                        self.pos += 6 * m;
                        left -= m;
                        let t = self.bind(format!(
                            "alpha_dot((*relations[{r}].alpha_powers).slice({i}, {m}), values.slice({j}, {m}))"
                        ));
                        terms.push((t, 2 * CANONICAL_BITS + 3 + ceil_log2(m)));
                    } else {
                        terms.push(self.node()?);
                        left -= 1;
                    }
                }
                let extra = ceil_log2(terms.len());
                let (terms, bits) = self.terms(terms, extra);
                let coordinate = |k: &str| -> String {
                    terms.iter().map(|t| format!("{}.{k}", t.0)).collect::<Vec<_>>().join(" + ")
                };
                let value = format!(
                    "Wide {{ a: {}, b: {}, c: {}, d: {} }}",
                    coordinate("a"),
                    coordinate("b"),
                    coordinate("c"),
                    coordinate("d")
                );
                (self.bind(value), bits)
            }
            op::SUB => {
                let x = self.node()?;
                let y = self.node()?;
                let (xy, bits) = self.terms(vec![x, y], 1);
                let (x, y) = (&xy[0].0, &xy[1].0);
                let value = format!(
                    "Wide {{ a: {x}.a - {y}.a, b: {x}.b - {y}.b, c: {x}.c - {y}.c, d: {x}.d - {y}.d }}"
                );
                (self.bind(value), bits)
            }
            op::MUL => {
                // `alpha^0` is one (every relation's powers start at one: `relation_at`,
                // `LookupElementsTrait::draw`): a product by it is its other factor, exactly.
                if self.alpha_zero() {
                    self.pos += 3;
                    return self.node();
                }
                let x = self.node()?;
                if self.alpha_zero() {
                    self.pos += 3;
                    return Ok(x);
                }
                // Each coordinate of `mul_wide` sums 8 products (with multiplicity): 3 bits more.
                let y = self.node()?;
                let ((x, bx), (y, by)) = self.factors(x, y, 3);
                (self.bind(format!("mul_small({x}, {y})")), bx + by + 3)
            }
            op::MUL_CONST => {
                let k = self.word()?;
                let x = self.node()?;
                let ((x, bx), _) = self.factors(x, (String::new(), 0), CANONICAL_BITS);
                let value = format!(
                    "Wide {{ a: {x}.a * {k}, b: {x}.b * {k}, c: {x}.c * {k}, d: {x}.d * {k} }}"
                );
                (self.bind(value), bx + CANONICAL_BITS)
            }
            op::NEG => {
                let (x, bx) = self.node()?;
                (self.bind(format!("Wide {{ a: -{x}.a, b: -{x}.b, c: -{x}.c, d: -{x}.d }}")), bx)
            }
            op::INV => {
                let (x, _) = self.node()?;
                (self.bind(format!("wide(QM31Trait::inverse(to_qm31(narrow({x}))))")), CANONICAL_BITS)
            }
            op::PARTIAL_EVALS => {
                // Each output coordinate sums its inputs' coordinates with weights adding to 8.
                let parts = vec![self.node()?, self.node()?, self.node()?, self.node()?];
                let (parts, bits) = self.terms(parts, 3);
                let [a, b, c, d] = [&parts[0].0, &parts[1].0, &parts[2].0, &parts[3].0];
                (self.bind(format!("from_partial_evals({a}, {b}, {c}, {d})")), bits)
            }
            op::EXT_CONST => {
                let (a, b, c, d) = (self.word()?, self.word()?, self.word()?, self.word()?);
                self.leaf(format!("Wide {{ a: {a}, b: {b}, c: {c}, d: {d} }}"))
            }
            op::INTERMEDIATE => {
                let k = self.word()?;
                self.reads.insert(k as usize);
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
    compile_program_parts(name, code, &[])
}

/// [`compile_program`], and for each constraint range `lo..hi` of `parts` (multiples of
/// [`CALLS_PER_CHUNK`], or the constraint count) `fn accumulate_{name}_program_{lo}_{hi}`,
/// which folds only those constraints into `acc` and evaluates only the intermediates they
/// read (those of the chunks from the first read on: the earlier slots are zeros nothing
/// reads). Consecutive ranges fold as the whole does: a component split over classes.
pub fn compile_program_parts(
    name: &str,
    code: &[u32],
    parts: &[(usize, usize)],
) -> Result<String, CompileError> {
    let (n_intermediates, n_constraints) = match code {
        [i, c, ..] => (*i as usize, *c as usize),
        _ => return Err(CompileError::Truncated(name.to_string())),
    };
    let mut functions = String::new();
    let mut pos = 2;
    // Compiles one expression into `fn fn_name`: whether its value is canonical, and the
    // intermediates it reads.
    let mut expression = |fn_name: String, doc: String, pos: &mut usize| -> Result<(bool, BTreeSet<usize>), CompileError> {
        let mut e = Expr {
            name,
            code,
            pos: *pos,
            body: String::new(),
            temps: 0,
            leaves: HashMap::new(),
            reads: BTreeSet::new(),
        };
        let (t, bits) = e.node()?;
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
        Ok((bits <= CANONICAL_BITS, e.reads))
    };
    let mut calls = Vec::new();
    let mut intermediate_reads = Vec::new();
    for k in 0..n_intermediates {
        let f = format!("{name}_i{k}");
        let (small, reads) = expression(f.clone(), format!("Intermediate {k} of `{name}`."), &mut pos)?;
        let value = format!("{f}(values, relations, slots.span())");
        calls.push(if small { value } else { format!("narrow({value})") });
        intermediate_reads.push(reads);
    }
    let mut folds = Vec::new();
    let mut constraint_reads = Vec::new();
    for k in 0..n_constraints {
        let f = format!("{name}_c{k}");
        let (_, reads) = expression(f.clone(), format!("Constraint {k} of `{name}` (undivided)."), &mut pos)?;
        folds.push(format!("    let acc = fold_wide(acc, random_coeff, {f}(values, relations, slots));"));
        constraint_reads.push(reads);
    }
    if pos != code.len() {
        return Err(CompileError::Trailing(name.to_string(), code.len() - pos));
    }
    // The calls go in chunks of `CALLS_PER_CHUNK` per function, each function revoking `ap`
    // tracking first: a call's `ap` change is all its callee's work, and after calls adding up
    // past 2^15 cells a value addressed relative to `ap` is out of an instruction offset's reach
    // (devnet's Sierra -> CASM refuses such a class: "Offset overflow"). With tracking revoked
    // the values that live across calls are kept as `fp` locals.
    let mut chunks = String::new();
    for (c, chunk) in calls.chunks(CALLS_PER_CHUNK).enumerate() {
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
    for (c, chunk) in folds.chunks(CALLS_PER_CHUNK).enumerate() {
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
    let mut main = driver(name, "program", &format!("the {n_constraints} constraints"), 0, n_intermediates, 0, n_constraints);
    for &(lo, hi) in parts {
        if lo >= hi || hi > n_constraints || lo % CALLS_PER_CHUNK != 0 || (hi % CALLS_PER_CHUNK != 0 && hi != n_constraints) {
            return Err(CompileError::Part(name.to_string(), lo, hi));
        }
        // The intermediates the part reads, and those they read (an intermediate reads only
        // earlier ones): from the chunk of the first on.
        let mut needed: BTreeSet<usize> = constraint_reads[lo..hi].iter().flatten().copied().collect();
        let mut stack: Vec<usize> = needed.iter().copied().collect();
        while let Some(k) = stack.pop() {
            for &r in &intermediate_reads[k] {
                if needed.insert(r) {
                    stack.push(r);
                }
            }
        }
        let (first, end) = match (needed.first(), needed.last()) {
            (Some(&a), Some(&b)) => (a - a % CALLS_PER_CHUNK, b + 1),
            _ => (0, 0),
        };
        main.push_str(&driver(
            name,
            &format!("program_{lo}_{hi}"),
            &format!("constraints {lo}..{hi}"),
            first,
            end,
            lo,
            hi,
        ));
    }
    main.push_str(&chunks);
    Ok(main + &functions)
}

/// `fn accumulate_{name}_{suffix}`: evaluates intermediates `first..end` (`first` a chunk's
/// start; the slots before it stay zero) and folds constraints `lo..hi` (chunk bounds) into
/// `acc`.
fn driver(name: &str, suffix: &str, what: &str, first: usize, end: usize, lo: usize, hi: usize) -> String {
    let mut out = format!(
        "/// Folds {what} of `{name}` into `acc` (unit denominator): its
/// program compiled to straight-line code (`straight` in the generator).
fn accumulate_{name}_{suffix}(
    acc: QM31, random_coeff: QM31, values: Span<Coordinates>, relations: Span<LookupElements>,
    claimed_sum: QM31, log_size: u32,
) -> QM31 {{
    core::internal::revoke_ap_tracking();
    let mut slots: Array<Wide> = array![wide(claimed_sum), wide(column_size_inverse(log_size))];
"
    );
    if first > 0 {
        let _ = writeln!(
            out,
            "    // Intermediates 0..{first}: read by no constraint here.
    let zero = Wide {{ a: 0, b: 0, c: 0, d: 0 }};
    while slots.len() != {} {{
        slots.append(zero);
    }};",
            first + 2
        );
    }
    let chunk_end = end.div_ceil(CALLS_PER_CHUNK);
    for c in first / CALLS_PER_CHUNK..chunk_end {
        let _ = writeln!(out, "    {name}_intermediates_{c}(ref slots, values, relations);");
    }
    out.push_str(
        "    let slots = slots.span();\n    let random_coeff = wide(random_coeff);\n    let acc = wide(acc);\n",
    );
    for c in lo / CALLS_PER_CHUNK..hi.div_ceil(CALLS_PER_CHUNK) {
        let _ = writeln!(out, "    let acc = {name}_fold_{c}(acc, random_coeff, values, relations, slots);");
    }
    out.push_str("    to_qm31(acc)\n}\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_every_opcode_narrowing_only_past_the_limit() {
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
        // The difference (below 2^32) is scaled without narrowing: only the inverse narrows.
        assert_eq!(cairo.matches("narrow(").count(), 1, "{cairo}");
        assert!(cairo.contains("to_qm31(narrow(t"), "{cairo}");
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
    fn a_product_by_alpha_to_the_zero_is_its_other_factor() {
        // sub(mul(alpha[3, 0], s 5), z[3]), then mul(s 6, alpha[1, 0]), then mul(alpha[1, 1], s 7).
        let code = [
            0, 3, op::SUB, op::MUL, op::RELATION_ALPHA, 3, 0, op::SAMPLE, 5, op::RELATION_Z, 3, //
            op::MUL, op::SAMPLE, 6, op::RELATION_ALPHA, 1, 0, //
            op::MUL, op::RELATION_ALPHA, 1, 1, op::SAMPLE, 7,
        ];
        let cairo = compile_program("demo", &code).unwrap();
        assert!(!cairo.contains("alpha(relations, 3, 0)") && !cairo.contains("alpha(relations, 1, 0)"), "{cairo}");
        // Only the third constraint's product by alpha^1 remains a product.
        assert_eq!(cairo.matches("mul_small(").count(), 1, "{cairo}");
        assert!(cairo.contains("alpha(relations, 1, 1)"), "{cairo}");
    }

    #[test]
    fn a_product_past_the_limit_narrows_its_larger_operand() {
        // mul(mul(mul(s0, s1), mul(s2, s3)), s4): 65-bit factors make a 133-bit product, so the
        // 65-bit left factor is narrowed first (31 + 65 + 3 = 99 bits); then times s4 (31 +
        // 99 + 3 = 133 > 120) narrows that product too.
        let code = [
            0, 1, op::MUL, op::MUL, op::MUL, op::SAMPLE, 0, op::SAMPLE, 1, op::MUL, op::SAMPLE, 2,
            op::SAMPLE, 3, op::SAMPLE, 4,
        ];
        let cairo = compile_program("demo", &code).unwrap();
        assert_eq!(cairo.matches("narrow(").count(), 2, "{cairo}");
        assert_eq!(cairo.matches("mul_small(").count(), 4, "{cairo}");
        // Sums of many narrow values do not narrow.
        let mut code = vec![0, 1];
        code.extend([op::ADD; 63]);
        for j in 0..64 {
            code.extend([op::SAMPLE, j]);
        }
        assert_eq!(compile_program("demo", &code).unwrap().matches("narrow(").count(), 0);
    }

    /// 16 intermediates (`sample k`, or `intermediate from` for the one at `reader`) and 16
    /// constraints, constraint `k` reading intermediate `k`.
    fn sixteen(reader: Option<(u32, u32)>) -> Vec<u32> {
        let mut code = vec![16, 16];
        for k in 0..16 {
            match reader {
                Some((at, from)) if at == k => code.extend([op::INTERMEDIATE, from]),
                _ => code.extend([op::SAMPLE, k]),
            }
        }
        for k in 0..16 {
            code.extend([op::INTERMEDIATE, k]);
        }
        code
    }

    #[test]
    fn a_part_evaluates_only_the_intermediates_its_constraints_read() {
        let cairo = compile_program_parts("demo", &sixteen(None), &[(0, 8), (8, 16)]).unwrap();
        let part = |name: &str| -> String {
            let start = cairo.find(&format!("fn accumulate_demo_{name}(")).expect(name);
            let end = start + cairo[start..].find("\n}\n").unwrap();
            cairo[start..end].to_string()
        };
        let (head, tail, whole) = (part("program_0_8"), part("program_8_16"), part("program"));
        assert!(head.contains("demo_intermediates_0(") && !head.contains("demo_intermediates_1("), "{head}");
        assert!(head.contains("demo_fold_0(") && !head.contains("demo_fold_1("), "{head}");
        // The tail reads intermediates 8..16 only: the first chunk's slots are zeros.
        assert!(!tail.contains("demo_intermediates_0(") && tail.contains("demo_intermediates_1("), "{tail}");
        assert!(tail.contains("while slots.len() != 10"), "{tail}");
        assert!(!tail.contains("demo_fold_0(") && tail.contains("demo_fold_1("), "{tail}");
        assert!(whole.contains("demo_intermediates_0(") && whole.contains("demo_fold_1("), "{whole}");
        // Intermediate 9 reads intermediate 2: the tail needs the first chunk too.
        let cairo = compile_program_parts("demo", &sixteen(Some((9, 2))), &[(8, 16)]).unwrap();
        let start = cairo.find("fn accumulate_demo_program_8_16(").unwrap();
        let tail = &cairo[start..start + cairo[start..].find("\n}\n").unwrap()];
        assert!(tail.contains("demo_intermediates_0(") && !tail.contains("while slots.len()"), "{tail}");
        // Parts cut inside a fold chunk, empty or past the end are refused.
        for bad in [(0, 5), (3, 16), (8, 8), (8, 17)] {
            assert!(
                matches!(compile_program_parts("demo", &sixteen(None), &[bad]), Err(CompileError::Part(..))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_truncated_unknown_and_trailing_programs() {
        assert!(matches!(compile_program("x", &[0, 1, op::SUB, op::SAMPLE, 0]), Err(CompileError::Truncated(_))));
        assert!(matches!(compile_program("x", &[0, 1, 99]), Err(CompileError::Opcode(_, 99))));
        assert!(matches!(compile_program("x", &[0, 1, op::CLAIMED_SUM, 0]), Err(CompileError::Trailing(_, 1))));
    }
}
