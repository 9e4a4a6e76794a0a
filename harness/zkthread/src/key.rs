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
    /// The key file. Default: `<data-dir>/keys/<account>-<token>.json`. Named as in
    /// `tx submit`; `--file` is the old spelling.
    #[arg(long = "key-file", alias = "file")]
    pub file: Option<PathBuf>,
    /// The token whose key slot this file serves (names the default file).
    #[arg(long, value_parser = felt_arg)]
    pub token: Option<Felt>,
    /// The account whose key this is (names the default file). Named like every command's
    /// account flag; `--account` is the old spelling.
    #[arg(long = "account-address", alias = "account", env = "ZKTHREAD_ACCOUNT_ADDRESS", value_parser = felt_arg)]
    pub account: Option<Felt>,
}

#[derive(Args)]
pub struct RegisterArgs {
    /// The key file. Default: `<data-dir>/keys/<account>-<token>.json`, the account being the
    /// signing one (`--account-address`). `--file` is the old spelling.
    #[arg(long = "key-file", alias = "file")]
    pub file: Option<PathBuf>,
    /// The token whose key slot to set.
    #[arg(long, value_parser = felt_arg)]
    pub token: Felt,
    /// Old flag naming the account of the default file: only the signing account registers
    /// its own key, so it must be that account (kept so old invocations still run).
    #[arg(long = "account", hide = true, value_parser = felt_arg)]
    pub account: Option<Felt>,
    #[command(flatten)]
    pub chain: ChainArgs,
}

#[derive(Serialize)]
struct KeyReport {
    file: String,
    next_index: u32,
    /// `K` of the next unused index, packed as `set_thread_key` takes it.
    commitment: String,
    /// The token `register` set the key in (null for `new` and `show`: every field is always
    /// present, null when it does not apply).
    registered_in: Option<String>,
    transaction: Option<String>,
}

/// The key file path: explicit, or derived from the account and the token.
fn key_path(args: &KeyFileArgs, data_dir: &Path) -> Result<PathBuf> {
    if let Some(file) = &args.file {
        return Ok(file.clone());
    }
    let (Some(account), Some(token)) = (args.account, args.token) else {
        bail!("no key file: pass --key-file, or --token and --account-address (or ZKTHREAD_ACCOUNT_ADDRESS) to use <data-dir>/keys/<account>-<token>.json");
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
    let token = args.token;
    let client = args.chain.connect().await?;
    if let Some(account) = args.account.filter(|a| *a != client.address()) {
        bail!("--account {account:#x} is not the signing account {:#x}: only an account registers its own key", client.address());
    }
    let file = KeyFileArgs {
        file: args.file,
        token: Some(token),
        account: Some(client.address()),
    };
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
