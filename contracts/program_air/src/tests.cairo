mod test_packed;
