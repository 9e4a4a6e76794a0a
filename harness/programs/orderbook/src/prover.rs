//! The order book as the framework's driver sees it ([`OrderBookProgram`]), and prove/verify
//! around `zkthread_prover::program::{prove, verify}` (whose docs give the transcript).
//!
//! [`verify`] takes the framework's `SignedPublicInput` (the `(contract, key, value)` lists a
//! registry checks against storage) and the proof's binding witness (`[owner, id]` per input
//! slot), binds every slot through the book's layout (`crate::statement::OrderLayout`, with
//! its whole-list rules) and derives the first role's claimed sum from the bound slots'
//! boundary and the transaction list: nothing about the state comes from the caller.
//! `crate::statement::statement_of` builds both from an honest sub-block's changes.

use starknet_types_core::felt::Felt;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;
use zkthread_prover::channel::ThreadChannel;
use zkthread_prover::params::StarkParams;
use zkthread_prover::program::{self, ProgramRole, ProofRows, ProvenParts, RoleComponent, ThreadProgram};
use zkthread_prover::prover::VerifyError;

use crate::fill::FillRole;
use crate::signed::{CancelRole, PlaceRole};
use crate::statement::{bound_slots, boundary, OrderBookStatementError, SignedPublicInput};
use crate::witness::OrderBookWitness;

/// Version of the order-book AIR (bump on any change of columns, constraints or fraction order).
pub const ORDERBOOK_AIR_VERSION: u64 = 7;

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

/// Proves the rows of `witness` for `statement` (its felts enter the transcript). Raw, like
/// [`prove`]: the binding witness is not needed to prove, only to verify.
pub fn prove_statement<MC: ThreadChannel>(
    statement: &SignedPublicInput,
    witness: &OrderBookWitness,
    params: &StarkParams,
) -> Result<ProvenParts<MC>, program::ProveError>
where
    SimdBackend: BackendForChannel<MC>,
{
    prove::<MC>(&statement.to_felts(), witness, params)
}

/// Verifies `proof` for `statement`, whose input slots `slot_witness` binds (`[owner, id]`
/// per input, `id = 0` for slots without one): the lists, every slot's variable and value,
/// the book's whole-list rules, then stwo against the boundary of the bound slots and the
/// statement's transaction list.
pub fn verify<MC: ThreadChannel>(
    statement: &SignedPublicInput,
    slot_witness: &[Felt],
    proof: &ProvenParts<MC>,
    params: &StarkParams,
) -> Result<(), OrderBookVerifyError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let slots = bound_slots(statement, slot_witness).map_err(VerifyError::Statement)?;
    program::verify::<OrderBookProgram, MC, OrderBookStatementError>(
        &statement.to_felts(),
        &proof.log_sizes,
        &proof.claimed_sums,
        &proof.stark,
        params,
        |relations| boundary(&slots, &statement.transactions, relations),
    )
}
