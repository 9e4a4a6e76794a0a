//! `zkthread order place|cancel` and `zkthread book deploy|show|settle`: the order-book
//! program by hand.
//!
//! A trader signs an order with its key file for the book (`<data-dir>/keys/<account>-<book>.json`,
//! created and registered in the book with `zkthread key new|register --token <book>`); the
//! signed message waits in the batcher's store (`<data-dir>/zkthread.redb`, the same store as
//! the token threads' transfers). `book settle` runs the engine's pipeline on the book's
//! thread: batch against chain (price-time priority at the makers' prices; refused messages
//! are kept with their reasons), prove with Stwo, verify off-chain, and settle exactly once
//! (a run stopped anywhere is taken up where it stopped by the next one, which looks a
//! recorded send up before sending again). `book show` prints the book's tokens, its fill
//! count, the orders placed by settled sub-blocks as the book's `order` view has them, and
//! what is pending. A queue file written by an earlier version
//! (`<data-dir>/books/<registry>-<thread>.json`) is imported into the store once.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_client::{ChainReader, FeeMode, Felt};
use zkthread_engine::orderbook::pipeline::{import_queue, legacy_queue_path};
use zkthread_engine::orderbook::{
    action, known_orders, owed_taker, side_name, slot_budget, Price, next_nonce, precheck, refusal_line, settle_round, Market, MarketClasses, MarketError, StoredOrder, ORDERBOOK,
    ORDERBOOK_VERIFIER,
};
use zkthread_engine::{SettleOptions, SettleOutcome};
use zkthread_store::{Store, ThreadKey};
use zkthread_engine::program::OS_VERSION;
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::OrderMessage;
use zkthread_sig::domain::account_id;
use zkthread_sig::{KeyCommitment, Wallet};

use crate::chain::{build_contracts_with_packages, find, repo_root, ChainArgs, REGISTRY, TOKEN};
use crate::datadir::{open_store, ThreadArgs};
use crate::key::default_key_path;
use crate::output::{hex, print_json, short_revert_reason, Progress, Steps};
use crate::program::{declare_class, declare_verifier};
use crate::settle::InputCheckArgs;

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
    Settle(BookSettleArgs),
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
    /// Limit price in quote units per base unit: a whole number (`52`) or a ratio
    /// (`105/2`), numerator and denominator each in 1..16383.
    #[arg(long)]
    price: Price,
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
pub struct BookSettleArgs {
    #[command(flatten)]
    book: BookArgs,
    #[command(flatten)]
    input_check: InputCheckArgs,
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
    price: Price,
    remaining: u64,
}

#[derive(Serialize)]
struct ShowReport {
    book: String,
    base_token: String,
    quote_token: String,
    fill_count: u64,
    orders: Vec<OrderLine>,
    /// The most slots one sub-block touches, set by a round too large to settle.
    slot_budget: Option<usize>,
    /// A round owed to a taker the budget stopped: `book settle` runs it, even with nothing
    /// pending.
    owed_round: Option<OwedLine>,
    pending: Vec<PendingLine>,
}

#[derive(Serialize)]
struct OwedLine {
    owner: String,
    id: u32,
    /// Still-live makers its stopped pass has visited (it does not take them again; a filled
    /// or cancelled one is dropped).
    visited: usize,
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
    /// `settled` (the only way this report is printed: a revert is an error).
    status: &'static str,
    /// Sent by this run; false when a send recorded by an earlier run (stopped before its
    /// receipt) was found settled: nothing was sent again.
    sent: bool,
    fills: Vec<String>,
    refused: Vec<String>,
    /// Proving time of this run (null when an earlier run proved it).
    prove_seconds: Option<f64>,
    proof_felts: usize,
    calldata_felts: usize,
    fee_fri: Option<String>,
    /// The thread's pending messages after the round; null when the store could not be read
    /// then (the round settled all the same: a warning says why).
    pending: Option<usize>,
}

/// The batcher's store as the order book's, with a queue file of an earlier version imported.
fn book_store(data_dir: &Path, thread: &ThreadArgs) -> Result<(Store<StoredOrder>, ThreadKey)> {
    let key = thread.key();
    let store = open_store(data_dir)?.program::<StoredOrder>();
    import_legacy_queue(&store, data_dir, key)?;
    Ok((store, key))
}

/// Messages an earlier version queued in a file (`<data-dir>/books/...json`) join the store,
/// once (the file is renamed `.imported`): for `order`, `book` and `serve` alike.
pub fn import_legacy_queue(store: &Store<StoredOrder>, data_dir: &Path, key: ThreadKey) -> Result<()> {
    let legacy = legacy_queue_path(data_dir, key);
    let imported = import_queue(store, key, &legacy).with_context(|| format!("importing {}", legacy.display()))?;
    if imported > 0 {
        tracing::info!(imported, file = %legacy.display(), "imported queued order messages into the store");
    }
    Ok(())
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
    let (store, key) = book_store(data_dir, &signer.thread)?;
    let on_chain = market.account(client.reader(), owner).await?;
    let nonce = next_nonce(&store, key, owner, on_chain.nonce)?;
    if on_chain.key != wallet.current_commitment()? && nonce == on_chain.nonce {
        bail!("the key file's next key is not your key in the book: register it with `zkthread key register --token {}`", hex(market.book.address));
    }
    // A message the batcher refuses burns the one-time key it is signed with: check first.
    if let Some(refusal) = precheck(client.reader(), &store, &market, owner, signer.id, place, nonce).await? {
        bail!("the batcher would refuse this message, or it would change nothing ({refusal}); nothing was signed");
    }
    let book = market.book_domain();
    let message = OrderMessage {
        book,
        owner: account_id(owner),
        id: signer.id,
        place,
        nonce,
        next_key: KeyCommitment::NONE,
    };
    let signed = wallet.sign_next(&message).context("signing the order")?;
    // Counted in the write: once the signed message is stored, nothing may fail.
    let (_, pending) = store.submit_counted(key, StoredOrder::new(owner, &signed))?;
    let report = QueuedReport {
        queue: store.path().display().to_string(),
        owner: hex(owner),
        id: signer.id,
        action: if place.is_some() { "place" } else { "cancel" },
        nonce: message.nonce,
        pending,
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
    let (store, key) = book_store(data_dir, &args.thread)?;
    let report = ShowReport {
        book: hex(market.book.address),
        base_token: hex(market.base.address),
        quote_token: hex(market.quote.address),
        fill_count: market.book.fill_count(&reader).await?,
        orders: order_lines(&market, &reader, &known_orders(&store, key)?).await?,
        slot_budget: slot_budget(&store, key)?,
        owed_round: owed_taker(&store, key)?.map(|owed| OwedLine {
            owner: hex(owed.taker.0),
            id: owed.taker.1,
            visited: owed.passed.len(),
        }),
        pending: store
            .pending(key)?
            .iter()
            .map(|m| PendingLine { owner: hex(m.body.owner), id: m.body.id, action: action(&m.body), nonce: m.body.nonce })
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
    if let Some(budget) = report.slot_budget {
        println!("  slot budget: a sub-block touches at most {budget} slots (set by a round too large to settle)");
    }
    if let Some(owed) = &report.owed_round {
        println!(
            "  owed: the budget stopped order {} of {} ({} makers visited); the next round resumes it first, run `zkthread book settle`",
            owed.id, owed.owner, owed.visited
        );
    }
    Ok(())
}

async fn order_lines(market: &Market, reader: &ChainReader, known: &[(Felt, u32)]) -> Result<Vec<OrderLine>> {
    let mut lines = Vec::new();
    for (&(owner, id), o) in known.iter().zip(market.stored_orders(reader, known).await?) {
        let o = o?;
        let (side, price) = (side_name(o.side), o.price);
        lines.push(OrderLine { owner: hex(owner), id, side, price, remaining: o.remaining });
    }
    Ok(lines)
}

async fn settle(args: BookSettleArgs, data_dir: &Path, json: bool) -> Result<()> {
    let options = SettleOptions {
        input_check: args.input_check.input_check(),
        ..SettleOptions::default()
    };
    let args = args.book;
    let client = args.chain.connect().await?;
    let market = Market::open(client.reader(), Registry { address: args.thread.registry }, args.thread.thread_id).await?;
    let (store, key) = book_store(data_dir, &args.thread)?;
    let round = settle_round(&client, &store, &market, options, &Steps::new(json))
        .await
        .map_err(|e| match e {
            // The engine's own error (store, chain, pre-flight) reads without the wrapper.
            MarketError::Engine(error) => anyhow::Error::new(error),
            other => anyhow::Error::new(other),
        })?;
    let thread_id = market.thread_id;
    let Some(outcome) = round.settled else {
        match round.ended {
            Some(ended) => bail!("nothing settled: {}; run `zkthread book settle` again to match on fresh state", ended.line()),
            None => bail!("no pending order messages for thread {thread_id}"),
        }
    };
    let (sub_block, tx_hash, fee_fri, sent) = match outcome {
        SettleOutcome::NothingToSettle { reconciled } => match reconciled {
            Some(r) => bail!("nothing settled: {}; run `zkthread book settle` again", r.line()),
            None => bail!("no proven sub-block to settle for thread {thread_id}"),
        },
        SettleOutcome::FoundSettled { sub_block, tx_hash, .. } => (sub_block, tx_hash, None, false),
        SettleOutcome::Sent(sent) => {
            if let (Some(reason), false) = (&sent.revert_reason, sent.settled()) {
                bail!(
                    "the settlement reverted: {} (fee {} fri); its {} message(s) are pending again",
                    short_revert_reason(reason),
                    sent.fee_fri,
                    sent.sub_block.body.messages.len()
                );
            }
            // The settling transaction: this send's, or the earlier one it reverted behind.
            let tx_hash = sent.settled_by().unwrap_or(sent.tx_hash);
            (sent.sub_block, tx_hash, Some(sent.fee_fri.to_string()), true)
        }
    };
    let settlement = zkthread_engine::codec::settlement(&sub_block);
    let report = SettleReport {
        thread_id,
        sequence: sub_block.sequence(),
        tx_hash: hex(tx_hash),
        status: sub_block.status.name(),
        sent,
        fills: round
            .proved
            .as_ref()
            .map(|p| p.trades.iter().map(|t| format!("order {} <- order {}: {} @ {}", t.maker.1, t.taker.1, t.quantity, t.price)).collect())
            .unwrap_or_default(),
        refused: round.built.as_ref().map(|b| b.rejected.iter().map(refusal_line).collect()).unwrap_or_default(),
        prove_seconds: round.proved.as_ref().map(|p| p.prove_time.as_secs_f64()),
        proof_felts: settlement.proof.len(),
        calldata_felts: settlement.calldata().len(),
        fee_fri,
        pending: pending_after_settled(&store, key),
    };
    if json {
        return print_json(&report);
    }
    let how = if sent { "settled" } else { "found settled, by an earlier run or a copy of this data directory (nothing sent now)" };
    println!("{how}: sequence {} of thread {}: {}", report.sequence, report.thread_id, report.tx_hash);
    for f in &report.fills {
        println!("  fill {f}");
    }
    for r in &report.refused {
        println!("  refused {r}");
    }
    if let Some(seconds) = report.prove_seconds {
        println!("  proved in {seconds:.1} s");
    }
    let pending = report.pending.map_or_else(|| "pending count unknown".to_string(), |n| format!("{n} still pending"));
    println!("  {} proof felts, {} calldata felts; {pending}", report.proof_felts, report.calldata_felts);
    Ok(())
}

/// The pending count after a settled round. The round is on chain and recorded whatever this
/// read does, so a failure is a warning and a null count, not the command's failure (which
/// would tell a script the round did not settle).
fn pending_after_settled(store: &Store<StoredOrder>, key: ThreadKey) -> Option<usize> {
    match store.pending_count(key) {
        Ok(n) => Some(n),
        Err(error) => {
            tracing::warn!(%error, "the round settled, but the store's pending count could not be read");
            None
        }
    }
}
