//! `zkthread bench serve`: the batcher service under load. For each sub-block size, a fresh
//! in-process `zkthread serve` (its own data directory, `--max-transfers` = the size) on the
//! bench world's thread; `clients` concurrent clients, one sender account each, post
//! pre-signed transfers (`--program list`: signed lists of `--list-length` transfers) over
//! loopback HTTP as fast as the API answers; then every message is followed until settled.
//! Reported: accepted transfers per second at the API (admission = signature, nonce and key
//! checks plus a durable write), submit-to-settled latency p50/p99 over transfers (200 ms
//! polling), and settled transfers per minute from the first post to the last settlement.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::Felt;
use zkthread_engine::token::TokenMessage;
use zkthread_engine::{Limits, SettleOptions};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::{SignedPublicInput, SignedTransferTx, MAX_TRANSFERS_PER_PROOF};
use zkthread_prover::Transfer;
use zkthread_service::wire::{Accepted, TransferListRequest, TransferRequest, TransferStatus};
use zkthread_store::NewTransferList;
use zkthread_engine::program::ProofParams;
use zkthread_service::{PipelineConfig, Service, Shared};
use zkthread_store::{Store, ThreadKey};

use super::world::{load_average, BenchWorld, WorldOptions};
use super::ProgramKind;
use crate::chain::ChainArgs;
use crate::output::{print_json, Progress};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Sub-block sizes (the service's --max-transfers) to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [8usize, 32, 128])]
    sizes: Vec<usize>,
    /// Concurrent clients, each posting as its own sender account.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=99))]
    clients: u8,
    /// Sub-blocks per size: each size posts `size x sub_blocks` transfers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    sub_blocks: u32,
    /// The service's --max-wait (seconds): closes the last, partial sub-block.
    #[arg(long, default_value_t = 2)]
    max_wait: u64,
    /// Build and prove the next sub-block while the previous one settles (`both`: measure
    /// each size without, then with).
    #[arg(long, value_enum, default_value_t = BuildAhead::On)]
    build_ahead: BuildAhead,
    /// The thread program: `signed` (one signature per transfer) or `list` (each client posts
    /// signed lists of `--list-length` transfers; sizes count transfers).
    #[arg(long, value_enum, default_value_t = ProgramKind::Signed)]
    program: ProgramKind,
    /// Transfers per posted list (`--program list`).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    list_length: u16,
    /// Prove at the list program's fast parameter set (the service's `--fast-proofs`; `--program
    /// list` only).
    #[arg(long)]
    fast_proofs: bool,
    #[command(flatten)]
    chain: ChainArgs,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum BuildAhead {
    On,
    Off,
    Both,
}

impl BuildAhead {
    fn settings(self) -> &'static [bool] {
        match self {
            BuildAhead::On => &[true],
            BuildAhead::Off => &[false],
            BuildAhead::Both => &[false, true],
        }
    }
}

#[derive(Serialize)]
struct ServeRow {
    /// Transfers per sub-block (the service's --max-transfers).
    sub_block_size: usize,
    build_ahead: bool,
    transfers: usize,
    clients: usize,
    /// Transfers accepted per second at the API over the posting phase.
    accepted_per_s: f64,
    /// Submit-to-settled latency (JSON names spell out seconds, as every duration's does).
    #[serde(rename = "p50_seconds")]
    p50_s: f64,
    #[serde(rename = "p99_seconds")]
    p99_s: f64,
    /// From the first post to the last settlement.
    #[serde(rename = "total_seconds")]
    total_s: f64,
    /// Transfers settled per minute over `total_s`.
    settled_per_minute: f64,
    sub_blocks: usize,
}

#[derive(Serialize)]
struct ServeReport {
    program: &'static str,
    /// Transfers per posted list (null on the signed program).
    list_length: Option<usize>,
    /// Proven at the list program's fast parameter set (`--fast-proofs`).
    fast_proofs: bool,
    node_url: String,
    rows: Vec<ServeRow>,
    load_before: String,
    load_after: String,
}

pub async fn run(args: ServeArgs, json: bool) -> Result<()> {
    let lists = match args.program {
        ProgramKind::Signed => None,
        ProgramKind::List => Some(args.list_length as usize),
        ProgramKind::Unsigned => bail!("bench serve measures a signed program: --program signed or list"),
    };
    ensure!(!args.fast_proofs || lists.is_some(), "--fast-proofs is for --program list (the signed program's verifier accepts one parameter set)");
    let proof_params = if args.fast_proofs { ProofParams::Fast } else { ProofParams::Compact };
    let max = match lists {
        None => MAX_TRANSFERS_PER_PROOF,
        Some(_) => NewTransferList::MAX_TRANSFERS_PER_PROOF,
    };
    ensure!(
        args.sizes.iter().all(|s| (1..=max).contains(s)),
        "--sizes must be in 1..={max} (one proof holds at most {max} transfers of the {} program)",
        args.program.name()
    );
    ensure!(args.chain.rpc_url.is_none(), "bench serve runs on its own embedded devnet (its clients are devnet accounts)");
    let progress = Progress::new(json);
    let clients = args.clients as usize;
    // Every client posts its share up front; the service queues at most
    // `MAX_QUEUED_PER_SENDER` messages per sender (and on a list thread
    // `MAX_QUEUED_TRANSFERS_PER_SENDER` transfers).
    let largest = args.sizes.iter().max().copied().unwrap_or(0) * args.sub_blocks as usize;
    let per_client = largest.div_ceil(clients);
    let messages = lists.map_or(per_client, |length| per_client.div_ceil(length));
    ensure!(
        messages <= zkthread_engine::MAX_QUEUED_PER_SENDER,
        "{largest} transfers from {clients} clients is {messages} messages each, more than the {} the service queues per sender (raise --clients{})",
        zkthread_engine::MAX_QUEUED_PER_SENDER,
        if lists.is_some() { " or --list-length" } else { "" }
    );
    if lists.is_some() {
        ensure!(
            per_client <= zkthread_engine::MAX_QUEUED_TRANSFERS_PER_SENDER,
            "{largest} transfers from {clients} clients is {per_client} each, more than the {} a list thread queues per sender (raise --clients)",
            zkthread_engine::MAX_QUEUED_TRANSFERS_PER_SENDER
        );
    }
    let load_before = load_average();
    let world = BenchWorld::start(
        &WorldOptions {
            program: args.program,
            signers: clients,
            chain: args.chain.clone(),
            repo: args.repo.clone(),
        },
        &progress,
    )
    .await?;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        for &build_ahead in args.build_ahead.settings() {
            let step = progress.step(format!(
                "serving sub-blocks of {size}{}: {clients} clients post {} transfers",
                if build_ahead { ", built ahead" } else { ", one at a time" },
                size * args.sub_blocks as usize
            ));
            let run = Run {
                size,
                clients,
                sub_blocks: args.sub_blocks as usize,
                max_wait: Duration::from_secs(args.max_wait),
                build_ahead,
                lists,
                proof_params,
            };
            let row = measure(&world, run).await?;
            step.done(format!(
                "{:.0} accepted/s, p50 {:.1} s, p99 {:.1} s, {:.0} settled/min",
                row.accepted_per_s, row.p50_s, row.p99_s, row.settled_per_minute
            ));
            rows.push(row);
        }
    }
    let report = ServeReport {
        program: args.program.name(),
        list_length: lists,
        fast_proofs: args.fast_proofs,
        node_url: world.node_url.clone(),
        rows,
        load_before,
        load_after: load_average(),
    };
    world.stop().await?;
    if json {
        return print_json(&report);
    }
    match report.list_length {
        Some(length) => println!(
            "{} program, lists of {length} transfers{}",
            report.program,
            if report.fast_proofs { ", proven at the fast parameter set" } else { "" }
        ),
        None => println!("{} program, one signature per transfer", report.program),
    }
    println!("| sub-block size | built ahead | transfers | clients | accepted/s at the API | submit -> settled p50 | p99 | first post -> last settled | settled/min | sub-blocks |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &report.rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} s | {:.1} s | {:.1} s | {:.0} | {} |",
            r.sub_block_size,
            if r.build_ahead { "yes" } else { "no" },
            r.transfers,
            r.clients,
            r.accepted_per_s,
            r.p50_s,
            r.p99_s,
            r.total_s,
            r.settled_per_minute,
            r.sub_blocks
        );
    }
    println!("load average before / after: {} / {}", report.load_before, report.load_after);
    Ok(())
}

/// One measured configuration.
#[derive(Clone, Copy, Debug)]
struct Run {
    size: usize,
    clients: usize,
    sub_blocks: usize,
    max_wait: Duration,
    build_ahead: bool,
    /// Transfers per posted list, on a list thread.
    lists: Option<usize>,
    proof_params: ProofParams,
}

/// One pre-signed message a client posts: its route, body and transfers.
struct Post {
    route: &'static str,
    body: serde_json::Value,
    transfers: usize,
}

/// One size: a fresh service, the posting phase, then following every transfer to settled.
async fn measure(world: &BenchWorld, run: Run) -> Result<ServeRow> {
    let Run {
        size,
        clients,
        sub_blocks,
        max_wait,
        build_ahead,
        lists,
        proof_params,
    } = run;
    let data_dir = tempfile_dir()?;
    let thread = ThreadKey::new(world.registry.address, world.thread_id);
    let store = Store::open(&data_dir).context("opening the service's data directory")?;
    let listen = "127.0.0.1:0".parse()?;
    let service = match lists {
        None => Service::bind(Shared::new(world.client.clone(), store, thread), listen).await?,
        Some(_) => {
            let shared = Shared::new(world.client.clone(), store.program::<NewTransferList>(), thread);
            Service::bind_lists(shared, listen).await?
        }
    };
    let url = format!("http://{}", service.local_addr()?);
    let pipeline = PipelineConfig {
        limits: Limits { max_transfers: size, ..Limits::default() },
        max_wait,
        settle: SettleOptions::default(),
        poll: Duration::from_millis(200),
        build_ahead,
        proof_params,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(service.run(pipeline, Arc::new(zkthread_engine::Logged), async {
        let _ = stopped.await;
    }));

    let per_client = sign_all(world, size * sub_blocks, clients, lists)?;
    let http = reqwest::Client::new();
    let began = Instant::now();
    let mut posting = Vec::new();
    for posts in per_client {
        let (http, url) = (http.clone(), url.clone());
        posting.push(tokio::spawn(async move {
            let mut accepted = Vec::with_capacity(posts.len());
            for post in posts {
                let response = http.post(format!("{url}/{}", post.route)).json(&post.body).send().await?;
                if !response.status().is_success() {
                    bail!("a message was refused: {}", response.text().await.unwrap_or_default());
                }
                let answer: Accepted = response.json().await?;
                accepted.push(Followed { route: post.route, id: answer.id, at: Instant::now(), transfers: post.transfers });
            }
            Ok::<_, anyhow::Error>(accepted)
        }));
    }
    let mut accepted = Vec::new();
    for task in posting {
        accepted.extend(task.await.context("a client task failed")??);
    }
    let posted = began.elapsed();
    let transfers: usize = accepted.iter().map(|a| a.transfers).sum();
    let latencies = follow(&http, &url, &accepted).await?;
    let total = began.elapsed();
    let thread_view: zkthread_service::wire::ThreadView =
        http.get(format!("{url}/thread")).send().await?.json().await?;
    let _ = stop.send(());
    serving.await.context("the service task failed")??;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(ServeRow {
        sub_block_size: size,
        build_ahead,
        transfers,
        clients,
        accepted_per_s: transfers as f64 / posted.as_secs_f64(),
        p50_s: percentile(&latencies, 0.50),
        p99_s: percentile(&latencies, 0.99),
        total_s: total.as_secs_f64(),
        settled_per_minute: transfers as f64 * 60.0 / total.as_secs_f64(),
        sub_blocks: thread_view.settled_sub_blocks,
    })
}

/// `n` transfers signed ahead of time, split over `clients` senders (each sender's chain of
/// nonces and one-time keys in order), sender i paying sender i + 1: one message per transfer,
/// or with `lists` each sender's share in signed lists of that many transfers (the last
/// shorter).
fn sign_all(world: &BenchWorld, n: usize, clients: usize, lists: Option<usize>) -> Result<Vec<Vec<Post>>> {
    let senders = world.senders();
    ensure!(senders.len() >= clients, "the bench world has {} senders, not {clients}", senders.len());
    let statement = SignedPublicInput {
        os_version: Felt::from(crate::program::OS_VERSION),
        program_hash: world.program_hash,
        chain_id: world.client.chain_id(),
        registry: world.registry.address,
        thread_id: Felt::from(world.thread_id),
        sequence: Felt::ZERO,
        contract_set_commitment: world.contract_set_commitment,
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    };
    let mut keys = world.keys.lock().map_err(|_| anyhow::anyhow!("key state poisoned"))?;
    let mut per_client: Vec<Vec<Post>> = (0..clients).map(|_| Vec::new()).collect();
    for (c, posts) in per_client.iter_mut().enumerate() {
        let (from, to) = (senders[c], senders[(c + 1) % clients.max(2)]);
        // Transfers `c, c + clients, ...` of the `n`, as when they are dealt round robin.
        let share = (c..n).step_by(clients).count();
        let key = keys.get_mut(&from).with_context(|| format!("sender {from:#x} has no thread key"))?;
        let mut signed = 0;
        while signed < share {
            let post = match lists {
                None => {
                    let transfer = Transfer { token: world.token.address, from, to, amount: 1 };
                    let tx = SignedTransferTx::sign(transfer, key.nonce, &key.seed, key.index, &statement)?;
                    Post { route: "transfers", body: serde_json::to_value(TransferRequest::from_tx(&tx))?, transfers: 1 }
                }
                Some(length) => {
                    let length = length.min(share - signed);
                    let items = vec![(to, 1u128); length];
                    let tx = SignedTransferListTx::sign(world.token.address, from, items, key.nonce, &key.seed, key.index, &statement)?;
                    Post { route: "lists", body: serde_json::to_value(TransferListRequest::from_tx(&tx))?, transfers: length }
                }
            };
            key.index += 1;
            key.nonce += 1;
            signed += post.transfers;
            posts.push(post);
        }
    }
    Ok(per_client)
}

/// An accepted message being followed to settled.
#[derive(Clone, Copy)]
struct Followed {
    route: &'static str,
    id: u64,
    at: Instant,
    transfers: usize,
}

/// Polls every accepted message until settled; for each transfer the seconds from its
/// message's acceptance to the first poll that saw it settled.
async fn follow(http: &reqwest::Client, url: &str, accepted: &[Followed]) -> Result<Vec<f64>> {
    let deadline = Instant::now() + Duration::from_secs(3_600);
    let mut open: Vec<Followed> = accepted.to_vec();
    let mut latencies = Vec::with_capacity(accepted.len());
    while !open.is_empty() {
        ensure!(Instant::now() < deadline, "{} messages not settled after an hour", open.len());
        let mut still = Vec::new();
        for message in open {
            let Followed { route, id, at, transfers } = message;
            let status: TransferStatus = http.get(format!("{url}/{route}/{id}")).send().await?.json().await?;
            match status.status.as_str() {
                "settled" => latencies.extend(std::iter::repeat_n(at.elapsed().as_secs_f64(), transfers)),
                "rejected" => bail!("message {id} was rejected: {}", status.reason.unwrap_or_default()),
                _ => still.push(message),
            }
        }
        open = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(latencies)
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n => sorted[((n as f64 * q).ceil() as usize).clamp(1, n) - 1],
    }
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "zkthread-bench-serve-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real run proves sub-blocks (too slow for the suite): the report is held to
    /// docs/cli-json.md on a sample.
    #[test]
    fn the_json_report_is_the_documented_one() {
        let report = ServeReport {
            program: "list",
            list_length: Some(32),
            fast_proofs: false,
            node_url: "http://127.0.0.1:5050/rpc".into(),
            rows: vec![ServeRow {
                sub_block_size: 8,
                build_ahead: true,
                transfers: 16,
                clients: 8,
                accepted_per_s: 159.2,
                p50_s: 30.5,
                p99_s: 41.0,
                total_s: 60.0,
                settled_per_minute: 16.0,
                sub_blocks: 2,
            }],
            load_before: "0.10".into(),
            load_after: "0.20".into(),
        };
        crate::shape::check("bench serve", &serde_json::to_value(&report).expect("serializes"));
    }
}
