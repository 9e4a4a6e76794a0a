//! The order book (`contracts/programs/orderbook/orderbook`, contract `OrderBook`): deploy, its configuration,
//! orders and fill counter, the owner's L2 cancel, and thread keys (an order book's signers
//! register their keys in the book, as a token's do in the token).

use starknet::core::types::Call;

use crate::calldata::{self, push_felt_span};
use crate::{ChainClient, ChainReader, ClientError, Deployed, Felt, Result};

/// Constructor arguments: `(registry, owner, programs: Span<ClassHash>, base_token,
/// quote_token)`. The book refuses a zero or equal pair, or itself as a token.
#[derive(Clone, Debug)]
pub struct OrderBookConfig {
    pub registry: Felt,
    pub owner: Felt,
    /// The thread programs the book accepts from the start (verifier class hashes).
    pub programs: Vec<Felt>,
    pub base_token: Felt,
    pub quote_token: Felt,
}

impl OrderBookConfig {
    pub fn constructor_calldata(&self) -> Vec<Felt> {
        let mut data = vec![self.registry, self.owner];
        push_felt_span(&mut data, &self.programs);
        data.extend([self.base_token, self.quote_token]);
        data
    }
}

/// One order as the book's `order(owner, id)` view decodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookOrder {
    /// 0 (unused id), 1 (buy), 2 (sell), 3 (cancelled by a signed cancel) or 4 (cancelled on
    /// L2, book AIR version 5).
    pub side: u8,
    /// The limit price `price_num / price_den` quote units per base unit (0/0 for an unused id).
    pub price_num: u16,
    pub price_den: u16,
    /// Base units still to trade.
    pub remaining: u64,
}

/// A deployed order book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderBook {
    pub address: Felt,
}

impl OrderBook {
    pub async fn deploy(
        client: &ChainClient,
        class_hash: Felt,
        config: &OrderBookConfig,
        salt: Felt,
    ) -> Result<(Self, Deployed)> {
        let deployed = client.deploy(class_hash, config.constructor_calldata(), salt).await?;
        Ok((Self { address: deployed.address }, deployed))
    }

    /// `set_thread_key(key_commitment)`: the signing account registers its own thread key in
    /// the book (the packed 124-bit `K`, `zkthread_sig::pack_key_slot(K, 0)`).
    pub fn set_thread_key_call(&self, key_commitment: Felt) -> Result<Call> {
        crate::call(self.address, "set_thread_key", vec![key_commitment])
    }

    /// `cancel(id)`: the signing account cancels its own order on L2.
    pub fn cancel_call(&self, id: u64) -> Result<Call> {
        crate::call(self.address, "cancel", vec![Felt::from(id)])
    }

    /// The raw key slot of `account` in the book, `K + nonce * 2^124`.
    pub async fn thread_key(&self, client: &ChainReader, account: Felt) -> Result<Felt> {
        let words = client.call(self.address, "thread_key", vec![account]).await?;
        calldata::single(&words, "book thread_key")
    }

    /// The book's base token (the one asks sell).
    pub async fn base_token(&self, client: &ChainReader) -> Result<Felt> {
        let words = client.call(self.address, "base_token", vec![]).await?;
        calldata::single(&words, "book base_token")
    }

    /// The book's quote token (the one asks are paid in).
    pub async fn quote_token(&self, client: &ChainReader) -> Result<Felt> {
        let words = client.call(self.address, "quote_token", vec![]).await?;
        calldata::single(&words, "book quote_token")
    }

    /// Fills settled so far.
    pub async fn fill_count(&self, client: &ChainReader) -> Result<u64> {
        let words = client.call(self.address, "fill_count", vec![]).await?;
        calldata::single(&words, "book fill_count")
    }

    /// `owner`'s order `id`, decoded by the book.
    pub async fn order(&self, client: &ChainReader, owner: Felt, id: u64) -> Result<BookOrder> {
        let words = client.call(self.address, "order", vec![owner, Felt::from(id)]).await?;
        match words.as_slice() {
            [side, num, den, remaining] => {
                let decode = |what: &str| ClientError::Decode { what: format!("book order {what}"), detail: format!("{words:?}") };
                Ok(BookOrder {
                    side: u8::try_from(*side).map_err(|_| decode("side"))?,
                    price_num: u16::try_from(*num).map_err(|_| decode("price_num"))?,
                    price_den: u16::try_from(*den).map_err(|_| decode("price_den"))?,
                    remaining: u64::try_from(*remaining).map_err(|_| decode("remaining"))?,
                })
            }
            other => Err(ClientError::Decode {
                what: "book order".into(),
                detail: format!("expected 4 felts, got {}", other.len()),
            }),
        }
    }
}
