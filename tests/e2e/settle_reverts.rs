//! A `settle` that breaks a registry rule is mined REVERTED with that rule's reason: the prover
//! pays exactly the actual fee and no thread storage changes.
//!
//! The threads run the real `ThreadVerifier`, but no settlement here carries a proof: every one
//! must be stopped by a rule checked before verification (had one got that far, it would revert
//! `registry: invalid proof`, not with the rule's reason). Inputs are compared with storage
//! after the proof, contract by contract right before each one is written, so a stale input
//! without its proof reverts for the proof; a proven stale one is in `settle_proven`.

use anyhow::Result;
use zkthread_e2e::client::calldata::SlotValue;
use zkthread_e2e::client::registry::Settlement;
use zkthread_e2e::client::token::balance_slot;
use zkthread_e2e::client::{FeeMode, Felt, TxOutcome};
use zkthread_e2e::settle::{self, Watched};
use zkthread_e2e::{artifact, init_tracing, revert_bounds, ThreadWorld, SUPPLY, TOKEN};

/// Sends `settlement` from the world's account with hand-set bounds and checks: reverted with
/// `reason`, fee charged is exactly the actual fee, `watched` slots and the thread's sequence
/// unchanged.
async fn assert_settle_reverts(
    world: &ThreadWorld,
    settlement: &Settlement,
    reason: &str,
    watched: &[(Felt, Felt)],
) -> Result<TxOutcome> {
    let client = world.client();
    let watched = Watched {
        slots: watched.to_vec(),
        threads: vec![world.thread_id],
    };
    let bounds = revert_bounds(client).await?;
    settle::assert_settle_reverts(
        &world.registry,
        client,
        settlement,
        bounds,
        reason,
        &watched,
    )
    .await
}

/// A transfer of `amount` from holder to `recipient`, with given input values for both slots.
fn transfer_settlement(
    world: &ThreadWorld,
    sequence: u64,
    holder_input: u128,
    recipient: Felt,
    amount: u128,
) -> Result<Settlement> {
    let holder_slot = balance_slot(world.holder)?;
    let recipient_slot = balance_slot(recipient)?;
    let token = world.token.address;
    // The registry wants each list strictly ascending by (contract, key).
    let mut inputs = vec![
        SlotValue::new(token, holder_slot, Felt::from(holder_input)),
        SlotValue::new(token, recipient_slot, Felt::ZERO),
    ];
    let mut outputs = vec![
        SlotValue::new(token, holder_slot, Felt::from(holder_input - amount)),
        SlotValue::new(token, recipient_slot, Felt::from(amount)),
    ];
    inputs.sort();
    outputs.sort();
    Ok(Settlement {
        thread_id: world.thread_id,
        sequence,
        inputs,
        outputs,
        transactions: Default::default(),
        proof: vec![],
    })
}

fn balance_slots(world: &ThreadWorld, token: Felt, recipient: Felt) -> Result<Vec<(Felt, Felt)>> {
    Ok(vec![
        (token, balance_slot(world.holder)?),
        (token, balance_slot(recipient)?),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_claiming_a_stale_input_without_its_proof_reverts_and_charges_the_prover() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let recipient = Felt::from(0xabcdu32);
    let sequence = world
        .registry
        .next_sequence(world.client(), world.thread_id)
        .await?;
    // The holder really has SUPPLY; the sub-block claims it read SUPPLY - 1. The proof is
    // checked before the inputs (so no member's code runs between a contract's check and its
    // write): with none, the proof fails first.
    let stale = transfer_settlement(&world, sequence, SUPPLY - 1, recipient, 10)?;
    let watched = balance_slots(&world, world.token.address, recipient)?;
    assert_settle_reverts(&world, &stale, "registry: invalid proof", &watched).await?;
    assert_eq!(
        world.token.balance_of(world.client(), world.holder).await?,
        SUPPLY
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_for_an_unknown_thread_reverts() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let recipient = Felt::from(0xabcdu32);
    let mut settlement = transfer_settlement(&world, 0, SUPPLY, recipient, 10)?;
    settlement.thread_id = world.thread_id + 1000;
    let watched = balance_slots(&world, world.token.address, recipient)?;
    assert_settle_reverts(&world, &settlement, "registry: unknown thread", &watched).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_touching_a_contract_outside_the_thread_reverts() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    // A second token, registered with the same registry but in no thread.
    let outsider = world.deploy_token("OUT", Felt::TWO).await?;
    let recipient = Felt::from(0xabcdu32);
    let sequence = world
        .registry
        .next_sequence(world.client(), world.thread_id)
        .await?;
    let mut settlement = transfer_settlement(&world, sequence, SUPPLY, recipient, 10)?;
    // Inputs are correct (current values); the outputs also write the outsider's balances.
    let holder_slot = balance_slot(world.holder)?;
    settlement
        .outputs
        .push(SlotValue::new(outsider.address, holder_slot, Felt::ZERO));
    settlement.outputs.sort();
    let mut watched = balance_slots(&world, world.token.address, recipient)?;
    watched.extend(balance_slots(&world, outsider.address, recipient)?);
    assert_settle_reverts(
        &world,
        &settlement,
        "registry: contract not in set",
        &watched,
    )
    .await?;
    assert_eq!(
        outsider.balance_of(world.client(), world.holder).await?,
        SUPPLY
    );
    Ok(())
}

/// The other settlement rules on one world, in turn: replayed/skipped sequence, unsorted slot
/// list, prover outside the allowlist, inactive thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_rule_violations_each_revert_with_their_reason() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let recipient = Felt::from(0xabcdu32);
    let watched = balance_slots(&world, world.token.address, recipient)?;
    let sequence = world
        .registry
        .next_sequence(client, world.thread_id)
        .await?;
    let valid_looking = transfer_settlement(&world, sequence, SUPPLY, recipient, 10)?;

    // Declaring a class the node has is skipped (nothing sent, nothing paid).
    let redeclared = client.declare(artifact(TOKEN.0, TOKEN.1)?).await?;
    assert!(redeclared.outcome.is_none());
    assert_eq!(
        redeclared.class_hash,
        artifact(TOKEN.0, TOKEN.1)?.class_hash
    );

    let mut skipped = valid_looking.clone();
    skipped.sequence = sequence + 1;
    assert_settle_reverts(&world, &skipped, "registry: wrong sequence", &watched).await?;

    let mut unsorted = valid_looking.clone();
    unsorted.inputs.reverse();
    assert_settle_reverts(&world, &unsorted, "registry: unsorted slots", &watched).await?;

    let mut duplicated = valid_looking.clone();
    duplicated.outputs.push(duplicated.outputs[1]);
    assert_settle_reverts(&world, &duplicated, "registry: unsorted slots", &watched).await?;

    // Only account #1 may prove this thread now.
    let other_prover = world.chain.devnet.accounts()[1].address;
    let allow = world
        .registry
        .set_provers_call(world.thread_id, &[other_prover])?;
    client
        .invoke(vec![allow], FeeMode::default())
        .await?
        .require_success("set_provers")?;
    assert_settle_reverts(
        &world,
        &valid_looking,
        "registry: prover not allowed",
        &watched,
    )
    .await?;
    let open = world.registry.set_provers_call(world.thread_id, &[])?;
    client
        .invoke(vec![open], FeeMode::default())
        .await?
        .require_success("set_provers")?;

    let pause = world.registry.set_active_call(world.thread_id, false)?;
    client
        .invoke(vec![pause], FeeMode::default())
        .await?
        .require_success("set_active")?;
    assert!(!world.registry.thread(client, world.thread_id).await?.active);
    assert_settle_reverts(
        &world,
        &valid_looking,
        "registry: thread inactive",
        &watched,
    )
    .await?;
    Ok(())
}
