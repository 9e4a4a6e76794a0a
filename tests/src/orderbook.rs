//! Order-book fixtures for the end-to-end tests: a signer's wallet, the market (a registry
//! with a token thread of `SignedVerifier` plus two tokens and an `OrderBook` in a thread of
//! `OrderBookVerifier`), reading the batcher's view of an account from chain, and proving a
//! sub-block into a settlement whose public input the registry agrees with.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use zkthread_client::orderbook::{OrderBook, OrderBookConfig};
use zkthread_client::registry::{NewThread, Settlement, TransactionList};
use zkthread_client::token::Token;
use zkthread_client::{ChainClient, FeeMode, Felt};
use zkthread_orderbook::batcher::{Account, BookState, SignedOrder, SubBlock};
use zkthread_orderbook::{poseidon252, Directory, OrderMessage, SignedPublicInput};
use zkthread_sig::domain::{account_id, pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{sign, SignedMessage, M31};
use zkthread_token::SIGNED_PARAMS;

use crate::settle::to_chain_slots;
use crate::{artifact, libraries_of, ThreadWorld, ORDERBOOK, ORDERBOOK_VERIFIER, SIGNED_VERIFIER};

/// A signer's wallet: its key seed, the next one-time key index and the key slot's nonce.
pub struct Wallet {
    pub address: Felt,
    seed: KeySeed,
    pub index: u32,
    pub nonce: u32,
}

impl Wallet {
    pub fn new(address: Felt, seed_id: u32) -> Wallet {
        let seed = KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(seed_id + 7 * i as u32 + 1)));
        Wallet { address, seed, index: 0, nonce: 0 }
    }

    pub fn key(&self, index: u32) -> Result<KeyCommitment> {
        commitment(&self.seed, index).map_err(|e| anyhow::anyhow!("key {index}: {e:?}"))
    }

    /// Signs `(id, place)` in `book` with the current key, rotating to the next.
    pub fn sign(&mut self, book: &BookState, id: u32, place: Option<(u32, u32, u64)>) -> Result<SignedOrder> {
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
pub struct Market {
    pub world: ThreadWorld,
    pub book: OrderBook,
    pub base: Token,
    pub quote: Token,
    pub thread_id: u64,
    pub program_hash: Felt,
}

impl Market {
    /// The statement header of the book's thread at `sequence` (lists and transactions are the
    /// sub-block's).
    pub async fn header(&self, sequence: u64) -> Result<SignedPublicInput> {
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

    pub fn directory(&self, owners: &[Felt]) -> Directory {
        Directory {
            book: self.book.address,
            base: self.base.address,
            quote: self.quote.address,
            other_tokens: vec![],
            owners: owners.to_vec(),
        }
    }

    /// `wallet`'s account as the batcher sees it, read from chain.
    pub async fn account(&self, wallet: &Wallet) -> Result<Account> {
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
    pub async fn prove(&self, sub: &SubBlock, owners: &[Felt]) -> Result<Settlement> {
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
pub async fn deploy_market() -> Result<Market> {
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
pub async fn register_key(market: &Market, client: &ChainClient, wallet: &mut Wallet) -> Result<()> {
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
