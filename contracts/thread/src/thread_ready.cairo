//! The component a contract embeds to take part in zkThreads.

/// Lets the thread registry read and write this contract's raw storage, for the slots of threads
/// the contract belongs to.
///
/// The host contract must embed the component storage with `#[substorage(v0)]`: slot keys are
/// raw storage addresses of the host, and v0 keeps the component's own variable at its flat
/// address `sn_keccak("ThreadReady_registry")`, which `write_slots` refuses to touch.
#[starknet::component]
pub mod ThreadReadyComponent {
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::storage_access::StorageAddress;
    use starknet::syscalls::{storage_read_syscall, storage_write_syscall};
    use starknet::{ContractAddress, SyscallResultTrait, get_caller_address, get_contract_address};
    use thread::errors;
    use thread::interface::{
        IThreadMembershipDispatcher, IThreadMembershipDispatcherTrait, IThreadReady,
    };

    /// Contract storage lives in address domain 0 (the only one Starknet uses today).
    const ADDRESS_DOMAIN: u32 = 0;

    #[storage]
    pub struct Storage {
        pub ThreadReady_registry: ContractAddress,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        SlotsWritten: SlotsWritten,
    }

    /// The registry wrote `count` slots of this contract while settling a sub-block of
    /// `thread_id` (the slots themselves are in the registry's `SubBlockSettled` event).
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct SlotsWritten {
        #[key]
        pub thread_id: u64,
        pub count: u32,
    }

    #[embeddable_as(ThreadReadyImpl)]
    impl ThreadReady<
        TContractState, +HasComponent<TContractState>,
    > of IThreadReady<ComponentState<TContractState>> {
        fn read_slots(
            self: @ComponentState<TContractState>, thread_id: u64, keys: Span<felt252>,
        ) -> Span<felt252> {
            self.assert_registry_for_thread(thread_id);
            let mut values = array![];
            for key in keys {
                let address = slot_address(*key);
                values.append(storage_read_syscall(ADDRESS_DOMAIN, address).unwrap_syscall());
            };
            values.span()
        }

        fn write_slots(
            ref self: ComponentState<TContractState>,
            thread_id: u64,
            slots: Span<(felt252, felt252)>,
        ) {
            self.assert_registry_for_thread(thread_id);
            // The registry address is the one slot a thread may never rewrite: a sub-block that
            // changed it would hand this contract's storage to another registry.
            let protected = selector!("ThreadReady_registry");
            for slot in slots {
                let (key, value) = *slot;
                assert(key != protected, errors::PROTECTED_SLOT);
                storage_write_syscall(ADDRESS_DOMAIN, slot_address(key), value).unwrap_syscall();
            };
            self.emit(SlotsWritten { thread_id, count: slots.len() });
        }

        fn thread_registry(self: @ComponentState<TContractState>) -> ContractAddress {
            self.ThreadReady_registry.read()
        }
    }

    #[generate_trait]
    pub impl InternalImpl<
        TContractState, +HasComponent<TContractState>,
    > of InternalTrait<TContractState> {
        /// Sets the registry this contract trusts. Call it once, from the host's constructor.
        fn initializer(ref self: ComponentState<TContractState>, registry: ContractAddress) {
            let raw: felt252 = registry.into();
            assert(raw != 0, errors::ZERO_REGISTRY);
            self.ThreadReady_registry.write(registry);
        }

        /// Reverts unless the caller is the registry and the registry confirms that this
        /// contract is in the contract set of `thread_id`. Asking the registry (rather than
        /// trusting the caller alone) keeps the rule in one place: a thread can only touch the
        /// contracts its creator listed.
        fn assert_registry_for_thread(self: @ComponentState<TContractState>, thread_id: u64) {
            let registry = self.ThreadReady_registry.read();
            assert(get_caller_address() == registry, errors::CALLER_NOT_REGISTRY);
            let membership = IThreadMembershipDispatcher { contract_address: registry };
            assert(
                membership.thread_includes(thread_id, get_contract_address()),
                errors::NOT_IN_THREAD,
            );
        }
    }

    /// The storage address of a raw slot key; keys at or above 2^251 are not addresses.
    fn slot_address(key: felt252) -> StorageAddress {
        match key.try_into() {
            Option::Some(address) => address,
            Option::None => core::panic_with_felt252(errors::KEY_OUT_OF_RANGE),
        }
    }
}
