// @generated (the hex values) by `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p
// zkthread-air-codegen --test signed_verifier_size --test list_classes --test
// orderbook_air_size`, from the packages signed_verifier, list_verifier and orderbook_verifier
// (the Sierra class hashes, as harness/cairo-build computes them). Those tests fail when a
// constant is stale.
//! The class hashes of the programs' Cairo verifiers: a thread's `program_hash` names its
//! program by them (`crate::program::TokenProgram`, and the order book's `Market`).

use zkthread_client::Felt;

/// `SignedVerifier` (`contracts/programs/token/signed_verifier`).
pub const SIGNED_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x6e30fcbd3e420c13dfbd246f69e1c7d4eb4498bbdfafaa5524863ee26db84e2");
/// `ListVerifier` (`contracts/programs/token/list_verifier`).
pub const LIST_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x69beed57776867e381d64314a61b238e6f033363ee58395a572165996ef2864");
/// `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`).
pub const ORDERBOOK_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x1cbcb2ffb0725e560994e4414dda87aeb9f20727a10fceb7a8df18be62dbae2");
