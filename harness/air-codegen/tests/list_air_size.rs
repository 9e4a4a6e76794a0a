//! The token list AIR's class `ListAir` (`contracts/programs/token/list_air/src/air_class.cairo`: the
//! composition at the OODS point, which the list program's verifier library-calls), compiled Sierra -> CASM
//! by the harness's path (`zkthread-cairo-build`, the compiler devnet uses). Built into a
//! temporary target directory, so the repository's `target/dev` artifacts are left alone.

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};

/// What the AIR class may take: measured 68,133 CASM felts (30,109 Sierra; 2026-12-04,
/// session 33: the list head and item roles, the authorization roles and the range table as
/// straight-line code, Poseidon2 by `program_air::poseidon2`), 9,690 more than `SignedAir`
/// (the item's 78 constraints over 146 columns against the transfer role's). A class of its
/// own: the verifier keeps its 81,920.
const LIST_AIR_BUDGET_FELTS: usize = 72_000;

#[test]
fn list_air_class_casm_size() {
    let (sierra_felts, bytecode) = class_size("list_air", "ListAir");
    println!(
        "ListAir: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})",
        sierra_felts
    );
    assert!(
        bytecode <= LIST_AIR_BUDGET_FELTS,
        "the list AIR class is {bytecode} CASM felts, over its {LIST_AIR_BUDGET_FELTS} budget"
    );
}
