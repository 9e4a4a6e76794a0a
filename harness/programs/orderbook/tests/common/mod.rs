//! Fixtures the test files share: light parameters, the book's contracts and accounts, their
//! domains and ids as the AIR sees them, and the statement of a sub-block's changes.

#![allow(dead_code)]

pub mod orders;

use starknet_types_core::felt::Felt;
use zkthread_orderbook::{statement_of, Change, Directory};
use zkthread_prover::params::StarkParams;
use zkthread_prover::statement::SignedPublicInput;
use zkthread_sig::domain::account_id;
use zkthread_sig::wots::Hash4;
use zkthread_sig::TxListCommitment;

/// Few queries, blowup 2: tests only, far below 96 bits (the token tests' parameters).
pub const TEST: StarkParams =
    StarkParams { log_blowup: 1, n_queries: 3, pow_bits: 1, log_last_layer_degree_bound: 1, fold_step: 1 };

pub const BOOK: u64 = 0xb00c;
pub const BASE: u64 = 0xba5e;
pub const QUOTE: u64 = 0x9007e;
/// A token of the prover's own, not the book's.
pub const JUNK: u64 = 0x1dead;
pub const ALICE: u64 = 0xa11ce;
pub const BOB: u64 = 0xb0b;
pub const CAROL: u64 = 0xca201;
pub const DAVE: u64 = 0xda7e;
pub const EVE: u64 = 0xe7e;

/// The tests' thread (chain, registry, thread id) and a statement header with no slots.
pub fn header(transactions: TxListCommitment) -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::ONE,
        program_hash: Felt::from(0x0b00u64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::from(3u8),
        sequence: Felt::ZERO,
        contract_set_commitment: Felt::from(0xc5u64),
        transactions,
        inputs: vec![],
        outputs: vec![],
    }
}

/// The domain of `contract` in the tests' thread.
pub fn domain(contract: u64) -> Hash4 {
    header(TxListCommitment::EMPTY).domain(Felt::from(contract))
}

pub fn account(a: u64) -> Hash4 {
    account_id(Felt::from(a))
}

/// The book, its tokens, JUNK and the five owners.
pub fn directory() -> Directory {
    Directory {
        book: Felt::from(BOOK),
        base: Felt::from(BASE),
        quote: Felt::from(QUOTE),
        other_tokens: vec![Felt::from(JUNK)],
        owners: [ALICE, BOB, CAROL, DAVE, EVE].map(Felt::from).to_vec(),
    }
}

/// The statement of `changes` (with the book's configuration as read-only inputs) and its
/// binding witness.
pub fn bind(changes: &[Change], transactions: TxListCommitment) -> (SignedPublicInput, Vec<Felt>) {
    statement_of(&header(transactions), &directory(), changes).expect("the changes are expressible")
}
