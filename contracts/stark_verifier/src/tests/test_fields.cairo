use core::num::traits::{Zero, One};
use crate::fields::{M31, M31Trait, CM31, CM31Trait, QM31, QM31Trait, P};
use super::mul_by_parts;
use super::vectors;
use super::{m, q};

#[test]
fn m31_arithmetic_matches_stwo() {
    let rows = vectors::m31_samples();
    assert(rows.len() == 16, 'vector count');
    for row in rows.span() {
        let (a, b, sum, diff, product, inverse) = *row;
        assert(m(a) + m(b) == m(sum), 'm31 add');
        assert(m(a) - m(b) == m(diff), 'm31 sub');
        assert(m(a) * m(b) == m(product), 'm31 mul');
        assert(m(sum) - m(b) == m(a), 'm31 add/sub roundtrip');
        if a != 0 {
            assert(m(a).inverse() == m(inverse), 'm31 inverse');
            assert(m(a) * m(inverse) == m(1), 'm31 inverse product');
        }
    };
}

#[test]
fn m31_reductions_are_canonical() {
    assert(M31Trait::reduce_u32(P) == m(0), 'P -> 0');
    assert(M31Trait::reduce_u32(0xffffffff) == m(1), '2^32-1 -> 1');
    assert(M31Trait::reduce_u32(P - 1) == m(P - 1), 'P-1 kept');
    assert(M31Trait::reduce_u64(0xffffffffffffffff) == m(3), '2^64-1 -> 3');
    assert(M31Trait::reduce_felt(0x3fffffff00000001) == m(0), 'P^2 -> 0');
    assert(-m(0) == m(0), 'neg zero');
    assert(-m(5) == m(P - 5), 'neg');
}

#[test]
#[should_panic(expected: ('M31: zero has no inverse',))]
fn m31_zero_has_no_inverse() {
    m(0).inverse();
}

#[test]
fn cm31_arithmetic_matches_stwo() {
    let rows = vectors::cm31_samples();
    for row in rows.span() {
        let (x, y, sum, product, inverse) = *row;
        let (x0, x1) = x;
        let (y0, y1) = y;
        let (s0, s1) = sum;
        let (p0, p1) = product;
        let (i0, i1) = inverse;
        let x = CM31Trait::from_u32_unchecked(x0, x1);
        let y = CM31Trait::from_u32_unchecked(y0, y1);
        assert(x + y == CM31Trait::from_u32_unchecked(s0, s1), 'cm31 add');
        assert(x * y == CM31Trait::from_u32_unchecked(p0, p1), 'cm31 mul');
        assert(x.inverse() == CM31Trait::from_u32_unchecked(i0, i1), 'cm31 inverse');
        assert(x * x.inverse() == One::one(), 'cm31 inverse product');
    };
}

#[test]
fn qm31_arithmetic_matches_stwo() {
    let rows = vectors::qm31_samples();
    assert(rows.len() == 12, 'vector count');
    for row in rows.span() {
        let (x, y, sum, diff, product, inverse) = *row;
        let (x, y) = (q(x), q(y));
        assert(x + y == q(sum), 'qm31 add');
        assert(x - y == q(diff), 'qm31 sub');
        assert(x * y == q(product), 'qm31 mul');
        assert(mul_by_parts(x, y) == q(product), 'qm31 mul by parts');
        assert(x.inverse() == q(inverse), 'qm31 inverse');
        assert(x * x.inverse() == One::one(), 'qm31 inverse product');
    };
}

#[test]
fn qm31_u_squared_is_two_plus_i() {
    let u = QM31Trait::from_u32_unchecked(0, 0, 1, 0);
    assert(u * u == QM31Trait::from_u32_unchecked(2, 1, 0, 0), 'u^2 = 2 + i');
    let zero: QM31 = Zero::zero();
    assert(zero.is_zero(), 'zero');
    assert(!u.is_zero(), 'u nonzero');
    assert(u.mul_m31(m(3)) == QM31Trait::from_u32_unchecked(0, 0, 3, 0), 'mul_m31');
    let c: CM31 = CM31Trait::from_u32_unchecked(0, 1);
    assert(u.mul_cm31(c) == QM31Trait::from_u32_unchecked(0, 0, 0, 1), 'mul_cm31');
    let arr = QM31Trait::from_u32_unchecked(1, 2, 3, 4).to_m31_array();
    assert(QM31Trait::from_m31_array(arr) == QM31Trait::from_u32_unchecked(1, 2, 3, 4), 'array');
}

#[test]
#[should_panic(expected: ('QM31: zero has no inverse',))]
fn qm31_zero_has_no_inverse() {
    let zero: QM31 = Zero::zero();
    zero.inverse();
}

#[test]
#[should_panic]
fn reduce_felt_rejects_values_above_2_pow_128() {
    let _: M31 = M31Trait::reduce_felt(0x100000000000000000000000000000000);
}

/// The bounded-integer reductions and word splits (`fields::bounded`) at their edges, against
/// the corelib's u128/u64 divisions.
#[test]
fn bounded_reductions_match_division() {
    let max_u128: u128 = 0xffffffffffffffffffffffffffffffff;
    let samples: Array<u128> = array![
        0, 1, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0x3fffffff00000001,
        0x3fffffff00000000, 0xffffffffffffffff, 0x123456789abcdef0123456789abcdef, max_u128 - 1,
        max_u128,
    ];
    for x in samples.span() {
        let x = *x;
        let (_, r) = DivRem::div_rem(x, 0x7fffffff_u128.try_into().unwrap());
        let r32: u32 = r.try_into().unwrap();
        assert(crate::fields::bounded::u128_mod_p(x) == r32, 'u128 mod P');
        assert(crate::fields::bounded::u128_mod_p_felt(x) == r.into(), 'u128 mod P felt');
        let (w0, w1, w2, w3) = crate::fields::bounded::u128_words(x);
        let rebuilt: u256 = w0.into()
            + w1.into() * 0x100000000
            + w2.into() * 0x10000000000000000
            + w3.into() * 0x1000000000000000000000000;
        assert(rebuilt == x.into(), 'u128 words');
        let below_96 = x / 0x100000000;
        match crate::fields::bounded::u96_words(below_96) {
            Option::Some((a, b, c)) => {
                let rebuilt: u256 = a.into() + b.into() * 0x100000000 + c.into() * 0x10000000000000000;
                assert(rebuilt == below_96.into(), 'u96 words');
            },
            Option::None => { assert(false, 'u96 words refused'); },
        }
        if x > 0xffffffffffffffffffffffff {
            assert(crate::fields::bounded::u96_words(x).is_none(), 'above 2^96 refused');
        }
        let low: u64 = (x % 0x10000000000000000).try_into().unwrap();
        let (_, r) = DivRem::div_rem(low, 0x7fffffff_u64.try_into().unwrap());
        let r32: u32 = r.try_into().unwrap();
        assert(crate::fields::bounded::u64_mod_p(low) == r32, 'u64 mod P');
    };
}
