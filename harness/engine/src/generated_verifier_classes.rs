// @generated (the hex values) by `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p
// zkthread-air-codegen --test signed_verifier_size --test list_classes --test
// orderbook_air_size`, from the packages signed_verifier, list_verifier and orderbook_verifier
// (the Sierra class hashes, as harness/cairo-build computes them). Those tests fail when a
// constant is stale.
//! The class hashes of the programs' Cairo verifiers: a thread's `program_hash` names its
//! program by them (`crate::program::TokenProgram`, and the order book's `Market`).

use zkthread_client::Felt;

/// `SignedVerifier` (`contracts/programs/token/signed_verifier`).
pub const SIGNED_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x6f7734c2e6e341e32132a45e62853e40543e11a8b0f11748890317beddbc5f6");
/// `ListVerifier` (`contracts/programs/token/list_verifier`).
pub const LIST_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x7c1c65d668d85d2001dff98cd7a5d22452a8d66e4c14e80b6fb34cbf2e78a25");
/// `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`).
pub const ORDERBOOK_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x71f2caf761d950a01bc6c0e827ee0f60ae40a532e371e10e1cfdd75b782c619");
