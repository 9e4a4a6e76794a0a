//! The committed signed-AIR Cairo files (`contracts/programs/token/signed_air`) must equal a fresh generation
//! from the Rust AIR, p3's constants and stwo; the generator's view of the proof must be the
//! prover's.

use stwo::core::fields::m31::BaseField;
use zkthread_air_codegen::signed::{self, COMPONENT_NAMES, POSEIDON2_INDEX};
use zkthread_prover::poseidon2::air as p2;
use zkthread_token::prover::column_log_sizes;
use zkthread_token::role::Role;
use zkthread_token::roles::{ChainStepRole, DigestRole, KeySpongeRole, TransferRole, TxListRole};

mod common;

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

/// (main columns, own constraints, interaction columns) of a role.
fn shape<R: Role>() -> (usize, usize, usize) {
    let zeros = vec![BaseField::from(0u32); R::N_COLUMNS];
    (
        R::N_COLUMNS,
        R::constraints(&zeros).len(),
        R::interaction_columns(),
    )
}

#[test]
fn symbolic_components_are_the_provers() {
    let components = signed::symbolic_signed_components().expect("symbolic evaluation");
    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, COMPONENT_NAMES);
    // Main columns and constraints per role: its own constraints plus one per LogUp batch.
    let roles = [
        shape::<TransferRole>(),
        shape::<ChainStepRole>(),
        shape::<DigestRole>(),
        shape::<KeySpongeRole>(),
        shape::<TxListRole>(),
    ];
    for (c, (columns, own, interaction)) in components.iter().zip(roles) {
        assert_eq!(c.mask_offsets[1].len(), columns, "{}", c.name);
        assert_eq!(c.mask_offsets[2].len(), interaction, "{}", c.name);
        assert_eq!(c.constraints.len(), own + interaction / 4, "{}", c.name);
    }
    let poseidon2 = &components[POSEIDON2_INDEX];
    assert_eq!(poseidon2.mask_offsets[1].len(), p2::N_COLUMNS);
    assert_eq!(poseidon2.constraints.len(), p2::N_CONSTRAINTS);
    // The column log sizes the Cairo side commits with are the prover's.
    let shape =
        zkthread_air_codegen::cairo::mask_shape(&components, signed::N_PREPROCESSED_COLUMNS);
    let log = [4, 6, 4, 5, 4, 7];
    let sizes = column_log_sizes(&log);
    let logs = [
        log[0],
        log[1],
        log[2],
        log[3],
        log[4],
        log[5],
        zkthread_token::range::range_log_size(&log),
    ];
    for tree in 0..3 {
        assert_eq!(shape[tree].len(), sizes[tree].len(), "tree {tree} columns");
        // What the generated `column_log_sizes` appends: each component's columns, in order.
        let mut generated = vec![0; sizes[tree].len()];
        for (c, l) in components.iter().zip(logs) {
            if tree == 0 {
                c.preprocessed.values().for_each(|col| generated[*col] = l);
            } else {
                for k in 0..c.mask_offsets[tree].len() {
                    generated[c.col_start[tree] + k] = l;
                }
            }
        }
        assert_eq!(generated, sizes[tree], "tree {tree} log sizes");
    }
}

#[test]
fn poseidon2_layout_is_regular() {
    signed::poseidon2_layout().expect("the Cairo loops address the Rust columns");
}
