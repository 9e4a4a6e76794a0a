//! Cairo test vectors for `contracts/programs/token/signed_air`: random mask values at a random
//! circle point, relations drawn from a channel, random claimed sums, and what stwo computes for
//! them over the components the framework's driver builds for `SignedTokenProgram` (the
//! generator is `crate::program_vectors`).

use zkthread_token::prover::{SignedTokenProgram, SIZED_COMPONENTS};

use crate::program_vectors::{render_program_vectors, VectorSpec};
use crate::signed::COMPONENT_NAMES;

/// (log sizes, seed) of the committed cases: every component below the range table's smallest
/// height 2^8, and components of several sizes (the table has the tallest one's height).
pub const CASES: [([u32; SIZED_COMPONENTS], u64); 2] = [
    ([4, 6, 4, 5, 4, 7], 0x7369_676e_6564_0001),
    ([5, 8, 6, 7, 4, 12], 0x7369_676e_6564_0002),
];

/// The generated Cairo vector file.
pub fn render_signed_vectors() -> String {
    let spec = VectorSpec {
        names: &COMPONENT_NAMES,
        sized_doc: "transfer, chain step, digest, key sponge,\n/// tx list, Poseidon2",
        case: "SignedCase",
        params: "SignedAirParams",
        air_doc: "the signed AIR",
    };
    let cases: Vec<(&[u32], u64)> = CASES.iter().map(|(l, s)| (&l[..], *s)).collect();
    render_program_vectors::<SignedTokenProgram>(&spec, &cases)
}
