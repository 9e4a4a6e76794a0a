use starknet::testing::{pop_log, set_contract_address};
use starknet::{ContractAddress, SyscallResultTrait, contract_address_const};
use thread::ThreadReadyComponent::{Event as ThreadReadyEvent, SlotsWritten};
use thread::interface::{
    IThreadReadyDispatcher, IThreadReadyDispatcherTrait, IThreadReadySafeDispatcher,
    IThreadReadySafeDispatcherTrait,
};
use super::test_doubles::{
    IMembershipTestDoubleDispatcher, IMembershipTestDoubleDispatcherTrait,
    IThreadReadyHostTestDoubleDispatcher, IThreadReadyHostTestDoubleDispatcherTrait,
    MembershipTestDouble, ThreadReadyHostTestDouble,
};

const THREAD: u64 = 7;
const INITIAL_VALUE: felt252 = 1234;
/// 2^251: the first felt that is not a storage address.
const FIRST_OUT_OF_RANGE: felt252 = 0x800000000000000000000000000000000000000000000000000000000000000;

fn stranger() -> ContractAddress {
    contract_address_const::<'stranger'>()
}

fn deploy(class_hash: felt252, salt: felt252, calldata: Array<felt252>) -> ContractAddress {
    let (address, _) = starknet::syscalls::deploy_syscall(
        class_hash.try_into().unwrap(), salt, calldata.span(), false,
    )
        .unwrap_syscall();
    address
}

/// A registry stand-in and a host that trusts it; the host is in thread `THREAD` when `member`.
fn setup(member: bool) -> (ContractAddress, ContractAddress) {
    let registry = deploy(MembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let host = deploy(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH, 2, array![registry.into(), INITIAL_VALUE],
    );
    if member {
        IMembershipTestDoubleDispatcher { contract_address: registry }.set_includes(THREAD, host);
    }
    (registry, host)
}

fn host_value(host: ContractAddress) -> felt252 {
    IThreadReadyHostTestDoubleDispatcher { contract_address: host }.value()
}

#[test]
fn test_thread_registry_is_the_constructor_registry() {
    let (registry, host) = setup(true);
    assert_eq!(IThreadReadyDispatcher { contract_address: host }.thread_registry(), registry);
}

#[test]
fn test_registry_reads_raw_slots() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    let values = IThreadReadyDispatcher { contract_address: host }
        .read_slots(THREAD, array![selector!("value"), selector!("unused_slot")].span());
    assert_eq!(values, array![INITIAL_VALUE, 0].span());
}

#[test]
fn test_registry_writes_raw_slots_and_emits_event() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: host }
        .write_slots(THREAD, array![(selector!("value"), 99)].span());
    assert_eq!(host_value(host), 99);
    let event = pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap();
    match event {
        ThreadReadyHostTestDouble::Event::ThreadReadyEvent(inner) => assert_eq!(
            inner, ThreadReadyEvent::SlotsWritten(SlotsWritten { thread_id: THREAD, count: 1 }),
        ),
    }
}

#[test]
#[feature("safe_dispatcher")]
fn test_stranger_cannot_read_slots() {
    let (_, host) = setup(true);
    set_contract_address(stranger());
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .read_slots(THREAD, array![selector!("value")].span());
    match result {
        Result::Ok(_) => panic!("stranger read slots"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not registry'),
    }
}

#[test]
#[feature("safe_dispatcher")]
fn test_stranger_cannot_write_slots() {
    let (_, host) = setup(true);
    set_contract_address(stranger());
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(THREAD, array![(selector!("value"), 99)].span());
    match result {
        Result::Ok(_) => panic!("stranger wrote slots"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not registry'),
    }
    assert_eq!(host_value(host), INITIAL_VALUE);
}

#[test]
#[feature("safe_dispatcher")]
fn test_registry_cannot_write_for_a_thread_without_the_contract() {
    let (registry, host) = setup(false);
    set_contract_address(registry);
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(THREAD, array![(selector!("value"), 99)].span());
    match result {
        Result::Ok(_) => panic!("wrote outside its thread"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: not in thread'),
    }
    assert_eq!(host_value(host), INITIAL_VALUE);
}

#[test]
#[feature("safe_dispatcher")]
fn test_registry_cannot_read_for_a_thread_without_the_contract() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    // The host is in thread THREAD only; thread THREAD + 1 must be refused.
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .read_slots(THREAD + 1, array![selector!("value")].span());
    match result {
        Result::Ok(_) => panic!("read outside its thread"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: not in thread'),
    }
}

#[test]
#[feature("safe_dispatcher")]
fn test_registry_slot_is_protected() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(
            THREAD,
            array![(selector!("value"), 5), (selector!("ThreadReady_registry"), 'attacker')].span(),
        );
    match result {
        Result::Ok(_) => panic!("registry slot rewritten"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: protected slot'),
    }
    let dispatcher = IThreadReadyDispatcher { contract_address: host };
    assert_eq!(dispatcher.thread_registry(), registry);
    assert_eq!(host_value(host), INITIAL_VALUE);
}

#[test]
#[feature("safe_dispatcher")]
fn test_key_out_of_range_is_rejected() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    let safe = IThreadReadySafeDispatcher { contract_address: host };
    match safe.write_slots(THREAD, array![(FIRST_OUT_OF_RANGE, 1)].span()) {
        Result::Ok(_) => panic!("wrote key 2^251"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: key out of range'),
    }
    match safe.read_slots(THREAD, array![FIRST_OUT_OF_RANGE].span()) {
        Result::Ok(_) => panic!("read key 2^251"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: key out of range'),
    }
    // The largest storage address is still accepted.
    let last = FIRST_OUT_OF_RANGE - 1;
    safe.write_slots(THREAD, array![(last, 3)].span()).unwrap();
    assert_eq!(safe.read_slots(THREAD, array![last].span()).unwrap(), array![3].span());
}

#[test]
fn test_zero_registry_is_rejected() {
    let result = starknet::syscalls::deploy_syscall(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH.try_into().unwrap(),
        3,
        array![0, INITIAL_VALUE].span(),
        false,
    );
    match result {
        Result::Ok(_) => panic!("deployed with zero registry"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: zero registry'),
    }
}
