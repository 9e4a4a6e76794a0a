//! Registry administration: OS versions, programs, thread creation, admin rights.

use core::poseidon::poseidon_hash_span;
use registry::ThreadRegistry;
use registry::ThreadRegistry::{
    OsVersionRegistered, ProgramRegistered, ProversChanged, ThreadActivityChanged, ThreadCreated,
    ThreadUpgraded,
};
use registry::interface::{
    IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait, IThreadRegistrySafeDispatcher,
    IThreadRegistrySafeDispatcherTrait, ThreadInfo,
};
use starknet::testing::{pop_log, set_contract_address};
use starknet::ContractAddress;
use thread::interface::{
    IThreadConsentDispatcher, IThreadConsentDispatcherTrait, IThreadMembershipDispatcher,
    IThreadMembershipDispatcherTrait, IThreadPeersDispatcher, IThreadPeersDispatcherTrait,
    IThreadVerifierDispatcher, IThreadVerifierDispatcherTrait,
};
use token::BalanceReader;
use super::common::{
    OS_V1, OS_V2, accept_all, admin, alice, ascending, assert_reverted_with, bob, class_hash,
    deploy, deploy_registry, deploy_token, deploy_token_accepting, deploy_tokens, drain_events,
    echo, owner, prover, reject_all, stranger, token_owner, upgraded,
};

fn c(raw: felt252) -> ContractAddress {
    raw.try_into().unwrap()
}

fn safe(registry: IThreadRegistryDispatcher) -> IThreadRegistrySafeDispatcher {
    IThreadRegistrySafeDispatcher { contract_address: registry.contract_address }
}

// ---- construction and owner ----

#[test]
fn test_owner_is_constructor_argument() {
    let registry = deploy_registry();
    assert_eq!(registry.owner(), owner());
}

#[test]
fn test_zero_owner_is_rejected() {
    let result = starknet::syscalls::deploy_syscall(
        class_hash(ThreadRegistry::TEST_CLASS_HASH), 'zero-owner', array![0].span(), false,
    );
    assert_reverted_with(result, 'registry: zero owner');
}

// ---- OS versions ----

#[test]
#[feature("safe_dispatcher")]
fn test_stranger_cannot_register_os_version() {
    let registry = deploy_registry();
    set_contract_address(stranger());
    assert_reverted_with(safe(registry).register_os_version('os-v3'), 'registry: caller not owner');
    assert!(!registry.is_os_version_registered('os-v3'));
}

#[test]
#[feature("safe_dispatcher")]
fn test_os_version_registers_once_with_event() {
    let registry = deploy_registry();
    drain_events(registry.contract_address);
    set_contract_address(owner());
    registry.register_os_version('os-v3');
    assert!(registry.is_os_version_registered('os-v3'));
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::OsVersionRegistered(
            OsVersionRegistered { os_version: 'os-v3', index: 3 },
        ),
    );
    assert_reverted_with(
        safe(registry).register_os_version(OS_V1), 'registry: os version registered',
    );
}

// ---- programs ----

#[test]
#[feature("safe_dispatcher")]
fn test_stranger_cannot_register_program() {
    let registry = deploy_registry();
    let program = upgraded();
    set_contract_address(stranger());
    assert_reverted_with(
        safe(registry).register_program(OS_V1, program), 'registry: caller not owner',
    );
    assert_eq!(registry.program_os_version(program), Option::None);
}

#[test]
#[feature("safe_dispatcher")]
fn test_program_needs_registered_os_version_and_registers_once() {
    let registry = deploy_registry();
    drain_events(registry.contract_address);
    set_contract_address(owner());
    let program = upgraded();
    assert_reverted_with(
        safe(registry).register_program('unknown-os', program), 'registry: unknown os version',
    );
    registry.register_program(OS_V2, program);
    assert_eq!(registry.program_os_version(program), Option::Some(OS_V2));
    assert_eq!(registry.program_os_version(accept_all()), Option::Some(OS_V1));
    let verifier = registry.program_verifier(program);
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ProgramRegistered(
            ProgramRegistered { os_version: OS_V2, program_hash: program, verifier },
        ),
    );
    // A program belongs to one OS version: it cannot be moved or registered twice.
    assert_reverted_with(
        safe(registry).register_program(OS_V1, program), 'registry: program registered',
    );
    assert_eq!(registry.program_os_version(program), Option::Some(OS_V2));
    assert_eq!(registry.program_verifier(program), verifier);
}

#[test]
fn test_each_program_gets_its_own_verifier_instance() {
    let registry = deploy_registry();
    let instances = array![
        registry.program_verifier(accept_all()),
        registry.program_verifier(reject_all()),
        registry.program_verifier(echo()),
    ];
    let zero: ContractAddress = 0.try_into().unwrap();
    for i in 0..instances.len() {
        let instance = *instances.at(i);
        assert_ne!(instance, zero);
        assert_ne!(instance, registry.contract_address);
        for j in 0..i {
            assert_ne!(instance, *instances.at(j));
        };
    };
    // A deployed contract of the class, callable as a verifier on its own.
    let verifier = IThreadVerifierDispatcher { contract_address: registry.program_verifier(echo()) };
    assert!(verifier.verify(array![1, 2].span(), array![1, 2].span()));
    assert!(!verifier.verify(array![1, 2].span(), array![1].span()));
    // An unregistered program has none.
    assert_eq!(registry.program_verifier(upgraded()), zero);
}

#[test]
#[feature("safe_dispatcher")]
fn test_undeclared_program_cannot_be_registered() {
    // Registration deploys the class: a hash no class is declared under registers nothing.
    let registry = deploy_registry();
    let undeclared = class_hash('no such verifier class');
    set_contract_address(owner());
    match safe(registry).register_program(OS_V1, undeclared) {
        Result::Ok(_) => panic!("an undeclared class was registered"),
        Result::Err(_) => {},
    }
    assert_eq!(registry.program_os_version(undeclared), Option::None);
    assert_eq!(registry.program_verifier(undeclared), 0.try_into().unwrap());
}

// ---- thread creation ----

#[test]
fn test_create_thread_stores_thread_and_commitment() {
    let registry = deploy_registry();
    let contracts = deploy_tokens(registry.contract_address, 3);
    drain_events(registry.contract_address);
    let provers = array![prover()].span();
    let id = registry.create_thread(OS_V1, accept_all(), contracts, admin(), provers);
    assert_eq!(id, 1);
    assert_eq!(registry.thread_count(), 1);

    let commitment = poseidon_hash_span(
        array![3, (*contracts.at(0)).into(), (*contracts.at(1)).into(), (*contracts.at(2)).into()]
            .span(),
    );
    let expected = ThreadInfo {
        os_version: OS_V1,
        program_hash: accept_all(),
        admin: admin(),
        active: true,
        sequence: 0,
        contract_set_commitment: commitment,
        contract_count: 3,
        allowlist_enabled: true,
    };
    assert_eq!(registry.thread(id), expected);
    assert_eq!(registry.thread_contracts(id), contracts);
    assert_eq!(registry.thread_provers(id), provers);
    assert_eq!(registry.next_sequence(id), 0);
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ThreadCreated(
            ThreadCreated {
                thread_id: 1,
                os_version: OS_V1,
                program_hash: accept_all(),
                admin: admin(),
                contract_set_commitment: commitment,
                contracts,
                provers,
            },
        ),
    );

    let first = *contracts.at(0);
    let second = registry.create_thread(OS_V1, echo(), array![first].span(), admin(), array![].span());
    assert_eq!(second, 2);
    assert_eq!(
        registry.thread(second).contract_set_commitment,
        poseidon_hash_span(array![1, first.into()].span()),
    );
    assert!(!registry.thread(second).allowlist_enabled);
    assert_eq!(registry.thread_provers(second), array![].span());
}

#[test]
fn test_contract_set_commitment_known_value() {
    let registry = deploy_registry();
    let contracts = deploy_tokens(registry.contract_address, 2);
    let (a, b) = (*contracts.at(0), *contracts.at(1));
    let id = registry.create_thread(OS_V1, accept_all(), contracts, admin(), array![].span());
    let commitment = registry.thread(id).contract_set_commitment;
    assert_eq!(commitment, poseidon_hash_span(array![2, a.into(), b.into()].span()));
    assert_ne!(commitment, poseidon_hash_span(array![a.into(), b.into()].span()));
    // Known answer of the same hash, shared with the Rust side (harness): its
    // poseidon_hash_many([2, 1, 2]) must equal Cairo's poseidon_hash_span.
    assert_eq!(
        poseidon_hash_span(array![2, 1, 2].span()),
        0x76f882b319ad0ea36ebc9514aec4041a7e032cef8f2350ab09ea535c57383c7,
    );
}

#[test]
fn test_thread_includes_exactly_its_contracts() {
    let registry = deploy_registry();
    let tokens = deploy_tokens(registry.contract_address, 3);
    let (a, b, outside) = (*tokens.at(0), *tokens.at(2), *tokens.at(1));
    let id = registry.create_thread(OS_V1, accept_all(), array![a, b].span(), admin(), array![].span());
    let membership = IThreadMembershipDispatcher { contract_address: registry.contract_address };
    assert!(membership.thread_includes(id, a));
    assert!(membership.thread_includes(id, b));
    assert!(!membership.thread_includes(id, outside));
    assert!(!membership.thread_includes(id + 1, a));
    assert!(!membership.thread_includes(0, a));
    // And the program the thread runs, which each contract checks it still accepts.
    assert_eq!(membership.thread_program(id), accept_all());
    assert_eq!(membership.thread_program(id + 1), 0.try_into().unwrap());
}

#[test]
#[feature("safe_dispatcher")]
fn test_create_thread_rejections() {
    let registry = deploy_registry();
    let safe = safe(registry);
    let none = array![].span();
    let one = array![c(0x11)].span();
    assert_reverted_with(
        safe.create_thread('unknown-os', accept_all(), one, admin(), none),
        'registry: unknown os version',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, class_hash('unvetted class'), one, admin(), none),
        'registry: unknown program',
    );
    // A registered program, but under another OS version.
    assert_reverted_with(
        safe.create_thread(OS_V2, accept_all(), one, admin(), none), 'registry: unknown program',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), one, c(0), none), 'registry: zero admin',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), none, admin(), none),
        'registry: empty contract set',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), array![c(0x22), c(0x11)].span(), admin(), none),
        'registry: contracts unsorted',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), array![c(0x11), c(0x11)].span(), admin(), none),
        'registry: contracts unsorted',
    );
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), array![c(0), c(0x11)].span(), admin(), none),
        'registry: zero contract',
    );
    assert_eq!(registry.thread_count(), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_every_contract_must_accept_the_program() {
    let registry = deploy_registry();
    let willing = deploy_token_accepting(
        registry.contract_address, 'willing', array![accept_all()].span(),
    );
    let unwilling = deploy_token_accepting(
        registry.contract_address, 'unwilling', array![echo()].span(),
    );
    let (first, second) = super::common::ascending(willing, unwilling);
    let both = array![first, second].span();
    drain_events(registry.contract_address);
    let none = array![].span();
    // One contract of the set never accepted the program: no thread.
    assert_reverted_with(
        safe(registry).create_thread(OS_V1, accept_all(), both, admin(), none),
        'registry: program not accepted',
    );
    assert_reverted_with(
        safe(registry).create_thread(OS_V1, accept_all(), array![unwilling].span(), admin(), none),
        'registry: program not accepted',
    );
    assert_eq!(registry.thread_count(), 0);
    assert!(pop_log::<ThreadRegistry::Event>(registry.contract_address).is_none());

    // Once its owner accepts it, the same thread can be created.
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: unwilling }.set_program_accepted(accept_all(), true);
    set_contract_address(stranger());
    let id = registry.create_thread(OS_V1, accept_all(), both, admin(), none);
    assert_eq!(id, 1);
}

#[test]
#[feature("safe_dispatcher")]
fn test_contract_without_consent_cannot_join_a_thread() {
    // BalanceReader is an ordinary contract: it has no accepts_program to ask.
    let registry = deploy_registry();
    let reader = deploy(BalanceReader::TEST_CLASS_HASH, 'reader', array![]);
    match safe(registry)
        .create_thread(OS_V1, accept_all(), array![reader].span(), admin(), array![].span()) {
        Result::Ok(_) => panic!("a contract without consent joined a thread"),
        Result::Err(_) => {},
    }
    assert_eq!(registry.thread_count(), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_unknown_thread_views_revert() {
    let registry = deploy_registry();
    assert_reverted_with(safe(registry).thread(1), 'registry: unknown thread');
    assert_reverted_with(safe(registry).thread(0), 'registry: unknown thread');
    assert_reverted_with(safe(registry).next_sequence(1), 'registry: unknown thread');
    assert_reverted_with(safe(registry).thread_contracts(1), 'registry: unknown thread');
    assert_reverted_with(safe(registry).thread_provers(1), 'registry: unknown thread');
    assert_reverted_with(safe(registry).thread_provers(0), 'registry: unknown thread');
}

// ---- thread admin ----

/// A thread over one token (accepting the OS_V1 programs only) with an allowlist of
/// `prover()`. Returns the registry, the thread and the token.
fn thread_with_prover() -> (IThreadRegistryDispatcher, u64, ContractAddress) {
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    let id = registry
        .create_thread(OS_V1, accept_all(), array![token].span(), admin(), array![prover()].span());
    drain_events(registry.contract_address);
    (registry, id, token)
}

#[test]
#[feature("safe_dispatcher")]
fn test_only_admin_upgrades() {
    let (registry, id, token) = thread_with_prover();
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: token }.set_program_accepted(upgraded(), true);
    set_contract_address(owner());
    let v2_program = upgraded();
    registry.register_program(OS_V2, v2_program);
    // Not even the registry owner may upgrade someone's thread.
    assert_reverted_with(
        safe(registry).upgrade_thread(id, OS_V2, v2_program), 'registry: caller not admin',
    );
    set_contract_address(stranger());
    assert_reverted_with(
        safe(registry).upgrade_thread(id, OS_V2, v2_program), 'registry: caller not admin',
    );
    assert_eq!(registry.thread(id).os_version, OS_V1);
    assert_eq!(registry.thread(id).program_hash, accept_all());
}

#[test]
#[feature("safe_dispatcher")]
fn test_upgrade_needs_newer_os_version_and_its_program() {
    let (registry, id, token) = thread_with_prover();
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: token }.set_program_accepted(upgraded(), true);
    set_contract_address(owner());
    let v2_program = upgraded();
    registry.register_program(OS_V2, v2_program);
    drain_events(registry.contract_address);
    set_contract_address(admin());
    let safe = safe(registry);
    assert_reverted_with(safe.upgrade_thread(99, OS_V2, v2_program), 'registry: unknown thread');
    assert_reverted_with(
        safe.upgrade_thread(id, 'unknown-os', v2_program), 'registry: unknown os version',
    );
    // Same OS version (another program of it): not newer.
    assert_reverted_with(safe.upgrade_thread(id, OS_V1, echo()), 'registry: os version not newer');
    // Newer OS version, but the program is vetted under OS_V1.
    assert_reverted_with(safe.upgrade_thread(id, OS_V2, reject_all()), 'registry: unknown program');
    assert_eq!(registry.thread(id).os_version, OS_V1);

    registry.upgrade_thread(id, OS_V2, v2_program);
    let info = registry.thread(id);
    assert_eq!(info.os_version, OS_V2);
    assert_eq!(info.program_hash, v2_program);
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ThreadUpgraded(
            ThreadUpgraded { thread_id: id, os_version: OS_V2, program_hash: v2_program },
        ),
    );
    // And no way back to the older version.
    assert_reverted_with(
        safe.upgrade_thread(id, OS_V1, accept_all()), 'registry: os version not newer',
    );
}

#[test]
#[feature("safe_dispatcher")]
fn test_upgrade_to_a_program_a_contract_did_not_accept_is_rejected() {
    let (registry, id, token) = thread_with_prover();
    set_contract_address(owner());
    registry.register_program(OS_V2, upgraded());
    drain_events(registry.contract_address);
    // The admin may move the thread to a newer OS version only if every contract agrees.
    set_contract_address(admin());
    assert_reverted_with(
        safe(registry).upgrade_thread(id, OS_V2, upgraded()), 'registry: upgrade not accepted',
    );
    let info = registry.thread(id);
    assert_eq!((info.os_version, info.program_hash), (OS_V1, accept_all()));
    assert!(pop_log::<ThreadRegistry::Event>(registry.contract_address).is_none());

    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: token }.set_program_accepted(upgraded(), true);
    set_contract_address(admin());
    registry.upgrade_thread(id, OS_V2, upgraded());
    assert_eq!(registry.thread(id).program_hash, upgraded());
}

#[test]
#[feature("safe_dispatcher")]
fn test_upgrade_to_a_program_accepted_only_beside_other_peers_is_rejected() {
    // The token takes the new program only beside listed peers, and the thread's other member
    // is not one: the upgrade is refused, as creating that thread would be.
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    let other = deploy_token(registry.contract_address, 'other');
    let (a, b) = ascending(token, other);
    let id = registry
        .create_thread(OS_V1, accept_all(), array![a, b].span(), admin(), array![].span());
    set_contract_address(owner());
    registry.register_program(OS_V2, upgraded());
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: token }.set_program_accepted(upgraded(), true);
    IThreadConsentDispatcher { contract_address: other }.set_program_accepted(upgraded(), true);
    let peers = IThreadPeersDispatcher { contract_address: token };
    peers.set_peers_only(upgraded(), true);
    set_contract_address(admin());
    assert_reverted_with(
        safe(registry).upgrade_thread(id, OS_V2, upgraded()), 'registry: peer not accepted',
    );
    assert_eq!(registry.thread(id).program_hash, accept_all());

    set_contract_address(token_owner());
    peers.set_peer_accepted(upgraded(), other, true);
    set_contract_address(admin());
    registry.upgrade_thread(id, OS_V2, upgraded());
    assert_eq!(registry.thread(id).program_hash, upgraded());
}

#[test]
#[feature("safe_dispatcher")]
fn test_only_admin_sets_provers() {
    let (registry, id, _) = thread_with_prover();
    set_contract_address(stranger());
    assert_reverted_with(
        safe(registry).set_provers(id, array![stranger()].span()), 'registry: caller not admin',
    );
    assert!(!registry.is_prover_allowed(id, stranger()));
    assert!(registry.is_prover_allowed(id, prover()));
    assert_eq!(registry.thread_provers(id), array![prover()].span());
}

#[test]
fn test_set_provers_replaces_allowlist() {
    let (registry, id, _) = thread_with_prover();
    assert!(registry.is_prover_allowed(id, prover()));
    assert!(!registry.is_prover_allowed(id, stranger()));

    set_contract_address(admin());
    let new_provers = array![alice(), bob()].span();
    registry.set_provers(id, new_provers);
    assert!(!registry.is_prover_allowed(id, prover()));
    assert!(registry.is_prover_allowed(id, alice()));
    assert!(registry.is_prover_allowed(id, bob()));
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ProversChanged(ProversChanged { thread_id: id, provers: new_provers }),
    );

    // Empty: open to anyone.
    registry.set_provers(id, array![].span());
    assert!(!registry.thread(id).allowlist_enabled);
    assert!(registry.is_prover_allowed(id, stranger()));
    assert!(registry.is_prover_allowed(id, prover()));
}

#[test]
fn test_thread_provers_lists_the_allowlist_across_changes() {
    let (registry, id, _) = thread_with_prover();
    assert_eq!(registry.thread_provers(id), array![prover()].span());
    set_contract_address(admin());

    // Grows, in the order given.
    registry.set_provers(id, array![bob(), prover(), alice()].span());
    assert_eq!(registry.thread_provers(id), array![bob(), prover(), alice()].span());

    // Shrinks: the entries past the new count, and the removed provers, are gone.
    registry.set_provers(id, array![alice()].span());
    assert_eq!(registry.thread_provers(id), array![alice()].span());
    assert!(!registry.is_prover_allowed(id, bob()));
    assert!(!registry.is_prover_allowed(id, prover()));

    // Cleared: nobody listed, anyone may settle.
    registry.set_provers(id, array![].span());
    assert_eq!(registry.thread_provers(id), array![].span());
    assert!(registry.is_prover_allowed(id, stranger()));

    // Back to a list after an empty one, and the view agrees with is_prover_allowed.
    registry.set_provers(id, array![stranger(), bob()].span());
    let listed = registry.thread_provers(id);
    assert_eq!(listed, array![stranger(), bob()].span());
    for prover in listed {
        assert!(registry.is_prover_allowed(id, *prover));
    };
    assert!(!registry.is_prover_allowed(id, alice()));
    assert!(registry.thread(id).allowlist_enabled);
}

#[test]
fn test_repeated_provers_are_listed_once() {
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    drain_events(registry.contract_address);
    let contracts = array![token].span();
    let given = array![alice(), bob(), alice()].span();
    let id = registry.create_thread(OS_V1, accept_all(), contracts, admin(), given);
    let stored = array![alice(), bob()].span();
    assert_eq!(registry.thread_provers(id), stored);
    // The event carries the allowlist as stored.
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ThreadCreated(
            ThreadCreated {
                thread_id: id,
                os_version: OS_V1,
                program_hash: accept_all(),
                admin: admin(),
                contract_set_commitment: registry.thread(id).contract_set_commitment,
                contracts,
                provers: stored,
            },
        ),
    );

    set_contract_address(admin());
    registry.set_provers(id, array![bob(), bob(), prover(), bob()].span());
    let stored = array![bob(), prover()].span();
    assert_eq!(registry.thread_provers(id), stored);
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ProversChanged(ProversChanged { thread_id: id, provers: stored }),
    );
    assert!(!registry.is_prover_allowed(id, alice()));
}

#[test]
#[feature("safe_dispatcher")]
fn test_only_admin_sets_active() {
    let (registry, id, _) = thread_with_prover();
    set_contract_address(stranger());
    assert_reverted_with(safe(registry).set_active(id, false), 'registry: caller not admin');
    assert!(registry.thread(id).active);

    set_contract_address(admin());
    registry.set_active(id, false);
    assert!(!registry.thread(id).active);
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ThreadActivityChanged(
            ThreadActivityChanged { thread_id: id, active: false },
        ),
    );
    registry.set_active(id, true);
    assert!(registry.thread(id).active);
}

