//! `ThreadRegistry`: creates threads and settles their sub-blocks.
//!
//! The owner vets OS versions and programs; registering a program deploys the one instance of
//! its verifier class that settlements call. Anyone may create a thread over thread-ready
//! contracts that all accept its program.
//!
//! Settling a sub-block checks, in this order and with one revert reason each: the thread
//! exists, is active and accepts the caller as prover; the sequence number is the next one; the
//! input and output slot lists are sorted and touch only the thread's contracts; every input
//! equals current storage; the thread program's verifier accepts the proof for the public input.
//! Only then are the outputs written, the sequence bumped and the state diff emitted: as
//! `SubBlockSettled` events keyed by thread and sequence (at most 96 named `SettledSlot`
//! entries each), then one `SubBlockSettledSummary` (prover, counts, public-input hash).

pub mod errors;
pub mod interface;
pub mod registry;

pub use registry::ThreadRegistry;

#[cfg(test)]
mod tests;
