//! `SignedAirProbe`: a class whose only entry point evaluates the signed AIR's composition at
//! the OODS point from calldata, so the evaluation's CASM size is measured the way a verifier
//! class would carry it (`harness/air-codegen/tests/signed_air_size.rs`). Never deployed.

#[starknet::contract]
pub mod SignedAirProbe {
    use stark_verifier::circle::CirclePoint;
    use stark_verifier::fields::{QM31, QM31Trait};
    use thread_verifier::lookup::LookupElements;
    use crate::generated_air::{
        LINK_RELATION_SIZE, MASK_SHAPE_RUNS, POSEIDON2_RELATION_SIZE, RANGE_CHECK_RELATION_SIZE,
        STATE_RELATION_SIZE, SignedAirParams, eval_composition_at_point, mask_shape_ok,
    };
    use crate::layout::mask_from_words_with;

    #[storage]
    struct Storage {}

    fn q(words: Span<u32>, at: u32) -> QM31 {
        QM31Trait::from_u32_unchecked(*words[at], *words[at + 1], *words[at + 2], *words[at + 3])
    }

    /// `(z, alpha)` at `at` with `n` powers of alpha.
    fn relation(words: Span<u32>, at: u32, n: u32) -> LookupElements {
        let alpha = q(words, at + 4);
        let mut powers: Array<QM31> = array![];
        let mut current = QM31Trait::from_u32_unchecked(1, 0, 0, 0);
        while powers.len() != n {
            powers.append(current);
            current = current * alpha;
        };
        LookupElements { z: q(words, at), alpha, alpha_powers: powers.span() }
    }

    /// `header`: point x, y, random_coeff, then (z, alpha) of the four relations, then the seven
    /// claimed sums (QM31s as 4 words each); `log_sizes`: the seven components' log sizes and
    /// `max_log_degree_bound`; `mask`: the sampled values' coordinates in proof order.
    #[external(v0)]
    fn composition(
        self: @ContractState, header: Span<u32>, log_sizes: Span<u32>, mask: Span<u32>,
    ) -> (u32, u32, u32, u32) {
        assert(header.len() == 4 * (3 + 8 + 7) && log_sizes.len() == 8, 'probe: header');
        let mask = thread_verifier::oods::mask_coordinates(
            mask_from_words_with(mask, MASK_SHAPE_RUNS.span()),
        );
        assert(mask_shape_ok(mask), 'probe: mask shape');
        let params = SignedAirParams {
            state_relation: relation(header, 12, STATE_RELATION_SIZE),
            link_relation: relation(header, 20, LINK_RELATION_SIZE),
            poseidon2_relation: relation(header, 28, POSEIDON2_RELATION_SIZE),
            range_check_relation: relation(header, 36, RANGE_CHECK_RELATION_SIZE),
            signed_transfer_claimed_sum: q(header, 44),
            signed_transfer_log_size: *log_sizes[0],
            chain_step_claimed_sum: q(header, 48),
            chain_step_log_size: *log_sizes[1],
            digest_sponge_claimed_sum: q(header, 52),
            digest_sponge_log_size: *log_sizes[2],
            key_sponge_claimed_sum: q(header, 56),
            key_sponge_log_size: *log_sizes[3],
            tx_list_claimed_sum: q(header, 60),
            tx_list_log_size: *log_sizes[4],
            poseidon2_claimed_sum: q(header, 64),
            poseidon2_log_size: *log_sizes[5],
            range_table_claimed_sum: q(header, 68),
            range_table_log_size: *log_sizes[6],
        };
        let point = CirclePoint { x: q(header, 0), y: q(header, 4) };
        let value = eval_composition_at_point(point, mask, q(header, 8), @params, *log_sizes[7]);
        let [a, b, c, d] = value.to_m31_array();
        (a.inner, b.inner, c.inner, d.inner)
    }
}
