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
//! Every input slot is bound to the program's storage layout by a witness the proof carries
//! (its owner, and for some layouts more: [`StorageLayout::WITNESS_LEN`]):
//! [`SignedPublicInput::bind`] refuses a key that is no variable of that witness and a value
//! the variable cannot hold. Outputs must be input slots. The AIR sees a slot as the
//! `StateRelation` tuple [`StorageLayout::state_values`] gives, under its domain and the
//! owner's id `account_id_wide(owner)` (a token's balance and key tuples carry its 248 bits; a
//! layout naming owners by `A = account_id(owner)` alone puts zeros in the high words, as the
//! order book does).
//!
//! A layout whose slots depend on each other (a slot's tuple carries values stored in other
//! slots of the statement, as an order book's fill counter carries its tokens' domains)
//! implements [`ListRules`] too and is bound by [`SignedPublicInput::bind_list`], which runs
//! [`ListRules::resolve`] over the whole bound list (the per-slot `bind` refuses such a
//! layout at compile time).

use std::collections::{BTreeMap, HashMap};

use num_traits::Zero;
use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo_constraint_framework::Relation;
use zkthread_sig::domain::{account_id_wide, transfer_domain, AccountId};
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

impl SignedPublicInput {
    /// The public input of a sub-block of this thread (its identity fields, from `self`) with
    /// this transaction list and these slot lists: one place for what a batcher's sub-block
    /// contributes, whatever its program.
    pub fn with_lists(&self, transactions: TxListCommitment, inputs: &[SlotValue], outputs: &[SlotValue]) -> Self {
        SignedPublicInput { transactions, inputs: inputs.to_vec(), outputs: outputs.to_vec(), ..self.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignedStatementError {
    #[error("{list} list is not strictly ascending by (contract, key) at entry {index}")]
    NotSorted { list: &'static str, index: usize },
    #[error("output entry {index} writes a slot that is not in the input list")]
    OutputNotRead { index: usize },
    #[error("the input list is empty")]
    NoInputs,
    #[error("{given} slot-binding felts given for {inputs} input slots ({per_slot} each)")]
    OwnerCount { given: usize, inputs: usize, per_slot: usize },
    #[error("input entry {index} is not {variables} of its contract")]
    UnboundSlot { index: usize, variables: &'static str },
    #[error("transaction count {0} is not below 2^31 - 1")]
    TxCount(u32),
    #[error("{list} entry {index} holds {value:#x}, not a valid value for its slot")]
    BadValue { list: &'static str, index: usize, value: Felt },
    /// A key slot's output must be ahead of its input: every signed message steps the nonce
    /// by one, so an output at or below the input is a nonce that wrapped past `2^31 - 2`
    /// inside the proof (see `zkthread_sig::KEY_NONCE_BOUND`).
    #[error("output entry {index} moves its key slot's nonce from {before} to {after}: a key slot only moves forward")]
    NonceNotAdvanced { index: usize, before: u32, after: u32 },
    /// Two contracts of the statement share one 124-bit domain id ([`DistinctIds`]).
    #[error("input entry {index}'s contract has the domain id of another contract in the statement")]
    DomainClash { index: usize },
    /// Two owners of the statement share one 124-bit account id ([`DistinctIds`]).
    #[error("input entry {index}'s owner has the account id of another owner in the statement")]
    AccountClash { index: usize },
}

/// The ids one statement's slots are known by in the AIR, each naming one contract (domain)
/// or one owner (account).
///
/// Why: ids are 124 bits (`limbs4` of a Poseidon hash), and the AIR knows an account only by
/// its id. Two addresses with one id cost a birthday search of ~2^62 hashes when the searcher
/// chooses both, e.g. an account of its own and the deployment salt of a contract whose honest
/// code others trust with their tokens (a vault). With both in one statement, a transfer
/// signed by the account's thread key would debit the vault's balance: the key tuple and the
/// balance tuple carry one `A`. Refusing a statement in which an id names two owners (or two
/// contracts) leaves a forger of a *debit* a second preimage of an id already in use
/// (~2^124): the key that signs and the balance it debits must meet in one statement.
/// (helper-79's review.) A *credit* needs no second slot in the statement: a prover crediting
/// `balances[M]` for a transfer signed to `V` never shows `V`'s slot (helper-82's review). So
/// `Balance` tuples carry the owner's whole 248-bit id (`zkthread_sig::domain::AccountId`),
/// and a signed transfer names its receiver by all of it: such a credit needs a 248-bit
/// collision (~2^124); so does a signed list since list AIR version 4 (session 51). An order
/// book's fills credit owners whose orders are in the statement, where this map refuses two
/// owners under one low id.
#[derive(Debug, Default)]
pub struct DistinctIds {
    accounts: HashMap<Hash4, Felt>,
    domains: HashMap<Hash4, Felt>,
}

impl DistinctIds {
    /// Whether account id `id` names only `owner` so far (and records it).
    pub fn account(&mut self, id: Hash4, owner: Felt) -> bool {
        names_one(&mut self.accounts, id, owner)
    }

    /// Whether domain id `id` names only `contract` so far (and records it).
    pub fn domain(&mut self, id: Hash4, contract: Felt) -> bool {
        names_one(&mut self.domains, id, contract)
    }
}

/// Whether `id` names only `value` so far, recording it. A recorded 0 reads as unseen, as in
/// Cairo (`thread_statement::ids::DistinctIds`, a `Felt252Dict` whose unset entries read 0):
/// an id first seen with owner 0 (an order book's own variables) or contract 0 is not held to
/// it. That id is a fixed one, so naming another owner under it is a 124-bit second preimage.
fn names_one(map: &mut HashMap<Hash4, Felt>, id: Hash4, value: Felt) -> bool {
    match map.get(&id) {
        Some(seen) if *seen != Felt::ZERO => *seen == value,
        _ => {
            map.insert(id, value);
            true
        }
    }
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
    /// Felts of one slot's binding witness, the proof's `slot_owners` entries per input: the
    /// owner, and what else the storage key derives from (an order book's `orders[(owner, id)]`
    /// needs the id; a storage key cannot be inverted).
    const WITNESS_LEN: usize = 1;
    /// The variable whose storage key in `contract` is `key`, given the slot's witness
    /// (`WITNESS_LEN` felts), with its owner; `None` if there is none.
    fn variable(&self, contract: Felt, key: Felt, witness: &[Felt]) -> Option<(Self::Variable, Felt)>;
    /// `value` as the AIR sees `variable`; `None` if the variable cannot hold it.
    fn parse(&self, variable: Self::Variable, value: &Felt) -> Option<Self::State>;
    /// The `StateRelation` values of a slot in `state`, owned by `account`.
    fn state_values(&self, domain: &Hash4, account: &AccountId, state: &Self::State) -> Vec<BaseField>;
    /// The nonce of a key slot's state, `None` for any other variable. A key slot written by
    /// the statement must move its nonce forward ([`SignedStatementError::NonceNotAdvanced`]).
    fn key_nonce(&self, state: &Self::State) -> Option<u32>;
    /// Whether the layout has whole-list rules ([`ListRules`]). Such a layout is bound only by
    /// [`SignedPublicInput::bind_list`]: [`SignedPublicInput::bind`] refuses it at compile
    /// time, so its rules cannot be skipped by calling the per-slot binding.
    const LIST_RULES: bool = false;
}

/// The whole-list part of a binding, for layouts where a slot's meaning depends on other
/// slots of the same statement (an order book's fill counter takes its market's token
/// domains from the book's configuration slots). [`SignedPublicInput::bind_list`] calls
/// [`ListRules::resolve`] once every input slot is bound and every output parsed; set
/// `LIST_RULES = true` in the layout's [`StorageLayout`] impl.
pub trait ListRules: StorageLayout {
    /// Why the program refuses a statement whose slots are each bound.
    type Refusal: std::error::Error + Clone + PartialEq + Eq;
    /// Sees the statement, every bound slot and its variable (input order: `slots[i]` and
    /// `variables[i]` are `statement.inputs[i]`'s) and may complete the slots' states from
    /// other slots, or refuse.
    fn resolve(
        &self,
        statement: &SignedPublicInput,
        slots: &mut [BoundSlot<Self::State>],
        variables: &[Self::Variable],
    ) -> Result<(), Self::Refusal>;
}

/// Why [`SignedPublicInput::bind_list`] refuses: a framework rule or the program's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListBindError<R: std::error::Error> {
    #[error(transparent)]
    Statement(#[from] SignedStatementError),
    #[error(transparent)]
    Layout(R),
}

/// One input slot bound to its variable: its domain, owner id and values before / after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundSlot<S> {
    pub domain: Hash4,
    /// The owner's 248-bit id (`zkthread_sig::domain::AccountId`): a token's `Balance` and
    /// `Key` tuples carry all of it, the order book's tuples its `low` half.
    pub account: AccountId,
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
    /// list, both lists strictly ascending, `per_slot` witness felts per input.
    pub fn check_lists(&self, witness: &[Felt], per_slot: usize) -> Result<(), SignedStatementError> {
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
        if witness.len() != self.inputs.len() * per_slot {
            return Err(SignedStatementError::OwnerCount {
                given: witness.len(),
                inputs: self.inputs.len(),
                per_slot,
            });
        }
        Ok(())
    }

    /// Checks the lists and binds every input slot to a variable of its owner in `layout`
    /// (`witness`: `L::WITNESS_LEN` felts per input, the owner first); each output must write
    /// an input slot with a value its variable can hold.
    pub fn bind<L: StorageLayout>(
        &self,
        layout: &L,
        witness: &[Felt],
    ) -> Result<Vec<BoundSlot<L::State>>, SignedStatementError> {
        // A layout with whole-list rules must go through `bind_list`.
        const { assert!(!L::LIST_RULES) };
        Ok(self.bind_slots(layout, witness)?.0)
    }

    /// [`Self::bind`], then the layout's whole-list rules ([`ListRules::resolve`]).
    pub fn bind_list<L: ListRules>(
        &self,
        layout: &L,
        witness: &[Felt],
    ) -> Result<Vec<BoundSlot<L::State>>, ListBindError<L::Refusal>> {
        let (mut slots, variables) = self.bind_slots(layout, witness)?;
        layout.resolve(self, &mut slots, &variables).map_err(ListBindError::Layout)?;
        Ok(slots)
    }

    /// Every input slot bound, outputs parsed: the slots and their variables, input order.
    #[allow(clippy::type_complexity)]
    fn bind_slots<L: StorageLayout>(
        &self,
        layout: &L,
        witness: &[Felt],
    ) -> Result<(Vec<BoundSlot<L::State>>, Vec<L::Variable>), SignedStatementError> {
        // A zero-width witness would bind every slot to nothing the proof names.
        const { assert!(L::WITNESS_LEN > 0) };
        self.check_lists(witness, L::WITNESS_LEN)?;
        let mut slots = Vec::with_capacity(self.inputs.len());
        let mut variables = Vec::with_capacity(self.inputs.len());
        let mut position = BTreeMap::new();
        let mut ids = DistinctIds::default();
        for (index, (entry, w)) in self.inputs.iter().zip(witness.chunks(L::WITNESS_LEN)).enumerate() {
            let (variable, owner) = layout
                .variable(entry.slot.contract, entry.slot.key, w)
                .ok_or(SignedStatementError::UnboundSlot { index, variables: L::VARIABLES })?;
            let before = parse(layout, variable, &entry.value, "input", index)?;
            let domain = self.domain(entry.slot.contract);
            if !ids.domain(domain, entry.slot.contract) {
                return Err(SignedStatementError::DomainClash { index });
            }
            let account = account_id_wide(owner);
            if !ids.account(account.low, owner) {
                return Err(SignedStatementError::AccountClash { index });
            }
            position.insert(entry.slot, (index, variable));
            variables.push(variable);
            slots.push(BoundSlot { domain, account, before, after: before });
        }
        for (index, entry) in self.outputs.iter().enumerate() {
            let (at, variable) =
                *position.get(&entry.slot).ok_or(SignedStatementError::OutputNotRead { index })?;
            let after = parse(layout, variable, &entry.value, "output", index)?;
            check_key_step(layout, &slots[at].before, &after, index)?;
            slots[at].after = after;
        }
        Ok((slots, variables))
    }
}

/// A written key slot's nonce moves forward. The AIR steps a key tuple's nonce by one in M31
/// per message, and both ends are held below `2^31 - 2`; so the integer output is the input
/// plus the number of messages unless the nonce passed `p - 1 -> 0` inside the proof, which
/// leaves the output at or below the input (a trace has far fewer than `p` rows). Refusing
/// that closes the wrap the per-slot bound alone leaves to two messages at `2^31 - 3` and
/// `2^31 - 2`. An output equal to its input changes nothing and is not checked.
fn check_key_step<L: StorageLayout>(
    layout: &L,
    before: &L::State,
    after: &L::State,
    index: usize,
) -> Result<(), SignedStatementError> {
    match (layout.key_nonce(before), layout.key_nonce(after)) {
        (Some(before_nonce), Some(after_nonce)) if after != before && after_nonce <= before_nonce => {
            Err(SignedStatementError::NonceNotAdvanced { index, before: before_nonce, after: after_nonce })
        }
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use starknet_crypto::poseidon_hash_many;
    use zkthread_sig::field::M31;

    use super::*;
    use crate::model::Slot;

    /// A 124-bit collision cannot be built, so the rule is shown on ids given by hand: an id
    /// may name one owner (or contract) any number of times, never two.
    #[test]
    fn an_id_naming_two_owners_or_contracts_is_a_clash() {
        let id = |w: u32| -> Hash4 { [M31::reduce(w), M31::reduce(7), M31::reduce(8), M31::reduce(9)] };
        let (alice, vault) = (Felt::from(0xa11ceu64), Felt::from(0x7a017u64));
        let mut ids = DistinctIds::default();
        assert!(ids.account(id(1), alice), "first use");
        assert!(ids.account(id(1), alice), "the same owner's balance and key slots");
        assert!(ids.account(id(2), vault), "another id");
        assert!(!ids.account(id(1), vault), "a second owner under alice's id");
        assert!(!ids.account(id(2), alice), "and the other way round");
        assert!(ids.domain(id(1), alice), "domains are their own map");
        assert!(!ids.domain(id(1), vault));
        // Owner 0 (a book's own variables): not held to its id once seen, as in Cairo; an
        // owner seen first is held against 0 too.
        assert!(ids.account(id(3), Felt::ZERO) && ids.account(id(3), vault), "0 reads as unseen");
        assert!(ids.account(id(4), vault) && !ids.account(id(4), Felt::ZERO));
    }

    /// A layout whose slots are keyed by `(owner, id)` (test double, the shape of an order
    /// book's `orders[(owner, id)]`): key `poseidon(owner, id)`, any value below 2^64.
    struct PairKeyedTestLayout;

    impl StorageLayout for PairKeyedTestLayout {
        type Variable = u64;
        type State = u64;
        const VARIABLES: &'static str = "entries[(owner, id)]";
        const WITNESS_LEN: usize = 2;

        fn variable(&self, _contract: Felt, key: Felt, witness: &[Felt]) -> Option<(u64, Felt)> {
            let [owner, id] = witness else { return None };
            let id = u64::try_from(id.to_biguint()).ok()?;
            (key == poseidon_hash_many(&[*owner, Felt::from(id)])).then_some((id, *owner))
        }

        fn parse(&self, _id: u64, value: &Felt) -> Option<u64> {
            u64::try_from(value.to_biguint()).ok()
        }

        fn state_values(&self, domain: &Hash4, account: &AccountId, state: &u64) -> Vec<BaseField> {
            let m = |h: &Hash4| h.iter().map(|v| BaseField::from(v.to_u32())).collect::<Vec<_>>();
            let mut v = vec![BaseField::from(9)];
            v.extend(m(domain));
            v.extend(m(&account.low));
            v.extend([BaseField::from((*state & 0xFFFF) as u32), BaseField::from((*state >> 16) as u32 & 0xFFFF)]);
            v
        }

        fn key_nonce(&self, _state: &Self::State) -> Option<u32> {
            None // no key slots
        }
    }

    fn entry(owner: u64, id: u64, value: u64) -> SlotValue {
        let key = poseidon_hash_many(&[Felt::from(owner), Felt::from(id)]);
        SlotValue { slot: Slot { contract: Felt::from(7u64), key }, value: Felt::from(value) }
    }

    fn statement(inputs: Vec<SlotValue>, outputs: Vec<SlotValue>) -> SignedPublicInput {
        SignedPublicInput {
            os_version: Felt::ONE,
            program_hash: Felt::TWO,
            chain_id: Felt::THREE,
            registry: Felt::from(4u64),
            thread_id: Felt::from(5u64),
            sequence: Felt::ZERO,
            contract_set_commitment: Felt::from(6u64),
            transactions: TxListCommitment::EMPTY,
            inputs,
            outputs,
        }
    }

    /// Two entries sorted by key, with their `[owner, id]` witnesses in the same order.
    fn sorted_pair() -> (Vec<SlotValue>, Vec<Felt>) {
        let mut entries = vec![(entry(1, 10, 100), [1u64, 10]), (entry(2, 20, 200), [2, 20])];
        entries.sort_by_key(|(e, _)| e.slot);
        let witness = entries.iter().flat_map(|(_, w)| w.map(Felt::from)).collect();
        (entries.into_iter().map(|(e, _)| e).collect(), witness)
    }

    #[test]
    fn a_wide_witness_binds_each_slot_to_its_owner() {
        let (inputs, witness) = sorted_pair();
        let mut out = inputs[1];
        out.value = Felt::from(5u64);
        let s = statement(inputs.clone(), vec![out]);
        let slots = s.bind(&PairKeyedTestLayout, &witness).unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].account, account_id_wide(witness[2]));
        assert_eq!(slots[1].domain, s.domain(Felt::from(7u64)));
        assert_eq!((slots[0].before, slots[0].after), (slots[0].before, slots[0].before));
        assert_eq!(slots[1].after, 5);
        // Only the changed slot enters the boundary.
        let r = Relations::dummy();
        let changed = &slots[1..];
        assert_eq!(
            boundary_sum(&PairKeyedTestLayout, &slots, &r.state),
            boundary_sum(&PairKeyedTestLayout, changed, &r.state)
        );
        assert_ne!(boundary_sum(&PairKeyedTestLayout, changed, &r.state), SecureField::zero());
    }

    /// A layout with a whole-list rule (test double, the shape of an order book's counter):
    /// `values[owner]` (key `poseidon(owner)`) holds a u64 whose tuple also carries the scale
    /// stored in its contract's `config` slot (key 1, owner 0), a read-only input.
    struct ScaledByConfigTestLayout;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Scaled {
        Config(u64),
        Value { value: u64, scale: Option<u64> },
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    enum ScaledRefusal {
        #[error("input {index}: no config slot of its contract")]
        NoConfig { index: usize },
        #[error("output {index} writes a config slot")]
        ConfigWritten { index: usize },
    }

    impl StorageLayout for ScaledByConfigTestLayout {
        type Variable = bool; // true: config
        type State = Scaled;
        const VARIABLES: &'static str = "values[owner] or config";
        const LIST_RULES: bool = true;

        fn variable(&self, _contract: Felt, key: Felt, witness: &[Felt]) -> Option<(bool, Felt)> {
            let owner = *witness.first()?;
            if key == Felt::ONE && owner == Felt::ZERO {
                Some((true, owner))
            } else {
                (key == poseidon_hash_many(&[owner])).then_some((false, owner))
            }
        }

        fn parse(&self, config: bool, value: &Felt) -> Option<Scaled> {
            let v = u64::try_from(value.to_biguint()).ok()?;
            Some(if config { Scaled::Config(v) } else { Scaled::Value { value: v, scale: None } })
        }

        fn state_values(&self, _domain: &Hash4, _account: &AccountId, state: &Scaled) -> Vec<BaseField> {
            match state {
                Scaled::Value { value, scale: Some(s) } => {
                    vec![BaseField::from(10), BaseField::from(*value as u32), BaseField::from(*s as u32)]
                }
                _ => vec![BaseField::from(11)],
            }
        }

        fn key_nonce(&self, _state: &Self::State) -> Option<u32> {
            None // no key slots
        }
    }

    impl ListRules for ScaledByConfigTestLayout {
        type Refusal = ScaledRefusal;

        fn resolve(
            &self,
            statement: &SignedPublicInput,
            slots: &mut [BoundSlot<Scaled>],
            variables: &[bool],
        ) -> Result<(), ScaledRefusal> {
            let config = |contract: Felt| {
                statement.inputs.iter().zip(slots.iter()).find_map(|(e, s)| match s.before {
                    Scaled::Config(v) if e.slot.contract == contract => Some(v),
                    _ => None,
                })
            };
            if let Some(index) = statement.outputs.iter().position(|o| o.slot.key == Felt::ONE) {
                return Err(ScaledRefusal::ConfigWritten { index });
            }
            let scales: Vec<Option<u64>> = statement.inputs.iter().map(|e| config(e.slot.contract)).collect();
            for (index, (slot, is_config)) in slots.iter_mut().zip(variables).enumerate() {
                if *is_config {
                    continue;
                }
                let scale = Some(scales[index].ok_or(ScaledRefusal::NoConfig { index })?);
                for state in [&mut slot.before, &mut slot.after] {
                    if let Scaled::Value { scale: s, .. } = state {
                        *s = scale;
                    }
                }
            }
            Ok(())
        }
    }

    #[test]
    fn the_list_hook_resolves_from_other_slots_and_refuses_with_the_programs_reason() {
        let contract = Felt::from(7u64);
        let value = |owner: u64, v: u64| SlotValue {
            slot: Slot { contract, key: poseidon_hash_many(&[Felt::from(owner)]) },
            value: Felt::from(v),
        };
        let config = SlotValue { slot: Slot { contract, key: Felt::ONE }, value: Felt::from(1_000u64) };
        let mut inputs = vec![(config, Felt::ZERO), (value(2, 20), Felt::TWO)];
        inputs.sort_by_key(|(e, _)| e.slot);
        let witness: Vec<Felt> = inputs.iter().map(|(_, w)| *w).collect();
        let inputs: Vec<SlotValue> = inputs.into_iter().map(|(e, _)| e).collect();
        let layout = ScaledByConfigTestLayout;
        let s = statement(inputs.clone(), vec![value(2, 25)]);
        let slots = s.bind_list(&layout, &witness).expect("binds");
        let at = inputs.iter().position(|e| e.slot.key != Felt::ONE).unwrap();
        assert_eq!(slots[at].before, Scaled::Value { value: 20, scale: Some(1_000) });
        assert_eq!(slots[at].after, Scaled::Value { value: 25, scale: Some(1_000) });
        // The config slot is the evidence: without it the value slot is refused.
        let alone = statement(vec![value(2, 20)], vec![]);
        assert_eq!(
            alone.bind_list(&layout, &[Felt::TWO]),
            Err(ListBindError::Layout(ScaledRefusal::NoConfig { index: 0 }))
        );
        // An output writing the config slot.
        let mut written = config;
        written.value = Felt::from(9u64);
        let s = statement(inputs.clone(), vec![written]);
        assert_eq!(s.bind_list(&layout, &witness), Err(ListBindError::Layout(ScaledRefusal::ConfigWritten { index: 0 })));
        // The framework's rules come first, with their own reasons.
        let s = statement(inputs, vec![]);
        assert_eq!(
            s.bind_list(&layout, &witness[..1]),
            Err(ListBindError::Statement(SignedStatementError::OwnerCount { given: 1, inputs: 2, per_slot: 1 }))
        );
    }

    #[test]
    fn each_list_rule_refuses_with_its_reason() {
        let (inputs, witness) = sorted_pair();
        let s = statement(inputs.clone(), vec![]);
        let refuse = |s: &SignedPublicInput, w: &[Felt]| s.bind(&PairKeyedTestLayout, w).unwrap_err();
        assert_eq!(
            refuse(&s, &witness[..3]),
            SignedStatementError::OwnerCount { given: 3, inputs: 2, per_slot: 2 }
        );
        // The witness of the other slot (swapped ids): no variable of it has this key.
        let mut swapped = witness.clone();
        swapped.swap(1, 3);
        assert_eq!(
            refuse(&s, &swapped),
            SignedStatementError::UnboundSlot { index: 0, variables: "entries[(owner, id)]" }
        );
        let unsorted = statement(vec![inputs[1], inputs[0]], vec![]);
        assert_eq!(refuse(&unsorted, &witness), SignedStatementError::NotSorted { list: "input", index: 1 });
        let unread = statement(inputs.clone(), vec![entry(3, 30, 1)]);
        assert_eq!(refuse(&unread, &witness), SignedStatementError::OutputNotRead { index: 0 });
        let mut too_big = inputs[0];
        too_big.value = Felt::from(u128::MAX);
        let bad = statement(inputs.clone(), vec![too_big]);
        assert!(matches!(refuse(&bad, &witness), SignedStatementError::BadValue { list: "output", index: 0, .. }));
        assert_eq!(refuse(&statement(vec![], vec![]), &[]), SignedStatementError::NoInputs);
    }
}
