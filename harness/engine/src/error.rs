//! The engine's errors: what went wrong, in the thread's terms. Hints naming a CLI command are
//! the CLI's business (the engine is driven by the CLI, the service and tests alike).

use zkthread_client::ClientError;
use zkthread_prover::serialize::DecodeError;
use zkthread_token::{SignedBatchError, SignedProveError, SignedVerifyError};
use zkthread_store::{Felt, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A node request failed; `doing` says which.
    #[error("{doing}: {source}")]
    Chain {
        doing: String,
        #[source]
        source: ClientError,
    },
    #[error("thread {thread_id} is not active in registry {registry:#x}")]
    ThreadInactive { thread_id: u64, registry: Felt },
    /// A new sub-block waits until the thread's in-flight one is proven and settled.
    #[error("thread {thread_id} already has sub-block {sequence} in flight ({status})")]
    InFlight {
        thread_id: u64,
        sequence: u64,
        status: &'static str,
    },
    /// Nothing is built ahead on a parent the pre-confirmed state says will not settle as it
    /// is, while no closed block shows why yet (`batch::StaleCheck::HeldUp`).
    #[error("sub-block {sequence} of thread {thread_id} is held up ({why}): nothing is built ahead on it")]
    ParentHeldUp {
        thread_id: u64,
        sequence: u64,
        attempt: u32,
        why: String,
    },
    /// The thread's next sequence on-chain is not the one a sub-block built ahead follows.
    #[error("thread {thread_id} is at sequence {on_chain} on-chain, not {expected}: reconcile before building ahead")]
    ThreadMoved {
        thread_id: u64,
        expected: u64,
        on_chain: u64,
    },
    /// The thread's `program_hash` is not the verifier of the program its messages are for:
    /// a proof of them would not verify there.
    #[error("thread {thread_id} runs program {program_hash:#x}{}, not the token's {expected} program ({:#x}): its {expected} messages cannot settle there", crate::program::TokenProgram::of(*.program_hash).map(|p| format!(" (the {p} program)")).unwrap_or_default(), .expected.program_hash())]
    OtherProgram {
        thread_id: u64,
        program_hash: Felt,
        expected: crate::program::TokenProgram,
    },
    /// Every pending message (transfer or list) that was looked at was refused (each is recorded with its reason).
    #[error("no sub-block built: all {} pending message(s) were rejected", .rejected.len())]
    AllRejected { rejected: Vec<RefusedMessage> },
    #[error("batching the pending transfers: {0}")]
    Batch(#[source] SignedBatchError),
    /// The data directory holds something that cannot be what the engine wrote.
    #[error("{0}")]
    Corrupt(String),
    #[error("proving the sub-block: {0}")]
    Prove(#[source] SignedProveError),
    #[error("the prover task failed: {0}")]
    ProverTask(String),
    /// The prover failed on a Built sub-block, as it would every time (it sees only the
    /// store): the sub-block ended, and its transfers are split until the one it fails on is
    /// refused (`crate::prove::round_cap`). `detail` says what was done.
    #[error("the prover failed on sub-block {sequence}: {detail}")]
    Unprovable { sequence: u64, detail: String },
    /// A proof the engine made or stored does not verify off-chain.
    #[error("{what} does not verify: {source}")]
    Verify {
        what: &'static str,
        #[source]
        source: SignedVerifyError,
    },
    #[error("the stored proof does not decode: {0}")]
    Decode(#[source] DecodeError),
    #[error("sub-block {sequence} of thread {thread_id} is not proven yet")]
    NotProven { thread_id: u64, sequence: u64 },
    /// The registry records sequence `sequence` as settled by `tx_hash`, but the node has no
    /// receipt of it in a closed block carrying that record yet: nothing was recorded.
    #[error("sequence {sequence} of thread {thread_id} was settled by tx {tx_hash:#x} (the registry's record), but the node has no final receipt of it carrying that record yet; try again")]
    SettledWithoutReceipt {
        thread_id: u64,
        sequence: u64,
        tx_hash: Felt,
    },
    /// The thread's sequence on chain passed the sub-block's, but the node shows no record of
    /// the settlement that took it: the node is behind; nothing was recorded.
    #[error("thread {thread_id}'s sequence {sequence} was taken, but the node shows no settlement record of it yet (its SubBlockSettledSummary event); try again")]
    SettlementRecordMissing { thread_id: u64, sequence: u64 },
    /// A send is recorded but the node could not be asked about it: nothing may be sent now.
    #[error("sub-block {sequence} of thread {thread_id} is {status} (the node could not be asked about its send); try again")]
    SendUnresolved {
        thread_id: u64,
        sequence: u64,
        status: &'static str,
    },
    /// A pre-settlement check failed and the settlement was not sent. `rebuild`: the state it
    /// was proven on is gone (stale inputs or sequence), so batching again is the way out.
    /// `oversize`: the one failed check is the settle calldata (its felts), above
    /// [`crate::preflight::MAX_CALLDATA_FELTS`]: only a smaller sub-block can settle.
    #[error("settle not sent: {why}")]
    PreflightBlocked { why: String, rebuild: bool, oversize: Option<usize> },
    /// Two reads of the thread's next sequence disagree (a node behind, or load-balanced over
    /// views of different ages): nothing was recorded.
    #[error("thread {thread_id}'s sequence {sequence} read as taken, then as open: the node is behind; try again")]
    SequenceUnsettled { thread_id: u64, sequence: u64 },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// `.chain("reading …")` on a node result.
pub(crate) trait ChainContext<T> {
    fn chain(self, doing: impl Into<String>) -> Result<T>;
}

impl<T> ChainContext<T> for std::result::Result<T, ClientError> {
    fn chain(self, doing: impl Into<String>) -> Result<T> {
        self.map_err(|source| EngineError::Chain {
            doing: doing.into(),
            source,
        })
    }
}

/// A pending message the batcher refused, by its id, with the reason recorded for it (any
/// program's: the store keeps the message itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedMessage {
    pub id: u64,
    pub reason: String,
}
