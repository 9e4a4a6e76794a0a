//! `zkthread`: the command-line edge of zkthreads.
//!
//! Every subcommand lives in its own module. Errors surface here as one line (`error: ...` on
//! stderr, exit 1), under `--json` also as `{"error": "..."}` on stdout; clap's usage errors
//! exit 2 (under `--json` as `{"error": ...}` on stdout). "Nothing to do" is not an error.
use std::process::ExitCode;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod batch;
mod bench;
mod chain;
mod datadir;
mod delivery;
mod demo;
mod demo_orderbook;
mod deploy;
mod devnet;
mod key;
mod order;
mod output;
mod program;
mod prove;
mod serve;
mod server;
mod settle;
/// The documented JSON shapes (docs/cli-json.md) and their checker, shared with the integration
/// tests: the unit tests hold the benchmark reports, which the suite cannot afford to run, to it.
#[cfg(test)]
#[path = "../tests/common/shape.rs"]
mod shape;
mod status;
mod sub_block;
mod thread;
mod tx;
mod unsent;
mod workload;

#[derive(Parser)]
#[command(
    name = "zkthread",
    version,
    about = "zkThreads for Starknet: batch, prove with Stwo, settle on-chain"
)]
struct Cli {
    /// Print the result as JSON on stdout (progress and logs stay on stderr).
    #[arg(long, global = true)]
    json: bool,
    /// Where the batcher keeps pending transfers and sub-blocks (an embedded database).
    #[arg(long, global = true, env = "ZKTHREAD_DATA_DIR", default_value = datadir::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole loop on an embedded devnet: deploy, transfers, batch, prove, verify, settle checks, a stale settlement.
    Demo(demo::DemoArgs),
    /// Run an embedded starknet-devnet, print its URL and accounts, wait for Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Build, declare and deploy the registry and a thread-ready token.
    Deploy(deploy::DeployArgs),
    /// Thread keys: create a key file, show it, register its key in a token (from your account).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Create or inspect threads.
    #[command(subcommand)]
    Thread(thread::ThreadCommand),
    /// Submit transfers to a thread's batcher.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Build the thread's next sub-block from its pending transfers against on-chain balances.
    Batch(batch::BatchArgs),
    /// Prove the thread's built sub-block with Stwo and verify it off-chain.
    Prove(prove::ProveArgs),
    /// Settle the thread's proven sub-block on the registry (pre-flight checks first; exactly once across crashes).
    Settle(settle::SettleArgs),
    /// Run the thread's batcher as a service: a JSON HTTP API for signed transfers, settled continuously.
    Serve(serve::ServeArgs),
    /// The node, the account, the registry's threads and the data directory's sub-blocks.
    Status(status::StatusArgs),
    /// Export a stored sub-block: transfers, slots, proof and its settle calldata.
    #[command(subcommand, name = "sub-block")]
    SubBlock(sub_block::SubBlockCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Order-book orders: sign a place or a cancel with your key file and queue it.
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Order books: deploy one, show it (orders, fills, queue), settle its queued round.
    #[command(subcommand)]
    Book(order::BookCommand),
}

fn main() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    let json = cli.json;
    let data_dir = cli.data_dir;
    let result = match cli.command {
        Command::Bench(cmd) => bench::run(cmd, json),
        Command::Demo(args) if args.program == demo::DemoProgram::Orderbook => {
            block_on(demo_orderbook::run(args, json))
        }
        Command::Demo(args) => block_on(demo::run(args, json)),
        Command::Devnet(args) => block_on(devnet::run(args, json)),
        Command::Deploy(args) => block_on(deploy::run(args, json)),
        Command::Key(cmd) => block_on(key::run(cmd, &data_dir, json)),
        Command::Thread(cmd) => block_on(thread::run(cmd, json)),
        Command::Tx(cmd) => block_on(tx::run(cmd, &data_dir, json)),
        Command::Batch(args) => block_on(batch::run(args, &data_dir, json)),
        Command::Prove(args) => block_on(prove::run(args, &data_dir, json)),
        Command::Settle(args) => block_on(settle::run(args, &data_dir, json)),
        Command::Serve(args) => block_on(serve::run(args, &data_dir, json)),
        Command::Status(args) => block_on(status::run(args, &data_dir, json)),
        Command::SubBlock(cmd) => sub_block::run(cmd, &data_dir, json),
        Command::Order(cmd) => block_on(order::run_order(cmd, &data_dir, json)),
        Command::Book(cmd) => block_on(order::run_book(cmd, &data_dir, json)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The line always goes to stderr; under --json the error is also the stdout
            // document, unless the command already printed a report carrying it.
            let line = one_line(&error);
            eprintln!("error: {line}");
            if json && error.downcast_ref::<output::Reported>().is_none() {
                println!("{}", serde_json::json!({ "error": line }));
            }
            ExitCode::from(1)
        }
    }
}

/// clap's help and version go to stdout with exit 0; a usage error exits 2, as clap does, and
/// under `--json` (seen in the raw arguments: parsing failed) is `{"error": ...}` on stdout.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args_os().any(|arg| arg == "--json");
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ if wants_json => {
            let text = error.render().to_string();
            // The first line is clap's `error: ...`; the rest is usage help for humans.
            let first = text.lines().next().unwrap_or_default();
            let reason = first.strip_prefix("error: ").unwrap_or(first).trim();
            println!("{}", serde_json::json!({ "error": reason }));
            ExitCode::from(2)
        }
        _ => {
            let _ = error.print();
            ExitCode::from(2)
        }
    }
}

/// The error's context chain joined by ": " on one line, skipping a cause whose text its
/// parent already shows (starknet-rs errors repeat their source in their own message).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(text.trim()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text.trim());
    }
    line
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings only).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn block_on(future: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_on_one_line_without_repeated_causes() {
        #[derive(Debug)]
        struct Inner;
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "node said\nno")
            }
        }
        impl std::error::Error for Inner {}
        let error = anyhow::Error::new(Inner)
            .context("reading thread 9: node said no")
            .context("status");
        assert_eq!(one_line(&error), "status: reading thread 9: node said no");
        let error = anyhow::Error::new(Inner).context("reading thread 9");
        assert_eq!(one_line(&error), "reading thread 9: node said no");
    }
}
