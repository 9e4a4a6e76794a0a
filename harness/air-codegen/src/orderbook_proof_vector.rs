//! A real order-book proof for the Cairo order-book verifier's tests
//! (`contracts/programs/orderbook/orderbook_verifier/src/tests/orderbook_proof_vector.cairo`): a round the
//! batcher builds from real signatures — Alice asks 100 at 50 (order 5), Bob bids 30 at 52
//! (order 9) and is filled at Alice's price, Alice cancels the 70 left — proven over the
//! Poseidon252 channel with the token vector's light test parameters, its public input
//! (chain id and registry in place) and the parameter constants (the order book's AIR digest,
//! the range table's roots).

use starknet_types_core::felt::Felt;
use zkthread_orderbook::batcher::{build, Account, BookState, SignedOrder};
use zkthread_orderbook::prover::OrderBookProgram;
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::{poseidon252, Directory, OrderMessage, Price};
use zkthread_prover::program::air_digest;
use zkthread_prover::statement::SignedPublicInput;
use zkthread_prover::StarkParams;
use zkthread_sig::domain::account_id;
use zkthread_sig::wots::{commitment, KeyCommitment};
use zkthread_sig::{sign, SignedMessage, TxListCommitment};

use crate::proof_vector::push_statement_fns;
use crate::signed_proof_vector::{push_test_params, seed, SIGNED_TEST_PARAMS};

/// The generated vector, relative to the workspace root.
pub const ORDERBOOK_PROOF_VECTOR_RELATIVE_PATH: &str =
    "contracts/programs/orderbook/orderbook_verifier/src/tests/orderbook_proof_vector.cairo";

pub fn orderbook_proof_vector_path() -> std::path::PathBuf {
    crate::workspace_path(ORDERBOOK_PROOF_VECTOR_RELATIVE_PATH)
}

const BOOK: u64 = 0xb00c;
const BASE: u64 = 0xba5e;
const QUOTE: u64 = 0x9007e;
const ALICE: u64 = 0xa11ce;
const BOB: u64 = 0xb0b;

fn key(account: u64, index: u32) -> Result<KeyCommitment, String> {
    commitment(&seed(account), index).map_err(|e| e.to_string())
}

fn header() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::from(2u8),
        program_hash: Felt::from(0xb00c_5167u64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::from(4u8),
        sequence: Felt::ZERO,
        contract_set_commitment: Felt::from(0xc5u64),
        transactions: TxListCommitment::EMPTY,
        inputs: vec![],
        outputs: vec![],
    }
}

/// `who`'s message number `nonce` (key `nonce - 1`, rotating to key `nonce`) on order `id`.
fn signed(who: u64, nonce: u32, id: u32, place: Option<(u32, Price, u64)>) -> Result<SignedOrder, String> {
    let index = nonce - 1;
    let message = OrderMessage {
        book: header().domain(Felt::from(BOOK)),
        owner: account_id(Felt::from(who)),
        id,
        place,
        nonce,
        next_key: key(who, nonce)?,
    };
    let signature = sign(&seed(who), index, &message).map_err(|e| e.to_string())?;
    Ok(SignedMessage { index, key: key(who, index)?, message, signature })
}

/// The round's statement and proof felts, checked by the Rust verifier.
pub fn orderbook_scenario_proof(params: &StarkParams) -> Result<(SignedPublicInput, Vec<Felt>), String> {
    let h = header();
    let domain = |c: u64| h.domain(Felt::from(c));
    let mut book = BookState::new(domain(BOOK), domain(BASE), domain(QUOTE), 0);
    for who in [ALICE, BOB] {
        let funded = Account { base: 1_000, quote: 10_000, nonce: 1, key: key(who, 0)? };
        book.set_account(account_id(Felt::from(who)), funded);
    }
    let queue = vec![
        // A ratio limit on chain: 30 at Alice's 101/2 is 1,515 quote (exact).
        signed(ALICE, 1, 5, Some((SIDE_SELL, Price::new(101, 2), 100)))?,
        signed(BOB, 1, 9, Some((SIDE_BUY, Price::whole(52), 30)))?,
        signed(ALICE, 2, 5, None)?,
    ];
    let batch = build(&book, &queue).map_err(|e| e.to_string())?;
    if !batch.refused.is_empty() || !batch.deferred.is_empty() || batch.sub_block.trades.len() != 1 {
        return Err(format!("expected one fill and no refusal: {:?}", batch.refused));
    }
    let directory = Directory {
        book: Felt::from(BOOK),
        base: Felt::from(BASE),
        quote: Felt::from(QUOTE),
        other_tokens: vec![],
        owners: vec![Felt::from(ALICE), Felt::from(BOB)],
    };
    let sub = batch.sub_block;
    let (statement, witness) = sub.statement(&h, &directory).map_err(|e| e.to_string())?;
    let proof = poseidon252::prove(&statement, &witness, &sub.witness, params).map_err(|e| e.to_string())?;
    poseidon252::verify(&statement, &proof, params).map_err(|e| e.to_string())?;
    Ok((statement, poseidon252::to_felts(&proof)))
}

/// The generated Cairo vector module.
pub fn render_orderbook_proof_vector() -> Result<String, String> {
    render_orderbook_proof_vector_with(&SIGNED_TEST_PARAMS)
}

/// The same module for a proof under `params` (with the shipped `SIGNED_PARAMS`: the vector
/// that profiles the order book's Cairo verifier at production cost).
pub fn render_orderbook_proof_vector_with(params: &StarkParams) -> Result<String, String> {
    let (pi, proof) = orderbook_scenario_proof(params)?;
    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen`: a real order-book proof by
// harness/programs/orderbook of a place, a crossing place (one fill) and a cancel (see
// harness/air-codegen/src/orderbook_proof_vector.rs). Do not edit.
use program_verifier::verifier::SignedStarkParams;

",
    );
    push_test_params(&mut out, params, air_digest::<OrderBookProgram>(params, "poseidon252"));
    push_statement_fns(&mut out, "/// The order book's public input (chain id and registry in place).\n", &pi.to_felts(), &proof);
    Ok(out)
}
