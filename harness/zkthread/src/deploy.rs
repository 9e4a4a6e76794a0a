//! `zkthread deploy`: build the contracts, declare the thread program (the Cairo verifier class
//! `SignedVerifier`), declare and deploy the registry (owned by the signing account) and a
//! thread-ready token accepting that program (its thread owner is the signing account), and
//! register OS version 1 and the program (the registry deploys its verifier instance).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::Felt;

use crate::chain::{build_contracts, deploy_registry_and_token, felt_arg, repo_root, ChainArgs};
use crate::output::{hex, print_json, strk, Progress};
use crate::program::{declare_verifier, OS_VERSION, VERIFIER};

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Token supply, minted to --holder.
    #[arg(long, default_value_t = 1_000_000_000_000)]
    supply: u128,
    /// Receiver of the supply (default: the signing account).
    #[arg(long, value_parser = felt_arg)]
    holder: Option<Felt>,
    /// Deployment salt (same salt, class and account: same addresses).
    #[arg(long, value_parser = felt_arg, default_value = "0x1")]
    salt: Felt,
    /// Do not register OS version 1 and the verifier program in the new registry.
    #[arg(long)]
    no_register: bool,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
}

#[derive(Serialize)]
struct DeployOutput {
    registry: String,
    token: String,
    registry_class_hash: String,
    token_class_hash: String,
    /// Class hash of the Cairo verifier: the program hash threads are created with.
    verifier_class_hash: String,
    owner: String,
    holder: String,
    supply: String,
    registered: Option<Registered>,
    fees_fri: String,
}

#[derive(Serialize)]
struct Registered {
    /// A felt on-chain (the registry's `os_version: felt252`), so hex like every felt.
    os_version: String,
    program_hash: String,
    /// The verifier instance the registry deployed for the program (what `settle` calls).
    verifier: String,
}

pub async fn run(args: DeployArgs, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let client = args.chain.connect().await?;
    let repo = repo_root(args.repo.as_deref())?;
    let step = progress.step("building the contracts");
    let artifacts = tokio::task::spawn_blocking(move || build_contracts(&repo, VERIFIER))
        .await
        .context("the contract build task failed")??;
    step.done(format!("{} classes", artifacts.len()));

    let holder = args.holder.unwrap_or(client.address());
    let mut fees = 0;
    // The token accepts the verifier's program from deployment, so the class is declared first.
    let step = progress.step("declaring the thread program (Cairo verifier SignedVerifier)");
    let (program_hash, declare_fee) = declare_verifier(&client, &artifacts, VERIFIER).await?;
    fees += declare_fee;
    step.done(format!("class {}", hex(program_hash)));
    let step = progress.step("declaring and deploying ThreadRegistry and ThreadToken");
    let deployment = deploy_registry_and_token(
        &client,
        &artifacts,
        holder,
        args.supply,
        args.salt,
        &[program_hash],
    )
    .await?;
    step.done("");
    fees += deployment.fees;
    let registered = if args.no_register {
        None
    } else {
        let step = progress.step("registering OS version 1 and the verifier program");
        let os_version = Felt::from(OS_VERSION);
        let registry = deployment.registry;
        fees += registry
            .register_os_version(&client, os_version)
            .await
            .context("register_os_version")?
            .actual_fee;
        fees += registry
            .register_program(&client, os_version, program_hash)
            .await
            .context("register_program")?
            .actual_fee;
        let verifier = registry
            .program_verifier(&client, program_hash)
            .await
            .context("program_verifier")?;
        step.done(format!("verifier instance {}", hex(verifier)));
        Some(Registered {
            os_version: hex(os_version),
            program_hash: hex(program_hash),
            verifier: hex(verifier),
        })
    };
    let out = DeployOutput {
        registry: hex(deployment.registry.address),
        token: hex(deployment.token.address),
        registry_class_hash: hex(deployment.registry_class),
        token_class_hash: hex(deployment.token_class),
        verifier_class_hash: hex(program_hash),
        owner: hex(client.address()),
        holder: hex(holder),
        supply: args.supply.to_string(),
        registered,
        fees_fri: fees.to_string(),
    };
    if json {
        return print_json(&out);
    }
    println!(
        "registry  {}  (class {})",
        out.registry, out.registry_class_hash
    );
    println!("token     {}  (class {})", out.token, out.token_class_hash);
    println!(
        "verifier  class {} (the thread program hash)",
        out.verifier_class_hash
    );
    println!("owner     {}", out.owner);
    println!("holder    {}  ({} tokens)", out.holder, out.supply);
    if let Some(r) = &out.registered {
        println!(
            "registered OS version {} and program {} (verifier instance {})",
            r.os_version, r.program_hash, r.verifier
        );
    }
    println!("fees      {}", strk(fees));
    println!("next:");
    println!("  export ZKTHREAD_REGISTRY={}", out.registry);
    println!("  zkthread thread create --contract {}", out.token);
    println!(
        "  zkthread tx submit --thread 1 --token {} --from <account> --to <account> --amount <n>",
        out.token
    );
    println!(
        "  zkthread batch --thread 1 && zkthread prove --thread 1 && zkthread settle --thread 1"
    );
    Ok(())
}
