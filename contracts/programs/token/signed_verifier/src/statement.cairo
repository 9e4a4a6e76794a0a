//! The token program's statement binding and its `StateRelation` boundary sum:
//! `zkthread_token::statement` bit for bit (tests: generated Rust vectors), on the statement
//! framework `thread_statement` (the encoding, `with_context`, the lists, the transaction list,
//! ids, key slots and relation sums, re-exported here).
//!
//! Lists strictly ascending by (contract, key) as integers; every input slot is
//! `balances[owner]` (a u128) or `thread_keys[owner]` (a packed key commitment and a nonce below
//! 2^31 - 2, `unpack_statement_key_slot`) of its contract, for the owner the proof carries;
//! every output is an input slot, its value parsed the same way. The AIR sees a slot as
//! `Balance(0, D, A, limbs[8], A_high)` or `Key(1, D, A, nonce, K[4], A_high)` with
//! `D = limbs4(poseidon(['zkthread.transfer', chain_id, registry, thread_id, contract]))` and
//! `(A, A_high)` the owner's 248-bit id (`account_id_wide`: the low and high four words of
//! `poseidon(['zkthread.account', owner])`).

use core::integer::u128_safe_divmod;
use core::pedersen::pedersen;
use starknet::storage_access::{storage_address_from_base, storage_base_address_from_felt252};
use stark_verifier::fields::{M31, M31Trait, QM31};
use thread_verifier::lookup::LookupElements;
use thread_statement::header::{read_list, unsorted_first};
use thread_statement::relation::{
    Coordinates, append_hash4, head_sum, mul_add, mul_add_hash4, mul_add_limbs16,
    sum_of_differences, tx_list_pair, weights,
};
pub use thread_statement::header::{HEADER_LEN, TX_CAP_INDEX, TX_COUNT_INDEX, tx_list, with_context};
use thread_statement::ids::DistinctIdsTrait;
pub use thread_statement::ids::{
    Hash4, KEY_NONCE_BOUND, KeySlot, account_id, account_id_wide, is_storage_address_of, limbs4,
    pack_key_slot,
    transfer_domain, unpack_key_slot, unpack_statement_key_slot,
};
pub use thread_statement::relation::{
    KIND_KEY, STATE_RELATION_SIZE, TAG_TX_CAP, TAG_TX_LIST, tx_list_boundary_sum,
};

/// `StateRelation` kind of the token's `Balance` tuple (`zkthread_token::transfer`).
pub const KIND_BALANCE: u32 = 0;

const TWO_POW_16: NonZero<u128> = 0x10000;

/// A slot's value as the AIR sees it.
#[derive(Drop, Copy, Debug, PartialEq)]
pub enum SlotState {
    Balance: u128,
    Key: KeySlot,
}

/// One input slot bound to its variable: its domain, owner id (both halves: every tuple
/// carries the whole 248-bit id) and values before / after.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct BoundSlot {
    pub domain: Hash4,
    pub account: Hash4,
    pub account_high: Hash4,
    pub before: SlotState,
    pub after: SlotState,
}

/// Storage key of `balances[owner]`: `pedersen(sn_keccak("balances"), owner) mod (2^251 - 256)`.
pub fn balance_key(owner: felt252) -> felt252 {
    storage_address_from_base(
        storage_base_address_from_felt252(pedersen(selector!("balances"), owner)),
    )
        .into()
}

/// Storage key of `thread_keys[owner]`.
pub fn thread_key_key(owner: felt252) -> felt252 {
    storage_address_from_base(
        storage_base_address_from_felt252(pedersen(selector!("thread_keys"), owner)),
    )
        .into()
}

/// `value` as the AIR sees the slot (`TokenLayout::parse`), for inputs and outputs alike; a key
/// slot's nonce below `KEY_NONCE_BOUND` (a key step from 2^31 - 2 wraps the AIR's nonce to 0).
fn parse(is_key: bool, value: felt252) -> Option<SlotState> {
    if is_key {
        match unpack_statement_key_slot(value) {
            Option::Some(slot) => Option::Some(SlotState::Key(slot)),
            Option::None => Option::None,
        }
    } else {
        match value.try_into() {
            Option::Some(v) => Option::Some(SlotState::Balance(v)),
            Option::None => Option::None,
        }
    }
}

/// Whether a written slot moves a key slot's nonce forward (the Rust `check_key_step`): every
/// signed message steps it by one in M31 and both ends are below `KEY_NONCE_BOUND`, so an
/// output at or below its input (with another key) is a nonce that wrapped past `p - 1`
/// inside the proof. An unchanged slot and a balance pass.
pub fn key_steps_forward(before: SlotState, after: SlotState) -> bool {
    match before {
        SlotState::Key(old) => match after {
            SlotState::Key(new) => new == old || new.nonce > old.nonce,
            SlotState::Balance(_) => true,
        },
        SlotState::Balance(_) => true,
    }
}

/// Checks the lists and binds every input slot to `balances` / `thread_keys` of its owner
/// (`SignedPublicInput::bound_slots`, same checks in the same order). `owners[i]` is input
/// `i`'s owner, a witness: a key determines its owner up to a Pedersen collision.
pub fn bound_slots(
    public_input: Span<felt252>, owners: Span<felt252>,
) -> Result<Array<BoundSlot>, felt252> {
    if public_input.len() < HEADER_LEN {
        return Result::Err('statement: truncated');
    }
    tx_list(public_input)?;
    let chain_id = *public_input[2];
    let registry = *public_input[3];
    let thread_id = *public_input[4];
    let mut felts = public_input.slice(HEADER_LEN, public_input.len() - HEADER_LEN);
    let (n_inputs, mut inputs) = read_list(ref felts)?;
    let (_, outputs) = read_list(ref felts)?;
    if felts.len() != 0 {
        return Result::Err('statement: trailing felts');
    }
    if n_inputs == 0 {
        return Result::Err('statement: no inputs');
    }
    // The lists' order is checked by the walk below, not in passes of their own: the inputs'
    // pair by pair as they are bound, the outputs' by being taken in input order (a fully
    // taken output list is a subsequence of the ascending inputs). Where a refusal is due
    // before that is known, `unsorted_first` checks both: an unsorted list is refused first, as in
    // the Rust order.
    let all_inputs = inputs;
    if owners.len() != n_inputs {
        return Result::Err(unsorted_first(all_inputs, outputs, 'statement: owner count'));
    }
    // One walk over the inputs binds each and takes its output along: both lists ascend, so
    // an input's output, if any, is the first output not yet taken. An input's error is
    // returned at once; an output's error only after every input bound (the Rust order), and
    // it stops the outputs from being taken, so an untaken output is one no input reads.
    let mut owners = owners;
    let mut rest = outputs;
    let mut slots: Array<BoundSlot> = array![];
    let mut error: felt252 = 0;
    let mut output_error: felt252 = 0;
    let mut domain: Hash4 = (0, 0, 0, 0);
    let mut run_contract: felt252 = 0;
    let mut previous_key: u256 = 0;
    let mut first = true;
    let mut ids = DistinctIdsTrait::new();
    while let Option::Some(contract) = inputs.pop_front() {
        let contract = *contract;
        let key = *inputs.pop_front().unwrap();
        let value = *inputs.pop_front().unwrap();
        let owner = *owners.pop_front().unwrap();
        // Strictly after the previous input (`ascending`, one pair at a time).
        let key_wide: u256 = key.into();
        if !first {
            let in_order = if contract == run_contract {
                previous_key < key_wide
            } else {
                let before: u256 = run_contract.into();
                let after: u256 = contract.into();
                before < after
            };
            if !in_order {
                error = 'statement: unsorted list';
                break;
            }
        }
        previous_key = key_wide;
        let is_key = if is_storage_address_of(key, key_wide, pedersen(selector!("balances"), owner)) {
            false
        } else if is_storage_address_of(
            key, key_wide, pedersen(selector!("thread_keys"), owner),
        ) {
            true
        } else {
            error = 'statement: unbound slot';
            break;
        };
        let before = match parse(is_key, value) {
            Option::Some(state) => state,
            Option::None => {
                error = 'statement: bad value';
                break;
            },
        };
        // The list is sorted by contract: one domain per run of equal contracts.
        if first || contract != run_contract {
            domain = transfer_domain(chain_id, registry, thread_id, contract);
            run_contract = contract;
            first = false;
            if !ids.domain(domain, contract) {
                error = 'statement: domain clash';
                break;
            }
        }
        let (account, account_high) = account_id_wide(owner);
        if !ids.account(account, owner) {
            error = 'statement: account id clash';
            break;
        }
        let mut after = before;
        if output_error == 0 {
            let mut next = rest;
            if let Option::Some(output_contract) = next.pop_front() {
                let output_key = *next.pop_front().unwrap();
                let output_value = *next.pop_front().unwrap();
                if *output_contract == contract && output_key == key {
                    match parse(is_key, output_value) {
                        Option::Some(state) => {
                            if key_steps_forward(before, state) {
                                after = state;
                                rest = next;
                            } else {
                                output_error = 'statement: nonce not advanced';
                            }
                        },
                        Option::None => { output_error = 'statement: bad value'; },
                    }
                }
            }
        }
        slots.append(BoundSlot { domain, account, account_high, before, after });
    };
    if error != 0 {
        return Result::Err(unsorted_first(all_inputs, outputs, error));
    }
    if output_error != 0 {
        return Result::Err(unsorted_first(all_inputs, outputs, output_error));
    }
    if rest.len() != 0 {
        return Result::Err(unsorted_first(all_inputs, outputs, 'statement: output not read'));
    }
    Result::Ok(slots)
}

/// Values of a `StateRelation` entry before the slot's value: `[kind, D, A]`, the same
/// before and after a write (a slot keeps its variable, domain and owner).
pub const STATE_HEAD_LEN: u32 = 9;

/// `[kind, D, A]` of a slot holding `state`.
fn state_head(domain: Hash4, account: Hash4, state: SlotState) -> Array<M31> {
    let kind = match state {
        SlotState::Balance(_) => KIND_BALANCE,
        SlotState::Key(_) => KIND_KEY,
    };
    let mut out: Array<M31> = array![M31Trait::from_u32_unchecked(kind)];
    append_hash4(ref out, domain);
    append_hash4(ref out, account);
    out
}

/// The value part of a `StateRelation` entry, then the owner's high id words: 8 limbs of 16
/// bits little-endian for a balance, `[nonce, K]` for a key slot.
fn state_tail(account_high: Hash4, state: SlotState) -> Array<M31> {
    let mut out: Array<M31> = array![];
    match state {
        SlotState::Balance(value) => {
            let mut rest = value;
            let mut k = 0;
            while k != 8 {
                let (next, limb) = u128_safe_divmod(rest, TWO_POW_16);
                out.append(M31Trait::from_u32_unchecked(limb.try_into().unwrap()));
                rest = next;
                k += 1;
            };
            append_hash4(ref out, account_high);
        },
        SlotState::Key(slot) => {
            out.append(M31Trait::from_u32_unchecked(slot.nonce));
            append_hash4(ref out, slot.key);
            append_hash4(ref out, account_high);
        },
    }
    out
}

/// The `StateRelation` values of a slot in `state`: `[0, D, A, 8 limbs of 16 bits
/// little-endian, A_high]` for a balance, `[1, D, A, nonce, K, A_high]` for a key slot.
pub fn state_values(
    domain: Hash4, account: Hash4, account_high: Hash4, state: SlotState,
) -> Array<M31> {
    let mut out = state_head(domain, account, state);
    out.append_span(state_tail(account_high, state).span());
    out
}

/// Where the owner's high id words sit in a slot's `state_tail`: after a balance's 8 limbs, or
/// after a key slot's nonce and key.
const BALANCE_HIGH_AT: u32 = 8;
const KEY_HIGH_AT: u32 = 5;

/// `base + sum_i alpha^(9 + i) tail_i` over the slot's value part of `state_tail` (its limbs,
/// or its nonce and key), where `base` already holds the head and the owner's high words
/// (`state_pairs`: the same before and after a write), unreduced: each coordinate below
/// `P + 21 P^2 < 2^67` (21 products of a weight and a value below P, and `-z`).
fn state_denominator(mut tail_weights: Span<Coordinates>, base: Coordinates, state: SlotState) -> Coordinates {
    match state {
        SlotState::Balance(value) => mul_add_limbs16(base, ref tail_weights, value),
        SlotState::Key(slot) => {
            let acc = mul_add(base, ref tail_weights, slot.nonce.into());
            mul_add_hash4(acc, ref tail_weights, slot.key)
        },
    }
}

/// `(d(after), d(before))` of every changed slot, `d(t) = sum_i alpha^i t_i - z` for the
/// slot's `state_values`, as unreduced coordinates (congruent mod P, below 2^67). The
/// `[kind, D, A]` head and the owner's high words are the same before and after: their sum is
/// taken once per slot.
fn state_pairs(slots: Span<BoundSlot>, state: @LookupElements) -> Array<(Coordinates, Coordinates)> {
    let (weights, minus_z) = weights(state, STATE_RELATION_SIZE);
    let tail_weights = weights.slice(STATE_HEAD_LEN, STATE_RELATION_SIZE - STATE_HEAD_LEN);
    let mut pairs: Array<(Coordinates, Coordinates)> = array![];
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            let (kind, high_at) = match s.before {
                SlotState::Balance(_) => (KIND_BALANCE, BALANCE_HIGH_AT),
                SlotState::Key(_) => (KIND_KEY, KEY_HIGH_AT),
            };
            let head = head_sum(weights, minus_z, kind.into(), s.domain, s.account);
            let mut high_weights = tail_weights.slice(high_at, 4);
            let base = mul_add_hash4(head, ref high_weights, s.account_high);
            let d_after = state_denominator(tail_weights, base, s.after);
            let d_before = state_denominator(tail_weights, base, s.before);
            pairs.append((d_after, d_before));
        }
    };
    pairs
}

/// `sum over changed slots of 1/d(after) - 1/d(before)` (the Rust `boundary_sum`).
pub fn boundary_sum(slots: Span<BoundSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    sum_of_differences(state_pairs(slots, state).span())
}

/// The whole boundary the rows' LogUp sums must reach (the Rust `statement::boundary`):
/// `boundary_sum` + `tx_list_boundary_sum`, with one inversion.
pub fn statement_boundary_sum(
    slots: Span<BoundSlot>,
    state: @LookupElements,
    tx_count: u32,
    tx_cap: Span<M31>,
    link: @LookupElements,
) -> Result<QM31, felt252> {
    let mut pairs = state_pairs(slots, state);
    pairs.append(tx_list_pair(tx_count, tx_cap, link));
    sum_of_differences(pairs.span())
}
