//! Settlement: the six steps of `settle`, each failure with its own revert reason and no state
//! change, and the happy path writing a thread token's balances.

use core::poseidon::poseidon_hash_span;
use registry::ThreadRegistry;
use registry::ThreadRegistry::{SETTLED_OUTPUTS_PER_EVENT, SubBlockSettled, SubBlockSettledSummary};
use registry::interface::{
    IThreadRegistryDispatcher, IThreadRegistryDispatcherTrait, IThreadRegistrySafeDispatcher,
    IThreadRegistrySafeDispatcherTrait, TransactionList,
};
use starknet::testing::{pop_log, pop_log_raw, set_contract_address};
use starknet::{ClassHash, ContractAddress};
use thread::ThreadReadyComponent;
use thread::interface::{
    IThreadConsentDispatcher, IThreadConsentDispatcherTrait, IThreadPeersDispatcher,
    IThreadPeersDispatcherTrait,
};
use token::ThreadToken;
use token::interface::{IThreadTokenDispatcher, IThreadTokenDispatcherTrait};
use super::common::{
    OS_V1, OS_V2, SUPPLY, accept_all, admin, alice, ascending, assert_reverted_with, balance_slot,
    balance_slots, bob, lt, deploy, deploy_registry, deploy_token, deploy_token_accepting,
    drain_events, echo, owner, prover, reject_all, settled, stranger, token_owner, txs, upgraded,
};
use super::test_doubles::{
    AdministeringThreadContractTestDouble, IReentrantThreadContractTestDoubleDispatcher,
    IReentrantThreadContractTestDoubleDispatcherTrait, ReentrantThreadContractTestDouble,
    ShortReplyThreadContractTestDouble, SpendingThreadContractTestDouble, administer,
};

#[derive(Copy, Drop)]
struct Fixture {
    registry: IThreadRegistryDispatcher,
    /// In the thread.
    token: ContractAddress,
    /// Trusts the same registry but is not in the thread.
    outsider: ContractAddress,
    thread_id: u64,
}

/// A thread over one token running `program`; the caller is left as `prover()`.
fn setup(program: ClassHash, provers: Span<ContractAddress>) -> Fixture {
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    let outsider = deploy_token(registry.contract_address, 'outsider');
    let thread_id = registry.create_thread(OS_V1, program, array![token].span(), admin(), provers);
    drain_events(registry.contract_address);
    drain_events(token);
    set_contract_address(prover());
    Fixture { registry, token, outsider, thread_id }
}

fn open_thread() -> Fixture {
    setup(accept_all(), array![].span())
}

fn safe(fixture: Fixture) -> IThreadRegistrySafeDispatcher {
    IThreadRegistrySafeDispatcher { contract_address: fixture.registry.contract_address }
}

/// `account`'s balance on `token` (the ERC20 u256, which a thread token keeps below 2^128).
fn balance(token: ContractAddress, account: ContractAddress) -> u128 {
    IThreadTokenDispatcher { contract_address: token }.balance_of(account).try_into().unwrap()
}

/// The state a rejected settlement must leave behind: nothing moved, sequence 0.
fn assert_untouched(fixture: Fixture) {
    assert_eq!(balance(fixture.token, alice()), SUPPLY);
    assert_eq!(balance(fixture.token, bob()), 0);
    assert_eq!(balance(fixture.outsider, alice()), SUPPLY);
    assert_eq!(balance(fixture.outsider, bob()), 0);
    assert_eq!(fixture.registry.next_sequence(fixture.thread_id), 0);
}

/// Sub-block 0 of the fixture: alice pays bob 300.
fn transfer_inputs(token: ContractAddress) -> Span<(ContractAddress, felt252, felt252)> {
    balance_slots(token, SUPPLY.into(), 0).span()
}

fn transfer_outputs(token: ContractAddress) -> Span<(ContractAddress, felt252, felt252)> {
    balance_slots(token, (SUPPLY - 300).into(), 300).span()
}

fn no_proof() -> Span<felt252> {
    array![].span()
}

/// The `SubBlockSettledSummary` that must close sub-block `sequence` of the fixture's thread,
/// settled by `prover()` in `n_chunks` chunks.
fn summary(
    f: Fixture,
    sequence: u64,
    inputs: Span<(ContractAddress, felt252, felt252)>,
    outputs: Span<(ContractAddress, felt252, felt252)>,
    n_chunks: u32,
) -> ThreadRegistry::Event {
    let public_input = f.registry.public_input(f.thread_id, sequence, inputs, outputs, txs());
    ThreadRegistry::Event::SubBlockSettledSummary(
        SubBlockSettledSummary {
            thread_id: f.thread_id,
            sequence,
            prover: prover(),
            n_inputs: inputs.len(),
            n_outputs: outputs.len(),
            n_chunks,
            n_transactions: txs().count,
            transactions_commitment: txs().commitment,
            public_input_hash: poseidon_hash_span(public_input),
        },
    )
}

fn next_event(f: Fixture) -> ThreadRegistry::Event {
    pop_log::<ThreadRegistry::Event>(f.registry.contract_address).expect('no registry event')
}

// ---- happy path ----

#[test]
fn test_settle_writes_outputs_bumps_sequence_and_emits_state_diff() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), no_proof());

    assert_eq!(balance(f.token, alice()), SUPPLY - 300);
    assert_eq!(balance(f.token, bob()), 300);
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);
    assert_eq!(f.registry.thread(f.thread_id).sequence, 1);
    assert_eq!(
        next_event(f),
        ThreadRegistry::Event::SubBlockSettled(
            SubBlockSettled {
                thread_id: f.thread_id,
                sequence: 0,
                chunk: 0,
                n_chunks: 1,
                outputs: settled(outputs),
            },
        ),
    );
    assert_eq!(next_event(f), summary(f, 0, inputs, outputs, 1));
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());
    // One write_slots call for the token's two slots.
    assert_eq!(
        pop_log::<ThreadToken::Event>(f.token).unwrap(),
        ThreadToken::Event::ThreadReadyEvent(
            ThreadReadyComponent::Event::SlotsWritten(
                ThreadReadyComponent::SlotsWritten { thread_id: f.thread_id, count: 2 },
            ),
        ),
    );
    // The other token is untouched.
    assert_eq!(balance(f.outsider, alice()), SUPPLY);

    // The next sub-block builds on the settled state.
    let inputs = balance_slots(f.token, (SUPPLY - 300).into(), 300).span();
    let outputs = balance_slots(f.token, (SUPPLY - 350).into(), 350).span();
    f.registry.settle(f.thread_id, 1, inputs, outputs, txs(), no_proof());
    assert_eq!(balance(f.token, bob()), 350);
    assert_eq!(f.registry.next_sequence(f.thread_id), 2);
}

#[test]
fn test_settle_groups_slots_per_contract() {
    let registry = deploy_registry();
    let (first, second) = ascending(
        deploy_token(registry.contract_address, 'first'),
        deploy_token(registry.contract_address, 'second'),
    );
    let id = registry
        .create_thread(OS_V1, accept_all(), array![first, second].span(), admin(), array![].span());
    drain_events(first);
    drain_events(second);

    let mut inputs = balance_slots(first, SUPPLY.into(), 0);
    for slot in balance_slots(second, SUPPLY.into(), 0) {
        inputs.append(slot);
    };
    // Read-only slots of `first`, written slots of `second` only.
    let outputs = balance_slots(second, 1, (SUPPLY - 1).into());
    registry.settle(id, 0, inputs.span(), outputs.span(), txs(), no_proof());

    assert_eq!(balance(first, alice()), SUPPLY);
    assert_eq!(balance(second, alice()), 1);
    assert_eq!(balance(second, bob()), SUPPLY - 1);
    assert!(pop_log::<ThreadToken::Event>(first).is_none());
    assert!(pop_log::<ThreadToken::Event>(second).is_some());
}

#[test]
fn test_empty_sub_block_settles() {
    let f = open_thread();
    f.registry.settle(f.thread_id, 0, array![].span(), array![].span(), txs(), no_proof());
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);
    // Still announced, as one event with no outputs, and the summary.
    assert_eq!(
        next_event(f),
        ThreadRegistry::Event::SubBlockSettled(
            SubBlockSettled {
                thread_id: f.thread_id,
                sequence: 0,
                chunk: 0,
                n_chunks: 1,
                outputs: array![].span(),
            },
        ),
    );
    assert_eq!(next_event(f), summary(f, 0, array![].span(), array![].span(), 1));
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());
}

/// `count` output slots of `token` at keys 1000, 1001, ... (ascending), slot i holding 7 * i + 1.
fn many_outputs(token: ContractAddress, count: u32) -> Span<(ContractAddress, felt252, felt252)> {
    let mut outputs = array![];
    for i in 0..count {
        let i: felt252 = i.into();
        outputs.append((token, 1000 + i, 7 * i + 1));
    };
    outputs.span()
}

/// Settles `count` outputs as sub-block 0 and checks the state diff arrives as `n_chunks` events
/// of `SETTLED_OUTPUTS_PER_EVENT` outputs (the last one the rest), in order, then that every
/// slot holds its value (sub-block 1 takes all of them as inputs, so a stale one would revert).
fn assert_settles_in_chunks(count: u32, n_chunks: u32) {
    let f = open_thread();
    let outputs = many_outputs(f.token, count);
    f.registry.settle(f.thread_id, 0, array![].span(), outputs, txs(), no_proof());

    let mut rest = outputs;
    for chunk in 0..n_chunks {
        let size = if rest.len() < SETTLED_OUTPUTS_PER_EVENT {
            rest.len()
        } else {
            SETTLED_OUTPUTS_PER_EVENT
        };
        assert!(size > 0, "chunk {} of {} would be empty", chunk, n_chunks);
        assert_eq!(
            next_event(f),
            ThreadRegistry::Event::SubBlockSettled(
                SubBlockSettled {
                    thread_id: f.thread_id,
                    sequence: 0,
                    chunk,
                    n_chunks,
                    outputs: settled(rest.slice(0, size)),
                },
            ),
        );
        rest = rest.slice(size, rest.len() - size);
    };
    assert_eq!(rest.len(), 0);
    assert_eq!(next_event(f), summary(f, 0, array![].span(), outputs, n_chunks));
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);

    f.registry.settle(f.thread_id, 1, outputs, array![].span(), txs(), no_proof());
    assert_eq!(f.registry.next_sequence(f.thread_id), 2);
}

#[test]
#[available_gas(10000000000)]
fn test_large_state_diff_is_emitted_in_chunks() {
    // 250 outputs = 750 felts of diff, past the 300-felt cap of one event: 96 + 96 + 58.
    assert_eq!(SETTLED_OUTPUTS_PER_EVENT, 96);
    assert_settles_in_chunks(250, 3);
}

#[test]
#[available_gas(10000000000)]
fn test_state_diff_of_whole_chunks_has_no_empty_tail() {
    assert_settles_in_chunks(2 * SETTLED_OUTPUTS_PER_EVENT, 2);
}

/// A full chunk fits the 300-felt cap Starknet puts on one event's data (the reason for the
/// constant): two data fields, the length prefix and 3 felts per output.
#[test]
fn test_full_chunk_event_fits_the_event_data_cap() {
    let event = SubBlockSettled {
        thread_id: 1,
        sequence: 0xffffffffffffffff,
        chunk: 0xffffffff,
        n_chunks: 0xffffffff,
        outputs: settled(many_outputs(alice(), SETTLED_OUTPUTS_PER_EVENT)),
    };
    let mut keys = array![];
    let mut data = array![];
    starknet::Event::append_keys_and_data(@event, ref keys, ref data);
    // thread_id and sequence; the enum adds the selector in front.
    assert_eq!(keys.len(), 2);
    assert_eq!(data.len(), 3 + 3 * SETTLED_OUTPUTS_PER_EVENT);
    assert!(data.len() <= 300, "a full SubBlockSettled chunk has {} data felts", data.len());
}

/// What an indexer reading raw events sees: keys `[selector, thread_id, sequence]`, data
/// `[chunk, n_chunks, n, (contract, key, value) * n]` per chunk, then the summary with keys
/// `[selector, thread_id, sequence]` and data `[prover, n_inputs, n_outputs, n_chunks,
/// n_transactions, transactions_commitment, public_input_hash]`.
#[test]
#[available_gas(10000000000)]
fn test_settlement_events_raw_layout() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), no_proof());
    let registry = f.registry.contract_address;
    let thread_id: felt252 = f.thread_id.into();

    let (keys, data) = pop_log_raw(registry).unwrap();
    assert_eq!(keys, array![selector!("SubBlockSettled"), thread_id, 0].span());
    let mut expected = array![0, 1, 2];
    for slot in outputs {
        let (contract, key, value) = *slot;
        expected.append(contract.into());
        expected.append(key);
        expected.append(value);
    };
    assert_eq!(data, expected.span());

    let (keys, data) = pop_log_raw(registry).unwrap();
    assert_eq!(keys, array![selector!("SubBlockSettledSummary"), thread_id, 0].span());
    let hash = poseidon_hash_span(f.registry.public_input(f.thread_id, 0, inputs, outputs, txs()));
    assert_eq!(data, array![prover().into(), 2, 2, 1, 3, 0x7c0ffee, hash].span());
    assert!(pop_log_raw(registry).is_none());

    // Sequence 1, three chunks: the sequence key follows, and chunk 1 starts at output 96.
    let many = many_outputs(f.token, 250);
    f.registry.settle(f.thread_id, 1, array![].span(), many, txs(), no_proof());
    for chunk in 0..3_u32 {
        let (keys, data) = pop_log_raw(registry).unwrap();
        assert_eq!(keys, array![selector!("SubBlockSettled"), thread_id, 1].span());
        let size = if chunk == 2 {
            250 - 2 * SETTLED_OUTPUTS_PER_EVENT
        } else {
            SETTLED_OUTPUTS_PER_EVENT
        };
        assert_eq!(data.len(), 3 + 3 * size);
        assert_eq!(*data.at(0), chunk.into());
        assert_eq!(*data.at(1), 3);
        assert_eq!(*data.at(2), size.into());
        let first: felt252 = (chunk * SETTLED_OUTPUTS_PER_EVENT).into();
        assert_eq!(*data.at(3), f.token.into());
        assert_eq!(*data.at(4), 1000 + first);
        assert_eq!(*data.at(5), 7 * first + 1);
    };
    let (keys, data) = pop_log_raw(registry).unwrap();
    assert_eq!(keys, array![selector!("SubBlockSettledSummary"), thread_id, 1].span());
    assert_eq!(data.slice(0, 4), array![prover().into(), 0, 250, 3].span());
    assert!(pop_log_raw(registry).is_none());
}

/// The summary names whoever called `settle`, and its hash is the statement the verifier got.
#[test]
fn test_summary_names_the_prover_and_hashes_the_public_input() {
    let f = setup(echo(), array![prover(), alice()].span());
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    let public_input = f.registry.public_input(f.thread_id, 0, inputs, outputs, txs());
    set_contract_address(alice());
    // The echo verifier accepts exactly the public input as proof.
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), public_input);
    // The one SubBlockSettled chunk, then the summary.
    pop_log_raw(f.registry.contract_address).unwrap();
    assert_eq!(
        next_event(f),
        ThreadRegistry::Event::SubBlockSettledSummary(
            SubBlockSettledSummary {
                thread_id: f.thread_id,
                sequence: 0,
                prover: alice(),
                n_inputs: 2,
                n_outputs: 2,
                n_chunks: 1,
                n_transactions: 3,
                transactions_commitment: 0x7c0ffee,
                public_input_hash: poseidon_hash_span(public_input),
            },
        ),
    );
}

#[test]
fn test_state_diff_of_one_full_chunk_is_one_event() {
    assert_settles_in_chunks(SETTLED_OUTPUTS_PER_EVENT, 1);
}

// ---- step 1: thread, activity, prover ----

#[test]
#[feature("safe_dispatcher")]
fn test_unknown_thread_is_rejected() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    assert_reverted_with(
        safe(f).settle(0, 0, inputs, outputs, txs(), no_proof()), 'registry: unknown thread',
    );
    assert_reverted_with(
        safe(f).settle(f.thread_id + 1, 0, inputs, outputs, txs(), no_proof()),
        'registry: unknown thread',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_inactive_thread_is_rejected() {
    let f = open_thread();
    set_contract_address(admin());
    f.registry.set_active(f.thread_id, false);
    set_contract_address(prover());
    // Also a wrong sequence: activity is checked first.
    assert_reverted_with(
        safe(f).settle(f.thread_id, 5, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof()),
        'registry: thread inactive',
    );
    assert_untouched(f);

    set_contract_address(admin());
    f.registry.set_active(f.thread_id, true);
    set_contract_address(prover());
    f.registry.settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof());
    assert_eq!(balance(f.token, bob()), 300);
}

#[test]
#[feature("safe_dispatcher")]
fn test_prover_outside_allowlist_is_rejected() {
    let f = setup(accept_all(), array![prover()].span());
    set_contract_address(stranger());
    // Also a wrong sequence: the prover is checked first.
    assert_reverted_with(
        safe(f).settle(f.thread_id, 5, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof()),
        'registry: prover not allowed',
    );
    assert_untouched(f);

    set_contract_address(prover());
    f.registry.settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof());
    assert_eq!(balance(f.token, bob()), 300);
}

// ---- step 2: sequence ----

#[test]
#[feature("safe_dispatcher")]
fn test_wrong_sequence_is_rejected() {
    let f = open_thread();
    // Also unsorted: the sequence is checked first.
    let reversed = array![*transfer_inputs(f.token).at(1), *transfer_inputs(f.token).at(0)];
    assert_reverted_with(
        safe(f).settle(f.thread_id, 1, reversed.span(), transfer_outputs(f.token), txs(), no_proof()),
        'registry: wrong sequence',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_replayed_sub_block_is_rejected() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), no_proof());
    drain_events(f.registry.contract_address);

    // The same sub-block again, and a sub-block 0 rebuilt on the new state.
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), no_proof()), 'registry: wrong sequence',
    );
    let rebuilt_inputs = outputs;
    let rebuilt_outputs = balance_slots(f.token, 0, SUPPLY.into()).span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, rebuilt_inputs, rebuilt_outputs, txs(), no_proof()),
        'registry: wrong sequence',
    );
    assert_eq!(balance(f.token, alice()), SUPPLY - 300);
    assert_eq!(balance(f.token, bob()), 300);
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());
}

// ---- step 3: sorted lists, contract set ----

#[test]
#[feature("safe_dispatcher")]
fn test_unsorted_or_duplicate_slots_are_rejected() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    let reversed_inputs = array![*inputs.at(1), *inputs.at(0)].span();
    let reversed_outputs = array![*outputs.at(1), *outputs.at(0)].span();
    let duplicated_outputs = array![*outputs.at(0), *outputs.at(0)].span();
    // Also a stale input: sorting is checked first.
    let (token, key, _) = *inputs.at(1);
    let stale_reversed = array![(token, key, 7), *inputs.at(0)].span();
    let safe = safe(f);
    assert_reverted_with(
        safe.settle(f.thread_id, 0, reversed_inputs, outputs, txs(), no_proof()), 'registry: unsorted slots',
    );
    assert_reverted_with(
        safe.settle(f.thread_id, 0, inputs, reversed_outputs, txs(), no_proof()), 'registry: unsorted slots',
    );
    assert_reverted_with(
        safe.settle(f.thread_id, 0, inputs, duplicated_outputs, txs(), no_proof()),
        'registry: unsorted slots',
    );
    assert_reverted_with(
        safe.settle(f.thread_id, 0, stale_reversed, outputs, txs(), no_proof()), 'registry: unsorted slots',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_contract_outside_the_thread_is_rejected() {
    let f = open_thread();
    let safe = safe(f);
    // Writing another contract's balances (it trusts the same registry, but is not in the set).
    let outsider_outputs = balance_slots(f.outsider, 0, SUPPLY.into()).span();
    assert_reverted_with(
        safe.settle(f.thread_id, 0, array![].span(), outsider_outputs, txs(), no_proof()),
        'registry: contract not in set',
    );
    // Reading it, with a stale value too: the set is checked first.
    let outsider_inputs = balance_slots(f.outsider, 5, 5).span();
    assert_reverted_with(
        safe.settle(f.thread_id, 0, outsider_inputs, array![].span(), txs(), no_proof()),
        'registry: contract not in set',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_member_trusting_another_registry_refuses() {
    let registry = deploy_registry();
    // A token that names someone else as its registry cannot be settled by this one.
    let token = deploy_token(stranger(), 'foreign');
    let id = registry
        .create_thread(OS_V1, accept_all(), array![token].span(), admin(), array![].span());
    let safe = IThreadRegistrySafeDispatcher { contract_address: registry.contract_address };
    assert_reverted_with(
        safe.settle(id, 0, array![].span(), balance_slots(token, 0, SUPPLY.into()).span(), txs(), no_proof()),
        'thread: caller not registry',
    );
    assert_eq!(balance(token, alice()), SUPPLY);
    assert_eq!(registry.next_sequence(id), 0);
}

// ---- step 4: inputs are current ----

#[test]
#[feature("safe_dispatcher")]
fn test_stale_input_is_rejected() {
    let f = open_thread();
    let stale = balance_slots(f.token, (SUPPLY + 1).into(), 0).span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, stale, transfer_outputs(f.token), txs(), no_proof()),
        'registry: stale input',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_the_proof_is_checked_before_the_inputs() {
    // Inputs are read contract by contract right before each one's outputs are written, so
    // after the proof: a bad proof over stale inputs reverts for the proof.
    let f = setup(reject_all(), array![].span());
    let stale = balance_slots(f.token, SUPPLY.into(), 1).span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, stale, transfer_outputs(f.token), txs(), no_proof()),
        'registry: invalid proof',
    );
    assert_untouched(f);
}

// ---- settle_checking_inputs_first: every input checked before the proof, and again ----

#[test]
#[feature("safe_dispatcher")]
fn test_settle_checking_inputs_first_refuses_a_stale_input_before_the_proof() {
    // The bad proof over stale inputs that `settle` refuses for the proof: checked first, the
    // inputs are refused before the verifier is called.
    let f = setup(reject_all(), array![].span());
    let stale = balance_slots(f.token, SUPPLY.into(), 1).span();
    assert_reverted_with(
        safe(f)
            .settle_checking_inputs_first(
                f.thread_id, 0, stale, transfer_outputs(f.token), txs(), no_proof(),
            ),
        'registry: stale input',
    );
    assert_untouched(f);
    // Current inputs under the same bad proof: refused for the proof.
    assert_reverted_with(
        safe(f)
            .settle_checking_inputs_first(
                f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof(),
            ),
        'registry: invalid proof',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_settle_checking_inputs_first_settles_as_settle_does() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    f.registry.settle_checking_inputs_first(f.thread_id, 0, inputs, outputs, txs(), no_proof());
    assert_eq!(balance(f.token, alice()), SUPPLY - 300);
    assert_eq!(balance(f.token, bob()), 300);
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);
    assert_eq!(
        next_event(f),
        ThreadRegistry::Event::SubBlockSettled(
            SubBlockSettled {
                thread_id: f.thread_id,
                sequence: 0,
                chunk: 0,
                n_chunks: 1,
                outputs: settled(outputs),
            },
        ),
    );
    assert_eq!(next_event(f), summary(f, 0, inputs, outputs, 1));
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());
    // Settled once: again through either entry point is a replay.
    assert_reverted_with(
        safe(f).settle_checking_inputs_first(f.thread_id, 0, inputs, outputs, txs(), no_proof()),
        'registry: wrong sequence',
    );
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), no_proof()),
        'registry: wrong sequence',
    );
    assert_eq!(balance(f.token, bob()), 300);
}

/// The early pass does not replace the check before each contract's writes: the hostile
/// member of helper-56's double spend spends its token balance whenever the registry calls it.
/// Below the token, it spends during the early pass before the token's inputs are read there;
/// above it, after they were read there and before the proof, so only the check right before
/// the token's writes sees it. Either way the settlement is refused as stale and nothing moves.
#[test]
#[feature("safe_dispatcher")]
fn test_inputs_checked_first_are_checked_again_before_the_writes() {
    let mut placements = array![true, false].span();
    while let Option::Some(below) = placements.pop_front() {
        let (f, member) = spending_member_thread(*below);
        let (inputs, outputs) = spending_sub_block(f, member);
        assert_reverted_with(
            safe(f).settle_checking_inputs_first(f.thread_id, 0, inputs, outputs, txs(), no_proof()),
            'registry: stale input',
        );
        assert_eq!(
            (balance(f.token, member), balance(f.token, bob()), balance(f.token, stranger())),
            (100, 0, 0),
        );
        assert_eq!(f.registry.next_sequence(f.thread_id), 0);
    };
}

/// The token and a hostile member that spends its token balance on L2 whenever the registry
/// calls it during `settle`, deployed until its address is below the token's (`below`) or
/// above it, in a thread running the accept-all program; the member holds 100 of the token.
fn spending_member_thread(below: bool) -> (Fixture, ContractAddress) {
    let f = open_thread();
    let mut salt: felt252 = 'spender';
    let member = loop {
        let member = deploy(
            SpendingThreadContractTestDouble::TEST_CLASS_HASH,
            salt,
            array![f.registry.contract_address.into(), f.token.into()],
        );
        if lt(member, f.token) == below {
            break member;
        }
        salt += 1;
    };
    let (low, high) = ascending(member, f.token);
    let thread_id = f.registry.create_thread(OS_V1, accept_all(), array![low, high].span(), admin(), array![].span());
    set_contract_address(alice());
    IThreadTokenDispatcher { contract_address: f.token }.transfer(member, 100);
    set_contract_address(prover());
    (Fixture { thread_id, ..f }, member)
}

/// What the thread's sub-block claims: the member pays bob its 100 (its own slot 1 goes 0 -> 1
/// so the registry calls it to read and to write).
fn spending_sub_block(
    f: Fixture, member: ContractAddress,
) -> (Span<(ContractAddress, felt252, felt252)>, Span<(ContractAddress, felt252, felt252)>) {
    let (member_key, bob_key) = (balance_slot(member), balance_slot(bob()));
    let (first, second) = if lt(member_key.try_into().unwrap(), bob_key.try_into().unwrap()) {
        ((member_key, 100, 0), (bob_key, 0, 100))
    } else {
        ((bob_key, 0, 100), (member_key, 100, 0))
    };
    let token_slots = |slot: (felt252, felt252, felt252), after: bool| {
        let (key, before, later) = slot;
        (f.token, key, if after { later } else { before })
    };
    let mine_in = (member, 1, 0);
    let mine_out = (member, 1, 1);
    let (a_in, b_in) = (token_slots(first, false), token_slots(second, false));
    let (a_out, b_out) = (token_slots(first, true), token_slots(second, true));
    if lt(member, f.token) {
        (array![mine_in, a_in, b_in].span(), array![mine_out, a_out, b_out].span())
    } else {
        (array![a_in, b_in, mine_in].span(), array![a_out, b_out, mine_out].span())
    }
}

/// The token's supply as alice, bob, the hostile member and `stranger()` hold it.
fn held(f: Fixture, member: ContractAddress) -> u128 {
    balance(f.token, alice()) + balance(f.token, bob()) + balance(f.token, member) + balance(f.token, stranger())
}

/// helper-56's double spend: a member whose `read_slots`/`write_slots` spends its balance of a
/// token beside it on L2 cannot also have the thread's debit of that balance applied. Before
/// the fix (every input checked first, every output written after), a member above the token
/// spent after the token's inputs were checked and before they were written: bob got the 100
/// the thread moved and `stranger()` the same 100 (supply + 100). Now each contract is
/// checked right before it is written: a member below the token spends before the token's
/// check, which sees the balance moved (stale input, nothing changes); a member above it runs
/// after the token is settled, and holds nothing left to spend.
#[test]
#[feature("safe_dispatcher")]
fn test_a_member_spending_beside_a_token_mid_settle_cannot_double_spend() {
    // Below the token: refused as stale, nothing moved (the member still holds its 100).
    let (f, member) = spending_member_thread(true);
    let (inputs, outputs) = spending_sub_block(f, member);
    assert_reverted_with(safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), no_proof()), 'registry: stale input');
    assert_eq!((balance(f.token, member), balance(f.token, bob()), balance(f.token, stranger())), (100, 0, 0));
    assert_eq!(f.registry.next_sequence(f.thread_id), 0);
    // Above the token: settled once, the supply conserved.
    let (f, member) = spending_member_thread(false);
    let (inputs, outputs) = spending_sub_block(f, member);
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), no_proof());
    assert_eq!((balance(f.token, member), balance(f.token, bob()), balance(f.token, stranger())), (0, 100, 0));
    assert_eq!(held(f, member), SUPPLY);
    assert_eq!(f.registry.next_sequence(f.thread_id), 1);
}

/// A thread `[member, token]` on the accept-all program whose admin is a hostile member
/// (`AdministeringThreadContractTestDouble` doing `action` when called in `settle`), deployed
/// below the token so that the registry calls it first; `upgraded()` is registered under OS_V2
/// and the token accepts it too. Returns the fixture and the member.
fn administering_member_thread(action: felt252) -> (Fixture, ContractAddress) {
    let registry = deploy_registry();
    set_contract_address(owner());
    registry.register_program(OS_V2, upgraded());
    let token = deploy_token_accepting(
        registry.contract_address, 'token', array![accept_all(), upgraded()].span(),
    );
    let outsider = deploy_token(registry.contract_address, 'outsider');
    let mut salt: felt252 = 'administer';
    let member = loop {
        let member = deploy(
            AdministeringThreadContractTestDouble::TEST_CLASS_HASH,
            salt,
            array![registry.contract_address.into(), action],
        );
        if lt(member, token) {
            break member;
        }
        salt += 1;
    };
    set_contract_address(stranger());
    let thread_id = registry
        .create_thread(OS_V1, accept_all(), array![member, token].span(), member, array![].span());
    set_contract_address(prover());
    (Fixture { registry, token, outsider, thread_id }, member)
}

/// The transfer sub-block with the member's slot 1 read first (so the registry calls it).
fn with_member_input(
    member: ContractAddress, token: ContractAddress,
) -> Span<(ContractAddress, felt252, felt252)> {
    let mut inputs = array![(member, 1, 0)];
    for slot in transfer_inputs(token) {
        inputs.append(*slot);
    };
    inputs.span()
}

/// helper-74's attack: a token revokes the program of a thread whose admin is a hostile member
/// (say the program turned out unsound), and the attacker settles a sub-block that program
/// proved anyway; the member, called first, upgrades the thread to a program the token still
/// accepts, so that the token's own check at `read_slots`/`write_slots` (the thread's program
/// *now*) would pass. The registry refuses every state change while a settlement runs: the
/// upgrade reverts the settlement, nothing changes, and the thread keeps its program. Without
/// the re-entry the same settlement is refused by the token (`thread: program not accepted`).
#[test]
#[feature("safe_dispatcher")]
fn test_a_member_cannot_upgrade_its_thread_mid_settle_past_a_revocation() {
    let (f, member) = administering_member_thread(administer::UPGRADE);
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: f.token }.set_program_accepted(accept_all(), false);
    set_contract_address(prover());
    let inputs = with_member_input(member, f.token);
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, transfer_outputs(f.token), txs(), no_proof()),
        'registry: settle in progress',
    );
    assert_untouched(f);
    assert_eq!(f.registry.thread(f.thread_id).program_hash, accept_all());
    // The member's upgrade alone, outside a settlement, is an admin's right (and the token
    // accepts `upgraded()`): the guard is the settlement, not the call.
    set_contract_address(member);
    f.registry.upgrade_thread(f.thread_id, OS_V2, upgraded());
    assert_eq!(f.registry.thread(f.thread_id).program_hash, upgraded());
}

/// `action` re-entered from a member (its thread's admin) during `settle` is refused, and the
/// settlement with it, with nothing changed.
fn assert_refused_mid_settle(action: felt252) {
    let (f, member) = administering_member_thread(action);
    let threads = f.registry.thread_count();
    let inputs = with_member_input(member, f.token);
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, transfer_outputs(f.token), txs(), no_proof()),
        'registry: settle in progress',
    );
    assert_untouched(f);
    // Through the other entry point the member runs in the early pass, before the proof.
    assert_reverted_with(
        safe(f)
            .settle_checking_inputs_first(
                f.thread_id, 0, inputs, transfer_outputs(f.token), txs(), no_proof(),
            ),
        'registry: settle in progress',
    );
    assert_untouched(f);
    assert_eq!(f.registry.thread_count(), threads);
    let info = f.registry.thread(f.thread_id);
    assert!(info.active);
    assert!(!info.allowlist_enabled);
}

#[test]
fn test_a_member_cannot_deactivate_its_thread_mid_settle() {
    assert_refused_mid_settle(administer::DEACTIVATE);
}

#[test]
fn test_a_member_cannot_change_its_provers_mid_settle() {
    assert_refused_mid_settle(administer::SET_PROVERS);
}

#[test]
fn test_a_member_cannot_create_a_thread_mid_settle() {
    assert_refused_mid_settle(administer::CREATE_THREAD);
}

#[test]
#[feature("safe_dispatcher")]
fn test_sub_block_on_outdated_state_is_rejected() {
    // Alice spends directly on L2 after the prover read her balance: the sub-block is stale.
    let f = open_thread();
    set_contract_address(alice());
    IThreadTokenDispatcher { contract_address: f.token }.transfer(stranger(), 1);
    set_contract_address(prover());
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof()),
        'registry: stale input',
    );
    assert_eq!(balance(f.token, alice()), SUPPLY - 1);
    assert_eq!(balance(f.token, bob()), 0);
    assert_eq!(f.registry.next_sequence(f.thread_id), 0);
}

// ---- step 5: the proof ----

#[test]
#[feature("safe_dispatcher")]
fn test_rejected_proof_is_rejected() {
    let f = setup(reject_all(), array![].span());
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), array![1, 2, 3].span()),
        'registry: invalid proof',
    );
    assert_untouched(f);
}

#[test]
fn test_public_input_encoding() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    let info = f.registry.thread(f.thread_id);
    let mut expected = array![
        OS_V1,
        accept_all().into(),
        f.thread_id.into(),
        4,
        info.contract_set_commitment,
        3,
        0x7c0ffee,
        2,
    ];
    for slot in inputs {
        let (contract, key, value) = *slot;
        expected.append(contract.into());
        expected.append(key);
        expected.append(value);
    };
    expected.append(2);
    for slot in outputs {
        let (contract, key, value) = *slot;
        expected.append(contract.into());
        expected.append(key);
        expected.append(value);
    };
    let public_input = f.registry.public_input(f.thread_id, 4, inputs, outputs, txs());
    assert_eq!(public_input, expected.span());
    assert_eq!(public_input.len(), 8 + 6 + 1 + 6);
    // The first input slot starts right after the header and n_inputs.
    assert_eq!(*public_input.at(8), f.token.into());
    assert_eq!(
        f.registry.public_input(f.thread_id, 0, array![].span(), array![].span(), txs()),
        array![
            OS_V1, accept_all().into(), f.thread_id.into(), 0, info.contract_set_commitment, 3,
            0x7c0ffee, 0, 0,
        ]
            .span(),
    );
}

#[test]
#[feature("safe_dispatcher")]
fn test_verifier_receives_exactly_the_public_input() {
    let f = setup(echo(), array![].span());
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    let public_input = f.registry.public_input(f.thread_id, 0, inputs, outputs, txs());

    // A proof for other outputs (bob gets 301) does not settle these outputs.
    let other_outputs = balance_slots(f.token, (SUPPLY - 301).into(), 301).span();
    let other_proof = f.registry.public_input(f.thread_id, 0, inputs, other_outputs, txs());
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), other_proof), 'registry: invalid proof',
    );
    // Nor does a proof for another transaction list (one transaction fewer, or another
    // commitment): the list travels in the statement the verifier checks.
    let fewer = TransactionList { count: txs().count - 1, commitment: txs().commitment };
    let other_list = TransactionList { count: txs().count, commitment: txs().commitment + 1 };
    for list in array![fewer, other_list] {
        let proof = f.registry.public_input(f.thread_id, 0, inputs, outputs, list);
        assert_reverted_with(
            safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), proof), 'registry: invalid proof',
        );
    };
    // Nor does a proof for another sequence number.
    let later_proof = f.registry.public_input(f.thread_id, 1, inputs, outputs, txs());
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, inputs, outputs, txs(), later_proof), 'registry: invalid proof',
    );
    assert_untouched(f);

    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), public_input);
    assert_eq!(balance(f.token, bob()), 300);
}

// ---- step 6 and the thread component's own guards ----

#[test]
#[feature("safe_dispatcher")]
fn test_output_to_the_component_registry_slot_is_refused() {
    let f = open_thread();
    let new_registry: felt252 = stranger().into();
    let hijack = array![(f.token, selector!("ThreadReady_registry"), new_registry)].span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, array![].span(), hijack, txs(), no_proof()),
        'thread: protected slot',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_output_to_the_component_owner_slot_is_refused() {
    let f = open_thread();
    let new_owner: felt252 = stranger().into();
    let hijack = array![(f.token, selector!("ThreadReady_owner"), new_owner)].span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, array![].span(), hijack, txs(), no_proof()),
        'thread: protected slot',
    );
    assert_eq!(IThreadConsentDispatcher { contract_address: f.token }.thread_owner(), token_owner());
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_revoked_program_stops_settlement() {
    // The token's owner revokes the thread's program: settlement stops, at the read of the
    // inputs or at the write of the outputs, whichever touches the token first.
    let f = open_thread();
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: f.token }.set_program_accepted(accept_all(), false);
    set_contract_address(prover());
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof()),
        'thread: program not accepted',
    );
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, array![].span(), transfer_outputs(f.token), txs(), no_proof()),
        'thread: program not accepted',
    );
    assert_untouched(f);
    assert!(pop_log::<ThreadRegistry::Event>(f.registry.contract_address).is_none());

    // Accepted again, the same sub-block settles.
    set_contract_address(token_owner());
    IThreadConsentDispatcher { contract_address: f.token }.set_program_accepted(accept_all(), true);
    set_contract_address(prover());
    f.registry.settle(f.thread_id, 0, transfer_inputs(f.token), transfer_outputs(f.token), txs(), no_proof());
    assert_eq!(balance(f.token, bob()), 300);
}

fn consent_of(contract: ContractAddress) -> IThreadConsentDispatcher {
    IThreadConsentDispatcher { contract_address: contract }
}

#[test]
#[feature("safe_dispatcher")]
fn test_program_accepted_only_beside_peers_refuses_any_other_member() {
    // The token accepts the thread's program only beside listed peers, as a token must accept a
    // program that reads authority from another member's storage (the order book's fills read
    // resting orders from whatever member presents a book's configuration: a member of an
    // attacker's making answers `read_slots` with orders nobody signed). A thread holding an
    // unlisted member cannot touch the token, whatever its proof; beside its peer it settles.
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    let peer = deploy_token(registry.contract_address, 'peer');
    let intruder = deploy_token(registry.contract_address, 'intruder');
    set_contract_address(token_owner());
    let peers = IThreadPeersDispatcher { contract_address: token };
    peers.set_peers_only(accept_all(), true);
    peers.set_peer_accepted(accept_all(), peer, true);
    assert!(peers.peers_only(accept_all()));
    assert!(peers.accepts_peer(accept_all(), peer));
    assert!(!peers.accepts_peer(accept_all(), intruder));
    // Every member accepts the program, but the token not beside the intruder: the registry
    // refuses that thread when it is created.
    set_contract_address(stranger());
    let safe = IThreadRegistrySafeDispatcher { contract_address: registry.contract_address };
    let (a, b) = ascending(token, intruder);
    let members = array![a, b].span();
    assert_reverted_with(
        safe.create_thread(OS_V1, accept_all(), members, stranger(), array![].span()),
        'registry: peer not accepted',
    );
    assert!(consent_of(token).accepts_program(accept_all()));
    assert!(!consent_of(token).accepts_thread(accept_all(), members));
    assert!(consent_of(intruder).accepts_thread(accept_all(), members));
    assert_eq!(registry.thread_count(), 0);
    // Listed for a while, the intruder is in a thread that outlives its listing: the token's own
    // check on every read and write refuses it from then on, whatever the proof.
    set_contract_address(token_owner());
    peers.set_peer_accepted(accept_all(), intruder, true);
    set_contract_address(stranger());
    let hostile = registry.create_thread(OS_V1, accept_all(), members, stranger(), array![].span());
    set_contract_address(token_owner());
    peers.set_peer_accepted(accept_all(), intruder, false);
    set_contract_address(stranger());
    let (a, b) = ascending(token, peer);
    assert!(consent_of(token).accepts_thread(accept_all(), array![a, b].span()));
    let trusted = registry
        .create_thread(OS_V1, accept_all(), array![a, b].span(), admin(), array![].span());
    set_contract_address(prover());
    let (inputs, outputs) = (transfer_inputs(token), transfer_outputs(token));
    assert_reverted_with(
        safe.settle(hostile, 0, inputs, outputs, txs(), no_proof()), 'thread: peer not accepted',
    );
    assert_reverted_with(
        safe.settle(hostile, 0, array![].span(), outputs, txs(), no_proof()),
        'thread: peer not accepted',
    );
    assert_eq!(balance(token, alice()), SUPPLY);
    assert_eq!(balance(token, bob()), 0);
    assert_eq!(registry.next_sequence(hostile), 0);

    registry.settle(trusted, 0, inputs, outputs, txs(), no_proof());
    assert_eq!(balance(token, bob()), 300);

    // Unlisting the peer stops its thread too; open acceptance admits the intruder again.
    set_contract_address(token_owner());
    peers.set_peer_accepted(accept_all(), peer, false);
    set_contract_address(prover());
    let back = balance_slots(token, (SUPPLY - 300).into(), 300).span();
    assert_reverted_with(
        safe.settle(trusted, 1, back, back, txs(), no_proof()), 'thread: peer not accepted',
    );
    set_contract_address(token_owner());
    peers.set_peers_only(accept_all(), false);
    set_contract_address(prover());
    registry.settle(hostile, 0, back, back, txs(), no_proof());
    assert_eq!(registry.next_sequence(hostile), 1);
}

#[test]
#[feature("safe_dispatcher")]
fn test_output_key_out_of_range_is_refused() {
    let f = open_thread();
    let key = 0x800000000000000000000000000000000000000000000000000000000000000;
    let outputs = array![(f.token, key, 1)].span();
    assert_reverted_with(
        safe(f).settle(f.thread_id, 0, array![].span(), outputs, txs(), no_proof()),
        'thread: key out of range',
    );
    assert_untouched(f);
}

#[test]
#[feature("safe_dispatcher")]
fn test_reentrant_settle_is_rejected() {
    let registry = deploy_registry();
    let hostile = deploy(
        ReentrantThreadContractTestDouble::TEST_CLASS_HASH,
        'hostile',
        array![registry.contract_address.into()],
    );
    let id = registry
        .create_thread(OS_V1, accept_all(), array![hostile].span(), admin(), array![].span());
    IReentrantThreadContractTestDoubleDispatcher { contract_address: hostile }.arm(id);
    let safe = IThreadRegistrySafeDispatcher { contract_address: registry.contract_address };
    assert_reverted_with(
        safe.settle(id, 0, array![(hostile, 1, 0)].span(), array![].span(), txs(), no_proof()),
        'registry: reentrant settle',
    );
    assert_eq!(registry.next_sequence(id), 0);
    // Re-entered from the early pass of the other entry point, before the proof.
    assert_reverted_with(
        safe
            .settle_checking_inputs_first(
                id, 0, array![(hostile, 1, 0)].span(), array![].span(), txs(), no_proof(),
            ),
        'registry: reentrant settle',
    );
    assert_eq!(registry.next_sequence(id), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_short_slot_reply_is_rejected() {
    let registry = deploy_registry();
    let broken = deploy(ShortReplyThreadContractTestDouble::TEST_CLASS_HASH, 'broken', array![]);
    let id = registry
        .create_thread(OS_V1, accept_all(), array![broken].span(), admin(), array![].span());
    let safe = IThreadRegistrySafeDispatcher { contract_address: registry.contract_address };
    assert_reverted_with(
        safe.settle(id, 0, array![(broken, 1, 0)].span(), array![].span(), txs(), no_proof()),
        'registry: bad slot reply',
    );
    assert_eq!(registry.next_sequence(id), 0);
}

// ---- cost ----

/// Cairo-test gas of one settlement (2 input + 2 output slots of one token, accept-all
/// verifier), syscalls included at the test runner's prices. Printed for the report; the bound
/// only catches a blow-up (e.g. one read_slots call per slot instead of per contract).
#[test]
#[available_gas(1000000000)]
fn test_settle_gas() {
    let f = open_thread();
    let inputs = transfer_inputs(f.token);
    let outputs = transfer_outputs(f.token);
    core::gas::withdraw_gas().unwrap();
    let before = core::testing::get_available_gas();
    f.registry.settle(f.thread_id, 0, inputs, outputs, txs(), no_proof());
    core::gas::withdraw_gas().unwrap();
    let spent = before - core::testing::get_available_gas();
    println!("gas: settle (2 inputs, 2 outputs, 1 contract) = {}", spent);
    assert!(spent < 4_000_000, "settle gas blew up: {}", spent);
    assert_eq!(balance(f.token, bob()), 300);
}
