//! The order book as the framework's driver sees it ([`OrderBookProgram`]), and prove/verify
//! around `zkthread_prover::program::{prove, verify}` (whose docs give the transcript).
//!
//! The statement *encoding* and the binding of slots to storage (`orders[(owner, id)]`, the
//! book's counter, `balances[owner]` of its tokens, `thread_keys[owner]`) are not in this
//! slice: the framework's `statement` module is being written. [`verify`] takes the public
//! input felts and the state [`Change`]s the statement implies, checks the tuples'
//! invariants ([`check_changes`]) and derives the first role's claimed sum from their
//! boundary — the part of the statement the AIR's soundness depends on.

use starknet_types_core::felt::Felt;
use stwo::core::fields::qm31::SecureField;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use zkthread_prover::auth::tx_list_boundary_sum;
use zkthread_prover::channel::ThreadChannel;
use zkthread_prover::params::StarkParams;
use zkthread_prover::program::{self, ProgramRole, ProofRows, ProvenParts, RoleComponent, ThreadProgram};
use zkthread_prover::prover::VerifyError;
use zkthread_prover::role::Relations;
use zkthread_sig::tx_list::TxListCommitment;

use crate::fill::FillRole;
use crate::signed::{CancelRole, PlaceRole};
use crate::state::{boundary_sum, check_changes, Change, OrderBookStatementError};
use crate::witness::OrderBookWitness;

/// Version of the order-book AIR (bump on any change of columns, constraints or fraction order).
pub const ORDERBOOK_AIR_VERSION: u64 = 1;

/// The order-book program: its roles in proof order (the first one's claimed sum is derived
/// from the boundary, never sent).
pub struct OrderBookProgram;

impl ThreadProgram for OrderBookProgram {
    const NAME: &'static str = "zkthread.orderbook_air";
    const AIR_VERSION: u64 = ORDERBOOK_AIR_VERSION;

    fn roles() -> Vec<Box<dyn ProgramRole>> {
        vec![
            RoleComponent::<FillRole>::boxed(),
            RoleComponent::<PlaceRole>::boxed(),
            RoleComponent::<CancelRole>::boxed(),
        ]
    }
}

/// Why an order-book proof is refused.
pub type OrderBookVerifyError = VerifyError<OrderBookStatementError>;

/// The sum of every claimed sum the statement fixes: the state boundary of `changes` plus the
/// transaction list's.
pub fn boundary(changes: &[Change], transactions: &TxListCommitment, relations: &Relations) -> SecureField {
    boundary_sum(changes, &relations.state) + tx_list_boundary_sum(transactions, &relations.link)
}

/// Proves the rows of `witness` for the statement whose felts are `public_input`. Raw entry
/// point: nothing about the rows is checked — the constraints and the verifier refuse a bad
/// witness.
pub fn prove<MC: ThreadChannel>(
    public_input: &[Felt],
    witness: &OrderBookWitness,
    params: &StarkParams,
) -> Result<ProvenParts<MC>, program::ProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let rows = ProofRows {
        program: vec![&witness.fills, &witness.places, &witness.cancels],
        auth: &witness.auth,
    };
    program::prove::<OrderBookProgram, MC>(public_input, &rows, params)
}

/// Verifies `proof` for `public_input`, the slots' `changes` and the transaction list.
pub fn verify<MC: ThreadChannel>(
    public_input: &[Felt],
    changes: &[Change],
    transactions: &TxListCommitment,
    proof: &ProvenParts<MC>,
    params: &StarkParams,
) -> Result<(), OrderBookVerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    check_changes(changes).map_err(VerifyError::Statement)?;
    program::verify::<OrderBookProgram, MC, OrderBookStatementError>(
        public_input,
        &proof.log_sizes,
        &proof.claimed_sums,
        &proof.stark,
        params,
        |relations| boundary(changes, transactions, relations),
    )
}
