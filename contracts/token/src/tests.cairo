mod test_token;
