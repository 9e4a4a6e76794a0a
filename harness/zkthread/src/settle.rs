//! `zkthread settle`: send the thread's proven sub-block to the registry, exactly once.
//!
//! Order of events, each durable before the next: reconcile → pre-flight → compute the
//! transaction hash and record `Sending{hash, nonce}` → broadcast → wait for the receipt →
//! record Settled / Stale / Reverted. A crash anywhere is resolved by the next run's
//! reconciliation, which looks the recorded hash up before anything is sent again.
//!
//! `ZKTHREAD_CRASH_AT=before-send|after-send` (test-only) aborts the process right after
//! recording `Sending` / right after broadcasting, to test exactly that recovery.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_client::{ClientError, TxStatus};
use zkthread_prover::signed::poseidon252;
use zkthread_store::SubBlockStatus;

use crate::chain::ChainArgs;
use crate::datadir::{open_store, settlement, statement, ThreadArgs};
use crate::output::{hex, nothing_to_do, print_json, strk, Progress, Reported};
use crate::preflight::{self, Preflight};
use crate::program::PARAMS;
use crate::reconcile::{reconcile, record_revert, Reconciled};

/// Environment variable naming a test-only crash point of `settle`.
pub const CRASH_AT_ENV: &str = "ZKTHREAD_CRASH_AT";

/// Hand-set bounds for settle: estimation would execute the whole on-chain verification once
/// more, and refuses a transaction that would revert (which `--force` wants mined). L2 gas
/// above what a full verification uses (~1.8e9 on devnet 0.10.1); prices twice the current.
const SETTLE_L1_DATA_GAS: u64 = 10_000;
const PRICE_MULTIPLIER: u128 = 2;

#[derive(Args, Debug)]
pub struct SettleArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    thread: ThreadArgs,
    /// Send even if the pre-settlement checks fail (the transaction is mined as REVERTED and
    /// the prover pays its fee).
    #[arg(long)]
    force: bool,
    /// Largest L2 gas the settle transaction may use.
    #[arg(long, default_value_t = 4_000_000_000)]
    l2_gas: u64,
}

#[derive(Serialize)]
struct SettleOutput {
    thread_id: u64,
    sequence: u64,
    attempt: u32,
    /// settled, stale, reverted.
    status: &'static str,
    tx_hash: String,
    nonce: Option<String>,
    block: Option<u64>,
    fee_fri: Option<String>,
    revert_reason: Option<String>,
    /// Sent by this run (false: found settled by reconciliation, nothing sent).
    sent: bool,
    forced: bool,
    preflight: Option<Preflight>,
    reconciled: Option<Reconciled>,
    transfers: usize,
    slots_written: usize,
    /// Why the command fails (exit 1) after this report: the settlement reverted.
    error: Option<String>,
}

pub async fn run(args: SettleArgs, data_dir: &Path, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let key = args.thread.key();
    let store = open_store(data_dir)?;
    let client = args.chain.connect().await?;
    let registry = Registry {
        address: args.thread.registry,
    };
    let thread_id = args.thread.thread_id;

    let step = progress.step("reconciling the data directory with the chain");
    let reconciled = reconcile(&client, &registry, &store, key).await?;
    step.done(
        reconciled
            .as_ref()
            .map(Reconciled::line)
            .unwrap_or_else(|| "nothing to do".into()),
    );

    let Some(sub_block) = store.in_flight(key)? else {
        // A restart that found the previous send settled has done the job.
        if let Some(done) = reconciled.as_ref().filter(|r| r.to == "settled") {
            let record = store
                .sub_blocks(key)?
                .into_iter()
                .find(|s| s.sequence() == done.sequence && s.attempt == done.attempt)
                .context("the reconciled sub-block vanished")?;
            let SubBlockStatus::Settled { tx_hash, block } = record.status else {
                bail!("sub-block {} is not settled", done.sequence);
            };
            let out = SettleOutput {
                thread_id,
                sequence: record.sequence(),
                attempt: record.attempt,
                status: "settled",
                tx_hash: hex(tx_hash),
                nonce: None,
                block: Some(block),
                fee_fri: None,
                revert_reason: None,
                sent: false,
                forced: args.force,
                preflight: None,
                reconciled: reconciled.clone(),
                transfers: record.body.transfers.len(),
                slots_written: record.body.outputs.len(),
                error: None,
            };
            return print(&out, json);
        }
        let reason = match &reconciled {
            Some(r) => format!("nothing to settle: {}; run `zkthread batch` to rebuild", r.line()),
            None => "nothing to settle: no proven sub-block (run `zkthread batch`, then `zkthread prove`)"
                .to_string(),
        };
        return nothing_to_do(thread_id, &reason, json);
    };
    match &sub_block.status {
        SubBlockStatus::Proven => {}
        SubBlockStatus::Built => bail!(
            "sub-block {} of thread {thread_id} is not proven yet: run `zkthread prove --thread {thread_id}`",
            sub_block.sequence()
        ),
        other => bail!(
            "sub-block {} of thread {thread_id} is {} (the node could not be asked about its send); try again",
            sub_block.sequence(),
            other.name()
        ),
    }
    let (sequence, attempt) = (sub_block.sequence(), sub_block.attempt);
    let statement = statement(&sub_block, key.registry);
    let settle = settlement(&sub_block);
    let proof = poseidon252::from_felts(&settle.proof)
        .context("the stored proof does not decode")?;
    let calldata_felts = settle.calldata().len();

    let step = progress.step(
        "pre-settlement checks (proof off-chain, input slots, sequence, verifier class, calldata)",
    );
    let proof_verifies = match poseidon252::verify(&statement, &proof, &PARAMS) {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "the stored proof does not verify off-chain");
            false
        }
    };
    let claim = preflight::Claim {
        thread_id,
        sequence,
        program_hash: statement.program_hash,
        inputs: &statement.inputs,
        proof_verifies,
        calldata_felts,
    };
    let preflight = preflight::check(&client, &registry, &claim).await?;
    match &preflight.blocked_by {
        None => {
            step.done("all passed");
        }
        Some(why) if args.force => {
            step.done(format!("FAILED ({why}); sending anyway (--force)"));
        }
        Some(why) if preflight.stale_inputs > 0 || !preflight.sequence_matches => bail!(
            "settle not sent: {why}; run `zkthread batch --thread {thread_id}` to rebuild it on fresh state (--force sends it anyway and pays for the revert)"
        ),
        Some(why) => bail!("settle not sent: {why} (--force sends it anyway and pays for the revert)"),
    }

    let bounds = client
        .bounds_at_current_prices(0, args.l2_gas, SETTLE_L1_DATA_GAS, PRICE_MULTIPLIER)
        .await?;
    let prepared = client
        .prepare_invoke(vec![registry.settle_call(&settle)?], bounds)
        .await
        .context("preparing the settle transaction")?;
    store.record_sending(key, sequence, attempt, prepared.hash, prepared.nonce)?;
    crash_point("before-send");

    let step = progress.step(format!(
        "settling sub-block {sequence} (tx {}, {calldata_felts} calldata felts; on-chain verification)",
        hex(prepared.hash)
    ));
    if let Err(error) = client.broadcast(&prepared).await {
        if matches!(error, ClientError::Rejected { .. }) {
            // The node refused it outright: nothing is in flight, it may be sent again.
            store.record_not_sent(key, sequence, attempt)?;
        }
        return Err(anyhow::Error::new(error).context("broadcasting settle"));
    }
    crash_point("after-send");
    let outcome = client
        .wait_for_receipt(prepared.hash)
        .await
        .context("waiting for the settle receipt (the next `settle` looks it up again)")?;

    let mut out = SettleOutput {
        thread_id,
        sequence,
        attempt,
        status: "settled",
        tx_hash: hex(outcome.hash),
        nonce: Some(hex(prepared.nonce)),
        block: Some(outcome.block_number),
        fee_fri: Some(outcome.actual_fee.to_string()),
        revert_reason: None,
        sent: true,
        forced: args.force,
        preflight: Some(preflight),
        reconciled,
        transfers: sub_block.body.transfers.len(),
        slots_written: 0,
        error: None,
    };
    match &outcome.status {
        TxStatus::Succeeded => {
            store.record_settled(key, sequence, attempt, outcome.hash, outcome.block_number)?;
            out.slots_written = sub_block.body.outputs.len();
            step.done(format!(
                "SUCCEEDED in block {}, fee {}",
                outcome.block_number,
                strk(outcome.actual_fee)
            ));
            print(&out, json)
        }
        TxStatus::Reverted { .. } => {
            let ended = record_revert(&store, key, &sub_block, &outcome)?;
            let reason = match &ended.status {
                SubBlockStatus::Stale { reason, .. } | SubBlockStatus::Reverted { reason, .. } => {
                    reason.clone()
                }
                _ => String::new(),
            };
            out.status = ended.status.name();
            out.revert_reason = Some(reason.clone());
            step.done(format!(
                "REVERTED '{reason}', fee {}",
                strk(outcome.actual_fee)
            ));
            let error = format!(
                "settle tx {} REVERTED: {reason} (fee {}); sub-block {sequence} is {}, its {} transfer(s) are pending again: run `zkthread batch` to rebuild",
                hex(outcome.hash),
                strk(outcome.actual_fee),
                ended.status.name(),
                ended.body.transfers.len()
            );
            out.error = Some(error.clone());
            print(&out, json)?;
            Err(Reported(error).into())
        }
    }
}

fn print(out: &SettleOutput, json: bool) -> Result<()> {
    if json {
        return print_json(out);
    }
    match out.status {
        "settled" if out.sent => println!(
            "settled sub-block {} of thread {} (tx {}, block {}): {} transfer(s), {} slot(s) written, fee {}",
            out.sequence,
            out.thread_id,
            out.tx_hash,
            out.block.unwrap_or_default(),
            out.transfers,
            out.slots_written,
            strk(out.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or_default())
        ),
        "settled" => println!(
            "sub-block {} of thread {} was already settled (tx {}, block {}); nothing sent",
            out.sequence,
            out.thread_id,
            out.tx_hash,
            out.block.unwrap_or_default()
        ),
        other => println!(
            "sub-block {} of thread {}: {} (tx {}, reason '{}', fee {})",
            out.sequence,
            out.thread_id,
            other,
            out.tx_hash,
            out.revert_reason.as_deref().unwrap_or_default(),
            strk(out.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or_default())
        ),
    }
    Ok(())
}

/// Test-only crash point: `ZKTHREAD_CRASH_AT=<point>` stops the process here with `abort()`
/// (no unwinding, no destructors: what a power cut or `kill -9` would leave). It can only
/// stop the process, never change what is sent.
fn crash_point(point: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|at| at == point) {
        eprintln!("{CRASH_AT_ENV}={point}: aborting (test-only crash point)");
        std::process::abort();
    }
}
