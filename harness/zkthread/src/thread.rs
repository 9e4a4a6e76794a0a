//! `zkthread thread create|show`: threads of a registry.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_client::registry::{NewThread, Registry, ThreadInfo};
use zkthread_client::{ChainReader, Felt};

use std::path::PathBuf;

use crate::chain::{build_contracts, felt_arg, repo_root, ChainArgs};
use crate::output::{hex, print_json, strk};
use crate::program::{declare_verifier, OS_VERSION};
use zkthread_engine::program::TokenProgram;

#[derive(Subcommand, Debug)]
pub enum ThreadCommand {
    /// Create a thread over a set of thread-ready contracts (the signer is the admin unless --admin).
    Create(CreateArgs),
    /// Show a thread as the registry stores it.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct RegistryArg {
    /// Address of the ThreadRegistry (printed by `zkthread deploy`).
    #[arg(long, env = "ZKTHREAD_REGISTRY", value_parser = felt_arg)]
    pub registry: Felt,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    registry: RegistryArg,
    /// A contract of the thread (repeat for several).
    #[arg(long = "contract", required = true, value_parser = felt_arg)]
    contracts: Vec<Felt>,
    /// OS version of the thread (must be registered; a felt, as the registry stores it).
    #[arg(long, value_parser = felt_arg, default_value_t = Felt::from(OS_VERSION))]
    os_version: Felt,
    /// The token program the thread runs: `signed` (one signature per transfer, the Cairo
    /// verifier `SignedVerifier`) or `list` (one signature per list of a sender's transfers,
    /// `ListVerifier`); its verifier class is declared if the node does not have it.
    #[arg(long, value_enum, default_value_t = ProgramArg::Signed, conflicts_with = "program_hash")]
    program: ProgramArg,
    /// Any other program, by its hash (a verifier class the batcher here does not prove for).
    #[arg(long, value_parser = felt_arg)]
    program_hash: Option<Felt>,
    /// Repository root, to build the verifier class (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Thread admin (default: the signing account).
    #[arg(long, value_parser = felt_arg)]
    admin: Option<Felt>,
    /// A prover allowed to settle (repeat; none = anyone).
    #[arg(long = "prover", value_parser = felt_arg)]
    provers: Vec<Felt>,
}

/// `--program`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramArg {
    Signed,
    List,
}

impl From<ProgramArg> for TokenProgram {
    fn from(arg: ProgramArg) -> Self {
        match arg {
            ProgramArg::Signed => TokenProgram::Signed,
            ProgramArg::List => TokenProgram::List,
        }
    }
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    registry: RegistryArg,
    /// Thread id (`--id` is the old spelling).
    #[arg(long = "thread", alias = "id")]
    thread_id: u64,
}

/// A thread as shown to users and scripts.
#[derive(Serialize)]
pub struct ThreadView {
    pub thread_id: u64,
    pub os_version: String,
    pub program_hash: String,
    pub admin: String,
    pub active: bool,
    /// Settled sub-blocks = the next sequence.
    pub sequence: u64,
    pub contract_set_commitment: String,
    pub contracts: Vec<String>,
    pub allowlist_enabled: bool,
    pub verifier_declared: bool,
    /// The token program `program_hash` names, if it is one.
    pub program: Option<TokenProgram>,
}

pub async fn run(cmd: ThreadCommand, json: bool) -> Result<()> {
    match cmd {
        ThreadCommand::Create(args) => create(args, json).await,
        ThreadCommand::Show(args) => {
            // Reading needs no account or key.
            let client = args.chain.connect_read_only().await?;
            let registry = Registry {
                address: args.registry.registry,
            };
            let view = view(&client, &registry, args.thread_id).await?;
            if json {
                print_json(&view)
            } else {
                print_view(&view);
                Ok(())
            }
        }
    }
}

async fn create(args: CreateArgs, json: bool) -> Result<()> {
    let client = args.chain.connect().await?;
    let registry = Registry {
        address: args.registry.registry,
    };
    let mut fees = 0;
    let program_hash = match args.program_hash {
        Some(hash) => hash,
        None => {
            let repo = repo_root(args.repo.as_deref())?;
            let verifier = TokenProgram::from(args.program).verifier();
            let artifacts = tokio::task::spawn_blocking(move || build_contracts(&repo, verifier))
                .await
                .context("the contract build task failed")??;
            let (hash, fee) = declare_verifier(&client, &artifacts, verifier).await?;
            fees += fee;
            hash
        }
    };
    let thread = NewThread {
        os_version: args.os_version,
        program_hash,
        contracts: args.contracts,
        admin: args.admin.unwrap_or(client.address()),
        provers: args.provers,
    };
    // Registers the OS version and program first when the registry lacks them (owner only).
    let (thread_id, open_fees) = registry
        .open_thread(&client, &thread)
        .await
        .context("opening the thread")?;
    fees += open_fees;
    let view = view(&client, &registry, thread_id).await?;
    if json {
        return print_json(&serde_json::json!({ "thread": view, "fees_fri": fees.to_string() }));
    }
    println!("created thread {thread_id} (fees {})", strk(fees));
    print_view(&view);
    println!("next: zkthread tx submit --thread {thread_id} --token <contract> --from <account> --to <account> --amount <n>");
    Ok(())
}

/// Reads a thread (and whether its verifier class exists) from the registry.
pub async fn view(client: &ChainReader, registry: &Registry, thread_id: u64) -> Result<ThreadView> {
    let count = registry.thread_count(client).await.with_context(|| {
        format!(
            "{} does not answer as a ThreadRegistry",
            hex(registry.address)
        )
    })?;
    if thread_id == 0 || thread_id > count {
        bail!(
            "no thread {thread_id} in registry {} (it has {count}; ids start at 1)",
            hex(registry.address)
        );
    }
    let (info, contracts): (ThreadInfo, _) = registry
        .thread_with_contracts(client, thread_id)
        .await
        .with_context(|| format!("reading thread {thread_id}"))?;
    let verifier_declared = client.is_declared(info.program_hash).await?;
    Ok(ThreadView {
        thread_id,
        os_version: hex(info.os_version),
        program_hash: hex(info.program_hash),
        admin: hex(info.admin),
        active: info.active,
        sequence: info.sequence,
        contract_set_commitment: hex(info.contract_set_commitment),
        contracts: contracts.into_iter().map(hex).collect(),
        allowlist_enabled: info.allowlist_enabled,
        verifier_declared,
        program: TokenProgram::of(info.program_hash),
    })
}

pub fn print_view(v: &ThreadView) {
    println!("thread {}", v.thread_id);
    println!("  active        {}", v.active);
    println!("  os version    {}", v.os_version);
    println!(
        "  program hash  {}{}{}",
        v.program_hash,
        v.program.map(|p| format!(" (the token's {p} program)")).unwrap_or_default(),
        if v.verifier_declared {
            ""
        } else {
            " (no verifier class declared: settlement cannot succeed)"
        }
    );
    println!("  admin         {}", v.admin);
    println!("  sequence      {} (settled sub-blocks)", v.sequence);
    println!("  contracts     {}", v.contracts.join(", "));
    println!("  commitment    {}", v.contract_set_commitment);
    println!(
        "  allowlist     {}",
        if v.allowlist_enabled {
            "on"
        } else {
            "off (anyone may settle)"
        }
    );
}
