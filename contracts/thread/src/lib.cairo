//! Thread support for Starknet contracts.
//!
//! A contract joins zkThreads by embedding [`ThreadReadyComponent`]: it then lets the thread
//! registry (and only the registry) read and write its raw storage slots, only for threads the
//! registry confirms the contract belongs to, and only under programs the contract accepts
//! (`IThreadConsent`: its deployer sets them, its owner may change them). The interfaces the
//! registry, the verifier programs and thread-ready contracts speak to each other live in
//! [`interface`].

pub mod errors;
pub mod interface;
pub mod thread_ready;

pub use thread_ready::ThreadReadyComponent;

#[cfg(test)]
mod tests;
