//! `SignedVerifier`: the class whose hash is a signed-transfer thread's `program_hash`. No
//! storage; its one call out is a library call of the signed AIR's class `SignedAir`
//! (`generated_air_class::SIGNED_AIR_CLASS_HASH`, a constant of this class's code, so this
//! class's hash commits to the AIR class; never a hash from calldata or storage). The registry calls `verify(public_input, proof)` with its own public
//! input `[os, program, thread, sequence, commitment, lists]`; the class inserts the chain id
//! and its caller (the registry) with `statement::with_context` — a proof signed for another
//! chain or registry does not verify here — and verifies with the shipped (`signed::SIGNED_PARAMS`, 96-bit)
//! parameters (`generated_params::default_signed_params`).

/// Why a proof is refused, for clients and tests (the registry only asks `verify`).
#[starknet::interface]
pub trait ISignedVerifierDiagnostics<TContractState> {
    /// 0 if `verify` accepts (for the same caller), otherwise the first check that failed
    /// (e.g. 'verifier: params mismatch', 'verifier: pcs').
    fn rejection(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> felt252;
}

/// The signed public input of `registry_public_input` in this call: chain id of the
/// transaction, registry = the caller.
pub fn signed_public_input(registry_public_input: Span<felt252>) -> Span<felt252> {
    let chain_id = starknet::get_tx_info().unbox().chain_id;
    let registry: felt252 = starknet::get_caller_address().into();
    crate::statement::with_context(registry_public_input, chain_id, registry)
}

/// The signed AIR's class this verifier library-calls: the generated constant (the harness
/// compiles `SignedAir` and writes its Sierra class hash, `generated_air_class.cairo`).
pub fn air_class() -> starknet::ClassHash {
    crate::generated_air_class::SIGNED_AIR_CLASS_HASH.try_into().unwrap()
}

#[starknet::contract]
pub mod SignedVerifier {
    use thread::interface::IThreadVerifier;
    use crate::generated_params::default_signed_params;
    use crate::verifier::verify_signed_proof;
    use super::{air_class, signed_public_input};

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl SignedVerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            verify_signed_proof(
                signed_public_input(public_input), proof, @default_signed_params(), air_class(),
            )
                .is_ok()
        }
    }

    #[abi(embed_v0)]
    impl DiagnosticsImpl of super::ISignedVerifierDiagnostics<ContractState> {
        fn rejection(
            self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>,
        ) -> felt252 {
            match verify_signed_proof(
                signed_public_input(public_input), proof, @default_signed_params(), air_class(),
            ) {
                Result::Ok(()) => 0,
                Result::Err(reason) => reason,
            }
        }
    }
}
