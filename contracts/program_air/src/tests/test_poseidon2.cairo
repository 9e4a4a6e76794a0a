use crate::generated_poseidon2::{INTERNAL_DIAG, MAT4, WIDTH};

/// `poseidon2::internal_layer`'s bounds (six unreduced partial rounds) assume the internal
/// diagonal's entries for lanes 1..15 are at most 2^16 and lane 0's below 2^31.
#[test]
fn internal_diagonal_is_small() {
    let mut diag = INTERNAL_DIAG.span();
    assert(diag.len() == WIDTH, 'diagonal width');
    let d0 = *diag.pop_front().unwrap();
    assert(d0 < 0x80000000, 'lane 0 entry');
    for d in diag {
        assert(*d <= 0x10000, 'lane entry above 2^16');
    };
}

/// `poseidon2::m4_block` computes `M4` as the circulant `circ(2, 3, 1, 1)`.
#[test]
fn m4_is_circulant_2_3_1_1() {
    assert(
        MAT4.span() == [2, 3, 1, 1, 1, 2, 3, 1, 1, 1, 2, 3, 3, 1, 1, 2].span(),
        'M4 is not circ(2, 3, 1, 1)',
    );
}
