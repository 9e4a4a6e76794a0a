//! The embedded devnet starts with funded seed-0 accounts, executes a transfer, and stops.

use std::time::Instant;

use anyhow::{ensure, Result};
use starknet::core::utils::get_storage_var_address;
use zkthread_e2e::client::{call, ChainReader, FeeMode, Felt, TxStatus, READS_PER_BATCH, STRK_FEE_TOKEN_ADDRESS};
use zkthread_e2e::devnet::DevnetAccount;
use zkthread_e2e::{init_tracing, revert_bounds, sizes_from_env, Chain};

/// Seed 0, account #0 (OpenZeppelin account), as published by starknet-devnet.
const SEED0_ACCOUNT0: Felt =
    Felt::from_hex_unchecked("0x064b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691");
const SEED0_KEY0: Felt = Felt::from_hex_unchecked("0x71d7bb07b9a64f6f78ac4c816aff4da9");
const INITIAL_BALANCE: u128 = 1_000_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_starts_funded_transfers_and_stops() -> Result<()> {
    init_tracing();
    let started = Instant::now();
    let chain = Chain::start(0).await?;
    eprintln!("devnet start: {:?}", started.elapsed());

    let accounts = chain.devnet.accounts();
    assert_eq!(accounts.len(), 10);
    assert_eq!(accounts[0].address, SEED0_ACCOUNT0);
    assert_eq!(accounts[0].private_key, SEED0_KEY0);
    let client = &chain.client;
    assert_eq!(
        client.fee_token_balance(accounts[1].address).await?,
        INITIAL_BALANCE
    );

    // A STRK transfer from #0 to #1 (u256 amount = low, high): the recipient gains exactly the
    // amount and the sender loses amount + actual fee.
    let amount = 1_234_567u128;
    let (sender, recipient) = (accounts[0].address, accounts[1].address);
    let sender_before = client.fee_token_balance(sender).await?;
    let transfer = call(
        STRK_FEE_TOKEN_ADDRESS,
        "transfer",
        vec![recipient, Felt::from(amount), Felt::ZERO],
    )?;
    let outcome = client.invoke(vec![transfer], FeeMode::default()).await?;
    assert_eq!(outcome.status, TxStatus::Succeeded);
    assert!(outcome.actual_fee > 0);
    eprintln!(
        "STRK transfer: latency {:?}, fee {} fri",
        outcome.latency, outcome.actual_fee
    );
    assert_eq!(
        client.fee_token_balance(recipient).await?,
        INITIAL_BALANCE + amount
    );
    assert_eq!(
        client.fee_token_balance(sender).await?,
        sender_before - amount - outcome.actual_fee
    );
    batched_reads_answer_each_read_in_order(client, &accounts).await?;

    let url = chain.devnet.url().clone();
    let Chain { devnet, client } = chain;
    devnet.stop();
    assert!(
        client.fee_token_balance(sender).await.is_err(),
        "{url} still answers after stop"
    );
    Ok(())
}

/// A failing call sent with hand-set bounds is mined REVERTED and charged; the same call with
/// fee estimation is refused before mining and costs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_invoke_is_mined_reverted_only_with_manual_bounds() -> Result<()> {
    init_tracing();
    let chain = Chain::start(2).await?;
    let client = &chain.client;
    let (sender, recipient) = (client.address(), chain.devnet.accounts()[3].address);
    let before = client.fee_token_balance(sender).await?;
    // More STRK than the sender has.
    let overdraft = || {
        call(
            STRK_FEE_TOKEN_ADDRESS,
            "transfer",
            vec![recipient, Felt::from(before + 1), Felt::ZERO],
        )
    };

    let refused = client.invoke(vec![overdraft()?], FeeMode::default()).await;
    assert!(
        matches!(
            refused,
            Err(zkthread_e2e::client::ClientError::Rejected { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(
        client.fee_token_balance(sender).await?,
        before,
        "a refused tx must cost nothing"
    );

    let bounds = revert_bounds(client).await?;
    let outcome = client
        .invoke(vec![overdraft()?], FeeMode::Manual(bounds))
        .await?;
    let reason = outcome.revert_reason().unwrap_or_default().to_owned();
    assert!(outcome.is_reverted(), "{outcome:?}");
    assert!(
        reason.contains("insufficient balance") || reason.contains("Overflow"),
        "{reason}"
    );
    assert!(outcome.actual_fee > 0 && outcome.actual_fee <= bounds.max_fee());
    assert_eq!(
        client.fee_token_balance(sender).await?,
        before - outcome.actual_fee
    );
    assert_eq!(client.fee_token_balance(recipient).await?, INITIAL_BALANCE);
    eprintln!(
        "reverted transfer: fee {} fri, latency {:?}, reason {reason}",
        outcome.actual_fee, outcome.latency
    );
    Ok(())
}

#[tokio::test]
async fn connect_rejects_bad_input_with_typed_errors() {
    assert!(zkthread_e2e::devnet::Devnet::connect_hex("not a url", "0x1", "0x2").is_err());
    assert!(
        zkthread_e2e::devnet::Devnet::connect_hex("http://127.0.0.1:5050", "zz", "0x2").is_err()
    );
    let external =
        zkthread_e2e::devnet::Devnet::connect_hex("http://127.0.0.1:5050/rpc", "0x1", "0x2")
            .unwrap();
    assert!(!external.is_embedded());
    assert_eq!(external.accounts()[0].address, Felt::ONE);
}

/// `storage_many` and `call_many` give what one read at a time gives, in the order asked, over
/// more than two batches (the STRK balances after the transfer above differ by account, so a
/// misplaced answer shows), and a failing call fails the whole batched read.
async fn batched_reads_answer_each_read_in_order(client: &ChainReader, accounts: &[DevnetAccount]) -> Result<()> {
    assert!(client.storage_many(&[]).await?.is_empty());
    let balance = |account: &DevnetAccount| get_storage_var_address("ERC20_balances", &[account.address]);
    // Balances (low words), interleaved with empty slots, 2 batches and a part.
    let mut slots = Vec::new();
    for i in 0..2 * READS_PER_BATCH + 17 {
        let account = &accounts[i % accounts.len()];
        let key = if i % 3 == 0 { balance(account)? } else { Felt::from(1_000_000 + i as u64) };
        slots.push((STRK_FEE_TOKEN_ADDRESS, key));
    }
    let batched = client.storage_many(&slots).await?;
    let mut one_by_one = Vec::new();
    for (contract, key) in &slots {
        one_by_one.push(client.storage_at(*contract, *key).await?);
    }
    assert_eq!(batched, one_by_one);
    let distinct: std::collections::BTreeSet<_> = batched.iter().collect();
    ensure!(distinct.len() >= 4, "expected zero and three different balances among the reads, got {distinct:?}");

    let calls: Vec<_> = accounts.iter().map(|a| (STRK_FEE_TOKEN_ADDRESS, "balance_of", vec![a.address])).collect();
    let answers = client.call_many(&calls).await?;
    for (account, words) in accounts.iter().zip(&answers) {
        let balance = client.fee_token_balance(account.address).await?;
        assert_eq!(words.as_slice(), [Felt::from(balance), Felt::ZERO], "{:#x}", account.address);
    }
    let mut failing = calls.clone();
    failing.insert(3, (STRK_FEE_TOKEN_ADDRESS, "no_such_function", vec![]));
    assert!(client.call_many(&failing).await.is_err(), "a failing call fails the batched read");
    Ok(())
}

/// What batching saves a batcher reading slots (a sub-block's inputs, a book's orders): N reads
/// one round trip each against `storage_many`, on the embedded devnet. A table, not a timed
/// assertion: `cargo test -p zkthread-e2e --test devnet_smoke -- --ignored --nocapture
/// storage_reads_cost` (`ZKTHREAD_READS=64,256,1024` for other sizes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: prints a table"]
async fn storage_reads_cost() -> Result<()> {
    init_tracing();
    let sizes = sizes_from_env("ZKTHREAD_READS", "16,64,256,1024")?;
    let chain = Chain::start(0).await?;
    let client = &chain.client;
    println!("| slots | one by one | storage_many | speed-up |");
    println!("|---:|---:|---:|---:|");
    for n in sizes {
        let slots: Vec<(Felt, Felt)> =
            (0..n).map(|i| (STRK_FEE_TOKEN_ADDRESS, Felt::from(7_000_000 + i as u64))).collect();
        let started = Instant::now();
        let mut one_by_one = Vec::with_capacity(n);
        for (contract, key) in &slots {
            one_by_one.push(client.storage_at(*contract, *key).await?);
        }
        let sequential = started.elapsed();
        let started = Instant::now();
        let batched = client.storage_many(&slots).await?;
        let many = started.elapsed();
        assert_eq!(batched, one_by_one);
        println!(
            "| {n} | {:.1} ms | {:.1} ms | {:.1}x |",
            sequential.as_secs_f64() * 1e3,
            many.as_secs_f64() * 1e3,
            sequential.as_secs_f64() / many.as_secs_f64()
        );
    }
    Ok(())
}
