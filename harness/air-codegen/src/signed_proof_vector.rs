//! A real signed-transfer proof for the Cairo signed verifier's tests
//! (`contracts/programs/token/signed_verifier/src/tests/signed_proof_vector.cairo`): two signed transfers
//! (`zkthread_sig` signatures, batched by `SignedBatcher`) proven over the Poseidon252 channel
//! with light test parameters, its public input (chain id and registry in place) and the
//! parameter constants (`signed_air_digest`, preprocessed root).

use std::collections::BTreeMap;
use std::fmt::Write;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::{Slot, Transfer};
use zkthread_token::range::signed_preprocessed_roots;
use zkthread_token::prover::signed_air_digest;
use zkthread_token::{
    prove_signed, signed_proof_to_felts, verify_signed, SignedBatcher, SignedPublicInput, SignedTransferTx,
};
use zkthread_prover::{contract_set_commitment, Poseidon252MerkleChannel, StarkParams};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};

use crate::proof_vector::{felt, push_statement_fns};

type MC = Poseidon252MerkleChannel;

/// The generated vector, relative to the workspace root.
pub const SIGNED_PROOF_VECTOR_RELATIVE_PATH: &str =
    "contracts/programs/token/signed_verifier/src/tests/signed_proof_vector.cairo";

pub fn signed_proof_vector_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_PROOF_VECTOR_RELATIVE_PATH)
}

/// Light parameters (tests only, far below 96 bits; the signed AIR works with blowup 2^1).
pub const SIGNED_TEST_PARAMS: StarkParams = StarkParams {
    log_blowup: 1,
    n_queries: 3,
    pow_bits: 2,
    log_last_layer_degree_bound: 2,
    fold_step: 2,
};

pub(crate) const TOKEN: u64 = 0x70c3;
pub(crate) const ALICE: u64 = 0xa11ce;
pub(crate) const BOB: u64 = 0xb0b;
pub(crate) const CAROL: u64 = 0xca201;

/// The test key seed of `account` (the order book's proof vector signs with the same).
pub(crate) fn seed(account: u64) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| {
        M31::reduce(account as u32 + 7 * i as u32 + 1)
    }))
}

pub(crate) fn key(account: u64, index: u32) -> KeyCommitment {
    commitment(&seed(account), index).expect("key")
}

pub(crate) fn statement() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::from(2u8),
        program_hash: Felt::from(0x5167u64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::from(3u8),
        sequence: Felt::from(0u8),
        contract_set_commitment: contract_set_commitment(&[Felt::from(TOKEN)]),
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    }
}

fn signed(from: u64, to: u64, amount: u128, index: u32, nonce: u32) -> SignedTransferTx {
    let transfer = Transfer {
        token: Felt::from(TOKEN),
        from: Felt::from(from),
        to: Felt::from(to),
        amount,
    };
    SignedTransferTx::sign(transfer, nonce, &seed(from), index, &statement()).expect("sign")
}

/// Two signed transfers (Alice -> Bob 100, Bob -> Carol 50): the public input and the proof's
/// calldata felts, checked by the Rust verifier.
/// With `transfers` = 2 it is the committed vector's scenario (Alice pays Bob, Bob pays Carol);
/// any other count is Alice paying Bob 1 that many times (one sender, 3 slots), for measuring
/// the verifier on a taller trace (`--measure-signed PATH TRANSFERS`).
pub fn signed_scenario_proof(
    params: &StarkParams,
    transfers: u32,
) -> Result<(SignedPublicInput, Vec<Felt>), String> {
    let mut state = BTreeMap::new();
    for (account, balance, registered) in
        [(ALICE, 1_000u64, true), (BOB, 500, true), (CAROL, 0, false)]
    {
        let token = Felt::from(TOKEN);
        state.insert(
            Slot {
                contract: token,
                key: balance_slot_key(Felt::from(account)),
            },
            Felt::from(balance),
        );
        let slot = if registered {
            pack_key_slot(&key(account, 0), 1).expect("key slot")
        } else {
            Felt::ZERO
        };
        state.insert(
            Slot {
                contract: token,
                key: thread_key_slot_key(Felt::from(account)),
            },
            slot,
        );
    }
    let txs = if transfers == 2 {
        vec![signed(ALICE, BOB, 100, 0, 1), signed(BOB, CAROL, 50, 0, 1)]
    } else {
        (0..transfers).map(|i| signed(ALICE, BOB, 1, i, i + 1)).collect()
    };
    let batch = SignedBatcher::new(statement(), [Felt::from(TOKEN)])
        .batch(&txs, |s| state.get(s).copied())
        .map_err(|e| e.to_string())?;
    if !batch.rejected.is_empty() {
        return Err(format!("rejected: {:?}", batch.rejected));
    }
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    let proof = prove_signed::<MC>(&pi, &sb.owners, &sb.rows, params).map_err(|e| e.to_string())?;
    verify_signed::<MC>(&pi, &proof, params).map_err(|e| e.to_string())?;
    Ok((pi, signed_proof_to_felts(&proof)))
}


/// The generated Cairo vector module.
pub fn render_signed_proof_vector() -> Result<String, String> {
    render_signed_proof_vector_with(&SIGNED_TEST_PARAMS, 2)
}

/// The same module for a proof under `params`: with the shipped `SIGNED_PARAMS` it is what
/// `scripts/profile-verifier.sh` swaps in to profile the Cairo verifier at production cost.
/// `transfers` picks the scenario (`signed_scenario_proof`).
pub fn render_signed_proof_vector_with(
    params: &StarkParams,
    transfers: u32,
) -> Result<String, String> {
    let params = *params;
    let (pi, proof) = signed_scenario_proof(&params, transfers)?;
    let mut out = format!(
        "// @generated by `cargo run -p zkthread-air-codegen`: a real proof by harness/thread-prover of {transfers}
// signed transfers (see harness/air-codegen/src/signed_proof_vector.rs). Do not edit.
use crate::verifier::SignedStarkParams;

",
    );
    push_test_params(&mut out, &params, signed_air_digest(&params, "poseidon252"));
    push_statement_fns(
        &mut out,
        "/// The signed public input (chain id and registry in place).\n",
        &pi.to_felts(),
        &proof,
    );
    Ok(out)
}

/// `test_params()`: `params` with the program's AIR `digest` and the range table's roots, as
/// a `SignedStarkParams` (the verifier core's parameters).
pub(crate) fn push_test_params(out: &mut String, params: &StarkParams, digest: Felt) {
    let roots = signed_preprocessed_roots::<MC>(params);
    let roots: Vec<String> = roots.iter().map(|r| format!("            {},", felt(r))).collect();
    let _ = writeln!(
        out,
        "/// The proof's parameters ({} conjectured bits: tests only).\npub fn test_params() -> SignedStarkParams {{\n    SignedStarkParams {{\n        log_blowup: {},\n        n_queries: {},\n        pow_bits: {},\n        log_last_layer_degree_bound: {},\n        fold_step: {},\n        signed_air_digest: {},\n        preprocessed_roots: array![\n{}\n        ]\n            .span(),\n    }}\n}}\n",
        params.security_bits(),
        params.log_blowup,
        params.n_queries,
        params.pow_bits,
        params.log_last_layer_degree_bound,
        params.fold_step,
        felt(&digest),
        roots.join("\n"),
    );
}
