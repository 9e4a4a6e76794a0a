//! The framework's relation sums against their definitions (the programs' packages check the
//! rest bit for bit against Rust vectors: `signed_verifier`, `orderbook_verifier`).
use stark_verifier::fields::{M31Trait, QM31, QM31Trait};
use crate::ids::DistinctIdsTrait;
use crate::relation::{Coordinates, coordinates, sum_of_differences};

/// `x` shifted by `k P` in every coordinate: congruent, unreduced (as `dot` leaves them).
fn widened(x: QM31, k: felt252) -> Coordinates {
    let (a, b, c, d) = coordinates(x);
    let p: felt252 = 0x7fffffff;
    (a + k * p, b + k * p, c + k * p, d + k * p)
}

fn element(seed: u32) -> QM31 {
    QM31Trait::from_m31s(
        M31Trait::reduce_u32(seed * 0x9e37 + 1),
        M31Trait::reduce_u32(seed * 0x85eb + 7),
        M31Trait::reduce_u32(seed * 0xc2b2 + 3),
        M31Trait::reduce_u32(seed * 0x27d4 + 5),
    )
}

/// `sum 1/a - 1/b` with one inversion per element: the definition.
fn definition(pairs: Span<(QM31, QM31)>) -> QM31 {
    let mut acc = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    for pair in pairs {
        let (a, b) = *pair;
        acc = acc + a.inverse() - b.inverse();
    };
    acc
}

/// One to five pairs (odd and even counts: `sum_of_differences` reduces after every second
/// pair), with coordinates up to `2^35 P` above their reduced values (below 2^67, the bound it
/// takes).
#[test]
fn sum_of_differences_is_the_definition() {
    let mut n: u32 = 1;
    while n != 6 {
        let mut exact: Array<(QM31, QM31)> = array![];
        let mut wide: Array<(Coordinates, Coordinates)> = array![];
        let mut i: u32 = 0;
        while i != n {
            let (a, b) = (element(2 * i + n), element(2 * i + n + 100));
            exact.append((a, b));
            let k: felt252 = 0x800000000 - 1 - i.into();
            wide.append((widened(a, k), widened(b, i.into())));
            i += 1;
        };
        assert_eq!(sum_of_differences(wide.span()), Result::Ok(definition(exact.span())), "{}", n);
        n += 1;
    };
    assert_eq!(sum_of_differences(array![].span()), Result::Ok(QM31Trait::from_u32_unchecked(0, 0, 0, 0)));
}

/// A zero denominator (a `P`-multiple in every coordinate) is refused, not inverted.
#[test]
fn zero_denominator_refused() {
    let a = element(1);
    let zero = widened(QM31Trait::from_u32_unchecked(0, 0, 0, 0), 3);
    let pairs = array![(coordinates(a), coordinates(element(2))), (zero, coordinates(a))];
    assert_eq!(sum_of_differences(pairs.span()), Result::Err('statement: zero denominator'));
}

/// A 124-bit collision cannot be built, so the rule is shown on ids given by hand (the Rust
/// `an_id_naming_two_owners_or_contracts_is_a_clash`).
#[test]
fn an_id_naming_two_owners_or_contracts_is_a_clash() {
    let alice = 0xa11ce;
    let vault = 0x7a017;
    let mut ids = DistinctIdsTrait::new();
    assert!(ids.account((1, 7, 8, 9), alice), "first use");
    assert!(ids.account((1, 7, 8, 9), alice), "the same owner's balance and key slots");
    assert!(ids.account((2, 7, 8, 9), vault), "another id");
    assert!(!ids.account((1, 7, 8, 9), vault), "a second owner under alice's id");
    assert!(!ids.account((2, 7, 8, 9), alice), "and the other way round");
    assert!(ids.account((1, 7, 8, 0x7ffffffe), vault), "the top word counts");
    assert!(ids.domain((1, 7, 8, 9), alice), "domains are their own map");
    assert!(!ids.domain((1, 7, 8, 9), vault));
    // Owner 0 (a book's own variables): not held to its id once seen (the Rust rule mirrors
    // it); an owner seen first is held against 0 too.
    assert!(ids.account((3, 7, 8, 9), 0) && ids.account((3, 7, 8, 9), vault), "0 reads as unseen");
    assert!(ids.account((4, 7, 8, 9), vault) && !ids.account((4, 7, 8, 9), 0));
}
