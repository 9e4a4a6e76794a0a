//! `zkthread deploy`: build the contracts, declare the token's two thread programs (the Cairo
//! verifier classes `SignedVerifier`, one signature per transfer, and `ListVerifier`, one per
//! list of a sender's transfers), declare and deploy the registry (owned by the signing
//! account) and a thread-ready token accepting both (its thread owner is the signing account),
//! and register OS version 1 and both programs (the registry deploys their verifier instances).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use zkthread_client::Felt;

use crate::chain::{build_verifiers, deploy_registry_and_token, felt_arg, repo_root, ChainArgs};
use crate::output::{hex, print_json, strk, Progress};
use crate::program::{declare_verifier, LIST_VERIFIER, OS_VERSION, VERIFIER};

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
    /// Class hash of the signed program's Cairo verifier: the program hash threads are
    /// created with by default.
    verifier_class_hash: String,
    /// Class hash of the list program's verifier (`thread create --program list`).
    list_verifier_class_hash: String,
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
    list_program_hash: String,
    list_verifier: String,
}

pub async fn run(args: DeployArgs, json: bool) -> Result<()> {
    let progress = Progress::new(json);
    let client = args.chain.connect().await?;
    let repo = repo_root(args.repo.as_deref())?;
    let step = progress.step("building the contracts");
    let artifacts = tokio::task::spawn_blocking(move || build_verifiers(&repo, &[VERIFIER, LIST_VERIFIER], &[]))
        .await
        .context("the contract build task failed")??;
    step.done(format!("{} classes", artifacts.len()));

    let holder = args.holder.unwrap_or(client.address());
    let mut fees = 0;
    // The token accepts the verifiers' programs from deployment, so the classes are declared first.
    let step = progress.step("declaring the thread programs (Cairo verifiers SignedVerifier and ListVerifier)");
    let (program_hash, declare_fee) = declare_verifier(&client, &artifacts, VERIFIER).await?;
    let (list_program_hash, list_declare_fee) = declare_verifier(&client, &artifacts, LIST_VERIFIER).await?;
    fees += declare_fee + list_declare_fee;
    step.done(format!("classes {} and {}", hex(program_hash), hex(list_program_hash)));
    let step = progress.step("declaring and deploying ThreadRegistry and ThreadToken");
    let deployment = deploy_registry_and_token(
        &client,
        &artifacts,
        holder,
        args.supply,
        args.salt,
        &[program_hash, list_program_hash],
    )
    .await?;
    step.done("");
    fees += deployment.fees;
    let registered = if args.no_register {
        None
    } else {
        let step = progress.step("registering OS version 1 and the two token programs");
        let os_version = Felt::from(OS_VERSION);
        let registry = deployment.registry;
        fees += registry
            .register_os_version(&client, os_version)
            .await
            .context("register_os_version")?
            .actual_fee;
        let mut verifiers = Vec::new();
        for program in [program_hash, list_program_hash] {
            fees += registry
                .register_program(&client, os_version, program)
                .await
                .context("register_program")?
                .actual_fee;
            verifiers.push(registry.program_verifier(&client, program).await.context("program_verifier")?);
        }
        step.done(format!("verifier instances {} and {}", hex(verifiers[0]), hex(verifiers[1])));
        Some(Registered {
            os_version: hex(os_version),
            program_hash: hex(program_hash),
            verifier: hex(verifiers[0]),
            list_program_hash: hex(list_program_hash),
            list_verifier: hex(verifiers[1]),
        })
    };
    let out = DeployOutput {
        registry: hex(deployment.registry.address),
        token: hex(deployment.token.address),
        registry_class_hash: hex(deployment.registry_class),
        token_class_hash: hex(deployment.token_class),
        verifier_class_hash: hex(program_hash),
        list_verifier_class_hash: hex(list_program_hash),
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
        "verifier  class {} (the signed program's hash, threads' default)",
        out.verifier_class_hash
    );
    println!("list verifier class {} (`thread create --program list`)", out.list_verifier_class_hash);
    println!("owner     {}", out.owner);
    println!("holder    {}  ({} tokens)", out.holder, out.supply);
    if let Some(r) = &out.registered {
        println!(
            "registered OS version {} and programs {} (verifier instance {}) and {} (verifier instance {})",
            r.os_version, r.program_hash, r.verifier, r.list_program_hash, r.list_verifier
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
