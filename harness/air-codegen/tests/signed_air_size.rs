//! The signed AIR's class `SignedAir` (`contracts/programs/token/signed_air/src/air_class.cairo`: the
//! composition at the OODS point, which `SignedVerifier` library-calls), compiled Sierra -> CASM
//! by the harness's path (`zkthread-cairo-build`, the compiler devnet uses). Built into a
//! temporary target directory, so the repository's `target/dev` artifacts are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// What the AIR class may take: measured 19,080 CASM felts (9,534 Sierra; 2026-12-01). The
/// never-deployed `SignedAirProbe` it replaced measured 21,230 for the same evaluation: it
/// rebuilt the nested mask and checked its shape, where the class reads the flat values the
/// verifier sends (the verifier checks the shape). The class holds the interpreter, the Poseidon2 evaluator, the packed programs and the field and circle code
/// they use. A class of its own, so the order book's (a larger program) has the whole
/// 81,920-felt limit.
const SIGNED_AIR_BUDGET_FELTS: usize = 27_000;

#[test]
fn signed_air_class_casm_size() {
    let (sierra_felts, bytecode) = class_size("signed_air", "SignedAir");
    println!(
        "SignedAir: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})",
        sierra_felts
    );
    assert!(
        bytecode <= SIGNED_AIR_BUDGET_FELTS,
        "the signed AIR class is {bytecode} CASM felts, over its {SIGNED_AIR_BUDGET_FELTS} budget"
    );
}
