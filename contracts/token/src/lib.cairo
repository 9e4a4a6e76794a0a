//! `ThreadToken`: a minimal fungible token whose balances a thread can settle.
//!
//! Each balance is one storage slot holding a `u128`, so the raw felt a prover reads and writes
//! is the balance itself. The slot key of `account`'s balance is the address of
//! `balances[account]`: `pedersen(sn_keccak("balances"), account) mod (2^251 - 256)`, what
//! starknet-rs `get_storage_var_address("balances", [account])` computes.
//!
//! `BalanceReader` is a plain contract that reads those balances through `balance_of`: what a
//! thread settles is ordinary L2 state other contracts see in their next transaction.

pub mod balance_reader;
pub mod errors;
pub mod interface;
pub mod token;

pub use balance_reader::BalanceReader;
pub use token::ThreadToken;

#[cfg(test)]
mod tests;
