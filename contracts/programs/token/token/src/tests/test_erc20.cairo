//! ERC20 behaviour of `ThreadToken`: what a wallet, an indexer or another contract relies on
//! (SNIP-2 entry points, allowances, the standard event layout), and the u128 balance slots
//! behind the u256 ABI.

use core::num::traits::Bounded;
use starknet::testing::{pop_log, pop_log_raw, set_contract_address};
use starknet::{ContractAddress, SyscallResult, contract_address_const};
use thread::interface::{IThreadReadyDispatcher, IThreadReadyDispatcherTrait};
use token::ThreadToken;
use token::ThreadToken::{Approval, Transfer};
use token::interface::{
    IERC20CamelOnlyDispatcher, IERC20CamelOnlyDispatcherTrait, IERC20Dispatcher,
    IERC20DispatcherTrait, IERC20MetadataDispatcher, IERC20MetadataDispatcherTrait,
    IThreadTokenDispatcher, IThreadTokenDispatcherTrait, IThreadTokenSafeDispatcher,
    IThreadTokenSafeDispatcherTrait,
};
use super::test_token::{
    OpenMembershipTestDouble, SUPPLY, SUPPLY_U256, THREAD, alice, balance_slot, bob, deploy,
    drain_events, setup, token_calldata_with,
};

/// 2^128: the first amount a balance slot cannot hold.
const TWO_POW_128: u256 = 0x100000000000000000000000000000000;

fn carol() -> ContractAddress {
    contract_address_const::<'carol'>()
}

fn zero() -> ContractAddress {
    0.try_into().unwrap()
}

fn infinite() -> u256 {
    Bounded::MAX
}

fn u128_max() -> u128 {
    Bounded::MAX
}

/// A token with the whole supply held by alice and its deployment events drained.
fn fresh_token() -> IThreadTokenDispatcher {
    let (_, token) = setup();
    drain_events(token);
    IThreadTokenDispatcher { contract_address: token }
}

fn safe(token: IThreadTokenDispatcher) -> IThreadTokenSafeDispatcher {
    IThreadTokenSafeDispatcher { contract_address: token.contract_address }
}

fn assert_reverted_with<T, +Drop<T>>(result: SyscallResult<T>, reason: felt252) {
    match result {
        Result::Ok(_) => panic!("expected a revert with {}", reason),
        Result::Err(data) => assert_eq!(*data.at(0), reason),
    }
}

/// The next event of `token`, as raw keys and data: what an indexer decoding by the standard
/// ERC20 ABI sees.
fn next_raw_event(token: IThreadTokenDispatcher) -> (Span<felt252>, Span<felt252>) {
    pop_log_raw(token.contract_address).expect('no event')
}

fn next_event(token: IThreadTokenDispatcher) -> ThreadToken::Event {
    pop_log::<ThreadToken::Event>(token.contract_address).expect('no event')
}

fn transfer_event(from: ContractAddress, to: ContractAddress, value: u256) -> ThreadToken::Event {
    ThreadToken::Event::Transfer(Transfer { from, to, value })
}

fn approval_event(
    owner: ContractAddress, spender: ContractAddress, value: u256,
) -> ThreadToken::Event {
    ThreadToken::Event::Approval(Approval { owner, spender, value })
}

fn assert_no_more_events(token: IThreadTokenDispatcher) {
    assert!(pop_log_raw(token.contract_address).is_none());
}

/// The three balances of these tests.
fn balances(token: IThreadTokenDispatcher) -> (u256, u256, u256) {
    (token.balance_of(alice()), token.balance_of(bob()), token.balance_of(carol()))
}

// ---- metadata and views ----

#[test]
fn test_metadata_is_bytearray_name_symbol_and_18_decimals() {
    let token = fresh_token();
    let metadata = IERC20MetadataDispatcher { contract_address: token.contract_address };
    assert_eq!(metadata.name(), "Thread Token");
    assert_eq!(metadata.symbol(), "THR");
    assert_eq!(metadata.decimals(), 18);
}

#[test]
fn test_long_name_and_symbol_round_trip() {
    // Longer than one 31-byte word: no short-string limit any more.
    let name: ByteArray = "zkThreads settlement token, thread-ready edition";
    let symbol: ByteArray = "ZKTHREADS-SETTLEMENT-TOKEN-THR-2025";
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let calldata = token_calldata_with(
        registry, name.clone(), symbol.clone(), alice().into(), SUPPLY.into(),
    );
    let token = IThreadTokenDispatcher {
        contract_address: deploy(ThreadToken::TEST_CLASS_HASH, 2, calldata),
    };
    assert_eq!(token.name(), name);
    assert_eq!(token.symbol(), symbol);
}

#[test]
fn test_snake_and_camel_views_agree() {
    let token = fresh_token();
    let erc20 = IERC20Dispatcher { contract_address: token.contract_address };
    let camel = IERC20CamelOnlyDispatcher { contract_address: token.contract_address };
    assert_eq!(erc20.total_supply(), SUPPLY_U256);
    assert_eq!(camel.totalSupply(), SUPPLY_U256);
    assert_eq!(erc20.balance_of(alice()), SUPPLY_U256);
    assert_eq!(camel.balanceOf(alice()), SUPPLY_U256);
    assert_eq!(camel.balanceOf(bob()), 0);
    assert_eq!(erc20.allowance(alice(), bob()), 0);
}

// ---- transfer ----

#[test]
fn test_transfer_emits_the_standard_transfer_layout() {
    let token = fresh_token();
    set_contract_address(alice());
    assert!(token.transfer(bob(), 300));
    assert_eq!(balances(token), (SUPPLY_U256 - 300, 300, 0));
    // keys [selector, from, to], data [value.low, value.high]
    let (keys, data) = next_raw_event(token);
    assert_eq!(keys, array![selector!("Transfer"), alice().into(), bob().into()].span());
    assert_eq!(data, array![300, 0].span());
    assert_no_more_events(token);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_above_u128_is_refused() {
    let token = fresh_token();
    set_contract_address(alice());
    assert_reverted_with(safe(token).transfer(bob(), TWO_POW_128), 'ERC20: amount above u128');
    assert_reverted_with(safe(token).transfer(bob(), infinite()), 'ERC20: amount above u128');
    // A u256 whose low word alone would be a small amount is not truncated to it.
    assert_reverted_with(safe(token).transfer(bob(), TWO_POW_128 + 1), 'ERC20: amount above u128');
    assert_eq!(balances(token), (SUPPLY_U256, 0, 0));
    assert_no_more_events(token);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_from_the_zero_caller_is_refused() {
    let token = fresh_token();
    set_contract_address(zero());
    assert_reverted_with(safe(token).transfer(bob(), 0), 'ERC20: transfer from 0');
}

#[test]
fn test_zero_transfer_is_a_transfer() {
    let token = fresh_token();
    set_contract_address(bob());
    assert!(token.transfer(carol(), 0));
    assert_eq!(next_event(token), transfer_event(bob(), carol(), 0));
}

#[test]
fn test_the_whole_u128_range_moves() {
    // A thread settled bob to the largest balance a slot holds; he can move all of it.
    let (registry, address) = setup();
    let token = IThreadTokenDispatcher { contract_address: address };
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: address }
        .write_slots(THREAD, array![(balance_slot(bob()), u128_max().into())].span());
    drain_events(address);
    assert_eq!(token.balance_of(bob()), u128_max().into());
    set_contract_address(bob());
    assert!(token.transfer(carol(), u128_max().into()));
    assert_eq!(balances(token), (SUPPLY_U256, 0, u128_max().into()));
    assert_eq!(next_event(token), transfer_event(bob(), carol(), u128_max().into()));
}

#[test]
#[feature("safe_dispatcher")]
fn test_a_balance_above_u128_is_refused() {
    // Only reachable when thread-written balances add up to more than the supply: the credit
    // reverts instead of wrapping.
    let (registry, address) = setup();
    let token = IThreadTokenDispatcher { contract_address: address };
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: address }
        .write_slots(THREAD, array![(balance_slot(bob()), u128_max().into())].span());
    drain_events(address);
    set_contract_address(alice());
    assert_reverted_with(safe(token).transfer(bob(), 1), 'ERC20: balance above u128');
    assert_eq!(token.balance_of(alice()), SUPPLY_U256);
    assert_eq!(token.balance_of(bob()), u128_max().into());
    assert_no_more_events(token);
}

// ---- approve and allowance ----

#[test]
fn test_approve_sets_the_allowance_and_emits_the_standard_approval_layout() {
    let token = fresh_token();
    set_contract_address(alice());
    assert!(token.approve(bob(), 500));
    assert_eq!(token.allowance(alice(), bob()), 500);
    assert_eq!(token.allowance(bob(), alice()), 0);
    // keys [selector, owner, spender], data [value.low, value.high]
    let (keys, data) = next_raw_event(token);
    assert_eq!(keys, array![selector!("Approval"), alice().into(), bob().into()].span());
    assert_eq!(data, array![500, 0].span());
    // A second approve replaces the allowance, down to zero.
    assert!(token.approve(bob(), 7));
    assert_eq!(token.allowance(alice(), bob()), 7);
    assert_eq!(next_event(token), approval_event(alice(), bob(), 7));
    assert!(token.approve(bob(), 0));
    assert_eq!(token.allowance(alice(), bob()), 0);
    assert_eq!(next_event(token), approval_event(alice(), bob(), 0));
    // Approving moves nothing.
    assert_eq!(balances(token), (SUPPLY_U256, 0, 0));
    assert_no_more_events(token);
}

#[test]
fn test_allowances_are_full_u256() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), infinite());
    assert_eq!(token.allowance(alice(), bob()), infinite());
    let (_, data) = next_raw_event(token);
    assert_eq!(data, array![u128_max().into(), u128_max().into()].span());
    token.approve(carol(), TWO_POW_128 + 5);
    assert_eq!(token.allowance(alice(), carol()), TWO_POW_128 + 5);
    assert_eq!(next_event(token), approval_event(alice(), carol(), TWO_POW_128 + 5));
}

#[test]
#[feature("safe_dispatcher")]
fn test_approve_to_or_from_zero_is_refused() {
    let token = fresh_token();
    set_contract_address(alice());
    assert_reverted_with(safe(token).approve(zero(), 1), 'ERC20: approve to 0');
    set_contract_address(zero());
    assert_reverted_with(safe(token).approve(bob(), 1), 'ERC20: approve from 0');
    assert_eq!(token.allowance(zero(), bob()), 0);
    assert_no_more_events(token);
}

// ---- transfer_from ----

#[test]
fn test_transfer_from_spends_the_allowance() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), 500);
    drain_events(token.contract_address);
    set_contract_address(bob());
    assert!(token.transfer_from(alice(), carol(), 200));
    assert_eq!(balances(token), (SUPPLY_U256 - 200, 0, 200));
    assert_eq!(token.allowance(alice(), bob()), 300);
    // The allowance left, then the transfer.
    assert_eq!(next_event(token), approval_event(alice(), bob(), 300));
    let (keys, data) = next_raw_event(token);
    assert_eq!(keys, array![selector!("Transfer"), alice().into(), carol().into()].span());
    assert_eq!(data, array![200, 0].span());
    assert_no_more_events(token);
    // The rest of the allowance, exactly.
    assert!(token.transfer_from(alice(), bob(), 300));
    assert_eq!(token.allowance(alice(), bob()), 0);
    assert_eq!(balances(token), (SUPPLY_U256 - 500, 300, 200));
}

#[test]
fn test_transfer_from_camel_case_is_the_same_entry_point() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), 50);
    drain_events(token.contract_address);
    set_contract_address(bob());
    let camel = IERC20CamelOnlyDispatcher { contract_address: token.contract_address };
    assert!(camel.transferFrom(alice(), carol(), 20));
    assert_eq!(token.allowance(alice(), bob()), 30);
    assert_eq!(balances(token), (SUPPLY_U256 - 20, 0, 20));
    assert_eq!(next_event(token), approval_event(alice(), bob(), 30));
    assert_eq!(next_event(token), transfer_event(alice(), carol(), 20));
}

#[test]
fn test_infinite_allowance_is_not_decreased() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), infinite());
    drain_events(token.contract_address);
    set_contract_address(bob());
    token.transfer_from(alice(), carol(), 1_000);
    token.transfer_from(alice(), bob(), SUPPLY_U256 - 1_000);
    assert_eq!(token.allowance(alice(), bob()), infinite());
    assert_eq!(balances(token), (0, SUPPLY_U256 - 1_000, 1_000));
    // Transfers only: the allowance did not change, so no Approval.
    assert_eq!(next_event(token), transfer_event(alice(), carol(), 1_000));
    assert_eq!(next_event(token), transfer_event(alice(), bob(), SUPPLY_U256 - 1_000));
    assert_no_more_events(token);
}

#[test]
fn test_an_allowance_one_below_infinite_is_decreased() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), infinite() - 1);
    set_contract_address(bob());
    token.transfer_from(alice(), carol(), 1);
    assert_eq!(token.allowance(alice(), bob()), infinite() - 2);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_from_beyond_the_allowance_is_refused() {
    let token = fresh_token();
    set_contract_address(bob());
    // No allowance at all.
    assert_reverted_with(
        safe(token).transfer_from(alice(), carol(), 1), 'ERC20: insufficient allowance',
    );
    set_contract_address(alice());
    token.approve(bob(), 100);
    drain_events(token.contract_address);
    set_contract_address(bob());
    assert_reverted_with(
        safe(token).transfer_from(alice(), carol(), 101), 'ERC20: insufficient allowance',
    );
    // Alice's own allowance is not bob's.
    set_contract_address(carol());
    assert_reverted_with(
        safe(token).transfer_from(alice(), carol(), 1), 'ERC20: insufficient allowance',
    );
    assert_eq!(token.allowance(alice(), bob()), 100);
    assert_eq!(balances(token), (SUPPLY_U256, 0, 0));
    assert_no_more_events(token);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_from_beyond_the_balance_is_refused_and_keeps_the_allowance() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), SUPPLY_U256 + 1);
    token.transfer(carol(), 10);
    set_contract_address(carol());
    token.approve(bob(), infinite());
    drain_events(token.contract_address);
    set_contract_address(bob());
    assert_reverted_with(
        safe(token).transfer_from(alice(), carol(), SUPPLY_U256 - 9), 'ERC20: insufficient balance',
    );
    assert_reverted_with(
        safe(token).transfer_from(carol(), bob(), 11), 'ERC20: insufficient balance',
    );
    // The reverted call spent nothing.
    assert_eq!(token.allowance(alice(), bob()), SUPPLY_U256 + 1);
    assert_eq!(balances(token), (SUPPLY_U256 - 10, 0, 10));
    assert_no_more_events(token);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_from_above_u128_is_refused_even_with_an_infinite_allowance() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), infinite());
    drain_events(token.contract_address);
    set_contract_address(bob());
    assert_reverted_with(
        safe(token).transfer_from(alice(), carol(), TWO_POW_128), 'ERC20: amount above u128',
    );
    assert_eq!(balances(token), (SUPPLY_U256, 0, 0));
    assert_no_more_events(token);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_from_with_zero_addresses_is_refused() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), 100);
    drain_events(token.contract_address);
    set_contract_address(bob());
    assert_reverted_with(safe(token).transfer_from(alice(), zero(), 1), 'ERC20: transfer to 0');
    // Nobody can approve for the zero address, so only a zero amount gets past the allowance.
    assert_reverted_with(safe(token).transfer_from(zero(), carol(), 0), 'ERC20: transfer from 0');
    assert_reverted_with(
        safe(token).transfer_from(zero(), carol(), 1), 'ERC20: insufficient allowance',
    );
    assert_eq!(token.allowance(alice(), bob()), 100);
    assert_no_more_events(token);
}

#[test]
fn test_transfer_from_to_the_owner_itself_keeps_the_balance() {
    let token = fresh_token();
    set_contract_address(alice());
    token.approve(bob(), 100);
    set_contract_address(bob());
    token.transfer_from(alice(), alice(), 60);
    assert_eq!(token.balance_of(alice()), SUPPLY_U256);
    assert_eq!(token.allowance(alice(), bob()), 40);
}

// ---- the thread-visible storage ----

#[test]
fn test_balance_slots_hold_the_u128_balance_after_erc20_moves() {
    // What a prover reads: each balance slot is the balance itself, one felt below 2^128;
    // allowances live elsewhere.
    let (registry, address) = setup();
    let token = IThreadTokenDispatcher { contract_address: address };
    set_contract_address(alice());
    token.approve(bob(), infinite());
    set_contract_address(bob());
    token.transfer_from(alice(), carol(), 1_234);
    token.transfer_from(alice(), bob(), 66);
    set_contract_address(registry);
    let slots = IThreadReadyDispatcher { contract_address: address }
        .read_slots(
            THREAD, array![balance_slot(alice()), balance_slot(bob()), balance_slot(carol())].span(),
        );
    assert_eq!(slots, array![(SUPPLY - 1_300).into(), 66, 1_234].span());
}

#[test]
fn test_constructor_accepts_the_largest_u128_supply() {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let calldata = token_calldata_with(
        registry, "Thread Token", "THR", alice().into(), u128_max().into(),
    );
    let token = IThreadTokenDispatcher {
        contract_address: deploy(ThreadToken::TEST_CLASS_HASH, 2, calldata),
    };
    assert_eq!(token.total_supply(), u128_max().into());
    assert_eq!(token.balance_of(alice()), u128_max().into());
}

#[test]
fn test_constructor_refuses_a_supply_above_u128() {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    for supply in array![TWO_POW_128, TWO_POW_128 + 1_000, infinite()] {
        let calldata = token_calldata_with(registry, "Thread Token", "THR", alice().into(), supply);
        let result = starknet::syscalls::deploy_syscall(
            ThreadToken::TEST_CLASS_HASH.try_into().unwrap(), 3, calldata.span(), false,
        );
        match result {
            Result::Ok(_) => panic!("deployed with a supply above u128"),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'ERC20: supply above u128'),
        }
    };
}

#[test]
fn test_erc20_dispatcher_reaches_every_snake_case_entry_point() {
    // A contract written against the plain IERC20 interface (as BalanceReader is).
    let token = fresh_token();
    let erc20 = IERC20Dispatcher { contract_address: token.contract_address };
    set_contract_address(alice());
    assert!(erc20.approve(bob(), 10));
    assert!(erc20.transfer(carol(), 5));
    set_contract_address(bob());
    assert!(erc20.transfer_from(alice(), bob(), 10));
    assert_eq!(erc20.allowance(alice(), bob()), 0);
    assert_eq!(erc20.balance_of(alice()), SUPPLY_U256 - 15);
    assert_eq!(erc20.total_supply(), SUPPLY_U256);
}
