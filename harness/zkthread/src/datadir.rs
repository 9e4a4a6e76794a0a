//! The data directory (`--data-dir`, `ZKTHREAD_DATA_DIR`, default `./.zkthread`) and the
//! batcher state in it: which thread a command works on, and conversions between stored
//! sub-blocks and what the prover and the registry take.

use std::path::Path;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{ensure, Context, Result};
use clap::Args;
use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::Settlement;
use zkthread_client::Felt;
use zkthread_prover::signed::{SignedBatcher, SignedPublicInput, SignedSubBlock, SignedTransferTx};
use zkthread_prover::{Slot, SlotValue};
use zkthread_sig::wots::{KeyCommitment, Signature};
use zkthread_store::{NewTransfer, SlotEntry, Store, SubBlock, ThreadKey, TransferAuth};

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

/// The statement a stored sub-block is proven for (as the registry, with the chain id and its
/// own address, will rebuild it).
pub fn statement(sub_block: &SubBlock, registry: Felt) -> SignedPublicInput {
    let body = &sub_block.body;
    SignedPublicInput {
        os_version: body.os_version,
        program_hash: body.program_hash,
        chain_id: body.chain_id,
        registry,
        thread_id: Felt::from(sub_block.thread_id),
        sequence: Felt::from(body.sequence),
        contract_set_commitment: body.contract_set_commitment,
        inputs: to_prover_slots(&body.inputs),
        outputs: to_prover_slots(&body.outputs),
    }
}

/// A stored transfer with its signature, as the signed batcher takes it; `None` for a record
/// written before transfers were signed, or whose words are not canonical M31 values.
pub fn signed_tx(stored: &zkthread_store::Transfer) -> Option<SignedTransferTx> {
    let t = &stored.transfer;
    let auth = t.auth.as_ref()?;
    Some(SignedTransferTx {
        token: t.token,
        from: t.from,
        to: t.to,
        amount: t.amount,
        nonce: auth.nonce,
        key: KeyCommitment::from_u32(auth.key).ok()?,
        next_key: KeyCommitment::from_u32(auth.next_key).ok()?,
        signature: Signature::from_u32(&auth.signature).ok()?,
    })
}

/// The store's form of a signed transfer.
pub fn new_transfer(tx: &SignedTransferTx) -> NewTransfer {
    NewTransfer {
        token: tx.token,
        from: tx.from,
        to: tx.to,
        amount: tx.amount,
        auth: Some(TransferAuth {
            nonce: tx.nonce,
            key: tx.key.to_u32(),
            next_key: tx.next_key.to_u32(),
            signature: tx.signature.to_u32(),
        }),
    }
}

/// The prover's witness of a stored sub-block: its transfers batched again, against its own
/// input list, must give exactly its lists (the rows carry the signature traces, which are
/// recomputed rather than stored).
pub fn rebuild(sub_block: &SubBlock, registry: Felt) -> Result<SignedSubBlock> {
    let statement = statement(sub_block, registry);
    let txs = sub_block
        .body
        .transfers
        .iter()
        .map(|t| signed_tx(t).with_context(|| format!("transfer {} has no valid signature record", t.id)))
        .collect::<Result<Vec<_>>>()?;
    let inputs: BTreeMap<Slot, Felt> =
        statement.inputs.iter().map(|e| (e.slot, e.value)).collect();
    let contracts: BTreeSet<Felt> = txs.iter().map(|t| t.token).collect();
    let batch = SignedBatcher::new(statement.clone(), contracts)
        .batch(&txs, |slot| inputs.get(slot).copied())
        .context("the stored sub-block does not batch again (corrupt data directory?)")?;
    ensure!(
        batch.rejected.is_empty(),
        "the stored sub-block does not batch again: {}",
        batch.rejected.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    );
    ensure!(
        batch.sub_block.inputs == statement.inputs && batch.sub_block.outputs == statement.outputs,
        "the stored sub-block's slot lists differ from its transfers batched again"
    );
    Ok(batch.sub_block)
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
