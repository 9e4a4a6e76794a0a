use starknet::ContractAddress;

/// The standard fungible-token entry points (SNIP-2, the shape of OpenZeppelin's `IERC20`).
///
/// Amounts are `u256` in the ABI, as every ERC20 client expects, but a thread token keeps each
/// balance in one `u128` slot (what a thread program proves): an amount that does not fit a
/// `u128` reverts with `ERC20: amount above u128` instead of being truncated, and so does a
/// balance that would leave `u128` (`ERC20: balance above u128`). Allowances are full `u256`:
/// an allowance of `u256` max is infinite and is not decreased by `transfer_from`.
#[starknet::interface]
pub trait IERC20<TContractState> {
    fn total_supply(self: @TContractState) -> u256;
    fn balance_of(self: @TContractState, account: ContractAddress) -> u256;
    /// What `spender` may still move out of `owner`'s balance with `transfer_from`.
    fn allowance(self: @TContractState, owner: ContractAddress, spender: ContractAddress) -> u256;
    /// Moves `amount` from the caller to `recipient`; emits `Transfer`.
    fn transfer(ref self: TContractState, recipient: ContractAddress, amount: u256) -> bool;
    /// Moves `amount` from `sender` to `recipient` on the caller's allowance from `sender`.
    /// A finite allowance decreases by `amount` and `Approval` reports what is left; an
    /// infinite one stays and emits nothing. Then `Transfer`.
    fn transfer_from(
        ref self: TContractState, sender: ContractAddress, recipient: ContractAddress, amount: u256,
    ) -> bool;
    /// Sets the caller's allowance for `spender` to `amount` (any `u256`); emits `Approval`.
    fn approve(ref self: TContractState, spender: ContractAddress, amount: u256) -> bool;
}

/// Token metadata (SNIP-2): ByteArray name and symbol, 18 decimals.
#[starknet::interface]
pub trait IERC20Metadata<TContractState> {
    fn name(self: @TContractState) -> ByteArray;
    fn symbol(self: @TContractState) -> ByteArray;
    fn decimals(self: @TContractState) -> u8;
}

/// The camelCase names older wallets and contracts still call; each is its snake_case twin.
#[starknet::interface]
pub trait IERC20CamelOnly<TContractState> {
    fn totalSupply(self: @TContractState) -> u256;
    fn balanceOf(self: @TContractState, account: ContractAddress) -> u256;
    fn transferFrom(
        ref self: TContractState, sender: ContractAddress, recipient: ContractAddress, amount: u256,
    ) -> bool;
}

/// Every ERC20 entry point of `ThreadToken` in one dispatcher (`IERC20`, `IERC20Metadata`,
/// `IERC20CamelOnly`); the thread entry points are `IThreadKeys` and
/// `thread::interface::{IThreadReady, IThreadConsent}`. For callers only: the token implements
/// the three traits above.
#[starknet::interface]
pub trait IThreadToken<TContractState> {
    // IERC20
    fn total_supply(self: @TContractState) -> u256;
    fn balance_of(self: @TContractState, account: ContractAddress) -> u256;
    fn allowance(self: @TContractState, owner: ContractAddress, spender: ContractAddress) -> u256;
    fn transfer(ref self: TContractState, recipient: ContractAddress, amount: u256) -> bool;
    fn transfer_from(
        ref self: TContractState, sender: ContractAddress, recipient: ContractAddress, amount: u256,
    ) -> bool;
    fn approve(ref self: TContractState, spender: ContractAddress, amount: u256) -> bool;
    // IERC20Metadata
    fn name(self: @TContractState) -> ByteArray;
    fn symbol(self: @TContractState) -> ByteArray;
    fn decimals(self: @TContractState) -> u8;
    // IERC20CamelOnly
    fn totalSupply(self: @TContractState) -> u256;
    fn balanceOf(self: @TContractState, account: ContractAddress) -> u256;
    fn transferFrom(
        ref self: TContractState, sender: ContractAddress, recipient: ContractAddress, amount: u256,
    ) -> bool;
}

/// Thread keys (`set_thread_key`, `thread_key`): the thread component's `IThreadKeys`
/// (`thread::interface`), which the token embeds.
pub use thread::interface::{
    IThreadKeys, IThreadKeysDispatcher, IThreadKeysDispatcherTrait, IThreadKeysSafeDispatcher,
    IThreadKeysSafeDispatcherTrait,
};

/// The storage slots a thread reads and writes for one account of a thread token.
#[derive(Copy, Drop, Serde, PartialEq, Debug)]
pub struct ThreadSlots {
    /// The key of `balances[account]`: the slot holding the account's balance (a `u128`).
    pub balance: felt252,
    /// The key of `thread_keys[account]`: the slot holding its thread key and key nonce.
    pub thread_key: felt252,
}

/// Where each account's thread-visible state lives: what an indexer needs to map the
/// `(contract, key, value)` entries of a settlement's state diff (the registry's
/// `SubBlockSettled` events) back to accounts. A slot key is a storage address,
/// `pedersen(sn_keccak(variable name), account) mod (2^251 - 256)`.
#[starknet::interface]
pub trait IThreadSlots<TContractState> {
    /// The storage keys of `account`'s balance and thread-key slots.
    fn thread_slots(self: @TContractState, account: ContractAddress) -> ThreadSlots;
}

/// `BalanceReader`: another contract reading thread-token balances through `balance_of`.
#[starknet::interface]
pub trait IBalanceReader<TContractState> {
    /// Reads `account`'s balance on `token` now, stores it and emits `BalanceSeen`; returns it.
    fn record(ref self: TContractState, token: ContractAddress, account: ContractAddress) -> u128;
    /// The balance the last `record(token, account)` saw (0 if never recorded).
    fn last_seen(self: @TContractState, token: ContractAddress, account: ContractAddress) -> u128;
    /// How many times `record` ran.
    fn record_count(self: @TContractState) -> u64;
}
