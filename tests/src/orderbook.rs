//! Order-book fixtures for the end-to-end tests: a world (a registry with a token thread of
//! `SignedVerifier`) with an order-book market deployed next to it by the engine
//! (`zkthread_engine::orderbook`: two tokens and an `OrderBook` in a thread of
//! `OrderBookVerifier`), and test signers with fixed seeds.

use anyhow::{ensure, Context, Result};
use zkthread_client::Felt;
use zkthread_engine::orderbook::{Market, MarketClasses, OrderSigner};
use zkthread_sig::wots::KeySeed;
use zkthread_sig::M31;

use crate::{artifact, libraries_of, ThreadWorld, ORDERBOOK, ORDERBOOK_VERIFIER, SIGNED_VERIFIER, SUPPLY, TOKEN};

/// A test signer for `address` whose key seed derives from `seed_id` (test keys only).
pub fn signer(address: Felt, seed_id: u32) -> OrderSigner {
    OrderSigner::new(address, KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(seed_id + 7 * i as u32 + 1))))
}

/// Deploys the world (token thread on `SignedVerifier`), declares the order book's verifier
/// (after its AIR class) and the book, and deploys the market on the world's registry: both
/// programs' threads on one registry. The holder gets all of each book token's `SUPPLY`.
pub async fn deploy_market() -> Result<(ThreadWorld, Market)> {
    deploy_market_with_supply(SUPPLY).await
}

/// [`deploy_market`] with `supply` of each book token.
pub async fn deploy_market_with_supply(supply: u128) -> Result<(ThreadWorld, Market)> {
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
    let classes = MarketClasses {
        token: artifact(TOKEN.0, TOKEN.1)?.class_hash,
        book: book_class.class_hash,
        program_hash: verifier.class_hash,
        os_version: world.os_version,
    };
    let market = Market::deploy(client, world.registry, classes, supply, Felt::from(0xb00c_u64)).await?;
    Ok((world, market))
}

/// [`Market::prove`], printing what the round is and cost to prove.
pub async fn prove_round(
    market: &Market,
    reader: &zkthread_client::ChainReader,
    sub: &zkthread_orderbook::batcher::SubBlock,
    owners: &[Felt],
) -> Result<zkthread_client::registry::Settlement> {
    let round = market.prove(reader, sub, owners).await?;
    let s = &round.settlement;
    eprintln!(
        "order-book sub-block: {} messages, {} fills, {} slots in / {} out, proved in {:.1} s, {} proof felts, {} settle calldata felts",
        sub.messages.len(),
        sub.trades.len(),
        s.inputs.len(),
        s.outputs.len(),
        round.prove_time.as_secs_f64(),
        s.proof.len(),
        s.calldata().len()
    );
    Ok(round.settlement)
}
