//! Fixtures both test files share: light parameters, the book's contracts and accounts, and
//! their domains and ids as the AIR sees them.

#![allow(dead_code)]

use starknet_types_core::felt::Felt;
use zkthread_prover::params::StarkParams;
use zkthread_sig::domain::{account_id, transfer_domain};
use zkthread_sig::wots::Hash4;

/// Few queries, blowup 2: tests only, far below 96 bits (the token tests' parameters).
pub const TEST: StarkParams =
    StarkParams { log_blowup: 1, n_queries: 3, pow_bits: 1, log_last_layer_degree_bound: 1, fold_step: 1 };

pub const BOOK: u64 = 0xb00c;
pub const BASE: u64 = 0xba5e;
pub const QUOTE: u64 = 0x9007e;
pub const ALICE: u64 = 0xa11ce;
pub const BOB: u64 = 0xb0b;

/// The domain of `contract` in the tests' thread.
pub fn domain(contract: u64) -> Hash4 {
    let chain = Felt::from_bytes_be_slice(b"SN_SEPOLIA");
    transfer_domain(chain, Felt::from(0x4e6u64), Felt::from(3u8), Felt::from(contract))
}

pub fn account(a: u64) -> Hash4 {
    account_id(Felt::from(a))
}
