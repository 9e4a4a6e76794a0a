//! From Starknet felts to the M31 world: transfer domains, account ids, key-slot packing and
//! the storage keys of the two slots the signed token program declares.

use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;

use crate::field::{M31, MODULUS};
use crate::wots::{Hash4, KeyCommitment, HASH_LEN};

/// Cairo short string `'zkthread.transfer'`.
pub const TRANSFER_DOMAIN_TAG: &str = "zkthread.transfer";
/// Cairo short string `'zkthread.account'`.
pub const ACCOUNT_ID_TAG: &str = "zkthread.account";

/// Bits per key-slot limb.
pub const LIMB_BITS: u32 = 31;
/// Bit offset of the nonce in a key slot (`4 * 31`).
pub const NONCE_SHIFT: u32 = HASH_LEN as u32 * LIMB_BITS;

/// A Cairo short string (<= 31 ASCII bytes) as the felt Cairo gives it: big-endian bytes.
fn short_string(s: &str) -> Felt {
    debug_assert!(s.is_ascii() && s.len() <= 31);
    Felt::from_bytes_be_slice(s.as_bytes())
}

/// A felt as (bits 0..128, bits 128..256).
fn split128(value: &Felt) -> (u128, u128) {
    let d = value.to_le_digits();
    (
        u128::from(d[0]) | (u128::from(d[1]) << 64),
        u128::from(d[2]) | (u128::from(d[3]) << 64),
    )
}

const LIMB_MASK: u128 = (1 << LIMB_BITS) - 1;

/// The four 31-bit words of `h` from the least significant (bits 0..124), each reduced
/// mod `2^31 - 1` (the all-ones word becomes 0). Bits 124.. are dropped.
pub fn limbs4(h: &Felt) -> Hash4 {
    let (low, _) = split128(h);
    words4(low)
}

/// `D = limbs4(poseidon(['zkthread.transfer', chain_id, registry, thread_id, token]))`.
pub fn transfer_domain(chain_id: Felt, registry: Felt, thread_id: Felt, token: Felt) -> Hash4 {
    limbs4(&poseidon_hash_many(&[
        short_string(TRANSFER_DOMAIN_TAG),
        chain_id,
        registry,
        thread_id,
        token,
    ]))
}

/// `A = limbs4(poseidon(['zkthread.account', address]))`: the account's id in the signed
/// signer field (124 bits), and the low half of [`AccountId`].
pub fn account_id(address: Felt) -> Hash4 {
    account_id_wide(address).low
}

/// An account's 248-bit id, `limbs8(poseidon(['zkthread.account', address]))`: the eight
/// 31-bit words of bits 0..248 from the least significant, each reduced mod `2^31 - 1`.
///
/// Why two halves: a token's `Balance` and `Key` tuples carry all eight words and a signed
/// transfer or list names its receivers by all eight, so crediting one account for a transfer signed
/// to another needs a collision of 248 bits (~2^124 work), where the four words of
/// [`account_id`] alone would fall to a ~2^62 search with both addresses free (helper-82's
/// review, session 49: an attacker's account and the deployment salt of a contract others
/// pay). The signed signer field keeps [`AccountId::low`] (the framework's message layout);
/// the key tuple's high words tie every debit to the key slot owner's whole id (helper-83's
/// review: with a free sender column, an owner sharing the low id could debit a payment
/// credited inside the proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AccountId {
    /// Bits 0..124: [`account_id`].
    pub low: Hash4,
    /// Bits 124..248.
    pub high: Hash4,
}

impl AccountId {
    /// `low ++ high`.
    pub fn words(&self) -> [M31; 2 * HASH_LEN] {
        std::array::from_fn(|k| if k < HASH_LEN { self.low[k] } else { self.high[k - HASH_LEN] })
    }
}

/// [`AccountId`] of `address`.
pub fn account_id_wide(address: Felt) -> AccountId {
    let h = poseidon_hash_many(&[short_string(ACCOUNT_ID_TAG), address]);
    let (low, high) = split128(&h);
    // Bits 124..248: the top 4 bits of `low`, then 120 bits of `high`.
    let upper = (low >> NONCE_SHIFT) | (high << (128 - NONCE_SHIFT));
    AccountId { low: limbs4(&h), high: words4(upper) }
}

/// The four 31-bit words of the low 124 bits of `bits`, each reduced mod `2^31 - 1`.
fn words4(bits: u128) -> Hash4 {
    std::array::from_fn(|k| M31::reduce(((bits >> (LIMB_BITS as usize * k)) & LIMB_MASK) as u32))
}

/// A key-slot value that does not decode, or a nonce that cannot be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeySlotError {
    #[error("nonce {0} out of range (must be < 2^31 - 1)")]
    NonceOutOfRange(u128),
    #[error("key limb {limb} is 2^31 - 1 (not a canonical M31 element)")]
    NonCanonicalLimb { limb: usize },
    #[error("nonce {0} is refused in a statement (must be < 2^31 - 2: the AIR's step from it wraps to 0)")]
    NonceWraps(u32),
}

/// `K0 + K1 * 2^31 + K2 * 2^62 + K3 * 2^93 + nonce * 2^124` (< 2^155, a felt).
pub fn pack_key_slot(key: &KeyCommitment, nonce: u32) -> Result<Felt, KeySlotError> {
    if nonce >= MODULUS {
        return Err(KeySlotError::NonceOutOfRange(nonce.into()));
    }
    let mut low: u128 = 0;
    for (k, limb) in key.0.iter().enumerate() {
        low |= u128::from(limb.to_u32()) << (LIMB_BITS as usize * k);
    }
    // The nonce straddles bit 128: its low 4 bits share the first u128 with K.
    low |= u128::from(nonce) << NONCE_SHIFT;
    let high = u128::from(nonce) >> (128 - NONCE_SHIFT);
    Ok(Felt::from(low) + Felt::from(high) * Felt::TWO.pow(128u32))
}

/// Inverse of [`pack_key_slot`]; refuses limbs equal to `2^31 - 1` and nonces `>= 2^31 - 1`
/// (including any value `>= 2^155`), so every accepted value has exactly one encoding.
/// `0` decodes to `(KeyCommitment::NONE, 0)`: an account that never registered a key.
pub fn unpack_key_slot(value: &Felt) -> Result<(KeyCommitment, u32), KeySlotError> {
    let (low, high) = split128(value);
    // nonce = value >> 124 = (low >> 124) | (high << 4); it fits a u128 iff high < 2^124,
    // and a larger one is out of range anyway (reported saturated).
    if high >> NONCE_SHIFT != 0 {
        return Err(KeySlotError::NonceOutOfRange(u128::MAX));
    }
    let nonce_wide = (low >> NONCE_SHIFT) | (high << (128 - NONCE_SHIFT));
    if nonce_wide >= u128::from(MODULUS) {
        return Err(KeySlotError::NonceOutOfRange(nonce_wide));
    }
    let mut key = [M31::ZERO; HASH_LEN];
    for (k, limb) in key.iter_mut().enumerate() {
        let word = ((low >> (LIMB_BITS as usize * k)) & LIMB_MASK) as u32;
        *limb = M31::from_u32(word).map_err(|_| KeySlotError::NonCanonicalLimb { limb: k })?;
    }
    // nonce_wide < 2^31 - 1 here.
    Ok((KeyCommitment(key), nonce_wide as u32))
}

/// Exclusive bound on the nonce of a key slot in a thread statement: `2^31 - 2` (`p - 1`,
/// `p = 2^31 - 1` the M31 modulus). Cairo twin: `thread_statement::ids::KEY_NONCE_BOUND`.
///
/// Why: the signed AIR moves a key nonce by one *in M31*, so a slot at `p - 1` steps to
/// `p ≡ 0` and the only output matching the proof is a slot with nonce 0: the nonce wraps and
/// every signature of the slot's past becomes replayable. Every program's statement parses a
/// key slot with [`unpack_statement_key_slot`], inputs and outputs alike, so:
/// - no accepted input wraps: its nonce `n <= p - 2`, so `n + 1 <= p - 1 < p` is an integer
///   step (the AIR's `n + 1` is the integer `n + 1`);
/// - every accepted output (nonce `<= p - 2`) is itself an accepted input of the next
///   statement, so the rule holds along the whole chain of sub-blocks;
/// - the last nonce a signed transaction consumes is `2^31 - 4` (its output `2^31 - 3` is
///   accepted); a step from `2^31 - 3` would write `2^31 - 2`, refused as an output, so a slot
///   at `2^31 - 3` is exhausted at a sub-block's boundary. The batchers refuse such a
///   transaction up front (`NonceExhausted`).
///
/// What this alone does not cover: the bound holds for the statement's key slots, not the key
/// tuples one sender's messages pass between them inside a sub-block. Messages at `2^31 - 3`
/// and `2^31 - 2` chained in one proof step the slot `2^31 - 3 -> 2^31 - 2 -> 0` (helper-73's
/// review, 2026-12-06). The statement's key-step rule refuses that output (a written key slot
/// moves its nonce forward: `zkthread_prover::statement::SignedStatementError::
/// NonceNotAdvanced`, session 49); and no wallet signs either nonce
/// ([`crate::wots::check_signable`]: `Wallet`, the WebAssembly signer), nor does the service
/// store one.
pub const KEY_NONCE_BOUND: u32 = MODULUS - 1;

/// [`unpack_key_slot`], and a nonce below [`KEY_NONCE_BOUND`]: the key slot a thread statement
/// accepts (input or output). [`unpack_key_slot`] itself still decodes nonce `2^31 - 2`: the L2
/// component's `set_thread_key` may store it (a rotation from `2^31 - 3`), and a client reading
/// the stored slot must decode it to report it exhausted.
pub fn unpack_statement_key_slot(value: &Felt) -> Result<(KeyCommitment, u32), KeySlotError> {
    let (key, nonce) = unpack_key_slot(value)?;
    if nonce >= KEY_NONCE_BOUND {
        return Err(KeySlotError::NonceWraps(nonce));
    }
    Ok((key, nonce))
}

/// Storage key of `balances[account]` (`balances: Map<ContractAddress, u128>`).
pub fn balance_slot_key(account: Felt) -> Felt {
    storage_var_key("balances", &[account])
}

/// Storage key of `thread_keys[account]` (`thread_keys: Map<ContractAddress, felt252>`).
pub fn thread_key_slot_key(account: Felt) -> Felt {
    storage_var_key("thread_keys", &[account])
}

/// The storage key of Cairo storage variable `var` at `keys` (the key's serialization, one
/// felt per `felt252`/`ContractAddress`/integer):
/// `pedersen(..pedersen(pedersen(sn_keccak(var), k_0), k_1).., k_n) mod (2^251 - 256)`.
/// With no keys it is `sn_keccak(var)` (a plain variable; `< 2^250`, no reduction). This is
/// Cairo's rule: a `Map`'s `StoragePath` starts a Pedersen `HashState` at the variable's
/// `selector!(name)` (`sn_keccak`), `entry(key)` feeds the key through `Hash::update_state`
/// (a tuple key element by element, `TupleNextHash`), the Pedersen state's `finalize` is the
/// state itself, and `storage_base_address_from_felt252` wraps it into `[0, 2^251 - 256)`;
/// starknet-rs' `get_storage_var_address` computes the same fold. So `orders[(owner, id)]` of
/// `orders: Map<(ContractAddress, u64), felt252>` is `storage_var_key("orders", &[owner, id])`.
/// `var` must be ASCII (our names are constants).
pub fn storage_var_key(var: &'static str, keys: &[Felt]) -> Felt {
    match starknet_core::utils::get_storage_var_address(var, keys) {
        Ok(key) => key,
        // Only non-ASCII names fail, and `var` is one of our ASCII constants.
        Err(_) => unreachable!("storage variable names are ASCII"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(values: [u32; 4]) -> KeyCommitment {
        KeyCommitment::from_u32(values).unwrap()
    }

    #[test]
    fn short_strings_match_starknet_rs() {
        for s in [TRANSFER_DOMAIN_TAG, ACCOUNT_ID_TAG] {
            assert_eq!(
                short_string(s),
                starknet_core::utils::cairo_short_string_to_felt(s).unwrap()
            );
        }
    }

    #[test]
    fn limbs4_words() {
        // Word k = 2^31 - 1 reduces to 0, word 1 = 5, word 2 = 2^31 - 2, bits >= 124 dropped.
        let p = u128::from(MODULUS);
        let low = p | (5 << 31) | ((p - 1) << 62) | (7 << 93) | (0xF << 124);
        let h = Felt::from(low) + Felt::from(3u8) * Felt::TWO.pow(200u32);
        assert_eq!(
            limbs4(&h),
            M31::array_from_u32([0, 5, MODULUS - 1, 7]).unwrap()
        );
    }

    #[test]
    fn a_wide_account_id_is_the_hashs_eight_words() {
        // Word k of the 248-bit id is bits 31k..31k + 31 of the hash, read here off its bit
        // string; bits 248.. are dropped and the all-ones word reduces to 0.
        for address in [Felt::ZERO, Felt::from(0xa11ceu32), Felt::MAX] {
            let h = poseidon_hash_many(&[short_string(ACCOUNT_ID_TAG), address]);
            let bits = h.to_bits_le();
            let word = |k: usize| -> M31 {
                M31::reduce((0..31).fold(0u32, |w, b| w | (u32::from(bits[31 * k + b]) << b)))
            };
            let id = account_id_wide(address);
            assert_eq!(id.words(), std::array::from_fn(word));
            assert_eq!(id.low, account_id(address));
        }
        assert_eq!(words4(u128::MAX), [M31::ZERO; 4]);
    }

    #[test]
    fn domain_and_account_hash_inputs() {
        let (chain, reg, thread, token) = (
            Felt::from(0x534e5f5345504f4c4941u128),
            Felt::from(11u8),
            Felt::from(3u8),
            Felt::from(99u8),
        );
        let expect = limbs4(&poseidon_hash_many(&[
            Felt::from_hex_unchecked("0x7a6b7468726561642e7472616e73666572"),
            chain,
            reg,
            thread,
            token,
        ]));
        assert_eq!(transfer_domain(chain, reg, thread, token), expect);
        assert_ne!(
            transfer_domain(chain, reg, thread, Felt::from(100u8)),
            expect
        );
        let acct = limbs4(&poseidon_hash_many(&[
            Felt::from_hex_unchecked("0x7a6b7468726561642e6163636f756e74"),
            token,
        ]));
        assert_eq!(account_id(token), acct);
    }

    #[test]
    fn key_slot_layout() {
        let v = pack_key_slot(&m([1, 2, 3, 4]), 5).unwrap();
        let two = Felt::TWO;
        let expect = Felt::ONE
            + Felt::from(2u8) * two.pow(31u32)
            + Felt::from(3u8) * two.pow(62u32)
            + Felt::from(4u8) * two.pow(93u32)
            + Felt::from(5u8) * two.pow(124u32);
        assert_eq!(v, expect);
        assert_eq!(
            unpack_key_slot(&Felt::ZERO).unwrap(),
            (KeyCommitment::NONE, 0)
        );
        let max = pack_key_slot(&m([MODULUS - 1; 4]), MODULUS - 1 - 1).unwrap();
        assert_eq!(
            unpack_key_slot(&max).unwrap(),
            (m([MODULUS - 1; 4]), MODULUS - 2)
        );
    }

    #[test]
    fn key_slot_refusals() {
        assert_eq!(
            pack_key_slot(&KeyCommitment::NONE, MODULUS),
            Err(KeySlotError::NonceOutOfRange(MODULUS.into()))
        );
        let two = Felt::TWO;
        // A limb of all ones.
        for k in 0..4u32 {
            let v = Felt::from(MODULUS) * two.pow(31 * k);
            assert_eq!(
                unpack_key_slot(&v),
                Err(KeySlotError::NonCanonicalLimb { limb: k as usize })
            );
        }
        // nonce = 2^31 - 1, nonce = 2^31, and bits far above the nonce.
        assert!(matches!(
            unpack_key_slot(&(Felt::from(MODULUS) * two.pow(124u32))),
            Err(KeySlotError::NonceOutOfRange(_))
        ));
        assert!(matches!(
            unpack_key_slot(&two.pow(155u32)),
            Err(KeySlotError::NonceOutOfRange(_))
        ));
        assert!(matches!(
            unpack_key_slot(&two.pow(250u32)),
            Err(KeySlotError::NonceOutOfRange(_))
        ));
        assert!(matches!(
            unpack_key_slot(&(Felt::ZERO - Felt::ONE)),
            Err(KeySlotError::NonceOutOfRange(_))
        ));
    }

    #[test]
    fn statement_key_slots_stop_below_the_wrap() {
        let key = m([1, 2, 3, 4]);
        let at = |nonce| unpack_statement_key_slot(&pack_key_slot(&key, nonce).unwrap());
        // The last nonce a step may start from, its output, and the exhausted slot's step.
        assert_eq!(at(MODULUS - 3), Ok((key, MODULUS - 3)));
        assert_eq!(at(MODULUS - 2), Ok((key, MODULUS - 2)));
        // 2^31 - 2 steps to 0 in M31: refused, though `unpack_key_slot` decodes it.
        assert_eq!(at(MODULUS - 1), Err(KeySlotError::NonceWraps(MODULUS - 1)));
        assert!(unpack_key_slot(&pack_key_slot(&key, MODULUS - 1).unwrap()).is_ok());
        assert_eq!(KEY_NONCE_BOUND, (1 << 31) - 2);
        // What `unpack_key_slot` refuses stays refused, with its own reason.
        assert!(matches!(
            unpack_statement_key_slot(&(Felt::from(MODULUS) * Felt::TWO.pow(124u32))),
            Err(KeySlotError::NonceOutOfRange(_))
        ));
        assert_eq!(
            unpack_statement_key_slot(&Felt::from(MODULUS)),
            Err(KeySlotError::NonCanonicalLimb { limb: 0 })
        );
        assert_eq!(unpack_statement_key_slot(&Felt::ZERO), Ok((KeyCommitment::NONE, 0)));
    }

    proptest! {
        #[test]
        fn key_slot_roundtrip(k in proptest::array::uniform4(0..MODULUS), nonce in 0..MODULUS) {
            let key = m(k);
            let v = pack_key_slot(&key, nonce).unwrap();
            prop_assert!(v < Felt::TWO.pow(155u32));
            prop_assert_eq!(unpack_key_slot(&v).unwrap(), (key, nonce));
        }
    }

    /// The storage keys agree with an independent computation: sn_keccak (keccak256 with the
    /// top 6 bits cleared) by `sha3`, Pedersen by starknet-crypto, reduction mod 2^251 - 256.
    #[test]
    fn storage_keys_match_independent_computation() {
        use sha3::{Digest, Keccak256};
        fn sn_keccak(var: &str) -> Felt {
            let mut h: [u8; 32] = Keccak256::digest(var.as_bytes()).into();
            h[0] &= 0x03;
            Felt::from_bytes_be(&h)
        }
        // A plain variable: sn_keccak(name). A tuple key: Pedersen chained over its elements.
        assert_eq!(storage_var_key("base_token", &[]), sn_keccak("base_token"));
        let (owner, id) = (Felt::from(0xa11ceu64), Felt::from(7u64));
        let chained = starknet_crypto::pedersen_hash(&starknet_crypto::pedersen_hash(&sn_keccak("orders"), &owner), &id);
        let bound = Felt::TWO.pow(251u32) - Felt::from(256u16);
        let expect = if chained >= bound { chained - bound } else { chained };
        assert_eq!(storage_var_key("orders", &[owner, id]), expect);
        assert_ne!(storage_var_key("orders", &[owner, id]), storage_var_key("orders", &[id, owner]));
        fn independent(var: &str, account: Felt) -> Felt {
            let base = sn_keccak(var);
            let raw = starknet_crypto::pedersen_hash(&base, &account);
            let bound = Felt::TWO.pow(251u32) - Felt::from(256u16);
            // raw < 2^251 + 17 * 2^192 + 1 < 2 * bound: at most one subtraction.
            if raw >= bound {
                raw - bound
            } else {
                raw
            }
        }
        for account in [
            Felt::ZERO,
            Felt::from(0x1234u16),
            Felt::from_hex_unchecked(
                "0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7",
            ),
            Felt::ZERO - Felt::ONE,
        ] {
            assert_eq!(balance_slot_key(account), independent("balances", account));
            assert_eq!(
                thread_key_slot_key(account),
                independent("thread_keys", account)
            );
            assert_ne!(balance_slot_key(account), thread_key_slot_key(account));
        }
    }
}
