//! The order book on the settlement channel (`zkthread_prover::Poseidon252MerkleChannel`, the
//! one a Cairo verifier reads): prove a sub-block under its statement, verify, and the proof's
//! felts — the proof carries its slot-binding witness, so a settlement needs only the
//! statement and these felts.
//!
//! Generic code is compiled where it is instantiated; this crate is built at opt-level 3 in
//! every profile, so callers built without optimisation (a CLI, devnet tests) should call
//! these functions rather than `crate::prover::verify::<Poseidon252MerkleChannel>` themselves
//! (the token program's `poseidon252` module explains the ~40x).
//!
//! ## Felts (what a Cairo verifier of this program reads, in this order)
//! The framework's layout (`zkthread_prover::serialize`, whose docs give the M31 packing and
//! the STARK part) with this program's header and witness:
//! ```text
//! [2 n_in,                          slot-binding witness length (WITNESS_LEN = 2 per input slot)
//!  owner_0, id_0, ..., owner_{n_in-1}, id_{n_in-1},   [owner, id] per input slot, input order
//!  n_m31, packed M31s (8 per felt),  M31 stream:
//!      log_sizes(8): fill, place, cancel, chain step, digest, key sponge, tx list, Poseidon2
//!      claimed_sums(8 x 4): place, cancel, chain step, digest, key sponge, tx list,
//!                           Poseidon2, range table (the fill's is derived, never sent)
//!      then stwo's proof (config, counts, sampled and queried values, FRI)
//!  felt stream: commitments, decommitment hashes, proof-of-work nonce, FRI hashes]
//! ```
//! The witness is `crate::statement`'s: `[owner, id]` for an order slot, `[owner, 0]` for a
//! balance or thread-key slot, `[0, 0]` for the book's `fill_count`, `base_token` and
//! `quote_token`. It comes first so that a verifier binds (or refuses) every slot before it
//! decodes the STARK. It is not in the transcript: each felt is checked against the slot's
//! storage key instead (`crate::statement::OrderLayout`), so an edited felt makes the
//! statement unbindable ([`verify`] refuses it), never another valid statement.
//!
//! ## Cost of a round (`tests/rounds.rs`, `timing_rounds`)
//! Clients sign `n` places (`n / 4` accounts, half asks at 100..=109 and half bids at
//! 95..=104, 1..=50 units) and `n / 64` cancels; the batcher ([`crate::batcher::build`])
//! matches them; each sub-block is proven here at `zkthread_token::SIGNED_PARAMS` (2^5 x 16 +
//! 16 = 96 bits), its felts decoded and verified. One run, 2026-12-01 08:17-09:02 UTC (45 min
//! wall, 1,970 s CPU), on the shared 2-core machine under load 4-8 (other builds and provers running: prove times are
//! inflated, maybe 2x against a quiet machine), dev profile with the prover stack at opt-level 3:
//! `cargo nextest run -p zkthread-orderbook --test rounds --run-ignored only --no-capture timing`.
//!
//! | orders (+cancels) | sub-blocks | fills | sign s | batch s | prove s | verify ms | proof felts | statement felts (in/out slots) | settle calldata | log rows | peak RSS MB |
//! |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
//! | 64 (+1) | 1 | 30 | 0.11 | 0.04 | 119.3 | 63 | 4,813 | 695 (115/113) | 5,504 | 2^13 | 531 |
//! | 256 (+4) | 1 | 108 | 0.20 | 0.06 | 503.0 | 193 | 5,751 | 2,639 (439/437) | 8,386 | 2^15 | 2,089 |
//! | 1,024 (+16) | 2 (520 + 520 messages) | 438 | 1.29 | 0.40 | 968.4 + 1,105.7 | 536 + 499 | 7,363 + 7,394 | 6,863 (1,143/1,141) + 6,740 (1,127/1,116) | 14,222 + 14,130 | 2^16 + 2^16 | 4,264 |
//!
//! - Settle calldata is `Settlement::calldata`'s length (zkthread-client): `7 + 3 (inputs +
//!   outputs) + proof felts` (the proof felts include the `2 x inputs` witness felts). **Every
//!   round is above the 5,000-felt goal**, the 64-order one included: each order is a slot
//!   read and written (6 felts) besides its owner's key and two balances, and the STARK part
//!   alone is ~4,600-5,100 felts (the token's signed proofs are ~3,000-3,600; likely the fill
//!   role's 214 main and 264 interaction columns, plus place and cancel, opened at every
//!   query: not broken down here).
//! - Every signed message costs 125 Poseidon2 permutations, and a component holds at most
//!   2^16 rows (`SIGNED_MAX_LOG_ROWS`): at most 524 messages per sub-block. In the measured run
//!   the batcher had no size limit yet: it built a 1,040-message sub-block (2^17 Poseidon2
//!   rows), the prover refused it before any work (`program::ProveError::TooLarge`), and the
//!   round was split into two equal consecutive sub-blocks. The batcher now cuts at
//!   `batcher::MAX_COMPONENT_ROWS` and defers the rest (`Batch::deferred`); `tests/rounds.rs`
//!   chains its sub-blocks. Peak RSS is per round (reset
//!   through `clear_refs`), so the 1,024 row is one 2^16 sub-block's.
//! - Proof felts include the witness (`2 x inputs`): 230, 878 and 2,286 of them; the STARK
//!   part is ~4,600, ~4,900 and ~5,100 felts.

use starknet_types_core::felt::Felt;
use stwo::core::fields::qm31::SecureField;
use zkthread_prover::params::StarkParams;
use zkthread_prover::program::{self, ProvenParts, FRAMEWORK_SIZED_COMPONENTS};
use zkthread_prover::serialize::{program_proof_from_felts, program_proof_to_felts, DecodeError};
pub use zkthread_prover::Poseidon252MerkleChannel as MC;

use crate::statement::{bound_slots, OrderBookStatementError, OrderLayout, SignedPublicInput};
use crate::witness::OrderBookWitness;
use crate::OrderBookVerifyError;
use zkthread_prover::statement::StorageLayout;

/// Program roles (fill, place, cancel) plus the framework's sized components; also the number
/// of claimed sums sent (every component but the fill, the range table included).
pub const SIZED_COMPONENTS: usize = 3 + FRAMEWORK_SIZED_COMPONENTS;

/// Slot-binding felts per input slot (`[owner, id]`).
pub const WITNESS_LEN: usize = OrderLayout::WITNESS_LEN;

/// A proof on the settlement channel with its slot-binding witness.
pub struct Proof {
    /// `[owner, id]` per input slot of the statement, input order.
    pub slot_witness: Vec<Felt>,
    /// Log sizes of the sized components ([`SIZED_COMPONENTS`], proof order).
    pub log_sizes: [u32; SIZED_COMPONENTS],
    /// Claimed sums of every component but the first.
    pub claimed_sums: [SecureField; SIZED_COMPONENTS],
    pub stark: stwo::core::proof::StarkProof<<MC as stwo::core::channel::MerkleChannel>::H>,
}

impl Clone for Proof {
    fn clone(&self) -> Self {
        Proof {
            slot_witness: self.slot_witness.clone(),
            log_sizes: self.log_sizes,
            claimed_sums: self.claimed_sums,
            stark: self.stark.clone(),
        }
    }
}

/// Why no proof was made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The statement or its witness would be refused by [`verify`]: not worth proving.
    #[error(transparent)]
    Statement(#[from] OrderBookStatementError),
    #[error(transparent)]
    Program(#[from] program::ProveError),
    #[error("the driver returned {0} sized components, the order book has {SIZED_COMPONENTS}")]
    ComponentCount(usize),
}

/// Proves `witness` (a sub-block's rows) under `statement`, after checking that
/// `slot_witness` binds it (so a proof that [`verify`] would refuse for its statement is never
/// made). The rows themselves are not checked: the batcher checks its own, the AIR refuses bad
/// ones.
pub fn prove(
    statement: &SignedPublicInput,
    slot_witness: &[Felt],
    witness: &OrderBookWitness,
    params: &StarkParams,
) -> Result<Proof, ProveError> {
    bound_slots(statement, slot_witness)?;
    let parts = crate::prover::prove_statement::<MC>(statement, witness, params)?;
    from_parts(slot_witness.to_vec(), parts)
}

fn from_parts(slot_witness: Vec<Felt>, parts: ProvenParts<MC>) -> Result<Proof, ProveError> {
    let n = parts.log_sizes.len();
    let log_sizes = parts.log_sizes.try_into().map_err(|_| ProveError::ComponentCount(n))?;
    let claimed_sums = parts.claimed_sums.try_into().map_err(|_| ProveError::ComponentCount(n))?;
    Ok(Proof { slot_witness, log_sizes, claimed_sums, stark: parts.stark })
}

/// Verifies `proof` for `statement` (`crate::prover::verify` with the proof's own witness).
pub fn verify(statement: &SignedPublicInput, proof: &Proof, params: &StarkParams) -> Result<(), OrderBookVerifyError> {
    let parts = ProvenParts::<MC> {
        log_sizes: proof.log_sizes.to_vec(),
        claimed_sums: proof.claimed_sums.to_vec(),
        stark: proof.stark.clone(),
    };
    crate::prover::verify::<MC>(statement, &proof.slot_witness, &parts, params)
}

/// The proof's felts (module docs: layout).
pub fn to_felts(proof: &Proof) -> Vec<Felt> {
    program_proof_to_felts::<MC>(&proof.log_sizes, &proof.claimed_sums, &proof.stark, &proof.slot_witness)
}

/// Decodes [`to_felts`]' output. Refuses (never panics on) a truncated or padded stream, a
/// non-canonical or out-of-range value, and a witness that is not [`WITNESS_LEN`] felts per
/// slot. The witness's felts are checked against the statement by [`verify`], not here.
pub fn from_felts(felts: &[Felt]) -> Result<Proof, DecodeError> {
    let (slot_witness, log_sizes, claimed_sums, stark) = program_proof_from_felts::<MC, SIZED_COMPONENTS>(felts)?;
    if slot_witness.len() % WITNESS_LEN != 0 {
        return Err(DecodeError::OutOfRange("slot witness: not 2 felts per input slot"));
    }
    Ok(Proof { slot_witness, log_sizes, claimed_sums, stark })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_count_is_the_drivers() {
        assert_eq!(SIZED_COMPONENTS, program::sized_components::<crate::prover::OrderBookProgram>());
        assert_eq!(WITNESS_LEN, 2);
    }

    #[test]
    fn garbage_is_refused_with_a_typed_error() {
        assert_eq!(from_felts(&[]).err(), Some(DecodeError::Truncated));
        // A witness count larger than the stream.
        assert_eq!(from_felts(&[Felt::from(4u8), Felt::ONE]).err(), Some(DecodeError::Truncated));
        // A count that is no u64.
        assert!(matches!(from_felts(&[Felt::ZERO - Felt::ONE]), Err(DecodeError::OutOfRange(_))));
        // An empty M31 stream: the header is missing.
        assert_eq!(from_felts(&[Felt::ZERO, Felt::ZERO]).err(), Some(DecodeError::Truncated));
    }
}
