//! Shared set-up for the registry tests.

use core::pedersen::pedersen;
use registry::ThreadRegistry;
use registry::interface::{
    IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait, SettledSlot, TransactionList,
};
use starknet::testing::{pop_log_raw, set_contract_address};
use starknet::{ClassHash, ContractAddress, SyscallResultTrait, contract_address_const};
use token::ThreadToken;
use super::test_doubles::{
    AcceptAllVerifierTestDouble, EchoVerifierTestDouble, RejectAllVerifierTestDouble,
    UpgradedVerifierTestDouble,
};

pub const OS_V1: felt252 = 'zkthreads-os-v1';
pub const OS_V2: felt252 = 'zkthreads-os-v2';
pub const SUPPLY: u128 = 1_000_000;

pub fn owner() -> ContractAddress {
    contract_address_const::<'owner'>()
}

pub fn admin() -> ContractAddress {
    contract_address_const::<'admin'>()
}

pub fn prover() -> ContractAddress {
    contract_address_const::<'prover'>()
}

pub fn stranger() -> ContractAddress {
    contract_address_const::<'stranger'>()
}

/// Owner of the tokens' thread component: chooses which programs they accept.
pub fn token_owner() -> ContractAddress {
    contract_address_const::<'token owner'>()
}

pub fn alice() -> ContractAddress {
    contract_address_const::<'alice'>()
}

pub fn bob() -> ContractAddress {
    contract_address_const::<'bob'>()
}

pub fn class_hash(test_class_hash: felt252) -> ClassHash {
    test_class_hash.try_into().unwrap()
}

pub fn accept_all() -> ClassHash {
    class_hash(AcceptAllVerifierTestDouble::TEST_CLASS_HASH)
}

pub fn reject_all() -> ClassHash {
    class_hash(RejectAllVerifierTestDouble::TEST_CLASS_HASH)
}

/// The transaction list the settlement tests send: a nonzero one, so a test sees it travel
/// into the public input and the summary event (the doubles do not check it).
pub fn txs() -> TransactionList {
    TransactionList { count: 3, commitment: 0x7c0ffee }
}

pub fn echo() -> ClassHash {
    class_hash(EchoVerifierTestDouble::TEST_CLASS_HASH)
}

/// Not registered by `deploy_registry`, accepted by no token of `deploy_token`.
pub fn upgraded() -> ClassHash {
    class_hash(UpgradedVerifierTestDouble::TEST_CLASS_HASH)
}

pub fn deploy(class_hash: felt252, salt: felt252, calldata: Array<felt252>) -> ContractAddress {
    let (address, _) = starknet::syscalls::deploy_syscall(
        class_hash.try_into().unwrap(), salt, calldata.span(), false,
    )
        .unwrap_syscall();
    address
}

/// A registry owned by `owner()` with OS_V1 (programs: accept-all, reject-all, echo) and OS_V2
/// (no programs yet) registered. Leaves the caller set to `stranger()`.
pub fn deploy_registry() -> IThreadRegistryDispatcher {
    let address = deploy(ThreadRegistry::TEST_CLASS_HASH, 'registry', array![owner().into()]);
    let registry = IThreadRegistryDispatcher { contract_address: address };
    set_contract_address(owner());
    registry.register_os_version(OS_V1);
    registry.register_os_version(OS_V2);
    registry.register_program(OS_V1, accept_all());
    registry.register_program(OS_V1, reject_all());
    registry.register_program(OS_V1, echo());
    set_contract_address(stranger());
    registry
}

/// A thread token trusting `registry` and accepting the OS_V1 programs of `deploy_registry`
/// (accept-all, reject-all, echo), owned by `token_owner()`, the whole supply held by alice.
pub fn deploy_token(registry: ContractAddress, salt: felt252) -> ContractAddress {
    deploy_token_accepting(registry, salt, array![accept_all(), reject_all(), echo()].span())
}

/// A thread token trusting `registry` and accepting exactly `programs`.
pub fn deploy_token_accepting(
    registry: ContractAddress, salt: felt252, programs: Span<ClassHash>,
) -> ContractAddress {
    let mut calldata = array![registry.into(), token_owner().into(), programs.len().into()];
    for program_hash in programs {
        calldata.append((*program_hash).into());
    };
    let name: ByteArray = "Thread Token";
    let symbol: ByteArray = "THR";
    name.serialize(ref calldata);
    symbol.serialize(ref calldata);
    calldata.append(alice().into());
    let supply: u256 = SUPPLY.into();
    supply.serialize(ref calldata);
    deploy(ThreadToken::TEST_CLASS_HASH, salt, calldata)
}

/// `n` thread tokens on `registry` (as `deploy_token`), in ascending address order.
pub fn deploy_tokens(registry: ContractAddress, n: u32) -> Span<ContractAddress> {
    let mut sorted: Array<ContractAddress> = array![];
    for i in 0..n {
        let salt: felt252 = 'token'.into() + i.into();
        let token = deploy_token(registry, salt);
        // Insert in order: small n, a plain insertion pass.
        let mut next = array![];
        let mut placed = false;
        for existing in sorted.span() {
            if !placed && lt(token, *existing) {
                next.append(token);
                placed = true;
            }
            next.append(*existing);
        };
        if !placed {
            next.append(token);
        }
        sorted = next;
    };
    sorted.span()
}

/// Discards every event `address` emitted so far.
pub fn drain_events(address: ContractAddress) {
    while let Option::Some(_) = pop_log_raw(address) {};
}

pub fn lt(a: ContractAddress, b: ContractAddress) -> bool {
    let a: felt252 = a.into();
    let b: felt252 = b.into();
    let a: u256 = a.into();
    let b: u256 = b.into();
    a < b
}

/// The two addresses in ascending order.
pub fn ascending(a: ContractAddress, b: ContractAddress) -> (ContractAddress, ContractAddress) {
    if lt(a, b) {
        (a, b)
    } else {
        (b, a)
    }
}

/// The storage address of `balances[account]` in a thread token (see the token crate docs).
pub fn balance_slot(account: ContractAddress) -> felt252 {
    let hash: u256 = pedersen(selector!("balances"), account.into()).into();
    let bound: u256 = 0x800000000000000000000000000000000000000000000000000000000000000 - 256;
    let address = if hash >= bound {
        hash - bound
    } else {
        hash
    };
    address.try_into().unwrap()
}

/// The balance slots of alice and bob in `token`, ascending by key, with the given values.
pub fn balance_slots(
    token: ContractAddress, alice_value: felt252, bob_value: felt252,
) -> Array<(ContractAddress, felt252, felt252)> {
    let alice_key = balance_slot(alice());
    let bob_key = balance_slot(bob());
    let alice_raw: u256 = alice_key.into();
    let bob_raw: u256 = bob_key.into();
    if alice_raw < bob_raw {
        array![(token, alice_key, alice_value), (token, bob_key, bob_value)]
    } else {
        array![(token, bob_key, bob_value), (token, alice_key, alice_value)]
    }
}

/// `slots` as the named entries a `SubBlockSettled` event carries.
pub fn settled(slots: Span<(ContractAddress, felt252, felt252)>) -> Span<SettledSlot> {
    let mut settled = array![];
    for slot in slots {
        let (contract, key, value) = *slot;
        settled.append(SettledSlot { contract, key, value });
    };
    settled.span()
}

/// Asserts that a safe-dispatcher call reverted and that `reason` is its first revert reason
/// (calls in between append 'ENTRYPOINT_FAILED' after it).
pub fn assert_reverted_with<T, +Drop<T>>(result: Result<T, Array<felt252>>, reason: felt252) {
    match result {
        Result::Ok(_) => panic!("the call succeeded, a revert was expected"),
        Result::Err(data) => assert_eq!(*data.at(0), reason),
    }
}

/// Creates a thread over `contracts` (any order) running the accept-all program, admin `admin()`.
pub fn create_thread_with(
    registry: IThreadRegistryDispatcher,
    program: ClassHash,
    contracts: Span<ContractAddress>,
    provers: Span<ContractAddress>,
) -> u64 {
    registry.create_thread(OS_V1, program, contracts, admin(), provers)
}
