//! The `SignedVerifier` class (`contracts/signed_verifier/src/contract.cairo`) compiled Sierra
//! -> CASM by the harness's path (`zkthread-cairo-build`, the compiler devnet uses), the way
//! `contract_size.rs` measures `ThreadVerifier`. Built into a temporary target directory, so the
//! repository's `target/dev` artifacts are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// The class fits: measured 81,745 CASM felts (43,587 Sierra), 175 under the limit, with the
/// transaction-list commitment (the `tx_list` role: +~100 felts of AIR program and shape; its
/// statement side, parsing the packed capacity and one more boundary pair folded into the
/// state boundary's single inversion: +~1,870). Before it: 79,776 (42,007 Sierra; the DEEP
/// batches' main pass carrying only the sums: -660 felts), after the
/// verifier's step cuts of 2026-11-30 (Merkle runs -267, OODS interpreter -240, one-pass DEEP
/// batches +~1,900 — cold QM31 products kept out of line, the shifted-point cache dropped:
/// +28k steps for -573 felts). Before: 79,522 (8-bit range table, one preprocessed root per
/// height), 82,665 before the role and range-table programs were packed 7 words per felt252
/// (`signed_air::packed`). This test asserts the fit, and fails if the class grows past this
/// ceiling.
const SIGNED_VERIFIER_CEILING_FELTS: usize = 81_800;

#[test]
fn signed_verifier_casm_size() {
    let (sierra_felts, bytecode) = class_size("signed_verifier", "SignedVerifier");
    let fit = if bytecode <= MAX_CONTRACT_BYTECODE_FELTS {
        "fits".to_string()
    } else {
        format!("OVER by {}", bytecode - MAX_CONTRACT_BYTECODE_FELTS)
    };
    println!(
        "SignedVerifier: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS}: {fit})",
        sierra_felts
    );
    assert!(
        bytecode <= MAX_CONTRACT_BYTECODE_FELTS,
        "SignedVerifier is {bytecode} CASM felts, over Starknet's {MAX_CONTRACT_BYTECODE_FELTS} class limit"
    );
    assert!(
        bytecode <= SIGNED_VERIFIER_CEILING_FELTS,
        "SignedVerifier grew to {bytecode} CASM felts, past its recorded {SIGNED_VERIFIER_CEILING_FELTS} ceiling"
    );
}
