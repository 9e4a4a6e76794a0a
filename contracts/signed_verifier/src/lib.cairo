//! The verifier of signed thread transfers (`docs/signed-transfers.md`), program-specific half
//! on top of `stark_verifier`. So far: `statement`, the signed program's public input, the
//! binding of every input slot to `balances[owner]` / `thread_keys[owner]` of its contract, and
//! the `StateRelation` boundary sum the proof's rows must have — all bit for bit
//! `zkthread_prover::statement` / `zkthread_token::statement` (checked by vectors the Rust side generates); `proof`,
//! the signed proof's calldata; `verifier`, the full stwo verify of a signed proof
//! (`verify_signed_proof`, the prover's `verify_signed`).

pub mod statement;
pub mod proof;
pub mod verifier;
pub mod generated_params;
pub mod generated_air_class;
pub mod contract;

#[cfg(test)]
mod tests;
