//! `zkthread order place|cancel` and `zkthread book deploy|show|settle`: the order-book
//! program by hand.
//!
//! A trader signs an order with its key file for the book (`<data-dir>/keys/<account>-<book>.json`,
//! created and registered in the book with `zkthread key new|register --token <book>`); the
//! signed message waits in `<data-dir>/books/<registry>-<thread>.json` with every order the
//! client has seen placed (storage cannot list a map's keys). `book settle` batches the queue
//! against chain (price-time priority at the makers' prices; refused messages leave the queue
//! with their reasons), proves the sub-block with Stwo, verifies it off-chain and settles it;
//! `book show` prints the book's tokens, its fill count, the known orders as the book's
//! `order` view has them, and the queue.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_client::{ChainReader, FeeMode, Felt};
use zkthread_engine::orderbook::{Market, MarketClasses, OrderQueue, StoredOrder, ORDERBOOK, ORDERBOOK_VERIFIER};
use zkthread_engine::program::OS_VERSION;
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::OrderMessage;
use zkthread_sig::domain::account_id;
use zkthread_sig::{KeyCommitment, Wallet};

use crate::chain::{build_contracts_with_packages, find, repo_root, ChainArgs, REGISTRY, TOKEN};
use crate::datadir::ThreadArgs;
use crate::key::default_key_path;
use crate::output::{hex, print_json, short_revert_reason, Progress};
use crate::program::{declare_class, declare_verifier};

#[derive(Subcommand)]
pub enum OrderCommand {
    /// Sign a limit order with your key file and queue it for the book's next round.
    Place(PlaceArgs),
    /// Sign a cancel of one of your orders and queue it.
    Cancel(CancelArgs),
}

#[derive(Subcommand)]
pub enum BookCommand {
    /// Deploy a registry, two thread-ready tokens and an OrderBook, and open the book's thread.
    Deploy(BookDeployArgs),
    /// The book's tokens, fill count, known orders (on chain) and the queued messages.
    Show(BookArgs),
    /// Batch the queued messages against chain, prove the round with Stwo and settle it.
    Settle(BookArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Args)]
pub struct Signer {
    #[command(flatten)]
    thread: ThreadArgs,
    /// Your order's id (ids are per owner; an id is placed once).
    #[arg(long)]
    id: u32,
    /// The key file. Default: `<data-dir>/keys/<account>-<book>.json`.
    #[arg(long = "key-file")]
    key_file: Option<PathBuf>,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Args)]
pub struct PlaceArgs {
    #[command(flatten)]
    signer: Signer,
    #[arg(long, value_enum)]
    side: Side,
    /// Limit price in ticks (quote units per base unit), 1..32767.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=0x7fff))]
    price: u32,
    /// Base units to trade (above zero).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    quantity: u64,
}

#[derive(Args)]
pub struct CancelArgs {
    #[command(flatten)]
    signer: Signer,
}

#[derive(Args)]
pub struct BookArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Args)]
pub struct BookDeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Each book token's supply, minted to the signing account.
    #[arg(long, default_value_t = 1_000_000)]
    supply: u128,
    /// An account to send `--fund-amount` of both tokens to (repeatable): traders to try the
    /// book with.
    #[arg(long, value_parser = crate::chain::felt_arg)]
    fund: Vec<Felt>,
    /// What each `--fund` account gets of each token.
    #[arg(long, default_value_t = 10_000)]
    fund_amount: u128,
    /// Deployment salt (same salt, classes and account: same addresses; change it to deploy
    /// another book on the same node).
    #[arg(long, value_parser = crate::chain::felt_arg, default_value = "0x1")]
    salt: Felt,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
}

#[derive(Serialize)]
struct QueuedReport {
    queue: String,
    owner: String,
    id: u32,
    action: &'static str,
    nonce: u32,
    pending: usize,
}

#[derive(Serialize)]
struct DeployReport {
    registry: String,
    book: String,
    base_token: String,
    quote_token: String,
    thread_id: u64,
    program_hash: String,
}

#[derive(Serialize)]
struct OrderLine {
    owner: String,
    id: u32,
    side: &'static str,
    price: u16,
    remaining: u64,
}

#[derive(Serialize)]
struct ShowReport {
    book: String,
    base_token: String,
    quote_token: String,
    fill_count: u64,
    orders: Vec<OrderLine>,
    pending: Vec<PendingLine>,
}

#[derive(Serialize)]
struct PendingLine {
    owner: String,
    id: u32,
    action: String,
    nonce: u32,
}

#[derive(Serialize)]
struct SettleReport {
    thread_id: u64,
    sequence: u64,
    tx_hash: String,
    fills: Vec<String>,
    refused: Vec<String>,
    prove_seconds: f64,
    proof_felts: usize,
    calldata_felts: usize,
    fee_fri: String,
    pending: usize,
}

/// `<data-dir>/books/<registry>-<thread>.json`.
fn queue_path(data_dir: &Path, thread: &ThreadArgs) -> PathBuf {
    data_dir.join("books").join(format!("{:#x}-{}.json", thread.registry, thread.thread_id))
}

pub async fn run_order(command: OrderCommand, data_dir: &Path, json: bool) -> Result<()> {
    let (signer, place) = match command {
        OrderCommand::Place(a) => {
            let side = match a.side {
                Side::Buy => SIDE_BUY,
                Side::Sell => SIDE_SELL,
            };
            (a.signer, Some((side, a.price, a.quantity)))
        }
        OrderCommand::Cancel(a) => (a.signer, None),
    };
    let client = signer.chain.connect().await?;
    let market = Market::open(client.reader(), Registry { address: signer.thread.registry }, signer.thread.thread_id).await?;
    let owner = client.address();
    let key_path = signer.key_file.clone().unwrap_or_else(|| default_key_path(data_dir, owner, market.book.address));
    let mut wallet = Wallet::open(&key_path).with_context(|| format!("opening the key file {}", key_path.display()))?;
    let path = queue_path(data_dir, &signer.thread);
    let mut queue = OrderQueue::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let on_chain = market.account(client.reader(), owner).await?;
    if on_chain.key != wallet.current_commitment()? && queue.pending.iter().all(|o| o.owner != owner) {
        bail!("the key file's next key is not your key in the book: register it with `zkthread key register --token {}`", hex(market.book.address));
    }
    let book = market.header(client.reader(), 0).await?.domain(market.book.address);
    let message = OrderMessage {
        book,
        owner: account_id(owner),
        id: signer.id,
        place,
        nonce: queue.next_nonce(owner, on_chain.nonce),
        next_key: KeyCommitment::NONE,
    };
    let signed = wallet.sign_next(&message).context("signing the order")?;
    queue.pending.push(StoredOrder::new(owner, &signed));
    queue.save(&path).with_context(|| format!("writing {}", path.display()))?;
    let report = QueuedReport {
        queue: path.display().to_string(),
        owner: hex(owner),
        id: signer.id,
        action: if place.is_some() { "place" } else { "cancel" },
        nonce: message.nonce,
        pending: queue.pending.len(),
    };
    if json {
        return print_json(&report);
    }
    println!("queued {} of order {} (nonce {}): {} pending in {}", report.action, report.id, report.nonce, report.pending, report.queue);
    Ok(())
}

pub async fn run_book(command: BookCommand, data_dir: &Path, json: bool) -> Result<()> {
    match command {
        BookCommand::Deploy(args) => deploy(args, json).await,
        BookCommand::Show(args) => show(args, data_dir, json).await,
        BookCommand::Settle(args) => settle(args, data_dir, json).await,
    }
}

async fn deploy(args: BookDeployArgs, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let client = args.chain.connect().await?;
    let repo = repo_root(args.repo.as_deref())?;
    let step = progress.step("building the contracts");
    let artifacts =
        tokio::task::spawn_blocking(move || build_contracts_with_packages(&repo, ORDERBOOK_VERIFIER, &[ORDERBOOK.0]))
            .await
            .context("the contract build task failed")??;
    step.done("");
    let step = progress.step("declaring the classes, deploying the registry, the tokens and the book");
    let (program_hash, _) = declare_verifier(&client, &artifacts, ORDERBOOK_VERIFIER).await?;
    let book = declare_class(&client, &artifacts, ORDERBOOK).await?.0;
    let token = declare_class(&client, &artifacts, TOKEN).await?.0;
    declare_class(&client, &artifacts, REGISTRY).await?;
    let (registry, _) = Registry::deploy(&client, find(&artifacts, REGISTRY)?.class_hash, client.address(), args.salt)
        .await
        .context("deploying the registry")?;
    let classes = MarketClasses { token, book, program_hash, os_version: Felt::from(OS_VERSION) };
    let market = Market::deploy(&client, registry, classes, args.supply, args.salt).await?;
    for account in &args.fund {
        for token in [market.base, market.quote] {
            token.transfer(&client, *account, args.fund_amount, FeeMode::default()).await.context("funding a trader")?;
        }
    }
    step.done(format!("book {}, thread {}", hex(market.book.address), market.thread_id));
    let report = DeployReport {
        registry: hex(registry.address),
        book: hex(market.book.address),
        base_token: hex(market.base.address),
        quote_token: hex(market.quote.address),
        thread_id: market.thread_id,
        program_hash: hex(program_hash),
    };
    if json {
        return print_json(&report);
    }
    println!("registry  {}\nbook      {}\nbase      {}\nquote     {}\nthread    {}\nprogram   {}", report.registry, report.book, report.base_token, report.quote_token, report.thread_id, report.program_hash);
    Ok(())
}

async fn show(args: BookArgs, data_dir: &Path, json: bool) -> Result<()> {
    let reader = args.chain.connect_read_only().await?;
    let market = Market::open(&reader, Registry { address: args.thread.registry }, args.thread.thread_id).await?;
    let path = queue_path(data_dir, &args.thread);
    let queue = OrderQueue::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let report = ShowReport {
        book: hex(market.book.address),
        base_token: hex(market.base.address),
        quote_token: hex(market.quote.address),
        fill_count: market.book.fill_count(&reader).await?,
        orders: order_lines(&market, &reader, &queue).await?,
        pending: queue
            .pending
            .iter()
            .map(|o| PendingLine { owner: hex(o.owner), id: o.id, action: action(o), nonce: o.nonce })
            .collect(),
    };
    if json {
        return print_json(&report);
    }
    println!("book {} (base {}, quote {}): {} fills settled", report.book, report.base_token, report.quote_token, report.fill_count);
    for o in &report.orders {
        println!("  {} order {}: {} @ {}, {} left", o.owner, o.id, o.side, o.price, o.remaining);
    }
    for p in &report.pending {
        println!("  pending: {} order {} (nonce {}) from {}", p.action, p.id, p.nonce, p.owner);
    }
    Ok(())
}

fn action(o: &StoredOrder) -> String {
    match o.place {
        Some((side, price, quantity)) => format!("{} {quantity} @ {price}", if side == SIDE_BUY { "buy" } else { "sell" }),
        None => "cancel".into(),
    }
}

async fn order_lines(market: &Market, reader: &ChainReader, queue: &OrderQueue) -> Result<Vec<OrderLine>> {
    let mut lines = Vec::new();
    for (owner, id) in &queue.known {
        let o = market.book.order(reader, *owner, u64::from(*id)).await?;
        let side = match o.side {
            1 => "buy",
            2 => "sell",
            _ => "empty",
        };
        lines.push(OrderLine { owner: hex(*owner), id: *id, side, price: o.price, remaining: o.remaining });
    }
    Ok(lines)
}

async fn settle(args: BookArgs, data_dir: &Path, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let client = args.chain.connect().await?;
    let market = Market::open(client.reader(), Registry { address: args.thread.registry }, args.thread.thread_id).await?;
    let path = queue_path(data_dir, &args.thread);
    let mut queue = OrderQueue::load(&path).with_context(|| format!("reading {}", path.display()))?;
    if queue.pending.is_empty() {
        bail!("no queued order messages for thread {} (queue {})", args.thread.thread_id, path.display());
    }
    let sequence = market.registry.next_sequence(&client, market.thread_id).await?;
    let step = progress.step(format!("batching {} messages, proving with Stwo, settling", queue.pending.len()));
    let bounds = client.bounds_at_current_prices(0, 4_000_000_000, 200_000, 2).await?;
    let settled = market.settle_queue(&client, &mut queue, bounds).await;
    // Refused messages left the queue even when nothing settled: keep that.
    queue.save(&path).with_context(|| format!("writing {}", path.display()))?;
    let round = settled.map_err(|e| match e {
        zkthread_engine::orderbook::MarketError::Reverted(reason) => anyhow::anyhow!("the settlement reverted: {}", short_revert_reason(&reason)),
        other => other.into(),
    })?;
    step.done(format!("{} fills", round.trades.len()));
    let s = &round.round.settlement;
    let report = SettleReport {
        thread_id: market.thread_id,
        sequence,
        tx_hash: hex(round.outcome.hash),
        fills: round.trades.iter().map(|t| format!("order {} <- order {}: {} @ {}", t.maker.1, t.taker.1, t.quantity, t.price)).collect(),
        refused: round.refused.iter().map(|(o, reason)| format!("{} order {} from {}: {reason}", action(o), o.id, hex(o.owner))).collect(),
        prove_seconds: round.round.prove_time.as_secs_f64(),
        proof_felts: s.proof.len(),
        calldata_felts: s.calldata().len(),
        fee_fri: round.outcome.actual_fee.to_string(),
        pending: queue.pending.len(),
    };
    if json {
        return print_json(&report);
    }
    println!("settled sequence {} of thread {}: {}", report.sequence, report.thread_id, report.tx_hash);
    for f in &report.fills {
        println!("  fill {f}");
    }
    for r in &report.refused {
        println!("  refused {r}");
    }
    println!("  proved in {:.1} s, {} proof felts, {} calldata felts; {} still pending", report.prove_seconds, report.proof_felts, report.calldata_felts, report.pending);
    Ok(())
}
