//! The signed proof's calldata form (harness/thread-prover/src/serialize.rs,
//! `signed_proof_to_felts`): `[n_owners, owner * n_owners, n_m31, packed_m31 * ceil(n_m31 / 8),
//! hash_felt *]`, as the thread proof with the header `log_sizes (6), claimed_sums (6 x QM31)`
//! at the start of the M31 stream. Owners are split by `thread_verifier::proof::split_slot_owners`
//! and the stark part by the shared `thread_verifier::proof::parse_stark_proof`.

use stark_verifier::fields::QM31;
use stark_verifier::fields::qm31::Coordinates;
use stark_verifier::fri::FriLayerProof;
use thread_verifier::proof::parse_stark_proof;

/// Components with a size chosen by the prover (transfer, chain step, digest, key sponge,
/// tx list, Poseidon2), the prover's `SIZED_COMPONENTS`.
pub const SIZED_COMPONENTS: u32 = 6;

/// stwo's `CommitmentSchemeProof` + the signed proof's own fields, decoded.
#[derive(Drop, Copy)]
pub struct SignedProof {
    /// Log sizes of transfer, chain step, digest, key sponge, Poseidon2 (counts <= 2^24).
    pub log_sizes: Span<u32>,
    /// Claimed LogUp sums of chain step, digest, key sponge, Poseidon2, range table.
    pub claimed_sums: Span<QM31>,
    pub pow_bits: u32,
    pub log_blowup: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    pub lifting: u32,
    pub commitments: Span<felt252>,
    /// Per tree, per column, the values at the column's sample points (canonical
    /// coordinates).
    pub sampled_values: Span<Span<Span<Coordinates>>>,
    /// Per tree, the Merkle hash witness.
    pub decommitments: Span<Span<felt252>>,
    /// Per tree, per column, the values at the query positions.
    pub queried_values: Span<Span<Span<felt252>>>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

/// Decodes the STARK part of a signed proof (after the owners); Err(reason) on any malformed
/// input (never panics on hostile calldata).
pub fn parse_signed_proof(felts: Span<felt252>) -> Result<SignedProof, felt252> {
    let (log_sizes, claimed_sums, s) = parse_stark_proof(felts, SIZED_COMPONENTS, SIZED_COMPONENTS)?;
    Result::Ok(
        SignedProof {
            log_sizes,
            claimed_sums,
            pow_bits: s.pow_bits,
            log_blowup: s.log_blowup,
            log_last_layer_degree_bound: s.log_last_layer_degree_bound,
            n_queries: s.n_queries,
            fold_step: s.fold_step,
            lifting: s.lifting,
            commitments: s.commitments,
            sampled_values: s.sampled_values,
            decommitments: s.decommitments,
            queried_values: s.queried_values,
            proof_of_work: s.proof_of_work,
            fri_first_layer: s.fri_first_layer,
            fri_inner_layers: s.fri_inner_layers,
            fri_last_layer_poly: s.fri_last_layer_poly,
        },
    )
}
