//! `ThreadToken`: an ERC20 token (SNIP-2: `IERC20`, `IERC20Metadata` and the camelCase
//! twins, u256 amounts, ByteArray name and symbol, allowances, standard `Transfer` and
//! `Approval` events) whose balances a thread can settle.
//!
//! Each balance is one storage slot holding a `u128`, so the raw felt a prover reads and writes
//! is the balance itself. The slot key of `account`'s balance is the address of
//! `balances[account]`: `pedersen(sn_keccak("balances"), account) mod (2^251 - 256)`, what
//! starknet-rs `get_storage_var_address("balances", [account])` computes. The u256 ABI wraps
//! those slots: an amount, a supply or a resulting balance that does not fit a `u128` reverts
//! with its own error (`errors.cairo`); allowances are plain L2 state, never a thread's.
//!
//! Each account's thread key (`docs/signed-transfers.md`, "Thread keys") is one slot too,
//! `thread_keys[account]`, holding its key commitment and key nonce; only the account itself
//! sets it directly (`set_thread_key`), a settled signed transfer rotates it through the thread.
//! `thread_slots(account)` returns both slot keys, so an indexer can map the state diff of a
//! settlement (`(contract, key, value)` entries) back to the accounts it knows.
//!
//! The token embeds the thread component with both of its interfaces: the deployer names the
//! registry, the owner who chooses which thread programs may touch the token, and the programs
//! it accepts from the start.
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
