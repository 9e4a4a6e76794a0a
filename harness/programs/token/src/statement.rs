//! The public input of a signed-transfer proof and the LogUp boundary it implies.
//!
//! Encoding (the registry builds it from `settle`'s arguments and its own state):
//!
//! ```text
//! [os_version, program_hash, chain_id, registry, thread_id, sequence, contract_set_commitment,
//!  n_transactions, transactions_commitment,
//!  n_inputs,  (contract, key, value) * n_inputs,
//!  n_outputs, (contract, key, value) * n_outputs]
//! ```
//!
//! `(n_transactions, transactions_commitment)` is the sub-block's transaction list
//! (`zkthread_sig::tx_list`): the proof shows its transfers are exactly the `n` signed messages
//! whose digests, in sub-block order, hash to the commitment (the `Link` boundary below).
//!
//! `chain_id` and `registry` enter the transfer domain every signature covers, so a signature
//! settles on one chain, through one registry, in one thread, for one token.
//!
//! Every input slot is bound to the storage layout by its owner (a witness the proof carries):
//! its key must be `balances[owner]` (value: a u128) or `thread_keys[owner]` (value: a packed
//! key commitment and nonce, `zkthread_sig::unpack_key_slot`) of its contract. Outputs must be
//! input slots. The AIR sees a slot as `Balance(D, A, limbs)` or `Key(D, A, nonce, K)` with
//! `D = transfer_domain(chain_id, registry, thread_id, contract)` and `A = account_id(owner)`.

use std::collections::BTreeMap;

use num_traits::Zero;
use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo_constraint_framework::Relation;
use zkthread_prover::air::limbs;
use zkthread_prover::auth::link;
pub use zkthread_prover::auth::tx_list_boundary_sum;
use zkthread_prover::model::{felt_to_u128, SlotValue};
use zkthread_prover::role::{Relations, StateRelation};
use zkthread_sig::domain::{account_id, transfer_domain, unpack_key_slot};
use zkthread_sig::tx_list::TxListCommitment;
use zkthread_sig::wots::{Hash4, KeyCommitment};
use zkthread_sig::{balance_slot_key, thread_key_slot_key};

use crate::transfer::balance;

/// Everything the verifier may trust about a signed sub-block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPublicInput {
    pub os_version: Felt,
    pub program_hash: Felt,
    pub chain_id: Felt,
    pub registry: Felt,
    pub thread_id: Felt,
    pub sequence: Felt,
    pub contract_set_commitment: Felt,
    /// The committed transaction list (count and sponge capacity).
    pub transactions: TxListCommitment,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedStatementError {
    #[error("{list} list is not strictly ascending by (contract, key) at entry {index}")]
    NotSorted { list: &'static str, index: usize },
    #[error("output entry {index} writes a slot that is not in the input list")]
    OutputNotRead { index: usize },
    #[error("the input list is empty")]
    NoInputs,
    #[error("{given} slot owners given for {inputs} input slots")]
    OwnerCount { given: usize, inputs: usize },
    #[error("input entry {index} is neither balances[owner] nor thread_keys[owner] of its contract")]
    UnboundSlot { index: usize },
    #[error("transaction count {0} is not below 2^31 - 1")]
    TxCount(u32),
    #[error("{list} entry {index} holds {value:#x}, not a valid value for its slot")]
    BadValue { list: &'static str, index: usize, value: Felt },
}

/// A slot's value as the AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    Balance(u128),
    Key { key: KeyCommitment, nonce: u32 },
}

/// One input slot bound to its variable: its domain, owner id and values before / after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundSlot {
    pub domain: Hash4,
    pub account: Hash4,
    pub before: SlotState,
    pub after: SlotState,
}

impl SignedPublicInput {
    pub fn to_felts(&self) -> Vec<Felt> {
        let mut out = vec![
            self.os_version,
            self.program_hash,
            self.chain_id,
            self.registry,
            self.thread_id,
            self.sequence,
            self.contract_set_commitment,
        ];
        out.extend(self.transactions.to_felts());
        for list in [&self.inputs, &self.outputs] {
            out.push(Felt::from(list.len() as u64));
            for e in list {
                out.extend([e.slot.contract, e.slot.key, e.value]);
            }
        }
        out
    }

    /// The transfer domain of `token` in this thread.
    pub fn domain(&self, token: Felt) -> Hash4 {
        transfer_domain(self.chain_id, self.registry, self.thread_id, token)
    }

    /// Checks the lists and binds every input slot to `balances`/`thread_keys` of its owner.
    pub fn bound_slots(&self, owners: &[Felt]) -> Result<Vec<BoundSlot>, SignedStatementError> {
        // The AIR counts in M31: a count of n + p would name the same path as n.
        if self.transactions.count >= zkthread_sig::field::MODULUS {
            return Err(SignedStatementError::TxCount(self.transactions.count));
        }
        if self.inputs.is_empty() {
            return Err(SignedStatementError::NoInputs);
        }
        for (list, entries) in [("input", &self.inputs), ("output", &self.outputs)] {
            if let Some(i) = entries.windows(2).position(|w| w[0].slot >= w[1].slot) {
                return Err(SignedStatementError::NotSorted { list, index: i + 1 });
            }
        }
        if owners.len() != self.inputs.len() {
            return Err(SignedStatementError::OwnerCount {
                given: owners.len(),
                inputs: self.inputs.len(),
            });
        }
        let mut slots = Vec::with_capacity(self.inputs.len());
        let mut position = BTreeMap::new();
        for (index, (entry, owner)) in self.inputs.iter().zip(owners).enumerate() {
            let is_key = if entry.slot.key == balance_slot_key(*owner) {
                false
            } else if entry.slot.key == thread_key_slot_key(*owner) {
                true
            } else {
                return Err(SignedStatementError::UnboundSlot { index });
            };
            let before = parse(is_key, &entry.value, "input", index)?;
            position.insert(entry.slot, (index, is_key));
            slots.push(BoundSlot {
                domain: self.domain(entry.slot.contract),
                account: account_id(*owner),
                before,
                after: before,
            });
        }
        for (index, entry) in self.outputs.iter().enumerate() {
            let (at, is_key) =
                *position.get(&entry.slot).ok_or(SignedStatementError::OutputNotRead { index })?;
            slots[at].after = parse(is_key, &entry.value, "output", index)?;
        }
        Ok(slots)
    }
}

fn parse(
    is_key: bool,
    value: &Felt,
    list: &'static str,
    index: usize,
) -> Result<SlotState, SignedStatementError> {
    let bad = || SignedStatementError::BadValue { list, index, value: *value };
    if is_key {
        let (key, nonce) = unpack_key_slot(value).map_err(|_| bad())?;
        Ok(SlotState::Key { key, nonce })
    } else {
        felt_to_u128(value).map(SlotState::Balance).ok_or_else(bad)
    }
}

/// The `StateRelation` values of a slot in `state`.
pub fn state_values(domain: &Hash4, account: &Hash4, state: &SlotState) -> Vec<BaseField> {
    let m = |h: &Hash4| -> Vec<BaseField> { h.iter().map(|v| BaseField::from(v.to_u32())).collect() };
    match state {
        SlotState::Balance(value) => {
            let l: Vec<BaseField> = limbs(*value).iter().map(|v| BaseField::from(*v)).collect();
            balance(&m(domain), &m(account), &l)
        }
        SlotState::Key { key, nonce } => {
            link::key(&m(domain), &m(account), BaseField::from(*nonce), &m(&key.0))
        }
    }
}

/// `sum over slots of 1/d(after) - 1/d(before)`: the `StateRelation` sum the rows must have.
pub fn boundary_sum(slots: &[BoundSlot], state: &StateRelation) -> SecureField {
    let term = |s: &BoundSlot, v: &SlotState| -> SecureField {
        let d: SecureField = state.combine(&state_values(&s.domain, &s.account, v));
        d.inverse()
    };
    slots.iter().fold(SecureField::zero(), |acc, s| {
        if s.before == s.after {
            acc
        } else {
            acc + term(s, &s.after) - term(s, &s.before)
        }
    })
}

/// The sum of every component's claimed LogUp sum that the public statement fixes: the state
/// boundary plus the transaction-list boundary.
pub fn boundary(slots: &[BoundSlot], transactions: &TxListCommitment, relations: &Relations) -> SecureField {
    boundary_sum(slots, &relations.state) + tx_list_boundary_sum(transactions, &relations.link)
}
