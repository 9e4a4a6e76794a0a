//! Test doubles for the thread component tests. Test code only.

#[starknet::interface]
pub trait IMembershipTestDouble<TContractState> {
    fn set_includes(ref self: TContractState, thread_id: u64, contract: starknet::ContractAddress);
    fn set_program(ref self: TContractState, thread_id: u64, program_hash: starknet::ClassHash);
}

/// Stands in for the thread registry: answers `thread_includes` and `thread_program` from what
/// the test set.
#[starknet::contract]
pub mod MembershipTestDouble {
    use starknet::storage::{Map, StorageMapReadAccess, StorageMapWriteAccess};
    use starknet::{ClassHash, ContractAddress};
    use thread::interface::IThreadMembership;

    #[storage]
    struct Storage {
        includes: Map<(u64, ContractAddress), bool>,
        programs: Map<u64, ClassHash>,
    }

    #[abi(embed_v0)]
    impl MembershipTestDoubleImpl of super::IMembershipTestDouble<ContractState> {
        fn set_includes(ref self: ContractState, thread_id: u64, contract: ContractAddress) {
            self.includes.write((thread_id, contract), true);
        }

        fn set_program(ref self: ContractState, thread_id: u64, program_hash: ClassHash) {
            self.programs.write(thread_id, program_hash);
        }
    }

    #[abi(embed_v0)]
    impl MembershipImpl of IThreadMembership<ContractState> {
        fn thread_includes(self: @ContractState, thread_id: u64, contract: ContractAddress) -> bool {
            self.includes.read((thread_id, contract))
        }

        fn thread_program(self: @ContractState, thread_id: u64) -> ClassHash {
            self.programs.read(thread_id)
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
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::{ClassHash, ContractAddress};
    use thread::ThreadReadyComponent;

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadConsentImpl = ThreadReadyComponent::ThreadConsentImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadPeersImpl = ThreadReadyComponent::ThreadPeersImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;

    #[storage]
    struct Storage {
        value: felt252,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        #[flat]
        ThreadReadyEvent: ThreadReadyComponent::Event,
    }

    #[constructor]
    fn constructor(
        ref self: ContractState,
        registry: ContractAddress,
        owner: ContractAddress,
        programs: Span<ClassHash>,
        value: felt252,
    ) {
        self.thread_ready.initializer(registry, owner, programs);
        self.value.write(value);
    }

    #[abi(embed_v0)]
    impl HostImpl of super::IThreadReadyHostTestDouble<ContractState> {
        fn value(self: @ContractState) -> felt252 {
            self.value.read()
        }
    }
}
