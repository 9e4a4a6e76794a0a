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

/// Thread keys: each account registers the key its thread transfers are signed with, by an
/// ordinary invoke (its account contract decides how that is authorized). See
/// `docs/signed-transfers.md`, "Thread keys".
#[starknet::interface]
pub trait IThreadKeys<TContractState> {
    /// Sets the caller's key commitment `K` (four 31-bit limbs, each below 2^31 - 1, packed
    /// `K0 + K1 * 2^31 + K2 * 2^62 + K3 * 2^93`; nonzero) and bumps the caller's key nonce by
    /// one: the caller's slot becomes `K + (nonce + 1) * 2^124`. Only the caller's own slot.
    /// Nonces are M31 elements in the thread AIR: a slot whose nonce reached 2^31 - 2 cannot
    /// rotate any more.
    fn set_thread_key(ref self: TContractState, key_commitment: felt252);
    /// The raw key slot of `account`: `K + nonce * 2^124` (0 if it never set a key).
    fn thread_key(self: @TContractState, account: ContractAddress) -> felt252;
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
