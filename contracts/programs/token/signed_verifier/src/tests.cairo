mod statement_vectors;
mod test_statement;
mod signed_proof_vector;
mod test_verifier;
mod test_contract;
mod test_measure;

/// Test-only: the test runner's hash of the AIR class (`SignedAir::TEST_CLASS_HASH`, not its
/// Sierra class hash, which the shipped `SignedVerifier` names in `generated_air_class`).
fn air() -> starknet::ClassHash {
    signed_air::air_class::SignedAir::TEST_CLASS_HASH.try_into().unwrap()
}
