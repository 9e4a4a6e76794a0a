mod statement_vectors;
mod test_statement;
mod test_measure;
