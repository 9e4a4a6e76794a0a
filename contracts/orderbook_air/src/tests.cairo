mod orderbook_vectors;
mod test_orderbook_air;
