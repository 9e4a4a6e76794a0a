//! Conversions between the batcher's stored records (`zkthread_store`) and what the prover and
//! the registry take: a stored sub-block's statement, its witness rebuilt from its transfers,
//! its settle arguments.

use std::collections::{BTreeMap, BTreeSet};

use zkthread_client::calldata::SlotValue as ChainSlotValue;
use zkthread_client::registry::{Settlement, TransactionList};
use zkthread_client::Felt;
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::{SignedBatcher, SignedPublicInput, SignedTransferTx};
use zkthread_prover::{Slot, SlotValue};
use zkthread_sig::wots::{KeyCommitment, Signature};
use zkthread_sig::TxListCommitment;
use zkthread_store::{
    ListedTransfer, Message, MessageBody, NewTransfer, NewTransferList, SlotEntry, SubBlock, Transfer, TransferAuth,
    TxListRecord,
};

use crate::error::{EngineError, Result};
use crate::token::{Batched, TokenMessage};

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

/// The store's form of a transaction-list commitment.
pub fn tx_list_record(list: &TxListCommitment) -> TxListRecord {
    TxListRecord { count: list.count, commitment: list.cap_felt() }
}

/// The statement a stored sub-block is proven for (as the registry, with the chain id and its
/// own address, will rebuild it).
pub fn statement<M: MessageBody>(sub_block: &SubBlock<M>, registry: Felt) -> Result<SignedPublicInput> {
    let body = &sub_block.body;
    let transactions = TxListCommitment::from_felts(
        Felt::from(body.transactions.count),
        body.transactions.commitment,
    )
    .map_err(|error| EngineError::Corrupt(format!("the stored sub-block's transaction list: {error}")))?;
    Ok(SignedPublicInput {
        os_version: body.os_version,
        program_hash: body.program_hash,
        chain_id: body.chain_id,
        registry,
        thread_id: Felt::from(sub_block.thread_id),
        sequence: Felt::from(body.sequence),
        contract_set_commitment: body.contract_set_commitment,
        transactions,
        inputs: to_prover_slots(&body.inputs),
        outputs: to_prover_slots(&body.outputs),
    })
}

/// A stored transfer with its signature, as the signed batcher takes it; `None` for a record
/// written before transfers were signed, or whose words are not canonical M31 values.
pub fn signed_tx(stored: &Transfer) -> Option<SignedTransferTx> {
    let t = &stored.body;
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

/// A stored list with its signature, as the list batcher takes it; `None` if a stored word is
/// not a canonical M31 value (the record was not written by [`new_transfer_list`]).
pub fn signed_list(stored: &Message<NewTransferList>) -> Option<SignedTransferListTx> {
    let l = &stored.body;
    Some(SignedTransferListTx {
        token: l.token,
        from: l.from,
        transfers: l.transfers.iter().map(|t| (t.to, t.amount)).collect(),
        nonce: l.auth.nonce,
        key: KeyCommitment::from_u32(l.auth.key).ok()?,
        next_key: KeyCommitment::from_u32(l.auth.next_key).ok()?,
        signature: Signature::from_u32(&l.auth.signature).ok()?,
    })
}

/// The store's form of a signed list.
pub fn new_transfer_list(tx: &SignedTransferListTx) -> NewTransferList {
    NewTransferList {
        token: tx.token,
        from: tx.from,
        transfers: tx.transfers.iter().map(|(to, amount)| ListedTransfer { to: *to, amount: *amount }).collect(),
        auth: TransferAuth {
            nonce: tx.nonce,
            key: tx.key.to_u32(),
            next_key: tx.next_key.to_u32(),
            signature: tx.signature.to_u32(),
        },
    }
}

/// The prover's witness of a stored sub-block: its messages batched again, against its own
/// input list, must give exactly its lists (the rows carry the signature traces, which are
/// recomputed rather than stored).
pub fn rebuild<M: TokenMessage>(sub_block: &SubBlock<M>, registry: Felt) -> Result<Batched<M::Witness>> {
    let corrupt = |what: String| EngineError::Corrupt(format!("the stored sub-block {what}"));
    let statement = statement(sub_block, registry)?;
    let txs = sub_block
        .body
        .messages
        .iter()
        .map(|m| {
            M::signed(m).ok_or_else(|| corrupt(format!("has message {} without a valid signature record", m.id)))
        })
        .collect::<Result<Vec<_>>>()?;
    // Batch refuses a thread of another program; a record saying otherwise is not the engine's.
    if statement.program_hash != M::TOKEN_PROGRAM.program_hash() {
        return Err(corrupt(format!(
            "names program {:#x}, not the {} program its messages are for",
            statement.program_hash,
            M::TOKEN_PROGRAM
        )));
    }
    let inputs: BTreeMap<Slot, Felt> = statement.inputs.iter().map(|e| (e.slot, e.value)).collect();
    let contracts: BTreeSet<Felt> = txs.iter().map(M::token).collect();
    let batch = M::batch(&SignedBatcher::new(statement.clone(), contracts), &txs, |slot| inputs.get(slot).copied())
        .map_err(|error| corrupt(format!("does not batch again: {error}")))?;
    if !batch.rejected.is_empty() {
        let reasons: Vec<String> = batch.rejected.iter().map(ToString::to_string).collect();
        return Err(corrupt(format!("does not batch again: {}", reasons.join("; "))));
    }
    if batch.taken != txs.len() {
        return Err(corrupt(format!("does not fit one proof ({} of its {} messages do)", batch.taken, txs.len())));
    }
    if batch.inputs != statement.inputs || batch.outputs != statement.outputs {
        return Err(corrupt("has slot lists that differ from its transfers batched again".into()));
    }
    if batch.transactions != statement.transactions {
        return Err(corrupt("has a transaction-list commitment that differs from its transfers'".into()));
    }
    Ok(batch)
}

/// The `settle` arguments of a stored sub-block (its proof empty until it is proven).
pub fn settlement<M: MessageBody>(sub_block: &SubBlock<M>) -> Settlement {
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
        transactions: TransactionList {
            count: sub_block.body.transactions.count,
            commitment: sub_block.body.transactions.commitment,
        },
        proof: sub_block.proof.clone().unwrap_or_default(),
    }
}

/// The `settle` arguments of a signed sub-block's statement, in the client's encoding: its
/// lists, its transaction list and `proof`.
pub fn signed_settlement(thread_id: u64, statement: &SignedPublicInput, proof: Vec<Felt>) -> Result<Settlement> {
    let convert = |list: &[SlotValue]| {
        list.iter()
            .map(|e| ChainSlotValue::new(e.slot.contract, e.slot.key, e.value))
            .collect()
    };
    let sequence = u64::try_from(statement.sequence)
        .map_err(|_| EngineError::Corrupt(format!("sequence {:#x} is not a u64", statement.sequence)))?;
    Ok(Settlement {
        thread_id,
        sequence,
        inputs: convert(&statement.inputs),
        outputs: convert(&statement.outputs),
        transactions: TransactionList {
            count: statement.transactions.count,
            commitment: statement.transactions.cap_felt(),
        },
        proof,
    })
}
