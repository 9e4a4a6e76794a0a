#[starknet::contract]
pub mod ThreadToken {
    use core::num::traits::{Bounded, CheckedAdd};
    use starknet::storage::{
        Map, StorageAsPointer, StorageMapReadAccess, StorageMapWriteAccess, StoragePathEntry,
        StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use starknet::storage_access::storage_address_from_base;
    use starknet::{ClassHash, ContractAddress, get_caller_address};
    use thread::{ThreadKeysComponent, ThreadReadyComponent};
    use token::errors;
    use token::interface::{IERC20, IERC20CamelOnly, IERC20Metadata, IThreadSlots, ThreadSlots};

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);
    component!(path: ThreadKeysComponent, storage: thread_keys, event: ThreadKeysEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadConsentImpl = ThreadReadyComponent::ThreadConsentImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadPeersImpl = ThreadReadyComponent::ThreadPeersImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadKeysImpl = ThreadKeysComponent::ThreadKeysImpl<ContractState>;

    const DECIMALS: u8 = 18;
    // `balances` stays a top-level variable named exactly so, and the thread keys' component
    // storage `thread_keys` stays flat (`substorage(v0)`): their slot keys are what provers and
    // clients derive from the names (see the crate docs), and a balance slot holds the balance
    // itself, one felt below 2^128. The ERC20 ABI
    // speaks u256; every amount is narrowed to u128 (or refused) before it reaches a slot.
    #[storage]
    struct Storage {
        balances: Map<ContractAddress, u128>,
        total_supply: u128,
        name: ByteArray,
        symbol: ByteArray,
        /// `(owner, spender)` -> what `spender` may still move out of `owner`'s balance; `u256`
        /// max is infinite. Never part of a thread: allowances are plain L2 state.
        allowances: Map<(ContractAddress, ContractAddress), u256>,
        #[substorage(v0)]
        thread_keys: ThreadKeysComponent::Storage,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        Transfer: Transfer,
        Approval: Approval,
        #[flat]
        ThreadKeysEvent: ThreadKeysComponent::Event,
        #[flat]
        ThreadReadyEvent: ThreadReadyComponent::Event,
    }

    /// `value` moved from `from` to `to`; `from` is zero for the initial supply. The standard
    /// ERC20 layout: keys `[selector, from, to]`, data `[value.low, value.high]`. (A settlement
    /// writes balance slots directly and emits no `Transfer`.)
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct Transfer {
        #[key]
        pub from: ContractAddress,
        #[key]
        pub to: ContractAddress,
        pub value: u256,
    }

    /// `owner`'s allowance for `spender` is now `value` (set by `approve`, or what is left of it
    /// after a `transfer_from`). Keys `[selector, owner, spender]`, data `[value.low, value.high]`.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct Approval {
        #[key]
        pub owner: ContractAddress,
        #[key]
        pub spender: ContractAddress,
        pub value: u256,
    }

    /// `registry`: the thread registry trusted with the storage; `owner`: who chooses the
    /// accepted thread programs, `programs` the ones accepted from the start beside any
    /// contract (the verifier class hashes of the threads this token may join; never the order
    /// book's, which takes `accept_program_beside`). The whole `supply` (below 2^128) goes
    /// to `initial_holder`.
    #[constructor]
    fn constructor(
        ref self: ContractState,
        registry: ContractAddress,
        owner: ContractAddress,
        programs: Span<ClassHash>,
        name: ByteArray,
        symbol: ByteArray,
        initial_holder: ContractAddress,
        supply: u256,
    ) {
        self.thread_ready.initializer(registry, owner, programs);
        self.name.write(name);
        self.symbol.write(symbol);
        assert(!is_zero(initial_holder), errors::MINT_TO_ZERO);
        let supply = narrow(supply, errors::SUPPLY_ABOVE_U128);
        self.total_supply.write(supply);
        self.balances.write(initial_holder, supply);
        self.emit(Transfer { from: zero(), to: initial_holder, value: supply.into() });
    }

    #[abi(embed_v0)]
    impl ERC20Impl of IERC20<ContractState> {
        fn total_supply(self: @ContractState) -> u256 {
            self.total_supply.read().into()
        }

        fn balance_of(self: @ContractState, account: ContractAddress) -> u256 {
            self.balances.read(account).into()
        }

        fn allowance(
            self: @ContractState, owner: ContractAddress, spender: ContractAddress,
        ) -> u256 {
            self.allowances.read((owner, spender))
        }

        fn transfer(ref self: ContractState, recipient: ContractAddress, amount: u256) -> bool {
            let amount = narrow(amount, errors::AMOUNT_ABOVE_U128);
            self.move_balance(get_caller_address(), recipient, amount);
            true
        }

        fn transfer_from(
            ref self: ContractState,
            sender: ContractAddress,
            recipient: ContractAddress,
            amount: u256,
        ) -> bool {
            let amount = narrow(amount, errors::AMOUNT_ABOVE_U128);
            self.spend_allowance(sender, get_caller_address(), amount.into());
            self.move_balance(sender, recipient, amount);
            true
        }

        fn approve(ref self: ContractState, spender: ContractAddress, amount: u256) -> bool {
            self.set_allowance(get_caller_address(), spender, amount);
            true
        }
    }

    #[abi(embed_v0)]
    impl ERC20MetadataImpl of IERC20Metadata<ContractState> {
        fn name(self: @ContractState) -> ByteArray {
            self.name.read()
        }

        fn symbol(self: @ContractState) -> ByteArray {
            self.symbol.read()
        }

        fn decimals(self: @ContractState) -> u8 {
            DECIMALS
        }
    }

    #[abi(embed_v0)]
    impl ERC20CamelOnlyImpl of IERC20CamelOnly<ContractState> {
        fn totalSupply(self: @ContractState) -> u256 {
            ERC20Impl::total_supply(self)
        }

        fn balanceOf(self: @ContractState, account: ContractAddress) -> u256 {
            ERC20Impl::balance_of(self, account)
        }

        fn transferFrom(
            ref self: ContractState,
            sender: ContractAddress,
            recipient: ContractAddress,
            amount: u256,
        ) -> bool {
            ERC20Impl::transfer_from(ref self, sender, recipient, amount)
        }
    }

    #[generate_trait]
    impl TokenInternalImpl of TokenInternalTrait {
        /// Moves `amount` from `sender`'s balance slot to `recipient`'s and emits `Transfer`.
        fn move_balance(
            ref self: ContractState, sender: ContractAddress, recipient: ContractAddress, amount: u128,
        ) {
            assert(!is_zero(sender), errors::TRANSFER_FROM_ZERO);
            assert(!is_zero(recipient), errors::TRANSFER_TO_ZERO);
            let sender_balance = self.balances.read(sender);
            assert(sender_balance >= amount, errors::INSUFFICIENT_BALANCE);
            self.balances.write(sender, sender_balance - amount);
            // Read after the debit so a self-transfer leaves the balance unchanged. The sum can
            // only leave u128 if a thread wrote balances adding up to more than the supply.
            let credited = match self.balances.read(recipient).checked_add(amount) {
                Option::Some(balance) => balance,
                Option::None => core::panic_with_felt252(errors::BALANCE_ABOVE_U128),
            };
            self.balances.write(recipient, credited);
            self.emit(Transfer { from: sender, to: recipient, value: amount.into() });
        }

        /// Takes `amount` off `owner`'s allowance for `spender` (an infinite one stays).
        fn spend_allowance(
            ref self: ContractState, owner: ContractAddress, spender: ContractAddress, amount: u256,
        ) {
            let current = self.allowances.read((owner, spender));
            if current == Bounded::MAX {
                return;
            }
            assert(current >= amount, errors::INSUFFICIENT_ALLOWANCE);
            // No zero-address checks here: a zero `owner` (sender) fails the transfer itself,
            // with 'ERC20: transfer from 0', and reverts this write.
            self.write_allowance(owner, spender, current - amount);
        }

        /// `approve`: sets `owner`'s allowance for `spender` to `amount`, neither being zero.
        fn set_allowance(
            ref self: ContractState, owner: ContractAddress, spender: ContractAddress, amount: u256,
        ) {
            assert(!is_zero(owner), errors::APPROVE_FROM_ZERO);
            assert(!is_zero(spender), errors::APPROVE_TO_ZERO);
            self.write_allowance(owner, spender, amount);
        }

        fn write_allowance(
            ref self: ContractState, owner: ContractAddress, spender: ContractAddress, amount: u256,
        ) {
            self.allowances.write((owner, spender), amount);
            self.emit(Approval { owner, spender, value: amount });
        }
    }

    #[abi(embed_v0)]
    impl ThreadSlotsImpl of IThreadSlots<ContractState> {
        // Taken from the storage paths themselves, so the answer is whatever address the
        // compiler gives `balances[account]` and `thread_keys[account]`.
        fn thread_slots(self: @ContractState, account: ContractAddress) -> ThreadSlots {
            let balance = self.balances.entry(account).as_ptr().__storage_pointer_address__;
            let thread_key = self
                .thread_keys
                .thread_keys
                .entry(account)
                .as_ptr()
                .__storage_pointer_address__;
            ThreadSlots {
                balance: storage_address_from_base(balance).into(),
                thread_key: storage_address_from_base(thread_key).into(),
            }
        }
    }

    /// `amount` as the u128 a balance slot holds; reverts with `error` if it does not fit.
    fn narrow(amount: u256, error: felt252) -> u128 {
        assert(amount.high == 0, error);
        amount.low
    }

    fn zero() -> ContractAddress {
        0.try_into().unwrap()
    }

    fn is_zero(address: ContractAddress) -> bool {
        let address: felt252 = address.into();
        address == 0
    }
}
