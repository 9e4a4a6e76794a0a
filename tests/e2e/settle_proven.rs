//! The whole loop with no test double: the thread's program is the real `ThreadVerifier` class,
//! transfers are batched against on-chain balances, proven with Stwo (Poseidon252, DEFAULT
//! params) and settled. Around that one real settlement, every registry rule is broken once
//! (each its own revert reason, nothing changed, the sender charged exactly the fee), and
//! another contract reads the settled balance in the next transaction.
//!
//! Two devnet 0.10.1 (Starknet 0.14.4 constants) limits matter here:
//! - Class size: the devnet keeps Starknet's declare limits (81,920 CASM felts, 81,920 Sierra
//!   felts, 4,089,446 bytes); the verifier class must fit them.
//! - Execution: our classes are Sierra 1.6 (< `min_sierra_version_for_sierra_gas` 1.7.0), so
//!   the blockifier meters them in Cairo steps, at most `invoke_tx_max_n_steps` = 10,000,000
//!   per transaction (`execute_max_sierra_gas` = 1.11e9 applies to Sierra >= 1.7 classes only).
//!   `real_settlement_fits_the_devnet_step_bound` measures the margin. Measured with the
//!   verifier in the tree at 12:55 UTC: 2.50M-2.66M steps, 0.50e9 L2 gas, calldata ~3,900
//!   felts (at 11:10 UTC, before the verifier got cheaper: 7.7M steps, 1.82e9 L2 gas).

use anyhow::{ensure, Context, Result};
use zkthread_e2e::client::calldata::SlotValue as ChainSlotValue;
use zkthread_e2e::client::token::balance_slot;
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::client::registry::InputCheck;
use zkthread_e2e::settle::{
    assert_settle_reverts, assert_settle_reverts_checking, batch_on_chain, bracket_steps, l2_gas_used, prove_settlement,
    settle_and_check, settle_bounds, transfer, Watched, STEP_BOUND,
};
use zkthread_e2e::{init_tracing, revert_bounds, ThreadWorld};

/// One proof, two full on-chain verifications (the bad proof and the honest settlement).
///
/// Sub-block 0 (four transfers from the holder's supply) is proven once. The thread's admin
/// then restricts provers to account #1. Before it settles, sub-block 0 is sent broken in every
/// way the registry checks, each from a sender that passes every earlier rule:
/// unknown thread, prover not on the allowlist (the admin itself), a contract outside the
/// thread's set, a stale input (a direct L2 transfer moved the holder's balance; it is moved
/// back afterwards), and one proof felt changed. Then the allowed prover settles it: outputs in
/// storage, sequence 1, the `SubBlockSettled` event carries exactly the outputs, and a
/// `BalanceReader` contract invoked right after reads the settled balances through
/// `balance_of`. Last, sending the settled sub-block again is a replay: wrong sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_settlement_applies_its_diff_and_each_broken_rule_reverts() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let admin = world.client();
    let accounts = world.accounts(6);
    let holder = world.holder;
    let token = world.token.address;
    ensure!(accounts[0] == holder);
    let prover = world.chain.client(1)?;
    let outsider_sender = world.chain.client(5)?;
    let reader = world.deploy_balance_reader().await?;
    let outsider = world.deploy_token("OUT", Felt::TWO).await?;

    let transfers = vec![
        transfer(token, holder, accounts[1], 1_000),
        transfer(token, holder, accounts[2], 2_000),
        transfer(token, accounts[1], accounts[3], 300),
        transfer(token, holder, accounts[3], 4_000),
    ];
    let sub_block = batch_on_chain(admin, &[token], &transfers).await?;
    let proven = prove_settlement(admin, &world.thread(), sub_block).await?;
    let honest = &proven.settlement;
    ensure!(honest.sequence == 0);
    let watched = Watched::settlement(honest, &[world.thread_id]);
    let registry = &world.registry;

    // Only account #1 may settle this thread from now on.
    let allow = registry.set_provers_call(world.thread_id, &[prover.address()])?;
    admin
        .invoke(vec![allow], FeeMode::default())
        .await?
        .require_success("set_provers")?;

    // --- Rule 1: the thread exists. ---
    let mut unknown = honest.clone();
    unknown.thread_id = registry.thread_count(admin).await? + 1;
    let bounds = revert_bounds(&prover).await?;
    assert_settle_reverts(
        registry,
        &prover,
        &unknown,
        bounds,
        "registry: unknown thread",
        &watched,
    )
    .await?;

    // --- Rule 1: the sender is on the thread's prover allowlist (the admin is not). ---
    assert_settle_reverts(
        registry,
        admin,
        honest,
        bounds,
        "registry: prover not allowed",
        &watched,
    )
    .await?;

    // --- Rule 3: every slot belongs to a contract in the thread's set. The extra output
    // would hand the holder the outsider token's whole supply. ---
    let mut foreign = honest.clone();
    foreign.outputs.push(ChainSlotValue::new(
        outsider.address,
        balance_slot(holder)?,
        Felt::from(2 * zkthread_e2e::SUPPLY),
    ));
    foreign.outputs.sort();
    let foreign_watched = Watched::settlement(&foreign, &[world.thread_id]);
    assert_settle_reverts(
        registry,
        &prover,
        &foreign,
        bounds,
        "registry: contract not in set",
        &foreign_watched,
    )
    .await?;

    // --- Rule 4: every input is current. A direct L2 transfer moves the holder's balance
    // after the sub-block was built on it. The registry checks inputs after the proof (each
    // contract's right before its writes), so this revert pays for a full verification. ---
    let full = settle_bounds(&prover).await?;
    let bystander = outsider_sender.address();
    world
        .token
        .transfer(admin, bystander, 7, FeeMode::default())
        .await?;
    // Through `settle` the stale input is found after the verification; through
    // `settle_checking_inputs_first` before the verifier runs, so the prover pays the calldata
    // and the reads instead.
    let mut gas = Vec::new();
    for check in [InputCheck::BeforeWrites, InputCheck::First] {
        let outcome = assert_settle_reverts_checking(
            registry,
            &prover,
            honest,
            full,
            "registry: stale input",
            &watched,
            check,
        )
        .await?;
        gas.push(l2_gas_used(&prover, &outcome).await?);
    }
    let (after_proof, first) = (gas[0], gas[1]);
    eprintln!("stale input: L2 gas {after_proof} checked after the proof, {first} checked first");
    ensure!(
        3 * first < after_proof,
        "a stale input checked first should cost a fraction of a verification: {first} vs {after_proof}"
    );
    // Moved back: the proven sub-block's inputs are current again.
    world
        .token
        .transfer(&outsider_sender, holder, 7, FeeMode::default())
        .await?;

    // --- Rule 5: the proof verifies (the real verifier runs, and says no). ---
    let mut bad_proof = honest.clone();
    let middle = bad_proof.proof.len() / 2;
    bad_proof.proof[middle] += Felt::ONE;
    let outcome = assert_settle_reverts(
        registry,
        &prover,
        &bad_proof,
        full,
        "registry: invalid proof",
        &watched,
    )
    .await?;
    eprintln!(
        "bad proof: L2 gas {} (the verifier ran and said no)",
        l2_gas_used(&prover, &outcome).await?
    );

    // --- The honest settlement, by the allowed prover. ---
    let fee_before = prover.fee_token_balance(prover.address()).await?;
    let outcome = settle_and_check(registry, &prover, honest).await?;
    ensure!(
        fee_before - prover.fee_token_balance(prover.address()).await? == outcome.actual_fee,
        "the prover pays exactly the settlement's fee"
    );
    eprintln!(
        "honest settle: fee {} fri, L2 gas {}, calldata {} felts, proof {} felts",
        outcome.actual_fee,
        l2_gas_used(&prover, &outcome).await?,
        honest.calldata().len(),
        honest.proof.len()
    );

    // Another contract sees the settled balances in the very next transactions.
    for account in [holder, accounts[3]] {
        let slot = balance_slot(account)?;
        let settled = honest
            .outputs
            .iter()
            .find(|o| o.contract == token && o.key == slot)
            .context("account not in the sub-block's outputs")?;
        let (record, seen) = reader.record(admin, token, account).await?;
        ensure!(record.block_number > outcome.block_number);
        ensure!(
            Felt::from(seen) == settled.value,
            "BalanceReader saw {seen}, the settlement wrote {:#x}",
            settled.value
        );
        ensure!(Felt::from(reader.last_seen(admin, token, account).await?) == settled.value);
    }
    ensure!(world.token.balance_of(admin, accounts[3]).await? == 4_300);

    // --- Rule 2: a settled sub-block cannot be applied again. ---
    let after_settle = Watched::settlement(honest, &[world.thread_id]);
    assert_settle_reverts(
        registry,
        &prover,
        honest,
        bounds,
        "registry: wrong sequence",
        &after_settle,
    )
    .await?;
    Ok(())
}

/// How close a real settlement comes to devnet's per-transaction execution bound.
///
/// Our classes are Sierra 1.6, so the blockifier meters them in Cairo steps and caps the execute
/// phase at `min(invoke_tx_max_n_steps = 10M, l2_gas_bound / 100)` steps. Simulating the honest
/// settlement (`starknet_simulateTransactions`, nothing mined, so one proof serves every probe)
/// with an L2 bound of `100 * s` therefore tells whether its execution needs more than `s`
/// steps (the VM runs out of steps) or not (it settles, or the fee check finds the bound too
/// small). Bisection over `s` measures the settlement's step count, which must be below 10M —
/// the bound a larger proof or a costlier verifier would hit first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_settlement_fits_the_devnet_step_bound() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let accounts = world.accounts(3);
    let token = world.token.address;
    let transfers = vec![
        transfer(token, world.holder, accounts[1], 1_000),
        transfer(token, world.holder, accounts[2], 2_000),
    ];
    let sub_block = batch_on_chain(client, &[token], &transfers).await?;
    let honest = prove_settlement(client, &world.thread(), sub_block)
        .await?
        .settlement;

    let settle_call = world.registry.settle_call(&honest)?;

    let (low, high) = bracket_steps(client, &settle_call, 200_000).await?;
    eprintln!(
        "settle execution: {low}..{high} Cairo steps of the {STEP_BOUND}-step bound ({:.0}%)",
        high as f64 * 100.0 / STEP_BOUND as f64
    );
    // Simulations change nothing.
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
