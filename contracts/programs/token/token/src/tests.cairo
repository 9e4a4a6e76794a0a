mod test_token;
mod test_erc20;
mod test_balance_reader;
