//! A registered program cannot act as the registry. `HostileVerifierTestDouble` (test-only
//! package `zkthread_test_doubles`) is registered by the owner and runs a thread of its own;
//! when its `verify` tries to use the registry's identity — write another thread's contract,
//! settle from inside, administer threads, vet programs, write registry storage — the attempt
//! fails with the refusing check's own reason (or lands in the verifier's own storage), and no
//! balance, sequence or thread record changes.

use registry::ThreadRegistry::{ProgramRegistered};
use registry::ThreadRegistry;
use registry::interface::{
    IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait, IThreadRegistrySafeDispatcher,
    IThreadRegistrySafeDispatcherTrait, ThreadInfo,
};
use starknet::testing::{pop_log, set_contract_address};
use starknet::{ClassHash, ContractAddress};
use token::interface::{IThreadTokenDispatcher, IThreadTokenDispatcherTrait};
use zkthread_test_doubles::HostileVerifierTestDouble;
use zkthread_test_doubles::hostile_verifier::{
    MODE_REGISTER_PROGRAM, MODE_SETTLE, MODE_SET_ACTIVE, MODE_SET_PROVERS, MODE_WRITE_SLOTS,
    MODE_WRITE_STORAGE,
};
use super::common::{
    OS_V1, SUPPLY, accept_all, admin, alice, assert_reverted_with, balance_slot, class_hash,
    deploy_registry, deploy_token, deploy_token_accepting, drain_events, owner, prover, stranger,
    txs, upgraded,
};

fn hostile() -> ClassHash {
    class_hash(HostileVerifierTestDouble::TEST_CLASS_HASH)
}

#[derive(Copy, Drop)]
struct World {
    registry: IThreadRegistryDispatcher,
    /// A token in the victim thread only; it never accepted the hostile program.
    victim_token: ContractAddress,
    /// An honest thread (accept-all program) over `victim_token`, with a prover allowlist.
    victim_thread: u64,
    /// The attacker's own token, which accepts the hostile program.
    bait_token: ContractAddress,
    /// The attacker's thread over `bait_token`, running the hostile program.
    hostile_thread: u64,
}

/// The owner registered the hostile class; an honest thread and the attacker's thread exist.
/// The caller is left as `stranger()`, the attacker (anyone may settle the hostile thread).
fn setup() -> World {
    let registry = deploy_registry();
    set_contract_address(owner());
    registry.register_program(OS_V1, hostile());
    set_contract_address(stranger());
    let victim_token = deploy_token(registry.contract_address, 'victim');
    let bait_token = deploy_token_accepting(
        registry.contract_address, 'bait', array![hostile()].span(),
    );
    let victim_thread = registry
        .create_thread(
            OS_V1, accept_all(), array![victim_token].span(), admin(), array![prover()].span(),
        );
    let hostile_thread = registry
        .create_thread(OS_V1, hostile(), array![bait_token].span(), stranger(), array![].span());
    drain_events(registry.contract_address);
    drain_events(victim_token);
    World { registry, victim_token, victim_thread, bait_token, hostile_thread }
}

/// `account`'s balance on `token` (the ERC20 u256, which a thread token keeps below 2^128).
fn balance(token: ContractAddress, account: ContractAddress) -> u128 {
    IThreadTokenDispatcher { contract_address: token }.balance_of(account).try_into().unwrap()
}

/// What no attack may change.
#[derive(Drop, PartialEq, Debug)]
struct Snapshot {
    victim: ThreadInfo,
    hostile: ThreadInfo,
    victim_provers: (bool, bool),
    owner: ContractAddress,
    balances: (u128, u128, u128),
    thread_count: u64,
}

fn snapshot(w: World) -> Snapshot {
    Snapshot {
        victim: w.registry.thread(w.victim_thread),
        hostile: w.registry.thread(w.hostile_thread),
        victim_provers: (
            w.registry.is_prover_allowed(w.victim_thread, prover()),
            w.registry.is_prover_allowed(w.victim_thread, w.registry.program_verifier(hostile())),
        ),
        owner: w.registry.owner(),
        balances: (
            balance(w.victim_token, alice()),
            balance(w.victim_token, stranger()),
            balance(w.bait_token, alice()),
        ),
        thread_count: w.registry.thread_count(),
    }
}

/// Settles an empty sub-block of the hostile thread whose "proof" is the attack `proof`,
/// through `settle_checking_inputs_first` when `inputs_first`.
fn attack_through(w: World, proof: Array<felt252>, inputs_first: bool) -> Result<(), Array<felt252>> {
    let none = array![].span();
    let registry = IThreadRegistrySafeDispatcher { contract_address: w.registry.contract_address };
    if inputs_first {
        registry.settle_checking_inputs_first(w.hostile_thread, 0, none, none, txs(), proof.span())
    } else {
        registry.settle(w.hostile_thread, 0, none, none, txs(), proof.span())
    }
}

fn attack(w: World, proof: Array<felt252>) -> Result<(), Array<felt252>> {
    attack_through(w, proof, false)
}

/// The attack reverts with `reason` and changes nothing, through either settle entry point
/// (they call the verifier alike).
fn assert_attack_fails(w: World, proof: Array<felt252>, reason: felt252) {
    let before = snapshot(w);
    assert_reverted_with(attack_through(w, proof.clone(), false), reason);
    assert_eq!(snapshot(w), before);
    assert!(pop_log::<ThreadRegistry::Event>(w.registry.contract_address).is_none());
    assert_reverted_with(attack_through(w, proof, true), reason);
    assert_eq!(snapshot(w), before);
    assert!(pop_log::<ThreadRegistry::Event>(w.registry.contract_address).is_none());
}

#[test]
fn test_registration_deploys_an_instance_the_registry_calls() {
    let registry = deploy_registry();
    drain_events(registry.contract_address);
    set_contract_address(owner());
    registry.register_program(OS_V1, hostile());
    let verifier = registry.program_verifier(hostile());
    assert_ne!(verifier, registry.contract_address);
    assert_ne!(verifier, 0.try_into().unwrap());
    assert_eq!(
        pop_log::<ThreadRegistry::Event>(registry.contract_address).unwrap(),
        ThreadRegistry::Event::ProgramRegistered(
            ProgramRegistered { os_version: OS_V1, program_hash: hostile(), verifier },
        ),
    );
}

#[test]
fn test_hostile_verifier_still_judges_its_own_thread() {
    // All a program can do: accept (or reject) proofs of the threads that run it.
    let w = setup();
    assert_eq!(w.registry.next_sequence(w.hostile_thread), 0);
    attack(w, array![]).unwrap();
    assert_eq!(w.registry.next_sequence(w.hostile_thread), 1);
    assert_eq!(w.registry.next_sequence(w.victim_thread), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_hostile_verifier_cannot_write_a_contract_of_another_thread() {
    // Under a library call this would have run as the registry, for a thread (the victim's)
    // that includes the token: stranger would have been handed the whole supply.
    let w = setup();
    let proof = array![
        MODE_WRITE_SLOTS, w.victim_token.into(), w.victim_thread.into(), balance_slot(stranger()),
        SUPPLY.into(),
    ];
    let before = snapshot(w);
    assert_reverted_with(attack(w, proof), 'thread: caller not registry');
    assert_eq!(snapshot(w), before);
    assert_eq!(balance(w.victim_token, stranger()), 0);
    assert_eq!(balance(w.victim_token, alice()), SUPPLY);
    assert!(pop_log::<ThreadRegistry::Event>(w.registry.contract_address).is_none());
}

#[test]
#[feature("safe_dispatcher")]
fn test_hostile_verifier_cannot_settle_from_inside() {
    let w = setup();
    assert_attack_fails(w, array![MODE_SETTLE, w.victim_thread.into(), 0], 'registry: reentrant settle');
}

#[test]
#[feature("safe_dispatcher")]
fn test_hostile_verifier_cannot_administer_threads() {
    let w = setup();
    // Not the admin of the victim thread, nor of its own (the attacker is).
    assert_attack_fails(
        w, array![MODE_SET_PROVERS, w.victim_thread.into()], 'registry: caller not admin',
    );
    assert_attack_fails(
        w, array![MODE_SET_PROVERS, w.hostile_thread.into()], 'registry: caller not admin',
    );
    assert_attack_fails(
        w, array![MODE_SET_ACTIVE, w.victim_thread.into()], 'registry: caller not admin',
    );
}

#[test]
#[feature("safe_dispatcher")]
fn test_hostile_verifier_cannot_register_programs() {
    let w = setup();
    assert_attack_fails(
        w, array![MODE_REGISTER_PROGRAM, OS_V1, upgraded().into()], 'registry: caller not owner',
    );
    assert_eq!(w.registry.program_os_version(upgraded()), Option::None);
}

#[test]
fn test_hostile_verifier_storage_writes_stay_in_its_own_storage() {
    // The write a library-called class would have made to the registry's `owner` slot lands in
    // the verifier instance's storage: the settlement goes through, the registry is untouched.
    let w = setup();
    let before = snapshot(w);
    let attacker: felt252 = stranger().into();
    attack(w, array![MODE_WRITE_STORAGE, selector!("owner"), attacker]).unwrap();
    let after = snapshot(w);
    assert_eq!(after.owner, owner());
    assert_eq!(after.victim, before.victim);
    assert_eq!(after.balances, before.balances);
    assert_eq!(after.hostile.sequence, 1);
    // Still only the owner may vet programs.
    let safe = IThreadRegistrySafeDispatcher { contract_address: w.registry.contract_address };
    assert_reverted_with(safe.register_program(OS_V1, upgraded()), 'registry: caller not owner');
}
