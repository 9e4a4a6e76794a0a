use crate::generated_poseidon2::{INTERNAL_DIAG, WIDTH};

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
