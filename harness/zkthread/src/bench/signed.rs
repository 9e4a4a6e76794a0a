//! The signed program in the benchmarks. `bench prove`: `senders` accounts with registered
//! thread keys sign `n` transfers round-robin (each sender's transfers chain through its key
//! rotations), and the signed batcher builds the sub-block the prover proves. `bench verify`
//! on a node: the bench world's senders register keys from their own accounts and sign the
//! generated transfers, which are batched, proven and settled for real.
//!
//! The list program (`--program list`) takes the same transfers as one signed list per sender
//! per sub-block (a sender's transfers in the order given): one signature and one key rotation
//! per sender instead of per transfer.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use starknet_types_core::felt::Felt;
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::list_prover::poseidon252 as list_poseidon252;
use zkthread_engine::token::TokenMessage;
use zkthread_store::{NewTransfer, NewTransferList};
use zkthread_token::{poseidon252, SignedBatcher, SignedPublicInput, SignedTransferTx};
use zkthread_prover::{contract_set_commitment, Slot, StarkParams, Transfer};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::wots::{commitment, KeySeed};
use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};

use zkthread_client::token::Token;
use zkthread_client::ChainClient;
use zkthread_sig::domain::unpack_key_slot;

use super::world::{BenchWorld, Proven};
use super::Row;
use crate::key::set_thread_key;
use crate::output::Progress;
use crate::program::ProvenSubBlock;
use crate::workload::TraderKey;

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
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    }
}

/// A fixed seed per sender (benchmarks only: a real key seed comes from the OS CSPRNG).
fn seed(sender: usize) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| M31::reduce((sender * 8 + i + 1) as u32)))
}

/// Bench account `i` (sender `i` pays account `i + 1`).
fn account(i: usize) -> Felt {
    Felt::from(0x1000 + i as u64)
}

/// The state the bench's transfers batch against: each of accounts `0..=senders` holds 2^100
/// and its key 0 at nonce 1.
fn bench_state(senders: usize) -> Result<BTreeMap<Slot, Felt>> {
    let slot = |key| Slot { contract: Felt::from(TOKEN), key };
    let mut state = BTreeMap::new();
    for s in 0..=senders {
        state.insert(slot(balance_slot_key(account(s))), Felt::from(1u128 << 100));
        state.insert(slot(thread_key_slot_key(account(s))), pack_key_slot(&commitment(&seed(s), 0)?, 1)?);
    }
    Ok(state)
}

/// `n` signed transfers from `senders` accounts (round-robin, each to the next account) and
/// the state they batch against ([`bench_state`]). Returns the transfers, the state and the
/// client-side signing time.
fn signed_transfers(n: usize, senders: usize) -> Result<(Vec<SignedTransferTx>, BTreeMap<Slot, Felt>, f64)> {
    let token = Felt::from(TOKEN);
    let state = bench_state(senders)?;
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
    let pi = sb.statement(&statement());
    let proved = timed(|| poseidon252::prove(&pi, &sb.owners, &sb.rows, params))?;
    let verified = timed(|| poseidon252::verify(&pi, &proved.0, params))?;
    let shape = (&proved.0.log_sizes[..], poseidon252::to_felts(&proved.0).len());
    Ok(row((n, senders, pi.inputs.len()), shape, sign_s, proved.1, verified.1))
}

/// Runs `f` and times it (seconds).
fn timed<T, E>(f: impl FnOnce() -> std::result::Result<T, E>) -> std::result::Result<(T, f64), E> {
    let began = Instant::now();
    f().map(|value| (value, began.elapsed().as_secs_f64()))
}

/// The table's row of a proof of `n` transfers from `senders` accounts writing `slots` slots,
/// whose components have `log_sizes` and which is `felts` long.
fn row(
    (n, senders, slots): (usize, usize, usize),
    (log_sizes, felts): (&[u32], usize),
    sign_s: f64,
    prove_s: f64,
    verify_s: f64,
) -> Row {
    Row {
        transfers: n,
        senders,
        rows: 1 << log_sizes.iter().copied().max().unwrap_or(0),
        sign_s,
        prove_s,
        verify_ms: verify_s * 1e3,
        felts,
        slots,
        rss_mb: super::peak_rss_mb(),
    }
}

/// Every sender of a bench world registers a fresh thread key, sent from its own account.
pub async fn register_key(sender: &ChainClient, token: Token) -> Result<TraderKey> {
    let seed = KeySeed::generate().map_err(|e| anyhow::anyhow!("no OS randomness for a key seed: {e}"))?;
    let nonce = set_key(sender, token, &seed, 0).await?;
    Ok(TraderKey { seed, index: 0, nonce })
}

/// `set_thread_key(commitment(seed, index))` from `sender`; returns the slot's new nonce.
async fn set_key(sender: &ChainClient, token: Token, seed: &KeySeed, index: u32) -> Result<u32> {
    Ok(set_thread_key(sender, token.address, &commitment(seed, index)?).await?.nonce)
}

/// After a settlement that did not apply: every sender whose slot did not follow its key file
/// registers its next unused key (the spent ones are never signed with again).
pub async fn resync_keys(world: &BenchWorld) -> Result<()> {
    let stale: Vec<(Felt, KeySeed, u32)> = {
        let keys = world.keys.lock().map_err(|_| anyhow::anyhow!("key state poisoned"))?;
        keys.iter().map(|(a, k)| (*a, k.seed.clone(), k.index)).collect()
    };
    for (address, seed, index) in stale {
        let slot = world.token.thread_key(&world.client, address).await?;
        let (stored, _) = unpack_key_slot(&slot).map_err(|e| anyhow::anyhow!("{e}"))?;
        if stored == commitment(&seed, index)? {
            continue;
        }
        let sender = world.signer(address).context("no client for a sender")?;
        let nonce = set_key(sender, world.token, &seed, index).await?;
        if let Ok(mut keys) = world.keys.lock() {
            if let Some(k) = keys.get_mut(&address) {
                k.nonce = nonce;
            }
        }
    }
    Ok(())
}

/// A token program as a bench world signs its transfers: one message per transfer (the
/// signed program) or one list per sender (the list program).
pub trait BenchMessage: TokenMessage {
    /// Signs `transfers` under `statement` with the senders' keys (advancing each key state
    /// by the messages it signs).
    fn sign_all(
        keys: &mut BTreeMap<Felt, TraderKey>,
        token: Felt,
        transfers: &[Transfer],
        statement: &SignedPublicInput,
    ) -> Result<Vec<Self::Tx>>;
}

impl BenchMessage for NewTransfer {
    fn sign_all(
        keys: &mut BTreeMap<Felt, TraderKey>,
        _token: Felt,
        transfers: &[Transfer],
        statement: &SignedPublicInput,
    ) -> Result<Vec<SignedTransferTx>> {
        let mut txs = Vec::with_capacity(transfers.len());
        for t in transfers {
            let key = keys.get_mut(&t.from).with_context(|| format!("sender {:#x} has no thread key", t.from))?;
            txs.push(SignedTransferTx::sign(*t, key.nonce, &key.seed, key.index, statement)?);
            key.index += 1;
            key.nonce += 1;
        }
        Ok(txs)
    }
}

impl BenchMessage for NewTransferList {
    fn sign_all(
        keys: &mut BTreeMap<Felt, TraderKey>,
        token: Felt,
        transfers: &[Transfer],
        statement: &SignedPublicInput,
    ) -> Result<Vec<SignedTransferListTx>> {
        let lists = lists_by_sender(transfers);
        let mut txs = Vec::with_capacity(lists.len());
        for (from, list) in lists {
            let key = keys.get_mut(&from).with_context(|| format!("sender {from:#x} has no thread key"))?;
            txs.push(SignedTransferListTx::sign(token, from, list, key.nonce, &key.seed, key.index, statement)?);
            key.index += 1;
            key.nonce += 1;
        }
        Ok(txs)
    }
}

/// A token program `M` on a bench world: the senders sign the transfers with their keys
/// (advancing their key states), the batcher builds the sub-block against the slots on-chain
/// (every message must be accepted and fit one proof), then prove and verify off-chain.
pub async fn prove_for_world<M: BenchMessage>(
    world: &BenchWorld,
    transfers: &[Transfer],
    sequence: u64,
    progress: &Progress,
    label: &str,
) -> Result<Proven> {
    let step = progress.step(format!("{label}: signing {} transfers as {}s and batching", transfers.len(), M::NOUN));
    let statement = world_statement(world, sequence);
    let token = world.token.address;
    let txs = {
        let mut keys = world.keys.lock().map_err(|_| anyhow::anyhow!("key state poisoned"))?;
        M::sign_all(&mut keys, token, transfers, &statement)?
    };
    let current = zkthread_engine::batch::read_message_slots::<M>(&world.client, txs.iter()).await?;
    let batch = M::batch(&SignedBatcher::new(statement.clone(), [token]), &txs, |s| current.get(s).copied())
        .with_context(|| format!("batching the {}s", M::NOUN))?;
    ensure!(batch.rejected.is_empty(), "the batcher refused {:?}", batch.rejected);
    ensure!(batch.taken == txs.len(), "{} {}s do not fit one proof", txs.len() - batch.taken, M::NOUN);
    let pi = batch.statement(&statement);
    step.done(format!("{} {}s, {} slots", txs.len(), M::NOUN, pi.inputs.len()));

    let step = progress.step(format!("{label}: proving {} transfers in {} {}s", transfers.len(), txs.len(), M::NOUN));
    let ProvenSubBlock { proof, elapsed, log_rows } =
        crate::program::prove_program::<M>(pi.clone(), batch.owners, batch.witness, zkthread_engine::program::PARAMS).await?;
    step.done(format!("largest component 2^{log_rows} rows"));
    let began = Instant::now();
    M::verify(&pi, &proof).context("the proof does not verify off-chain")?;
    let verify_ms = began.elapsed().as_secs_f64() * 1e3;
    Ok(Proven {
        settlement: zkthread_engine::codec::signed_settlement(world.thread_id, &pi, M::to_felts(&proof))?,
        inputs: pi.inputs,
        log_rows,
        prove_seconds: elapsed.as_secs_f64(),
        verify_ms,
    })
}

/// A sender's transfers in one sub-block, in their order: `(from, [(to, amount)])` per sender,
/// senders in the order they first send. Transfers of different senders are reordered (each
/// sender's list applies whole); the bench's senders are funded for all of theirs, and a list
/// its sender cannot pay is refused by the batcher, which fails the run.
fn lists_by_sender(transfers: &[Transfer]) -> Vec<(Felt, Vec<(Felt, u128)>)> {
    let mut lists: Vec<(Felt, Vec<(Felt, u128)>)> = Vec::new();
    for t in transfers {
        match lists.iter_mut().find(|(from, _)| *from == t.from) {
            Some((_, list)) => list.push((t.to, t.amount)),
            None => lists.push((t.from, vec![(t.to, t.amount)])),
        }
    }
    lists
}

/// [`measure`] for the list program: the same `n` transfers from `senders` accounts, each
/// sender's as one signed list.
pub fn measure_lists(n: usize, senders: usize, params: &StarkParams) -> Result<Row> {
    ensure!(senders >= 1 && senders <= n, "--senders must be in 1..=transfers");
    let state = bench_state(senders)?;
    let token = Felt::from(TOKEN);
    let statement = statement();
    let began = Instant::now();
    let mut txs = Vec::with_capacity(senders);
    for sender in 0..senders {
        // The transfers `measure` gives this sender (round-robin), as one list.
        let list = (sender..n).step_by(senders).map(|i| (account(sender + 1), 1 + i as u128 % 1_000)).collect();
        txs.push(SignedTransferListTx::sign(token, account(sender), list, 1, &seed(sender), 0, &statement)?);
    }
    let sign_s = began.elapsed().as_secs_f64();
    let batch = SignedBatcher::new(statement.clone(), [token])
        .batch_lists(&txs, |s| state.get(s).copied())
        .context("batching the signed lists")?;
    ensure!(batch.rejected.is_empty(), "the batcher refused {:?}", batch.rejected);
    ensure!(batch.deferred.is_empty(), "{} lists do not fit one proof", batch.deferred.len());
    let sb = batch.sub_block;
    let pi = sb.statement(&statement);
    let proved = timed(|| list_poseidon252::prove(&pi, &sb.owners, &sb.entries, params))?;
    let verified = timed(|| list_poseidon252::verify(&pi, &proved.0, params))?;
    let shape = (&proved.0.log_sizes[..], list_poseidon252::to_felts(&proved.0).len());
    Ok(row((n, senders, pi.inputs.len()), shape, sign_s, proved.1, verified.1))
}

/// The statement a bench world's thread signs under at `sequence` (its lists still empty).
fn world_statement(world: &BenchWorld, sequence: u64) -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::from(crate::program::OS_VERSION),
        program_hash: world.program_hash,
        chain_id: world.client.chain_id(),
        registry: world.registry.address,
        thread_id: Felt::from(world.thread_id),
        sequence: Felt::from(sequence),
        contract_set_commitment: world.contract_set_commitment,
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    }
}
