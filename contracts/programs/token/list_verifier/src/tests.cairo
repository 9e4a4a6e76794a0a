mod list_proof_vector;
mod test_verifier;
mod test_contract;

/// Test-only: the test runner's hash of the AIR class (`ListAir::TEST_CLASS_HASH`, not its
/// Sierra class hash, which the shipped `ListVerifier` names in `generated_air_class`).
fn air() -> starknet::ClassHash {
    list_air::air_class::ListAir::TEST_CLASS_HASH.try_into().unwrap()
}
