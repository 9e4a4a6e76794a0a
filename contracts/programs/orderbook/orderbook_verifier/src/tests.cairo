mod statement_vectors;
mod test_statement;
mod test_measure;
mod orderbook_proof_vector;
mod test_verifier;

/// Test-only: the test runner's hash of the AIR class (`OrderBookAir::TEST_CLASS_HASH`, not its
/// Sierra class hash, which the shipped `OrderBookVerifier` names in `generated_air_class`).
fn air() -> starknet::ClassHash {
    orderbook_air::air_class::OrderBookAir::TEST_CLASS_HASH.try_into().unwrap()
}
