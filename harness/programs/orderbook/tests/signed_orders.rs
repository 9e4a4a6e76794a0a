//! Signed place and cancel rows with real signatures (`zkthread_sig::sign` on the order
//! book's own `Message`) and real stwo proofs: an honest sub-block of places, a fill and a
//! cancel proves and verifies; a cancel signed with another account's key, a place signature
//! presented as a cancel, an id placed twice and a signed place with an out-of-range price or
//! side are refused, each beside an honest counterpart that verifies through the same path.

mod common;
use common::orders::{cancel, honest, key, key_slot, order, place, seed, signed, UncheckedOrderTestDouble};
use common::{account, bind, domain, header, ALICE, BOB, BOOK, TEST};

use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::verifier::VerificationError;
use stwo::prover::ProvingError;
use zkthread_orderbook::signed::{PlaceRole, CancelRole, PAYLOAD_LEN};
use zkthread_orderbook::state::{
    boundary_sum, Price, MAX_PRICE_PART, SIDE_BUY, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2, SIDE_SELL,
};
use zkthread_orderbook::{
    prove, verify, Change, Entry, FillRole, OrderBookProgram, OrderBookStatementError, OrderBookVerifyError,
    OrderBookWitness, OrderMessage, OrderState, SignedOrderRow,
};
use zkthread_prover::auth::tx_list_boundary_sum;
use zkthread_prover::program::{self, ProveError};
use zkthread_prover::prover::VerifyError;
use zkthread_prover::role::{assert_role_constraints, relation_sums, Relations, Role};
use zkthread_prover::Blake2sMerkleChannel as Blake;
use zkthread_sig::{sign, verification_trace, verify_trace, Message, MessageError, M31};


/// The felts rows are proven under when only their own state is checked.
fn own_felts(w: &OrderBookWitness) -> Vec<Felt> {
    header(w.auth.transactions).to_felts()
}

/// Proves `w` under the statement of `changes` (with `w`'s transaction list) and verifies.
fn verify_statement(w: &OrderBookWitness, changes: &[Change]) -> Result<(), OrderBookVerifyError> {
    let (statement, witness) = bind(changes, w.auth.transactions);
    let proof = prove::<Blake>(&statement.to_felts(), w, &TEST).expect("the raw prover proves");
    verify::<Blake>(&statement, &witness, &proof, &TEST)
}

/// The rows' own `State` sum plus their transaction list's `Link` boundary.
fn own_boundary(w: &OrderBookWitness, r: &Relations) -> stwo::core::fields::qm31::SecureField {
    relation_sums::<FillRole>(&w.fills, r)[0]
        + relation_sums::<PlaceRole>(&w.places, r)[0]
        + relation_sums::<CancelRole>(&w.cancels, r)[0]
        + tx_list_boundary_sum(&w.auth.transactions, &r.link)
}

/// The forged rows `w` are refused against `changes` (the statement) or, with `None`, against
/// their own state: by the verifier, or — for rows violating a constraint — already by stwo's
/// prover, whose last step is the verifier's own OODS check on the proof it built.
fn assert_rows_refused(what: &str, w: &OrderBookWitness, changes: Option<&[Change]>) {
    let bound = changes.map(|c| bind(c, w.auth.transactions));
    let felts = bound.as_ref().map_or_else(|| own_felts(w), |(s, _)| s.to_felts());
    let proof = match prove::<Blake>(&felts, w, &TEST) {
        Ok(proof) => proof,
        Err(ProveError::Stwo(ProvingError::ConstraintsNotSatisfied)) => {
            let violation = w.first_violation();
            assert!(violation.is_some(), "{what}: the prover refused rows that satisfy every constraint");
            eprintln!("{what}: stwo's prover refused (constraint {violation:?})");
            return;
        }
        Err(e) => panic!("{what}: unexpected prover error {e}"),
    };
    let result = match &bound {
        Some((statement, witness)) => verify::<Blake>(statement, witness, &proof, &TEST),
        None => program::verify::<OrderBookProgram, Blake, OrderBookStatementError>(
            &felts,
            &proof.log_sizes,
            &proof.claimed_sums,
            &proof.stark,
            &TEST,
            |r| own_boundary(w, r),
        ),
    };
    match result {
        Err(VerifyError::Stwo(VerificationError::OodsNotMatching)) => {}
        other => panic!("{what}: expected the stwo verifier to refuse (OODS), got {other:?}"),
    }
}

#[test]
fn signed_places_a_fill_and_a_cancel_prove_and_verify() {
    let (w, changes) = honest();
    assert_eq!((w.places.len(), w.fills.len(), w.cancels.len()), (2, 1, 1));
    assert_eq!(w.auth.transactions.count, 3, "places and cancels are transactions; fills are not");
    assert_eq!(w.first_violation(), None);
    verify_statement(&w, &changes).expect("verifies");

    // The proof binds the ordered transaction list: the same rows under another list fail.
    let (statement, witness) = bind(&changes, w.auth.transactions);
    let proof = prove::<Blake>(&statement.to_felts(), &w, &TEST).expect("prove");
    verify::<Blake>(&statement, &witness, &proof, &TEST).expect("verifies");
    let mut other = statement.clone();
    other.transactions.count = 2;
    assert!(verify::<Blake>(&other, &witness, &proof, &TEST).is_err());
    // And the key slots must rotate: keeping Alice's old key is refused.
    let mut stale = changes.clone();
    stale[0].after = key_slot(ALICE, 1, 0);
    let (stale, witness) = bind(&stale, w.auth.transactions);
    assert!(verify::<Blake>(&stale, &witness, &proof, &TEST).is_err());
}

#[test]
fn the_air_signs_the_clients_message_blocks() {
    // The blocks the AIR reads off a row are the blocks the client signed, for both kinds,
    // and a place and a cancel of one order never share them.
    let rho = [M31::reduce(91), M31::reduce(92), M31::reduce(93)];
    for msg in [place(ALICE, 0, 5, SIDE_SELL, 50, 100), cancel(ALICE, 0, 5)] {
        let client = zkthread_sig::message_blocks(&msg, &rho).expect("encodable");
        assert_eq!(msg.blocks(&rho), client);
    }
    let (p, c) = (place(ALICE, 0, 5, SIDE_SELL, 50, 100), cancel(ALICE, 0, 5));
    assert_ne!(p.payload().unwrap()[PAYLOAD_LEN - 1], c.payload().unwrap()[PAYLOAD_LEN - 1]);
    // A client never signs an order the AIR would refuse.
    for bad in [
        place(ALICE, 0, 5, SIDE_SELL, 0, 100),
        place(ALICE, 0, 5, SIDE_SELL, MAX_PRICE_PART + 1, 100),
        place(ALICE, 0, 5, SIDE_SELL, Price::new(50, 0), 100),
        place(ALICE, 0, 5, SIDE_SELL, Price::new(1, MAX_PRICE_PART + 1), 100),
        place(ALICE, 0, 5, 3, 50, 100),
        place(ALICE, 0, 5, SIDE_BUY, 50, 0),
    ] {
        assert!(matches!(bad.payload(), Err(MessageError::Field { .. })), "{bad:?}");
    }
}

#[test]
fn honest_signed_rows_satisfy_every_constraint() {
    let (w, changes) = honest();
    for (name, rows, n) in [("place", &w.places, PlaceRole::N_COLUMNS), ("cancel", &w.cancels, CancelRole::N_COLUMNS)] {
        for row in rows {
            assert_eq!(row.len(), n, "{name}");
        }
    }
    let zero = BaseField::from(0u32);
    for row in &w.places {
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
        assert!(PlaceRole::constraints(&cols).iter().all(|c| *c == zero));
    }
    for row in &w.cancels {
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
        assert!(CancelRole::constraints(&cols).iter().all(|c| *c == zero));
    }
    assert_eq!(w.first_violation(), None);
    assert_eq!(w.range_lookups().outside, 0);
    let r = Relations::dummy();
    assert_role_constraints::<PlaceRole>(&w.places, &r);
    assert_role_constraints::<CancelRole>(&w.cancels, &r);
    // The rows' State sum is the statement's boundary (the Link sum is the framework's).
    let r = random_relations();
    let state = relation_sums::<FillRole>(&w.fills, &r)[0]
        + relation_sums::<PlaceRole>(&w.places, &r)[0]
        + relation_sums::<CancelRole>(&w.cancels, &r)[0];
    assert_eq!(state, boundary_sum(&changes, &r.state));
}

fn random_relations() -> Relations {
    use stwo::core::channel::Channel;
    let mut channel = stwo::core::channel::Blake2sChannel::default();
    channel.mix_u64(0x5167_0de5);
    Relations::draw(&mut channel)
}

/// Alice's cancel of her order 5 (100 at 50 left), as one sub-block: the rows and the
/// statement of what an honest cancel under `row`'s next key changes.
fn cancel_sub_block(row: &SignedOrderRow) -> (OrderBookWitness, Vec<Change>) {
    let mut w = OrderBookWitness::new();
    w.push_signed(row);
    let rotated = Entry::Key { domain: domain(BOOK), account: account(ALICE), nonce: 2, key: row.message.next_key };
    let changes = vec![
        Change::new(key_slot(ALICE, 1, 0), rotated),
        Change::new(order(ALICE, 5, OrderState::sell(50, 100)), order(ALICE, 5, OrderState::cancelled(50))),
    ];
    (w, changes)
}

#[test]
fn a_cancel_signed_with_another_accounts_key_does_not_verify() {
    // Control: Alice cancels her own order.
    let honest = signed(ALICE, 0, &cancel(ALICE, 0, 5), (SIDE_SELL, 50, 100));
    let (w, changes) = cancel_sub_block(&honest);
    verify_statement(&w, &changes).expect("the control verifies");
    // Bob signs "cancel Alice's order 5" with his own key (a valid signature under it): the
    // row consumes Alice's key tuple with Bob's key, which her slot does not hold.
    let msg = OrderMessage { next_key: key(BOB, 1), ..cancel(ALICE, 0, 5) };
    let forged = signed(BOB, 0, &msg, (SIDE_SELL, 50, 100));
    let (w, changes) = cancel_sub_block(&forged);
    assert_eq!(w.first_violation(), None, "the rows are a valid verification of Bob's signature");
    assert_rows_refused("Bob cancels Alice's order", &w, Some(&changes));
}

#[test]
fn a_place_signature_does_not_authorize_a_cancel() {
    // Alice signed a place of order 5; the prover presents the signature on a cancel of it.
    let sig = sign(&seed(ALICE), 0, &place(ALICE, 0, 5, SIDE_SELL, 50, 100)).expect("sign");
    let msg = cancel(ALICE, 0, 5);
    assert!(zkthread_sig::verify(&key(ALICE, 0), &msg, &sig).is_err(), "the tag changes the digest");
    let trace = verification_trace(&key(ALICE, 0), &msg, &sig).expect("a trace, whatever the verdict");
    let forged = SignedOrderRow { message: msg, key: key(ALICE, 0), cancelled: (SIDE_SELL, Price::whole(50), 100), signature: sig, trace };
    let (w, changes) = cancel_sub_block(&forged);
    assert_rows_refused("a place's signature on a cancel", &w, Some(&changes));
    assert_rows_refused("a place's signature on a cancel (own state)", &w, None);
    // Control: Alice's own cancel signature, same path.
    let (w, changes) = cancel_sub_block(&signed(ALICE, 0, &msg, (SIDE_SELL, 50, 100)));
    verify_statement(&w, &changes).expect("the control verifies");
}

#[test]
fn a_cancel_that_cancels_nothing_does_not_verify() {
    // Alice signs "cancel order 5" (an ask at 50, 100 left). A batcher that wants her order to
    // stay live settles the signature (her nonce moves, her key rotates) on a cancel row naming
    // an order that is already at 0 (any side and price: the signature covers only the id),
    // so the row would consume and produce one tuple and change nothing; the statement leaves
    // order 5 live.
    let msg = cancel(ALICE, 0, 5);
    let keys = Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 2, 1));
    let untouched = Change::new(order(ALICE, 5, OrderState::sell(50, 100)), order(ALICE, 5, OrderState::sell(50, 100)));
    for (what, found) in [
        ("a cancel row over the order's own price at 0", (SIDE_SELL, Price::whole(50), 0)),
        ("a cancel row over another price at 0", (SIDE_BUY, Price::new(77, 3), 0)),
        ("a cancel row over an already cancelled tuple", (SIDE_CANCELLED, Price::whole(50), 0)),
        ("a cancel row over a tuple cancelled on L2", (SIDE_CANCELLED_ON_L2, Price::whole(50), 0)),
    ] {
        let row = signed(ALICE, 0, &msg, found);
        let mut w = OrderBookWitness::new();
        w.push_signed(&row);
        assert_rows_refused(what, &w, Some(&[keys, untouched]));
    }
    // A cancelled side is refused by the row's own constraint, whatever the statement.
    let row = signed(ALICE, 0, &msg, (SIDE_CANCELLED, Price::whole(50), 0));
    let mut w = OrderBookWitness::new();
    w.push_signed(&row);
    assert!(w.first_violation().is_some(), "a cancel of a cancelled tuple violates a constraint");
    assert_rows_refused("a cancel row over a cancelled tuple (own state)", &w, None);
    // Control: the honest cancel through the same path moves the order to cancelled.
    let (w, changes) = cancel_sub_block(&signed(ALICE, 0, &msg, (SIDE_SELL, 50, 100)));
    verify_statement(&w, &changes).expect("the control verifies");
}

#[test]
fn a_signed_cancel_consumes_an_l2_cancel_once() {
    // Alice cancelled order 5 on L2 (side 4) with her signed cancel still queued: the row
    // consumes side 4 and produces side 3 (AIR version 5).
    let msg = cancel(ALICE, 0, 5);
    let keys = Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 2, 1));
    let on_l2 = order(ALICE, 5, OrderState::cancelled_on_l2(50));
    let honest = signed(ALICE, 0, &msg, (SIDE_CANCELLED_ON_L2, 50, 0));
    let mut w = OrderBookWitness::new();
    w.push_signed(&honest);
    assert_eq!(w.first_violation(), None);
    verify_statement(&w, &[keys, Change::new(on_l2, order(ALICE, 5, OrderState::cancelled(50)))])
        .expect("a signed cancel of an order cancelled on L2 verifies");
    // The statement cannot keep the slot at side 4: the row's produced tuple is side 3.
    assert_rows_refused("a cancel that leaves side 4", &w, Some(&[keys, Change::new(on_l2, on_l2)]));
    // A forged row: a side-4 tuple with a quantity is no canonical slot value, so it only
    // exists as a modified prover's invention, which the statement's inputs do not balance.
    let invented = signed(ALICE, 0, &msg, (SIDE_CANCELLED_ON_L2, 50, 1));
    let mut w = OrderBookWitness::new();
    w.push_signed(&invented);
    assert_rows_refused(
        "a cancel row over a side-4 tuple the inputs do not hold",
        &w,
        Some(&[keys, Change::new(on_l2, order(ALICE, 5, OrderState::cancelled(50)))]),
    );
    // Any other side a cancel row names violates its constraint (0: empty, 3: cancelled, 5).
    for side in [0, SIDE_CANCELLED, 5] {
        let row = signed(ALICE, 0, &msg, (side, 50, 0));
        let mut w = OrderBookWitness::new();
        w.push_signed(&row);
        assert!(w.first_violation().is_some(), "side {side}");
    }
}

/// A place as AIR version 1 laid it out: `[id, side, price, qty[4], 0; 8, 1]` (integer ticks,
/// tag 1). Test double: what an owner's earlier client signed.
struct VersionOnePlaceTestDouble {
    message: OrderMessage,
    price: u32,
    quantity: u64,
}

impl Message for VersionOnePlaceTestDouble {
    fn domain(&self) -> zkthread_sig::wots::Hash4 {
        self.message.book
    }
    fn signer(&self) -> zkthread_sig::wots::Hash4 {
        self.message.owner
    }
    fn nonce(&self) -> u32 {
        self.message.nonce
    }
    fn next_key(&self) -> zkthread_sig::wots::KeyCommitment {
        self.message.next_key
    }
    fn set_next_key(&mut self, key: zkthread_sig::wots::KeyCommitment) {
        self.message.next_key = key;
    }
    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError> {
        let mut p = [M31::ZERO; PAYLOAD_LEN];
        p[0] = M31::reduce(self.message.id);
        p[1] = M31::reduce(SIDE_SELL);
        p[2] = M31::reduce(self.price);
        for (i, limb) in zkthread_orderbook::state::qty_limbs(self.quantity).into_iter().enumerate() {
            p[3 + i] = M31::reduce(limb);
        }
        p[PAYLOAD_LEN - 1] = M31::reduce(1);
        Ok(p)
    }
}

#[test]
fn a_version_one_place_signature_is_no_ratio_place() {
    // Alice signed, under version 1, a sell of 65,536,002 at 50 (still unsettled when her
    // thread moved to version 2). Read one element further on, the same blocks would be a
    // version-2 sell of 1,000 at 50/2: every field in range. Only the tag tells them apart.
    let quantity = 1_000 * 65_536 + 2;
    let msg = place(ALICE, 0, 5, SIDE_SELL, Price::new(50, 2), 1_000);
    let old = VersionOnePlaceTestDouble { message: msg, price: 50, quantity };
    let (p_old, p_new) = (old.payload().unwrap(), msg.payload().unwrap());
    assert_eq!(p_old[..PAYLOAD_LEN - 1], p_new[..PAYLOAD_LEN - 1], "the same fields");
    let sig = sign(&seed(ALICE), 0, &old).expect("sign");
    assert!(zkthread_sig::verify(&key(ALICE, 0), &msg, &sig).is_err(), "the tag changes the digest");
    let trace = verification_trace(&key(ALICE, 0), &msg, &sig).expect("a trace, whatever the verdict");
    let forged = SignedOrderRow { message: msg, key: key(ALICE, 0), cancelled: (0, Price::ZERO, 0), signature: sig, trace };
    let mut w = OrderBookWitness::new();
    w.push_signed(&forged);
    let changes = vec![
        Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 2, 1)),
        Change::new(order(ALICE, 5, OrderState::EMPTY), order(ALICE, 5, OrderState::sell(Price::new(50, 2), 1_000))),
    ];
    assert_rows_refused("a version-1 place read as a ratio place", &w, Some(&changes));
    assert_rows_refused("a version-1 place read as a ratio place (own state)", &w, None);
    // Control: Alice's version-2 signature of the same place, same path.
    let mut w = OrderBookWitness::new();
    w.push_signed(&signed(ALICE, 0, &msg, (0, 0, 0)));
    verify_statement(&w, &changes).expect("the control verifies");
}

#[test]
fn placing_an_id_twice_does_not_verify() {
    // Alice's order 3 was placed and cancelled before (an ask at 40, nothing left); she signs
    // a new place of id 3: the row consumes the empty slot, which the statement's is not.
    let row = signed(ALICE, 0, &place(ALICE, 0, 3, SIDE_SELL, 50, 100), (0, 0, 0));
    let mut w = OrderBookWitness::new();
    w.push_signed(&row);
    let keys = Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 2, 1));
    let placed = order(ALICE, 3, OrderState::sell(50, 100));
    let reused = vec![keys, Change::new(order(ALICE, 3, OrderState::sell(40, 0)), placed)];
    assert_rows_refused("id 3 placed again", &w, Some(&reused));
    // Control: id 3 never used.
    let fresh = vec![keys, Change::new(order(ALICE, 3, OrderState::EMPTY), placed)];
    verify_statement(&w, &fresh).expect("the control verifies");
}


#[test]
fn a_signed_place_out_of_range_does_not_verify() {
    // The owner signs (her wallet would refuse; the AIR must too): a numerator or a
    // denominator of 0, 2^14 or -1 mod p, side 3, quantity 0. Each against the rows' own
    // state, so only the place row's own checks can refuse it.
    let p = (1u32 << 31) - 1;
    let over = MAX_PRICE_PART + 1;
    let cases = [
        ("price 0/1", SIDE_SELL, Price::new(0, 1), 100),
        ("price 2^14/1", SIDE_SELL, Price::new(over, 1), 100),
        ("price -1/1", SIDE_BUY, Price::new(p - 1, 1), 100),
        ("price 5/0", SIDE_BUY, Price::new(5, 0), 100),
        ("price 5/2^14", SIDE_SELL, Price::new(5, over), 100),
        ("price 5/-1", SIDE_SELL, Price::new(5, p - 1), 100),
        ("side 3", 3, Price::whole(50), 100),
        ("quantity 0", SIDE_SELL, Price::whole(50), 0),
    ];
    for (what, side, price, qty) in cases {
        let msg = place(ALICE, 0, 5, side, price, qty);
        let sig = sign(&seed(ALICE), 0, &UncheckedOrderTestDouble(msg)).expect("sign");
        let trace = verify_trace(&key(ALICE, 0), &UncheckedOrderTestDouble(msg), &sig).expect("a valid signature");
        let row = SignedOrderRow { message: msg, key: key(ALICE, 0), cancelled: (0, Price::ZERO, 0), signature: sig, trace };
        let mut w = OrderBookWitness::new();
        w.push_signed(&row);
        assert_rows_refused(what, &w, None);
    }
    // Control: the edges that are valid (parts 1 and 2^14 - 1, quantity 1), same path.
    let edges = [
        (SIDE_SELL, Price::new(1, 1)),
        (SIDE_BUY, Price::new(MAX_PRICE_PART, MAX_PRICE_PART)),
        (SIDE_SELL, Price::new(1, MAX_PRICE_PART)),
    ];
    for (side, price) in edges {
        let msg = place(ALICE, 0, 5, side, price, 1);
        let sig = sign(&seed(ALICE), 0, &UncheckedOrderTestDouble(msg)).expect("sign");
        let trace = verify_trace(&key(ALICE, 0), &UncheckedOrderTestDouble(msg), &sig).expect("a valid signature");
        let mut w = OrderBookWitness::new();
        w.push_signed(&SignedOrderRow { message: msg, key: key(ALICE, 0), cancelled: (0, Price::ZERO, 0), signature: sig, trace });
        let state = OrderState { side, price, remaining: 1 };
        let changes = vec![
            Change::new(key_slot(ALICE, 1, 0), key_slot(ALICE, 2, 1)),
            Change::new(order(ALICE, 5, OrderState::EMPTY), order(ALICE, 5, state)),
        ];
        let (statement, witness) = bind(&changes, w.auth.transactions);
        let proof = prove::<Blake>(&statement.to_felts(), &w, &TEST).expect("prove");
        program::verify::<OrderBookProgram, Blake, OrderBookStatementError>(
            &statement.to_felts(),
            &proof.log_sizes,
            &proof.claimed_sums,
            &proof.stark,
            &TEST,
            |r| own_boundary(&w, r),
        )
        .expect("the control verifies");
        verify::<Blake>(&statement, &witness, &proof, &TEST).expect("and its statement");
    }
}

/// Prove time of the honest sub-block (2 signed places, 1 fill, 1 signed cancel) on the
/// settlement channel at the token's `SIGNED_PARAMS`:
/// `cargo nextest run -p zkthread-orderbook --test signed_orders --run-ignored only --no-capture timing`.
#[test]
#[ignore = "timing: run with --run-ignored only --no-capture"]
fn timing_signed_orders() {
    use std::time::Instant;
    use zkthread_prover::Poseidon252MerkleChannel as P252;
    use zkthread_token::SIGNED_PARAMS;
    let (w, changes) = honest();
    let (statement, witness) = bind(&changes, w.auth.transactions);
    for run in ["first (builds the preprocessed tree)", "second"] {
        let t = Instant::now();
        let proof = prove::<P252>(&statement.to_felts(), &w, &SIGNED_PARAMS).expect("prove");
        let prove_time = t.elapsed();
        let t = Instant::now();
        verify::<P252>(&statement, &witness, &proof, &SIGNED_PARAMS).expect("verify");
        eprintln!("{run}: log sizes {:?}, prove {prove_time:.2?}, verify {:.2?}", proof.log_sizes, t.elapsed());
    }
}
