//! `zkthread status`: the node, the signing account, (with --registry) the threads and, when
//! the data directory has a database, each thread's pending transfers and sub-blocks (after
//! reconciling in-flight ones with the chain).

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use starknet::providers::Provider;
use zkthread_client::registry::Registry;
use zkthread_client::{ChainReader, Felt};
use zkthread_engine::token::{transfers_in, TokenMessage};
use zkthread_store::{MessageBody, NewTransfer, NewTransferList, Store, SubBlockStatus, ThreadKey};

use crate::chain::{felt_arg, ChainArgs};
use crate::datadir::open_store;
use crate::output::{hex, print_json, strk};
use zkthread_engine::reconcile::reconcile;
use zkthread_engine::Reconciled;
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
    /// The account given (--account-address / ZKTHREAD_ACCOUNT_ADDRESS), if any.
    account: Option<String>,
    strk_fri: Option<String>,
    registry: Option<RegistryStatus>,
}

#[derive(Serialize)]
struct RegistryStatus {
    address: String,
    owner: String,
    threads: Vec<ThreadView>,
    /// Per thread, what the data directory holds (absent without a database).
    batcher: Vec<BatcherStatus>,
}

#[derive(Serialize)]
struct BatcherStatus {
    thread_id: u64,
    pending: usize,
    rejected: usize,
    sub_blocks: Vec<SubBlockView>,
    /// What reconciling with the chain changed, as `batch` and `settle` report it.
    reconciled: Option<Reconciled>,
}

#[derive(Serialize)]
struct SubBlockView {
    sequence: u64,
    attempt: u32,
    status: &'static str,
    transfers: usize,
    inputs: usize,
    outputs: usize,
    tx_hash: Option<String>,
    detail: Option<String>,
}

fn sub_block_view<M: TokenMessage>(sb: &zkthread_store::SubBlock<M>) -> SubBlockView {
    let (tx_hash, detail) = match &sb.status {
        SubBlockStatus::Sending { tx_hash, nonce } => {
            // A nonce reads as a number everywhere (hex only if it is somehow past u64).
            let nonce = u64::try_from(*nonce).map_or_else(|_| hex(*nonce), |n| n.to_string());
            (Some(*tx_hash), Some(format!("nonce {nonce}")))
        }
        SubBlockStatus::Settled { tx_hash, block, .. } => {
            (Some(*tx_hash), Some(format!("block {block}")))
        }
        SubBlockStatus::Reverted { tx_hash, reason } => (Some(*tx_hash), Some(reason.clone())),
        SubBlockStatus::Stale { tx_hash, reason } => (*tx_hash, Some(reason.clone())),
        SubBlockStatus::Superseded { next_sequence } => {
            (None, Some(format!("next sequence {next_sequence}")))
        }
        SubBlockStatus::Built | SubBlockStatus::Proven => (None, None),
    };
    SubBlockView {
        sequence: sb.sequence(),
        attempt: sb.attempt,
        status: sb.status.name(),
        transfers: transfers_in(&sb.body.messages),
        inputs: sb.body.inputs.len(),
        outputs: sb.body.outputs.len(),
        tx_hash: tx_hash.map(hex),
        detail,
    }
}

/// What the data directory holds for thread `key` of a token program, after reconciling it;
/// `None` when it holds nothing.
async fn batcher_status<M: TokenMessage>(
    client: &ChainReader,
    registry: &Registry,
    store: &Store<M>,
    key: ThreadKey,
) -> Result<Option<BatcherStatus>> {
    let reconciled = reconcile(client, registry, store, key).await?;
    let sub_blocks: Vec<SubBlockView> = store.sub_blocks(key)?.iter().map(sub_block_view).collect();
    let pending = store.pending(key)?.len();
    let rejected = store.rejected(key)?.len();
    Ok((pending + rejected + sub_blocks.len() > 0).then_some(BatcherStatus {
        thread_id: key.thread_id,
        pending,
        rejected,
        sub_blocks,
        reconciled,
    }))
}

pub async fn run(args: StatusArgs, data_dir: &Path, json: bool) -> Result<()> {
    // Reading needs no key: the account (optional) is only looked up for its STRK balance.
    let account = args.chain.account_address()?;
    let client = args.chain.connect_read_only().await?;
    let block_number = client
        .provider()
        .block_number()
        .await
        .context("reading the block number")?;
    let strk_fri = match account {
        Some(account) => Some(client.fee_token_balance(account).await?),
        None => None,
    };
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
            // Only read a database that exists: `status` must not create one.
            let store: Option<Store> = if Store::exists(data_dir) {
                Some(open_store(data_dir)?)
            } else {
                None
            };
            let mut batcher = Vec::new();
            if let Some(store) = &store {
                for id in 1..=count {
                    let key = ThreadKey::new(address, id);
                    // Each thread with its own program's messages (an order book's are `book show`'s).
                    let status = match store.program_of(key)?.as_deref() {
                        Some(NewTransferList::PROGRAM) => {
                            batcher_status(&client, &registry, &store.program::<NewTransferList>(), key).await?
                        }
                        None | Some(NewTransfer::PROGRAM) => batcher_status(&client, &registry, store, key).await?,
                        Some(_) => None,
                    };
                    batcher.extend(status);
                }
            }
            Some(RegistryStatus {
                address: hex(address),
                // An empty answer is no registry's: an error, not an empty "felt".
                owner: owner
                    .first()
                    .copied()
                    .map(hex)
                    .with_context(|| format!("{} answered owner() with nothing", hex(address)))?,
                threads,
                batcher,
            })
        }
    };
    let status = Status {
        chain_id: hex(client.chain_id()),
        block_number,
        account: account.map(hex),
        strk_fri: strk_fri.map(|fri| fri.to_string()),
        registry,
    };
    if json {
        return print_json(&status);
    }
    println!(
        "node      chain {} at block {}",
        status.chain_id, status.block_number
    );
    match (&status.account, strk_fri) {
        (Some(account), Some(fri)) => println!("account   {account} ({})", strk(fri)),
        _ => println!("account   (none given: --account-address or ZKTHREAD_ACCOUNT_ADDRESS)"),
    }
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
            if r.batcher.is_empty() {
                println!(
                    "data dir  {} (nothing stored for this registry)",
                    data_dir.display()
                );
            }
            for b in &r.batcher {
                println!(
                    "  batcher thread {}: {} pending, {} rejected, {} sub-block(s)",
                    b.thread_id,
                    b.pending,
                    b.rejected,
                    b.sub_blocks.len()
                );
                if let Some(r) = &b.reconciled {
                    println!("    reconciled: {}", r.line());
                }
                for sb in &b.sub_blocks {
                    println!(
                        "    sub-block {} (attempt {}): {}, {} transfer(s), {} slot(s){}{}",
                        sb.sequence,
                        sb.attempt,
                        sb.status,
                        sb.transfers,
                        sb.outputs,
                        sb.tx_hash
                            .as_deref()
                            .map(|h| format!(", tx {h}"))
                            .unwrap_or_default(),
                        sb.detail
                            .as_deref()
                            .map(|d| format!(", {d}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}
