//! The token list program's classes compiled Sierra -> CASM by the harness's path
//! (`zkthread-cairo-build`, the compiler devnet uses), each into a temporary target directory
//! (the repository's `target/dev` artifacts are left alone): `ListAir`
//! (`contracts/programs/token/list_air/src/air_class.cairo`, the composition at the OODS point)
//! and `ListVerifier` fit Starknet's class limit, and the verifier's constant
//! `LIST_AIR_CLASS_HASH` (`contracts/programs/token/list_verifier/src/generated_air_class.cairo`)
//! is `ListAir`'s Sierra class hash (a stale one would library-call a class nobody declares,
//! or an old AIR).

mod common;
use common::{class_size, MAX_CONTRACT_BYTECODE_FELTS};
use zkthread_air_codegen::signed_air_class as v;

/// What the AIR class may take: measured 68,133 CASM felts (30,109 Sierra; 2026-12-04,
/// session 33: the list head and item roles, the authorization roles and the range table as
/// straight-line code, Poseidon2 by `program_air::poseidon2`), 9,690 more than `SignedAir`
/// (the item's 78 constraints over 146 columns against the transfer role's). 65,450 since list
/// AIR version 4 (session 51: the item's 59 constraints over 141 columns, no even/odd block).
/// A class of its own: the verifier keeps its 81,920.
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

/// `ZKTHREAD_WRITE_LIST_AIR_CLASS=1` rewrites the constant (the build's second stage).
#[test]
fn committed_list_air_class_hash_is_fresh() {
    let air = v::LIST_AIR;
    let (artifact, _) = common::class_artifact(air.package, air.contract);
    common::assert_fresh(
        v::air_class_path(&air),
        v::render_air_class(&air, artifact.class_hash),
        "ZKTHREAD_WRITE_LIST_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test list_classes",
        Some("ZKTHREAD_WRITE_LIST_AIR_CLASS"),
    );
}

/// The verifier core with the token's statement and the list AIR's call: measured 74,164 CASM
/// felts (34,821 Sierra; 2026-12-04, session 33), 621 more than `SignedVerifier` (one more
/// component's parameters and sizes); 74,475 (35,157 Sierra; 2026-12-05) with its second
/// parameter set and the search for the set a proof names (`program_verifier::verifier::
/// ParamSets`), 7,445 under the class limit; 74,393 (35,140 Sierra; 2026-12-06) with three
/// felts in eight of the M31 stream cut by a division (`Mixed`) and the last FRI layer compared
/// by an exact division; 74,422 with the last layer's coefficient count checked where it is
/// folded (+29); 75,425 (35,592 Sierra; 2026-12-06, session 44) with the Merkle leaves'
/// pass of four rows for the fast set's 20 queries (`stark_verifier::merkle::
/// RowsByEightAndFour`, +1,003, in this class only), 6,495 under the class limit; 76,236
/// (36,009 Sierra; 2026-12-06, session 49) with the statement's distinct-id map and key-step
/// rule (+811; the ids packed by `pack_key_slot`), 5,684 under the class limit; 76,863 (36,380
/// Sierra; session 50) with each balance and key slot named by its owner's 248-bit id (+627),
/// 5,057 under the class limit; 78,607 (37,352 Sierra; 2026-12-07, session 57) with the DEEP
/// sums of blocks of eight and four queries eight columns an iteration
/// (`stark_verifier::pcs::sums_eight_wide`, `sums_four_wide`, in this class only) and a fourth
/// felt in eight of the M31 stream cut by a division (`Mixed`): +1,744 together,
/// 3,313 under the class limit; 78,499 with the statement's owner high words summed once per
/// changed slot (-108). Fails past this ceiling.
const LIST_VERIFIER_CEILING_FELTS: usize = 78_650;

#[test]
fn list_verifier_class_casm_size() {
    let (artifact, bytecode) = common::class_artifact("list_verifier", "ListVerifier");
    let sierra_felts = artifact.sierra.sierra_program.len();
    // The same build pins the class hash the engine tells a list thread by.
    common::assert_pinned_verifier_class("LIST_VERIFIER_CLASS_HASH", artifact.class_hash);
    println!("ListVerifier: {sierra_felts} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS})");
    assert!(
        bytecode <= LIST_VERIFIER_CEILING_FELTS.min(MAX_CONTRACT_BYTECODE_FELTS),
        "ListVerifier is {bytecode} CASM felts, over its {LIST_VERIFIER_CEILING_FELTS} ceiling"
    );
}
