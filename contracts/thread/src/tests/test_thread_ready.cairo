use starknet::testing::{pop_log, pop_log_raw, set_contract_address};
use starknet::{ClassHash, ContractAddress, SyscallResultTrait, contract_address_const};
use thread::ThreadReadyComponent::{
    Event as ThreadReadyEvent, PeerAcceptanceChanged, PeersOnlyChanged, ProgramAcceptanceChanged,
    SlotsWritten,
};
use thread::interface::{
    IThreadConsentDispatcher, IThreadConsentDispatcherTrait, IThreadConsentSafeDispatcher,
    IThreadConsentSafeDispatcherTrait, IThreadReadyDispatcher, IThreadReadyDispatcherTrait,
    IThreadPeersDispatcher, IThreadPeersDispatcherTrait, IThreadPeersSafeDispatcher,
    IThreadPeersSafeDispatcherTrait, IThreadReadySafeDispatcher, IThreadReadySafeDispatcherTrait,
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

fn owner() -> ContractAddress {
    contract_address_const::<'owner'>()
}

/// The program thread `THREAD` runs; the host accepts it from deployment.
fn program() -> ClassHash {
    'thread program'.try_into().unwrap()
}

fn other_program() -> ClassHash {
    'other program'.try_into().unwrap()
}

fn deploy(class_hash: felt252, salt: felt252, calldata: Array<felt252>) -> ContractAddress {
    let (address, _) = starknet::syscalls::deploy_syscall(
        class_hash.try_into().unwrap(), salt, calldata.span(), false,
    )
        .unwrap_syscall();
    address
}

/// Constructor calldata of the host: `(registry, owner, programs, value)`.
fn host_calldata(registry: felt252, owner: felt252, programs: Span<ClassHash>) -> Array<felt252> {
    let mut calldata = array![registry, owner, programs.len().into()];
    for program_hash in programs {
        calldata.append((*program_hash).into());
    };
    calldata.append(INITIAL_VALUE);
    calldata
}

/// A registry stand-in (thread `THREAD` runs `program()`) and a host that trusts it, owned by
/// `owner()` and accepting `program()`; the host is in thread `THREAD` when `member`. The
/// host's construction events are drained.
fn setup(member: bool) -> (ContractAddress, ContractAddress) {
    let registry = deploy(MembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let host = deploy(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH,
        2,
        host_calldata(registry.into(), owner().into(), array![program()].span()),
    );
    let membership = IMembershipTestDoubleDispatcher { contract_address: registry };
    membership.set_program(THREAD, program());
    if member {
        membership.set_includes(THREAD, host);
    }
    while let Option::Some(_) = pop_log_raw(host) {};
    (registry, host)
}

fn consent(host: ContractAddress) -> IThreadConsentDispatcher {
    IThreadConsentDispatcher { contract_address: host }
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
    assert_eq!(
        pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap(),
        ThreadReadyHostTestDouble::Event::ThreadReadyEvent(
            ThreadReadyEvent::SlotsWritten(SlotsWritten { thread_id: THREAD, count: 1 }),
        ),
    );
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
    let calldata = host_calldata(0, owner().into(), array![program()].span());
    let result = starknet::syscalls::deploy_syscall(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH.try_into().unwrap(), 3, calldata.span(), false,
    );
    match result {
        Result::Ok(_) => panic!("deployed with zero registry"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: zero registry'),
    }
}

#[test]
fn test_zero_owner_is_rejected() {
    let calldata = host_calldata('registry', 0, array![program()].span());
    let result = starknet::syscalls::deploy_syscall(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH.try_into().unwrap(), 3, calldata.span(), false,
    );
    match result {
        Result::Ok(_) => panic!("deployed with zero owner"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: zero owner'),
    }
}

// ---- consent: which programs may touch the host ----

#[test]
fn test_deployer_sets_owner_and_accepted_programs_with_events() {
    let registry = deploy(MembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let programs = array![program(), other_program()].span();
    let host = deploy(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH,
        2,
        host_calldata(registry.into(), owner().into(), programs),
    );
    assert_eq!(consent(host).thread_owner(), owner());
    assert!(consent(host).accepts_program(program()));
    assert!(consent(host).accepts_program(other_program()));
    assert!(!consent(host).accepts_program('unlisted'.try_into().unwrap()));
    for program_hash in programs {
        assert_eq!(
            pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap(),
            ThreadReadyHostTestDouble::Event::ThreadReadyEvent(
                ThreadReadyEvent::ProgramAcceptanceChanged(
                    ProgramAcceptanceChanged { program_hash: *program_hash, accepted: true },
                ),
            ),
        );
    };
    assert!(pop_log_raw(host).is_none());
}

#[test]
#[feature("safe_dispatcher")]
fn test_host_accepting_no_program_refuses_every_thread() {
    let registry = deploy(MembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let host = deploy(
        ThreadReadyHostTestDouble::TEST_CLASS_HASH,
        2,
        host_calldata(registry.into(), owner().into(), array![].span()),
    );
    let membership = IMembershipTestDoubleDispatcher { contract_address: registry };
    membership.set_program(THREAD, program());
    membership.set_includes(THREAD, host);
    assert!(!consent(host).accepts_program(program()));
    set_contract_address(registry);
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(THREAD, array![(selector!("value"), 99)].span());
    match result {
        Result::Ok(_) => panic!("a host accepting nothing was written"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: program not accepted'),
    }
    assert_eq!(host_value(host), INITIAL_VALUE);
}

#[test]
#[feature("safe_dispatcher")]
fn test_only_the_owner_lists_peers() {
    let (registry, host) = setup(true);
    let safe = IThreadPeersSafeDispatcher { contract_address: host };
    for caller in array![stranger(), registry] {
        set_contract_address(caller);
        match safe.set_peers_only(program(), true) {
            Result::Ok(_) => panic!("a non-owner restricted a program to peers"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not owner'),
        }
        match safe.set_peer_accepted(program(), stranger(), true) {
            Result::Ok(_) => panic!("a non-owner listed a peer"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not owner'),
        }
    };
    let peers = IThreadPeersDispatcher { contract_address: host };
    assert!(!peers.peers_only(program()));
    assert!(!peers.accepts_peer(program(), stranger()));
    assert!(pop_log_raw(host).is_none());

    set_contract_address(owner());
    peers.set_peers_only(program(), true);
    peers.set_peer_accepted(program(), stranger(), true);
    assert!(peers.peers_only(program()));
    assert!(peers.accepts_peer(program(), stranger()));
    assert!(!peers.accepts_peer(other_program(), stranger()), "a peer of one program only");
    assert!(pop_log_raw(host).is_some());
    assert!(pop_log_raw(host).is_some());
    assert!(pop_log_raw(host).is_none());
}

#[test]
#[feature("safe_dispatcher")]
fn test_accept_program_beside_lists_the_peers_before_the_program_in_one_call() {
    let (registry, host) = setup(true);
    let peer: ContractAddress = contract_address_const::<'peer'>();
    let safe = IThreadPeersSafeDispatcher { contract_address: host };
    for caller in array![stranger(), registry] {
        set_contract_address(caller);
        match safe.accept_program_beside(other_program(), array![stranger()].span()) {
            Result::Ok(_) => panic!("a non-owner accepted a program beside peers"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not owner'),
        }
    };
    assert!(!consent(host).accepts_program(other_program()));
    assert!(pop_log_raw(host).is_none());

    set_contract_address(owner());
    let peers = IThreadPeersDispatcher { contract_address: host };
    peers.accept_program_beside(other_program(), array![stranger(), peer].span());
    assert!(consent(host).accepts_program(other_program()));
    assert!(peers.peers_only(other_program()));
    assert!(peers.accepts_peer(other_program(), stranger()) && peers.accepts_peer(other_program(), peer));
    // Beside its peers only: a member of anyone else's making is refused.
    assert!(consent(host).accepts_thread(other_program(), array![host, stranger(), peer].span()));
    assert!(!consent(host).accepts_thread(other_program(), array![host, owner()].span()));
    // The program the host accepted openly is untouched.
    assert!(!peers.peers_only(program()));
    let event = |e: ThreadReadyEvent| ThreadReadyHostTestDouble::Event::ThreadReadyEvent(e);
    let next = || pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap();
    assert_eq!(
        next(),
        event(ThreadReadyEvent::PeersOnlyChanged(PeersOnlyChanged { program_hash: other_program(), peers_only: true })),
    );
    for listed in array![stranger(), peer] {
        assert_eq!(
            next(),
            event(
                ThreadReadyEvent::PeerAcceptanceChanged(
                    PeerAcceptanceChanged { program_hash: other_program(), peer: listed, accepted: true },
                ),
            ),
        );
    };
    assert_eq!(
        next(),
        event(
            ThreadReadyEvent::ProgramAcceptanceChanged(
                ProgramAcceptanceChanged { program_hash: other_program(), accepted: true },
            ),
        ),
    );
    assert!(pop_log_raw(host).is_none());
}

#[test]
fn test_accepts_thread_asks_the_program_and_the_peers() {
    // What the registry asks before it creates or upgrades a thread: the program, and, for a
    // program accepted peers-only, every other member of the set (the host itself excepted).
    let (_registry, host) = setup(true);
    let consent = IThreadConsentDispatcher { contract_address: host };
    let beside_stranger = array![host, stranger()].span();
    assert!(consent.accepts_thread(program(), beside_stranger), "open acceptance: any member");
    assert!(consent.accepts_thread(program(), array![host].span()));
    assert!(!consent.accepts_thread('unlisted'.try_into().unwrap(), array![host].span()));

    set_contract_address(owner());
    let peers = IThreadPeersDispatcher { contract_address: host };
    peers.set_peers_only(program(), true);
    assert!(consent.accepts_thread(program(), array![host].span()), "alone, no peer is needed");
    assert!(!consent.accepts_thread(program(), beside_stranger));
    peers.set_peer_accepted(program(), stranger(), true);
    assert!(consent.accepts_thread(program(), beside_stranger));
    assert!(!consent.accepts_thread(program(), array![host, stranger(), owner()].span()));
    // A peer listing never stands in for the program's own acceptance.
    peers.set_peers_only(other_program(), true);
    peers.set_peer_accepted(other_program(), stranger(), true);
    let accepted = consent.accepts_program(other_program());
    assert_eq!(consent.accepts_thread(other_program(), beside_stranger), accepted);
    consent.set_program_accepted(other_program(), false);
    assert!(!consent.accepts_thread(other_program(), beside_stranger));
}

#[test]
#[feature("safe_dispatcher")]
fn test_only_the_owner_changes_acceptance() {
    let (registry, host) = setup(true);
    let safe = IThreadConsentSafeDispatcher { contract_address: host };
    // Neither a stranger nor the registry (nor a thread through it) may widen or narrow it.
    for caller in array![stranger(), registry] {
        set_contract_address(caller);
        match safe.set_program_accepted(other_program(), true) {
            Result::Ok(_) => panic!("a non-owner accepted a program"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not owner'),
        }
        match safe.set_program_accepted(program(), false) {
            Result::Ok(_) => panic!("a non-owner revoked a program"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: caller not owner'),
        }
    };
    assert!(consent(host).accepts_program(program()));
    assert!(!consent(host).accepts_program(other_program()));
    assert!(pop_log_raw(host).is_none());

    set_contract_address(owner());
    consent(host).set_program_accepted(other_program(), true);
    assert!(consent(host).accepts_program(other_program()));
    assert_eq!(
        pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap(),
        ThreadReadyHostTestDouble::Event::ThreadReadyEvent(
            ThreadReadyEvent::ProgramAcceptanceChanged(
                ProgramAcceptanceChanged { program_hash: other_program(), accepted: true },
            ),
        ),
    );
}

#[test]
#[feature("safe_dispatcher")]
fn test_revoked_program_can_neither_read_nor_write() {
    let (registry, host) = setup(true);
    set_contract_address(owner());
    consent(host).set_program_accepted(program(), false);
    assert_eq!(
        pop_log::<ThreadReadyHostTestDouble::Event>(host).unwrap(),
        ThreadReadyHostTestDouble::Event::ThreadReadyEvent(
            ThreadReadyEvent::ProgramAcceptanceChanged(
                ProgramAcceptanceChanged { program_hash: program(), accepted: false },
            ),
        ),
    );

    set_contract_address(registry);
    let safe = IThreadReadySafeDispatcher { contract_address: host };
    match safe.write_slots(THREAD, array![(selector!("value"), 99)].span()) {
        Result::Ok(_) => panic!("a revoked program's thread wrote"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: program not accepted'),
    }
    match safe.read_slots(THREAD, array![selector!("value")].span()) {
        Result::Ok(_) => panic!("a revoked program's thread read"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: program not accepted'),
    }
    assert_eq!(host_value(host), INITIAL_VALUE);

    // Accepted again: the thread works again.
    set_contract_address(owner());
    consent(host).set_program_accepted(program(), true);
    set_contract_address(registry);
    safe.write_slots(THREAD, array![(selector!("value"), 99)].span()).unwrap();
    assert_eq!(host_value(host), 99);
}

#[test]
#[feature("safe_dispatcher")]
fn test_thread_moved_to_another_program_is_refused() {
    // The registry says thread THREAD now runs a program the host never accepted.
    let (registry, host) = setup(true);
    IMembershipTestDoubleDispatcher { contract_address: registry }
        .set_program(THREAD, other_program());
    set_contract_address(registry);
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(THREAD, array![(selector!("value"), 99)].span());
    match result {
        Result::Ok(_) => panic!("wrote under an unaccepted program"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: program not accepted'),
    }
    assert_eq!(host_value(host), INITIAL_VALUE);
}

#[test]
#[feature("safe_dispatcher")]
fn test_owner_slot_is_protected() {
    let (registry, host) = setup(true);
    set_contract_address(registry);
    let result = IThreadReadySafeDispatcher { contract_address: host }
        .write_slots(
            THREAD,
            array![(selector!("value"), 5), (selector!("ThreadReady_owner"), 'attacker')].span(),
        );
    match result {
        Result::Ok(_) => panic!("owner slot rewritten"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: protected slot'),
    }
    assert_eq!(consent(host).thread_owner(), owner());
    assert_eq!(host_value(host), INITIAL_VALUE);
}
