//! `qm31_pow` (the shift an AIR class that folds a run of constraints applies for the
//! constraints after it) against repeated products, every exponent up to 70 and the order
//! book's 360 (`generated_air::PART_CONSTRAINTS[1]` there); `decode_air_answer` refuses what is
//! not a QM31.

use stark_verifier::fields::{QM31, QM31Trait};
use crate::air_call::{decode_air_answer, qm31_pow};

fn base() -> QM31 {
    QM31Trait::from_u32_unchecked(123456789, 2000000011, 7, 2147483646)
}

#[test]
fn the_power_is_repeated_multiplication() {
    let x = base();
    let mut expected = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    let mut e = 0;
    while e != 361 {
        if e <= 70 || e == 360 {
            assert(qm31_pow(x, e) == expected, 'pow != product');
        }
        expected = expected * x;
        e += 1;
    };
    // A mutation that drops the last bit's factor fails: x^5 != x^4.
    assert(qm31_pow(x, 5) != qm31_pow(x, 4), 'pow ignores a bit');
}

#[test]
fn an_answer_is_four_m31_coordinates() {
    assert(decode_air_answer(array![1, 2, 3, 4].span()) == Option::Some(QM31Trait::from_u32_unchecked(1, 2, 3, 4)), 'four');
    assert(decode_air_answer(array![1, 2, 3].span()).is_none(), 'three');
    assert(decode_air_answer(array![1, 2, 3, 4, 5].span()).is_none(), 'five');
    assert(decode_air_answer(array![0x100000000, 2, 3, 4].span()).is_none(), 'not a u32');
}
