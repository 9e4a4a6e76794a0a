// @generated (the hex values) by `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p
// zkthread-air-codegen --test signed_verifier_size --test list_classes --test
// orderbook_air_size`, from the packages signed_verifier, list_verifier and orderbook_verifier
// (the Sierra class hashes, as harness/cairo-build computes them). Those tests fail when a
// constant is stale.
//! The class hashes of the programs' Cairo verifiers: a thread's `program_hash` names its
//! program by them (`crate::program::TokenProgram`, and the order book's `Market`).

use zkthread_client::Felt;

/// `SignedVerifier` (`contracts/programs/token/signed_verifier`).
pub const SIGNED_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x668d1d6daadd938fe66f4402977b34c87268f52e765b4949304f70e678b9e39");
/// `ListVerifier` (`contracts/programs/token/list_verifier`).
pub const LIST_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x49301eb2f65de49163899b38e98a6ae613b786ecddd4dfcc659d7a4c0f514ae");
/// `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`).
pub const ORDERBOOK_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x10a4ab56506dc5f4bc984972bf795e2b71cb914d16577e85e6435c38a59bf35");
