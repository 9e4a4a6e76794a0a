//! The verifier of the zkthreads token-transfer AIR: the program-specific half of the stwo
//! verifier on top of `stark_verifier`. `generated_air` and `generated_params` are generated
//! from the Rust AIR by `harness/air-codegen` (never edited by hand); `statement` recomputes the
//! LogUp boundary from the public lists; `proof` decodes the calldata; `verifier` replays the
//! transcript and runs stwo's `verify`; `contract` is the `ThreadVerifier` class: the registry
//! deploys one instance and calls it (`call_contract`), so it never runs as the registry;
//! slot binding (`statement::check_slot_owners`) refuses undeclared slots first.

pub mod oods;
pub mod lookup;
pub mod fraction;
pub mod generated_air;
pub mod generated_params;
pub mod statement;
pub mod proof;
pub mod verifier;
pub mod contract;

#[cfg(test)]
mod tests;
