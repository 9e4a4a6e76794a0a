//! The committed signed-AIR Cairo files (`contracts/programs/token/signed_air`) must equal a fresh generation
//! from the Rust AIR, p3's constants and stwo; the generator's view of the proof must be the
//! prover's.

use zkthread_air_codegen::signed::{self, COMPONENT_NAMES, POSEIDON2_INDEX};
use zkthread_token::prover::{column_log_sizes, SignedTokenProgram};
use zkthread_token::roles::{ChainStepRole, DigestRole, KeySpongeRole, TransferRole, TxListRole};

mod common;
use common::{assert_symbolic_components_are_the_drivers, role_shape};

fn assert_fresh(path: std::path::PathBuf, fresh: String) {
    common::assert_fresh(path, fresh, "cargo run -p zkthread-air-codegen -- --signed", None);
}

#[test]
fn committed_signed_air_evaluation_matches_the_rust_air() {
    let fresh = signed::render_signed_air().expect("the signed AIR generates");
    assert_fresh(signed::signed_air_path(), fresh);
}

#[test]
fn committed_poseidon2_tables_match_p3() {
    let fresh = signed::render_signed_poseidon2().expect("the Poseidon2 tables generate");
    assert_fresh(signed::signed_poseidon2_path(), fresh);
}

#[test]
fn committed_signed_vectors_match_stwo() {
    assert_fresh(
        signed::signed_vectors_path(),
        zkthread_air_codegen::signed_vectors::render_signed_vectors(),
    );
}

#[test]
fn symbolic_components_are_the_provers() {
    let components = signed::symbolic_signed_components().expect("symbolic evaluation");
    let roles = [
        role_shape::<TransferRole>(),
        role_shape::<ChainStepRole>(),
        role_shape::<DigestRole>(),
        role_shape::<KeySpongeRole>(),
        role_shape::<TxListRole>(),
    ];
    assert_eq!(roles.len(), POSEIDON2_INDEX);
    let log = [4, 6, 4, 5, 4, 7];
    assert_symbolic_components_are_the_drivers::<SignedTokenProgram>(&components, &COMPONENT_NAMES, &roles, &log);
    // The token prover's own column sizes are the driver's.
    assert_eq!(column_log_sizes(&log), zkthread_prover::program::column_log_sizes::<SignedTokenProgram>(&log));
}

#[test]
fn poseidon2_layout_is_regular() {
    signed::poseidon2_layout().expect("the Cairo loops address the Rust columns");
}
