//! `zkthread demo`: the whole loop on an embedded devnet (or, with `--rpc-url`, on any node).
//! With `--program list` the same loop runs the token's list program (`ListVerifier`): every
//! sender signs lists of its transfers, one key step per list, and the attacks are planted on
//! lists.
//!
//! Start devnet (seed 0) and build the contracts; declare the signed program's Cairo verifier
//! `SignedVerifier` and use its class hash as the program hash; declare and deploy the
//! registry and a thread-ready token that accepts that program; register OS version 1 and the
//! program (the registry deploys its verifier instance); create a thread over the token.
//! Every trader registers a thread key with an ordinary invoke from its own account, then
//! signs its transfers; the batch also carries planted attacks (a raised amount, a theft with
//! the thief's own key, a replay, an overspend) that the batcher refuses, each with its reason.
//! Batch against the balances and key slots on-chain; prove with Stwo and verify off-chain;
//! run the pre-settlement checks. Then the two revert paths, on purpose: the proven settlement
//! sent after a trader moved 1 token on L2 (stale input; the token is paid back after) and one
//! whose proof has one felt changed — each reverts with the registry's reason, the prover pays
//! the fee, no balance moves. Then the honest settlement: the registry
//! verifies the proof on-chain and writes the balances and the rotated key slots. Finally a
//! settled signature is submitted again and refused: its nonce is spent on-chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde::Serialize;
use starknet::core::types::TransactionReceipt;
use starknet::providers::Provider;
use zkthread_client::registry::{
    sub_block_settled, InputCheck, NewThread, Registry, SettledStateDiff, Settlement,
};
use zkthread_client::token::Token;
use zkthread_client::{ChainClient, FeeMode, Felt, ResourceBounds, TxOutcome};
use zkthread_devnet::{Devnet, EmbeddedOptions};
use zkthread_engine::program::TokenProgram;
use zkthread_engine::token::TokenMessage;
use zkthread_sig::wots::SignError;
use zkthread_store::{NewTransfer, NewTransferList};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::{SignedBatchError, SignedBatcher, SignedPublicInput, SignedTransferTx};
use zkthread_prover::{contract_set_commitment, Slot, ThreadChannel};
use zkthread_sig::wots::{commitment, KeySeed};
use zkthread_sig::{balance_slot_key, thread_key_slot_key};

use crate::chain::{build_contracts, deploy_registry_and_token, repo_root, ChainArgs};
use crate::key::set_thread_key;
use crate::output::{hex, print_json, seconds, short_revert_reason, strk, Progress};
use zkthread_engine::preflight::{self, Preflight};
use crate::program::{self, declare_verifier, Channel, ProvenSubBlock, OS_VERSION, PARAMS};
use crate::program::thread_statement;
use crate::workload::{self, Attack, Trader, TraderKey, Workload};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of valid signed transfers to submit to the batcher (the planted attacks come on top;
    /// one proof holds at most 524).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=zkthread_token::MAX_TRANSFERS_PER_PROOF as i64))]
    transfers: u32,
    /// Seed of the transfer generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Accounts that trade (the first holds the supply): the embedded devnet's predeployed
    /// accounts, each registering its own thread key; on an external node the signer (the only
    /// account with a key, so the only sender) plus receiver addresses derived from the seed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(2..=100))]
    pub(crate) accounts: u8,
    /// Run against this node instead of an embedded devnet (with the account flags below).
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Repository root (default: found from the working directory).
    #[arg(long)]
    pub(crate) repo: Option<PathBuf>,
    /// The thread program: `token` (signed transfers) or `orderbook` (a trading round of the
    /// limit-order book, embedded devnet only).
    #[arg(long, value_enum, default_value_t = DemoProgram::Token)]
    pub(crate) program: DemoProgram,
}

/// The programs `zkthread demo` can run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoProgram {
    /// The token's signed program: one signature per transfer (`SignedVerifier`).
    Token,
    /// The token's list program: each sender signs lists of its transfers (`ListVerifier`).
    List,
    Orderbook,
}

/// A token program the demo runs, with its workload (the same planted attacks on its messages).
trait DemoMessage: TokenMessage {
    fn generate(
        statement: &SignedPublicInput,
        token: Felt,
        traders: &mut [Trader],
        count: usize,
        seed: u64,
    ) -> Result<Workload<Self::Tx>, SignError>;
}

impl DemoMessage for NewTransfer {
    fn generate(
        statement: &SignedPublicInput,
        token: Felt,
        traders: &mut [Trader],
        count: usize,
        seed: u64,
    ) -> Result<Workload<SignedTransferTx>, SignError> {
        workload::generate_signed(statement, token, traders, SUPPLY, count, seed)
    }
}

impl DemoMessage for NewTransferList {
    fn generate(
        statement: &SignedPublicInput,
        token: Felt,
        traders: &mut [Trader],
        count: usize,
        seed: u64,
    ) -> Result<Workload<SignedTransferListTx>, SignError> {
        workload::generate_lists(statement, token, traders, SUPPLY, count, seed)
    }
}

/// Initial token supply, all held by account #0.
const SUPPLY: u128 = 1_000_000_000_000;
/// Hand-set bounds for every settle (estimation refuses a failing transaction, and a hand-set
/// bound keeps the honest one to a single execution): prices twice the current ones, L2 gas
/// above what a full on-chain verification uses on devnet 0.10.1 (our Sierra 1.6 classes are
/// metered in Cairo steps, at most 10M per transaction).
const SETTLE_L2_GAS: u64 = 4_000_000_000;
const SETTLE_L1_DATA_GAS: u64 = 10_000;

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    /// The token program run: `signed` or `list`.
    pub program: TokenProgram,
    pub node_url: String,
    pub accounts: usize,
    pub registry: String,
    pub token: String,
    pub thread_id: u64,
    /// A felt on-chain, so hex like every felt.
    pub os_version: String,
    pub program_hash: String,
    pub sequence: u64,
    pub keys: KeySummary,
    pub transfers: TransferSummary,
    pub slots_in: usize,
    pub slots_out: usize,
    pub proof: ProofSummary,
    pub settlement: SettlementSummary,
    /// `None` on a node where fewer than two accounts sign (the stale input is made on L2).
    pub stale_settlement: Option<RevertSummary>,
    /// The same stale settlement sent to `settle_checking_inputs_first`: refused before the
    /// verifier runs. `None` where `stale_settlement` is.
    pub stale_settlement_inputs_first: Option<RevertSummary>,
    pub bad_proof_settlement: RevertSummary,
    /// The first settled transfer submitted again after the settlement.
    pub settled_replay_refused: String,
    pub timings_seconds: BTreeMap<&'static str, f64>,
}

#[derive(Debug, Serialize)]
pub struct KeySummary {
    /// Accounts that registered a thread key, each from its own account.
    pub registered: usize,
    pub register_fee_fri: String,
}

#[derive(Debug, Serialize)]
pub struct TransferSummary {
    /// Messages: transfers (the signed program) or lists of them.
    pub submitted: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Transfers the accepted messages carry.
    pub transfers_applied: usize,
    /// Senders with at least one accepted transfer.
    pub senders: usize,
    /// The planted attacks and the batcher's reason for each; every one must be refused.
    pub attacks: Vec<AttackSummary>,
}

#[derive(Debug, Serialize)]
pub struct AttackSummary {
    pub attack: Attack,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ProofSummary {
    pub channel: &'static str,
    pub security_bits: u32,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
    pub felts: usize,
    pub prove_seconds: f64,
    pub verify_seconds: f64,
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

/// The node, its accounts and the client of each account we can sign for.
pub(crate) struct Node {
    pub(crate) devnet: Option<Devnet>,
    pub(crate) client: ChainClient,
    /// Traders' addresses; `accounts[0]` is `client`'s.
    pub(crate) accounts: Vec<Felt>,
    /// Clients of `accounts[1..]` whose keys we hold (embedded devnet only).
    others: Vec<ChainClient>,
    pub(crate) salt: Felt,
}

impl Node {
    /// The client that signs for `accounts[i]`, if we hold its key.
    pub(crate) fn signer(&self, i: usize) -> Option<&ChainClient> {
        if i == 0 {
            Some(&self.client)
        } else {
            self.others.get(i - 1)
        }
    }
}

pub async fn run(args: DemoArgs, json: bool) -> Result<()> {
    match args.program {
        DemoProgram::List => run_program::<NewTransferList>(args, json).await,
        _ => run_program::<NewTransfer>(args, json).await,
    }
}

async fn run_program<M: DemoMessage>(args: DemoArgs, json: bool) -> Result<()> {
    let started = Instant::now();
    let verifier = M::TOKEN_PROGRAM.verifier();
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
    let build = tokio::task::spawn_blocking(move || build_contracts(&repo, verifier));
    let node = connect(&args).await?;
    let artifacts = build.await.context("the contract build task failed")??;
    let (client, accounts) = (&node.client, &node.accounts);
    let node_url = client_url(&args.chain, node.devnet.as_ref());
    timings.insert(
        "devnet_and_build",
        step.done(format!("{node_url} ({} accounts)", accounts.len()))
            .as_secs_f64(),
    );
    let holder = client.address();

    // The token accepts the verifier's program from deployment: declare the class first.
    let step = progress.step(format!("declaring the thread program (Cairo verifier {})", verifier.1));
    let (program_hash, declare_fee) = declare_verifier(client, &artifacts, verifier).await?;
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
        deploy_registry_and_token(client, &artifacts, holder, SUPPLY, node.salt, &[program_hash])
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
        .open_thread(client, &new_thread)
        .await
        .context("opening the thread")?;
    let info = registry.thread(client, thread_id).await?;
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

    let step = progress.step("thread keys: each trader registers its own, from its own account");
    let (mut traders, keys) = register_keys(&node, token).await?;
    timings.insert(
        "register_keys",
        step.done(format!(
            "{} keys, fees {}",
            keys.registered,
            strk(keys.register_fee_fri.parse().unwrap_or_default())
        ))
        .as_secs_f64(),
    );

    // The thread was just opened: its record read above still names the next sequence.
    let sequence = info.sequence;
    let statement = thread_statement(&info, client.chain_id(), registry.address, thread_id);
    let step = progress.step(format!(
        "signing {} transfers among {} accounts ({} messages), plus 4 planted attacks",
        args.transfers,
        accounts.len(),
        M::NOUN
    ));
    let work = M::generate(&statement, token.address, &mut traders, args.transfers as usize, args.seed)
        .context("signing the transfers")?;
    timings.insert("sign", step.done(format!("{} {}s signed", work.txs.len(), M::NOUN)).as_secs_f64());

    let step = progress.step("batching against the balances and key slots on-chain");
    let current = read_slots(client, token, accounts).await?;
    let batch = M::batch(&SignedBatcher::new(statement.clone(), [token.address]), &work.txs, |slot| {
        current.get(slot).copied()
    })
        .map_err(|e| match e {
            SignedBatchError::Empty { .. } => anyhow::anyhow!("the batcher accepted nothing"),
            other => anyhow::Error::new(other),
        })
        .context("batching the transfers")?;
    let refused: Vec<usize> = batch.rejected.iter().map(|r| r.index()).collect();
    ensure!(batch.taken == work.txs.len(), "the demo's messages do not fit one proof");
    let accepted: Vec<&M::Tx> =
        work.txs.iter().enumerate().filter(|(i, _)| !refused.contains(i)).map(|(_, tx)| tx).collect();
    let planted: Vec<usize> = work.attacks.iter().map(|(i, _)| *i).collect();
    ensure!(
        refused == planted,
        "the batcher refused transfers {refused:?}, the planted attacks are {planted:?}: {}",
        batch.rejected.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    );
    let transfers = TransferSummary {
        submitted: work.txs.len(),
        accepted: accepted.len(),
        rejected: batch.rejected.len(),
        transfers_applied: accepted.iter().map(|tx| M::tx_transfers(tx)).sum(),
        senders: accepted.iter().map(|tx| M::sender(tx)).collect::<std::collections::BTreeSet<_>>().len(),
        attacks: work
            .attacks
            .iter()
            .zip(&batch.rejected)
            .map(|((_, attack), reason)| AttackSummary { attack: *attack, reason: reason.reason() })
            .collect(),
    };
    timings.insert(
        "batch",
        step.done(format!(
            "{} accepted ({} transfers) from {} senders, {} refused (the planted attacks), {} slots",
            transfers.accepted,
            transfers.transfers_applied,
            transfers.senders,
            transfers.rejected,
            batch.inputs.len(),
        ))
        .as_secs_f64(),
    );

    let public_input = batch.statement(&statement);
    let honest = zkthread_engine::codec::signed_settlement(thread_id, &public_input, Vec::new())?;
    // The registry builds the verifier's public input itself (the verifier adds the chain id
    // and its caller, the registry): it must be ours, felt for felt.
    let mut on_chain_public_input = registry.public_input(client, &honest).await?;
    on_chain_public_input.splice(2..2, [client.chain_id(), registry.address]);
    ensure!(
        on_chain_public_input == public_input.to_felts(),
        "the registry's public input differs from the prover's"
    );

    let step = progress.step(format!(
        "proving {} {}s ({} transfers) with Stwo ({}, {} bits)",
        transfers.accepted,
        M::NOUN,
        transfers.transfers_applied,
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let ProvenSubBlock { proof, elapsed: prove_time, log_rows } =
        program::prove_program::<M>(public_input.clone(), batch.owners.clone(), batch.witness.clone(), PARAMS).await?;
    step.done(format!("largest component 2^{log_rows} rows"));
    timings.insert("prove", prove_time.as_secs_f64());

    let step = progress.step("verifying the proof off-chain");
    let began = Instant::now();
    M::verify(&public_input, &proof).context("the proof does not verify")?;
    let verify_time = began.elapsed();
    let proof_felts = M::to_felts(&proof);
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
        progress.step("pre-settlement checks (proof, input slots, sequence, verifier class, calldata)");
    let claim = preflight::Claim {
        thread_id,
        sequence,
        thread: preflight::ThreadBinding {
            os_version: public_input.os_version,
            program_hash,
            contract_set_commitment: public_input.contract_set_commitment,
        },
        inputs: &public_input.inputs,
        proof_verifies: true,
        calldata_felts,
        prover: client.address(),
    };
    let preflight = preflight::check(client, &registry, &claim).await?;
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
        client,
        registry: &registry,
        token,
        accounts,
        thread_id,
        sequence,
        bounds,
    };

    // Revert path 1, on purpose: a proven settlement whose input moved on L2 since batching.
    let (stale_summary, stale_first_summary) = match stale_pair(&node, &honest)? {
        Some((payer, payee)) => {
            let step = progress.step(
                "sending the settlement after a trader moved 1 token on L2 (must revert: stale input; hand-set bounds), to settle and to settle_checking_inputs_first",
            );
            let (summary, first) = send_stale(&ctx, &node, token, &honest, payer, payee).await?;
            let line = format!("{}; inputs first: {}", summary.line(), first.line());
            timings.insert("stale_settle", step.done(line).as_secs_f64());
            ensure!(summary.status == "REVERTED", "the stale settlement was not reverted (tx {})", summary.tx_hash);
            ensure!(first.status == "REVERTED", "the stale settlement, inputs first, was not reverted (tx {})", first.tx_hash);
            (Some(summary), Some(first))
        }
        None => {
            let step = progress.step("a stale settlement");
            step.done("skipped: moving an input on L2 and back needs two accounts this node lets us sign for");
            (None, None)
        }
    };

    // Revert path 2, on purpose: current inputs, but one proof felt changed.
    let step = progress.step("sending a settlement whose proof has one felt changed");
    let bad_proof_summary = ctx.send(&tampered_settlement(&honest)?, InputCheck::BeforeWrites).await?;
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
        .settle(client, &honest, FeeMode::Manual(bounds))
        .await
        .context("sending settle")?;
    let l2_gas = l2_gas_used(client, outcome.hash).await?;
    if let Some(reason) = outcome.revert_reason() {
        bail!(
            "the honest settlement reverted (tx {}, L2 gas {l2_gas}): {}",
            hex(outcome.hash),
            short_revert_reason(reason)
        );
    }
    let output_slots: Vec<(Felt, Felt)> = honest.outputs.iter().map(|output| (output.contract, output.key)).collect();
    let after = client.storage_many(&output_slots).await?;
    let outputs_applied = honest.outputs.iter().zip(&after).all(|(output, value)| *value == output.value);
    let settlement_summary = SettlementSummary {
        sent: true,
        tx_hash: hex(outcome.hash),
        status: "SUCCEEDED",
        sequence,
        next_sequence_after: registry.next_sequence(client, thread_id).await?,
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

    // A settled signature again, on the new state: its nonce is spent on-chain.
    let step = progress.step("submitting a settled transfer again");
    let settled_replay_refused = replay_refused::<M>(client, &statement, token, accounts, accepted[0]).await?;
    step.done(settled_replay_refused.clone());

    if let Some(devnet) = node.devnet {
        let step = progress.step("stopping devnet");
        tokio::task::spawn_blocking(move || devnet.stop())
            .await
            .context("stopping devnet")?;
        step.done("");
    }
    timings.insert("total", started.elapsed().as_secs_f64());

    let summary = DemoSummary {
        program: M::TOKEN_PROGRAM,
        node_url,
        accounts: accounts.len(),
        registry: hex(registry.address),
        token: hex(token.address),
        thread_id,
        os_version: hex(os_version),
        program_hash: hex(program_hash),
        sequence,
        keys,
        slots_in: batch.inputs.len(),
        slots_out: batch.outputs.len(),
        transfers,
        proof: ProofSummary {
            channel: Channel::NAME,
            security_bits: PARAMS.security_bits(),
            log_rows,
            felts: proof_felts.len(),
            prove_seconds: prove_time.as_secs_f64(),
            verify_seconds: verify_time.as_secs_f64(),
        },
        settlement: settlement_summary,
        stale_settlement: stale_summary,
        stale_settlement_inputs_first: stale_first_summary,
        bad_proof_settlement: bad_proof_summary,
        settled_replay_refused,
        timings_seconds: timings,
    };
    if json {
        print_json(&summary)
    } else {
        print_human(&summary, started.elapsed());
        Ok(())
    }
}

/// The embedded devnet (every predeployed account signs for itself) or the `--rpc-url` node
/// (only its account signs; the other traders are receiver addresses derived from the seed).
pub(crate) async fn connect(args: &DemoArgs) -> Result<Node> {
    if args.chain.rpc_url.is_some() {
        let client = args.chain.connect().await?;
        let mut accounts = vec![client.address()];
        accounts.extend((1..args.accounts).map(|i| derived_address(args.seed, i)));
        // Fresh addresses on every run: the registry and token may exist from an earlier one.
        let salt = Felt::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        return Ok(Node { devnet: None, client, accounts, others: vec![], salt });
    }
    let options = EmbeddedOptions {
        total_accounts: args.accounts,
        ..EmbeddedOptions::default()
    };
    let devnet = Devnet::start_embedded_with(options)
        .await
        .context("starting the embedded devnet")?;
    let chain_id = devnet
        .chain_id()
        .context("the embedded devnet has no chain id")?;
    let mut clients = devnet
        .accounts()
        .iter()
        .map(|a| ChainClient::with_chain_id(devnet.url().clone(), a.address, a.private_key, chain_id));
    let client = clients.next().context("the devnet has no account #0")?;
    let others = clients.collect();
    let accounts = devnet.accounts().iter().map(|a| a.address).collect();
    Ok(Node { devnet: Some(devnet), client, accounts, others, salt: Felt::ONE })
}

/// Every account we sign for draws a fresh key seed and registers its key 0 with
/// `set_thread_key`, sent from that account; the key slot is read back for its nonce.
async fn register_keys(node: &Node, token: Token) -> Result<(Vec<Trader>, KeySummary)> {
    let mut traders = Vec::with_capacity(node.accounts.len());
    let mut fees = 0u128;
    for (i, address) in node.accounts.iter().enumerate() {
        let Some(signer) = node.signer(i) else {
            traders.push(Trader { address: *address, key: None });
            continue;
        };
        let seed = KeySeed::generate().map_err(|e| anyhow::anyhow!("no OS randomness for a key seed: {e}"))?;
        let registered = set_thread_key(signer, token.address, &commitment(&seed, 0)?).await?;
        fees += registered.fee;
        let nonce = registered.nonce;
        traders.push(Trader { address: *address, key: Some(TraderKey { seed, index: 0, nonce }) });
    }
    let registered = traders.iter().filter(|t| t.key.is_some()).count();
    Ok((traders, KeySummary { registered, register_fee_fri: fees.to_string() }))
}

/// `tx` (settled) batched again on the state after the settlement: the batcher must refuse it
/// (its nonce is spent on-chain); returns the reason.
async fn replay_refused<M: TokenMessage>(
    client: &ChainClient,
    statement: &SignedPublicInput,
    token: Token,
    accounts: &[Felt],
    tx: &M::Tx,
) -> Result<String> {
    let current = read_slots(client, token, accounts).await?;
    let batcher = SignedBatcher::new(statement.clone(), [token.address]);
    match M::batch(&batcher, std::slice::from_ref(tx), |slot| current.get(slot).copied()) {
        Err(SignedBatchError::Empty { rejected }) if rejected.len() == 1 => Ok(rejected[0].reason()),
        Ok(_) => bail!("a settled transfer was accepted again"),
        Err(error) => Err(error).context("batching the replay"),
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

/// Two traders we sign for, `(payer, payee)` as indexes into the node's accounts, the payer's
/// balance an input of `honest` (so moving 1 token makes the proven settlement stale, and the
/// payee can pay it back); `None` with fewer than two signers (an external node).
fn stale_pair(node: &Node, honest: &Settlement) -> Result<Option<(usize, usize)>> {
    let signers: Vec<usize> = (0..node.accounts.len()).filter(|&i| node.signer(i).is_some()).collect();
    for &payer in &signers {
        let key = balance_slot_key(node.accounts[payer]);
        if honest.inputs.iter().any(|input| input.key == key) {
            if let Some(&payee) = signers.iter().find(|&&j| j != payer) {
                return Ok(Some((payer, payee)));
            }
        }
    }
    Ok(None)
}

/// The honest settlement, sent after `payer` paid `payee` 1 token on L2: to `settle`, whose
/// proof verifies before the registry finds the payer's balance moved (`registry: stale
/// input`), then to `settle_checking_inputs_first`, which finds it before the verifier runs;
/// nothing changes either time. Then `payee` pays the token back, so the inputs are current
/// again.
async fn send_stale(
    ctx: &RevertContext<'_>,
    node: &Node,
    token: Token,
    honest: &Settlement,
    payer: usize,
    payee: usize,
) -> Result<(RevertSummary, RevertSummary)> {
    let (payer_client, payee_client) = (node.signer(payer), node.signer(payee));
    let (Some(payer_client), Some(payee_client)) = (payer_client, payee_client) else {
        bail!("no signer for trader {payer} or {payee}");
    };
    let moved = token.transfer(payer_client, node.accounts[payee], 1, FeeMode::default()).await?;
    ensure!(!moved.is_reverted(), "moving 1 token on L2 reverted (tx {})", hex(moved.hash));
    let summary = ctx.send(honest, InputCheck::BeforeWrites).await?;
    let first = ctx.send(honest, InputCheck::First).await?;
    let back = token.transfer(payee_client, node.accounts[payer], 1, FeeMode::default()).await?;
    ensure!(!back.is_reverted(), "paying the token back reverted (tx {})", hex(back.hash));
    Ok((summary, first))
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
    /// Sends `settlement` (expected to revert) to the entry point `check` names and records
    /// what it cost and changed.
    async fn send(&self, settlement: &Settlement, check: InputCheck) -> Result<RevertSummary> {
        let client = self.client;
        let prover = client.address();
        let strk_before = client.fee_token_balance(prover).await?;
        let balances_before = read_balance_values(client, self.token, self.accounts).await?;
        let outcome = self
            .registry
            .settle_checking(client, settlement, FeeMode::Manual(self.bounds), check)
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
pub(crate) async fn l2_gas_used(client: &ChainClient, hash: Felt) -> Result<u64> {
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

/// Current balance and thread-key slots of `accounts`, keyed by slot (what the batcher needs).
async fn read_slots(
    client: &ChainClient,
    token: Token,
    accounts: &[Felt],
) -> Result<BTreeMap<Slot, Felt>> {
    let slots = accounts
        .iter()
        .flat_map(|account| [balance_slot_key(*account), thread_key_slot_key(*account)])
        .map(|key| Slot { contract: token.address, key });
    Ok(zkthread_engine::batch::read_slots(client, slots).await?)
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
        "  thread           {} (OS version {}, the token's {} program, hash {})",
        s.thread_id, s.os_version, s.program, s.program_hash
    );
    println!(
        "  thread keys      {} accounts registered their own key (fees {})",
        s.keys.registered,
        strk(s.keys.register_fee_fri.parse().unwrap_or_default())
    );
    let noun = match s.program {
        TokenProgram::Signed => "transfers",
        TokenProgram::List => "lists",
    };
    println!(
        "  transfers        {} {noun} signed and submitted: {} accepted ({} transfers) from {} senders, {} refused by the batcher",
        t.submitted, t.accepted, t.transfers_applied, t.senders, t.rejected
    );
    for a in &t.attacks {
        println!("                   refused {:<16} {}", format!("{:?}", a.attack), a.reason);
    }
    println!(
        "  sub-block        sequence {}: {} slots in, {} slots out",
        s.sequence, s.slots_in, s.slots_out
    );
    println!(
        "  proof            {} felts (largest component 2^{} rows, {}, {} bits): prove {:.1} s, verify {:.0} ms",
        s.proof.felts,
        s.proof.log_rows,
        s.proof.channel,
        s.proof.security_bits,
        s.proof.prove_seconds,
        s.proof.verify_seconds * 1e3
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
    if let Some(stale) = &s.stale_settlement {
        print_revert("stale input", stale);
    }
    if let Some(stale) = &s.stale_settlement_inputs_first {
        print_revert("  inputs first", stale);
    }
    print_revert("bad proof", &s.bad_proof_settlement);
    println!("  settled replay   refused: {}", s.settled_replay_refused);
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
