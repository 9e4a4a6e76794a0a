//! The verifier of the token list program (one signature per list of a sender's transfers,
//! `docs/signed-transfers.md` "Signed transfer lists"; the prover's
//! `zkthread_token::list_prover::verify_list`): the framework's verifier core
//! (`program_verifier`) over the token's statement (`signed_verifier::statement`: the same
//! `balances` and `thread_keys` slots, transaction list and boundary sum) and the list
//! program's generated AIR (`list_air`, library-called as the class `ListAir`); `contract`, the
//! class `ListVerifier`.

pub mod verifier;
pub mod generated_params;
pub mod generated_air_class;
pub mod contract;

#[cfg(test)]
mod tests;
