//! The public statement every signed thread program proves against, and the LogUp boundary
//! it implies. The encoding and the list rules are the OS version's; which storage variables
//! a slot may be, and how the AIR sees their values, is the program's ([`StorageLayout`]).
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
//! (`zkthread_sig::tx_list`): the proof shows its signed rows are exactly the `n` signed
//! messages whose digests, in sub-block order, hash to the commitment (the `Link` boundary).
//!
//! `chain_id` and `registry` enter the domain every signature covers
//! ([`SignedPublicInput::domain`]), so a signature settles on one chain, through one registry,
//! in one thread, for one contract.
//!
//! Every input slot is bound to the program's storage layout by its owner (a witness the proof
//! carries): [`SignedPublicInput::bind`] refuses a key that is no variable of that owner and a
//! value the variable cannot hold. Outputs must be input slots. The AIR sees a slot as the
//! `StateRelation` tuple [`StorageLayout::state_values`] gives, under its domain and
//! `A = account_id(owner)`.

use std::collections::BTreeMap;

use num_traits::Zero;
use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo_constraint_framework::Relation;
use zkthread_sig::domain::{account_id, transfer_domain};
use zkthread_sig::tx_list::TxListCommitment;
use zkthread_sig::wots::Hash4;

use crate::auth::tx_list_boundary_sum;
use crate::model::SlotValue;
use crate::role::{Relations, StateRelation};

/// Everything the verifier may trust about a signed sub-block, whatever its program.
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
    #[error("input entry {index} is not {variables} of its contract")]
    UnboundSlot { index: usize, variables: &'static str },
    #[error("transaction count {0} is not below 2^31 - 1")]
    TxCount(u32),
    #[error("{list} entry {index} holds {value:#x}, not a valid value for its slot")]
    BadValue { list: &'static str, index: usize, value: Felt },
}

impl From<SignedStatementError> for crate::prover::VerifyError<SignedStatementError> {
    fn from(error: SignedStatementError) -> Self {
        crate::prover::VerifyError::Statement(error)
    }
}

/// One program's storage layout: which variables of an owner a slot may be and how the AIR
/// sees their values. The token's is `balances[owner]` and `thread_keys[owner]`
/// (`zkthread_token::statement::TokenLayout`).
pub trait StorageLayout {
    /// A variable of one owner (e.g. `balances[owner]`).
    type Variable: Copy;
    /// A slot's value as the AIR sees it.
    type State: Copy + Eq + std::fmt::Debug;
    /// What an input slot may be, for the refusal reason (e.g. "balances[owner] or
    /// thread_keys[owner]").
    const VARIABLES: &'static str;
    /// The variable of `owner` whose storage key in `contract` is `key`, if any.
    fn variable(&self, contract: Felt, key: Felt, owner: Felt) -> Option<Self::Variable>;
    /// `value` as the AIR sees `variable`; `None` if the variable cannot hold it.
    fn parse(&self, variable: Self::Variable, value: &Felt) -> Option<Self::State>;
    /// The `StateRelation` values of a slot in `state`.
    fn state_values(&self, domain: &Hash4, account: &Hash4, state: &Self::State) -> Vec<BaseField>;
}

/// One input slot bound to its variable: its domain, owner id and values before / after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundSlot<S> {
    pub domain: Hash4,
    pub account: Hash4,
    pub before: S,
    pub after: S,
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

    /// The domain of `contract` in this thread (its signatures' and its slots').
    pub fn domain(&self, contract: Felt) -> Hash4 {
        transfer_domain(self.chain_id, self.registry, self.thread_id, contract)
    }

    /// The list rules every program shares: a transaction count below `p`, a non-empty input
    /// list, both lists strictly ascending, one owner per input.
    pub fn check_lists(&self, owners: &[Felt]) -> Result<(), SignedStatementError> {
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
        Ok(())
    }

    /// Checks the lists and binds every input slot to a variable of its owner in `layout`;
    /// each output must write an input slot with a value its variable can hold.
    pub fn bind<L: StorageLayout>(
        &self,
        layout: &L,
        owners: &[Felt],
    ) -> Result<Vec<BoundSlot<L::State>>, SignedStatementError> {
        self.check_lists(owners)?;
        let mut slots = Vec::with_capacity(self.inputs.len());
        let mut position = BTreeMap::new();
        for (index, (entry, owner)) in self.inputs.iter().zip(owners).enumerate() {
            let variable = layout
                .variable(entry.slot.contract, entry.slot.key, *owner)
                .ok_or(SignedStatementError::UnboundSlot { index, variables: L::VARIABLES })?;
            let before = parse(layout, variable, &entry.value, "input", index)?;
            position.insert(entry.slot, (index, variable));
            slots.push(BoundSlot {
                domain: self.domain(entry.slot.contract),
                account: account_id(*owner),
                before,
                after: before,
            });
        }
        for (index, entry) in self.outputs.iter().enumerate() {
            let (at, variable) =
                *position.get(&entry.slot).ok_or(SignedStatementError::OutputNotRead { index })?;
            slots[at].after = parse(layout, variable, &entry.value, "output", index)?;
        }
        Ok(slots)
    }
}

fn parse<L: StorageLayout>(
    layout: &L,
    variable: L::Variable,
    value: &Felt,
    list: &'static str,
    index: usize,
) -> Result<L::State, SignedStatementError> {
    layout.parse(variable, value).ok_or(SignedStatementError::BadValue { list, index, value: *value })
}

/// `sum over slots of 1/d(after) - 1/d(before)`: the `StateRelation` sum the rows must have.
/// An unchanged slot adds nothing (its two terms cancel).
pub fn boundary_sum<L: StorageLayout>(
    layout: &L,
    slots: &[BoundSlot<L::State>],
    state: &StateRelation,
) -> SecureField {
    let term = |s: &BoundSlot<L::State>, v: &L::State| -> SecureField {
        let d: SecureField = state.combine(&layout.state_values(&s.domain, &s.account, v));
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
pub fn boundary<L: StorageLayout>(
    layout: &L,
    slots: &[BoundSlot<L::State>],
    transactions: &TxListCommitment,
    relations: &Relations,
) -> SecureField {
    boundary_sum(layout, slots, &relations.state) + tx_list_boundary_sum(transactions, &relations.link)
}
