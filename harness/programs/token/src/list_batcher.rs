//! Batching signed transfer lists for the list program (`crate::list_prover`; a single
//! transfer is a list of one): the same policy as [`SignedBatcher::batch`] (submission order,
//! each list checked against the state the accepted ones left, refusals with their reason), and
//! a list is all or nothing: its one signature covers every transfer in it, so one invalid
//! transfer refuses the list and leaves the state untouched.

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_sig::domain::{account_id, account_id_wide, AccountId};
use zkthread_sig::transfer_list::{ListedTransfer, TransferListMessage, LIST_AMOUNT_LIMIT};
use zkthread_sig::tx_list::{TxDigest, TxListCommitment};
use zkthread_sig::wots::{
    commitment, sign, verify_trace, KeyCommitment, KeySeed, MessageError, SignError, Signature,
};
use zkthread_sig::{balance_slot_key, signed_message_digest};
use zkthread_prover::model::{Slot, SlotValue};

use crate::batcher::{blank_signature, Ledger, SignedBatchError, SignedBatcher, SignedRejection};
use crate::list_prover::MAX_PERMUTATIONS_PER_PROOF;
use crate::statement::SignedPublicInput;
use crate::witness::{message_permutations, SignedListItem, SignedListRow};

/// A list of transfers its sender signed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransferListTx {
    pub token: Felt,
    pub from: Felt,
    /// `(to, amount)`, in the order they apply.
    pub transfers: Vec<(Felt, u128)>,
    /// The sender's key-slot nonce the list consumes.
    pub nonce: u32,
    pub key: KeyCommitment,
    pub next_key: KeyCommitment,
    pub signature: Signature,
}

impl SignedTransferListTx {
    /// `transfers` from `from` signed by the holder of `seed` with one-time key `index`,
    /// rotating the sender's slot to key `index + 1` (the primitive a wallet and tests build
    /// on: a wallet must never sign twice with one index).
    pub fn sign(
        token: Felt,
        from: Felt,
        transfers: Vec<(Felt, u128)>,
        nonce: u32,
        seed: &KeySeed,
        index: u32,
        statement: &SignedPublicInput,
    ) -> Result<Self, SignError> {
        let next_index = index.checked_add(1).ok_or(SignError::IndexOutOfRange(index))?;
        let mut tx = SignedTransferListTx {
            token,
            from,
            transfers,
            nonce,
            key: commitment(seed, index)?,
            next_key: commitment(seed, next_index)?,
            signature: blank_signature(),
        };
        tx.signature = sign(seed, index, &tx.message(statement))?;
        Ok(tx)
    }

    /// The message the sender signed, in `statement`'s thread.
    pub fn message(&self, statement: &SignedPublicInput) -> TransferListMessage {
        self.message_in(statement.domain(self.token))
    }

    /// The message the sender signed, under the transfer domain `domain` (its thread's and
    /// token's: `zkthread_sig::domain::transfer_domain`).
    pub fn message_in(&self, domain: zkthread_sig::wots::Hash4) -> TransferListMessage {
        TransferListMessage {
            domain,
            from: account_id(self.from),
            transfers: self
                .transfers
                .iter()
                .map(|(to, amount)| ListedTransfer { to: account_id_wide(*to), amount: *amount })
                .collect(),
            nonce: self.nonce,
            next_key: self.next_key,
        }
    }

    /// Poseidon2 permutations the list adds to a proof (what the batcher budgets): its
    /// signature's verification, transaction-list entry and sponge.
    pub fn permutations(&self) -> usize {
        message_permutations(Some(self.transfers.len()))
    }

    /// This list's entry in a transaction list: its message digest under the key it names.
    pub fn digest(&self, statement: &SignedPublicInput) -> Result<TxDigest, MessageError> {
        signed_message_digest(&self.key, &self.message(statement), &self.signature)
    }
}

/// A sub-block of the list program: its lists, slot lists, slot owners and AIR rows.
#[derive(Clone, Debug)]
pub struct SignedListSubBlock {
    pub txs: Vec<SignedTransferListTx>,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    pub owners: Vec<Felt>,
    pub entries: Vec<SignedListRow>,
    pub transactions: TxListCommitment,
}

impl SignedListSubBlock {
    /// The public input of this sub-block in `thread`'s thread.
    pub fn statement(&self, thread: &SignedPublicInput) -> SignedPublicInput {
        thread.with_lists(self.transactions, &self.inputs, &self.outputs)
    }

    /// Transfers the sub-block applies (every list's).
    pub fn transfer_count(&self) -> usize {
        self.txs.iter().map(|t| t.transfers.len()).sum()
    }
}

/// The batch, the messages refused, and those left for the next sub-block.
#[derive(Clone, Debug)]
pub struct SignedListBatch {
    pub sub_block: SignedListSubBlock,
    pub rejected: Vec<SignedRejection>,
    /// From the first valid message that would take the proof past its permutation budget
    /// on, in submission order (the ones after it unchecked).
    pub deferred: Vec<SignedTransferListTx>,
}

impl SignedBatcher {
    /// Builds a sub-block of the list program from `txs` in submission order; `current` gives
    /// a slot's current on-chain value. Stops before the first valid message that would take
    /// the proof past [`MAX_PERMUTATIONS_PER_PROOF`] and defers it and the rest (an invalid
    /// one is refused as anywhere else, so junk cannot cut a sub-block short). A list's
    /// reasons come cheapest first: its items' amounts and receivers, then the sender's key
    /// and nonce, the total against the balance, the signature, each receiver's overflow.
    pub fn batch_lists(
        &self,
        txs: &[SignedTransferListTx],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<SignedListBatch, SignedBatchError> {
        let mut ledger = Ledger { slots: Default::default(), current: &current };
        let (mut accepted, mut entries, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        let (mut deferred, mut permutations) = (Vec::new(), 0usize);
        for (index, tx) in txs.iter().enumerate() {
            // A message is checked whatever the budget (an invalid one is refused, never
            // deferred); a valid one that does not fit is undone and deferred with the rest.
            let over = permutations + tx.permutations() > MAX_PERMUTATIONS_PER_PROOF;
            let snapshot = over.then(|| ledger.slots.clone());
            let checked = self.check_list(index, tx, &mut ledger)?;
            match (checked, snapshot) {
                (Ok(_), Some(before)) => {
                    ledger.slots = before;
                    deferred = txs[index..].to_vec();
                    break;
                }
                (Ok(entry), None) => {
                    permutations += entry.permutations();
                    accepted.push(tx.clone());
                    entries.push(entry);
                }
                (Err(reason), _) => {
                    tracing::debug!(%reason, "signed batcher rejected a message");
                    rejected.push(reason);
                }
            }
        }
        if accepted.is_empty() {
            return Err(SignedBatchError::Empty { rejected });
        }
        let (inputs, outputs, owners) = ledger.into_lists();
        let sub_block = SignedListSubBlock {
            txs: accepted,
            inputs,
            outputs,
            owners,
            transactions: TxListCommitment::of(entries.iter().map(SignedListRow::digest)),
            entries,
        };
        Ok(SignedListBatch { sub_block, rejected, deferred })
    }

    /// Checks one signed list against the ledger and applies it when every transfer in it is
    /// valid (otherwise the ledger is left as it was). What needs no hashing comes first (each
    /// transfer's amount and receiver, the list's total against the sender's balance), so a
    /// refused list that is sent again costs its checks, not its signature's verification.
    fn check_list(
        &self,
        index: usize,
        tx: &SignedTransferListTx,
        ledger: &mut Ledger<'_>,
    ) -> Result<Result<SignedListRow, SignedRejection>, SignedBatchError> {
        if !self.contract_set.contains(&tx.token) {
            return Ok(Err(SignedRejection::ForeignToken { index, token: tx.token }));
        }
        if tx.transfers.is_empty() {
            return Ok(Err(SignedRejection::EmptyList { index }));
        }
        let max = crate::list_prover::MAX_LIST_TRANSFERS;
        if tx.transfers.len() > max {
            return Ok(Err(SignedRejection::ListTooLong { index, transfers: tx.transfers.len(), max }));
        }
        for (item, (to, amount)) in tx.transfers.iter().enumerate() {
            let reason = if *amount == 0 {
                SignedRejection::ZeroAmount { index }
            } else if *amount >= LIST_AMOUNT_LIMIT {
                SignedRejection::ListAmountTooLarge { index, amount: *amount }
            } else if *to == tx.from {
                SignedRejection::SelfTransfer { index }
            } else {
                continue;
            };
            return Ok(Err(SignedRejection::ListItem { index, item, reason: Box::new(reason) }));
        }
        let (key, nonce) = match Self::check_key(index, tx.token, tx.from, tx.nonce, &tx.key, ledger)? {
            Ok(current) => current,
            Err(reason) => return Ok(Err(reason)),
        };
        // The sender pays out the total (receivers are others), so a list over the balance
        // overspends at some item whatever the order.
        let balance = ledger.balance(tx.token, tx.from)?;
        let total = tx.transfers.iter().try_fold(0u128, |sum, (_, amount)| sum.checked_add(*amount));
        if total.is_none_or(|total| total > balance) {
            return Ok(Err(SignedRejection::ListOverspend { index, balance }));
        }
        let message = tx.message(&self.statement);
        let trace = match verify_trace(&key, &message, &tx.signature) {
            Ok(trace) => trace,
            Err(reason) => return Ok(Err(SignedRejection::BadSignature { index, reason })),
        };
        let before = ledger.slots.clone();
        let mut items = Vec::with_capacity(tx.transfers.len());
        // Slot keys and ids (a hash each) once per account, not per transfer: a long list pays a
        // few receivers many times.
        let balance_slot = |owner: Felt| Slot { contract: tx.token, key: balance_slot_key(owner) };
        let from = (tx.from, balance_slot(tx.from));
        let mut receivers: BTreeMap<Felt, (Slot, AccountId)> = BTreeMap::new();
        for (item, (to, amount)) in tx.transfers.iter().enumerate() {
            // Amounts and receivers were checked up front; the balances are the ledger's.
            let (to_slot, to_id) = *receivers.entry(*to).or_insert_with(|| (balance_slot(*to), account_id_wide(*to)));
            match ledger.pay(index, from, (*to, to_slot), *amount)? {
                Ok((from_old, to_old)) => items.push(SignedListItem { to: to_id, from_old, to_old, amount: *amount }),
                Err(reason) => {
                    ledger.slots = before;
                    return Ok(Err(SignedRejection::ListItem { index, item, reason: Box::new(reason) }));
                }
            }
        }
        ledger.rotate_key(tx.token, tx.from, &tx.next_key, nonce)?;
        Ok(Ok(SignedListRow {
            domain: self.statement.domain(tx.token),
            from: account_id_wide(tx.from),
            nonce,
            key,
            next_key: tx.next_key,
            items,
            signature: tx.signature.clone(),
            trace,
        }))
    }

}
