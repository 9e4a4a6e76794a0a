//! `HostileVerifierTestDouble`: a verifier class a registry owner registered by mistake. Its
//! `verify` reads an attack from the proof felts, tries it with a panicking dispatcher (so a
//! refused attack reverts the settlement with the refusal's own reason) and, if nothing stopped
//! it, accepts the proof.
//!
//! Proof layouts (`mode` first):
//! - `MODE_WRITE_SLOTS, token, thread_id, key, value`: `token.write_slots(thread_id,
//!   [(key, value)])`, i.e. rewrite a thread-ready contract through another thread that
//!   includes it;
//! - `MODE_SETTLE, thread_id, sequence`: settle an empty sub-block on the registry from inside;
//! - `MODE_SET_PROVERS, thread_id`: make itself the thread's only prover;
//! - `MODE_SET_ACTIVE, thread_id`: pause the thread;
//! - `MODE_REGISTER_PROGRAM, os_version, program_hash`: vet another program;
//! - `MODE_WRITE_STORAGE, key, value`: a raw storage write — into the registry's own storage
//!   (e.g. its `owner`) if the registry ever ran this class by library call;
//! - anything else, or an empty proof: accept.
//!
//! The registry is whoever calls `verify`.

use starknet::{ClassHash, ContractAddress};

pub const MODE_WRITE_SLOTS: felt252 = 'write_slots';
pub const MODE_SETTLE: felt252 = 'settle';
pub const MODE_SET_PROVERS: felt252 = 'set_provers';
pub const MODE_SET_ACTIVE: felt252 = 'set_active';
pub const MODE_REGISTER_PROGRAM: felt252 = 'register_program';
pub const MODE_WRITE_STORAGE: felt252 = 'write_storage';

// The interfaces this class speaks, declared here with the names and argument types of
// `thread::interface::{IThreadVerifier, IThreadReady}` and `registry::interface::IThreadRegistry`
// (hence the same selectors and calldata), so the package depends on nothing of ours. The tests
// expect each attack's own revert reason (and the registry must reach `verify`), so a drifted
// signature would show.

/// `thread::interface::IThreadVerifier`.
#[starknet::interface]
pub trait IVerifier<TContractState> {
    fn verify(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool;
}

/// The entry point of `thread::interface::IThreadReady` the first attack uses.
#[starknet::interface]
pub trait IThreadContractWrites<TContractState> {
    fn write_slots(ref self: TContractState, thread_id: u64, slots: Span<(felt252, felt252)>);
}

/// The registry entry points the other attacks use.
#[starknet::interface]
pub trait IAttackedRegistry<TContractState> {
    fn register_program(ref self: TContractState, os_version: felt252, program_hash: ClassHash);
    fn set_provers(ref self: TContractState, thread_id: u64, provers: Span<ContractAddress>);
    fn set_active(ref self: TContractState, thread_id: u64, active: bool);
    fn settle(
        ref self: TContractState,
        thread_id: u64,
        sequence: u64,
        inputs: Span<(ContractAddress, felt252, felt252)>,
        outputs: Span<(ContractAddress, felt252, felt252)>,
        // `registry::interface::TransactionList { count, commitment }`: the same two felts.
        transactions: (u32, felt252),
        proof: Span<felt252>,
    );
}

#[starknet::contract]
pub mod HostileVerifierTestDouble {
    use starknet::storage_access::StorageAddress;
    use starknet::syscalls::storage_write_syscall;
    use starknet::{SyscallResultTrait, get_caller_address, get_contract_address};
    use super::{
        IAttackedRegistryDispatcher, IAttackedRegistryDispatcherTrait,
        IThreadContractWritesDispatcher, IThreadContractWritesDispatcherTrait, IVerifier,
        MODE_REGISTER_PROGRAM, MODE_SETTLE, MODE_SET_ACTIVE, MODE_SET_PROVERS, MODE_WRITE_SLOTS,
        MODE_WRITE_STORAGE,
    };

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl VerifierImpl of IVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            if proof.len() == 0 {
                return true;
            }
            let mode = *proof.at(0);
            let registry = IAttackedRegistryDispatcher { contract_address: get_caller_address() };
            if mode == MODE_WRITE_SLOTS {
                let token = (*proof.at(1)).try_into().unwrap();
                let thread_id = (*proof.at(2)).try_into().unwrap();
                IThreadContractWritesDispatcher { contract_address: token }
                    .write_slots(thread_id, array![(*proof.at(3), *proof.at(4))].span());
            } else if mode == MODE_SETTLE {
                let none = array![].span();
                registry
                    .settle(
                        (*proof.at(1)).try_into().unwrap(),
                        (*proof.at(2)).try_into().unwrap(),
                        none,
                        none,
                        (0, 0),
                        array![].span(),
                    );
            } else if mode == MODE_SET_PROVERS {
                registry
                    .set_provers(
                        (*proof.at(1)).try_into().unwrap(), array![get_contract_address()].span(),
                    );
            } else if mode == MODE_SET_ACTIVE {
                registry.set_active((*proof.at(1)).try_into().unwrap(), false);
            } else if mode == MODE_REGISTER_PROGRAM {
                registry.register_program(*proof.at(1), (*proof.at(2)).try_into().unwrap());
            } else if mode == MODE_WRITE_STORAGE {
                let key: StorageAddress = (*proof.at(1)).try_into().unwrap();
                storage_write_syscall(0, key, *proof.at(2)).unwrap_syscall();
            }
            true
        }
    }
}
