//! The data directory (`--data-dir`, `ZKTHREAD_DATA_DIR`, default `./.zkthread`) and the
//! batcher state in it: which thread a command works on, and conversions between stored
//! sub-blocks and what the prover and the registry take.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::Settlement;
use zkthread_client::Felt;
use zkthread_prover::{PublicInput, Slot, SlotValue, SubBlock as ProverSubBlock, Transfer};
use zkthread_store::{SlotEntry, Store, SubBlock, ThreadKey};

use crate::chain::felt_arg;

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = ".zkthread";

/// The thread a batcher command works on.
#[derive(Args, Debug, Clone)]
pub struct ThreadArgs {
    /// Address of the ThreadRegistry (printed by `zkthread deploy`).
    #[arg(long, env = "ZKTHREAD_REGISTRY", value_parser = felt_arg)]
    pub registry: Felt,
    /// Thread id (printed by `zkthread thread create`).
    #[arg(long = "thread")]
    pub thread_id: u64,
}

impl ThreadArgs {
    pub fn key(&self) -> ThreadKey {
        ThreadKey::new(self.registry, self.thread_id)
    }
}

/// Opens (creating) the batcher database in `data_dir`.
pub fn open_store(data_dir: &Path) -> Result<Store> {
    Store::open(data_dir)
        .with_context(|| format!("opening the data directory {}", data_dir.display()))
}

pub fn to_prover_slots(entries: &[SlotEntry]) -> Vec<SlotValue> {
    entries
        .iter()
        .map(|e| SlotValue {
            slot: Slot {
                contract: e.contract,
                key: e.key,
            },
            value: e.value,
        })
        .collect()
}

pub fn to_entries(values: &[SlotValue]) -> Vec<SlotEntry> {
    values
        .iter()
        .map(|v| SlotEntry {
            contract: v.slot.contract,
            key: v.slot.key,
            value: v.value,
        })
        .collect()
}

/// The statement a stored sub-block is proven for (as the registry will rebuild it).
pub fn public_input(sub_block: &SubBlock) -> PublicInput {
    let body = &sub_block.body;
    PublicInput {
        os_version: body.os_version,
        program_hash: body.program_hash,
        thread_id: Felt::from(sub_block.thread_id),
        sequence: Felt::from(body.sequence),
        contract_set_commitment: body.contract_set_commitment,
        inputs: to_prover_slots(&body.inputs),
        outputs: to_prover_slots(&body.outputs),
    }
}

/// A stored transfer as the prover's batcher and AIR take it.
pub fn prover_transfer(stored: &zkthread_store::Transfer) -> Transfer {
    let t = &stored.transfer;
    Transfer {
        token: t.token,
        from: t.from,
        to: t.to,
        amount: t.amount,
    }
}

/// The prover's witness: transfers in order and the slot lists.
pub fn prover_sub_block(sub_block: &SubBlock) -> ProverSubBlock {
    let body = &sub_block.body;
    ProverSubBlock {
        transfers: body.transfers.iter().map(prover_transfer).collect(),
        inputs: to_prover_slots(&body.inputs),
        outputs: to_prover_slots(&body.outputs),
    }
}

/// The `settle` arguments of a proven sub-block.
pub fn settlement(sub_block: &SubBlock) -> Settlement {
    let convert = |list: &[SlotEntry]| {
        list.iter()
            .map(|e| ChainSlotValue::new(e.contract, e.key, e.value))
            .collect()
    };
    Settlement {
        thread_id: sub_block.thread_id,
        sequence: sub_block.body.sequence,
        inputs: convert(&sub_block.body.inputs),
        outputs: convert(&sub_block.body.outputs),
        proof: sub_block.proof.clone().unwrap_or_default(),
    }
}
