//! Benchmarks. `zkthread bench prove`: proving throughput, verification time, proof size and
//! memory of the thread prover (the signed program by default; `--program list` for the token's
//! list program, `--program unsigned` for the first token program), one fresh child process per
//! size (so peak RSS is per run).
//! `bench verify` and `bench settle` run on a node (embedded devnet by default): what on-chain
//! verification costs per sub-block size, and what a transfer costs settled through a thread
//! versus sent directly. `bench serve`: the batcher service's API rate and settlement latency.

mod report;
mod serve;
mod settle;
mod signed;
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
    /// Prove sub-blocks of 2^min-log..2^max-log transfers (or exactly --transfers), for each --senders count.
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
    /// The batcher service under load: accepted transfers/s at its API and submit-to-settled
    /// latency p50/p99, per sub-block size.
    Serve(serve::ServeArgs),
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

/// Which thread program a benchmark measures (`bench prove`, `bench verify`, `bench settle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgramKind {
    /// Every transfer signed by its sender's thread key (what the CLI proves).
    Signed,
    /// The first token program: conservation only, no authorization (for comparison).
    Unsigned,
    /// The token's list program: each sender signs one list of its transfers per sub-block
    /// (`ListVerifier`; the signed program's statement and parameters, or its second set with
    /// `--log-blowup 4 --queries 20`).
    List,
}

impl ProgramKind {
    fn name(self) -> &'static str {
        match self {
            ProgramKind::Signed => "signed",
            ProgramKind::Unsigned => "unsigned",
            ProgramKind::List => "list",
        }
    }

    /// Whether its transfers are signed by their senders' thread keys (the bench world
    /// registers a key per sender).
    fn is_signed(self) -> bool {
        matches!(self, ProgramKind::Signed | ProgramKind::List)
    }

    /// The parameters the program's verifier accepts.
    fn params(self) -> StarkParams {
        match self {
            ProgramKind::Signed | ProgramKind::List => zkthread_token::SIGNED_PARAMS,
            ProgramKind::Unsigned => StarkParams::DEFAULT,
        }
    }
}

/// Proof parameters; each one left out is the program's own.
#[derive(Args, Clone)]
pub struct ParamArgs {
    /// log2 of the FRI blowup factor.
    #[arg(long)]
    log_blowup: Option<u32>,
    /// Number of FRI queries.
    #[arg(long)]
    queries: Option<u32>,
    /// Proof-of-work bits (keep <= 20 with Poseidon).
    #[arg(long)]
    pow_bits: Option<u32>,
    /// log2 of the FRI last layer degree bound.
    #[arg(long)]
    last_layer: Option<u32>,
    /// FRI fold step.
    #[arg(long)]
    fold_step: Option<u32>,
}

impl ParamArgs {
    fn params(&self, program: ProgramKind) -> StarkParams {
        let p = program.params();
        StarkParams {
            log_blowup: self.log_blowup.unwrap_or(p.log_blowup),
            n_queries: self.queries.unwrap_or(p.n_queries),
            pow_bits: self.pow_bits.unwrap_or(p.pow_bits),
            log_last_layer_degree_bound: self.last_layer.unwrap_or(p.log_last_layer_degree_bound),
            fold_step: self.fold_step.unwrap_or(p.fold_step),
        }
    }
    /// The full parameter set as flags (for the child process).
    fn to_args(params: &StarkParams) -> Vec<String> {
        vec![
            "--log-blowup".into(),
            params.log_blowup.to_string(),
            "--queries".into(),
            params.n_queries.to_string(),
            "--pow-bits".into(),
            params.pow_bits.to_string(),
            "--last-layer".into(),
            params.log_last_layer_degree_bound.to_string(),
            "--fold-step".into(),
            params.fold_step.to_string(),
        ]
    }
}

#[derive(Args)]
pub struct ProveArgs {
    #[arg(long, value_enum, default_value_t = ProgramKind::Signed)]
    program: ProgramKind,
    /// Exact number of transfers (default: every power of two from --min-log to --max-log).
    #[arg(long)]
    transfers: Option<usize>,
    #[arg(long, default_value_t = 6)]
    min_log: u32,
    #[arg(long, default_value_t = 12)]
    max_log: u32,
    /// Distinct senders (signed and list programs: with `list` each sender signs one list;
    /// comma-separated, each run where it is <= transfers).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
    senders: Vec<usize>,
    #[arg(long, value_enum, default_value_t = ChannelKind::Poseidon)]
    channel: ChannelKind,
    #[command(flatten)]
    params: ParamArgs,
}

#[derive(Args)]
pub struct OneArgs {
    #[arg(long, value_enum)]
    program: ProgramKind,
    #[arg(long)]
    transfers: usize,
    #[arg(long, default_value_t = 1)]
    senders: usize,
    #[arg(long, value_enum)]
    channel: ChannelKind,
    #[command(flatten)]
    params: ParamArgs,
}

pub fn run(cmd: BenchCommand, json: bool) -> Result<()> {
    match cmd {
        BenchCommand::Verify(args) => block_on(verify::run(args, json)),
        BenchCommand::Settle(args) => block_on(settle::run(args, json)),
        BenchCommand::Serve(args) => block_on(serve::run(args, json)),
        BenchCommand::Prove(args) => prove_table(args),
        BenchCommand::ProveOne(args) => {
            let params = args.params.params(args.program);
            let (n, senders) = (args.transfers, args.senders);
            let row = match (args.program, args.channel) {
                (ProgramKind::Signed, ChannelKind::Poseidon) => signed::measure(n, senders, &params)?,
                (ProgramKind::List, ChannelKind::Poseidon) => signed::measure_lists(n, senders, &params)?,
                (ProgramKind::Signed | ProgramKind::List, ChannelKind::Blake2s) => {
                    bail!("the signed programs are measured on the poseidon252 channel (the one their Cairo verifiers read)")
                }
                (ProgramKind::Unsigned, ChannelKind::Poseidon) => {
                    measure::<Poseidon252MerkleChannel>(n, &params)?
                }
                (ProgramKind::Unsigned, ChannelKind::Blake2s) => {
                    measure::<Blake2sMerkleChannel>(n, &params)?
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
    senders: usize,
    /// Rows of the largest component.
    rows: usize,
    /// Client-side signing of every transfer (0 for the unsigned program).
    sign_s: f64,
    prove_s: f64,
    verify_ms: f64,
    felts: usize,
    /// Input slots (= output slots) of the sub-block.
    slots: usize,
    rss_mb: f64,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "RESULT {} {} {} {:.3} {:.3} {:.2} {} {} {:.1}",
            self.transfers,
            self.senders,
            self.rows,
            self.sign_s,
            self.prove_s,
            self.verify_ms,
            self.felts,
            self.slots,
            self.rss_mb
        )
    }
    fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.strip_prefix("RESULT ")?.split_whitespace().collect();
        Some(Row {
            transfers: f.first()?.parse().ok()?,
            senders: f.get(1)?.parse().ok()?,
            rows: f.get(2)?.parse().ok()?,
            sign_s: f.get(3)?.parse().ok()?,
            prove_s: f.get(4)?.parse().ok()?,
            verify_ms: f.get(5)?.parse().ok()?,
            felts: f.get(6)?.parse().ok()?,
            slots: f.get(7)?.parse().ok()?,
            rss_mb: f.get(8)?.parse().ok()?,
        })
    }
}

/// One run of the table: a measured row or why the child failed.
enum Outcome {
    Measured(Row),
    Failed { transfers: usize, senders: usize, why: String },
}

fn prove_table(args: ProveArgs) -> Result<()> {
    let sizes: Vec<usize> = match args.transfers {
        Some(n) => vec![n],
        None => (args.min_log..=args.max_log).map(|l| 1usize << l).collect(),
    };
    let runs: Vec<(usize, usize)> = match args.program {
        ProgramKind::Signed | ProgramKind::List => sizes
            .iter()
            .flat_map(|n| args.senders.iter().filter(|s| **s >= 1 && **s <= *n).map(|s| (*n, *s)))
            .collect(),
        ProgramKind::Unsigned => sizes.iter().map(|n| (*n, n / 2 + 2)).collect(),
    };
    if runs.is_empty() {
        bail!("nothing to measure: every --senders count is above the transfer counts");
    }
    let params = args.params.params(args.program);
    println!(
        "program {}, channel {}, log_blowup {}, queries {}, pow {} bits, last layer 2^{}, fold step {}: {} bits conjectured security",
        args.program.name(),
        args.channel.name(),
        params.log_blowup,
        params.n_queries,
        params.pow_bits,
        params.log_last_layer_degree_bound,
        params.fold_step,
        params.security_bits()
    );
    let exe = std::env::current_exe().context("locating the zkthread binary")?;
    let bar = ProgressBar::new(runs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut outcomes = Vec::new();
    for (n, senders) in runs {
        bar.set_message(format!("{n} transfers, {senders} senders"));
        let out = Command::new(&exe)
            .args(["bench", "prove-one", "--program", args.program.name()])
            .args(["--transfers", &n.to_string(), "--senders", &senders.to_string()])
            .args(["--channel", match args.channel {
                ChannelKind::Poseidon => "poseidon",
                ChannelKind::Blake2s => "blake2s",
            }])
            .args(ParamArgs::to_args(&params))
            .output()
            .with_context(|| format!("running the bench child for {n} transfers"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let outcome = match stdout.lines().find_map(Row::parse) {
            Some(row) if out.status.success() => {
                bar.println(format!("  {n} transfers, {senders} senders: prove {:.2} s", row.prove_s));
                Outcome::Measured(row)
            }
            _ => {
                // A child killed by the kernel (no memory) has no exit code; say so, keep going.
                use std::os::unix::process::ExitStatusExt;
                let why = match out.status.signal() {
                    Some(9) => "killed (SIGKILL: out of memory?)".to_owned(),
                    Some(sig) => format!("killed by signal {sig}"),
                    None => String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_owned(),
                };
                bar.println(format!("  {n} transfers, {senders} senders: {why}"));
                Outcome::Failed { transfers: n, senders, why }
            }
        };
        outcomes.push(outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_prove_table(&outcomes);
    Ok(())
}

fn print_prove_table(outcomes: &[Outcome]) {
    println!(
        "| transfers | senders | slots | largest rows | sign s (client) | prove s | verify ms | proof felts | settle calldata | peak RSS MB | transfers/min |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for outcome in outcomes {
        match outcome {
            Outcome::Measured(r) => println!(
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {} | {} | {:.0} | {:.0} |",
                r.transfers,
                r.senders,
                r.slots,
                r.rows,
                r.sign_s,
                r.prove_s,
                r.verify_ms,
                r.felts,
                // settle(thread, sequence, inputs, outputs, proof): 5 + 3 per entry + proof.
                5 + 6 * r.slots + r.felts,
                r.rss_mb,
                r.transfers as f64 * 60.0 / r.prove_s
            ),
            Outcome::Failed { transfers, senders, why } => {
                println!("| {transfers} | {senders} | | | | {why} | | | | | |")
            }
        }
    }
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
        senders: n / 2 + 2,
        rows: 1 << proof.log_n_rows,
        sign_s: 0.0,
        prove_s,
        verify_ms,
        felts: felts.len(),
        slots: public_input.inputs.len(),
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
