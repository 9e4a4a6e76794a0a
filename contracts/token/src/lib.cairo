//! `ThreadToken`: a minimal fungible token whose balances a thread can settle.
//!
//! Each balance is one storage slot holding a `u128`, so the raw felt a prover reads and writes
//! is the balance itself. The slot key of `account`'s balance is the address of
//! `balances[account]`: `pedersen(sn_keccak("balances"), account) mod (2^251 - 256)`, what
//! starknet-rs `get_storage_var_address("balances", [account])` computes.

pub mod errors;
pub mod interface;
pub mod token;

pub use token::ThreadToken;

#[cfg(test)]
mod tests;
