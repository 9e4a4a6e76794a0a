//! `zkthread devnet`: an embedded starknet-devnet for the other commands (`--rpc-url`).

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_devnet::{Devnet, EmbeddedOptions};

use crate::output::hex;

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 5050)]
    port: u16,
    /// Seed of the predeployed accounts.
    #[arg(long, default_value_t = zkthread_devnet::DEFAULT_SEED)]
    seed: u32,
    /// Number of predeployed, funded accounts.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..))]
    accounts: u8,
}

#[derive(Serialize)]
struct DevnetInfo {
    url: String,
    chain_id: Option<String>,
    accounts: Vec<AccountInfo>,
}

#[derive(Serialize)]
struct AccountInfo {
    address: String,
    private_key: String,
}

pub async fn run(args: DevnetArgs, json: bool) -> Result<()> {
    let options = EmbeddedOptions {
        seed: args.seed,
        total_accounts: args.accounts,
        port: args.port,
        ..EmbeddedOptions::default()
    };
    let devnet = Devnet::start_embedded_with(options)
        .await
        .context("starting the embedded devnet")?;
    let info = DevnetInfo {
        url: devnet.url().to_string(),
        chain_id: devnet.chain_id().map(hex),
        accounts: devnet
            .accounts()
            .iter()
            .map(|a| AccountInfo {
                address: hex(a.address),
                private_key: hex(a.private_key),
            })
            .collect(),
    };
    if json {
        // One line, so a script can read it before the process ends.
        println!("{}", serde_json::to_string(&info)?);
    } else {
        println!("devnet listening on {}", info.url);
        for (i, a) in info.accounts.iter().enumerate() {
            println!(
                "  account #{i}: {}  private key {}",
                a.address, a.private_key
            );
        }
        if let Some(account) = info.accounts.first() {
            println!("use it with:");
            println!("  export ZKTHREAD_RPC_URL={}", info.url);
            println!("  export ZKTHREAD_ACCOUNT_ADDRESS={}", account.address);
            println!("  export ZKTHREAD_PRIVATE_KEY={}", account.private_key);
        }
        println!("Ctrl-C stops it.");
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tokio::task::spawn_blocking(move || devnet.stop())
        .await
        .context("stopping devnet")?;
    if !json {
        eprintln!("devnet stopped");
    }
    Ok(())
}
