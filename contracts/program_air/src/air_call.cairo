//! The call format every program's AIR class shares (`SignedAir`, `OrderBookFillAir`,
//! `OrderBookAir`): one entry point `eval_composition_at_point(input: Span<felt252>) -> QM31`,
//! whose input is the mask's values first (the proof's flat words, which the verifier copies
//! with `layout::mask_call` once `layout::mask_values_of` has checked their shape), then a
//! header a program's `encode_air_header` writes from these pieces (QM31s and relation
//! elements as canonical coordinates) and its class reads back with `qm31_at`, `relation_at` /
//! `relation_with_powers_at` and `u32_at`; the verifier core decodes the answer with
//! `decode_air_answer`.
//! A class answers stwo's fold of its constraints at the OODS point without the final division
//! by the vanishing polynomial: the verifier checks the proof's composition value times the
//! vanishing polynomial against the sum of the answers, so no class computes the vanishing
//! polynomial or its inverse (two QM31 chains: ~5.9k steps a class until session 59). A
//! program whose constraints take several classes splits stwo's fold into consecutive runs,
//! one per class; each class answers its run's fold (from zero) times `random_coeff` to the
//! number of constraints after the run (`qm31_pow`), so the answers add up.

use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::{Coordinates, coordinates, from_coordinates};
use thread_verifier::lookup::LookupElements;

/// The entry point of every AIR class, `eval_composition_at_point`.
pub const EVAL_SELECTOR: felt252 = selector!("eval_composition_at_point");

pub fn append_qm31(ref out: Array<felt252>, value: QM31) {
    let (a, b, c, d) = coordinates(value);
    out.append(a);
    out.append(b);
    out.append(c);
    out.append(d);
}

pub fn append_relation(ref out: Array<felt252>, relation: @LookupElements) {
    append_qm31(ref out, *relation.z);
    append_qm31(ref out, *relation.alpha);
}

/// `(z, alpha)`, then alpha's `n` powers (`alpha^0 .. alpha^(n-1)`): a relation the verifier
/// draws with its powers (state and link: it combines the statement's values under them
/// itself), handed on so that no class multiplies them out again (a QM31 product is ~130
/// steps; the order book's two classes each expanded all 82 powers of its four relations).
/// Panics unless the relation holds `n` powers.
pub fn append_relation_with_powers(ref out: Array<felt252>, relation: @LookupElements, n: u32) {
    let powers = *relation.alpha_powers;
    assert(powers.len() == n, 'air: relation powers');
    append_relation(ref out, relation);
    for power in powers {
        append_qm31(ref out, *power);
    };
}

/// The mask part of an AIR class's input (canonical coordinates, four per value: `layout::mask_call`) as the values the generated constraints read: four values per iteration while four
/// remain.
pub fn mask_values(mask: Span<felt252>) -> Span<Coordinates> {
    let mut mask = mask;
    let mut values: Array<Coordinates> = array![];
    while let Option::Some(block) = mask.multi_pop_front::<16>() {
        let [a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3] = (*block).unbox();
        values.append((a0, b0, c0, d0));
        values.append((a1, b1, c1, d1));
        values.append((a2, b2, c2, d2));
        values.append((a3, b3, c3, d3));
    };
    while let Option::Some(value) = mask.multi_pop_front::<4>() {
        let [a, b, c, d] = (*value).unbox();
        values.append((a, b, c, d));
    };
    values.span()
}

/// The QM31 at `at` (four coordinates below 2^32: panics otherwise).
pub fn qm31_at(felts: Span<felt252>, at: u32) -> QM31 {
    from_coordinates((*felts[at], *felts[at + 1], *felts[at + 2], *felts[at + 3]))
}

/// `(z, alpha)` at `at` and the `n` powers after them ([`append_relation_with_powers`]).
pub fn relation_with_powers_at(felts: Span<felt252>, at: u32, n: u32) -> LookupElements {
    let mut words = felts.slice(at + 8, 4 * n);
    let mut powers: Array<QM31> = array![];
    while let Option::Some(value) = words.multi_pop_front::<4>() {
        let [a, b, c, d] = (*value).unbox();
        powers.append(from_coordinates((a, b, c, d)));
    };
    LookupElements { z: qm31_at(felts, at), alpha: qm31_at(felts, at + 4), alpha_powers: powers.span() }
}

/// `(z, alpha)` at `at` with the `n` powers of alpha the relation combines with.
pub fn relation_at(felts: Span<felt252>, at: u32, n: u32) -> LookupElements {
    let alpha = qm31_at(felts, at + 4);
    let mut powers: Array<QM31> = array![];
    let mut current = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    while powers.len() != n {
        powers.append(current);
        current = current * alpha;
    };
    LookupElements { z: qm31_at(felts, at), alpha, alpha_powers: powers.span() }
}

pub fn u32_at(felts: Span<felt252>, at: u32) -> u32 {
    (*felts[at]).try_into().expect('air: log size')
}

/// The answer of `eval_composition_at_point` (a QM31's four coordinates), or `None` if it is
/// not one.
pub fn decode_air_answer(answer: Span<felt252>) -> Option<QM31> {
    if answer.len() != 4 {
        return Option::None;
    }
    let a: Option<u32> = (*answer[0]).try_into();
    let b: Option<u32> = (*answer[1]).try_into();
    let c: Option<u32> = (*answer[2]).try_into();
    let d: Option<u32> = (*answer[3]).try_into();
    match (a, b, c, d) {
        (
            Option::Some(a), Option::Some(b), Option::Some(c), Option::Some(d),
        ) => Option::Some(QM31Trait::from_u32_unchecked(a, b, c, d)),
        _ => Option::None,
    }
}

/// `a * b` out of line: `qm31_pow` runs once per call, and an inlined field product costs
/// class size (a hard limit).
#[inline(never)]
fn mul(a: QM31, b: QM31) -> QM31 {
    a * b
}

/// `value^exponent` (square and multiply): an AIR class that folds a run of constraints
/// followed by `exponent` others (in other classes) shifts its part by `random_coeff^exponent`,
/// so the verifier adds the classes' answers.
#[inline(never)]
pub fn qm31_pow(value: QM31, exponent: u32) -> QM31 {
    let mut result = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    let mut base = value;
    let mut e = exponent;
    while e != 0 {
        let (rest, bit) = DivRem::div_rem(e, 2);
        if bit == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e = rest;
    };
    result
}
