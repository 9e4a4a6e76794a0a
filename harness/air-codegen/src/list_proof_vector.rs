//! A real proof of the token list program for the Cairo list verifier's tests
//! (`contracts/programs/token/list_verifier/src/tests/list_proof_vector.cairo`): Alice's signed
//! list (Bob 100, Carol 200, Bob 50) and Bob's list of one (Carol 50), batched by
//! `SignedBatcher::batch_lists` and proven over the Poseidon252 channel with the signed vector's
//! light test parameters, its public input (chain id and registry in place) and the parameter
//! constants (the list program's AIR digest, the range table's roots).

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::Slot;
use zkthread_prover::program::air_digest;
use zkthread_prover::{Poseidon252MerkleChannel, StarkParams};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::list_prover::{list_proof_to_felts, prove_list, verify_list, SignedListProgram, SignedListProof};
use zkthread_token::{SignedBatcher, SignedPublicInput};

use std::fmt::Write;

use zkthread_token::prover::signed_air_digest;

use crate::proof_vector::{felt, push_felt_span_fn, push_statement_fns};
use crate::signed_proof_vector::{key, push_test_params, seed, statement, ALICE, BOB, CAROL, SIGNED_TEST_PARAMS, TOKEN};

type MC = Poseidon252MerkleChannel;

/// The generated vector, relative to the workspace root.
pub const LIST_PROOF_VECTOR_RELATIVE_PATH: &str =
    "contracts/programs/token/list_verifier/src/tests/list_proof_vector.cairo";

pub fn list_proof_vector_path() -> std::path::PathBuf {
    crate::workspace_path(LIST_PROOF_VECTOR_RELATIVE_PATH)
}

fn list(from: u64, transfers: &[(u64, u128)], index: u32, nonce: u32) -> Result<SignedTransferListTx, String> {
    let transfers = transfers.iter().map(|(to, a)| (Felt::from(*to), *a)).collect();
    SignedTransferListTx::sign(Felt::from(TOKEN), Felt::from(from), transfers, nonce, &seed(from), index, &statement())
        .map_err(|e| e.to_string())
}

/// The public input and the proof's calldata felts, checked by the Rust verifier. With
/// `transfers` = None the committed vector's scenario (Alice's list of three, Bob's list of
/// one); with Some(n) Alice's one list paying Bob 1 n times (3 slots: the verifier on a taller
/// trace, `--measure-list PATH N`).
pub fn list_scenario_proof(params: &StarkParams, transfers: Option<u32>) -> Result<(SignedPublicInput, Vec<Felt>), String> {
    let (pi, proof) = list_scenario(params, transfers)?;
    Ok((pi, list_proof_to_felts(&proof)))
}

/// [`list_scenario_proof`]'s public input and proof, before encoding.
fn list_scenario(params: &StarkParams, transfers: Option<u32>) -> Result<(SignedPublicInput, SignedListProof<MC>), String> {
    let token = Felt::from(TOKEN);
    let mut state = BTreeMap::new();
    // A measured list of n pays out n: Alice holds enough for any count.
    let alice = if transfers.is_some() { 1u64 << 40 } else { 1_000 };
    for (account, balance, registered) in [(ALICE, alice, true), (BOB, 500, true), (CAROL, 0, false)] {
        state.insert(Slot { contract: token, key: balance_slot_key(Felt::from(account)) }, Felt::from(balance));
        let slot = if registered { pack_key_slot(&key(account, 0), 1).map_err(|e| e.to_string())? } else { Felt::ZERO };
        state.insert(Slot { contract: token, key: thread_key_slot_key(Felt::from(account)) }, slot);
    }
    let txs = match transfers {
        None => vec![list(ALICE, &[(BOB, 100), (CAROL, 200), (BOB, 50)], 0, 1)?, list(BOB, &[(CAROL, 50)], 0, 1)?],
        Some(n) => vec![list(ALICE, &vec![(BOB, 1); n as usize], 0, 1)?],
    };
    let batch = SignedBatcher::new(statement(), [token])
        .batch_lists(&txs, |s| state.get(s).copied())
        .map_err(|e| e.to_string())?;
    if !batch.rejected.is_empty() || !batch.deferred.is_empty() {
        return Err(format!("rejected: {:?}", batch.rejected));
    }
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    let proof = prove_list::<MC>(&pi, &sb.owners, &sb.entries, params).map_err(|e| e.to_string())?;
    verify_list::<MC>(&pi, &proof, params).map_err(|e| e.to_string())?;
    Ok((pi, proof))
}

/// The row-pass vector's parameters (tests only): 20 queries, so that `ListVerifier` hashes
/// each tree's queried rows in two passes of eight and one of four
/// (`stark_verifier::merkle::RowsByEightAndFour`), as at its fast set.
pub const LIST_ROWS_TEST_PARAMS: StarkParams =
    StarkParams { log_blowup: 2, n_queries: 20, pow_bits: 3, log_last_layer_degree_bound: 2, fold_step: 2 };

/// The queried row of the pass of four the forgery edits (rows 16..20 of 20).
const FORGED_ROW: usize = 17;

/// The committed scenario at [`LIST_ROWS_TEST_PARAMS`], and the same proof with one queried
/// value of the main trace's first column, in row [`FORGED_ROW`], one more: the felt index
/// that changes and by how much. Errs unless every column of the main tree has exactly 20
/// queried rows (else the pass of four is not reached) and stwo's verifier refuses the
/// forgery by its Merkle root.
fn rows_vector() -> Result<(SignedPublicInput, Vec<Felt>, (usize, Felt)), String> {
    let params = LIST_ROWS_TEST_PARAMS;
    let (pi, mut proof) = list_scenario(&params, None)?;
    let honest = list_proof_to_felts(&proof);
    let main = &mut proof.stark.0.queried_values[1];
    if let Some(col) = main.iter().find(|col| col.len() != params.n_queries as usize) {
        return Err(format!("the main tree's columns hold {} queried rows, not {}", col.len(), params.n_queries));
    }
    main[0][FORGED_ROW] += stwo::core::fields::m31::BaseField::from(1u32);
    match verify_list::<MC>(&pi, &proof, &params) {
        Err(e) if format!("{e:?}").contains("RootMismatch") => {}
        other => return Err(format!("the forged row: expected a Merkle root mismatch, got {other:?}")),
    }
    let forged = list_proof_to_felts(&proof);
    let changed: Vec<usize> = (0..honest.len()).filter(|&i| honest[i] != forged[i]).collect();
    match (changed.as_slice(), honest.len() == forged.len()) {
        ([i], true) => Ok((pi, honest.clone(), (*i, forged[*i] - honest[*i]))),
        _ => Err(format!("the forged row changed felts {changed:?}")),
    }
}

/// The generated Cairo vector module.
pub fn render_list_proof_vector() -> Result<String, String> {
    let (mut out, statement) = render_module(&SIGNED_TEST_PARAMS, None)?;
    let (pi, proof, (index, delta)) = rows_vector()?;
    if pi.to_felts() != statement {
        return Err("the row-pass vector proves another statement".into());
    }
    let mut params = String::new();
    let digest = air_digest::<SignedListProgram>(&LIST_ROWS_TEST_PARAMS, "poseidon252");
    push_test_params(&mut params, &LIST_ROWS_TEST_PARAMS, digest);
    let _ = write!(
        out,
        "\n// The same scenario at 20 queries (`LIST_ROWS_TEST_PARAMS`): `ListVerifier` hashes each\n// tree's queried rows in two passes of eight and one of four.\n\n{}",
        params.replace("pub fn test_params()", "pub fn rows_test_params()")
    );
    let doc = format!("/// {} felts: a proof of `public_input()` at `rows_test_params()`.\n", proof.len());
    push_felt_span_fn(&mut out, &doc, "rows_proof", &proof);
    out.push('\n');
    let _ = writeln!(
        out,
        "/// `rows_proof()` with the main trace's first column's queried value in row {FORGED_ROW} (of the\n/// pass of four) one more: the felt that changes and by how much (stwo's verifier refuses it\n/// by its Merkle root).\npub fn forged_pass_of_four_row() -> (u32, felt252) {{\n    ({index}, {})\n}}",
        felt(&delta)
    );
    Ok(out)
}

/// The same module for a proof under `params` (with the shipped `SIGNED_PARAMS`: the vector
/// that measures the list verifier at production cost); `transfers` picks the scenario
/// ([`list_scenario_proof`]).
pub fn render_list_proof_vector_with(params: &StarkParams, transfers: Option<u32>) -> Result<String, String> {
    render_module(params, transfers).map(|(module, _)| module)
}

/// Where the committed vector's row-pass items begin (`render_list_proof_vector`).
const ROWS_SECTION: &str = "\n// The same scenario at 20 queries";

/// [`render_list_proof_vector_with`] plus the row-pass items of the `committed` vector
/// (`rows_test_params`, `rows_proof`, `forged_pass_of_four_row`): the package's other tests
/// name them, so it must compile with the measured module in place; a profile runs only
/// `real_list_proof_verifies` (scripts/profile-verifier.sh), which does not read them.
pub fn render_list_proof_vector_measured(
    params: &StarkParams,
    transfers: Option<u32>,
    committed: &str,
) -> Result<String, String> {
    let rows = committed
        .find(ROWS_SECTION)
        .map(|at| &committed[at..])
        .ok_or("the committed list vector has no row-pass section to keep")?;
    Ok(format!("{}{rows}", render_list_proof_vector_with(params, transfers)?))
}

/// [`render_list_proof_vector_with`], with the public input it proves (as felts), so
/// [`render_list_proof_vector`] checks its row-pass vector against it without proving again.
fn render_module(params: &StarkParams, transfers: Option<u32>) -> Result<(String, Vec<Felt>), String> {
    let (pi, proof) = list_scenario_proof(params, transfers)?;
    let what = match transfers {
        None => "two signed lists (three transfers and one)".to_string(),
        Some(n) => format!("one signed list of {n} transfers"),
    };
    let mut out = format!(
        "// @generated by `cargo run -p zkthread-air-codegen`: a real proof by harness/programs/token of
// {what} (see harness/air-codegen/src/list_proof_vector.rs). Do not edit.
use program_verifier::verifier::SignedStarkParams;

",
    );
    push_test_params(&mut out, params, air_digest::<SignedListProgram>(params, "poseidon252"));
    // Another program's transcript at the same parameters: the token's signed AIR digest.
    let _ = writeln!(
        out,
        "/// The token program's AIR digest at the same parameters (`signed_air_digest`): another\n/// program's transcript, which this proof must not verify under.\npub fn token_air_digest() -> felt252 {{\n    {}\n}}\n",
        felt(&signed_air_digest(params, "poseidon252"))
    );
    push_statement_fns(&mut out, "/// The list program's public input (chain id and registry in place).\n", &pi.to_felts(), &proof);
    // A real proof of the token's other program (the signed vector's two single transfers,
    // same parameters and thread): what a prover could offer a list thread instead.
    let (token_pi, token_proof) = crate::signed_proof_vector::signed_scenario_proof(params, 2)?;
    let mut token = String::new();
    push_statement_fns(
        &mut token,
        "\n/// A signed-program (`SignedTokenProgram`) proof's public input, same thread and parameters.\n",
        &token_pi.to_felts(),
        &token_proof,
    );
    out.push_str(
        &token
            .replace("pub fn public_input()", "pub fn token_public_input()")
            .replace("pub fn proof()", "pub fn token_proof()"),
    );
    Ok((out, pi.to_felts()))
}
