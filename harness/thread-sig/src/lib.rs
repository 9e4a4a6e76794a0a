//! # zkthread-sig: thread keys and one-time signatures over Poseidon2-M31
//!
//! The native side of signed thread transfers (`docs/signed-transfers.md`): a target-sum
//! Winternitz one-time signature (TS-WOTS, the construction of leanSig, ePrint 2025/055) over
//! Plonky3's width-16 Poseidon2 for Mersenne-31, the felt <-> M31 encodings the token program
//! uses, and the key file a client signs from.
//!
//! - [`field::M31`]: canonical `u32`-backed field element at every API edge (`to_u32` /
//!   `from_u32`), so an AIR over stwo's M31 reads the same values bit for bit.
//! - [`hash`]: `permute` = `default_mersenne31_poseidon2_16()` (p3 `=0.8.0`), `compress(x) =
//!   P(x) + x`. No constant in this crate is ours except the domain-separation tags 1..7.
//! - [`wots`]: key derivation, commitment, the [`wots::Message`] layout every program's signed
//!   messages share (the framework's domain, signer, nonce and next key around a program's
//!   16-element payload; [`wots::TransferMessage`] is the token's), [`wots::sign`], [`wots::verify`], and
//!   [`wots::verify_trace`] returning every intermediate value (digest and its sponge states,
//!   digits, each chain step with its full permutation output, key-sponge states) for the AIR.
//! - [`tx_list`]: the commitment to a sub-block's ordered transfer list (a sponge over the
//!   transfers' message digests) that the proof binds and the registry publishes.
//! - [`domain`]: transfer domain `D`, account ids, key-slot packing, storage keys.
//! - [`keystore::Wallet`]: the key file; the only intended way to sign.
//!
//! ## Parameters
//! `V = 64` chains of `W = 4` positions (digits 0..3), target sum `T = 104`, chain values and
//! key commitments of 4 elements (124 bits), seed of 8 elements (248 bits), `rho` of 3
//! (93 bits). Signature: 263 elements. Verification: 88 chain steps + 32 key-sponge + 4 digest
//! permutations = 124 permutations. `P[sum = 104] = 2.99%`: ~33.4 `rho` draws per signature.
//!
//! ## Security argument (classical; generic attacks on Poseidon2-M31)
//! Assumption: the width-16 Poseidon2-M31 permutation with Plonky3's round numbers (4+4 full,
//! 14 partial; chosen by Plonky3 for 128-bit security) has no structure an attacker can use
//! beyond generic ones, so its truncated feed-forward compression and overwrite sponges with
//! 8-element (248-bit) capacity behave as random functions for (second) preimage search.
//! Every hash call is tweaked — tag, and for chains `(pp, i, j)`, for the digest `K` — so no
//! attacker query serves two targets (no multi-target speed-up across chains, keys or users).
//!
//! After seeing one signature `(rho, pp, s)` on `m` under `K`, an existential forgery on
//! `m' != m` under the same `K` needs one of:
//! - **the same digits**: a digit vector `x' >= x` componentwise with the same sum is `x`
//!   itself, so `(m', rho')` must give the 64 digits of `x` exactly: the digits are the low 16
//!   bits of 8 sponge outputs (128 bits, bias < 2^-15 per element), ~2^128 digest evaluations,
//!   and only under this `K` (it is the digest's capacity);
//! - **a chain inversion**: some `x'[i] < x[i]` needs a value at position `x'[i]` that walks to
//!   `e[i]`: a (second) preimage of a 124-bit truncated tweaked compression, ~2^124;
//! - **another opening of `K`**: `(pp', ends')` with the same sponge output, ~2^124.
//!
//! So ~124 bits classical (Grover would halve this: no post-quantum claim is made at 124),
//! above the proof system's 96, which stays the weakest link. `rho` is chosen by the signer
//! after the message, so digest collisions prepared by a message-chooser (e.g. a recipient
//! proposing the transfer) only help with probability 2^-93 per prepared pair.
//!
//! **One-time**: two signatures under one key reveal two positions per chain; every message
//! whose digits dominate the componentwise minimum becomes forgeable. The chain enforces one
//! settled signature per key (the AIR rotates the key slot to the signed `K_next` and bumps the
//! nonce); the client must enforce one *produced* signature per key index.
//!
//! ## What a client must never do
//! - sign two different messages with one key index (use [`keystore::Wallet`]: it persists the
//!   index advance before returning a signature, under a file lock);
//! - restore, copy or sync a key file (a restored file reissues used indices), or use one seed
//!   on two machines; if the counter is lost, generate a new seed;
//! - register (`set_thread_key`) the commitment of an index that has signed anything;
//!   [`keystore::Wallet::current_commitment`] is always unused;
//! - import a seed from elsewhere or derive it from a password (the seed must be 248 uniform
//!   bits; [`wots::KeySeed::generate`] uses the OS CSPRNG);
//! - treat a signature as revocable: a pending signed transfer stays valid until the key slot
//!   moves (its settlement, or a `set_thread_key` rotation, which makes it stale).
//!
//! Signing is deterministic (`rho` from a PRF keyed by the seed and index over the message and
//! a counter), so re-signing the *same* message with one index reproduces the same signature
//! instead of revealing a second one, and no RNG is needed at signing time.

pub mod domain;
pub mod field;
pub mod hash;
#[cfg(feature = "keystore")]
pub mod keystore;
pub mod transfer_list;
pub mod tx_list;
pub mod wots;

#[cfg(test)]
mod wots_tests;

pub use domain::{
    account_id, account_id_wide, balance_slot_key, limbs4, pack_key_slot, storage_var_key, thread_key_slot_key, transfer_domain,
    unpack_key_slot, unpack_statement_key_slot, AccountId, KeySlotError, KEY_NONCE_BOUND,
};
pub use field::{NotCanonical, M31};
pub use hash::{compress, permute, State};
pub use transfer_list::{ListedTransfer, TransferListCommitment, TransferListMessage};
pub use tx_list::{signed_message_digest, transfer_digest, TxDigest, TxListCommitment, TxListError};
#[cfg(feature = "keystore")]
pub use keystore::{KeystoreError, SignedMessage, SignedTransfer, TransferDraft, Wallet};
pub use wots::{
    check_consumable_nonce, check_signable, commitment, digest_in_range, message_blocks, sign, verification_trace, verify, verify_trace,
    KeyCommitment, KeySeed, Message, MessageBlocks, MessageError, OneTimeKey, DIGEST_ELEMENT_BOUND,
    PAYLOAD_LEN, SignError, Signature, SignatureError, TransferMessage, VerificationTrace,
};
