//! Test doubles for the thread component tests. Test code only.

#[starknet::interface]
pub trait IMembershipTestDouble<TContractState> {
    fn set_includes(ref self: TContractState, thread_id: u64, contract: starknet::ContractAddress);
}

/// Stands in for the thread registry: answers `thread_includes` from a list set by the test.
#[starknet::contract]
pub mod MembershipTestDouble {
    use starknet::ContractAddress;
    use starknet::storage::{Map, StorageMapReadAccess, StorageMapWriteAccess};
    use thread::interface::IThreadMembership;

    #[storage]
    struct Storage {
        includes: Map<(u64, ContractAddress), bool>,
    }

    #[abi(embed_v0)]
    impl MembershipTestDoubleImpl of super::IMembershipTestDouble<ContractState> {
        fn set_includes(ref self: ContractState, thread_id: u64, contract: ContractAddress) {
            self.includes.write((thread_id, contract), true);
        }
    }

    #[abi(embed_v0)]
    impl MembershipImpl of IThreadMembership<ContractState> {
        fn thread_includes(self: @ContractState, thread_id: u64, contract: ContractAddress) -> bool {
            self.includes.read((thread_id, contract))
        }
    }
}

#[starknet::interface]
pub trait IThreadReadyHostTestDouble<TContractState> {
    fn value(self: @TContractState) -> felt252;
}

/// A minimal host contract embedding the thread component, with one storage variable `value`.
#[starknet::contract]
pub mod ThreadReadyHostTestDouble {
    use starknet::ContractAddress;
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use thread::ThreadReadyComponent;

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;

    #[storage]
    struct Storage {
        value: felt252,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        #[flat]
        ThreadReadyEvent: ThreadReadyComponent::Event,
    }

    #[constructor]
    fn constructor(ref self: ContractState, registry: ContractAddress, value: felt252) {
        self.thread_ready.initializer(registry);
        self.value.write(value);
    }

    #[abi(embed_v0)]
    impl HostImpl of super::IThreadReadyHostTestDouble<ContractState> {
        fn value(self: @ContractState) -> felt252 {
            self.value.read()
        }
    }
}
