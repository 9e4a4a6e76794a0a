//! AIR-independent helpers of the OODS constraint evaluation (what stwo's `PointEvaluator`,
//! `LogupAtRow` and `coset_vanishing` do), called by the generated `generated_air`.

use stark_verifier::circle::{
    CirclePoint, CirclePointTrait, CirclePointIndexTrait, CosetTrait, into_secure, pow2_u32,
};
use stark_verifier::fields::{M31, M31Trait, QM31, QM31Trait};

/// `sampled_values[tree][column][value]` (the mask value of a column at one of its offsets).
#[inline(never)]
pub fn sample(mask: Span<Span<Span<QM31>>>, tree: u32, column: u32, value: u32) -> QM31 {
    *(*(*mask[tree])[column])[value]
}

/// A base-field constant in the extension field.
#[inline(never)]
pub fn qm31_const(value: u32) -> QM31 {
    QM31Trait::from_u32_unchecked(value, 0, 0, 0)
}

/// A base-field constant (canonical by construction: the generator emits reduced values).
#[inline]
pub fn m31_const(value: u32) -> M31 {
    M31Trait::from_u32_unchecked(value)
}

/// stwo's `SecureField::from_partial_evals`: `a + b i + c u + d iu` for the secure column
/// coordinates (a, b, c, d).
#[inline(never)]
pub fn partial_evals(a: QM31, b: QM31, c: QM31, d: QM31) -> QM31 {
    a
        + b * QM31Trait::from_u32_unchecked(0, 1, 0, 0)
        + c * QM31Trait::from_u32_unchecked(0, 0, 1, 0)
        + d * QM31Trait::from_u32_unchecked(0, 0, 0, 1)
}

/// `1 / 2^log_size` (LogUp spreads the claimed sum evenly over the component's rows).
pub fn column_size_inverse(log_size: u32) -> QM31 {
    assert(log_size < 31, 'oods: column log size too big');
    QM31Trait::from_m31(M31Trait::from_u32_unchecked(pow2_u32(log_size)).inverse())
}

/// stwo's `coset_vanishing(CanonicCoset::new(log_size).coset, point)`: the polynomial that
/// vanishes on the canonic coset of size `2^log_size`, at `point`.
pub fn canonic_coset_vanishing(log_size: u32, point: CirclePoint<QM31>) -> QM31 {
    assert(log_size > 0, 'oods: empty canonic coset');
    let coset = CosetTrait::odds(log_size);
    // Shift the coset onto `step/2 + <step>`, whose (log_size - 1)-fold doubles are +-G_4,
    // where x vanishes.
    let shifted = point
        - into_secure(coset.initial)
        + into_secure(coset.step_size.half().to_point());
    let mut x = shifted.x;
    let mut i = 1;
    while i != log_size {
        x = CirclePointTrait::double_x(x);
        i += 1;
    };
    x
}

// Field operations of the generated AIR as real calls: inlined QM31 arithmetic in every
// generated constraint made the contract's bytecode exceed Starknet's class size limit.

#[inline(never)]
pub fn qadd(a: QM31, b: QM31) -> QM31 {
    a + b
}

#[inline(never)]
pub fn qsub(a: QM31, b: QM31) -> QM31 {
    a - b
}

#[inline(never)]
pub fn qmul(a: QM31, b: QM31) -> QM31 {
    a * b
}

#[inline(never)]
pub fn qneg(a: QM31) -> QM31 {
    -a
}

/// `a * c` for a base-field constant `c` (canonical: the generator emits reduced values).
#[inline(never)]
pub fn qmul_const(a: QM31, c: u32) -> QM31 {
    a.mul_m31(M31Trait::from_u32_unchecked(c))
}
