//! The signed-transfer AIR's constraint evaluation at the OODS point (the program-specific half
//! of the signed-transfer verifier, `docs/signed-transfers.md`), deployed as its own class
//! `air_class::SignedAir`, which `SignedVerifier` library-calls (`docs/thread-programs.md`,
//! "The Cairo verifier: one core, a class per program").
//!
//! `generated_air` is generated from the Rust AIR by `harness/air-codegen` (never edited by
//! hand): the roles and the range table as straight-line code compiled from their constraint
//! programs (the arithmetic of the thread verifier's interpreter, `thread_verifier::oods::Wide`,
//! without decoding words at verification), Poseidon2 by the framework's
//! `program_air::poseidon2`. The tests check every component, and the whole composition,
//! against stwo's evaluation at random points.

pub mod generated_air;
pub mod air_class;

#[cfg(test)]
mod tests;
