//! `boundary_sum` against a one-inverse-per-denominator reference, its zero-denominator refusal,
//! and its gas per written slot (printed; run with `--filter gas`).
use core::testing::get_available_gas;
use stark_verifier::channel::ChannelTrait;
use stark_verifier::circle::pow2_u32;
use stark_verifier::fields::{M31Trait, QM31, QM31Trait};
use crate::generated_params::{LIMB_BITS, N_LIMBS};
use crate::fraction::{Coordinates, mul_add_limbs16};
use crate::lookup::{LookupElements, LookupElementsTrait};
use crate::statement::{StatementSlot, boundary_sum};

fn elements() -> LookupElements {
    let mut channel = ChannelTrait::new();
    channel.mix_u64(7);
    LookupElementsTrait::draw(ref channel, 2 + N_LIMBS)
}

/// `n` slots spread over a few tokens, every one written, values using all 128 bits.
fn written_slots(n: u32) -> Array<StatementSlot> {
    let mut out: Array<StatementSlot> = array![];
    let mut i: u32 = 0;
    let mut value: u128 = 0xfedcba9876543210_0123456789abcdef;
    while i != n {
        let before = value;
        // Keep the low 120 bits, multiply back up into the top limb.
        value = (value % 0x1000000000000000000000000000000) * 0xfb + 0x1234567;
        out.append(StatementSlot { index: i, token: i / 4, before, after: value });
        i += 1;
    };
    out
}

/// The definition, one denominator and one inverse at a time.
fn reference_boundary_sum(slots: Span<StatementSlot>, state: @LookupElements) -> QM31 {
    let mut acc = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            acc = acc
                + state.combine(reference_tuple(s.index, s.token, s.after)).inverse()
                - state.combine(reference_tuple(s.index, s.token, s.before)).inverse();
        }
    };
    acc
}

fn reference_tuple(slot: u32, token: u32, value: u128) -> Span<QM31> {
    let mut out: Array<QM31> = array![
        QM31Trait::from_m31(M31Trait::reduce_u32(slot)),
        QM31Trait::from_m31(M31Trait::reduce_u32(token)),
    ];
    let base: u128 = pow2_u32(LIMB_BITS).into();
    let mut rest = value;
    let mut k = 0;
    while k != N_LIMBS {
        out.append(QM31Trait::from_u32_unchecked((rest % base).try_into().unwrap(), 0, 0, 0));
        rest = rest / base;
        k += 1;
    };
    out.span()
}

#[test]
fn boundary_sum_matches_one_inverse_per_denominator() {
    let state = elements();
    let mut slots = written_slots(9);
    // Unwritten slots contribute nothing; the extremes of a u128 decode as all-zero / all-ones limbs.
    slots.append(StatementSlot { index: 9, token: 3, before: 42, after: 42 });
    slots.append(StatementSlot { index: 10, token: 3, before: 0, after: 0xffffffffffffffffffffffffffffffff });
    slots.append(StatementSlot { index: 0x7fffffff, token: 0xffffffff, before: 1, after: 0 });
    let got = boundary_sum(slots.span(), @state).unwrap();
    assert(got == reference_boundary_sum(slots.span(), @state), 'boundary sum');
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    assert(boundary_sum(array![].span(), @state).unwrap() == zero, 'empty sum');
    let unwritten = array![StatementSlot { index: 0, token: 0, before: 5, after: 5 }];
    assert(boundary_sum(unwritten.span(), @state).unwrap() == zero, 'unwritten sum');
}

/// Elements under which slot `target`'s tuple combines to zero: z = slot, alpha^i = 0 for i > 0.
fn elements_zero_at(target: u32) -> LookupElements {
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let mut powers: Array<QM31> = array![QM31Trait::from_u32_unchecked(1, 0, 0, 0)];
    let mut i = 1;
    while i != 2 + N_LIMBS {
        powers.append(zero);
        i += 1;
    };
    LookupElements {
        z: QM31Trait::from_u32_unchecked(target, 0, 0, 0), alpha: zero, alpha_powers: powers.span(),
    }
}

#[test]
fn boundary_sum_refuses_a_zero_denominator() {
    let slots = written_slots(6);
    // Any written slot's denominator being zero is refused, first, middle or last.
    for target in array![0_u32, 3, 5] {
        match boundary_sum(slots.span(), @elements_zero_at(target)) {
            Result::Ok(_) => panic!("zero denominator at slot {} accepted", target),
            Result::Err(e) => assert(e == 'statement: zero denominator', 'reason'),
        }
    };
    // An unwritten slot's zero denominator is never inverted.
    let mut unwritten = written_slots(3);
    unwritten.append(StatementSlot { index: 3, token: 0, before: 9, after: 9 });
    assert(boundary_sum(unwritten.span(), @elements_zero_at(3)).is_ok(), 'unwritten slot');
}

#[test]
#[available_gas(4000000000)]
fn gas_boundary_sum_per_written_slot() {
    let state = elements();
    let small = written_slots(1);
    let large = written_slots(65);
    let before = get_available_gas();
    let one = boundary_sum(small.span(), @state).unwrap();
    core::gas::withdraw_gas().unwrap();
    let middle = get_available_gas();
    let many = boundary_sum(large.span(), @state).unwrap();
    core::gas::withdraw_gas().unwrap();
    let after = get_available_gas();
    let one_slot = before - middle;
    let per_slot = ((middle - after) - one_slot) / 64;
    println!("gas: boundary_sum 1 written slot = {}, 65 slots = {}", one_slot, middle - after);
    println!("gas: boundary_sum per extra written slot = {}", per_slot);
    assert(one != many, 'distinct sums');
}

/// A public input of `n` input slots on `n` distinct contracts, every one written.
fn public_input_of(n: u32) -> Array<felt252> {
    // Header, the empty transaction-list marker (0, 0), then the lists.
    let mut out: Array<felt252> = array![1, 2, 3, 4, 5, 0, 0, n.into()];
    let mut i: u32 = 0;
    while i != n {
        out.append(0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7 + i.into());
        out.append(0x3a0b23f0b1d2d5c4b2a1 + i.into());
        out.append(1000 + i.into());
        i += 1;
    };
    out.append(n.into());
    let mut i: u32 = 0;
    while i != n {
        out.append(0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7 + i.into());
        out.append(0x3a0b23f0b1d2d5c4b2a1 + i.into());
        out.append(2000 + i.into());
        i += 1;
    };
    out
}

#[test]
#[available_gas(4000000000)]
fn gas_statement_slots_per_written_slot() {
    let small = public_input_of(1);
    let large = public_input_of(65);
    let before = get_available_gas();
    let one = crate::statement::statement_slots(small.span()).unwrap();
    core::gas::withdraw_gas().unwrap();
    let middle = get_available_gas();
    let many = crate::statement::statement_slots(large.span()).unwrap();
    core::gas::withdraw_gas().unwrap();
    let after = get_available_gas();
    println!("gas: statement_slots per extra written slot = {}", ((middle - after) - (before - middle)) / 64);
    assert(one.len() == 1 && many.len() == 65, 'slot counts');
    assert(*many[64].token == 64 && *many[64].after == 2064, 'last slot');
}

/// The unsigned program proves no transaction list: a statement that names one is refused
/// (not ignored), whatever the proof.
#[test]
fn a_transaction_list_is_refused_by_the_unsigned_program() {
    let good = public_input_of(1);
    assert!(crate::statement::statement_slots(good.span()).is_ok());
    for at in array![5_u32, 6] {
        let mut named: Array<felt252> = array![];
        let mut i = 0;
        while i != good.len() {
            named.append(if i == at {
                1
            } else {
                *good[i]
            });
            i += 1;
        };
        assert_eq!(
            crate::statement::statement_slots(named.span()), Result::Err('statement: tx list'),
        );
    };
}

/// `mul_add_limbs16` adds the little-endian 16-bit limbs the AIR's tuples carry: with weight
/// `k` the unit and the others zero it adds exactly limb `k` (the plain divide-and-remainder
/// split), on edge and mixed values, zero halves included.
#[test]
fn mul_add_limbs16_is_the_16_bit_split() {
    assert(LIMB_BITS == 16 && N_LIMBS == 8, 'layout changed');
    let values: Array<u128> = array![
        0, 1, 0xffff, 0x10000, 0xffffffffffffffffffffffffffffffff,
        0x8000000000000000000000000000000, 0x0123456789abcdeffedcba9876543210,
        0xffff0000ffff0000ffff0000ffff0000, 0xffff0000000000000000, 0x10000000000000000,
    ];
    for value in values {
        let mut rest = value;
        for k in 0..8_u32 {
            let mut weights: Array<Coordinates> = array![];
            for j in 0..8_u32 {
                weights.append(if j == k { (1, 0, 0, 0) } else { (0, 0, 0, 0) });
            };
            let mut weights = weights.span();
            let (limb, c1, c2, c3) = mul_add_limbs16((7, 0, 0, 0), ref weights, value);
            let expected: felt252 = (rest % 0x10000).into();
            assert_eq!(limb, expected + 7);
            assert_eq!((c1, c2, c3), (0, 0, 0));
            assert_eq!(weights.len(), 0);
            rest /= 0x10000;
        };
    };
}

/// `[header, 0, 0, n_in, inputs, n_out, outputs]` from flat `(contract, key, value)` lists.
fn statement_of(inputs: Array<felt252>, outputs: Array<felt252>) -> Array<felt252> {
    let mut out: Array<felt252> = array![1, 2, 3, 4, 5, 0, 0, (inputs.len() / 3).into()];
    out.append_span(inputs.span());
    out.append((outputs.len() / 3).into());
    out.append_span(outputs.span());
    out
}

/// The list checks `statement_slots` makes with its run-wise comparisons (felt equality inside
/// a contract's run, integers where it changes): every unsorted or repeated entry, in either
/// list, in a key or across contracts, is refused with its reason, and so is an output that is
/// no input (another contract's slot with the same key included) or a value above u128.
#[test]
fn statement_lists_are_checked_entry_by_entry() {
    let (a, b) = (0x100_felt252, 0x200_felt252);
    let (k1, k2) = (0x3a5c00000000000000000000000000000000000000001_felt252, 0x3a5c00000000000000000000000000000000000000002_felt252);
    // Honest: two contracts, a's two slots and b's one; a's second and b's slot written.
    let ok = statement_of(array![a, k1, 5, a, k2, 6, b, k1, 7], array![a, k2, 9, b, k1, 1]);
    let slots = crate::statement::statement_slots(ok.span()).unwrap();
    assert_eq!(slots.len(), 3);
    assert_eq!(*slots[0], StatementSlot { index: 0, token: 0, before: 5, after: 5 });
    assert_eq!(*slots[1], StatementSlot { index: 1, token: 0, before: 6, after: 9 });
    assert_eq!(*slots[2], StatementSlot { index: 2, token: 1, before: 7, after: 1 });

    let unsorted = 'statement: unsorted list';
    let cases: Array<(Array<felt252>, Array<felt252>, felt252)> = array![
        // Keys descending inside a run, a repeated key, contracts descending, a repeated slot
        // across the run boundary.
        (array![a, k2, 5, a, k1, 6], array![], unsorted),
        (array![a, k1, 5, a, k1, 6], array![], unsorted),
        (array![b, k1, 5, a, k2, 6], array![], unsorted),
        (array![a, k1, 5, b, k1, 6, b, k1, 7], array![], unsorted),
        // The same in the outputs.
        (array![a, k1, 5, a, k2, 6], array![a, k2, 1, a, k1, 1], unsorted),
        (array![a, k1, 5, a, k2, 6], array![a, k1, 1, a, k1, 2], unsorted),
        (array![a, k1, 5, b, k1, 6], array![b, k1, 1, a, k1, 1], unsorted),
        // An output no input reads: another key, another contract's slot with the same key.
        (array![a, k1, 5], array![a, k2, 1], 'statement: output not read'),
        (array![a, k1, 5], array![b, k1, 1], 'statement: output not read'),
        (array![a, k1, 5, b, k2, 6], array![a, k2, 1], 'statement: output not read'),
        // Values above u128.
        (
            array![a, k1, 0x100000000000000000000000000000000],
            array![],
            'statement: input not a balance',
        ),
        (
            array![a, k1, 5],
            array![a, k1, 0x100000000000000000000000000000000],
            'statement: output not a balance',
        ),
    ];
    for case in cases {
        let (inputs, outputs, reason) = case;
        let statement = statement_of(inputs, outputs);
        assert_eq!(crate::statement::statement_slots(statement.span()), Result::Err(reason));
    };
}
