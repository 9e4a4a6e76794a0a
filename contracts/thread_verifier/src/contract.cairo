//! `ThreadVerifier`: the class whose hash is a token-transfer thread's `program_hash`. No
//! storage; `verify` returns true only after the full proof verification with the OS-version-1
//! parameters (`generated_params::default_params`).

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
}
