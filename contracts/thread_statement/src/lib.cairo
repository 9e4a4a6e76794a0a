//! The Cairo statement framework of signed thread programs: what every program's verifier
//! needs from the public statement, whatever its storage layout — the Cairo half of
//! `zkthread_prover::statement` (bit for bit; each program's vectors check it through its
//! own binding).
//!
//! - `header`: the encoding's header, `with_context` (the chain id and registry the verifier
//!   adds), the transaction list (`tx_list`), reading the `(contract, key, value)*` lists and
//!   their order (`read_list`, `ascending`, `unsorted_first`).
//! - `ids`: the transfer domain `D` and account id `A` every tuple carries (`transfer_domain`,
//!   `account_id`, `limbs4`), the thread-key slot every signed program keeps
//!   (`pack_key_slot` / `unpack_key_slot`; a statement parses it with
//!   `unpack_statement_key_slot`, a nonce below `KEY_NONCE_BOUND = 2^31 - 2`), and
//!   `is_storage_address_of`.
//! - `relation`: relation sums on felt coordinates: tuple denominators without a reduction per
//!   product (`weights`, `head_sum`, `mul_add*`, `dot`), `sum_of_differences` (one QM31
//!   inversion for a whole boundary) and the transaction list's `LinkRelation` pair.
//!
//! A program's package (`signed_verifier` for the token, `orderbook_verifier` for the order
//! book) binds each input slot to its storage variables, parses values into its state tuples
//! and lists their denominators; this package sums them.

pub mod header;
pub mod ids;
pub mod relation;

#[cfg(test)]
mod tests;
