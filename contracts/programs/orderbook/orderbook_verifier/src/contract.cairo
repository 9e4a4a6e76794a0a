//! `OrderBookVerifier`: the class whose hash is an order-book thread's `program_hash`. No
//! storage; its calls out are library calls of the order book's AIR classes
//! `OrderBookFillAir` and `OrderBookAir` (`generated_air_class`: constants of this class's
//! code, so this class's hash commits to them; never hashes from calldata or storage). The registry
//! calls `verify(public_input, proof)` with its own public input; the class inserts the chain
//! id and its caller (the registry) — a proof made for another chain or registry does not
//! verify here — and verifies with the shipped 96-bit parameters
//! (`generated_params::default_orderbook_params`).

/// Why a proof is refused, for clients and tests (the registry only asks `verify`).
#[starknet::interface]
pub trait IOrderBookVerifierDiagnostics<TContractState> {
    /// 0 if `verify` accepts (for the same caller), otherwise the first check that failed
    /// (e.g. 'book: not a book', 'verifier: pcs').
    fn rejection(self: @TContractState, public_input: Span<felt252>, proof: Span<felt252>) -> felt252;
}

/// The public input of `registry_public_input` in this call: chain id of the transaction,
/// registry = the caller.
pub fn orderbook_public_input(registry_public_input: Span<felt252>) -> Span<felt252> {
    let chain_id = starknet::get_tx_info().unbox().chain_id;
    let registry: felt252 = starknet::get_caller_address().into();
    thread_statement::header::with_context(registry_public_input, chain_id, registry)
}

/// The AIR classes this verifier library-calls, the fill's first: the generated constants
/// (the harness compiles `OrderBookFillAir` and `OrderBookAir` and writes their Sierra class
/// hashes, `generated_air_class.cairo`).
pub fn air_classes() -> Span<starknet::ClassHash> {
    array![
        crate::generated_air_class::ORDERBOOK_FILL_AIR_CLASS_HASH.try_into().unwrap(),
        crate::generated_air_class::ORDERBOOK_AIR_CLASS_HASH.try_into().unwrap(),
    ]
        .span()
}

#[starknet::contract]
pub mod OrderBookVerifier {
    use thread::interface::IThreadVerifier;
    use crate::generated_params::default_orderbook_params;
    use crate::verifier::verify_orderbook_proof;
    use super::{air_classes, orderbook_public_input};

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl OrderBookVerifierImpl of IThreadVerifier<ContractState> {
        fn verify(self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>) -> bool {
            verify_orderbook_proof(
                orderbook_public_input(public_input), proof, @default_orderbook_params(), air_classes(),
            )
                .is_ok()
        }
    }

    #[abi(embed_v0)]
    impl DiagnosticsImpl of super::IOrderBookVerifierDiagnostics<ContractState> {
        fn rejection(
            self: @ContractState, public_input: Span<felt252>, proof: Span<felt252>,
        ) -> felt252 {
            match verify_orderbook_proof(
                orderbook_public_input(public_input), proof, @default_orderbook_params(), air_classes(),
            ) {
                Result::Ok(()) => 0,
                Result::Err(reason) => reason,
            }
        }
    }
}
