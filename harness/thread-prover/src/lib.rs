//! # zkthread-prover: the thread-program framework (and the unsigned token baseline)
//!
//! What every thread program shares: the channel and PCS parameters ([`channel`], [`params`],
//! [`poseidon252_merkle`]), proof felts ([`serialize`]), components written once ([`role`]:
//! the `Role` trait and the relations `State`, `Link`, `Poseidon2`, `RangeCheck`), the
//! Poseidon2 component ([`poseidon2`]), the 8-bit range table ([`range`]) and authorization
//! ([`auth`]: thread keys, signatures, replay state, the committed transaction list) and the
//! generic prove/verify driver ([`program`]: the `ThreadProgram` trait, one transcript). A program
//! lives in its own crate under `harness/programs/` (the signed token program:
//! `zkthread-token`); `docs/thread-programs.md` draws the boundary.
//!
//! ## Baseline: the unsigned token AIR
//! The modules below ([`air`], [`trace`], [`model`], [`batcher`], [`prover`],
//! [`public_input`]) are the first, unsigned token program, kept as a benchmark baseline
//! (`zkthread bench prove`); no settlement path uses it. `model::{Slot, SlotValue}`,
//! `air::{limbs, RangeCheckRelation}`, `trace::TraceColumn` and `prover::VerifyError` are
//! shared helpers it happens to define.
//!
//! A token thread's state is the `balances: Map<ContractAddress, u128>` of its thread-ready
//! token contracts. The [`batcher`] turns `transfer(token, from, to, amount)` transactions into
//! a [`model::SubBlock`] (transfers + sorted input and output lists); [`prover::prove`] proves
//! it against a [`public_input::PublicInput`]; [`prover::verify`] checks it with stwo's
//! verifier; [`serialize`] turns the proof into settlement calldata (`Vec<Felt>`).
//!
//! ## Public input
//! `[os_version, program_hash, thread_id, sequence, contract_set_commitment, n_inputs,
//! (contract, key, value)*, n_outputs, (contract, key, value)*]`, mixed into the channel before
//! anything else (see [`prover`] for the whole transcript).
//!
//! ## Program hash and AIR descriptor
//! `program_hash` is an *input* to the prover: it is the class hash of the Cairo verifier
//! contract for this AIR, which the registry reaches with `library_call(program_hash, ...)`
//! (the registry owner vets which classes may be used). The verifier class hard-codes
//! [`params::air_descriptor_digest`] — `poseidon_hash_many` over a canonical description of
//! the AIR (version, column and fraction counts, limb layout, range table size, channel) and
//! the PCS parameters (blowup, queries, proof-of-work, FRI last layer and fold step) — plus
//! the preprocessed range-table root for those parameters ([`prover::preprocessed_root`]).
//! Every proof mixes the digest into its transcript, so a proof made for another AIR or other
//! parameters fails to verify; and since `program_hash` is part of the public input the proof
//! is bound to the verifier class the registry called. Together: class hash -> verifier code ->
//! descriptor digest -> the AIR the prover used.
//!
//! ## AIR
//! See [`air`]: one transfer per row, 58 columns, balances as 8 limbs of 16 bits range-checked
//! through a 2^16-entry preprocessed table with LogUp; the state argument is a LogUp over
//! `TokenState(slot_index, token_index, limbs)`.
//!
//! Identifiers: felt252 slots do not fit M31, so a slot is named by its index in the (strictly
//! sorted, hence duplicate-free) input list, and its token by the rank of its contract among
//! the distinct contracts of the input list (the list is sorted by contract first). Both are
//! derived by the verifier from the public lists; every output slot must be an input slot, and
//! an input slot missing from the outputs keeps its value (it enters the final state
//! explicitly, its `+1` and `-1` cancel).
//!
//! ## Soundness argument (state consistency)
//! The verifier sets the transfer component's LogUp sum to `boundary - range_sum`, with
//! `boundary = sum_s 1/d(s, after_s) - 1/d(s, before_s)`. With random `(z, alpha)` drawn after
//! the main trace is committed, LogUp gives (except with probability about
//! `(#fractions) / |QM31| ~ 2^-100`) the multiset identity
//! `Inputs + Produced = Final + Consumed`, where each enabled row consumes
//! `(from, t, a), (to, t, b)` and produces `(from, t, a - x), (to, t, b + x)`.
//! - Multiplicities are `enabled` in {0,1} (boolean constraint) and all counts are far below
//!   the M31 modulus, so the field identity is an integer multiset identity.
//! - Range: every produced value has range-checked 16-bit limbs; inputs are checked `< 2^128`
//!   by the verifier; the limb equations with boolean borrows/carries and no top borrow/carry
//!   then hold over the integers: `a - x = a'`, `b + x = b'`, `0 <= a', b' < 2^128`, so no
//!   underflow (overspend) or overflow.
//! - Conservation per token: restrict the identity to tuples with token `t` and sum the values:
//!   each row consumes and produces the same total for its single token column, so
//!   `sum(Inputs_t) = sum(Final_t)`. Cycles (rows consuming tuples produced by other rows, or
//!   tuples never tied to an input) and duplicated slot indices in rows therefore cannot create
//!   or destroy balance; a self transfer (`from = to`) nets to no change. A row cannot move
//!   value across tokens: its four tuples share one token column, and the verifier assigns
//!   each public slot its token.
//! - Padding rows (`enabled = 0`) contribute nothing to the state relation; their range
//!   look-ups are counted in the table's multiplicities like any other.
//! - Hence the output list is reachable from the input list by a sequence of valid transfers
//!   (non-negative, in-range balances, per-token conservation). NOT proven: that a transfer was
//!   authorized by the sender (no signatures in this AIR) — the thread's prover allowlist /
//!   batcher is trusted for that; and the transaction list itself is not a public input (the
//!   state diff is what settles).
//!
//! ## Cost and where we are (measured with `zkthread bench prove`, release, 2 cores shared
//! with other builds, load average 5-8 — numbers are pessimistic)
//! - Poseidon252, 2^16 transfers, 96 bits: blowup 2^1 x 80 queries: 28 s (140k transfers/min),
//!   6,374 felts; **2^2 x 40 (default): 47-52 s (76-83k/min), 3,988 felts**; 2^4 x 20: ~600 s,
//!   2,582 felts. Blake2s (for the record), 2^4 x 20: 7.5 s, 4,415 felts (2 felts per hash).
//! - Poseidon Merkle hashing of the blown-up trace dominates: every tree is lifted to the
//!   largest column, and the range table fixes a floor of 2^16 rows, so small sub-blocks cost
//!   about as much as 2^16 transfers. A smaller table (e.g. 12-bit limbs with a shifted check
//!   of the top limb) would lower the floor at the price of more columns.
//!
//! ## Security count
//! `log_blowup * n_queries + pow_bits` >= 96 ([`params::StarkParams::DEFAULT`]): **96 bits
//! conjectured**, under the ethSTARK / stwo conjecture that FRI over a Reed-Solomon code of
//! rate 2^-log_blowup errs with probability 2^-log_blowup per query, as stwo's own security
//! count assumes. What is proven (the Johnson-bound analysis) is about half the query bits:
//! ~2.5 x 16 + 16 = ~56 bits for `SIGNED_PARAMS` (2^5 x 16 + 16). LogUp and OODS errors are
//! bounded by the QM31 field (~2^124) over the number of fractions and the constraint degree:
//! with ~2^19 fractions of up to 28 values a LogUp draw errs with ~2^-100, close to, not far
//! below, the claimed level; nothing here counts them into the 96.

pub mod air;
pub mod auth;
pub mod batcher;
pub mod channel;
pub mod hades;
pub mod model;
pub mod params;
pub mod poseidon252_channel;
pub mod poseidon252_merkle;
pub mod poseidon2;
pub mod program;
pub mod prover;
pub mod public_input;
pub mod range;
pub mod role;
pub mod serialize;
pub mod statement;
pub mod trace;

pub use batcher::{Batch, BatchError, Batcher, StrictBatchError, TransferRejected};
pub use channel::ThreadChannel;
pub use model::{Slot, SlotValue, SubBlock, Transfer};
pub use params::{air_descriptor_digest, StarkParams};
pub use prover::{prove, verify, ProveError, ThreadProof, VerifyError};
pub use public_input::{contract_set_commitment, PublicInput, StatementError};
pub use serialize::{
    program_proof_from_felts, program_proof_to_felts, proof_from_felts, proof_to_felts, DecodeError,
};
pub use stwo::core::vcs_lifted::blake2_merkle::Blake2sMerkleChannel;
// This crate's Poseidon252 channel: the proofs of stwo's `Poseidon252MerkleChannel`, built
// faster (see `poseidon252_merkle`).
pub use poseidon252_channel::ThreadPoseidon252Channel;
pub use poseidon252_merkle::Poseidon252MerkleChannel;
