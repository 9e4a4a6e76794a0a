//! The verifier of the zkthreads token-transfer AIR: the program-specific half of the stwo
//! verifier. `generated_air` (generated from the Rust AIR by `harness/air-codegen`) evaluates
//! the constraints at the OODS point; `oods` and `lookup` are the AIR-independent helpers it
//! calls.

pub mod oods;
pub mod lookup;
pub mod generated_air;

#[cfg(test)]
mod tests;
