//! The component every thread program's signed transactions rely on: each account's thread key.

/// Each account's thread key slot in the host contract: its key commitment `K` and key nonce,
/// `thread_keys[account] = K + nonce * 2^124` (`docs/signed-transfers.md`, "Thread keys").
/// Only the account itself sets it directly (`set_thread_key`, an ordinary invoke its account
/// contract authorizes); a settled signed transaction rotates it through the thread.
///
/// The key lives in the contract the signed transaction acts on (a token for a transfer, a
/// book for an order), because the signature's domain is that contract's: a key registered
/// with one contract never authorizes anything in another.
///
/// The host must embed the storage with `#[substorage(v0)]`: v0 keeps `thread_keys` at its
/// flat address, so `thread_keys[account]` is `pedersen(sn_keccak("thread_keys"), account)`
/// (mod 2^251 - 256), the key provers and clients derive (`zkthread_sig::domain`).
#[starknet::component]
pub mod ThreadKeysComponent {
    use starknet::storage::{Map, StorageMapReadAccess, StorageMapWriteAccess};
    use starknet::{ContractAddress, get_caller_address};
    use thread::errors;
    use thread::interface::IThreadKeys;

    /// 2^31: one limb of a key commitment is 31 bits.
    const LIMB: u128 = 0x80000000;
    /// 2^31 - 1, the M31 modulus: no limb may equal it, and key nonces stay below it.
    const LIMB_MODULUS: u128 = 0x7fffffff;
    /// 2^124: the key nonce starts at this bit of a key slot.
    const NONCE_UNIT: u256 = 0x10000000000000000000000000000000;

    #[storage]
    pub struct Storage {
        /// Per account: its thread key commitment `K` (bits 0..124) and key nonce (bits 124..).
        pub thread_keys: Map<ContractAddress, felt252>,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        ThreadKeySet: ThreadKeySet,
    }

    /// `account` registered `key_commitment`; its key slot's nonce is now `nonce`.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ThreadKeySet {
        #[key]
        pub account: ContractAddress,
        pub key_commitment: felt252,
        pub nonce: u128,
    }

    #[embeddable_as(ThreadKeysImpl)]
    impl ThreadKeys<
        TContractState, +HasComponent<TContractState>,
    > of IThreadKeys<ComponentState<TContractState>> {
        fn set_thread_key(ref self: ComponentState<TContractState>, key_commitment: felt252) {
            assert(is_key_commitment(key_commitment), errors::BAD_THREAD_KEY);
            let account = get_caller_address();
            let slot: u256 = self.thread_keys.read(account).into();
            // The nonce is an M31 element in the thread AIR: 2^31 - 2 is the last one.
            let nonce: u128 = (slot / NONCE_UNIT).try_into().unwrap() + 1;
            assert(nonce < LIMB_MODULUS, errors::THREAD_KEY_NONCE_SPENT);
            let packed = key_commitment.into() + nonce.into() * NONCE_UNIT;
            self.thread_keys.write(account, packed.try_into().unwrap());
            self.emit(ThreadKeySet { account, key_commitment, nonce });
        }

        fn thread_key(self: @ComponentState<TContractState>, account: ContractAddress) -> felt252 {
            self.thread_keys.read(account)
        }
    }

    /// Whether `value` is a packed key commitment: nonzero, below 2^124, and each of its four
    /// 31-bit limbs below 2^31 - 1 (a canonical M31 element).
    fn is_key_commitment(value: felt252) -> bool {
        let value: u256 = value.into();
        if value == 0 || value >= NONCE_UNIT {
            return false;
        }
        let mut rest = value.low;
        let mut limbs = 0_u8;
        while limbs != 4 {
            if rest % LIMB == LIMB_MODULUS {
                break;
            }
            rest /= LIMB;
            limbs += 1;
        };
        limbs == 4
    }
}
