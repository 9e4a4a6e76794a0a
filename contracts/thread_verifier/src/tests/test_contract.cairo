//! The `ThreadVerifier` class as the registry reaches it: a deployed instance called with
//! `call_contract` (it runs as itself, never as the registry), with the shipped (DEFAULT,
//! 96-bit) parameters, on a real proof of the Rust prover.

use starknet::syscalls::deploy_syscall;
use starknet::SyscallResultTrait;
use thread::interface::{IThreadVerifierDispatcher, IThreadVerifierDispatcherTrait};
use crate::contract::{
    IThreadVerifierDiagnosticsDispatcher, IThreadVerifierDiagnosticsDispatcherTrait, ThreadVerifier,
};
use crate::generated_params::default_params;
use crate::verifier::verify_thread_proof;
use super::default_proof_vector::{proof, proof_params, public_input};

fn instance() -> starknet::ContractAddress {
    let class_hash = ThreadVerifier::TEST_CLASS_HASH.try_into().unwrap();
    let (address, _) = deploy_syscall(class_hash, 0, array![].span(), false).unwrap_syscall();
    address
}

fn verifier() -> IThreadVerifierDispatcher {
    IThreadVerifierDispatcher { contract_address: instance() }
}

/// `bumped(p, index)`: `p` with entry `index` increased by one.
fn bumped(p: Span<felt252>, index: u32) -> Span<felt252> {
    let mut out: Array<felt252> = array![];
    let mut i = 0;
    while i != p.len() {
        out.append(if i == index { *p[i] + 1 } else { *p[i] });
        i += 1;
    };
    out.span()
}

#[test]
fn the_vector_uses_the_shipped_parameters() {
    assert(proof_params() == default_params(), 'vector params != shipped');
}

#[test]
#[available_gas(100000000000)]
fn deployed_verifier_accepts_a_real_default_proof() {
    let before = core::testing::get_available_gas();
    let ok = verifier().verify(public_input(), proof());
    let after = core::testing::get_available_gas();
    assert(ok, 'valid proof rejected');
    println!("gas: ThreadVerifier.verify call_contract (DEFAULT params, {} proof felts, {} public input felts) {}", proof().len(), public_input().len(), before - after);
}

#[test]
#[available_gas(100000000000)]
fn deployed_verifier_rejects_a_tampered_proof() {
    // One felt of the FRI part of the felt stream (the last hashes of the proof).
    let p = proof();
    let mut tampered: Array<felt252> = array![];
    let mut i = 0;
    while i != p.len() {
        tampered.append(if i == p.len() - 3 { *p[i] + 1 } else { *p[i] });
        i += 1;
    };
    assert(!verifier().verify(public_input(), tampered.span()), 'tampered proof accepted');
}

/// The diagnostics view names the failed check: 0 for the real proof, the statement's reason
/// for a changed slot owner, the PCS's for a changed FRI hash.
#[test]
#[available_gas(100000000000)]
fn rejection_names_the_failed_check() {
    let diagnostics = IThreadVerifierDiagnosticsDispatcher { contract_address: instance() };
    assert(diagnostics.rejection(public_input(), proof()) == 0, 'valid proof has a reason');
    assert(
        diagnostics.rejection(public_input(), bumped(proof(), 1)) == 'statement: unbound slot',
        'owner reason',
    );
    let p = proof();
    assert(diagnostics.rejection(public_input(), bumped(p, p.len() - 3)) == 'verifier: pcs', 'pcs reason');
}

#[test]
#[available_gas(100000000000)]
fn direct_verification_reports_no_error() {
    assert(verify_thread_proof(public_input(), proof(), @default_params()) == Result::Ok(()), 'rejected');
}
