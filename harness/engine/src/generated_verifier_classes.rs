// @generated (the hex values) by `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p
// zkthread-air-codegen --test signed_verifier_size --test list_classes --test
// orderbook_air_size`, from the packages signed_verifier, list_verifier and orderbook_verifier
// (the Sierra class hashes, as harness/cairo-build computes them). Those tests fail when a
// constant is stale.
//! The class hashes of the programs' Cairo verifiers: a thread's `program_hash` names its
//! program by them (`crate::program::TokenProgram`, and the order book's `Market`).

use zkthread_client::Felt;

/// `SignedVerifier` (`contracts/programs/token/signed_verifier`).
pub const SIGNED_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x38114461ebcd4769b50d4cda425b6e7e968cf5e2ab75955bbb324dd6bbe7f20");
/// `ListVerifier` (`contracts/programs/token/list_verifier`).
pub const LIST_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x590706d7fed7c3463a0704273be3289657db919f565dd419dfd2bcb55e5c22");
/// `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`).
pub const ORDERBOOK_VERIFIER_CLASS_HASH: Felt = Felt::from_hex_unchecked("0x4eec40055a2a958b25034054a944ab8ab26db7003bcd2978179d375ed8cf7fe");
