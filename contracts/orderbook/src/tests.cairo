mod test_orderbook;
