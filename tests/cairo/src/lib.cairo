//! Test doubles the registry's Cairo tests and the end-to-end tests share: classes declared on
//! devnet by the tests. Test code only.

pub mod hostile_verifier;

pub use hostile_verifier::HostileVerifierTestDouble;
