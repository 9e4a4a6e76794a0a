//! Rounds of signed orders, end to end off-chain (issue 12's measurements): clients sign
//! places (half bids, half asks, crossing prices) and a few cancels, the real batcher
//! (`batcher::build`) checks and matches them, and the settlement prover
//! (`zkthread_orderbook::poseidon252`, Poseidon252 at the token's `SIGNED_PARAMS`) proves each
//! sub-block under its statement; the proof's felts are decoded and verified.
//!
//! A lone taker crossing more makers than one settlement carries is proven too, unbounded
//! and under the slot budget the engine sets from that proof
//! (`a_lone_taker_over_the_calldata_limit_fits_under_the_budget_it_sets`).
//!
//! `timing_rounds` is ignored (minutes per round). One command, the rounds in sequence in
//! one process (the peak RSS is reset per round through `/proc/self/clear_refs`):
//! `cargo nextest run -p zkthread-orderbook --test rounds --run-ignored only --no-capture timing`
//! (`ZKTHREAD_ROUNDS=64,256` for a subset). Dev profile: the prover crates and this one are
//! built at opt-level 3 (the workspace's `[profile.dev.package.*]`).

mod common;
use common::orders::{key, seed};
use common::{account, domain, header, BASE, BOOK, QUOTE};

use std::time::Instant;

use starknet_types_core::felt::Felt;
use zkthread_orderbook::batcher::{build, build_within, slot_budget_below, Account, BookState, SignedOrder, SubBlock};
use zkthread_orderbook::poseidon252;
use zkthread_orderbook::state::{OrderState, Price, SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::{Directory, OrderBookWitness, OrderMessage};
use zkthread_prover::range::SIGNED_MAX_LOG_ROWS;
use zkthread_prover::{poseidon2, trace};
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{sign, SignedMessage};
use zkthread_token::SIGNED_PARAMS;

/// First account's address; account `i` is `ACCOUNT0 + i`.
const ACCOUNT0: u64 = 0x1_0000;

/// A client: its seed and current key (a wallet keeps both), signing consecutive messages
/// from key 0 at nonce 1.
struct Client {
    who: u64,
    seed: KeySeed,
    key: KeyCommitment,
    nonce: u32,
}

impl Client {
    fn new(who: u64) -> Client {
        Client { who, seed: seed(who), key: key(who, 0), nonce: 1 }
    }

    /// Signs `(id, place)` with the current key, rotating to the next.
    fn sign(&mut self, id: u32, place: Option<(u32, u32, u64)>) -> SignedOrder {
        let place = place.map(|(side, price, qty)| (side, Price::whole(price), qty));
        let next_key = commitment(&self.seed, self.nonce).expect("a key index");
        let message = OrderMessage { book: domain(BOOK), owner: account(self.who), id, place, nonce: self.nonce, next_key };
        let index = self.nonce - 1;
        let signature = sign(&self.seed, index, &message).expect("sign");
        let signed = SignedMessage { index, key: self.key, message, signature };
        (self.key, self.nonce) = (next_key, self.nonce + 1);
        signed
    }
}

/// A round of `n` places from `n / 4` accounts (even accounts ask, odd ones bid; arrival
/// alternates ask, bid) at crossing prices (asks 100..=109, bids 95..=104, quantities
/// 1..=50), then `n / 64` cancels of accounts' first orders. Returns the book (every account
/// funded with both tokens, key 0 at nonce 1), the queue, the owners and the signing time.
fn round(n: usize) -> (BookState, Vec<SignedOrder>, Vec<Felt>, f64) {
    let accounts = (n / 4).max(8);
    let mut book = BookState::new(domain(BOOK), domain(BASE), domain(QUOTE), 0);
    let owners: Vec<u64> = (0..accounts as u64).map(|i| ACCOUNT0 + i).collect();
    for who in &owners {
        let funded = Account { base: 1 << 40, quote: 1 << 60, nonce: 1, key: key(*who, 0) };
        book.set_account(account(*who), funded);
    }
    let mut clients: Vec<Client> = owners.iter().map(|w| Client::new(*w)).collect();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let began = Instant::now();
    let mut queue = Vec::with_capacity(n + n / 64);
    for j in 0..n {
        let (a, id) = (j % accounts, (j / accounts) as u32 + 1);
        let (side, base) = if a % 2 == 0 { (SIDE_SELL, 100) } else { (SIDE_BUY, 95) };
        let price = base + (next() % 10) as u32;
        queue.push(clients[a].sign(id, Some((side, price, 1 + next() % 50))));
    }
    for c in 0..n / 64 {
        queue.push(clients[(c * 7) % accounts].sign(1, None));
    }
    let sign_s = began.elapsed().as_secs_f64();
    (book, queue, owners.into_iter().map(Felt::from).collect(), sign_s)
}

/// The largest component's log rows a proof of `w` would have (the driver's rule).
fn largest_log_rows(w: &OrderBookWitness) -> u32 {
    let a = &w.auth;
    let sets = [&w.fills, &w.places, &w.cancels, &a.chain_steps, &a.digests, &a.key_sponges, &a.tx_list];
    let roles = sets.iter().map(|rows| trace::log_rows_for(rows.len()));
    roles.chain([poseidon2::trace::log_rows_for(a.permutations.len())]).max().unwrap_or(0)
}

/// `queue` in as many consecutive sub-blocks as the batcher cuts it into (each takes what
/// fits one proof, `Batch::deferred` goes to the next, which starts from the previous one's
/// state), and the batching time.
fn sub_blocks(state: &BookState, queue: &[SignedOrder]) -> (Vec<SubBlock>, f64) {
    let began = Instant::now();
    let mut subs: Vec<SubBlock> = Vec::new();
    let mut rest = queue.to_vec();
    while !rest.is_empty() {
        let from = subs.last().map_or(state, |s| &s.after);
        let batch = build(from, &rest).expect("a sub-block");
        assert!(batch.refused.is_empty(), "the batcher refused {:?}", batch.refused);
        rest = batch.deferred;
        subs.push(batch.sub_block);
    }
    (subs, began.elapsed().as_secs_f64())
}

/// The book, its tokens and the round's owners.
fn directory(owners: &[Felt]) -> Directory {
    Directory {
        book: Felt::from(BOOK),
        base: Felt::from(BASE),
        quote: Felt::from(QUOTE),
        other_tokens: vec![],
        owners: owners.to_vec(),
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next());
    kb.and_then(|kb| kb.parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5); false if not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One sub-block's measured row.
struct Measured {
    prove_s: f64,
    verify_ms: f64,
    proof_felts: usize,
    statement_felts: usize,
    inputs: usize,
    outputs: usize,
    calldata: usize,
    log_rows: u32,
}

/// Proves `sub` (sequence `seq`) under its statement, round-trips its felts and verifies the
/// decoded proof.
fn measure(sub: &SubBlock, owners: &[Felt], seq: u64) -> Measured {
    let directory = directory(owners);
    let head = zkthread_orderbook::SignedPublicInput { sequence: Felt::from(seq), ..header(Default::default()) };
    let (statement, witness) = sub.statement(&head, &directory).expect("expressible");
    let began = Instant::now();
    let proof = poseidon252::prove(&statement, &witness, &sub.witness, &SIGNED_PARAMS).expect("proves");
    let prove_s = began.elapsed().as_secs_f64();
    let felts = poseidon252::to_felts(&proof);
    let decoded = poseidon252::from_felts(&felts).expect("decodes");
    assert_eq!(poseidon252::to_felts(&decoded), felts);
    let began = Instant::now();
    poseidon252::verify(&statement, &decoded, &SIGNED_PARAMS).expect("verifies");
    let verify_ms = began.elapsed().as_secs_f64() * 1e3;
    let (inputs, outputs) = (statement.inputs.len(), statement.outputs.len());
    Measured {
        prove_s,
        verify_ms,
        proof_felts: felts.len(),
        statement_felts: statement.to_felts().len(),
        inputs,
        outputs,
        // `Settlement::calldata` (zkthread-client): thread, sequence, the two slot spans
        // (length + 3 felts per entry), the transaction list (count, commitment), the proof
        // span (length + felts).
        calldata: 7 + 3 * (inputs + outputs) + felts.len(),
        log_rows: *proof.log_sizes.iter().max().expect("components"),
    }
}

#[test]
#[ignore = "timing: run with --run-ignored only --no-capture"]
fn timing_rounds() {
    let sizes = std::env::var("ZKTHREAD_ROUNDS").unwrap_or_else(|_| "64,256,1024".into());
    let sizes: Vec<usize> = sizes.split(',').map(|s| s.trim().parse().expect("a round size")).collect();
    eprintln!(
        "| orders (+cancels) | sub-blocks | fills | sign s | batch s | prove s | verify ms | proof felts | statement felts (in/out) | calldata est. | log rows | peak RSS MB |"
    );
    for n in sizes {
        let reset = reset_peak_rss();
        let (state, queue, owners, sign_s) = round(n);
        // The batcher cuts the round at what one proof holds (`batcher::MAX_COMPONENT_ROWS`).
        let (subs, batch_s) = sub_blocks(&state, &queue);
        assert!(subs.iter().all(|s| largest_log_rows(&s.witness) <= SIGNED_MAX_LOG_ROWS));
        let k = subs.len();
        let measured: Vec<Measured> = subs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let m = measure(s, &owners, i as u64);
                // Each sub-block as soon as it is measured (a round of several takes long).
                eprintln!(
                    "  sub-block {i} of {n}: {} messages, {} fills, prove {:.1} s, {} proof felts, calldata {}, 2^{} rows, peak RSS {:.0} MB",
                    s.messages.len(),
                    s.trades.len(),
                    m.prove_s,
                    m.proof_felts,
                    m.calldata,
                    m.log_rows,
                    peak_rss_mb()
                );
                m
            })
            .collect();
        let fills: usize = subs.iter().map(|s| s.trades.len()).sum();
        let join = |f: &dyn Fn(&Measured) -> String| measured.iter().map(f).collect::<Vec<_>>().join(" + ");
        eprintln!(
            "| {n} (+{}) | {k} | {fills} | {sign_s:.2} | {batch_s:.2} | {} | {} | {} | {} | {} | {} | {:.0}{} |",
            queue.len() - n,
            join(&|m| format!("{:.1}", m.prove_s)),
            join(&|m| format!("{:.0}", m.verify_ms)),
            join(&|m| m.proof_felts.to_string()),
            join(&|m| format!("{} ({}/{})", m.statement_felts, m.inputs, m.outputs)),
            join(&|m| m.calldata.to_string()),
            join(&|m| m.log_rows.to_string()),
            peak_rss_mb(),
            if reset { "" } else { " (process peak)" },
        );
        assert!(fills > 0, "crossing prices fill");
    }
}


/// One taker crossing `makers` resting asks of distinct owners (the settlement-size case the
/// slot budget answers): the book, the taker's message and the owners (the taker first).
fn lone_taker(makers: usize) -> (BookState, SignedOrder, Vec<Felt>) {
    let mut book = BookState::new(domain(BOOK), domain(BASE), domain(QUOTE), 0);
    let owners: Vec<u64> = (0..=makers as u64).map(|i| ACCOUNT0 + i).collect();
    for (i, who) in owners.iter().enumerate() {
        let funded = Account { base: 1 << 40, quote: 1 << 60, nonce: 1, key: key(*who, 0) };
        book.set_account(account(*who), funded);
        if i > 0 {
            book.insert_order(account(*who), 1, OrderState::sell(100 + i as u32, 10));
        }
    }
    let taker = Client::new(owners[0]).sign(1, Some((SIDE_BUY, 100 + makers as u32, 10 * makers as u64)));
    (book, taker, owners.into_iter().map(Felt::from).collect())
}

/// What a lone taker costs to settle against the makers it crosses, unbounded and then under
/// the slot budget the engine sets after that round came out too large
/// (`batcher::slot_budget_below`): the proof felts stay near-constant, so the budget is what
/// keeps the settlement under Starknet's 5,000 calldata felts.
/// `cargo nextest run -p zkthread-orderbook --test rounds --run-ignored only --no-capture lone_taker`
#[test]
#[ignore = "timing: run with --run-ignored only --no-capture"]
fn timing_lone_taker() {
    eprintln!("| makers | budget | fills | touched slots | in/out | proof felts | calldata | prove s |");
    for makers in [8usize, 16, 24, 32, 48, OVER_THE_LIMIT_MAKERS] {
        let (state, taker, owners) = lone_taker(makers);
        let mut budget = None;
        loop {
            let sub = build_within(&state, std::slice::from_ref(&taker), budget, None).expect("a sub-block").sub_block;
            let m = measure(&sub, &owners, 0);
            eprintln!(
                "| {makers} | {} | {} | {} | {}/{} | {} | {} | {:.1} |",
                budget.map_or("none".into(), |b: usize| b.to_string()),
                sub.trades.len(),
                sub.changes.len(),
                m.inputs,
                m.outputs,
                m.proof_felts,
                m.calldata,
                m.prove_s
            );
            if m.calldata <= 5_000 {
                break;
            }
            budget = Some(slot_budget_below(sub.changes.len(), m.calldata - 5_000));
        }
    }
}

/// Makers of [`a_lone_taker_over_the_calldata_limit_fits_under_the_budget_it_sets`]: enough
/// that the whole crossing's settle calldata is over 5,000 felts (48 were until session 58's
/// smaller proofs: 4,958 felts with one row count per queried tree).
const OVER_THE_LIMIT_MAKERS: usize = 56;

/// A lone taker crossing 56 makers of distinct owners, proven at the settlement parameters:
/// its settle calldata is over Starknet's 5,000 felts (before the slot budget, such a message
/// was refused and its key spent); under the budget the engine then sets
/// (`slot_budget_below` of its touched slots and the excess, cut again while a round is still
/// over, as the engine's `end_oversized` does: a proof's own size moves a little with its
/// query positions), the same message settles with fewer fills after at most two cuts, its
/// remainder resting for the next sub-block. (`timing_lone_taker` prints the table for 8 to
/// 56 makers.)
#[test]
fn a_lone_taker_over_the_calldata_limit_fits_under_the_budget_it_sets() {
    let makers = OVER_THE_LIMIT_MAKERS;
    let (state, taker, owners) = lone_taker(makers);
    let whole = build(&state, std::slice::from_ref(&taker)).expect("a sub-block").sub_block;
    let over = measure(&whole, &owners, 0);
    assert!(over.calldata > 5_000, "{} calldata felts", over.calldata);
    let (mut sub, mut calldata, mut cuts) = (whole, over.calldata, 0);
    while calldata > 5_000 {
        assert!(cuts < 2, "{calldata} calldata felts after {cuts} cuts of the slot budget");
        let budget = slot_budget_below(sub.changes.len(), calldata - 5_000);
        sub = build_within(&state, std::slice::from_ref(&taker), Some(budget), None).expect("a sub-block").sub_block;
        calldata = measure(&sub, &owners, 0).calldata;
        cuts += 1;
    }
    assert_eq!(sub.messages.len(), 1, "the taker is taken");
    assert!(sub.trades.len() > 8 && sub.trades.len() < makers, "{} fills", sub.trades.len());
    let rest = 10 * (makers - sub.trades.len()) as u64;
    let price = 100 + makers as u32;
    assert_eq!(sub.after.order(&account(ACCOUNT0), 1), OrderState::buy(price, rest), "the remainder rests");
}
