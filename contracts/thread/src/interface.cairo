//! Interfaces shared by the thread registry, thread-ready contracts and verifier programs.
//!
//! A slot value crosses these interfaces as the tuple `(contract, key, value)`: `contract` is the
//! thread contract owning the slot, `key` its raw storage address (a felt below 2^251), `value`
//! the raw felt stored there.

use starknet::ContractAddress;

/// What the thread registry calls on a contract that embeds the thread component.
#[starknet::interface]
pub trait IThreadReady<TContractState> {
    /// Raw values of the storage slots `keys` of this contract, in the same order.
    /// Only the registry may call it, and only for a thread this contract belongs to.
    fn read_slots(self: @TContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252>;
    /// Writes raw `(key, value)` pairs into this contract's storage.
    /// Only the registry may call it, and only for a thread this contract belongs to.
    fn write_slots(ref self: TContractState, thread_id: u64, slots: Span<(felt252, felt252)>);
    /// The registry this contract trusts with its storage.
    fn thread_registry(self: @TContractState) -> ContractAddress;
}

/// The verifier of one thread program (an AIR). The registry reaches it with a library call on
/// the program's class hash (the thread's `program_hash`).
#[starknet::interface]
pub trait IThreadVerifier<TContractState> {
    /// Whether `proof` proves a sub-block whose public input is exactly `public_input`.
    fn verify(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool;
}

/// What a thread-ready contract asks its registry before it lets the registry touch its storage.
#[starknet::interface]
pub trait IThreadMembership<TContractState> {
    /// Whether `contract` is in the contract set of thread `thread_id`.
    fn thread_includes(self: @TContractState, thread_id: u64, contract: ContractAddress) -> bool;
}
