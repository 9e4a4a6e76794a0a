//! The token-thread state model: slots, balances, transfers and the sub-block.

use starknet::core::utils::get_storage_var_address;
use starknet_types_core::felt::Felt;

/// A storage slot of the thread: `(contract_address, storage_key)`.
///
/// Ordering is `(contract, key)` ascending as 252-bit integers (`Felt`'s `Ord` is numeric), the
/// canonical order of every public list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub contract: Felt,
    pub key: Felt,
}

impl Slot {
    /// The slot holding `balances[account]` of a thread-ready token contract, whose storage has
    /// `balances: Map<ContractAddress, u128>` at top level: key = `sn_keccak("balances")` hashed
    /// with the account as Cairo's storage `Map` does (Pedersen, reduced mod 2^251 - 256).
    pub fn balance(token: Felt, account: Felt) -> Self {
        // "balances" is ASCII, so the helper cannot fail.
        let key = get_storage_var_address("balances", &[account])
            .expect("\"balances\" is an ASCII storage variable name");
        Slot { contract: token, key }
    }
}

/// One entry of the input or output list: a slot and its value (a u128 balance in a felt252).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotValue {
    pub slot: Slot,
    pub value: Felt,
}

impl SlotValue {
    pub fn new(slot: Slot, value: u128) -> Self {
        SlotValue { slot, value: Felt::from(value) }
    }
}

/// `transfer(token, from, to, amount)` of a thread-ready token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transfer {
    pub token: Felt,
    pub from: Felt,
    pub to: Felt,
    pub amount: u128,
}

impl Transfer {
    pub fn from_slot(&self) -> Slot {
        Slot::balance(self.token, self.from)
    }
    pub fn to_slot(&self) -> Slot {
        Slot::balance(self.token, self.to)
    }
}

/// An ordered batch of a thread's transactions with its state lists.
///
/// `inputs`: every slot read, with its value before the sub-block; `outputs`: every slot written,
/// with its value after (a slot written back to its old value still appears). Both are sorted by
/// slot ascending, without duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubBlock {
    pub transfers: Vec<Transfer>,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
}

impl SubBlock {
    /// The owner of each input slot (the account whose `balances` entry it is), in input
    /// order: what the verifier needs to check that every slot is one the program declares.
    /// `None` if an input slot is touched by no transfer (a batcher never builds that).
    pub fn slot_owners(&self) -> Option<Vec<Felt>> {
        let mut owner = std::collections::BTreeMap::new();
        for tx in &self.transfers {
            owner.insert(tx.from_slot(), tx.from);
            owner.insert(tx.to_slot(), tx.to);
        }
        self.inputs.iter().map(|e| owner.get(&e.slot).copied()).collect()
    }
}

/// A balance as u128 if the felt holds one.
pub fn felt_to_u128(value: &Felt) -> Option<u128> {
    let digits = value.to_le_digits();
    if digits[2] != 0 || digits[3] != 0 {
        return None;
    }
    Some(u128::from(digits[0]) | (u128::from(digits[1]) << 64))
}
