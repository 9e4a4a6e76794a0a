//! The batcher's pipeline under overlap and load, on one embedded devnet.
//!
//! 1. Built ahead, through the engine library: sub-block `n + 1` is built on `n`'s outputs and
//!    proven while `n` waits to settle; an L2 transfer then makes `n` stale, and both end
//!    together with their transfers pending again in order; rebuilt, `n` settles first and
//!    `n + 1` after it, and the balances are the model's.
//! 2. The service's pipeline, in this process: an L2 credit to a receiver lands after the
//!    pre-flight of its sub-block (a test observer sends it at the send checkpoint), so the
//!    settlement reverts stale after the on-chain verification; the rebuilt sub-block is
//!    settled through `settle_checking_inputs_first`, and so are the next ones.
//! 3. Killed right after broadcasting `n`'s settle while `n + 1` is being proven: the restart
//!    finds `n` settled and settles `n + 1` after it, still checking inputs first (resumed
//!    from the store).
//! 4. Load: `zkthread serve` (a child process, building ahead) fed by 8 clients, each posting
//!    signed transfers as its own sender for 60 s at a bounded rate; every accepted transfer
//!    ends settled exactly once, balances equal the reference model, and sub-blocks were built
//!    ahead while their parents settled.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zkthread_client::FeeMode;
use zkthread_engine::adaptive::CALM_SETTLEMENTS;
use zkthread_engine::batch::abandon_if_stale;
use zkthread_engine::settle::InputCheck;
use zkthread_engine::{
    batch, batch_ahead, prove, settle, BatchOutcome, Checkpoint, EngineError, Limits, Logged, Observer, ProveOutcome,
    SettleOptions, SettleOutcome,
};
use zkthread_service::{PipelineConfig, Shared};
use zkthread_store::{Store, SubBlock, SubBlockStatus, ThreadKey, TransferPlace};

mod common;
use common::served::{request, sign_here, Http, Served, SETTLE_TIMEOUT};
use common::world::{World, SUPPLY};

const CLIENTS: usize = 8;
/// How long the clients post, and how often each one does.
const LOAD: Duration = Duration::from_secs(60);
const POST_EVERY: Duration = Duration::from_secs(8);
/// What each client starts with (from account 0, by plain L2 transfers).
const FUNDING: u128 = 10_000;

#[test]
fn sub_blocks_built_ahead_settle_in_order_end_with_their_parent_and_carry_a_load() {
    let world = World::deploy_with_accounts(CLIENTS as u8);
    let mut expected = vec![0u128; CLIENTS];
    expected[0] = SUPPLY;
    for (i, balance) in expected.iter_mut().enumerate().skip(1) {
        world.direct_transfer(i, FUNDING);
        *balance += FUNDING;
    }
    expected[0] -= FUNDING * (CLIENTS as u128 - 1);
    assert_eq!(world.balances(), expected);

    built_ahead_through_the_engine(&world, &mut expected);
    a_stale_revert_turns_the_pipeline_to_the_early_check(&world, &mut expected);
    killed_while_its_parent_settles(&world, &mut expected);
    eight_clients_for_a_minute(&world, &mut expected);
}

/// The service stops right after broadcasting sub-block `n`'s settle while `n + 1`, built
/// ahead, is being proven: the restart finds `n` settled and settles `n + 1` after it.
fn killed_while_its_parent_settles(world: &World, expected: &mut [u128]) {
    // Queued before the service starts, so `n + 1` is built ahead as soon as `n` is proven.
    let first = world.submit(0, 4, 11);
    let second = world.submit(0, 5, 12);
    let mut crashing = Served::start(world, 1, Some("after-send"));
    let exited = crashing.child.wait().expect("serve exits");
    assert_eq!(exited.signal(), Some(6), "serve should abort after sending: {exited:?}");
    {
        let store = Store::open(world.data_dir.path()).expect("the service's data directory");
        let key = ThreadKey::new(world.registry.address, world.thread_id);
        let in_flight = store.all_in_flight(key).unwrap();
        let states: Vec<_> = in_flight.iter().map(|s| (ids(s), s.status.name(), s.body.parent_attempt.is_some())).collect();
        assert_eq!(states.len(), 2, "{states:?}");
        assert_eq!((states[0].0.clone(), states[0].1, states[0].2), (vec![first], "sending", false));
        assert_eq!((states[1].0.clone(), states[1].2), (vec![second], true));
    }
    let served = Served::start(world, 1, None);
    let http = Http {
        world,
        client: reqwest::Client::new(),
    };
    let settled: Vec<u64> = [first, second]
        .iter()
        .map(|id| http.wait_settled(&served.url, *id)["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(settled[1], settled[0] + 1);
    // Both services resumed the early check from the store (the stale revert of the stage
    // before, then one settlement): the crashed one sent `n` through it, the restart `n + 1`.
    let (_, thread) = http.get(format!("{}/thread", served.url));
    assert_eq!(thread["settle_entry"], "settle_checking_inputs_first", "{thread}");
    assert_eq!(thread["inputs_first_left"], CALM_SETTLEMENTS - 3, "{thread}");
    served.kill();
    let store = Store::open(world.data_dir.path()).expect("the service's data directory");
    let key = ThreadKey::new(world.registry.address, world.thread_id);
    for sequence in settled {
        assert_eq!(settled_entry_point(world, &store, key, sequence), "settle_checking_inputs_first");
    }
    expected[0] -= 23;
    expected[4] += 11;
    expected[5] += 12;
    assert_eq!(world.balances(), expected);
}

fn built_ahead_through_the_engine(world: &World, expected: &mut [u128]) {
    // Two transfers from account 0: the second spends from the balance and key slot the first
    // one writes, so built ahead it must read them as the first one's outputs.
    let first = world.submit(0, 1, 100);
    let second = world.submit(0, 2, 50);
    let store = Store::open(world.data_dir.path()).expect("the CLI's data directory");
    let key = ThreadKey::new(world.registry.address, world.thread_id);
    let one = Limits {
        max_transfers: 1,
        ..Limits::default()
    };

    let (parent, child) = build_parent_and_child(world, &store, key, one);
    assert_eq!(ids(&parent), [first]);
    assert_eq!(ids(&child), [second]);
    assert_eq!(child.body.parent_attempt, Some(parent.attempt));
    assert_eq!(child.sequence(), parent.sequence() + 1);
    let written: BTreeSet<_> = parent.body.outputs.iter().map(|o| (o.contract, o.key, o.value)).collect();
    let read_from_parent = child
        .body
        .inputs
        .iter()
        .filter(|i| written.contains(&(i.contract, i.key, i.value)))
        .count();
    // Account 0's balance and key slot: the child's inputs are the parent's outputs.
    assert_eq!(read_from_parent, 2, "child inputs {:?}", child.body.inputs);

    // An L2 transfer from account 0 changes the parent's input: it cannot settle, and the
    // child, built on it, ends with it. Both hand their transfers back, in order.
    world.direct_transfer(3, 7);
    expected[0] -= 7;
    expected[3] += 7;
    match run(world, settle(&world.client, &store, key, SettleOptions::default(), &Logged)) {
        Err(EngineError::PreflightBlocked { rebuild: true, .. }) => {}
        other => panic!("the stale parent must not be sent: {other:?}"),
    }
    let ended = run(world, abandon_if_stale(&world.client, &store, key)).expect("reads the chain");
    assert_eq!(ended.map(|r| r.to), Some("stale"));
    let blocks = store.sub_blocks(key).unwrap();
    let ended_child = blocks.iter().find(|s| (s.sequence(), s.attempt) == (child.sequence(), child.attempt)).unwrap();
    match &ended_child.status {
        SubBlockStatus::Stale { tx_hash: None, reason } => assert!(reason.contains("built on sub-block"), "{reason}"),
        other => panic!("the child must end with its parent: {other:?}"),
    }
    let pending: Vec<u64> = store.pending(key).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(pending, [first, second]);
    assert!(store.all_in_flight(key).unwrap().is_empty());

    // Rebuilt on fresh state: the parent settles first, then the child (never before it).
    let (parent, child) = build_parent_and_child(world, &store, key, one);
    assert_eq!((parent.attempt, child.body.parent_attempt), (1, Some(1)));
    for (sub_block, name) in [(&parent, "parent"), (&child, "child")] {
        match run(world, settle(&world.client, &store, key, SettleOptions::default(), &Logged)) {
            Ok(SettleOutcome::Sent(sent)) => {
                assert!(sent.settled(), "{name}: {:?}", sent.revert_reason);
                assert_eq!(sent.sub_block.sequence(), sub_block.sequence(), "{name} settles in order");
            }
            other => panic!("{name} should settle: {other:?}"),
        }
    }
    expected[0] -= 150;
    expected[1] += 100;
    expected[2] += 50;
    assert_eq!(world.balances(), expected);
    assert_eq!(world.next_sequence(), child.sequence() + 1);
}

/// Batches one sub-block, proves it, builds the next one ahead on it and proves that too.
fn build_parent_and_child(world: &World, store: &Store, key: ThreadKey, limits: Limits) -> (SubBlock, SubBlock) {
    let built = |outcome| match outcome {
        Ok(BatchOutcome::Built(built)) => built.sub_block,
        other => panic!("a sub-block should be built: {other:?}"),
    };
    let parent = built(run(world, batch(&world.client, store, key, limits, &Logged)));
    assert!(parent.body.parent_attempt.is_none());
    // Nothing is built ahead on a sub-block that is not proven yet.
    match run(world, batch_ahead(&world.client, store, key, limits, &Logged)) {
        Err(EngineError::InFlight { .. }) => {}
        other => panic!("built ahead on an unproven sub-block: {other:?}"),
    }
    let proven = |outcome| match outcome {
        Ok(ProveOutcome::Proved(proved)) => proved.sub_block,
        other => panic!("the sub-block should be proven: {other:?}"),
    };
    let parent = proven(run(world, prove(store, key, &Logged)));
    built(run(world, batch_ahead(&world.client, store, key, limits, &Logged)));
    let child = proven(run(world, prove(store, key, &Logged)));
    assert_eq!(store.all_in_flight(key).unwrap().len(), 2);
    (parent, child)
}

/// Sends one L2 credit of the token from account `racer` (not the prover) to `to` at the
/// first settle checkpoint it sees: after the pre-flight, before the broadcast, so the
/// settlement is mined after it. A test double of a griefer, for this file's pipeline stage.
struct RaceTheFirstSend {
    racer: zkthread_client::ChainClient,
    transfer: starknet::core::types::Call,
    raced: AtomicBool,
}

impl Observer for RaceTheFirstSend {
    fn reached(&self, checkpoint: Checkpoint) {
        if checkpoint != Checkpoint::SendRecorded || self.raced.swap(true, Ordering::SeqCst) {
            return;
        }
        // `reached` is synchronous, inside the pipeline's runtime: the credit is sent and
        // awaited on a thread of its own, the pipeline's worker blocked meanwhile.
        let (racer, transfer) = (self.racer.clone(), self.transfer.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                racer
                    .invoke(vec![transfer], FeeMode::default())
                    .await
                    .expect("the racing credit is sent")
                    .require_success("the racing credit")
                    .expect("the racing credit succeeds");
            })
        })
        .join()
        .expect("the racing credit");
    }
}

/// `serve`'s pipeline in this process, on the CLI's data directory: a stale revert paid for
/// a whole verification, then the early check for the rebuilt sub-block.
fn a_stale_revert_turns_the_pipeline_to_the_early_check(world: &World, expected: &mut [u128]) {
    const RACER: usize = 7;
    let id = world.submit(0, 6, 9);
    let devnet = world.devnet.as_ref().expect("the devnet");
    let racer = devnet.account(RACER).expect("the racer's account");
    let racer = zkthread_client::ChainClient::with_chain_id(
        devnet.url().clone(),
        racer.address,
        racer.private_key,
        devnet.chain_id().expect("embedded chain id"),
    );
    let observer = Arc::new(RaceTheFirstSend {
        racer,
        transfer: world.token.transfer_call(world.accounts[6], 3).unwrap(),
        raced: AtomicBool::new(false),
    });
    let key = ThreadKey::new(world.registry.address, world.thread_id);
    let store = Store::open(world.data_dir.path()).expect("the CLI's data directory");
    let shared = Arc::new(Shared::new(world.client.clone(), store, key));
    let config = PipelineConfig {
        limits: Limits {
            max_transfers: 1,
            ..Limits::default()
        },
        poll: Duration::from_millis(200),
        build_ahead: false,
        ..PipelineConfig::default()
    };
    assert_eq!(config.settle.input_check, InputCheck::BeforeWrites, "the service's default adapts");
    let pipeline = world.runtime.spawn(zkthread_service::pipeline::run(shared.clone(), config, observer.clone()));
    let began = Instant::now();
    let settled = loop {
        if let Some(TransferPlace::SubBlock(sub_block)) = shared.store.place(key, id).unwrap() {
            if matches!(sub_block.status, SubBlockStatus::Settled { .. }) {
                break sub_block;
            }
        }
        assert!(began.elapsed() < SETTLE_TIMEOUT, "not settled: {:?}", shared.last_error());
        std::thread::sleep(Duration::from_millis(200));
    };
    pipeline.abort();
    // Dropped before the next stage's CLI opens the data directory (one process at a time).
    let _ = world.runtime.block_on(pipeline);
    assert!(observer.raced.load(Ordering::SeqCst), "the racing credit was sent");
    assert_eq!(settled.attempt, 1, "the first attempt reverted");
    let sub_blocks = shared.store.sub_blocks(key).unwrap();
    let reverted = sub_blocks.iter().find(|s| (s.sequence(), s.attempt) == (settled.sequence(), 0)).unwrap();
    match &reverted.status {
        SubBlockStatus::Stale { tx_hash: Some(_), reason } => assert!(reason.contains("stale input"), "{reason}"),
        other => panic!("the first attempt should have reverted stale on chain: {other:?}"),
    }
    assert_eq!(settled_entry_point(world, &shared.store, key, settled.sequence()), "settle_checking_inputs_first");
    let (entry, attempt_0) = (shared.settle_entry().unwrap(), mined_entry_point(world, &reverted.status));
    assert_eq!(attempt_0, "settle", "the first attempt went to the cheaper entry point");
    assert_eq!((entry.current(), entry.inputs_first_left()), (InputCheck::First, Some(CALM_SETTLEMENTS - 1)));
    // What the race cost, beside the sub-block before it (same shape, through `settle`).
    let fee = |status: &SubBlockStatus| match status {
        SubBlockStatus::Settled { fee_fri: Some(fee), .. } => *fee,
        SubBlockStatus::Stale { tx_hash: Some(tx_hash), .. } => {
            run(world, world.client.wait_for_receipt(*tx_hash)).expect("the receipt").actual_fee
        }
        other => panic!("no fee: {other:?}"),
    };
    let before = sub_blocks
        .iter()
        .find(|s| s.sequence() + 1 == settled.sequence() && matches!(s.status, SubBlockStatus::Settled { .. }))
        .expect("the sub-block before, settled");
    assert_eq!(mined_entry_point(world, &before.status), "settle");
    let strk = |fri: u128| fri as f64 / 1e18;
    eprintln!(
        "raced settlement reverted stale through `settle`: {:.4} STRK; the rebuilt one settled through `settle_checking_inputs_first`: {:.4} STRK; the one before through `settle`: {:.4} STRK",
        strk(fee(&reverted.status)),
        strk(fee(&settled.status)),
        strk(fee(&before.status))
    );
    expected[0] -= 9;
    expected[RACER] -= 3;
    expected[6] += 12;
    assert_eq!(world.balances(), expected);
}

/// The registry entry point the settled attempt of `sequence` was sent to.
fn settled_entry_point(world: &World, store: &Store, key: ThreadKey, sequence: u64) -> &'static str {
    let sub_blocks = store.sub_blocks(key).unwrap();
    let settled = sub_blocks
        .iter()
        .find(|s| s.sequence() == sequence && matches!(s.status, SubBlockStatus::Settled { .. }))
        .expect("a settled attempt");
    mined_entry_point(world, &settled.status)
}

/// The entry point a mined settle transaction called (`[1, to, selector, ...]`).
fn mined_entry_point(world: &World, status: &SubBlockStatus) -> &'static str {
    let tx_hash = match status {
        SubBlockStatus::Settled { tx_hash, .. } | SubBlockStatus::Stale { tx_hash: Some(tx_hash), .. } => *tx_hash,
        other => panic!("no mined send: {other:?}"),
    };
    let selector = world.mined_calldata(tx_hash)[2];
    ["settle", "settle_checking_inputs_first"]
        .into_iter()
        .find(|name| starknet::core::utils::get_selector_from_name(name).unwrap() == selector)
        .expect("a settle entry point")
}

fn run<F: std::future::Future>(world: &World, future: F) -> F::Output {
    world.runtime.block_on(future)
}

fn ids(sub_block: &SubBlock) -> Vec<u64> {
    sub_block.body.messages.iter().map(|t| t.id).collect()
}

fn eight_clients_for_a_minute(world: &World, expected: &mut [u128]) {
    let served = Served::start_with(world, 16, 5, None, None);
    let url = served.url.clone();
    let http = Http {
        world,
        client: reqwest::Client::new(),
    };
    // Client i pays client i + 1 a small amount that differs per post, so a transfer applied
    // twice or lost shows in the balances.
    let amount = |i: usize, k: usize| 1 + (i * 7 + k) as u128 % 13;
    let began = Instant::now();
    let posted: Vec<(usize, usize, u128, u64)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (http, url) = (&http, &url);
                scope.spawn(move || {
                    let mut posted = Vec::new();
                    let mut k = 0;
                    // Posts on a fixed schedule (every POST_EVERY from the start), so a slow
                    // answer delays one post, not the rate.
                    while POST_EVERY * (k as u32) < LOAD {
                        let tick = began + POST_EVERY * (k as u32);
                        std::thread::sleep(tick.saturating_duration_since(Instant::now()));
                        let to = (i + 1) % CLIENTS;
                        let tx = sign_here(world, http, url, i, to, amount(i, k));
                        let (status, answer) = http.post_json(url, &request(&tx));
                        assert_eq!(status, 202, "client {i}: {answer}");
                        posted.push((i, to, tx.amount, answer["id"].as_u64().unwrap()));
                        k += 1;
                    }
                    posted
                })
            })
            .collect();
        clients.into_iter().flat_map(|c| c.join().expect("a client")).collect()
    });
    assert!(posted.len() >= CLIENTS * 4, "only {} posted", posted.len());
    for &(from, to, amount, id) in &posted {
        http.wait_settled(&url, id);
        expected[from] -= amount;
        expected[to] += amount;
    }
    assert_eq!(world.balances(), expected);
    let (_, thread) = http.get(format!("{url}/thread"));
    assert_eq!(thread["pending"], 0, "{thread}");
    assert_eq!(thread["rejected"], 0, "{thread}");
    served.kill();

    // From the store: every posted transfer is in exactly one settled sub-block, and some
    // sub-blocks were built ahead on a parent that was still settling.
    let store = Store::open(world.data_dir.path()).expect("the service's data directory");
    let key = ThreadKey::new(world.registry.address, world.thread_id);
    let settled: Vec<SubBlock> = store
        .sub_blocks(key)
        .unwrap()
        .into_iter()
        .filter(|s| matches!(s.status, SubBlockStatus::Settled { .. }))
        .collect();
    let mut in_settled: Vec<u64> = settled.iter().flat_map(ids).collect();
    let total = in_settled.len();
    in_settled.sort_unstable();
    in_settled.dedup();
    assert_eq!(in_settled.len(), total, "a transfer settled twice");
    for &(_, _, _, id) in &posted {
        assert!(in_settled.binary_search(&id).is_ok(), "transfer {id} not in a settled sub-block");
    }
    let ahead = settled.iter().filter(|s| s.body.parent_attempt.is_some()).count();
    assert!(ahead >= 1, "no sub-block was built ahead among {} settled", settled.len());
    eprintln!(
        "load: {} transfers from {CLIENTS} clients in {:.0} s, {} sub-blocks ({ahead} built ahead), all settled after {:.0} s",
        posted.len(),
        LOAD.as_secs_f64(),
        settled.len(),
        began.elapsed().as_secs_f64()
    );
}
