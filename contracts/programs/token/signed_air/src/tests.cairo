mod signed_vectors;
mod test_signed_air;
mod test_air_class;
