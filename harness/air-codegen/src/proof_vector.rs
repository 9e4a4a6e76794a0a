//! A real thread proof for the Cairo verifier's tests, and the verifier's parameter constants.
//!
//! The parameter constants (`generated_params.cairo`) hold, for `StarkParams::DEFAULT` (what
//! the shipped verifier uses) the FRI/PoW parameters, the AIR descriptor digest and the
//! preprocessed (range table) root. The test vector (`tests/proof_vector.cairo`) holds a proof
//! of a small sub-block, its public input and the constants of the parameters it was proven
//! with.

use std::collections::HashMap;
use std::fmt::Write;

use starknet_types_core::felt::Felt;
use stwo::prover::backend::simd::m31::LOG_N_LANES;
use zkthread_prover::air::{LIMB_BITS, N_LIMBS, RANGE_LOG_SIZE};
use zkthread_prover::prover::{preprocessed_root, MAX_LOG_ROWS};
use zkthread_prover::public_input::MAX_SLOTS;
use zkthread_prover::{
    air_descriptor_digest, contract_set_commitment, proof_to_felts, prove, verify, Batcher,
    Poseidon252MerkleChannel, PublicInput, Slot, StarkParams, Transfer,
};

/// Token contracts of the test scenario.
pub const TOKEN_A: u64 = 0x7a11;
pub const TOKEN_B: u64 = 0xb0b;

/// Parameters of the committed test proof. Lighter than `StarkParams::DEFAULT` (the Cairo test
/// passes them explicitly; the contract only ever uses the DEFAULT constants).
pub const TEST_PARAMS: StarkParams = StarkParams {
    log_blowup: 1,
    n_queries: 8,
    pow_bits: 4,
    log_last_layer_degree_bound: 2,
    fold_step: 2,
};

#[derive(Debug, thiserror::Error)]
pub enum ProofVectorError {
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("prover: {0}")]
    Prove(#[from] zkthread_prover::ProveError),
    #[error("the fresh proof does not verify in Rust: {0}")]
    Verify(#[from] zkthread_prover::VerifyError),
}

/// 4 transfers over two tokens, sequence 0: the statement and its sub-block.
pub fn scenario() -> Result<(PublicInput, zkthread_prover::SubBlock), ProofVectorError> {
    let mut state = HashMap::new();
    for token in [TOKEN_A, TOKEN_B] {
        for a in 1..=4u64 {
            state.insert(
                Slot::balance(Felt::from(token), Felt::from(a)),
                Felt::from(1_000u64),
            );
        }
    }
    let t = |token: u64, from: u64, to: u64, amount: u128| Transfer {
        token: Felt::from(token),
        from: Felt::from(from),
        to: Felt::from(to),
        amount,
    };
    let txs = [
        t(TOKEN_A, 1, 2, 300),
        t(TOKEN_A, 2, 3, 1_250),
        t(TOKEN_B, 4, 1, 999),
        t(TOKEN_A, 3, 1, 1),
    ];
    batch_vector_statement(&txs, &state)
}

/// `n` transfers of 1 unit around a ring of `accounts` accounts per token, alternating tokens
/// (for size measurements: `zkthread-air-codegen --measure N PATH`).
pub fn ring_scenario(
    n: usize,
    accounts: u64,
) -> Result<(PublicInput, zkthread_prover::SubBlock), ProofVectorError> {
    let mut state = HashMap::new();
    for token in [TOKEN_A, TOKEN_B] {
        for a in 1..=accounts {
            state.insert(
                Slot::balance(Felt::from(token), Felt::from(a)),
                Felt::from(1_000_000u64),
            );
        }
    }
    let txs: Vec<Transfer> = (0..n as u64)
        .map(|i| Transfer {
            token: Felt::from(if i % 2 == 0 { TOKEN_A } else { TOKEN_B }),
            from: Felt::from(1 + (i / 2) % accounts),
            to: Felt::from(1 + (i / 2 + 1) % accounts),
            amount: 1,
        })
        .collect();
    batch_vector_statement(&txs, &state)
}

/// Batches `txs` on the vector thread (tokens A and B, thread 7, sequence 0) and builds the
/// statement both scenarios prove.
fn batch_vector_statement(
    txs: &[Transfer],
    state: &HashMap<Slot, Felt>,
) -> Result<(PublicInput, zkthread_prover::SubBlock), ProofVectorError> {
    let batcher = Batcher::new([Felt::from(TOKEN_A), Felt::from(TOKEN_B)]);
    let sub_block = batcher
        .batch_strict(&txs, |s| state.get(s).copied())
        .map_err(|e| ProofVectorError::Scenario(e.to_string()))?;
    let public_input = PublicInput {
        os_version: Felt::from(1u8),
        program_hash: Felt::from_hex_unchecked("0x5eed0fc1a55"),
        thread_id: Felt::from(7u8),
        sequence: Felt::from(0u8),
        contract_set_commitment: contract_set_commitment(&[
            Felt::from(TOKEN_A),
            Felt::from(TOKEN_B),
        ]),
        inputs: sub_block.inputs.clone(),
        outputs: sub_block.outputs.clone(),
    };
    Ok((public_input, sub_block))
}

/// A DEFAULT-params proof of [`ring_scenario`] as a Cairo vector module (same functions as
/// `tests/default_proof_vector.cairo`).
pub fn render_measure_vector(n: usize) -> Result<String, ProofVectorError> {
    let (public_input, sub_block) = ring_scenario(n, 16)?;
    let params = StarkParams::DEFAULT;
    let proof = prove::<Poseidon252MerkleChannel>(&public_input, &sub_block, &params)?;
    verify::<Poseidon252MerkleChannel>(&public_input, &proof, &params)?;
    let proof = proof_to_felts(&proof);
    let mut out = String::from("// Measurement vector (not committed): `zkthread-air-codegen --measure N PATH`.\nuse crate::generated_params::ThreadStarkParams;\n\n");
    push_vector_fns(
        &mut out,
        &format!("{n} transfers."),
        "proof_params",
        &params,
        &public_input,
        &proof,
    );
    Ok(out)
}

/// Proves the scenario with `params` and checks the proof with the Rust verifier.
pub fn scenario_proof(params: &StarkParams) -> Result<(PublicInput, Vec<Felt>), ProofVectorError> {
    let (public_input, sub_block) = scenario()?;
    let proof = prove::<Poseidon252MerkleChannel>(&public_input, &sub_block, params)?;
    verify::<Poseidon252MerkleChannel>(&public_input, &proof, params)?;
    Ok((public_input, proof_to_felts(&proof)))
}

/// A felt as a Cairo hex literal.
pub(crate) fn felt(f: &Felt) -> String {
    format!("{f:#x}")
}

/// Appends `public_input()` (preceded by `doc` lines, if any) and `proof()` returning `felts`.
pub(crate) fn push_statement_fns(out: &mut String, doc: &str, public_input: &[Felt], proof: &[Felt]) {
    push_felt_span_fn(out, doc, "public_input", public_input);
    out.push('\n');
    push_felt_span_fn(out, &format!("/// {} felts.\n", proof.len()), "proof", proof);
}

/// A Cairo function `name` returning `felts` as a span, after its doc lines `doc`.
pub(crate) fn push_felt_span_fn(out: &mut String, doc: &str, name: &str, felts: &[Felt]) {
    let felts: Vec<String> = felts.iter().map(felt).collect();
    let _ = writeln!(out, "{doc}pub fn {name}() -> Span<felt252> {{\n    array![{}].span()\n}}", felts.join(", "));
}

/// `ThreadStarkParams { .. }` literal for `params`.
fn params_literal(params: &StarkParams) -> String {
    let root = preprocessed_root::<Poseidon252MerkleChannel>(params);
    format!(
        "ThreadStarkParams {{\n        log_blowup: {},\n        n_queries: {},\n        pow_bits: {},\n        log_last_layer_degree_bound: {},\n        fold_step: {},\n        air_descriptor_digest: {},\n        preprocessed_root: {},\n    }}",
        params.log_blowup,
        params.n_queries,
        params.pow_bits,
        params.log_last_layer_degree_bound,
        params.fold_step,
        felt(&air_descriptor_digest(params, "poseidon252")),
        felt(&root[0]),
    )
}

/// The generated parameter constants of the shipped verifier.
pub fn render_params() -> String {
    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen` from harness/thread-prover (StarkParams::DEFAULT,
// air_descriptor_digest, the range table's Merkle root). Do not edit.
//! The proof parameters the shipped verifier accepts (OS version 1).

/// FRI / proof-of-work parameters and the constants derived from them.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct ThreadStarkParams {
    pub log_blowup: u32,
    pub n_queries: u32,
    pub pow_bits: u32,
    pub log_last_layer_degree_bound: u32,
    pub fold_step: u32,
    /// poseidon_hash_many(air descriptor): mixed into every transcript.
    pub air_descriptor_digest: felt252,
    /// Merkle root of the preprocessed tree (the 16-bit range table).
    pub preprocessed_root: felt252,
}

",
    );
    let consts: [(&str, &str, u64); 6] = [
        (
            "MIN_LOG_ROWS",
            "Smallest transfer component (one SIMD vector of rows).",
            u64::from(LOG_N_LANES),
        ),
        (
            "MAX_LOG_ROWS",
            "Largest transfer component.",
            u64::from(MAX_LOG_ROWS),
        ),
        (
            "RANGE_LOG_SIZE",
            "Log size of the range table component.",
            u64::from(RANGE_LOG_SIZE),
        ),
        ("LIMB_BITS", "Bits per balance limb.", u64::from(LIMB_BITS)),
        ("N_LIMBS", "Limbs per u128 balance.", N_LIMBS as u64),
        (
            "MAX_SLOTS",
            "Most slots in one public input list.",
            MAX_SLOTS as u64,
        ),
    ];
    for (name, doc, value) in consts {
        let _ = writeln!(out, "/// {doc}\npub const {name}: u32 = {value};\n");
    }
    let p = StarkParams::DEFAULT;
    let _ = writeln!(
        out,
        "/// StarkParams::DEFAULT: {} conjectured bits (log_blowup * n_queries + pow_bits).",
        p.security_bits()
    );
    let _ = writeln!(
        out,
        "pub fn default_params() -> ThreadStarkParams {{\n    {}\n}}",
        params_literal(&p)
    );
    out
}

/// The generated test vector (a real proof of [`scenario`] with [`TEST_PARAMS`]).
pub fn render_proof_vector() -> Result<String, ProofVectorError> {
    render_proof_vector_with(&TEST_PARAMS, "test_params")
}

/// The same scenario proven with the shipped `StarkParams::DEFAULT` (what the contract
/// accepts).
pub fn render_default_proof_vector() -> Result<String, ProofVectorError> {
    render_proof_vector_with(&StarkParams::DEFAULT, "proof_params")
}

fn render_proof_vector_with(
    params: &StarkParams,
    params_fn: &str,
) -> Result<String, ProofVectorError> {
    let (public_input, proof) = scenario_proof(params)?;
    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen`: a real proof by harness/thread-prover of 4
// transfers over two tokens (see harness/air-codegen/src/proof_vector.rs). Do not edit.
use crate::generated_params::ThreadStarkParams;

",
    );
    push_vector_fns(
        &mut out,
        &format!(
            "The proof's parameters ({} conjectured bits).",
            params.security_bits()
        ),
        params_fn,
        params,
        &public_input,
        &proof,
    );
    Ok(out)
}

/// Appends a vector module's functions: `{params_fn}()` documented by `params_doc`,
/// `public_input()` and `proof()`.
fn push_vector_fns(
    out: &mut String,
    params_doc: &str,
    params_fn: &str,
    params: &StarkParams,
    public_input: &PublicInput,
    proof: &[Felt],
) {
    let _ = writeln!(
        out,
        "/// {params_doc}\npub fn {params_fn}() -> ThreadStarkParams {{\n    {}\n}}\n",
        params_literal(params)
    );
    push_statement_fns(out, "", &public_input.to_felts(), proof);
}
