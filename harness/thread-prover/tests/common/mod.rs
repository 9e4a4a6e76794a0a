//! Shared scenario builders for the prover tests.
#![allow(dead_code)]

use std::collections::HashMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::{contract_set_commitment, Batcher, PublicInput, Slot, SubBlock, Transfer};

pub const TOKEN_A: u64 = 0x7a11;
pub const TOKEN_B: u64 = 0xb0b;

/// Current balances of a few accounts of two tokens.
pub fn genesis(accounts: u64, balance: u128) -> HashMap<Slot, Felt> {
    let mut state = HashMap::new();
    for token in [TOKEN_A, TOKEN_B] {
        for a in 1..=accounts {
            state.insert(Slot::balance(Felt::from(token), Felt::from(a)), Felt::from(balance));
        }
    }
    state
}

pub fn transfer(token: u64, from: u64, to: u64, amount: u128) -> Transfer {
    Transfer { token: Felt::from(token), from: Felt::from(from), to: Felt::from(to), amount }
}

pub fn batcher() -> Batcher {
    Batcher::new([Felt::from(TOKEN_A), Felt::from(TOKEN_B)])
}

pub fn public_input_for(sub_block: &SubBlock, sequence: u64) -> PublicInput {
    PublicInput {
        os_version: Felt::from(1u8),
        program_hash: Felt::from_hex_unchecked("0x5eed0fc1a55"),
        thread_id: Felt::from(7u8),
        sequence: Felt::from(sequence),
        contract_set_commitment: contract_set_commitment(&[Felt::from(TOKEN_A), Felt::from(TOKEN_B)]),
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    }
}

/// A valid sub-block over both tokens.
pub fn sample_sub_block() -> SubBlock {
    let state = genesis(4, 1_000);
    let txs = [
        transfer(TOKEN_A, 1, 2, 300),
        transfer(TOKEN_A, 2, 3, 1_250),
        transfer(TOKEN_B, 4, 1, 999),
        transfer(TOKEN_A, 3, 1, 1),
    ];
    batcher().batch_strict(&txs, |s| state.get(s).copied()).expect("valid sub-block")
}
