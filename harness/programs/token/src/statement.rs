//! The token program's storage layout: which variables its statement's slots may be and how
//! the AIR sees them. The statement itself — encoding, list rules, binding, boundary — is the
//! framework's (`zkthread_prover::statement`, whose docs give the encoding).
//!
//! Every input slot is bound to the storage layout by its owner (a witness the proof carries):
//! its key must be `balances[owner]` (value: a u128) or `thread_keys[owner]` (value: a packed
//! key commitment and nonce below `2^31 - 2`, `zkthread_sig::unpack_statement_key_slot`, whose
//! docs give why: a key step from `2^31 - 2` wraps the AIR's nonce to 0) of its contract; an
//! output's value is parsed the same way. The AIR sees a slot as `Balance(D, A, limbs, A_high)`
//! or `Key(D, A, nonce, K, A_high)` with
//! `D = transfer_domain(chain_id, registry, thread_id, contract)` and
//! `(A, A_high) = account_id_wide(owner)` (248 bits).

use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use zkthread_prover::air::limbs;
use zkthread_prover::auth::link;
pub use zkthread_prover::auth::tx_list_boundary_sum;
use zkthread_prover::model::felt_to_u128;
use zkthread_prover::role::{Relations, StateRelation};
use zkthread_prover::statement::{self as framework, StorageLayout};
pub use zkthread_prover::statement::{SignedPublicInput, SignedStatementError};
use zkthread_sig::domain::{unpack_statement_key_slot, AccountId};
use zkthread_sig::tx_list::TxListCommitment;
use zkthread_sig::wots::{Hash4, KeyCommitment};
use zkthread_sig::M31;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};

use crate::transfer::balance;

/// A slot's value as the AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    Balance(u128),
    Key { key: KeyCommitment, nonce: u32 },
}

/// One input slot of a token statement bound to its variable.
pub type BoundSlot = framework::BoundSlot<SlotState>;

/// The token's variables of an owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenVariable {
    /// `balances[owner]`: a u128.
    Balance,
    /// `thread_keys[owner]`: a packed key commitment and nonce.
    ThreadKey,
}

/// `balances[owner]` and `thread_keys[owner]` of every contract in the thread (each a token).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenLayout;

impl StorageLayout for TokenLayout {
    type Variable = TokenVariable;
    type State = SlotState;
    const VARIABLES: &'static str = "balances[owner] or thread_keys[owner]";

    fn variable(&self, _contract: Felt, key: Felt, witness: &[Felt]) -> Option<(TokenVariable, Felt)> {
        let owner = *witness.first()?;
        if key == balance_slot_key(owner) {
            Some((TokenVariable::Balance, owner))
        } else if key == thread_key_slot_key(owner) {
            Some((TokenVariable::ThreadKey, owner))
        } else {
            None
        }
    }

    fn parse(&self, variable: TokenVariable, value: &Felt) -> Option<SlotState> {
        match variable {
            // A nonce below `2^31 - 2`: the AIR's step from `2^31 - 2` would wrap to 0.
            TokenVariable::ThreadKey => {
                let (key, nonce) = unpack_statement_key_slot(value).ok()?;
                Some(SlotState::Key { key, nonce })
            }
            TokenVariable::Balance => felt_to_u128(value).map(SlotState::Balance),
        }
    }

    fn state_values(&self, domain: &Hash4, account: &AccountId, state: &SlotState) -> Vec<BaseField> {
        state_values(domain, account, state)
    }

    fn key_nonce(&self, state: &SlotState) -> Option<u32> {
        match state {
            SlotState::Key { nonce, .. } => Some(*nonce),
            SlotState::Balance(_) => None,
        }
    }
}

/// Checks the lists and binds every input slot to `balances`/`thread_keys` of its owner.
pub fn bound_slots(
    statement: &SignedPublicInput,
    owners: &[Felt],
) -> Result<Vec<BoundSlot>, SignedStatementError> {
    statement.bind(&TokenLayout, owners)
}

/// The `StateRelation` values of a slot in `state`, each naming the owner by its whole id.
pub fn state_values(domain: &Hash4, account: &AccountId, state: &SlotState) -> Vec<BaseField> {
    let m = |h: &[M31]| -> Vec<BaseField> { h.iter().map(|v| BaseField::from(v.to_u32())).collect() };
    match state {
        SlotState::Balance(value) => {
            let l: Vec<BaseField> = limbs(*value).iter().map(|v| BaseField::from(*v)).collect();
            balance(&m(domain), &m(&account.words()), &l)
        }
        SlotState::Key { key, nonce } => {
            link::key(&m(domain), &m(&account.words()), BaseField::from(*nonce), &m(&key.0))
        }
    }
}

/// `sum over slots of 1/d(after) - 1/d(before)`: the `StateRelation` sum the rows must have.
pub fn boundary_sum(slots: &[BoundSlot], state: &StateRelation) -> SecureField {
    framework::boundary_sum(&TokenLayout, slots, state)
}

/// The sum of every component's claimed LogUp sum that the public statement fixes: the state
/// boundary plus the transaction-list boundary.
pub fn boundary(slots: &[BoundSlot], transactions: &TxListCommitment, relations: &Relations) -> SecureField {
    framework::boundary(&TokenLayout, slots, transactions, relations)
}
