//! Benchmarks. `zkthread bench prove`: proving throughput, verification time, proof size and
//! memory of the thread prover, one fresh child process per size (so peak RSS is per run).
//! `bench verify` and `bench settle` run on a node (embedded devnet by default): what on-chain
//! verification costs per sub-block size, and what a transfer costs settled through a thread
//! versus sent directly.

mod report;
mod settle;
mod transfers;
mod verify;
mod world;

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use starknet_types_core::felt::Felt;
use zkthread_prover::params::StarkParams;
use zkthread_prover::{
    contract_set_commitment, proof_to_felts, prove, verify, Batcher, Blake2sMerkleChannel,
    Poseidon252MerkleChannel, PublicInput, Slot, SubBlock, ThreadChannel, Transfer,
};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Prove token sub-blocks of 2^min-log..2^max-log transfers (or exactly --transfers).
    Prove(ProveArgs),
    /// One measurement in this process (used by `prove` for each size).
    #[command(hide = true)]
    ProveOne(OneArgs),
    /// Settle sub-blocks of 2^min-log..2^max-log transfers on a node: Cairo steps, L2 gas, fee,
    /// calldata and proof felts of on-chain verification.
    Verify(verify::VerifyArgs),
    /// Per-transfer L2 gas and fee, thread settlement vs direct transfers, few and many
    /// accounts; writes an SVG plot.
    Settle(settle::SettleArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ChannelKind {
    Poseidon,
    Blake2s,
}

impl ChannelKind {
    fn name(self) -> &'static str {
        match self {
            ChannelKind::Poseidon => "poseidon252",
            ChannelKind::Blake2s => "blake2s",
        }
    }
}

#[derive(Args, Clone)]
pub struct ParamArgs {
    /// log2 of the FRI blowup factor.
    #[arg(long, default_value_t = StarkParams::DEFAULT.log_blowup)]
    log_blowup: u32,
    /// Number of FRI queries.
    #[arg(long, default_value_t = StarkParams::DEFAULT.n_queries)]
    queries: u32,
    /// Proof-of-work bits (keep <= 16 with Poseidon).
    #[arg(long, default_value_t = StarkParams::DEFAULT.pow_bits)]
    pow_bits: u32,
    /// log2 of the FRI last layer degree bound.
    #[arg(long, default_value_t = StarkParams::DEFAULT.log_last_layer_degree_bound)]
    last_layer: u32,
    /// FRI fold step.
    #[arg(long, default_value_t = StarkParams::DEFAULT.fold_step)]
    fold_step: u32,
}

impl ParamArgs {
    fn params(&self) -> StarkParams {
        StarkParams {
            log_blowup: self.log_blowup,
            n_queries: self.queries,
            pow_bits: self.pow_bits,
            log_last_layer_degree_bound: self.last_layer,
            fold_step: self.fold_step,
        }
    }
    fn to_args(&self) -> Vec<String> {
        vec![
            "--log-blowup".into(),
            self.log_blowup.to_string(),
            "--queries".into(),
            self.queries.to_string(),
            "--pow-bits".into(),
            self.pow_bits.to_string(),
            "--last-layer".into(),
            self.last_layer.to_string(),
            "--fold-step".into(),
            self.fold_step.to_string(),
        ]
    }
}

#[derive(Args)]
pub struct ProveArgs {
    /// Exact number of transfers (default: every power of two from --min-log to --max-log).
    #[arg(long)]
    transfers: Option<usize>,
    #[arg(long, default_value_t = 6)]
    min_log: u32,
    #[arg(long, default_value_t = 16)]
    max_log: u32,
    #[arg(long, value_enum, default_value_t = ChannelKind::Poseidon)]
    channel: ChannelKind,
    #[command(flatten)]
    params: ParamArgs,
}

#[derive(Args)]
pub struct OneArgs {
    #[arg(long)]
    transfers: usize,
    #[arg(long, value_enum)]
    channel: ChannelKind,
    #[command(flatten)]
    params: ParamArgs,
}

pub fn run(cmd: BenchCommand, json: bool) -> Result<()> {
    match cmd {
        BenchCommand::Verify(args) => block_on(verify::run(args, json)),
        BenchCommand::Settle(args) => block_on(settle::run(args, json)),
        BenchCommand::Prove(args) => prove_table(args),
        BenchCommand::ProveOne(args) => {
            let row = match args.channel {
                ChannelKind::Poseidon => {
                    measure::<Poseidon252MerkleChannel>(args.transfers, &args.params.params())?
                }
                ChannelKind::Blake2s => {
                    measure::<Blake2sMerkleChannel>(args.transfers, &args.params.params())?
                }
            };
            println!("{}", row.line());
            Ok(())
        }
    }
}

/// The chain benchmarks' runtime (proving runs on blocking threads inside it).
fn block_on(future: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

struct Row {
    transfers: usize,
    rows: usize,
    prove_s: f64,
    verify_ms: f64,
    felts: usize,
    rss_mb: f64,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "RESULT {} {} {:.3} {:.2} {} {:.1}",
            self.transfers, self.rows, self.prove_s, self.verify_ms, self.felts, self.rss_mb
        )
    }
    fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.strip_prefix("RESULT ")?.split_whitespace().collect();
        Some(Row {
            transfers: f.first()?.parse().ok()?,
            rows: f.get(1)?.parse().ok()?,
            prove_s: f.get(2)?.parse().ok()?,
            verify_ms: f.get(3)?.parse().ok()?,
            felts: f.get(4)?.parse().ok()?,
            rss_mb: f.get(5)?.parse().ok()?,
        })
    }
}

fn prove_table(args: ProveArgs) -> Result<()> {
    let sizes: Vec<usize> = match args.transfers {
        Some(n) => vec![n],
        None => (args.min_log..=args.max_log).map(|l| 1usize << l).collect(),
    };
    let params = args.params.params();
    println!(
        "channel {}, log_blowup {}, queries {}, pow {} bits, last layer 2^{}, fold step {}: {} bits conjectured security",
        args.channel.name(),
        params.log_blowup,
        params.n_queries,
        params.pow_bits,
        params.log_last_layer_degree_bound,
        params.fold_step,
        params.security_bits()
    );
    let exe = std::env::current_exe().context("locating the zkthread binary")?;
    let bar = ProgressBar::new(sizes.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::new();
    for n in sizes {
        bar.set_message(format!("{n} transfers"));
        let mut cmd = Command::new(&exe);
        cmd.args([
            "bench",
            "prove-one",
            "--transfers",
            &n.to_string(),
            "--channel",
        ])
        .arg(match args.channel {
            ChannelKind::Poseidon => "poseidon",
            ChannelKind::Blake2s => "blake2s",
        })
        .args(args.params.to_args());
        let out = cmd
            .output()
            .with_context(|| format!("running the bench child for {n} transfers"))?;
        if !out.status.success() {
            bar.abandon();
            bail!(
                "bench child for {n} transfers failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let row = stdout
            .lines()
            .find_map(Row::parse)
            .with_context(|| format!("no result from the bench child: {stdout}"))?;
        bar.println(format!(
            "  {} transfers: prove {:.2} s",
            row.transfers, row.prove_s
        ));
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{:>9} {:>8} {:>12} {:>9} {:>10} {:>11} {:>12} {:>13}",
        "transfers",
        "rows",
        "channel",
        "prove s",
        "verify ms",
        "proof felts",
        "peak RSS MB",
        "transfers/min"
    );
    for r in &rows {
        println!(
            "{:>9} {:>8} {:>12} {:>9.2} {:>10.1} {:>11} {:>12.0} {:>13.0}",
            r.transfers,
            r.rows,
            args.channel.name(),
            r.prove_s,
            r.verify_ms,
            r.felts,
            r.rss_mb,
            r.transfers as f64 * 60.0 / r.prove_s
        );
    }
    Ok(())
}

/// A valid sub-block of `n` transfers over two tokens and `n/2 + 2` accounts each.
fn bench_sub_block(n: usize) -> Result<(SubBlock, Vec<Felt>)> {
    let tokens = [Felt::from(0x70c3a1u64), Felt::from(0x70c3b2u64)];
    let accounts = (n / 2 + 2) as u64;
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let transfers: Vec<Transfer> = (0..n)
        .map(|_| {
            let from = next() % accounts + 1;
            let to = (from + next() % (accounts - 1)) % accounts + 1;
            Transfer {
                token: tokens[(next() % 2) as usize],
                from: Felt::from(from),
                to: Felt::from(to),
                amount: u128::from(next() % 1_000 + 1),
            }
        })
        .collect();
    let rich = Felt::from(1u128 << 100);
    let batcher = Batcher::new(tokens);
    let sub_block = batcher.batch_strict(&transfers, |_: &Slot| Some(rich))?;
    Ok((sub_block, tokens.to_vec()))
}

fn measure<MC: ThreadChannel>(n: usize, params: &StarkParams) -> Result<Row>
where
    stwo::prover::backend::simd::SimdBackend: stwo::prover::backend::BackendForChannel<MC>,
{
    let (sub_block, tokens) = bench_sub_block(n)?;
    let public_input = PublicInput {
        os_version: Felt::ONE,
        program_hash: Felt::from(0x5eedu64),
        thread_id: Felt::ONE,
        sequence: Felt::ZERO,
        contract_set_commitment: contract_set_commitment(&tokens),
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    };
    let start = Instant::now();
    let proof = prove::<MC>(&public_input, &sub_block, params)?;
    let prove_s = start.elapsed().as_secs_f64();
    let felts = proof_to_felts(&proof);
    // The first verification also computes the preprocessed root (cached by the prover here).
    let start = Instant::now();
    verify::<MC>(&public_input, &proof, params)?;
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(Row {
        transfers: n,
        rows: 1 << proof.log_n_rows,
        prove_s,
        verify_ms,
        felts: felts.len(),
        rss_mb: peak_rss_mb(),
    })
}

/// Peak resident set size of this process (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
