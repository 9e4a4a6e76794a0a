//! The signed AIR's class `SignedAir` (`contracts/programs/token/signed_air/src/air_class.cairo`: the
//! composition at the OODS point, which `SignedVerifier` library-calls), compiled Sierra -> CASM
//! by the harness's path (`zkthread-cairo-build`, the compiler devnet uses). Built into a
//! temporary target directory, so the repository's `target/dev` artifacts are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// What the AIR class may take: measured 58,471 CASM felts (24,883 Sierra; 2026-12-02, session
/// 23, with the generated `params_at` / `append_params` inlined; 59,811 in session 21, 64,241
/// before operands were narrowed only past the bound) since its roles and range table are
/// compiled to straight-line code (`zkthread_air_codegen::straight`:
/// one function per intermediate and constraint, the products, mask reads and folds as calls;
/// 85,599 with them inlined, 148,905 with `mul_wide` inlined as well), where the interpreter and
/// its programs took 19,080 (9,534 Sierra). The class holds that code, the Poseidon2 evaluator
/// and the field and circle code they use. A class of its own: the verifier keeps its 81,920.
const SIGNED_AIR_BUDGET_FELTS: usize = 70_000;

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
