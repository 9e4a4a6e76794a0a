//! `zkthread demo --program orderbook`: a trading round of the order-book program on an
//! embedded devnet, ending with the settlement and the book after it.
//!
//! Start devnet and build the contracts; declare the order book's verifier `OrderBookVerifier`
//! (after its AIR classes `OrderBookFillAir` and `OrderBookAir`) and the `OrderBook` class; deploy a registry, two
//! thread-ready tokens (base and quote) and a book over them, each accepting that program, and
//! open the book's thread over the three. Four traders register thread keys in the book, each
//! from its own account, and sign orders; the batcher also gets planted attacks (an order
//! changed after signing, a replayed order, a cancel of an order never placed) and refuses each
//! with its reason. Round 1 is matched with price-time priority, proven with Stwo, verified
//! off-chain and settled: the registry verifies the proof on-chain and writes the orders, the
//! fill counter, the balances and the rotated key slots. Round 2 crosses an order resting from
//! round 1; before it settles, its maker moves base tokens away on L2, so the proven round is
//! stale and reverts (`registry: stale input`, nothing changes); the batcher rematches the same
//! signed messages on fresh state and that round settles. The book is printed after each.

use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use zkthread_client::registry::{Registry, Settlement};
use zkthread_client::{ChainClient, FeeMode, Felt, TxOutcome};
use zkthread_engine::orderbook::{side_name, Market, MarketClasses, OrderSigner, Price, ORDERBOOK, ORDERBOOK_VERIFIER};
use zkthread_engine::program::OS_VERSION;
use zkthread_orderbook::batcher::{build, rematch, Refused, SubBlock};
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};
use zkthread_sig::domain::account_id;
use zkthread_sig::wots::KeySeed;

use crate::chain::{build_contracts_with_packages, find, repo_root, REGISTRY, TOKEN};
use crate::demo::{connect, DemoArgs, Node};
use crate::output::{hex, print_json, short_revert_reason, strk, Progress};
use crate::program::{declare_class, declare_verifier};

/// Each book token's supply, all held by account #0 (Alice) at first.
const SUPPLY: u128 = 1_000_000;
/// What Alice gives the others: quote to the bidders, base to Carol.
const FUNDING: u128 = 50_000;
/// Hand-set L2 gas of a settle (estimation refuses a failing transaction).
const SETTLE_L2_GAS: u64 = 4_000_000_000;
const SETTLE_L1_DATA_GAS: u64 = 20_000;

const NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

#[derive(Debug, Serialize)]
pub struct BookDemoSummary {
    pub node_url: String,
    pub registry: String,
    pub book: String,
    pub base_token: String,
    pub quote_token: String,
    pub thread_id: u64,
    pub program_hash: String,
    pub rounds: Vec<RoundSummary>,
    /// The stale round of round 2, reverted on purpose.
    pub stale_settlement: StaleSummary,
    /// Every order after the last settlement, and the fill counter.
    pub book_after: Vec<OrderLine>,
    pub fill_count: u64,
}

#[derive(Debug, Serialize)]
pub struct RoundSummary {
    pub messages: usize,
    /// The planted attacks and other refused messages with the batcher's reason.
    pub refused: Vec<String>,
    /// `maker <- taker: quantity @ price`.
    pub fills: Vec<String>,
    pub slots_in: usize,
    pub slots_out: usize,
    pub prove_seconds: f64,
    pub proof_felts: usize,
    pub calldata_felts: usize,
    pub l2_gas: u64,
    pub fee_fri: String,
}

#[derive(Debug, Serialize)]
pub struct StaleSummary {
    pub revert_reason: String,
    pub fee_fri: String,
    /// Every order and every trader's base and quote balance as before the attempt.
    pub book_unchanged: bool,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrderLine {
    pub owner: String,
    pub id: u64,
    pub side: &'static str,
    pub price: Price,
    pub remaining: u64,
}

/// The traders: name, client, signer and the order ids they used.
struct Traders<'a> {
    clients: Vec<&'a ChainClient>,
    signers: Vec<OrderSigner>,
    placed: Vec<(usize, u32)>,
}

impl Traders<'_> {
    fn owners(&self) -> Vec<Felt> {
        self.signers.iter().map(|s| s.address).collect()
    }

    fn name_of(&self, owner: &zkthread_sig::wots::Hash4) -> &'static str {
        self.signers.iter().position(|s| account_id(s.address) == *owner).map_or("?", |i| NAMES[i])
    }
}

pub async fn run(args: DemoArgs, json: bool) -> Result<()> {
    let started = Instant::now();
    let progress = Progress::new(json);
    if args.chain.rpc_url.is_some() {
        bail!("the order-book demo runs on the embedded devnet only (it signs for four accounts)");
    }
    if args.accounts < 4 {
        bail!("the order-book demo needs --accounts 4 or more (alice, bob, carol, dave)");
    }
    let repo = repo_root(args.repo.as_deref())?;
    let step = progress.step("starting devnet and building the contracts");
    let build = tokio::task::spawn_blocking(move || build_contracts_with_packages(&repo, ORDERBOOK_VERIFIER, &[ORDERBOOK.0]));
    let node = connect(&args).await?;
    let artifacts = build.await.context("the contract build task failed")??;
    let client = &node.client;
    let node_url = node.devnet.as_ref().map_or_else(String::new, |d| d.url().to_string());
    step.done(&node_url);

    let step = progress.step("declaring OrderBookFillAir, OrderBookAir, OrderBookVerifier, OrderBook, the registry and the token class");
    let (program_hash, _) = declare_verifier(client, &artifacts, ORDERBOOK_VERIFIER).await?;
    let mut classes = Vec::new();
    for which in [ORDERBOOK, REGISTRY, TOKEN] {
        classes.push(declare_class(client, &artifacts, which).await?.0);
    }
    let (registry, _) = Registry::deploy(client, find(&artifacts, REGISTRY)?.class_hash, client.address(), node.salt)
        .await
        .context("deploying the registry")?;
    step.done(format!("program {}", hex(program_hash)));

    let step = progress.step("deploying the base and quote tokens and the book, opening the book's thread");
    let classes = MarketClasses { token: classes[2], book: classes[0], program_hash, os_version: Felt::from(OS_VERSION) };
    let market = Market::deploy(client, registry, classes, SUPPLY, node.salt).await?;
    step.done(format!("book {}, thread {}", hex(market.book.address), market.thread_id));

    let step = progress.step("funding the traders and registering their thread keys in the book");
    let mut traders = traders(&node, &market).await?;
    step.done(format!("{} traders", traders.signers.len()));

    let (round1, r1) = round_one(&progress, &market, &mut traders, client).await?;
    let (stale, r2) = round_two(&progress, &market, &mut traders, client, &round1).await?;
    let book_after = book_lines(&market, client, &traders).await?;
    let summary = BookDemoSummary {
        node_url,
        registry: hex(market.registry.address),
        book: hex(market.book.address),
        base_token: hex(market.base.address),
        quote_token: hex(market.quote.address),
        thread_id: market.thread_id,
        program_hash: hex(program_hash),
        rounds: vec![r1, r2],
        stale_settlement: stale,
        book_after,
        fill_count: market.book.fill_count(client).await?,
    };
    if json {
        print_json(&summary)
    } else {
        print_human(&summary, started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Alice funds the others (quote to the bidders, base to Carol); each trader registers a
/// fresh key in the book from its own account.
async fn traders<'a>(node: &'a Node, market: &Market) -> Result<Traders<'a>> {
    let client = &node.client;
    let mut clients = Vec::new();
    let mut signers = Vec::new();
    for (i, address) in node.accounts.iter().take(NAMES.len()).enumerate() {
        let trader = node.signer(i).context("a trader without a client")?;
        if i == 1 || i == 3 {
            market.quote.transfer(client, *address, FUNDING, FeeMode::default()).await?;
        }
        if i == 2 {
            market.base.transfer(client, *address, FUNDING, FeeMode::default()).await?;
        }
        let seed = KeySeed::generate().map_err(|e| anyhow::anyhow!("no OS randomness for a key seed: {e}"))?;
        let mut signer = OrderSigner::new(*address, seed);
        market.register_key(trader, &mut signer).await?;
        clients.push(trader);
        signers.push(signer);
    }
    Ok(Traders { clients, signers, placed: Vec::new() })
}

/// Round 1: Alice asks 100 @ 50, Carol 40 @ 97/2 (a ratio: 48.5), Bob bids 120 @ 52 (fills
/// Carol's for 1,940, then 80 of Alice's), Dave bids 30 @ 48 (rests) and cancels it; planted:
/// Alice's ask with its price
/// changed after signing, Bob's bid again (replay), Dave cancelling an order he never placed.
async fn round_one(
    progress: &Progress,
    market: &Market,
    t: &mut Traders<'_>,
    client: &ChainClient,
) -> Result<(SubBlock, RoundSummary)> {
    let state = market.book_state(client, &t.owners()).await?;
    let [a, b, c, d] = [0, 1, 2, 3];
    let ask = t.signers[a].sign(&state, 1, Some((SIDE_SELL, Price::whole(50), 100)))?;
    let bid = t.signers[b].sign(&state, 1, Some((SIDE_BUY, Price::whole(52), 120)))?;
    let mut changed = ask.clone();
    changed.message.place = Some((SIDE_SELL, Price::whole(5), 100));
    let queue = vec![
        changed,
        ask,
        t.signers[c].sign(&state, 1, Some((SIDE_SELL, Price::new(97, 2), 40)))?,
        bid.clone(),
        bid,
        t.signers[d].sign(&state, 1, Some((SIDE_BUY, Price::whole(48), 30)))?,
        t.signers[d].sign(&state, 1, None)?,
        t.signers[d].sign(&state, 7, None)?,
    ];
    t.placed.extend([(a, 1), (b, 1), (c, 1), (d, 1)]);
    let batch = build(&state, &queue).context("round 1")?;
    ensure!(batch.refused.len() == 3, "expected the 3 planted messages refused, got {:?}", batch.refused);
    let refused = describe_refused(t, &batch.refused);
    let sub = batch.sub_block;
    let summary = prove_and_settle(progress, market, t, client, &sub, refused, "round 1").await?;
    Ok((sub, summary))
}

/// Round 2: Bob bids 20 @ 50 against the 20 left of Alice's ask. Proven; then Alice moves all
/// but 5 base away on L2 and the proven round reverts stale; the rematch settles.
async fn round_two(
    progress: &Progress,
    market: &Market,
    t: &mut Traders<'_>,
    client: &ChainClient,
    round1: &SubBlock,
) -> Result<(StaleSummary, RoundSummary)> {
    let queue = vec![t.signers[1].sign(&round1.after, 2, Some((SIDE_BUY, Price::whole(50), 20)))?];
    t.placed.push((1, 2));
    let stale_round = build(&round1.after, &queue).context("round 2")?.sub_block;
    let step = progress.step("round 2: proving Bob's bid 20 @ 50 against Alice's resting ask");
    let proven = market.prove(client, &stale_round, &t.owners()).await?;
    step.done(format!("{:.1} s", proven.prove_time.as_secs_f64()));

    let alice = t.signers[0].address;
    let held = market.base.balance_of(client, alice).await?;
    let carol = t.signers[2].address;
    market.base.transfer(t.clients[0], carol, held - 5, FeeMode::default()).await?;
    let before = (book_lines(market, client, t).await?, balances(market, client, t).await?);
    let step = progress.step("round 2: settling after Alice moved her base away on L2 (must revert: stale)");
    let outcome = settle(market, client, &proven.settlement).await?;
    ensure!(outcome.is_reverted(), "the stale round settled");
    let stale = StaleSummary {
        revert_reason: short_revert_reason(outcome.revert_reason().unwrap_or_default()),
        fee_fri: outcome.actual_fee.to_string(),
        book_unchanged: (book_lines(market, client, t).await?, balances(market, client, t).await?) == before,
    };
    ensure!(stale.revert_reason.contains("registry: stale input") && stale.book_unchanged, "{stale:?}");
    step.done(&stale.revert_reason);

    let mut fresh = round1.after.clone();
    fresh.set_account(account_id(alice), market.account(client, alice).await?);
    let batch = rematch(&stale_round, &fresh).context("rematch")?;
    let refused = describe_refused(t, &batch.refused);
    let summary = prove_and_settle(progress, market, t, client, &batch.sub_block, refused, "round 2 rematched").await?;
    Ok((stale, summary))
}

async fn prove_and_settle(
    progress: &Progress,
    market: &Market,
    t: &Traders<'_>,
    client: &ChainClient,
    sub: &SubBlock,
    refused: Vec<String>,
    label: &str,
) -> Result<RoundSummary> {
    let step = progress.step(format!("{label}: proving {} messages, {} fills with Stwo", sub.messages.len(), sub.trades.len()));
    let proven = market.prove(client, sub, &t.owners()).await?;
    step.done(format!("{:.1} s, {} proof felts", proven.prove_time.as_secs_f64(), proven.settlement.proof.len()));
    let step = progress.step(format!("{label}: settling (the registry verifies the proof on-chain)"));
    let outcome = settle(market, client, &proven.settlement).await?;
    if outcome.is_reverted() {
        bail!("{label} reverted: {}", short_revert_reason(outcome.revert_reason().unwrap_or_default()));
    }
    let l2_gas = crate::demo::l2_gas_used(client, outcome.hash).await?;
    step.done(format!("L2 gas {l2_gas}, fee {}", strk(outcome.actual_fee)));
    let s = &proven.settlement;
    Ok(RoundSummary {
        messages: sub.messages.len(),
        refused,
        fills: sub
            .trades
            .iter()
            .map(|tr| format!("{} <- {}: {} @ {}", t.name_of(&tr.maker.0), t.name_of(&tr.taker.0), tr.quantity, tr.price))
            .collect(),
        slots_in: s.inputs.len(),
        slots_out: s.outputs.len(),
        prove_seconds: proven.prove_time.as_secs_f64(),
        proof_felts: s.proof.len(),
        calldata_felts: s.calldata().len(),
        l2_gas,
        fee_fri: outcome.actual_fee.to_string(),
    })
}

/// Sends `settlement` with hand-set bounds (a stale one is mined reverted and charged).
async fn settle(market: &Market, client: &ChainClient, settlement: &Settlement) -> Result<TxOutcome> {
    let bounds = client.bounds_at_current_prices(0, SETTLE_L2_GAS, SETTLE_L1_DATA_GAS, 2).await?;
    Ok(market.registry.settle(client, settlement, FeeMode::Manual(bounds)).await?)
}

fn describe_refused(t: &Traders<'_>, refused: &[Refused]) -> Vec<String> {
    refused
        .iter()
        .map(|r| format!("#{} from {}: {}", r.index, t.name_of(&r.message.message.owner), r.reason))
        .collect()
}

/// Every order the traders placed, as its storage slot holds it.
async fn book_lines(market: &Market, client: &ChainClient, t: &Traders<'_>) -> Result<Vec<OrderLine>> {
    let placed: Vec<(Felt, u32)> = t.placed.iter().map(|(who, id)| (t.signers[*who].address, *id)).collect();
    let mut lines = Vec::new();
    for ((who, id), order) in t.placed.iter().zip(market.stored_orders(client, &placed).await?) {
        let order = order?;
        let (side, price) = (side_name(order.side), order.price);
        lines.push(OrderLine { owner: NAMES[*who].into(), id: u64::from(*id), side, price, remaining: order.remaining });
    }
    Ok(lines)
}

/// Every trader's base and quote balance.
async fn balances(market: &Market, client: &ChainClient, t: &Traders<'_>) -> Result<Vec<(u128, u128)>> {
    let mut out = Vec::new();
    for s in &t.signers {
        out.push((market.base.balance_of(client, s.address).await?, market.quote.balance_of(client, s.address).await?));
    }
    Ok(out)
}

/// A `*_fri` decimal as STRK.
fn fee(fri: &str) -> String {
    strk(fri.parse().unwrap_or_default())
}

fn print_human(s: &BookDemoSummary, total: f64) {
    println!("order book {} (base {}, quote {}), thread {} of registry {}", s.book, s.base_token, s.quote_token, s.thread_id, s.registry);
    println!("program (OrderBookVerifier) {}", s.program_hash);
    for (i, r) in s.rounds.iter().enumerate() {
        println!("round {}: {} messages settled, {} refused", i + 1, r.messages, r.refused.len());
        for line in &r.refused {
            println!("  refused {line}");
        }
        for fill in &r.fills {
            println!("  fill {fill}");
        }
        println!(
            "  {} slots in / {} out, proved in {:.1} s, {} proof felts, {} calldata felts, L2 gas {}, fee {}",
            r.slots_in, r.slots_out, r.prove_seconds, r.proof_felts, r.calldata_felts, r.l2_gas, fee(&r.fee_fri)
        );
        if i == 0 {
            println!(
                "round 2 first proof, made stale by an L2 transfer: reverted '{}', fee {}, book unchanged: {}",
                s.stale_settlement.revert_reason, fee(&s.stale_settlement.fee_fri), s.stale_settlement.book_unchanged
            );
        }
    }
    println!("book after (fills settled: {}):", s.fill_count);
    for o in &s.book_after {
        println!("  {:<6} order {:>2}: {:<5} @ {:>3}, {} left", o.owner, o.id, o.side, o.price, o.remaining);
    }
    println!("done in {total:.1} s");
}
