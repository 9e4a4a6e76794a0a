//! Interfaces shared by the thread registry, thread-ready contracts and verifier programs.
//!
//! A slot value crosses these interfaces as the tuple `(contract, key, value)`: `contract` is the
//! thread contract owning the slot, `key` its raw storage address (a felt below 2^251), `value`
//! the raw felt stored there.

use starknet::{ClassHash, ContractAddress};

/// What the thread registry calls on a contract that embeds the thread component.
#[starknet::interface]
pub trait IThreadReady<TContractState> {
    /// Raw values of the storage slots `keys` of this contract, in the same order.
    /// Only the registry may call it, only for a thread this contract belongs to, and only while
    /// this contract accepts the thread's program.
    fn read_slots(self: @TContractState, thread_id: u64, keys: Span<felt252>) -> Span<felt252>;
    /// Writes raw `(key, value)` pairs into this contract's storage, never the component's own
    /// registry and owner slots. Same callers and conditions as `read_slots`.
    fn write_slots(ref self: TContractState, thread_id: u64, slots: Span<(felt252, felt252)>);
    /// The registry this contract trusts with its storage.
    fn thread_registry(self: @TContractState) -> ContractAddress;
}

/// Which thread programs a thread-ready contract lets write its storage: the contract's consent.
/// The registry asks `accepts_program`, then `accepts_thread`, of every contract before it puts
/// them in a thread (or moves a thread to another program), and the contract asks again on every
/// settlement, so revoking a program or unlisting a peer stops the threads that use it.
#[starknet::interface]
pub trait IThreadConsent<TContractState> {
    /// Whether sub-blocks proven by program `program_hash` may read and write this contract.
    fn accepts_program(self: @TContractState, program_hash: ClassHash) -> bool;
    /// Whether this contract may sit in a thread of `program_hash` over exactly `contracts`
    /// (ascending, this contract among them): it accepts the program and, if it accepts it only
    /// beside listed peers (`IThreadPeers`), every other contract of the set is one.
    fn accepts_thread(
        self: @TContractState, program_hash: ClassHash, contracts: Span<ContractAddress>,
    ) -> bool;
    /// Accepts or revokes `program_hash`. Only `thread_owner` may call it.
    /// A program that reads authority from another member (the order book) must be accepted
    /// with `IThreadPeers::accept_program_beside` instead, which lists its peers and sets
    /// `peers_only` in the same call: accepted alone, anyone may put this contract in a thread
    /// beside a member of their own making and move its holders' balances (helper-79's
    /// review).
    fn set_program_accepted(ref self: TContractState, program_hash: ClassHash, accepted: bool);
    /// Who decides which programs this contract accepts.
    fn thread_owner(self: @TContractState) -> ContractAddress;
}

/// Which contracts may share a thread with this one, per program: the second half of consent.
/// A program whose statement reads authority from another member's storage (the order book
/// reads resting orders, which need no new signature to fill, from whatever member presents a
/// book's configuration) is safe for this contract only beside members it trusts: a member of
/// an attacker's making can answer `read_slots` with anything. For such a program the owner
/// lists its peers and sets `peers_only`; every read and write then checks that each other
/// member of the thread is a listed peer. Programs that read nothing from other contracts
/// (the signed token program) are accepted beside any contract, the default.
#[starknet::interface]
pub trait IThreadPeers<TContractState> {
    /// Whether threads of `program_hash` may touch this contract only beside listed peers.
    fn peers_only(self: @TContractState, program_hash: ClassHash) -> bool;
    /// Whether `peer` may share a `program_hash` thread with this contract when `peers_only`.
    fn accepts_peer(self: @TContractState, program_hash: ClassHash, peer: ContractAddress) -> bool;
    /// Sets `peers_only` for `program_hash`. Only `thread_owner` may call it.
    fn set_peers_only(ref self: TContractState, program_hash: ClassHash, peers_only: bool);
    /// Lists or unlists `peer` for `program_hash`. Only `thread_owner` may call it.
    fn set_peer_accepted(
        ref self: TContractState, program_hash: ClassHash, peer: ContractAddress, accepted: bool,
    );
    /// Accepts `program_hash` only beside `peers`, in one call: sets `peers_only`, lists every
    /// peer, then accepts the program (the events in that order), so a program not accepted
    /// before is never accepted beside any contract (one accepted openly before is narrowed).
    /// The way to accept a program that reads authority from another member. Peers listed
    /// before stay listed. Only `thread_owner` may call it.
    fn accept_program_beside(
        ref self: TContractState, program_hash: ClassHash, peers: Span<ContractAddress>,
    );
}

/// The contract set of a thread, as the registry answers it (its `thread_contracts` view).
#[starknet::interface]
pub trait IThreadContracts<TContractState> {
    /// The contracts of thread `thread_id`, ascending.
    fn thread_contracts(self: @TContractState, thread_id: u64) -> Span<ContractAddress>;
}

/// The verifier of one thread program (an AIR). A thread's `program_hash` is the class hash of
/// a contract implementing this; the registry deploys one instance of the class when the
/// program is registered and calls that instance (an ordinary call: the verifier never runs as
/// the registry).
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
    /// The program (verifier class hash) thread `thread_id` runs now; zero for no thread.
    fn thread_program(self: @TContractState, thread_id: u64) -> ClassHash;
}

/// Thread keys: each account registers the key its thread transactions in this contract are
/// signed with, by an ordinary invoke (its account contract decides how that is authorized). See
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
