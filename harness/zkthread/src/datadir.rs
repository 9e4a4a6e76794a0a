//! The data directory (`--data-dir`, `ZKTHREAD_DATA_DIR`, default `./.zkthread`) holding the
//! batcher's store, and which thread a command works on. Conversions between stored records
//! and what the prover and the registry take are the engine's (`zkthread_engine::codec`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use zkthread_client::Felt;
use zkthread_engine::program::TokenProgram;
use zkthread_store::{MessageBody, NewTransfer, NewTransferList, Store, ThreadKey};

pub use zkthread_engine::codec::{new_transfer, settlement};

use crate::chain::felt_arg;

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = ".zkthread";

/// The thread a batcher command works on.
#[derive(Args, Debug, Clone)]
pub struct ThreadArgs {
    /// Address of the ThreadRegistry (printed by `zkthread deploy`).
    #[arg(long, env = "ZKTHREAD_REGISTRY", value_parser = felt_arg)]
    pub registry: Felt,
    /// Thread id (printed by `zkthread thread create`).
    #[arg(long = "thread")]
    pub thread_id: u64,
}

impl ThreadArgs {
    pub fn key(&self) -> ThreadKey {
        ThreadKey::new(self.registry, self.thread_id)
    }
}

/// Opens (creating) the batcher database in `data_dir`.
pub fn open_store(data_dir: &Path) -> Result<Store> {
    Store::open(data_dir)
        .with_context(|| format!("opening the data directory {}", data_dir.display()))
}

/// The token program of the thread's messages in this data directory (the signed program
/// while it holds none): the message type `batch`, `prove` and `settle` read the thread with.
pub fn stored_program(store: &Store, key: ThreadKey) -> Result<TokenProgram> {
    match store.program_of(key)?.as_deref() {
        None => Ok(TokenProgram::Signed),
        Some(NewTransfer::PROGRAM) => Ok(TokenProgram::Signed),
        Some(NewTransferList::PROGRAM) => Ok(TokenProgram::List),
        Some(other) => bail!(
            "thread {} holds {other} messages in this data directory, not token transfers (an order book's: `zkthread book ...`)",
            key.thread_id
        ),
    }
}
