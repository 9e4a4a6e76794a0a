//! The signed AIR's evaluation in a class: `contracts/signed_air`'s `SignedAirProbe` (one entry
//! point that evaluates the whole composition from calldata), compiled Sierra -> CASM by the
//! harness's path (`zkthread-cairo-build`, the compiler devnet uses). Built into a temporary
//! target directory, so the repository's `target/dev` artifacts are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// What the probe may take (measured 22,078 with the programs packed, 25,451 before): the
/// interpreter, Poseidon2 evaluator, programs and shape check a verifier adds, plus the probe's
/// calldata decoding and circle/field code a verifier has anyway. The rest of a signed
/// verifier (`stark_verifier` ~49k, proof parsing, statement, transcript) must fit next to it.
const SIGNED_AIR_BUDGET_FELTS: usize = 27_000;

#[test]
fn signed_air_probe_casm_size() {
    let (sierra_felts, bytecode) = class_size("signed_air", "SignedAirProbe");
    println!(
        "SignedAirProbe: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})",
        sierra_felts
    );
    assert!(
        bytecode <= SIGNED_AIR_BUDGET_FELTS,
        "the signed AIR evaluation is {bytecode} CASM felts, over its {SIGNED_AIR_BUDGET_FELTS} budget"
    );
}
