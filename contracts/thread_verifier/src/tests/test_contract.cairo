//! The `ThreadVerifier` class as the registry reaches it: a library call of `verify`, with the
//! shipped (DEFAULT, 96-bit) parameters, on a real proof of the Rust prover.

use thread::interface::{IThreadVerifierLibraryDispatcher, IThreadVerifierDispatcherTrait};
use crate::contract::ThreadVerifier;
use crate::generated_params::default_params;
use crate::verifier::verify_thread_proof;
use super::default_proof_vector::{proof, proof_params, public_input};

fn verifier() -> IThreadVerifierLibraryDispatcher {
    IThreadVerifierLibraryDispatcher {
        class_hash: ThreadVerifier::TEST_CLASS_HASH.try_into().unwrap(),
    }
}

#[test]
fn the_vector_uses_the_shipped_parameters() {
    assert(proof_params() == default_params(), 'vector params != shipped');
}

#[test]
#[available_gas(100000000000)]
fn library_call_accepts_a_real_default_proof() {
    let before = core::testing::get_available_gas();
    let ok = verifier().verify(public_input(), proof());
    let after = core::testing::get_available_gas();
    assert(ok, 'valid proof rejected');
    println!("gas: ThreadVerifier.verify library call (DEFAULT params, {} proof felts, {} public input felts) {}", proof().len(), public_input().len(), before - after);
}

#[test]
#[available_gas(100000000000)]
fn library_call_rejects_a_tampered_proof() {
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

#[test]
#[available_gas(100000000000)]
fn direct_verification_reports_no_error() {
    assert(verify_thread_proof(public_input(), proof(), @default_params()) == Result::Ok(()), 'rejected');
}
