//! The component a contract embeds to take part in zkThreads.

/// Lets the thread registry read and write this contract's raw storage, for the slots of threads
/// the contract belongs to, while the contract accepts the thread's program.
///
/// Three concerns, three embeddable impls: `ThreadReadyImpl` (`IThreadReady`, what the registry
/// calls to settle), `ThreadConsentImpl` (`IThreadConsent`, which programs the contract accepts
/// and beside which contracts; the registry refuses to put a contract without it in a thread) and
/// `ThreadPeersImpl` (`IThreadPeers`, the owner's list of peers for programs accepted
/// peers-only). The host's constructor calls `initializer(registry, owner, programs)`.
///
/// The host contract must embed the component storage with `#[substorage(v0)]`: slot keys are
/// raw storage addresses of the host, and v0 keeps the component's own variables at their flat
/// addresses `sn_keccak("ThreadReady_registry")` and `sn_keccak("ThreadReady_owner")`, which
/// `write_slots` refuses to touch. (Entries of `ThreadReady_programs` are hashed addresses a key
/// cannot be recognised by; the verifier's binding of every slot to a declared variable keeps
/// threads away from them.)
#[starknet::component]
pub mod ThreadReadyComponent {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::storage_access::StorageAddress;
    use starknet::syscalls::{storage_read_syscall, storage_write_syscall};
    use starknet::{
        ClassHash, ContractAddress, SyscallResultTrait, get_caller_address, get_contract_address,
    };
    use thread::errors;
    use thread::interface::{
        IThreadConsent, IThreadContractsDispatcher, IThreadContractsDispatcherTrait,
        IThreadMembershipDispatcher, IThreadMembershipDispatcherTrait, IThreadPeers, IThreadReady,
    };

    /// Contract storage lives in address domain 0 (the only one Starknet uses today).
    const ADDRESS_DOMAIN: u32 = 0;

    #[storage]
    pub struct Storage {
        /// The registry trusted with this contract's storage.
        pub ThreadReady_registry: ContractAddress,
        /// Who decides which programs this contract accepts.
        pub ThreadReady_owner: ContractAddress,
        /// Programs (verifier class hashes) whose threads may read and write this contract.
        pub ThreadReady_programs: Map<ClassHash, bool>,
        /// Programs whose threads may hold, besides this contract, only listed peers.
        pub ThreadReady_peers_only: Map<ClassHash, bool>,
        /// `(program, peer)`: `peer` may share a thread of `program` with this contract.
        pub ThreadReady_peers: Map<(ClassHash, ContractAddress), bool>,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        SlotsWritten: SlotsWritten,
        ProgramAcceptanceChanged: ProgramAcceptanceChanged,
        PeersOnlyChanged: PeersOnlyChanged,
        PeerAcceptanceChanged: PeerAcceptanceChanged,
    }

    /// Threads of `program_hash` may now touch this contract only beside listed peers (or
    /// beside any contract again).
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct PeersOnlyChanged {
        #[key]
        pub program_hash: ClassHash,
        pub peers_only: bool,
    }

    /// `peer` is now listed (or no longer listed) for threads of `program_hash`.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct PeerAcceptanceChanged {
        #[key]
        pub program_hash: ClassHash,
        #[key]
        pub peer: ContractAddress,
        pub accepted: bool,
    }

    /// The registry wrote `count` slots of this contract while settling a sub-block of
    /// `thread_id` (the slots themselves are in the registry's `SubBlockSettled` event).
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct SlotsWritten {
        #[key]
        pub thread_id: u64,
        pub count: u32,
    }

    /// This contract now accepts (or no longer accepts) threads running `program_hash`.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ProgramAcceptanceChanged {
        #[key]
        pub program_hash: ClassHash,
        pub accepted: bool,
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
            // The component's own slots are never a thread's to rewrite: a sub-block that
            // changed the registry would hand this contract's storage to another registry, one
            // that changed the owner would hand over the choice of programs.
            let registry_slot = selector!("ThreadReady_registry");
            let owner_slot = selector!("ThreadReady_owner");
            for slot in slots {
                let (key, value) = *slot;
                assert(key != registry_slot && key != owner_slot, errors::PROTECTED_SLOT);
                storage_write_syscall(ADDRESS_DOMAIN, slot_address(key), value).unwrap_syscall();
            };
            self.emit(SlotsWritten { thread_id, count: slots.len() });
        }

        fn thread_registry(self: @ComponentState<TContractState>) -> ContractAddress {
            self.ThreadReady_registry.read()
        }
    }

    #[embeddable_as(ThreadConsentImpl)]
    impl ThreadConsent<
        TContractState, +HasComponent<TContractState>,
    > of IThreadConsent<ComponentState<TContractState>> {
        fn accepts_program(self: @ComponentState<TContractState>, program_hash: ClassHash) -> bool {
            self.ThreadReady_programs.read(program_hash)
        }

        fn accepts_thread(
            self: @ComponentState<TContractState>,
            program_hash: ClassHash,
            contracts: Span<ContractAddress>,
        ) -> bool {
            self.ThreadReady_programs.read(program_hash)
                && self.others_are_peers(program_hash, contracts)
        }

        fn set_program_accepted(
            ref self: ComponentState<TContractState>, program_hash: ClassHash, accepted: bool,
        ) {
            assert(get_caller_address() == self.ThreadReady_owner.read(), errors::CALLER_NOT_OWNER);
            self.write_acceptance(program_hash, accepted);
        }

        fn thread_owner(self: @ComponentState<TContractState>) -> ContractAddress {
            self.ThreadReady_owner.read()
        }
    }

    #[embeddable_as(ThreadPeersImpl)]
    impl ThreadPeers<
        TContractState, +HasComponent<TContractState>,
    > of IThreadPeers<ComponentState<TContractState>> {
        fn peers_only(self: @ComponentState<TContractState>, program_hash: ClassHash) -> bool {
            self.ThreadReady_peers_only.read(program_hash)
        }

        fn accepts_peer(
            self: @ComponentState<TContractState>, program_hash: ClassHash, peer: ContractAddress,
        ) -> bool {
            self.ThreadReady_peers.read((program_hash, peer))
        }

        fn set_peers_only(
            ref self: ComponentState<TContractState>, program_hash: ClassHash, peers_only: bool,
        ) {
            assert(get_caller_address() == self.ThreadReady_owner.read(), errors::CALLER_NOT_OWNER);
            self.write_peers_only(program_hash, peers_only);
        }

        fn set_peer_accepted(
            ref self: ComponentState<TContractState>,
            program_hash: ClassHash,
            peer: ContractAddress,
            accepted: bool,
        ) {
            assert(get_caller_address() == self.ThreadReady_owner.read(), errors::CALLER_NOT_OWNER);
            self.write_peer_acceptance(program_hash, peer, accepted);
        }

        fn accept_program_beside(
            ref self: ComponentState<TContractState>,
            program_hash: ClassHash,
            peers: Span<ContractAddress>,
        ) {
            assert(get_caller_address() == self.ThreadReady_owner.read(), errors::CALLER_NOT_OWNER);
            self.write_peers_only(program_hash, true);
            for peer in peers {
                self.write_peer_acceptance(program_hash, *peer, true);
            };
            // Accepted last: the program never reaches this contract before its peers are.
            self.write_acceptance(program_hash, true);
        }
    }

    #[generate_trait]
    pub impl InternalImpl<
        TContractState, +HasComponent<TContractState>,
    > of InternalTrait<TContractState> {
        /// Sets the registry this contract trusts, the owner who chooses its programs, and the
        /// programs it accepts from the start, beside any contract: never one that reads
        /// authority from another member (the order book's; `accept_program_beside` after
        /// deployment). Call it once, from the host's constructor.
        fn initializer(
            ref self: ComponentState<TContractState>,
            registry: ContractAddress,
            owner: ContractAddress,
            programs: Span<ClassHash>,
        ) {
            let raw: felt252 = registry.into();
            assert(raw != 0, errors::ZERO_REGISTRY);
            let raw: felt252 = owner.into();
            assert(raw != 0, errors::ZERO_OWNER);
            self.ThreadReady_registry.write(registry);
            self.ThreadReady_owner.write(owner);
            for program_hash in programs {
                self.write_acceptance(*program_hash, true);
            };
        }

        /// Reverts unless the caller is the registry, the registry confirms that this contract
        /// is in the contract set of `thread_id`, this contract accepts the program the thread
        /// runs now, and — if it accepts that program only beside listed peers — every other
        /// member is one. Asking the registry (rather than trusting the caller alone) keeps
        /// the rules in one place: a thread can only touch the contracts its creator listed,
        /// and only under a program each of them accepted (and has not revoked since).
        fn assert_registry_for_thread(self: @ComponentState<TContractState>, thread_id: u64) {
            let registry = self.ThreadReady_registry.read();
            assert(get_caller_address() == registry, errors::CALLER_NOT_REGISTRY);
            let membership = IThreadMembershipDispatcher { contract_address: registry };
            let me = get_contract_address();
            assert(membership.thread_includes(thread_id, me), errors::NOT_IN_THREAD);
            let program = membership.thread_program(thread_id);
            assert(self.ThreadReady_programs.read(program), errors::PROGRAM_NOT_ACCEPTED);
            if self.ThreadReady_peers_only.read(program) {
                let contracts = IThreadContractsDispatcher { contract_address: registry }
                    .thread_contracts(thread_id);
                assert(self.others_are_peers(program, contracts), errors::PEER_NOT_ACCEPTED);
            }
        }

        /// Whether every contract of `contracts` other than this one may share a thread of
        /// `program` with it: always, unless `program` is accepted peers-only; then each must be
        /// a listed peer.
        fn others_are_peers(
            self: @ComponentState<TContractState>,
            program: ClassHash,
            contracts: Span<ContractAddress>,
        ) -> bool {
            if !self.ThreadReady_peers_only.read(program) {
                return true;
            }
            let me = get_contract_address();
            let mut all = true;
            for member in contracts {
                let member = *member;
                if member != me && !self.ThreadReady_peers.read((program, member)) {
                    all = false;
                    break;
                }
            };
            all
        }

        fn write_acceptance(
            ref self: ComponentState<TContractState>, program_hash: ClassHash, accepted: bool,
        ) {
            self.ThreadReady_programs.write(program_hash, accepted);
            self.emit(ProgramAcceptanceChanged { program_hash, accepted });
        }

        fn write_peers_only(
            ref self: ComponentState<TContractState>, program_hash: ClassHash, peers_only: bool,
        ) {
            self.ThreadReady_peers_only.write(program_hash, peers_only);
            self.emit(PeersOnlyChanged { program_hash, peers_only });
        }

        fn write_peer_acceptance(
            ref self: ComponentState<TContractState>,
            program_hash: ClassHash,
            peer: ContractAddress,
            accepted: bool,
        ) {
            self.ThreadReady_peers.write((program_hash, peer), accepted);
            self.emit(PeerAcceptanceChanged { program_hash, peer, accepted });
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
