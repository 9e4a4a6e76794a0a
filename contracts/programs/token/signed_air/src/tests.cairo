mod signed_vectors;
mod test_signed_air;
mod test_packed;
mod test_air_class;
