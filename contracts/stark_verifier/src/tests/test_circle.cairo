use core::num::traits::One;
use crate::circle::{
    CirclePoint, CirclePointTrait, CirclePointIndex, CirclePointIndexTrait, CosetTrait,
    m31_circle_gen, secure_field_circle_gen, get_random_point,
};
use crate::channel::Poseidon252Channel;
use crate::fields::{M31, QM31};
use super::vectors;
use super::{m, q};

fn point(value: (u32, u32)) -> CirclePoint<M31> {
    let (x, y) = value;
    CirclePoint { x: m(x), y: m(y) }
}

fn on_circle(p: CirclePoint<M31>) -> bool {
    p.x * p.x + p.y * p.y == m(1)
}

#[test]
fn generator_matches_stwo_and_has_order_2_pow_31() {
    let generator = m31_circle_gen();
    assert(generator == point(vectors::m31_circle_gen()), 'generator');
    assert(on_circle(generator), 'on circle');
    let identity: CirclePoint<M31> = CirclePointTrait::identity();
    assert(generator.repeated_double(31) == identity, 'order divides 2^31');
    assert(generator.repeated_double(30) != identity, 'order is 2^31');
}

#[test]
fn subgroup_generators_match_stwo() {
    let identity: CirclePoint<M31> = CirclePointTrait::identity();
    for row in vectors::subgroup_generators().span() {
        let (log_size, expected) = *row;
        let generator = CirclePointIndexTrait::subgroup_gen(log_size).to_point();
        assert(generator == point(expected), 'subgroup generator');
        assert(generator.repeated_double(log_size) == identity, 'order');
        if log_size > 0 {
            assert(generator.repeated_double(log_size - 1) != identity, 'exact order');
        }
    };
}

#[test]
fn index_arithmetic_matches_stwo() {
    for row in vectors::circle_index_samples().span() {
        let (a, b, sum, diff, neg, a_point, sum_point) = *row;
        let ia = CirclePointIndex { value: a };
        let ib = CirclePointIndex { value: b };
        assert((ia + ib).value == sum, 'index add');
        assert((ia - ib).value == diff, 'index sub');
        assert((-ia).value == neg, 'index neg');
        assert(ia.to_point() == point(a_point), 'to_point');
        assert(ia.to_point() + ib.to_point() == point(sum_point), 'point add');
        assert((ia + ib).to_point() == point(sum_point), 'homomorphism');
        assert(on_circle(point(a_point)), 'on circle');
    };
}

#[test]
fn cosets_match_stwo() {
    for row in vectors::coset_samples().span() {
        let (kind, log_size, i, initial_index, step_size, at_i, doubled_at) = *row;
        let coset = if kind == 0 {
            CosetTrait::subgroup(log_size)
        } else if kind == 1 {
            CosetTrait::odds(log_size)
        } else if kind == 2 {
            CosetTrait::half_odds(log_size)
        } else {
            CosetTrait::odds(log_size).conjugate()
        };
        assert(coset.initial_index.value == initial_index, 'initial index');
        assert(coset.step_size.value == step_size, 'step size');
        assert(coset.at(i) == point(at_i), 'at');
        assert(coset.double().at(i / 2) == point(doubled_at), 'double at');
        assert(coset.initial == coset.initial_index.to_point(), 'initial point');
    };
}

#[test]
fn secure_circle_matches_stwo() {
    let samples = vectors::secure_circle_samples();
    let generator = secure_field_circle_gen();
    let expected = array![generator, generator.double(), generator.mul(123456789)];
    let mut i = 0;
    while i != 3 {
        let (x, y) = *samples[i];
        assert(*expected[i] == CirclePoint { x: q(x), y: q(y) }, 'secure point');
        i += 1;
    };
    let one: QM31 = One::one();
    assert(generator.x * generator.x + generator.y * generator.y == one, 'on circle');
}

#[test]
fn random_point_matches_stwo() {
    // Replay the vector script up to the point draw.
    let (_, digest_after_root, expected) = vectors::channel_root_and_point();
    let mut channel = Poseidon252Channel { digest: digest_after_root, n_draws: 0 };
    let p = get_random_point(ref channel);
    let (x, y) = expected;
    assert(p == CirclePoint { x: q(x), y: q(y) }, 'random point');
    assert(channel.n_draws == 1, 'one draw');
}

#[test]
#[should_panic(expected: ('circle: odd index has no half',))]
fn odd_index_has_no_half() {
    CirclePointIndex { value: 3 }.half();
}

#[test]
fn doubling_table_matches_repeated_doubling() {
    let mut table = crate::circle::m31_gen_doublings();
    assert(table.len() == 31, 'table size');
    let mut current = m31_circle_gen();
    let mut k = 0;
    while k != 31 {
        assert(point(*table[k]) == current, 'table entry');
        current = current.double();
        k += 1;
    };
    // Cross-check to_point against the generic double-and-add.
    let index = CirclePointIndex { value: 0x5a5a5a5a };
    assert(index.to_point() == m31_circle_gen().mul(0x5a5a5a5a), 'to_point');
}

#[test]
fn window_table_matches_the_generator() {
    let table = crate::circle::m31_gen_window_table();
    assert(table.len() == 128, 'table size');
    let generator = crate::circle::m31_circle_gen();
    let mut window_base = generator;
    let mut w = 0;
    while w != 8 {
        let mut point = CirclePointTrait::identity();
        let mut j = 0;
        while j != 16 {
            let (x, y) = *table[w * 16 + j];
            assert(point == CirclePoint { x: M31 { inner: x }, y: M31 { inner: y } }, 'table entry');
            point = point + window_base;
            j += 1;
        };
        window_base = point;
        w += 1;
    };
}

#[test]
fn windowed_conversion_matches_to_point() {
    let table = crate::circle::m31_gen_window_table();
    let indexes = array![0_u32, 1, 15, 16, 17, 255, 0x12345678, 0x7fffffff, 0x80000000, 0x40000001];
    for value in indexes.span() {
        let index = CirclePointIndexTrait::new(*value);
        assert(index.to_point_windowed(table) == index.to_point(), 'windowed point');
    };
}
