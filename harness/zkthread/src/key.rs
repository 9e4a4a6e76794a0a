//! `zkthread key new|show|register`: the wallet side of thread keys.
//!
//! A key file (`zkthread_sig::Wallet`: a seed and the next unused one-time key index, mode
//! 0600) belongs to ONE account and ONE token: key slots are per token while the file has a
//! single counter, so registering one file in two tokens would let two transfers be signed
//! with one one-time key. The default path therefore names both
//! (`<data-dir>/keys/<account>-<token>.json`).
//!
//! `register` sends `set_thread_key(K)` from the account itself (an ordinary invoke: the
//! account contract decides how it is authorized), `K` being the commitment of the file's
//! next unused index — a key that has never signed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_client::{call, ChainClient, FeeMode, Felt};
use zkthread_sig::domain::{pack_key_slot, unpack_key_slot};
use zkthread_sig::{KeyCommitment, Wallet};

use crate::chain::{felt_arg, ChainArgs};
use crate::output::{hex, print_json, Progress};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a thread key file (a fresh seed from the OS; readable by its owner only).
    New(KeyFileArgs),
    /// Show a key file's next unused index and the commitment `register` would send.
    Show(KeyFileArgs),
    /// Register the key file's next unused key in a token's `thread_keys` slot, sent from the account.
    Register(RegisterArgs),
}

#[derive(Args)]
pub struct KeyFileArgs {
    /// The key file. Default: `<data-dir>/keys/<account>-<token>.json`.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The token whose key slot this file serves (names the default file).
    #[arg(long, value_parser = felt_arg)]
    pub token: Option<Felt>,
    /// The account whose key this is (names the default file; default: the signing account).
    #[arg(long, env = "ZKTHREAD_ACCOUNT_ADDRESS", value_parser = felt_arg)]
    pub account: Option<Felt>,
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub file: KeyFileArgs,
    #[command(flatten)]
    pub chain: ChainArgs,
}

#[derive(Serialize)]
struct KeyReport {
    file: String,
    next_index: u32,
    /// `K` of the next unused index, packed as `set_thread_key` takes it.
    commitment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    registered_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction: Option<String>,
}

/// The key file path: explicit, or derived from the account and the token.
fn key_path(args: &KeyFileArgs, data_dir: &Path) -> Result<PathBuf> {
    if let Some(file) = &args.file {
        return Ok(file.clone());
    }
    let (Some(account), Some(token)) = (args.account, args.token) else {
        bail!("no key file: pass --file, or --token and --account (or ZKTHREAD_ACCOUNT_ADDRESS) to use <data-dir>/keys/<account>-<token>.json");
    };
    Ok(default_key_path(data_dir, account, token))
}

/// `<data-dir>/keys/<account>-<token>.json`: one key file per account and token.
pub fn default_key_path(data_dir: &Path, account: Felt, token: Felt) -> PathBuf {
    data_dir.join("keys").join(format!("{account:#x}-{token:#x}.json"))
}

/// `K` packed into the 124-bit felt `set_thread_key` takes (limb i at bits 31 i): the key
/// slot's encoding with nonce 0.
pub fn packed_commitment(key: &KeyCommitment) -> Felt {
    // Nonce 0 is always in range, so this cannot fail.
    pack_key_slot(key, 0).unwrap_or_default()
}

fn report(wallet: &Wallet) -> Result<KeyReport> {
    let key = wallet.current_commitment().context("reading the key file")?;
    Ok(KeyReport {
        file: wallet.path().display().to_string(),
        next_index: wallet.next_index(),
        commitment: hex(packed_commitment(&key)),
        registered_in: None,
        transaction: None,
    })
}

fn print(report: &KeyReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    println!("key file     {}", report.file);
    println!("next index   {}", report.next_index);
    println!("commitment   {}", report.commitment);
    if let Some(token) = &report.registered_in {
        println!("registered   in token {token}");
    }
    if let Some(tx) = &report.transaction {
        println!("transaction  {tx}");
    }
    Ok(())
}

pub async fn run(command: KeyCommand, data_dir: &Path, json: bool) -> Result<()> {
    match command {
        KeyCommand::New(args) => {
            let path = key_path(&args, data_dir)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let wallet = Wallet::create(&path).context("creating the key file")?;
            print(&report(&wallet)?, json)
        }
        KeyCommand::Show(args) => {
            let wallet = Wallet::open(key_path(&args, data_dir)?).context("opening the key file")?;
            print(&report(&wallet)?, json)
        }
        KeyCommand::Register(args) => register(args, data_dir, json).await,
    }
}

async fn register(args: RegisterArgs, data_dir: &Path, json: bool) -> Result<()> {
    let Some(token) = args.file.token else {
        bail!("register needs --token (the token whose key slot to set)");
    };
    let client = args.chain.connect().await?;
    let mut file = args.file;
    file.account.get_or_insert(client.address());
    if file.account != Some(client.address()) {
        bail!("--account {:#x} is not the signing account {:#x}: only an account registers its own key", file.account.unwrap_or_default(), client.address());
    }
    let wallet = Wallet::open(key_path(&file, data_dir)?).context("opening the key file")?;
    let mut report = report(&wallet)?;
    let key = wallet.current_commitment()?;
    let progress = Progress::new(json);
    let step = progress.step("set_thread_key");
    let registered = set_thread_key(&client, token, &key).await?;
    step.done(hex(registered.tx_hash));
    report.registered_in = Some(hex(token));
    report.transaction = Some(hex(registered.tx_hash));
    print(&report, json)
}

/// A key `set_thread_key` installed: the transaction, its fee and the slot's new nonce.
pub struct Registered {
    pub tx_hash: Felt,
    pub fee: u128,
    pub nonce: u32,
}

/// Sends `set_thread_key(key)` to `token` from `client`'s account (an ordinary invoke: the
/// account contract decides how it is authorized) and reads the slot back: it must now hold
/// `key`.
pub async fn set_thread_key(client: &ChainClient, token: Felt, key: &KeyCommitment) -> Result<Registered> {
    let outcome = client
        .invoke(vec![call(token, "set_thread_key", vec![packed_commitment(key)])?], FeeMode::default())
        .await
        .context("sending set_thread_key")?
        .require_success("set_thread_key")?;
    let slot = client
        .call(token, "thread_key", vec![client.address()])
        .await
        .context("reading thread_key back")?;
    let (stored, nonce) = unpack_key_slot(slot.first().unwrap_or(&Felt::ZERO))
        .map_err(|e| anyhow::anyhow!("the token's key slot does not hold a key: {e}"))?;
    if stored != *key {
        bail!(
            "the key slot of {} holds another key after set_thread_key",
            hex(client.address())
        );
    }
    Ok(Registered { tx_hash: outcome.hash, fee: outcome.actual_fee, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_commitment_is_the_key_slot_without_nonce() {
        let key = KeyCommitment::from_u32([1, 2, 3, 0x7fff_fffe]).unwrap();
        assert_eq!(packed_commitment(&key), pack_key_slot(&key, 0).unwrap());
    }
}
