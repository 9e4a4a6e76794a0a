pub mod common;
pub mod test_doubles;
mod test_registry;
mod test_settle;
mod test_hostile_verifier;
mod test_measure;
