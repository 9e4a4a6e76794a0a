//! The first settlement of a SIGNED sub-block on a devnet: the thread runs the `SignedVerifier`
//! program; two accounts register WOTS thread keys in the token, sign three transfers (one
//! spending what it received in the same sub-block), the sub-block is proven off-chain with the
//! production parameters and settled; balances and rotated key slots land in storage, and a
//! replay reverts on the sequence, and a batcher's lists for that thread are refused by its
//! program. The same for the token list program (`ListVerifier`): two
//! signed lists settle, one signature and one key step per list; then lists go through the
//! engine (admission, batch, prove, settle) as a batcher runs them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use zkthread_e2e::client::registry::{Settlement, TransactionList};
use zkthread_e2e::client::token::{balance_slot, thread_key_slot};
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::settle::{
    assert_settle_reverts, bracket_steps, l2_gas_used, needs_more_steps_than, read_slots,
    settle_bounds, tail, to_chain_slots, Watched, STEP_BOUND,
};
use zkthread_e2e::{artifact, init_tracing, ThreadWorld, LIST_VERIFIER, SIGNED_VERIFIER, SUPPLY};
use zkthread_token::list_batcher::{SignedListSubBlock, SignedTransferListTx};
use zkthread_token::list_prover::{list_proof_to_felts, prove_list, verify_list};
use zkthread_token::{
    prove_signed, signed_proof_to_felts, verify_signed, SignedBatcher, SIGNED_PARAMS, SignedPublicInput,
    SignedTransferTx,
};
use zkthread_prover::{Poseidon252MerkleChannel, Slot, Transfer};
use zkthread_sig::domain::{pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::M31;

/// Limits of one settlement of the demo's signed sub-block (calldata felts, L2 gas).
const MAX_SETTLE_CALLDATA: usize = 5_000;
const MAX_SETTLE_L2_GAS: u64 = 756_000_000;

fn seed(account: u64) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| {
        M31::reduce(account as u32 + 7 * i as u32 + 1)
    }))
}

fn key(account: u64, index: u32) -> KeyCommitment {
    commitment(&seed(account), index).expect("key commitment")
}

/// The packed commitment `set_thread_key` takes: the key slot's encoding with nonce 0.
fn packed_commitment(key: &KeyCommitment) -> Felt {
    pack_key_slot(key, 0).expect("nonce 0 is in range")
}

/// `from` (whose key seed is `seed_id`) sends `amount` to `to`, signed with key `index` at `nonce`.
fn signed(
    statement: &SignedPublicInput,
    token: Felt,
    (from, seed_id): (Felt, u64),
    to: Felt,
    amount: u128,
    (index, nonce): (u32, u32),
) -> Result<SignedTransferTx> {
    let transfer = Transfer { token, from, to, amount };
    SignedTransferTx::sign(transfer, nonce, &seed(seed_id), index, statement).context("signing")
}

/// The current on-chain balance and key slot of each of `accounts` in `token` (what the
/// batcher checks messages against).
async fn token_slots(world: &ThreadWorld, token: Felt, accounts: &[Felt]) -> Result<BTreeMap<Slot, Felt>> {
    let mut slots = Vec::new();
    for account in accounts {
        slots.push(Slot { contract: token, key: balance_slot(*account)? });
        slots.push(Slot { contract: token, key: thread_key_slot(*account)? });
    }
    read_slots(world.client(), slots).await
}

/// The settlement of the sub-block `pi` states, carrying `proof`.
fn settlement_of(world: &ThreadWorld, pi: &SignedPublicInput, proof: Vec<Felt>) -> Result<Settlement> {
    Ok(Settlement {
        thread_id: world.thread_id,
        sequence: u64::try_from(pi.sequence).context("sequence")?,
        inputs: to_chain_slots(&pi.inputs),
        outputs: to_chain_slots(&pi.outputs),
        transactions: TransactionList { count: pi.transactions.count, commitment: pi.transactions.cap_felt() },
        proof,
    })
}

/// Proves a list sub-block at the token's parameters on a blocking thread and verifies it
/// off-chain; its felts and the proving time.
async fn prove_lists(pi: &SignedPublicInput, sb: &SignedListSubBlock) -> Result<(Vec<Felt>, Duration)> {
    let began = Instant::now();
    let (p, owners, lists) = (pi.clone(), sb.owners.clone(), sb.entries.clone());
    let proof = tokio::task::spawn_blocking(move || {
        prove_list::<Poseidon252MerkleChannel>(&p, &owners, &lists, &SIGNED_PARAMS)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("proving: {e:?}"))?;
    let elapsed = began.elapsed();
    verify_list::<Poseidon252MerkleChannel>(pi, &proof, &SIGNED_PARAMS)
        .map_err(|e| anyhow::anyhow!("off-chain verify: {e:?}"))?;
    Ok((list_proof_to_felts(&proof), elapsed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_sub_block_settles_on_devnet() -> Result<()> {
    init_tracing();
    let world =
        ThreadWorld::deploy_with_program(artifact(SIGNED_VERIFIER.0, SIGNED_VERIFIER.1)?).await?;
    let client = world.client();
    let token = world.token.address;
    let accounts = world.accounts(3);
    let (holder, one, two) = (accounts[0], accounts[1], accounts[2]);
    ensure!(holder == world.holder);
    let (holder_seed, one_seed) = (0xa11ceu64, 0xb0bu64);

    // Thread keys: each from its own account.
    let nonces = register_keys(&world, &[(0, holder, holder_seed), (1, one, one_seed)]).await?;
    for account in [holder, one] {
        ensure!(world.token.thread_key(client, account).await? == client.storage_at(token, thread_key_slot(account)?).await?);
        eprintln!("key slot of {account:#x}: nonce {}", nonces[&account]);
    }

    let statement = world.next_statement().await?;
    ensure!(statement.sequence == Felt::ZERO);
    let (sequence, chain_id) = (0u64, statement.chain_id);
    let (hn, on) = (nonces[&holder], nonces[&one]);
    let txs = vec![
        signed(&statement, token, (holder, holder_seed), one, 300, (0, hn))?,
        signed(&statement, token, (holder, holder_seed), two, 200, (1, hn + 1))?,
        signed(&statement, token, (one, one_seed), two, 120, (0, on))?,
    ];

    // Batch against on-chain values.
    let current = token_slots(&world, token, &[holder, one, two]).await?;
    let batch = SignedBatcher::new(statement.clone(), [token])
        .batch(&txs, |s| current.get(s).copied())
        .context("batching")?;
    ensure!(batch.rejected.is_empty(), "rejected: {:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement);
    let mut settlement = settlement_of(&world, &pi, Vec::new())?;
    ensure!(settlement.sequence == sequence);
    // The registry's public input with (chain id, caller) inserted is the prover's statement.
    let mut onchain = world.registry.public_input(client, &settlement).await?;
    onchain.splice(2..2, [chain_id, world.registry.address]);
    ensure!(
        onchain == pi.to_felts(),
        "registry public input + context differs from the prover's"
    );

    let began = Instant::now();
    let (p, owners, rows) = (pi.clone(), sb.owners.clone(), sb.rows.clone());
    let proof = tokio::task::spawn_blocking(move || {
        prove_signed::<Poseidon252MerkleChannel>(&p, &owners, &rows, &SIGNED_PARAMS)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("proving: {e:?}"))?;
    let prove_time = began.elapsed();
    verify_signed::<Poseidon252MerkleChannel>(&pi, &proof, &SIGNED_PARAMS)
        .map_err(|e| anyhow::anyhow!("off-chain verify: {e:?}"))?;
    settlement.proof = signed_proof_to_felts(&proof);
    let calldata = settlement.calldata().len();
    eprintln!(
        "signed sub-block: {} transfers, {} slots, proved in {:.1} s, {} proof felts ({calldata} settle calldata felts)",
        sb.transfers.len(),
        sb.inputs.len(),
        prove_time.as_secs_f64(),
        settlement.proof.len()
    );
    ensure!(
        calldata <= MAX_SETTLE_CALLDATA,
        "settle calldata {calldata} > {MAX_SETTLE_CALLDATA} felts"
    );

    // Cairo steps: one simulation shows it fits devnet's bound; the bisection costs a simulation
    // (~25 s) per step, so it is opt-in with ZKTHREAD_MEASURE_STEPS=1 (measured 2026-11-30 with
    // SIGNED_PARAMS = 2^6 x 13 + 18: 4.53M..4.69M of the 10M bound for 3 transfers, 5 slots).
    let settle_call = world.registry.settle_call(&settlement)?;
    if std::env::var_os("ZKTHREAD_MEASURE_STEPS").is_some() {
        let (low, high) = bracket_steps(client, &settle_call, 250_000).await?;
        eprintln!(
            "signed settle execution: {low}..{high} Cairo steps of the {STEP_BOUND}-step bound ({:.0}%)",
            high as f64 * 100.0 / STEP_BOUND as f64
        );
    } else {
        ensure!(
            !needs_more_steps_than(client, &settle_call, STEP_BOUND).await?,
            "the signed settlement needs more than the {STEP_BOUND}-step bound"
        );
    }

    let bounds = settle_bounds(client).await?;
    let outcome = world
        .registry
        .settle(client, &settlement, FeeMode::Manual(bounds))
        .await?;
    let gas = l2_gas_used(client, &outcome).await?;
    eprintln!(
        "settle: reverted={} L2 gas {gas}, fee {} fri, latency {:.1} s",
        outcome.is_reverted(),
        outcome.actual_fee,
        outcome.latency.as_secs_f64()
    );
    ensure!(
        !outcome.is_reverted(),
        "signed settle reverted: ...{}",
        tail(outcome.revert_reason().unwrap_or_default(), 600)
    );
    ensure!(gas <= MAX_SETTLE_L2_GAS, "settle used {gas} L2 gas > {MAX_SETTLE_L2_GAS}");

    // Storage equals the batch's outputs; keys rotated; sequence 1.
    for output in &settlement.outputs {
        ensure!(
            client.storage_at(output.contract, output.key).await? == output.value,
            "output slot {:#x} not written",
            output.key
        );
    }
    let balance = |account: Felt| async move {
        client
            .storage_at(token, balance_slot(account)?)
            .await
            .map_err(anyhow::Error::from)
    };
    ensure!(balance(holder).await? == Felt::from(SUPPLY - 500));
    ensure!(balance(one).await? == Felt::from(300u128 - 120));
    ensure!(balance(two).await? == Felt::from(320u128));
    ensure!(
        world.token.thread_key(client, holder).await?
            == pack_key_slot(&key(holder_seed, 2), hn + 2)?,
        "holder key slot not rotated twice"
    );
    ensure!(
        world.token.thread_key(client, one).await? == pack_key_slot(&key(one_seed, 1), on + 1)?,
        "account #1 key slot not rotated"
    );
    ensure!(
        world
            .registry
            .next_sequence(client, world.thread_id)
            .await?
            == 1
    );

    // Replay: the same settlement again.
    let watched = Watched::settlement(&settlement, &[world.thread_id]);
    assert_settle_reverts(
        &world.registry,
        client,
        &settlement,
        settle_bounds(client).await?,
        "registry: wrong sequence",
        &watched,
    )
    .await?;

    // A batcher holding lists for this thread of the signed program: the engine refuses to
    // batch them (a list proof could only revert in `SignedVerifier`), nothing is built.
    let dir = tempfile::tempdir()?;
    let lists = zkthread_store::Store::open(dir.path())?.program::<zkthread_store::NewTransferList>();
    let thread = zkthread_store::ThreadKey::new(world.registry.address, world.thread_id);
    let list = signed_list(&world.next_statement().await?, token, (holder, holder_seed), &[(two, 1)], (2, hn + 2))?;
    lists.submit(thread, zkthread_engine::codec::new_transfer_list(&list))?;
    match zkthread_engine::batch(client, &lists, thread, zkthread_engine::Limits::default(), &zkthread_engine::Logged).await {
        Err(error @ zkthread_engine::EngineError::OtherProgram { .. }) => ensure!(
            error.to_string().contains("(the signed program), not the token's list program"),
            "{error}"
        ),
        other => anyhow::bail!("a list was batched on a signed thread: {other:?}"),
    }
    ensure!(lists.sub_blocks(thread)?.is_empty() && lists.pending(thread)?.len() == 1, "nothing built, the list kept");
    Ok(())
}

/// `from` (whose key seed is `seed_id`) pays each `(to, amount)` in one list signed with key
/// `index` at `nonce`.
fn signed_list(
    statement: &SignedPublicInput,
    token: Felt,
    (from, seed_id): (Felt, u64),
    transfers: &[(Felt, u128)],
    (index, nonce): (u32, u32),
) -> Result<SignedTransferListTx> {
    SignedTransferListTx::sign(token, from, transfers.to_vec(), nonce, &seed(seed_id), index, statement)
        .context("signing a list")
}

/// Registers `seed_id`'s key 0 as each account's thread key (from the account itself) and
/// returns the accounts' key-slot nonces.
async fn register_keys(world: &ThreadWorld, accounts: &[(usize, Felt, u64)]) -> Result<BTreeMap<Felt, u32>> {
    let mut nonces = BTreeMap::new();
    for (index, account, seed_id) in accounts {
        let c = world.chain.client(*index)?;
        c.invoke(vec![world.token.set_thread_key_call(packed_commitment(&key(*seed_id, 0)))?], FeeMode::default())
            .await?
            .require_success("set_thread_key")?;
        let slot = world.token.thread_key(world.client(), *account).await?;
        let (stored, nonce) = unpack_key_slot(&slot).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ensure!(stored == key(*seed_id, 0), "stored key differs");
        nonces.insert(*account, nonce);
    }
    Ok(nonces)
}

/// The token list program on a devnet: the holder signs ONE list paying two accounts, account
/// #1 a list of one that spends what it received in the same sub-block; proven off-chain at
/// the token's parameters, settled through `ListVerifier` (which library-calls `ListAir`):
/// balances land, each sender's key slot rotates once, and a replay reverts on the sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_lists_settle_on_devnet() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_program(artifact(LIST_VERIFIER.0, LIST_VERIFIER.1)?).await?;
    let client = world.client();
    let token = world.token.address;
    let accounts = world.accounts(3);
    let (holder, one, two) = (accounts[0], accounts[1], accounts[2]);
    let (holder_seed, one_seed) = (0xa11ceu64, 0xb0bu64);
    let nonces = register_keys(&world, &[(0, holder, holder_seed), (1, one, one_seed)]).await?;
    let (hn, on) = (nonces[&holder], nonces[&one]);

    let statement = world.next_statement().await?;
    let txs = vec![
        signed_list(&statement, token, (holder, holder_seed), &[(one, 300), (two, 200)], (0, hn))?,
        signed_list(&statement, token, (one, one_seed), &[(two, 120)], (0, on))?,
    ];
    let current = token_slots(&world, token, &[holder, one, two]).await?;
    let batch = SignedBatcher::new(statement.clone(), [token])
        .batch_lists(&txs, |s| current.get(s).copied())
        .context("batching")?;
    ensure!(batch.rejected.is_empty(), "rejected: {:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement);
    ensure!(pi.transactions.count == 2, "one transaction-list entry per list");

    let (proof, prove_time) = prove_lists(&pi, &sb).await?;
    let settlement = settlement_of(&world, &pi, proof)?;
    ensure!(settlement.sequence == 0);
    let calldata = settlement.calldata().len();
    ensure!(calldata <= MAX_SETTLE_CALLDATA, "settle calldata {calldata} > {MAX_SETTLE_CALLDATA} felts");
    let settle_call = world.registry.settle_call(&settlement)?;
    ensure!(
        !needs_more_steps_than(client, &settle_call, STEP_BOUND).await?,
        "the list settlement needs more than the {STEP_BOUND}-step bound"
    );
    // A modified prover's outputs (account #2 credited one more) under the honest proof: the
    // list verifier refuses it, nothing changes, the prover pays.
    let watched = Watched::settlement(&settlement, &[world.thread_id]);
    let mut forged = settlement.clone();
    let last = forged.outputs.len() - 1;
    forged.outputs[last].value += Felt::ONE;
    assert_settle_reverts(
        &world.registry,
        client,
        &forged,
        settle_bounds(client).await?,
        "registry: invalid proof",
        &watched,
    )
    .await?;
    let outcome = world.registry.settle(client, &settlement, FeeMode::Manual(settle_bounds(client).await?)).await?;
    let gas = l2_gas_used(client, &outcome).await?;
    eprintln!(
        "list sub-block: {} transfers in {} lists, {} slots, proved in {:.1} s, {} proof felts ({calldata} settle calldata felts); settle L2 gas {gas}",
        sb.transfer_count(),
        sb.txs.len(),
        sb.inputs.len(),
        prove_time.as_secs_f64(),
        settlement.proof.len()
    );
    ensure!(
        !outcome.is_reverted(),
        "list settle reverted: ...{}",
        tail(outcome.revert_reason().unwrap_or_default(), 600)
    );
    ensure!(gas <= MAX_SETTLE_L2_GAS, "settle used {gas} L2 gas > {MAX_SETTLE_L2_GAS}");

    let balance = |account: Felt| async move {
        client.storage_at(token, balance_slot(account)?).await.map_err(anyhow::Error::from)
    };
    ensure!(balance(holder).await? == Felt::from(SUPPLY - 500));
    ensure!(balance(one).await? == Felt::from(300u128 - 120));
    ensure!(balance(two).await? == Felt::from(320u128));
    // One key step per list: the holder's two transfers took one signature.
    ensure!(
        world.token.thread_key(client, holder).await? == pack_key_slot(&key(holder_seed, 1), hn + 1)?,
        "holder key slot not rotated once"
    );
    ensure!(
        world.token.thread_key(client, one).await? == pack_key_slot(&key(one_seed, 1), on + 1)?,
        "account #1 key slot not rotated"
    );
    ensure!(world.registry.next_sequence(client, world.thread_id).await? == 1);

    // Replays: the same settlement reverts on the sequence, and the same signed lists batched
    // again for the next sub-block are refused (each sender's key slot moved on).
    let watched = Watched::settlement(&settlement, &[world.thread_id]);
    assert_settle_reverts(
        &world.registry,
        client,
        &settlement,
        settle_bounds(client).await?,
        "registry: wrong sequence",
        &watched,
    )
    .await?;
    let current = token_slots(&world, token, &[holder, one, two]).await?;
    let next = world.next_statement().await?;
    ensure!(next.sequence == Felt::ONE);
    let again = SignedBatcher::new(next, [token]).batch_lists(&txs, |s| current.get(s).copied());
    match again {
        Err(zkthread_token::SignedBatchError::Empty { rejected }) => ensure!(
            rejected.len() == 2
                && rejected.iter().all(|r| matches!(
                    r,
                    zkthread_token::SignedRejection::WrongNonce { .. } | zkthread_token::SignedRejection::WrongKey { .. }
                )),
            "replayed lists refused for another reason: {rejected:?}"
        ),
        other => anyhow::bail!("replayed lists were batched: {other:?}"),
    }
    lists_through_the_engine(&world, (holder, holder_seed, hn + 1), (one, one_seed, on + 1), two).await
}

/// The engine's list path on the same thread, sequence 1 (the signed program's batch refused
/// on it by its program hash): lists admitted into a batcher's store (a replay, a list changed
/// after signing, a zero item, an empty list and one paying more accounts than a settlement
/// carries refused with their reasons, nothing stored), batched (a list over its sender's
/// balance refused whole, and the too-wide list put in the store past admission, each with its
/// reason), proven at the list program's fast parameter set (`ListVerifier`'s second one:
/// sub-block 0 settled at the first) and settled by `zkthread_engine` as the CLI and service
/// drive it.
async fn lists_through_the_engine(
    world: &ThreadWorld,
    (holder, holder_seed, hn): (Felt, u64, u32),
    (one, one_seed, on): (Felt, u64, u32),
    two: Felt,
) -> Result<()> {
    use zkthread_engine::submit::{admit_list, Refused};
    use zkthread_engine::program::ProofParams;
    use zkthread_engine::{batch, prove_at, settle, BatchOutcome, Limits, Logged, ProveOutcome, SettleOptions, SettleOutcome};
    use zkthread_store::{NewTransferList, Store, SubBlockStatus, ThreadKey};
    use zkthread_token::list_prover::LIST_FAST_PARAMS;

    let (client, token) = (world.client(), world.token.address);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?.program::<NewTransferList>();
    let thread = ThreadKey::new(world.registry.address, world.thread_id);
    let contracts = [token];
    let statement = world.next_statement().await?;
    let refused = |outcome: std::result::Result<_, zkthread_engine::SubmitError>| match outcome {
        Err(zkthread_engine::SubmitError::Refused(reason)) => Ok(reason),
        other => Err(anyhow::anyhow!("admitted: {other:?}")),
    };

    // The signed program's messages on this list thread are refused before anything is
    // checked or built: its proofs could never settle here.
    let signed_dir = tempfile::tempdir()?;
    let signed_store = Store::open(signed_dir.path())?;
    signed_store.submit(thread, zkthread_store::NewTransfer { token, from: holder, to: two, amount: 1, auth: None })?;
    match batch(client, &signed_store, thread, Limits::default(), &Logged).await {
        Err(error @ zkthread_engine::EngineError::OtherProgram { .. }) => ensure!(
            error.to_string().contains("(the list program), not the token's signed program"),
            "{error}"
        ),
        other => anyhow::bail!("a signed transfer was batched on a list thread: {other:?}"),
    }
    ensure!(signed_store.sub_blocks(thread)?.is_empty() && signed_store.pending(thread)?.len() == 1);

    let pay = signed_list(&statement, token, (holder, holder_seed), &[(one, 10), (two, 20), (one, 5)], (1, hn))?;
    let mut changed = pay.clone();
    changed.transfers[1].1 = 2_000;
    let reason = refused(admit_list(client, &store, thread, &contracts, &changed).await)?;
    ensure!(matches!(reason, Refused::BadSignature(_)), "a changed list: {reason}");
    let first = admit_list(client, &store, thread, &contracts, &pay).await?;
    // Posted again word for word (a wallet whose answer was lost): the stored list, not a second.
    let again = admit_list(client, &store, thread, &contracts, &pay).await?;
    ensure!(again.duplicate && again.message.id == first.message.id && store.pending(thread)?.len() == 1, "a list posted again");
    // Another list signed under the same key index and nonce is a replay.
    let other = signed_list(&statement, token, (holder, holder_seed), &[(one, 10)], (1, hn))?;
    let reason = refused(admit_list(client, &store, thread, &contracts, &other).await)?;
    ensure!(matches!(reason, Refused::WrongNonce { .. }), "a replayed list: {reason}");
    let zero = signed_list(&statement, token, (one, one_seed), &[(two, 1), (holder, 0)], (1, on))?;
    let reason = refused(admit_list(client, &store, thread, &contracts, &zero).await)?;
    ensure!(reason.to_string() == "list item 1: amount must be above zero", "{reason}");
    let mut empty = zero.clone();
    empty.transfers.clear();
    ensure!(matches!(refused(admit_list(client, &store, thread, &contracts, &empty).await)?, Refused::EmptyList));
    // Admitted (the balance moves until batching), then refused whole by the batcher.
    let overspend = signed_list(&statement, token, (one, one_seed), &[(two, 1), (holder, SUPPLY)], (1, on))?;
    admit_list(client, &store, thread, &contracts, &overspend).await?;
    // A list paying 146 accounts: 148 slots, more than one settlement carries. Refused at
    // admission whatever its signature; put in the store past admission, refused by the batcher.
    let receivers: Vec<(Felt, u128)> = (0..146u64).map(|i| (Felt::from(0x5000 + i), 1)).collect();
    let wide = signed_list(&statement, token, (two, 0x7e0), &receivers, (0, 0))?;
    let reason = refused(admit_list(client, &store, thread, &contracts, &wide).await)?;
    ensure!(matches!(reason, Refused::TooManySlots { slots: 148, max: 147 }), "{reason}");
    ensure!(store.pending(thread)?.len() == 2, "only the two valid lists are stored");
    store.submit(thread, zkthread_engine::codec::new_transfer_list(&wide))?;

    let BatchOutcome::Built(built) = batch(client, &store, thread, Limits::default(), &Logged).await? else {
        anyhow::bail!("nothing built");
    };
    ensure!(built.sub_block.sequence() == 1 && built.sub_block.body.messages.len() == 1);
    ensure!(built.rejected.len() == 2 && built.rejected[0].message.body.from == one, "{:?}", built.rejected);
    let reason = &built.rejected[0].reason;
    ensure!(reason.starts_with("the list pays out more than the sender's balance"), "{reason}");
    ensure!(built.rejected[1].reason == "touches 148 slots; one settlement carries at most 147", "{}", built.rejected[1].reason);
    // The holder's balance and key slot, two receivers' balances.
    ensure!(built.sub_block.body.outputs.len() == 4, "{} outputs", built.sub_block.body.outputs.len());
    let ProveOutcome::Proved(proved) = prove_at(&store, thread, ProofParams::Fast, &Logged).await? else {
        anyhow::bail!("nothing proven");
    };
    ensure!(proved.params == LIST_FAST_PARAMS, "proven at {:?}", proved.params);
    let SettleOutcome::Sent(sent) = settle(client, &store, thread, SettleOptions::default(), &Logged).await? else {
        anyhow::bail!("nothing sent");
    };
    ensure!(sent.settled(), "the engine's list settlement (fast set) reverted: {:?}", sent.revert_reason);
    ensure!(matches!(sent.sub_block.status, SubBlockStatus::Settled { .. }));
    let gas = zkthread_e2e::settle::l2_gas_of(client, sent.tx_hash).await?;
    eprintln!(
        "engine list sub-block at 2^{} x {} + {}: {} proof felts, prove {:.1} s, largest component 2^{}, settle {gas} L2 gas ({:.3e})",
        proved.params.log_blowup,
        proved.params.n_queries,
        proved.params.pow_bits,
        proved.proof_felts,
        proved.prove_time.as_secs_f64(),
        proved.log_rows,
        gas as f64
    );
    let balance = |account: Felt| async move {
        client.storage_at(token, balance_slot(account)?).await.map_err(anyhow::Error::from)
    };
    ensure!(balance(holder).await? == Felt::from(SUPPLY - 500 - 35));
    ensure!(balance(one).await? == Felt::from(300u128 - 120 + 15));
    ensure!(balance(two).await? == Felt::from(320u128 + 20));
    ensure!(world.token.thread_key(client, holder).await? == pack_key_slot(&key(holder_seed, 2), hn + 1)?);
    ensure!(world.token.thread_key(client, one).await? == pack_key_slot(&key(one_seed, 1), on)?, "a refused list moves no key");
    ensure!(world.registry.next_sequence(client, world.thread_id).await? == 2);
    paused_then_upgraded_before_settling(world, &store, (holder, holder_seed, hn + 1), two).await
}

/// Sub-block 2 proven, then its thread changes before it is sent. Paused by its admin
/// (`set_active(false)`): the engine's pre-settlement checks hold it back, nothing is sent and
/// it stays proven. Resumed, with a prover allowlist that leaves out the settling account
/// (`set_provers`): held the same way, nothing sent, until the list is cleared. Then moved to
/// another OS version and program (`upgrade_thread`,
/// to the unsigned `ThreadVerifier` under OS version 2, which the token is made to accept): its
/// proof binds the old program and could only revert, so the checks refuse it for a rebuild,
/// `abandon_if_stale` ends it with that reason and its list is pending again, which the
/// batcher then refuses to build for the program the thread now runs. No slot moves.
async fn paused_then_upgraded_before_settling(
    world: &ThreadWorld,
    store: &zkthread_store::Store<zkthread_store::NewTransferList>,
    (holder, holder_seed, hn): (Felt, u64, u32),
    two: Felt,
) -> Result<()> {
    use zkthread_engine::batch::abandon_if_stale;
    use zkthread_engine::submit::admit_list;
    use zkthread_engine::{batch, prove, settle, BatchOutcome, EngineError, Limits, Logged, ProveOutcome, SettleOptions};
    use zkthread_store::{SubBlockStatus, ThreadKey};

    let (client, token, registry) = (world.client(), world.token.address, &world.registry);
    let thread = ThreadKey::new(registry.address, world.thread_id);
    let statement = world.next_statement().await?;
    let pay = signed_list(&statement, token, (holder, holder_seed), &[(two, 3)], (2, hn))?;
    admit_list(client, store, thread, &[token], &pay).await?;
    let BatchOutcome::Built(_) = batch(client, store, thread, Limits::default(), &Logged).await? else {
        anyhow::bail!("nothing built");
    };
    let ProveOutcome::Proved(_) = prove(store, thread, &Logged).await? else {
        anyhow::bail!("nothing proven");
    };
    let watched = token_slots(world, token, &[holder, two]).await?;
    let admin = |calls, what: &'static str| async move {
        client.invoke(calls, FeeMode::default()).await?.require_success(what).map(|_| ())
    };

    admin(vec![registry.set_active_call(world.thread_id, false)?], "set_active(false)").await?;
    match settle(client, store, thread, SettleOptions::default(), &Logged).await {
        Err(EngineError::PreflightBlocked { why, rebuild: false, oversize: None }) => {
            ensure!(why.contains("is inactive on-chain"), "{why}")
        }
        other => anyhow::bail!("settled on a paused thread: {other:?}"),
    }
    let held = store.in_flight(thread)?.context("the sub-block")?;
    ensure!(matches!(held.status, SubBlockStatus::Proven), "a paused thread's sub-block stays proven: {}", held.status.name());
    ensure!(abandon_if_stale(client, store, thread).await?.is_none(), "a pause ends nothing");
    admin(vec![registry.set_active_call(world.thread_id, true)?], "set_active(true)").await?;

    // A prover allowlist without this account: its settle would revert (the fee paid for
    // nothing), so the checks hold the sub-block, sending nothing, until the admin allows it.
    admin(vec![registry.set_provers_call(world.thread_id, &[two])?], "set_provers([two])").await?;
    match settle(client, store, thread, SettleOptions::default(), &Logged).await {
        Err(EngineError::PreflightBlocked { why, rebuild: false, oversize: None }) => {
            ensure!(why.contains("is not on thread") && why.contains("prover allowlist"), "{why}")
        }
        other => anyhow::bail!("sent a settle the allowlist refuses: {other:?}"),
    }
    let held = store.in_flight(thread)?.context("the sub-block")?;
    ensure!(matches!(held.status, SubBlockStatus::Proven) && held.sends.is_empty(), "nothing sent: {}", held.status.name());
    admin(vec![registry.set_provers_call(world.thread_id, &[])?], "set_provers([])").await?;

    // Another program under a newer OS version, accepted by the token, and the thread moved to it.
    let newer = world.upgrade_to_thread_verifier(world.thread_id, &[world.token.address]).await?;
    match settle(client, store, thread, SettleOptions::default(), &Logged).await {
        Err(EngineError::PreflightBlocked { why, rebuild: true, oversize: None }) => {
            ensure!(why.starts_with(&format!("the thread now runs program {:#x}", newer)), "{why}")
        }
        other => anyhow::bail!("sent a proof of the old program: {other:?}"),
    }
    let ended = abandon_if_stale(client, store, thread).await?.context("the upgraded thread's sub-block ends")?;
    ensure!(ended.to == "stale" && ended.detail.contains("not the") && ended.detail.contains("1 message(s) pending again"), "{}", ended.line());
    ensure!(store.pending(thread)?.len() == 1, "the list is pending again");
    match batch(client, store, thread, Limits::default(), &Logged).await {
        Err(EngineError::OtherProgram { program_hash, .. }) => ensure!(program_hash == newer),
        other => anyhow::bail!("a list was built for another program: {other:?}"),
    }
    ensure!(store.pending(thread)?.len() == 1, "still pending, not lost");
    ensure!(token_slots(world, token, &[holder, two]).await? == watched, "no slot moved");
    ensure!(registry.next_sequence(client, world.thread_id).await? == 2);
    Ok(())
}

/// Benchmark (prints a table; run with `--ignored --nocapture`): `N` transfers among four hot
/// accounts (`ZKTHREAD_LIST_BENCH=N`, default 4,096), each sender paying the other three in
/// ONE signed list, settled through `ListVerifier`, against a direct ERC-20 `transfer` between
/// two funded accounts measured on the same devnet.
/// `cargo test -p zkthread-e2e --test signed_settlement -- --ignored --nocapture bench_lists`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_lists_on_hot_accounts() -> Result<()> {
    init_tracing();
    let n: usize = match std::env::var("ZKTHREAD_LIST_BENCH") {
        Ok(text) => text.parse().context("ZKTHREAD_LIST_BENCH must be a transfer count")?,
        Err(_) => 4_096,
    };
    ensure!(n >= 4, "at least one transfer per sender");
    let world = ThreadWorld::deploy_with_program(artifact(LIST_VERIFIER.0, LIST_VERIFIER.1)?).await?;
    let client = world.client();
    let token = world.token.address;
    let accounts = world.accounts(4);
    let seeds: Vec<u64> = (0..4).map(|i| 0x5eed_0000 + i).collect();
    // Fund the three others (each a first write of its balance), then one direct transfer
    // between two funded accounts: the direct cost a hot thread transfer replaces.
    for to in &accounts[1..] {
        world.token.transfer(client, *to, SUPPLY / 8, FeeMode::default()).await?;
    }
    let direct = world.token.transfer(client, accounts[1], 1, FeeMode::default()).await?;
    let direct_gas = l2_gas_used(client, &direct).await?;
    let keyed: Vec<(usize, Felt, u64)> = (0..4).map(|i| (i, accounts[i], seeds[i])).collect();
    let nonces = register_keys(&world, &keyed).await?;

    let statement = world.next_statement().await?;
    let per = n / 4;
    let mut txs = Vec::new();
    for (i, from) in accounts.iter().enumerate() {
        let others: Vec<Felt> = accounts.iter().copied().filter(|a| a != from).collect();
        let transfers: Vec<(Felt, u128)> = (0..per).map(|j| (others[j % 3], 1)).collect();
        txs.push(signed_list(&statement, token, (*from, seeds[i]), &transfers, (0, nonces[from]))?);
    }
    let current = token_slots(&world, token, &accounts).await?;
    let batch = SignedBatcher::new(statement.clone(), [token])
        .batch_lists(&txs, |s| current.get(s).copied())
        .context("batching")?;
    ensure!(batch.rejected.is_empty() && batch.deferred.is_empty(), "rejected: {:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement);
    let (proof, prove_time) = prove_lists(&pi, &sb).await?;
    let settlement = settlement_of(&world, &pi, proof)?;
    let calldata = settlement.calldata().len();
    let outcome = world.registry.settle(client, &settlement, FeeMode::Manual(settle_bounds(client).await?)).await?;
    ensure!(
        !outcome.is_reverted(),
        "list settle reverted: ...{}",
        tail(outcome.revert_reason().unwrap_or_default(), 600)
    );
    let gas = l2_gas_used(client, &outcome).await?;
    let transfers = sb.transfer_count();
    eprintln!("| transfers | lists | slots | proof felts | settle calldata felts | prove | settle L2 gas | per transfer | direct transfer (hot) | thread / direct |");
    eprintln!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    eprintln!(
        "| {transfers} | {} | {} | {} | {calldata} | {:.1} s | {gas} | {} | {direct_gas} | {:.1}x cheaper |",
        sb.txs.len(),
        sb.inputs.len(),
        settlement.proof.len(),
        prove_time.as_secs_f64(),
        gas / transfers as u64,
        (direct_gas as f64 * transfers as f64) / gas as f64
    );
    Ok(())
}
