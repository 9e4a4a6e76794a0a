//! Batching signed transfer lists beside single signed transfers, for the list program
//! (`crate::list_prover`): the same policy as [`SignedBatcher::batch`] (submission order, each
//! message checked against the state the accepted ones left, refusals with their reason), and
//! a list is all or nothing: its one signature covers every transfer in it, so one invalid
//! transfer refuses the list and leaves the state untouched.

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_sig::domain::{account_id, pack_key_slot};
use zkthread_sig::transfer_list::{ListedTransfer, TransferListMessage};
use zkthread_sig::tx_list::{TxDigest, TxListCommitment};
use zkthread_sig::wots::{
    commitment, sign, verify_trace, KeyCommitment, KeySeed, MessageError, SignError, Signature, HASH_LEN, RHO_LEN, V,
};
use zkthread_sig::M31;
use zkthread_sig::{balance_slot_key, signed_message_digest, thread_key_slot_key};
use zkthread_prover::model::{Slot, SlotValue};

use crate::batcher::{Ledger, SignedBatchError, SignedBatcher, SignedRejection, SignedTransferTx};
use crate::list_prover::MAX_PERMUTATIONS_PER_PROOF;
use crate::statement::SignedPublicInput;
use crate::witness::{SignedEntry, SignedListItem, SignedListRow};

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
            signature: Signature {
                rho: [M31::ZERO; RHO_LEN],
                pp: [M31::ZERO; HASH_LEN],
                chains: [[M31::ZERO; HASH_LEN]; V],
            },
        };
        tx.signature = sign(seed, index, &tx.message(statement))?;
        Ok(tx)
    }

    /// The message the sender signed, in `statement`'s thread.
    pub fn message(&self, statement: &SignedPublicInput) -> TransferListMessage {
        TransferListMessage {
            domain: statement.domain(self.token),
            from: account_id(self.from),
            transfers: self
                .transfers
                .iter()
                .map(|(to, amount)| ListedTransfer { to: account_id(*to), amount: *amount })
                .collect(),
            nonce: self.nonce,
            next_key: self.next_key,
        }
    }

    /// This list's entry in a transaction list: its message digest under the key it names.
    pub fn digest(&self, statement: &SignedPublicInput) -> Result<TxDigest, MessageError> {
        signed_message_digest(&self.key, &self.message(statement), &self.signature)
    }
}

/// One transfer of a list with its accounts' slots and the receiver's id, computed once.
struct Payment {
    from: Felt,
    from_slot: Slot,
    to: Felt,
    to_slot: Slot,
    to_id: zkthread_sig::wots::Hash4,
    amount: u128,
}

/// A message of a sub-block of the list program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedTokenTx {
    Transfer(SignedTransferTx),
    List(SignedTransferListTx),
}

impl SignedTokenTx {
    /// Poseidon2 permutations the message adds to a proof (what the batcher budgets before
    /// checking it): its signature's verification and transaction-list entry, and a list's
    /// sponge.
    pub fn permutations(&self) -> usize {
        let signature = zkthread_sig::wots::VERIFY_PERMUTATIONS + 1;
        match self {
            SignedTokenTx::Transfer(_) => signature,
            SignedTokenTx::List(l) => signature + zkthread_sig::transfer_list::list_blocks(l.transfers.len()),
        }
    }
}

/// A sub-block of the list program: its messages, lists, slot owners and AIR entries.
#[derive(Clone, Debug)]
pub struct SignedListSubBlock {
    pub txs: Vec<SignedTokenTx>,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    pub owners: Vec<Felt>,
    pub entries: Vec<SignedEntry>,
    pub transactions: TxListCommitment,
}

impl SignedListSubBlock {
    /// The public input of this sub-block in `thread`'s thread.
    pub fn statement(&self, thread: &SignedPublicInput) -> SignedPublicInput {
        SignedPublicInput {
            transactions: self.transactions,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            ..thread.clone()
        }
    }

    /// Transfers the sub-block applies (single ones and every list's).
    pub fn transfer_count(&self) -> usize {
        self.txs
            .iter()
            .map(|t| match t {
                SignedTokenTx::Transfer(_) => 1,
                SignedTokenTx::List(l) => l.transfers.len(),
            })
            .sum()
    }
}

/// The batch, the messages refused, and those left for the next sub-block.
#[derive(Clone, Debug)]
pub struct SignedListBatch {
    pub sub_block: SignedListSubBlock,
    pub rejected: Vec<SignedRejection>,
    /// From the first valid message that would take the proof past its permutation budget
    /// on, in submission order (the ones after it unchecked).
    pub deferred: Vec<SignedTokenTx>,
}

impl SignedBatcher {
    /// Builds a sub-block of the list program from `txs` in submission order; `current` gives
    /// a slot's current on-chain value. Stops before the first valid message that would take
    /// the proof past [`MAX_PERMUTATIONS_PER_PROOF`] and defers it and the rest (an invalid
    /// one is refused as anywhere else, so junk cannot cut a sub-block short). A list's
    /// reasons come cheapest first: its items' amounts and receivers, then the sender's key
    /// and nonce, the total against the balance, the signature, each receiver's overflow.
    pub fn batch_with_lists(
        &self,
        txs: &[SignedTokenTx],
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
            let checked = match tx {
                SignedTokenTx::Transfer(t) => self.check(index, t, &mut ledger)?.map(SignedEntry::Transfer),
                SignedTokenTx::List(l) => self.check_list(index, l, &mut ledger)?.map(SignedEntry::List),
            };
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
        let touched: Vec<_> = ledger.slots.into_iter().collect();
        let sub_block = SignedListSubBlock {
            txs: accepted,
            inputs: touched.iter().map(|(s, (_, before, _))| SlotValue { slot: *s, value: *before }).collect(),
            outputs: touched.iter().map(|(s, (_, _, now))| SlotValue { slot: *s, value: *now }).collect(),
            owners: touched.iter().map(|(_, (owner, _, _))| *owner).collect(),
            transactions: TxListCommitment::of(entries.iter().map(SignedEntry::digest)),
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
        // ceil(12 n / 8) list permutations beside the signature's and its digest's.
        let max = (MAX_PERMUTATIONS_PER_PROOF - zkthread_sig::wots::VERIFY_PERMUTATIONS - 1) * 2 / 3;
        if tx.transfers.len() > max {
            return Ok(Err(SignedRejection::ListTooLong { index, transfers: tx.transfers.len(), max }));
        }
        for (item, (to, amount)) in tx.transfers.iter().enumerate() {
            let reason = if *amount == 0 {
                SignedRejection::ZeroAmount { index }
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
        // Slot keys (a Pedersen hash each) once per account, not per transfer: a long list
        // pays a few receivers many times.
        let balance_slot = |owner: Felt| Slot { contract: tx.token, key: balance_slot_key(owner) };
        let from_slot = balance_slot(tx.from);
        let mut receiver_slots: BTreeMap<Felt, Slot> = BTreeMap::new();
        for (item, ((to, amount), listed)) in tx.transfers.iter().zip(&message.transfers).enumerate() {
            let to_slot = *receiver_slots.entry(*to).or_insert_with(|| balance_slot(*to));
            let payment = Payment { from: tx.from, from_slot, to: *to, to_slot, to_id: listed.to, amount: *amount };
            match Self::apply_item(index, &payment, ledger)? {
                Ok(applied) => items.push(applied),
                Err(reason) => {
                    ledger.slots = before;
                    return Ok(Err(SignedRejection::ListItem { index, item, reason: Box::new(reason) }));
                }
            }
        }
        let key_slot = Slot { contract: tx.token, key: thread_key_slot_key(tx.from) };
        let next_slot = pack_key_slot(&tx.next_key, nonce + 1)
            .map_err(|_| SignedBatchError::BadSlotValue { slot: key_slot, value: Felt::from(nonce) })?;
        ledger.write(key_slot, tx.from, next_slot)?;
        Ok(Ok(SignedListRow {
            domain: self.statement.domain(tx.token),
            from: account_id(tx.from),
            nonce,
            key,
            next_key: tx.next_key,
            items,
            signature: tx.signature.clone(),
            trace,
        }))
    }

    /// One transfer of a list: the single transfer's balance rules, applied to the ledger.
    fn apply_item(
        index: usize,
        p: &Payment,
        ledger: &mut Ledger<'_>,
    ) -> Result<Result<SignedListItem, SignedRejection>, SignedBatchError> {
        let amount = p.amount;
        if amount == 0 {
            return Ok(Err(SignedRejection::ZeroAmount { index }));
        }
        if p.from == p.to {
            return Ok(Err(SignedRejection::SelfTransfer { index }));
        }
        let from_old = ledger.balance_at(p.from_slot)?;
        let to_old = ledger.balance_at(p.to_slot)?;
        if from_old < amount {
            return Ok(Err(SignedRejection::Overspend { index, balance: from_old, amount }));
        }
        let Some(to_new) = to_old.checked_add(amount) else {
            return Ok(Err(SignedRejection::ReceiverOverflow { index, balance: to_old, amount }));
        };
        ledger.write(p.from_slot, p.from, Felt::from(from_old - amount))?;
        ledger.write(p.to_slot, p.to, Felt::from(to_new))?;
        Ok(Ok(SignedListItem { to: p.to_id, from_old, to_old, amount }))
    }
}
