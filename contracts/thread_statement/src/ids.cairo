//! Ids every signed program's tuples carry, and slot encodings every program shares: the
//! transfer domain `D` of a contract, the account id `A` of an owner, a thread-key slot (the
//! framework's replay state, `zkthread_sig::pack_key_slot`), and the storage-address check a
//! binding compares keys with.
//!
//! `D = limbs4(poseidon(['zkthread.transfer', chain_id, registry, thread_id, contract]))`,
//! `A = limbs4(poseidon(['zkthread.account', owner]))`, and the account's 248-bit id `(A,
//! A_high)` a token's `Balance` and `Key` tuples carry (`account_id_wide`).

use core::dict::{Felt252Dict, Felt252DictTrait};
use core::poseidon::{hades_permutation, poseidon_hash_span};
use stark_verifier::fields::bounded::{BoundedInt, DivRemHelper};

/// Four M31 words (a transfer domain, an account id or a key commitment).
pub type Hash4 = (u32, u32, u32, u32);

/// A key slot decoded: the one-time key commitment and the nonce.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct KeySlot {
    pub key: Hash4,
    pub nonce: u32,
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
type U101 = BoundedInt<0, 0x1fffffffffffffffffffffffff>;
type U70 = BoundedInt<0, 0x3fffffffffffffffff>;
type U39 = BoundedInt<0, 0x7fffffffff>;
type U27 = BoundedInt<0, 0x7ffffff>;
type U8 = BoundedInt<0, 0xff>;
type BelowP = BoundedInt<0, 0x7ffffffe>;
type Const2Pow31 = BoundedInt<0x80000000, 0x80000000>;
type Const2Pow27 = BoundedInt<0x8000000, 0x8000000>;
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
impl U128By2Pow27 of DivRemHelper<U128, Const2Pow27> {
    type DivT = U101;
    type RemT = U27;
}
impl U101By2Pow31 of DivRemHelper<U101, Const2Pow31> {
    type DivT = U70;
    type RemT = U31;
}
impl U70By2Pow31 of DivRemHelper<U70, Const2Pow31> {
    type DivT = U39;
    type RemT = U31;
}
impl U39By2Pow31 of DivRemHelper<U39, Const2Pow31> {
    type DivT = U8;
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
const TWO_POW_27_NZ: NonZero<Const2Pow27> = 0x8000000;
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

/// `poseidon(['zkthread.account', owner])`: `poseidon_hash_span` of two felts (one
/// permutation, then the padding's), without building the array. Both ids take their words
/// from it.
#[inline(always)]
fn account_hash(owner: felt252) -> felt252 {
    let (s0, s1, s2) = hades_permutation('zkthread.account', owner, 0);
    let (hash, _, _) = hades_permutation(s0 + 1, s1, s2);
    hash
}

/// `A = limbs4(poseidon(['zkthread.account', owner]))`.
pub fn account_id(owner: felt252) -> Hash4 {
    limbs4(account_hash(owner))
}

/// The owner's 248-bit id `(A, A_high)` (`zkthread_sig::domain::account_id_wide`): the eight
/// 31-bit words of bits 0..248 of `poseidon(['zkthread.account', owner])` from the least
/// significant, each reduced mod 2^31 - 1; `A` is `account_id`. A token's `Balance` and `Key`
/// tuples carry both halves, so one balance or key slot names one owner up to a 248-bit
/// collision.
pub fn account_id_wide(owner: felt252) -> (Hash4, Hash4) {
    let wide: u256 = account_hash(owner).into();
    let (rest, w0) = bounded_int_div_rem(upcast::<u128, U128>(wide.low), TWO_POW_31_NZ);
    let (rest, w1) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (rest, w2) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (top, w3) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    // Word 4 is bits 124..155: the low word's top 4 bits, then the high word's first 27.
    let (rest, low27) = bounded_int_div_rem(upcast::<u128, U128>(wide.high), TWO_POW_27_NZ);
    let (rest, w5) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (rest, w6) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let (_, w7) = bounded_int_div_rem(rest, TWO_POW_31_NZ);
    let top: felt252 = upcast(top);
    let low27: felt252 = upcast(low27);
    let w4 = top + low27 * 16;
    let w4: u32 = if w4 == P_FELT {
        0
    } else {
        w4.try_into().unwrap()
    };
    (
        (reduce_word(w0), reduce_word(w1), reduce_word(w2), reduce_word(w3)),
        (w4, reduce_word(w5), reduce_word(w6), reduce_word(w7)),
    )
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

/// Exclusive bound on the nonce of a key slot in a statement: 2^31 - 2, `p - 1`
/// (`zkthread_sig::KEY_NONCE_BOUND`, whose docs give the argument). The AIR moves a key nonce
/// by one in M31, so a step from `p - 1` wraps to 0; refusing `p - 1` in inputs and outputs
/// alike keeps every step an integer step and every accepted output an acceptable input (the
/// last nonce a transaction consumes is 2^31 - 4; a slot at 2^31 - 3 can appear only unchanged
/// at a sub-block's boundary: inside one, two messages at 2^31 - 3 and 2^31 - 2 would step it
/// to 0, which is why no wallet signs those nonces, `zkthread_sig::check_signable`).
pub const KEY_NONCE_BOUND: u32 = 0x7ffffffe;

/// `unpack_key_slot`, and a nonce below `KEY_NONCE_BOUND`: the key slot a statement accepts,
/// input or output (`zkthread_sig::unpack_statement_key_slot`). `unpack_key_slot` itself still
/// decodes nonce 2^31 - 2 (a slot `set_thread_key` may store).
pub fn unpack_statement_key_slot(value: felt252) -> Option<KeySlot> {
    match unpack_key_slot(value) {
        // The nonce is below 2^31 - 1 here, so below the bound iff not equal to it: an
        // equality, no range check.
        Option::Some(slot) => if slot.nonce == KEY_NONCE_BOUND {
            Option::None
        } else {
            Option::Some(slot)
        },
        Option::None => Option::None,
    }
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


/// The ids one statement's slots are known by in the AIR, each naming one owner (account) or
/// one contract (domain): `zkthread_prover::statement::DistinctIds`, whose docs give why (ids
/// are 124 bits; an account id naming an attacker's account and a contract others trust costs
/// a ~2^62 birthday search, and would let the account's key move the contract's balance).
/// A map of the id packed as a key slot's words (`pack_key_slot` at nonce 0: one felt,
/// injective) to the owner or contract first seen with it; 0 reads as unseen, so an
/// id first seen with owner 0 (a book's own variables) is not held to it: a second owner
/// under that one fixed id is a 124-bit second preimage.
#[derive(Destruct)]
pub struct DistinctIds {
    accounts: Felt252Dict<felt252>,
    domains: Felt252Dict<felt252>,
}

/// Whether `key` names only `value` so far (recording it).
fn names_one(ref map: Felt252Dict<felt252>, key: felt252, value: felt252) -> bool {
    let seen = map.get(key);
    if seen == 0 {
        map.insert(key, value);
        true
    } else {
        seen == value
    }
}

#[generate_trait]
pub impl DistinctIdsImpl of DistinctIdsTrait {
    fn new() -> DistinctIds {
        DistinctIds { accounts: Default::default(), domains: Default::default() }
    }

    /// Whether account id `id` names only `owner` so far.
    fn account(ref self: DistinctIds, id: Hash4, owner: felt252) -> bool {
        names_one(ref self.accounts, pack_key_slot(KeySlot { key: id, nonce: 0 }), owner)
    }

    /// Whether domain id `id` names only `contract` so far.
    fn domain(ref self: DistinctIds, id: Hash4, contract: felt252) -> bool {
        names_one(ref self.domains, pack_key_slot(KeySlot { key: id, nonce: 0 }), contract)
    }
}
