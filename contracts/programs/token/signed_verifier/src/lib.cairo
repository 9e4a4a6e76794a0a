//! The verifier of signed thread transfers (`docs/signed-transfers.md`), the token program's
//! half on top of the framework's verifier core (`program_verifier`): `statement`, the
//! binding of every input slot to `balances[owner]` / `thread_keys[owner]` of its contract, and
//! the `StateRelation` boundary sum the proof's rows must have — all bit for bit
//! `zkthread_prover::statement` / `zkthread_token::statement` (checked by vectors the Rust side
//! generates); `verifier`, the token program as the core sees it and the full stwo verify of
//! a signed proof (`verify_signed_proof`, the prover's `verify_signed`); `contract`, the class
//! `SignedVerifier`.

pub mod statement;
pub mod verifier;
pub mod generated_params;
pub mod generated_air_class;
pub mod contract;

#[cfg(test)]
mod tests;
