mod list_vectors;
mod test_list_air;
mod test_air_class;
