//! AIR-independent helpers of the OODS constraint evaluation (what stwo's `PointEvaluator`,
//! `LogupAtRow` and `coset_vanishing` do), called by the generated `generated_air`.

use stark_verifier::circle::{
    CirclePoint, CirclePointTrait, CirclePointIndexTrait, CosetTrait, add_m31_point,
};
use stark_verifier::fields::{M31, QM31, QM31Trait};
use stark_verifier::fields::qm31::Coordinates;
use stark_verifier::pcs::only;
use crate::lookup::LookupElements;

/// `1 / 2^k` in M31 for `k` in 0..31: `2^(31 - k) mod P` (`2^31 = 1 mod P`); stwo's column log
/// sizes are below 31.
const COLUMN_SIZE_INVERSES: [u32; 31] = [
    1, 1073741824, 536870912, 268435456, 134217728, 67108864, 33554432, 16777216,
    8388608, 4194304, 2097152, 1048576, 524288, 262144, 131072, 65536,
    32768, 16384, 8192, 4096, 2048, 1024, 512, 256,
    128, 64, 32, 16, 8, 4, 2,
];

/// `1 / 2^log_size` in M31 (LogUp spreads the claimed sum evenly over the component's rows),
/// read from a table rather than inverted.
pub fn column_size_inverse_m31(log_size: u32) -> M31 {
    let inverse = COLUMN_SIZE_INVERSES.span().get(log_size).expect('oods: column log size too big');
    M31 { inner: *inverse.unbox() }
}

/// [`column_size_inverse_m31`] as a QM31.
pub fn column_size_inverse(log_size: u32) -> QM31 {
    QM31Trait::from_m31(column_size_inverse_m31(log_size))
}

/// stwo's `coset_vanishing(CanonicCoset::new(log_size).coset, point)`: the polynomial that
/// vanishes on the canonic coset of size `2^log_size`, at `point`.
pub fn canonic_coset_vanishing(log_size: u32, point: CirclePoint<QM31>) -> QM31 {
    assert(log_size > 0, 'oods: empty canonic coset');
    let coset = CosetTrait::odds(log_size);
    // Shift the coset onto `step/2 + <step>`, whose (log_size - 1)-fold doubles are +-G_4,
    // where x vanishes.
    let shifted = add_m31_point(
        add_m31_point(point, -coset.initial), coset.step_size.half().to_point(),
    );
    let mut x = shifted.x;
    let mut i = 1;
    while i != log_size {
        x = CirclePointTrait::double_x(x);
        i += 1;
    };
    x
}

/// The mask values in proof order (tree, column, value): what the programs' `SAMPLE i` reads.
/// Most columns hold one value: appended directly, cheaper than an `append_span` call. Values
/// are canonical coordinates (the proof reader's form).
pub fn flatten_mask(mask: Span<Span<Span<Coordinates>>>) -> Span<Coordinates> {
    let mut values: Array<Coordinates> = array![];
    let mut trees = mask;
    while let Option::Some(tree) = trees.pop_front() {
        let mut columns = *tree;
        // Four one-value columns per iteration (the common case).
        while let Option::Some(block) = columns.multi_pop_front::<4>() {
            let [c0, c1, c2, c3] = (*block).unbox();
            if c0.len() == 1 && c1.len() == 1 && c2.len() == 1 && c3.len() == 1 {
                values.append(only(c0));
                values.append(only(c1));
                values.append(only(c2));
                values.append(only(c3));
            } else {
                values.append_span(c0);
                values.append_span(c1);
                values.append_span(c2);
                values.append_span(c3);
            }
        };
        while let Option::Some(column) = columns.pop_front() {
            let column = *column;
            if column.len() == 1 {
                values.append(only(column));
            } else {
                values.append_span(column);
            }
        };
    };
    values.span()
}

/// A QM31 value as four integer coordinates held in felt252, possibly negative and unreduced:
/// the interpreter adds, subtracts and multiplies coordinates as integers (one felt252
/// operation each) and reduces mod P only where a product needs small operands, once per
/// intermediate and once per folded constraint. Every step is exact integer arithmetic, so
/// the reduced value is the field value the M31 operations would give, bit for bit.
///
/// Bound (why no felt252 wraps and `narrow` never sees an out-of-range integer): a value is
/// "small" when its coordinates are in [0, 2^32): leaves (canonical mask values, relation
/// elements, intermediates, 32-bit constants) and narrowed values. Products, scalings,
/// `from_partial_evals` and inverses only take small operands, so they are below 2^67 in
/// absolute value (at most 8 products of 2^32 x 2^32 per coordinate). Sums, differences
/// and negations add absolute values. By induction a node's value is below 2^67 times the
/// words of its expression, below 2^67 * 2^32 = 2^99 for any `Span<u32>` program: far from
/// felt252's wrap (2^251) and inside what `narrow` accepts (+-2^126).
///
/// Public for the AIRs compiled to straight-line code (`harness/air-codegen`, `straight`), which
/// do this arithmetic with these functions under their own bound: the generator knows each
/// node's magnitude and narrows an operand only where a result would pass 2^120, so their
/// values stay far from felt252's wrap and inside `narrow`'s window too.
#[derive(Copy, Drop)]
pub struct Wide {
    pub a: felt252,
    pub b: felt252,
    pub c: felt252,
    pub d: felt252,
}

/// `P * 2^96` (just below 2^127): added before reducing a coordinate so every value of the
/// bound above becomes a non-negative u128 with the same residue mod P.
const NARROW_OFFSET: felt252 = 0x7fffffff000000000000000000000000;

/// Canonical coordinates (a mask value) as a small `Wide`.
#[inline(always)]
pub fn wide_of(x: Coordinates) -> Wide {
    let (a, b, c, d) = x;
    Wide { a, b, c, d }
}

#[inline(always)]
pub fn wide(x: QM31) -> Wide {
    Wide {
        a: x.a.a.inner.into(), b: x.a.b.inner.into(), c: x.b.a.inner.into(), d: x.b.b.inner.into(),
    }
}

#[inline(always)]
fn reduce_coordinate(x: felt252) -> felt252 {
    stark_verifier::fields::bounded::felt_mod_p(x + NARROW_OFFSET)
}

/// The canonical representative (coordinates in [0, P)).
#[inline(never)]
pub fn narrow(x: Wide) -> Wide {
    Wide {
        a: reduce_coordinate(x.a),
        b: reduce_coordinate(x.b),
        c: reduce_coordinate(x.c),
        d: reduce_coordinate(x.d),
    }
}

/// A canonical `Wide` as a QM31.
pub fn to_qm31(x: Wide) -> QM31 {
    QM31Trait::from_u32_unchecked(
        x.a.try_into().unwrap(), x.b.try_into().unwrap(), x.c.try_into().unwrap(),
        x.d.try_into().unwrap(),
    )
}

/// The product as integers: `(a + b u)(c + d u) = a c + (2 + i) b d + (a d + b c) u` over
/// `CM31 = M31[i]`, `stark_verifier::fields::qm31::mul_coords` without its offsets (the
/// coordinates may be negative here). Its own copy: the shared one with zero offsets costs
/// 3 additions more per product (~2.9k steps per signed proof).
#[inline(always)]
pub fn mul_wide(x: Wide, y: Wide) -> Wide {
    let r = x.c * y.c - x.d * y.d;
    let s = x.c * y.d + x.d * y.c;
    Wide {
        a: x.a * y.a - x.b * y.b + r + r - s,
        b: x.a * y.b + x.b * y.a + r + s + s,
        c: x.a * y.c - x.b * y.d + x.c * y.a - x.d * y.b,
        d: x.a * y.d + x.b * y.c + x.c * y.b + x.d * y.a,
    }
}

/// A node's value and whether it is small (see `Wide`).
#[inline(always)]
fn small(node: (Wide, bool)) -> Wide {
    let (x, is_small) = node;
    if is_small {
        x
    } else {
        narrow(x)
    }
}

/// Mask value `j` as a small `Wide`, a call: one bounds check's panic path in the class
/// instead of one per read in the straight-line AIRs.
#[inline(never)]
pub fn sample(values: Span<Coordinates>, j: u32) -> Wide {
    wide_of(*values[j])
}

/// Relation `r`'s `alpha^i` as a small `Wide` (a call, as `sample`).
#[inline(never)]
pub fn alpha(relations: Span<LookupElements>, r: u32, i: u32) -> Wide {
    wide(*(*relations[r].alpha_powers)[i])
}

/// Relation `r`'s `z` as a small `Wide` (a call, as `sample`).
#[inline(never)]
pub fn relation_z(relations: Span<LookupElements>, r: u32) -> Wide {
    wide(*relations[r].z)
}

/// `mul_wide` as a call: what the AIRs compiled to straight-line code multiply with (inlined at
/// ~700 products it would not fit their class).
#[inline(never)]
pub fn mul_small(x: Wide, y: Wide) -> Wide {
    mul_wide(x, y)
}

/// `sum_k alphas[k] * values[k]` as integers, `values` at least as long as `alphas`: LogUp's
/// `combine` over a run of consecutive relation elements times consecutive mask values, for the
/// AIRs compiled to straight-line code (the interpreter's `sum_operand` product, one per term).
/// Every factor is canonical, so each product is below 2^67 in absolute value and a run of the
/// relations' at most 32 terms below 2^72: a node of the `Wide` bound.
pub fn alpha_dot(alphas: Span<QM31>, values: Span<Coordinates>) -> Wide {
    let mut alphas = alphas;
    let mut values = values;
    let mut sum = Wide { a: 0, b: 0, c: 0, d: 0 };
    while let Option::Some(alpha) = alphas.pop_front() {
        let p = mul_wide(wide(*alpha), wide_of(*values.pop_front().unwrap()));
        sum = Wide { a: sum.a + p.a, b: sum.b + p.b, c: sum.c + p.c, d: sum.d + p.d };
    };
    sum
}

/// stwo's accumulator step with a unit denominator: `acc * random_coeff + constraint`,
/// narrowed (`acc` and `random_coeff` small; `constraint` any node value). A call: the
/// straight-line AIRs fold ~100 constraints.
#[inline(never)]
pub fn fold_wide(acc: Wide, random_coeff: Wide, constraint: Wide) -> Wide {
    let product = mul_wide(acc, random_coeff);
    narrow(
        Wide {
            a: product.a + constraint.a,
            b: product.b + constraint.b,
            c: product.c + constraint.c,
            d: product.d + constraint.d,
        },
    )
}

/// stwo's `from_partial_evals` of four small values: `a + b i + c u + d iu`, with `u^2 = 2 + i`:
/// `i b = (-b1, b0, -b3, b2)`, `u c = (2 c2 - c3, c2 + 2 c3, c0, c1)`,
/// `iu d = (-d2 - 2 d3, 2 d2 - d3, -d1, d0)`. A call, for the straight-line AIRs' class size.
#[inline(never)]
pub fn from_partial_evals(a: Wide, b: Wide, c: Wide, d: Wide) -> Wide {
    Wide {
        a: a.a - b.b + c.c + c.c - c.d - d.c - d.d - d.d,
        b: a.b + b.a + c.c + c.d + c.d + d.c + d.c - d.d,
        c: a.c - b.d + c.a - d.b,
        d: a.d + b.c + c.b + d.a,
    }
}

/// Runs a component's constraint program (generated by `harness/air-codegen`, see its `op`
/// module: `[n_intermediates, n_constraints, expressions in prefix order...]`): evaluates the
/// intermediates once in order, then folds each constraint into `acc` as stwo's
/// `PointEvaluationAccumulator` does: `acc = acc * random_coeff + denom_inv * constraint`.
pub fn accumulate_component(
    acc: QM31,
    random_coeff: QM31,
    denom_inv: QM31,
    program: Span<u32>,
    values: Span<Coordinates>,
    relations: Span<LookupElements>,
    claimed_sum: QM31,
    log_size: u32,
) -> QM31 {
    let mut code = program;
    let n_intermediates = *code.pop_front().unwrap();
    let n_constraints = *code.pop_front().unwrap();
    // `slots`: the claimed sum and `1 / 2^log_size` (opcodes 13, 14), then the intermediates
    // (opcode 10, shifted by 2), all canonical: one span argument instead of three.
    let mut slots: Array<Wide> = array![
        wide(claimed_sum), wide(column_size_inverse(log_size)),
    ];
    let n_slots = n_intermediates + 2;
    while slots.len() != n_slots {
        let value = small(eval_node(ref code, values, slots.span(), relations));
        slots.append(value);
    };
    let slots = slots.span();
    // stwo's accumulator: `acc * random_coeff + denom_inv * constraint`. The generated signed
    // AIR divides by the common denominator once outside (`denom_inv` one), where
    // `denom_inv * constraint` is `constraint` itself.
    let unit_denominator = denom_inv == QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    let denom_inv = wide(denom_inv);
    let random_coeff = wide(random_coeff);
    let mut acc = wide(acc);
    let mut i = 0;
    while i != n_constraints {
        let node = eval_node(ref code, values, slots, relations);
        let term = if unit_denominator {
            let (constraint, _) = node;
            constraint
        } else {
            mul_wide(denom_inv, small(node))
        };
        acc = fold_wide(acc, random_coeff, term);
        i += 1;
    };
    assert(code.len() == 0, 'air: program length');
    to_qm31(acc)
}

#[inline]
fn next_word(ref code: Span<u32>) -> u32 {
    *code.pop_front().expect('air: program truncated')
}

/// Evaluates the expression at the head of `code` (prefix order) and consumes it: its value
/// (exact integers, see `Wide`) and whether it is small.
fn eval_node(
    ref code: Span<u32>, values: Span<Coordinates>, slots: Span<Wide>, relations: Span<LookupElements>,
) -> (Wide, bool) {
    let opcode = next_word(ref code);
    eval_op(opcode, ref code, values, slots, relations)
}

/// An operand of a sum. The commonest, `mul(alpha[r, i], value[j])` (LogUp's `combine`), is
/// read as its 6 words at once and multiplied in place.
fn sum_operand(
    ref code: Span<u32>, values: Span<Coordinates>, slots: Span<Wide>, relations: Span<LookupElements>,
) -> Wide {
    let saved = code;
    match code.multi_pop_front::<6>() {
        Option::Some(words) => {
            let [op, alpha_op, r, i, value_op, j] = (*words).unbox();
            if op == 4 && alpha_op == 12 && value_op == 1 {
                let alpha = *(*relations[r].alpha_powers)[i];
                return mul_wide(wide(alpha), wide_of(*values[j]));
            }
        },
        Option::None => {},
    }
    code = saved;
    let (x, _) = eval_node(ref code, values, slots, relations);
    x
}

/// The expression of `opcode` whose operands follow in `code`.
fn eval_op(
    opcode: u32,
    ref code: Span<u32>,
    values: Span<Coordinates>,
    slots: Span<Wide>,
    relations: Span<LookupElements>,
) -> (Wide, bool) {
    match opcode {
        0 => (Wide { a: next_word(ref code).into(), b: 0, c: 0, d: 0 }, true),
        1 => (wide_of(*values[next_word(ref code)]), true),
        2 => {
            // A chain `add(add(..add(x0, x1).., x(n-1)), xn)` is `add` n times then x0..xn in
            // prefix order: summed in a loop instead of n nested calls (integer addition is
            // associative, so the value is the same).
            let mut n: u32 = 1;
            let mut opcode = next_word(ref code);
            while opcode == 2 {
                n += 1;
                opcode = next_word(ref code);
            };
            let (first, _) = eval_op(opcode, ref code, values, slots, relations);
            let mut sum = first;
            while n != 0 {
                let x = sum_operand(ref code, values, slots, relations);
                sum = Wide { a: sum.a + x.a, b: sum.b + x.b, c: sum.c + x.c, d: sum.d + x.d };
                n -= 1;
            };
            (sum, false)
        },
        3 => {
            let (x, _) = eval_node(ref code, values, slots, relations);
            let (y, _) = eval_node(ref code, values, slots, relations);
            (Wide { a: x.a - y.a, b: x.b - y.b, c: x.c - y.c, d: x.d - y.d }, false)
        },
        4 => {
            let x = small(eval_node(ref code, values, slots, relations));
            let y = small(eval_node(ref code, values, slots, relations));
            (mul_wide(x, y), false)
        },
        5 => {
            // An M31 constant (a 32-bit integer) times a small value.
            let k: felt252 = next_word(ref code).into();
            let x = small(eval_node(ref code, values, slots, relations));
            (Wide { a: x.a * k, b: x.b * k, c: x.c * k, d: x.d * k }, false)
        },
        6 => {
            let (x, _) = eval_node(ref code, values, slots, relations);
            (Wide { a: -x.a, b: -x.b, c: -x.c, d: -x.d }, false)
        },
        7 => {
            let (x, _) = eval_node(ref code, values, slots, relations);
            (wide(QM31Trait::inverse(to_qm31(narrow(x)))), true)
        },
        8 => {
            let a = small(eval_node(ref code, values, slots, relations));
            let b = small(eval_node(ref code, values, slots, relations));
            let c = small(eval_node(ref code, values, slots, relations));
            let d = small(eval_node(ref code, values, slots, relations));
            (from_partial_evals(a, b, c, d), false)
        },
        9 => {
            let a = next_word(ref code);
            let b = next_word(ref code);
            let c = next_word(ref code);
            let d = next_word(ref code);
            (Wide { a: a.into(), b: b.into(), c: c.into(), d: d.into() }, true)
        },
        10 => (*slots[next_word(ref code) + 2], true),
        11 => (wide(*relations[next_word(ref code)].z), true),
        12 => {
            let relation = relations[next_word(ref code)];
            (wide(*(*relation.alpha_powers)[next_word(ref code)]), true)
        },
        13 => (*slots[0], true),
        14 => (*slots[1], true),
        _ => core::panic_with_felt252('air: unknown opcode'),
    }
}

/// A mask of QM31 values as the verifier takes it (canonical coordinates): for tests and
/// tools that hold a mask as field elements.
pub fn mask_coordinates(mask: Span<Span<Span<QM31>>>) -> Span<Span<Span<Coordinates>>> {
    let mut trees: Array<Span<Span<Coordinates>>> = array![];
    for tree in mask {
        let mut columns: Array<Span<Coordinates>> = array![];
        for column in *tree {
            let mut values: Array<Coordinates> = array![];
            for value in *column {
                values.append(stark_verifier::fields::qm31::coordinates(*value));
            };
            columns.append(values.span());
        };
        trees.append(columns.span());
    };
    trees.span()
}
