//! Admitting a signed transfer to a thread's pending list, from a client the batcher does not
//! trust (a wallet posting to the service, or the CLI).
//!
//! A transfer is stored only if it could be batched now: its token is in the thread's contract
//! set, the amount is above zero, sender and receiver differ, and the signature verifies under
//! the sender's *next* key at the sender's *next* nonce — the key slot on-chain advanced by the
//! sender's transfers already queued here. So a replayed or reordered nonce, a signature under
//! another key or over other fields is refused with its reason before anything is written.
//! The balance is not checked here: it moves until the sub-block is built, and the batcher
//! checks it then (a refused transfer is kept with its reason).
//!
//! Callers that admit transfers concurrently must serialize [`admit`] per thread: two
//! transfers checked against the same queued state could both pass with one nonce (the
//! batcher would still refuse the second, but it should not be accepted).

use zkthread_client::registry::Registry;
use zkthread_client::{ChainReader, Felt};
use zkthread_token::SignedTransferTx;
use zkthread_sig::domain::{transfer_domain, unpack_key_slot};
use zkthread_sig::transfer_list::LIST_AMOUNT_LIMIT;
use zkthread_sig::{check_consumable_nonce, thread_key_slot_key, KeyCommitment, MessageError, SignatureError};
use zkthread_store::{Message, MessageBody, NewTransferList, QueuedAuth, Store, ThreadKey, Transfer};
use zkthread_token::list_batcher::SignedTransferListTx;

use crate::batch::{list_slots_of, MAX_SLOTS_WITHIN_CALLDATA};
use crate::codec::{new_transfer, new_transfer_list};
use crate::token::TokenMessage;
use crate::error::{ChainContext, EngineError};

/// Why a transfer was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("token {0:#x} is not in the thread's contract set")]
    ForeignToken(Felt),
    #[error("amount must be above zero")]
    ZeroAmount,
    #[error("sender and receiver are the same account")]
    SelfTransfer,
    /// No account could ever spend what it receives ([`check_receiver`]).
    #[error("receiver {0:#x} is not a Starknet account address (0, or not below 2^251): what it receives could never be spent")]
    BadReceiver(Felt),
    #[error("sender {0:#x} has no thread key registered in this token")]
    NoKey(Felt),
    #[error("nonce {given} is not the sender's next nonce {expected} (replayed, reordered or stale)")]
    WrongNonce { given: u32, expected: u32 },
    #[error("signed under a key that is not the sender's next key")]
    WrongKey,
    /// The sender's next nonce is one no settlement can consume (`check_consumable_nonce`).
    #[error("{0}")]
    NonceExhausted(MessageError),
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
    #[error("the sender's key slot holds no valid key: {0}")]
    BadKeySlot(String),
    #[error("the sender already has {queued} transfers queued here (at most {MAX_QUEUED_PER_SENDER}): post again after the next settlement")]
    SenderQueueFull { queued: usize },
    #[error("a list needs at least one transfer")]
    EmptyList,
    /// A listed amount is four 30-bit elements of the list's stream.
    #[error("amount {0} is 2^120 or more, which a list cannot carry: send it as a single transfer")]
    ListAmountTooLarge(u128),
    #[error("a list of {transfers} transfers does not fit one proof (at most {max})")]
    ListTooLong { transfers: usize, max: usize },
    /// Longer than the sender's whole queue may be: no settlement makes room for it.
    #[error("a list of {transfers} transfers is longer than one sender may have queued here (at most {MAX_QUEUED_TRANSFERS_PER_SENDER}): split it")]
    ListOverSenderCap { transfers: usize },
    #[error("the list touches {slots} slots; one settlement carries at most {max}")]
    TooManySlots { slots: usize, max: usize },
    #[error("the sender already has {queued} transfers queued here in lists; with these {adding} it would pass {MAX_QUEUED_TRANSFERS_PER_SENDER}: post again after the next settlement")]
    SenderTransfersFull { queued: usize, adding: usize },
    /// One transfer of a list is invalid: the list is refused whole (one signature covers it).
    #[error("list item {item}: {reason}")]
    ListItem { item: usize, reason: Box<Refused> },
}

/// The most transfers one sender may have queued here (pending or in flight) at a time: the
/// batcher takes pending transfers oldest first, so without a cap one sender could fill every
/// sub-block and keep everyone else's waiting.
pub const MAX_QUEUED_PER_SENDER: usize = 64;

/// The most transfers one sender may have queued here in lists (pending or in flight): a list
/// is one message whatever its length, so the message cap alone would let one sender queue
/// 64 long lists and fill sub-block after sub-block (a list longer than a sub-block's
/// `max_transfers` goes alone). Four default sub-blocks' worth.
pub const MAX_QUEUED_TRANSFERS_PER_SENDER: usize = 1_024;

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The client's transfer is not admissible (a 4xx for a service).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The batcher could not check or store it (a 5xx: the client may retry).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What a sender's next transfer must be signed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderState {
    /// The key the next signature must be under.
    pub key: KeyCommitment,
    /// The key-slot nonce the next transfer consumes.
    pub nonce: u32,
    /// Messages of this sender queued here (pending or in an in-flight sub-block).
    pub queued: usize,
    /// Transfers in them (a list counts its transfers, read from the same lane as `queued`):
    /// what [`MAX_QUEUED_TRANSFERS_PER_SENDER`] caps on a list thread, and what
    /// `GET /senders` reports so a wallet can check it before spending a key index.
    pub queued_transfers: usize,
}

/// The sender's (key, nonce) on-chain, advanced through its transfers queued in `store`.
///
/// The queue is read before the chain. A settlement recorded between the two reads then
/// leaves its transfers in the queue copy while the chain already shows their nonces spent:
/// they no longer chain and are skipped. Read the other way round, the chain's old nonce meets
/// a queue without them, and the sender's valid next transfer would be refused as out of
/// order (its one-time key already spent on the client's side).
pub async fn sender_state<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    thread: ThreadKey,
    token: Felt,
    from: Felt,
) -> Result<SenderState, SubmitError> {
    let queued = store.queued(thread, token, from).map_err(EngineError::from)?;
    let slot = client
        .storage_at(token, thread_key_slot_key(from))
        .await
        .chain("reading the sender's thread key slot")?;
    let on_chain = unpack_key_slot(&slot).map_err(|e| Refused::BadKeySlot(e.to_string()))?;
    Ok(advance_through(queued, on_chain))
}

/// `on_chain` (key, nonce) advanced through the sender's queued transfers, which chain from
/// the on-chain slot through their nonces (a queued transfer that does not chain is skipped:
/// the batcher will refuse it). `on_chain` must have been read after nothing of the queue
/// could settle since (see [`sender_state`]).
pub fn queued_state<M: MessageBody>(
    store: &Store<M>,
    thread: ThreadKey,
    token: Felt,
    from: Felt,
    on_chain: (KeyCommitment, u32),
) -> Result<SenderState, EngineError> {
    Ok(advance_through(store.queued(thread, token, from)?, on_chain))
}

fn advance_through(mut queued: Vec<QueuedAuth>, on_chain: (KeyCommitment, u32)) -> SenderState {
    let queued_transfers = queued.iter().map(|q| q.transfers).sum();
    queued.sort_by_key(|t| t.nonce);
    let (mut key, mut nonce) = on_chain;
    for t in &queued {
        if t.nonce == nonce && t.key == key.to_u32() {
            let Ok(next_key) = KeyCommitment::from_u32(t.next_key) else {
                continue; // not canonical: the batcher will refuse it
            };
            (key, nonce) = (next_key, nonce + 1);
        }
    }
    SenderState {
        key,
        nonce,
        queued: queued.len(),
        queued_transfers,
    }
}

/// The thread's contract set as the registry holds it now (what [`admit`] checks tokens
/// against; a caller may keep it a while: the batcher checks the set again when it batches).
pub async fn thread_contracts(client: &ChainReader, thread: ThreadKey) -> Result<Vec<Felt>, SubmitError> {
    let registry = Registry {
        address: thread.registry,
    };
    Ok(registry
        .thread_contracts(client, thread.thread_id)
        .await
        .chain(format!("reading the contract set of thread {}", thread.thread_id))?)
}

/// Refuses a sender that already has [`MAX_QUEUED_PER_SENDER`] transfers queued.
fn room_for_one_more(state: &SenderState) -> Result<(), Refused> {
    match state.queued >= MAX_QUEUED_PER_SENDER {
        true => Err(Refused::SenderQueueFull { queued: state.queued }),
        false => Ok(()),
    }
}

/// Whether `tx`'s signature verifies under the key it names, for the thread's domain (chain
/// id, registry, thread, token): what [`admit`] checks before the sender's state, so a forged
/// message costs no node read.
pub fn verify_signature(client: &ChainReader, thread: ThreadKey, tx: &SignedTransferTx) -> Result<(), Refused> {
    let domain = transfer_domain(client.chain_id(), thread.registry, Felt::from(thread.thread_id), tx.token);
    let message = tx.message_in(domain);
    zkthread_sig::verify(&tx.key, &message, &tx.signature).map_err(Refused::BadSignature)
}

/// The exclusive upper bound of a Starknet contract address (`2^251`), as big-endian bytes.
const ADDRESS_BOUND: [u8; 32] = {
    let mut bytes = [0u8; 32];
    bytes[0] = 0x08;
    bytes
};

/// Refuses a receiver no account can be: 0 (the token's mint/burn address, which
/// OpenZeppelin's ERC20 refuses as a receiver too) or a felt at or above `2^251`, past every
/// contract address. The programs prove such a transfer like any other (a balance slot's key is
/// a hash of any felt), so the tokens it moves would be burned; a wallet's typo must not do that.
pub fn check_receiver(to: Felt) -> Result<(), Refused> {
    if !is_account_address(to) {
        return Err(Refused::BadReceiver(to));
    }
    Ok(())
}

/// Whether `address` could be an account: above 0 and below `2^251`, the bound of a
/// `ContractAddress` (a node refuses to decode calldata past it, so a client's address is
/// checked before it reaches one).
pub fn is_account_address(address: Felt) -> bool {
    address != Felt::ZERO && address.to_bytes_be() < ADDRESS_BOUND
}

/// A message admitted and stored, with how many of the thread's messages are pending with it
/// (counted in the write that stored it).
#[derive(Clone, Debug)]
pub struct Admitted<M> {
    pub message: M,
    pub pending: usize,
    /// The same message, word for word, was stored already (a client's second post, whose
    /// first answer it lost): `message` is that one, nothing new was stored (helper-81 F11).
    pub duplicate: bool,
}

/// [`admit`]'s answer to `tx` if it is stored here already, queued, found before anything else
/// is checked (a body equal to a stored one passed every check when it was stored) and before
/// any node read: a wallet's second post answers even while the node is unreachable.
pub fn queued_transfer_duplicate(store: &Store, thread: ThreadKey, tx: &SignedTransferTx) -> Result<Option<Admitted<Transfer>>, SubmitError> {
    already_queued(store, thread, &new_transfer(tx))
}

/// [`queued_transfer_duplicate`] for a list ([`admit_list`]).
pub fn queued_list_duplicate(
    store: &Store<NewTransferList>,
    thread: ThreadKey,
    tx: &SignedTransferListTx,
) -> Result<Option<Admitted<Message<NewTransferList>>>, SubmitError> {
    already_queued(store, thread, &new_transfer_list(tx))
}

/// The message stored here exactly as `body` (same signature and fields), while it is queued
/// (pending or in an in-flight sub-block): a client posting again what it already posted. One
/// that settled is found after the nonce check ([`check_sender_or_settled`]). One the batcher
/// refused is not found, and its nonce is not spent on chain: the same signed message is
/// admitted again as a new one while the sender's key slot allows it (as a batcher holding
/// the signature could batch it anyway).
fn already_queued<M: MessageBody>(store: &Store<M>, thread: ThreadKey, body: &M) -> Result<Option<Admitted<Message<M>>>, SubmitError> {
    let Some(message) = store.queued_copy(thread, body).map_err(EngineError::Store)? else {
        return Ok(None);
    };
    let pending = store.pending_count(thread).map_err(EngineError::Store)?;
    Ok(Some(Admitted { message, pending, duplicate: true }))
}

/// Checks `tx` for the thread `thread` (whose contract set is `contracts`, see
/// [`thread_contracts`]) and stores it as pending.
pub async fn admit(
    client: &ChainReader,
    store: &Store,
    thread: ThreadKey,
    contracts: &[Felt],
    tx: &SignedTransferTx,
) -> Result<Admitted<Transfer>, SubmitError> {
    if !contracts.contains(&tx.token) {
        return Err(Refused::ForeignToken(tx.token).into());
    }
    if tx.amount == 0 {
        return Err(Refused::ZeroAmount.into());
    }
    if tx.from == tx.to {
        return Err(Refused::SelfTransfer.into());
    }
    check_receiver(tx.to)?;
    // Before the sender's state is read: the signature under the key the message names needs
    // no node, so a forged post costs the service no chain read (and holds the admission lock
    // for no round trip). The sender state then checks that key is the sender's.
    verify_signature(client, thread, tx)?;
    let body = new_transfer(tx);
    if let Some(stored) = already_queued(store, thread, &body)? {
        return Ok(stored);
    }
    if let SenderCheck::Settled(settled) = check_sender_or_settled(client, store, thread, (tx.token, tx.from), (tx.nonce, &tx.key), &body).await? {
        return Ok(settled);
    }
    let (message, pending) = store.submit_counted(thread, body).map_err(EngineError::Store)?;
    Ok(Admitted { message, pending, duplicate: false })
}

/// What [`check_sender_or_settled`] found.
enum SenderCheck<M> {
    /// The message is the sender's next: its state.
    Next(SenderState),
    /// The message settled here already.
    Settled(Admitted<Message<M>>),
}

/// How many of the thread's latest sub-blocks a post with a spent nonce is looked for in
/// (`Store::settled_copy`), by the token's admission and the order book's.
pub(crate) const SETTLED_DUPLICATE_SEARCH: usize = 20;

/// [`check_sender`]; a spent nonce whose message, word for word, is in one of the thread's
/// latest settled sub-blocks is that message: a wallet posting again what settled (its first
/// answer lost) hears it settled, not refused as a replay, and does not sign it again.
async fn check_sender_or_settled<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    thread: ThreadKey,
    sender: (Felt, Felt),
    auth: (u32, &KeyCommitment),
    body: &M,
) -> Result<SenderCheck<M>, SubmitError> {
    match check_sender(client, store, thread, sender, auth).await {
        Ok(state) => Ok(SenderCheck::Next(state)),
        Err(SubmitError::Refused(Refused::WrongNonce { given, expected })) if given < expected => {
            match store.settled_copy(thread, body, SETTLED_DUPLICATE_SEARCH).map_err(EngineError::Store)? {
                Some(message) => {
                    let pending = store.pending_count(thread).map_err(EngineError::Store)?;
                    Ok(SenderCheck::Settled(Admitted { message, pending, duplicate: true }))
                }
                None => Err(Refused::WrongNonce { given, expected }.into()),
            }
        }
        Err(other) => Err(other),
    }
}

/// Checks `tx`'s sender state in the thread: room in its lane, a registered key, and the next
/// nonce and key after what it has queued.
async fn check_sender<M: MessageBody>(
    client: &ChainReader,
    store: &Store<M>,
    thread: ThreadKey,
    (token, from): (Felt, Felt),
    (nonce, key): (u32, &KeyCommitment),
) -> Result<SenderState, SubmitError> {
    let state = sender_state(client, store, thread, token, from).await?;
    room_for_one_more(&state)?;
    if state.key.is_none() {
        return Err(Refused::NoKey(from).into());
    }
    if nonce != state.nonce {
        return Err(Refused::WrongNonce { given: nonce, expected: state.nonce }.into());
    }
    // Before the signature is stored: no batcher could use it (its slot is exhausted), and
    // an owner's signatures at the last nonces must not be public (`check_signable`).
    check_consumable_nonce(nonce).map_err(Refused::NonceExhausted)?;
    if *key != state.key {
        return Err(Refused::WrongKey.into());
    }
    Ok(state)
}

/// Checks a signed list for the thread `thread` (whose contract set is `contracts`) as
/// [`admit`] checks a transfer — the token; each item's amount and receiver; the list's length
/// against one proof and its slots against one settlement; the signature under the key it
/// names; the sender's next nonce and key through what it has queued — and stores it as
/// pending. The balance is
/// the batcher's to check, as for a transfer.
pub async fn admit_list(
    client: &ChainReader,
    store: &Store<NewTransferList>,
    thread: ThreadKey,
    contracts: &[Felt],
    tx: &SignedTransferListTx,
) -> Result<Admitted<Message<NewTransferList>>, SubmitError> {
    if !contracts.contains(&tx.token) {
        return Err(Refused::ForeignToken(tx.token).into());
    }
    if tx.transfers.is_empty() {
        return Err(Refused::EmptyList.into());
    }
    let max = NewTransferList::MAX_TRANSFERS_PER_PROOF;
    if tx.transfers.len() > max {
        return Err(Refused::ListTooLong { transfers: tx.transfers.len(), max }.into());
    }
    if tx.transfers.len() > MAX_QUEUED_TRANSFERS_PER_SENDER {
        return Err(Refused::ListOverSenderCap { transfers: tx.transfers.len() }.into());
    }
    for (item, (to, amount)) in tx.transfers.iter().enumerate() {
        let reason = match (*amount == 0, *to == tx.from, check_receiver(*to)) {
            (true, _, _) => Refused::ZeroAmount,
            _ if *amount >= LIST_AMOUNT_LIMIT => Refused::ListAmountTooLarge(*amount),
            (_, true, _) => Refused::SelfTransfer,
            (_, _, Err(bad)) => bad,
            _ => continue,
        };
        return Err(Refused::ListItem { item, reason: Box::new(reason) }.into());
    }
    let slots = list_slots_of(tx).into_iter().collect::<std::collections::BTreeSet<_>>().len();
    if slots > MAX_SLOTS_WITHIN_CALLDATA {
        return Err(Refused::TooManySlots { slots, max: MAX_SLOTS_WITHIN_CALLDATA }.into());
    }
    // Before the sender's state is read, as for a transfer: a forged list costs no chain read.
    verify_list_signature(client, thread, tx)?;
    let body = new_transfer_list(tx);
    if let Some(stored) = already_queued(store, thread, &body)? {
        return Ok(stored);
    }
    let queued = match check_sender_or_settled(client, store, thread, (tx.token, tx.from), (tx.nonce, &tx.key), &body).await? {
        SenderCheck::Next(state) => state.queued_transfers,
        SenderCheck::Settled(settled) => return Ok(settled),
    };
    if queued + tx.transfers.len() > MAX_QUEUED_TRANSFERS_PER_SENDER {
        return Err(Refused::SenderTransfersFull { queued, adding: tx.transfers.len() }.into());
    }
    let (message, pending) = store.submit_counted(thread, body).map_err(EngineError::Store)?;
    Ok(Admitted { message, pending, duplicate: false })
}

/// Whether a list's signature verifies under the key it names, for the thread's domain.
pub fn verify_list_signature(client: &ChainReader, thread: ThreadKey, tx: &SignedTransferListTx) -> Result<(), Refused> {
    let domain = transfer_domain(client.chain_id(), thread.registry, Felt::from(thread.thread_id), tx.token);
    zkthread_sig::verify(&tx.key, &tx.message_in(domain), &tx.signature).map_err(Refused::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> KeyCommitment {
        KeyCommitment::from_u32([n, n + 1, n + 2, n + 3]).unwrap()
    }

    /// A transfer or a list changed after signing is refused for its signature before the node
    /// is asked anything: the reader points at a closed port, where a read fails with a chain
    /// error (what the honest messages meet, so the order shows). Once the honest one is queued,
    /// posting it again is answered with the stored message, also without the node (F11).
    #[tokio::test]
    async fn a_forged_message_is_refused_and_a_queued_one_answered_before_the_node_is_asked() {
        use zkthread_token::SignedPublicInput;
        let (token, alice, bob) = (Felt::from(0x70c3u64), Felt::from(0xa11ceu64), Felt::from(0xb0bu64));
        let chain_id = Felt::from(0x534e5f5345504f4c4941u128);
        let thread = ThreadKey::new(Felt::from(0x100u64), 3);
        let header = SignedPublicInput {
            os_version: Felt::ONE,
            program_hash: Felt::TWO,
            chain_id,
            registry: thread.registry,
            thread_id: Felt::from(thread.thread_id),
            sequence: Felt::ZERO,
            contract_set_commitment: Felt::THREE,
            transactions: zkthread_sig::TxListCommitment::EMPTY,
            inputs: vec![],
            outputs: vec![],
        };
        let client = zkthread_client::ChainClient::with_chain_id("http://127.0.0.1:1".parse().unwrap(), Felt::ONE, Felt::ONE, chain_id);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let seed = zkthread_sig::wots::KeySeed::from_u32([1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let transfer = zkthread_prover::model::Transfer { token, from: alice, to: bob, amount: 100 };
        let honest = SignedTransferTx::sign(transfer, 0, &seed, 0, &header).unwrap();
        let forged = SignedTransferTx { amount: 101, ..honest.clone() };
        let refused = admit(client.reader(), &store, thread, &[token], &forged).await.map(|_| ()).unwrap_err();
        assert!(matches!(refused, SubmitError::Refused(Refused::BadSignature(_))), "{refused}");
        let asked = admit(client.reader(), &store, thread, &[token], &honest).await.map(|_| ()).unwrap_err();
        assert!(matches!(asked, SubmitError::Engine(EngineError::Chain { .. })), "the honest one reaches the node: {asked}");
        let stored = store.submit(thread, new_transfer(&honest)).unwrap();
        let again = admit(client.reader(), &store, thread, &[token], &honest).await.expect("the stored one");
        assert_eq!((again.message.id, again.duplicate, again.pending), (stored.id, true, 1));
        assert_eq!(store.pending(thread).unwrap().len(), 1, "nothing stored twice");
        // Batched (in a sub-block in flight, read through the store's cache of it), it is found
        // the same way, by the service's pre-check too.
        zkthread_store::fixtures::record_placeholder_sub_block(&store, thread, 0, &[stored.clone()], (1, 1), None).unwrap();
        for _ in 0..2 {
            let again = queued_transfer_duplicate(&store, thread, &honest).unwrap().expect("the batched one");
            assert_eq!((again.message.id, again.duplicate, again.pending), (stored.id, true, 0));
        }
        // The same nonce and key over another receiver is not that message: it reaches the node.
        let other = SignedTransferTx::sign(zkthread_prover::model::Transfer { to: Felt::from(0xcafeu64), ..transfer }, 0, &seed, 0, &header).unwrap();
        let asked = admit(client.reader(), &store, thread, &[token], &other).await.map(|_| ()).unwrap_err();
        assert!(matches!(asked, SubmitError::Engine(EngineError::Chain { .. })), "{asked}");

        // A thread holds one program's messages: the lists go to a store of their own.
        let list_dir = tempfile::tempdir().unwrap();
        let lists = Store::open(list_dir.path()).unwrap().program::<NewTransferList>();
        let honest = SignedTransferListTx::sign(token, alice, vec![(bob, 5), (bob, 6)], 0, &seed, 1, &header).unwrap();
        let forged = SignedTransferListTx { transfers: vec![(bob, 5), (bob, 7)], ..honest.clone() };
        let refused = admit_list(client.reader(), &lists, thread, &[token], &forged).await.map(|_| ()).unwrap_err();
        assert!(matches!(refused, SubmitError::Refused(Refused::BadSignature(_))), "{refused}");
        // An amount a list cannot carry is refused by its item, before the signature.
        let huge = SignedTransferListTx { transfers: vec![(bob, 5), (bob, LIST_AMOUNT_LIMIT)], ..honest.clone() };
        let refused = admit_list(client.reader(), &lists, thread, &[token], &huge).await.map(|_| ()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!("list item 1: amount {LIST_AMOUNT_LIMIT} is 2^120 or more, which a list cannot carry: send it as a single transfer")
        );
        let asked = admit_list(client.reader(), &lists, thread, &[token], &honest).await.map(|_| ()).unwrap_err();
        assert!(matches!(asked, SubmitError::Engine(EngineError::Chain { .. })), "the honest list reaches the node: {asked}");
        let stored = lists.submit(thread, new_transfer_list(&honest)).unwrap();
        let again = admit_list(client.reader(), &lists, thread, &[token], &honest).await.expect("the stored list");
        assert_eq!((again.message.id, again.duplicate), (stored.id, true));
    }

    fn queued(id: u64, nonce: u32) -> QueuedAuth {
        QueuedAuth { id, nonce, key: key(nonce).to_u32(), next_key: key(nonce + 1).to_u32(), transfers: 1 }
    }

    /// 0 and every felt from 2^251 up are refused as receivers; the last contract address
    /// below 2^251 and an ordinary one pass.
    #[test]
    fn receivers_no_account_can_be_are_refused() {
        let bound = Felt::from_hex("0x800000000000000000000000000000000000000000000000000000000000000").unwrap();
        for bad in [Felt::ZERO, bound, bound + Felt::ONE, Felt::MAX] {
            assert!(matches!(check_receiver(bad), Err(Refused::BadReceiver(to)) if to == bad), "{bad:#x}");
        }
        for good in [Felt::ONE, Felt::from(0xb0bu64), bound - Felt::ONE] {
            assert!(check_receiver(good).is_ok(), "{good:#x}");
        }
        assert_eq!(
            Refused::BadReceiver(Felt::ZERO).to_string(),
            "receiver 0x0 is not a Starknet account address (0, or not below 2^251): what it receives could never be spent"
        );
    }

    /// The queue copy read before the chain: whether or not the queued transfers settled in
    /// between, the sender's next nonce is the one after them.
    #[test]
    fn the_queue_read_first_gives_the_next_nonce_whether_or_not_it_settled_meanwhile() {
        let copy = vec![queued(2, 6), queued(1, 5)];
        // Not settled: the chain shows the nonce they start from.
        let state = advance_through(copy.clone(), (key(5), 5));
        assert_eq!((state.key, state.nonce, state.queued), (key(7), 7, 2));
        // Settled between the two reads: the chain shows them spent; they no longer chain.
        let state = advance_through(copy, (key(7), 7));
        assert_eq!((state.key, state.nonce), (key(7), 7));
        // A queued transfer that does not chain (wrong key) is skipped.
        let mut off = queued(3, 5);
        off.key = key(40).to_u32();
        assert_eq!(advance_through(vec![off], (key(5), 5)).nonce, 5);
    }

    /// A sender's queued transfers in lists count every list of its lane, pending or in a
    /// sub-block in flight, and no other sender's.
    #[test]
    fn a_senders_queued_transfers_count_its_lists_pending_and_in_flight() {
        use zkthread_store::fixtures::record_placeholder_sub_block;
        use zkthread_store::{ListedTransfer as Item, TransferAuth};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().program::<NewTransferList>();
        let thread = ThreadKey::new(Felt::from(0x99u64), 1);
        let (token, alice, bob) = (Felt::ONE, Felt::from(10u8), Felt::from(11u8));
        let list = |from: Felt, n: usize| NewTransferList {
            token,
            from,
            transfers: vec![Item { to: Felt::from(50u8), amount: 1 }; n],
            auth: TransferAuth { nonce: 0, key: [0; 4], next_key: [0; 4], signature: vec![] },
        };
        let first = store.submit(thread, list(alice, 300)).unwrap();
        store.submit(thread, list(bob, 900)).unwrap();
        store.submit(thread, list(alice, 20)).unwrap();
        let queued_transfers = |from| queued_state(&store, thread, token, from, (KeyCommitment::NONE, 0)).unwrap().queued_transfers;
        assert_eq!(queued_transfers(alice), 320);
        record_placeholder_sub_block(&store, thread, 0, &[first], (1, 1), None).unwrap();
        assert_eq!(queued_transfers(alice), 320, "in flight still counts");
        assert_eq!(queued_transfers(bob), 900);
        let other_token = queued_state(&store, thread, Felt::TWO, alice, (KeyCommitment::NONE, 0)).unwrap();
        assert_eq!((other_token.queued, other_token.queued_transfers), (0, 0), "another token's lane");
        let alone = Refused::ListOverSenderCap { transfers: 1_025 };
        assert!(alone.to_string().ends_with("(at most 1024): split it"), "{alone}");
        let full = Refused::SenderTransfersFull { queued: 900, adding: 200 };
        assert!(full.to_string().contains("900 transfers queued here in lists; with these 200 it would pass 1024"), "{full}");
    }

    /// One sender cannot fill the queue: its 65th queued transfer is refused, with the count.
    #[test]
    fn a_sender_with_a_full_lane_is_refused_until_it_drains() {
        let lane: Vec<QueuedAuth> = (0..MAX_QUEUED_PER_SENDER as u32).map(|n| queued(n.into(), 5 + n)).collect();
        let full = advance_through(lane.clone(), (key(5), 5));
        assert_eq!((full.queued, full.nonce), (64, 69));
        let refused = room_for_one_more(&full).unwrap_err();
        assert!(matches!(refused, Refused::SenderQueueFull { queued: 64 }));
        assert!(refused.to_string().contains("64 transfers queued here (at most 64)"), "{refused}");
        let one_settled = advance_through(lane[1..].to_vec(), (key(6), 6));
        assert!(room_for_one_more(&one_settled).is_ok());
    }
}
