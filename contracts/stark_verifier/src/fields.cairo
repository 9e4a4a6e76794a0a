//! The fields of stwo: M31 = Z / (2^31 - 1), CM31 = M31[i] / (i^2 + 1) and the secure field
//! QM31 = CM31[u] / (u^2 - (2 + i)).
//!
//! Elements are stored canonical (each coordinate a `u32` below P). Products of extension
//! elements are accumulated as felt252 integers (they stay far below the felt252 prime) and
//! reduced once per coordinate: one range-checked division instead of one per M31 product.

pub mod m31;
pub mod cm31;
pub mod qm31;
pub mod bounded;

pub use m31::{M31, M31Trait, P};
pub use cm31::{CM31, CM31Trait};
pub use qm31::{QM31, QM31Trait};
