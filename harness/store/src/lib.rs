//! The batcher's durable state: pending transfers and sub-blocks of each thread, in an embedded
//! [redb](https://docs.rs/redb) database under a data directory.
//!
//! A thread is named by its registry address and thread id ([`ThreadKey`]). Per thread:
//! - **pending transfers**, in submission order (the batcher's input);
//! - **rejected transfers** with the batcher's reason (kept, never silently dropped);
//! - **sub-blocks**, keyed by (sequence, attempt), each with its transfers, input/output slot
//!   lists, public-input constants, proof felts and a [`SubBlockStatus`]:
//!   `Built → Proven → Sending{tx_hash, nonce} → Settled | Reverted | Stale | Superseded`.
//!
//! Every state change is one redb write transaction with immediate durability, so a process
//! stopped at any point (even `abort()`) leaves either the state before or the state after.
//! A sub-block that ended without applying anything (stale input, revert, superseded) hands its
//! transfers back to pending under their original submission numbers, so the next batch
//! rebuilds them on fresh state in the order they were sent. A transfer is therefore always in
//! exactly one place: pending, rejected, or one live or settled sub-block.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
pub use starknet_types_core::felt::Felt;

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "zkthread.redb";

/// (thread scope, submission number) → JSON [`Transfer`].
const PENDING: TableDefinition<(&str, u64), &str> = TableDefinition::new("pending");
/// (thread scope, submission number) → JSON [`Rejected`].
const REJECTED: TableDefinition<(&str, u64), &str> = TableDefinition::new("rejected");
/// (thread scope, sequence, attempt) → JSON [`SubBlock`].
const SUB_BLOCKS: TableDefinition<(&str, u64, u32), &str> = TableDefinition::new("sub_blocks");
/// (thread scope, sequence, attempt) of every Built, Proven or Sending sub-block: finding the
/// in-flight ones reads these few records, not every sub-block (and proof) ever stored.
const IN_FLIGHT: TableDefinition<(&str, u64, u32), ()> = TableDefinition::new("in_flight");
/// (thread scope, submission number) → (sequence, attempt) of the live or settled sub-block
/// holding the transfer: a transfer's status is found without reading every sub-block.
const TRANSFER_HOME: TableDefinition<(&str, u64), (u64, u32)> = TableDefinition::new("transfer_home");
/// (thread scope, `<token>/<sender>`, submission number) → JSON [`QueuedAuth`] of each signed
/// transfer that is pending or in an in-flight sub-block: what a sender has queued, read
/// without decoding the whole queue (admission asks it for every post).
const SENDER_QUEUE: TableDefinition<(&str, &str, u64), &str> = TableDefinition::new("sender_queue");
/// Counter name → value: the global submission counter, and per thread scope the number of
/// settled sub-blocks (`settled/<scope>`).
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Thread scope → the program whose messages it holds ([`MessageBody::PROGRAM`]); threads
/// written before it existed are token threads and are tagged on their next write.
const THREAD_PROGRAM: TableDefinition<&str, &str> = TableDefinition::new("thread_program");
/// (thread scope, name) → a program's own JSON about a thread that no message carries (the
/// order book's orders known from a client's earlier queue file).
const THREAD_NOTES: TableDefinition<(&str, &str), &str> = TableDefinition::new("thread_notes");
const NEXT_TRANSFER_ID: &str = "next_transfer_id";
/// Set once `IN_FLIGHT`, `TRANSFER_HOME`, `SENDER_QUEUE` and the settled counters cover every
/// record
/// (databases written before they existed are indexed when first opened).
const INDEXED: &str = "indexes_v2";

fn settled_counter(scope: &str) -> String {
    format!("settled/{scope}")
}

/// Per thread scope: the settled count when a settle transaction last reverted on a stale
/// input (absent: none recorded; databases from before it start without one).
fn stale_revert_counter(scope: &str) -> String {
    format!("stale_revert/{scope}")
}

/// The thread's settled count, and how many of them came after its last stale revert.
fn settled_since_stale_revert(counters: &impl ReadableTable<&'static str, u64>, scope: &str) -> Result<(u64, Option<u64>)> {
    let read = |name: String| -> Result<Option<u64>> { Ok(counters.get(name.as_str()).map_err(db_error)?.map(|v| v.value())) };
    let settled = read(settled_counter(scope))?.unwrap_or(0);
    Ok((settled, read(stale_revert_counter(scope))?.map(|at| settled.saturating_sub(at))))
}

/// The sender lane of a token transfer: its key slot lives in `token`, under `from`.
pub fn sender_key(token: Felt, from: Felt) -> String {
    format!("{token:#x}/{from:#x}")
}

/// What the store needs to know about a thread program's message: it is kept as JSON, and a
/// signed one names the sender lane (whose key slot its nonce consumes) and its authorization,
/// which admission reads back for every new message ([`Store::queued_in_lane`]). The token's
/// transfers ([`NewTransfer`]) are one implementation; a program's own message type is
/// another (the order book's signed orders). A thread's records all have its program's type:
/// reading them as another type fails as a corrupt record, never as another message.
pub trait MessageBody: Clone + std::fmt::Debug + PartialEq + Serialize + serde::de::DeserializeOwned + Send + Sync {
    /// The sender lane and the authorization of a signed message; `None` for an unsigned one
    /// (nothing queued for admission to read).
    fn lane(&self) -> Option<(String, LaneAuth)>;

    /// The program's name, recorded for each thread with its first message: a thread's
    /// records are never read or written as another program's ([`StoreError::OtherProgram`]).
    const PROGRAM: &'static str;
}

/// A signed message's authorization as a lane records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneAuth {
    pub nonce: u32,
    pub key: [u32; 4],
    pub next_key: [u32; 4],
    /// Transfers the message carries (a list's length; 1 for any other message): what a
    /// service's cap on one sender's queued transfers counts without decoding its messages.
    pub transfers: usize,
}

impl MessageBody for NewTransfer {
    const PROGRAM: &'static str = "token";

    fn lane(&self) -> Option<(String, LaneAuth)> {
        let auth = self.auth.as_ref()?;
        Some((
            sender_key(self.token, self.from),
            LaneAuth { nonce: auth.nonce, key: auth.key, next_key: auth.next_key, transfers: 1 },
        ))
    }
}

/// Adds (or with `queued == false` removes) `message` in its sender's lane.
fn set_queued<M: MessageBody>(
    queue: &mut redb::Table<(&str, &str, u64), &str>,
    scope: &str,
    message: &Message<M>,
    queued: bool,
) -> Result<()> {
    let Some((lane, auth)) = message.body.lane() else {
        return Ok(());
    };
    if queued {
        let json = serde_json::to_string(&QueuedAuth {
            id: message.id,
            nonce: auth.nonce,
            key: auth.key,
            next_key: auth.next_key,
            transfers: auth.transfers,
        })?;
        queue
            .insert((scope, lane.as_str(), message.id), json.as_str())
            .map_err(db_error)?;
    } else {
        queue
            .remove((scope, lane.as_str(), message.id))
            .map_err(db_error)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<redb::DatabaseError>,
    },
    #[error("database: {0}")]
    Db(#[from] Box<redb::Error>),
    #[error("corrupt record in the database: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("thread {thread} already has sub-block {sequence} in flight ({status}); prove and settle it first")]
    InFlight {
        thread: u64,
        sequence: u64,
        status: String,
    },
    #[error("no sub-block {sequence}/{attempt} for thread {thread}")]
    NoSuchSubBlock {
        thread: u64,
        sequence: u64,
        attempt: u32,
    },
    #[error("sub-block {sequence} of thread {thread} is {actual}, expected {expected}")]
    WrongStatus {
        thread: u64,
        sequence: u64,
        actual: String,
        expected: &'static str,
    },
    #[error("transfer {0} is not pending for this thread")]
    NotPending(u64),
    #[error("thread {thread} holds {holds} messages, not {asked} messages: use the {holds} program's commands")]
    OtherProgram {
        thread: u64,
        holds: String,
        asked: &'static str,
    },
    #[error("the batch has no accepted message and changes nothing")]
    EmptyBatch,
    #[error("sub-block {sequence} of thread {thread} can only be built ahead on sub-block {parent} (attempt {parent_attempt}) while that one is proven or sending and has no other built ahead")]
    NotAhead {
        thread: u64,
        sequence: u64,
        parent: u64,
        parent_attempt: u32,
    },
    #[error("sub-block {sequence} of thread {thread} was built on sub-block {parent}, which is {status}: it can be sent only once that one is settled")]
    ParentNotSettled {
        thread: u64,
        sequence: u64,
        parent: u64,
        status: String,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Every redb error type converts into `redb::Error`; box it so `StoreError` stays small.
fn db_error<E: Into<redb::Error>>(error: E) -> StoreError {
    StoreError::Db(Box::new(error.into()))
}

/// A thread of a registry: the scope of pending transfers and sub-blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadKey {
    pub registry: Felt,
    pub thread_id: u64,
}

impl ThreadKey {
    pub fn new(registry: Felt, thread_id: u64) -> Self {
        Self {
            registry,
            thread_id,
        }
    }

    /// The table key prefix: `0x<registry>/<thread>`.
    fn scope(&self) -> String {
        format!("{:#x}/{}", self.registry, self.thread_id)
    }
}

/// A token transfer as submitted to the batcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransfer {
    pub token: Felt,
    pub from: Felt,
    pub to: Felt,
    /// Decimal string in JSON (u128 does not survive every JSON reader).
    #[serde(with = "u128_string")]
    pub amount: u128,
    /// The sender's authorization (its thread-key signature), absent only in records written
    /// before transfers were signed: the batcher refuses those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<TransferAuth>,
}

/// One transfer of a signed list: its receiver and amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedTransfer {
    pub to: Felt,
    /// Decimal string in JSON.
    #[serde(with = "u128_string")]
    pub amount: u128,
}

/// A list of token transfers its sender signed once, as submitted to the batcher of a thread
/// of the token's list program (`zkthread_token::list_prover`; one key step per list). The
/// store keeps the canonical M31 words of the authorization and does not interpret them;
/// `zkthread_token::list_batcher::SignedTransferListTx` is the typed form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransferList {
    pub token: Felt,
    pub from: Felt,
    /// In the order they apply.
    pub transfers: Vec<ListedTransfer>,
    pub auth: TransferAuth,
}

impl MessageBody for NewTransferList {
    const PROGRAM: &'static str = "token-lists";

    /// The same lane as the sender's single transfers: the key slot lives in `token` under `from`.
    fn lane(&self) -> Option<(String, LaneAuth)> {
        let auth = &self.auth;
        Some((
            sender_key(self.token, self.from),
            LaneAuth { nonce: auth.nonce, key: auth.key, next_key: auth.next_key, transfers: self.transfers.len() },
        ))
    }
}

/// What a signed transfer carries besides its fields: the sender's key-slot nonce it
/// consumes, the one-time key it is signed under, the key the slot rotates to, and the
/// signature. The store keeps the canonical M31 words (`< 2^31 - 1`) and does not interpret
/// them; `zkthread_token::SignedTransferTx` is the typed form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferAuth {
    pub nonce: u32,
    pub key: [u32; 4],
    pub next_key: [u32; 4],
    pub signature: Vec<u32>,
}

/// A submitted message of a thread's program; `id` is its global submission number (its place
/// in the order). Its JSON is the body's fields beside `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "M: MessageBody")]
pub struct Message<M = NewTransfer> {
    pub id: u64,
    #[serde(flatten)]
    pub body: M,
}

/// A submitted token transfer.
pub type Transfer = Message<NewTransfer>;

/// A message the batcher refused, with its reason (`transfer` in JSON, as records written
/// when the store held transfers only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "M: MessageBody")]
pub struct Rejected<M = NewTransfer> {
    #[serde(rename = "transfer")]
    pub message: Message<M>,
    pub reason: String,
}

/// `(contract, key, value)` of one storage slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotEntry {
    pub contract: Felt,
    pub key: Felt,
    pub value: Felt,
}

/// Where a sub-block is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SubBlockStatus {
    /// Batched against on-chain state; not proven yet.
    Built,
    /// Proven and verified off-chain; proof felts stored.
    Proven,
    /// A `settle` transaction with this hash and nonce was (or was about to be) broadcast.
    /// Recorded *before* broadcasting so a restart can look it up.
    Sending { tx_hash: Felt, nonce: Felt },
    /// The settle transaction succeeded: outputs applied on-chain. `fee_fri`: what the prover
    /// paid (absent in records written before it was kept).
    Settled {
        tx_hash: Felt,
        block: u64,
        #[serde(default, with = "opt_u128_string", skip_serializing_if = "Option::is_none")]
        fee_fri: Option<u128>,
    },
    /// The settle transaction reverted for a reason other than a stale input (nothing applied);
    /// transfers handed back to pending.
    Reverted { tx_hash: Felt, reason: String },
    /// An input no longer equals on-chain storage (reverted as stale, or found stale before
    /// sending); transfers handed back to pending.
    Stale {
        tx_hash: Option<Felt>,
        reason: String,
    },
    /// Another settlement took this sequence on-chain; transfers handed back to pending.
    Superseded { next_sequence: u64 },
}

impl SubBlockStatus {
    /// Built, Proven or Sending: the thread's current sub-block, which blocks a new batch.
    pub fn in_flight(&self) -> bool {
        matches!(self, Self::Built | Self::Proven | Self::Sending { .. })
    }

    /// Ended without applying anything: its transfers are back in pending.
    pub fn handed_back(&self) -> bool {
        matches!(
            self,
            Self::Reverted { .. } | Self::Stale { .. } | Self::Superseded { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Built => "built",
            Self::Proven => "proven",
            Self::Sending { .. } => "sending",
            Self::Settled { .. } => "settled",
            Self::Reverted { .. } => "reverted",
            Self::Stale { .. } => "stale",
            Self::Superseded { .. } => "superseded",
        }
    }
}

/// One settle transaction broadcast (or about to be) for a sub-block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAttempt {
    pub tx_hash: Felt,
    pub nonce: Felt,
}

/// A sub-block's transaction-list commitment as stored (and as `settle` takes it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxListRecord {
    pub count: u32,
    pub commitment: Felt,
}

/// What the batcher produced, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "M: MessageBody")]
pub struct NewSubBlock<M = NewTransfer> {
    /// The thread's on-chain next sequence when batched.
    pub sequence: u64,
    /// The chain the thread lives on (part of the domain every signature covers).
    #[serde(default)]
    pub chain_id: Felt,
    pub os_version: Felt,
    pub program_hash: Felt,
    pub contract_set_commitment: Felt,
    /// Accepted messages, in the order they apply (ids from the pending list; `transfers` in
    /// JSON).
    #[serde(rename = "transfers")]
    pub messages: Vec<Message<M>>,
    /// What the proof commits to about `transfers` and `settle` passes on: their count and
    /// ordered-list commitment (`zkthread_sig::TxListCommitment::to_felts`). Records written
    /// before the commitment existed read as `(0, 0)`, which no signed proof is for.
    #[serde(default)]
    pub transactions: TxListRecord,
    pub inputs: Vec<SlotEntry>,
    pub outputs: Vec<SlotEntry>,
    /// Set when the sub-block was built ahead: on the outputs of sub-block `sequence - 1`
    /// (this attempt of it) while that one was still on its way to settle. It is sent only
    /// once that one is settled, and it ends with it if that one ends without applying
    /// anything (its inputs were that one's outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_attempt: Option<u32>,
    /// The latest closed block once its inputs were read (None in records written before
    /// this field existed). The stale check judges its inputs only on a later closed block:
    /// one that includes the pre-confirmed state they were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_block_at_build: Option<u64>,
}

/// A stored sub-block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "M: MessageBody")]
pub struct SubBlock<M = NewTransfer> {
    pub thread_id: u64,
    /// Rebuilds of the same sequence (after a stale one) count up from 0.
    pub attempt: u32,
    #[serde(flatten)]
    pub body: NewSubBlock<M>,
    pub proof: Option<Vec<Felt>>,
    /// Every settle transaction ever recorded for it (a restart checks all of them, so one
    /// mined late is still found).
    pub sends: Vec<SendAttempt>,
    pub status: SubBlockStatus,
}

impl<M> SubBlock<M> {
    pub fn sequence(&self) -> u64 {
        self.body.sequence
    }
}

/// The database, seen as the store of one thread program's messages (`M`; the token's
/// transfers by default). One process at a time may open the file (redb locks it); the
/// handles of other programs share the open database ([`Store::program`]).
pub struct Store<M = NewTransfer> {
    db: Arc<Database>,
    path: PathBuf,
    /// The messages of in-flight sub-blocks [`Store::lane_queue`] read, by (thread scope,
    /// sequence, attempt), shared by clones. A recorded sub-block's messages never change
    /// (another batch of the sequence is another attempt), so each is decoded once, not on
    /// every admission; entries go once their sub-block is no longer in flight.
    in_flight_messages: Arc<Mutex<BTreeMap<(String, u64, u32), Arc<Vec<Message<M>>>>>>,
    program: PhantomData<fn() -> M>,
}

impl<M> Clone for Store<M> {
    fn clone(&self) -> Self {
        Store {
            db: self.db.clone(),
            path: self.path.clone(),
            in_flight_messages: self.in_flight_messages.clone(),
            program: PhantomData,
        }
    }
}

impl<M> Store<M> {
    fn with_db(db: Arc<Database>, path: PathBuf) -> Self {
        Store { db, path, in_flight_messages: Default::default(), program: PhantomData }
    }

    /// The cached in-flight messages (a panic while it was held left nothing half-written).
    fn cached_in_flight(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u64, u32), Arc<Vec<Message<M>>>>> {
        self.in_flight_messages.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<M> std::fmt::Debug for Store<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let db = Database::create(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source: Box::new(source),
        })?;
        // Create the tables once so readers never see a missing table.
        let txn = db.begin_write().map_err(db_error)?;
        {
            txn.open_table(PENDING).map_err(db_error)?;
            txn.open_table(REJECTED).map_err(db_error)?;
            txn.open_table(THREAD_PROGRAM).map_err(db_error)?;
            txn.open_table(THREAD_NOTES).map_err(db_error)?;
            let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
            let mut index = txn.open_table(IN_FLIGHT).map_err(db_error)?;
            let mut homes = txn.open_table(TRANSFER_HOME).map_err(db_error)?;
            let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
            let pending = txn.open_table(PENDING).map_err(db_error)?;
            let mut counters = txn.open_table(COUNTERS).map_err(db_error)?;
            if counters.get(INDEXED).map_err(db_error)?.is_none() {
                // Built from scratch (an older database, or one indexed by an earlier layout).
                index.retain(|_, _| false).map_err(db_error)?;
                homes.retain(|_, _| false).map_err(db_error)?;
                queue.retain(|_, _| false).map_err(db_error)?;
                counters
                    .retain(|name, _| !name.starts_with("settled/"))
                    .map_err(db_error)?;
                for entry in pending.iter().map_err(db_error)? {
                    let (key, value) = entry.map_err(db_error)?;
                    // Databases written before the indexes held token transfers only.
                    let transfer: Transfer = serde_json::from_str(value.value())?;
                    set_queued(&mut queue, key.value().0, &transfer, true)?;
                }
                let mut settled = BTreeMap::<String, u64>::new();
                for entry in blocks.iter().map_err(db_error)? {
                    let (key, value) = entry.map_err(db_error)?;
                    let (scope, sequence, attempt) = key.value();
                    let sub_block: SubBlock = serde_json::from_str(value.value())?;
                    if sub_block.status.in_flight() {
                        index.insert((scope, sequence, attempt), ()).map_err(db_error)?;
                        for transfer in &sub_block.body.messages {
                            set_queued(&mut queue, scope, transfer, true)?;
                        }
                    }
                    if !sub_block.status.handed_back() {
                        for transfer in &sub_block.body.messages {
                            homes
                                .insert((scope, transfer.id), (sequence, attempt))
                                .map_err(db_error)?;
                        }
                    }
                    if matches!(sub_block.status, SubBlockStatus::Settled { .. }) {
                        *settled.entry(settled_counter(scope)).or_default() += 1;
                    }
                }
                for (name, count) in settled {
                    counters.insert(name.as_str(), count).map_err(db_error)?;
                }
                counters.insert(INDEXED, 1).map_err(db_error)?;
            }
        }
        txn.commit().map_err(db_error)?;
        Ok(Self::with_db(Arc::new(db), path))
    }

    /// Whether `data_dir` holds a database (without creating one).
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(DB_FILE).is_file()
    }
}

impl<M: MessageBody> Store<M> {
    /// A read transaction on a thread of this program (refused for another program's thread).
    fn begin_read(&self, thread: ThreadKey) -> Result<redb::ReadTransaction> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let tags = txn.open_table(THREAD_PROGRAM).map_err(db_error)?;
        self.check_program(tags.get(thread.scope().as_str()).map_err(db_error)?.map(|v| v.value().to_owned()), thread)?;
        Ok(txn)
    }

    /// A write transaction on a thread of this program, which it tags with the program if it
    /// is not yet (refused for another program's thread).
    fn begin_write(&self, thread: ThreadKey) -> Result<redb::WriteTransaction> {
        let txn = self.db.begin_write().map_err(db_error)?;
        {
            let mut tags = txn.open_table(THREAD_PROGRAM).map_err(db_error)?;
            let scope = thread.scope();
            let holds = tags.get(scope.as_str()).map_err(db_error)?.map(|v| v.value().to_owned());
            if holds.is_none() {
                tags.insert(scope.as_str(), M::PROGRAM).map_err(db_error)?;
            }
            self.check_program(holds, thread)?;
        }
        Ok(txn)
    }

    fn check_program(&self, holds: Option<String>, thread: ThreadKey) -> Result<()> {
        match holds {
            Some(holds) if holds != M::PROGRAM => Err(StoreError::OtherProgram {
                thread: thread.thread_id,
                holds,
                asked: M::PROGRAM,
            }),
            _ => Ok(()),
        }
    }

    /// The program whose messages the thread holds ([`MessageBody::PROGRAM`]), if it holds any
    /// yet: how a caller picks the message type to read a thread with.
    pub fn program_of(&self, thread: ThreadKey) -> Result<Option<String>> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let tags = txn.open_table(THREAD_PROGRAM).map_err(db_error)?;
        Ok(tags.get(thread.scope().as_str()).map_err(db_error)?.map(|v| v.value().to_owned()))
    }

    /// The same database as the store of another program's messages (`N`): threads of
    /// different programs live side by side, each read with its own message type.
    pub fn program<N: MessageBody>(&self) -> Store<N> {
        Store::with_db(self.db.clone(), self.path.clone())
    }

    /// The program's note `name` about the thread ([`Store::set_note`]), if any.
    pub fn note(&self, thread: ThreadKey, name: &str) -> Result<Option<String>> {
        let txn = self.begin_read(thread)?;
        let notes = txn.open_table(THREAD_NOTES).map_err(db_error)?;
        let scope = thread.scope();
        Ok(notes.get((scope.as_str(), name)).map_err(db_error)?.map(|v| v.value().to_owned()))
    }

    /// Keeps `json` as the program's note `name` about the thread (replacing an earlier one).
    pub fn set_note(&self, thread: ThreadKey, name: &str, json: &str) -> Result<()> {
        let txn = self.begin_write(thread)?;
        {
            let mut notes = txn.open_table(THREAD_NOTES).map_err(db_error)?;
            notes.insert((thread.scope().as_str(), name), json).map_err(db_error)?;
        }
        txn.commit().map_err(db_error)?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a message (a token transfer, or another program's message) at the end of the
    /// thread's pending list; returns it with its id.
    pub fn submit(&self, thread: ThreadKey, body: M) -> Result<Message<M>> {
        self.submit_counted(thread, body).map(|(stored, _)| stored)
    }

    /// [`Store::submit`], also returning how many messages the thread has pending with this
    /// one, counted in the same write transaction: a service answers with the count, and a
    /// second read after the commit could fail and turn a stored message into an error.
    pub fn submit_counted(&self, thread: ThreadKey, body: M) -> Result<(Message<M>, usize)> {
        let txn = self.begin_write(thread)?;
        let counted = {
            let mut counters = txn.open_table(COUNTERS).map_err(db_error)?;
            let id = counters
                .get(NEXT_TRANSFER_ID)
                .map_err(db_error)?
                .map_or(1, |v| v.value());
            counters
                .insert(NEXT_TRANSFER_ID, id + 1)
                .map_err(db_error)?;
            let stored = Message { id, body };
            let mut pending = txn.open_table(PENDING).map_err(db_error)?;
            let json = serde_json::to_string(&stored)?;
            let scope = thread.scope();
            pending
                .insert((scope.as_str(), id), json.as_str())
                .map_err(db_error)?;
            let count = count_in(&pending, thread)?;
            let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
            set_queued(&mut queue, &scope, &stored, true)?;
            (stored, count)
        };
        txn.commit().map_err(db_error)?;
        Ok(counted)
    }

    /// The thread's pending messages in submission order.
    pub fn pending(&self, thread: ThreadKey) -> Result<Vec<Message<M>>> {
        self.thread_records(PENDING, thread)
    }

    /// How many transfers of the thread are pending (counted, not decoded).
    pub fn pending_count(&self, thread: ThreadKey) -> Result<usize> {
        let txn = self.begin_read(thread)?;
        count_records(&txn, PENDING, thread)
    }

    /// `weight` summed over the thread's pending messages in submission order, until the sum
    /// reaches `enough` (later messages are not read; the first always is, so 0 means nothing
    /// is pending): whether a sub-block's worth waits, without decoding a long queue on every
    /// poll.
    pub fn pending_weight(&self, thread: ThreadKey, enough: usize, weight: impl Fn(&M) -> usize) -> Result<usize> {
        let mut sum = 0;
        self.visit_pending(thread, |message| {
            sum += weight(&message.body);
            sum < enough
        })?;
        Ok(sum)
    }

    /// The oldest pending messages whose weights sum to at most `max_weight` (at least one,
    /// however heavy: a list longer than a sub-block's limit goes alone), in submission order:
    /// a sub-block's worth, without decoding the rest of the queue.
    pub fn pending_within(&self, thread: ThreadKey, max_weight: usize, weight: impl Fn(&M) -> usize) -> Result<Vec<Message<M>>> {
        let (mut taken, mut sum) = (Vec::new(), 0);
        self.visit_pending(thread, |message| {
            sum += weight(&message.body);
            if sum > max_weight && !taken.is_empty() {
                return false;
            }
            taken.push(message);
            true
        })?;
        Ok(taken)
    }

    /// Decodes the thread's pending messages in submission order, handing each to `next` until
    /// it answers `false` (the rest are not read).
    fn visit_pending(&self, thread: ThreadKey, mut next: impl FnMut(Message<M>) -> bool) -> Result<()> {
        let txn = self.begin_read(thread)?;
        let table = txn.open_table(PENDING).map_err(db_error)?;
        let scope = thread.scope();
        for entry in table.range((scope.as_str(), 0)..=(scope.as_str(), u64::MAX)).map_err(db_error)? {
            let (_, value) = entry.map_err(db_error)?;
            if !next(serde_json::from_str(value.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Transfers the batcher refused for this thread, in submission order.
    pub fn rejected(&self, thread: ThreadKey) -> Result<Vec<Rejected<M>>> {
        self.thread_records(REJECTED, thread)
    }

    /// Every record of `table` under the thread, in id (= submission) order.
    fn thread_records<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<(&str, u64), &str>,
        thread: ThreadKey,
    ) -> Result<Vec<T>> {
        let txn = self.begin_read(thread)?;
        read_records(&txn, table, thread)
    }

    /// Every sub-block of the thread, by (sequence, attempt).
    /// The attempt number [`Store::record_batch`] gives the next sub-block recorded at
    /// `sequence` (0 for the first; one more than the last attempt at it otherwise), for a
    /// caller that binds a note to that sub-block before recording it.
    pub fn next_attempt(&self, thread: ThreadKey, sequence: u64) -> Result<u32> {
        let txn = self.begin_read(thread)?;
        let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
        next_attempt_in(&blocks, &thread.scope(), sequence)
    }

    pub fn sub_blocks(&self, thread: ThreadKey) -> Result<Vec<SubBlock<M>>> {
        let txn = self.begin_read(thread)?;
        read_sub_blocks(&txn, thread, 0)
    }

    /// The thread's pending and rejected transfers and its sub-blocks as of one instant (one
    /// read transaction): a transfer is in exactly one place in it, even while a batch or an
    /// abandon moves transfers between the lists.
    pub fn snapshot(&self, thread: ThreadKey) -> Result<Snapshot<M>> {
        let txn = self.begin_read(thread)?;
        Ok(Snapshot {
            pending: read_records(&txn, PENDING, thread)?,
            rejected: read_records(&txn, REJECTED, thread)?,
            sub_blocks: read_sub_blocks(&txn, thread, 0)?,
        })
    }

    /// What `from` has queued for `token` in the thread: its signed transfers that are pending
    /// or in an in-flight sub-block, in submission order.
    pub fn queued(&self, thread: ThreadKey, token: Felt, from: Felt) -> Result<Vec<QueuedAuth>> {
        self.queued_in_lane(thread, &sender_key(token, from))
    }

    /// What is queued in a sender lane ([`MessageBody::lane`]) of the thread: its signed
    /// messages that are pending or in an in-flight sub-block, in submission order.
    pub fn queued_in_lane(&self, thread: ThreadKey, sender: &str) -> Result<Vec<QueuedAuth>> {
        // Checked like every other read: a lane of another program's thread is refused before
        // a client signs against it, not found empty.
        let txn = self.begin_read(thread)?;
        let queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
        let scope = thread.scope();
        let mut out = Vec::new();
        for entry in queue
            .range((scope.as_str(), sender, 0)..=(scope.as_str(), sender, u64::MAX))
            .map_err(db_error)?
        {
            let (_, value) = entry.map_err(db_error)?;
            out.push(serde_json::from_str(value.value())?);
        }
        Ok(out)
    }

    /// Where transfer `id` of the thread is (pending, rejected with its reason, or the live or
    /// settled sub-block holding it), read in one transaction from a few records.
    pub fn place(&self, thread: ThreadKey, id: u64) -> Result<Option<TransferPlace<M>>> {
        let txn = self.begin_read(thread)?;
        let scope = thread.scope();
        let homes = txn.open_table(TRANSFER_HOME).map_err(db_error)?;
        if let Some(home) = homes.get((scope.as_str(), id)).map_err(db_error)? {
            let (sequence, attempt) = home.value();
            let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
            let sub_block = get_sub_block(&blocks, thread, &scope, sequence, attempt)?;
            return Ok(Some(TransferPlace::SubBlock(Box::new(sub_block))));
        }
        let pending = txn.open_table(PENDING).map_err(db_error)?;
        if pending.get((scope.as_str(), id)).map_err(db_error)?.is_some() {
            return Ok(Some(TransferPlace::Pending));
        }
        let rejected = txn.open_table(REJECTED).map_err(db_error)?;
        if let Some(value) = rejected.get((scope.as_str(), id)).map_err(db_error)? {
            let record: Rejected<M> = serde_json::from_str(value.value())?;
            return Ok(Some(TransferPlace::Rejected { reason: record.reason }));
        }
        Ok(None)
    }

    /// The thread's counts and its `recent` newest sub-blocks (newest first), in one read
    /// transaction, decoding only those sub-blocks.
    pub fn overview(&self, thread: ThreadKey, recent: usize) -> Result<Overview<M>> {
        let txn = self.begin_read(thread)?;
        let scope = thread.scope();
        let pending = count_records(&txn, PENDING, thread)?;
        let rejected = count_records(&txn, REJECTED, thread)?;
        let counters = txn.open_table(COUNTERS).map_err(db_error)?;
        let (settled, since_stale_revert) = settled_since_stale_revert(&counters, &scope)?;
        let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
        let mut newest = Vec::new();
        for entry in blocks
            .range((scope.as_str(), 0, 0)..=(scope.as_str(), u64::MAX, u32::MAX))
            .map_err(db_error)?
            .rev()
            .take(recent)
        {
            let (_, value) = entry.map_err(db_error)?;
            newest.push(serde_json::from_str(value.value())?);
        }
        Ok(Overview {
            pending,
            rejected,
            settled_sub_blocks: settled as usize,
            settled_since_stale_revert: since_stale_revert,
            recent: newest,
        })
    }

    /// How many sub-blocks of the thread settled since a settle transaction last reverted on a
    /// stale input (`None`: no such revert recorded). A stale input found before sending
    /// (`Stale` without a transaction) does not count: it cost nothing.
    pub fn settled_since_stale_revert(&self, thread: ThreadKey) -> Result<Option<u64>> {
        let txn = self.begin_read(thread)?;
        let counters = txn.open_table(COUNTERS).map_err(db_error)?;
        Ok(settled_since_stale_revert(&counters, &thread.scope())?.1)
    }

    /// The thread's oldest Built, Proven or Sending sub-block: the next to settle. At most two
    /// are in flight, and then the second was built ahead on the first
    /// ([`NewSubBlock::parent_attempt`]).
    pub fn in_flight(&self, thread: ThreadKey) -> Result<Option<SubBlock<M>>> {
        Ok(self.all_in_flight(thread)?.into_iter().next())
    }

    /// Every in-flight sub-block of the thread, oldest first (none, one, or a sub-block and the
    /// one built ahead on it).
    pub fn all_in_flight(&self, thread: ThreadKey) -> Result<Vec<SubBlock<M>>> {
        let txn = self.begin_read(thread)?;
        read_in_flight(&txn, thread)
    }

    /// The messages queued in one sender lane ([`MessageBody::lane`]) of the thread, as of one
    /// instant: those in in-flight sub-blocks (oldest sub-block first, in its order), then the
    /// pending ones in submission order. Only the lane's own messages are decoded (found by
    /// the ids the lane lists), not the thread's whole queue: what one owner's admission needs.
    /// An in-flight sub-block's record is decoded once and its messages kept while it flies
    /// (one sub-block of 200 signed messages cost ~3.5 ms a read when decoded every time).
    pub fn lane_queue(&self, thread: ThreadKey, sender: &str) -> Result<Vec<Message<M>>> {
        let txn = self.begin_read(thread)?;
        let scope = thread.scope();
        let lane = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
        let homes = txn.open_table(TRANSFER_HOME).map_err(db_error)?;
        let pending = txn.open_table(PENDING).map_err(db_error)?;
        let mut in_sub_blocks: BTreeMap<(u64, u32), BTreeSet<u64>> = BTreeMap::new();
        let mut waiting = Vec::new();
        for entry in lane
            .range((scope.as_str(), sender, 0)..=(scope.as_str(), sender, u64::MAX))
            .map_err(db_error)?
        {
            let id = entry.map_err(db_error)?.0.value().2;
            if let Some(home) = homes.get((scope.as_str(), id)).map_err(db_error)? {
                in_sub_blocks.entry(home.value()).or_default().insert(id);
            } else if let Some(value) = pending.get((scope.as_str(), id)).map_err(db_error)? {
                waiting.push(serde_json::from_str(value.value())?);
            }
        }
        let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
        let index = txn.open_table(IN_FLIGHT).map_err(db_error)?;
        let mut flying = BTreeSet::new();
        for entry in index.range((scope.as_str(), 0, 0)..=(scope.as_str(), u64::MAX, u32::MAX)).map_err(db_error)? {
            let (_, sequence, attempt) = entry.map_err(db_error)?.0.value();
            flying.insert((sequence, attempt));
        }
        // This thread's sub-blocks no longer in flight as of this read leave the cache (another
        // thread's entries go on its own next read).
        self.cached_in_flight().retain(|(s, sequence, attempt), _| *s != scope || flying.contains(&(*sequence, *attempt)));
        let mut queued = Vec::new();
        for ((sequence, attempt), ids) in in_sub_blocks {
            if !flying.contains(&(sequence, attempt)) {
                continue;
            }
            let cached = self.cached_in_flight().get(&(scope.clone(), sequence, attempt)).cloned();
            let messages = match cached {
                Some(messages) => messages,
                None => {
                    let sub_block: SubBlock<M> = get_sub_block(&blocks, thread, &scope, sequence, attempt)?;
                    let messages = Arc::new(sub_block.body.messages);
                    self.cached_in_flight().insert((scope.clone(), sequence, attempt), messages.clone());
                    messages
                }
            };
            queued.extend(messages.iter().filter(|m| ids.contains(&m.id)).cloned());
        }
        queued.extend(waiting);
        Ok(queued)
    }

    /// The message stored exactly as `body` (same fields and signature) while it is queued in
    /// its lane ([`Store::lane_queue`]): what a client posting the same signed message again
    /// is answered with. `None` for an unsigned body (no lane).
    pub fn queued_copy(&self, thread: ThreadKey, body: &M) -> Result<Option<Message<M>>> {
        let Some((lane, _)) = body.lane() else {
            return Ok(None);
        };
        Ok(self.lane_queue(thread, &lane)?.into_iter().find(|queued| queued.body == *body))
    }

    /// The message stored exactly as `body` in one of the thread's `recent` latest sub-blocks
    /// that settled: what a client posting again a signed message that settled (its first
    /// answer lost) is answered with, instead of a refusal of its spent nonce that would have
    /// it sign and pay again. Bounded: a message settled before those is not found (its
    /// caller refuses it as a replay), so a post never reads the whole history.
    pub fn settled_copy(&self, thread: ThreadKey, body: &M, recent: usize) -> Result<Option<Message<M>>> {
        Ok(self
            .overview(thread, recent)?
            .recent
            .into_iter()
            .filter(|sub_block| matches!(sub_block.status, SubBlockStatus::Settled { .. }))
            .find_map(|sub_block| sub_block.body.messages.into_iter().find(|message| message.body == *body)))
    }

    /// The thread's sub-blocks from `sequence` on, by (sequence, attempt): what was recorded
    /// since a caller last looked, without reading the whole history.
    pub fn sub_blocks_from(&self, thread: ThreadKey, sequence: u64) -> Result<Vec<SubBlock<M>>> {
        let txn = self.begin_read(thread)?;
        read_sub_blocks(&txn, thread, sequence)
    }

    /// The thread's Built sub-block (the one to prove next), if any: there is at most one, as
    /// a sub-block is built ahead only on a proven one.
    pub fn built(&self, thread: ThreadKey) -> Result<Option<SubBlock<M>>> {
        Ok(self
            .all_in_flight(thread)?
            .into_iter()
            .find(|s| s.status == SubBlockStatus::Built))
    }

    /// Stores a batch in one transaction: the sub-block (Built), its transfers and the rejected
    /// ones leave pending, the rejected ones are kept with their reasons. Refuses while another
    /// sub-block of the thread is in flight — unless the new one is built ahead on it
    /// (`parent_attempt`: the only in-flight sub-block is that attempt of `sequence - 1`,
    /// proven or sending) — and if a transfer is not pending (so a transfer can never end up
    /// in two sub-blocks).
    pub fn record_batch(
        &self,
        thread: ThreadKey,
        sub_block: NewSubBlock<M>,
        rejected: Vec<Rejected<M>>,
    ) -> Result<SubBlock<M>> {
        self.record_batch_counted(thread, sub_block, rejected).map(|(stored, _)| stored)
    }

    /// [`Store::record_batch`], with the thread's pending messages it leaves counted in the same
    /// write: once the batch is stored, nothing may fail (a batcher told "error" for a recorded
    /// sub-block would report a batch that exists as not built).
    pub fn record_batch_counted(
        &self,
        thread: ThreadKey,
        sub_block: NewSubBlock<M>,
        rejected: Vec<Rejected<M>>,
    ) -> Result<(SubBlock<M>, usize)> {
        // A sub-block without messages must still change something (an order book's round of
        // fills between resting orders alone).
        if sub_block.messages.is_empty() && sub_block.outputs.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        let scope = thread.scope();
        let txn = self.begin_write(thread)?;
        let stored = {
            let mut blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
            let mut index = txn.open_table(IN_FLIGHT).map_err(db_error)?;
            let mut in_flight = Vec::new();
            for entry in index
                .range((scope.as_str(), 0, 0)..=(scope.as_str(), u64::MAX, u32::MAX))
                .map_err(db_error)?
            {
                let (key, _) = entry.map_err(db_error)?;
                if let Some(value) = blocks.get(key.value()).map_err(db_error)? {
                    in_flight.push(serde_json::from_str::<SubBlock<M>>(value.value())?);
                }
            }
            check_in_flight(thread, &sub_block, &in_flight)?;
            let attempt = next_attempt_in(&blocks, &scope, sub_block.sequence)?;
            let mut pending = txn.open_table(PENDING).map_err(db_error)?;
            for transfer in sub_block
                .messages
                .iter()
                .chain(rejected.iter().map(|r| &r.message))
            {
                if pending
                    .remove((scope.as_str(), transfer.id))
                    .map_err(db_error)?
                    .is_none()
                {
                    return Err(StoreError::NotPending(transfer.id));
                }
            }
            let still_pending = count_in(&pending, thread)?;
            let mut rejected_table = txn.open_table(REJECTED).map_err(db_error)?;
            let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
            for r in &rejected {
                let json = serde_json::to_string(r)?;
                rejected_table
                    .insert((scope.as_str(), r.message.id), json.as_str())
                    .map_err(db_error)?;
                set_queued(&mut queue, &scope, &r.message, false)?;
            }
            let stored = SubBlock {
                thread_id: thread.thread_id,
                attempt,
                body: sub_block,
                proof: None,
                sends: Vec::new(),
                status: SubBlockStatus::Built,
            };
            let json = serde_json::to_string(&stored)?;
            blocks
                .insert((scope.as_str(), stored.sequence(), attempt), json.as_str())
                .map_err(db_error)?;
            index
                .insert((scope.as_str(), stored.sequence(), attempt), ())
                .map_err(db_error)?;
            let mut homes = txn.open_table(TRANSFER_HOME).map_err(db_error)?;
            for transfer in &stored.body.messages {
                homes
                    .insert((scope.as_str(), transfer.id), (stored.sequence(), attempt))
                    .map_err(db_error)?;
            }
            (stored, still_pending)
        };
        txn.commit().map_err(db_error)?;
        Ok(stored)
    }

    /// Moves transfers the batcher refused out of pending (with their reasons) when no
    /// sub-block could be built from the rest.
    pub fn record_rejected(&self, thread: ThreadKey, rejected: Vec<Rejected<M>>) -> Result<()> {
        let scope = thread.scope();
        let txn = self.begin_write(thread)?;
        {
            let mut pending = txn.open_table(PENDING).map_err(db_error)?;
            let mut table = txn.open_table(REJECTED).map_err(db_error)?;
            let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
            for r in &rejected {
                set_queued(&mut queue, &scope, &r.message, false)?;
                if pending
                    .remove((scope.as_str(), r.message.id))
                    .map_err(db_error)?
                    .is_none()
                {
                    return Err(StoreError::NotPending(r.message.id));
                }
                let json = serde_json::to_string(r)?;
                table
                    .insert((scope.as_str(), r.message.id), json.as_str())
                    .map_err(db_error)?;
            }
        }
        txn.commit().map_err(db_error)?;
        Ok(())
    }

    /// Built → Proven with the proof felts.
    pub fn record_proof(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        proof: Vec<Felt>,
    ) -> Result<SubBlock<M>> {
        self.update(thread, sequence, attempt, |sb, _| {
            expect(sb, "built", |s| matches!(s, SubBlockStatus::Built))?;
            sb.proof = Some(proof);
            sb.status = SubBlockStatus::Proven;
            Ok(false)
        })
    }

    /// Proven → Sending{tx_hash, nonce}: call before broadcasting the transaction.
    pub fn record_sending(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        tx_hash: Felt,
        nonce: Felt,
    ) -> Result<SubBlock<M>> {
        self.update(thread, sequence, attempt, |sb, parent| {
            expect(sb, "proven", |s| matches!(s, SubBlockStatus::Proven))?;
            if let Some(parent) = parent {
                if !matches!(parent.status, SubBlockStatus::Settled { .. }) {
                    return Err(StoreError::ParentNotSettled {
                        thread: thread.thread_id,
                        sequence,
                        parent: parent.sequence(),
                        status: parent.status.name().to_owned(),
                    });
                }
            }
            sb.sends.push(SendAttempt { tx_hash, nonce });
            sb.status = SubBlockStatus::Sending { tx_hash, nonce };
            Ok(false)
        })
    }

    /// Sending (or Proven, for a send found late) → Settled: the receipt of `tx_hash`, one of
    /// its recorded sends, succeeded in `block`, charging `fee_fri`.
    pub fn record_settled(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        tx_hash: Felt,
        block: u64,
        fee_fri: u128,
    ) -> Result<SubBlock<M>> {
        let from = |s: &SubBlockStatus| matches!(s, SubBlockStatus::Sending { .. } | SubBlockStatus::Proven);
        self.settle(thread, (sequence, attempt), ("sending or proven", from), SubBlockStatus::Settled { tx_hash, block, fee_fri: Some(fee_fri) })
    }

    /// Built, Proven or Sending → Settled by a transaction this data directory did not send:
    /// the registry recorded this sub-block's own public input for its sequence, settled by its
    /// twin (a copy of this data directory that proved and sent it; for a Built one, proven
    /// there only). Its messages were applied on-chain, so they are not handed back; no fee is
    /// recorded, since whoever sent it paid. A settle of one of its own sends goes through
    /// [`Store::record_settled`].
    pub fn record_settled_elsewhere(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        tx_hash: Felt,
        block: u64,
    ) -> Result<SubBlock<M>> {
        let from = |s: &SubBlockStatus| s.in_flight();
        self.settle(thread, (sequence, attempt), ("built, proven or sending", from), SubBlockStatus::Settled { tx_hash, block, fee_fri: None })
    }

    /// `settled` for a sub-block whose status `from` accepts (`expected` names it otherwise).
    fn settle(
        &self,
        thread: ThreadKey,
        (sequence, attempt): (u64, u32),
        (expected, from): (&'static str, impl Fn(&SubBlockStatus) -> bool),
        settled: SubBlockStatus,
    ) -> Result<SubBlock<M>> {
        self.update(thread, sequence, attempt, |sb, _| {
            expect(sb, expected, from)?;
            sb.status = settled;
            Ok(false)
        })
    }

    /// Sending → Proven: no recorded send was mined and the sequence is still open, so the
    /// sub-block may be sent again.
    pub fn record_not_sent(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
    ) -> Result<SubBlock<M>> {
        self.update(thread, sequence, attempt, |sb, _| {
            expect(sb, "sending", |s| {
                matches!(s, SubBlockStatus::Sending { .. })
            })?;
            sb.status = SubBlockStatus::Proven;
            Ok(false)
        })
    }

    /// Ends a Built, Proven or Sending sub-block that applied nothing (Reverted, Stale or
    /// Superseded) and hands its transfers back to pending, in the same transaction. A
    /// sub-block built ahead on it ends with it (Stale: its inputs were this one's outputs),
    /// its transfers handed back too, so both are rebuilt in their original order.
    pub fn record_abandoned(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        status: SubBlockStatus,
    ) -> Result<SubBlock<M>> {
        assert!(
            status.handed_back(),
            "record_abandoned takes an ending status"
        );
        self.update(thread, sequence, attempt, move |sb, _| {
            expect(sb, "built, proven or sending", |s| s.in_flight())?;
            sb.status = status;
            Ok(true)
        })
    }

    /// Built or Proven → `status` (an ending one), its messages refused with `reason` instead
    /// of going back to pending, in one transaction: a sub-block the prover fails on, or whose
    /// settlement is too large to send, with the one message at fault alone. Nothing can batch
    /// that message between the two (it is never pending again), and a crash leaves either the
    /// sub-block or both done. Nothing of it was ever sent.
    pub fn record_refused(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        status: SubBlockStatus,
        reason: &str,
    ) -> Result<SubBlock<M>> {
        assert!(status.handed_back(), "record_refused takes an ending status");
        self.update_refusing(
            thread,
            sequence,
            attempt,
            move |sb, _| {
                expect(sb, "built or proven", |s| matches!(s, SubBlockStatus::Built | SubBlockStatus::Proven))?;
                sb.status = status;
                Ok(true)
            },
            Some(reason),
        )
    }

    /// Applies `change` to one sub-block (given the sub-block it was built ahead on, if any) in
    /// a write transaction; when it returns `true`, the sub-block's transfers go back to
    /// pending in the same transaction, and so does a sub-block built ahead on it, ended Stale.
    fn update(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        change: impl FnOnce(&mut SubBlock<M>, Option<&SubBlock<M>>) -> Result<bool>,
    ) -> Result<SubBlock<M>> {
        self.update_refusing(thread, sequence, attempt, change, None)
    }

    /// [`Store::update`], whose handed-back messages of the sub-block itself are refused with
    /// `refuse` as their reason when it is given (those of a sub-block built ahead on it still
    /// go back to pending).
    fn update_refusing(
        &self,
        thread: ThreadKey,
        sequence: u64,
        attempt: u32,
        change: impl FnOnce(&mut SubBlock<M>, Option<&SubBlock<M>>) -> Result<bool>,
        refuse: Option<&str>,
    ) -> Result<SubBlock<M>> {
        let scope = thread.scope();
        let key = (scope.as_str(), sequence, attempt);
        let txn = self.begin_write(thread)?;
        let updated = {
            let mut blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
            let mut sub_block = get_sub_block(&blocks, thread, &scope, sequence, attempt)?;
            let parent = match sub_block.body.parent_attempt {
                Some(parent_attempt) => Some(get_sub_block(
                    &blocks,
                    thread,
                    &scope,
                    sequence.wrapping_sub(1),
                    parent_attempt,
                )?),
                None => None,
            };
            let was_settled = matches!(sub_block.status, SubBlockStatus::Settled { .. });
            let was_stale_revert = matches!(sub_block.status, SubBlockStatus::Stale { tx_hash: Some(_), .. });
            let hand_back = change(&mut sub_block, parent.as_ref())?;
            let json = serde_json::to_string(&sub_block)?;
            blocks.insert(key, json.as_str()).map_err(db_error)?;
            let mut index = txn.open_table(IN_FLIGHT).map_err(db_error)?;
            if !sub_block.status.in_flight() {
                index.remove(key).map_err(db_error)?;
            }
            if !was_settled && matches!(sub_block.status, SubBlockStatus::Settled { .. }) {
                // Applied on-chain: the sender's key slot now carries these transfers.
                let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
                for transfer in &sub_block.body.messages {
                    set_queued(&mut queue, &scope, transfer, false)?;
                }
                let mut counters = txn.open_table(COUNTERS).map_err(db_error)?;
                let name = settled_counter(&scope);
                let count = counters.get(name.as_str()).map_err(db_error)?.map_or(0, |v| v.value());
                counters.insert(name.as_str(), count + 1).map_err(db_error)?;
            }
            if !was_stale_revert && matches!(sub_block.status, SubBlockStatus::Stale { tx_hash: Some(_), .. }) {
                let mut counters = txn.open_table(COUNTERS).map_err(db_error)?;
                let settled = counters.get(settled_counter(&scope).as_str()).map_err(db_error)?.map_or(0, |v| v.value());
                counters.insert(stale_revert_counter(&scope).as_str(), settled).map_err(db_error)?;
            }
            if hand_back {
                let mut ended = vec![sub_block.clone()];
                if let Some(mut child) = built_ahead_on(&blocks, &scope, &sub_block)? {
                    child.status = SubBlockStatus::Stale {
                        tx_hash: None,
                        reason: format!(
                            "built on sub-block {sequence} (attempt {attempt}), which ended {}",
                            sub_block.status.name()
                        ),
                    };
                    let json = serde_json::to_string(&child)?;
                    let child_key = (scope.as_str(), child.sequence(), child.attempt);
                    blocks.insert(child_key, json.as_str()).map_err(db_error)?;
                    index.remove(child_key).map_err(db_error)?;
                    ended.push(child);
                }
                let mut pending = txn.open_table(PENDING).map_err(db_error)?;
                let mut homes = txn.open_table(TRANSFER_HOME).map_err(db_error)?;
                let mut rejected = txn.open_table(REJECTED).map_err(db_error)?;
                let mut queue = txn.open_table(SENDER_QUEUE).map_err(db_error)?;
                for (index, transfer) in ended.iter().enumerate().flat_map(|(i, s)| s.body.messages.iter().map(move |m| (i, m))) {
                    homes.remove((scope.as_str(), transfer.id)).map_err(db_error)?;
                    if let (0, Some(reason)) = (index, refuse) {
                        set_queued(&mut queue, &scope, transfer, false)?;
                        let json = serde_json::to_string(&Rejected { message: transfer.clone(), reason: reason.to_owned() })?;
                        rejected.insert((scope.as_str(), transfer.id), json.as_str()).map_err(db_error)?;
                        continue;
                    }
                    // Original submission numbers: back in their place in the order.
                    let json = serde_json::to_string(transfer)?;
                    pending
                        .insert((scope.as_str(), transfer.id), json.as_str())
                        .map_err(db_error)?;
                }
            }
            sub_block
        };
        txn.commit().map_err(db_error)?;
        Ok(updated)
    }
}

/// Whether `new` may be recorded beside the thread's `in_flight` sub-blocks: none in flight
/// for an ordinary batch; exactly its parent, proven or sending, for one built ahead.
fn check_in_flight<M>(thread: ThreadKey, new: &NewSubBlock<M>, in_flight: &[SubBlock<M>]) -> Result<()> {
    match (new.parent_attempt, in_flight) {
        (None, []) => Ok(()),
        (Some(parent_attempt), [parent])
            if parent.sequence().checked_add(1) == Some(new.sequence)
                && parent.attempt == parent_attempt
                && matches!(
                    parent.status,
                    SubBlockStatus::Proven | SubBlockStatus::Sending { .. }
                ) =>
        {
            Ok(())
        }
        (Some(parent_attempt), _) => Err(StoreError::NotAhead {
            thread: thread.thread_id,
            sequence: new.sequence,
            parent: new.sequence.wrapping_sub(1),
            parent_attempt,
        }),
        (None, [existing, ..]) => Err(StoreError::InFlight {
            thread: thread.thread_id,
            sequence: existing.sequence(),
            status: existing.status.name().to_owned(),
        }),
    }
}

/// The in-flight sub-block built ahead on `parent`, if any.
fn built_ahead_on<M: MessageBody>(
    blocks: &redb::Table<(&str, u64, u32), &str>,
    scope: &str,
    parent: &SubBlock<M>,
) -> Result<Option<SubBlock<M>>> {
    let Some(next) = parent.sequence().checked_add(1) else {
        return Ok(None);
    };
    for entry in blocks
        .range((scope, next, 0)..=(scope, next, u32::MAX))
        .map_err(db_error)?
    {
        let (_, value) = entry.map_err(db_error)?;
        let candidate: SubBlock<M> = serde_json::from_str(value.value())?;
        if candidate.status.in_flight() && candidate.body.parent_attempt == Some(parent.attempt) {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

fn expect<M>(
    sub_block: &SubBlock<M>,
    expected: &'static str,
    ok: impl Fn(&SubBlockStatus) -> bool,
) -> Result<()> {
    if ok(&sub_block.status) {
        Ok(())
    } else {
        Err(StoreError::WrongStatus {
            thread: sub_block.thread_id,
            sequence: sub_block.sequence(),
            actual: sub_block.status.name().to_owned(),
            expected,
        })
    }
}

/// The authorization fields of a queued signed transfer ([`Store::queued`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedAuth {
    pub id: u64,
    pub nonce: u32,
    pub key: [u32; 4],
    pub next_key: [u32; 4],
    /// [`LaneAuth::transfers`]; 1 in a lane entry written before it was recorded (a list
    /// queued by an older version counts as one until it leaves the queue).
    #[serde(default = "one_transfer")]
    pub transfers: usize,
}

fn one_transfer() -> usize {
    1
}

/// Where a transfer is ([`Store::place`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferPlace<M = NewTransfer> {
    Pending,
    Rejected { reason: String },
    /// In a live (Built, Proven, Sending) or Settled sub-block.
    SubBlock(Box<SubBlock<M>>),
}

/// A thread at a glance ([`Store::overview`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview<M = NewTransfer> {
    pub pending: usize,
    pub rejected: usize,
    pub settled_sub_blocks: usize,
    /// [`Store::settled_since_stale_revert`], read in the same transaction.
    pub settled_since_stale_revert: Option<u64>,
    /// Newest first.
    pub recent: Vec<SubBlock<M>>,
}

/// One thread's records read in one transaction ([`Store::snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<M = NewTransfer> {
    pub pending: Vec<Message<M>>,
    pub rejected: Vec<Rejected<M>>,
    /// By (sequence, attempt).
    pub sub_blocks: Vec<SubBlock<M>>,
}

/// How many records of `table` the thread has (counted, not decoded).
fn count_records(
    txn: &redb::ReadTransaction,
    table: TableDefinition<(&str, u64), &str>,
    thread: ThreadKey,
) -> Result<usize> {
    count_in(&txn.open_table(table).map_err(db_error)?, thread)
}

/// How many records the thread has in `table` (a read or a write table).
fn count_in(table: &impl ReadableTable<(&'static str, u64), &'static str>, thread: ThreadKey) -> Result<usize> {
    let scope = thread.scope();
    let mut count = 0;
    for entry in table
        .range((scope.as_str(), 0)..=(scope.as_str(), u64::MAX))
        .map_err(db_error)?
    {
        entry.map_err(db_error)?;
        count += 1;
    }
    Ok(count)
}

/// Sub-block (sequence, attempt) of the thread, read from `blocks` (a read or a write table).
fn get_sub_block<M: MessageBody>(
    blocks: &impl ReadableTable<(&'static str, u64, u32), &'static str>,
    thread: ThreadKey,
    scope: &str,
    sequence: u64,
    attempt: u32,
) -> Result<SubBlock<M>> {
    let value = blocks
        .get((scope, sequence, attempt))
        .map_err(db_error)?
        .ok_or(StoreError::NoSuchSubBlock {
            thread: thread.thread_id,
            sequence,
            attempt,
        })?;
    Ok(serde_json::from_str(value.value())?)
}

fn read_records<T: serde::de::DeserializeOwned>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<(&str, u64), &str>,
    thread: ThreadKey,
) -> Result<Vec<T>> {
    let table = txn.open_table(table).map_err(db_error)?;
    let scope = thread.scope();
    let mut out = Vec::new();
    for entry in table
        .range((scope.as_str(), 0)..=(scope.as_str(), u64::MAX))
        .map_err(db_error)?
    {
        let (_, value) = entry.map_err(db_error)?;
        out.push(serde_json::from_str(value.value())?);
    }
    Ok(out)
}

/// The attempt the next sub-block recorded at `sequence` gets: one more than the last attempt
/// stored at it, 0 for the first (the one rule, for [`Store::record_batch`] and
/// [`Store::next_attempt`]).
fn next_attempt_in(blocks: &impl ReadableTable<(&'static str, u64, u32), &'static str>, scope: &str, sequence: u64) -> Result<u32> {
    Ok(match blocks.range((scope, sequence, 0)..=(scope, sequence, u32::MAX)).map_err(db_error)?.next_back() {
        Some(last) => last.map_err(db_error)?.0.value().2 + 1,
        None => 0,
    })
}

/// The thread's in-flight sub-blocks, oldest first (through the in-flight index).
fn read_in_flight<M: MessageBody>(txn: &redb::ReadTransaction, thread: ThreadKey) -> Result<Vec<SubBlock<M>>> {
    let index = txn.open_table(IN_FLIGHT).map_err(db_error)?;
    let blocks = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
    let scope = thread.scope();
    let mut out = Vec::new();
    for entry in index
        .range((scope.as_str(), 0, 0)..=(scope.as_str(), u64::MAX, u32::MAX))
        .map_err(db_error)?
    {
        let (key, _) = entry.map_err(db_error)?;
        let (_, sequence, attempt) = key.value();
        out.push(get_sub_block(&blocks, thread, &scope, sequence, attempt)?);
    }
    Ok(out)
}

/// The thread's sub-blocks from sequence `from` on, by (sequence, attempt).
fn read_sub_blocks<M: MessageBody>(txn: &redb::ReadTransaction, thread: ThreadKey, from: u64) -> Result<Vec<SubBlock<M>>> {
    let table = txn.open_table(SUB_BLOCKS).map_err(db_error)?;
    let scope = thread.scope();
    let mut out = Vec::new();
    for entry in table
        .range((scope.as_str(), from, 0)..=(scope.as_str(), u64::MAX, u32::MAX))
        .map_err(db_error)?
    {
        let (_, value) = entry.map_err(db_error)?;
        out.push(serde_json::from_str(value.value())?);
    }
    Ok(out)
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod opt_u128_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<u128>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::u128_string::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u128>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
