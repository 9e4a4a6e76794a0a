//! The verifier core every signed thread program shares (`docs/thread-programs.md`, "The
//! Cairo verifier: one core, a class per program"): stwo's `verify` for a proof of the
//! framework's shape — the program's components with one derived claimed sum, the
//! framework's four relations (state, link, Poseidon2, range check), the 8-bit range table as
//! the preprocessed tree, four trees — over a program description
//! ([`verifier::ThreadProgramVerifier`]: the statement binding and boundary, the mask shape,
//! the column sizes and the AIR class's call). A program's verifier class is this core, its
//! statement and a library call of its AIR class by a compile-time class hash.

pub mod verifier;
