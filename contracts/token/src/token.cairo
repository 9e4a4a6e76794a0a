#[starknet::contract]
pub mod ThreadToken {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ClassHash, ContractAddress, get_caller_address};
    use thread::ThreadReadyComponent;
    use token::errors;
    use token::interface::{IThreadKeys, IThreadToken};

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadConsentImpl = ThreadReadyComponent::ThreadConsentImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;

    const DECIMALS: u8 = 18;
    /// 2^31: one limb of a key commitment is 31 bits.
    const LIMB: u128 = 0x80000000;
    /// 2^31 - 1, the M31 modulus: no limb may equal it, and key nonces stay below it.
    const LIMB_MODULUS: u128 = 0x7fffffff;
    /// 2^124: the key nonce starts at this bit of a key slot.
    const NONCE_UNIT: u256 = 0x10000000000000000000000000000000;

    // `balances` and `thread_keys` stay top-level variables named exactly so: their slot keys
    // are what provers and clients derive from the names (see the crate docs).
    #[storage]
    struct Storage {
        balances: Map<ContractAddress, u128>,
        total_supply: u128,
        name: felt252,
        symbol: felt252,
        /// Per account: its thread key commitment `K` (bits 0..124) and key nonce (bits 124..).
        thread_keys: Map<ContractAddress, felt252>,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        Transfer: Transfer,
        ThreadKeySet: ThreadKeySet,
        #[flat]
        ThreadReadyEvent: ThreadReadyComponent::Event,
    }

    /// `value` moved from `from` to `to`; `from` is zero for the initial supply.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct Transfer {
        #[key]
        pub from: ContractAddress,
        #[key]
        pub to: ContractAddress,
        pub value: u128,
    }

    /// `account` registered `key_commitment`; its key slot's nonce is now `nonce`.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ThreadKeySet {
        #[key]
        pub account: ContractAddress,
        pub key_commitment: felt252,
        pub nonce: u128,
    }

    /// `registry`: the thread registry trusted with the storage; `owner`: who chooses the
    /// accepted thread programs, `programs` the ones accepted from the start (the verifier
    /// class hashes of the threads this token may join).
    #[constructor]
    fn constructor(
        ref self: ContractState,
        registry: ContractAddress,
        owner: ContractAddress,
        programs: Span<ClassHash>,
        name: felt252,
        symbol: felt252,
        initial_holder: ContractAddress,
        supply: u128,
    ) {
        self.thread_ready.initializer(registry, owner, programs);
        self.name.write(name);
        self.symbol.write(symbol);
        let holder: felt252 = initial_holder.into();
        assert(holder != 0, errors::MINT_TO_ZERO);
        self.total_supply.write(supply);
        self.balances.write(initial_holder, supply);
        self.emit(Transfer { from: 0.try_into().unwrap(), to: initial_holder, value: supply });
    }

    #[abi(embed_v0)]
    impl ThreadTokenImpl of IThreadToken<ContractState> {
        fn name(self: @ContractState) -> felt252 {
            self.name.read()
        }

        fn symbol(self: @ContractState) -> felt252 {
            self.symbol.read()
        }

        fn decimals(self: @ContractState) -> u8 {
            DECIMALS
        }

        fn total_supply(self: @ContractState) -> u128 {
            self.total_supply.read()
        }

        fn balance_of(self: @ContractState, account: ContractAddress) -> u128 {
            self.balances.read(account)
        }

        fn transfer(ref self: ContractState, recipient: ContractAddress, amount: u128) -> bool {
            let to: felt252 = recipient.into();
            assert(to != 0, errors::TRANSFER_TO_ZERO);
            let sender = get_caller_address();
            let sender_balance = self.balances.read(sender);
            assert(sender_balance >= amount, errors::INSUFFICIENT_BALANCE);
            self.balances.write(sender, sender_balance - amount);
            // Read after the debit so a self-transfer leaves the balance unchanged.
            self.balances.write(recipient, self.balances.read(recipient) + amount);
            self.emit(Transfer { from: sender, to: recipient, value: amount });
            true
        }
    }

    #[abi(embed_v0)]
    impl ThreadKeysImpl of IThreadKeys<ContractState> {
        fn set_thread_key(ref self: ContractState, key_commitment: felt252) {
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

        fn thread_key(self: @ContractState, account: ContractAddress) -> felt252 {
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
