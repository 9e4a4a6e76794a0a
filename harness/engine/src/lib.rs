//! The batcher engine of zkthreads: one thread's pending signed messages → a sub-block
//! ([`batch`]) → a Stwo proof verified off-chain ([`prove`]) → one `settle` transaction on the
//! registry, sent exactly once ([`settle`]), with [`reconcile`] bringing the store back in line
//! with the chain after any crash.
//!
//! Any thread program: the store keeps a program's messages (`zkthread_store::MessageBody`)
//! and [`settle`], [`reconcile`] and [`batch::abandon_if_stale`] are generic over the message
//! type ([`program::ProgramMessage`] names the program and verifies its stored proof). The
//! token's [`batch`] and [`prove`] take either of its programs ([`token::TokenMessage`]:
//! single signed transfers, or signed lists); the order book's are [`orderbook::pipeline`].
//!
//! The CLI (`zkthread batch|prove|settle`), the service and a user's own tests drive the same
//! functions. Each takes the batcher's [`Store`](zkthread_store::Store) and the
//! [`ThreadKey`](zkthread_store::ThreadKey) it works on, a node client where it needs one
//! (reading for `batch`, the prover's account for `settle`; `prove` needs none) and an
//! [`Observer`] for progress.
//!
//! # What the engine trusts
//! Nothing it is handed: a pending transfer is batched only if its signature verifies under
//! the sender's key on-chain and its nonce is the next one; a stored sub-block is rebuilt from
//! its transfers and must give exactly its lists before it is proven; a proof is stored only
//! after it verifies off-chain, and `settle` checks it again (with the input slots, the
//! sequence, the verifier class and the calldata size) before paying for a transaction. The
//! registry checks all of it again on-chain; the engine's checks only keep an honest prover
//! from paying for a doomed settlement.
//!
//! # Exactly once
//! Every state change is one store transaction. `settle` records `Sending{hash, nonce}` before
//! it broadcasts, so a crash between the two is found by the next [`reconcile`], which looks up
//! every hash a sub-block was ever sent under before anything is sent again; the registry takes
//! one settlement per sequence, so a second send of a settled sub-block could only revert.

pub mod adaptive;
pub mod batch;
pub mod codec;
pub mod error;
pub mod isolation;
mod generated_verifier_classes;
pub mod observer;
pub mod orderbook;
pub mod preflight;
pub mod program;
pub mod prove;
pub mod reconcile;
pub mod settle;
pub mod submit;
pub mod token;

pub use batch::{batch, batch_ahead, BatchOutcome, Built, Limits};
pub use error::{EngineError, Result};
pub use observer::{Checkpoint, Logged, Observer};
pub use prove::{prove, prove_at, ProveOutcome, Proved};
pub use reconcile::{reconcile, Reconciled};
pub use settle::{settle, Sent, SettleOptions, SettleOutcome};
pub use submit::{
    admit, admit_list, check_receiver, is_account_address, queued_list_duplicate, queued_state, queued_transfer_duplicate, sender_state,
    thread_contracts, verify_signature, Refused,
    Admitted, SenderState, SubmitError, MAX_QUEUED_PER_SENDER, MAX_QUEUED_TRANSFERS_PER_SENDER,
};

use zkthread_client::Felt;

/// `0x...` form of a felt.
pub fn hex(felt: Felt) -> String {
    format!("{felt:#x}")
}

/// The registry's short revert string (e.g. `registry: stale input`) out of a full revert trace.
pub fn short_revert_reason(trace: &str) -> String {
    for prefix in ["registry: ", "thread: ", "token: "] {
        if let Some(start) = trace.find(prefix) {
            let rest = &trace[start..];
            let end = rest
                .find(|c: char| c == '\'' || c == '"' || c == '\n' || c == ')' || c == ',')
                .unwrap_or(rest.len());
            return rest[..end].trim().to_owned();
        }
    }
    trace.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reason_is_cut_from_a_nested_trace() {
        let trace = "Transaction execution has failed:\n0: Error in the called contract (0x1):\nExecution failed. Failure reason:\n(0x7265 ('registry: stale input'), 0x454e ('ENTRYPOINT_FAILED')).\n";
        assert_eq!(short_revert_reason(trace), "registry: stale input");
        assert_eq!(short_revert_reason("plain failure\nmore"), "plain failure");
    }
}
