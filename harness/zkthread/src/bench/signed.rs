//! Signed sub-blocks for `bench prove`: `senders` accounts with registered thread keys sign
//! `n` transfers round-robin (each sender's transfers chain through its key rotations), and
//! the signed batcher builds the sub-block the prover proves.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use starknet_types_core::felt::Felt;
use zkthread_prover::signed::{poseidon252, SignedBatcher, SignedPublicInput, SignedTransferTx};
use zkthread_prover::{contract_set_commitment, Slot, StarkParams, Transfer};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::wots::{commitment, KeySeed};
use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};

use super::Row;

const TOKEN: u64 = 0x70c3a1;

fn statement() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::ONE,
        program_hash: Felt::from(0x5eedu64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::ONE,
        sequence: Felt::ZERO,
        contract_set_commitment: contract_set_commitment(&[Felt::from(TOKEN)]),
        inputs: vec![],
        outputs: vec![],
    }
}

/// A fixed seed per sender (benchmarks only: a real key seed comes from the OS CSPRNG).
fn seed(sender: usize) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| M31::reduce((sender * 8 + i + 1) as u32)))
}

/// `n` signed transfers from `senders` accounts (round-robin, each to the next account) and
/// the state they batch against: every sender holds 2^100 and its key 0 at nonce 1. Returns
/// the transfers, the state and the client-side signing time.
fn signed_transfers(n: usize, senders: usize) -> Result<(Vec<SignedTransferTx>, BTreeMap<Slot, Felt>, f64)> {
    let token = Felt::from(TOKEN);
    let account = |i: usize| Felt::from(0x1000 + i as u64);
    let slot = |key| Slot { contract: token, key };
    let mut state = BTreeMap::new();
    for s in 0..=senders {
        state.insert(slot(balance_slot_key(account(s))), Felt::from(1u128 << 100));
        state.insert(slot(thread_key_slot_key(account(s))), pack_key_slot(&commitment(&seed(s), 0)?, 1)?);
    }
    let statement = statement();
    let began = Instant::now();
    let mut txs = Vec::with_capacity(n);
    for i in 0..n {
        let (sender, round) = (i % senders, (i / senders) as u32);
        let transfer = Transfer { token, from: account(sender), to: account(sender + 1), amount: 1 + i as u128 % 1_000 };
        txs.push(SignedTransferTx::sign(transfer, 1 + round, &seed(sender), round, &statement)?);
    }
    Ok((txs, state, began.elapsed().as_secs_f64()))
}

/// Proves and verifies a signed sub-block of `n` transfers from `senders` accounts on the
/// Poseidon252 channel (the one the program's Cairo verifier reads).
pub fn measure(n: usize, senders: usize, params: &StarkParams) -> Result<Row> {
    ensure!(senders >= 1 && senders <= n, "--senders must be in 1..=transfers");
    let (txs, state, sign_s) = signed_transfers(n, senders)?;
    let batch = SignedBatcher::new(statement(), [Felt::from(TOKEN)])
        .batch(&txs, |s| state.get(s).copied())
        .context("batching the signed transfers")?;
    ensure!(batch.rejected.is_empty(), "the batcher refused {:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = SignedPublicInput { inputs: sb.inputs, outputs: sb.outputs, ..statement() };
    let start = Instant::now();
    let proof = poseidon252::prove(&pi, &sb.owners, &sb.rows, params)?;
    let prove_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    poseidon252::verify(&pi, &proof, params)?;
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(Row {
        transfers: n,
        senders,
        rows: 1 << proof.log_sizes.iter().copied().max().unwrap_or(0),
        sign_s,
        prove_s,
        verify_ms,
        felts: poseidon252::to_felts(&proof).len(),
        slots: pi.inputs.len(),
        rss_mb: super::peak_rss_mb(),
    })
}
