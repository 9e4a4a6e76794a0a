mod test_air_call;
