//! The order book's AIR constraint evaluation at the OODS point (the program-specific half of
//! the order book's verifier, `docs/thread-programs.md`, "The Cairo verifier: one core, a class
//! per program").
//!
//! `generated_air` is generated from the Rust AIR by `harness/air-codegen` (never edited by
//! hand) over the components the framework's driver builds for `OrderBookProgram`: the fill,
//! place and cancel roles, the four authorization roles and the range table as constraint
//! programs run by the thread verifier's interpreter (`thread_verifier::oods`), Poseidon2 by
//! `program_air::poseidon2`'s loops. The tests check every component, and the whole
//! composition, against stwo's evaluation at random points. `air_class::OrderBookAir` deploys
//! the composition as its own class (`SignedAir`'s entry point and call format).

pub mod generated_air;
pub mod air_class;

#[cfg(test)]
mod tests;
