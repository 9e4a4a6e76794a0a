//! `zkthread status`: the node, the signing account and (with --registry) the threads.

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use starknet::providers::Provider;
use zkthread_client::registry::Registry;
use zkthread_client::Felt;

use crate::chain::{felt_arg, ChainArgs};
use crate::output::{hex, print_json, strk};
use crate::thread::{view, ThreadView};

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Address of the ThreadRegistry (optional: without it only node and account are shown).
    #[arg(long, env = "ZKTHREAD_REGISTRY", value_parser = felt_arg)]
    registry: Option<Felt>,
}

#[derive(Serialize)]
struct Status {
    chain_id: String,
    block_number: u64,
    account: String,
    strk_fri: String,
    registry: Option<RegistryStatus>,
}

#[derive(Serialize)]
struct RegistryStatus {
    address: String,
    owner: String,
    threads: Vec<ThreadView>,
}

pub async fn run(args: StatusArgs, json: bool) -> Result<()> {
    let client = args.chain.connect().await?;
    let block_number = client
        .provider()
        .block_number()
        .await
        .context("reading the block number")?;
    let strk_fri = client.fee_token_balance(client.address()).await?;
    let registry = match args.registry {
        None => None,
        Some(address) => {
            let registry = Registry { address };
            let owner = client
                .call(address, "owner", vec![])
                .await
                .with_context(|| format!("{} does not answer as a ThreadRegistry", hex(address)))?;
            let count = registry.thread_count(&client).await?;
            let mut threads = Vec::new();
            for id in 1..=count {
                threads.push(view(&client, &registry, id).await?);
            }
            Some(RegistryStatus {
                address: hex(address),
                owner: owner.first().copied().map(hex).unwrap_or_default(),
                threads,
            })
        }
    };
    let status = Status {
        chain_id: hex(client.chain_id()),
        block_number,
        account: hex(client.address()),
        strk_fri: strk_fri.to_string(),
        registry,
    };
    if json {
        return print_json(&status);
    }
    println!(
        "node      chain {} at block {}",
        status.chain_id, status.block_number
    );
    println!("account   {} ({})", status.account, strk(strk_fri));
    match &status.registry {
        None => println!("registry  (none given: --registry or ZKTHREAD_REGISTRY)"),
        Some(r) => {
            println!(
                "registry  {} (owner {}), {} thread(s)",
                r.address,
                r.owner,
                r.threads.len()
            );
            for t in &r.threads {
                println!(
                    "  thread {}: {} sequence {}, {} contract(s), program {}{}",
                    t.thread_id,
                    if t.active { "active," } else { "inactive," },
                    t.sequence,
                    t.contracts.len(),
                    t.program_hash,
                    if t.verifier_declared {
                        ""
                    } else {
                        " (verifier not declared)"
                    }
                );
            }
        }
    }
    Ok(())
}
