//! The committed order-book AIR Cairo files (`contracts/programs/orderbook/orderbook_air`) must equal a fresh
//! generation from the Rust AIR and stwo; the generator's view of the proof must be the
//! framework driver's for `OrderBookProgram`.

use zkthread_air_codegen::orderbook::{self, symbolic_orderbook_components};
use zkthread_air_codegen::orderbook_vectors::{render_orderbook_vectors, ORDERBOOK_COMPONENT_NAMES};
use zkthread_orderbook::prover::OrderBookProgram;
use zkthread_orderbook::{CancelRole, FillRole, PlaceRole};
use zkthread_prover::auth::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};

mod common;
use common::{assert_symbolic_components_are_the_drivers, role_shape};

fn assert_fresh(path: std::path::PathBuf, fresh: String) {
    common::assert_fresh(path, fresh, "cargo run -p zkthread-air-codegen -- --orderbook", None);
}

#[test]
fn committed_orderbook_air_evaluation_matches_the_rust_air() {
    let fresh = orderbook::render_orderbook_air().expect("the order book's AIR generates");
    assert_fresh(orderbook::orderbook_air_path(), fresh);
}

#[test]
fn committed_orderbook_vectors_match_stwo() {
    assert_fresh(orderbook::orderbook_vectors_path(), render_orderbook_vectors());
}

#[test]
fn symbolic_components_are_the_drivers() {
    let components = symbolic_orderbook_components().expect("symbolic evaluation");
    let roles = [
        role_shape::<FillRole>(),
        role_shape::<PlaceRole>(),
        role_shape::<CancelRole>(),
        role_shape::<ChainStepRole>(),
        role_shape::<DigestRole>(),
        role_shape::<KeySpongeRole>(),
        role_shape::<TxListRole>(),
    ];
    assert_symbolic_components_are_the_drivers::<OrderBookProgram>(
        &components,
        &ORDERBOOK_COMPONENT_NAMES,
        &roles,
        &[4, 5, 4, 6, 4, 5, 4, 7],
    );
}
