pub mod common;
pub mod test_doubles;
mod test_registry;
mod test_settle;
