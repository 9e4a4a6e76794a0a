mod air_vectors;
mod proof_vector;
mod default_proof_vector;
mod test_air;
mod test_verifier;
mod test_contract;
mod test_statement;
