//! The token list program's constraint evaluation at the OODS point (one signature per list of
//! a sender's transfers, `docs/signed-transfers.md` "Signed transfer lists"), deployed as its
//! own class `air_class::ListAir`, which the list program's verifier library-calls
//! (`docs/thread-programs.md`, "The Cairo verifier: one core, a class per program").
//!
//! `generated_air` is generated from the Rust AIR (`zkthread_token::list_prover::
//! SignedListProgram`) by `harness/air-codegen` (never edited by hand): the list head and item
//! roles, the authorization roles and the range table as straight-line code, Poseidon2 by the
//! framework's `program_air::poseidon2`. The tests check every component, and the whole
//! composition, against stwo's evaluation at random points.

pub mod generated_air;
pub mod air_class;

#[cfg(test)]
mod tests;
