//! The order-book program on a chain: a market (two thread-ready tokens and an `OrderBook`
//! in a thread of `OrderBookVerifier`), its signers, the batcher's view of an account read
//! from chain, and a sub-block proven into the settlement the registry checks.
//!
//! The batcher itself (admission, price-time priority, rematch) is
//! `zkthread_orderbook::batcher`; this module only connects it to a node. Nothing read here is
//! trusted: a value read from chain that is stale by the time the settlement lands makes the
//! registry refuse it (`registry: stale input`) and the batcher rematches.

use std::time::{Duration, Instant};

use zkthread_client::orderbook::{OrderBook, OrderBookConfig};
use zkthread_client::registry::{NewThread, Registry, Settlement, ThreadInfo};
use zkthread_client::token::{Token, TokenConfig};
use zkthread_client::{calldata, ChainClient, ChainReader, ClientError, FeeMode, Felt};
use zkthread_orderbook::batcher::{Account, BookState, SignedOrder, SubBlock};
use zkthread_orderbook::statement::{order_slot_key, unpack_order};
use zkthread_orderbook::{poseidon252, Directory, OrderMessage, SignedPublicInput};
use zkthread_sig::domain::{account_id, pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{sign, SignedMessage};

use crate::program::PARAMS;

/// The order book's program hash: [`ORDERBOOK_VERIFIER`]'s class hash as pinned in
/// `generated_verifier_classes.rs` (kept fresh by the air-codegen size test); the one name
/// the engine uses for it.
pub const ORDERBOOK_PROGRAM_HASH: Felt = crate::generated_verifier_classes::ORDERBOOK_VERIFIER_CLASS_HASH;

pub mod pipeline;
pub use zkthread_orderbook::{OrderState, Price};
pub use pipeline::{
    action, admit_order, known_orders, next_nonce, not_an_account, owed_taker, precheck, queued_duplicate, refusal_line, settle_round, slot_budget, uncross_owed,
    Admission, BookProveOutcome, OrderRefusal, ProvedRound, Round, StoppedTaker,
};

/// `buy`, `sell`, `cancelled` (by a signed cancel or on L2), or `empty` (an unused id) for an
/// order's side.
pub fn side_name(side: u32) -> &'static str {
    use zkthread_orderbook::state::{SIDE_BUY, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2, SIDE_SELL};
    match side {
        SIDE_BUY => "buy",
        SIDE_SELL => "sell",
        SIDE_CANCELLED | SIDE_CANCELLED_ON_L2 => "cancelled",
        _ => "empty",
    }
}

/// The order-book program's Cairo verifier (`contracts/programs/orderbook/orderbook_verifier`): package and
/// contract. Its class hash is an order-book thread's `program_hash`.
pub const ORDERBOOK_VERIFIER: (&str, &str) = ("orderbook_verifier", "OrderBookVerifier");
/// The order book contract (`contracts/programs/orderbook/orderbook`).
pub const ORDERBOOK: (&str, &str) = ("orderbook", "OrderBook");

/// Why a market operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error("{doing}: {source}")]
    Chain {
        doing: &'static str,
        #[source]
        source: ClientError,
    },
    #[error("signing: {0}")]
    Sign(String),
    #[error("the key slot of {account:#x} in the book is not a key: {detail}")]
    KeySlot { account: Felt, detail: String },
    #[error("the sub-block's statement: {0}")]
    Statement(String),
    #[error("the registry's public input differs from the prover's statement")]
    PublicInputMismatch,
    #[error("proving: {0}")]
    Prove(String),
    #[error("the proof does not verify off-chain: {0}")]
    Verify(String),
    #[error("the prover task failed: {0}")]
    ProverTask(String),
    #[error("thread {thread_id} lists no order book (no contract with a base_token)")]
    NotABook { thread_id: u64 },
    /// The thread runs another program (created so, or moved by `upgrade_thread`): this
    /// prover's proofs are of the order book's AIR, which only `OrderBookVerifier` accepts, so
    /// a settlement could only revert at the prover's cost. Its messages stay pending.
    #[error(
        "thread {thread_id} runs program {program_hash:#x}{}, not the order book's ({:#x}): no book proof settles there",
        crate::program::TokenProgram::of(*.program_hash).map(|p| format!(" (the token's {p} program)")).unwrap_or_default(),
        ORDERBOOK_PROGRAM_HASH
    )]
    OtherProgram { thread_id: u64, program_hash: Felt },
    #[error("order {id} of {owner:#x} holds {value:#x}, which no order book writes")]
    BadOrderSlot { owner: Felt, id: u32, value: Felt },
    #[error("the settlement reverted: {0}")]
    Reverted(String),
    /// Every pending message was refused; they left pending with these reasons (kept in the
    /// store's rejected list).
    #[error("no message was accepted: {}", .0.join("; "))]
    AllRefused(Vec<String>),
    /// The engine's pipeline (store, reconcile, settle).
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
}

type Result<T> = std::result::Result<T, MarketError>;

fn chain(doing: &'static str) -> impl FnOnce(ClientError) -> MarketError {
    move |source| MarketError::Chain { doing, source }
}

/// A signer of orders: its address, key seed, the next one-time key index and the key slot's
/// nonce in the book (what a wallet keeps).
pub struct OrderSigner {
    pub address: Felt,
    seed: KeySeed,
    pub index: u32,
    pub nonce: u32,
}

impl OrderSigner {
    /// A signer at key 0; its nonce is the book's after [`Market::register_key`].
    pub fn new(address: Felt, seed: KeySeed) -> OrderSigner {
        OrderSigner { address, seed, index: 0, nonce: 0 }
    }

    /// The commitment of one-time key `index`.
    pub fn key(&self, index: u32) -> Result<KeyCommitment> {
        commitment(&self.seed, index).map_err(|e| MarketError::Sign(format!("key {index}: {e:?}")))
    }

    /// Signs `(id, place)` for `book` (its domain) with the current key, rotating to the next:
    /// `place = Some((side, price, quantity))` places order `id`, `None` cancels it.
    pub fn sign(&mut self, book: &BookState, id: u32, place: Option<(u32, Price, u64)>) -> Result<SignedOrder> {
        let message = OrderMessage {
            book: book.book,
            owner: account_id(self.address),
            id,
            place,
            nonce: self.nonce,
            next_key: self.key(self.index + 1)?,
        };
        let signature = sign(&self.seed, self.index, &message).map_err(|e| MarketError::Sign(format!("{e:?}")))?;
        let signed = SignedMessage { index: self.index, key: self.key(self.index)?, message, signature };
        self.index += 1;
        self.nonce += 1;
        Ok(signed)
    }
}

/// A proven sub-block ready to settle.
pub struct ProvenRound {
    pub settlement: Settlement,
    pub prove_time: Duration,
}

/// One order book in its thread: the registry, the book, its tokens and the thread.
#[derive(Clone, Copy, Debug)]
pub struct Market {
    pub registry: Registry,
    pub book: OrderBook,
    pub base: Token,
    pub quote: Token,
    pub thread_id: u64,
    /// The thread's OS version and program when the market was opened or deployed (each
    /// sub-block's statement reads them again from the registry).
    pub os_version: Felt,
    pub program_hash: Felt,
    pub chain_id: Felt,
}

/// What [`Market::deploy`] needs declared: the token and book classes, the verifier class
/// (the program) and the OS version to open the thread under.
#[derive(Clone, Copy, Debug)]
pub struct MarketClasses {
    pub token: Felt,
    pub book: Felt,
    pub program_hash: Felt,
    pub os_version: Felt,
}

impl Market {
    /// `owner`'s order `id` as the statement will read it: the raw slot `orders[(owner, id)]`
    /// decoded by the program's own [`unpack_order`], not through the book's `order` view, so
    /// a book deployed before a side existed (a version-3 book's view refuses side 3) still
    /// reads, and a value the statement would refuse is an error here.
    pub async fn stored_order(&self, reader: &ChainReader, owner: Felt, id: u32) -> Result<OrderState> {
        let mut read = self.stored_orders(reader, &[(owner, id)]).await?;
        read.pop().expect("one order asked, one read")
    }

    /// [`Market::stored_order`] of each of `orders`, in their order, read in batched requests.
    /// A node error fails the whole read; a slot the program would refuse is that order's
    /// [`MarketError::BadOrderSlot`].
    pub async fn stored_orders(&self, reader: &ChainReader, orders: &[(Felt, u32)]) -> Result<Vec<Result<OrderState>>> {
        let values = reader.storage_many(&self.order_slots(orders)).await.map_err(chain("reading orders"))?;
        Ok(Self::unpacked(orders, values))
    }

    /// [`Market::stored_orders`] in the state after closed block `block`.
    pub async fn stored_orders_at(
        &self,
        reader: &ChainReader,
        orders: &[(Felt, u32)],
        block: u64,
    ) -> Result<Vec<Result<OrderState>>> {
        let values =
            reader.storage_many_at(&self.order_slots(orders), block).await.map_err(chain("reading orders at a closed block"))?;
        Ok(Self::unpacked(orders, values))
    }

    fn order_slots(&self, orders: &[(Felt, u32)]) -> Vec<(Felt, Felt)> {
        orders.iter().map(|&(owner, id)| (self.book.address, order_slot_key(owner, u64::from(id)))).collect()
    }

    fn unpacked(orders: &[(Felt, u32)], values: Vec<Felt>) -> Vec<Result<OrderState>> {
        orders
            .iter()
            .zip(values)
            .map(|(&(owner, id), value)| unpack_order(&value).ok_or(MarketError::BadOrderSlot { owner, id, value }))
            .collect()
    }

    /// Deploys a base and a quote token (all of each `supply` to the client's account) and an
    /// order book over them, and opens the book's thread over the three (registering the OS
    /// version and the program if the registry lacks them: the client must then be its
    /// owner). The book accepts the program from its constructor; each token accepts it only
    /// beside this book and the other token (`IThreadPeers`), set in one transaction before
    /// the thread opens: a token that accepted the order-book program beside any contract
    /// could be drained through a thread with a fake book of an attacker's making (fills are
    /// unsigned; resting orders are read from the book's storage). The addresses derive from
    /// `salt` (another salt, another market on the same registry).
    pub async fn deploy(
        client: &ChainClient,
        registry: Registry,
        classes: MarketClasses,
        supply: u128,
        salt: Felt,
    ) -> Result<Market> {
        let me = client.address();
        let mut tokens = Vec::new();
        for (symbol, offset) in [("BASE", 0u8), ("QUOTE", 1)] {
            let config = TokenConfig {
                registry: registry.address,
                owner: me,
                programs: vec![],
                name: format!("Book {symbol}"),
                symbol: symbol.into(),
                initial_holder: me,
                supply,
            };
            let (token, _) =
                Token::deploy(client, classes.token, &config, salt + Felt::from(offset)).await.map_err(chain("deploying a token"))?;
            tokens.push(token);
        }
        let (base, quote) = (tokens[0], tokens[1]);
        let config = OrderBookConfig {
            registry: registry.address,
            owner: me,
            programs: vec![classes.program_hash],
            base_token: base.address,
            quote_token: quote.address,
        };
        let (book, _) = OrderBook::deploy(client, classes.book, &config, salt + Felt::TWO)
            .await
            .map_err(chain("deploying the order book"))?;
        let consent = vec![
            base.accept_program_beside_call(classes.program_hash, &[book.address, quote.address])
                .map_err(chain("encoding the base token's consent"))?,
            quote
                .accept_program_beside_call(classes.program_hash, &[book.address, base.address])
                .map_err(chain("encoding the quote token's consent"))?,
        ];
        client
            .invoke(consent, FeeMode::default())
            .await
            .and_then(|o| o.require_success("accepting the program beside the book"))
            .map_err(chain("accepting the program beside the book"))?;
        let mut contracts = vec![book.address, base.address, quote.address];
        contracts.sort();
        let thread =
            NewThread { os_version: classes.os_version, program_hash: classes.program_hash, contracts, admin: me, provers: vec![] };
        let (thread_id, _) = registry.open_thread(client, &thread).await.map_err(chain("opening the book's thread"))?;
        Ok(Market {
            registry,
            book,
            base,
            quote,
            thread_id,
            os_version: classes.os_version,
            program_hash: classes.program_hash,
            chain_id: client.chain_id(),
        })
    }

    /// `client`'s account registers `signer`'s key 0 in the book (an ordinary invoke); the
    /// signer takes the slot's nonce.
    pub async fn register_key(&self, client: &ChainClient, signer: &mut OrderSigner) -> Result<()> {
        let packed = pack_key_slot(&signer.key(0)?, 0).map_err(|e| MarketError::Sign(format!("{e:?}")))?;
        let call = self.book.set_thread_key_call(packed).map_err(chain("encoding set_thread_key"))?;
        client
            .invoke(vec![call], FeeMode::default())
            .await
            .and_then(|o| o.require_success("set_thread_key"))
            .map_err(chain("registering a thread key"))?;
        signer.nonce = self.account(client.reader(), signer.address).await?.nonce;
        Ok(())
    }

    /// Whether `program_hash` names the order book's program (its verifier's pinned class).
    pub fn is_book_program(program_hash: Felt) -> bool {
        program_hash == ORDERBOOK_PROGRAM_HASH
    }

    /// The thread `info` describes runs the order book's program, or [`MarketError::OtherProgram`].
    pub fn check_program(thread_id: u64, info: &ThreadInfo) -> Result<()> {
        if Self::is_book_program(info.program_hash) {
            Ok(())
        } else {
            Err(MarketError::OtherProgram { thread_id, program_hash: info.program_hash })
        }
    }

    /// The statement header of the book's thread at `sequence` (lists and transactions are
    /// the sub-block's).
    pub async fn header(&self, reader: &ChainReader, sequence: u64) -> Result<SignedPublicInput> {
        let info = self.registry.thread(reader, self.thread_id).await.map_err(chain("reading the thread"))?;
        Ok(self.header_of(&info, sequence))
    }

    /// The statement header of the book's thread as `info` (read from the registry) describes
    /// it, at `sequence`, which may run ahead of the chain's (a sub-block built on one still
    /// settling).
    pub fn header_of(&self, info: &ThreadInfo, sequence: u64) -> SignedPublicInput {
        SignedPublicInput {
            sequence: Felt::from(sequence),
            ..crate::program::thread_statement(info, self.chain_id, self.registry.address, self.thread_id)
        }
    }

    /// The book's signing domain (what every order message names): fixed by the chain, the
    /// registry, the thread and the book, so known without a node call.
    pub fn book_domain(&self) -> zkthread_sig::wots::Hash4 {
        zkthread_sig::domain::transfer_domain(self.chain_id, self.registry.address, Felt::from(self.thread_id), self.book.address)
    }

    /// `owner`'s account as the batcher sees it: both balances and its key slot in the book.
    pub async fn account(&self, reader: &ChainReader, owner: Felt) -> Result<Account> {
        let mut read = self.accounts(reader, &[owner]).await?;
        Ok(read.pop().expect("one account asked, one read"))
    }

    /// [`Market::account`] of each of `owners`, in their order: three views each (the book's
    /// `thread_key`, both tokens' `balance_of`) in batched requests.
    pub async fn accounts(&self, reader: &ChainReader, owners: &[Felt]) -> Result<Vec<Account>> {
        let calls: Vec<(Felt, &str, Vec<Felt>)> = owners
            .iter()
            .flat_map(|&owner| {
                [
                    (self.book.address, "thread_key", vec![owner]),
                    (self.base.address, "balance_of", vec![owner]),
                    (self.quote.address, "balance_of", vec![owner]),
                ]
            })
            .collect();
        let answers = reader.call_many(&calls).await.map_err(chain("reading accounts (their key slots in the book, their base and quote balances)"))?;
        let decode = |e: ClientError| MarketError::Chain { doing: "reading an account", source: e };
        let mut accounts = Vec::with_capacity(owners.len());
        for (&owner, words) in owners.iter().zip(answers.chunks(3)) {
            let slot: Felt = calldata::single(&words[0], "book thread_key").map_err(decode)?;
            let (key, nonce) =
                unpack_key_slot(&slot).map_err(|e| MarketError::KeySlot { account: owner, detail: format!("{e:?}") })?;
            accounts.push(Account {
                base: calldata::u256_to_u128(&words[1], "base balance_of").map_err(decode)?,
                quote: calldata::u256_to_u128(&words[2], "quote balance_of").map_err(decode)?,
                nonce,
                key,
            });
        }
        Ok(accounts)
    }

    /// The batcher's state of an empty book (fill counter from chain) with `owners`' accounts.
    pub async fn book_state(&self, reader: &ChainReader, owners: &[Felt]) -> Result<BookState> {
        let header = self.header(reader, 0).await?;
        let fills = self.book.fill_count(reader).await.map_err(chain("reading fill_count"))?;
        let mut state = BookState::new(
            header.domain(self.book.address),
            header.domain(self.base.address),
            header.domain(self.quote.address),
            fills,
        );
        for (owner, account) in owners.iter().zip(self.accounts(reader, owners).await?) {
            state.set_account(account_id(*owner), account);
        }
        Ok(state)
    }

    /// The book, its tokens and `owners` (the addresses behind the sub-block's owner ids).
    pub fn directory(&self, owners: &[Felt]) -> Directory {
        Directory {
            book: self.book.address,
            base: self.base.address,
            quote: self.quote.address,
            other_tokens: vec![],
            owners: owners.to_vec(),
        }
    }

    /// Proves `sub` as the thread's next sub-block (at `PARAMS`, verified off-chain) and
    /// returns its settlement, whose public input the registry was asked for and agrees with.
    pub async fn prove(&self, reader: &ChainReader, sub: &SubBlock, owners: &[Felt]) -> Result<ProvenRound> {
        let sequence = self.registry.next_sequence(reader, self.thread_id).await.map_err(chain("reading the sequence"))?;
        let (statement, witness) = sub
            .statement(&self.header(reader, sequence).await?, &self.directory(owners))
            .map_err(|e| MarketError::Statement(e.to_string()))?;
        let mut settlement = crate::codec::signed_settlement(self.thread_id, &statement, Vec::new())
            .map_err(|e| MarketError::Statement(e.to_string()))?;
        let mut onchain = self.registry.public_input(reader, &settlement).await.map_err(chain("asking the registry"))?;
        onchain.splice(2..2, [statement.chain_id, statement.registry]);
        if onchain != statement.to_felts() {
            return Err(MarketError::PublicInputMismatch);
        }
        let began = Instant::now();
        let (s, w, rows) = (statement.clone(), witness, sub.witness.clone());
        let proof = tokio::task::spawn_blocking(move || poseidon252::prove(&s, &w, &rows, &PARAMS))
            .await
            .map_err(|e| MarketError::ProverTask(e.to_string()))?
            .map_err(|e| MarketError::Prove(e.to_string()))?;
        let prove_time = began.elapsed();
        poseidon252::verify(&statement, &proof, &PARAMS).map_err(|e| MarketError::Verify(e.to_string()))?;
        settlement.proof = poseidon252::to_felts(&proof);
        Ok(ProvenRound { settlement, prove_time })
    }
}

/// A signed order message as a client keeps it until it settles: the owner's address (its
/// account id and the book's domain are derived again when it is loaded), the message's
/// fields, the signing key and the signature as canonical M31 words.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredOrder {
    pub owner: Felt,
    /// The order's id (`order_id` in JSON: a stored message's `id` is its submission number;
    /// the queue files of earlier versions named it `id`).
    #[serde(rename = "order_id", alias = "id")]
    pub id: u32,
    /// `(side, price, quantity)` of a place; `None` for a cancel. A whole price is a JSON
    /// number (as before ratios), any other the string `"num/den"`.
    pub place: Option<(u32, Price, u64)>,
    pub nonce: u32,
    pub index: u32,
    pub key: [u32; 4],
    pub next_key: [u32; 4],
    pub signature: Vec<u32>,
}

impl StoredOrder {
    /// The stored form of `signed`, sent by `owner`.
    pub fn new(owner: Felt, signed: &SignedOrder) -> StoredOrder {
        let m = &signed.message;
        StoredOrder {
            owner,
            id: m.id,
            place: m.place,
            nonce: m.nonce,
            index: signed.index,
            key: signed.key.to_u32(),
            next_key: m.next_key.to_u32(),
            signature: signed.signature.to_u32(),
        }
    }

    /// The signed message for the book whose domain is `book` (`None` if a stored word is not
    /// a canonical M31: the record was not written by [`StoredOrder::new`]).
    pub fn signed(&self, book: zkthread_sig::wots::Hash4) -> Option<SignedOrder> {
        Some(SignedMessage {
            index: self.index,
            key: KeyCommitment::from_u32(self.key).ok()?,
            message: OrderMessage {
                book,
                owner: account_id(self.owner),
                id: self.id,
                place: self.place,
                nonce: self.nonce,
                next_key: KeyCommitment::from_u32(self.next_key).ok()?,
            },
            signature: zkthread_sig::wots::Signature::from_u32(&self.signature).ok()?,
        })
    }
}

/// The signed messages a client kept in a JSON file (`<data-dir>/books/<registry>-<thread>.json`)
/// before they lived in the batcher's store: read once to import them
/// ([`pipeline::import_queue`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderQueue {
    pub pending: Vec<StoredOrder>,
    #[serde(default)]
    pub known: Vec<(Felt, u32)>,
}

impl Market {
    /// The market of an order-book thread, read from the registry: the thread's program (the
    /// order book's, or [`MarketError::OtherProgram`]), OS version and contracts, the book among
    /// them (the contract with a `base_token`), its tokens.
    pub async fn open(reader: &ChainReader, registry: Registry, thread_id: u64) -> Result<Market> {
        let info = registry.thread(reader, thread_id).await.map_err(chain("reading the thread"))?;
        Self::check_program(thread_id, &info)?;
        let contracts = registry.thread_contracts(reader, thread_id).await.map_err(chain("reading the contract set"))?;
        let mut found = None;
        for contract in contracts {
            let book = OrderBook { address: contract };
            if let Ok(base) = book.base_token(reader).await {
                let quote = book.quote_token(reader).await.map_err(chain("reading the quote token"))?;
                found = Some((book, Token { address: base }, Token { address: quote }));
                break;
            }
        }
        let (book, base, quote) = found.ok_or(MarketError::NotABook { thread_id })?;
        Ok(Market {
            registry,
            book,
            base,
            quote,
            thread_id,
            os_version: info.os_version,
            program_hash: info.program_hash,
            chain_id: reader.chain_id(),
        })
    }
}
