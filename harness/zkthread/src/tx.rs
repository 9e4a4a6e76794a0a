//! `zkthread tx submit`: hand a transfer to the thread's batcher (stored as pending in the
//! data directory; nothing is sent on-chain until `batch`, `prove`, `settle`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_store::NewTransfer;

use crate::chain::parse_felt;
use crate::datadir::{open_store, ThreadArgs};
use crate::output::{hex, print_json};

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Submit a token transfer to the thread's batcher (prints its id).
    Submit(SubmitArgs),
}

/// Felts and the amount are taken as text and checked here, so a bad value is a one-line error.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    /// Token contract (must be in the thread's contract set, else the batcher rejects it).
    #[arg(long)]
    token: String,
    /// Sender account.
    #[arg(long)]
    from: String,
    /// Receiver account.
    #[arg(long)]
    to: String,
    /// Amount in the token's base unit (a u128 above zero).
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
}

#[derive(Serialize)]
struct Submitted {
    id: u64,
    thread_id: u64,
    token: String,
    from: String,
    to: String,
    amount: String,
    pending: usize,
}

pub async fn run(cmd: TxCommand, data_dir: &Path, json: bool) -> Result<()> {
    let TxCommand::Submit(args) = cmd;
    let transfer = parse_transfer(&args)?;
    let store = open_store(data_dir)?;
    let key = args.thread.key();
    let stored = store.submit(key, transfer)?;
    let out = Submitted {
        id: stored.id,
        thread_id: key.thread_id,
        token: hex(stored.transfer.token),
        from: hex(stored.transfer.from),
        to: hex(stored.transfer.to),
        amount: stored.transfer.amount.to_string(),
        pending: store.pending(key)?.len(),
    };
    if json {
        return print_json(&out);
    }
    println!(
        "transfer {} pending for thread {} ({} pending)",
        out.id, out.thread_id, out.pending
    );
    Ok(())
}

fn parse_transfer(args: &SubmitArgs) -> Result<NewTransfer> {
    let token = parse_felt("--token", &args.token)?;
    let from = parse_felt("--from", &args.from)?;
    let to = parse_felt("--to", &args.to)?;
    let text = args.amount.trim();
    let amount: u128 = text
        .parse()
        .with_context(|| format!("--amount: {text:?} is not a whole number below 2^128"))?;
    if amount == 0 {
        bail!("--amount must be above zero");
    }
    if from == to {
        bail!(
            "--from and --to are the same account {}: a self-transfer changes nothing",
            hex(from)
        );
    }
    Ok(NewTransfer {
        token,
        from,
        to,
        amount,
    })
}
