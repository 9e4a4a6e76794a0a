//! AIR-independent pieces of a Circle-STARK verifier, bit-for-bit compatible with stwo 2.3:
//! M31/CM31/QM31 fields, circle points and cosets, the Poseidon252 channel (Fiat-Shamir,
//! proof of work, query draws), the Poseidon252 Merkle verifiers, evaluation domains, FRI
//! (commit, query sampling, decommitment) and the PCS quotient answers.

pub mod fields;
pub mod circle;
pub mod channel;
pub mod merkle;
pub mod poly;
pub mod fri;
pub mod pcs;

#[cfg(test)]
mod tests;
