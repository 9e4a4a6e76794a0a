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
