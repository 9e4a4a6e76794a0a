mod test_air_call;
mod test_poseidon2;
