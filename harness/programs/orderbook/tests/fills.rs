//! The order book's fill role with real stwo proofs: honest fills prove and verify (also
//! across two sub-blocks, the second reading the first's outputs); every forged fill a
//! modified prover can build row by row is refused, each next to an honest counterpart that
//! verifies through the same path.
//!
//! Two boundaries are used. The *statement's* boundary comes from the framework's statement
//! (the registry's `(contract, key, value)` lists, built from the slots' tuples before and
//! after, [`Change`]s, by `statement_of`) bound through the book's layout by `verify`. The
//! *row's own* boundary is the `State`
//! sum of the rows themselves: with it the state argument balances whatever the rows do, so a
//! refusal can only come from the constraints or the range checks — the AIR's own guards,
//! shown even against a statement crafted to match the forgery (e.g. an order whose remaining
//! quantity went negative, which no storage value can express).

mod common;
use common::{account, bind, domain, header, ALICE, BASE, BOB, BOOK, CAROL, DAVE, JUNK, QUOTE, TEST};

use std::collections::BTreeMap;
use std::time::Instant;

use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::verifier::VerificationError;
use zkthread_orderbook::fill::{fill_cols, range_checked, written, Written, BALANCE_LEGS};
use zkthread_orderbook::state::{boundary_sum, Price, MAX_PRICE_PART};
use zkthread_orderbook::statement::{pack_order, SignedPublicInput, DEN_SHIFT, PRICE_SHIFT, SIDE_SHIFT};
use zkthread_orderbook::witness::set_low_bytes;
use zkthread_orderbook::{
    bound_slots, prove, statement_of, verify, BuildError, Change, Entry, Fill, FillRole, OrderBookProgram,
    OrderBookStatementError, OrderBookVerifyError, OrderBookWitness, OrderLayout, OrderState,
};
use stwo::prover::ProvingError;
use zkthread_prover::program::{self, ProveError, ProvenParts};
use zkthread_prover::prover::VerifyError;
use zkthread_prover::role::{assert_role_constraints, first_violation, relation_sums, Relations, Role};
use zkthread_prover::Blake2sMerkleChannel as Blake;
use zkthread_sig::TxListCommitment;

/// A statement and its binding witness (fills are unsigned: an empty transaction list).
struct Bound {
    statement: SignedPublicInput,
    witness: Vec<Felt>,
}

fn bound(changes: &[Change]) -> Bound {
    let (statement, witness) = bind(changes, TxListCommitment::default());
    Bound { statement, witness }
}

/// The felts rows are proven under when only their own state is checked.
fn own_felts() -> Vec<Felt> {
    header(TxListCommitment::default()).to_felts()
}

type SlotKey = (u32, Vec<u32>, Vec<u32>, u32);

/// A slot's identity: kind, domain, owner, order id (the tuple's values without the state).
fn slot_key(e: &Entry) -> SlotKey {
    let v: Vec<u32> = e.values().iter().map(|x| x.0).collect();
    let id = if v[0] == 2 { v[9] } else { 0 };
    (v[0], v[1..5].to_vec(), v[5..9].to_vec(), id)
}

#[derive(Clone, Debug, Default)]
struct Ledger(BTreeMap<SlotKey, Entry>);

impl Ledger {
    fn put(&mut self, e: Entry) {
        self.0.insert(slot_key(&e), e);
    }

    fn order(&self, owner: u64, id: u32) -> OrderState {
        let probe = Entry::Order { book: domain(BOOK), account: account(owner), id, state: OrderState::EMPTY };
        match self.0.get(&slot_key(&probe)) {
            Some(Entry::Order { state, .. }) => *state,
            _ => OrderState::EMPTY,
        }
    }

    fn balance(&self, token: u64, owner: u64) -> u128 {
        let probe = Entry::Balance { token: domain(token), account: account(owner), value: 0 };
        match self.0.get(&slot_key(&probe)) {
            Some(Entry::Balance { value, .. }) => *value,
            _ => 0,
        }
    }

    fn fills(&self) -> u32 {
        let probe = Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(QUOTE), fills: 0 };
        match self.0.get(&slot_key(&probe)) {
            // The ledger's counts are a sub-block's rows' (below 2^30 + 2^16).
            Some(Entry::Market { fills, .. }) => *fills as u32,
            _ => 0,
        }
    }
}

/// Alice sells 100 at 50 (id 1) and has a cancelled ask (id 3); Bob bids 60 at 55 (id 1);
/// Carol bids 40 at 54 (id 7); Dave asks 30 at 53 (id 2). Balances: Alice 1,000 base, Bob
/// 10,000 quote, Carol 5 base and 3,000 quote, Dave 500 base and 5,000 quote.
fn genesis() -> Ledger {
    let mut l = Ledger::default();
    l.put(Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(QUOTE), fills: 0 });
    let orders = [
        (ALICE, 1, OrderState::sell(50, 100)),
        (ALICE, 3, OrderState::sell(40, 0)),
        (BOB, 1, OrderState::buy(55, 60)),
        (CAROL, 7, OrderState::buy(CAROL_PRICE, 40)),
        (DAVE, 2, OrderState::sell(53, 30)),
    ];
    for (owner, id, state) in orders {
        l.put(Entry::Order { book: domain(BOOK), account: account(owner), id, state });
    }
    let balances = [(ALICE, 1_000, 0), (BOB, 0, 10_000), (CAROL, 5, 3_000), (DAVE, 500, 5_000)];
    for (owner, base, quote) in balances {
        l.put(Entry::Balance { token: domain(BASE), account: account(owner), value: base });
        l.put(Entry::Balance { token: domain(QUOTE), account: account(owner), value: quote });
    }
    l
}

/// Carol's limit: 109/2 = 54.5 quote units per base unit.
const CAROL_PRICE: Price = Price::new(109, 2);

/// A match the batcher would make: `seller`'s order `sell_id` against `buyer`'s `buy_id`,
/// `quantity` base units for `price` quote units each (`amount`, if set, instead).
#[derive(Clone, Copy)]
struct Match {
    seller: (u64, u32),
    buyer: (u64, u32),
    price: u32,
    quantity: u64,
    amount: Option<u128>,
}

fn m(seller: (u64, u32), buyer: (u64, u32), price: u32, quantity: u64) -> Match {
    Match { seller, buyer, price, quantity, amount: None }
}

/// A match paying `amount` quote in all for `quantity` (a price that is not a whole number).
fn paying(seller: (u64, u32), buyer: (u64, u32), amount: u128, quantity: u64) -> Match {
    Match { seller, buyer, price: 0, quantity, amount: Some(amount) }
}

/// The fill `mt` makes on `l` (whatever the orders' sides: a forged fill reads them as given).
fn fill_on(l: &Ledger, mt: &Match) -> Fill {
    let (sell, buy) = (l.order(mt.seller.0, mt.seller.1), l.order(mt.buyer.0, mt.buyer.1));
    Fill {
        book: domain(BOOK),
        base: domain(BASE),
        quote: domain(QUOTE),
        fills: l.fills(),
        seller: account(mt.seller.0),
        sell_id: mt.seller.1,
        sell_price: sell.price,
        sell_remaining: sell.remaining,
        buyer: account(mt.buyer.0),
        buy_id: mt.buyer.1,
        buy_price: buy.price,
        buy_remaining: buy.remaining,
        quantity: mt.quantity,
        amount: mt.amount.unwrap_or(u128::from(mt.price) * u128::from(mt.quantity)),
        seller_base: l.balance(BASE, mt.seller.0),
        seller_quote: l.balance(QUOTE, mt.seller.0),
        buyer_base: l.balance(BASE, mt.buyer.0),
        buyer_quote: l.balance(QUOTE, mt.buyer.0),
    }
}

/// A sub-block of honest fills on `l`: its rows, the slots' changes and the state after it.
fn sub_block(l: &Ledger, matches: &[Match]) -> (OrderBookWitness, Vec<Change>, Ledger) {
    let mut after = l.clone();
    let mut w = OrderBookWitness::new();
    let mut touched = Vec::new();
    for mt in matches {
        let fill = fill_on(&after, mt);
        w.push_fill(&fill);
        for e in fill.after().entries() {
            touched.push(slot_key(&e));
            after.put(e);
        }
    }
    touched.sort();
    touched.dedup();
    let changes = touched.iter().map(|k| Change::new(l.0[k], after.0[k])).collect();
    (w, changes, after)
}

fn changes_of(before: &[Entry], after: &[Entry]) -> Vec<Change> {
    before.iter().zip(after).map(|(b, a)| Change::new(*b, *a)).collect()
}

/// Proves the rows under the statement of `changes` (its felts enter the transcript).
fn prove_rows(w: &OrderBookWitness, changes: &[Change]) -> ProvenParts<Blake> {
    prove::<Blake>(&bound(changes).statement.to_felts(), w, &TEST).expect("the raw prover proves")
}

/// Verifies against the statement of `changes`, bound through the book's layout.
fn verify_statement(changes: &[Change], proof: &ProvenParts<Blake>) -> Result<(), OrderBookVerifyError> {
    let b = bound(changes);
    verify::<Blake>(&b.statement, &b.witness, proof, &TEST)
}

/// Verifies against the rows' own `State` sum (the state argument balances by definition),
/// the proof made under `felts`.
fn verify_own_state(w: &OrderBookWitness, felts: &[Felt], proof: &ProvenParts<Blake>) -> Result<(), OrderBookVerifyError> {
    program::verify::<OrderBookProgram, Blake, OrderBookStatementError>(
        felts,
        &proof.log_sizes,
        &proof.claimed_sums,
        &proof.stark,
        &TEST,
        |r| relation_sums::<FillRole>(&w.fills, r)[0],
    )
}

/// How the forged rows `w` are refused, against `changes` (the statement's boundary) or, with
/// `None`, against their own state. Rows that satisfy every constraint must prove (the raw
/// prover checks nothing) and fail verification; rows violating a constraint may already be
/// refused by stwo's prover, whose last step is the verifier's own check on the proof it just
/// built (`ConstraintsNotSatisfied` is the verifier's `OodsNotMatching` on that proof; a
/// modified prover that skipped it would send a proof failing the same equation).
fn assert_rows_refused(what: &str, w: &OrderBookWitness, changes: Option<&[Change]>) {
    let felts = changes.map_or_else(own_felts, |c| bound(c).statement.to_felts());
    match prove::<Blake>(&felts, w, &TEST) {
        Ok(proof) => match changes {
            Some(changes) => assert_refused(what, verify_statement(changes, &proof)),
            None => assert_refused(what, verify_own_state(w, &felts, &proof)),
        },
        Err(ProveError::Stwo(ProvingError::ConstraintsNotSatisfied)) => {
            let violation = w.first_violation();
            assert!(violation.is_some(), "{what}: the prover refused rows that satisfy every constraint");
            eprintln!("{what}: stwo's prover refused (constraint {violation:?})");
        }
        Err(e) => panic!("{what}: unexpected prover error {e}"),
    }
}

fn assert_refused(what: &str, result: Result<(), OrderBookVerifyError>) {
    match result {
        Err(VerifyError::Stwo(VerificationError::OodsNotMatching)) => {}
        other => panic!("{what}: expected the stwo verifier to refuse (OODS), got {other:?}"),
    }
}

/// An honest fill and its forged variant (rows built or edited as a modified prover would):
/// the honest one verifies against its statement and against its own state, through the same
/// path; the forged one is refused even against its own state.
fn assert_forged_row_refused(what: &str, honest: &OrderBookWitness, changes: &[Change], forged: &OrderBookWitness) {
    let proof = prove_rows(honest, changes);
    verify_statement(changes, &proof).unwrap_or_else(|e| panic!("{what}: the honest counterpart: {e}"));
    verify_own_state(honest, &bound(changes).statement.to_felts(), &proof).unwrap_or_else(|e| panic!("{what}: the honest counterpart (own state): {e}"));
    assert_rows_refused(what, forged, None);
}

/// The statement of `changes` binds: every value canonical, every slot in its place.
fn assert_well_formed(changes: &[Change]) {
    let b = bound(changes);
    bound_slots(&b.statement, &b.witness).expect("the statement itself is well formed");
}

fn one(fill: &Fill) -> OrderBookWitness {
    let mut w = OrderBookWitness::new();
    w.push_fill(fill);
    w
}

#[test]
fn honest_fills_prove_and_verify_across_two_sub_blocks() {
    let l0 = genesis();
    // Sub-block 1: Bob's bid (60 at 55) takes 60 of Alice's ask (100 at 50) at 52.
    let (w1, c1, l1) = sub_block(&l0, &[m((ALICE, 1), (BOB, 1), 52, 60)]);
    assert_eq!(l1.order(ALICE, 1), OrderState::sell(50, 40), "a partial fill");
    assert_eq!(l1.order(BOB, 1), OrderState::buy(55, 0));
    assert_eq!((l1.balance(BASE, ALICE), l1.balance(QUOTE, ALICE)), (940, 3_120));
    assert_eq!((l1.balance(BASE, BOB), l1.balance(QUOTE, BOB)), (60, 10_000 - 3_120));
    assert_eq!(l1.fills(), 1);
    assert_eq!(c1.len(), 7);
    let t = Instant::now();
    let p1 = prove_rows(&w1, &c1);
    let prove_time = t.elapsed();
    let t = Instant::now();
    verify_statement(&c1, &p1).expect("sub-block 1 verifies");
    eprintln!("1 fill: log sizes {:?}, prove {prove_time:.2?}, verify {:.2?}", p1.log_sizes, t.elapsed());

    // Sub-block 2 reads sub-block 1's outputs: Carol's bid (40 at 54) takes the rest at 51.
    let (w2, c2, l2) = sub_block(&l1, &[m((ALICE, 1), (CAROL, 7), 51, 40)]);
    let alice = c2.iter().find(|c| matches!(c.before, Entry::Order { id: 1, .. })).expect("Alice's order");
    assert!(c1.iter().any(|c| c.after == alice.before), "sub-block 2 reads what sub-block 1 wrote");
    assert_eq!(l2.order(ALICE, 1), OrderState::sell(50, 0), "filled");
    assert_eq!(l2.order(CAROL, 7), OrderState::buy(CAROL_PRICE, 0));
    assert_eq!((l2.balance(BASE, CAROL), l2.balance(QUOTE, CAROL)), (45, 3_000 - 2_040));
    assert_eq!(l2.fills(), 2);
    let p2 = prove_rows(&w2, &c2);
    verify_statement(&c2, &p2).expect("sub-block 2 verifies");

    // Each proof is for its own statement only.
    assert_refused("proof 1 under statement 2", verify_statement(&c2, &p1));
    let mut tampered = c1.clone();
    for c in tampered.iter_mut() {
        if let Entry::Balance { value, .. } = &mut c.after {
            if *value == 3_120 {
                *value = 3_121; // Alice claims one more quote unit
            }
        }
    }
    assert_ne!(tampered, c1);
    assert_refused("a changed output", verify_statement(&tampered, &p1));
}

#[test]
fn several_fills_of_one_order_in_one_sub_block() {
    // Alice's ask is taken three times in one sub-block (her order tuple chains through the
    // rows), at three prices within both limits; Dave's ask once by Carol.
    let matches = [
        m((ALICE, 1), (BOB, 1), 52, 30),
        m((ALICE, 1), (BOB, 1), 55, 30),
        m((ALICE, 1), (CAROL, 7), 50, 25),
        m((DAVE, 2), (CAROL, 7), 53, 15),
    ];
    let (w, changes, after) = sub_block(&genesis(), &matches);
    assert_eq!(after.order(ALICE, 1), OrderState::sell(50, 15));
    assert_eq!(after.order(CAROL, 7), OrderState::buy(CAROL_PRICE, 0));
    assert_eq!(after.balance(QUOTE, ALICE), 30 * 52 + 30 * 55 + 25 * 50);
    assert_eq!(after.fills(), 4);
    // Value is conserved per token.
    let total = |l: &Ledger, token| [ALICE, BOB, CAROL, DAVE].iter().map(|a| l.balance(token, *a)).sum::<u128>();
    assert_eq!((total(&after, BASE), total(&after, QUOTE)), (total(&genesis(), BASE), total(&genesis(), QUOTE)));
    let t = Instant::now();
    let proof = prove_rows(&w, &changes);
    eprintln!("4 fills: log sizes {:?}, prove {:.2?}", proof.log_sizes, t.elapsed());
    verify_statement(&changes, &proof).expect("verifies");
}

#[test]
fn a_fill_beyond_a_limit_price_does_not_verify() {
    let l = genesis();
    // Alice asks at least 50, Bob bids at most 55, Carol at most 109/2: for 10 units 500 and
    // 550 (and 545 for Carol) are the edges, one quote unit less or more is beyond.
    let cases = [
        ("Alice's 50 (499 for 10)", (BOB, 1), 500, 499),
        ("Bob's 55 (551 for 10)", (BOB, 1), 550, 551),
        ("Carol's 109/2 (546 for 10)", (CAROL, 7), 545, 546),
    ];
    for (what, buyer, honest_amount, forged_amount) in cases {
        let honest = fill_on(&l, &paying((ALICE, 1), buyer, honest_amount, 10));
        let forged = fill_on(&l, &paying((ALICE, 1), buyer, forged_amount, 10));
        let w = one(&forged);
        // Every equation holds and every written value is a valid storage value: only the
        // 14-bit check of the broken limit's top carry (its gap is -1 or -2, the carry
        // `p - 1`) misses the table, in both of its high part's look-ups.
        assert_eq!(w.first_violation(), None);
        assert_eq!(w.range_lookups().outside, 2, "{what}");
        let changes = changes_of(&forged.before().entries(), &forged.after().entries());
        assert_well_formed(&changes);
        assert_forged_row_refused(what, &one(&honest), &changes_of(&honest.before().entries(), &honest.after().entries()), &w);
        assert_rows_refused(what, &w, Some(&changes));
    }
}

/// One gap chain's limbs chosen as `gap` and its carries solved in the field (`c_l = (x_l +
/// c_{l-1} - g_l) / 2^16` mod p, `x_l` the chain's own limb products): every equation holds
/// mod p whatever the amount; only the carries' range checks can refuse it.
fn solve_gap_in_field(row: &mut [u32], plus: (&[u32], u32), minus: (&[u32], u32), gap: std::ops::Range<usize>, carry: std::ops::Range<usize>, g: [u32; 5]) {
    let p = (1i64 << 31) - 1;
    let inv = i64::from(BaseField::from(1u32 << 16).inverse().0);
    let mut c = 0i64;
    for l in 0..5 {
        let limb = |v: &[u32]| i64::from(*v.get(l).unwrap_or(&0));
        let x = (limb(plus.0) * i64::from(plus.1) - limb(minus.0) * i64::from(minus.1)).rem_euclid(p);
        c = ((x + c - i64::from(g[l])).rem_euclid(p) * inv).rem_euclid(p);
        row[gap.start + l] = g[l];
        row[carry.start + l] = c as u32;
    }
}

/// Whether an amount leaves (a subtraction's borrows) or reaches (an addition's carries) the
/// limbs [`force_written_limb`] edits.
#[derive(Clone, Copy)]
enum Moved {
    Out,
    In,
}

/// What a modified prover does to write a value of its choosing: no column holds a written
/// limb (`fill::written`), so it sets the borrow or carry `carry` under the limb to the field
/// value that makes the limb `value` (a borrow adds `2^16` times itself to its limb, a carry
/// takes it away), and recomputes the low bytes.
fn force_written_limb(row: &mut [u32], limb: impl Fn(&Written<BaseField>) -> BaseField, carry: usize, moved: Moved, value: u32) {
    let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
    let step = (BaseField::from(value) - limb(&written(&cols))) * BaseField::from(1u32 << 16).inverse();
    let c = BaseField::from(row[carry]);
    row[carry] = match moved {
        Moved::Out => c + step,
        Moved::In => c - step,
    }
    .0;
    set_low_bytes(row);
    let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
    assert_eq!(limb(&written(&cols)), BaseField::from(value), "the forced limb");
}

#[test]
fn an_over_fill_does_not_verify() {
    let l = genesis();
    let honest = fill_on(&l, &m((ALICE, 1), (BOB, 1), 52, 60)); // all of Bob's 60
    let honest_changes = changes_of(&honest.before().entries(), &honest.after().entries());
    // 61: Bob's remaining becomes 60 - 61 = -1, a top limb p - 1 that no 16-bit check passes.
    let forged = fill_on(&l, &m((ALICE, 1), (BOB, 1), 52, 61));
    let w = one(&forged);
    assert_eq!(w.first_violation(), None);
    assert!(w.range_lookups().outside >= 1);
    assert_forged_row_refused("q = 61 > 60", &one(&honest), &honest_changes, &w);

    // Or the prover writes Bob's order as done (remaining 0) while moving 61: the statement is
    // well formed. No column holds the written remaining: it is `60 - 61` whatever the
    // borrows (boolean ones leave the top limb `p - 1`), and a borrow that zeroes its limb is
    // not boolean.
    let mut after = forged.after().entries();
    after[2] = Entry::Order { book: domain(BOOK), account: account(BOB), id: 1, state: OrderState::buy(55, 0) };
    let changes = changes_of(&forged.before().entries(), &after);
    assert_well_formed(&changes);
    assert_rows_refused("q = 61, remaining written as 0", &one(&forged), Some(&changes));
    let mut w = one(&forged);
    force_written_limb(&mut w.fills[0], |n| n.buy_rem[0], fill_cols::BUY_REM_BORROW.start, Moved::Out, 0);
    assert!(matches!(w.first_violation(), Some(("orderbook_fill", 0, _))));
    assert_rows_refused("q = 61, remaining's low limb zeroed by a borrow of 2^-16", &w, Some(&changes));
}

#[test]
fn a_fill_that_creates_value_does_not_verify() {
    let l = genesis();
    let fill = fill_on(&l, &m((ALICE, 1), (BOB, 1), 52, 60)); // 3,120 quote for 60 base
    let honest_changes = changes_of(&fill.before().entries(), &fill.after().entries());
    let before = fill.before().entries();

    // Bob pays (and Alice receives) 2,990 for 60 base: below Alice's limit (3,000), with the
    // seller's gap limbs claimed zero and the chain's carries solved in the field, so every
    // equation holds mod p: only the carries' range checks refuse it (checks 19..24 are the
    // seller chain's: four middle carries, then the top carry).
    let cheap = Fill { amount: 2_990, ..fill };
    let mut w = one(&cheap);
    let q = zkthread_orderbook::state::qty_limbs(60);
    let a = [2_990u32, 0, 0, 0, 0];
    solve_gap_in_field(&mut w.fills[0], (&a, 1), (&q, 50), fill_cols::SELL_GAP, fill_cols::SELL_GAP_CARRY, [0; 5]);
    set_low_bytes(&mut w.fills[0]);
    assert_eq!(first_violation::<FillRole>(&w.fills), None, "every equation holds mod p");
    let cols: Vec<BaseField> = w.fills[0].iter().map(|v| BaseField::from(*v)).collect();
    let out_of_range: Vec<usize> =
        range_checked(&cols).iter().enumerate().filter(|(_, c)| c.value.0 >= 1 << c.bits).map(|(i, _)| i).collect();
    assert!(!out_of_range.is_empty() && out_of_range.iter().all(|i| (19..24).contains(i)), "{out_of_range:?}");
    let changes = changes_of(&before, &cheap.after().entries());
    assert_well_formed(&changes);
    assert_rows_refused("2,990 quote for 60 at >= 50, carries solved", &w, Some(&changes));
    assert_forged_row_refused("2,990 quote (own state)", &one(&fill), &honest_changes, &w);

    // Quote created: Alice receives 3,121 while Bob pays 3,120.
    let mut w = one(&fill);
    force_written_limb(&mut w.fills[0], |n| n.seller_quote[0], fill_cols::SELLER_QUOTE_CARRY.start, Moved::In, 3_121);
    assert!(w.first_violation().is_some());
    let mut after = fill.after().entries();
    after[6] = Entry::Balance { token: domain(QUOTE), account: account(ALICE), value: 3_121 };
    assert_rows_refused("3,121 quote received for 3,120 paid", &w, Some(&changes_of(&before, &after)));
    assert_forged_row_refused("3,121 quote (own state)", &one(&fill), &honest_changes, &w);

    // Base moved != q: Bob receives 61 base while Alice gives 60.
    let mut w = one(&fill);
    force_written_limb(&mut w.fills[0], |n| n.buyer_base[0], fill_cols::BUYER_BASE_CARRY.start, Moved::In, 61);
    assert!(w.first_violation().is_some());
    let mut after = fill.after().entries();
    after[4] = Entry::Balance { token: domain(BASE), account: account(BOB), value: 61 };
    let changes = changes_of(&before, &after);
    assert_rows_refused("61 base received for 60 sent", &w, Some(&changes));
    assert_forged_row_refused("61 base (own state)", &one(&fill), &honest_changes, &w);
}

#[test]
fn a_fill_between_two_orders_of_one_side_does_not_verify() {
    // Alice's ask (50) against Dave's ask (53), Dave's order read as a bid: the row produces a
    // buy-side tuple for it, which the statement's sell-side slot never matches.
    let l = genesis();
    let forged = fill_on(&l, &m((ALICE, 1), (DAVE, 2), 52, 10));
    let w = one(&forged);
    assert_eq!(w.first_violation(), None);
    assert_eq!(w.range_lookups().outside, 0, "every check passes: only the side differs");
    let before = forged.before().entries();
    let mut after = forged.after().entries();
    let dave = |remaining| Entry::Order {
        book: domain(BOOK),
        account: account(DAVE),
        id: 2,
        state: OrderState::sell(53, remaining),
    };
    let (mut statement_before, statement_after) = (before, {
        after[2] = dave(20);
        after
    });
    statement_before[2] = dave(30);
    let changes = changes_of(&statement_before, &statement_after);
    assert_well_formed(&changes);
    assert_rows_refused("ask against ask", &w, Some(&changes));

    // Control: had Dave's order been a bid at 53, the same row verifies.
    let mut bid = genesis();
    bid.put(dave(0));
    bid.put(Entry::Order { book: domain(BOOK), account: account(DAVE), id: 2, state: OrderState::buy(53, 30) });
    let (cw, cchanges, _) = sub_block(&bid, &[m((ALICE, 1), (DAVE, 2), 52, 10)]);
    assert_eq!(cw.fills, w.fills, "the same row");
    verify_statement(&cchanges, &prove_rows(&cw, &cchanges)).expect("the control verifies");
}

#[test]
fn a_fill_of_a_cancelled_order_does_not_verify() {
    // Alice's ask id 3 was cancelled (remaining 0).
    let l = genesis();
    let forged = fill_on(&l, &m((ALICE, 3), (BOB, 1), 50, 10));
    let w = one(&forged);
    assert_eq!(w.first_violation(), None);
    assert!(w.range_lookups().outside >= 1, "0 - 10 wraps the top limb");
    // Control: the same ask with 10 remaining.
    let mut live = genesis();
    live.put(Entry::Order { book: domain(BOOK), account: account(ALICE), id: 3, state: OrderState::sell(40, 10) });
    let (cw, cchanges, _) = sub_block(&live, &[m((ALICE, 3), (BOB, 1), 50, 10)]);
    assert_forged_row_refused("fill of a cancelled order", &cw, &cchanges, &w);

    // A zero-quantity "fill" of it (which would only bump the counter) has no inverse of q.
    let zero = fill_on(&l, &m((ALICE, 3), (BOB, 1), 50, 0));
    let w = one(&zero);
    let (row, constraint) = w.first_violation().map(|(_, r, c)| (r, c)).expect("q = 0 violates a constraint");
    assert_eq!(row, 0);
    // The constraint after `enabled` and the 24 boolean borrows/carries (the remainings' 3 + 3,
    // the balances' up to their amount's top limb 4 + 4 + 5 + 5): `enabled (sum(q) inv - 1)`.
    assert_eq!(constraint, 1 + 24);
    assert_rows_refused("q = 0", &w, Some(&changes_of(&zero.before().entries(), &zero.after().entries())));
    assert_forged_row_refused("q = 0 (own state)", &cw, &cchanges, &w);
}

#[test]
fn a_fill_moving_another_token_does_not_verify() {
    // The prover pays Alice in a token of its own (JUNK) instead of the book's quote token:
    // every order and balance tuple is consistent, but the row's market tuple names JUNK and
    // the statement's market (from the book's storage) names QUOTE.
    let mut l = genesis();
    l.put(Entry::Balance { token: domain(JUNK), account: account(BOB), value: 1_000_000 });
    let honest = fill_on(&l, &m((ALICE, 1), (BOB, 1), 52, 10));
    let mut forged = honest;
    forged.quote = domain(JUNK);
    forged.buyer_quote = 1_000_000;
    forged.seller_quote = 0;
    let w = one(&forged);
    assert_eq!((w.first_violation(), w.range_lookups().outside), (None, 0));
    let mut before = forged.before().entries();
    let mut after = forged.after().entries();
    let market = |fills| Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(QUOTE), fills };
    (before[0], after[0]) = (market(0), market(1));
    let changes = changes_of(&before, &after);
    assert_well_formed(&changes);
    let proof = prove_rows(&w, &changes);
    assert_refused("paid in JUNK", verify_statement(&changes, &proof));
    verify_own_state(&w, &bound(&changes).statement.to_felts(), &proof).expect("the row itself is a valid fill of a JUNK market");
    // A statement cannot name a market whose tokens are not the book's configured ones: the
    // counter slot holds only `n`, its tokens come from `base_token` / `quote_token`.
    let junk = Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(JUNK), fills: 1 };
    let moved = vec![Change::new(market(0), junk)];
    let refused = statement_of(&header(TxListCommitment::default()), &common::directory(), &moved);
    assert_eq!(refused, Err(BuildError::OtherMarket { index: 0 }));
}

/// Alice's ask (60 of her 100 at 52 to Bob) with the four balances set to `[Alice's base,
/// Bob's base, Bob's quote, Alice's quote]`.
fn fill_with_balances(balances: [u128; 4]) -> Fill {
    let fill = fill_on(&genesis(), &m((ALICE, 1), (BOB, 1), 52, 60));
    let [seller_base, buyer_base, buyer_quote, seller_quote] = balances;
    Fill { seller_base, buyer_base, buyer_quote, seller_quote, ..fill }
}

/// Index of each balance leg's `b_6 z_7 = 0` among the fill's constraints: after `enabled`,
/// the 24 boolean borrows and carries, `q`'s inverse and the 10 limit equations, each leg
/// has two constraints per limb above its amount.
fn top_limb_constraints() -> Vec<usize> {
    let mut next = 1 + 24 + 1 + 10;
    BALANCE_LEGS
        .iter()
        .map(|leg| {
            next += 2 * (8 - leg.amount_limbs());
            next - 1
        })
        .collect()
}

/// The balance limbs above the moved amount (base: 4..8, quote: 5..8) have no range check:
/// a borrow passes a limb iff it is 0 and a carry iff it is `2^16 - 1`, each limb's inverse
/// column deciding which (`fill::upper_limbs`). Honest moves across those limbs verify; an
/// overdraft, an overflow, a borrow through a nonzero limb and one stopped at a zero limb are
/// refused by their constraints whatever the inverses.
#[test]
fn balances_borrow_and_carry_through_their_upper_limbs_exactly() {
    let honest = fill_with_balances([
        (1 << 96) + 5,              // 60 borrowed through limbs 1..6: 2^96 - 55
        (1 << 96) - 30,             // 60 carried through limbs 1..6: 2^96 + 30
        (1 << 112) + 120,           // 3,120 borrowed through limbs 1..7: 2^112 - 3,000
        (1 << 112) - 1_000,         // 3,120 carried through limbs 1..7: 2^112 + 2,120
    ]);
    let after = honest.after();
    let values: Vec<u128> = [after.seller_base, after.buyer_base, after.buyer_quote, after.seller_quote]
        .iter()
        .map(|e| match e {
            Entry::Balance { value, .. } => *value,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values, [(1 << 96) - 55, (1 << 96) + 30, (1 << 112) - 3_000, (1 << 112) + 2_120]);
    let w = one(&honest);
    assert_eq!((w.first_violation(), w.range_lookups().outside), (None, 0));
    let changes = changes_of(&honest.before().entries(), &after.entries());
    let proof = prove_rows(&w, &changes);
    verify_statement(&changes, &proof).expect("moves across the upper limbs verify");

    // An overdraft (Alice holds 59 base) borrows out of the top limb; an overflow (Bob's base
    // 2^128 - 30) carries out of it. Neither has a written value a storage slot can hold. Each
    // is refused by its leg's last constraint, `b_6 z_7 = 0` (no borrow or carry out of the
    // top limb): every constraint before it holds.
    let cases = [
        ("60 base sold from 59", [59, 0, 10_000, 0]),
        ("60 base received on 2^128 - 30", [1_000, u128::MAX - 29, 10_000, 0]),
        ("3,120 quote paid from 3,119", [1_000, 0, 3_119, 0]),
        ("3,120 quote received on 2^128 - 1,000", [1_000, 0, 10_000, u128::MAX - 999]),
    ];
    for ((what, balances), top) in cases.into_iter().zip(top_limb_constraints()) {
        let w = one(&fill_with_balances(balances));
        assert_eq!(w.first_violation(), Some(("orderbook_fill", 0, top)), "{what}");
        assert_rows_refused(what, &w, None);
    }

    // The borrow feeding the upper limbs (out of limb 3, the amount's top) must be boolean
    // itself: forced to write limb 3 as 7 it is not, and its booleanity refuses it.
    let base = fill_with_balances([(1 << 64) + 5, 0, 10_000, 0]);
    let mut w = one(&base);
    let borrow3 = fill_cols::SELLER_BASE_BORROW.start + 3;
    assert_eq!(w.fills[0][borrow3], 1);
    force_written_limb(&mut w.fills[0], |n| n.seller_base[3], borrow3, Moved::Out, 7);
    assert_eq!(w.first_violation(), Some(("orderbook_fill", 0, 1 + 3 + 3 + 3)), "b_3's booleanity");
    let honest_changes = changes_of(&base.before().entries(), &base.after().entries());
    assert_forged_row_refused("a non-boolean borrow into limb 4", &one(&base), &honest_changes, &w);

    // Alice's base 2^64 + 2^80 (limbs 4 and 5 are 1): the borrow out of limb 3 stops at limb 4.
    let base = fill_with_balances([(1 << 64) + (1 << 80), 0, 10_000, 0]);
    let honest_changes = changes_of(&base.before().entries(), &base.after().entries());
    let borrow4 = fill_cols::SELLER_BASE_BORROW.start + 4;
    let inv4 = fill_cols::SELLER_BASE_INV.start;
    // Passed on through limb 4 anyway (its written limb 1 - 1 + 2^16 = 2^16, no limb at all),
    // with limb 4's true inverse or with 0 (which claims limb 4 is zero).
    for (what, inverse) in [("a borrow through a nonzero limb", None), ("the same, limb 4's inverse 0", Some(0))] {
        let mut w = one(&base);
        w.fills[0][borrow4] = 1;
        if let Some(v) = inverse {
            w.fills[0][inv4] = v;
        }
        set_low_bytes(&mut w.fills[0]);
        let cols: Vec<BaseField> = w.fills[0].iter().map(|v| BaseField::from(*v)).collect();
        assert_eq!(written(&cols).seller_base[4], BaseField::from(1u32 << 16), "{what}");
        assert!(w.first_violation().is_some(), "{what}");
        assert_forged_row_refused(what, &one(&base), &honest_changes, &w);
    }
    // Alice's base 2^80 (limb 4 is 0, limb 5 is 1): the borrow passes limb 4. Stopped there
    // instead (its written limb 0 - 1 = p - 1), whatever limb 4's inverse says.
    let base = fill_with_balances([1 << 80, 0, 10_000, 0]);
    let honest_changes = changes_of(&base.before().entries(), &base.after().entries());
    for inverse in [0, 1, 12_345] {
        let mut w = one(&base);
        assert_eq!(w.fills[0][borrow4], 1, "the honest borrow passes limb 4");
        w.fills[0][borrow4] = 0;
        w.fills[0][inv4] = inverse;
        set_low_bytes(&mut w.fills[0]);
        assert!(w.first_violation().is_some(), "inverse {inverse}");
        assert_forged_row_refused("a borrow stopped at a zero limb", &one(&base), &honest_changes, &w);
    }
}

/// Every constraint of honest rows evaluates to zero, and their LogUp (the `State` sum) is
/// exactly the statement's boundary: failures elsewhere are attributable.
#[test]
fn honest_rows_satisfy_every_constraint() {
    let matches = [m((ALICE, 1), (BOB, 1), 52, 30), m((ALICE, 1), (BOB, 1), 55, 30), m((DAVE, 2), (CAROL, 7), 53, 15)];
    let (w, changes, _) = sub_block(&genesis(), &matches);
    for row in &w.fills {
        let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
        let constraints = FillRole::constraints(&cols);
        assert!(constraints.iter().all(|c| *c == BaseField::from(0u32)), "{constraints:?}");
    }
    assert_eq!(w.first_violation(), None);
    assert_eq!(w.range_lookups().outside, 0);
    assert_role_constraints::<FillRole>(&w.fills, &Relations::dummy());
    let r = random_relations();
    assert_eq!(relation_sums::<FillRole>(&w.fills, &r)[0], boundary_sum(&changes, &r.state));
    // Shape: 201 columns (no written limb is a column; one low byte per carry; an inverse
    // instead of a low byte per balance limb above the moved amount), 64 constraints, 14
    // state and 120 range fractions (45 16-bit checks of two look-ups, 10 carries' of three)
    // in 67 pairs; padding rows satisfy every constraint and look nothing up.
    let zeros = vec![BaseField::from(0u32); 201];
    let shape = (FillRole::N_COLUMNS, FillRole::constraints(&zeros).len(), FillRole::fractions(&zeros).len());
    assert_eq!(shape, (201, 64, 134));
    assert_eq!(FillRole::batching().last(), Some(&66));
    // The padding row is zero but for the receiving legs' upper inverses (`1 / -(2^16 - 1)`):
    // an all-zero row breaks their pass-through constraints.
    let padding = vec![FillRole::padding_row()];
    assert_eq!(first_violation::<FillRole>(&padding), None);
    assert_eq!(padding[0].iter().filter(|v| **v != 0).count(), 4 + 3, "the buyer's base limbs 4..8, the seller's quote limbs 5..8");
    assert!(first_violation::<FillRole>(&[vec![0u32; FillRole::N_COLUMNS]]).is_some());
    let mut lookups = zkthread_prover::range::RangeLookups::default();
    lookups.add::<FillRole>(&padding, 1);
    assert!(lookups.multiplicity.iter().all(|m| m.0 == 0));
}

fn random_relations() -> Relations {
    use stwo::core::channel::Channel;
    let mut channel = stwo::core::channel::Blake2sChannel::default();
    channel.mix_u64(0x6f_7264_6572);
    Relations::draw(&mut channel)
}

#[test]
fn the_statement_refuses_tuples_the_air_assumes_away() {
    // The invariants the roles assume of the boundary's tuples are the layout's parsing: an
    // order slot's packed value is refused unless canonical (side empty/buy/sell, both price
    // parts in 1..=MAX_PRICE_PART, the empty slot exactly 0), with the framework's `BadValue`
    // reason.
    let order = |state| Entry::Order { book: domain(BOOK), account: account(ALICE), id: 1, state };
    let same = |e| vec![Change::new(e, e)];
    let top = Price::new(MAX_PRICE_PART, MAX_PRICE_PART);
    let edge = bound(&same(order(OrderState::sell(top, 5))));
    bound_slots(&edge.statement, &edge.witness).expect("MAX_PRICE_PART / MAX_PRICE_PART is a price");
    let at = edge.statement.inputs.iter().position(|e| e.value == pack_order(&OrderState::sell(top, 5)).unwrap());
    let at = at.expect("the order slot");
    let packed = |side: u32, num: u32, den: u32, remaining: u64| {
        let two = |k| Felt::TWO.pow(k);
        Felt::from(remaining) + Felt::from(num) * two(PRICE_SHIFT) + Felt::from(den) * two(DEN_SHIFT) + Felt::from(side) * two(SIDE_SHIFT)
    };
    for (what, value) in [
        ("numerator MAX_PRICE_PART + 1", packed(2, MAX_PRICE_PART + 1, 1, 5)),
        ("denominator MAX_PRICE_PART + 1", packed(2, 1, MAX_PRICE_PART + 1, 5)),
        ("denominator 0", packed(1, 7, 0, 5)),
        ("side 3", packed(3, 1, 1, 1)),
        ("an empty slot holding a quantity", packed(0, 0, 0, 1)),
    ] {
        let mut s = edge.statement.clone();
        s.inputs[at].value = value;
        assert_eq!(
            bound_slots(&s, &edge.witness),
            Err(OrderBookStatementError::Statement(zkthread_orderbook::statement::SignedStatementError::BadValue {
                list: "input",
                index: at,
                value
            })),
            "{what}"
        );
    }
    // A change whose before and after are different slots is no statement at all.
    let other = Entry::Order { book: domain(BOOK), account: account(BOB), id: 1, state: OrderState::EMPTY };
    let refused = statement_of(&header(TxListCommitment::default()), &common::directory(), &[Change::new(order(OrderState::EMPTY), other)]);
    assert_eq!(refused, Err(BuildError::SlotMismatch { index: 0 }));
}

/// The driver, called directly: the fill role's claimed sum is derived from the boundary the
/// program gives (a wrong boundary fails stwo's check); a proof missing a component is
/// refused by shape.
#[test]
fn the_driver_derives_the_fill_sum_from_the_boundary() {
    use num_traits::Zero;
    let (w, changes, _) = sub_block(&genesis(), &[m((ALICE, 1), (BOB, 1), 52, 60)]);
    let proof = prove_rows(&w, &changes);
    let b = bound(&changes);
    let slots = bound_slots(&b.statement, &b.witness).expect("binds");
    let felts = b.statement.to_felts();
    let verify = |felts: &[Felt], log: &[u32], sums: &[SecureField], right: bool| {
        program::verify::<OrderBookProgram, Blake, OrderBookStatementError>(
            felts,
            log,
            sums,
            &proof.stark,
            &TEST,
            |r| if right { zkthread_orderbook::boundary(&slots, &TxListCommitment::default(), r) } else { SecureField::zero() },
        )
    };
    verify(&felts, &proof.log_sizes, &proof.claimed_sums, true).expect("verifies");
    assert_refused("a zero boundary", verify(&felts, &proof.log_sizes, &proof.claimed_sums, false));
    let n = proof.log_sizes.len();
    assert!(matches!(
        verify(&felts, &proof.log_sizes[..n - 1], &proof.claimed_sums[..n - 1], true),
        Err(VerifyError::Shape(_))
    ));
    // Another statement's felts (the next sequence number): another transcript.
    let mut next = b.statement.clone();
    next.sequence = Felt::ONE;
    assert!(verify(&next.to_felts(), &proof.log_sizes, &proof.claimed_sums, true).is_err());
    // The bound slots' boundary is the changes' own (the statement says what they say).
    let r = random_relations();
    assert_eq!(
        zkthread_prover::statement::boundary_sum(&OrderLayout, &slots, &r.state),
        boundary_sum(&changes, &r.state)
    );
}

/// Prove time and proof size of fill-only sub-blocks on the settlement channel (Poseidon252)
/// at the token program's shipped parameters (`SIGNED_PARAMS`, 2^5 x 16 + 16):
/// `cargo nextest run -p zkthread-orderbook --test fills --run-ignored only --no-capture timing`.
#[test]
#[ignore = "timing: run with --run-ignored only --no-capture"]
fn timing_fills() {
    use zkthread_prover::Poseidon252MerkleChannel as P252;
    use zkthread_token::SIGNED_PARAMS;
    for n in [4usize, 64, 256] {
        // Alice's ask of 1,000,000 at 50, taken n times by Bob (bid at 55), one unit each.
        let mut l = genesis();
        l.put(Entry::Order { book: domain(BOOK), account: account(ALICE), id: 1, state: OrderState::sell(50, 1_000_000) });
        l.put(Entry::Order { book: domain(BOOK), account: account(BOB), id: 1, state: OrderState::buy(55, 1_000_000) });
        l.put(Entry::Balance { token: domain(QUOTE), account: account(BOB), value: 1 << 40 });
        let matches: Vec<Match> = (0..n).map(|i| m((ALICE, 1), (BOB, 1), 50 + (i % 6) as u32, 1)).collect();
        let (w, changes, _) = sub_block(&l, &matches);
        let b = bound(&changes);
        let t = Instant::now();
        let proof = prove::<P252>(&b.statement.to_felts(), &w, &SIGNED_PARAMS).expect("prove");
        let prove_time = t.elapsed();
        let t = Instant::now();
        verify::<P252>(&b.statement, &b.witness, &proof, &SIGNED_PARAMS).expect("verify");
        eprintln!(
            "| {n} fills | log sizes {:?} | prove {prove_time:.2?} | verify {:.2?} |",
            proof.log_sizes,
            t.elapsed()
        );
    }
}
