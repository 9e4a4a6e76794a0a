//! The `ListVerifier` class as the registry reaches it. Its shipped parameters are two sets,
//! the token's `signed::SIGNED_PARAMS` (2^5 x 16 + 16 = 96 bits) and
//! `list_prover::LIST_FAST_PARAMS` (2^4 x 20 + 16), and the committed list proof
//! vector uses light test parameters, so: the deployed class refuses that weaker proof
//! ('verifier: params mismatch'); the context it inserts is the transaction's chain id and its
//! caller, with which the registry-side public input becomes the vector's signed public input
//! and the proof verifies under its own (test) parameters.

use starknet::syscalls::deploy_syscall;
use starknet::SyscallResultTrait;
use thread::interface::{IThreadVerifierDispatcher, IThreadVerifierDispatcherTrait};
use crate::contract::{
    IListVerifierDiagnosticsDispatcher, IListVerifierDiagnosticsDispatcherTrait, ListVerifier,
};
use signed_verifier::contract::signed_public_input;
use crate::generated_params::{accepted_list_params, default_list_params, fast_list_params};
use crate::verifier::verify_list_proof;
use super::air;
use super::list_proof_vector::{proof, public_input, test_params};

/// Chain id and registry of the vector's statement (`list_proof_vector.rs`).
const CHAIN_ID: felt252 = 'SN_SEPOLIA';
const REGISTRY: felt252 = 0x4e6;

fn instance() -> starknet::ContractAddress {
    let class_hash = ListVerifier::TEST_CLASS_HASH.try_into().unwrap();
    let (address, _) = deploy_syscall(class_hash, 0, array![].span(), false).unwrap_syscall();
    address
}

/// The registry-side public input: the vector's signed public input without chain id and
/// registry (entries 2 and 3).
fn registry_public_input() -> Span<felt252> {
    let pi = public_input();
    assert(*pi[2] == CHAIN_ID && *pi[3] == REGISTRY, 'vector context');
    let mut out: Array<felt252> = array![];
    let mut i = 0;
    while i != pi.len() {
        if i != 2 && i != 3 {
            out.append(*pi[i]);
        }
        i += 1;
    };
    out.span()
}

/// The calls come from the registry on the vector's chain.
fn as_registry() {
    starknet::testing::set_chain_id(CHAIN_ID);
    starknet::testing::set_caller_address(REGISTRY.try_into().unwrap());
    starknet::testing::set_contract_address(REGISTRY.try_into().unwrap());
}

#[test]
fn shipped_params_are_the_two_list_sets_not_the_vectors() {
    let accepted = accepted_list_params();
    assert(accepted.len() == 2, 'two sets');
    let (cheap, fast) = (*accepted[0], *accepted[1]);
    assert(cheap == default_list_params() && fast == fast_list_params(), 'order');
    assert(cheap.log_blowup == 5 && cheap.n_queries == 16 && cheap.pow_bits == 16, 'SIGNED_PARAMS');
    assert(fast.log_blowup == 4 && fast.n_queries == 20 && fast.pow_bits == 16, 'LIST_FAST_PARAMS');
    for p in accepted {
        assert(*p.log_blowup * *p.n_queries + *p.pow_bits >= 96, '96 bits');
        assert(*p != test_params(), 'shipped == test params');
    };
    // Each set names itself in the transcript, and its blowup has its own range-table roots.
    assert(cheap.signed_air_digest != fast.signed_air_digest, 'one digest for two sets');
    assert(*cheap.preprocessed_roots[0] != *fast.preprocessed_roots[0], 'one root for two sets');
}

#[test]
fn context_is_the_chain_id_and_the_caller() {
    as_registry();
    assert(signed_public_input(registry_public_input()) == public_input(), 'context');
    // Another caller, another statement.
    starknet::testing::set_caller_address(0x4e7.try_into().unwrap());
    let other = signed_public_input(registry_public_input());
    assert(*other[3] == 0x4e7 && other != public_input(), 'caller not used');
    starknet::testing::set_chain_id('SN_MAIN');
    assert(*signed_public_input(registry_public_input())[2] == 'SN_MAIN', 'chain id not used');
}

#[test]
#[available_gas(100000000000)]
fn registry_side_input_with_context_verifies_under_the_vectors_params() {
    as_registry();
    let result = verify_list_proof(
        signed_public_input(registry_public_input()), proof(), array![test_params()].span(), air(),
    );
    assert_eq!(result, Result::Ok(()));
}

#[test]
#[available_gas(100000000000)]
fn deployed_verifier_refuses_the_light_param_proof() {
    let address = instance();
    as_registry();
    let diagnostics = IListVerifierDiagnosticsDispatcher { contract_address: address };
    assert_eq!(
        diagnostics.rejection(registry_public_input(), proof()), 'verifier: params mismatch',
    );
    let verifier = IThreadVerifierDispatcher { contract_address: address };
    assert(!verifier.verify(registry_public_input(), proof()), 'light proof accepted');
}
