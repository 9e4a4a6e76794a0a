//! The order book settles on a devnet, next to a token thread of the other program on the same
//! registry. One world: the registry with a `SignedVerifier` thread over its token, then two
//! tokens and an `OrderBook` accepting `OrderBookVerifier`, whose thread lists the book and
//! both tokens. Alice and Bob register thread keys in the book and sign orders; the batcher
//! builds each sub-block against on-chain values, the prover proves it with the production
//! parameters and the registry settles it after the order book's Cairo verifier checked it.
//!
//! 1. Alice asks 100 at 101/2 (a ratio limit: 50.5), Bob bids 30 at 52: one fill at the
//!    maker's price (1,515 quote); Alice's order rests on chain with 70 (the book's `order`
//!    view), balances moved, `fill_count` 1.
//! 2. Bob bids 50 at 51 against the resting 70 (a partial fill carried across sub-blocks).
//!    Before it settles, Alice moves most of her base token away on L2: the proven sub-block
//!    is stale and reverts `registry: stale input`, nothing changed. The batcher rematches the
//!    same signed messages on fresh state (the fill shrinks to what Alice still holds), and
//!    that proof settles.
//!
//! 3. The engine's pipeline on the batcher's store (`orderbook::pipeline`, what `book settle`
//!    and a service run): Alice's signed cancel of the resting ask and Bob's replayed bid are
//!    submitted; `settle_round` batches (the replay refused, kept with its reason), proves and
//!    settles exactly once (`Sending` recorded first), over Alice's L2 cancel of the same ask
//!    (side 4 to side 3); the ask is gone on chain.
//! 4. A Built sub-block whose book moved before it was proven (Alice rotated her key on L2)
//!    ends Stale in `prove`, its message pending again; matched again it is refused (its
//!    nonce is spent), and a round with nothing accepted fails with the reasons, nothing sent.
//! 5. Under the book's slot budget: a taker crossing three asks is filled twice within 9
//!    slots, its remainder rests crossing on chain, and the next round, with no message
//!    pending, resumes it at the maker's price (a sub-block of fills alone: no transaction);
//!    the settled round re-estimates the budget.
//!
//! 6. With a sub-block built, the book's thread moves to another program (`upgrade_thread`):
//!    `batch` ends the sub-block and refuses to build for a verifier that would revert every
//!    book proof (`MarketError::OtherProgram`), the message pending, nothing sent.
//!
//! Seven proofs at `SIGNED_PARAMS`, seven on-chain verifications.

use anyhow::{ensure, Context, Result};
use zkthread_e2e::client::orderbook::BookOrder;
use zkthread_e2e::client::registry::NewThread;
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::orderbook::{deploy_market, prove_round, signer};
use zkthread_e2e::settle::{assert_settle_reverts, l2_gas_used, settle_and_check, settle_bounds, Watched};
use zkthread_e2e::{init_tracing, revert_bounds, SUPPLY};
use zkthread_orderbook::batcher::{build, rematch};
use zkthread_orderbook::state::{OrderState, Price, SIDE_BUY, SIDE_CANCELLED, SIDE_SELL};
use zkthread_engine::orderbook::pipeline::{self, BookProveOutcome};
use zkthread_engine::orderbook::{known_orders, settle_round, MarketError, StoredOrder};
use zkthread_engine::{BatchOutcome, Logged, SettleOptions, SettleOutcome};
use zkthread_sig::domain::{account_id, pack_key_slot};
use zkthread_store::{Store, SubBlockStatus};

/// Quote units Bob starts with (Alice, the holder, keeps the rest of both supplies).
const BOB_QUOTE: u128 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_book_rounds_settle_and_a_stale_round_is_rematched() -> Result<()> {
    init_tracing();
    let (world, market) = deploy_market().await?;
    let world = &world;
    let client = world.client();
    let reader = client.reader();
    let accounts = world.accounts(3);
    let (carol, bob_client) = (accounts[2], world.chain.client(1)?);
    let mut alice = signer(world.holder, 0xa11ce);
    let mut bob = signer(accounts[1], 0xb0b);
    let owners = [alice.address, bob.address];

    // Each token accepts the order-book program only beside the book and the other token
    // (`IThreadPeers`): a thread holding a "book" of an attacker's making, which could answer
    // `read_slots` with resting orders nobody signed, cannot touch them.
    for (token, other) in [(&market.base, market.quote.address), (&market.quote, market.base.address)] {
        ensure!(token.peers_only(reader, market.program_hash).await?, "{:#x} accepts the book's program beside anyone", token.address);
        ensure!(token.accepts_peer(reader, market.program_hash, market.book.address).await?, "the book is no peer");
        ensure!(token.accepts_peer(reader, market.program_hash, other).await?, "the other token is no peer");
        ensure!(!token.accepts_peer(reader, market.program_hash, carol).await?, "an unlisted contract is a peer");
        ensure!(token.accepts_program(reader, market.program_hash).await?, "the program is not accepted");
    }

    // So an attacker's thread beside them is refused when it is opened: Carol deploys a
    // contract of her own that accepts the program (a "book" answering `read_slots` with
    // whatever she wrote there) and asks for the thread {it, base, quote}.
    let carol_client = world.chain.client(2)?;
    let fake_book = world
        .deploy_token_accepting(&carol_client, "FAKE", Felt::from(0xfa4e_u64), &[market.program_hash])
        .await
        .context("deploying the attacker's contract")?;
    let threads_before = world.registry.thread_count(client).await?;
    let hostile = NewThread {
        os_version: world.os_version,
        program_hash: market.program_hash,
        contracts: vec![fake_book.address, market.base.address, market.quote.address],
        admin: carol,
        provers: vec![],
    };
    let outcome = carol_client
        .invoke(vec![world.registry.create_thread_call(&hostile)?], FeeMode::Manual(revert_bounds(&carol_client).await?))
        .await?;
    let reason = outcome.revert_reason().unwrap_or_default().to_owned();
    ensure!(reason.contains("registry: peer not accepted"), "the attacker's thread: {reason}");
    ensure!(world.registry.thread_count(client).await? == threads_before, "a thread was created");

    // Both programs on one registry, each with its own verifier instance.
    let token_program = world.program_hash;
    ensure!(token_program != market.program_hash);
    let instances = [
        world.registry.program_verifier(client, token_program).await?,
        world.registry.program_verifier(client, market.program_hash).await?,
    ];
    ensure!(instances[0] != Felt::ZERO && instances[1] != Felt::ZERO && instances[0] != instances[1]);
    ensure!(world.registry.thread(client, world.thread_id).await?.program_hash == token_program);
    ensure!(world.registry.thread(client, market.thread_id).await?.program_hash == market.program_hash);

    market.quote.transfer(client, bob.address, BOB_QUOTE, FeeMode::default()).await?;
    market.register_key(client, &mut alice).await?;
    market.register_key(&bob_client, &mut bob).await?;

    // Round 1: a fill of 30 at Alice's 101/2 (1,515 quote); her ask rests with 70.
    let state = market.book_state(reader, &owners).await?;
    let ask_price = Price::new(101, 2);
    let queue = vec![
        alice.sign(&state, 5, Some((SIDE_SELL, ask_price, 100)))?,
        bob.sign(&state, 9, Some((SIDE_BUY, Price::whole(52), 30)))?,
    ];
    let batch = build(&state, &queue).context("round 1")?;
    ensure!(batch.refused.is_empty(), "refused: {:?}", batch.refused);
    let round1 = batch.sub_block;
    let trade = round1.trades.first().context("round 1 has no trade")?;
    ensure!(round1.trades.len() == 1 && trade.price == ask_price && trade.quantity == 30 && trade.amount == 1_515);
    let settlement = prove_round(&market, reader, &round1, &owners).await?;
    let outcome = settle_and_check(&world.registry, client, &settlement).await?;
    eprintln!("order-book settle: L2 gas {}", l2_gas_used(client, &outcome).await?);
    let resting = BookOrder { side: SIDE_SELL as u8, price_num: 101, price_den: 2, remaining: 70 };
    ensure!(market.book.order(client, alice.address, 5).await? == resting, "Alice's ask does not rest with 70");
    ensure!(market.book.order(client, bob.address, 9).await?.remaining == 0, "Bob's bid is not filled");
    ensure!(market.book.fill_count(client).await? == 1);
    ensure!(market.base.balance_of(client, bob.address).await? == 30);
    ensure!(market.quote.balance_of(client, bob.address).await? == BOB_QUOTE - 1_515);
    ensure!(market.base.balance_of(client, alice.address).await? == SUPPLY - 30);

    // Round 2 on round 1's state: Bob bids 50 at 51 against the resting 70.
    let queue = vec![bob.sign(&round1.after, 10, Some((SIDE_BUY, Price::whole(51), 50)))?];
    let stale = build(&round1.after, &queue).context("round 2")?.sub_block;
    ensure!(stale.trades.len() == 1 && stale.trades[0].quantity == 50);
    let stale_settlement = prove_round(&market, reader, &stale, &owners).await?;
    // Alice moves all but 20 of her base away on L2: the proven round reads a stale balance.
    market.base.transfer(client, carol, SUPPLY - 30 - 20, FeeMode::default()).await?;
    assert_settle_reverts(
        &world.registry,
        client,
        &stale_settlement,
        settle_bounds(client).await?,
        "registry: stale input",
        &Watched::settlement(&stale_settlement, &[market.thread_id, world.thread_id]),
    )
    .await?;
    ensure!(market.book.order(client, alice.address, 5).await? == resting, "a reverted round moved the ask");

    // The batcher rematches the same signed messages on fresh state: the fill is capped at
    // Alice's 20, and that round settles.
    let mut fresh = round1.after.clone();
    fresh.set_account(account_id(alice.address), market.account(reader, alice.address).await?);
    let rematched = rematch(&stale, &fresh).context("rematch")?;
    ensure!(rematched.refused.is_empty(), "refused: {:?}", rematched.refused);
    let round2 = rematched.sub_block;
    let filled: u64 = round2.trades.iter().map(|t| t.quantity).sum();
    ensure!(filled <= 20, "the rematched round fills {filled}, more than Alice holds");
    let settlement = prove_round(&market, reader, &round2, &owners).await?;
    settle_and_check(&world.registry, client, &settlement).await?;
    ensure!(market.book.order(client, alice.address, 5).await?.remaining == 70 - filled);
    ensure!(market.base.balance_of(client, alice.address).await? == 20 - u128::from(filled));
    ensure!(market.base.balance_of(client, bob.address).await? == 30 + u128::from(filled));
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 2);
    // The token thread of the other program is untouched by the book's settlements.
    ensure!(world.registry.next_sequence(client, world.thread_id).await? == 0);

    // 3. The engine's pipeline: a valid cancel and a replayed bid through the store.
    let data = tempfile::tempdir()?;
    let store = Store::open(data.path())?.program::<StoredOrder>();
    let key = market.thread_key();
    let now = market.book_state(reader, &owners).await?;
    let cancel = alice.sign(&now, 5, None)?;
    bob.nonce -= 1; // a bid at a nonce Bob's key slot has spent: a replay
    let replay = bob.sign(&now, 11, Some((SIDE_BUY, Price::whole(50), 1)))?;
    store.submit(key, StoredOrder::new(alice.address, &cancel))?;
    // Alice also cancels on L2 while her signed cancel waits (side 4): the queued cancel still
    // settles (book AIR version 5), so her later messages keep their chain.
    client.invoke(vec![market.book.cancel_call(5)?], FeeMode::default()).await?.require_success("L2 cancel")?;
    let on_l2 = market.stored_order(reader, alice.address, 5).await?;
    ensure!(on_l2 == OrderState::cancelled_on_l2(ask_price), "the L2 cancel wrote {on_l2:?}");
    let replay_id = store.submit(key, StoredOrder::new(bob.address, &replay))?.id;
    let round = settle_round(client, &store, &market, SettleOptions::default(), &Logged).await?;
    let built = round.built.context("round 3 was not batched")?;
    ensure!(built.rejected.len() == 1 && built.rejected[0].message.id == replay_id, "rejected: {:?}", built.rejected);
    ensure!(built.rejected[0].reason.contains("nonce"), "reason: {}", built.rejected[0].reason);
    let Some(SettleOutcome::Sent(sent)) = round.settled else { anyhow::bail!("round 3 was not sent") };
    ensure!(sent.settled() && matches!(sent.sub_block.status, SubBlockStatus::Settled { .. }), "round 3: {:?}", sent.revert_reason);
    ensure!(sent.sub_block.sends.len() == 1, "sent once, recorded before the broadcast");
    let cancelled = market.book.order(client, alice.address, 5).await?;
    // AIR version 4: a settled cancel marks the order cancelled (side 3), keeping its price.
    ensure!(
        (u32::from(cancelled.side), cancelled.remaining) == (SIDE_CANCELLED, 0),
        "the signed cancel did not settle over the L2 cancel: {cancelled:?}"
    );
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 3);
    ensure!(store.pending(key)?.is_empty() && store.rejected(key)?.len() == 1);
    ensure!(known_orders(&store, key)?.is_empty(), "a cancel places nothing");

    // 4. The book moves between batch and prove: the sub-block ends Stale, nothing is sent.
    let now = market.book_state(reader, &owners).await?;
    let ask = alice.sign(&now, 6, Some((SIDE_SELL, Price::whole(60), 10)))?;
    store.submit(key, StoredOrder::new(alice.address, &ask))?;
    ensure!(matches!(pipeline::batch(reader, &store, &market, &Logged).await?, BatchOutcome::Built(_)));
    let rotate = market.book.set_thread_key_call(pack_key_slot(&alice.key(alice.index)?, 0).map_err(|e| anyhow::anyhow!("{e:?}"))?)?;
    client.invoke(vec![rotate], FeeMode::default()).await?.require_success("set_thread_key")?;
    let BookProveOutcome::Stale(ended) = pipeline::prove(reader, &store, &market, &Logged).await? else {
        anyhow::bail!("a sub-block whose book moved was proven")
    };
    ensure!(ended.to == "stale" && store.pending(key)?.len() == 1, "{}", ended.line());
    match settle_round(client, &store, &market, SettleOptions::default(), &Logged).await {
        Err(MarketError::AllRefused(reasons)) => ensure!(reasons.len() == 1 && reasons[0].contains("nonce"), "{reasons:?}"),
        Err(other) => return Err(other.into()),
        Ok(_) => anyhow::bail!("a round whose only message is refused went ahead"),
    }
    ensure!(store.pending(key)?.is_empty() && store.rejected(key)?.len() == 2);
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 3, "nothing was settled");

    // 5. A taker over the book's slot budget (here set by hand at the smallest, 9 slots; an
    // oversized round sets it) is filled over two settlements: the batcher stops its matching
    // at the budget, its remainder rests crossing the book on chain, and the next round
    // resumes it first, at the maker's price. Carol (holding the base Alice moved away)
    // asks 10 at 60, 61 and 62; Alice (her key slot rotated on L2) bids 30 at 65.
    let mut carol_signer = signer(carol, 0xca201);
    market.register_key(&carol_client, &mut carol_signer).await?;
    alice.nonce = market.account(reader, alice.address).await?.nonce; // the key slot's own
    let owners = [alice.address, carol];
    let now = market.book_state(reader, &owners).await?;
    for (id, price) in [(1, 60), (2, 61), (3, 62)] {
        let ask = carol_signer.sign(&now, id, Some((SIDE_SELL, Price::whole(price), 10)))?;
        store.submit(key, StoredOrder::new(carol, &ask))?;
    }
    let round = settle_round(client, &store, &market, SettleOptions::default(), &Logged).await?;
    ensure!(matches!(round.settled, Some(SettleOutcome::Sent(ref s)) if s.settled()), "Carol's asks did not settle");
    pipeline::set_slot_budget(&store, key, Some(9))?;
    let bid = alice.sign(&now, 20, Some((SIDE_BUY, Price::whole(65), 30)))?;
    store.submit(key, StoredOrder::new(alice.address, &bid))?;
    let round = settle_round(client, &store, &market, SettleOptions::default(), &Logged).await?;
    let proved = round.proved.context("the budgeted round was not proven")?;
    let filled: Vec<(u32, u64)> = proved.trades.iter().map(|t| (t.price.num, t.quantity)).collect();
    ensure!(filled == vec![(60, 10), (61, 10)], "within 9 slots: {filled:?}");
    ensure!(matches!(round.settled, Some(SettleOutcome::Sent(ref s)) if s.settled()), "the budgeted round did not settle");
    let resting = market.stored_order(reader, alice.address, 20).await?;
    ensure!(resting == OrderState::buy(65, 10), "Alice's remainder does not rest crossing: {resting:?}");
    ensure!(market.stored_order(reader, carol, 3).await? == OrderState::sell(62, 10));
    let budget = pipeline::slot_budget(&store, key)?;
    ensure!(budget > Some(9), "the settled round re-estimates the budget: {budget:?}");
    // With nothing pending, the round the budget stopped owes one of fills alone: a
    // sub-block with no message resumes the stopped bid at the maker's price, settles, and then
    // nothing is owed.
    ensure!(store.pending(key)?.is_empty() && pipeline::uncross_owed(&store, key)?, "an uncrossing round is owed");
    // What `book show` and `GET /book` report: Alice's bid, the makers it emptied not kept.
    let owed = pipeline::owed_taker(&store, key)?.context("the views show no owed round")?;
    ensure!(owed.taker == (alice.address, 20) && owed.passed.is_empty(), "owed: {owed:?}");
    let round = settle_round(client, &store, &market, SettleOptions::default(), &Logged).await?;
    let proved = round.proved.context("the uncrossing round was not proven")?;
    ensure!(proved.sub_block.body.messages.is_empty(), "fills alone");
    let trade = proved.trades.first().context("nothing was uncrossed")?;
    ensure!(proved.trades.len() == 1 && trade.taker == (account_id(alice.address), 20) && trade.price == Price::whole(62));
    ensure!(matches!(round.settled, Some(SettleOutcome::Sent(ref s)) if s.settled()), "the uncrossing round did not settle");
    ensure!(market.stored_order(reader, alice.address, 20).await?.remaining == 0, "Alice's bid is filled");
    ensure!(market.stored_order(reader, carol, 3).await?.remaining == 0);
    ensure!(!pipeline::uncross_owed(&store, key)? && pipeline::owed_taker(&store, key)?.is_none());
    let round = settle_round(client, &store, &market, SettleOptions::default(), &Logged).await?;
    ensure!(round.built.is_none() && round.settled.is_none(), "nothing is left to settle");
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 6);

    moved_to_another_program(world, &market, &store, &mut carol_signer).await
}

/// 6. With a Built sub-block in flight, the book's thread is moved to another program
/// (`upgrade_thread`, to the unsigned `ThreadVerifier` under OS version 2, which the book and
/// both tokens are made to accept). That verifier would revert every book proof, so `batch`
/// ends the in-flight sub-block (its thread changed) and refuses to build another:
/// `MarketError::OtherProgram`, which a service backs off on rather than proving and paying
/// for reverts. The message stays pending, nothing is sent, and `Market::open` refuses the
/// thread too.
async fn moved_to_another_program(
    world: &zkthread_e2e::ThreadWorld,
    market: &zkthread_engine::orderbook::Market,
    store: &Store<StoredOrder>,
    carol: &mut zkthread_engine::orderbook::OrderSigner,
) -> Result<()> {
    use zkthread_engine::orderbook::Market;

    let (client, key) = (world.client(), market.thread_key());
    let reader = client.reader();
    let now = market.book_state(reader, &[carol.address]).await?;
    let ask = carol.sign(&now, 4, Some((SIDE_SELL, Price::whole(70), 5)))?;
    store.submit(key, StoredOrder::new(carol.address, &ask))?;
    ensure!(matches!(pipeline::batch(reader, store, market, &Logged).await?, BatchOutcome::Built(_)));

    let contracts = [market.book.address, market.base.address, market.quote.address];
    let newer = world.upgrade_to_thread_verifier(market.thread_id, &contracts).await?;

    match pipeline::batch(reader, store, market, &Logged).await {
        Err(MarketError::OtherProgram { program_hash, .. }) => ensure!(program_hash == newer),
        other => anyhow::bail!("a book round was built for another program: {other:?}"),
    }
    let ended = store.sub_blocks(key)?.pop().context("the built sub-block")?;
    ensure!(
        matches!(&ended.status, SubBlockStatus::Stale { reason, .. } if reason.contains("now runs program")),
        "the in-flight sub-block of the old program: {:?}",
        ended.status
    );
    ensure!(store.in_flight(key)?.is_none() && store.pending(key)?.len() == 1, "the ask is pending again, not lost");
    match Market::open(reader, world.registry, market.thread_id).await {
        Err(MarketError::OtherProgram { program_hash, .. }) => ensure!(program_hash == newer),
        other => anyhow::bail!("opened a market on a thread of another program: {other:?}"),
    }
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 6, "nothing was settled");
    Ok(())
}
