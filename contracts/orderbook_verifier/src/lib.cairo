//! The order book's verifier package (`harness/programs/orderbook`, the second signed thread
//! program). So far: `statement`, the binding of every input slot to the book's storage
//! variables with its `[owner, id]` witness, the whole-list rules (which contract is a book,
//! the market of a fill counter) and the `StateRelation` + transaction-list boundary the
//! proof's rows must reach — `zkthread_orderbook::statement` bit for bit (checked by vectors
//! the Rust side generates), on the statement framework `thread_statement`.

pub mod statement;

#[cfg(test)]
mod tests;
