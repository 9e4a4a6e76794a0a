/// The thread registry.
///
/// Verification runs without the registry's identity. `register_program` deploys one instance
/// of the program's verifier class (`deploy_syscall(program_hash, salt: program_hash, [])`) and
/// `settle` reaches it with an ordinary contract call. The verifier therefore runs as its own
/// contract: its storage writes land in its own storage, and any call it makes arrives with the
/// instance as caller, which no thread contract, thread admin or registry owner check accepts.
/// All a registered program can do is accept or reject the proofs of the threads that use it
/// (and each thread contract decides which programs it lets near its storage). A verifier that
/// calls back into `settle` meets the reentrancy guard.
#[starknet::contract]
pub mod ThreadRegistry {
    use core::poseidon::poseidon_hash_span;
    use registry::errors;
    use registry::interface::{IThreadRegistry, SettledSlot, ThreadInfo, TransactionList};
    use starknet::storage::{
        Map, MutableVecTrait, StorageMapReadAccess, StorageMapWriteAccess, StoragePathEntry,
        StoragePointerReadAccess, StoragePointerWriteAccess, Vec, VecTrait,
    };
    use starknet::syscalls::{call_contract_syscall, deploy_syscall, emit_event_syscall};
    use stark_verifier::channel::poseidon_hash_felts;
    use starknet::{ClassHash, ContractAddress, SyscallResultTrait, get_caller_address};
    use thread::interface::{
        IThreadConsentDispatcher, IThreadConsentDispatcherTrait, IThreadMembership,
    };

    /// One thread.
    #[starknet::storage_node]
    pub struct ThreadRecord {
        pub os_version: felt252,
        pub program_hash: ClassHash,
        pub admin: ContractAddress,
        pub active: bool,
        pub sequence: u64,
        pub contract_set_commitment: felt252,
        /// The contract set in ascending order, and the same set as a membership map.
        pub contracts: Vec<ContractAddress>,
        pub members: Map<ContractAddress, bool>,
        pub allowlist_enabled: bool,
        /// `set_provers` replaces the allowlist by moving to a fresh generation, so old entries
        /// never need clearing.
        pub allowlist_generation: u32,
        pub provers: Map<(u32, ContractAddress), bool>,
        /// The same allowlist as a list, for `thread_provers`: `prover_list[(generation, i)]`
        /// for `i < prover_count`, the count of the current generation.
        pub prover_list: Map<(u32, u32), ContractAddress>,
        pub prover_count: u32,
    }

    #[storage]
    struct Storage {
        owner: ContractAddress,
        /// Registration order of each OS version, from 1; 0 = not registered. "Newer" means
        /// registered later.
        os_version_index: Map<felt252, u32>,
        os_version_count: u32,
        /// The OS version each vetted program (verifier class hash) belongs to.
        program_registered: Map<ClassHash, bool>,
        program_os_version: Map<ClassHash, felt252>,
        /// The instance of each program's verifier class the registry deployed and calls.
        program_verifier: Map<ClassHash, ContractAddress>,
        /// Threads have ids 1..=thread_count.
        thread_count: u64,
        threads: Map<u64, ThreadRecord>,
        /// Set while `settle` runs: settlement calls out to thread contracts, and a contract in
        /// the set must not be able to settle again from inside (it could interleave two
        /// sub-blocks checked against the same state).
        settling: bool,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        OsVersionRegistered: OsVersionRegistered,
        ProgramRegistered: ProgramRegistered,
        ThreadCreated: ThreadCreated,
        ThreadUpgraded: ThreadUpgraded,
        ProversChanged: ProversChanged,
        ThreadActivityChanged: ThreadActivityChanged,
        SubBlockSettled: SubBlockSettled,
        SubBlockSettledSummary: SubBlockSettledSummary,
    }

    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct OsVersionRegistered {
        #[key]
        pub os_version: felt252,
        /// Registration order, from 1.
        pub index: u32,
    }

    /// `program_hash` was vetted under `os_version`; `verifier` is the instance of that class
    /// the registry deployed for it, the contract `settle` calls.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ProgramRegistered {
        #[key]
        pub os_version: felt252,
        #[key]
        pub program_hash: ClassHash,
        pub verifier: ContractAddress,
    }

    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ThreadCreated {
        #[key]
        pub thread_id: u64,
        pub os_version: felt252,
        pub program_hash: ClassHash,
        pub admin: ContractAddress,
        pub contract_set_commitment: felt252,
        pub contracts: Span<ContractAddress>,
        pub provers: Span<ContractAddress>,
    }

    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ThreadUpgraded {
        #[key]
        pub thread_id: u64,
        pub os_version: felt252,
        pub program_hash: ClassHash,
    }

    /// The allowlist now is exactly `provers`, each once (empty: anyone may settle).
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ProversChanged {
        #[key]
        pub thread_id: u64,
        pub provers: Span<ContractAddress>,
    }

    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct ThreadActivityChanged {
        #[key]
        pub thread_id: u64,
        pub active: bool,
    }

    /// Outputs per `SubBlockSettled` event. Starknet caps one event's data at 300 felts and its
    /// keys at 50 (blockifier versioned constants, `tx_event_limits`). The event's keys are
    /// `selector, thread_id, sequence`, its data `chunk, n_chunks, outputs.len()` and 3 felts per
    /// output, so 3 + 3 * 96 = 291 fits (99 would too; 96 leaves room and is the chunk size
    /// clients know). A settlement emits `n_chunks + 1` registry events (the chunks and the
    /// summary) and one `SlotsWritten` per written contract, within the 1000 events a
    /// transaction may emit up to ~95,000 outputs: far past what a settlement's calldata and
    /// Cairo steps allow (the batcher's default of 110 slots is 2 chunks; the 10M-step bound
    /// is near 2,300 slots, 24 chunks).
    pub const SETTLED_OUTPUTS_PER_EVENT: u32 = 96;

    /// Sub-block `sequence` of `thread_id` was settled. Its state diff, in slot order, is split
    /// over `n_chunks >= 1` events emitted in order `chunk = 0, 1, ...`, each with at most
    /// `SETTLED_OUTPUTS_PER_EVENT` outputs (an empty sub-block emits one event with none): their
    /// concatenation is enough to rebuild thread state from events alone. Both ids are keys, so
    /// an indexer can filter by thread and by sequence. A token's `thread_slots(account)` maps
    /// accounts to the slot keys.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct SubBlockSettled {
        #[key]
        pub thread_id: u64,
        #[key]
        pub sequence: u64,
        pub chunk: u32,
        pub n_chunks: u32,
        pub outputs: Span<SettledSlot>,
    }

    /// Emitted once per settlement, after its `SubBlockSettled` chunks: `prover` (the caller of
    /// `settle`) settled sub-block `sequence` of `thread_id`, `n_inputs` slots read and
    /// `n_outputs` written (in `n_chunks` chunks), carrying the `n_transactions` transactions
    /// whose list the proof commits to as `transactions_commitment` (`TransactionList`: a
    /// client recomputes it from the batcher's published transactions). `public_input_hash` is
    /// `poseidon_hash_span(public_input)`, the statement the verifier accepted (`public_input`
    /// view), so a published sub-block's inputs and outputs can be checked from events alone.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct SubBlockSettledSummary {
        #[key]
        pub thread_id: u64,
        #[key]
        pub sequence: u64,
        pub prover: ContractAddress,
        pub n_inputs: u32,
        pub n_outputs: u32,
        pub n_chunks: u32,
        pub n_transactions: u32,
        pub transactions_commitment: felt252,
        pub public_input_hash: felt252,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        assert(is_non_zero(owner), errors::ZERO_OWNER);
        self.owner.write(owner);
    }

    #[abi(embed_v0)]
    impl ThreadRegistryImpl of IThreadRegistry<ContractState> {
        fn register_os_version(ref self: ContractState, os_version: felt252) {
            self.assert_owner();
            self.assert_not_settling();
            assert(self.os_version_index.read(os_version) == 0, errors::OS_VERSION_REGISTERED);
            let index = self.os_version_count.read() + 1;
            self.os_version_count.write(index);
            self.os_version_index.write(os_version, index);
            self.emit(OsVersionRegistered { os_version, index });
        }

        fn register_program(ref self: ContractState, os_version: felt252, program_hash: ClassHash) {
            self.assert_owner();
            self.assert_not_settling();
            assert(self.os_version_index.read(os_version) != 0, errors::UNKNOWN_OS_VERSION);
            assert(!self.program_registered.read(program_hash), errors::PROGRAM_REGISTERED);
            // One instance per program, at an address anyone can recompute (deployer = this
            // registry, salt = class hash, no constructor arguments). An undeclared class, or
            // one whose constructor needs arguments, cannot be registered.
            let (verifier, _) = deploy_syscall(
                program_hash, program_hash.into(), array![].span(), false,
            )
                .unwrap_syscall();
            self.program_registered.write(program_hash, true);
            self.program_os_version.write(program_hash, os_version);
            self.program_verifier.write(program_hash, verifier);
            self.emit(ProgramRegistered { os_version, program_hash, verifier });
        }

        fn create_thread(
            ref self: ContractState,
            os_version: felt252,
            program_hash: ClassHash,
            contracts: Span<ContractAddress>,
            admin: ContractAddress,
            provers: Span<ContractAddress>,
        ) -> u64 {
            self.assert_not_settling();
            self.assert_program_of(os_version, program_hash);
            assert(is_non_zero(admin), errors::ZERO_ADMIN);
            assert(contracts.len() != 0, errors::EMPTY_CONTRACT_SET);

            let thread_id = self.thread_count.read() + 1;
            self.thread_count.write(thread_id);
            let thread = self.threads.entry(thread_id);

            // Strictly ascending (as integers) rules out duplicates and fixes the order the
            // commitment hashes.
            let mut preimage: Array<felt252> = array![contracts.len().into()];
            let mut previous: u256 = 0;
            for contract in contracts {
                let raw: felt252 = (*contract).into();
                assert(raw != 0, errors::ZERO_CONTRACT);
                let current: u256 = raw.into();
                assert(previous < current, errors::CONTRACTS_UNSORTED);
                previous = current;
                thread.contracts.append().write(*contract);
                thread.members.entry(*contract).write(true);
                preimage.append(raw);
            };
            let contract_set_commitment = poseidon_hash_span(preimage.span());
            // Every contract consents to the program beside the others (one that cannot answer
            // cannot join).
            assert_all_consent(contracts, program_hash, errors::PROGRAM_NOT_ACCEPTED);

            thread.os_version.write(os_version);
            thread.program_hash.write(program_hash);
            thread.admin.write(admin);
            thread.active.write(true);
            thread.contract_set_commitment.write(contract_set_commitment);
            let provers = self.write_allowlist(thread_id, provers);

            self
                .emit(
                    ThreadCreated {
                        thread_id,
                        os_version,
                        program_hash,
                        admin,
                        contract_set_commitment,
                        contracts,
                        provers,
                    },
                );
            thread_id
        }

        fn upgrade_thread(
            ref self: ContractState, thread_id: u64, os_version: felt252, program_hash: ClassHash,
        ) {
            self.assert_admin(thread_id);
            self.assert_not_settling();
            self.assert_program_of(os_version, program_hash);
            let thread = self.threads.entry(thread_id);
            let current_index = self.os_version_index.read(thread.os_version.read());
            assert(
                self.os_version_index.read(os_version) > current_index,
                errors::OS_VERSION_NOT_NEWER,
            );
            // The thread's contracts consented to the old program, not to this one.
            assert_all_consent(
                self.thread_contracts(thread_id), program_hash, errors::UPGRADE_NOT_ACCEPTED,
            );
            thread.os_version.write(os_version);
            thread.program_hash.write(program_hash);
            self.emit(ThreadUpgraded { thread_id, os_version, program_hash });
        }

        fn set_provers(ref self: ContractState, thread_id: u64, provers: Span<ContractAddress>) {
            self.assert_admin(thread_id);
            self.assert_not_settling();
            let provers = self.write_allowlist(thread_id, provers);
            self.emit(ProversChanged { thread_id, provers });
        }

        fn set_active(ref self: ContractState, thread_id: u64, active: bool) {
            self.assert_admin(thread_id);
            self.assert_not_settling();
            self.threads.entry(thread_id).active.write(active);
            self.emit(ThreadActivityChanged { thread_id, active });
        }

        fn settle(
            ref self: ContractState,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
            proof: Span<felt252>,
        ) {
            self.settle_sub_block(thread_id, sequence, inputs, outputs, transactions, proof, false);
        }

        fn settle_checking_inputs_first(
            ref self: ContractState,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
            proof: Span<felt252>,
        ) {
            self.settle_sub_block(thread_id, sequence, inputs, outputs, transactions, proof, true);
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }

        fn is_os_version_registered(self: @ContractState, os_version: felt252) -> bool {
            self.os_version_index.read(os_version) != 0
        }

        fn program_os_version(self: @ContractState, program_hash: ClassHash) -> Option<felt252> {
            if self.program_registered.read(program_hash) {
                Option::Some(self.program_os_version.read(program_hash))
            } else {
                Option::None
            }
        }

        fn program_verifier(self: @ContractState, program_hash: ClassHash) -> ContractAddress {
            self.program_verifier.read(program_hash)
        }

        fn thread_count(self: @ContractState) -> u64 {
            self.thread_count.read()
        }

        fn thread(self: @ContractState, thread_id: u64) -> ThreadInfo {
            self.assert_thread_exists(thread_id);
            let thread = self.threads.entry(thread_id);
            ThreadInfo {
                os_version: thread.os_version.read(),
                program_hash: thread.program_hash.read(),
                admin: thread.admin.read(),
                active: thread.active.read(),
                sequence: thread.sequence.read(),
                contract_set_commitment: thread.contract_set_commitment.read(),
                contract_count: thread.contracts.len().try_into().unwrap(),
                allowlist_enabled: thread.allowlist_enabled.read(),
            }
        }

        fn thread_contracts(self: @ContractState, thread_id: u64) -> Span<ContractAddress> {
            self.assert_thread_exists(thread_id);
            let contracts = self.threads.entry(thread_id).contracts;
            let mut result = array![];
            let mut i = 0;
            let n = contracts.len();
            while i != n {
                result.append(contracts.at(i).read());
                i += 1;
            };
            result.span()
        }

        fn next_sequence(self: @ContractState, thread_id: u64) -> u64 {
            self.assert_thread_exists(thread_id);
            self.threads.entry(thread_id).sequence.read()
        }

        fn is_prover_allowed(self: @ContractState, thread_id: u64, prover: ContractAddress) -> bool {
            let thread = self.threads.entry(thread_id);
            if !thread.allowlist_enabled.read() {
                return true;
            }
            thread.provers.entry((thread.allowlist_generation.read(), prover)).read()
        }

        fn thread_provers(self: @ContractState, thread_id: u64) -> Span<ContractAddress> {
            self.assert_thread_exists(thread_id);
            let thread = self.threads.entry(thread_id);
            let generation = thread.allowlist_generation.read();
            let mut provers = array![];
            for index in 0..thread.prover_count.read() {
                provers.append(thread.prover_list.entry((generation, index)).read());
            };
            provers.span()
        }

        fn public_input(
            self: @ContractState,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
        ) -> Span<felt252> {
            self.assert_thread_exists(thread_id);
            self.encode_public_input(thread_id, sequence, inputs, outputs, transactions)
        }
    }

    /// Thread-ready contracts ask this before they let the registry touch their storage.
    #[abi(embed_v0)]
    impl ThreadMembershipImpl of IThreadMembership<ContractState> {
        fn thread_includes(self: @ContractState, thread_id: u64, contract: ContractAddress) -> bool {
            self.threads.entry(thread_id).members.entry(contract).read()
        }

        fn thread_program(self: @ContractState, thread_id: u64) -> ClassHash {
            self.threads.entry(thread_id).program_hash.read()
        }
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        /// `settle` (`inputs_first`: `settle_checking_inputs_first`), steps 1-5.
        fn settle_sub_block(
            ref self: ContractState,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
            proof: Span<felt252>,
            inputs_first: bool,
        ) {
            assert(!self.settling.read(), errors::REENTRANT_SETTLE);
            self.settling.write(true);

            // 1. The thread exists, is active and accepts this prover.
            self.assert_thread_exists(thread_id);
            let thread = self.threads.entry(thread_id);
            assert(thread.active.read(), errors::THREAD_INACTIVE);
            let prover = get_caller_address();
            assert(self.is_prover_allowed(thread_id, prover), errors::PROVER_NOT_ALLOWED);

            // 2. Replay and reorder protection.
            assert(sequence == thread.sequence.read(), errors::WRONG_SEQUENCE);

            // 3. Isolation: sorted lists (one entry per slot) over the thread's contracts only.
            // The same walks group each list by contract for step 5 (the lists are calldata, so
            // nothing they gather can change before it is used).
            let reads = self.input_runs(thread_id, inputs);
            let (writes, chunks) = self.output_runs(thread_id, sequence, outputs);

            // 3b. (`settle_checking_inputs_first`) Every input is current before the proof is
            // checked, so that a stale one costs its reads, not a verification. Step 5 checks
            // each contract's again right before its writes: member code runs in between.
            if inputs_first {
                check_runs(thread_id, reads.span());
            }

            // 4. The proof, for a public input built here from registry state and the lists,
            // checked by the program's verifier instance: a call, not a library call, so the
            // verifier never acts as the registry.
            // `verify`'s calldata is built here as `[n, public_input, m, proof]` (what the
            // dispatcher would serialize felt by felt, at ~17 steps a felt).
            let mut calldata = array![
                (PUBLIC_INPUT_HEADER_LEN + 3 * (inputs.len() + outputs.len())).into(),
            ];
            self.append_public_input(ref calldata, thread_id, sequence, inputs, outputs, transactions);
            let public_input = calldata.span().slice(1, calldata.len() - 1);
            calldata.append(proof.len().into());
            append_felts(ref calldata, proof);
            let verifier = self.program_verifier.read(thread.program_hash.read());
            assert(verifies(verifier, calldata.span()), errors::INVALID_PROOF);

            // 5. The precondition and the state diff, contract by contract: each member's
            // inputs are read and compared right before its outputs are written, so no other
            // member's code runs between a contract's check and its write. (Every input checked
            // first and every output written after let a member's `read_slots` or
            // `write_slots` move another member's state in between: a hostile member of a
            // thread beside a token could spend its balance on L2 there and have the thread's
            // write of the old debit land on top, a double spend.) Member code that runs after
            // a contract is written sees the settled state.
            apply_runs(thread_id, reads, writes);
            thread.sequence.write(sequence + 1);
            let n_chunks = emit_state_diff(chunks);
            self
                .emit(
                    SubBlockSettledSummary {
                        thread_id,
                        sequence,
                        prover,
                        n_inputs: inputs.len(),
                        n_outputs: outputs.len(),
                        n_chunks,
                        n_transactions: transactions.count,
                        transactions_commitment: transactions.commitment,
                        public_input_hash: poseidon_hash_felts(public_input),
                    },
                );

            self.settling.write(false);
        }

        fn assert_owner(self: @ContractState) {
            assert(get_caller_address() == self.owner.read(), errors::CALLER_NOT_OWNER);
        }

        fn assert_thread_exists(self: @ContractState, thread_id: u64) {
            assert(
                thread_id != 0 && thread_id <= self.thread_count.read(), errors::UNKNOWN_THREAD,
            );
        }

        /// Nothing a settlement relies on changes while it runs: a member the registry calls
        /// in `settle` (any contract of a thread, the attacker's own included) could otherwise
        /// re-enter as a thread's admin and, say, upgrade the thread to a program the other
        /// members accept after they revoked the one that proved the sub-block, which their
        /// `read_slots`/`write_slots` check at call time.
        fn assert_not_settling(self: @ContractState) {
            assert(!self.settling.read(), errors::SETTLE_IN_PROGRESS);
        }

        fn assert_admin(self: @ContractState, thread_id: u64) {
            self.assert_thread_exists(thread_id);
            assert(
                get_caller_address() == self.threads.entry(thread_id).admin.read(),
                errors::CALLER_NOT_ADMIN,
            );
        }

        /// `os_version` is registered and `program_hash` was vetted under it.
        fn assert_program_of(self: @ContractState, os_version: felt252, program_hash: ClassHash) {
            assert(self.os_version_index.read(os_version) != 0, errors::UNKNOWN_OS_VERSION);
            assert(
                self.program_registered.read(program_hash)
                    && self.program_os_version.read(program_hash) == os_version,
                errors::UNKNOWN_PROGRAM,
            );
        }

        /// Replaces the allowlist of `thread_id` by `provers` (empty: open to anyone) and
        /// returns it as stored: in the given order, repeats dropped.
        fn write_allowlist(
            ref self: ContractState, thread_id: u64, provers: Span<ContractAddress>,
        ) -> Span<ContractAddress> {
            let thread = self.threads.entry(thread_id);
            let generation = thread.allowlist_generation.read() + 1;
            thread.allowlist_generation.write(generation);
            let mut listed = array![];
            for prover in provers {
                let allowed = thread.provers.entry((generation, *prover));
                if !allowed.read() {
                    allowed.write(true);
                    thread.prover_list.entry((generation, listed.len())).write(*prover);
                    listed.append(*prover);
                }
            };
            thread.prover_count.write(listed.len());
            thread.allowlist_enabled.write(listed.len() != 0);
            listed.span()
        }

        /// Asserts that every input is strictly after the previous one by (contract, key), so
        /// no slot appears twice, and that every contract is in the thread's set; returns the
        /// inputs grouped by contract: `(contract, keys, values)` per run.
        fn input_runs(
            self: @ContractState, thread_id: u64, slots: Span<(ContractAddress, felt252, felt252)>,
        ) -> Array<(ContractAddress, Span<felt252>, Span<felt252>)> {
            let members = self.threads.entry(thread_id).members;
            let mut runs = array![];
            let mut rest = slots;
            let mut last_contract: Option<felt252> = Option::None;
            // One iteration per run of one contract; its first slot is checked here (membership
            // read once per run), the rest of the run by the inner loop.
            while let Option::Some(slot) = rest.pop_front() {
                let (contract, key, value) = *slot;
                assert_run_after(last_contract, contract);
                assert(members.entry(contract).read(), errors::CONTRACT_NOT_IN_SET);
                let mut keys = array![key];
                let mut values = array![value];
                let mut last_key: u256 = key.into();
                loop {
                    let mut next = rest;
                    match next.pop_front() {
                        Option::Some(slot) => {
                            let (next_contract, key, value) = *slot;
                            if next_contract != contract {
                                break;
                            }
                            let key_wide: u256 = key.into();
                            assert(last_key < key_wide, errors::UNSORTED_SLOTS);
                            last_key = key_wide;
                            keys.append(key);
                            values.append(value);
                            rest = next;
                        },
                        Option::None => { break; },
                    }
                };
                runs.append((contract, keys.span(), values.span()));
                last_contract = Option::Some(contract.into());
            };
            runs
        }

        /// The same checks over the outputs; returns them grouped by contract, `(contract,
        /// [key, value]*)` per run (flat), and the data of the `SubBlockSettled` events that publish
        /// them (`emit_state_diff`).
        fn output_runs(
            self: @ContractState,
            thread_id: u64,
            sequence: u64,
            slots: Span<(ContractAddress, felt252, felt252)>,
        ) -> (Array<(ContractAddress, Span<felt252>)>, StateDiff) {
            let members = self.threads.entry(thread_id).members;
            let mut runs = array![];
            let mut diff = StateDiffBuilder {
                chunks: array![],
                data: array![],
                chunk: 0,
                left: slots.len(),
                room: 0,
                n_chunks: n_chunks(slots.len()),
            };
            let mut rest = slots;
            let mut last_contract: Option<felt252> = Option::None;
            while let Option::Some(slot) = rest.pop_front() {
                let (contract, key, value) = *slot;
                assert_run_after(last_contract, contract);
                assert(members.entry(contract).read(), errors::CONTRACT_NOT_IN_SET);
                let mut run = array![key, value];
                diff.append(contract, key, value);
                let mut last_key: u256 = key.into();
                loop {
                    let mut next = rest;
                    match next.pop_front() {
                        Option::Some(slot) => {
                            let (next_contract, key, value) = *slot;
                            if next_contract != contract {
                                break;
                            }
                            let key_wide: u256 = key.into();
                            assert(last_key < key_wide, errors::UNSORTED_SLOTS);
                            last_key = key_wide;
                            run.append(key);
                            run.append(value);
                            diff.append(contract, key, value);
                            rest = next;
                        },
                        Option::None => { break; },
                    }
                };
                runs.append((contract, run.span()));
                last_contract = Option::Some(contract.into());
            };
            (runs, diff.finish(thread_id, sequence))
        }

        /// `[os_version, program_hash, thread_id, sequence, contract_set_commitment,
        ///   n_inputs, (contract, key, value)*, n_outputs, (contract, key, value)*]`
        fn encode_public_input(
            self: @ContractState,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
        ) -> Span<felt252> {
            let mut public_input = array![];
            self
                .append_public_input(
                    ref public_input, thread_id, sequence, inputs, outputs, transactions,
                );
            public_input.span()
        }

        /// Appends the public input (`encode_public_input`) to `felts`:
        /// `PUBLIC_INPUT_HEADER_LEN + 3 (n_inputs + n_outputs)` felts.
        fn append_public_input(
            self: @ContractState,
            ref felts: Array<felt252>,
            thread_id: u64,
            sequence: u64,
            inputs: Span<(ContractAddress, felt252, felt252)>,
            outputs: Span<(ContractAddress, felt252, felt252)>,
            transactions: TransactionList,
        ) {
            let thread = self.threads.entry(thread_id);
            felts.append(thread.os_version.read());
            felts.append(thread.program_hash.read().into());
            felts.append(thread_id.into());
            felts.append(sequence.into());
            felts.append(thread.contract_set_commitment.read());
            felts.append(transactions.count.into());
            felts.append(transactions.commitment);
            append_slots(ref felts, inputs);
            append_slots(ref felts, outputs);
        }
    }

    /// Felts of the public input besides the lists' entries: 7 before the lists, one count each.
    const PUBLIC_INPUT_HEADER_LEN: u32 = 9;

    /// `IThreadVerifier::verify` of `verifier` on calldata `[n, public_input, m, proof]`: the
    /// dispatcher's call without its serialization (same syscall, a failed call reverts the
    /// settlement with the callee's reason, a reply that is not a bool fails as the
    /// dispatcher's does).
    fn verifies(verifier: ContractAddress, calldata: Span<felt252>) -> bool {
        let mut reply = call_contract_syscall(verifier, selector!("verify"), calldata)
            .unwrap_syscall();
        Serde::<bool>::deserialize(ref reply).expect('Returned data too short')
    }

    /// Appends `felts` to `out`, 8 per loop iteration (an iteration costs a range check, the
    /// block pop one more).
    fn append_felts(ref out: Array<felt252>, mut felts: Span<felt252>) {
        while let Option::Some(block) = felts.multi_pop_front::<8>() {
            let [f0, f1, f2, f3, f4, f5, f6, f7] = (*block).unbox();
            out.append(f0);
            out.append(f1);
            out.append(f2);
            out.append(f3);
            out.append(f4);
            out.append(f5);
            out.append(f6);
            out.append(f7);
        };
        out.append_span(felts);
    }

    /// Reverts unless every contract of `contracts` accepts `program_hash` (`not_accepted`
    /// otherwise) and accepts it beside the others (`IThreadConsent::accepts_thread`; a contract
    /// that takes the program only beside listed peers refuses a set with any other member).
    /// The contracts check both again on every settlement: this only refuses early a thread
    /// that could never settle.
    fn assert_all_consent(
        contracts: Span<ContractAddress>, program_hash: ClassHash, not_accepted: felt252,
    ) {
        for contract in contracts {
            let consent = IThreadConsentDispatcher { contract_address: *contract };
            assert(consent.accepts_program(program_hash), not_accepted);
            assert(consent.accepts_thread(program_hash, contracts), errors::PEER_NOT_ACCEPTED);
        };
    }

    fn is_non_zero(address: ContractAddress) -> bool {
        let raw: felt252 = address.into();
        raw != 0
    }

    /// A run's contract comes strictly after the previous run's (as integers). Within a run the
    /// contract is compared as a felt (free); only here, once per run, as u256.
    #[inline(never)]
    fn assert_run_after(last_contract: Option<felt252>, contract: ContractAddress) {
        if let Option::Some(last) = last_contract {
            let last: u256 = last.into();
            let current: felt252 = contract.into();
            let current: u256 = current.into();
            assert(last < current, errors::UNSORTED_SLOTS);
        }
    }

    /// `SubBlockSettled` chunks for `n` outputs: at least one.
    fn n_chunks(n: u32) -> u32 {
        if n == 0 {
            1
        } else {
            (n + SETTLED_OUTPUTS_PER_EVENT - 1) / SETTLED_OUTPUTS_PER_EVENT
        }
    }

    /// The state diff's event data as the outputs are walked: finished chunks, the current
    /// one, its index, the outputs not yet in a chunk, and how many more the current one takes
    /// (a felt: counted down without range checks).
    #[derive(Drop)]
    struct StateDiffBuilder {
        chunks: Array<Span<felt252>>,
        data: Array<felt252>,
        chunk: u32,
        left: u32,
        room: felt252,
        n_chunks: u32,
    }

    #[generate_trait]
    impl StateDiffBuilderImpl of StateDiffBuilderTrait {
        #[inline(always)]
        fn append(ref self: StateDiffBuilder, contract: ContractAddress, key: felt252, value: felt252) {
            if self.room == 0 {
                self.next_chunk();
            }
            self.data.append(contract.into());
            self.data.append(key);
            self.data.append(value);
            self.room -= 1;
        }

        /// Closes the current chunk (if any) and opens the next: `[chunk, n_chunks, size]`.
        #[inline(never)]
        fn next_chunk(ref self: StateDiffBuilder) {
            if self.data.len() != 0 {
                self.chunks.append(self.data.span());
                self.chunk += 1;
            }
            let size = if self.left < SETTLED_OUTPUTS_PER_EVENT {
                self.left
            } else {
                SETTLED_OUTPUTS_PER_EVENT
            };
            self.left -= size;
            self.room = size.into();
            self.data = array![self.chunk.into(), self.n_chunks.into(), self.room];
        }

        fn finish(self: StateDiffBuilder, thread_id: u64, sequence: u64) -> StateDiff {
            let StateDiffBuilder { mut chunks, mut data, chunk: _, left: _, room: _, n_chunks } = self;
            if data.len() == 0 {
                // No outputs: one empty chunk.
                data = array![0, 1, 0];
            }
            chunks.append(data.span());
            let keys = array![selector!("SubBlockSettled"), thread_id.into(), sequence.into()];
            StateDiff { keys: keys.span(), chunks: chunks.span(), n_chunks }
        }
    }

    /// The `SubBlockSettled` events of a settlement: the keys they share and each one's data,
    /// `[chunk, n_chunks, n, (contract, key, value)*]` (the layout `SubBlockSettled` derives).
    #[derive(Copy, Drop)]
    struct StateDiff {
        keys: Span<felt252>,
        chunks: Span<Span<felt252>>,
        n_chunks: u32,
    }

    /// Emits the state diff's events in chunk order; returns how many. Their data was built
    /// while the outputs were checked, so they are not walked again.
    fn emit_state_diff(diff: StateDiff) -> u32 {
        let StateDiff { keys, chunks, n_chunks } = diff;
        for data in chunks {
            emit_event_syscall(keys, *data).unwrap_syscall();
        };
        n_chunks
    }

    fn append_slots(ref felts: Array<felt252>, slots: Span<(ContractAddress, felt252, felt252)>) {
        felts.append(slots.len().into());
        // 4 slots per loop iteration: an iteration costs a range check, the block pop one more.
        let mut slots = slots;
        while let Option::Some(block) = slots.multi_pop_front::<4>() {
            let [s0, s1, s2, s3] = (*block).unbox();
            append_slot(ref felts, s0);
            append_slot(ref felts, s1);
            append_slot(ref felts, s2);
            append_slot(ref felts, s3);
        };
        for slot in slots {
            append_slot(ref felts, *slot);
        };
    }

    #[inline(always)]
    fn append_slot(ref felts: Array<felt252>, slot: (ContractAddress, felt252, felt252)) {
        let (contract, key, value) = slot;
        felts.append(contract.into());
        felts.append(key);
        felts.append(value);
    }

    /// Every input run equals current storage (`settle_checking_inputs_first`'s early pass).
    fn check_runs(thread_id: u64, reads: Span<(ContractAddress, Span<felt252>, Span<felt252>)>) {
        for run in reads {
            let (contract, keys, expected) = *run;
            check_run(contract, thread_id, keys, expected);
        };
    }

    /// `contract`'s current values of `keys` are `expected`: one `read_slots` call.
    fn check_run(contract: ContractAddress, thread_id: u64, keys: Span<felt252>, expected: Span<felt252>) {
        let mut current = read_slots(contract, thread_id, keys);
        let mut expected = expected;
        assert(current.len() == expected.len(), errors::BAD_SLOT_REPLY);
        while let Option::Some(value) = current.pop_front() {
            assert(*value == *expected.pop_front().unwrap(), errors::STALE_INPUT);
        };
    }

    /// Per contract, in ascending address order (both lists are sorted): reads its inputs'
    /// slots with one `read_slots` call and compares them, then writes its outputs with one
    /// `write_slots` call. A contract with outputs and no input (the programs' statements
    /// refuse those lists; the registry does not depend on it) is written in its place.
    fn apply_runs(
        thread_id: u64,
        reads: Array<(ContractAddress, Span<felt252>, Span<felt252>)>,
        writes: Array<(ContractAddress, Span<felt252>)>,
    ) {
        let mut reads = reads.span();
        let mut writes = writes.span();
        loop {
            let next_read: Option<u256> = match reads.get(0) {
                Option::Some(run) => {
                    let (contract, _, _) = *run.unbox();
                    let address: felt252 = contract.into();
                    Option::Some(address.into())
                },
                Option::None => Option::None,
            };
            let next_write: Option<u256> = match writes.get(0) {
                Option::Some(run) => {
                    let (contract, _) = *run.unbox();
                    let address: felt252 = contract.into();
                    Option::Some(address.into())
                },
                Option::None => Option::None,
            };
            let (check, write) = match (next_read, next_write) {
                (Option::None, Option::None) => { break; },
                (Option::Some(_), Option::None) => (true, false),
                (Option::None, Option::Some(_)) => (false, true),
                (Option::Some(r), Option::Some(w)) => (r <= w, w <= r),
            };
            if check {
                let (contract, keys, expected) = *reads.pop_front().unwrap();
                check_run(contract, thread_id, keys, expected);
            }
            if write {
                let (contract, pairs) = *writes.pop_front().unwrap();
                write_slots(contract, thread_id, pairs);
            }
        };
    }

    /// `IThreadReady::read_slots(thread_id, keys)` of `contract`: the dispatcher's call with
    /// the calldata `[thread_id, n, keys]` copied 8 felts per loop iteration instead of
    /// serialized felt by felt (a failed call reverts with the callee's reason, a short reply
    /// fails as the dispatcher's does).
    fn read_slots(contract: ContractAddress, thread_id: u64, keys: Span<felt252>) -> Span<felt252> {
        let mut calldata = array![thread_id.into(), keys.len().into()];
        append_felts(ref calldata, keys);
        let mut reply = call_contract_syscall(contract, selector!("read_slots"), calldata.span())
            .unwrap_syscall();
        Serde::<Span<felt252>>::deserialize(ref reply).expect('Returned data too short')
    }

    /// `IThreadReady::write_slots(thread_id, slots)` of `contract`, `pairs` the slots flat
    /// (`[key, value]*`, what a `Span<(felt252, felt252)>` serializes to after its length).
    fn write_slots(contract: ContractAddress, thread_id: u64, pairs: Span<felt252>) {
        let mut calldata = array![thread_id.into(), (pairs.len() / 2).into()];
        append_felts(ref calldata, pairs);
        call_contract_syscall(contract, selector!("write_slots"), calldata.span())
            .unwrap_syscall();
    }
}
