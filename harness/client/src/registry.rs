//! The thread registry (`contracts/registry`): typed calls for OS versions, programs, threads,
//! and settlement.

use starknet::core::types::{BlockId, BlockTag, Call, Event, EventFilter};
use starknet::providers::Provider;
use starknet::core::utils::get_contract_address;
use starknet_crypto::poseidon_hash_many;

use crate::calldata::{self, push_felt_span, push_slot_span, SlotValue};
use crate::{ChainReader, call, selector, ChainClient, ClientError, Deployed, FeeMode, Felt, Result, TxOutcome};

/// Event the registry emits when a thread is created (carries the new thread id).
pub const THREAD_CREATED_EVENT: &str = "ThreadCreated";

/// Event the registry emits when a sub-block settles: its state diff, in one or more chunks
/// (Starknet caps one event's data at 300 felts). Keys `[selector, thread_id, sequence]`.
pub const SUB_BLOCK_SETTLED_EVENT: &str = "SubBlockSettled";

/// Event the registry emits once per settlement, after the `SubBlockSettled` chunks: who
/// settled, how many slots, and the hash of the public input. Keys
/// `[selector, thread_id, sequence]`.
pub const SUB_BLOCK_SETTLED_SUMMARY_EVENT: &str = "SubBlockSettledSummary";

/// Outputs per `SubBlockSettled` event (`SETTLED_OUTPUTS_PER_EVENT` in the registry).
pub const SETTLED_OUTPUTS_PER_EVENT: usize = 96;

/// A settled sub-block's state diff, reassembled from its `SubBlockSettled` events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettledStateDiff {
    pub thread_id: u64,
    pub sequence: u64,
    /// The outputs `(contract, key, value)`, in the order the registry applied them.
    pub outputs: Vec<SlotValue>,
}

/// A settlement's `SubBlockSettledSummary` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledSummary {
    pub thread_id: u64,
    pub sequence: u64,
    /// The caller of `settle`.
    pub prover: Felt,
    pub n_inputs: u32,
    pub n_outputs: u32,
    /// How many `SubBlockSettled` chunks carried the outputs.
    pub n_chunks: u32,
    /// The transaction list the proof committed to (see [`TransactionList`]).
    pub transactions: TransactionList,
    /// `poseidon_hash_span(public_input)`: see [`public_input_hash`].
    pub public_input_hash: Felt,
}

/// Where the settlement of one sub-block was recorded on chain ([`Registry::settlement_record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    pub summary: SettledSummary,
    /// The transaction that emitted the summary: the settlement that took the sequence.
    pub tx_hash: Felt,
    /// Its block; `None` while that block is not yet closed.
    pub block: Option<u64>,
}

/// `settle`'s `transactions` argument (`registry::interface::TransactionList`): the number of
/// transactions in the sub-block and the program's commitment to their ordered list (the
/// signed token program: `zkthread_sig::TxListCommitment`, `count` and the packed capacity).
/// A program that proves no list takes `(0, 0)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionList {
    pub count: u32,
    pub commitment: Felt,
}

/// When the registry compares a settlement's inputs with current storage. Either way each
/// contract's inputs are compared right before its outputs are written, after the proof (so no
/// member's code runs between a contract's check and its write); `First` also compares every
/// input before the proof.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputCheck {
    /// `settle`: the cheapest settlement. A stale input reverts after the verification, and
    /// the prover pays for it.
    #[default]
    BeforeWrites,
    /// `settle_checking_inputs_first`: a stale input reverts before the verifier runs (the
    /// prover pays the calldata and the reads), for one more read of every input on every
    /// settlement. For a prover racing L2 writes to its inputs: any holder can credit a
    /// receiver of a proven sub-block.
    First,
}

impl InputCheck {
    /// The registry entry point.
    pub fn entry_point(self) -> &'static str {
        match self {
            InputCheck::BeforeWrites => "settle",
            InputCheck::First => "settle_checking_inputs_first",
        }
    }
}

/// Arguments of `create_thread`.
#[derive(Clone, Debug)]
pub struct NewThread {
    pub os_version: Felt,
    pub program_hash: Felt,
    /// Thread contract set; sent sorted ascending (the registry requires it).
    pub contracts: Vec<Felt>,
    pub admin: Felt,
    /// Prover allowlist; empty means anyone may settle.
    pub provers: Vec<Felt>,
}

/// Arguments of `settle`.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub thread_id: u64,
    pub sequence: u64,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    pub transactions: TransactionList,
    pub proof: Vec<Felt>,
}

impl Settlement {
    /// `settle(thread_id: u64, sequence: u64, inputs: Span<(ContractAddress, felt252, felt252)>,
    /// outputs: Span<...>, transactions: TransactionList, proof: Span<felt252>)`.
    pub fn calldata(&self) -> Vec<Felt> {
        let mut out = vec![Felt::from(self.thread_id), Felt::from(self.sequence)];
        push_slot_span(&mut out, &self.inputs);
        push_slot_span(&mut out, &self.outputs);
        out.extend([Felt::from(self.transactions.count), self.transactions.commitment]);
        push_felt_span(&mut out, &self.proof);
        out
    }
}

/// The registry's view of a thread (`thread(thread_id)`, 8 felts in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    pub os_version: Felt,
    pub program_hash: Felt,
    pub admin: Felt,
    pub active: bool,
    /// Number of settled sub-blocks = the next sequence.
    pub sequence: u64,
    pub contract_set_commitment: Felt,
    pub contract_count: u32,
    pub allowlist_enabled: bool,
}

impl ThreadInfo {
    fn decode(words: &[Felt]) -> Result<Self> {
        let bad = |detail: String| ClientError::Decode {
            what: "thread()".into(),
            detail,
        };
        let [os_version, program_hash, admin, active, sequence, commitment, count, allowlist] =
            words
        else {
            return Err(bad(format!("expected 8 felts, got {}", words.len())));
        };
        let flag = |felt: &Felt| -> Result<bool> {
            match u8::try_from(*felt) {
                Ok(0) => Ok(false),
                Ok(1) => Ok(true),
                _ => Err(bad(format!("bool {felt:#x}"))),
            }
        };
        Ok(Self {
            os_version: *os_version,
            program_hash: *program_hash,
            admin: *admin,
            active: flag(active)?,
            sequence: calldata::single(std::slice::from_ref(sequence), "thread sequence")?,
            contract_set_commitment: *commitment,
            contract_count: calldata::single(std::slice::from_ref(count), "contract count")?,
            allowlist_enabled: flag(allowlist)?,
        })
    }
}

/// `poseidon_hash_span([n, c_1, ..., c_n])` over the ascending contract set, as the registry
/// commits to a thread's contracts in the public input.
pub fn contract_set_commitment(contracts: &[Felt]) -> Felt {
    let mut sorted = contracts.to_vec();
    sorted.sort();
    let mut words = Vec::with_capacity(sorted.len() + 1);
    words.push(Felt::from(sorted.len()));
    words.extend(sorted);
    poseidon_hash_many(&words)
}

/// The public input the verifier receives for a settlement, exactly as the registry builds it:
/// `[os_version, program_hash, thread_id, sequence, contract_set_commitment, n_transactions,
/// transactions_commitment, n_inputs, (contract, key, value)*, n_outputs, (contract, key,
/// value)*]`.
pub fn public_input(
    os_version: Felt,
    program_hash: Felt,
    contracts: &[Felt],
    settlement: &Settlement,
) -> Vec<Felt> {
    public_input_committed(os_version, program_hash, contract_set_commitment(contracts), settlement)
}

/// [`public_input`] with the contract set given by its commitment, as a stored sub-block
/// keeps the thread it was batched for.
pub fn public_input_committed(
    os_version: Felt,
    program_hash: Felt,
    contract_set_commitment: Felt,
    settlement: &Settlement,
) -> Vec<Felt> {
    let mut out = vec![
        os_version,
        program_hash,
        Felt::from(settlement.thread_id),
        Felt::from(settlement.sequence),
        contract_set_commitment,
        Felt::from(settlement.transactions.count),
        settlement.transactions.commitment,
    ];
    push_slot_span(&mut out, &settlement.inputs);
    push_slot_span(&mut out, &settlement.outputs);
    out
}

/// What a settlement's `SubBlockSettledSummary` commits to: Poseidon (`poseidon_hash_span`)
/// over [`public_input`], the exact statement the verifier accepted.
pub fn public_input_hash_committed(
    os_version: Felt,
    program_hash: Felt,
    contract_set_commitment: Felt,
    settlement: &Settlement,
) -> Felt {
    poseidon_hash_many(&public_input_committed(os_version, program_hash, contract_set_commitment, settlement))
}

/// [`public_input_hash_committed`] with the contract set given as addresses.
pub fn public_input_hash(
    os_version: Felt,
    program_hash: Felt,
    contracts: &[Felt],
    settlement: &Settlement,
) -> Felt {
    poseidon_hash_many(&public_input(
        os_version,
        program_hash,
        contracts,
        settlement,
    ))
}

/// Where `registry` deploys the verifier instance of `program_hash` when it registers the
/// program (`deploy_syscall(program_hash, salt: program_hash, [], deploy_from_zero: false)`):
/// anyone can check that `program_verifier` is that instance and not some other contract.
pub fn verifier_address(registry: Felt, program_hash: Felt) -> Felt {
    get_contract_address(program_hash, program_hash, &[], registry)
}

/// A deployed registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registry {
    pub address: Felt,
}

impl Registry {
    /// Deploys the registry with `owner` as its only constructor argument.
    pub async fn deploy(
        client: &ChainClient,
        class_hash: Felt,
        owner: Felt,
        salt: Felt,
    ) -> Result<(Self, Deployed)> {
        let deployed = client.deploy(class_hash, vec![owner], salt).await?;
        Ok((
            Self {
                address: deployed.address,
            },
            deployed,
        ))
    }

    pub fn register_os_version_call(&self, os_version: Felt) -> Result<Call> {
        call(self.address, "register_os_version", vec![os_version])
    }

    pub fn register_program_call(&self, os_version: Felt, program_hash: Felt) -> Result<Call> {
        call(
            self.address,
            "register_program",
            vec![os_version, program_hash],
        )
    }

    pub fn create_thread_call(&self, thread: &NewThread) -> Result<Call> {
        let mut contracts = thread.contracts.clone();
        contracts.sort();
        let mut data = vec![thread.os_version, thread.program_hash];
        push_felt_span(&mut data, &contracts);
        data.push(thread.admin);
        push_felt_span(&mut data, &thread.provers);
        call(self.address, "create_thread", data)
    }

    pub fn settle_call(&self, settlement: &Settlement) -> Result<Call> {
        self.settle_call_checking(settlement, InputCheck::BeforeWrites)
    }

    /// The settle call to the entry point `check` names (the same calldata for both).
    pub fn settle_call_checking(&self, settlement: &Settlement, check: InputCheck) -> Result<Call> {
        call(self.address, check.entry_point(), settlement.calldata())
    }

    pub async fn register_os_version(
        &self,
        client: &ChainClient,
        os_version: Felt,
    ) -> Result<TxOutcome> {
        client
            .invoke(
                vec![self.register_os_version_call(os_version)?],
                FeeMode::default(),
            )
            .await?
            .require_success("register_os_version")
    }

    pub async fn register_program(
        &self,
        client: &ChainClient,
        os_version: Felt,
        program_hash: Felt,
    ) -> Result<TxOutcome> {
        client
            .invoke(
                vec![self.register_program_call(os_version, program_hash)?],
                FeeMode::default(),
            )
            .await?
            .require_success("register_program")
    }

    /// Creates a thread and returns its id (read from the `ThreadCreated` event).
    pub async fn create_thread(
        &self,
        client: &ChainClient,
        thread: &NewThread,
    ) -> Result<(u64, TxOutcome)> {
        let outcome = client
            .invoke(vec![self.create_thread_call(thread)?], FeeMode::default())
            .await?
            .require_success("create_thread")?;
        let thread_id = thread_created_id(self.address, &outcome.events)?;
        Ok((thread_id, outcome))
    }

    /// Sends `settle` and waits for its receipt in a closed block (a settlement is recorded on
    /// it: [`ChainReader::wait_for_receipt`]). With [`FeeMode::Manual`] a failing settlement is
    /// mined as REVERTED (the outcome says why); with estimation it comes back as
    /// [`ClientError::Rejected`].
    pub async fn settle(
        &self,
        client: &ChainClient,
        settlement: &Settlement,
        fee: FeeMode,
    ) -> Result<TxOutcome> {
        self.settle_checking(client, settlement, fee, InputCheck::BeforeWrites).await
    }

    /// [`Registry::settle`] through the entry point `check` names.
    pub async fn settle_checking(
        &self,
        client: &ChainClient,
        settlement: &Settlement,
        fee: FeeMode,
        check: InputCheck,
    ) -> Result<TxOutcome> {
        client
            .invoke_until(vec![self.settle_call_checking(settlement, check)?], fee, crate::Finality::Closed)
            .await
    }

    /// The registry's record of `thread_id`.
    pub async fn thread(&self, client: &ChainReader, thread_id: u64) -> Result<ThreadInfo> {
        ThreadInfo::decode(
            &client
                .call(self.address, "thread", vec![Felt::from(thread_id)])
                .await?,
        )
    }

    /// [`Registry::thread`] and [`Registry::thread_contracts`] in one JSON-RPC batch: one
    /// round trip where a caller needs both (a CLI submit, a batch, `thread show`).
    pub async fn thread_with_contracts(&self, client: &ChainReader, thread_id: u64) -> Result<(ThreadInfo, Vec<Felt>)> {
        let id = vec![Felt::from(thread_id)];
        let answers = client.call_many(&[(self.address, "thread", id.clone()), (self.address, "thread_contracts", id)]).await?;
        let [thread, contracts] = answers.as_slice() else {
            return Err(ClientError::Decode { what: "thread() and thread_contracts()".into(), detail: format!("{} answers to 2 calls", answers.len()) });
        };
        Ok((ThreadInfo::decode(thread)?, felt_span(contracts, "thread_contracts")?))
    }

    /// [`Registry::thread`] as of closed block `block` ([`ChainReader::call_at`]).
    pub async fn thread_at(&self, client: &ChainReader, thread_id: u64, block: u64) -> Result<ThreadInfo> {
        ThreadInfo::decode(&client.call_at(self.address, "thread", vec![Felt::from(thread_id)], block).await?)
    }

    /// Number of threads created so far (ids are 1..=count).
    pub async fn thread_count(&self, client: &ChainReader) -> Result<u64> {
        calldata::single(
            &client.call(self.address, "thread_count", vec![]).await?,
            "thread_count",
        )
    }

    /// The thread's contract set, ascending.
    pub async fn thread_contracts(
        &self,
        client: &ChainReader,
        thread_id: u64,
    ) -> Result<Vec<Felt>> {
        let words = client
            .call(
                self.address,
                "thread_contracts",
                vec![Felt::from(thread_id)],
            )
            .await?;
        felt_span(&words, "thread_contracts")
    }

    /// The thread's prover allowlist in the order it was set, each prover once; empty when
    /// anyone may settle.
    pub async fn thread_provers(&self, client: &ChainReader, thread_id: u64) -> Result<Vec<Felt>> {
        let words = client
            .call(self.address, "thread_provers", vec![Felt::from(thread_id)])
            .await?;
        felt_span(&words, "thread_provers")
    }

    /// Whether `prover` may settle sub-blocks of `thread_id` now.
    pub async fn is_prover_allowed(
        &self,
        client: &ChainReader,
        thread_id: u64,
        prover: Felt,
    ) -> Result<bool> {
        let words = client
            .call(
                self.address,
                "is_prover_allowed",
                vec![Felt::from(thread_id), prover],
            )
            .await?;
        Ok(calldata::single::<u8>(&words, "is_prover_allowed")? == 1)
    }

    /// The public input the registry would hand the verifier (view; for cross-checks).
    pub async fn public_input(
        &self,
        client: &ChainReader,
        settlement: &Settlement,
    ) -> Result<Vec<Felt>> {
        let mut data = vec![
            Felt::from(settlement.thread_id),
            Felt::from(settlement.sequence),
        ];
        push_slot_span(&mut data, &settlement.inputs);
        push_slot_span(&mut data, &settlement.outputs);
        data.extend([Felt::from(settlement.transactions.count), settlement.transactions.commitment]);
        let words = client.call(self.address, "public_input", data).await?;
        match words.split_first() {
            Some((len, rest)) if Felt::from(rest.len()) == *len => Ok(rest.to_vec()),
            _ => Err(ClientError::Decode {
                what: "public_input".into(),
                detail: format!("{} felts", words.len()),
            }),
        }
    }

    pub fn upgrade_thread_call(
        &self,
        thread_id: u64,
        os_version: Felt,
        program_hash: Felt,
    ) -> Result<Call> {
        call(
            self.address,
            "upgrade_thread",
            vec![Felt::from(thread_id), os_version, program_hash],
        )
    }

    pub fn set_provers_call(&self, thread_id: u64, provers: &[Felt]) -> Result<Call> {
        let mut data = vec![Felt::from(thread_id)];
        push_felt_span(&mut data, provers);
        call(self.address, "set_provers", data)
    }

    pub fn set_active_call(&self, thread_id: u64, active: bool) -> Result<Call> {
        call(
            self.address,
            "set_active",
            vec![Felt::from(thread_id), Felt::from(u8::from(active))],
        )
    }

    /// Whether the owner registered `os_version`.
    pub async fn is_os_version_registered(
        &self,
        client: &ChainReader,
        os_version: Felt,
    ) -> Result<bool> {
        let words = client
            .call(self.address, "is_os_version_registered", vec![os_version])
            .await?;
        Ok(calldata::single::<u8>(&words, "is_os_version_registered")? == 1)
    }

    /// The OS version `program_hash` is registered under, if any (`Option<felt252>`: tag 0 =
    /// Some(value), tag 1 = None).
    pub async fn program_os_version(
        &self,
        client: &ChainReader,
        program_hash: Felt,
    ) -> Result<Option<Felt>> {
        let words = client
            .call(self.address, "program_os_version", vec![program_hash])
            .await?;
        match words.as_slice() {
            [tag, value] if *tag == Felt::ZERO => Ok(Some(*value)),
            [tag] if *tag == Felt::ONE => Ok(None),
            _ => Err(ClientError::Decode {
                what: "program_os_version".into(),
                detail: format!("unexpected words {words:?}"),
            }),
        }
    }

    /// The whole set-up of a thread as its owner does it: registers `thread.os_version` and
    /// `thread.program_hash` under it (each only if the registry does not have it yet), then
    /// creates the thread. Returns the thread id and the fees paid. The signing account must be
    /// the registry owner unless both are registered already.
    pub async fn open_thread(
        &self,
        client: &ChainClient,
        thread: &NewThread,
    ) -> Result<(u64, u128)> {
        let mut fees = 0;
        if !self
            .is_os_version_registered(client, thread.os_version)
            .await?
        {
            fees += self
                .register_os_version(client, thread.os_version)
                .await?
                .actual_fee;
        }
        match self.program_os_version(client, thread.program_hash).await? {
            Some(_) => {}
            None => {
                fees += self
                    .register_program(client, thread.os_version, thread.program_hash)
                    .await?
                    .actual_fee;
            }
        }
        let (thread_id, outcome) = self.create_thread(client, thread).await?;
        Ok((thread_id, fees + outcome.actual_fee))
    }

    /// The verifier instance the registry deployed for `program_hash` and calls to check its
    /// proofs (zero if the program is not registered); equals [`verifier_address`].
    pub async fn program_verifier(&self, client: &ChainReader, program_hash: Felt) -> Result<Felt> {
        let words = client
            .call(self.address, "program_verifier", vec![program_hash])
            .await?;
        calldata::single(&words, "program_verifier")
    }

    /// The settlement the registry recorded for sub-block `sequence` of `thread_id`, from its
    /// `SubBlockSettledSummary` event (keys `[selector, thread_id, sequence]`), with the
    /// transaction that emitted it; `None` if no settlement of that sequence is known to the
    /// node. The registry settles a sequence once, so two records are an error.
    ///
    /// It reads events from `from_block` (no later than the settlement) through the
    /// pre-confirmed block, where the client reads everything else: for the rare check a
    /// batcher makes when its sequence was taken, not for a hot path. A node that refuses the
    /// range or `starknet_getEvents` is an error.
    pub async fn settlement_record(
        &self,
        client: &ChainReader,
        thread_id: u64,
        sequence: u64,
        from_block: u64,
    ) -> Result<Option<SettlementRecord>> {
        const PAGE: u64 = 64;
        // A lower bound taken from a pre-confirmed block is not a closed block yet: a node
        // refuses a numbered block it has not closed.
        let latest_closed = client.provider().block_number().await?;
        let filter = EventFilter {
            from_block: Some(BlockId::Number(from_block.min(latest_closed))),
            to_block: Some(BlockId::Tag(BlockTag::PreConfirmed)),
            address: Some(self.address),
            keys: Some(vec![
                vec![selector(SUB_BLOCK_SETTLED_SUMMARY_EVENT)?],
                vec![Felt::from(thread_id)],
                vec![Felt::from(sequence)],
            ]),
        };
        let mut records = Vec::new();
        let mut token = None;
        loop {
            let page = client.provider().get_events(filter.clone(), token, PAGE).await?;
            for emitted in page.events {
                let event = Event { from_address: emitted.from_address, keys: emitted.keys, data: emitted.data };
                records.push(SettlementRecord {
                    summary: sub_block_settled_summary(self.address, &[event])?,
                    tx_hash: emitted.transaction_hash,
                    block: emitted.block_number,
                });
            }
            match page.continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        match records.as_slice() {
            [] => Ok(None),
            [one] if (one.summary.thread_id, one.summary.sequence) == (thread_id, sequence) => Ok(Some(*one)),
            [other] => Err(ClientError::Decode {
                what: SUB_BLOCK_SETTLED_SUMMARY_EVENT.into(),
                detail: format!(
                    "asked for thread {thread_id}'s sequence {sequence}, got thread {}'s sequence {}",
                    other.summary.thread_id, other.summary.sequence
                ),
            }),
            _ => Err(ClientError::Decode {
                what: SUB_BLOCK_SETTLED_SUMMARY_EVENT.into(),
                detail: format!("{} records of thread {thread_id}'s sequence {sequence}", records.len()),
            }),
        }
    }

    /// The sequence number the next `settle` of `thread_id` must carry.
    pub async fn next_sequence(&self, client: &ChainReader, thread_id: u64) -> Result<u64> {
        let words = client
            .call(self.address, "next_sequence", vec![Felt::from(thread_id)])
            .await?;
        calldata::single(&words, "next_sequence")
    }
}

/// A `Span<felt252>` (or of addresses) as a view returns it: its length, then the items.
fn felt_span(words: &[Felt], what: &str) -> Result<Vec<Felt>> {
    match words.split_first() {
        Some((len, rest)) if Felt::from(rest.len()) == *len => Ok(rest.to_vec()),
        _ => Err(ClientError::Decode {
            what: what.into(),
            detail: format!("{words:?}"),
        }),
    }
}

/// Thread id from the registry's `ThreadCreated` event: the first field after the selector
/// (it is the event's first `#[key]` member, or its first data member).
fn thread_created_id(registry: Felt, events: &[Event]) -> Result<u64> {
    let wanted = selector(THREAD_CREATED_EVENT)?;
    let event = events
        .iter()
        .find(|event| event.from_address == registry && event.keys.first() == Some(&wanted))
        .ok_or_else(|| ClientError::Decode {
            what: "create_thread receipt".into(),
            detail: format!("no {THREAD_CREATED_EVENT} event from the registry"),
        })?;
    let id = event
        .keys
        .get(1)
        .or_else(|| event.data.first())
        .ok_or_else(|| ClientError::Decode {
            what: THREAD_CREATED_EVENT.into(),
            detail: "event has no fields".into(),
        })?;
    calldata::single(std::slice::from_ref(id), "thread id")
}

/// Reassembles the one state diff `registry` published among `events` (one transaction's).
/// Each `SubBlockSettled` event has keys `[selector, thread_id, sequence]` and data
/// `[chunk, n_chunks, n, (contract, key, value)*n]` (each output a `SettledSlot` struct); the
/// chunks must be exactly `0..n_chunks`, in order, all of one sub-block.
pub fn sub_block_settled(registry: Felt, events: &[Event]) -> Result<SettledStateDiff> {
    let wanted = selector(SUB_BLOCK_SETTLED_EVENT)?;
    let bad = |detail: String| ClientError::Decode {
        what: SUB_BLOCK_SETTLED_EVENT.into(),
        detail,
    };
    let number =
        |felt: &Felt, what: &str| calldata::single::<u64>(std::slice::from_ref(felt), what);
    let chunks = events
        .iter()
        .filter(|event| event.from_address == registry && event.keys.first() == Some(&wanted));
    let mut diff: Option<SettledStateDiff> = None;
    let mut announced_chunks = 0;
    let mut seen_chunks = 0;
    for event in chunks {
        let [_, thread_id, sequence] = event.keys.as_slice() else {
            return Err(bad(format!("keys {:?}", event.keys)));
        };
        let [chunk, n_chunks, count, slots @ ..] = event.data.as_slice() else {
            return Err(bad(format!("data too short: {:?}", event.data)));
        };
        let (thread_id, sequence) = (
            number(thread_id, "thread id")?,
            number(sequence, "sequence")?,
        );
        let (chunk, n_chunks) = (number(chunk, "chunk")?, number(n_chunks, "n_chunks")?);
        let count = number(count, "output count")?;
        if u64::try_from(slots.len()).ok() != count.checked_mul(3) {
            return Err(bad(format!(
                "{count} outputs announced, {} felts follow",
                slots.len()
            )));
        }
        let diff = diff.get_or_insert_with(|| {
            announced_chunks = n_chunks;
            SettledStateDiff {
                thread_id,
                sequence,
                outputs: Vec::new(),
            }
        });
        if (thread_id, sequence, n_chunks) != (diff.thread_id, diff.sequence, announced_chunks) {
            return Err(bad(format!(
                "chunk of thread {thread_id} sequence {sequence} (of {n_chunks}) among chunks of \
                 thread {} sequence {} (of {announced_chunks})",
                diff.thread_id, diff.sequence
            )));
        }
        if chunk != seen_chunks {
            return Err(bad(format!(
                "chunk {chunk} where chunk {seen_chunks} was due"
            )));
        }
        seen_chunks += 1;
        diff.outputs.extend(
            slots
                .chunks_exact(3)
                .map(|slot| SlotValue::new(slot[0], slot[1], slot[2])),
        );
    }
    let diff = diff.ok_or_else(|| bad("no event from the registry".into()))?;
    if seen_chunks != announced_chunks {
        return Err(bad(format!(
            "{seen_chunks} of {announced_chunks} chunks present"
        )));
    }
    Ok(diff)
}

/// The `SubBlockSettledSummary` `registry` emitted among `events` (one transaction's): keys
/// `[selector, thread_id, sequence]`, data `[prover, n_inputs, n_outputs, n_chunks,
/// n_transactions, transactions_commitment, public_input_hash]`. Exactly one is expected.
pub fn sub_block_settled_summary(registry: Felt, events: &[Event]) -> Result<SettledSummary> {
    let wanted = selector(SUB_BLOCK_SETTLED_SUMMARY_EVENT)?;
    let bad = |detail: String| ClientError::Decode {
        what: SUB_BLOCK_SETTLED_SUMMARY_EVENT.into(),
        detail,
    };
    let mut summaries = events
        .iter()
        .filter(|event| event.from_address == registry && event.keys.first() == Some(&wanted));
    let event = summaries
        .next()
        .ok_or_else(|| bad("no event from the registry".into()))?;
    if summaries.next().is_some() {
        return Err(bad("more than one in the transaction".into()));
    }
    let [_, thread_id, sequence] = event.keys.as_slice() else {
        return Err(bad(format!("keys {:?}", event.keys)));
    };
    let [prover, n_inputs, n_outputs, n_chunks, n_transactions, transactions_commitment, public_input_hash] =
        event.data.as_slice()
    else {
        return Err(bad(format!("data {:?}", event.data)));
    };
    fn number<T: TryFrom<Felt>>(felt: &Felt, what: &str) -> Result<T> {
        calldata::single(std::slice::from_ref(felt), what)
    }
    Ok(SettledSummary {
        thread_id: number(thread_id, "thread id")?,
        sequence: number(sequence, "sequence")?,
        prover: *prover,
        n_inputs: number(n_inputs, "n_inputs")?,
        n_outputs: number(n_outputs, "n_outputs")?,
        n_chunks: number(n_chunks, "n_chunks")?,
        transactions: TransactionList {
            count: number(n_transactions, "n_transactions")?,
            commitment: *transactions_commitment,
        },
        public_input_hash: *public_input_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `thread_with_contracts` asks both in one JSON-RPC batch (one round trip) and decodes
    /// each answer as its own call does.
    #[tokio::test]
    async fn a_thread_and_its_contracts_are_read_in_one_batch() {
        use serde_json::{json, Value};
        use std::sync::{Arc, Mutex};
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let log = bodies.clone();
        let thread_selector = crate::selector("thread").unwrap();
        let answer = move |request: &Value| {
            let selector = Felt::from_hex(request["params"]["request"]["entry_point_selector"].as_str().unwrap()).unwrap();
            let result = match selector == thread_selector {
                true => json!(["0x1", "0x2", "0xabc", "0x1", "0x5", "0x3", "0x2", "0x0"]),
                false => json!(["0x2", "0x10", "0x20"]),
            };
            json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
        };
        let reader = crate::scripted_node::scripted_reader(move |body| {
            log.lock().unwrap().push(body.clone());
            match body {
                Value::Array(requests) => Value::Array(requests.iter().map(&answer).collect()),
                single => answer(single),
            }
        })
        .await;
        let registry = Registry { address: Felt::from(0x100u64) };
        let (info, contracts) = registry.thread_with_contracts(&reader, 4).await.unwrap();
        assert_eq!((info.program_hash, info.sequence, info.contract_count), (Felt::TWO, 5, 2));
        assert_eq!(contracts, vec![Felt::from(0x10u64), Felt::from(0x20u64)]);
        let bodies = bodies.lock().unwrap();
        assert_eq!(bodies.len(), 1, "one round trip: {bodies:?}");
        assert_eq!(bodies[0].as_array().map(Vec::len), Some(2), "both calls in it: {bodies:?}");
    }

    #[test]
    fn settle_calldata_layout() {
        let slot =
            |c: u8, k: u8, v: u8| SlotValue::new(Felt::from(c), Felt::from(k), Felt::from(v));
        let settlement = Settlement {
            thread_id: 3,
            sequence: 9,
            inputs: vec![slot(1, 2, 3)],
            outputs: vec![slot(1, 2, 4), slot(5, 6, 7)],
            transactions: TransactionList { count: 2, commitment: Felt::from(0x7cu8) },
            proof: vec![Felt::from(42u8)],
        };
        let expected: Vec<Felt> = [3u8, 9, 1, 1, 2, 3, 2, 1, 2, 4, 5, 6, 7, 2, 0x7c, 1, 42]
            .into_iter()
            .map(Felt::from)
            .collect();
        assert_eq!(settlement.calldata(), expected);
    }

    #[test]
    fn verifier_address_is_the_registry_deployment_of_the_class() {
        let (registry, class) = (Felt::from(0x1234u16), Felt::from(0x5678u16));
        let address = verifier_address(registry, class);
        assert_eq!(address, get_contract_address(class, class, &[], registry));
        assert_ne!(address, verifier_address(Felt::from(0x1235u16), class));
        assert_ne!(address, verifier_address(registry, Felt::from(0x5679u16)));
    }

    #[test]
    fn create_thread_sorts_the_contract_set() {
        let registry = Registry {
            address: Felt::from(100u8),
        };
        let thread = NewThread {
            os_version: Felt::from(1u8),
            program_hash: Felt::from(2u8),
            contracts: vec![Felt::from(30u8), Felt::from(10u8)],
            admin: Felt::from(7u8),
            provers: vec![],
        };
        let call = registry.create_thread_call(&thread).unwrap();
        let expected: Vec<Felt> = [1u8, 2, 2, 10, 30, 7, 0]
            .into_iter()
            .map(Felt::from)
            .collect();
        assert_eq!(call.calldata, expected);
        assert_eq!(call.to, registry.address);
    }

    #[test]
    fn thread_info_decodes_eight_felts_and_rejects_bad_bools() {
        let words: Vec<Felt> = [1u8, 2, 3, 1, 5, 6, 1, 0]
            .into_iter()
            .map(Felt::from)
            .collect();
        let info = ThreadInfo::decode(&words).unwrap();
        assert!(info.active && !info.allowlist_enabled);
        assert_eq!((info.sequence, info.contract_count), (5, 1));
        let mut bad = words.clone();
        bad[3] = Felt::from(2u8);
        assert!(ThreadInfo::decode(&bad).is_err());
        assert!(ThreadInfo::decode(&words[..7]).is_err());
    }

    #[test]
    fn commitment_ignores_the_given_order_but_not_the_members() {
        let (a, b) = (Felt::from(10u8), Felt::from(30u8));
        assert_eq!(
            contract_set_commitment(&[b, a]),
            contract_set_commitment(&[a, b])
        );
        assert_ne!(
            contract_set_commitment(&[a]),
            contract_set_commitment(&[a, b])
        );
        assert_eq!(
            contract_set_commitment(&[a]),
            poseidon_hash_many(&[Felt::ONE, a])
        );
    }

    #[test]
    fn thread_id_comes_from_the_registry_event_only() {
        let registry = Felt::from(100u8);
        let key = selector(THREAD_CREATED_EVENT).unwrap();
        let event = |from: Felt, id: u8| Event {
            from_address: from,
            keys: vec![key, Felt::from(id)],
            data: vec![],
        };
        assert_eq!(
            thread_created_id(registry, &[event(Felt::from(5u8), 1), event(registry, 4)]).unwrap(),
            4
        );
        assert!(thread_created_id(registry, &[event(Felt::from(5u8), 1)]).is_err());
    }

    /// One `SubBlockSettled` chunk of thread 3, sequence 9, holding slots `first..first + n`,
    /// laid out as the registry emits it (contracts/registry test_settlement_events_raw_layout).
    fn settled_chunk(registry: Felt, chunk: u8, n_chunks: u8, first: u8, n: u8) -> Event {
        let mut data = vec![chunk, n_chunks, n]
            .into_iter()
            .map(Felt::from)
            .collect::<Vec<_>>();
        for i in first..first + n {
            data.extend([Felt::from(1u8), Felt::from(i), Felt::from(i) * Felt::TWO]);
        }
        Event {
            from_address: registry,
            keys: vec![
                selector(SUB_BLOCK_SETTLED_EVENT).unwrap(),
                Felt::from(3u8),
                Felt::from(9u8),
            ],
            data,
        }
    }

    fn summary_event(registry: Felt, data: &[u8]) -> Event {
        Event {
            from_address: registry,
            keys: vec![
                selector(SUB_BLOCK_SETTLED_SUMMARY_EVENT).unwrap(),
                Felt::from(3u8),
                Felt::from(9u8),
            ],
            data: data.iter().copied().map(Felt::from).collect(),
        }
    }

    #[test]
    fn settled_state_diff_is_reassembled_from_chunks_in_order() {
        let registry = Felt::from(100u8);
        let elsewhere = settled_chunk(Felt::from(5u8), 0, 1, 200, 1);
        let chunks = [
            settled_chunk(registry, 0, 3, 0, 96),
            elsewhere.clone(),
            settled_chunk(registry, 1, 3, 96, 96),
            settled_chunk(registry, 2, 3, 192, 10),
            // The summary that follows the chunks is not a chunk.
            summary_event(registry, &[0x70, 0, 202, 3, 0x11]),
        ];
        let diff = sub_block_settled(registry, &chunks).unwrap();
        assert_eq!((diff.thread_id, diff.sequence), (3, 9));
        let expected: Vec<SlotValue> = (0..202u8)
            .map(|i| SlotValue::new(Felt::ONE, Felt::from(i), Felt::from(i) * Felt::TWO))
            .collect();
        assert_eq!(diff.outputs, expected);

        // An empty sub-block: one chunk without outputs.
        let empty = sub_block_settled(registry, &[settled_chunk(registry, 0, 1, 0, 0)]).unwrap();
        assert!(empty.outputs.is_empty());

        // Missing, reordered, or truncated chunks, or none at all, are errors.
        assert!(sub_block_settled(registry, &chunks[..3]).is_err());
        let swapped = [chunks[2].clone(), chunks[0].clone(), chunks[3].clone()];
        assert!(sub_block_settled(registry, &swapped).is_err());
        let mut short = chunks[0].clone();
        short.data.pop();
        assert!(sub_block_settled(registry, &[short]).is_err());
        assert!(sub_block_settled(registry, &[elsewhere]).is_err());

        // The old layout (sequence in the data, keys [selector, thread_id]) is refused.
        let mut old = settled_chunk(registry, 0, 1, 0, 1);
        old.keys.pop();
        old.data.insert(0, Felt::from(9u8));
        assert!(sub_block_settled(registry, &[old]).is_err());

        // A chunk of another sequence among them is refused.
        let mut other = chunks[2].clone();
        other.keys[2] = Felt::from(10u8);
        let mixed = [chunks[0].clone(), other, chunks[3].clone()];
        assert!(sub_block_settled(registry, &mixed).is_err());
    }

    #[test]
    fn full_chunk_fits_the_event_data_cap() {
        // [chunk, n_chunks, n] and 3 felts per SettledSlot: at most 300 data felts.
        let full = settled_chunk(Felt::ONE, 0, 1, 0, SETTLED_OUTPUTS_PER_EVENT as u8);
        assert_eq!(full.data.len(), 3 + 3 * SETTLED_OUTPUTS_PER_EVENT);
        assert!(full.data.len() <= 300);
    }

    #[test]
    fn settlement_summary_is_decoded_from_the_registry_event_only() {
        let registry = Felt::from(100u8);
        let events = [
            settled_chunk(registry, 0, 1, 0, 2),
            summary_event(Felt::from(5u8), &[1, 1, 1, 1, 1, 1, 1]),
            summary_event(registry, &[0x70, 4, 2, 1, 3, 0x7c, 0x11]),
        ];
        assert_eq!(
            sub_block_settled_summary(registry, &events).unwrap(),
            SettledSummary {
                thread_id: 3,
                sequence: 9,
                prover: Felt::from(0x70u8),
                n_inputs: 4,
                n_outputs: 2,
                n_chunks: 1,
                transactions: TransactionList { count: 3, commitment: Felt::from(0x7cu8) },
                public_input_hash: Felt::from(0x11u8),
            }
        );
        assert!(sub_block_settled_summary(registry, &events[..2]).is_err());
        let twice = [events[2].clone(), events[2].clone()];
        assert!(sub_block_settled_summary(registry, &twice).is_err());
        let short = summary_event(registry, &[0x70, 4, 2, 1, 3, 0x7c]);
        assert!(sub_block_settled_summary(registry, &[short]).is_err());
    }

    #[test]
    fn public_input_hash_is_poseidon_over_the_public_input() {
        let settlement = Settlement {
            thread_id: 3,
            sequence: 9,
            inputs: vec![SlotValue::new(Felt::ONE, Felt::TWO, Felt::THREE)],
            outputs: vec![],
            transactions: TransactionList::default(),
            proof: vec![Felt::from(42u8)],
        };
        let (os, program, contracts) = (Felt::from(7u8), Felt::from(8u8), [Felt::ONE]);
        assert_eq!(
            public_input_hash(os, program, &contracts, &settlement),
            poseidon_hash_many(&public_input(os, program, &contracts, &settlement))
        );
        // Cairo's poseidon_hash_span known answer (contracts/registry
        // test_contract_set_commitment_known_value).
        assert_eq!(
            poseidon_hash_many(&[Felt::TWO, Felt::ONE, Felt::TWO]),
            Felt::from_hex_unchecked(
                "0x76f882b319ad0ea36ebc9514aec4041a7e032cef8f2350ab09ea535c57383c7"
            )
        );
    }

    #[test]
    fn felt_spans_need_their_length_prefix() {
        let words: Vec<Felt> = [2u8, 10, 20].into_iter().map(Felt::from).collect();
        assert_eq!(
            felt_span(&words, "x").unwrap(),
            vec![Felt::from(10u8), Felt::from(20u8)]
        );
        assert_eq!(felt_span(&[Felt::ZERO], "x").unwrap(), Vec::<Felt>::new());
        assert!(felt_span(&words[..2], "x").is_err());
        assert!(felt_span(&[], "x").is_err());
    }
}
