//! `zkthread demo`: the whole loop on an embedded devnet (or, with `--rpc-url`, on any node).
//!
//! Start devnet (seed 0) and build the contracts; declare the Cairo verifier class
//! `ThreadVerifier` and use its class hash as the program hash; declare and deploy the registry
//! and a thread-ready token that accepts that program; register OS version 1 and the program
//! (the registry deploys its verifier instance); create a thread over the token;
//! generate transfers among the predeployed accounts; batch them against balances read
//! on-chain; prove with Stwo and verify off-chain; run the pre-settlement checks. Then the two
//! revert paths, on purpose: a settlement with one stale input and one whose proof has one felt
//! changed — each reverts with the registry's reason, the prover pays the fee, no balance moves.
//! Finally the honest settlement: the registry verifies the proof on-chain and writes the
//! outputs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde::Serialize;
use starknet::core::types::TransactionReceipt;
use starknet::providers::Provider;
use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::{
    sub_block_settled, NewThread, Registry, SettledStateDiff, Settlement,
};
use zkthread_client::token::Token;
use zkthread_client::{ChainClient, FeeMode, Felt, ResourceBounds, TxOutcome};
use zkthread_devnet::{Devnet, EmbeddedOptions};
use zkthread_prover::{
    contract_set_commitment, proof_to_felts, prove, verify, Batcher, PublicInput, Slot, SlotValue,
    ThreadChannel,
};

use crate::chain::{build_contracts, deploy_registry_and_token, repo_root, ChainArgs};
use crate::output::{hex, print_json, seconds, short_revert_reason, strk, Progress};
use crate::preflight::{self, Preflight};
use crate::program::{declare_verifier, Channel, OS_VERSION, PARAMS};
use crate::workload;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of transfers to submit to the batcher.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    transfers: u32,
    /// Seed of the transfer generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Accounts that trade (the first holds the supply): the embedded devnet's predeployed
    /// accounts, or on an external node the signer plus addresses derived from the seed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(2..=100))]
    accounts: u8,
    /// Run against this node instead of an embedded devnet (with the account flags below).
    #[command(flatten)]
    chain: ChainArgs,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    repo: Option<PathBuf>,
}

/// Initial token supply, all held by account #0.
const SUPPLY: u128 = 1_000_000_000_000;
/// Hand-set bounds for every settle (estimation refuses a failing transaction, and a hand-set
/// bound keeps the honest one to a single execution): prices twice the current ones, L2 gas
/// above what a full on-chain verification uses (~1.8e9 for a DEFAULT-params proof on devnet
/// 0.10.1, where our Sierra 1.6 classes are metered in Cairo steps, at most 10M per tx).
const SETTLE_L2_GAS: u64 = 4_000_000_000;
const SETTLE_L1_DATA_GAS: u64 = 10_000;

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub node_url: String,
    pub accounts: usize,
    pub registry: String,
    pub token: String,
    pub thread_id: u64,
    pub os_version: u64,
    pub program_hash: String,
    pub sequence: u64,
    pub transfers: TransferSummary,
    pub slots_in: usize,
    pub slots_out: usize,
    pub proof: ProofSummary,
    pub settlement: SettlementSummary,
    pub stale_settlement: RevertSummary,
    pub bad_proof_settlement: RevertSummary,
    pub timings_seconds: BTreeMap<&'static str, f64>,
}

#[derive(Debug, Serialize)]
pub struct TransferSummary {
    pub submitted: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Overspends the generator planted; the batcher must have rejected exactly these.
    pub planted_invalid: usize,
}

#[derive(Debug, Serialize)]
pub struct ProofSummary {
    pub channel: &'static str,
    pub security_bits: u32,
    pub log_rows: u32,
    pub felts: usize,
    pub prove_seconds: f64,
    pub verify_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct SettlementSummary {
    pub sent: bool,
    pub tx_hash: String,
    pub status: &'static str,
    /// The sequence settled; the thread's next sequence afterwards.
    pub sequence: u64,
    pub next_sequence_after: u64,
    pub slots_written: usize,
    pub proof_felts: usize,
    pub calldata_felts: usize,
    /// L2 gas of the transaction (receipt `execution_resources.l2_gas`).
    pub l2_gas: u64,
    pub fee_fri: String,
    /// Every output slot holds its output value on-chain afterwards.
    pub outputs_applied: bool,
    /// The `SubBlockSettled` events carry exactly the outputs.
    pub event_matches_outputs: bool,
    pub preflight: Preflight,
}

/// A settlement sent on purpose to revert.
#[derive(Debug, Serialize)]
pub struct RevertSummary {
    pub tx_hash: String,
    pub status: &'static str,
    pub revert_reason: String,
    pub l2_gas: u64,
    pub fee_fri: String,
    pub strk_before_fri: String,
    pub strk_after_fri: String,
    pub fee_matches_balance_change: bool,
    pub token_balances_unchanged: bool,
    pub sequence_unchanged: bool,
}

pub async fn run(args: DemoArgs, json: bool) -> Result<()> {
    let started = Instant::now();
    let progress = Progress::new(json);
    let mut timings = BTreeMap::new();
    let repo = repo_root(args.repo.as_deref())?;

    // The node and the Cairo build are independent: run them side by side.
    let external = args.chain.rpc_url.is_some();
    let step = progress.step(if external {
        "connecting to the node and building the contracts".to_owned()
    } else {
        "starting devnet (seed 0) and building the contracts".to_owned()
    });
    let build = tokio::task::spawn_blocking(move || build_contracts(&repo));
    let (devnet, client, accounts, salt) = if external {
        let client = args.chain.connect().await?;
        // Thread transfers need no signature from the accounts (the batcher is trusted for
        // that), so on an external node the other traders are plain addresses from the seed.
        let mut accounts = vec![client.address()];
        accounts.extend((1..args.accounts).map(|i| derived_address(args.seed, i)));
        // Fresh addresses on every run: the registry and token may exist from an earlier one.
        let salt = Felt::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        (None, client, accounts, salt)
    } else {
        let options = EmbeddedOptions {
            total_accounts: args.accounts,
            ..EmbeddedOptions::default()
        };
        let devnet = Devnet::start_embedded_with(options)
            .await
            .context("starting the embedded devnet")?;
        let owner = devnet.account(0).context("the devnet has no account #0")?;
        let chain_id = devnet
            .chain_id()
            .context("the embedded devnet has no chain id")?;
        let client = ChainClient::with_chain_id(
            devnet.url().clone(),
            owner.address,
            owner.private_key,
            chain_id,
        );
        let accounts: Vec<Felt> = devnet.accounts().iter().map(|a| a.address).collect();
        (Some(devnet), client, accounts, Felt::ONE)
    };
    let artifacts = build.await.context("the contract build task failed")??;
    let node_url = client_url(&args.chain, devnet.as_ref());
    timings.insert(
        "devnet_and_build",
        step.done(format!("{node_url} ({} accounts)", accounts.len()))
            .as_secs_f64(),
    );
    let holder = client.address();

    // The token accepts the verifier's program from deployment: declare the class first.
    let step = progress.step("declaring the thread program (Cairo verifier ThreadVerifier)");
    let (program_hash, declare_fee) = declare_verifier(&client, &artifacts).await?;
    timings.insert(
        "declare_verifier",
        step.done(format!(
            "class {}, fee {}",
            hex(program_hash),
            strk(declare_fee)
        ))
        .as_secs_f64(),
    );

    let step = progress.step("declaring and deploying ThreadRegistry and ThreadToken");
    let deployment =
        deploy_registry_and_token(&client, &artifacts, holder, SUPPLY, salt, &[program_hash])
            .await?;
    let (registry, token) = (deployment.registry, deployment.token);
    timings.insert(
        "deploy",
        step.done(format!(
            "registry {}, token {}",
            hex(registry.address),
            hex(token.address)
        ))
        .as_secs_f64(),
    );

    let step = progress.step("registering OS version 1 and the program, creating the thread");
    let os_version = Felt::from(OS_VERSION);
    let new_thread = NewThread {
        os_version,
        program_hash,
        contracts: vec![token.address],
        admin: holder,
        provers: vec![],
    };
    let (thread_id, _) = registry
        .open_thread(&client, &new_thread)
        .await
        .context("opening the thread")?;
    let info = registry.thread(&client, thread_id).await?;
    ensure!(
        info.contract_set_commitment == contract_set_commitment(&[token.address]),
        "the registry's contract-set commitment differs from the prover's"
    );
    timings.insert(
        "thread",
        step.done(format!(
            "thread {thread_id}, program hash {}",
            hex(program_hash)
        ))
        .as_secs_f64(),
    );

    // Transfers among the predeployed accounts, batched against balances read on-chain.
    let step = progress.step(format!(
        "batching {} transfers among {} accounts",
        args.transfers,
        accounts.len()
    ));
    let work = workload::generate(
        token.address,
        &accounts,
        SUPPLY,
        args.transfers as usize,
        args.seed,
    );
    let current = read_balances(&client, token, &accounts).await?;
    let batch = Batcher::new([token.address])
        .batch(&work.transfers, |slot| current.get(slot).copied())
        .context("batching the transfers")?;
    for reason in batch.rejected.iter().take(3) {
        tracing::info!(%reason, "rejected");
    }
    let sub_block = batch.sub_block;
    let transfers = TransferSummary {
        submitted: work.transfers.len(),
        accepted: sub_block.transfers.len(),
        rejected: batch.rejected.len(),
        planted_invalid: work.planted_overspends.len(),
    };
    timings.insert(
        "batch",
        step.done(format!(
            "{} accepted, {} rejected (overspend), {} slots in, {} out",
            transfers.accepted,
            transfers.rejected,
            sub_block.inputs.len(),
            sub_block.outputs.len()
        ))
        .as_secs_f64(),
    );
    ensure!(
        transfers.rejected == transfers.planted_invalid,
        "the batcher rejected {} transfers but {} overspends were planted",
        transfers.rejected,
        transfers.planted_invalid
    );

    let sequence = registry.next_sequence(&client, thread_id).await?;
    let public_input = PublicInput {
        os_version,
        program_hash,
        thread_id: Felt::from(thread_id),
        sequence: Felt::from(sequence),
        contract_set_commitment: info.contract_set_commitment,
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    };
    let honest = settlement(
        thread_id,
        sequence,
        &sub_block.inputs,
        &sub_block.outputs,
        Vec::new(),
    );
    // The registry builds the verifier's public input itself: it must be ours, felt for felt.
    let on_chain_public_input = registry.public_input(&client, &honest).await?;
    ensure!(
        on_chain_public_input == public_input.to_felts(),
        "the registry's public input differs from the prover's"
    );

    let step = progress.step(format!(
        "proving {} transfers with Stwo ({}, {} bits)",
        sub_block.transfers.len(),
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let (proof, prove_time) = {
        let (pi, sb) = (public_input.clone(), sub_block.clone());
        tokio::task::spawn_blocking(move || {
            let began = Instant::now();
            prove::<Channel>(&pi, &sb, &PARAMS).map(|proof| (proof, began.elapsed()))
        })
        .await
        .context("the prover task failed")?
        .context("proving the sub-block")?
    };
    step.done(format!("2^{} rows", proof.log_n_rows));
    timings.insert("prove", prove_time.as_secs_f64());

    let step = progress.step("verifying the proof off-chain");
    let began = Instant::now();
    verify::<Channel>(&public_input, &proof, &PARAMS).context("the proof does not verify")?;
    let verify_time = began.elapsed();
    let proof_felts = proof_to_felts(&proof);
    step.done(format!(
        "{:.0} ms, {} proof felts",
        verify_time.as_secs_f64() * 1e3,
        proof_felts.len()
    ));
    timings.insert("verify", verify_time.as_secs_f64());

    // Settlement: only if every pre-settlement check passes.
    let honest = Settlement {
        proof: proof_felts.clone(),
        ..honest
    };
    let calldata_felts = honest.calldata().len();
    let step =
        progress.step("pre-settlement checks (proof, input slots, sequence, verifier class)");
    let preflight = preflight::check(
        &client,
        &registry,
        thread_id,
        &public_input,
        &proof,
        calldata_felts,
    )
    .await?;
    if !preflight.ok() {
        bail!(
            "pre-settlement checks failed, settle not sent: {}",
            preflight.blocked_by.as_deref().unwrap_or_default()
        );
    }
    step.done("all passed");

    let bounds = client
        .bounds_at_current_prices(0, SETTLE_L2_GAS, SETTLE_L1_DATA_GAS, 2)
        .await?;
    let ctx = RevertContext {
        client: &client,
        registry: &registry,
        token,
        accounts: &accounts,
        thread_id,
        sequence,
        bounds,
    };

    // Revert path 1, on purpose: one input value off by one.
    let step = progress.step("sending a settlement with a stale input (hand-set resource bounds)");
    let stale_summary = ctx.send(&stale_settlement(&honest)?).await?;
    timings.insert(
        "stale_settle",
        step.done(stale_summary.line()).as_secs_f64(),
    );
    ensure!(
        stale_summary.status == "REVERTED",
        "the stale settlement was not reverted (tx {})",
        stale_summary.tx_hash
    );

    // Revert path 2, on purpose: current inputs, but one proof felt changed.
    let step = progress.step("sending a settlement whose proof has one felt changed");
    let bad_proof_summary = ctx.send(&tampered_settlement(&honest)?).await?;
    timings.insert(
        "bad_proof_settle",
        step.done(bad_proof_summary.line()).as_secs_f64(),
    );
    ensure!(
        bad_proof_summary.status == "REVERTED",
        "the settlement with a tampered proof was not reverted (tx {})",
        bad_proof_summary.tx_hash
    );

    // The real settlement: the registry verifies the proof on-chain and applies the outputs.
    let step = progress.step(format!(
        "settling sub-block {sequence} ({calldata_felts} calldata felts; on-chain verification)"
    ));
    let outcome = registry
        .settle(&client, &honest, FeeMode::Manual(bounds))
        .await
        .context("sending settle")?;
    let l2_gas = l2_gas_used(&client, outcome.hash).await?;
    if let Some(reason) = outcome.revert_reason() {
        bail!(
            "the honest settlement reverted (tx {}, L2 gas {l2_gas}): {}",
            hex(outcome.hash),
            short_revert_reason(reason)
        );
    }
    let mut outputs_applied = true;
    for output in &honest.outputs {
        outputs_applied &= client.storage_at(output.contract, output.key).await? == output.value;
    }
    let settlement_summary = SettlementSummary {
        sent: true,
        tx_hash: hex(outcome.hash),
        status: "SUCCEEDED",
        sequence,
        next_sequence_after: registry.next_sequence(&client, thread_id).await?,
        slots_written: honest.outputs.len(),
        proof_felts: proof_felts.len(),
        calldata_felts,
        l2_gas,
        fee_fri: outcome.actual_fee.to_string(),
        outputs_applied,
        event_matches_outputs: settled_event_matches(&outcome, registry.address, &honest),
        preflight,
    };
    timings.insert(
        "settle",
        step.done(format!(
            "SUCCEEDED: {} slots written, L2 gas {l2_gas}, fee {}",
            settlement_summary.slots_written,
            strk(outcome.actual_fee)
        ))
        .as_secs_f64(),
    );
    ensure!(
        settlement_summary.outputs_applied && settlement_summary.event_matches_outputs,
        "the settlement succeeded but its outputs are not on-chain / in the event"
    );

    if let Some(devnet) = devnet {
        let step = progress.step("stopping devnet");
        tokio::task::spawn_blocking(move || devnet.stop())
            .await
            .context("stopping devnet")?;
        step.done("");
    }
    timings.insert("total", started.elapsed().as_secs_f64());

    let summary = DemoSummary {
        node_url,
        accounts: accounts.len(),
        registry: hex(registry.address),
        token: hex(token.address),
        thread_id,
        os_version: OS_VERSION,
        program_hash: hex(program_hash),
        sequence,
        slots_in: sub_block.inputs.len(),
        slots_out: sub_block.outputs.len(),
        transfers,
        proof: ProofSummary {
            channel: Channel::NAME,
            security_bits: PARAMS.security_bits(),
            log_rows: proof.log_n_rows,
            felts: proof_felts.len(),
            prove_seconds: prove_time.as_secs_f64(),
            verify_ms: verify_time.as_secs_f64() * 1e3,
        },
        settlement: settlement_summary,
        stale_settlement: stale_summary,
        bad_proof_settlement: bad_proof_summary,
        timings_seconds: timings,
    };
    if json {
        print_json(&summary)
    } else {
        print_human(&summary, started.elapsed());
        Ok(())
    }
}

/// A trader address for an external node: `poseidon(seed, i)` cut to 250 bits, so it is below
/// Starknet's address bound (2^251 - 256).
fn derived_address(seed: u64, index: u8) -> Felt {
    let mut bytes =
        starknet_crypto::poseidon_hash_many(&[Felt::from(seed), Felt::from(index)]).to_bytes_be();
    bytes[0] &= 0x03;
    Felt::from_bytes_be(&bytes)
}

fn client_url(chain: &ChainArgs, devnet: Option<&Devnet>) -> String {
    match devnet {
        Some(devnet) => devnet.url().to_string(),
        None => chain.rpc_url.clone().unwrap_or_default(),
    }
}

fn settlement(
    thread_id: u64,
    sequence: u64,
    inputs: &[SlotValue],
    outputs: &[SlotValue],
    proof: Vec<Felt>,
) -> Settlement {
    let convert = |list: &[SlotValue]| {
        list.iter()
            .map(|e| ChainSlotValue::new(e.slot.contract, e.slot.key, e.value))
            .collect()
    };
    Settlement {
        thread_id,
        sequence,
        inputs: convert(inputs),
        outputs: convert(outputs),
        proof,
    }
}

/// The honest settlement with its first input value off by one: the registry must find the
/// input stale (the proof is for the honest lists, but the stale check comes first).
fn stale_settlement(honest: &Settlement) -> Result<Settlement> {
    let mut stale = honest.clone();
    let first = stale
        .inputs
        .first_mut()
        .context("the sub-block has no inputs")?;
    first.value += Felt::ONE;
    Ok(stale)
}

/// The honest settlement with one proof felt changed (in the middle of the proof: inside the
/// hash stream, past the packed M31 values), so the on-chain verifier must reject it.
fn tampered_settlement(honest: &Settlement) -> Result<Settlement> {
    let mut tampered = honest.clone();
    let middle = tampered.proof.len() / 2;
    let felt = tampered
        .proof
        .get_mut(middle)
        .context("the settlement has no proof")?;
    *felt += Felt::ONE;
    Ok(tampered)
}

/// What the revert paths share: where to send, what to watch, the bounds.
struct RevertContext<'a> {
    client: &'a ChainClient,
    registry: &'a Registry,
    token: Token,
    accounts: &'a [Felt],
    thread_id: u64,
    sequence: u64,
    bounds: ResourceBounds,
}

impl RevertContext<'_> {
    /// Sends `settlement` (expected to revert) and records what it cost and changed.
    async fn send(&self, settlement: &Settlement) -> Result<RevertSummary> {
        let client = self.client;
        let prover = client.address();
        let strk_before = client.fee_token_balance(prover).await?;
        let balances_before = read_balance_values(client, self.token, self.accounts).await?;
        let outcome = self
            .registry
            .settle(client, settlement, FeeMode::Manual(self.bounds))
            .await
            .context("sending settle")?;
        let l2_gas = l2_gas_used(client, outcome.hash).await?;
        let strk_after = client.fee_token_balance(prover).await?;
        let balances_after = read_balance_values(client, self.token, self.accounts).await?;
        let sequence_after = self.registry.next_sequence(client, self.thread_id).await?;
        Ok(RevertSummary {
            tx_hash: hex(outcome.hash),
            status: if outcome.is_reverted() {
                "REVERTED"
            } else {
                "SUCCEEDED"
            },
            revert_reason: outcome
                .revert_reason()
                .map(short_revert_reason)
                .unwrap_or_default(),
            l2_gas,
            fee_fri: outcome.actual_fee.to_string(),
            strk_before_fri: strk_before.to_string(),
            strk_after_fri: strk_after.to_string(),
            fee_matches_balance_change: strk_before.checked_sub(strk_after)
                == Some(outcome.actual_fee),
            token_balances_unchanged: balances_before == balances_after,
            sequence_unchanged: sequence_after == self.sequence,
        })
    }
}

impl RevertSummary {
    fn line(&self) -> String {
        let fee: u128 = self.fee_fri.parse().unwrap_or_default();
        format!(
            "{} '{}', L2 gas {}, fee {}",
            self.status,
            self.revert_reason,
            self.l2_gas,
            strk(fee)
        )
    }
}

/// L2 gas a transaction used, from its receipt.
async fn l2_gas_used(client: &ChainClient, hash: Felt) -> Result<u64> {
    let receipt = client
        .provider()
        .get_transaction_receipt(hash)
        .await
        .context("reading the receipt")?;
    match receipt.receipt {
        TransactionReceipt::Invoke(invoke) => Ok(invoke.execution_resources.l2_gas),
        _ => bail!("transaction {} is not an invoke", hex(hash)),
    }
}

/// Whether the registry's `SubBlockSettled` events in `outcome` (the state diff, reassembled
/// from its chunks) are exactly `settlement`'s thread, sequence and outputs.
fn settled_event_matches(outcome: &TxOutcome, registry: Felt, settlement: &Settlement) -> bool {
    // Missing or malformed events are a mismatch, reported as such in the summary.
    sub_block_settled(registry, &outcome.events).is_ok_and(|diff| {
        diff == SettledStateDiff {
            thread_id: settlement.thread_id,
            sequence: settlement.sequence,
            outputs: settlement.outputs.clone(),
        }
    })
}

/// Current balance slot values of `accounts`, keyed by slot (what the batcher needs).
async fn read_balances(
    client: &ChainClient,
    token: Token,
    accounts: &[Felt],
) -> Result<BTreeMap<Slot, Felt>> {
    let mut out = BTreeMap::new();
    for account in accounts {
        let slot = Slot::balance(token.address, *account);
        out.insert(slot, client.storage_at(slot.contract, slot.key).await?);
    }
    Ok(out)
}

async fn read_balance_values(
    client: &ChainClient,
    token: Token,
    accounts: &[Felt],
) -> Result<Vec<u128>> {
    let mut out = Vec::with_capacity(accounts.len());
    for account in accounts {
        out.push(token.balance_of(client, *account).await?);
    }
    Ok(out)
}

fn print_human(s: &DemoSummary, total: Duration) {
    let t = &s.transfers;
    println!();
    println!("zkthreads demo — summary");
    println!(
        "  node             {} ({} accounts)",
        s.node_url, s.accounts
    );
    println!("  registry / token {} / {}", s.registry, s.token);
    println!(
        "  thread           {} (OS version {}, program hash {})",
        s.thread_id, s.os_version, s.program_hash
    );
    println!(
        "  transfers        {} submitted: {} accepted, {} rejected by the batcher (overspend; {} planted)",
        t.submitted, t.accepted, t.rejected, t.planted_invalid
    );
    println!(
        "  sub-block        sequence {}: {} slots in, {} slots out",
        s.sequence, s.slots_in, s.slots_out
    );
    println!(
        "  proof            {} felts (2^{} rows, {}, {} bits): prove {:.1} s, verify {:.0} ms",
        s.proof.felts,
        s.proof.log_rows,
        s.proof.channel,
        s.proof.security_bits,
        s.proof.prove_seconds,
        s.proof.verify_ms
    );
    let se = &s.settlement;
    let settle_fee: u128 = se.fee_fri.parse().unwrap_or_default();
    println!(
        "  settlement       {} (tx {}): sequence {} settled, next {}",
        se.status, se.tx_hash, se.sequence, se.next_sequence_after
    );
    println!(
        "                   {} slots written ({}), proof {} felts, calldata {} felts",
        se.slots_written,
        if se.outputs_applied && se.event_matches_outputs {
            "on-chain and in SubBlockSettled"
        } else {
            "MISMATCH"
        },
        se.proof_felts,
        se.calldata_felts
    );
    println!(
        "                   on-chain verification: L2 gas {}, fee {} ({} fri)",
        se.l2_gas,
        strk(settle_fee),
        se.fee_fri
    );
    print_revert("stale input", &s.stale_settlement);
    print_revert("bad proof", &s.bad_proof_settlement);
    println!("  total            {}", seconds(total));
}

fn print_revert(label: &str, st: &RevertSummary) {
    let fee: u128 = st.fee_fri.parse().unwrap_or_default();
    let before: u128 = st.strk_before_fri.parse().unwrap_or_default();
    let after: u128 = st.strk_after_fri.parse().unwrap_or_default();
    println!(
        "  {:<16} {} '{}' (tx {})",
        label, st.status, st.revert_reason, st.tx_hash
    );
    println!(
        "                   prover paid {} ({} fri, L2 gas {}): {} -> {}{}",
        strk(fee),
        st.fee_fri,
        st.l2_gas,
        strk(before),
        strk(after),
        if st.fee_matches_balance_change {
            ""
        } else {
            " (MISMATCH with the fee)"
        }
    );
    println!(
        "                   token balances {}, thread sequence {}",
        if st.token_balances_unchanged {
            "unchanged"
        } else {
            "CHANGED"
        },
        if st.sequence_unchanged {
            "unchanged"
        } else {
            "CHANGED"
        }
    );
}
