//! The signed program's public input, its slot binding and the `StateRelation` boundary sum:
//! `zkthread_prover::statement` and `zkthread_token::statement` bit for bit (tests: generated Rust vectors).
//!
//! Encoding: `[os_version, program_hash, chain_id, registry, thread_id, sequence,
//! contract_set_commitment, n_transactions, transactions_commitment, n_inputs, (contract, key,
//! value)*, n_outputs, (contract, key, value)*]`. The registry passes `[os_version,
//! program_hash, thread_id, sequence, contract_set_commitment, n_transactions,
//! transactions_commitment, lists]`; the verifier inserts the chain id and its caller (the
//! registry) with `with_context`, so a proof made for another chain or registry fails (both
//! enter the transfer domain every signature covers).
//!
//! Lists strictly ascending by (contract, key) as integers; every input slot is
//! `balances[owner]` (a u128) or `thread_keys[owner]` (a packed key commitment and nonce) of its
//! contract, for the owner the proof carries; every output is an input slot. The AIR sees a slot
//! as `Balance(0, D, A, limbs[8])` or `Key(1, D, A, nonce, K[4])` with
//! `D = limbs4(poseidon(['zkthread.transfer', chain_id, registry, thread_id, contract]))` and
//! `A = limbs4(poseidon(['zkthread.account', owner]))`.

use core::integer::u128_safe_divmod;
use core::pedersen::pedersen;
use core::poseidon::{hades_permutation, poseidon_hash_span};
use starknet::storage_access::{storage_address_from_base, storage_base_address_from_felt252};
use stark_verifier::fields::bounded::{BoundedInt, DivRemHelper, u128_mod_p_felt};
use stark_verifier::fields::{M31, M31Trait, P, QM31, QM31Trait};
use thread_verifier::lookup::LookupElements;

/// Felts before the input list.
pub const HEADER_LEN: u32 = 9;
/// Where the transaction list's count and packed capacity are in the public input.
pub const TX_COUNT_INDEX: u32 = 7;
pub const TX_CAP_INDEX: u32 = 8;
/// `LinkRelation` tag of a transaction-list capacity (`zkthread_prover::auth::link`).
pub const TAG_TX_CAP: u32 = 7;
/// `zkthread_sig::tx_list::TAG_TX_LIST`: the first word of the empty list's capacity.
pub const TAG_TX_LIST: u32 = 7;
/// Values of a `StateRelation` entry (`zkthread_prover::role::STATE_RELATION_SIZE`).
pub const STATE_RELATION_SIZE: u32 = 17;
/// `StateRelation` kinds (`zkthread_prover::auth::link`, `zkthread_token::transfer`).
pub const KIND_BALANCE: u32 = 0;
pub const KIND_KEY: u32 = 1;

const TWO_POW_31: NonZero<u128> = 0x80000000;
const TWO_POW_16: NonZero<u128> = 0x10000;
const TWO_POW_124: NonZero<u128> = 0x10000000000000000000000000000000;
/// A packed transaction-list capacity is below 2^248: its high 128 bits below 2^120.
const TWO_POW_120: u128 = 0x1000000000000000000000000000000;

/// Four M31 words (a transfer domain, an account id or a key commitment).
pub type Hash4 = (u32, u32, u32, u32);

/// A key slot decoded: the one-time key commitment and the nonce.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct KeySlot {
    pub key: Hash4,
    pub nonce: u32,
}

/// A slot's value as the AIR sees it.
#[derive(Drop, Copy, Debug, PartialEq)]
pub enum SlotState {
    Balance: u128,
    Key: KeySlot,
}

/// One input slot bound to its variable: its domain, owner id and values before / after.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct BoundSlot {
    pub domain: Hash4,
    pub account: Hash4,
    pub before: SlotState,
    pub after: SlotState,
}

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

/// Word splits by constant powers of two on the corelib's bounded-integer libfuncs (audited;
/// declared crate-private in our 2.9 corelib, so declared here with the same signatures, as
/// `stark_verifier::fields::bounded` does): a division by a constant costs 3 range checks and
/// types its remainder, where `u128_safe_divmod` costs 4 and the remainder's u32 downcast one
/// more. The types are the ranges the libfunc derives (a helper naming others fails to compile).
extern fn bounded_int_div_rem<Lhs, Rhs, impl H: DivRemHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: NonZero<Rhs>,
) -> (H::DivT, H::RemT) implicits(core::RangeCheck) nopanic;
extern fn upcast<FromType, ToType>(x: FromType) -> ToType nopanic;
/// felt252 -> a range below 2^128: 2 range checks in range (more on the failure path).
extern fn downcast<FromType, ToType>(
    x: FromType,
) -> Option<ToType> implicits(core::RangeCheck) nopanic;

type U128 = BoundedInt<0, 0xffffffffffffffffffffffffffffffff>;
type U124 = BoundedInt<0, 0xfffffffffffffffffffffffffffffff>;
type U97 = BoundedInt<0, 0x1ffffffffffffffffffffffff>;
type U93 = BoundedInt<0, 0x1fffffffffffffffffffffff>;
type U66 = BoundedInt<0, 0x3ffffffffffffffff>;
type U62 = BoundedInt<0, 0x3fffffffffffffff>;
type U35 = BoundedInt<0, 0x7ffffffff>;
type U31 = BoundedInt<0, 0x7fffffff>;
type U4 = BoundedInt<0, 0xf>;
type BelowP = BoundedInt<0, 0x7ffffffe>;
type Const2Pow31 = BoundedInt<0x80000000, 0x80000000>;
type Const2Pow124 = BoundedInt<0x10000000000000000000000000000000, 0x10000000000000000000000000000000>;

impl U128By2Pow31 of DivRemHelper<U128, Const2Pow31> {
    type DivT = U97;
    type RemT = U31;
}
impl U97By2Pow31 of DivRemHelper<U97, Const2Pow31> {
    type DivT = U66;
    type RemT = U31;
}
impl U66By2Pow31 of DivRemHelper<U66, Const2Pow31> {
    type DivT = U35;
    type RemT = U31;
}
impl U35By2Pow31 of DivRemHelper<U35, Const2Pow31> {
    type DivT = U4;
    type RemT = U31;
}
impl U128By2Pow124 of DivRemHelper<U128, Const2Pow124> {
    type DivT = U4;
    type RemT = U124;
}
impl U124By2Pow31 of DivRemHelper<U124, Const2Pow31> {
    type DivT = U93;
    type RemT = U31;
}
impl U93By2Pow31 of DivRemHelper<U93, Const2Pow31> {
    type DivT = U62;
    type RemT = U31;
}
impl U62By2Pow31 of DivRemHelper<U62, Const2Pow31> {
    type DivT = U31;
    type RemT = U31;
}

const TWO_POW_31_NZ: NonZero<Const2Pow31> = 0x80000000;
const TWO_POW_124_NZ: NonZero<Const2Pow124> = 0x10000000000000000000000000000000;
const P_FELT: felt252 = 0x7fffffff;

/// The four 31-bit words of `h` from the least significant (bits 0..124), each reduced mod
/// 2^31 - 1 (the all-ones word becomes 0). 3 + 4 * 3 range checks.
pub fn limbs4(h: felt252) -> Hash4 {
    let wide: u256 = h.into();
    let (rest, w0) = bounded_int_div_rem(upcast::<u128, U128>(wide.low), TWO_POW_31_NZ);
    let (rest, w1) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (rest, w2) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (_, w3) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    (reduce_word(w0), reduce_word(w1), reduce_word(w2), reduce_word(w3))
}

/// A 31-bit word mod P: compared as a felt (no range check).
#[inline(always)]
fn reduce_word(w: U31) -> u32 {
    let as_felt: felt252 = upcast(w);
    if as_felt == P_FELT {
        0
    } else {
        upcast(w)
    }
}

/// Whether a 31-bit word is canonical (below P), compared as a felt.
#[inline(always)]
fn canonical(w: U31) -> bool {
    let as_felt: felt252 = upcast(w);
    as_felt != P_FELT
}

/// `D = limbs4(poseidon(['zkthread.transfer', chain_id, registry, thread_id, contract]))`.
pub fn transfer_domain(
    chain_id: felt252, registry: felt252, thread_id: felt252, contract: felt252,
) -> Hash4 {
    limbs4(
        poseidon_hash_span(
            array!['zkthread.transfer', chain_id, registry, thread_id, contract].span(),
        ),
    )
}

/// `A = limbs4(poseidon(['zkthread.account', owner]))`: `poseidon_hash_span` of two felts
/// (one permutation, then the padding's), without building the array.
pub fn account_id(owner: felt252) -> Hash4 {
    let (s0, s1, s2) = hades_permutation('zkthread.account', owner, 0);
    let (hash, _, _) = hades_permutation(s0 + 1, s1, s2);
    limbs4(hash)
}

/// `K0 + K1 * 2^31 + K2 * 2^62 + K3 * 2^93 + nonce * 2^124` (`zkthread_sig::pack_key_slot`);
/// the caller keeps every word and the nonce below 2^31 - 1.
pub fn pack_key_slot(slot: KeySlot) -> felt252 {
    let (k0, k1, k2, k3) = slot.key;
    let base: felt252 = 0x80000000;
    let k0: felt252 = k0.into();
    let k1: felt252 = k1.into();
    let k2: felt252 = k2.into();
    let k3: felt252 = k3.into();
    let nonce: felt252 = slot.nonce.into();
    (((nonce * base + k3) * base + k2) * base + k1) * base + k0
}

/// Inverse of `pack_key_slot` (`zkthread_sig::unpack_key_slot`): None for a word equal to
/// 2^31 - 1, a nonce >= 2^31 - 1, or anything at or above bit 155.
pub fn unpack_key_slot(value: felt252) -> Option<KeySlot> {
    let wide: u256 = value.into();
    let (top, key_bits) = bounded_int_div_rem(upcast::<u128, U128>(wide.low), TWO_POW_124_NZ);
    // nonce = bits 124.. = top (4 bits) + high * 16, below 2^132 as an integer (no
    // wrap-around): below P exactly when the value is below 2^155 with a nonce below P.
    let top: felt252 = upcast(top);
    let nonce: BelowP = match downcast(top + wide.high.into() * 16) {
        Option::Some(nonce) => nonce,
        Option::None => { return Option::None; },
    };
    let (rest, w0) = bounded_int_div_rem(key_bits, TWO_POW_31_NZ);
    let (rest, w1) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (w3, w2) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    if !(canonical(w0) && canonical(w1) && canonical(w2) && canonical(w3)) {
        return Option::None;
    }
    Option::Some(
        KeySlot { key: (upcast(w0), upcast(w1), upcast(w2), upcast(w3)), nonce: upcast(nonce) },
    )
}

/// Starknet's storage address bound `2^251 - 256` and `p - (2^251 - 256)`, as u256.
const ADDRESS_BOUND: u256 = 0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00;
const ABOVE_BOUND_SIZE: u256 = 0x11000000000000000000000000000000000000000000000101;

/// Whether `key` (`key_wide` as u256) is `storage_base_address_from_felt252(hash)`, i.e.
/// `hash mod (2^251 - 256)`, without the libfunc's 3 range checks: either `key` is `hash` and
/// below the bound, or (a hash at or above the bound, about 2^-55 of them) `key` is
/// `hash - (2^251 - 256)` and below `p - (2^251 - 256)`, so that `hash = key + 2^251 - 256` as
/// integers.
pub fn is_storage_address_of(key: felt252, key_wide: u256, hash: felt252) -> bool {
    if key == hash {
        key_wide < ADDRESS_BOUND
    } else if key == hash - 0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00 {
        key_wide < ABOVE_BOUND_SIZE
    } else {
        false
    }
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

/// A list's `n` and its `3 n` felts `(contract, key, value)*`, taken off the front of `felts`.
fn read_list(ref felts: Span<felt252>) -> Result<(u32, Span<felt252>), felt252> {
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
fn ascending(mut list: Span<felt252>) -> bool {
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

fn parse(is_key: bool, value: felt252) -> Option<SlotState> {
    if is_key {
        match unpack_key_slot(value) {
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
    // before that is known, `refusal` checks both: an unsorted list is refused first, as in
    // the Rust order.
    let all_inputs = inputs;
    if owners.len() != n_inputs {
        return Result::Err(refusal(all_inputs, outputs, 'statement: owner count'));
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
                            after = state;
                            rest = next;
                        },
                        Option::None => { output_error = 'statement: bad value'; },
                    }
                }
            }
        }
        slots.append(BoundSlot { domain, account: account_id(owner), before, after });
    };
    if error != 0 {
        return Result::Err(refusal(all_inputs, outputs, error));
    }
    if output_error != 0 {
        return Result::Err(refusal(all_inputs, outputs, output_error));
    }
    if rest.len() != 0 {
        return Result::Err(refusal(all_inputs, outputs, 'statement: output not read'));
    }
    Result::Ok(slots)
}

/// `reason`, unless a list is out of order: that refusal comes first.
fn refusal(inputs: Span<felt252>, outputs: Span<felt252>, reason: felt252) -> felt252 {
    if ascending(inputs) && ascending(outputs) {
        reason
    } else {
        'statement: unsorted list'
    }
}

fn append_hash4(ref out: Array<M31>, h: Hash4) {
    let (a, b, c, d) = h;
    out.append(M31Trait::from_u32_unchecked(a));
    out.append(M31Trait::from_u32_unchecked(b));
    out.append(M31Trait::from_u32_unchecked(c));
    out.append(M31Trait::from_u32_unchecked(d));
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

/// The value part of a `StateRelation` entry: 8 limbs of 16 bits little-endian for a balance,
/// `[nonce, K]` for a key slot.
fn state_tail(state: SlotState) -> Array<M31> {
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
        },
        SlotState::Key(slot) => {
            out.append(M31Trait::from_u32_unchecked(slot.nonce));
            append_hash4(ref out, slot.key);
        },
    }
    out
}

/// The `StateRelation` values of a slot in `state`: `[0, D, A, 8 limbs of 16 bits
/// little-endian]` for a balance, `[1, D, A, nonce, K]` for a key slot.
pub fn state_values(domain: Hash4, account: Hash4, state: SlotState) -> Array<M31> {
    let mut out = state_head(domain, account, state);
    out.append_span(state_tail(state).span());
    out
}

/// A QM31 as its four M31 coordinates widened to felts.
type Coordinates = (felt252, felt252, felt252, felt252);

fn coordinates(x: QM31) -> Coordinates {
    let [c0, c1, c2, c3] = x.to_m31_array();
    (c0.inner.into(), c1.inner.into(), c2.inner.into(), c3.inner.into())
}

/// `start + sum_i weights[i] v_i`, coordinates unreduced: each product is below 2^62, so a
/// start below 2^32 plus up to 2^5 products stays below 2^68, far from the field's size.
fn dot(mut values: Span<M31>, mut weights: Span<Coordinates>, start: Coordinates) -> Coordinates {
    let (mut s0, mut s1, mut s2, mut s3) = start;
    while let Option::Some(value) = values.pop_front() {
        let v: felt252 = (*value).inner.into();
        let (w0, w1, w2, w3) = *weights.pop_front().unwrap();
        s0 += w0 * v;
        s1 += w1 * v;
        s2 += w2 * v;
        s3 += w3 * v;
    };
    (s0, s1, s2, s3)
}

fn reduce(s: Coordinates) -> QM31 {
    let (s0, s1, s2, s3) = s;
    QM31Trait::from_m31s(
        M31Trait::reduce_felt(s0),
        M31Trait::reduce_felt(s1),
        M31Trait::reduce_felt(s2),
        M31Trait::reduce_felt(s3),
    )
}

/// `sum_i alpha^i v_i - z` with `-z` as the non-negative `minus_z`, reduced once per
/// coordinate.
fn combine(values: Span<M31>, weights: Span<Coordinates>, minus_z: Coordinates) -> QM31 {
    reduce(dot(values, weights, minus_z))
}

/// `alpha^0..n` of `elements` as coordinates, and `-z` as the non-negative `minus_z`.
fn weights(elements: @LookupElements, n: u32) -> (Span<Coordinates>, Coordinates) {
    let powers = *elements.alpha_powers;
    assert(n <= powers.len(), 'lookup: too many values');
    let mut weights: Array<Coordinates> = array![];
    let mut k = 0;
    while k != n {
        weights.append(coordinates(*powers[k]));
        k += 1;
    };
    let (z0, z1, z2, z3) = coordinates(*elements.z);
    let p: felt252 = P.into();
    (weights.span(), (p - z0, p - z1, p - z2, p - z3))
}

/// Inverses in the Starknet field of the shifts `split` uses: `low * inverse` undoes the
/// shift exactly, the shifted low part being a multiple of it.
const TWO_POW_64: felt252 = 0x10000000000000000;
const INV_TWO_POW_64: felt252 = 0x800000000000010f7ffffffffffffef00000000000000000000000000000001;
const TWO_POW_96: felt252 = 0x1000000000000000000000000;
const INV_TWO_POW_96: felt252 = 0x800000000000010fffffffff7ffffffffffffef000000000000000000000001;
const TWO_POW_112: felt252 = 0x10000000000000000000000000000;
const INV_TWO_POW_112: felt252 =
    0x800000000000010fffffffffffff7ffffffffffffef00000000000000000001;
/// Multiples of P bounding one coordinate product in `mul_coords` (which adds up to 5 of them
/// to keep every coordinate non-negative, so a result is below 8 times its bound):
/// `BOUND_SLOTS = P * 2^103 > 2^134` for two denominators (below 2^67),
/// `BOUND_SMALL = P * 2^34 > 2^64` for two factors below 2^32,
/// `BOUND_MIXED = P * 2^70 > 2^100` for factors below 2^32 and 2^68,
/// `BOUND_WIDE = P * 2^107 > 2^137` for factors below 2^105 and 2^32, or both below 2^68.
const BOUND_SLOTS: felt252 = 0x3fffffff80000000000000000000000000;
const BOUND_SMALL: felt252 = 0x1fffffffc00000000;
const BOUND_MIXED: felt252 = 0x1fffffffc00000000000000000;
const BOUND_WIDE: felt252 = 0x3fffffff800000000000000000000000000;
/// `P * 2^36`: above every denominator coordinate, so `b - a + P * 2^36` stays positive.
const P_TIMES_2_POW_36: felt252 = 0x7fffffff000000000;

/// `(y >> k, y mod 2^k)` for `y < 2^(2k)`, `shift = 2^(128 - k)`: one felt -> u256 split,
/// 1 range check when the high part is zero and 3 otherwise, where a u128 divmod costs 4 and
/// a downcast one more.
#[inline(always)]
fn split(y: felt252, shift: felt252, inv_shift: felt252) -> (felt252, felt252) {
    let wide: u256 = (y * shift).into();
    (wide.high.into(), wide.low.into() * inv_shift)
}

/// `split` at `k`, free for zero (a balance is mostly high zero limbs).
#[inline(always)]
fn split_nonzero(y: felt252, shift: felt252, inv_shift: felt252) -> (felt252, felt252) {
    if y == 0 {
        (0, 0)
    } else {
        split(y, shift, inv_shift)
    }
}

/// A felt congruent to `x` mod P, for an integer `0 <= x < 2^251`: `low mod P + 16 high`
/// (`2^128 = 2^4 mod P`), below `P + 2^(k - 124)` for `x < 2^k`. 4 range checks for `x` below
/// 2^128, 6 above.
#[inline(always)]
fn reduce_wide(x: felt252) -> felt252 {
    let wide: u256 = x.into();
    u128_mod_p_felt(wide.low) + wide.high.into() * 16
}

fn reduce_all(x: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    (reduce_wide(x0), reduce_wide(x1), reduce_wide(x2), reduce_wide(x3))
}

/// The QM31 product of `x` and `y` on integer coordinates, unreduced: the `mul_unreduced`
/// expansion with `bound` (a multiple of P above every coordinate product) added where
/// products are subtracted, so each coordinate is a non-negative integer below `8 * bound`.
#[inline(always)]
fn mul_coords(x: Coordinates, y: Coordinates, bound: felt252) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    let (y0, y1, y2, y3) = y;
    let r = x2 * y2 - x3 * y3;
    let s = x2 * y3 + x3 * y2;
    (
        x0 * y0 - x1 * y1 + 2 * r - s + 5 * bound,
        x0 * y1 + x1 * y0 + r + 2 * s + bound,
        x0 * y2 - x1 * y3 + x2 * y0 - x3 * y1 + 2 * bound,
        x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0,
    )
}

#[inline(always)]
fn add_coords(x: Coordinates, y: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = x;
    let (y0, y1, y2, y3) = y;
    (x0 + y0, x1 + y1, x2 + y2, x3 + y3)
}

/// `acc + w * v` on coordinates.
#[inline(always)]
fn mul_add(acc: Coordinates, ref weights: Span<Coordinates>, v: felt252) -> Coordinates {
    let (s0, s1, s2, s3) = acc;
    let (w0, w1, w2, w3) = *weights.pop_front().unwrap();
    (s0 + w0 * v, s1 + w1 * v, s2 + w2 * v, s3 + w3 * v)
}

#[inline(always)]
fn mul_add_hash4(acc: Coordinates, ref weights: Span<Coordinates>, h: Hash4) -> Coordinates {
    let (a, b, c, d) = h;
    let acc = mul_add(acc, ref weights, a.into());
    let acc = mul_add(acc, ref weights, b.into());
    let acc = mul_add(acc, ref weights, c.into());
    mul_add(acc, ref weights, d.into())
}

/// `minus_z + sum_i alpha^i v_i` over the `[kind, D, A]` head, unreduced (below 2^66).
fn head_sum(
    mut weights: Span<Coordinates>, minus_z: Coordinates, kind: felt252, domain: Hash4, account: Hash4,
) -> Coordinates {
    let acc = mul_add(minus_z, ref weights, kind);
    let acc = mul_add_hash4(acc, ref weights, domain);
    mul_add_hash4(acc, ref weights, account)
}

/// `head + sum_i alpha^(9 + i) tail_i` for the slot's value (`state_tail`), unreduced: each
/// coordinate below `P + 17 P^2 < 2^67` (17 products of a weight and a value below P, and
/// `-z`).
fn state_denominator(
    mut tail_weights: Span<Coordinates>, head: Coordinates, state: SlotState,
) -> Coordinates {
    let sum = match state {
        SlotState::Balance(value) => {
            // 16-bit limbs, little-endian: halves, quarters, then limbs.
            let (h64, l64) = split(value.into(), TWO_POW_64, INV_TWO_POW_64);
            let (q3, q2) = split_nonzero(h64, TWO_POW_96, INV_TWO_POW_96);
            let (q1, q0) = split_nonzero(l64, TWO_POW_96, INV_TWO_POW_96);
            let (l1, l0) = split_nonzero(q0, TWO_POW_112, INV_TWO_POW_112);
            let (l3, l2) = split_nonzero(q1, TWO_POW_112, INV_TWO_POW_112);
            let (l5, l4) = split_nonzero(q2, TWO_POW_112, INV_TWO_POW_112);
            let (l7, l6) = split_nonzero(q3, TWO_POW_112, INV_TWO_POW_112);
            let acc = mul_add(head, ref tail_weights, l0);
            let acc = mul_add(acc, ref tail_weights, l1);
            let acc = mul_add(acc, ref tail_weights, l2);
            let acc = mul_add(acc, ref tail_weights, l3);
            let acc = mul_add(acc, ref tail_weights, l4);
            let acc = mul_add(acc, ref tail_weights, l5);
            let acc = mul_add(acc, ref tail_weights, l6);
            mul_add(acc, ref tail_weights, l7)
        },
        SlotState::Key(slot) => {
            let acc = mul_add(head, ref tail_weights, slot.nonce.into());
            mul_add_hash4(acc, ref tail_weights, slot.key)
        },
    };
    sum
}

/// `(d(after), d(before))` of every changed slot, `d(t) = sum_i alpha^i t_i - z` for the
/// slot's `state_values`, as unreduced coordinates (congruent mod P, below 2^67). The
/// `[kind, D, A]` head is the same before and after: its sum is taken once per slot.
fn state_pairs(slots: Span<BoundSlot>, state: @LookupElements) -> Array<(Coordinates, Coordinates)> {
    let (weights, minus_z) = weights(state, STATE_RELATION_SIZE);
    let tail_weights = weights.slice(STATE_HEAD_LEN, STATE_RELATION_SIZE - STATE_HEAD_LEN);
    let mut pairs: Array<(Coordinates, Coordinates)> = array![];
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            let kind = match s.before {
                SlotState::Balance(_) => KIND_BALANCE,
                SlotState::Key(_) => KIND_KEY,
            };
            let head = head_sum(weights, minus_z, kind.into(), s.domain, s.account);
            let d_after = state_denominator(tail_weights, head, s.after);
            let d_before = state_denominator(tail_weights, head, s.before);
            pairs.append((d_after, d_before));
        }
    };
    pairs
}

/// `(d(TxCap(n, cap)), d(TxCap(0, initial)))` in `link`. For the empty list (`n = 0`, `cap`
/// initial) the two are equal and the pair adds exactly zero.
fn tx_list_pair(count: u32, cap: Span<M31>, link: @LookupElements) -> (Coordinates, Coordinates) {
    let mut initial: Array<M31> = array![M31Trait::from_u32_unchecked(TAG_TX_LIST)];
    while initial.len() != 8 {
        initial.append(M31Trait::from_u32_unchecked(0));
    };
    let (weights, minus_z) = weights(link, 10);
    (
        coordinates(combine(tx_cap_entry(count, cap), weights, minus_z)),
        coordinates(combine(tx_cap_entry(0, initial.span()), weights, minus_z)),
    )
}

/// `sum over pairs (a, b) of 1/a - 1/b`, kept as one fraction `N / D`: one inversion. Each
/// pair adds `(b - a) / (a b)`; the final denominator is zero exactly when one `a` or `b` is
/// (QM31 is a field), then Err. `a b` is reduced to coordinates below 2^32; `N` and `D` are
/// reduced after every second pair (the bounds are at `add_pair`).
fn sum_of_differences(pairs: Span<(Coordinates, Coordinates)>) -> Result<QM31, felt252> {
    let mut numerator: Coordinates = (0, 0, 0, 0);
    let mut denominator: Coordinates = (1, 0, 0, 0);
    let mut pairs = pairs;
    while let Option::Some(first) = pairs.pop_front() {
        // N, D below 2^32 here: after this pair N < 2^105, D < 2^68.
        let (n, d) = add_pair(
            numerator, denominator, *first, BOUND_SMALL, BOUND_MIXED, BOUND_SMALL,
        );
        numerator = n;
        denominator = d;
        if let Option::Some(second) = pairs.pop_front() {
            // N < 2^142, D < 2^104 after it: reduced to below 2^32.
            let (n, d) = add_pair(
                numerator, denominator, *second, BOUND_WIDE, BOUND_WIDE, BOUND_MIXED,
            );
            numerator = reduce_all(n);
            denominator = reduce_all(d);
        }
    };
    let denominator = to_qm31(reduce_fully(denominator));
    if denominator == QM31Trait::from_u32_unchecked(0, 0, 0, 0) {
        return Result::Err('statement: zero denominator');
    }
    Result::Ok(to_qm31(reduce_fully(numerator)) * denominator.inverse())
}

/// `N / D + (b - a) / (a b)` as `(N a b + D (b - a), D a b)`, unreduced. `a`, `b` below 2^67
/// (`state_denominator`, or reduced); `a b` reduced to below `P + 2^13 < 2^32` (from below
/// 2^137), `b - a + P 2^36` below 2^68. The bounds are above a coordinate product of `N` and
/// `a b`, of `D` and `b - a`, of `D` and `a b`: for `N, D < 2^32` (`SMALL`, `MIXED`, `SMALL`)
/// the result is below `(2^68 + 2^104, 2^68)`; for `N < 2^105, D < 2^68` (`WIDE`, `WIDE`,
/// `MIXED`) below `(2^142, 2^104)`.
#[inline(always)]
fn add_pair(
    numerator: Coordinates,
    denominator: Coordinates,
    pair: (Coordinates, Coordinates),
    n_product_bound: felt252,
    d_difference_bound: felt252,
    d_product_bound: felt252,
) -> (Coordinates, Coordinates) {
    let (a, b) = pair;
    let product = reduce_all(mul_coords(a, b, BOUND_SLOTS));
    let (a0, a1, a2, a3) = a;
    let (b0, b1, b2, b3) = b;
    let difference = (
        b0 - a0 + P_TIMES_2_POW_36,
        b1 - a1 + P_TIMES_2_POW_36,
        b2 - a2 + P_TIMES_2_POW_36,
        b3 - a3 + P_TIMES_2_POW_36,
    );
    (
        add_coords(
            mul_coords(numerator, product, n_product_bound),
            mul_coords(denominator, difference, d_difference_bound),
        ),
        mul_coords(denominator, product, d_product_bound),
    )
}

/// Reduced coordinates (each below P) of coordinates below 2^142.
fn reduce_fully(x: Coordinates) -> Coordinates {
    let (x0, x1, x2, x3) = reduce_all(x);
    (
        u128_mod_p_felt(x0.try_into().unwrap()),
        u128_mod_p_felt(x1.try_into().unwrap()),
        u128_mod_p_felt(x2.try_into().unwrap()),
        u128_mod_p_felt(x3.try_into().unwrap()),
    )
}

/// Reduced coordinates (each below P) as a QM31.
fn to_qm31(x: Coordinates) -> QM31 {
    let (x0, x1, x2, x3) = x;
    QM31Trait::from_u32_unchecked(
        x0.try_into().unwrap(), x1.try_into().unwrap(), x2.try_into().unwrap(), x3.try_into().unwrap(),
    )
}

/// `sum over changed slots of 1/d(after) - 1/d(before)` (the Rust `boundary_sum`).
pub fn boundary_sum(slots: Span<BoundSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    sum_of_differences(state_pairs(slots, state).span())
}

/// `1/d(TxCap(n, cap)) - 1/d(TxCap(0, initial))` in `link` (the Rust
/// `tx_list_boundary_sum`): zero for the empty list, Err if a denominator is zero.
pub fn tx_list_boundary_sum(
    count: u32, cap: Span<M31>, link: @LookupElements,
) -> Result<QM31, felt252> {
    sum_of_differences(array![tx_list_pair(count, cap, link)].span())
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

/// `TxCap(index, cap)`: `[TAG_TX_CAP, index, cap[8]]`.
fn tx_cap_entry(index: u32, cap: Span<M31>) -> Span<M31> {
    let mut values = array![
        M31Trait::from_u32_unchecked(TAG_TX_CAP), M31Trait::from_u32_unchecked(index),
    ];
    values.append_span(cap);
    values.span()
}
