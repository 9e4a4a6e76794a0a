// @generated (the hex values) by `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p
// zkthread-air-codegen --test signed_verifier_size --test list_classes --test
// orderbook_air_size`, from the packages signed_verifier, list_verifier and orderbook_verifier
// (the Sierra class hashes, as harness/cairo-build computes them). Those tests fail when a
// constant is stale.
//! The class hashes of the programs' Cairo verifiers: a thread's `program_hash` names its
//! program by them (`crate::program::TokenProgram`, and the order book's `Market`).

use zkthread_client::Felt;

/// `SignedVerifier` (`contracts/programs/token/signed_verifier`).
pub const SIGNED_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x4079748dd53342022f36c710fbde5c3dd34ec3397335af41a01adf54e937882");
/// `ListVerifier` (`contracts/programs/token/list_verifier`).
pub const LIST_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x5d103392443aa164cc230ec3be4dc7aaa8bc699044b363488114a88000abcae");
/// `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`).
pub const ORDERBOOK_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x6e3e7c431994318d8846321b9aa18fedd403c18763fe2ae08044f7e0797b78c");
