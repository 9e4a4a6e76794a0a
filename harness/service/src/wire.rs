//! The service's message format: what a client posts and what it reads back. Felts are `0x`
//! hex strings, amounts decimal strings (a u128 does not fit a JSON number), key commitments
//! and signatures the M31 words a wallet produces (`KeyCommitment::to_u32`,
//! `Signature::to_u32`).

use serde::{Deserialize, Serialize};
use zkthread_client::Felt;
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::SignedTransferTx;
use zkthread_sig::wots::{KeyCommitment, Signature, HASH_LEN};

/// A signed transfer as posted to `POST /transfers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub token: String,
    pub from: String,
    pub to: String,
    /// Decimal, in the token's base unit, above zero and below 2^128.
    pub amount: String,
    /// The sender's key-slot nonce this transfer consumes.
    pub nonce: u32,
    /// The key the signature is under (4 M31 words).
    pub key: [u32; HASH_LEN],
    /// The key the sender's slot rotates to.
    pub next_key: [u32; HASH_LEN],
    /// The one-time signature's M31 words (`rho`, `pp`, then the chains).
    pub signature: Vec<u32>,
}

/// Why a request body is not a transfer (a 400/422 with this text).
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{field}: {value:?} is not a felt (0x hex or decimal below the field prime)")]
    Felt { field: &'static str, value: String },
    #[error("amount: {0:?} is not a whole number below 2^128")]
    Amount(String),
    #[error("{field}: not canonical M31 words")]
    Words { field: &'static str },
    #[error("signature: {0}")]
    Signature(String),
}

pub fn parse_felt(field: &'static str, value: &str) -> Result<Felt, WireError> {
    felt_from_text(value).ok_or_else(|| WireError::Felt {
        field,
        value: value.to_owned(),
    })
}

/// A felt from `0x`-hex (at most 64 digits) or decimal text, `None` unless the text names a
/// number below the field prime exactly: `Felt::from_*_str` reduce modulo p, so a value at or
/// past p would silently become another (p + 4 would name address 4).
pub fn felt_from_text(value: &str) -> Option<Felt> {
    let text = value.trim();
    let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (!hex.is_empty() && hex.len() <= 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Felt::from_hex(text).ok())
            .flatten()
    } else {
        (!text.is_empty() && text.chars().all(|c| c.is_ascii_digit()))
            .then(|| Felt::from_dec_str(text).ok())
            .flatten()
    };
    parsed.filter(|felt| felt_text_round_trips(text, felt))
}

fn felt_text_round_trips(text: &str, felt: &Felt) -> bool {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => {
            let digits = hex.trim_start_matches('0').to_ascii_lowercase();
            format!("{felt:x}") == if digits.is_empty() { "0".into() } else { digits }
        }
        None => felt.to_string() == text.trim_start_matches('0').to_string()
            || (felt == &Felt::ZERO && text.chars().all(|c| c == '0')),
    }
}

impl TransferRequest {
    /// The request of a signed transfer (what a client sends).
    pub fn from_tx(tx: &SignedTransferTx) -> Self {
        TransferRequest {
            token: format!("{:#x}", tx.token),
            from: format!("{:#x}", tx.from),
            to: format!("{:#x}", tx.to),
            amount: tx.amount.to_string(),
            nonce: tx.nonce,
            key: tx.key.to_u32(),
            next_key: tx.next_key.to_u32(),
            signature: tx.signature.to_u32(),
        }
    }

    /// The signed transfer it carries (well-formed; whether it is valid is the engine's check).
    pub fn to_tx(&self) -> Result<SignedTransferTx, WireError> {
        let amount = parse_amount(&self.amount)?;
        Ok(SignedTransferTx {
            token: parse_felt("token", &self.token)?,
            from: parse_felt("from", &self.from)?,
            to: parse_felt("to", &self.to)?,
            amount,
            nonce: self.nonce,
            key: KeyCommitment::from_u32(self.key).map_err(|_| WireError::Words { field: "key" })?,
            next_key: KeyCommitment::from_u32(self.next_key)
                .map_err(|_| WireError::Words { field: "next_key" })?,
            signature: Signature::from_u32(&self.signature)
                .map_err(|e| WireError::Signature(e.to_string()))?,
        })
    }
}

fn parse_amount(text: &str) -> Result<u128, WireError> {
    let trimmed = text.trim();
    (!trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()))
        .then(|| trimmed.parse::<u128>().ok())
        .flatten()
        .ok_or_else(|| WireError::Amount(text.to_owned()))
}

/// One transfer of a [`TransferListRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedTransferRequest {
    pub to: String,
    /// Decimal, in the token's base unit, above zero and below 2^128.
    pub amount: String,
}

/// A signed list of a sender's transfers as posted to `POST /lists` (a thread of the list
/// program): one signature over every transfer, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferListRequest {
    pub token: String,
    pub from: String,
    pub transfers: Vec<ListedTransferRequest>,
    /// The sender's key-slot nonce the list consumes (one for the whole list).
    pub nonce: u32,
    pub key: [u32; HASH_LEN],
    pub next_key: [u32; HASH_LEN],
    pub signature: Vec<u32>,
}

impl TransferListRequest {
    /// The request of a signed list (what a client sends).
    pub fn from_tx(tx: &SignedTransferListTx) -> Self {
        TransferListRequest {
            token: format!("{:#x}", tx.token),
            from: format!("{:#x}", tx.from),
            transfers: tx
                .transfers
                .iter()
                .map(|(to, amount)| ListedTransferRequest { to: format!("{to:#x}"), amount: amount.to_string() })
                .collect(),
            nonce: tx.nonce,
            key: tx.key.to_u32(),
            next_key: tx.next_key.to_u32(),
            signature: tx.signature.to_u32(),
        }
    }

    /// The signed list it carries (well-formed; whether it is valid is the engine's check).
    pub fn to_tx(&self) -> Result<SignedTransferListTx, WireError> {
        let transfers = self
            .transfers
            .iter()
            .map(|t| Ok((parse_felt("to", &t.to)?, parse_amount(&t.amount)?)))
            .collect::<Result<Vec<_>, WireError>>()?;
        Ok(SignedTransferListTx {
            token: parse_felt("token", &self.token)?,
            from: parse_felt("from", &self.from)?,
            transfers,
            nonce: self.nonce,
            key: KeyCommitment::from_u32(self.key).map_err(|_| WireError::Words { field: "key" })?,
            next_key: KeyCommitment::from_u32(self.next_key).map_err(|_| WireError::Words { field: "next_key" })?,
            signature: Signature::from_u32(&self.signature).map_err(|e| WireError::Signature(e.to_string()))?,
        })
    }
}

/// `POST /transfers` (or `POST /lists`) answer: the message is durably stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub id: u64,
    /// `pending` for a message stored now; where it is for a duplicate (`pending`,
    /// `in_sub_block`, `settled`, or `rejected` if the batcher refused it meanwhile).
    pub status: String,
    pub pending: usize,
    /// The same message was stored already (answered `200`, not `202`): `id` is that one's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// Where a transfer is (`GET /transfers/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStatus {
    pub id: u64,
    /// pending, in_sub_block, settled, rejected.
    pub status: String,
    pub sequence: Option<u64>,
    /// The sub-block's own status while in one (built, proven, sending).
    pub sub_block_status: Option<String>,
    pub tx_hash: Option<String>,
    pub block: Option<u64>,
    pub reason: Option<String>,
}

/// `GET /senders/{token}/{address}`: what the sender's next transfer must be signed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderView {
    pub token: String,
    pub address: String,
    pub key: [u32; HASH_LEN],
    pub nonce: u32,
    /// Messages the sender has queued here (pending or in flight; at most
    /// `MAX_QUEUED_PER_SENDER`).
    pub queued: usize,
    /// Transfers in them (a list counts its transfers; a list thread takes at most
    /// `MAX_QUEUED_TRANSFERS_PER_SENDER`): a wallet checks a list against it before signing.
    /// This service always sends it; a client reading another server needs it only on a list
    /// thread (a signed thread caps messages, not transfers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_transfers: Option<usize>,
}

/// One sub-block in `GET /thread`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubBlockView {
    pub sequence: u64,
    pub attempt: u32,
    pub status: String,
    /// Built on the previous sub-block's outputs while that one was settling.
    pub built_ahead: bool,
    pub transfers: usize,
    /// The proof's commitment to the ordered transfer list (`settle`'s `transactions`; the
    /// registry publishes it in `SubBlockSettledSummary`).
    pub transactions_commitment: String,
    pub slots: usize,
    pub proof_felts: usize,
    pub tx_hash: Option<String>,
    pub block: Option<u64>,
    /// What the settlement cost the prover, in FRI (decimal).
    pub fee_fri: Option<String>,
    pub reason: Option<String>,
}

/// `GET /thread`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadView {
    pub thread_id: u64,
    /// The thread's token program: `signed` (`POST /transfers`) or `list` (`POST /lists`).
    pub program: zkthread_engine::program::TokenProgram,
    pub registry: String,
    pub chain_id: String,
    pub pending: usize,
    pub rejected: usize,
    pub settled_sub_blocks: usize,
    /// Newest first, at most 20.
    pub sub_blocks: Vec<SubBlockView>,
    /// The pipeline's last failure, if its last attempt failed (it retries).
    pub last_error: Option<String>,
    /// The registry entry point the pipeline settles with now: `settle`, or
    /// `settle_checking_inputs_first` (`serve --inputs-first`, or for a while after a stale
    /// revert: `zkthread_engine::adaptive`). Empty from a service that does not say.
    #[serde(default)]
    pub settle_entry: String,
    /// Settlements still to be sent with the inputs first after a stale revert (`None`: the
    /// configured entry point).
    #[serde(default)]
    pub inputs_first_left: Option<u32>,
}

/// `GET /signers/{address}` of an order-book thread: what the owner's next order message is
/// signed under (its key slot in the book after its queued messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerView {
    pub address: String,
    /// The key the next message is signed under: the last queued message's `next_key`, else
    /// the key slot's on chain (all zero: no key registered).
    pub key: [u32; HASH_LEN],
    /// The next message's nonce: the slot's on chain plus the queued messages.
    pub nonce: u32,
    /// The owner's messages pending or in a sub-block on its way to settle.
    pub queued: usize,
}

/// An order as the book's `order` view has it (`GET /book`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub owner: String,
    pub order_id: u32,
    /// buy, sell (live, or filled when nothing remains), cancelled, or empty (an unused id).
    pub side: String,
    /// The limit price: a number if whole, else `"num/den"`.
    pub price: zkthread_engine::orderbook::Price,
    pub remaining: u64,
}

/// The round owed to a taker the slot budget stopped (`GET /book`): the next round resumes it
/// first, before any message, even with none pending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedRound {
    pub owner: String,
    pub order_id: u32,
    /// Still-live makers its stopped pass has visited (it does not take them again; a filled
    /// or cancelled one is dropped).
    pub visited: usize,
}

/// A pending order message (`GET /book`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOrder {
    /// The submission id (`GET /orders/{id}`).
    pub id: u64,
    pub owner: String,
    pub order_id: u32,
    /// `buy 30 @ 52`, `sell ...` or `cancel`.
    pub action: String,
    pub nonce: u32,
}

/// `GET /book`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookView {
    pub thread_id: u64,
    pub registry: String,
    pub chain_id: String,
    pub book: String,
    pub base_token: String,
    pub quote_token: String,
    /// The book's fill counter on chain.
    pub fill_count: u64,
    /// The orders settled sub-blocks placed, in placement order, read from chain.
    pub orders: Vec<OrderLine>,
    /// The most slots one sub-block touches, set by a round too large to settle (`None`: no
    /// budget, the batcher's proof-size limit alone).
    pub slot_budget: Option<usize>,
    /// A round owed to a taker the budget stopped (`None`: none owed).
    pub owed_round: Option<OwedRound>,
    pub pending: usize,
    pub pending_messages: Vec<PendingOrder>,
    pub rejected: usize,
    pub settled_sub_blocks: usize,
    /// Newest first, at most 20 (`transfers` counts the sub-block's order messages).
    pub sub_blocks: Vec<SubBlockView>,
    /// The pipeline's last failure, if its last attempt failed (it retries).
    pub last_error: Option<String>,
    /// The registry entry point the pipeline settles with now: `settle`, or
    /// `settle_checking_inputs_first` (`serve --inputs-first`, or for a while after a stale
    /// revert: `zkthread_engine::adaptive`). Empty from a service that does not say.
    #[serde(default)]
    pub settle_entry: String,
    /// Settlements still to be sent with the inputs first after a stale revert (`None`: the
    /// configured entry point).
    #[serde(default)]
    pub inputs_first_left: Option<u32>,
}

/// Every 4xx/5xx body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed list goes through its request unchanged; a bad amount or receiver is named.
    #[test]
    fn a_list_request_round_trips_and_names_a_bad_field() {
        use zkthread_sig::wots::{commitment, KeySeed};
        use zkthread_sig::M31;
        let seed = KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(i as u32 + 3)));
        let tx = SignedTransferListTx {
            token: Felt::from(7u8),
            from: Felt::from(1u8),
            transfers: vec![(Felt::from(2u8), u128::MAX), (Felt::from(3u8), 5)],
            nonce: 4,
            key: commitment(&seed, 0).unwrap(),
            next_key: commitment(&seed, 1).unwrap(),
            signature: zkthread_sig::wots::sign(&seed, 0, &zkthread_sig::TransferListMessage {
                domain: [M31::ZERO; 4],
                from: [M31::ZERO; 4],
                transfers: vec![],
                nonce: 0,
                next_key: KeyCommitment::NONE,
            })
            .unwrap(),
        };
        let request = TransferListRequest::from_tx(&tx);
        assert_eq!(request.transfers[0].amount, u128::MAX.to_string());
        let json = serde_json::to_value(&request).unwrap();
        let back: TransferListRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back.to_tx().unwrap(), tx);
        let mut bad = request.clone();
        bad.transfers[1].amount = "-5".into();
        assert!(matches!(bad.to_tx(), Err(WireError::Amount(a)) if a == "-5"));
        let mut bad = request;
        bad.transfers[0].to = "0xzz".into();
        assert!(matches!(bad.to_tx(), Err(WireError::Felt { field: "to", .. })));
    }

    #[test]
    fn felts_parse_only_when_canonical() {
        assert_eq!(parse_felt("f", "0x1f").unwrap(), Felt::from(31u8));
        assert_eq!(parse_felt("f", "31").unwrap(), Felt::from(31u8));
        assert_eq!(parse_felt("f", "0x0").unwrap(), Felt::ZERO);
        for bad in ["", "0x", "0xg", "-1", "1.5", "0x1 2", "x1"] {
            assert!(parse_felt("f", bad).is_err(), "{bad:?}");
        }
        // The field prime and above do not reduce silently.
        let p = "0x800000000000011000000000000000000000000000000000000000000000001";
        assert!(parse_felt("f", p).is_err());
        assert!(parse_felt("f", &format!("0x{}", "f".repeat(64))).is_err());
    }
}
