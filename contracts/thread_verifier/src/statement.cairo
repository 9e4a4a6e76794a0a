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
use stark_verifier::fields::{M31Trait, P, QM31, QM31Trait};
use stark_verifier::fields::qm31::mul_unreduced;
use stark_verifier::fields::bounded::{BoundedInt, DivRemHelper};
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
    if !ascending(inputs) || !ascending(outputs) {
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
    if error != 0 {
        return Result::Err(error);
    }
    if next_output.is_some() {
        // An output that did not match the input at its place is not an input slot.
        return Result::Err('statement: output not read');
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
    let mut i = 0;
    let mut bound = true;
    while i != n_inputs {
        let key = *public_input[HEADER_LEN + 1 + 3 * i + 1];
        if key != balance_key(*owners[i]) {
            bound = false;
            break;
        }
        i += 1;
    };
    if bound {
        Result::Ok(())
    } else {
        Result::Err('statement: unbound slot')
    }
}

/// A QM31 as its four M31 coordinates widened to felts (for sums reduced once per coordinate).
type Coordinates = (felt252, felt252, felt252, felt252);

fn coordinates(x: QM31) -> Coordinates {
    let [c0, c1, c2, c3] = x.to_m31_array();
    (c0.inner.into(), c1.inner.into(), c2.inner.into(), c3.inner.into())
}

/// The weights `alpha^2 .. alpha^(1 + N_LIMBS)` of a state tuple's limbs, read out once for all
/// slots (`with_limbs` takes exactly eight: `boundary_sum` asserts the layout).
fn limb_weights(powers: Span<QM31>) -> [Coordinates; 8] {
    [
        coordinates(*powers[2]), coordinates(*powers[3]), coordinates(*powers[4]),
        coordinates(*powers[5]), coordinates(*powers[6]), coordinates(*powers[7]),
        coordinates(*powers[8]), coordinates(*powers[9]),
    ]
}

// The limb split on the corelib's bounded-integer libfuncs (audited; declared crate-private in
// our 2.9 corelib, so declared here with the same signatures, as `stark_verifier::fields::bounded`
// does): a division by the constant 2^16 costs 3 range checks and types its remainder below
// 2^16, where `u128_safe_divmod` by a runtime divisor costs 4, and a loop iteration one more.
// The types are the ranges the libfunc derives (a helper naming others fails to compile).
extern fn bounded_int_div_rem<Lhs, Rhs, impl H: DivRemHelper<Lhs, Rhs>>(
    lhs: Lhs, rhs: NonZero<Rhs>,
) -> (H::DivT, H::RemT) implicits(core::RangeCheck) nopanic;
extern fn upcast<FromType, ToType>(x: FromType) -> ToType nopanic;

type U128 = BoundedInt<0, 0xffffffffffffffffffffffffffffffff>;
type U112 = BoundedInt<0, 0xffffffffffffffffffffffffffff>;
type U96 = BoundedInt<0, 0xffffffffffffffffffffffff>;
type U80 = BoundedInt<0, 0xffffffffffffffffffff>;
type U64 = BoundedInt<0, 0xffffffffffffffff>;
type U48 = BoundedInt<0, 0xffffffffffff>;
type U32 = BoundedInt<0, 0xffffffff>;
type U16 = BoundedInt<0, 0xffff>;
type Const2Pow16 = BoundedInt<0x10000, 0x10000>;

impl U128By2Pow16 of DivRemHelper<U128, Const2Pow16> {
    type DivT = U112;
    type RemT = U16;
}
impl U112By2Pow16 of DivRemHelper<U112, Const2Pow16> {
    type DivT = U96;
    type RemT = U16;
}
impl U96By2Pow16 of DivRemHelper<U96, Const2Pow16> {
    type DivT = U80;
    type RemT = U16;
}
impl U80By2Pow16 of DivRemHelper<U80, Const2Pow16> {
    type DivT = U64;
    type RemT = U16;
}
impl U64By2Pow16 of DivRemHelper<U64, Const2Pow16> {
    type DivT = U48;
    type RemT = U16;
}
impl U48By2Pow16 of DivRemHelper<U48, Const2Pow16> {
    type DivT = U32;
    type RemT = U16;
}
impl U32By2Pow16 of DivRemHelper<U32, Const2Pow16> {
    type DivT = U16;
    type RemT = U16;
}

const TWO_POW_16_NZ: NonZero<Const2Pow16> = 0x10000;

/// The eight 16-bit limbs of `value`, least significant first: 7 divisions by 2^16, 21 range
/// checks, no loop.
pub fn limbs16(value: u128) -> [felt252; 8] {
    let (rest, l0) = bounded_int_div_rem(upcast::<u128, U128>(value), TWO_POW_16_NZ);
    let (rest, l1) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    let (rest, l2) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    let (rest, l3) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    let (rest, l4) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    let (rest, l5) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    let (l7, l6) = bounded_int_div_rem(rest, TWO_POW_16_NZ);
    [
        upcast(l0), upcast(l1), upcast(l2), upcast(l3), upcast(l4), upcast(l5), upcast(l6),
        upcast(l7),
    ]
}

/// `(s0 + w0 limb, .., s3 + w3 limb)`.
#[inline(always)]
fn add_term(s: Coordinates, w: Coordinates, limb: felt252) -> Coordinates {
    let (s0, s1, s2, s3) = s;
    let (w0, w1, w2, w3) = w;
    (s0 + w0 * limb, s1 + w1 * limb, s2 + w2 * limb, s3 + w3 * limb)
}

/// `shared + sum_k alpha^(2 + k) limb_k(value)`, reduced once per coordinate. `shared` holds
/// non-negative felts below 2^65; a limb is below 2^LIMB_BITS = 2^16 and a weight coordinate
/// below 2^31, so each coordinate stays below 2^66 (M31Trait::reduce_felt takes < 2^128).
fn with_limbs(shared: Coordinates, weights: [Coordinates; 8], value: u128) -> QM31 {
    let [l0, l1, l2, l3, l4, l5, l6, l7] = limbs16(value);
    let [w0, w1, w2, w3, w4, w5, w6, w7] = weights;
    let s = add_term(shared, w0, l0);
    let s = add_term(s, w1, l1);
    let s = add_term(s, w2, l2);
    let s = add_term(s, w3, l3);
    let s = add_term(s, w4, l4);
    let s = add_term(s, w5, l5);
    let s = add_term(s, w6, l6);
    let (s0, s1, s2, s3) = add_term(s, w7, l7);
    QM31Trait::from_m31s(
        M31Trait::reduce_felt(s0),
        M31Trait::reduce_felt(s1),
        M31Trait::reduce_felt(s2),
        M31Trait::reduce_felt(s3),
    )
}

/// `sum over written slots of 1/d(slot, token, after) - 1/d(slot, token, before)`, the LogUp sum
/// the transfer rows must have for these lists, where `d(t) = state.combine(t)` for the tuple
/// `t = [slot, token, limb_0 .. limb_7]` (LIMB_BITS-bit limbs, little-endian). Err if a
/// denominator is zero (probability ~2^-124 over the relation's draw; the prover cannot have
/// produced such a proof honestly).
///
/// One inversion in all: the sum is kept as one fraction `numerator / denominator`, each slot
/// adding `1/a - 1/b = (b - a) / (a b)`. The final denominator is the product of every written
/// slot's two denominators, so it is zero exactly when one of them is (QM31 is a field).
/// Denominators are assembled coordinate-wise as felts (M31 slot / token / limb times a QM31
/// weight) and reduced once, instead of `combine`'s full QM31 product per tuple entry.
pub fn boundary_sum(slots: Span<StatementSlot>, state: @LookupElements) -> Result<QM31, felt252> {
    let powers = *state.alpha_powers;
    assert(2 + N_LIMBS <= powers.len(), 'lookup: too many values');
    // `limbs16` and `limb_weights` are written for this layout.
    assert(LIMB_BITS == 16 && N_LIMBS == 8, 'statement: limb layout');
    let weights = limb_weights(powers);
    let (sw0, sw1, sw2, sw3) = coordinates(*powers[0]);
    let (tw0, tw1, tw2, tw3) = coordinates(*powers[1]);
    // -z as non-negative coordinates: P - z_c (in (0, P]).
    let (z0, z1, z2, z3) = coordinates(*state.z);
    let p: felt252 = P.into();
    let (mz0, mz1, mz2, mz3) = (p - z0, p - z1, p - z2, p - z3);
    let mut numerator = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    let mut denominator = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
    for slot in slots {
        let s = *slot;
        if s.before != s.after {
            // The slot and token terms (and -z), shared by both tuples: each coordinate below
            // 2 * 2^31 * 2^32 + 2^31 < 2^65.
            let index: felt252 = s.index.into();
            let token: felt252 = s.token.into();
            let shared = (
                sw0 * index + tw0 * token + mz0,
                sw1 * index + tw1 * token + mz1,
                sw2 * index + tw2 * token + mz2,
                sw3 * index + tw3 * token + mz3,
            );
            let d_after = with_limbs(shared, weights, s.after);
            let d_before = with_limbs(shared, weights, s.before);
            let product = d_after * d_before;
            // numerator * product + denominator * (d_before - d_after), reduced once: each
            // unreduced product coordinate is below 2^66, their sum below 2^67.
            let (a0, a1, a2, a3) = mul_unreduced(numerator, product);
            let (b0, b1, b2, b3) = mul_unreduced(denominator, d_before - d_after);
            numerator =
                QM31Trait::from_m31s(
                    M31Trait::reduce_felt(a0 + b0),
                    M31Trait::reduce_felt(a1 + b1),
                    M31Trait::reduce_felt(a2 + b2),
                    M31Trait::reduce_felt(a3 + b3),
                );
            denominator = denominator * product;
        }
    };
    if denominator == QM31Trait::from_u32_unchecked(0, 0, 0, 0) {
        return Result::Err('statement: zero denominator');
    }
    Result::Ok(numerator * denominator.inverse())
}
