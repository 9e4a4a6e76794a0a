//! Two threads of one registry share a token (a thread-ready token trusts one registry; within
//! it any number of threads may list the token). Their sub-blocks are built on the same state
//! and both write the holder's balance: the first to settle wins, the second is stale.

use anyhow::{ensure, Result};
use zkthread_e2e::client::Felt;
use zkthread_e2e::settle::{
    assert_settle_reverts, batch_on_chain, prove_settlement, settle_and_check, settle_bounds,
    transfer, Ledger, Watched,
};
use zkthread_e2e::{init_tracing, ThreadWorld, SUPPLY};

/// Three proofs (A, B, B rebuilt), three full on-chain verifications.
///
/// Thread A = {token}, thread B = {token, other token}. Sub-blocks for A and B are batched on
/// the same on-chain state and proven; both spend from the holder (a shared slot) and both pay
/// account #1 (another shared slot). A settles. B reverts `registry: stale input` with no slot
/// and neither thread's sequence changed. The batcher rebuilds B's transfers on fresh on-chain
/// state; that sub-block is proven and settles. Final balances equal a reference model that
/// applied A's transfers, then B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_sub_block_of_a_second_thread_is_rebuilt_and_settles() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let accounts = world.accounts(4);
    let (holder, token) = (world.holder, world.token.address);
    let other = world.deploy_token("OTH", Felt::TWO).await?.address;
    let thread_a = world.thread();
    let thread_b = world.open_thread(&[token, other]).await?;
    let set_a = [token];
    let set_b = [token, other];
    let mut ledger = Ledger::new(&set_b, holder, SUPPLY, &accounts);

    let transfers_a = vec![
        transfer(token, holder, accounts[1], 1_000),
        transfer(token, holder, accounts[2], 500),
    ];
    let transfers_b = vec![
        transfer(token, holder, accounts[3], 2_000),
        transfer(token, holder, accounts[1], 100),
        transfer(other, holder, accounts[2], 42),
    ];
    // Both batched before either settles: the same holder balance is their input.
    let sub_block_a = batch_on_chain(client, &set_a, &transfers_a).await?;
    let sub_block_b = batch_on_chain(client, &set_b, &transfers_b).await?;
    let proven_a = prove_settlement(client, &thread_a, sub_block_a).await?;
    let stale_b = prove_settlement(client, &thread_b, sub_block_b).await?;
    let shared: Vec<_> = proven_a
        .settlement
        .inputs
        .iter()
        .filter(|a| {
            stale_b
                .settlement
                .inputs
                .iter()
                .any(|b| b.key == a.key && b.contract == a.contract)
        })
        .collect();
    ensure!(
        shared.len() == 2,
        "A and B must share the holder's and #1's slots: {shared:?}"
    );

    settle_and_check(&world.registry, client, &proven_a.settlement).await?;
    ledger.apply_all(&transfers_a)?;
    ledger.assert_on_chain(client).await?;

    // B's proof is valid but its inputs are the balances before A.
    let watched = Watched::settlement(
        &stale_b.settlement,
        &[thread_a.thread_id, thread_b.thread_id],
    );
    assert_settle_reverts(
        &world.registry,
        client,
        &stale_b.settlement,
        // Inputs are checked after the proof: the revert pays for a full verification.
        settle_bounds(client).await?,
        "registry: stale input",
        &watched,
    )
    .await?;
    ledger.assert_on_chain(client).await?;
    ensure!(
        world
            .registry
            .next_sequence(client, thread_b.thread_id)
            .await?
            == 0
    );

    // The batcher rebuilds B from fresh on-chain state: same transfers, new inputs.
    let rebuilt = batch_on_chain(client, &set_b, &transfers_b).await?;
    ensure!(rebuilt.transfers == stale_b.sub_block.transfers);
    ensure!(rebuilt.inputs != stale_b.sub_block.inputs);
    let proven_b = prove_settlement(client, &thread_b, rebuilt).await?;
    ensure!(proven_b.settlement.sequence == 0);
    settle_and_check(&world.registry, client, &proven_b.settlement).await?;
    ledger.apply_all(&transfers_b)?;
    ledger.assert_on_chain(client).await?;

    ensure!(world.token.balance_of(client, holder).await? == SUPPLY - 1_000 - 500 - 2_000 - 100);
    ensure!(world.token.balance_of(client, accounts[1]).await? == 1_100);
    ensure!(
        world
            .registry
            .next_sequence(client, thread_a.thread_id)
            .await?
            == 1
    );
    ensure!(
        world
            .registry
            .next_sequence(client, thread_b.thread_id)
            .await?
            == 1
    );
    Ok(())
}
