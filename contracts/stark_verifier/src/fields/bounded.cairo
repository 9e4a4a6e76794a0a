//! Reductions and word splits on the corelib's bounded-integer libfuncs.
//!
//! Starknet prices a class metered in Cairo steps by the heaviest of its weighted resources,
//! and a range check weighs as much as 16 steps: the verifier's price is set by its range
//! checks. `u128_safe_divmod` by a runtime `NonZero<u128>` costs 4 of them (its divisor could be
//! anything, so the quotient needs a bound of its own) and the `u128 -> u32` downcast of its
//! remainder one more. `bounded_int_div_rem` by a constant divisor knows `(q + 1) b` cannot wrap,
//! costs 3, and types the remainder below the divisor, so it widens to `u32` for free. These
//! libfuncs are on Starknet's audited list; the corelib of our 2.9 front-end keeps its
//! declarations crate-private, so they are declared here with the same signatures.

#[derive(Copy, Drop)]
pub extern type BoundedInt<const MIN: felt252, const MAX: felt252>;

impl NumericLiteralBoundedInt<
    const MIN: felt252, const MAX: felt252,
> of core::integer::NumericLiteral<BoundedInt<MIN, MAX>>;

/// The types of `lhs / rhs` and `lhs % rhs` (the libfunc derives them from the operands'
/// ranges; a helper that names other types fails to compile to Sierra).
pub trait DivRemHelper<Lhs, Rhs> {
    type DivT;
    type RemT;
}

extern fn bounded_int_div_rem<Lhs, Rhs, impl H: DivRemHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: NonZero<Rhs>,
) -> (H::DivT, H::RemT) implicits(core::RangeCheck) nopanic;

/// A value into a type whose range contains its own: no check, no step.
extern fn upcast<FromType, ToType>(x: FromType) -> ToType nopanic;

type U128 = BoundedInt<0, 0xffffffffffffffffffffffffffffffff>;
type U96 = BoundedInt<0, 0xffffffffffffffffffffffff>;
type U64 = BoundedInt<0, 0xffffffffffffffff>;
type U32 = BoundedInt<0, 0xffffffff>;
type ConstP = BoundedInt<0x7fffffff, 0x7fffffff>;
type BelowP = BoundedInt<0, 0x7ffffffe>;
type Const2Pow32 = BoundedInt<0x100000000, 0x100000000>;

const P_NZ: NonZero<ConstP> = 0x7fffffff;
const TWO_POW_32_NZ: NonZero<Const2Pow32> = 0x100000000;

impl U128ModP of DivRemHelper<U128, ConstP> {
    type DivT = BoundedInt<0, 0x2000000040000000800000010>;
    type RemT = BelowP;
}
impl U64ModP of DivRemHelper<U64, ConstP> {
    type DivT = BoundedInt<0, 0x200000004>;
    type RemT = BelowP;
}
impl U128By2Pow32 of DivRemHelper<U128, Const2Pow32> {
    type DivT = U96;
    type RemT = U32;
}
impl U96By2Pow32 of DivRemHelper<U96, Const2Pow32> {
    type DivT = U64;
    type RemT = U32;
}
impl U64By2Pow32 of DivRemHelper<U64, Const2Pow32> {
    type DivT = U32;
    type RemT = U32;
}

/// `value mod P` (3 range checks).
#[inline(always)]
pub fn u128_mod_p(value: u128) -> u32 {
    let (_, rem) = bounded_int_div_rem(upcast::<u128, U128>(value), P_NZ);
    upcast(rem)
}

/// `value mod P` as a felt252 (3 range checks).
#[inline(always)]
pub fn u128_mod_p_felt(value: u128) -> felt252 {
    let (_, rem) = bounded_int_div_rem(upcast::<u128, U128>(value), P_NZ);
    upcast(rem)
}

/// `value mod P` as a felt252 for a felt252 holding a non-negative integer below 2^128 (what
/// sums of field products on felt252 coordinates produce); panics on anything larger (4 range
/// checks).
#[inline(always)]
pub fn felt_mod_p(value: felt252) -> felt252 {
    u128_mod_p_felt(value.try_into().expect('M31: reduce above 2^128'))
}

/// `value mod P` (3 range checks).
#[inline(always)]
pub fn u64_mod_p(value: u64) -> u32 {
    let (_, rem) = bounded_int_div_rem(upcast::<u64, U64>(value), P_NZ);
    upcast(rem)
}

/// The four 32-bit words of `value`, least significant first (9 range checks).
#[inline(always)]
pub fn u128_words(value: u128) -> (u32, u32, u32, u32) {
    let (rest, w0) = bounded_int_div_rem(upcast::<u128, U128>(value), TWO_POW_32_NZ);
    let (rest, w1) = bounded_int_div_rem(rest, TWO_POW_32_NZ);
    let (w3, w2) = bounded_int_div_rem(rest, TWO_POW_32_NZ);
    (upcast(w0), upcast(w1), upcast(w2), upcast(w3))
}

/// The three 32-bit words of a `value` below 2^96, least significant first; None if it is not
/// (7 range checks).
#[inline(always)]
pub fn u96_words(value: u128) -> Option<(u32, u32, u32)> {
    let (rest, w0) = bounded_int_div_rem(upcast::<u128, U128>(value), TWO_POW_32_NZ);
    let (w2, w1) = bounded_int_div_rem(rest, TWO_POW_32_NZ);
    let w2: u64 = upcast(w2);
    match w2.try_into() {
        Option::Some(w2) => Option::Some((upcast(w0), upcast(w1), w2)),
        Option::None => Option::None,
    }
}
