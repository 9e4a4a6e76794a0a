//! The committed token list program's Cairo files (`contracts/programs/token/list_air`, the
//! parameters and proof vector of `contracts/programs/token/list_verifier`) must equal a fresh
//! generation from the Rust AIR and stwo (proving is deterministic: Fiat-Shamir only); the
//! generator's view of the proof must be the framework driver's for `SignedListProgram`.

use stwo::core::fields::m31::BaseField;
use zkthread_air_codegen::signed_list::{
    self, render_list_vectors, symbolic_list_components, LIST_CASES, LIST_COMPONENT_NAMES,
};
use zkthread_prover::auth::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};
use zkthread_prover::poseidon2::air as p2;
use zkthread_prover::program::{column_log_sizes, sized_components};
use zkthread_prover::range::range_log_size;
use zkthread_prover::role::Role;
use zkthread_token::list::{ListHeadRole, ListItemRole};
use zkthread_token::list_prover::{SignedListProgram, LIST_SIZED_COMPONENTS};

mod common;

fn assert_fresh(path: std::path::PathBuf, fresh: String) {
    common::assert_fresh(path, fresh, "cargo run -p zkthread-air-codegen -- --list", None);
}

#[test]
fn committed_list_air_evaluation_matches_the_rust_air() {
    let fresh = signed_list::render_list_air().expect("the list AIR generates");
    assert_fresh(signed_list::list_air_path(), fresh);
}

#[test]
fn committed_list_vectors_match_stwo() {
    assert_fresh(signed_list::list_vectors_path(), render_list_vectors());
}

#[test]
fn committed_list_params_are_fresh() {
    use zkthread_air_codegen::signed_params as p;
    assert_fresh(p::list_params_path(), p::render_list_params());
}

#[test]
fn committed_list_proof_vector_is_a_fresh_proof() {
    use zkthread_air_codegen::list_proof_vector as v;
    assert_fresh(v::list_proof_vector_path(), v::render_list_proof_vector().expect("proves and verifies"));
}

/// (main columns, own constraints, interaction columns) of a role.
fn shape<R: Role>() -> (usize, usize, usize) {
    let zeros = vec![BaseField::from(0u32); R::N_COLUMNS];
    (R::N_COLUMNS, R::constraints(&zeros).len(), R::interaction_columns())
}

#[test]
fn symbolic_components_are_the_drivers() {
    let components = symbolic_list_components().expect("symbolic evaluation");
    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, LIST_COMPONENT_NAMES);
    assert_eq!(sized_components::<SignedListProgram>(), LIST_SIZED_COMPONENTS);
    // Main columns and constraints per role: its own constraints plus one per LogUp batch.
    let roles = [
        shape::<ListHeadRole>(),
        shape::<ListItemRole>(),
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
    let poseidon2 = &components[6];
    assert_eq!(poseidon2.mask_offsets[1].len(), p2::N_COLUMNS);
    assert_eq!(poseidon2.constraints.len(), p2::N_CONSTRAINTS);
    // The column log sizes the Cairo side commits with are the driver's.
    let shape = zkthread_air_codegen::cairo::mask_shape(
        &components,
        zkthread_air_codegen::signed::N_PREPROCESSED_COLUMNS,
    );
    let log = LIST_CASES[1].0;
    let sizes = column_log_sizes::<SignedListProgram>(&log);
    let logs: Vec<u32> = log.iter().copied().chain([range_log_size(&log)]).collect();
    for tree in 0..3 {
        assert_eq!(shape[tree].len(), sizes[tree].len(), "tree {tree} columns");
        // What the generated `column_log_sizes` appends: each component's columns, in order.
        let mut generated = vec![0; sizes[tree].len()];
        for (c, l) in components.iter().zip(&logs) {
            if tree == 0 {
                c.preprocessed.values().for_each(|col| generated[*col] = *l);
            } else {
                for k in 0..c.mask_offsets[tree].len() {
                    generated[c.col_start[tree] + k] = *l;
                }
            }
        }
        assert_eq!(generated, sizes[tree], "tree {tree} log sizes");
    }
}
