//! The batcher: sequences a thread's transfers into a sub-block.
//!
//! Policy (documented, enforced, tested):
//! - Order: submission order is kept. A transfer is checked against the balances left by the
//!   transfers accepted before it (first come, first served); nothing is reordered, so a user's
//!   transfers apply in the order the user sent them.
//! - Rejected, with a typed error and without affecting later transfers: zero amount, transfer
//!   to oneself, a token outside the thread's contract set, overspend (amount above the balance
//!   at that point), and an overflow of the receiver's u128 balance.
//! - Every touched slot's current value must be given (`SlotValues`); a missing one is an error
//!   of the caller, not of the transfer.

use std::collections::{BTreeMap, BTreeSet};

use starknet_types_core::felt::Felt;

use crate::model::{felt_to_u128, Slot, SlotValue, SubBlock, Transfer};

/// Why the batcher refused a transfer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferRejected {
    #[error("transfer #{index}: amount is zero")]
    ZeroAmount { index: usize },
    #[error("transfer #{index}: sender and receiver are the same account {account:#x}")]
    SelfTransfer { index: usize, account: Felt },
    #[error("transfer #{index}: token {token:#x} is not in the thread's contract set")]
    ForeignToken { index: usize, token: Felt },
    #[error(
        "transfer #{index}: overspend: account {account:#x} has balance {balance} of token {token:#x}, transfer needs {amount}"
    )]
    Overspend { index: usize, token: Felt, account: Felt, balance: u128, amount: u128 },
    #[error("transfer #{index}: receiver {account:#x} balance {balance} + {amount} overflows u128")]
    ReceiverOverflow { index: usize, account: Felt, balance: u128, amount: u128 },
}

/// Errors of the batcher's caller (bad state handed in).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("no current value given for slot (contract {:#x}, key {:#x})", .0.contract, .0.key)]
    MissingSlotValue(Slot),
    #[error("slot (contract {:#x}, key {:#x}) holds {value:#x}, not a u128 balance", .slot.contract, .slot.key)]
    NotABalance { slot: Slot, value: Felt },
    #[error("the sub-block has no accepted transfer")]
    Empty,
}

/// The sub-block plus the transfers the batcher refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub sub_block: SubBlock,
    pub rejected: Vec<TransferRejected>,
}

/// Sequences transfers of one token thread.
#[derive(Clone, Debug)]
pub struct Batcher {
    contract_set: BTreeSet<Felt>,
}

impl Batcher {
    pub fn new(contract_set: impl IntoIterator<Item = Felt>) -> Self {
        Batcher { contract_set: contract_set.into_iter().collect() }
    }

    /// Checks one transfer against `balances` and applies it when valid.
    fn apply(
        &self,
        index: usize,
        tx: &Transfer,
        balances: &mut BTreeMap<Slot, u128>,
        current: &impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<Result<(), TransferRejected>, BatchError> {
        if !self.contract_set.contains(&tx.token) {
            return Ok(Err(TransferRejected::ForeignToken { index, token: tx.token }));
        }
        if tx.amount == 0 {
            return Ok(Err(TransferRejected::ZeroAmount { index }));
        }
        if tx.from == tx.to {
            return Ok(Err(TransferRejected::SelfTransfer { index, account: tx.from }));
        }
        let (from_slot, to_slot) = (tx.from_slot(), tx.to_slot());
        let from_balance = lookup(balances, current, from_slot)?;
        let to_balance = lookup(balances, current, to_slot)?;
        if from_balance < tx.amount {
            return Ok(Err(TransferRejected::Overspend {
                index,
                token: tx.token,
                account: tx.from,
                balance: from_balance,
                amount: tx.amount,
            }));
        }
        let Some(to_after) = to_balance.checked_add(tx.amount) else {
            return Ok(Err(TransferRejected::ReceiverOverflow {
                index,
                account: tx.to,
                balance: to_balance,
                amount: tx.amount,
            }));
        };
        balances.insert(from_slot, from_balance - tx.amount);
        balances.insert(to_slot, to_after);
        Ok(Ok(()))
    }

    /// Builds the sub-block from `transfers` in submission order. `current` gives the current
    /// canonical value of a slot (`None` if unknown to the caller: an error).
    pub fn batch(
        &self,
        transfers: &[Transfer],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<Batch, BatchError> {
        let mut before: BTreeMap<Slot, u128> = BTreeMap::new();
        let mut after: BTreeMap<Slot, u128> = BTreeMap::new();
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for (index, tx) in transfers.iter().enumerate() {
            // `apply` mutates `after` only when the transfer is accepted.
            match self.apply(index, tx, &mut after, &current)? {
                Ok(()) => {
                    for slot in [tx.from_slot(), tx.to_slot()] {
                        if !before.contains_key(&slot) {
                            before.insert(slot, lookup(&BTreeMap::new(), &current, slot)?);
                        }
                    }
                    accepted.push(*tx);
                }
                Err(reason) => {
                    tracing::debug!(%reason, "batcher rejected a transfer");
                    rejected.push(reason);
                }
            }
        }
        if accepted.is_empty() {
            return Err(BatchError::Empty);
        }
        // Every slot a transfer touches is read and written: inputs and outputs have the same
        // slots. BTreeMap iteration gives the canonical ascending (contract, key) order.
        let inputs = before.iter().map(|(s, v)| SlotValue::new(*s, *v)).collect();
        let outputs = after.iter().map(|(s, v)| SlotValue::new(*s, *v)).collect();
        Ok(Batch { sub_block: SubBlock { transfers: accepted, inputs, outputs }, rejected })
    }

    /// Like [`Batcher::batch`] but refuses the whole batch at the first invalid transfer.
    pub fn batch_strict(
        &self,
        transfers: &[Transfer],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<SubBlock, StrictBatchError> {
        let batch = self.batch(transfers, current)?;
        match batch.rejected.into_iter().next() {
            Some(reason) => Err(StrictBatchError::Rejected(reason)),
            None => Ok(batch.sub_block),
        }
    }
}

/// Error of [`Batcher::batch_strict`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrictBatchError {
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Rejected(TransferRejected),
}

fn lookup(
    balances: &BTreeMap<Slot, u128>,
    current: &impl Fn(&Slot) -> Option<Felt>,
    slot: Slot,
) -> Result<u128, BatchError> {
    if let Some(v) = balances.get(&slot) {
        return Ok(*v);
    }
    let value = current(&slot).ok_or(BatchError::MissingSlotValue(slot))?;
    felt_to_u128(&value).ok_or(BatchError::NotABalance { slot, value })
}
