//! Cairo test vectors for `contracts/programs/orderbook/orderbook_air`: random mask values at a random circle
//! point, relations drawn from a channel, random claimed sums, and what stwo computes for them
//! over the components the framework's driver builds for `OrderBookProgram`
//! (`zkthread_prover::program::components`; the generator is `crate::program_vectors`).

use zkthread_orderbook::prover::OrderBookProgram;

use crate::program_vectors::{render_program_vectors, VectorSpec};

/// Component names in proof order, as the generated `OrderBookAirParams` names its fields.
pub const ORDERBOOK_COMPONENT_NAMES: [&str; 9] = [
    "orderbook_fill",
    "orderbook_place",
    "orderbook_cancel",
    "chain_step",
    "digest_sponge",
    "key_sponge",
    "tx_list",
    "poseidon2",
    "range_table",
];

/// (log sizes, seed) of the committed cases: every component below the range table's smallest
/// height 2^8, and components of several sizes with a Poseidon2 component taller than the rest.
pub const CASES: [([u32; 8], u64); 2] = [
    ([4, 5, 4, 6, 4, 5, 4, 7], 0x6f72_6465_7262_0001),
    ([6, 4, 5, 8, 6, 7, 4, 12], 0x6f72_6465_7262_0002),
];

/// The generated Cairo vector file.
pub fn render_orderbook_vectors() -> String {
    let spec = VectorSpec {
        names: &ORDERBOOK_COMPONENT_NAMES,
        sized_doc: "fill, place, cancel, chain step, digest, key sponge,\n/// tx list, Poseidon2",
        case: "OrderBookCase",
        params: "OrderBookAirParams",
        air_doc: "the order book's AIR",
    };
    let cases: Vec<(&[u32], u64)> = CASES.iter().map(|(l, s)| (&l[..], *s)).collect();
    render_program_vectors::<OrderBookProgram>(&spec, &cases)
}
