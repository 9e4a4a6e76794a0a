use starknet::{ClassHash, ContractAddress};

/// Everything the registry stores about one thread, except its contract list and allowlist.
#[derive(Copy, Drop, Serde, PartialEq, Debug)]
pub struct ThreadInfo {
    /// The thread protocol version (public-input encoding, verifier core).
    pub os_version: felt252,
    /// Class hash of the thread program's verifier class; the registry calls the instance it
    /// deployed of it (`IThreadRegistry::program_verifier`).
    pub program_hash: ClassHash,
    /// May upgrade the thread, change its prover allowlist and (de)activate it.
    pub admin: ContractAddress,
    /// Inactive threads cannot settle.
    pub active: bool,
    /// Number of settled sub-blocks = the sequence number the next sub-block must carry.
    pub sequence: u64,
    /// `poseidon_hash_span([n, c_1, ..., c_n])` over the contract set in ascending order.
    pub contract_set_commitment: felt252,
    /// Number of contracts in the thread.
    pub contract_count: u32,
    /// Whether only allowlisted provers may settle.
    pub allowlist_enabled: bool,
}

/// The sub-block's transaction list as its proof commits to it: `count` transactions whose
/// digests, in sub-block order, hash to `commitment` (for the signed token program:
/// `zkthread_sig::tx_list`, 8 M31 words packed 31 bits each). The registry passes both to the
/// verifier and publishes them in `SubBlockSettledSummary`, so anyone holding the batcher's
/// published transactions can recompute the commitment and compare. A program that proves no
/// list takes `(0, 0)` and refuses anything else.
#[derive(Copy, Drop, Serde, PartialEq, Debug)]
pub struct TransactionList {
    pub count: u32,
    pub commitment: felt252,
}

/// One entry of a settled sub-block's state diff (`SubBlockSettled`): storage slot `key` of
/// `contract` now holds `value`. Serialized as the three felts `contract, key, value`, the
/// layout of the `(contract, key, value)` tuples `settle` takes.
#[derive(Copy, Drop, Serde, PartialEq, Debug)]
pub struct SettledSlot {
    pub contract: ContractAddress,
    pub key: felt252,
    pub value: felt252,
}

#[starknet::interface]
pub trait IThreadRegistry<TContractState> {
    // Owner: vetting of OS versions and programs.
    fn register_os_version(ref self: TContractState, os_version: felt252);
    /// Vets the verifier class `program_hash` under `os_version` and deploys the one instance of
    /// it that `settle` will call (salt `program_hash`, no constructor arguments). The class must
    /// be declared; it never runs as the registry.
    fn register_program(ref self: TContractState, os_version: felt252, program_hash: ClassHash);

    // Anyone: thread creation.
    fn create_thread(
        ref self: TContractState,
        os_version: felt252,
        program_hash: ClassHash,
        contracts: Span<ContractAddress>,
        admin: ContractAddress,
        provers: Span<ContractAddress>,
    ) -> u64;

    // Thread admin.
    fn upgrade_thread(
        ref self: TContractState, thread_id: u64, os_version: felt252, program_hash: ClassHash,
    );
    fn set_provers(ref self: TContractState, thread_id: u64, provers: Span<ContractAddress>);
    fn set_active(ref self: TContractState, thread_id: u64, active: bool);

    // Provers: settlement of one sub-block. Checks, in order, each with its own revert reason:
    // not re-entered; thread exists, is active, caller allowed; `sequence` is the next one;
    // both lists strictly ascending and over the thread's contracts only; the program's
    // verifier instance accepts `proof` for `public_input` (which carries `transactions`);
    // then contract by contract, every input of the contract equals current storage and its
    // outputs are written at once (no other member's code runs in between). Then bumps the
    // sequence and emits the state diff as `SubBlockSettled` events followed by one
    // `SubBlockSettledSummary`.
    fn settle(
        ref self: TContractState,
        thread_id: u64,
        sequence: u64,
        inputs: Span<(ContractAddress, felt252, felt252)>,
        outputs: Span<(ContractAddress, felt252, felt252)>,
        transactions: TransactionList,
        proof: Span<felt252>,
    );
    // `settle` with one more pass first: every input equals current storage before the proof
    // is checked (a stale one reverts with the same reason), and then again, contract by
    // contract, right before that contract's writes, as in `settle` (member code may run in
    // between). For a prover racing L2 writes to its inputs (any holder can credit a receiver
    // of a proven sub-block): a stale input then costs the transaction its calldata and reads,
    // not a verification, for one more read of every input on every settlement it sends.
    fn settle_checking_inputs_first(
        ref self: TContractState,
        thread_id: u64,
        sequence: u64,
        inputs: Span<(ContractAddress, felt252, felt252)>,
        outputs: Span<(ContractAddress, felt252, felt252)>,
        transactions: TransactionList,
        proof: Span<felt252>,
    );

    // Views.
    fn owner(self: @TContractState) -> ContractAddress;
    fn is_os_version_registered(self: @TContractState, os_version: felt252) -> bool;
    fn program_os_version(self: @TContractState, program_hash: ClassHash) -> Option<felt252>;
    /// The verifier instance deployed for `program_hash` (zero if the program is not registered).
    fn program_verifier(self: @TContractState, program_hash: ClassHash) -> ContractAddress;
    fn thread_count(self: @TContractState) -> u64;
    fn thread(self: @TContractState, thread_id: u64) -> ThreadInfo;
    fn thread_contracts(self: @TContractState, thread_id: u64) -> Span<ContractAddress>;
    fn next_sequence(self: @TContractState, thread_id: u64) -> u64;
    fn is_prover_allowed(self: @TContractState, thread_id: u64, prover: ContractAddress) -> bool;
    /// The thread's prover allowlist as the last `create_thread` or `set_provers` set it, in
    /// that order and without repeats; empty when anyone may settle.
    fn thread_provers(self: @TContractState, thread_id: u64) -> Span<ContractAddress>;
    /// The exact felts the verifier receives for this sub-block (see `settle`).
    fn public_input(
        self: @TContractState,
        thread_id: u64,
        sequence: u64,
        inputs: Span<(ContractAddress, felt252, felt252)>,
        outputs: Span<(ContractAddress, felt252, felt252)>,
        transactions: TransactionList,
    ) -> Span<felt252>;
}
