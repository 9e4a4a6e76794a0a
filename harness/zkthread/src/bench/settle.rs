//! `zkthread bench settle`: L2 gas and fee per transfer settled through a thread against the
//! same transfers sent as direct `transfer` transactions, per sub-block size, with few and with
//! many distinct accounts — from one devnet run; a table on stdout and an SVG plot.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::Args;
use serde::Serialize;

use super::report::{
    per_transfer, render_svg, settle_series, settle_table, DirectCost, SettlePoint, Spread,
    ThreadCost,
};
use super::transfers::{generate, AccountSpread, FreshAddresses};
use super::world::{load_average, BenchWorld, WorldOptions};
use super::ProgramKind;
use crate::chain::ChainArgs;
use crate::output::{print_json, seconds, Progress};

#[derive(Args, Debug)]
pub struct SettleArgs {
    /// The thread program. Default: the token's list program (each sender signs one list of
    /// its transfers per sub-block), whose proofs stay small at 4,096 transfers; `signed`
    /// takes one signature per transfer (a proof holds ~524), `unsigned` is the baseline
    /// without authorization.
    #[arg(long, value_enum, default_value_t = ProgramKind::List)]
    program: ProgramKind,
    /// Transfers per sub-block.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 64, 1024, 4096])]
    sizes: Vec<usize>,
    /// Where to write the plot (SVG).
    #[arg(long, default_value = "bench-settle.svg")]
    out: PathBuf,
    /// Distinct accounts of the "few" configuration (senders are devnet accounts).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(2..=100))]
    few: u8,
    /// Direct transactions sent per (configuration, size): all transfers up to this many, else
    /// the first this many (a direct transfer's cost does not depend on the others). The
    /// default sends every transfer (devnet takes ~10 ms per transaction).
    #[arg(long, default_value_t = 4096)]
    direct_sample: usize,
    #[command(flatten)]
    chain: ChainArgs,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
}

#[derive(Serialize)]
struct SettleReport {
    program: &'static str,
    node_url: String,
    senders: usize,
    direct_sample: usize,
    points: Vec<SettlePoint>,
    plot: String,
    load_before: String,
    load_after: String,
    seconds: f64,
}

pub async fn run(args: SettleArgs, json: bool) -> Result<()> {
    ensure!(
        !args.sizes.is_empty() && args.sizes.iter().all(|&n| n > 0),
        "--sizes must be positive"
    );
    ensure!(args.direct_sample > 0, "--direct-sample must be positive");
    let started = Instant::now();
    let load_before = load_average();
    let progress = Progress::new(json);
    let world = BenchWorld::start(
        &WorldOptions {
            program: args.program,
            signers: usize::from(args.few),
            chain: args.chain.clone(),
            repo: args.repo.clone(),
        },
        &progress,
    )
    .await?;
    let senders = world.senders();
    let mut fresh = FreshAddresses::new(0x5e771e);
    let spreads = [
        AccountSpread::Few {
            participants: usize::from(args.few),
        },
        AccountSpread::Many,
    ];
    let mut points = Vec::new();
    let total = spreads.len() * args.sizes.len();
    for spread in spreads {
        for &n in &args.sizes {
            let label = format!(
                "[{}/{total}] {} accounts, {n} transfers",
                points.len() + 1,
                spread.name()
            );
            let transfers = generate(
                world.token.address,
                &senders,
                spread,
                n,
                &mut fresh,
                n as u64,
            );
            let settled = world.settle(&transfers, &progress, &label, None).await?;
            let sent = n.min(args.direct_sample);
            // A write to an empty balance slot costs more than one to a funded slot. With many
            // accounts the settlement just funded this sub-block's receivers, so the direct
            // transfers get their own fresh receivers (same senders and amounts: same seed) and
            // both sides write empty slots, as the transfers would on their own.
            let direct = match spread {
                AccountSpread::Many => generate(
                    world.token.address,
                    &senders,
                    spread,
                    sent,
                    &mut fresh,
                    n as u64,
                ),
                AccountSpread::Few { .. } => transfers[..sent].to_vec(),
            };
            let sample = &direct[..];
            let costs = world.send_direct(sample, &progress, &label).await?;
            let written: BTreeSet<_> = sample.iter().flat_map(|t| [t.from, t.to]).collect();
            points.push(SettlePoint {
                accounts: spread.name(),
                transfers: n,
                thread: ThreadCost {
                    status: settled.status.clone(),
                    tx_hash: crate::output::hex(settled.tx_hash),
                    slots_in: settled.slots_in,
                    slots_out: settled.slots_out,
                    proof_felts: settled.proof_felts,
                    calldata_felts: settled.calldata_felts,
                    cost: settled.cost,
                    l2_gas_per_transfer: per_transfer(settled.cost.l2_gas as f64, n),
                    fee_fri_per_transfer: per_transfer(settled.cost.fee_fri as f64, n),
                    prove_seconds: settled.prove_seconds,
                },
                direct: DirectCost {
                    sent: costs.len(),
                    l2_gas: Spread::of(costs.iter().map(|c| c.l2_gas as f64))
                        .context("no direct transfer sent")?,
                    fee_fri: Spread::of(costs.iter().map(|c| c.fee_fri as f64))
                        .context("no direct transfer sent")?,
                    balance_slots_written: written.len(),
                },
            });
        }
    }
    let node_url = world.node_url.clone();
    world.stop().await?;

    let svg = render_svg(
        "L2 gas per transfer: settled through a zkThread vs direct transfer transactions",
        "transfers per sub-block (log scale)",
        "L2 gas per transfer (log scale)",
        &settle_series(&points),
    );
    std::fs::write(&args.out, svg)
        .with_context(|| format!("writing the plot to {}", args.out.display()))?;
    let report = SettleReport {
        program: args.program.name(),
        node_url,
        senders: senders.len(),
        direct_sample: args.direct_sample,
        plot: args.out.display().to_string(),
        points,
        load_before,
        load_after: load_average(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if json {
        return print_json(&report);
    }
    println!();
    println!(
        "Per-transfer cost, thread settlement ({} program) vs direct `transfer` transactions (node {}, {} signing senders)",
        report.program, report.node_url, report.senders
    );
    println!(
        "direct: up to {} transactions sent per row (mean, min-max); thread: one settle per row, its cost / transfers; diff slots = net state diff the settle writes",
        report.direct_sample
    );
    print!("{}", settle_table(&report.points));
    for (p, goal) in goal_points(&report.points) {
        match p.l2_gas_ratio() {
            Some(ratio) => println!(
                "{} accounts, {} transfers: thread is {ratio:.1}x cheaper in L2 gas and {:.1}x in fee per transfer (goal >= {goal}x: {})",
                p.accounts,
                p.transfers,
                p.fee_ratio().unwrap_or(f64::NAN),
                if ratio >= goal { "met" } else { "NOT met" }
            ),
            None => println!("{} accounts, {} transfers: the settlement did not succeed ({})", p.accounts, p.transfers, p.thread.status),
        }
    }
    println!("plot: {}", report.plot);
    println!(
        "load average before {} / after {}; total {}",
        report.load_before,
        report.load_after,
        seconds(started.elapsed())
    );
    Ok(())
}

/// The points the goals judge, with their goal ratio: few accounts at 4,096 transfers
/// (>= 100x on hot accounts) and many accounts at 1,024 (>= 10x with 1,024 distinct
/// receivers); none for a size that was not run.
fn goal_points(points: &[SettlePoint]) -> Vec<(&SettlePoint, f64)> {
    let at = |accounts: &str, transfers: usize| points.iter().find(|p| p.accounts == accounts && p.transfers == transfers);
    let few = at("few", 4_096).map(|p| (p, 100.0));
    let many = at("many", 1_024).map(|p| (p, 10.0));
    few.into_iter().chain(many).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Few accounts are judged at 4,096 transfers against 100x, many at 1,024 (the issue's
    /// distinct-receiver size) against 10x, and no other size is.
    #[test]
    fn the_goals_judge_hot_accounts_at_the_largest_size_and_receivers_at_1024() {
        use super::super::report::tests::point;
        let points = vec![
            point("few", 64, 1_000, 1.0),
            point("few", 4_096, 1_000, 1.0),
            point("many", 64, 1_000, 1.0),
            point("many", 1_024, 1_000, 1.0),
            point("many", 4_096, 1_000, 1.0),
        ];
        let judged: Vec<(&str, usize, f64)> =
            goal_points(&points).into_iter().map(|(p, goal)| (p.accounts, p.transfers, goal)).collect();
        assert_eq!(judged, [("few", 4_096, 100.0), ("many", 1_024, 10.0)]);
        assert!(goal_points(&points[..1]).is_empty(), "64 transfers are no goal's size");
    }

    /// A real run proves sub-blocks (too slow for the suite): the report is held to
    /// docs/cli-json.md on a sample.
    #[test]
    fn the_json_report_is_the_documented_one() {
        let report = SettleReport {
            program: ProgramKind::List.name(),
            node_url: "http://127.0.0.1:5050/rpc".into(),
            senders: 4,
            direct_sample: 256,
            points: vec![super::super::report::tests::point("few", 64, 1_800_000_000, 1_000_000.0)],
            plot: "bench-settle.svg".into(),
            load_before: "0.10".into(),
            load_after: "0.20".into(),
            seconds: 3.0,
        };
        crate::shape::check("bench settle", &serde_json::to_value(&report).expect("serializes"));
    }
}
