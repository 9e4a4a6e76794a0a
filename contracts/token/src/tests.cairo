mod test_token;
mod test_balance_reader;
