//! The committed Cairo files must equal a fresh generation from the Rust AIR and stwo.

mod common;

fn assert_fresh(path: std::path::PathBuf, fresh: String) {
    common::assert_fresh(path, fresh, "cargo run -p zkthread-air-codegen", None);
}

#[test]
fn committed_air_evaluation_matches_the_rust_air() {
    let fresh = zkthread_air_codegen::render_air().expect("the AIR generates");
    assert_fresh(zkthread_air_codegen::air_path(), fresh);
}

#[test]
fn committed_air_vectors_match_stwo() {
    assert_fresh(
        zkthread_air_codegen::vectors_path(),
        zkthread_air_codegen::vectors::render_vectors(),
    );
}

#[test]
fn symbolic_components_bind_every_column_of_the_proof() {
    use zkthread_prover::air::{TRANSFER_COLUMNS, TRANSFER_INTERACTION_COLUMNS};
    let components = zkthread_air_codegen::symbolic_components().expect("symbolic evaluation");
    let shape = zkthread_air_codegen::cairo::mask_shape(&components, 1);
    // Preprocessed: the range table; main: transfer columns + multiplicity; interaction: the
    // transfer's LogUp columns + the table's 4, where only each component's last 4 (the running
    // sum) are sampled at two points.
    assert_eq!(shape[0], vec![1]);
    assert_eq!(shape[1], vec![1; TRANSFER_COLUMNS + 1]);
    let mut interaction = vec![1; TRANSFER_INTERACTION_COLUMNS - 4];
    interaction.extend([2; 8]);
    assert_eq!(shape[2], interaction);
    // Boolean enabled + 14 booleans + 16 limb equations + 14 LogUp batches; table: 1 batch.
    assert_eq!(components[0].constraints.len(), 1 + 14 + 16 + 14);
    assert_eq!(components[1].constraints.len(), 1);
}

#[test]
fn committed_parameter_constants_match_the_prover() {
    assert_fresh(
        zkthread_air_codegen::params_path(),
        zkthread_air_codegen::proof_vector::render_params(),
    );
}

/// Proving is deterministic (Fiat-Shamir only): a fresh proof equals the committed one.
#[test]
fn committed_test_proof_is_a_fresh_proof() {
    let fresh =
        zkthread_air_codegen::proof_vector::render_proof_vector().expect("proves and verifies");
    assert_fresh(zkthread_air_codegen::proof_vector_path(), fresh);
}

#[test]
fn committed_default_proof_is_a_fresh_proof() {
    let fresh = zkthread_air_codegen::proof_vector::render_default_proof_vector()
        .expect("proves and verifies");
    assert_fresh(zkthread_air_codegen::default_proof_vector_path(), fresh);
}
