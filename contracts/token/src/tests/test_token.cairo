use core::pedersen::pedersen;
use starknet::testing::{pop_log, set_contract_address};
use starknet::{ContractAddress, SyscallResultTrait, contract_address_const};
use thread::interface::{IThreadReadyDispatcher, IThreadReadyDispatcherTrait};
use token::ThreadToken;
use token::ThreadToken::Transfer;
use token::interface::{
    IThreadTokenDispatcher, IThreadTokenDispatcherTrait, IThreadTokenSafeDispatcher,
    IThreadTokenSafeDispatcherTrait,
};

pub const SUPPLY: u128 = 1_000_000;
pub const THREAD: u64 = 1;

/// Stands in for the thread registry: every contract is in thread `THREAD`. Test code only.
#[starknet::contract]
pub mod OpenMembershipTestDouble {
    use starknet::ContractAddress;
    use thread::interface::IThreadMembership;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl MembershipImpl of IThreadMembership<ContractState> {
        fn thread_includes(self: @ContractState, thread_id: u64, contract: ContractAddress) -> bool {
            thread_id == super::THREAD
        }
    }
}

pub fn alice() -> ContractAddress {
    contract_address_const::<'alice'>()
}

pub fn bob() -> ContractAddress {
    contract_address_const::<'bob'>()
}

pub fn deploy(class_hash: felt252, salt: felt252, calldata: Array<felt252>) -> ContractAddress {
    let (address, _) = starknet::syscalls::deploy_syscall(
        class_hash.try_into().unwrap(), salt, calldata.span(), false,
    )
        .unwrap_syscall();
    address
}

/// (registry stand-in, token with the whole supply held by alice)
pub fn setup() -> (ContractAddress, ContractAddress) {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let token = deploy(
        ThreadToken::TEST_CLASS_HASH,
        2,
        array![registry.into(), 'Thread Token', 'THR', alice().into(), SUPPLY.into()],
    );
    (registry, token)
}

/// The storage address of `balances[account]`, derived independently of the storage macros:
/// pedersen(sn_keccak("balances"), account) reduced below 2^251 - 256.
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

#[test]
fn test_constructor_mints_supply_to_initial_holder() {
    let (registry, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.name(), 'Thread Token');
    assert_eq!(dispatcher.symbol(), 'THR');
    assert_eq!(dispatcher.decimals(), 18);
    assert_eq!(dispatcher.total_supply(), SUPPLY);
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY);
    assert_eq!(dispatcher.balance_of(bob()), 0);
    assert_eq!(IThreadReadyDispatcher { contract_address: token }.thread_registry(), registry);
    let event = pop_log::<ThreadToken::Event>(token).unwrap();
    let expected = Transfer { from: 0.try_into().unwrap(), to: alice(), value: SUPPLY };
    assert_eq!(event, ThreadToken::Event::Transfer(expected));
}

#[test]
fn test_transfer_moves_balance_and_emits_event() {
    let (_, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    pop_log::<ThreadToken::Event>(token).unwrap();
    set_contract_address(alice());
    assert!(dispatcher.transfer(bob(), 300));
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY - 300);
    assert_eq!(dispatcher.balance_of(bob()), 300);
    assert_eq!(dispatcher.total_supply(), SUPPLY);
    let event = pop_log::<ThreadToken::Event>(token).unwrap();
    assert_eq!(event, ThreadToken::Event::Transfer(Transfer { from: alice(), to: bob(), value: 300 }));
}

#[test]
fn test_transfer_to_self_keeps_balance() {
    let (_, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    set_contract_address(alice());
    dispatcher.transfer(alice(), 10);
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY);
}

#[test]
#[feature("safe_dispatcher")]
fn test_overspend_is_rejected_and_balances_unchanged() {
    let (_, token) = setup();
    let safe = IThreadTokenSafeDispatcher { contract_address: token };
    set_contract_address(bob());
    match safe.transfer(alice(), 1) {
        Result::Ok(_) => panic!("bob spent what he does not have"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'token: insufficient balance'),
    }
    set_contract_address(alice());
    match safe.transfer(bob(), SUPPLY + 1) {
        Result::Ok(_) => panic!("alice overspent"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'token: insufficient balance'),
    }
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY);
    assert_eq!(dispatcher.balance_of(bob()), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_to_zero_is_rejected() {
    let (_, token) = setup();
    set_contract_address(alice());
    let zero: ContractAddress = 0.try_into().unwrap();
    let safe = IThreadTokenSafeDispatcher { contract_address: token };
    match safe.transfer(zero, 1) {
        Result::Ok(_) => panic!("transferred to zero"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'token: transfer to zero'),
    }
    assert_eq!(IThreadTokenDispatcher { contract_address: token }.balance_of(alice()), SUPPLY);
}

#[test]
fn test_balance_slot_key_is_the_storage_var_address() {
    let (registry, token) = setup();
    set_contract_address(registry);
    let slots = IThreadReadyDispatcher { contract_address: token }
        .read_slots(THREAD, array![balance_slot(alice()), balance_slot(bob())].span());
    assert_eq!(slots, array![SUPPLY.into(), 0].span());
}

#[test]
fn test_registry_writes_balances_through_slots() {
    let (registry, token) = setup();
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: token }
        .write_slots(
            THREAD, array![(balance_slot(alice()), 400), (balance_slot(bob()), 600)].span(),
        );
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.balance_of(alice()), 400);
    assert_eq!(dispatcher.balance_of(bob()), 600);
}

#[test]
fn test_zero_initial_holder_is_rejected() {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let result = starknet::syscalls::deploy_syscall(
        ThreadToken::TEST_CLASS_HASH.try_into().unwrap(),
        3,
        array![registry.into(), 'Thread Token', 'THR', 0, SUPPLY.into()].span(),
        false,
    );
    match result {
        Result::Ok(_) => panic!("minted to zero"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'token: mint to zero'),
    }
}

#[test]
fn test_balance_slot_known_answer() {
    // Shared with the Rust side: get_storage_var_address("balances", [0x1234]).
    assert_eq!(
        balance_slot(0x1234.try_into().unwrap()),
        0x730784555874dce9495f6892fa28aba9abd33ebaec60b2dd4f2dc7f76a05e75,
    );
}
