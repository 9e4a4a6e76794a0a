//! Thread support for Starknet contracts.
//!
//! A contract joins zkThreads by embedding [`ThreadReadyComponent`]: it then lets the thread
//! registry (and only the registry) read and write its raw storage slots, only for threads the
//! registry confirms the contract belongs to, and only under programs the contract accepts
//! (`IThreadConsent`: its deployer sets them, its owner may change them), and for a program
//! that reads authority from another member's storage only beside peers the owner lists
//! (`IThreadPeers`: the order book's program, whose fills read resting orders from the book,
//! must be accepted so by every token). A contract whose
//! thread transactions are signed (every program's are) also embeds [`ThreadKeysComponent`]:
//! each account's thread key, in the contract its signatures act on. The interfaces the
//! registry, the verifier programs and thread-ready contracts speak to each other live in
//! [`interface`].

pub mod errors;
pub mod interface;
pub mod thread_keys;
pub mod thread_ready;

pub use thread_keys::ThreadKeysComponent;
pub use thread_ready::ThreadReadyComponent;

#[cfg(test)]
mod tests;
