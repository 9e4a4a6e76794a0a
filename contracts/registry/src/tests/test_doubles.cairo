//! Test doubles for the registry tests. Test code only: none of these may ever be registered as
//! a program outside tests.

/// A verifier that accepts every proof. Lets the tests reach the settlement steps after the
/// proof check.
#[starknet::contract]
pub mod AcceptAllVerifierTestDouble {
    use thread::interface::IThreadVerifier;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl VerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            true
        }
    }
}

/// Another verifier class that accepts every proof (its own class hash): the program a thread
/// upgrades to, or one a test registers itself.
#[starknet::contract]
pub mod UpgradedVerifierTestDouble {
    use thread::interface::IThreadVerifier;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl VerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            true
        }
    }
}

/// A verifier that rejects every proof.
#[starknet::contract]
pub mod RejectAllVerifierTestDouble {
    use thread::interface::IThreadVerifier;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl VerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            false
        }
    }
}

/// A verifier whose "proof" must be the public input itself: shows that the registry hands the
/// verifier exactly the felts `public_input` documents.
#[starknet::contract]
pub mod EchoVerifierTestDouble {
    use thread::interface::IThreadVerifier;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl VerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            public_input == proof
        }
    }
}

#[starknet::interface]
pub trait IReentrantThreadContractTestDouble<TContractState> {
    fn arm(ref self: TContractState, thread_id: u64);
}

/// A hostile member of a thread: when the registry reads its slots during `settle`, it settles
/// another sub-block with the same sequence number from inside. Accepts every program.
#[starknet::contract]
pub mod ReentrantThreadContractTestDouble {
    use registry::interface::{IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait};
    use registry::tests::common::txs;
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::{ClassHash, ContractAddress};
    use thread::interface::{IThreadConsent, IThreadReady};

    #[storage]
    struct Storage {
        registry: ContractAddress,
        thread_id: u64,
    }

    #[constructor]
    fn constructor(ref self: ContractState, registry: ContractAddress) {
        self.registry.write(registry);
    }

    #[abi(embed_v0)]
    impl ArmImpl of super::IReentrantThreadContractTestDouble<ContractState> {
        fn arm(ref self: ContractState, thread_id: u64) {
            self.thread_id.write(thread_id);
        }
    }

    #[abi(embed_v0)]
    impl ThreadReadyImpl of IThreadReady<ContractState> {
        fn read_slots(self: @ContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252> {
            // An empty sub-block 0 of its own, settled while the outer sub-block 0 is mid-check.
            let registry = IThreadRegistryDispatcher { contract_address: self.registry.read() };
            let none = array![].span();
            registry.settle(self.thread_id.read(), 0, none, none, txs(), array![].span());
            array![0].span()
        }

        fn write_slots(ref self: ContractState, thread_id: u64, slots: Span<(felt252, felt252)>) {}

        fn thread_registry(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }

    #[abi(embed_v0)]
    impl ThreadConsentImpl of IThreadConsent<ContractState> {
        fn accepts_program(self: @ContractState, program_hash: ClassHash) -> bool {
            true
        }

        fn accepts_thread(
            self: @ContractState, program_hash: ClassHash, contracts: Span<ContractAddress>,
        ) -> bool {
            true
        }

        fn set_program_accepted(ref self: ContractState, program_hash: ClassHash, accepted: bool) {}

        fn thread_owner(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }
}

/// A broken member of a thread: `read_slots` answers with no values at all. Accepts every
/// program.
#[starknet::contract]
pub mod ShortReplyThreadContractTestDouble {
    use starknet::{ClassHash, ContractAddress};
    use thread::interface::{IThreadConsent, IThreadReady};

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl ThreadReadyImpl of IThreadReady<ContractState> {
        fn read_slots(self: @ContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252> {
            array![].span()
        }

        fn write_slots(ref self: ContractState, thread_id: u64, slots: Span<(felt252, felt252)>) {}

        fn thread_registry(self: @ContractState) -> ContractAddress {
            0.try_into().unwrap()
        }
    }

    #[abi(embed_v0)]
    impl ThreadConsentImpl of IThreadConsent<ContractState> {
        fn accepts_program(self: @ContractState, program_hash: ClassHash) -> bool {
            true
        }

        fn accepts_thread(
            self: @ContractState, program_hash: ClassHash, contracts: Span<ContractAddress>,
        ) -> bool {
            true
        }

        fn set_program_accepted(ref self: ContractState, program_hash: ClassHash, accepted: bool) {}

        fn thread_owner(self: @ContractState) -> ContractAddress {
            0.try_into().unwrap()
        }
    }
}

/// A hostile member beside a real token (helper-56's double spend): whenever the registry calls
/// it during `settle` (`read_slots` or `write_slots`) and it holds any of the token, it spends
/// all of it on L2, paying `stranger()`. Its own slot reads 0 and is written as given (not
/// stored). Accepts every program and every peer.
#[starknet::contract]
pub mod SpendingThreadContractTestDouble {
    use registry::tests::common::stranger;
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::{ClassHash, ContractAddress, get_contract_address};
    use thread::interface::{IThreadConsent, IThreadReady};
    use token::interface::{IThreadTokenDispatcher, IThreadTokenDispatcherTrait};

    #[storage]
    struct Storage {
        registry: ContractAddress,
        token: ContractAddress,
    }

    #[constructor]
    fn constructor(ref self: ContractState, registry: ContractAddress, token: ContractAddress) {
        self.registry.write(registry);
        self.token.write(token);
    }

    fn spend(token: ContractAddress) {
        let token = IThreadTokenDispatcher { contract_address: token };
        let held = token.balance_of(get_contract_address());
        if held > 0 {
            token.transfer(stranger(), held);
        }
    }

    #[abi(embed_v0)]
    impl ThreadReadyImpl of IThreadReady<ContractState> {
        fn read_slots(self: @ContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252> {
            spend(self.token.read());
            let mut zeros = array![];
            for _ in keys {
                zeros.append(0);
            };
            zeros.span()
        }

        fn write_slots(ref self: ContractState, thread_id: u64, slots: Span<(felt252, felt252)>) {
            spend(self.token.read());
        }

        fn thread_registry(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }

    #[abi(embed_v0)]
    impl ThreadConsentImpl of IThreadConsent<ContractState> {
        fn accepts_program(self: @ContractState, program_hash: ClassHash) -> bool {
            true
        }

        fn accepts_thread(
            self: @ContractState, program_hash: ClassHash, contracts: Span<ContractAddress>,
        ) -> bool {
            true
        }

        fn set_program_accepted(ref self: ContractState, program_hash: ClassHash, accepted: bool) {}

        fn thread_owner(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }
}

/// What an [`AdministeringThreadContractTestDouble`] does when the registry calls it in
/// `settle`: one of the registry's state-changing entry points.
pub mod administer {
    pub const UPGRADE: felt252 = 'upgrade';
    pub const DEACTIVATE: felt252 = 'deactivate';
    pub const SET_PROVERS: felt252 = 'set provers';
    pub const CREATE_THREAD: felt252 = 'create thread';
}

/// A hostile member that is its thread's admin and, whenever the registry calls it during
/// `settle`, re-enters the registry with its `action` ([`administer`]): upgrading the thread to
/// `upgraded()` under OS_V2 (helper-74's attack on a token that revoked the thread's program),
/// deactivating it, changing its provers or creating a thread. It
/// accepts every program and peer; its slots read as zeros.
#[starknet::contract]
pub mod AdministeringThreadContractTestDouble {
    use registry::interface::{IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait};
    use registry::tests::common::{OS_V1, OS_V2, accept_all, upgraded};
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::{ClassHash, ContractAddress, get_contract_address};
    use thread::interface::{IThreadConsent, IThreadReady};
    use super::administer;

    #[storage]
    struct Storage {
        registry: ContractAddress,
        action: felt252,
    }

    #[constructor]
    fn constructor(ref self: ContractState, registry: ContractAddress, action: felt252) {
        self.registry.write(registry);
        self.action.write(action);
    }

    fn act(registry: ContractAddress, action: felt252, thread_id: u64) {
        let registry = IThreadRegistryDispatcher { contract_address: registry };
        if action == administer::UPGRADE {
            registry.upgrade_thread(thread_id, OS_V2, upgraded());
        } else if action == administer::DEACTIVATE {
            registry.set_active(thread_id, false);
        } else if action == administer::SET_PROVERS {
            registry.set_provers(thread_id, array![get_contract_address()].span());
        } else {
            let me = array![get_contract_address()].span();
            registry.create_thread(OS_V1, accept_all(), me, get_contract_address(), array![].span());
        }
    }

    #[abi(embed_v0)]
    impl ThreadReadyImpl of IThreadReady<ContractState> {
        fn read_slots(self: @ContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252> {
            act(self.registry.read(), self.action.read(), thread_id);
            let mut zeros = array![];
            for _ in keys {
                zeros.append(0);
            };
            zeros.span()
        }

        fn write_slots(ref self: ContractState, thread_id: u64, slots: Span<(felt252, felt252)>) {}

        fn thread_registry(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }

    #[abi(embed_v0)]
    impl ThreadConsentImpl of IThreadConsent<ContractState> {
        fn accepts_program(self: @ContractState, program_hash: ClassHash) -> bool {
            true
        }

        fn accepts_thread(
            self: @ContractState, program_hash: ClassHash, contracts: Span<ContractAddress>,
        ) -> bool {
            true
        }

        fn set_program_accepted(ref self: ContractState, program_hash: ClassHash, accepted: bool) {}

        fn thread_owner(self: @ContractState) -> ContractAddress {
            self.registry.read()
        }
    }
}
