//! # zkthread-sig-wasm: the thread-key signer for WebAssembly hosts
//!
//! `zkthread-sig`'s wallet functions (key commitments, signing a transfer exactly as
//! `keystore::Wallet::sign_transfer` does, or a list of one sender's transfers for a thread of
//! the list program as `Wallet::sign_next` signs a `TransferListMessage`) compiled to `wasm32-unknown-unknown`, so clients in
//! other languages (examples/: Node's built-in `WebAssembly`, Python's `wasmtime`) sign with the
//! same code as the Rust CLI instead of a re-implementation of the scheme.
//!
//! The interface is a raw C ABI over linear memory, JSON in and JSON out, so no binding
//! generator is needed on either side:
//! - `alloc(len) -> ptr` / `dealloc(ptr, len)`: the host writes a UTF-8 JSON request into a
//!   buffer from `alloc`, and frees every buffer it got (requests and results) with `dealloc`;
//! - `zkthread_key`, `zkthread_sign_transfer`, `zkthread_sign_transfer_list`,
//!   `zkthread_unpack_key_slot`: take `(ptr, len)` of a request and return a pointer to a result `[len: u32 little-endian][len bytes of JSON]`
//!   (`{"error": "..."}` on failure), which the host frees with `dealloc(ptr, 4 + len)`. A
//!   pointer, not a packed `u64`, so the same functions run natively (the tests call them).
//!
//! Everything here is a pure function of its input: no files, no clock, no randomness. The host
//! draws the seed (8 uniform canonical M31 words, as `KeySeed::generate` does) and keeps the key
//! file, and must honour zkthread-sig's one-time rule: **persist the advanced key index before
//! asking for a signature** (see "What a client must never do" in zkthread-sig's docs). Signing
//! is deterministic, so calling `zkthread_sign_transfer` twice on the same request reproduces
//! the same signature rather than revealing a second one.
//!
//! Felts travel as `0x` hex strings, amounts as decimal strings (a u128 does not fit a JSON
//! number), M31 words (keys, signatures, seeds) as JSON numbers.

use serde::{Deserialize, Serialize};
use starknet_types_core::felt::Felt;
use zkthread_sig::domain::{account_id, account_id_wide, pack_key_slot, transfer_domain, unpack_key_slot};
use zkthread_sig::wots::{
    check_signable, commitment, sign, KeySeed, Message, TransferMessage, MAX_KEY_INDEX, SEED_LEN,
};
use zkthread_sig::transfer_list::LIST_AMOUNT_LIMIT;
use zkthread_sig::{KeyCommitment, ListedTransfer, TransferListMessage, M31};

/// `{"seed": [8 words], "index": n}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    pub seed: [u32; SEED_LEN],
    pub index: u32,
}

/// The key commitment of one index, as the key slot and `set_thread_key` take it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct KeyAnswer {
    pub index: u32,
    /// `K` as 4 M31 words (what `GET /senders/...` and `POST /transfers` carry).
    pub key: [u32; 4],
    /// `K` packed into one felt (limb i at bits 31 i, nonce 0): the `set_thread_key` argument.
    pub packed: String,
}

/// What `Wallet::sign_transfer` takes, plus the seed and the index the host has already
/// persisted as spent. The domain's parts are given, not a precomputed domain, so the host
/// cannot get its hashing wrong.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub seed: [u32; SEED_LEN],
    pub index: u32,
    pub chain_id: String,
    pub registry: String,
    pub thread_id: u64,
    pub token: String,
    pub from: String,
    pub to: String,
    /// Decimal, below 2^128.
    pub amount: String,
    /// The sender's key-slot nonce the transfer consumes.
    pub nonce: u32,
}

/// The signed transfer's words, in `POST /transfers` form.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct SignAnswer {
    pub index: u32,
    pub key: [u32; 4],
    pub next_key: [u32; 4],
    /// `rho`, `pp`, then the 64 chains (263 words).
    pub signature: Vec<u32>,
}

/// One transfer of a list: `{"to": "0x..", "amount": "decimal"}` (a `POST /lists` item).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedTransferRequest {
    pub to: String,
    /// Decimal, below 2^128.
    pub amount: String,
}

/// A list of one sender's transfers for a thread of the list program: [`SignRequest`] with
/// `transfers` (in the order they apply) for `to` and `amount`. One signature, one key index
/// and one nonce for the whole list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignListRequest {
    pub seed: [u32; SEED_LEN],
    pub index: u32,
    pub chain_id: String,
    pub registry: String,
    pub thread_id: u64,
    pub token: String,
    pub from: String,
    pub transfers: Vec<ListedTransferRequest>,
    /// The sender's key-slot nonce the list consumes.
    pub nonce: u32,
}

/// `{"slot": "0x.."}`: a key-slot value read from the token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    pub slot: String,
}

/// The key and nonce a key slot holds (`key` all zero: no key registered).
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct SlotAnswer {
    pub key: [u32; 4],
    pub nonce: u32,
}

fn seed(words: [u32; SEED_LEN]) -> Result<KeySeed, String> {
    KeySeed::from_u32(words).map_err(|e| format!("seed: {e}"))
}

/// A felt from `0x` hex, refusing anything that does not name exactly one felt (`Felt::from_hex`
/// alone reduces modulo p).
fn felt(field: &str, text: &str) -> Result<Felt, String> {
    let bad = || format!("{field}: {text:?} is not a 0x-hex felt");
    let digits = text.strip_prefix("0x").ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let value = Felt::from_hex(text).map_err(|_| bad())?;
    let canonical = digits.trim_start_matches('0').to_ascii_lowercase();
    let expect = if canonical.is_empty() {
        "0".to_owned()
    } else {
        canonical
    };
    if format!("{value:x}") != expect {
        return Err(bad());
    }
    Ok(value)
}

fn key_answer(seed: &KeySeed, index: u32) -> Result<KeyAnswer, String> {
    let key = commitment(seed, index).map_err(|e| e.to_string())?;
    Ok(KeyAnswer {
        index,
        key: key.to_u32(),
        packed: format!("{:#x}", packed(&key)),
    })
}

/// `K` with nonce 0: what `set_thread_key` takes (zkthread's `key::packed_commitment`).
fn packed(key: &KeyCommitment) -> Felt {
    // Nonce 0 is always in range.
    pack_key_slot(key, 0).unwrap_or_default()
}

/// The key commitment of `(seed, index)`.
pub fn key(request: &KeyRequest) -> Result<KeyAnswer, String> {
    key_answer(&seed(request.seed)?, request.index)
}

/// The seed, checked to leave a next key after `index` (the wallet's `Exhausted`).
fn signing_seed(words: [u32; SEED_LEN], index: u32) -> Result<KeySeed, String> {
    let seed = seed(words)?;
    if index >= MAX_KEY_INDEX {
        return Err(format!(
            "key index {index} leaves no next key (max {}): generate a new seed",
            MAX_KEY_INDEX - 1
        ));
    }
    Ok(seed)
}

/// A decimal amount below 2^128 (`field` names it in the error).
fn amount(field: &str, text: &str) -> Result<u128, String> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| format!("{field}: {text:?} is not a whole number below 2^128"))
}

/// The transfer domain of a request's chain, registry, thread and token.
fn domain(chain_id: &str, registry: &str, thread_id: u64, token: &str) -> Result<[M31; 4], String> {
    Ok(transfer_domain(
        felt("chain_id", chain_id)?,
        felt("registry", registry)?,
        Felt::from(thread_id),
        felt("token", token)?,
    ))
}

/// Signs `message` (its next key already the key of `index + 1`) with key `index`.
fn sign_message<M: Message>(seed: &KeySeed, index: u32, message: &M) -> Result<SignAnswer, String> {
    // The wallet's check before it spends an index (a nonce that is no M31 element or one no
    // settlement can consume, a list too long to count).
    check_signable(message).map_err(|e| e.to_string())?;
    let signature = sign(seed, index, message).map_err(|e| e.to_string())?;
    Ok(SignAnswer {
        index,
        key: commitment(seed, index).map_err(|e| e.to_string())?.to_u32(),
        next_key: message.next_key().to_u32(),
        signature: signature.to_u32(),
    })
}

/// Signs the transfer with key `index`, rotating to the key of `index + 1`: the same message
/// and signature `Wallet::sign_transfer` produces when its file's next index is `index`.
pub fn sign_transfer(request: &SignRequest) -> Result<SignAnswer, String> {
    let seed = signing_seed(request.seed, request.index)?;
    let message = TransferMessage {
        domain: domain(&request.chain_id, &request.registry, request.thread_id, &request.token)?,
        from: account_id(felt("from", &request.from)?),
        to: account_id_wide(felt("to", &request.to)?),
        amount: amount("amount", &request.amount)?,
        nonce: request.nonce,
        next_key: commitment(&seed, request.index + 1).map_err(|e| e.to_string())?,
    };
    sign_message(&seed, request.index, &message)
}

/// Signs the list with key `index`, rotating to the key of `index + 1`: the signature
/// `Wallet::sign_next` gives the same `TransferListMessage` when its file's next index is
/// `index`. An empty list is refused (it moves nothing and would spend a nonce); whether each
/// item may be admitted (above zero, not to the sender) is the host's check before it spends
/// the index, as for a single transfer.
pub fn sign_transfer_list(request: &SignListRequest) -> Result<SignAnswer, String> {
    let seed = signing_seed(request.seed, request.index)?;
    if request.transfers.is_empty() {
        return Err("transfers: an empty list moves nothing".to_owned());
    }
    let transfers = request
        .transfers
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("transfers[{i}].amount");
            let amount = amount(&field, &item.amount)?;
            if amount >= LIST_AMOUNT_LIMIT {
                return Err(format!("{field}: {amount} is 2^120 or more, which a list cannot carry (sign it as a single transfer)"));
            }
            Ok(ListedTransfer { to: account_id_wide(felt(&format!("transfers[{i}].to"), &item.to)?), amount })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let message = TransferListMessage {
        domain: domain(&request.chain_id, &request.registry, request.thread_id, &request.token)?,
        from: account_id(felt("from", &request.from)?),
        transfers,
        nonce: request.nonce,
        next_key: commitment(&seed, request.index + 1).map_err(|e| e.to_string())?,
    };
    sign_message(&seed, request.index, &message)
}

/// Decodes a key-slot value (`zkthread_sig::unpack_key_slot`).
pub fn unpack_slot(request: &SlotRequest) -> Result<SlotAnswer, String> {
    let value = felt("slot", &request.slot)?;
    let (key, nonce) = unpack_key_slot(&value).map_err(|e| format!("key slot: {e}"))?;
    Ok(SlotAnswer {
        key: key.to_u32(),
        nonce,
    })
}

/// Parses a request, runs `f`, serializes its answer or `{"error"}`.
pub fn json_call<Q: for<'de> Deserialize<'de>, A: Serialize>(
    input: &[u8],
    f: impl FnOnce(&Q) -> Result<A, String>,
) -> Vec<u8> {
    let answer = serde_json::from_slice::<Q>(input)
        .map_err(|e| format!("bad request: {e}"))
        .and_then(|q| f(&q))
        .and_then(|a| serde_json::to_vec(&a).map_err(|e| e.to_string()));
    match answer {
        Ok(bytes) => bytes,
        Err(error) => serde_json::to_vec(&serde_json::json!({ "error": error }))
            .unwrap_or_else(|_| b"{\"error\":\"unprintable error\"}".to_vec()),
    }
}

// ---- The C ABI ----

/// A fresh zeroed buffer of `len` bytes in linear memory, owned by the host until `dealloc`.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    Box::into_raw(vec![0u8; len].into_boxed_slice()) as *mut u8
}

/// Frees a buffer from `alloc` or a result, zeroing it first: requests carry the seed, and
/// freed linear memory is otherwise readable until it is reused.
///
/// # Safety
/// `(ptr, len)` must be a buffer this module handed out and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the caller passes back exactly a boxed slice this module leaked.
    let mut buffer = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    buffer
        .iter_mut()
        .for_each(|b| unsafe { std::ptr::write_volatile(b, 0) });
}

/// The request bytes `(ptr, len)` (host-written, from `alloc`).
///
/// # Safety
/// `(ptr, len)` must be a live buffer from `alloc`.
unsafe fn request<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: per the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Leaks `bytes` to the host, prefixed with their length as a little-endian `u32`.
fn hand_over(bytes: Vec<u8>) -> *mut u8 {
    // A JSON answer is a few KB: its length always fits.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let mut framed = Vec::with_capacity(4 + bytes.len());
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(&bytes);
    Box::into_raw(framed.into_boxed_slice()) as *mut u8
}

/// `{"seed", "index"}` -> [`KeyAnswer`].
///
/// # Safety
/// `(ptr, len)` must be a live buffer from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn zkthread_key(ptr: *const u8, len: usize) -> *mut u8 {
    hand_over(json_call(unsafe { request(ptr, len) }, key))
}

/// [`SignRequest`] -> [`SignAnswer`].
///
/// # Safety
/// `(ptr, len)` must be a live buffer from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn zkthread_sign_transfer(ptr: *const u8, len: usize) -> *mut u8 {
    hand_over(json_call(unsafe { request(ptr, len) }, sign_transfer))
}

/// [`SignListRequest`] -> [`SignAnswer`].
///
/// # Safety
/// `(ptr, len)` must be a live buffer from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn zkthread_sign_transfer_list(ptr: *const u8, len: usize) -> *mut u8 {
    hand_over(json_call(unsafe { request(ptr, len) }, sign_transfer_list))
}

/// `{"slot"}` -> [`SlotAnswer`].
///
/// # Safety
/// `(ptr, len)` must be a live buffer from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn zkthread_unpack_key_slot(ptr: *const u8, len: usize) -> *mut u8 {
    hand_over(json_call(unsafe { request(ptr, len) }, unpack_slot))
}
