mod statement_vectors;
mod test_statement;
