//! The order book's proof felts (`zkthread_orderbook::poseidon252`): one honest sub-block
//! (two signed places, a fill, a signed cancel) proven once on the settlement channel with
//! the light TEST parameters; its felts round-trip and verify, and every edit a relayer could
//! make to them — a witness felt, the witness length, a truncated or padded stream, a STARK
//! felt — is refused with its own typed error, never a panic.

mod common;
use common::orders::honest;
use common::{bind, TEST};

use starknet_types_core::felt::Felt;
use zkthread_orderbook::poseidon252::{self, from_felts, to_felts, WITNESS_LEN};
use zkthread_orderbook::OrderBookVerifyError;
use zkthread_prover::prover::VerifyError;
use zkthread_prover::serialize::DecodeError;
use zkthread_prover::statement::{ListBindError, SignedStatementError};

/// The input slot `verify` refuses as unbound, if that is the reason.
fn unbound_index(result: Result<(), OrderBookVerifyError>) -> Option<usize> {
    match result {
        Err(VerifyError::Statement(ListBindError::Statement(SignedStatementError::UnboundSlot { index, .. }))) => {
            Some(index)
        }
        _ => None,
    }
}

#[test]
fn proof_felts_round_trip_and_every_edit_is_refused() {
    let (w, changes) = honest();
    let (statement, witness) = bind(&changes, w.auth.transactions);
    let proof = poseidon252::prove(&statement, &witness, &w, &TEST).expect("the honest sub-block proves");
    let felts = to_felts(&proof);

    // Layout: the witness first, [owner, id] per input slot, then the framework's streams.
    let n = statement.inputs.len();
    assert_eq!(felts[0], Felt::from((WITNESS_LEN * n) as u64));
    assert_eq!(&felts[1..1 + 2 * n], &witness[..]);

    // Round trip: the decoded proof verifies and encodes to the same felts.
    let decoded = from_felts(&felts).expect("decodes");
    assert_eq!(decoded.slot_witness, witness);
    assert_eq!(decoded.log_sizes, proof.log_sizes);
    assert_eq!(to_felts(&decoded), felts);
    poseidon252::verify(&statement, &decoded, &TEST).expect("the decoded proof verifies");

    // An edited witness felt decodes (the codec cannot know the statement) and is refused by
    // verify as that slot's binding: the order slot's id, then a balance slot's owner.
    let order = (0..n).find(|i| witness[2 * i + 1] != Felt::ZERO).expect("an order slot");
    let balance = (0..n).find(|i| witness[2 * i] != Felt::ZERO && witness[2 * i + 1] == Felt::ZERO).expect("an owner slot");
    for (what, at, slot) in [("order id", 2 * order + 1, order), ("owner", 2 * balance, balance)] {
        let mut edited = felts.clone();
        edited[1 + at] += Felt::ONE;
        let p = from_felts(&edited).expect("an edited witness felt still decodes");
        assert_eq!(unbound_index(poseidon252::verify(&statement, &p, &TEST)), Some(slot), "{what}");
    }
    // Two slots' witnesses swapped: the first of them no longer binds.
    let mut swapped = felts.clone();
    let (a, b) = (1 + 2 * order, 1 + 2 * balance);
    for k in 0..2 {
        swapped.swap(a + k, b + k);
    }
    let p = from_felts(&swapped).expect("decodes");
    assert_eq!(unbound_index(poseidon252::verify(&statement, &p, &TEST)), Some(order.min(balance)));

    // A witness one felt short of the statement's slots (dropped with its count): decoded as
    // an odd length, refused.
    let mut short = felts.clone();
    short.remove(2 * n);
    short[0] = Felt::from((2 * n - 1) as u64);
    assert_eq!(from_felts(&short).err(), Some(DecodeError::OutOfRange("slot witness: not 2 felts per input slot")));
    // A whole slot's witness dropped: decodes, and verify refuses the count.
    let mut dropped = felts.clone();
    dropped.drain(2 * n - 1..2 * n + 1);
    dropped[0] = Felt::from((2 * n - 2) as u64);
    let p = from_felts(&dropped).expect("an even witness decodes");
    assert!(matches!(
        poseidon252::verify(&statement, &p, &TEST),
        Err(VerifyError::Statement(ListBindError::Statement(SignedStatementError::OwnerCount { given, inputs, per_slot: 2 })))
            if given == 2 * n - 2 && inputs == n
    ));

    // Truncated anywhere, or padded: a typed error.
    for cut in [1, 2 * n, 2 * n + 2, felts.len() / 2, felts.len() - 1] {
        assert_eq!(from_felts(&felts[..cut]).err(), Some(DecodeError::Truncated), "cut at {cut}");
    }
    let mut padded = felts.clone();
    padded.push(Felt::ZERO);
    assert_eq!(from_felts(&padded).err(), Some(DecodeError::Trailing));

    // The last felt (a FRI hash) edited: decodes, and stwo's verifier refuses it, with an error
    // or (the transcript then draws other query positions, which the decommitment's values do
    // not match) by a panic the framework turns into a shape error.
    let mut tampered = felts.clone();
    *tampered.last_mut().expect("felts") += Felt::ONE;
    let p = from_felts(&tampered).expect("a hash edit decodes");
    let verdict = poseidon252::verify(&statement, &p, &TEST);
    assert!(matches!(verdict, Err(VerifyError::Stwo(_) | VerifyError::Shape(_))), "{verdict:?}");
}
