//! What `bench verify` and `bench settle` share: one node (embedded devnet or `--rpc-url`) with
//! the registry, the token, the verifier class and one thread; settling transfers for real
//! through that thread (batch against on-chain balances, prove, verify off-chain, settle); sending
//! transfers directly; and reading what a transaction cost from its receipt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use starknet::core::types::TransactionReceipt;
use starknet::providers::Provider;
use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::{NewThread, Registry, Settlement};
use zkthread_client::token::Token;
use zkthread_client::{ChainClient, FeeMode, Felt, TxOutcome};
use zkthread_devnet::{Devnet, EmbeddedOptions};
use zkthread_prover::{
    proof_to_felts, prove, verify, Batcher, PublicInput, Slot, SlotValue, SubBlock, Transfer,
};

use super::report::{capacity_refusal, revert_summary, Steps, TxCost, CALLDATA_GOAL, STEP_BOUND};
use crate::chain::{build_contracts, deploy_registry_and_token, repo_root, ChainArgs};
use crate::output::{hex, Progress};
use zkthread_engine::preflight;
use super::{signed, ProgramKind};
use zkthread_store::{NewTransfer, NewTransferList};
use crate::program::unsigned::{self, PARAMS};
use crate::program::{declare_verifier, Channel, LIST_VERIFIER, OS_VERSION, VERIFIER};
use crate::workload::TraderKey;

/// Token supply, all minted to the signer (account #0), which funds the other senders.
const SUPPLY: u128 = 1_000_000_000_000_000;
/// L2 gas bound of a settlement: above what the 10M-step execution bound can use (the fee
/// formula charges ~200 L2 gas per step here: 4.9e8 for ~2.5M steps).
const SETTLE_L2_GAS: u64 = 6_000_000_000;
/// L1 data gas bound of a settlement: a base plus room for every written slot's state diff.
const SETTLE_L1_DATA_GAS_BASE: u64 = 20_000;
const SETTLE_L1_DATA_GAS_PER_SLOT: u64 = 128;
/// Bounds of one direct `transfer` (far above what one uses; the fee charged is the actual one).
const DIRECT_L2_GAS: u64 = 100_000_000;
const DIRECT_L1_DATA_GAS: u64 = 10_000;
/// L2 gas per Cairo step (`step_gas_cost`): a bound of `100 * s` caps the execute phase at `s`
/// steps (the fee itself is higher per step: builtins weigh in, ~200 L2 gas per step).
const L2_GAS_PER_STEP: u64 = 100;

pub struct WorldOptions {
    /// The thread program (its verifier class is declared and registered).
    pub program: ProgramKind,
    /// Accounts that can sign direct transfers (embedded devnet: predeployed accounts #0..).
    pub signers: usize,
    pub chain: ChainArgs,
    pub repo: Option<PathBuf>,
}

/// A node with everything deployed and one thread over the token.
pub struct BenchWorld {
    devnet: Option<Devnet>,
    pub node_url: String,
    /// Account #0 (or the `--rpc-url` account): token holder, thread admin and prover.
    pub client: ChainClient,
    /// The other accounts that sign direct transfers (embedded devnet only).
    pub others: Vec<ChainClient>,
    pub registry: Registry,
    pub token: Token,
    pub thread_id: u64,
    pub program_hash: Felt,
    pub contract_set_commitment: Felt,
    pub program: ProgramKind,
    /// Thread keys of the senders (signed program): seed, next index, slot nonce.
    pub keys: Mutex<BTreeMap<Felt, TraderKey>>,
}

/// A sub-block proven and ready to settle, whichever the program.
pub struct Proven {
    pub settlement: Settlement,
    pub inputs: Vec<SlotValue>,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
    pub prove_seconds: f64,
    pub verify_ms: f64,
}

/// One sub-block settled (or attempted) through the thread.
#[derive(Clone, Debug)]
pub struct Settled {
    pub slots_in: usize,
    pub slots_out: usize,
    pub log_rows: u32,
    pub proof_felts: usize,
    pub calldata_felts: usize,
    pub prove_seconds: f64,
    pub verify_ms: f64,
    pub steps: Option<Steps>,
    pub tx_hash: Felt,
    /// `SUCCEEDED`, `REVERTED: <reason>` or `REFUSED: <why>` (the node would not take it).
    pub status: String,
    pub cost: TxCost,
}

impl BenchWorld {
    /// Starts the node (or connects), builds and deploys everything and opens the thread.
    pub async fn start(options: &WorldOptions, progress: &Progress) -> Result<BenchWorld> {
        let repo = repo_root(options.repo.as_deref())?;
        let external = options.chain.rpc_url.is_some();
        let step = progress.step(if external {
            "connecting to the node and building the contracts"
        } else {
            "starting devnet and building the contracts"
        });
        let verifier = match options.program {
            ProgramKind::Signed => VERIFIER,
            ProgramKind::Unsigned => unsigned::VERIFIER,
            ProgramKind::List => LIST_VERIFIER,
        };
        let build = tokio::task::spawn_blocking(move || build_contracts(&repo, verifier));
        let (devnet, client, others, salt) = if external {
            let client = options.chain.connect().await?;
            let salt = Felt::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default(),
            );
            (None, client, Vec::new(), salt)
        } else {
            let total_accounts = u8::try_from(options.signers.clamp(2, 100)).unwrap_or(100);
            let devnet = Devnet::start_embedded_with(EmbeddedOptions {
                total_accounts,
                ..EmbeddedOptions::default()
            })
            .await
            .context("starting the embedded devnet")?;
            let chain_id = devnet
                .chain_id()
                .context("the embedded devnet has no chain id")?;
            let clients: Vec<ChainClient> = devnet
                .accounts()
                .iter()
                .take(options.signers.max(1))
                .map(|a| {
                    ChainClient::with_chain_id(
                        devnet.url().clone(),
                        a.address,
                        a.private_key,
                        chain_id,
                    )
                })
                .collect();
            let mut clients = clients.into_iter();
            let client = clients.next().context("the devnet has no account #0")?;
            (Some(devnet), client, clients.collect(), Felt::ONE)
        };
        let artifacts = build.await.context("the contract build task failed")??;
        let node_url = match (&devnet, &options.chain.rpc_url) {
            (Some(devnet), _) => devnet.url().to_string(),
            (None, url) => url.clone().unwrap_or_default(),
        };
        step.done(&node_url);

        let step = progress
            .step("deploying the registry, the token and the verifier class; opening a thread");
        let holder = client.address();
        let (program_hash, _) = declare_verifier(&client, &artifacts, verifier).await?;
        let deployment =
            deploy_registry_and_token(&client, &artifacts, holder, SUPPLY, salt, &[program_hash])
                .await?;
        let (registry, token) = (deployment.registry, deployment.token);
        let thread = NewThread {
            os_version: Felt::from(OS_VERSION),
            program_hash,
            contracts: vec![token.address],
            admin: holder,
            provers: vec![],
        };
        let (thread_id, _) = registry
            .open_thread(&client, &thread)
            .await
            .context("opening the thread")?;
        let info = registry.thread(&client, thread_id).await?;
        // Every sender holds a share of the supply, so any of them can send any transfer.
        let share = SUPPLY / (2 * (others.len() as u128 + 1));
        for other in &others {
            token
                .transfer(&client, other.address(), share, FeeMode::default())
                .await
                .context("funding a sender")?;
        }
        let mut keys = BTreeMap::new();
        if options.program.is_signed() {
            for sender in std::iter::once(&client).chain(&others) {
                keys.insert(sender.address(), signed::register_key(sender, token).await?);
            }
        }
        step.done(format!(
            "thread {thread_id} over token {}, {} funded senders, {} thread keys",
            hex(token.address),
            others.len() + 1,
            keys.len()
        ));
        Ok(BenchWorld {
            program: options.program,
            keys: Mutex::new(keys),
            devnet,
            node_url,
            client,
            others,
            registry,
            token,
            thread_id,
            program_hash,
            contract_set_commitment: info.contract_set_commitment,
        })
    }

    /// Addresses of the accounts that can sign transfers, #0 first.
    pub fn senders(&self) -> Vec<Felt> {
        std::iter::once(&self.client)
            .chain(&self.others)
            .map(ChainClient::address)
            .collect()
    }

    pub fn signer(&self, address: Felt) -> Option<&ChainClient> {
        std::iter::once(&self.client)
            .chain(&self.others)
            .find(|c| c.address() == address)
    }

    pub async fn stop(self) -> Result<()> {
        if let Some(devnet) = self.devnet {
            tokio::task::spawn_blocking(move || devnet.stop())
                .await
                .context("stopping devnet")?;
        }
        Ok(())
    }

    /// Batches `transfers` against on-chain balances, proves (DEFAULT params), verifies off-chain,
    /// runs the pre-settlement checks and settles for real. With `step_resolution`, first
    /// measures the execute phase's Cairo steps by bisection over the L2 bound (each probe is a
    /// settlement that reverts and changes nothing). A settlement above the calldata goal is
    /// still sent (devnet does not enforce it): measuring past the line is the point.
    ///
    /// The signed programs spend a key per signature before anything is checked: when the
    /// sub-block fails anywhere after signing, every sender's key slot is brought back in line
    /// with its key file before the error is returned, so a caller that goes on can settle again.
    pub async fn settle(
        &self,
        transfers: &[Transfer],
        progress: &Progress,
        label: &str,
        step_resolution: Option<u64>,
    ) -> Result<Settled> {
        let settled = self.settle_once(transfers, progress, label, step_resolution).await;
        if settled.is_err() && self.program.is_signed() {
            if let Err(error) = signed::resync_keys(self).await {
                tracing::warn!(%error, "could not register the senders' next keys after a failed sub-block");
            }
        }
        settled
    }

    async fn settle_once(
        &self,
        transfers: &[Transfer],
        progress: &Progress,
        label: &str,
        step_resolution: Option<u64>,
    ) -> Result<Settled> {
        let client = &self.client;
        let sequence = self.registry.next_sequence(client, self.thread_id).await?;
        let proven = match self.program {
            ProgramKind::Unsigned => self.prove_unsigned(transfers, sequence, progress, label).await?,
            ProgramKind::Signed => signed::prove_for_world::<NewTransfer>(self, transfers, sequence, progress, label).await?,
            ProgramKind::List => signed::prove_for_world::<NewTransferList>(self, transfers, sequence, progress, label).await?,
        };
        let Proven { settlement, inputs, log_rows, prove_seconds, verify_ms } = proven;
        let calldata_felts = settlement.calldata().len();
        let claim = preflight::Claim {
            thread_id: self.thread_id,
            sequence,
            thread: preflight::ThreadBinding {
                os_version: Felt::from(OS_VERSION),
                program_hash: self.program_hash,
                contract_set_commitment: self.contract_set_commitment,
            },
            inputs: &inputs,
            proof_verifies: true,
            calldata_felts,
            prover: client.address(),
        };
        let checks = preflight::check(client, &self.registry, &claim).await?;
        // Every check but the calldata goal: devnet takes a larger settle (below).
        if !checks.sound() {
            bail!(
                "pre-settlement checks failed, settle not sent: {}",
                checks.blocked_by.as_deref().unwrap_or_default()
            );
        }
        if calldata_felts > CALLDATA_GOAL {
            tracing::info!(
                calldata_felts,
                "above the calldata goal; sent anyway (devnet does not enforce it)"
            );
        }

        let l1_data_gas =
            SETTLE_L1_DATA_GAS_BASE + SETTLE_L1_DATA_GAS_PER_SLOT * settlement.outputs.len() as u64;
        let mut steps = None;
        if let Some(resolution) = step_resolution {
            let step = progress.step(format!(
                "{label}: measuring Cairo steps (bisection over simulated settlements)"
            ));
            let measured = self
                .measure_steps(&settlement, l1_data_gas, resolution.max(1))
                .await?;
            steps = Some(measured);
            step.done(measured.label());
        }

        let step = progress.step(format!(
            "{label}: settling ({calldata_felts} calldata felts)"
        ));
        let bounds = client
            .bounds_at_current_prices(0, SETTLE_L2_GAS, l1_data_gas, 2)
            .await?;
        // `applied`: whether the settlement changed the chain (mined and not reverted).
        let (tx_hash, status, cost, applied) = match self
            .registry
            .settle(client, &settlement, FeeMode::Manual(bounds))
            .await
        {
            Ok(outcome) => {
                let cost = tx_cost(client, &outcome).await?;
                let status = match outcome.revert_reason() {
                    None => "SUCCEEDED".to_owned(),
                    Some(reason) => format!("REVERTED: {}", revert_summary(reason)),
                };
                step.done(format!("{status}, L2 gas {}", cost.l2_gas));
                (outcome.hash, status, cost, !outcome.is_reverted())
            }
            Err(error) => {
                // A settlement past one block's capacity is a measured outcome (where the line
                // lies), not a failed benchmark: the point is recorded and the run goes on.
                let Some(status) = capacity_refusal(&format!("{error:#}")) else {
                    return Err(error).context("sending settle");
                };
                step.done(status.clone());
                (Felt::ZERO, status, TxCost::default(), false)
            }
        };
        if !applied && self.program.is_signed() {
            // The keys that signed are spent but the slots did not rotate: register the next.
            signed::resync_keys(self).await?;
        }
        Ok(Settled {
            slots_in: settlement.inputs.len(),
            slots_out: settlement.outputs.len(),
            log_rows,
            proof_felts: settlement.proof.len(),
            calldata_felts,
            prove_seconds,
            verify_ms,
            steps,
            tx_hash,
            status,
            cost,
        })
    }

    /// The unsigned program: batch against on-chain balances, prove, verify off-chain.
    async fn prove_unsigned(
        &self,
        transfers: &[Transfer],
        sequence: u64,
        progress: &Progress,
        label: &str,
    ) -> Result<Proven> {
        let client = &self.client;
        let step = progress.step(format!(
            "{label}: batching {} transfers against on-chain balances",
            transfers.len()
        ));
        let accounts: BTreeSet<Felt> = transfers.iter().flat_map(|t| [t.from, t.to]).collect();
        let slots = accounts.into_iter().map(|account| Slot::balance(self.token.address, account));
        let current = zkthread_engine::batch::read_slots(client, slots).await?;
        let sub_block = Batcher::new([self.token.address])
            .batch_strict(transfers, |slot| current.get(slot).copied())
            .context("batching the transfers")?;
        let public_input = PublicInput {
            os_version: Felt::from(OS_VERSION),
            program_hash: self.program_hash,
            thread_id: Felt::from(self.thread_id),
            sequence: Felt::from(sequence),
            contract_set_commitment: self.contract_set_commitment,
            inputs: sub_block.inputs.clone(),
            outputs: sub_block.outputs.clone(),
        };
        step.done(format!(
            "{} slots in, {} out",
            sub_block.inputs.len(),
            sub_block.outputs.len()
        ));

        let step = progress.step(format!("{label}: proving {} transfers", transfers.len()));
        let (proof, prove_seconds) = {
            let (pi, sb) = (public_input.clone(), sub_block.clone());
            tokio::task::spawn_blocking(move || {
                let began = Instant::now();
                prove::<Channel>(&pi, &sb, &PARAMS)
                    .map(|proof| (proof, began.elapsed().as_secs_f64()))
            })
            .await
            .context("the prover task failed")?
            .context("proving the sub-block")?
        };
        step.done(format!("2^{} rows", proof.log_n_rows));

        let began = Instant::now();
        verify::<Channel>(&public_input, &proof, &PARAMS)
            .context("the proof does not verify off-chain")?;
        let verify_ms = began.elapsed().as_secs_f64() * 1e3;
        Ok(Proven {
            settlement: settlement_of(self.thread_id, sequence, &sub_block, proof_to_felts(&proof)),
            inputs: public_input.inputs,
            log_rows: proof.log_n_rows,
            prove_seconds,
            verify_ms,
        })
    }

    /// Bisection over `s` in `(0, STEP_BOUND]`: does the settlement's execute phase need more
    /// than `s` steps? Every probe is a simulation (nothing is mined), so one settlement serves
    /// them all. Stops when the bracket is `resolution` wide.
    async fn measure_steps(
        &self,
        settlement: &Settlement,
        l1_data_gas: u64,
        resolution: u64,
    ) -> Result<Steps> {
        let (mut low, mut high) = (0u64, STEP_BOUND);
        if self.needs_more_steps(settlement, high, l1_data_gas).await? {
            return Ok(Steps {
                low: STEP_BOUND,
                high: None,
            });
        }
        while high - low > resolution {
            let middle = low + (high - low) / 2;
            if self
                .needs_more_steps(settlement, middle, l1_data_gas)
                .await?
            {
                low = middle;
            } else {
                high = middle;
            }
        }
        Ok(Steps {
            low,
            high: Some(high),
        })
    }

    /// Simulates the settlement with an L2 bound of `steps` Cairo steps: whether the VM ran out
    /// of steps (it needs more) or not (it settled, or the fee check found the bound too small
    /// after execution finished: it needs at most `steps`).
    async fn needs_more_steps(
        &self,
        settlement: &Settlement,
        steps: u64,
        l1_data_gas: u64,
    ) -> Result<bool> {
        let bounds = self
            .client
            .bounds_at_current_prices(0, steps * L2_GAS_PER_STEP, l1_data_gas, 2)
            .await?;
        let reverted = self
            .client
            .simulate(vec![self.registry.settle_call(settlement)?], bounds)
            .await
            .with_context(|| format!("simulating a step probe with {steps} steps of L2 bound"))?;
        // The VM's "no remaining steps" error names steps; the fee check names the L2 gas.
        Ok(reverted.is_some_and(|reason| {
            let reason = reason.to_lowercase();
            reason.contains("steps") && !reason.contains("l2")
        }))
    }

    /// Sends each transfer as its own direct `transfer` transaction, signed by its sender, and
    /// returns what each cost.
    pub async fn send_direct(
        &self,
        transfers: &[Transfer],
        progress: &Progress,
        label: &str,
    ) -> Result<Vec<TxCost>> {
        let step = progress.step(format!(
            "{label}: sending {} direct transfer transactions",
            transfers.len()
        ));
        let bounds = self
            .client
            .bounds_at_current_prices(0, DIRECT_L2_GAS, DIRECT_L1_DATA_GAS, 2)
            .await?;
        let mut costs = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let sender = self
                .signer(transfer.from)
                .with_context(|| format!("no key for sender {}", hex(transfer.from)))?;
            let outcome = self
                .token
                .transfer(
                    sender,
                    transfer.to,
                    transfer.amount,
                    FeeMode::Manual(bounds),
                )
                .await
                .context("sending a direct transfer")?;
            costs.push(tx_cost(sender, &outcome).await?);
        }
        step.done(format!(
            "mean L2 gas {:.0}",
            costs.iter().map(|c| c.l2_gas as f64).sum::<f64>() / costs.len().max(1) as f64
        ));
        Ok(costs)
    }
}

/// The settlement of `sub_block` for `sequence` in the client's encoding.
pub fn settlement_of(
    thread_id: u64,
    sequence: u64,
    sub_block: &SubBlock,
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
        inputs: convert(&sub_block.inputs),
        outputs: convert(&sub_block.outputs),
        // The unsigned baseline proves no transaction list.
        transactions: Default::default(),
        proof,
    }
}

/// Gas and fee of a mined invoke, from its receipt.
pub async fn tx_cost(client: &ChainClient, outcome: &TxOutcome) -> Result<TxCost> {
    let receipt = client
        .provider()
        .get_transaction_receipt(outcome.hash)
        .await
        .context("reading the receipt")?;
    match receipt.receipt {
        TransactionReceipt::Invoke(invoke) => Ok(TxCost {
            l2_gas: invoke.execution_resources.l2_gas,
            l1_gas: invoke.execution_resources.l1_gas,
            l1_data_gas: invoke.execution_resources.l1_data_gas,
            fee_fri: outcome.actual_fee,
        }),
        _ => bail!("transaction {} is not an invoke", hex(outcome.hash)),
    }
}

/// `uptime`'s load averages, to put next to timings (the machine is shared).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}
