//! The whole loop with no test double: the thread's program is the real `ThreadVerifier` class,
//! transfers are batched against on-chain balances, proven with Stwo (Poseidon252, DEFAULT
//! params) and settled. Then a second sub-block's proof with one felt changed is sent and must
//! revert with the registry's `invalid proof`, charging its fee and changing no storage.
//!
//! Two devnet 0.10.1 (Starknet 0.14.4 constants) limits matter here:
//! - Class size: the devnet keeps Starknet's declare limits (81,920 CASM felts, 81,920 Sierra
//!   felts, 4,089,446 bytes); the verifier class (~80.6k CASM felts) fits them, barely.
//! - Execution: our classes are Sierra 1.6 (< `min_sierra_version_for_sierra_gas` 1.7.0), so
//!   the blockifier meters them in Cairo steps, at most `invoke_tx_max_n_steps` = 10,000,000
//!   per transaction (`execute_max_sierra_gas` = 1.11e9 applies to Sierra >= 1.7 classes only).
//!   Measured (11:10 UTC): a settlement uses 7.66M-7.81M steps, ~1.82e9 L2 gas (builtins
//!   dominate the Cairo-steps fee formula), calldata ~3,900-3,960 felts.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{anyhow, ensure, Context, Result};
use starknet::core::types::TransactionReceipt;
use starknet::providers::Provider;
use zkthread_e2e::client::calldata::SlotValue as ChainSlotValue;
use zkthread_e2e::client::registry::Settlement;
use zkthread_e2e::client::{ChainClient, FeeMode, Felt, TxOutcome};
use zkthread_e2e::{init_tracing, ThreadWorld};
use zkthread_prover::{
    proof_to_felts, prove, verify, Batcher, Poseidon252MerkleChannel, PublicInput, Slot, SlotValue,
    StarkParams, SubBlock, Transfer,
};

type Channel = Poseidon252MerkleChannel;
const PARAMS: StarkParams = StarkParams::DEFAULT;

/// L2 gas for the hand-set bounds: above what a full on-chain verification can use (the step
/// bound, 10M steps at 100 gas each, plus calldata and validation).
const SETTLE_L2_GAS: u64 = 4_000_000_000;
const SETTLE_L1_DATA_GAS: u64 = 10_000;

/// Balance slots of `accounts` on the world's token with their current on-chain values.
async fn balances(world: &ThreadWorld, accounts: &[Felt]) -> Result<BTreeMap<Slot, Felt>> {
    let mut values = BTreeMap::new();
    for account in accounts {
        let slot = Slot::balance(world.token.address, *account);
        let value = world.client().storage_at(slot.contract, slot.key).await?;
        values.insert(slot, value);
    }
    Ok(values)
}

/// Batches `transfers` against the current balances and proves the sub-block for the thread's
/// next sequence. Returns the settlement (with proof) and the sub-block.
async fn prove_sub_block(
    world: &ThreadWorld,
    accounts: &[Felt],
    transfers: &[Transfer],
) -> Result<(Settlement, SubBlock)> {
    let client = world.client();
    let current = balances(world, accounts).await?;
    let batch = Batcher::new([world.token.address])
        .batch(transfers, |slot| current.get(slot).copied())
        .context("batching")?;
    ensure!(batch.rejected.is_empty(), "rejected: {:?}", batch.rejected);
    let sub_block = batch.sub_block;
    let sequence = world
        .registry
        .next_sequence(client, world.thread_id)
        .await?;
    let info = world.registry.thread(client, world.thread_id).await?;
    let public_input = PublicInput {
        os_version: world.os_version,
        program_hash: world.program_hash,
        thread_id: Felt::from(world.thread_id),
        sequence: Felt::from(sequence),
        contract_set_commitment: info.contract_set_commitment,
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    };
    let convert = |list: &[SlotValue]| -> Vec<ChainSlotValue> {
        list.iter()
            .map(|e| ChainSlotValue::new(e.slot.contract, e.slot.key, e.value))
            .collect()
    };
    let mut settlement = Settlement {
        thread_id: world.thread_id,
        sequence,
        inputs: convert(&sub_block.inputs),
        outputs: convert(&sub_block.outputs),
        proof: Vec::new(),
    };
    // The registry builds the verifier's statement itself: it must be the prover's.
    ensure!(
        world.registry.public_input(client, &settlement).await? == public_input.to_felts(),
        "registry public input differs from the prover's"
    );
    let began = Instant::now();
    let (pi, sb) = (public_input.clone(), sub_block.clone());
    let proof = tokio::task::spawn_blocking(move || prove::<Channel>(&pi, &sb, &PARAMS)).await??;
    verify::<Channel>(&public_input, &proof, &PARAMS).context("off-chain verify")?;
    settlement.proof = proof_to_felts(&proof);
    eprintln!(
        "proved {} transfers (2^{} rows) in {:.1} s: {} proof felts",
        sub_block.transfers.len(),
        proof.log_n_rows,
        began.elapsed().as_secs_f64(),
        settlement.proof.len()
    );
    Ok((settlement, sub_block))
}

/// L2 gas the settle consumed, from the receipt.
async fn l2_gas_used(client: &ChainClient, outcome: &TxOutcome) -> Result<u64> {
    let receipt = client
        .provider()
        .get_transaction_receipt(outcome.hash)
        .await?;
    match receipt.receipt {
        TransactionReceipt::Invoke(invoke) => Ok(invoke.execution_resources.l2_gas),
        other => Err(anyhow!("not an invoke receipt: {other:?}")),
    }
}

async fn token_storage(world: &ThreadWorld, settlement: &Settlement) -> Result<Vec<Felt>> {
    let mut values = Vec::new();
    for slot in &settlement.inputs {
        values.push(world.client().storage_at(slot.contract, slot.key).await?);
    }
    Ok(values)
}

/// The last `n` characters of a revert trace on one line (the VM's own error is at the end).
fn tail(text: &str, n: usize) -> String {
    let skip = text.chars().count().saturating_sub(n);
    text.chars()
        .skip(skip)
        .collect::<String>()
        .replace('\n', " ")
}

fn transfer(world: &ThreadWorld, from: Felt, to: Felt, amount: u128) -> Transfer {
    Transfer {
        token: world.token.address,
        from,
        to,
        amount,
    }
}

/// Addresses of the devnet's first `n` predeployed accounts.
fn account_addresses(world: &ThreadWorld, n: usize) -> Vec<Felt> {
    world.chain.devnet.accounts().iter().take(n).map(|a| a.address).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_proof_settles_and_a_tampered_proof_reverts() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let accounts = account_addresses(&world, 4);
    let holder = world.holder;
    ensure!(accounts[0] == holder);

    // --- 1. An honest sub-block settles. ---
    let transfers = vec![
        transfer(&world, holder, accounts[1], 1_000),
        transfer(&world, holder, accounts[2], 2_000),
        transfer(&world, accounts[1], accounts[3], 300),
        transfer(&world, holder, accounts[3], 4_000),
    ];
    let (honest, _) = prove_sub_block(&world, &accounts, &transfers).await?;
    let calldata_felts = honest.calldata().len();
    let bounds = client
        .bounds_at_current_prices(0, SETTLE_L2_GAS, SETTLE_L1_DATA_GAS, 2)
        .await?;
    let fee_before = client.fee_token_balance(holder).await?;
    let outcome = world
        .registry
        .settle(client, &honest, FeeMode::Manual(bounds))
        .await?;
    let l2_gas = l2_gas_used(client, &outcome).await?;
    eprintln!(
        "honest settle: {:?}, fee {} fri, L2 gas {l2_gas}, calldata {calldata_felts} felts, \
         proof {} felts, latency {:?}",
        outcome.status,
        outcome.actual_fee,
        honest.proof.len(),
        outcome.latency
    );
    ensure!(
        !outcome.is_reverted(),
        "honest settle reverted: {outcome:?}"
    );
    assert_eq!(
        fee_before - client.fee_token_balance(holder).await?,
        outcome.actual_fee
    );
    for output in &honest.outputs {
        assert_eq!(
            client.storage_at(output.contract, output.key).await?,
            output.value,
            "balance slot not written"
        );
    }
    assert_eq!(
        world
            .registry
            .next_sequence(client, world.thread_id)
            .await?,
        honest.sequence + 1
    );
    // SubBlockSettled: keys [selector, thread_id], data [sequence, n, (contract, key, value)*].
    let settled_selector = zkthread_e2e::client::selector("SubBlockSettled")?;
    let settled = outcome
        .events
        .iter()
        .find(|e| {
            e.from_address == world.registry.address && e.keys.first() == Some(&settled_selector)
        })
        .ok_or_else(|| anyhow!("no SubBlockSettled event"))?;
    let mut expected = vec![
        Felt::from(honest.sequence),
        Felt::from(honest.outputs.len()),
    ];
    for output in &honest.outputs {
        expected.extend([output.contract, output.key, output.value]);
    }
    assert_eq!(settled.keys[1], Felt::from(world.thread_id));
    assert_eq!(settled.data, expected, "SubBlockSettled data");

    // --- 2. The next sub-block with one proof felt changed reverts. ---
    let transfers = vec![
        transfer(&world, holder, accounts[1], 5),
        transfer(&world, accounts[2], accounts[1], 7),
    ];
    let (mut tampered, _) = prove_sub_block(&world, &accounts, &transfers).await?;
    let middle = tampered.proof.len() / 2;
    tampered.proof[middle] += Felt::ONE;
    let storage_before = token_storage(&world, &tampered).await?;
    let fee_before = client.fee_token_balance(holder).await?;
    let outcome = world
        .registry
        .settle(client, &tampered, FeeMode::Manual(bounds))
        .await?;
    let l2_gas = l2_gas_used(client, &outcome).await?;
    let reason = outcome.revert_reason().unwrap_or_default().to_string();
    eprintln!(
        "tampered settle: fee {} fri, L2 gas {l2_gas}, reason {reason:?}",
        outcome.actual_fee
    );
    ensure!(outcome.is_reverted(), "tampered proof settled: {outcome:?}");
    ensure!(
        reason.contains("registry: invalid proof"),
        "unexpected revert reason {reason:?}"
    );
    assert!(outcome.actual_fee > 0 && outcome.actual_fee <= bounds.max_fee());
    assert_eq!(
        fee_before - client.fee_token_balance(holder).await?,
        outcome.actual_fee
    );
    assert_eq!(token_storage(&world, &tampered).await?, storage_before);
    assert_eq!(
        world
            .registry
            .next_sequence(client, world.thread_id)
            .await?,
        tampered.sequence
    );
    Ok(())
}

/// How close a real settlement comes to devnet's per-transaction execution bound.
///
/// Our classes are Sierra 1.6, so the blockifier meters them in Cairo steps and caps the execute
/// phase at `min(invoke_tx_max_n_steps = 10M, l2_gas_bound / 100)` steps. Sending the honest
/// settlement with an L2 bound of `100 * s` therefore tells whether its execution needs more
/// than `s` steps (the VM runs out of steps) or not (execution ends; the fee check then finds
/// the bound too small). Bisection over `s` measures the settlement's step count, which must be
/// below 10M — the bound a larger proof or a costlier verifier would hit first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_settlement_fits_the_devnet_step_bound() -> Result<()> {
    const STEP_BOUND: u64 = 10_000_000;
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let accounts = account_addresses(&world, 3);
    let transfers = vec![
        transfer(&world, world.holder, accounts[1], 1_000),
        transfer(&world, world.holder, accounts[2], 2_000),
    ];
    let (honest, _) = prove_sub_block(&world, &accounts, &transfers).await?;

    // Whether executing `honest` needs more than `steps` Cairo steps.
    let needs_more_than = |steps: u64| {
        let honest = &honest;
        let world = &world;
        async move {
            let bounds = client
                .bounds_at_current_prices(0, steps * 100, SETTLE_L1_DATA_GAS, 2)
                .await?;
            let outcome = world
                .registry
                .settle(client, honest, FeeMode::Manual(bounds))
                .await?;
            let reason = outcome.revert_reason().unwrap_or_default().to_lowercase();
            ensure!(
                outcome.is_reverted(),
                "settled with only {steps} steps of L2 bound"
            );
            let out_of_steps = reason.contains("steps") && !reason.contains("l2");
            eprintln!(
                "bound {steps} steps: {}",
                if out_of_steps {
                    "out of steps"
                } else {
                    "execution finished, fee bound too small"
                }
            );
            eprintln!("  reason ends: {}", tail(&reason, 160));
            Ok::<bool, anyhow::Error>(out_of_steps)
        }
    };
    let (mut low, mut high) = (0u64, STEP_BOUND);
    ensure!(
        !needs_more_than(high).await?,
        "the settlement needs more than the 10M-step bound"
    );
    while high - low > 200_000 {
        let middle = (low + high) / 2;
        if needs_more_than(middle).await? {
            low = middle;
        } else {
            high = middle;
        }
    }
    eprintln!(
        "settle execution: {low}..{high} Cairo steps of the {STEP_BOUND}-step bound ({:.0}%)",
        high as f64 * 100.0 / STEP_BOUND as f64
    );
    // Nothing of the probes may have changed the thread.
    assert_eq!(
        world
            .registry
            .next_sequence(client, world.thread_id)
            .await?,
        honest.sequence
    );
    assert!(
        low > 1_000_000,
        "a STARK verification cannot take under 1M steps"
    );
    Ok(())
}
