//! Per-slot cost of `settle`: `measure_settle_*` settles n slots of one token (read, then
//! written), `measure_setup_*` runs the same test without the settle call. Run with `--profile
//! --filter measure_` and take per slot = ((settle_2n - setup_2n) - (settle_n - setup_n)) / n
//! for steps, range checks, pedersen and poseidon. The test runner adds the resources of the
//! contract calls (the registry, the token's component, the verifier) but not Starknet's fixed
//! syscall costs, which the report counts separately.

use registry::interface::IThreadRegistryDispatcherTrait;
use starknet::ContractAddress;
use starknet::testing::set_contract_address;
use thread::interface::{IThreadReadyDispatcher, IThreadReadyDispatcherTrait};
use super::common::{
    OS_V1, accept_all, admin, deploy_registry, deploy_token, drain_events, prover, txs,
};

/// Slot keys as a token's hashed keys are: above 2^128, below 2^251, ascending.
fn key(i: u32) -> felt252 {
    let i: felt252 = i.into();
    0x3a5c0ffee000000000000000000000000000000000000000000000000000000 + i * 0x100000001
}

fn value(i: u32) -> felt252 {
    let i: felt252 = i.into();
    7 * i + 1
}

/// Settles `n` fresh slots of one token as sub-block 0 (inputs all zero, outputs `value(i)`),
/// or only prepares it when `!settle`; then reads every slot back as the registry and checks
/// it holds what the settlement wrote (zero without one). Both variants do the same work
/// except the settle call.
fn run(n: u32, settle: bool) {
    run_with_proof(n, settle, 0, false);
}

/// `run` with a proof of `proof_len` felts (the accept-all verifier ignores it): its calldata
/// cost, `measure_proof_2600` against `measure_settle_16`; through
/// `settle_checking_inputs_first` when `inputs_first` (`measure_inputs_first_*` against
/// `measure_settle_*`: the early pass's cost).
fn run_with_proof(n: u32, settle: bool, proof_len: u32, inputs_first: bool) {
    let registry = deploy_registry();
    let token = deploy_token(registry.contract_address, 'token');
    let thread_id = registry
        .create_thread(OS_V1, accept_all(), array![token].span(), admin(), array![].span());
    drain_events(registry.contract_address);
    drain_events(token);
    let mut inputs: Array<(ContractAddress, felt252, felt252)> = array![];
    let mut outputs: Array<(ContractAddress, felt252, felt252)> = array![];
    let mut keys: Array<felt252> = array![];
    for i in 0..n {
        inputs.append((token, key(i), 0));
        outputs.append((token, key(i), value(i)));
        keys.append(key(i));
    };
    let mut proof: Array<felt252> = array![];
    for i in 0..proof_len {
        proof.append(i.into());
    };
    set_contract_address(prover());
    if settle && inputs_first {
        registry
            .settle_checking_inputs_first(
                thread_id, 0, inputs.span(), outputs.span(), txs(), proof.span(),
            );
    } else if settle {
        registry.settle(thread_id, 0, inputs.span(), outputs.span(), txs(), proof.span());
    }
    set_contract_address(registry.contract_address);
    let values = IThreadReadyDispatcher { contract_address: token }
        .read_slots(thread_id, keys.span());
    assert_eq!(values.len(), n);
    for i in 0..n {
        let expected = if settle {
            value(i)
        } else {
            0
        };
        assert_eq!(*values[i], expected);
    };
    assert_eq!(registry.next_sequence(thread_id), if settle {
        1
    } else {
        0
    });
}

#[test]
#[available_gas(10000000000)]
fn measure_settle_16() {
    run(16, true);
}

#[test]
#[available_gas(10000000000)]
fn measure_setup_16() {
    run(16, false);
}

#[test]
#[available_gas(10000000000)]
fn measure_settle_32() {
    run(32, true);
}

#[test]
#[available_gas(10000000000)]
fn measure_setup_32() {
    run(32, false);
}

#[test]
#[available_gas(10000000000)]
fn measure_proof_2600() {
    run_with_proof(16, true, 2600, false);
}

#[test]
#[available_gas(10000000000)]
fn measure_proof_setup_2600() {
    run_with_proof(16, false, 2600, false);
}

#[test]
#[available_gas(10000000000)]
fn measure_inputs_first_16() {
    run_with_proof(16, true, 0, true);
}

#[test]
#[available_gas(10000000000)]
fn measure_inputs_first_32() {
    run_with_proof(32, true, 0, true);
}
