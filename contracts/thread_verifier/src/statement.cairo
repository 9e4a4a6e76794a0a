//! The public input (exactly what the registry passes) and the LogUp boundary sum it implies.
//!
//! Encoding: `[os_version, program_hash, thread_id, sequence, contract_set_commitment,
//! n_inputs, (contract, key, value)*, n_outputs, (contract, key, value)*]`. Lists strictly
//! ascending by (contract, key) as integers; values are u128 balances; every output slot is an
//! input slot. Slot `i` of the AIR is input entry `i`; its token is the rank of its contract
//! among the distinct contracts of the input list; a slot not in the outputs keeps its value.

use core::integer::u128_safe_divmod;
use stark_verifier::fields::{M31Trait, QM31, QM31Trait};
use stark_verifier::circle::pow2_u32;
use crate::generated_params::{LIMB_BITS, MAX_SLOTS, N_LIMBS};
use crate::lookup::{LookupElements, LookupElementsTrait};

/// One slot of the statement: its AIR index, token index, and value before / after.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct StatementSlot {
    pub index: u32,
    pub token: u32,
    pub before: u128,
    pub after: u128,
}

#[derive(Drop, Copy)]
struct Entry {
    contract: u256,
    key: u256,
    value: felt252,
}

fn read_list(ref felts: Span<felt252>) -> Result<Array<Entry>, felt252> {
    let n: u32 = match felts.pop_front() {
        Option::Some(n) => match (*n).try_into() {
            Option::Some(n) => n,
            Option::None => { return Result::Err('statement: list length'); },
        },
        Option::None => { return Result::Err('statement: truncated'); },
    };
    if n > MAX_SLOTS || n * 3 > felts.len() {
        return Result::Err('statement: truncated');
    }
    let mut out: Array<Entry> = array![];
    let mut i = 0;
    while i != n {
        let contract: u256 = (*felts.pop_front().unwrap()).into();
        let key: u256 = (*felts.pop_front().unwrap()).into();
        let value = *felts.pop_front().unwrap();
        out.append(Entry { contract, key, value });
        i += 1;
    };
    Result::Ok(out)
}

fn ascending(list: Span<Entry>) -> bool {
    let mut ok = true;
    let mut i = 1;
    while i < list.len() {
        let a = *list[i - 1];
        let b = *list[i];
        if !(a.contract < b.contract || (a.contract == b.contract && a.key < b.key)) {
            ok = false;
            break;
        }
        i += 1;
    };
    ok
}

/// The statement's slots (the prover's `PublicInput::statement_slots`).
pub fn statement_slots(public_input: Span<felt252>) -> Result<Array<StatementSlot>, felt252> {
    let mut felts = public_input;
    if felts.len() < 5 {
        return Result::Err('statement: truncated');
    }
    let _header = felts.slice(0, 5);
    felts = felts.slice(5, felts.len() - 5);
    let inputs = read_list(ref felts)?;
    let outputs = read_list(ref felts)?;
    if felts.len() != 0 {
        return Result::Err('statement: trailing felts');
    }
    if inputs.len() == 0 {
        return Result::Err('statement: no inputs');
    }
    if !ascending(inputs.span()) || !ascending(outputs.span()) {
        return Result::Err('statement: unsorted list');
    }
    let mut slots: Array<StatementSlot> = array![];
    let mut error: felt252 = 0;
    let mut token: u32 = 0;
    let mut o = 0;
    let mut i = 0;
    while i != inputs.len() {
        let entry = *inputs[i];
        if i > 0 && (*inputs[i - 1]).contract != entry.contract {
            token += 1;
        }
        let before: u128 = match entry.value.try_into() {
            Option::Some(v) => v,
            Option::None => {
                error = 'statement: input not a balance';
                break;
            },
        };
        let mut after = before;
        // Both lists ascend: the next output, if it is this slot, is written here.
        if o < outputs.len() {
            let out = *outputs[o];
            if out.contract == entry.contract && out.key == entry.key {
                after = match out.value.try_into() {
                    Option::Some(v) => v,
                    Option::None => {
                        error = 'statement: output not a balance';
                        break;
                    },
                };
                o += 1;
            }
        }
        slots.append(StatementSlot { index: i, token, before, after });
        i += 1;
    };
    if error != 0 {
        return Result::Err(error);
    }
    if o != outputs.len() {
        // An output that did not match the input at its place is not an input slot.
        return Result::Err('statement: output not read');
    }
    Result::Ok(slots)
}

/// `[slot, token, limb_0 .. limb_7]` (16-bit limbs, little-endian) as QM31 values.
fn state_tuple(slot: u32, token: u32, value: u128) -> Span<QM31> {
    let mut out: Array<QM31> = array![
        QM31Trait::from_m31(M31Trait::reduce_u32(slot)),
        QM31Trait::from_m31(M31Trait::reduce_u32(token)),
    ];
    let limb_base: u128 = pow2_u32(LIMB_BITS).into();
    let limb_base: NonZero<u128> = limb_base.try_into().unwrap();
    let mut rest = value;
    let mut k = 0;
    while k != N_LIMBS {
        let (next, limb) = u128_safe_divmod(rest, limb_base);
        let limb: u32 = limb.try_into().unwrap();
        out.append(QM31Trait::from_u32_unchecked(limb, 0, 0, 0));
        rest = next;
        k += 1;
    };
    out.span()
}

/// `sum over written slots of 1/d(slot, token, after) - 1/d(slot, token, before)`, the LogUp sum
/// the transfer rows must have for these lists. Err if a denominator is zero (probability
/// ~2^-124 over the relation's draw; the prover cannot have produced such a proof honestly).
pub fn boundary_sum(slots: Span<StatementSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    let mut acc = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let mut error: felt252 = 0;
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            let d_after = state.combine(state_tuple(s.index, s.token, s.after));
            let d_before = state.combine(state_tuple(s.index, s.token, s.before));
            if d_after == zero || d_before == zero {
                error = 'statement: zero denominator';
                break;
            }
            acc = acc + d_after.inverse() - d_before.inverse();
        }
    };
    if error != 0 {
        return Result::Err(error);
    }
    Result::Ok(acc)
}
