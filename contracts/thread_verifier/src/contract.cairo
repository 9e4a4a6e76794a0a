//! `ThreadVerifier`: the class whose hash is a token-transfer thread's `program_hash`. No
//! storage, no calls out; `verify` returns true only after the full proof verification with the
//! OS-version-1 parameters (`generated_params::default_params`).

/// Why a proof is refused, for clients and tests (the registry only asks `verify`).
#[starknet::interface]
pub trait IThreadVerifierDiagnostics<TContractState> {
    /// 0 if `verify` accepts, otherwise the first check that failed (e.g.
    /// 'statement: unbound slot', 'verifier: pcs').
    fn rejection(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> felt252;
}

#[starknet::contract]
pub mod ThreadVerifier {
    use thread::interface::IThreadVerifier;
    use crate::generated_params::default_params;
    use crate::verifier::verify_thread_proof;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl ThreadVerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            verify_thread_proof(public_input, proof, @default_params()).is_ok()
        }
    }

    #[abi(embed_v0)]
    impl DiagnosticsImpl of super::IThreadVerifierDiagnostics<ContractState> {
        fn rejection(
            self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>,
        ) -> felt252 {
            match verify_thread_proof(public_input, proof, @default_params()) {
                Result::Ok(()) => 0,
                Result::Err(reason) => reason,
            }
        }
    }
}
