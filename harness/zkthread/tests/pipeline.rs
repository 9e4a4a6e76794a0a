//! The batcher's pipeline under overlap and load, on one embedded devnet.
//!
//! 1. Built ahead, through the engine library: sub-block `n + 1` is built on `n`'s outputs and
//!    proven while `n` waits to settle; an L2 transfer then makes `n` stale, and both end
//!    together with their transfers pending again in order; rebuilt, `n` settles first and
//!    `n + 1` after it, and the balances are the model's.
//! 2. Killed right after broadcasting `n`'s settle while `n + 1` is being proven: the restart
//!    finds `n` settled and settles `n + 1` after it.
//! 3. Load: `zkthread serve` (a child process, building ahead) fed by 8 clients, each posting
//!    signed transfers as its own sender for 60 s at a bounded rate; every accepted transfer
//!    ends settled exactly once, balances equal the reference model, and sub-blocks were built
//!    ahead while their parents settled.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use zkthread_engine::batch::abandon_if_stale;
use zkthread_engine::{
    batch, batch_ahead, prove, settle, BatchOutcome, EngineError, Limits, Logged, ProveOutcome,
    SettleOptions, SettleOutcome,
};
use zkthread_store::{Store, SubBlock, SubBlockStatus, ThreadKey};

mod common;
use common::served::{request, sign_here, Http, Served};
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
    served.kill();
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
