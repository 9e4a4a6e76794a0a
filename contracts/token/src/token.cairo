#[starknet::contract]
pub mod ThreadToken {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};
    use thread::ThreadReadyComponent;
    use token::errors;
    use token::interface::IThreadToken;

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;

    const DECIMALS: u8 = 18;

    // `balances` stays a top-level variable named exactly so: its slot keys are what provers
    // and clients derive from the name (see the crate docs).
    #[storage]
    struct Storage {
        balances: Map<ContractAddress, u128>,
        total_supply: u128,
        name: felt252,
        symbol: felt252,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        Transfer: Transfer,
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

    #[constructor]
    fn constructor(
        ref self: ContractState,
        registry: ContractAddress,
        name: felt252,
        symbol: felt252,
        initial_holder: ContractAddress,
        supply: u128,
    ) {
        self.thread_ready.initializer(registry);
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
}
