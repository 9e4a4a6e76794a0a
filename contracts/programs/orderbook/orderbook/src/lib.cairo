//! `OrderBook`: the contract of the order-book thread program (issue 12; the program's Rust
//! half is `harness/programs/orderbook`, its storage layout `zkthread_orderbook::statement`).
//!
//! A book trades a *base* token for a *quote* token, both thread-ready tokens
//! (`token::ThreadToken`). Its order state is ordinary storage any L2 contract can read
//! (`IOrderBook`); a thread running the order-book program writes it when it settles a
//! sub-block of signed places, signed cancels and fills. There is no escrow: a fill moves the
//! owners' token balances directly, so the book never holds funds.
//!
//! Storage (the program's statement binds every slot to exactly these variables; the names
//! and types fix the slot keys, so they must not change):
//! - `base_token`, `quote_token: ContractAddress`, set once by the constructor and never
//!   written by a thread (the statement refuses it): the evidence that this contract is a book
//!   and which tokens its fills move;
//! - `fill_count: u64`: the number of fills settled so far (a trade sequence number);
//! - `orders: Map<(ContractAddress, u64), felt252>`: `orders[(owner, id)]` packs an order as
//!   `remaining + num * 2^64 + den * 2^80 + side * 2^96` (`side` 1 buy, 2 sell, 3 cancelled;
//!   the limit price `num / den` quote units per base unit, both parts in `1..2^14`;
//!   `remaining` a u64); 0 is an unused id, a filled order keeps its side and price with
//!   `remaining = 0`, a cancelled one its price with side 3 and `remaining = 0` (a cancel
//!   always changes its slot: the program's AIR relies on it, `zkthread_orderbook::signed`);
//! - `thread_keys` (`thread::ThreadKeysComponent`): each owner's thread key for this book;
//!   places and cancels are signed in the book's domain.
//!
//! Orders enter only through a thread (a signed place); an owner may cancel its own order on
//! L2 at any time (`cancel`), which no batcher can stop: a pending settlement that read the
//! order becomes stale and reverts.

pub mod errors;
pub mod interface;
pub mod orderbook;

pub use orderbook::OrderBook;

#[cfg(test)]
mod tests;
