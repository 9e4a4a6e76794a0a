//! The public input of a sub-block proof and its canonical felt encoding.
//!
//! Encoding (shared with the Cairo registry, which builds exactly this array from `settle`'s
//! arguments and the thread's stored data):
//!
//! ```text
//! [os_version, program_hash, thread_id, sequence, contract_set_commitment,
//!  n_transactions = 0, transactions_commitment = 0,
//!  n_inputs,  (contract, key, value) * n_inputs,
//!  n_outputs, (contract, key, value) * n_outputs]
//! ```
//!
//! The registry passes every program a transaction-list commitment (the signed program proves
//! one, `zkthread_sig::tx_list`). This unsigned baseline proves none, so its statement is only
//! ever the one with `(0, 0)` there: anything else is refused, never ignored.
//!
//! `contract_set_commitment = poseidon_hash_many([n, c_1, ..., c_n])` over the thread's
//! contract set sorted ascending (Cairo: `poseidon_hash_span`).

use std::collections::BTreeMap;

use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;

use crate::model::{felt_to_u128, Slot, SlotValue};

/// Everything the verifier may trust; nothing else is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInput {
    pub os_version: Felt,
    pub program_hash: Felt,
    pub thread_id: Felt,
    pub sequence: Felt,
    pub contract_set_commitment: Felt,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
}

/// `poseidon_hash_many([n, c_1..c_n])` over the contract set in ascending order.
pub fn contract_set_commitment(contracts: &[Felt]) -> Felt {
    let mut sorted = contracts.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut data = Vec::with_capacity(sorted.len() + 1);
    data.push(Felt::from(sorted.len() as u64));
    data.extend(sorted);
    poseidon_hash_many(&data)
}

/// Why a public input cannot describe a valid token sub-block (checked by prover and verifier).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("{list} list is not strictly ascending by (contract, key) at entry {index}")]
    NotSorted { list: &'static str, index: usize },
    #[error("{list} list entry {index} holds {value:#x}, not a u128 balance")]
    NotABalance { list: &'static str, index: usize, value: Felt },
    #[error("output entry {index} writes a slot that is not in the input list")]
    OutputNotRead { index: usize },
    #[error("the input list is empty")]
    NoInputs,
    #[error("too many slots: {0}")]
    TooManySlots(usize),
    #[error("public input encoding is malformed: {0}")]
    Malformed(&'static str),
    #[error("{given} slot owners given for {inputs} input slots")]
    OwnerCount { given: usize, inputs: usize },
    #[error("input entry {index} is not `balances[owner]` of its contract: the program declares no such slot")]
    UnboundSlot { index: usize },
}

/// One slot as the AIR sees it: its index in the input list, its token index (rank of its
/// contract among the distinct contracts of the input list) and its values before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementSlot {
    pub index: u32,
    pub token: u32,
    pub before: u128,
    pub after: u128,
}

/// Largest number of input slots (slot indices must stay far below the M31 modulus).
pub const MAX_SLOTS: usize = 1 << 24;

impl PublicInput {
    /// The canonical felt encoding (see module docs).
    pub fn to_felts(&self) -> Vec<Felt> {
        let mut out = Vec::with_capacity(9 + 3 * (self.inputs.len() + self.outputs.len()));
        out.extend([
            self.os_version,
            self.program_hash,
            self.thread_id,
            self.sequence,
            self.contract_set_commitment,
            Felt::ZERO,
            Felt::ZERO,
        ]);
        for list in [&self.inputs, &self.outputs] {
            out.push(Felt::from(list.len() as u64));
            for e in list.iter() {
                out.extend([e.slot.contract, e.slot.key, e.value]);
            }
        }
        out
    }

    /// Parses the canonical encoding.
    pub fn from_felts(felts: &[Felt]) -> Result<Self, StatementError> {
        let mut it = felts.iter().copied();
        let mut next = || it.next().ok_or(StatementError::Malformed("truncated"));
        let header = [next()?, next()?, next()?, next()?, next()?];
        if [next()?, next()?] != [Felt::ZERO, Felt::ZERO] {
            return Err(StatementError::Malformed("the unsigned program commits no transaction list"));
        }
        let mut lists = [Vec::new(), Vec::new()];
        for list in lists.iter_mut() {
            let n: u64 = next()?.try_into().map_err(|_| StatementError::Malformed("list length"))?;
            for _ in 0..n {
                let slot = Slot { contract: next()?, key: next()? };
                list.push(SlotValue { slot, value: next()? });
            }
        }
        if it.next().is_some() {
            return Err(StatementError::Malformed("trailing felts"));
        }
        let [inputs, outputs] = lists;
        Ok(PublicInput {
            os_version: header[0],
            program_hash: header[1],
            thread_id: header[2],
            sequence: header[3],
            contract_set_commitment: header[4],
            inputs,
            outputs,
        })
    }

    /// Checks that every input slot is a slot the token program declares: input `i` must be
    /// `balances[owners[i]]` of its contract (`Slot::balance`). Outputs are a subset of the
    /// inputs ([`Self::statement_slots`] checks that), so they are bound too. A key that is no
    /// such address — `total_supply`, `name`, a component's own variable — is refused here,
    /// before any STARK work: the AIR only ever sees slot indices.
    ///
    /// `owners` is a witness, not part of the public input: each key determines its owner
    /// (finding two accounts with one balance key is a Pedersen collision), so nothing about
    /// it needs to enter the transcript.
    pub fn check_slot_owners(&self, owners: &[Felt]) -> Result<(), StatementError> {
        if owners.len() != self.inputs.len() {
            return Err(StatementError::OwnerCount { given: owners.len(), inputs: self.inputs.len() });
        }
        for (index, (entry, owner)) in self.inputs.iter().zip(owners).enumerate() {
            if Slot::balance(entry.slot.contract, *owner) != entry.slot {
                return Err(StatementError::UnboundSlot { index });
            }
        }
        Ok(())
    }

    /// Checks the lists and maps them to the AIR's view: one [`StatementSlot`] per input entry.
    ///
    /// A slot in the inputs but not in the outputs keeps its input value (`after = before`): the
    /// verifier adds it to the final state explicitly. An output slot absent from the inputs is
    /// rejected (every transfer reads the slots it writes).
    pub fn statement_slots(&self) -> Result<Vec<StatementSlot>, StatementError> {
        if self.inputs.is_empty() {
            return Err(StatementError::NoInputs);
        }
        if self.inputs.len() > MAX_SLOTS {
            return Err(StatementError::TooManySlots(self.inputs.len()));
        }
        for (name, list) in [("input", &self.inputs), ("output", &self.outputs)] {
            for (index, pair) in list.windows(2).enumerate() {
                if pair[0].slot >= pair[1].slot {
                    return Err(StatementError::NotSorted { list: name, index: index + 1 });
                }
            }
        }
        let mut position = BTreeMap::new();
        let mut slots = Vec::with_capacity(self.inputs.len());
        let mut token = 0u32;
        for (index, entry) in self.inputs.iter().enumerate() {
            if index > 0 && self.inputs[index - 1].slot.contract != entry.slot.contract {
                token += 1;
            }
            let before = felt_to_u128(&entry.value).ok_or(StatementError::NotABalance {
                list: "input",
                index,
                value: entry.value,
            })?;
            position.insert(entry.slot, index);
            slots.push(StatementSlot { index: index as u32, token, before, after: before });
        }
        for (index, entry) in self.outputs.iter().enumerate() {
            let at = *position.get(&entry.slot).ok_or(StatementError::OutputNotRead { index })?;
            slots[at].after = felt_to_u128(&entry.value).ok_or(StatementError::NotABalance {
                list: "output",
                index,
                value: entry.value,
            })?;
        }
        Ok(slots)
    }
}
