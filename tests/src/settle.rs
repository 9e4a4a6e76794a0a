//! Real settlements for the end-to-end tests: batch transfers against on-chain balances, prove
//! the sub-block with Stwo, send it to the registry, and check what a reverted settlement must
//! (and must not) change.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use starknet::core::types::{Call, TransactionReceipt};
use starknet::providers::Provider;
use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::{sub_block_settled, InputCheck, Registry, SettledStateDiff, Settlement, TransactionList};
use zkthread_client::{ChainClient, FeeMode, Felt, ResourceBounds, TxOutcome};
use zkthread_prover::{
    proof_to_felts, prove, verify, Batcher, Poseidon252MerkleChannel, PublicInput, Slot, SlotValue,
    StarkParams, SubBlock, Transfer,
};

/// The channel and parameters of OS version 1 (what the on-chain `ThreadVerifier` checks).
pub type Channel = Poseidon252MerkleChannel;
pub const PARAMS: StarkParams = StarkParams::DEFAULT;

/// L2 gas for hand-set settle bounds: above what a full on-chain verification can use (the
/// devnet's 10M-step bound at 100 gas each, plus calldata and validation).
pub const SETTLE_L2_GAS: u64 = 4_000_000_000;
pub const SETTLE_L1_DATA_GAS: u64 = 10_000;

/// Devnet 0.10.1's `invoke_tx_max_n_steps`: our Sierra 1.6 classes are metered in Cairo steps.
pub const STEP_BOUND: u64 = 10_000_000;

/// Whether executing `call` needs more than `steps` Cairo steps: a simulation (nothing mined)
/// with an L2 bound of `steps * 100`, which caps the execute phase at `steps` steps.
pub async fn needs_more_steps_than(client: &ChainClient, call: &Call, steps: u64) -> Result<bool> {
    let bounds = client
        .bounds_at_current_prices(0, steps * 100, SETTLE_L1_DATA_GAS, 2)
        .await?;
    let reverted = client.simulate(vec![call.clone()], bounds).await?;
    match &reverted {
        None => eprintln!("bound {steps} steps: runs"),
        Some(reason) => eprintln!("bound {steps} steps: reverted: {}", tail(reason, 160)),
    }
    Ok(reverted.as_deref().is_some_and(|reason| {
        let reason = reason.to_lowercase();
        reason.contains("steps") && !reason.contains("l2")
    }))
}

/// The Cairo steps `call` executes, bracketed to within `resolution` by bisection over
/// simulations: `(low, high]`. Fails if it needs more than [`STEP_BOUND`].
pub async fn bracket_steps(client: &ChainClient, call: &Call, resolution: u64) -> Result<(u64, u64)> {
    let (mut low, mut high) = (0u64, STEP_BOUND);
    ensure!(
        !needs_more_steps_than(client, call, high).await?,
        "the call needs more than the {STEP_BOUND}-step bound"
    );
    while high - low > resolution {
        let middle = (low + high) / 2;
        if needs_more_steps_than(client, call, middle).await? {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok((low, high))
}

/// Bounds for a settlement that may run the whole verifier (honest, or with a bad proof): sent
/// without estimation so a revert is mined and charged.
pub async fn settle_bounds(client: &ChainClient) -> Result<ResourceBounds> {
    Ok(client
        .bounds_at_current_prices(0, SETTLE_L2_GAS, SETTLE_L1_DATA_GAS, 2)
        .await?)
}

/// The thread a settlement is for: where it lives and what its proofs commit to.
#[derive(Clone, Copy, Debug)]
pub struct ThreadRef {
    pub registry: Registry,
    pub thread_id: u64,
    pub os_version: Felt,
    pub program_hash: Felt,
}

/// A proven sub-block and its settlement (proof included) for one sequence of one thread.
#[derive(Clone, Debug)]
pub struct Proven {
    pub settlement: Settlement,
    pub sub_block: SubBlock,
    pub prove_time: Duration,
}

pub fn transfer(token: Felt, from: Felt, to: Felt, amount: u128) -> Transfer {
    Transfer {
        token,
        from,
        to,
        amount,
    }
}

/// Current on-chain values of `slots`.
pub async fn read_slots(
    client: &ChainClient,
    slots: impl IntoIterator<Item = Slot>,
) -> Result<BTreeMap<Slot, Felt>> {
    let mut values = BTreeMap::new();
    for slot in slots {
        values.insert(slot, client.storage_at(slot.contract, slot.key).await?);
    }
    Ok(values)
}

/// Batches `transfers` (all must be accepted) against the current on-chain values of the slots
/// they touch, as a thread's batcher does before proving.
pub async fn batch_on_chain(
    client: &ChainClient,
    contract_set: &[Felt],
    transfers: &[Transfer],
) -> Result<SubBlock> {
    let touched = transfers.iter().flat_map(|t| [t.from_slot(), t.to_slot()]);
    let current = read_slots(client, touched).await?;
    let batch = Batcher::new(contract_set.iter().copied())
        .batch(transfers, |slot| current.get(slot).copied())
        .context("batching")?;
    ensure!(
        batch.rejected.is_empty(),
        "batcher rejected: {:?}",
        batch.rejected
    );
    Ok(batch.sub_block)
}

pub fn to_chain_slots(list: &[SlotValue]) -> Vec<ChainSlotValue> {
    list.iter()
        .map(|e| ChainSlotValue::new(e.slot.contract, e.slot.key, e.value))
        .collect()
}

/// Proves `sub_block` for the thread's next on-chain sequence and checks the proof off-chain.
/// The registry's own encoding of the statement must equal the prover's.
pub async fn prove_settlement(
    client: &ChainClient,
    thread: &ThreadRef,
    sub_block: SubBlock,
) -> Result<Proven> {
    let sequence = thread
        .registry
        .next_sequence(client, thread.thread_id)
        .await?;
    let info = thread.registry.thread(client, thread.thread_id).await?;
    let public_input = PublicInput {
        os_version: thread.os_version,
        program_hash: thread.program_hash,
        thread_id: Felt::from(thread.thread_id),
        sequence: Felt::from(sequence),
        contract_set_commitment: info.contract_set_commitment,
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    };
    let mut settlement = Settlement {
        thread_id: thread.thread_id,
        sequence,
        inputs: to_chain_slots(&sub_block.inputs),
        outputs: to_chain_slots(&sub_block.outputs),
        // The unsigned baseline proves no transaction list.
        transactions: TransactionList::default(),
        proof: Vec::new(),
    };
    ensure!(
        thread.registry.public_input(client, &settlement).await? == public_input.to_felts(),
        "registry public input differs from the prover's"
    );
    let began = Instant::now();
    let (pi, sb) = (public_input.clone(), sub_block.clone());
    let proof = tokio::task::spawn_blocking(move || prove::<Channel>(&pi, &sb, &PARAMS))
        .await?
        .context("proving")?;
    let prove_time = began.elapsed();
    verify::<Channel>(&public_input, &proof, &PARAMS).context("off-chain verify")?;
    settlement.proof = proof_to_felts(&proof);
    eprintln!(
        "proved thread {} sequence {sequence}: {} transfers (2^{} rows) in {:.1} s, {} proof felts",
        thread.thread_id,
        sub_block.transfers.len(),
        proof.log_n_rows,
        prove_time.as_secs_f64(),
        settlement.proof.len()
    );
    Ok(Proven {
        settlement,
        sub_block,
        prove_time,
    })
}

/// L2 gas a transaction consumed, from its receipt.
pub async fn l2_gas_used(client: &ChainClient, outcome: &TxOutcome) -> Result<u64> {
    l2_gas_of(client, outcome.hash).await
}

/// The L2 gas the transaction `hash` used, from its receipt.
pub async fn l2_gas_of(client: &ChainClient, hash: Felt) -> Result<u64> {
    let receipt = client.provider().get_transaction_receipt(hash).await?;
    match receipt.receipt {
        TransactionReceipt::Invoke(invoke) => Ok(invoke.execution_resources.l2_gas),
        other => Err(anyhow!("not an invoke receipt: {other:?}")),
    }
}

/// The last `n` characters of a revert trace on one line (the VM's own error is at the end).
pub fn tail(text: &str, n: usize) -> String {
    let skip = text.chars().count().saturating_sub(n);
    text.chars()
        .skip(skip)
        .collect::<String>()
        .replace('\n', " ")
}

/// What a rejected settlement must leave unchanged: these slots, and these threads' sequences.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    pub slots: Vec<(Felt, Felt)>,
    pub threads: Vec<u64>,
}

impl Watched {
    /// Every slot the settlement names (inputs and outputs) and the given threads.
    pub fn settlement(settlement: &Settlement, threads: &[u64]) -> Self {
        let mut slots: Vec<(Felt, Felt)> = settlement
            .inputs
            .iter()
            .chain(&settlement.outputs)
            .map(|s| (s.contract, s.key))
            .collect();
        slots.sort();
        slots.dedup();
        Self {
            slots,
            threads: threads.to_vec(),
        }
    }

    async fn snapshot(&self, registry: &Registry, client: &ChainClient) -> Result<Vec<Felt>> {
        let mut values = Vec::with_capacity(self.slots.len() + self.threads.len());
        for (contract, key) in &self.slots {
            values.push(client.storage_at(*contract, *key).await?);
        }
        for thread in &self.threads {
            values.push(Felt::from(registry.next_sequence(client, *thread).await?));
        }
        Ok(values)
    }
}

/// Sends `settlement` from `sender` with hand-set `bounds` and checks: mined REVERTED with a
/// reason containing `reason`, the sender's STRK balance down by exactly the actual fee (> 0),
/// every `watched` slot and thread sequence unchanged.
pub async fn assert_settle_reverts(
    registry: &Registry,
    sender: &ChainClient,
    settlement: &Settlement,
    bounds: ResourceBounds,
    reason: &str,
    watched: &Watched,
) -> Result<TxOutcome> {
    assert_settle_reverts_checking(registry, sender, settlement, bounds, reason, watched, InputCheck::BeforeWrites).await
}

/// [`assert_settle_reverts`] through the registry entry point `check` names.
pub async fn assert_settle_reverts_checking(
    registry: &Registry,
    sender: &ChainClient,
    settlement: &Settlement,
    bounds: ResourceBounds,
    reason: &str,
    watched: &Watched,
    check: InputCheck,
) -> Result<TxOutcome> {
    let fee_before = sender.fee_token_balance(sender.address()).await?;
    let before = watched.snapshot(registry, sender).await?;

    let outcome = registry
        .settle_checking(sender, settlement, FeeMode::Manual(bounds), check)
        .await?;

    let revert_reason = outcome.revert_reason().unwrap_or_default();
    ensure!(
        outcome.is_reverted(),
        "settle ({reason:?} expected) was not reverted: {outcome:?}"
    );
    ensure!(
        revert_reason.contains(reason),
        "revert reason lacks {reason:?}: ...{}",
        tail(revert_reason, 400)
    );
    ensure!(
        outcome.actual_fee > 0,
        "a reverted settle must still cost a fee"
    );
    ensure!(outcome.actual_fee <= bounds.max_fee());
    let fee_after = sender.fee_token_balance(sender.address()).await?;
    ensure!(
        fee_before - fee_after == outcome.actual_fee,
        "sender's STRK went down by {}, the receipt says {}",
        fee_before - fee_after,
        outcome.actual_fee
    );
    ensure!(
        watched.snapshot(registry, sender).await? == before,
        "a reverted settle ({reason}) changed thread storage"
    );
    eprintln!(
        "{reason}: fee {} fri, latency {:.1} s",
        outcome.actual_fee,
        outcome.latency.as_secs_f64()
    );
    Ok(outcome)
}

/// Sends an honest settlement with [`settle_bounds`] and checks that it succeeded, that every
/// output is now in storage, that the sequence moved on by one and that the event's state diff
/// is the output list. Returns the outcome.
pub async fn settle_and_check(
    registry: &Registry,
    sender: &ChainClient,
    settlement: &Settlement,
) -> Result<TxOutcome> {
    settle_and_check_with(registry, sender, settlement, settle_bounds(sender).await?).await
}

/// [`settle_and_check`] under the caller's `bounds` (e.g. many fresh slots: more L1 data gas).
pub async fn settle_and_check_with(
    registry: &Registry,
    sender: &ChainClient,
    settlement: &Settlement,
    bounds: ResourceBounds,
) -> Result<TxOutcome> {
    let outcome = registry
        .settle(sender, settlement, FeeMode::Manual(bounds))
        .await?;
    ensure!(
        !outcome.is_reverted(),
        "honest settle reverted: ...{}",
        tail(outcome.revert_reason().unwrap_or_default(), 400)
    );
    for output in &settlement.outputs {
        ensure!(
            sender.storage_at(output.contract, output.key).await? == output.value,
            "output slot ({:#x}, {:#x}) not written",
            output.contract,
            output.key
        );
    }
    ensure!(
        registry.next_sequence(sender, settlement.thread_id).await? == settlement.sequence + 1,
        "sequence not bumped"
    );
    let diff = sub_block_settled(registry.address, &outcome.events)?;
    ensure!(
        diff == SettledStateDiff {
            thread_id: settlement.thread_id,
            sequence: settlement.sequence,
            outputs: settlement.outputs.clone(),
        },
        "SubBlockSettled events {diff:?} are not the settlement's state diff"
    );
    eprintln!(
        "settled thread {} sequence {}: fee {} fri, latency {:.1} s",
        settlement.thread_id,
        settlement.sequence,
        outcome.actual_fee,
        outcome.latency.as_secs_f64()
    );
    Ok(outcome)
}

/// Reference model of token balances, kept independently of the chain: what every balance must
/// be after the transfers it was told about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    balances: BTreeMap<Slot, u128>,
}

impl Ledger {
    /// A ledger where `holder` has `supply` of each of `tokens` and `accounts` have nothing.
    pub fn new(tokens: &[Felt], holder: Felt, supply: u128, accounts: &[Felt]) -> Self {
        let mut balances = BTreeMap::new();
        for token in tokens {
            for account in accounts {
                balances.insert(Slot::balance(*token, *account), 0);
            }
            balances.insert(Slot::balance(*token, holder), supply);
        }
        Self { balances }
    }

    pub fn balance(&self, token: Felt, account: Felt) -> u128 {
        self.balances
            .get(&Slot::balance(token, account))
            .copied()
            .unwrap_or(0)
    }

    /// Applies one transfer; an overspend is a bug of the caller (the model never goes negative).
    pub fn apply(&mut self, transfer: &Transfer) -> Result<()> {
        let from = self.balance(transfer.token, transfer.from);
        ensure!(
            from >= transfer.amount,
            "model overspend: {} has {from}, transfer needs {}",
            transfer.from,
            transfer.amount
        );
        self.balances
            .insert(transfer.from_slot(), from - transfer.amount);
        let to = self.balance(transfer.token, transfer.to);
        self.balances
            .insert(transfer.to_slot(), to + transfer.amount);
        Ok(())
    }

    pub fn apply_all(&mut self, transfers: &[Transfer]) -> Result<()> {
        transfers.iter().try_for_each(|t| self.apply(t))
    }

    /// The value the model holds for `slot` as a felt (what a settlement input must carry).
    pub fn value(&self, slot: &Slot) -> Felt {
        Felt::from(self.balances.get(slot).copied().unwrap_or(0))
    }

    /// Every balance slot the model tracks equals its on-chain storage.
    pub async fn assert_on_chain(&self, client: &ChainClient) -> Result<()> {
        for (slot, expected) in &self.balances {
            let actual = client.storage_at(slot.contract, slot.key).await?;
            ensure!(
                actual == Felt::from(*expected),
                "balance slot (token {:#x}, key {:#x}): chain {actual:#x}, model {expected}",
                slot.contract,
                slot.key
            );
        }
        Ok(())
    }
}
