//! `zkthread serve`: run the thread's batcher as a service (`zkthread_service`): a JSON HTTP
//! API for signed transfers, and a pipeline that batches, proves and settles them. A thread
//! whose contract set holds an order book (a contract with a `base_token`) is served with the
//! book's API instead (`zkthread_service::book`: signed order messages, the same engine). Stops on
//! Ctrl-C (or any kill: every step is durable, a restart resumes from the data directory).
//! Progress is logged (`RUST_LOG=info`); `ZKTHREAD_CRASH_AT` stops it at a settle checkpoint
//! as it stops `zkthread settle` (test-only).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use zkthread_client::registry::Registry;
use zkthread_engine::batch::{DEFAULT_MAX_SLOTS, DEFAULT_MAX_TRANSFERS, MAX_SLOTS_WITHIN_CALLDATA};
use zkthread_token::MAX_TRANSFERS_PER_PROOF;
use zkthread_engine::settle::DEFAULT_L2_GAS;
use zkthread_engine::program::{ProofParams, TokenProgram};
use zkthread_engine::{Limits, SettleOptions};
use zkthread_store::{MessageBody, NewTransferList, Store, ThreadKey};
use zkthread_engine::orderbook::{Market, StoredOrder};
use zkthread_service::book::BookShared;
use zkthread_service::{HttpLimits, PipelineConfig, Service, Shared};

use crate::chain::ChainArgs;
use crate::datadir::{open_store, ThreadArgs};
use crate::output::{hex, Logged};
use crate::settle::InputCheckArgs;

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    thread: ThreadArgs,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Close a sub-block at this many pending transfers (order messages, on a book's thread);
    /// one proof holds at most 524.
    #[arg(long, default_value_t = DEFAULT_MAX_TRANSFERS as u32, value_parser = clap::value_parser!(u32).range(1..=MAX_TRANSFERS_PER_PROOF as i64))]
    max_transfers: u32,
    /// At most this many distinct slots per sub-block (see `zkthread batch --help`).
    #[arg(long, default_value_t = DEFAULT_MAX_SLOTS as u32, value_parser = clap::value_parser!(u32).range(3..=MAX_SLOTS_WITHIN_CALLDATA as i64))]
    max_slots: u32,
    /// Close a sub-block once its oldest pending transfer (order message) has waited this many
    /// seconds.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    max_wait: f64,
    /// Largest L2 gas a settle transaction may use.
    #[arg(long, default_value_t = DEFAULT_L2_GAS)]
    l2_gas: u64,
    #[command(flatten)]
    input_check: InputCheckArgs,
    /// Settle one sub-block before building the next (by default the next one is built on
    /// the previous one's outputs and proven while that one settles).
    #[arg(long)]
    no_build_ahead: bool,
    /// Prove a list thread's sub-blocks at the list program's fast parameter set (2^4 x 20 +
    /// 16, also 96 bits, accepted by `ListVerifier`): about half the proving time, for ~17%
    /// more verification gas and ~500 more proof felts. A sub-block of more than 1,024
    /// Poseidon2 permutations, or whose settlement would not fit 5,000 calldata felts, is
    /// proven at the default set.
    #[arg(long)]
    fast_proofs: bool,
    /// Serve at most this many HTTP connections at once (more wait until one closes).
    #[arg(long, default_value_t = HttpLimits::default().max_connections, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_connections: u32,
    /// At most this many of them from one peer address (more are closed at once; behind a
    /// reverse proxy every client shares its address).
    #[arg(long, default_value_t = HttpLimits::default().max_connections_per_peer, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_connections_per_peer: u32,
    /// Seconds a client has to send a request's head; an idle keep-alive connection is
    /// closed after as long.
    #[arg(long, default_value_t = HttpLimits::default().header_timeout.as_secs_f64(), value_parser = positive_seconds)]
    header_timeout: f64,
    /// Seconds a client has to send a request's body once its head arrived (408 after).
    #[arg(long, default_value_t = HttpLimits::default().body_timeout.as_secs_f64(), value_parser = positive_seconds)]
    body_timeout: f64,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds in (0, 86400]")),
    }
}

pub async fn run(args: ServeArgs, data_dir: &Path, json: bool) -> Result<()> {
    let key = args.thread.key();
    let store = open_store(data_dir)?;
    let client = args.chain.connect().await?;
    let registry = Registry {
        address: key.registry,
    };
    // Refuse to serve a thread that cannot settle, before anyone posts to it.
    let info = registry
        .thread(&client, key.thread_id)
        .await
        .with_context(|| format!("reading thread {} of registry {}", key.thread_id, hex(key.registry)))?;
    if !info.active {
        bail!("thread {} is not active in registry {}", key.thread_id, hex(key.registry));
    }
    let pipeline = PipelineConfig {
        limits: Limits {
            max_transfers: args.max_transfers as usize,
            max_slots: args.max_slots as usize,
        },
        max_wait: Duration::from_secs_f64(args.max_wait),
        settle: SettleOptions {
            force: false,
            l2_gas: args.l2_gas,
            input_check: args.input_check.input_check(),
        },
        build_ahead: !args.no_build_ahead,
        proof_params: if args.fast_proofs { ProofParams::Fast } else { ProofParams::Compact },
        ..PipelineConfig::default()
    };
    // The program is the thread's program hash: the order book's, or one of the token's. Each
    // branch first checks that the data directory's queue of the thread is that program's
    // (`check_queue_program`), before anything binds.
    let (service, program) = if Market::is_book_program(info.program_hash) {
        refuse_fast_proofs(&args, key.thread_id, "order-book")?;
        let book_store = store.program::<StoredOrder>();
        check_queue_program(&book_store, key, data_dir)?;
        let market = Market::open(client.reader(), registry, key.thread_id).await.context("reading the book's thread")?;
        crate::order::import_legacy_queue(&book_store, data_dir, key)?;
        let shared = BookShared::new(client, book_store, market);
        (Service::bind_book(shared, args.listen).await, "book")
    } else {
        match thread_program(&info, key.thread_id)? {
            TokenProgram::Signed => {
                refuse_fast_proofs(&args, key.thread_id, "signed")?;
                check_queue_program(&store, key, data_dir)?;
                (Service::bind(Shared::new(client, store, key), args.listen).await, "token")
            }
            TokenProgram::List => {
                let lists = store.program::<NewTransferList>();
                check_queue_program(&lists, key, data_dir)?;
                (Service::bind_lists(Shared::new(client, lists, key), args.listen).await, "token-lists")
            }
        }
    };
    let service = service
        .with_context(|| format!("cannot listen on {}", args.listen))?
        .with_http_limits(HttpLimits {
            max_connections: args.max_connections,
            max_connections_per_peer: args.max_connections_per_peer,
            header_timeout: Duration::from_secs_f64(args.header_timeout),
            body_timeout: Duration::from_secs_f64(args.body_timeout),
            ..HttpLimits::default()
        });
    let url = format!("http://{}", service.local_addr()?);
    if json {
        // One line, so a script can read it while the service runs.
        println!(
            "{}",
            serde_json::json!({ "url": url, "thread_id": key.thread_id, "registry": hex(key.registry), "program": program })
        );
    } else {
        println!("serving {program} thread {} of registry {} on {url} (Ctrl-C stops)", key.thread_id, hex(key.registry));
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    service
        .run(pipeline, Arc::new(Logged), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

/// `--fast-proofs` is for list threads: the other programs' verifiers accept one set.
fn refuse_fast_proofs(args: &ServeArgs, thread_id: u64, program: &str) -> Result<()> {
    if args.fast_proofs {
        bail!("--fast-proofs: thread {thread_id} runs the {program} program, whose verifier accepts one parameter set (only list threads have a fast one)");
    }
    Ok(())
}

/// The token program a thread runs, by its `program_hash` (another program is an error: this
/// batcher proves the token's only).
fn thread_program(info: &zkthread_client::registry::ThreadInfo, thread_id: u64) -> Result<TokenProgram> {
    TokenProgram::of(info.program_hash).with_context(|| {
        format!(
            "thread {thread_id} runs program {}, which this batcher does not prove (the token's signed or list program, or an order book)",
            hex(info.program_hash)
        )
    })
}

/// Refuses to serve a thread whose stored messages are of another program than the one it
/// runs on-chain now (`M`'s: `upgrade_thread` changed it). No message of the new program could
/// be stored beside them, so every client would sign, then meet a 500.
fn check_queue_program<M: MessageBody>(store: &Store<M>, key: ThreadKey, data_dir: &Path) -> Result<()> {
    let runs = M::PROGRAM;
    if let Some(holds) = store.program_of(key)?.filter(|holds| holds != runs) {
        bail!(
            "thread {} now runs the {runs} program, but {} holds its {holds} messages (the thread was upgraded): \
             serve it from a fresh --data-dir (this one keeps the old messages)",
            key.thread_id,
            data_dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_client::Felt;
    use zkthread_store::NewTransfer;

    /// A thread whose queue holds the signed program's transfers is not served as a list
    /// thread, with a line naming both programs; a fresh thread, or the same program, is.
    #[test]
    fn a_queue_of_another_program_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lists = store.program::<NewTransferList>();
        let key = ThreadKey::new(Felt::from(0x123u64), 1);
        assert!(check_queue_program(&lists, key, dir.path()).is_ok());
        let transfer = NewTransfer { token: Felt::from(7u8), from: Felt::ONE, to: Felt::TWO, amount: 5, auth: None };
        store.submit(key, transfer).unwrap();
        assert!(check_queue_program(&store, key, dir.path()).is_ok());
        let refused = check_queue_program(&lists, key, dir.path()).unwrap_err().to_string();
        assert!(refused.starts_with("thread 1 now runs the token-lists program, but "), "{refused}");
        assert!(refused.contains("holds its token messages"), "{refused}");
    }
}
