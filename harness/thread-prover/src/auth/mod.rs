//! Authorization, shared by every signed thread program: a transaction row is *signed* when
//! its message verifies as a TS-WOTS signature (`zkthread_sig::wots`) under the signer's
//! registered thread key, and not replayed when it consumes that key's `Key` tuple and
//! produces the next one. The pieces:
//! - [`link`]: the `LinkRelation` entries tying one verification together, and the `Key`
//!   kind of `StateRelation` (replay state);
//! - [`roles`]: chain step, digest sponge, key sponge and transaction-list components, and the
//!   fractions a program's signed role adds ([`roles::signed_message`], [`roles::key_step`]);
//! - [`witness`]: their rows from a verification trace;
//! - [`tx_list_boundary_sum`]: the transaction list's share of the proof's boundary.
//!
//! The soundness sketch is in `docs/signed-transfers.md` ("The signed token AIR") and in the
//! token program's crate docs (`harness/programs/token`).

pub mod link;
pub mod roles;
pub mod witness;

use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::fields::FieldExpOps;
use stwo_constraint_framework::Relation;
use zkthread_sig::tx_list::{initial_cap, TxListCommitment};

use crate::role::LinkRelation;

/// `1/d(TxCap(n, committed)) - 1/d(TxCap(0, initial))`: the `LinkRelation` sum the rows must
/// have (every other `Link` entry is produced and consumed inside the proof). Zero for the
/// empty list (the two entries are the same).
pub fn tx_list_boundary_sum(transactions: &TxListCommitment, link: &LinkRelation) -> SecureField {
    let term = |index: u32, cap: &[zkthread_sig::M31; 8]| -> SecureField {
        let cap: Vec<BaseField> = cap.iter().map(|v| BaseField::from(v.to_u32())).collect();
        let d: SecureField = link.combine(&link::tx_cap(BaseField::from(index), &cap));
        d.inverse()
    };
    term(transactions.count, &transactions.cap) - term(0, &initial_cap())
}
