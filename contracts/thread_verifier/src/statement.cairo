//! The public input (exactly what the registry passes) and the LogUp boundary sum it implies.
//!
//! Encoding: `[os_version, program_hash, thread_id, sequence, contract_set_commitment,
//! n_transactions, transactions_commitment, n_inputs, (contract, key, value)*, n_outputs,
//! (contract, key, value)*]`. This unsigned baseline proves no transaction list: only
//! `(0, 0)` is accepted there. Lists strictly
//! ascending by (contract, key) as integers; values are u128 balances; every output slot is an
//! input slot. Slot `i` of the AIR is input entry `i`; its token is the rank of its contract
//! among the distinct contracts of the input list; a slot not in the outputs keeps its value.

use core::pedersen::pedersen;
use starknet::storage_access::{storage_address_from_base, storage_base_address_from_felt252};
use stark_verifier::fields::QM31;
use crate::fraction::{Coordinates, mul_add_limbs16, sum_of_differences, weights};
use crate::generated_params::{LIMB_BITS, MAX_SLOTS, N_LIMBS};
use crate::lookup::LookupElements;

/// Felts before the input list.
pub const HEADER_LEN: u32 = 7;

/// One slot of the statement: its AIR index, token index, and value before / after.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct StatementSlot {
    pub index: u32,
    pub token: u32,
    pub before: u128,
    pub after: u128,
}

/// The list at the front of `felts`, `[n, (contract, key, value) * n]`: its `3 n` felts (no
/// felt converted here; `ascending` widens what it compares, `statement_slots` the values).
fn read_list(ref felts: Span<felt252>) -> Result<Span<felt252>, felt252> {
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
    let list = felts.slice(0, n * 3);
    felts = felts.slice(n * 3, felts.len() - n * 3);
    Result::Ok(list)
}

/// Whether a list's triples are strictly ascending by (contract, key) as integers. Within a run
/// of one contract (felt equality: no range check) only the keys are compared as integers, each
/// widened once; contracts are widened where a run changes.
fn ascending(list: Span<felt252>) -> bool {
    let mut list = list;
    let (mut contract, mut last_key) = match list.multi_pop_front::<3>() {
        Option::Some(first) => {
            let [contract, key, _] = (*first).unbox();
            let key: u256 = key.into();
            (contract, key)
        },
        Option::None => { return true; },
    };
    let mut ok = true;
    while let Option::Some(entry) = list.multi_pop_front::<3>() {
        let [next_contract, key, _] = (*entry).unbox();
        let key: u256 = key.into();
        if next_contract == contract {
            if !(last_key < key) {
                ok = false;
                break;
            }
        } else {
            let a: u256 = contract.into();
            let b: u256 = next_contract.into();
            if !(a < b) {
                ok = false;
                break;
            }
            contract = next_contract;
        }
        last_key = key;
    };
    ok
}

/// The next `(contract, key, value)` of a list, if any.
#[inline(always)]
fn pop_entry(ref list: Span<felt252>) -> Option<(felt252, felt252, felt252)> {
    match list.multi_pop_front::<3>() {
        Option::Some(entry) => {
            let [contract, key, value] = (*entry).unbox();
            Option::Some((contract, key, value))
        },
        Option::None => Option::None,
    }
}

/// The statement's slots (the prover's `PublicInput::statement_slots`).
pub fn statement_slots(public_input: Span<felt252>) -> Result<Array<StatementSlot>, felt252> {
    let mut felts = public_input;
    if felts.len() < HEADER_LEN {
        return Result::Err('statement: truncated');
    }
    // The registry's transaction-list commitment: this program proves none, so only the
    // empty marker (0, 0) is a statement it can prove.
    if *felts[5] != 0 || *felts[6] != 0 {
        return Result::Err('statement: tx list');
    }
    felts = felts.slice(HEADER_LEN, felts.len() - HEADER_LEN);
    let inputs = read_list(ref felts)?;
    let outputs = read_list(ref felts)?;
    if felts.len() != 0 {
        return Result::Err('statement: trailing felts');
    }
    if inputs.len() == 0 {
        return Result::Err('statement: no inputs');
    }
    // The outputs' order is checked by the walk below, not by a pass of its own: each output
    // is taken where it meets its input, so a fully taken output list is a subsequence of the
    // strictly ascending inputs. Where the walk refuses, an unsorted output list is named
    // first (the Rust order).
    if !ascending(inputs) {
        return Result::Err('statement: unsorted list');
    }
    let mut slots: Array<StatementSlot> = array![];
    let mut error: felt252 = 0;
    let mut token: u32 = 0;
    let mut index: u32 = 0;
    let mut last_contract = *inputs[0];
    let mut rest = inputs;
    let mut outs = outputs;
    let mut next_output = pop_entry(ref outs);
    while let Option::Some((contract, key, value)) = pop_entry(ref rest) {
        if contract != last_contract {
            token += 1;
            last_contract = contract;
        }
        let before: u128 = match value.try_into() {
            Option::Some(v) => v,
            Option::None => {
                error = 'statement: input not a balance';
                break;
            },
        };
        let mut after = before;
        // Both lists ascend: the next output, if it is this slot, is written here.
        if let Option::Some((out_contract, out_key, out_value)) = next_output {
            if out_contract == contract && out_key == key {
                after = match out_value.try_into() {
                    Option::Some(v) => v,
                    Option::None => {
                        error = 'statement: output not a balance';
                        break;
                    },
                };
                next_output = pop_entry(ref outs);
            }
        }
        slots.append(StatementSlot { index, token, before, after });
        index += 1;
    };
    if error == 0 && next_output.is_some() {
        // An output that did not match the input at its place is not an input slot.
        error = 'statement: output not read';
    }
    if error != 0 {
        if !ascending(outputs) {
            return Result::Err('statement: unsorted list');
        }
        return Result::Err(error);
    }
    Result::Ok(slots)
}

/// The storage key of `balances[owner]` in a thread token: what Cairo's `Map` derives,
/// `pedersen(sn_keccak("balances"), owner) mod (2^251 - 256)`.
pub fn balance_key(owner: felt252) -> felt252 {
    let base = storage_base_address_from_felt252(pedersen(selector!("balances"), owner));
    storage_address_from_base(base).into()
}

/// Every input slot is `balances[owners[i]]` of its contract (the prover's
/// `PublicInput::check_slot_owners`); outputs are a subset of the inputs (`statement_slots`
/// checks that), so they are bound too. A key that is no balance address — `total_supply`,
/// `name`, a component's own variable — is refused before any STARK work. `owners` is a
/// witness: a key determines its owner up to a Pedersen collision, so it needs no transcript.
/// Expects a public input `statement_slots` accepted.
pub fn check_slot_owners(public_input: Span<felt252>, owners: Span<felt252>) -> Result<(), felt252> {
    let n_inputs: u32 = (*public_input[HEADER_LEN]).try_into().unwrap();
    if owners.len() != n_inputs {
        return Result::Err('statement: owner count');
    }
    // Popped from spans, not indexed: an index costs a range check.
    let mut inputs = public_input.slice(HEADER_LEN + 1, 3 * n_inputs);
    let mut owners = owners;
    let mut bound = true;
    while let Option::Some(entry) = inputs.multi_pop_front::<3>() {
        let [_, key, _] = (*entry).unbox();
        if key != balance_key(*owners.pop_front().unwrap()) {
            bound = false;
            break;
        }
    };
    if bound {
        Result::Ok(())
    } else {
        Result::Err('statement: unbound slot')
    }
}

/// `sum over written slots of 1/d(slot, token, after) - 1/d(slot, token, before)`, the LogUp sum
/// the transfer rows must have for these lists, where `d(t) = state.combine(t)` for the tuple
/// `t = [slot, token, limb_0 .. limb_7]` (LIMB_BITS-bit limbs, little-endian). Err if a
/// denominator is zero (probability ~2^-124 over the relation's draw; the prover cannot have
/// produced such a proof honestly).
///
/// Denominators are assembled coordinate-wise as unreduced felts (M31 slot / token / 16-bit limb
/// times a QM31 weight, the limbs split by `mul_add_limbs16`, free for a zero half) and summed
/// by `fraction::sum_of_differences`: one fraction `N / D` reduced every second slot, one
/// inversion in all. The final denominator is the product of every written slot's two
/// denominators, so it is zero exactly when one of them is (QM31 is a field).
pub fn boundary_sum(slots: Span<StatementSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    // `mul_add_limbs16` is written for this layout.
    assert(LIMB_BITS == 16 && N_LIMBS == 8, 'statement: limb layout');
    let (weights, minus_z) = weights(state, 2 + N_LIMBS);
    let (sw0, sw1, sw2, sw3) = *weights[0];
    let (tw0, tw1, tw2, tw3) = *weights[1];
    let (mz0, mz1, mz2, mz3) = minus_z;
    let limb_weights = weights.slice(2, N_LIMBS);
    let mut pairs: Array<(Coordinates, Coordinates)> = array![];
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            // The slot and token terms (and -z), shared by both tuples: each coordinate below
            // 2 * 2^31 * 2^32 + 2^31 < 2^65; the limbs add below 8 * 2^31 * 2^16 = 2^50, so a
            // denominator stays below 2^66 (`sum_of_differences` takes < 2^67).
            let index: felt252 = s.index.into();
            let token: felt252 = s.token.into();
            let shared = (
                sw0 * index + tw0 * token + mz0,
                sw1 * index + tw1 * token + mz1,
                sw2 * index + tw2 * token + mz2,
                sw3 * index + tw3 * token + mz3,
            );
            let mut after_weights = limb_weights;
            let mut before_weights = limb_weights;
            pairs
                .append(
                    (
                        mul_add_limbs16(shared, ref after_weights, s.after),
                        mul_add_limbs16(shared, ref before_weights, s.before),
                    ),
                );
        }
    };
    sum_of_differences(pairs.span())
}
