//! The committed token list program's Cairo files (`contracts/programs/token/list_air`, the
//! parameters and proof vector of `contracts/programs/token/list_verifier`) must equal a fresh
//! generation from the Rust AIR and stwo (proving is deterministic: Fiat-Shamir only); the
//! generator's view of the proof must be the framework driver's for `SignedListProgram`.

use zkthread_air_codegen::signed_list::{
    self, render_list_vectors, symbolic_list_components, LIST_CASES, LIST_COMPONENT_NAMES,
};
use zkthread_prover::auth::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};
use zkthread_prover::program::sized_components;
use zkthread_token::list::{ListHeadRole, ListItemRole};
use zkthread_token::list_prover::{SignedListProgram, LIST_SIZED_COMPONENTS};

mod common;
use common::{assert_symbolic_components_are_the_drivers, role_shape};

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

#[test]
fn symbolic_components_are_the_drivers() {
    let components = symbolic_list_components().expect("symbolic evaluation");
    assert_eq!(sized_components::<SignedListProgram>(), LIST_SIZED_COMPONENTS);
    let roles = [
        role_shape::<ListHeadRole>(),
        role_shape::<ListItemRole>(),
        role_shape::<ChainStepRole>(),
        role_shape::<DigestRole>(),
        role_shape::<KeySpongeRole>(),
        role_shape::<TxListRole>(),
    ];
    assert_symbolic_components_are_the_drivers::<SignedListProgram>(
        &components,
        &LIST_COMPONENT_NAMES,
        &roles,
        &LIST_CASES[1].0,
    );
}

/// stwo answers a query position drawn twice once, so a tree's columns then hold fewer rows
/// than `n_queries`. Such a proof (found by trying proof-of-work bits at the row-pass
/// vector's small domain: each changes the transcript, so the draws) encodes with one row
/// count per tree, decodes to the same proof and verifies after decoding. A format that took
/// `n_queries` as every column's length could not encode it (session 58, helper-98).
#[test]
fn a_proof_with_a_repeated_query_position_round_trips_and_verifies() {
    use zkthread_air_codegen::list_proof_vector::{list_scenario_proof, LIST_ROWS_TEST_PARAMS};
    use zkthread_prover::Poseidon252MerkleChannel as MC;
    use zkthread_token::list_prover::{list_proof_from_felts, list_proof_to_felts, verify_list};
    for pow_bits in 1..=24 {
        let params = zkthread_prover::params::StarkParams { pow_bits, ..LIST_ROWS_TEST_PARAMS };
        let (pi, felts) = list_scenario_proof(&params, None).expect("the scenario proves and verifies");
        let proof = list_proof_from_felts::<MC>(&felts).expect("the proof decodes");
        let n_queries = params.n_queries as usize;
        let repeated = proof.stark.0.queried_values.iter().skip(1).any(|tree| tree.iter().any(|col| col.len() < n_queries));
        if !repeated {
            continue;
        }
        assert_eq!(list_proof_to_felts(&proof), felts, "the round trip is exact");
        verify_list::<MC>(&pi, &proof, &params).expect("the decoded proof verifies");
        return;
    }
    panic!("no proof-of-work setting up to 24 bits drew a repeated query position");
}

/// A forger drops the last queried row from every column of the main tree (one query's
/// decommitment fewer to answer) and writes the proof in the valid layout, one row count per
/// tree. It decodes, and the verifier refuses it.
#[test]
fn a_forged_proof_with_a_queried_row_dropped_does_not_verify() {
    use zkthread_air_codegen::list_proof_vector::{list_scenario_proof, LIST_ROWS_TEST_PARAMS};
    use zkthread_prover::Poseidon252MerkleChannel as MC;
    use zkthread_token::list_prover::{list_proof_from_felts, list_proof_to_felts, verify_list};
    let params = LIST_ROWS_TEST_PARAMS;
    let (pi, felts) = list_scenario_proof(&params, None).expect("the scenario proves and verifies");
    let mut proof = list_proof_from_felts::<MC>(&felts).expect("the proof decodes");
    for column in proof.stark.0.queried_values[1].iter_mut() {
        column.pop().expect("a queried row");
    }
    let forged = list_proof_to_felts(&proof);
    assert!(forged.len() < felts.len(), "the forged proof is shorter");
    let decoded = list_proof_from_felts::<MC>(&forged).expect("the forged layout decodes");
    assert!(verify_list::<MC>(&pi, &decoded, &params).is_err(), "a proof with a dropped row verified");
}
