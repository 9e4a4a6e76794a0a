mod test_air_call;
mod test_layout;
mod test_poseidon2;
