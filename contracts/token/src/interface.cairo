use starknet::ContractAddress;

/// The token's own entry points (the thread entry points are `thread::interface::IThreadReady`).
#[starknet::interface]
pub trait IThreadToken<TContractState> {
    fn name(self: @TContractState) -> felt252;
    fn symbol(self: @TContractState) -> felt252;
    fn decimals(self: @TContractState) -> u8;
    fn total_supply(self: @TContractState) -> u128;
    fn balance_of(self: @TContractState, account: ContractAddress) -> u128;
    /// Moves `amount` from the caller to `recipient`.
    fn transfer(ref self: TContractState, recipient: ContractAddress, amount: u128) -> bool;
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
