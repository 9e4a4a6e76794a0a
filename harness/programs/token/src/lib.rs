//! # zkthread-token: the signed token program (every transfer signed by its sender's thread key)
//!
//! One instance of the thread-program framework (`zkthread_prover`, see
//! `docs/thread-programs.md`). What this crate owns: the transfer role ([`transfer`]), the
//! storage layout its statement binds slots to (`balances[owner]`, `thread_keys[owner]`:
//! [`statement`]), the witness ([`witness`]), the batcher rules ([`batcher`]), the descriptor
//! digest, the sized components and the prove/verify instantiation ([`prover`]), the proof
//! felts of its proof type, and [`SIGNED_PARAMS`]. The authorization roles, the role
//! machinery and the range table are the framework's; [`roles`], [`role`] and [`range`]
//! re-export them so the proof's components are named in one place.
//!
//! A sub-block proof of this program shows that every transfer in it is signed by its
//! sender's registered one-time thread key (TS-WOTS over Poseidon2-M31, `zkthread_sig`), that
//! no signature is replayed, that balances move by the signed amounts without underflow,
//! overflow or value created, and that the public lists are exactly the `balances` and
//! `thread_keys` slots it read and wrote. The design, the relations and the soundness sketch
//! are in `docs/signed-transfers.md` ("The signed token AIR").
//!
//! Components (one proof): [`roles::TransferRole`] (one transfer per row),
//! [`roles::ChainStepRole`], [`roles::DigestRole`], [`roles::KeySpongeRole`] (the pieces of a
//! signature verification), [`roles::TxListRole`] (the transaction list),
//! `zkthread_prover::poseidon2` (every permutation they use) and the 8-bit range table
//! ([`range`]; a 16-bit check is two 8-bit look-ups). Each role is written once
//! ([`role::Role`]) for the prover and every evaluator.
//!
//! ## Why a forged or replayed transfer cannot be proven
//! - `Key(D, A, nonce, K, A_high)` tuples of one account form a single path from its input key slot:
//!   each transfer row consumes `(nonce, K)` and produces `(nonce + 1, K_next)`, so a cycle of
//!   key tuples (which could start from a key the prover invented) needs `p` rows. Every row
//!   that debits `A` consumes one of `A`'s key tuples, so the debits are exactly `A`'s signed
//!   messages, in key order, each used once; a settled signature's key is rotated away on chain.
//! - A row's `KeyOk(pp, tx, K)` needs a key sponge over `pp` and 32 chain-end pairs whose output is
//!   `K` (else a second preimage of the user's commitment); the ends come from chain steps
//!   (`j` in 0..2, tweaked by `pp, i, j`) that start at the digits of the digest of this row's
//!   own fields (the `Block`s are the row's columns, the digest capacity starts from `K`), and
//!   the digits sum to `T`: exactly a TS-WOTS verification of this row's message under `K`.
//!   Every link entry of a signature carries the row's sub-block position `tx`, unique by the
//!   transaction list, so signature instances never share link tuples. (`pp` is no separator:
//!   it is public and anyone may register a key over another's `pp`; keyed by `pp` alone, two
//!   rows could trade message blocks or chain walks, `crossed_signatures_over_one_pp_do_not_verify`.)
//! - Digits are read two per key-sponge row off a queue holding the digest: each element
//!   loses two base-4 digits per row for four rows, then its rest (`hi`) is range-checked
//!   `<= 2^15 - 2`, so `hi * 2^16 + lo` is the element's unique split. A digit outside 0..3
//!   produces a chain start nothing can consume.
//! - Balances: per account, `final - input = received - sent`, every produced value
//!   range-checked in 16-bit limbs with boolean borrows/carries, as in the unsigned AIR.
//!
//! ## Why the committed transaction list is the proven one
//! The public input carries `(n, cap_n)` (`zkthread_sig::tx_list`). The boundary offers
//! `TxCap(0, initial)` and takes `TxCap(n, cap_n)`; a [`roles::TxListRole`] row moves
//! `TxCap(i, c)` to `TxCap(i + 1, P(d ++ c)[8..16])`, so its rows are one path `0 -> n` (the
//! index only rises; `n < p` is checked) absorbing one `Tx(i, d)` per step. `Tx(i, d)` is
//! produced only by the final row of a digest sponge, with the `tx` its `DigestCap` entries
//! carry from the transfer row that started it: so the enabled transfer rows sit at positions
//! `0..n`, each once, and the list is their message digests in that order — the digests their
//! signature checks read, i.e. for honest senders exactly the messages they signed. A client
//! recomputes it from the published transfers; publishing another list than the one proven
//! needs a collision of the 248-bit capacity. What a client must never do: treat a list it
//! has not recomputed from the transfers' own fields (key, next key, rho) as checked.
//!
//! ## Signed transfer lists
//! [`list_prover::SignedListProgram`] takes one signature per *list* of a sender's transfers
//! ([`list::ListHeadRole`], [`list::ListItemRole`]; the message is
//! `zkthread_sig::TransferListMessage`; a single transfer is a list of one). The head is authorized exactly like a transfer row
//! (key step, signature over its own columns, unique `tx`); each item moves one balance and
//! absorbs its share of the list's stream, its own receiver's whole 248-bit id and its amount
//! in four 30-bit elements (1.5 permutations a transfer: an odd item's high id words are
//! absorbed by the even item before it and handed on as `ListCap`'s pending value; list AIR
//! version 5, so a listed amount is below 2^120), `ListCap(D, from, tx, j, cap, pending, j mod
//! 2) -> ListCap(D, from, tx, j + 1, ..)`, whose ends the head fixes to the signed `(n, cap)`.
//! So a list's items are the signed
//! transfers (in their signed order), each once (else a collision of the 248-bit capacity),
//! each crediting the whole id its sender signed, and an item debits only the account and
//! token the head's signer names. As for every row, the order in
//! which balances move inside a sub-block is not proven (`Balance` tuples carry no sequence);
//! no value is created. What a client must never do: sign a list it
//! has not built itself (the commitment hides the transfers from a wallet that only sees it).
//! Its Cairo verifier is `contracts/programs/token/list_verifier` (`ListVerifier`, which
//! library-calls the generated `contracts/programs/token/list_air`'s `ListAir`). The engine, the
//! CLI's batch/prove/settle and the service run it on a thread whose program is `ListVerifier`
//! (`thread create --program list`), and `zkthread bench settle` by default; `thread create` and
//! the demo default to [`prover::SignedTokenProgram`].
//!
//! The Cairo verifier of the signed program ([`prover::SignedTokenProgram`]) is
//! `contracts/programs/token/signed_verifier` (`SignedVerifier`). Both verifiers accept exactly
//! [`SIGNED_PARAMS`]; this crate is the prover side and stwo's Rust verifier of both.

pub mod batcher;
pub mod list;
pub mod list_batcher;
pub mod list_prover;
pub mod prover;
pub mod statement;
pub mod transfer;
pub mod witness;

pub use zkthread_prover::{range, role};
// `crate::params` names the framework's parameters ([`SIGNED_PARAMS`] is one).
use zkthread_prover::params;

/// Every role of a signed-transfer proof: this program's [`TransferRole`](roles::TransferRole)
/// and the framework's authorization roles.
pub mod roles {
    pub use crate::transfer::{transfer_cols, TransferRole};
    pub use zkthread_prover::auth::roles::*;
}

/// The proof parameters of the signed program: the only ones its Cairo verifier accepts
/// (`contracts/programs/token/signed_verifier/src/generated_params.cairo` is generated from this constant).
///
/// Blowup 2^5 x 16 queries + 16 pow bits = 96 conjectured bits, chosen on the costs of
/// 2026-12-01 (issue 11; measurements in `docs/signed-transfers.md`, "Cost"). Proving is
/// mostly Poseidon252 Merkle hashing of the blown-up trees, so each halving of the blowup
/// halves the prover's CPU (24 transfers, release: 60.3 s at 2^6 x 13 + 18, 30.1 s here);
/// a query costs the on-chain verifier ~5e6 L2 gas (range-check bound) on ~1.45e8 fixed
/// (2-transfer vector: 2.096e8 at 2^6 x 13 + 18, 2.221e8 here). 2^4 x 20 would halve the CPU
/// again (2.446e8), but its 256-transfer proof (4,582 felts) leaves room for only ~68 slots
/// in the 5,000-felt settle calldata (`zkthread_engine::batch::DEFAULT_MAX_SLOTS`, 140, is sized
/// on this set's ~3,720 STARK felts); 2^3 x 27's (5,552) does not fit at all. Pow kept
/// <= 20 bits (Poseidon grinding is slow).
///
/// The last FRI layer is a polynomial of 2^6 coefficients (not 2^3): with fold step 3 that is
/// one inner layer fewer at every trace height (its Merkle paths, cosets and folds: ~69k
/// Cairo steps on a 32-transfer proof), for 56 more coefficients in the proof and a per-query
/// evaluation the verifier does on unreduced integers (2^6 is its bound); security does not
/// depend on it (2026-12-02, issue 11).
pub const SIGNED_PARAMS: crate::params::StarkParams = crate::params::StarkParams {
    log_blowup: 5,
    n_queries: 16,
    pow_bits: 16,
    log_last_layer_degree_bound: 6,
    fold_step: 3,
};

const _: () = assert!(SIGNED_PARAMS.security_bits() >= 96);

pub use prover::{
    MAX_TRANSFERS_PER_PROOF, PERMUTATIONS_PER_TRANSFER, prove_signed, prove_signed_witness, signed_proof_from_felts, signed_proof_to_felts, verify_signed,
    SignedProof, SignedProveError, SignedVerifyError,
};
pub use statement::{bound_slots, BoundSlot, SignedPublicInput, SignedStatementError, SlotState, TokenLayout};
pub use witness::{SignedRow, SignedWitness};
pub use batcher::{SignedBatch, SignedBatchError, SignedBatcher, SignedRejection, SignedSubBlock, SignedTransferTx};

/// The signed program on the Poseidon252 channel (the one the Cairo verifier reads),
/// instantiated in this crate. Generic code is compiled where it is instantiated: a caller
/// built at opt-level 0 (the CLI, the devnet tests in dev builds) that called
/// `verify_signed::<Poseidon252MerkleChannel>` itself would run stwo's verifier unoptimised,
/// ~40x slower (measured: 2.7 s instead of ~60 ms for 64 transfers).
pub mod poseidon252 {
    use starknet_types_core::felt::Felt;

    use super::{SignedProof, SignedProveError, SignedPublicInput, SignedRow, SignedVerifyError};
    use zkthread_prover::params::StarkParams;
    use zkthread_prover::serialize::DecodeError;
    use zkthread_prover::Poseidon252MerkleChannel as MC;

    pub type Proof = SignedProof<MC>;

    pub fn prove(
        public_input: &SignedPublicInput,
        slot_owners: &[Felt],
        rows: &[SignedRow],
        params: &StarkParams,
    ) -> Result<Proof, SignedProveError> {
        super::prove_signed::<MC>(public_input, slot_owners, rows, params)
    }

    pub fn verify(
        public_input: &SignedPublicInput,
        proof: &Proof,
        params: &StarkParams,
    ) -> Result<(), SignedVerifyError> {
        super::verify_signed::<MC>(public_input, proof, params)
    }

    pub fn to_felts(proof: &Proof) -> Vec<Felt> {
        crate::signed_proof_to_felts(proof)
    }

    pub fn from_felts(felts: &[Felt]) -> Result<Proof, DecodeError> {
        crate::signed_proof_from_felts::<MC>(felts)
    }
}
