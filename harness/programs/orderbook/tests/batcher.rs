//! The order book's batcher (`zkthread_orderbook::batcher`) on signed messages: price and time
//! priority, a partial fill carried across two sub-blocks, cancels, self-trade prevention,
//! unfunded makers, every refusal with its own reason, and rematch against fresh balances.
//! The sub-blocks that matter are proven with stwo (Blake2s channel, test parameters) through
//! `prover::prove_statement` and verified with `prover::verify` against the statement the
//! batcher's sub-block binds (`SubBlock::statement`: its changes, the book's configuration and
//! its transaction list, every slot bound by its `[owner, id]` witness).

mod common;
use common::orders::{key, seed, UncheckedOrderTestDouble};
use common::{account, directory, domain, header, ALICE, BASE, BOB, BOOK, CAROL, DAVE, EVE, QUOTE, TEST};

use starknet_types_core::felt::Felt;
use zkthread_orderbook::batcher::{
    build, build_within, rematch, Account, BatchError, BookState, Rejection, SignedOrder, Stopped, SubBlock,
    MAX_COMPONENT_ROWS, MIN_SLOT_BUDGET,
};
use zkthread_orderbook::state::{Price, MAX_PRICE_PART, SIDE_BUY, SIDE_SELL};
use zkthread_orderbook::{prove_statement, verify, Change, Entry, OrderMessage, OrderState, SignedPublicInput};
use zkthread_prover::program::ProvenParts;
use zkthread_prover::Blake2sMerkleChannel as Blake;
use zkthread_sig::wots::{Hash4, KeyCommitment};
use zkthread_sig::{sign, MessageError, SignedMessage, Wallet};



/// The statement `sub` proves and its binding witness.
fn statement(sub: &SubBlock) -> (SignedPublicInput, Vec<Felt>) {
    sub.statement(&header(Default::default()), &directory()).expect("the sub-block is expressible")
}

/// The message `who` signs at `nonce` (its key `nonce - 1`: every account registered key 0 at
/// nonce 1), rotating to its next key; a place at a whole price.
fn message(who: u64, nonce: u32, id: u32, place: Option<(u32, u32, u64)>) -> OrderMessage {
    message_at(who, nonce, id, place.map(|(side, price, qty)| (side, Price::whole(price), qty)))
}

/// [`message`] at any price.
fn message_at(who: u64, nonce: u32, id: u32, place: Option<(u32, Price, u64)>) -> OrderMessage {
    OrderMessage { book: domain(BOOK), owner: account(who), id, place, nonce, next_key: key(who, nonce) }
}

/// `msg` signed with `who`'s key `index` (what `Wallet::sign_next` returns).
fn signed_with(who: u64, index: u32, msg: OrderMessage) -> SignedOrder {
    let signature = sign(&seed(who), index, &msg).expect("sign");
    SignedMessage { index, key: key(who, index), message: msg, signature }
}

/// A client signing consecutive messages from key 0 at nonce 1 (a wallet's chain).
struct Client {
    who: u64,
    nonce: u32,
}

impl Client {
    fn new(who: u64) -> Client {
        Client { who, nonce: 1 }
    }

    fn next(&mut self, id: u32, place: Option<(u32, Price, u64)>) -> SignedOrder {
        let s = signed_with(self.who, self.nonce - 1, message_at(self.who, self.nonce, id, place));
        self.nonce += 1;
        s
    }

    fn sell(&mut self, id: u32, price: u32, qty: u64) -> SignedOrder {
        self.next(id, Some((SIDE_SELL, Price::whole(price), qty)))
    }

    fn buy(&mut self, id: u32, price: u32, qty: u64) -> SignedOrder {
        self.next(id, Some((SIDE_BUY, Price::whole(price), qty)))
    }

    fn cancel(&mut self, id: u32) -> SignedOrder {
        self.next(id, None)
    }
}

/// A registered account: `base` and `quote` balances, key 0 at nonce 1.
fn registered(who: u64, base: u128, quote: u128) -> Account {
    Account { base, quote, nonce: 1, key: key(who, 0) }
}

/// An empty book whose accounts hold `(who, base, quote)`.
fn book(accounts: &[(u64, u128, u128)]) -> BookState {
    let mut b = BookState::new(domain(BOOK), domain(BASE), domain(QUOTE), 0);
    for (who, base, quote) in accounts {
        b.set_account(account(*who), registered(*who, *base, *quote));
    }
    b
}

fn everyone() -> BookState {
    book(&[(ALICE, 1_000, 0), (BOB, 0, 100_000), (CAROL, 1_000, 100_000), (DAVE, 1_000, 100_000)])
}

/// Trades as `(maker owner, maker id, price, quantity)` (whole prices in these tests).
fn trades(sub: &SubBlock) -> Vec<(Hash4, u32, u32, u64)> {
    let whole = |p: Price| {
        assert_eq!(p.den, 1, "a whole price");
        p.num
    };
    sub.trades.iter().map(|t| (t.maker.0, t.maker.1, whole(t.price), t.quantity)).collect()
}

fn built(state: &BookState, queue: &[SignedOrder]) -> SubBlock {
    let batch = build(state, queue).expect("a sub-block");
    assert!(batch.refused.is_empty(), "{:?}", batch.refused);
    batch.sub_block
}

/// Proves the sub-block's rows and verifies them against its own statement.
fn prove_and_verify(sub: &SubBlock) -> ProvenParts<Blake> {
    let (statement, witness) = statement(sub);
    let proof = prove_statement::<Blake>(&statement, &sub.witness, &TEST).expect("the prover proves");
    verify::<Blake>(&statement, &witness, &proof, &TEST).expect("the sub-block verifies");
    proof
}

fn change_of(sub: &SubBlock, slot: &Entry) -> Option<Change> {
    let same_slot = |e: &Entry| match (e, slot) {
        (Entry::Order { account: a, id: i, .. }, Entry::Order { account: b, id: j, .. }) => a == b && i == j,
        (Entry::Balance { token: t, account: a, .. }, Entry::Balance { token: u, account: b, .. }) => t == u && a == b,
        (Entry::Key { account: a, .. }, Entry::Key { account: b, .. }) => a == b,
        (Entry::Market { .. }, Entry::Market { .. }) => true,
        _ => false,
    };
    sub.changes.iter().copied().find(|c| same_slot(&c.before))
}

fn order_slot(who: u64, id: u32) -> Entry {
    Entry::Order { book: domain(BOOK), account: account(who), id, state: OrderState::EMPTY }
}

fn key_slot(who: u64) -> Entry {
    Entry::Key { domain: domain(BOOK), account: account(who), nonce: 0, key: KeyCommitment::NONE }
}

fn base_slot(who: u64) -> Entry {
    Entry::Balance { token: domain(BASE), account: account(who), value: 0 }
}

#[test]
fn price_priority_a_better_later_ask_fills_first() {
    let (mut alice, mut carol, mut bob) = (Client::new(ALICE), Client::new(CAROL), Client::new(BOB));
    let queue = [alice.sell(1, 52, 10), carol.sell(1, 50, 10), bob.buy(1, 55, 15)];
    let sub = built(&everyone(), &queue);
    assert_eq!(trades(&sub), vec![(account(CAROL), 1, 50, 10), (account(ALICE), 1, 52, 5)]);
    assert_eq!(sub.after.order(&account(ALICE), 1), OrderState::sell(52, 5));
    assert_eq!(sub.after.account(&account(BOB)).quote, 100_000 - 500 - 260, "at the makers' prices");
    assert!(sub.trades.iter().all(|t| t.taker == (account(BOB), 1) && t.taker_side == SIDE_BUY));
}

#[test]
fn time_priority_at_equal_price() {
    let (mut alice, mut carol, mut bob, mut dave) =
        (Client::new(ALICE), Client::new(CAROL), Client::new(BOB), Client::new(DAVE));
    // Asks: Carol first, Alice second, same price; then bids: Bob first, Dave second.
    let queue = [carol.sell(1, 50, 10), alice.sell(1, 50, 10), bob.buy(1, 50, 12)];
    let sub = built(&everyone(), &queue);
    assert_eq!(trades(&sub), vec![(account(CAROL), 1, 50, 10), (account(ALICE), 1, 50, 2)]);
    // Alice's 8 left rest with her arrival: a newer ask at 50 queues behind it.
    let queue = [carol.sell(2, 50, 5), dave.buy(1, 50, 10)];
    let sub = built(&sub.after, &queue);
    assert_eq!(trades(&sub), vec![(account(ALICE), 1, 50, 8), (account(CAROL), 2, 50, 2)]);
    let queue = [bob.buy(2, 45, 5), dave.buy(2, 45, 5), alice.sell(2, 40, 7)];
    let sub = built(&sub.after, &queue);
    assert_eq!(trades(&sub), vec![(account(BOB), 2, 45, 5), (account(DAVE), 2, 45, 2)]);
}

#[test]
fn a_partial_fill_carries_across_two_sub_blocks_and_both_verify() {
    let (mut alice, mut bob, mut carol) = (Client::new(ALICE), Client::new(BOB), Client::new(CAROL));
    let s0 = everyone();
    // Sub-block 1: Alice asks 100 at 50, Bob bids 30 at 52: 30 at 50, 70 rest.
    let sub1 = built(&s0, &[alice.sell(1, 50, 100), bob.buy(1, 52, 30)]);
    assert_eq!(trades(&sub1), vec![(account(ALICE), 1, 50, 30)]);
    assert_eq!(sub1.after.order(&account(ALICE), 1), OrderState::sell(50, 70));
    assert_eq!(sub1.transactions.count, 2);
    let p1 = prove_and_verify(&sub1);

    // Sub-block 2 starts from sub-block 1's state: Carol bids 80 at 55 and takes the 70.
    let sub2 = built(&sub1.after, &[carol.buy(1, 55, 80)]);
    assert_eq!(trades(&sub2), vec![(account(ALICE), 1, 50, 70)]);
    assert_eq!(sub2.after.order(&account(ALICE), 1), OrderState::sell(50, 0));
    assert_eq!(sub2.after.order(&account(CAROL), 1), OrderState::buy(55, 10), "Carol's rest");
    let alice = change_of(&sub2, &order_slot(ALICE, 1)).expect("Alice's order is read");
    assert_eq!(Some(alice.before), change_of(&sub1, &order_slot(ALICE, 1)).map(|c| c.after));
    assert_eq!(sub2.after.fills, 2);
    prove_and_verify(&sub2);
    // Each proof is its own statement's.
    let (s2, w2) = statement(&sub2);
    let other = verify::<Blake>(&s2, &w2, &p1, &TEST);
    assert!(other.is_err(), "proof 1 under statement 2");
}

/// The counter is a u64 with no cap: from far past `p` and across a multiple of `2^30`, the
/// stored values move by one per fill while each sub-block's rows count from its own base, and
/// both proofs verify. (Capped below `p - 1`, wash fills from anyone's thread could stop a
/// book for good.)
#[test]
fn the_fill_counter_runs_past_p_and_across_2_30_and_both_sub_blocks_verify() {
    let (mut alice, mut bob, mut carol) = (Client::new(ALICE), Client::new(BOB), Client::new(CAROL));
    let start = (1u64 << 40) + (1 << 30) - 1;
    let mut s0 = everyone();
    s0.fills = start;
    let sub1 = built(&s0, &[alice.sell(1, 50, 100), bob.buy(1, 52, 30)]);
    let market = |sub: &SubBlock| change_of(sub, &Entry::Market { book: domain(BOOK), base: domain(BASE), quote: domain(QUOTE), fills: 0 });
    let counter = |e: Entry| match e {
        Entry::Market { fills, .. } => fills,
        other => panic!("{other:?}"),
    };
    let c1 = market(&sub1).expect("the counter is read");
    assert_eq!((counter(c1.before), counter(c1.after)), (start, start + 1), "stored values");
    assert_eq!(sub1.fills[0].fills, (1 << 30) - 1, "the row counts from the base 2^40");
    prove_and_verify(&sub1);
    let sub2 = built(&sub1.after, &[carol.buy(1, 55, 80)]);
    let c2 = market(&sub2).expect("the counter is read");
    assert_eq!((counter(c2.before), counter(c2.after)), (start + 1, start + 2));
    assert_eq!(sub2.fills[0].fills, 0, "a new base: 2^40 + 2^30");
    prove_and_verify(&sub2);
}

#[test]
fn a_cancel_removes_a_resting_order() {
    let (mut alice, mut bob) = (Client::new(ALICE), Client::new(BOB));
    let sub1 = built(&everyone(), &[alice.sell(1, 50, 10), alice.sell(2, 51, 10)]);
    // Alice cancels her better ask; Bob's crossing bid fills the other one only, and Bob
    // cancels the 5 left of his bid in the same sub-block.
    let sub2 = built(&sub1.after, &[alice.cancel(1), bob.buy(1, 55, 15), bob.cancel(1)]);
    assert_eq!(trades(&sub2), vec![(account(ALICE), 2, 51, 10)]);
    assert_eq!(sub2.after.order(&account(ALICE), 1), OrderState::cancelled(50));
    assert_eq!(sub2.after.order(&account(BOB), 1), OrderState::cancelled(55));
    let bobs = change_of(&sub2, &order_slot(BOB, 1)).expect("Bob's order");
    let closed = Entry::Order { book: domain(BOOK), account: account(BOB), id: 1, state: OrderState::cancelled(55) };
    assert_eq!((bobs.before, bobs.after), (order_slot(BOB, 1), closed), "placed, filled 10, cancelled");
    assert_eq!((sub2.witness.cancels.len(), sub2.witness.places.len(), sub2.witness.fills.len()), (2, 1, 1));
    prove_and_verify(&sub2);
    // A second cancel of one id is refused (a cancel row must change its slot; the AIR
    // refuses a cancelled side), and the message comes back with its reason.
    let again = alice.cancel(1);
    match build(&sub2.after, std::slice::from_ref(&again)) {
        Err(BatchError::Empty { refused }) => {
            assert_eq!(refused.len(), 1);
            assert_eq!((&refused[0].message, &refused[0].reason), (&again, &Rejection::AlreadyCancelled { id: 1 }));
        }
        other => panic!("expected the second cancel refused, got {other:?}"),
    }
}

#[test]
fn a_cancel_of_a_filled_order_marks_it_cancelled() {
    // Bob's bid fills Alice's ask whole; her cancel, queued behind it, still settles (her
    // later messages chain on it) and marks the order cancelled.
    let (mut alice, mut bob) = (Client::new(ALICE), Client::new(BOB));
    let sub1 = built(&everyone(), &[alice.sell(1, 50, 10)]);
    let sub2 = built(&sub1.after, &[bob.buy(1, 55, 10), alice.cancel(1)]);
    assert_eq!(trades(&sub2), vec![(account(ALICE), 1, 50, 10)]);
    let c = change_of(&sub2, &order_slot(ALICE, 1)).expect("Alice's order");
    let at = |state| Entry::Order { book: domain(BOOK), account: account(ALICE), id: 1, state };
    assert_eq!((c.before, c.after), (at(OrderState::sell(50, 10)), at(OrderState::cancelled(50))));
    prove_and_verify(&sub2);
}

#[test]
fn a_signed_cancel_of_an_order_cancelled_on_l2_settles_once() {
    // Alice signs a cancel of her ask, then cancels it on L2 before a batcher settles it (the
    // book's `cancel` writes side 4). Her signed cancel still settles and marks it side 3, so
    // her later messages, chained on its key, are not refused; a second one is.
    let mut s = everyone();
    s.insert_order(account(ALICE), 1, OrderState::cancelled_on_l2(50));
    let mut alice = Client::new(ALICE);
    let sub = built(&s, &[alice.cancel(1), alice.sell(2, 51, 3)]);
    let c = change_of(&sub, &order_slot(ALICE, 1)).expect("Alice's order");
    let at = |state| Entry::Order { book: domain(BOOK), account: account(ALICE), id: 1, state };
    assert_eq!((c.before, c.after), (at(OrderState::cancelled_on_l2(50)), at(OrderState::cancelled(50))));
    assert_eq!(sub.after.order(&account(ALICE), 2), OrderState::sell(51, 3), "the next message chains on");
    prove_and_verify(&sub);
    let again = alice.cancel(1);
    match build(&sub.after, std::slice::from_ref(&again)) {
        Err(BatchError::Empty { refused }) => assert_eq!(refused[0].reason, Rejection::AlreadyCancelled { id: 1 }),
        other => panic!("expected the second cancel refused, got {other:?}"),
    }
}

#[test]
fn self_trade_is_skipped_and_the_taker_trades_with_others() {
    let (mut carol, mut alice) = (Client::new(CAROL), Client::new(ALICE));
    // Carol asks 10 at 50; Alice asks 10 at 51; Carol bids 15 at 55: her own ask is skipped.
    let queue = [carol.sell(1, 50, 10), alice.sell(1, 51, 10), carol.buy(2, 55, 15)];
    let sub = built(&everyone(), &queue);
    assert_eq!(trades(&sub), vec![(account(ALICE), 1, 51, 10)]);
    assert_eq!(sub.after.order(&account(CAROL), 1), OrderState::sell(50, 10), "untouched");
    assert_eq!(sub.after.order(&account(CAROL), 2), OrderState::buy(55, 5), "rests above her own ask");
    assert!(sub.fills.iter().all(|f| f.seller != f.buyer));
    prove_and_verify(&sub);
}

#[test]
fn an_unfunded_maker_is_skipped_and_stays_resting() {
    // Dave asks 20 at 49 holding no base; Alice asks 10 at 51; Bob bids 15 at 55.
    let mut s = everyone();
    s.set_account(account(DAVE), registered(DAVE, 0, 0));
    let (mut dave, mut alice, mut bob) = (Client::new(DAVE), Client::new(ALICE), Client::new(BOB));
    let sub = built(&s, &[dave.sell(1, 49, 20), alice.sell(1, 51, 10), bob.buy(1, 55, 15)]);
    assert_eq!(trades(&sub), vec![(account(ALICE), 1, 51, 10)]);
    assert_eq!(sub.after.order(&account(DAVE), 1), OrderState::sell(49, 20), "stays, unchanged");
    assert!(change_of(&sub, &base_slot(DAVE)).is_none(), "Dave's balances are not even read");
    prove_and_verify(&sub);
    // Funded later, Dave's ask is the best one again for a new taker. Bob's resting bid (5 left
    // at 55) is not matched with it: resting orders trade with each other only when the budget
    // stopped the later one (crate docs, "Matching").
    let mut later = sub.after.clone();
    later.set_account(account(DAVE), Account { base: 20, ..later.account(&account(DAVE)) });
    let next = built(&later, &[bob.buy(2, 55, 5)]);
    assert_eq!(trades(&next), vec![(account(DAVE), 1, 49, 5)]);
    assert_eq!(next.after.order(&account(BOB), 1), OrderState::buy(55, 5), "still resting");
}

#[test]
fn refused_messages_each_with_their_reason_and_nothing_of_theirs_enters() {
    // State: Alice has a cancelled order 7 from an earlier sub-block; Eve has no key.
    let mut s = everyone();
    s.insert_order(account(ALICE), 7, OrderState::sell(40, 0));
    s.insert_order(account(ALICE), 8, OrderState::cancelled(45));
    let (mut alice, mut bob) = (Client::new(ALICE), Client::new(BOB));
    let a1 = alice.sell(1, 50, 10); // accepted
    let b1 = bob.buy(1, 55, 4); // accepted: 4 at 50
    let mut tampered = signed_with(CAROL, 0, message(CAROL, 1, 3, Some((SIDE_SELL, 50, 10))));
    tampered.message.place = Some((SIDE_SELL, Price::whole(50), 11)); // the signature is on 10
    let mut foreign = message(DAVE, 1, 1, Some((SIDE_SELL, 50, 10)));
    foreign.book = domain(0xdead);
    // Alice's key 0 again at her current nonce 2 (her slot holds key 1 by then).
    let old_key = signed_with(ALICE, 0, message(ALICE, 2, 2, Some((SIDE_SELL, 50, 10))));
    // Bob signs "cancel Alice's order 1" with his key (under her name), and under his own name.
    let bobs = signed_with(BOB, 1, OrderMessage { owner: account(ALICE), ..message(BOB, 2, 1, None) });
    let refused = [
        (tampered, "bad signature"),
        (a1.clone(), "replayed"),
        (signed_with(DAVE, 0, foreign), "wrong domain"),
        (old_key, "old key"),
        (signed_with(ALICE, 1, message(ALICE, 2, 7, Some((SIDE_BUY, 30, 5)))), "id reused"),
        (bobs, "another owner's order"),
        (signed_with(BOB, 1, message(BOB, 2, 9, None)), "no such order"),
        (signed_with(ALICE, 1, message(ALICE, 2, 8, None)), "already cancelled"),
        (signed_with(EVE, 0, message(EVE, 1, 1, Some((SIDE_BUY, 50, 1)))), "no key"),
        (unchecked(DAVE, message(DAVE, 1, 2, Some((SIDE_SELL, 0, 10)))), "price 0"),
        (unchecked(DAVE, message(DAVE, 1, 2, Some((SIDE_SELL, MAX_PRICE_PART + 1, 10)))), "price 2^14"),
        (unchecked(DAVE, message_at(DAVE, 1, 2, Some((SIDE_SELL, Price::new(50, 0), 10)))), "price 50/0"),
        (unchecked(DAVE, message(DAVE, 1, 2, Some((SIDE_SELL, 50, 0)))), "quantity 0"),
        (unchecked(DAVE, message(DAVE, 1, 2, Some((3, 50, 10)))), "side 3"),
        (unchecked(DAVE, message(DAVE, 1, 2, Some((4, 50, 10)))), "side 4"),
    ];
    let mut queue = vec![a1, b1];
    queue.extend(refused.iter().map(|(m, _)| m.clone()));
    let c1 = signed_with(CAROL, 0, message(CAROL, 1, 4, Some((SIDE_BUY, 50, 3))));
    queue.push(c1); // accepted after the refusals: 3 more of Alice's ask
    let batch = build(&s, &queue).expect("a sub-block");

    let reasons: Vec<(&str, &Rejection)> =
        batch.refused.iter().zip(&refused).map(|(r, (_, what))| (*what, &r.reason)).collect();
    assert_eq!(batch.refused.len(), refused.len());
    for (what, reason) in &reasons {
        let ok = match *what {
            "bad signature" => matches!(reason, Rejection::BadSignature(_)),
            "replayed" => **reason == Rejection::WrongNonce { given: 1, current: 2 },
            "wrong domain" => **reason == Rejection::WrongDomain,
            "old key" => **reason == Rejection::WrongKey,
            "id reused" => **reason == Rejection::IdReused { id: 7 },
            "another owner's order" => **reason == Rejection::WrongKey,
            "no such order" => **reason == Rejection::NoSuchOrder { id: 9 },
            "already cancelled" => **reason == Rejection::AlreadyCancelled { id: 8 },
            "no key" => **reason == Rejection::NoKey,
            _ => matches!(reason, Rejection::OutOfRange(MessageError::Field { .. })),
        };
        assert!(ok, "{what}: {reason}");
    }
    // Each is returned unchanged, at its queue position.
    for (k, (r, (m, _))) in batch.refused.iter().zip(&refused).enumerate() {
        assert_eq!((r.index, &r.message), (k + 2, m));
    }
    // Nothing of theirs: 3 transactions, Dave's, Eve's slots untouched, Carol's order 3 never
    // placed, Alice's order 7 not re-placed, her order 8 not cancelled again, Bob's key moved once.
    let sub = &batch.sub_block;
    assert_eq!((sub.transactions.count, sub.messages.len()), (3, 3));
    assert_eq!(trades(sub), vec![(account(ALICE), 1, 50, 4), (account(ALICE), 1, 50, 3)]);
    for slot in [key_slot(DAVE), key_slot(EVE), order_slot(CAROL, 3), order_slot(ALICE, 7), order_slot(ALICE, 8), order_slot(BOB, 9)] {
        assert!(change_of(sub, &slot).is_none(), "{slot:?}");
    }
    let bob_key = change_of(sub, &key_slot(BOB)).expect("Bob's key");
    assert!(matches!(bob_key.after, Entry::Key { nonce: 2, .. }));
    assert_eq!(sub.after.order(&account(ALICE), 1), OrderState::sell(50, 3));
    prove_and_verify(sub);

    // A queue with nothing valid: every message back with its reason, no sub-block.
    // (On the state after the sub-block, the replayed place is still a replay.)
    match build(&sub.after, &queue[2..queue.len() - 1]) {
        Err(BatchError::Empty { refused: r }) => assert_eq!(r.len(), 15),
        other => panic!("expected Empty, got {other:?}"),
    }
}

/// The key nonce bound (`zkthread_sig::KEY_NONCE_BOUND = 2^31 - 2`), the token's rule: 2^31 - 4
/// is the last nonce a message consumes (its place is accepted and the sub-block, whose key
/// slot moves to 2^31 - 3, verifies); at 2^31 - 3 (the slot would move to 2^31 - 2) and 2^31 - 2
/// (the AIR's step wraps to 0) the message is refused, `NonceExhausted`.
#[test]
fn a_message_whose_key_nonce_cannot_move_is_refused() {
    let p = zkthread_sig::field::MODULUS;
    for nonce in [p - 3, p - 2, p - 1] {
        let mut s = everyone();
        s.set_account(account(ALICE), Account { base: 1_000, quote: 0, nonce, key: key(ALICE, 0) });
        let place = signed_with(ALICE, 0, message(ALICE, nonce, 1, Some((SIDE_SELL, 50, 10))));
        if nonce == p - 3 {
            let sub = built(&s, &[place]);
            let keys = change_of(&sub, &key_slot(ALICE)).expect("Alice's key");
            assert!(matches!(keys.after, Entry::Key { nonce: n, .. } if n == p - 2), "{keys:?}");
            prove_and_verify(&sub);
            continue;
        }
        match build(&s, &[place]) {
            Err(BatchError::Empty { refused }) => assert_eq!(refused[0].reason, Rejection::NonceExhausted { nonce }),
            other => panic!("nonce {nonce}: expected NonceExhausted, got {other:?}"),
        }
    }
}

/// `msg` signed by `who`'s key 0 without the client's range checks (what a malicious or
/// buggy client signs).
fn unchecked(who: u64, msg: OrderMessage) -> SignedOrder {
    let signature = sign(&seed(who), 0, &UncheckedOrderTestDouble(msg)).expect("sign");
    SignedMessage { index: 0, key: key(who, 0), message: msg, signature }
}


#[test]
fn rematch_after_a_balance_drop_moves_less_and_verifies() {
    let (mut alice, mut bob) = (Client::new(ALICE), Client::new(BOB));
    let s0 = everyone();
    let stale = built(&s0, &[alice.sell(1, 50, 100), bob.buy(1, 52, 60)]);
    assert_eq!(trades(&stale), vec![(account(ALICE), 1, 50, 60)]);
    // Before it settles, Alice moves all but 20 base away with a direct L2 transfer.
    let mut fresh = s0.clone();
    fresh.set_account(account(ALICE), Account { base: 20, ..s0.account(&account(ALICE)) });
    let read = change_of(&stale, &base_slot(ALICE)).expect("Alice's base is read");
    assert_eq!(read.before, Entry::Balance { token: domain(BASE), account: account(ALICE), value: 1_000 });
    // The stale sub-block reads 1,000: its precondition no longer holds. Rematch:
    let batch = rematch(&stale, &fresh).expect("a sub-block");
    assert!(batch.refused.is_empty());
    let sub = batch.sub_block;
    assert_eq!(trades(&sub), vec![(account(ALICE), 1, 50, 20)], "only what Alice can deliver");
    let moved = |s: &SubBlock| s.trades.iter().map(|t| t.quantity).sum::<u64>();
    assert!(moved(&sub) < moved(&stale));
    assert_eq!(sub.after.order(&account(ALICE), 1), OrderState::sell(50, 80), "the rest rests");
    assert_eq!(sub.after.order(&account(BOB), 1), OrderState::buy(52, 40));
    assert_eq!(sub.after.account(&account(ALICE)).base, 0);
    assert_eq!(sub.messages, stale.messages, "the same messages, in the same order");
    let c = change_of(&sub, &base_slot(ALICE)).expect("read");
    assert_eq!((c.before, c.after), (
        Entry::Balance { token: domain(BASE), account: account(ALICE), value: 20 },
        Entry::Balance { token: domain(BASE), account: account(ALICE), value: 0 },
    ));
    let proof = prove_and_verify(&sub);
    // Same messages, same transaction list; the proof is of the fresh statement only.
    assert_eq!(sub.transactions, stale.transactions);
    let (stale_statement, stale_witness) = statement(&stale);
    assert!(verify::<Blake>(&stale_statement, &stale_witness, &proof, &TEST).is_err());
}

#[test]
fn wallet_signed_messages_chain_through_one_sub_block() {
    // Alice registers her wallet's current key; the wallet signs a place and its cancel with
    // consecutive indices (`sign_next` installs each next key).
    let dir = std::env::temp_dir().join(format!("zkthread-ob-batcher-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("alice.key");
    let mut wallet = Wallet::create(&path).expect("a new key file");
    let mut s = everyone();
    let registered = wallet.current_commitment().expect("a key");
    s.set_account(account(ALICE), Account { base: 1_000, quote: 0, nonce: 1, key: registered });
    let unsigned = |nonce, place| OrderMessage { next_key: KeyCommitment::NONE, ..message(ALICE, nonce, 1, place) };
    let place = wallet.sign_next(&unsigned(1, Some((SIDE_SELL, 50, 10)))).expect("sign");
    let cancel = wallet.sign_next(&unsigned(2, None)).expect("sign");
    let sub = built(&s, &[place, cancel]);
    let keys = change_of(&sub, &key_slot(ALICE)).expect("Alice's key slot");
    let now = wallet.current_commitment().expect("a key");
    assert_eq!(keys.before, Entry::Key { domain: domain(BOOK), account: account(ALICE), nonce: 1, key: registered });
    assert_eq!(keys.after, Entry::Key { domain: domain(BOOK), account: account(ALICE), nonce: 3, key: now });
    assert_eq!(sub.after.order(&account(ALICE), 1), OrderState::cancelled(50));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_state_the_statement_refuses_is_an_error_not_a_sub_block() {
    // A resting order above the AIR's price range (no storage value of a real book): cancelling
    // it would need a statement the layout refuses, so the batcher stops before proving.
    let mut s = everyone();
    s.insert_order(account(ALICE), 1, OrderState::sell(MAX_PRICE_PART + 1, 10));
    let mut alice = Client::new(ALICE);
    let result = build(&s, &[alice.cancel(1)]);
    assert!(
        matches!(
            result,
            Err(BatchError::Unstorable { .. })
        ),
        "{result:?}"
    );
}

/// Random queues of places and cancels from four clients with thin balances (funding binds,
/// orders fill several times, balances go back and forth), three sub-blocks in a row, each
/// starting from the previous one's state: every message is accepted and every sub-block
/// proves and verifies against the batcher's statement. (Run with 24 seeds while writing
/// it: all passed, 6 to 18 fills each.)
#[test]
fn random_queues_prove_and_verify_across_sub_blocks() {
    for seed in 1..5u64 {
        let (n_fills, _) = random_sub_blocks(0x0ba7_c4e5 * seed, None);
        assert!(n_fills >= 5, "seed {seed}: the queues matched ({n_fills} fills)");
    }
}

/// The same queues under the smallest slot budgets: each sub-block touches at most the budget,
/// the messages that do not fit are deferred to the next (in order), takers stopped by the
/// budget are resumed later, and every sub-block proves and verifies.
#[test]
fn random_queues_under_a_slot_budget_prove_and_verify() {
    for (seed, budget) in [(1u64, MIN_SLOT_BUDGET), (2, MIN_SLOT_BUDGET + 3), (3, 16)] {
        let (n_fills, n_sub_blocks) = random_sub_blocks(0x0ba7_c4e5 * seed, Some(budget));
        assert!(n_fills >= 5, "seed {seed}: the queues matched ({n_fills} fills)");
        assert!(n_sub_blocks > 3, "seed {seed}: the budget deferred messages ({n_sub_blocks} sub-blocks)");
    }
}

/// Three random queues from generator state `seed` (with `budget`, then as many sub-blocks as
/// the deferred messages need), each sub-block proven and verified: the fills and sub-blocks.
fn random_sub_blocks(mut seed: u64, budget: Option<usize>) -> (usize, usize) {
    let mut below = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let who = [ALICE, BOB, CAROL, DAVE];
    let mut state = book(&[(ALICE, 40, 2_000), (BOB, 10, 3_000), (CAROL, 60, 500), (DAVE, 25, 1_500)]);
    let mut clients: Vec<Client> = who.iter().map(|w| Client::new(*w)).collect();
    let mut placed: Vec<Vec<u32>> = vec![Vec::new(); who.len()];
    let (mut next_id, mut n_fills) = (1u32, 0usize);
    let mut carried: Vec<SignedOrder> = Vec::new();
    let mut resume = None;
    for _ in 0..3 {
        let mut queue = Vec::new();
        for _ in 0..10 {
            let c = below(who.len() as u64) as usize;
            if !placed[c].is_empty() && below(5) == 0 {
                // An id is cancelled once (a second cancel is refused).
                let at = below(placed[c].len() as u64) as usize;
                let id = placed[c].swap_remove(at);
                queue.push(clients[c].cancel(id));
                continue;
            }
            // Ratios around 45..55 with small denominators: the makers' rounding and whole
            // lots are proven too.
            let den = [1, 2, 3][below(3) as usize] as u32;
            let (price, qty) = (Price::new(45 * den + below(u64::from(10 * den)) as u32, den), 1 + below(25));
            let side = if below(2) == 0 { SIDE_BUY } else { SIDE_SELL };
            queue.push(clients[c].next(next_id, Some((side, price, qty))));
            placed[c].push(next_id);
            next_id += 1;
        }
        carried.extend(queue);
        (state, carried, resume) = budgeted_sub_block(state, &carried, budget, resume, &mut n_fills);
    }
    let mut n_sub_blocks = 3;
    while !carried.is_empty() || resume.is_some() {
        (state, carried, resume) = budgeted_sub_block(state, &carried, budget, resume, &mut n_fills);
        n_sub_blocks += 1;
    }
    (n_fills, n_sub_blocks)
}

/// One sub-block of `queue` within `budget`, resuming `resume`, proven and verified (none when
/// there is nothing to take): the state after it, the messages it deferred and the taker it
/// stopped.
fn budgeted_sub_block(
    state: BookState,
    queue: &[SignedOrder],
    budget: Option<usize>,
    resume: Option<Stopped>,
    n_fills: &mut usize,
) -> (BookState, Vec<SignedOrder>, Option<Stopped>) {
    let batch = match build_within(&state, queue, budget, resume.as_ref()) {
        Ok(batch) => batch,
        Err(BatchError::Empty { refused }) if refused.is_empty() && queue.is_empty() => return (state, vec![], None),
        Err(other) => panic!("{other}"),
    };
    assert!(batch.refused.is_empty(), "{:?}", batch.refused);
    let sub = batch.sub_block;
    assert!(budget.is_none_or(|b| sub.changes.len() <= b), "{} slots over {budget:?}", sub.changes.len());
    assert_eq!(sub.messages.len() + batch.deferred.len(), queue.len());
    *n_fills += sub.fills.len();
    prove_and_verify(&sub);
    (sub.after, batch.deferred, batch.stopped)
}

/// A queue larger than one proof holds: the sub-block takes what fits the largest component
/// (every signed message's Poseidon2 permutations), the rest comes back deferred, untouched
/// and in order, and the next sub-block on the first one's state takes it all.
#[test]
fn a_queue_larger_than_a_proof_is_cut_and_the_rest_deferred() {
    // 60 accounts x 10 asks at distinct prices: no fills, 600 signed messages.
    let owners: Vec<u64> = (0..60).map(|i| 0x5e11_0000 + i).collect();
    let accounts: Vec<(u64, u128, u128)> = owners.iter().map(|o| (*o, 1_000_000, 0)).collect();
    let mut s = book(&accounts);
    let mut queue = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        let mut client = Client::new(*owner);
        for id in 1..=10 {
            queue.push(client.sell(id, 100 + i as u32, 5));
        }
    }
    let batch = build(&s, &queue).expect("a sub-block");
    assert!(batch.refused.is_empty());
    let sub = &batch.sub_block;
    let taken = sub.messages.len();
    assert!(taken < queue.len() && taken > 500, "{taken} messages taken");
    assert!(sub.witness.auth.permutations.len() <= MAX_COMPONENT_ROWS);
    assert_eq!(batch.deferred, queue[taken..].to_vec(), "the rest, untouched, in order");
    assert_eq!(sub.transactions.count as usize, taken);
    // One more message would not have fit: each costs the same permutations here.
    let per_message = sub.witness.auth.permutations.len() / taken;
    assert!(sub.witness.auth.permutations.len() + per_message > MAX_COMPONENT_ROWS);
    s = sub.after.clone();
    let next = build(&s, &batch.deferred).expect("the deferred messages");
    assert!(next.refused.is_empty() && next.deferred.is_empty());
    assert_eq!(next.sub_block.messages.len(), queue.len() - taken);
}

/// A taker that crosses more makers than the slot budget lets one sub-block touch is filled
/// over several (the settlement-size fix: before, such a lone message was proven, found too
/// large to settle and refused, its one-time key spent): each sub-block touches at most the
/// budget, the taker's remainder rests crossing the book, and the next sub-blocks resume it
/// first, at the same makers' prices in the same priority, until the fills are exactly those
/// one unbounded sub-block makes. Once a fill is stopped the sub-block is full: every later
/// message waits, untouched (here the whole queue of the second sub-block, which is then
/// fills alone, and proves and verifies).
#[test]
fn a_taker_over_the_slot_budget_rests_and_is_filled_over_later_sub_blocks() {
    // Six asks of 10 resting at 50..55 (Alice, Carol, Dave, twice each); Bob bids 60 for 60.
    let mut s = everyone();
    for (i, who) in [ALICE, CAROL, DAVE, ALICE, CAROL, DAVE].into_iter().enumerate() {
        s.insert_order(account(who), 1 + i as u32 / 3, OrderState::sell(50 + i as u32, 10));
    }
    let (mut alice, mut bob, mut carol, mut dave) =
        (Client::new(ALICE), Client::new(BOB), Client::new(CAROL), Client::new(DAVE));
    let taker = bob.buy(1, 60, 60);
    let all_at_once = built(&s, std::slice::from_ref(&taker));
    let priced = |sub: &SubBlock| trades(sub).into_iter().map(|(_, _, p, q)| (p, q)).collect::<Vec<_>>();
    assert_eq!(priced(&all_at_once), (50..56).map(|p| (p, 10)).collect::<Vec<_>>());
    assert_eq!(all_at_once.changes.len(), 17, "2 of Bob's message, 6 + 3 + 3 + 1 + 1 + 1 of fills");

    const BUDGET: usize = 14;
    let within = |state: &BookState, queue: &[SignedOrder], resume: Option<&Stopped>| {
        let batch = build_within(state, queue, Some(BUDGET), resume).expect("a sub-block");
        assert!(batch.refused.is_empty(), "{:?}", batch.refused);
        assert!(batch.sub_block.changes.len() <= BUDGET, "{} slots", batch.sub_block.changes.len());
        batch
    };
    // 1: Bob's message (2 slots) and three fills (6 + 3 + 3); Alice's second ask needs her
    // second order slot, the 15th: his remainder rests, crossing.
    let first = within(&s, std::slice::from_ref(&taker), None);
    let stopped = first.stopped.clone().expect("stopped");
    assert_eq!(stopped.taker, (account(BOB), 1));
    assert!(stopped.passed.is_empty(), "the three asks it filled are closed: never visited again");
    let first = first.sub_block;
    assert_eq!(priced(&first), vec![(50, 10), (51, 10), (52, 10)]);
    assert_eq!(first.changes.len(), 14);
    assert_eq!(first.after.order(&account(BOB), 1), OrderState::buy(60, 30), "rests crossing the book");
    // 2: unrelated bids far below the book. Bob's order is resumed first (12 slots of the 14:
    // two kept for the first message): his remainder takes the next two asks at their prices,
    // and the third would be the 13th: stopped, the sub-block is full and every bid waits.
    let queue = [carol.buy(3, 10, 1), dave.buy(3, 10, 1), alice.buy(3, 10, 1)];
    let second = within(&first.after, &queue, Some(&stopped));
    let stopped = second.stopped.clone().expect("stopped again");
    assert_eq!((stopped.taker, stopped.passed.len()), ((account(BOB), 1), 0));
    assert_eq!(second.deferred, queue.to_vec(), "the bids wait, untouched");
    let second = second.sub_block;
    assert_eq!(priced(&second), vec![(53, 10), (54, 10)]);
    assert!(second.trades.iter().all(|t| t.taker == (account(BOB), 1)), "Bob's order is the taker");
    assert!(second.messages.is_empty() && second.transactions.count == 0);
    prove_and_verify(&second);
    // 3: the last ask (7 slots), then the three bids (2 each).
    let third = within(&second.after, &queue, Some(&stopped));
    assert!(third.deferred.is_empty() && third.stopped.is_none());
    let third = third.sub_block;
    assert_eq!(priced(&third), vec![(55, 10)]);
    assert_eq!(third.messages, queue.to_vec());
    assert_eq!(third.after.order(&account(BOB), 1), OrderState::buy(60, 0));
    // The same fills as one unbounded sub-block, and the same balances after them.
    let over_three: Vec<_> = [&first, &second, &third].into_iter().flat_map(priced).collect();
    assert_eq!(over_three, priced(&all_at_once));
    for who in [ALICE, BOB, CAROL, DAVE] {
        let (split, whole) = (third.after.account(&account(who)), all_at_once.after.account(&account(who)));
        assert_eq!((split.base, split.quote), (whole.base, whole.quote), "{who:#x}");
    }
    // A budget below the floor is the floor: the first message and one fill between new owners.
    let tiny = build_within(&s, std::slice::from_ref(&taker), Some(1), None).expect("a sub-block").sub_block;
    assert_eq!(tiny.changes.len(), 8);
    assert!(MIN_SLOT_BUDGET >= 8 && MIN_SLOT_BUDGET < 11);
    assert_eq!(priced(&tiny), vec![(50, 10)]);
}

/// A stopped taker keeps its priority over every later message (helper-51's case): with a
/// budget of 10, Bob's bid takes Alice's ask at 50 and is stopped before Dave's at 51; Alice's
/// new ask at 58, behind him in the queue, waits instead of trading first (it would have taken
/// Bob's bid at 60 ahead of Dave's 51). The next sub-block resumes Bob against Dave, then
/// Alice's ask takes Bob's remainder at his price: the fills one unbounded sub-block makes.
#[test]
fn a_stopped_taker_keeps_its_priority_over_later_messages() {
    let mut s = everyone();
    s.insert_order(account(ALICE), 1, OrderState::sell(50, 10));
    s.insert_order(account(DAVE), 1, OrderState::sell(51, 10));
    let (mut alice, mut bob) = (Client::new(ALICE), Client::new(BOB));
    let queue = [bob.buy(1, 60, 60), alice.sell(7, 58, 10)];
    let fills = |sub: &SubBlock| sub.trades.iter().map(|t| (t.maker, t.taker, t.price.num, t.quantity)).collect::<Vec<_>>();
    let whole = built(&s, &queue);
    let first = build_within(&s, &queue, Some(10), None).expect("a sub-block");
    assert_eq!(first.deferred, queue[1..].to_vec(), "Alice's ask waits behind the stopped bid");
    // 2: Bob resumed against Dave (7 slots), Alice's ask placed (2 more), her fill against Bob
    // (2 new balance slots) stopped: it rests crossing. 3: fills alone resume it.
    let second = build_within(&first.sub_block.after, &first.deferred, Some(10), first.stopped.as_ref()).expect("a sub-block");
    assert!(second.deferred.is_empty() && second.sub_block.messages.len() == 1);
    assert_eq!(second.stopped.as_ref().map(|s| s.taker), Some((account(ALICE), 7)));
    let third = build_within(&second.sub_block.after, &[], Some(10), second.stopped.as_ref()).expect("fills alone");
    assert!(third.sub_block.messages.is_empty() && third.stopped.is_none());
    assert!(matches!(build_within(&third.sub_block.after, &[], Some(10), None), Err(BatchError::Empty { .. })));
    let split: Vec<_> = [&first, &second, &third].into_iter().flat_map(|b| fills(&b.sub_block)).collect();
    assert_eq!(split, fills(&whole));
    assert_eq!(split.iter().map(|f| f.2).collect::<Vec<_>>(), vec![50, 51, 60]);
    prove_and_verify(&second.sub_block);
    prove_and_verify(&third.sub_block);
}

/// Random books, one message per owner (no self-trade), well funded at whole prices or on thin
/// funds at ratio prices: under any slot budget, the sub-blocks built one after the other (the
/// deferred messages, and the stopped taker resumed, with fills alone if nothing else is left)
/// make exactly the fills (maker, taker, price, quantity, in order) of one unbounded
/// sub-block, and end in the same balances; the budgets do stop fills and defer messages.
#[test]
fn budgeted_sub_blocks_make_the_unbounded_fills_in_order() {
    let mut seed = 0x5107_b0d9_u64;
    let mut below = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let owners: Vec<u64> = (0..16).map(|i| 0xf111_0000 + i).collect();
    let (mut stops, mut extra) = (0, 0);
    for round in 0..12 {
        // Half the books well funded at whole prices, half on thin funds at ratio prices
        // (funding and the makers' rounding bind).
        let thin = round % 2 == 1;
        let accounts: Vec<(u64, u128, u128)> = owners
            .iter()
            .map(|o| if thin { (*o, u128::from(below(30) as u32), u128::from(below(1_500) as u32)) } else { (*o, 1_000_000, 1_000_000_000) })
            .collect();
        let state = book(&accounts);
        let queue: Vec<SignedOrder> = owners
            .iter()
            .map(|o| {
                let side = if below(2) == 0 { SIDE_BUY } else { SIDE_SELL };
                let den = if thin { [1, 2, 3, 7][below(4) as usize] } else { 1 };
                let price = Price::new(45 * den + below(u64::from(10 * den)) as u32, den);
                Client::new(*o).next(1, Some((side, price, 1 + below(40))))
            })
            .collect();
        let fills = |sub: &SubBlock| sub.trades.iter().map(|t| (t.maker, t.taker, t.price, t.quantity)).collect::<Vec<_>>();
        let whole = built(&state, &queue);
        for budget in [MIN_SLOT_BUDGET, 12, 20] {
            let (mut now, mut rest, mut split, mut resume) = (state.clone(), queue.clone(), Vec::new(), None);
            let mut n = 0;
            // Until nothing is left to take: the deferred messages, and a stopped taker.
            while let Ok(batch) = build_within(&now, &rest, Some(budget), resume.as_ref()) {
                assert!(batch.refused.is_empty() && batch.sub_block.changes.len() <= budget);
                if batch.sub_block.messages.is_empty() {
                    stops += 1; // a sub-block of a resumed taker's fills alone
                }
                split.extend(fills(&batch.sub_block));
                (now, rest, resume) = (batch.sub_block.after, batch.deferred, batch.stopped);
                n += 1;
            }
            assert!(rest.is_empty() && resume.is_none());
            extra += n - 1;
            assert_eq!(split, fills(&whole), "budget {budget}");
            for o in &owners {
                let (a, b) = (now.account(&account(*o)), whole.after.account(&account(*o)));
                assert_eq!((a.base, a.quote), (b.base, b.quote));
            }
        }
    }
    assert!(stops > 0 && extra > 10, "{stops} sub-blocks of fills alone, {extra} more sub-blocks than one");
}

/// Resting orders that cross and can pay (an attacker's two accounts, each asking and bidding
/// at one price) never trade with each other on their own: a sub-block of no message has
/// nothing to do, and one of an unrelated message takes only that message (helper-52's case:
/// were every crossed pair matched in every sub-block, the batcher would wash-trade them at its
/// own cost forever and, under a budget, defer every message). Only a taker the budget stopped
/// is resumed.
#[test]
fn resting_crossed_orders_trade_only_as_a_resumed_taker() {
    let mut s = everyone();
    s.insert_order(account(ALICE), 1, OrderState::sell(50, 1_000));
    s.insert_order(account(CAROL), 1, OrderState::buy(50, 1_000));
    s.insert_order(account(CAROL), 2, OrderState::sell(50, 1_000));
    s.insert_order(account(DAVE), 1, OrderState::buy(50, 1_000));
    assert!(matches!(build_within(&s, &[], Some(MIN_SLOT_BUDGET), None), Err(BatchError::Empty { .. })));
    let mut bob = Client::new(BOB);
    let sub = build_within(&s, &[bob.buy(1, 10, 1)], Some(MIN_SLOT_BUDGET), None).expect("a sub-block");
    assert!(sub.sub_block.trades.is_empty() && sub.sub_block.messages.len() == 1 && sub.stopped.is_none());
    // Resumed (as if a budget had stopped it), Carol's bid takes Alice's earlier ask.
    let as_stopped = Stopped { taker: (account(CAROL), 1), passed: vec![] };
    let resumed = build_within(&s, &[], None, Some(&as_stopped)).expect("fills alone").sub_block;
    assert_eq!(trades(&resumed), vec![(account(ALICE), 1, 50, 1_000)]);
}

/// A resumed taker finishes the pass the budget stopped and never visits a maker twice
/// (helper-53's case): Bob's bid empties Alice's and Carol's asks and is stopped before Dave's;
/// Alice and Carol are refunded on L2 before the next sub-block. Resumed, Bob takes Dave's 30
/// and Eve's 50, the asks he had not reached, but not Alice's or Carol's again: refunds
/// between settlements cannot keep him trading, and the book's messages waiting, for ever.
#[test]
fn a_resumed_taker_visits_each_maker_once() {
    let mut s = everyone();
    s.set_account(account(EVE), registered(EVE, 1_000, 0));
    for (who, price) in [(ALICE, 50), (CAROL, 51), (DAVE, 52), (EVE, 53)] {
        s.insert_order(account(who), 1, OrderState::sell(price, 1_000));
    }
    for (who, base) in [(ALICE, 10), (CAROL, 10), (DAVE, 30)] {
        s.set_account(account(who), Account { base, ..s.account(&account(who)) });
    }
    let mut bob = Client::new(BOB);
    // 2 + 6 (Alice) + 3 (Carol) = 11: Dave's 3 more would be 14.
    let first = build_within(&s, &[bob.buy(1, 60, 100)], Some(12), None).expect("a sub-block");
    let stopped = first.stopped.clone().expect("stopped");
    // Both asks are still live (990 left each, their owners emptied): kept as visited.
    let mut passed = stopped.passed.clone();
    passed.sort();
    let mut expected = vec![(account(ALICE), 1), (account(CAROL), 1)];
    expected.sort();
    assert_eq!(passed, expected);
    let mut refunded = first.sub_block.after.clone();
    for who in [ALICE, CAROL] {
        refunded.set_account(account(who), Account { base: 10, ..refunded.account(&account(who)) });
    }
    // An ask at 40 that arrived after Bob's bid (an order another batcher placed): the best
    // price, but Bob never takes a later order.
    const LATE: u64 = 0x1a7e;
    refunded.set_account(account(LATE), registered(LATE, 1_000, 0));
    refunded.insert_order(account(LATE), 1, OrderState::sell(40, 1_000));
    let second = build_within(&refunded, &[], None, Some(&stopped)).expect("fills alone");
    let makers: Vec<Hash4> = second.sub_block.trades.iter().map(|t| t.maker.0).collect();
    assert_eq!(makers, vec![account(DAVE), account(EVE)], "not Alice or Carol again, nor the later ask");
    assert!(second.stopped.is_none());
    assert_eq!(second.sub_block.after.order(&account(BOB), 1).remaining, 0, "10 + 10, then 30 + 50");
    prove_and_verify(&second.sub_block);
}
