mod statement_vectors;
mod test_statement;
mod signed_proof_vector;
mod test_verifier;
mod test_contract;
mod test_measure;
