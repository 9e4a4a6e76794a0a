//! What every program's AIR class shares (`docs/thread-programs.md`, "The Cairo verifier: one
//! core, a class per program"): the framework's Poseidon2 component evaluated with loops over
//! its rounds (`poseidon2`, 285 constraints, tables in `generated_poseidon2`, generated from
//! the Rust AIR by `harness/air-codegen`), the mask layout helpers (`layout`: shape runs, column log sizes) and the
//! call format of an AIR class (`air_call`: the entry point, its input's pieces, its answer).
//! A program's generated evaluation (`signed_air`, `orderbook_air`) imports these.

pub mod layout;
pub mod generated_poseidon2;
pub mod poseidon2;
pub mod air_call;


#[cfg(test)]
mod tests;
