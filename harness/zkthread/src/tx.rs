//! `zkthread tx submit`: sign a transfer with the sender's thread key and hand it to the
//! thread's batcher (stored as pending in the data directory; nothing is sent on-chain until
//! `batch`, `prove`, `settle`).
//!
//! The signature covers every field of the transfer, the thread's domain (chain id, registry,
//! thread, token), the sender's key-slot nonce it consumes and the key the slot rotates to. The
//! nonce and the key it is signed under are the sender's key slot on-chain advanced by the
//! sender's transfers already queued in this data directory, so several transfers can be
//! submitted before one batch. The key file spends one one-time key per transfer.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_client::token::thread_key_slot;
use zkthread_client::Felt;
use zkthread_prover::signed::SignedTransferTx;
use zkthread_sig::domain::{account_id, transfer_domain, unpack_key_slot};
use zkthread_sig::{KeyCommitment, TransferDraft, Wallet};
use zkthread_store::{Store, ThreadKey};

use crate::chain::{parse_felt, ChainArgs};
use crate::datadir::{new_transfer, open_store, signed_tx, ThreadArgs};
use crate::key::default_key_path;
use crate::output::{hex, print_json};

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Sign a token transfer with the sender's thread key and submit it to the thread's batcher (prints its id).
    Submit(SubmitArgs),
}

/// Felts and the amount are taken as text and checked here, so a bad value is a one-line error.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// Token contract (must be in the thread's contract set, else the batcher rejects it).
    #[arg(long)]
    token: String,
    /// Sender account (default: the account of `--account-address`).
    #[arg(long)]
    from: Option<String>,
    /// Receiver account.
    #[arg(long)]
    to: String,
    /// Amount in the token's base unit (a u128 above zero).
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// The sender's key file (default: `<data-dir>/keys/<from>-<token>.json`, from `zkthread key new`).
    #[arg(long)]
    key_file: Option<PathBuf>,
}

#[derive(Serialize)]
struct Submitted {
    id: u64,
    thread_id: u64,
    token: String,
    from: String,
    to: String,
    amount: String,
    /// The sender's key-slot nonce this transfer consumes.
    nonce: u32,
    /// The one-time key index it is signed with (spent in the key file).
    key_index: u32,
    pending: usize,
}

/// A transfer's fields, checked.
struct Fields {
    token: Felt,
    from: Felt,
    to: Felt,
    amount: u128,
}

pub async fn run(cmd: TxCommand, data_dir: &Path, json: bool) -> Result<()> {
    let TxCommand::Submit(args) = cmd;
    let sender = match &args.from {
        Some(from) => Some(parse_felt("--from", from)?),
        None => args
            .chain
            .account_address
            .as_deref()
            .map(|a| parse_felt("--account-address", a))
            .transpose()?,
    };
    let Some(from) = sender else {
        bail!("no sender: pass --from (or --account-address / ZKTHREAD_ACCOUNT_ADDRESS)");
    };
    let fields = parse_transfer(&args, from)?;
    let key_file = match &args.key_file {
        Some(file) => file.clone(),
        None => default_key_path(data_dir, fields.from, fields.token),
    };
    let mut wallet = Wallet::open(&key_file)
        .with_context(|| format!("opening the sender's key file {} (create it with `zkthread key new`)", key_file.display()))?;
    // The store first: a signature is only made once it has somewhere to go.
    let store = open_store(data_dir)?;
    let client = args.chain.connect().await?;
    let thread = args.thread.key();

    let slot = client
        .storage_at(fields.token, thread_key_slot(fields.from)?)
        .await
        .context("reading the sender's thread key slot")?;
    let (on_chain_key, on_chain_nonce) = unpack_key_slot(&slot)
        .map_err(|e| anyhow::anyhow!("the sender's key slot in token {} holds no key: {e}", hex(fields.token)))?;
    if on_chain_key.is_none() {
        bail!(
            "sender {} has no thread key in token {}: run `zkthread key register --token {}` from that account first",
            hex(fields.from),
            hex(fields.token),
            hex(fields.token)
        );
    }
    let (key, nonce) = queued_key_state(&store, thread, &fields, (on_chain_key, on_chain_nonce))?;
    let file_key = wallet.current_commitment().context("reading the key file")?;
    if file_key != key {
        bail!(
            "the key file's next key (index {}) is not the sender's current thread key at nonce {nonce}: \
             a transfer signed with this file was lost or refused, or another file signs for this account; \
             register the file's next key with `zkthread key register --token {}`",
            wallet.next_index(),
            hex(fields.token)
        );
    }
    let draft = TransferDraft {
        domain: transfer_domain(client.chain_id(), thread.registry, Felt::from(thread.thread_id), fields.token),
        from: account_id(fields.from),
        to: account_id(fields.to),
        amount: fields.amount,
        nonce,
    };
    let signed = wallet.sign_transfer(&draft).context("signing the transfer")?;
    let tx = SignedTransferTx {
        token: fields.token,
        from: fields.from,
        to: fields.to,
        amount: fields.amount,
        nonce,
        key: signed.key,
        next_key: signed.message.next_key,
        signature: signed.signature,
    };
    let stored = store.submit(thread, new_transfer(&tx))?;
    let out = Submitted {
        id: stored.id,
        thread_id: thread.thread_id,
        token: hex(tx.token),
        from: hex(tx.from),
        to: hex(tx.to),
        amount: tx.amount.to_string(),
        nonce,
        key_index: signed.index,
        pending: store.pending(thread)?.len(),
    };
    if json {
        return print_json(&out);
    }
    println!(
        "transfer {} signed (nonce {}, key index {}) and pending for thread {} ({} pending)",
        out.id, out.nonce, out.key_index, out.thread_id, out.pending
    );
    Ok(())
}

/// The sender's (key, nonce) after its transfers already queued here (pending or in the
/// thread's in-flight sub-block), which chain from the on-chain slot through their nonces.
fn queued_key_state(
    store: &Store,
    thread: ThreadKey,
    fields: &Fields,
    on_chain: (KeyCommitment, u32),
) -> Result<(KeyCommitment, u32)> {
    let mut queued: Vec<SignedTransferTx> = store
        .pending(thread)?
        .iter()
        .chain(store.in_flight(thread)?.iter().flat_map(|s| s.body.transfers.iter()))
        .filter_map(signed_tx)
        .filter(|t| t.token == fields.token && t.from == fields.from)
        .collect();
    queued.sort_by_key(|t| t.nonce);
    let (mut key, mut nonce) = on_chain;
    for t in queued {
        if t.nonce == nonce && t.key == key {
            (key, nonce) = (t.next_key, nonce + 1);
        }
    }
    Ok((key, nonce))
}

fn parse_transfer(args: &SubmitArgs, from: Felt) -> Result<Fields> {
    let token = parse_felt("--token", &args.token)?;
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
    Ok(Fields {
        token,
        from,
        to,
        amount,
    })
}
