//! Benchmark (ignored by default, prints a table): order-book trading rounds of 64 and 256
//! orders settled on a devnet — what a round costs on chain (settle L2 gas, calldata) next to
//! what the same trades cost as direct L2 transfers. Eight devnet accounts trade (even ones ask
//! at 100-109, odd ones bid at 95-104, 1-50 units each, arrival alternating), every round on
//! the book's state after the previous one; each round is built by the batcher from real
//! signatures, proven at `SIGNED_PARAMS` and settled with hand-set bounds.
//!
//! `cargo nextest run -p zkthread-e2e --test orderbook_rounds --run-ignored only --no-capture`
//! (`ZKTHREAD_ROUNDS=64` for a subset).

use std::time::Instant;

use anyhow::{Context, Result};
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::orderbook::{deploy_market_with_supply, prove_round, signer};
use zkthread_engine::orderbook::{Market, OrderSigner};
use zkthread_e2e::settle::{l2_gas_used, tail, SETTLE_L2_GAS};
use zkthread_e2e::{init_tracing, ThreadWorld};
use zkthread_orderbook::batcher::{build, BookState, SignedOrder};
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};

/// Traders: the devnet's first eight accounts (#0, the holder, funds the others).
const TRADERS: usize = 8;
/// L1 data gas bound of a round's settlement (its state diff).
const L1_DATA_GAS: u64 = 400_000;
/// Each book token's supply (held by #0) and the base and quote units each trader gets.
const SUPPLY: u128 = 1 << 60;
const FUNDING: u128 = 1 << 50;

/// A round of `n` places, trader `j % TRADERS` placing order `next_id` at a crossing price.
fn round(state: &BookState, wallets: &mut [OrderSigner], n: usize, ids: &mut [u32], rng: &mut u64) -> Result<Vec<SignedOrder>> {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let mut queue = Vec::with_capacity(n);
    for j in 0..n {
        let a = j % TRADERS;
        let (side, base) = if a % 2 == 0 { (SIDE_SELL, 100) } else { (SIDE_BUY, 95) };
        let price = base + (next() % 10) as u32;
        ids[a] += 1;
        queue.push(wallets[a].sign(state, ids[a], Some((side, price.into(), 1 + next() % 50)))?);
    }
    Ok(queue)
}

/// Funds the traders and registers their keys in the book.
async fn traders(world: &ThreadWorld, market: &Market) -> Result<Vec<OrderSigner>> {
    let client = world.client();
    let mut wallets = Vec::new();
    for (i, address) in world.accounts(TRADERS).into_iter().enumerate() {
        if address != world.holder {
            market.base.transfer(client, address, FUNDING, FeeMode::default()).await?;
            market.quote.transfer(client, address, FUNDING, FeeMode::default()).await?;
        }
        let mut wallet = signer(address, 0x1_0000 + i as u32);
        market.register_key(&world.chain.client(i)?, &mut wallet).await?;
        wallets.push(wallet);
    }
    Ok(wallets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of proving; run with --run-ignored only"]
async fn order_book_round_settlement_costs() -> Result<()> {
    init_tracing();
    let sizes = zkthread_e2e::sizes_from_env("ZKTHREAD_ROUNDS", "64,256")?;
    let (world, market) = deploy_market_with_supply(SUPPLY).await?;
    let client = world.client();
    let mut wallets = traders(&world, &market).await?;
    let owners: Vec<Felt> = wallets.iter().map(|w| w.address).collect();
    let mut state = market.book_state(client.reader(), &owners).await?;
    let mut ids = [0u32; TRADERS];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut rows = Vec::new();
    for n in sizes {
        let queue = round(&state, &mut wallets, n, &mut ids, &mut rng)?;
        let batch = build(&state, &queue).context("batching")?;
        anyhow::ensure!(batch.refused.is_empty() && batch.deferred.is_empty(), "round {n}: refused or deferred");
        let sub = batch.sub_block;
        let began = Instant::now();
        let settlement = prove_round(&market, client.reader(), &sub, &owners).await?;
        let prove_s = began.elapsed().as_secs_f64();
        let calldata = settlement.calldata().len();
        // A round writes hundreds of slots: more L1 data gas than one transfer's settlement.
        let bounds = client.bounds_at_current_prices(0, SETTLE_L2_GAS, L1_DATA_GAS, 2).await?;
        let outcome = world
            .registry
            .settle(client, &settlement, FeeMode::Manual(bounds))
            .await;
        let settled = match outcome {
            Ok(o) if !o.is_reverted() => format!("{}", l2_gas_used(client, &o).await?),
            Ok(o) => format!("reverted: ...{}", tail(o.revert_reason().unwrap_or_default(), 120)),
            Err(e) => format!("not sent: {}", tail(&e.to_string(), 160)),
        };
        rows.push(format!(
            "| {n} | {} | {}/{} | {prove_s:.1} | {} | {calldata} | {settled} |",
            sub.trades.len(),
            settlement.inputs.len(),
            settlement.outputs.len(),
            settlement.proof.len()
        ));
        state = sub.after;
    }
    eprintln!("| orders | fills | slots in/out | prove s (incl. statement) | proof felts | settle calldata | settle L2 gas |");
    eprintln!("|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        eprintln!("{row}");
    }
    Ok(())
}
