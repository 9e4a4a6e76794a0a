//! The signed statement's header and lists, every program's: the encoding, the context the
//! verifier adds (`with_context`), the transaction list and its reading, and the list order
//! (`zkthread_prover::statement::SignedPublicInput`, bit for bit).
//!
//! Encoding: `[os_version, program_hash, chain_id, registry, thread_id, sequence,
//! contract_set_commitment, n_transactions, transactions_commitment, n_inputs, (contract, key,
//! value)*, n_outputs, (contract, key, value)*]`. The registry passes `[os_version,
//! program_hash, thread_id, sequence, contract_set_commitment, n_transactions,
//! transactions_commitment, lists]`; the verifier inserts the chain id and its caller (the
//! registry) with `with_context`, so a proof made for another chain or registry fails (both
//! enter the transfer domain every signature covers).

use core::integer::u128_safe_divmod;
use stark_verifier::fields::{M31, M31Trait, P};

/// Felts before the input list.
pub const HEADER_LEN: u32 = 9;
/// Where the transaction list's count and packed capacity are in the public input.
pub const TX_COUNT_INDEX: u32 = 7;
pub const TX_CAP_INDEX: u32 = 8;

const TWO_POW_31: NonZero<u128> = 0x80000000;
const TWO_POW_124: NonZero<u128> = 0x10000000000000000000000000000000;
/// A packed transaction-list capacity is below 2^248: its high 128 bits below 2^120.
const TWO_POW_120: u128 = 0x1000000000000000000000000000000;

/// `[os, program, thread, sequence, commitment, lists]` (what the registry passes) with
/// `chain_id` and `registry` inserted after the program hash.
pub fn with_context(
    registry_public_input: Span<felt252>, chain_id: felt252, registry: felt252,
) -> Span<felt252> {
    let mut rest = registry_public_input;
    let mut out: Array<felt252> = array![];
    // A public input too short to parse still gets the context after what it has.
    if let Option::Some(os_version) = rest.pop_front() {
        out.append(*os_version);
    }
    if let Option::Some(program_hash) = rest.pop_front() {
        out.append(*program_hash);
    }
    out.append(chain_id);
    out.append(registry);
    append_felts(ref out, rest);
    out.span()
}

/// Appends `felts` to `out`, 8 per loop iteration: a loop iteration costs a range check (and
/// an indexed read another), one `multi_pop_front` one more for all 8.
fn append_felts(ref out: Array<felt252>, mut felts: Span<felt252>) {
    while let Option::Some(block) = felts.multi_pop_front::<8>() {
        let [f0, f1, f2, f3, f4, f5, f6, f7] = (*block).unbox();
        out.append(f0);
        out.append(f1);
        out.append(f2);
        out.append(f3);
        out.append(f4);
        out.append(f5);
        out.append(f6);
        out.append(f7);
    };
    out.append_span(felts);
}

/// A list's `n` and its `3 n` felts `(contract, key, value)*`, taken off the front of `felts`.
pub fn read_list(ref felts: Span<felt252>) -> Result<(u32, Span<felt252>), felt252> {
    let n: u32 = match felts.pop_front() {
        Option::Some(n) => match (*n).try_into() {
            Option::Some(n) => n,
            Option::None => { return Result::Err('statement: list length'); },
        },
        Option::None => { return Result::Err('statement: truncated'); },
    };
    if n > felts.len() || n * 3 > felts.len() {
        return Result::Err('statement: truncated');
    }
    let size = n * 3;
    let list = felts.slice(0, size);
    felts = felts.slice(size, felts.len() - size);
    Result::Ok((n, list))
}

/// Whether the `(contract, key, value)*` list is strictly ascending by (contract, key) as
/// integers. Contracts compare as felts first (equal within a run, free); each key becomes a
/// u256 once and is the next comparison's left side.
pub fn ascending(mut list: Span<felt252>) -> bool {
    let (mut previous_contract, mut previous_key) = match list.pop_front() {
        Option::Some(contract) => {
            let key: u256 = (*list.pop_front().unwrap()).into();
            let _ = list.pop_front();
            (*contract, key)
        },
        Option::None => { return true; },
    };
    let mut ok = true;
    while let Option::Some(contract) = list.pop_front() {
        let contract = *contract;
        let key: u256 = (*list.pop_front().unwrap()).into();
        let _ = list.pop_front();
        let in_order = if contract == previous_contract {
            previous_key < key
        } else {
            let before: u256 = previous_contract.into();
            let after: u256 = contract.into();
            before < after
        };
        if !in_order {
            ok = false;
            break;
        }
        previous_contract = contract;
        previous_key = key;
    };
    ok
}

/// `reason`, unless a list is out of order: that refusal comes first (the Rust order checks
/// both lists before any slot).
pub fn unsorted_first(inputs: Span<felt252>, outputs: Span<felt252>, reason: felt252) -> felt252 {
    if ascending(inputs) && ascending(outputs) {
        reason
    } else {
        'statement: unsorted list'
    }
}


/// The transaction list of the public input: `(n, cap[8])`, the capacity unpacked from
/// `sum cap[i] * 2^(31 i)` (`zkthread_sig::TxListCommitment::from_felts`: below 2^248, every
/// word below 2^31 - 1, so each list has one encoding).
pub fn tx_list(public_input: Span<felt252>) -> Result<(u32, Span<M31>), felt252> {
    if public_input.len() < HEADER_LEN {
        return Result::Err('statement: truncated');
    }
    let count: u32 = match (*public_input[TX_COUNT_INDEX]).try_into() {
        Option::Some(n) => n,
        Option::None => { return Result::Err('statement: tx count'); },
    };
    // The AIR counts in M31: a count of n + p would name the same path as n.
    if count >= P {
        return Result::Err('statement: tx count');
    }
    let wide: u256 = (*public_input[TX_CAP_INDEX]).into();
    // 8 words of 31 bits: 4 from the low 124 bits, 4 from bits 124..248.
    if wide.high >= TWO_POW_120 {
        return Result::Err('statement: tx commitment');
    }
    let (top, low) = u128_safe_divmod(wide.low, TWO_POW_124);
    let high = top + wide.high * 16;
    let mut words: Array<M31> = array![];
    let mut error = false;
    for part in array![low, high] {
        let mut rest = part;
        let mut k = 0;
        while k != 4 {
            let (next, w) = u128_safe_divmod(rest, TWO_POW_31);
            if w == P.into() {
                error = true;
            }
            words.append(M31Trait::from_u32_unchecked(w.try_into().unwrap()));
            rest = next;
            k += 1;
        };
    };
    if error {
        return Result::Err('statement: tx commitment');
    }
    Result::Ok((count, words.span()))
}

