//! Proof parameters and the AIR descriptor digest.

use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;
use stwo::core::fri::FriConfig;
use stwo::core::pcs::PcsConfig;

use crate::air::{
    LIMB_BITS, N_LIMBS, RANGE_LOG_SIZE, STATE_TUPLE, TRANSFER_COLUMNS, TRANSFER_FRACTIONS,
    TRANSFER_INTERACTION_COLUMNS,
};

/// Version of the AIR below (bump on any change of columns, constraints or fraction order).
pub const AIR_VERSION: u64 = 1;

/// FRI / proof-of-work parameters of a proof.
///
/// Conjectured security (bits) = `log_blowup * n_queries + pow_bits` (the usual
/// "ethSTARK conjecture" count that stwo's `PcsConfig::security_bits` uses); the field is the
/// degree-4 extension of M31 (124 bits), so the algebraic parts are not the bottleneck.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StarkParams {
    pub log_blowup: u32,
    pub n_queries: u32,
    pub pow_bits: u32,
    pub log_last_layer_degree_bound: u32,
    pub fold_step: u32,
}

impl StarkParams {
    /// The parameters of OS version 1 (the default for real proofs): 2 * 40 + 16 = 96
    /// conjectured bits, proof-of-work kept at 16 bits (Poseidon grinding is slow).
    /// Chosen from `zkthread bench prove` at 2^16 transfers (Poseidon252, loaded 2-core box):
    /// blowup 2^1 x 80 queries: 28 s, 6,374 felts (too big); 2^2 x 40: 52 s, 3,988 felts;
    /// 2^4 x 20: ~600 s, 2,582 felts (Poseidon Merkle hashing of the blown-up trace dominates).
    /// 2^2 x 40 is the smallest blowup whose proof fits the 5,000-felt calldata bound.
    pub const DEFAULT: StarkParams = StarkParams {
        log_blowup: 2,
        n_queries: 40,
        pow_bits: 16,
        log_last_layer_degree_bound: 3,
        fold_step: 3,
    };

    /// Cheap parameters for tests only (8 + 2 + 5 = far below 96 bits).
    pub const INSECURE_TEST: StarkParams = StarkParams {
        log_blowup: 1,
        n_queries: 5,
        pow_bits: 2,
        log_last_layer_degree_bound: 2,
        fold_step: 1,
    };

    pub const fn security_bits(&self) -> u32 {
        self.log_blowup * self.n_queries + self.pow_bits
    }

    pub fn pcs_config(&self) -> PcsConfig {
        self.pcs_config_with_last_layer(self.log_last_layer_degree_bound)
    }

    /// The last FRI layer's log degree bound for a proof whose tallest committed columns
    /// have `2^max_log` rows (before the blowup): the configured bound, lowered to
    /// `max_log - fold_step` where the first fold would otherwise leave a line domain smaller
    /// than the last layer's (stwo refuses to commit that). A function of the trace height
    /// the verifier reads from the proof, so prover and verifier agree; security does not
    /// depend on it (`log_blowup * n_queries + pow_bits`).
    pub fn last_layer_bound_at(&self, max_log: u32) -> u32 {
        self.log_last_layer_degree_bound.min(max_log.saturating_sub(self.fold_step))
    }

    /// [`Self::pcs_config`] at the last layer bound for a trace of height `2^max_log`
    /// ([`Self::last_layer_bound_at`]).
    pub fn pcs_config_at(&self, max_log: u32) -> PcsConfig {
        self.pcs_config_with_last_layer(self.last_layer_bound_at(max_log))
    }

    fn pcs_config_with_last_layer(&self, log_last_layer_degree_bound: u32) -> PcsConfig {
        PcsConfig {
            pow_bits: self.pow_bits,
            fri_config: FriConfig::new(
                log_last_layer_degree_bound,
                self.log_blowup,
                self.n_queries as usize,
                self.fold_step,
            ),
            lifting_log_size: None,
        }
    }
}

impl Default for StarkParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A felt from a short ASCII string (Cairo short-string encoding, big-endian, <= 31 bytes).
pub fn short_string(s: &str) -> Felt {
    assert!(s.len() <= 31 && s.is_ascii());
    Felt::from_bytes_be_slice(s.as_bytes())
}

/// The canonical description of the AIR and proof parameters, as felts.
pub fn air_descriptor(params: &StarkParams, channel: &str) -> Vec<Felt> {
    [
        short_string("zkthreads/token-transfer-air"),
        Felt::from(AIR_VERSION),
        short_string(channel),
        Felt::from(LIMB_BITS),
        Felt::from(N_LIMBS as u64),
        Felt::from(TRANSFER_COLUMNS as u64),
        Felt::from(TRANSFER_FRACTIONS as u64),
        Felt::from(TRANSFER_INTERACTION_COLUMNS as u64),
        Felt::from(STATE_TUPLE as u64),
        Felt::from(RANGE_LOG_SIZE),
        Felt::from(params.log_blowup),
        Felt::from(params.n_queries),
        Felt::from(params.pow_bits),
        Felt::from(params.log_last_layer_degree_bound),
        Felt::from(params.fold_step),
    ]
    .to_vec()
}

/// `poseidon_hash_many(air_descriptor)`: hard-coded in the generated Cairo verifier and mixed
/// into every proof's transcript.
pub fn air_descriptor_digest(params: &StarkParams, channel: &str) -> Felt {
    poseidon_hash_many(&air_descriptor(params, channel))
}

#[cfg(test)]
mod tests {
    use super::StarkParams;

    #[test]
    fn last_layer_bound_is_lowered_only_where_the_first_fold_needs_it() {
        let p = StarkParams { log_blowup: 5, n_queries: 16, pow_bits: 16, log_last_layer_degree_bound: 6, fold_step: 3 };
        // Smallest signed height (2^8): the first fold leaves a 2^10 line domain, the last
        // layer's must not be larger: 2^(5 + 5).
        assert_eq!(p.last_layer_bound_at(8), 5);
        assert_eq!(p.last_layer_bound_at(9), 6);
        assert_eq!(p.last_layer_bound_at(16), 6);
        assert_eq!(p.pcs_config_at(8).fri_config.log_last_layer_degree_bound, 5);
        assert_eq!(p.pcs_config_at(12), p.pcs_config());
        // Security is the configured one at every height.
        for h in 8..=16 {
            assert_eq!(p.pcs_config_at(h).security_bits(), p.security_bits());
        }
    }
}
