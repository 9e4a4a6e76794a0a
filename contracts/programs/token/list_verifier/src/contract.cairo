//! `ListVerifier`: the class whose hash is a token list thread's `program_hash`. No storage;
//! its one call out is a library call of the list AIR's class `ListAir`
//! (`generated_air_class::LIST_AIR_CLASS_HASH`, a constant of this class's code, so this
//! class's hash commits to the AIR class; never a hash from calldata or storage). The registry
//! calls `verify(public_input, proof)` with its own public input `[os, program, thread,
//! sequence, commitment, lists]`; the class inserts the chain id and its caller (the registry)
//! with `signed_verifier::statement::with_context` (`signed_public_input`) — a proof made for
//! another chain or registry does not verify here — and verifies at whichever of the two
//! shipped (96-bit) parameter sets the proof names (`generated_params::accepted_list_params`:
//! the cheapest to verify, and one with half the prover's hashing).

/// Why a proof is refused, for clients and tests (the registry only asks `verify`).
#[starknet::interface]
pub trait IListVerifierDiagnostics<TContractState> {
    /// 0 if `verify` accepts (for the same caller), otherwise the first check that failed
    /// (e.g. 'verifier: params mismatch', 'verifier: pcs').
    fn rejection(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> felt252;
}

/// The list AIR's class this verifier library-calls: the generated constant (the harness
/// compiles `ListAir` and writes its Sierra class hash, `generated_air_class.cairo`).
pub fn air_class() -> starknet::ClassHash {
    crate::generated_air_class::LIST_AIR_CLASS_HASH.try_into().unwrap()
}

#[starknet::contract]
pub mod ListVerifier {
    use signed_verifier::contract::signed_public_input;
    use thread::interface::IThreadVerifier;
    use crate::generated_params::accepted_list_params;
    use crate::verifier::verify_list_proof;
    use super::air_class;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl ListVerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            verify_list_proof(
                signed_public_input(public_input), proof, accepted_list_params(), air_class(),
            )
                .is_ok()
        }
    }

    #[abi(embed_v0)]
    impl DiagnosticsImpl of super::IListVerifierDiagnostics<ContractState> {
        fn rejection(
            self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>,
        ) -> felt252 {
            match verify_list_proof(
                signed_public_input(public_input), proof, accepted_list_params(), air_class(),
            ) {
                Result::Ok(()) => 0,
                Result::Err(reason) => reason,
            }
        }
    }
}
