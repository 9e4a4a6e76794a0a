//! The order book's verifier (`harness/programs/orderbook`, the second signed thread program):
//! `statement`, the binding of every input slot to the book's storage variables with its
//! `[owner, id]` witness, the whole-list rules (which contract is a book, the market of a fill
//! counter) and the `StateRelation` + transaction-list boundary the proof's rows must reach —
//! `zkthread_orderbook::statement` bit for bit (checked by vectors the Rust side generates), on
//! the statement framework `thread_statement`; `verifier`, the order book as the framework's
//! verifier core (`program_verifier`) sees it and the full stwo verify of an order-book proof
//! (`verify_orderbook_proof`, the prover's `zkthread_orderbook::prover::verify`); `contract`,
//! the class `OrderBookVerifier` (a thread's `program_hash`), which library-calls the AIR class
//! `OrderBookAir` by the generated constant `generated_air_class`.

pub mod statement;
pub mod verifier;
pub mod generated_params;
pub mod generated_air_class;
pub mod contract;

#[cfg(test)]
mod tests;
