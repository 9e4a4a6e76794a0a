//! The order book settles on a devnet, next to a token thread of the other program on the same
//! registry. One world: the registry with a `SignedVerifier` thread over its token, then two
//! tokens and an `OrderBook` accepting `OrderBookVerifier`, whose thread lists the book and
//! both tokens. Alice and Bob register thread keys in the book and sign orders; the batcher
//! builds each sub-block against on-chain values, the prover proves it with the production
//! parameters and the registry settles it after the order book's Cairo verifier checked it.
//!
//! 1. Alice asks 100 at 50, Bob bids 30 at 52: one fill at the maker's price; Alice's order
//!    rests on chain with 70 (the book's `order` view), balances moved, `fill_count` 1.
//! 2. Bob bids 50 at 51 against the resting 70 (a partial fill carried across sub-blocks).
//!    Before it settles, Alice moves most of her base token away on L2: the proven sub-block
//!    is stale and reverts `registry: stale input`, nothing changed. The batcher rematches the
//!    same signed messages on fresh state (the fill shrinks to what Alice still holds), and
//!    that proof settles.
//!
//! Three proofs at `SIGNED_PARAMS`, three on-chain verifications.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use zkthread_e2e::client::orderbook::{BookOrder, OrderBook, OrderBookConfig};
use zkthread_e2e::client::registry::{NewThread, Settlement, TransactionList};
use zkthread_e2e::client::token::Token;
use zkthread_e2e::client::{ChainClient, FeeMode, Felt};
use zkthread_e2e::settle::{
    assert_settle_reverts, l2_gas_used, settle_and_check, settle_bounds, to_chain_slots, Watched,
};
use zkthread_e2e::{
    artifact, init_tracing, libraries_of, ThreadWorld, ORDERBOOK, ORDERBOOK_VERIFIER, SIGNED_VERIFIER,
    SUPPLY,
};
use zkthread_orderbook::batcher::{build, rematch, Account, BookState, SignedOrder, SubBlock};
use zkthread_orderbook::state::{SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::{poseidon252, Directory, OrderMessage, SignedPublicInput};
use zkthread_sig::domain::{account_id, pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{sign, SignedMessage, M31};
use zkthread_token::SIGNED_PARAMS;

/// Quote units Bob starts with (Alice, the holder, keeps the rest of both supplies).
const BOB_QUOTE: u128 = 10_000;

/// A signer's wallet: its key seed, the next one-time key index and the key slot's nonce.
struct Wallet {
    address: Felt,
    seed: KeySeed,
    index: u32,
    nonce: u32,
}

impl Wallet {
    fn new(address: Felt, seed_id: u32) -> Wallet {
        let seed = KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(seed_id + 7 * i as u32 + 1)));
        Wallet { address, seed, index: 0, nonce: 0 }
    }

    fn key(&self, index: u32) -> Result<KeyCommitment> {
        commitment(&self.seed, index).map_err(|e| anyhow::anyhow!("key {index}: {e:?}"))
    }

    /// Signs `(id, place)` in `book` with the current key, rotating to the next.
    fn sign(&mut self, book: &BookState, id: u32, place: Option<(u32, u32, u64)>) -> Result<SignedOrder> {
        let message = OrderMessage {
            book: book.book,
            owner: account_id(self.address),
            id,
            place,
            nonce: self.nonce,
            next_key: self.key(self.index + 1)?,
        };
        let signature = sign(&self.seed, self.index, &message).map_err(|e| anyhow::anyhow!("sign: {e:?}"))?;
        let signed = SignedMessage { index: self.index, key: self.key(self.index)?, message, signature };
        self.index += 1;
        self.nonce += 1;
        Ok(signed)
    }
}

/// The book's world: the token thread's world plus the book, its tokens and its thread.
struct Market {
    world: ThreadWorld,
    book: OrderBook,
    base: Token,
    quote: Token,
    thread_id: u64,
    program_hash: Felt,
}

impl Market {
    /// The statement header of the book's thread at `sequence` (lists and transactions are the
    /// sub-block's).
    async fn header(&self, sequence: u64) -> Result<SignedPublicInput> {
        let client = self.world.client();
        let info = self.world.registry.thread(client, self.thread_id).await?;
        Ok(SignedPublicInput {
            os_version: self.world.os_version,
            program_hash: self.program_hash,
            chain_id: self.world.chain.devnet.chain_id().context("chain id")?,
            registry: self.world.registry.address,
            thread_id: Felt::from(self.thread_id),
            sequence: Felt::from(sequence),
            contract_set_commitment: info.contract_set_commitment,
            transactions: Default::default(),
            inputs: vec![],
            outputs: vec![],
        })
    }

    fn directory(&self, owners: &[Felt]) -> Directory {
        Directory {
            book: self.book.address,
            base: self.base.address,
            quote: self.quote.address,
            other_tokens: vec![],
            owners: owners.to_vec(),
        }
    }

    /// `wallet`'s account as the batcher sees it, read from chain.
    async fn account(&self, wallet: &Wallet) -> Result<Account> {
        let client = self.world.client();
        let slot = self.book.thread_key(client, wallet.address).await?;
        let (key, nonce) = unpack_key_slot(&slot).map_err(|e| anyhow::anyhow!("key slot: {e:?}"))?;
        Ok(Account {
            base: self.base.balance_of(client, wallet.address).await?,
            quote: self.quote.balance_of(client, wallet.address).await?,
            nonce,
            key,
        })
    }

    /// Proves `sub` as the thread's next sub-block and returns its settlement (the registry's
    /// public input with its context checked to be the prover's statement).
    async fn prove(&self, sub: &SubBlock, owners: &[Felt]) -> Result<Settlement> {
        let client = self.world.client();
        let sequence = self.world.registry.next_sequence(client, self.thread_id).await?;
        let (statement, witness) =
            sub.statement(&self.header(sequence).await?, &self.directory(owners)).context("statement")?;
        let mut settlement = Settlement {
            thread_id: self.thread_id,
            sequence,
            inputs: to_chain_slots(&statement.inputs),
            outputs: to_chain_slots(&statement.outputs),
            transactions: TransactionList {
                count: statement.transactions.count,
                commitment: statement.transactions.cap_felt(),
            },
            proof: Vec::new(),
        };
        let mut onchain = self.world.registry.public_input(client, &settlement).await?;
        onchain.splice(2..2, [statement.chain_id, statement.registry]);
        ensure!(onchain == statement.to_felts(), "registry public input + context differs from the prover's");

        let began = Instant::now();
        let (s, w, rows) = (statement.clone(), witness.clone(), sub.witness.clone());
        let proof = tokio::task::spawn_blocking(move || poseidon252::prove(&s, &w, &rows, &SIGNED_PARAMS))
            .await?
            .map_err(|e| anyhow::anyhow!("proving: {e:?}"))?;
        poseidon252::verify(&statement, &proof, &SIGNED_PARAMS).map_err(|e| anyhow::anyhow!("off-chain verify: {e:?}"))?;
        settlement.proof = poseidon252::to_felts(&proof);
        eprintln!(
            "order-book sub-block: {} messages, {} fills, {} slots in / {} out, proved in {:.1} s, {} proof felts, {} settle calldata felts",
            sub.messages.len(),
            sub.trades.len(),
            settlement.inputs.len(),
            settlement.outputs.len(),
            began.elapsed().as_secs_f64(),
            settlement.proof.len(),
            settlement.calldata().len()
        );
        Ok(settlement)
    }
}

/// Deploys the world (token thread on `SignedVerifier`), then declares the order book's
/// verifier (after its AIR class) and the book, deploys two tokens and the book accepting it,
/// and opens the book's thread over the three.
async fn deploy_market() -> Result<Market> {
    let world = ThreadWorld::deploy_with_program(artifact(SIGNED_VERIFIER.0, SIGNED_VERIFIER.1)?).await?;
    let client = world.client();
    let verifier = artifact(ORDERBOOK_VERIFIER.0, ORDERBOOK_VERIFIER.1)?;
    let book_class = artifact(ORDERBOOK.0, ORDERBOOK.1)?;
    let mut classes = libraries_of(verifier)?;
    classes.extend([verifier, book_class]);
    for class in classes {
        let declared = client.declare(class).await.with_context(|| format!("declare {}", class.id()))?;
        ensure!(declared.class_hash == class.class_hash, "class hash differs for {}", class.id());
    }
    let program_hash = verifier.class_hash;
    let programs = [program_hash];
    let base = world.deploy_token_accepting(client, "BASE", Felt::from(11u8), &programs).await?;
    let quote = world.deploy_token_accepting(client, "QUOTE", Felt::from(12u8), &programs).await?;
    let config = OrderBookConfig {
        registry: world.registry.address,
        owner: world.holder,
        programs: programs.to_vec(),
        base_token: base.address,
        quote_token: quote.address,
    };
    let (book, _) = OrderBook::deploy(client, book_class.class_hash, &config, Felt::from(13u8)).await?;
    let mut contracts = vec![book.address, base.address, quote.address];
    contracts.sort();
    let thread = NewThread { os_version: world.os_version, program_hash, contracts, admin: world.holder, provers: vec![] };
    let (thread_id, _) = world.registry.open_thread(client, &thread).await.context("opening the book's thread")?;
    Ok(Market { world, book, base, quote, thread_id, program_hash })
}

/// `client`'s account registers `wallet`'s key 0 in the book; the wallet takes the slot's nonce.
async fn register_key(market: &Market, client: &ChainClient, wallet: &mut Wallet) -> Result<()> {
    let packed = pack_key_slot(&wallet.key(0)?, 0).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    client
        .invoke(vec![market.book.set_thread_key_call(packed)?], FeeMode::default())
        .await?
        .require_success("set_thread_key")?;
    let (key, nonce) = unpack_key_slot(&market.book.thread_key(client.reader(), wallet.address).await?)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    ensure!(key == wallet.key(0)?, "stored key differs");
    wallet.nonce = nonce;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_book_rounds_settle_and_a_stale_round_is_rematched() -> Result<()> {
    init_tracing();
    let market = deploy_market().await?;
    let world = &market.world;
    let client = world.client();
    let accounts = world.accounts(3);
    let (carol, bob_client) = (accounts[2], world.chain.client(1)?);
    let mut alice = Wallet::new(world.holder, 0xa11ce);
    let mut bob = Wallet::new(accounts[1], 0xb0b);
    let owners = [alice.address, bob.address];

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
    register_key(&market, client, &mut alice).await?;
    register_key(&market, &bob_client, &mut bob).await?;

    // Round 1: a fill of 30 at Alice's 50; her ask rests with 70.
    let header = market.header(0).await?;
    let mut state = BookState::new(
        header.domain(market.book.address),
        header.domain(market.base.address),
        header.domain(market.quote.address),
        0,
    );
    for wallet in [&alice, &bob] {
        state.set_account(account_id(wallet.address), market.account(wallet).await?);
    }
    let queue = vec![
        alice.sign(&state, 5, Some((SIDE_SELL, 50, 100)))?,
        bob.sign(&state, 9, Some((SIDE_BUY, 52, 30)))?,
    ];
    let batch = build(&state, &queue).context("round 1")?;
    ensure!(batch.refused.is_empty(), "refused: {:?}", batch.refused);
    let round1 = batch.sub_block;
    ensure!(round1.trades.len() == 1 && round1.trades[0].price == 50 && round1.trades[0].quantity == 30);
    let settlement = market.prove(&round1, &owners).await?;
    let outcome = settle_and_check(&world.registry, client, &settlement).await?;
    eprintln!("order-book settle: L2 gas {}", l2_gas_used(client, &outcome).await?);
    let resting = BookOrder { side: SIDE_SELL as u8, price: 50, remaining: 70 };
    ensure!(market.book.order(client, alice.address, 5).await? == resting, "Alice's ask does not rest with 70");
    ensure!(market.book.order(client, bob.address, 9).await?.remaining == 0, "Bob's bid is not filled");
    ensure!(market.book.fill_count(client).await? == 1);
    ensure!(market.base.balance_of(client, bob.address).await? == 30);
    ensure!(market.quote.balance_of(client, bob.address).await? == BOB_QUOTE - 30 * 50);
    ensure!(market.base.balance_of(client, alice.address).await? == SUPPLY - 30);

    // Round 2 on round 1's state: Bob bids 50 at 51 against the resting 70.
    let queue = vec![bob.sign(&round1.after, 10, Some((SIDE_BUY, 51, 50)))?];
    let stale = build(&round1.after, &queue).context("round 2")?.sub_block;
    ensure!(stale.trades.len() == 1 && stale.trades[0].quantity == 50);
    let stale_settlement = market.prove(&stale, &owners).await?;
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
    fresh.set_account(account_id(alice.address), market.account(&alice).await?);
    let rematched = rematch(&stale, &fresh).context("rematch")?;
    ensure!(rematched.refused.is_empty(), "refused: {:?}", rematched.refused);
    let round2 = rematched.sub_block;
    let filled: u64 = round2.trades.iter().map(|t| t.quantity).sum();
    ensure!(filled <= 20, "the rematched round fills {filled}, more than Alice holds");
    let settlement = market.prove(&round2, &owners).await?;
    settle_and_check(&world.registry, client, &settlement).await?;
    ensure!(market.book.order(client, alice.address, 5).await?.remaining == 70 - filled);
    ensure!(market.base.balance_of(client, alice.address).await? == 20 - u128::from(filled));
    ensure!(market.base.balance_of(client, bob.address).await? == 30 + u128::from(filled));
    ensure!(world.registry.next_sequence(client, market.thread_id).await? == 2);
    // The token thread of the other program is untouched by the book's settlements.
    ensure!(world.registry.next_sequence(client, world.thread_id).await? == 0);
    Ok(())
}
