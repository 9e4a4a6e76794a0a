mod statement_vectors;
mod test_statement;
mod test_measure;
mod orderbook_proof_vector;
mod test_verifier;

/// Test-only: the test runner's hashes of the AIR classes, the fill's first
/// (`OrderBookFillAir::TEST_CLASS_HASH`, `OrderBookAir::TEST_CLASS_HASH`, not their Sierra class
/// hashes, which the shipped `OrderBookVerifier` names in `generated_air_class`).
fn air() -> Span<starknet::ClassHash> {
    array![fill_air(), others_air()].span()
}

fn fill_air() -> starknet::ClassHash {
    orderbook_air::air_class::OrderBookFillAir::TEST_CLASS_HASH.try_into().unwrap()
}

fn others_air() -> starknet::ClassHash {
    orderbook_air::air_class::OrderBookAir::TEST_CLASS_HASH.try_into().unwrap()
}
