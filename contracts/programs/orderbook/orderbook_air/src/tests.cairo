mod orderbook_vectors;
mod test_orderbook_air;
mod test_air_class;
