//! The signed batcher: sequences signed transfers into a sub-block, checking each signature
//! and its replay state (the sender's key slot) before it is batched.
//!
//! Policy: submission order; a transfer is checked against the state the accepted transfers
//! before it left (balances and key slots), so a sender's transfers chain through their
//! nonces. Rejected, each with its reason and without affecting later transfers: a token
//! outside the contract set, zero amount, self transfer, a sender without a key, a nonce or
//! key that is not the sender's current one (replay, reorder, stale), a nonce that cannot move
//! again (its next slot would be refused by the statement), a bad signature, overspend,
//! receiver overflow.
//!
//! One proof holds at most [`MAX_TRANSFERS_PER_PROOF`] transfers (the Poseidon2 component's
//! rows): once that many are accepted, the next transfer and every one after it is returned
//! untouched as [`SignedBatch::deferred`], in submission order, for the next sub-block, so a
//! batch is always one the prover can prove.

use std::collections::{BTreeMap, BTreeSet};

use starknet_types_core::felt::Felt;
use zkthread_sig::domain::{account_id, account_id_wide, pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{
    commitment, sign, verify_trace, Hash4, KeyCommitment, KeySeed, SignError, Signature, SignatureError,
    TransferMessage, HASH_LEN, RHO_LEN, V,
};
use zkthread_sig::tx_list::{transfer_digest, TxDigest, TxListCommitment};
use zkthread_sig::wots::MessageError;
use zkthread_sig::M31;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};

use crate::prover::MAX_TRANSFERS_PER_PROOF;
use crate::statement::SignedPublicInput;
use crate::witness::SignedRow;
use zkthread_prover::model::{felt_to_u128, Slot, SlotValue, Transfer};

/// A transfer as its sender signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransferTx {
    pub token: Felt,
    pub from: Felt,
    pub to: Felt,
    pub amount: u128,
    /// The sender's key-slot nonce this transfer consumes.
    pub nonce: u32,
    /// The key the signature is under (the sender's current key at `nonce`).
    pub key: KeyCommitment,
    /// The key the sender's slot rotates to.
    pub next_key: KeyCommitment,
    pub signature: Signature,
}

impl SignedTransferTx {
    /// `transfer` signed by the holder of `seed` with its one-time key `index`, consuming the
    /// sender's key-slot `nonce` and rotating the slot to key `index + 1`, for `statement`'s
    /// thread (chain, registry, thread id). A wallet must never sign twice with one index
    /// (`zkthread_sig::Wallet` enforces it; this is the primitive it and tests build on).
    pub fn sign(
        transfer: Transfer,
        nonce: u32,
        seed: &KeySeed,
        index: u32,
        statement: &SignedPublicInput,
    ) -> Result<Self, SignError> {
        let next_index = index.checked_add(1).ok_or(SignError::IndexOutOfRange(index))?;
        let mut tx = SignedTransferTx {
            token: transfer.token,
            from: transfer.from,
            to: transfer.to,
            amount: transfer.amount,
            nonce,
            key: commitment(seed, index)?,
            next_key: commitment(seed, next_index)?,
            signature: blank_signature(),
        };
        tx.signature = sign(seed, index, &tx.message(statement))?;
        Ok(tx)
    }

    /// This transfer's entry in a transaction list (`zkthread_sig::tx_list`): its message
    /// digest in `statement`'s thread under the key it names. A client recomputes a
    /// sub-block's commitment from the batcher's published transfers with
    /// `TxListCommitment::of` over these.
    pub fn digest(&self, statement: &SignedPublicInput) -> Result<TxDigest, MessageError> {
        transfer_digest(&self.key, &self.message(statement), &self.signature)
    }

    /// The message the sender signed, in `statement`'s thread.
    pub fn message(&self, statement: &SignedPublicInput) -> TransferMessage {
        self.message_in(statement.domain(self.token))
    }

    /// The message the sender signed, under the token's transfer `domain` in its thread
    /// (`zkthread_sig::domain::transfer_domain`): for a checker that has the thread's ids but
    /// no statement.
    pub fn message_in(&self, domain: Hash4) -> TransferMessage {
        TransferMessage {
            domain,
            from: account_id(self.from),
            to: account_id_wide(self.to),
            amount: self.amount,
            nonce: self.nonce,
            next_key: self.next_key,
        }
    }
}

/// The all-zero signature a message holds until it is signed.
pub(crate) fn blank_signature() -> Signature {
    Signature { rho: [M31::ZERO; RHO_LEN], pp: [M31::ZERO; HASH_LEN], chains: [[M31::ZERO; HASH_LEN]; V] }
}

/// Why the batcher refused a signed transfer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedRejection {
    #[error("transfer #{index}: token {token:#x} is not in the thread's contract set")]
    ForeignToken { index: usize, token: Felt },
    #[error("transfer #{index}: amount is zero")]
    ZeroAmount { index: usize },
    #[error("transfer #{index}: sender and receiver are the same account")]
    SelfTransfer { index: usize },
    #[error("transfer #{index}: sender {account:#x} has no thread key registered")]
    NoKey { index: usize, account: Felt },
    #[error("transfer #{index}: nonce {given} is not the sender's current nonce {current} (replayed, reordered or stale)")]
    WrongNonce { index: usize, given: u32, current: u32 },
    #[error("transfer #{index}: signed under a key that is not the sender's current key")]
    WrongKey { index: usize },
    #[error("transfer #{index}: the sender's nonce {nonce} cannot move again (a key slot's nonce stays below 2^31 - 2)")]
    NonceExhausted { index: usize, nonce: u32 },
    #[error("transfer #{index}: bad signature: {reason}")]
    BadSignature { index: usize, reason: SignatureError },
    #[error("transfer #{index}: overspend: balance {balance}, transfer needs {amount}")]
    Overspend { index: usize, balance: u128, amount: u128 },
    #[error("transfer #{index}: receiver balance {balance} + {amount} overflows u128")]
    ReceiverOverflow { index: usize, balance: u128, amount: u128 },
    #[error("transfer #{index}: the signed list has no transfer")]
    EmptyList { index: usize },
    #[error("transfer #{index}: the list pays out more than the sender's balance {balance}")]
    ListOverspend { index: usize, balance: u128 },
    #[error("transfer #{index}: a list of {transfers} transfers does not fit one proof (at most {max})")]
    ListTooLong { index: usize, transfers: usize, max: usize },
    /// A listed amount takes four 30-bit elements of the list's stream.
    #[error("transfer #{index}: amount {amount} is 2^120 or more, which a list cannot carry (send it as a single transfer)")]
    ListAmountTooLarge { index: usize, amount: u128 },
    /// One transfer of a signed list is invalid: the whole list is refused (one signature
    /// covers it all).
    #[error("transfer #{index}: list item {item}: {}", .reason.reason())]
    ListItem { index: usize, item: usize, reason: Box<SignedRejection> },
}

impl SignedRejection {
    /// Position of the refused transfer in the batch's input.
    pub fn index(&self) -> usize {
        match self {
            Self::ForeignToken { index, .. }
            | Self::ZeroAmount { index }
            | Self::SelfTransfer { index }
            | Self::NoKey { index, .. }
            | Self::WrongNonce { index, .. }
            | Self::WrongKey { index }
            | Self::NonceExhausted { index, .. }
            | Self::BadSignature { index, .. }
            | Self::Overspend { index, .. }
            | Self::ReceiverOverflow { index, .. }
            | Self::EmptyList { index }
            | Self::ListOverspend { index, .. }
            | Self::ListTooLong { index, .. }
            | Self::ListAmountTooLarge { index, .. }
            | Self::ListItem { index, .. } => *index,
        }
    }

    /// The reason without the `transfer #i: ` position (a batch position, not an id).
    pub fn reason(&self) -> String {
        let text = self.to_string();
        match text.split_once(": ") {
            Some((prefix, rest)) if prefix.starts_with("transfer #") => rest.to_owned(),
            _ => text,
        }
    }
}

/// Errors of the batcher's caller (bad state handed in).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedBatchError {
    #[error("no current value given for slot (contract {:#x}, key {:#x})", .0.contract, .0.key)]
    MissingSlotValue(Slot),
    #[error("slot (contract {:#x}, key {:#x}) holds {value:#x}, not a valid value", .slot.contract, .slot.key)]
    BadSlotValue { slot: Slot, value: Felt },
    /// Every transfer was refused; their reasons, in submission order.
    #[error("the sub-block has no accepted transfer ({} refused)", .rejected.len())]
    Empty { rejected: Vec<SignedRejection> },
}

/// A signed sub-block: its transfers, lists, slot owners and AIR rows.
#[derive(Clone, Debug)]
pub struct SignedSubBlock {
    pub transfers: Vec<SignedTransferTx>,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    /// Owner of each input slot, in input order.
    pub owners: Vec<Felt>,
    pub rows: Vec<SignedRow>,
    /// The transaction list of `transfers`, in order (what the proof commits to).
    pub transactions: TxListCommitment,
}

impl SignedSubBlock {
    /// The public input of this sub-block in `thread`'s thread (its identity fields; the
    /// lists and the transaction list are this sub-block's).
    pub fn statement(&self, thread: &SignedPublicInput) -> SignedPublicInput {
        thread.with_lists(self.transactions, &self.inputs, &self.outputs)
    }
}

/// The batch, the transfers the batcher refused, and those left for the next sub-block.
#[derive(Clone, Debug)]
pub struct SignedBatch {
    pub sub_block: SignedSubBlock,
    pub rejected: Vec<SignedRejection>,
    /// The transfers from the first one past [`MAX_TRANSFERS_PER_PROOF`] accepted on, neither
    /// checked nor refused, in submission order (the input's tail: `txs[txs.len() -
    /// deferred.len()..]`). A transfer's rejection index always points into `txs`.
    pub deferred: Vec<SignedTransferTx>,
}

/// State the batcher tracks: slot -> (owner, value before the sub-block, value now). Only
/// accepted transfers record slots, so a refused transfer adds nothing to the lists.
pub(crate) struct Ledger<'a> {
    pub(crate) slots: BTreeMap<Slot, (Felt, Felt, Felt)>,
    pub(crate) current: &'a dyn Fn(&Slot) -> Option<Felt>,
}

impl Ledger<'_> {
    pub(crate) fn peek(&self, slot: Slot) -> Result<Felt, SignedBatchError> {
        match self.slots.get(&slot) {
            Some((_, _, now)) => Ok(*now),
            None => (self.current)(&slot).ok_or(SignedBatchError::MissingSlotValue(slot)),
        }
    }

    pub(crate) fn balance(&self, token: Felt, owner: Felt) -> Result<u128, SignedBatchError> {
        self.balance_at(Slot { contract: token, key: balance_slot_key(owner) })
    }

    /// The balance in `slot` (a `balances` slot whose key the caller computed).
    pub(crate) fn balance_at(&self, slot: Slot) -> Result<u128, SignedBatchError> {
        let value = self.peek(slot)?;
        felt_to_u128(&value).ok_or(SignedBatchError::BadSlotValue { slot, value })
    }

    pub(crate) fn key(&self, token: Felt, owner: Felt) -> Result<(KeyCommitment, u32), SignedBatchError> {
        let slot = Slot { contract: token, key: thread_key_slot_key(owner) };
        let value = self.peek(slot)?;
        // Decoded up to nonce 2^31 - 2: a stored slot no statement accepts is the sender's
        // rejection (`NonceExhausted`), not a bad state failing the whole batch.
        unpack_key_slot(&value).map_err(|_| SignedBatchError::BadSlotValue { slot, value })
    }

    /// `from` pays `amount` to `to` (their `balances` slots given): refused on overspend or a
    /// receiver overflow, otherwise both balances written. Returns the balances it read.
    pub(crate) fn pay(
        &mut self,
        index: usize,
        (from, from_slot): (Felt, Slot),
        (to, to_slot): (Felt, Slot),
        amount: u128,
    ) -> Result<Result<(u128, u128), SignedRejection>, SignedBatchError> {
        let from_old = self.balance_at(from_slot)?;
        let to_old = self.balance_at(to_slot)?;
        if from_old < amount {
            return Ok(Err(SignedRejection::Overspend { index, balance: from_old, amount }));
        }
        let Some(to_new) = to_old.checked_add(amount) else {
            return Ok(Err(SignedRejection::ReceiverOverflow { index, balance: to_old, amount }));
        };
        self.write(from_slot, from, Felt::from(from_old - amount))?;
        self.write(to_slot, to, Felt::from(to_new))?;
        Ok(Ok((from_old, to_old)))
    }

    /// Rotates `owner`'s key slot of `token` to `(next_key, nonce + 1)`.
    pub(crate) fn rotate_key(
        &mut self,
        token: Felt,
        owner: Felt,
        next_key: &KeyCommitment,
        nonce: u32,
    ) -> Result<(), SignedBatchError> {
        let slot = Slot { contract: token, key: thread_key_slot_key(owner) };
        let value = pack_key_slot(next_key, nonce + 1)
            .map_err(|_| SignedBatchError::BadSlotValue { slot, value: Felt::from(nonce) })?;
        self.write(slot, owner, value)
    }

    /// The sub-block's lists and owners: every slot an accepted message touched, read and
    /// written (a read-only slot never occurs), in slot order.
    pub(crate) fn into_lists(self) -> (Vec<SlotValue>, Vec<SlotValue>, Vec<Felt>) {
        let touched: Vec<_> = self.slots.into_iter().collect();
        (
            touched.iter().map(|(s, (_, before, _))| SlotValue { slot: *s, value: *before }).collect(),
            touched.iter().map(|(s, (_, _, now))| SlotValue { slot: *s, value: *now }).collect(),
            touched.iter().map(|(_, (owner, _, _))| *owner).collect(),
        )
    }

    pub(crate) fn write(&mut self, slot: Slot, owner: Felt, value: Felt) -> Result<(), SignedBatchError> {
        let before = self.peek(slot)?;
        self.slots.entry(slot).or_insert((owner, before, before)).2 = value;
        Ok(())
    }
}

/// Sequences signed transfers of one thread.
pub struct SignedBatcher {
    pub statement: SignedPublicInput,
    pub(crate) contract_set: BTreeSet<Felt>,
}

impl SignedBatcher {
    /// `statement` gives the thread's identity (chain, registry, thread); its lists are ignored.
    pub fn new(statement: SignedPublicInput, contract_set: impl IntoIterator<Item = Felt>) -> Self {
        SignedBatcher { statement, contract_set: contract_set.into_iter().collect() }
    }

    /// Builds the sub-block from `txs` in submission order; `current` gives a slot's current
    /// on-chain value. Stops at [`MAX_TRANSFERS_PER_PROOF`] accepted transfers and defers the
    /// rest (`SignedBatch::deferred`).
    pub fn batch(
        &self,
        txs: &[SignedTransferTx],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<SignedBatch, SignedBatchError> {
        let mut ledger = Ledger { slots: BTreeMap::new(), current: &current };
        let (mut accepted, mut rows, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        let mut deferred = Vec::new();
        for (index, tx) in txs.iter().enumerate() {
            if accepted.len() == MAX_TRANSFERS_PER_PROOF {
                deferred = txs[index..].to_vec();
                break;
            }
            match self.check(index, tx, &mut ledger)? {
                Ok(row) => {
                    accepted.push(tx.clone());
                    rows.push(row);
                }
                Err(reason) => {
                    tracing::debug!(%reason, "signed batcher rejected a transfer");
                    rejected.push(reason);
                }
            }
        }
        if accepted.is_empty() {
            return Err(SignedBatchError::Empty { rejected });
        }
        let (inputs, outputs, owners) = ledger.into_lists();
        let sub_block = SignedSubBlock {
            transfers: accepted,
            inputs,
            outputs,
            owners,
            transactions: TxListCommitment::of(rows.iter().map(|r| &r.trace.digest)),
            rows,
        };
        Ok(SignedBatch { sub_block, rejected, deferred })
    }

    /// The sender's current key and nonce, if a message at `nonce` under `key` may consume
    /// them: a key is registered, the nonce and key are the current ones, and the nonce can
    /// move again.
    pub(crate) fn check_key(
        index: usize,
        token: Felt,
        from: Felt,
        given_nonce: u32,
        given_key: &KeyCommitment,
        ledger: &Ledger<'_>,
    ) -> Result<Result<(KeyCommitment, u32), SignedRejection>, SignedBatchError> {
        let (key, nonce) = ledger.key(token, from)?;
        if key.is_none() {
            return Ok(Err(SignedRejection::NoKey { index, account: from }));
        }
        if given_nonce != nonce {
            return Ok(Err(SignedRejection::WrongNonce { index, given: given_nonce, current: nonce }));
        }
        if *given_key != key {
            return Ok(Err(SignedRejection::WrongKey { index }));
        }
        // The slot's next nonce must stay below `KEY_NONCE_BOUND` (the statement refuses more,
        // `zkthread_sig::KEY_NONCE_BOUND`): the last nonce a transfer consumes is 2^31 - 4.
        if zkthread_sig::check_consumable_nonce(nonce).is_err() {
            return Ok(Err(SignedRejection::NonceExhausted { index, nonce }));
        }
        Ok(Ok((key, nonce)))
    }

    /// Checks one transfer against the ledger and applies it when valid.
    pub(crate) fn check(
        &self,
        index: usize,
        tx: &SignedTransferTx,
        ledger: &mut Ledger<'_>,
    ) -> Result<Result<SignedRow, SignedRejection>, SignedBatchError> {
        if !self.contract_set.contains(&tx.token) {
            return Ok(Err(SignedRejection::ForeignToken { index, token: tx.token }));
        }
        if tx.amount == 0 {
            return Ok(Err(SignedRejection::ZeroAmount { index }));
        }
        if tx.from == tx.to {
            return Ok(Err(SignedRejection::SelfTransfer { index }));
        }
        let (key, nonce) = match Self::check_key(index, tx.token, tx.from, tx.nonce, &tx.key, ledger)? {
            Ok(current) => current,
            Err(reason) => return Ok(Err(reason)),
        };
        let trace = match verify_trace(&key, &tx.message(&self.statement), &tx.signature) {
            Ok(trace) => trace,
            Err(reason) => return Ok(Err(SignedRejection::BadSignature { index, reason })),
        };
        let slot = |owner| (owner, Slot { contract: tx.token, key: balance_slot_key(owner) });
        let (from_old, to_old) = match ledger.pay(index, slot(tx.from), slot(tx.to), tx.amount)? {
            Ok(read) => read,
            Err(reason) => return Ok(Err(reason)),
        };
        ledger.rotate_key(tx.token, tx.from, &tx.next_key, nonce)?;
        Ok(Ok(SignedRow {
            domain: self.statement.domain(tx.token),
            from: account_id_wide(tx.from),
            to: account_id_wide(tx.to),
            from_old,
            to_old,
            amount: tx.amount,
            nonce,
            key,
            next_key: tx.next_key,
            signature: tx.signature.clone(),
            trace,
        }))
    }
}
