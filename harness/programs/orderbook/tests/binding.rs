//! The order book's statement binding end to end: an honest sub-block (two signed places, a
//! fill, a signed cancel) proven once, its statement (the registry's `(contract, key, value)`
//! lists, `statement_of`) verifying through `verify`; then every binding rule refusing an
//! edited statement or witness with its own reason, and a market whose quote token is
//! swapped in the book's configuration not verifying.

mod common;
use common::orders::honest;
use common::{bind, header, ALICE, BASE, BOB, BOOK, JUNK, QUOTE, TEST};

use starknet_types_core::felt::Felt;
use stwo::core::verifier::VerificationError;
use zkthread_orderbook::statement::{
    base_token_key, fill_count_key, order_slot_key, quote_token_key, SignedPublicInput, SignedStatementError,
};
use zkthread_orderbook::{prove, prove_statement, verify, BookRefusal, OrderBookStatementError, OrderBookVerifyError};
use zkthread_prover::model::{Slot, SlotValue};
use zkthread_prover::program::ProvenParts;
use zkthread_prover::prover::VerifyError;
use zkthread_prover::Blake2sMerkleChannel as Blake;
use zkthread_sig::field::MODULUS;
use zkthread_sig::{balance_slot_key, thread_key_slot_key};

fn f(v: u64) -> Felt {
    Felt::from(v)
}

/// The input index of `contract`'s slot `key`.
fn at(s: &SignedPublicInput, contract: u64, key: Felt) -> usize {
    let slot = Slot { contract: f(contract), key };
    s.inputs.iter().position(|e| e.slot == slot).expect("the slot is an input")
}

/// `s` and `w` with one more read-only input (kept sorted, its witness beside it).
fn with_input(s: &SignedPublicInput, w: &[Felt], contract: u64, key: Felt, value: Felt, witness: [Felt; 2]) -> (SignedPublicInput, Vec<Felt>) {
    let mut pairs: Vec<(SlotValue, [Felt; 2])> =
        s.inputs.iter().zip(w.chunks(2)).map(|(e, c)| (*e, [c[0], c[1]])).collect();
    pairs.push((SlotValue { slot: Slot { contract: f(contract), key }, value }, witness));
    pairs.sort_by_key(|(e, _)| e.slot);
    let mut s = s.clone();
    s.inputs = pairs.iter().map(|(e, _)| *e).collect();
    (s, pairs.iter().flat_map(|(_, w)| *w).collect())
}

/// `s` and `w` without the input `index` (and without an output of that slot).
fn without_input(s: &SignedPublicInput, w: &[Felt], index: usize) -> (SignedPublicInput, Vec<Felt>) {
    let mut s = s.clone();
    let gone = s.inputs.remove(index);
    s.outputs.retain(|o| o.slot != gone.slot);
    let mut w = w.to_vec();
    w.drain(2 * index..2 * index + 2);
    (s, w)
}

fn refusal(s: &SignedPublicInput, w: &[Felt], proof: &ProvenParts<Blake>) -> OrderBookStatementError {
    match verify::<Blake>(s, w, proof, &TEST) {
        Err(VerifyError::Statement(e)) => e,
        other => panic!("expected a statement refusal, got {other:?}"),
    }
}

fn layout(r: BookRefusal) -> OrderBookStatementError {
    OrderBookStatementError::Layout(r)
}

fn framework(e: SignedStatementError) -> OrderBookStatementError {
    OrderBookStatementError::Statement(e)
}

fn assert_oods(what: &str, result: Result<(), OrderBookVerifyError>) {
    match result {
        Err(VerifyError::Stwo(VerificationError::OodsNotMatching)) => {}
        other => panic!("{what}: expected the stwo verifier to refuse (OODS), got {other:?}"),
    }
}

#[test]
fn an_honest_statement_verifies_and_each_binding_rule_refuses_with_its_reason() {
    let (w, changes) = honest();
    let (s, sw) = bind(&changes, w.auth.transactions);
    let proof = prove_statement::<Blake>(&s, &w, &TEST).expect("the raw prover proves");
    verify::<Blake>(&s, &sw, &proof, &TEST).expect("the honest statement verifies");
    // Its lists: the book's config (read-only), Alice's and Bob's key and order slots, the
    // counter, four balances; outputs are exactly the slots that change.
    assert_eq!((s.inputs.len(), s.outputs.len()), (11, 9));
    assert!(s.outputs.iter().all(|o| o.slot.key != base_token_key() && o.slot.key != quote_token_key()));

    // An order slot bound to another owner, or to another id: no such variable has its key.
    let order = at(&s, BOOK, order_slot_key(f(ALICE), 5));
    assert_eq!(&sw[2 * order..2 * order + 2], &[f(ALICE), f(5)]);
    let unbound = framework(SignedStatementError::UnboundSlot { index: order, variables: VARIABLES });
    for (what, witness) in [("another owner", [f(BOB), f(5)]), ("another id", [f(ALICE), f(6)])] {
        let mut bad = sw.clone();
        bad[2 * order..2 * order + 2].copy_from_slice(&witness);
        assert_eq!(refusal(&s, &bad, &proof), unbound, "{what}");
    }
    // A slot without an id must carry 0 as its second witness felt.
    let balance = at(&s, BASE, balance_slot_key(f(ALICE)));
    let mut bad = sw.clone();
    bad[2 * balance + 1] = Felt::ONE;
    assert_eq!(
        refusal(&s, &bad, &proof),
        framework(SignedStatementError::UnboundSlot { index: balance, variables: VARIABLES })
    );

    // Without its config slots the book is no book: its counter, orders and keys are refused.
    let (no_base, w1) = without_input(&s, &sw, at(&s, BOOK, base_token_key()));
    let (no_config, w2) = without_input(&no_base, &w1, at(&no_base, BOOK, quote_token_key()));
    let first_book_slot = no_config.inputs.iter().position(|e| e.slot.contract == f(BOOK)).unwrap();
    assert!(matches!(
        refusal(&no_config, &w2, &proof),
        OrderBookStatementError::Layout(BookRefusal::NotABook { index, .. }) if index == first_book_slot
    ));
    // With one of the two: an incomplete configuration.
    assert_eq!(refusal(&no_base, &w1, &proof), layout(BookRefusal::IncompleteConfig { contract: f(BOOK) }));
    // An order or a counter in a token contract (which has no config slots).
    for (what, key, witness, name) in [
        ("order", order_slot_key(f(ALICE), 5), [f(ALICE), f(5)], "orders[(owner, id)]"),
        ("counter", fill_count_key(), [Felt::ZERO; 2], "fill_count"),
        ("thread key", thread_key_slot_key(f(ALICE)), [f(ALICE), Felt::ZERO], "thread_keys[owner]"),
    ] {
        let (bad, bw) = with_input(&s, &sw, BASE, key, Felt::ZERO, witness);
        let index = at(&bad, BASE, key);
        assert_eq!(refusal(&bad, &bw, &proof), layout(BookRefusal::NotABook { index, variable: name }), "{what}");
    }
    // A balance of the book (a book holds no balances).
    let (bad, bw) = with_input(&s, &sw, BOOK, balance_slot_key(f(ALICE)), f(7), [f(ALICE), Felt::ZERO]);
    let index = at(&bad, BOOK, balance_slot_key(f(ALICE)));
    assert_eq!(refusal(&bad, &bw, &proof), layout(BookRefusal::BalanceInBook { index }));

    // An output writing the configuration (retargeting the book's quote token).
    let mut bad = s.clone();
    bad.outputs.push(SlotValue { slot: Slot { contract: f(BOOK), key: quote_token_key() }, value: f(JUNK) });
    bad.outputs.sort_by_key(|o| o.slot);
    let index = bad.outputs.iter().position(|o| o.slot.key == quote_token_key()).unwrap();
    assert_eq!(refusal(&bad, &sw, &proof), layout(BookRefusal::ConfigWritten { index }));
    // A market of one token against itself.
    let mut bad = s.clone();
    let quote = at(&s, BOOK, quote_token_key());
    bad.inputs[quote].value = f(BASE);
    assert_eq!(
        refusal(&bad, &sw, &proof),
        layout(BookRefusal::DegenerateMarket { book: f(BOOK), base: f(BASE), quote: f(BASE) })
    );

    // The counter moves by 0..=2^16 (one fill per row) and never backwards: its tuples carry
    // it rebased, so a larger move could alias a chain of fewer rows.
    let counter = at(&s, BOOK, fill_count_key());
    let counter_out = s.outputs.iter().position(|o| o.slot == s.inputs[counter].slot).expect("the counter moves");
    let (before, after) = (u64::try_from(s.inputs[counter].value).unwrap(), u64::try_from(s.outputs[counter_out].value).unwrap());
    for (what, b, a) in [("backwards", after + 1, after), ("too far", before, before + (1 << 16) + 1), ("p - 1 back", u64::from(MODULUS - 1), after)] {
        let mut bad = s.clone();
        (bad.inputs[counter].value, bad.outputs[counter_out].value) = (f(b), f(a));
        assert_eq!(refusal(&bad, &sw, &proof), layout(BookRefusal::CounterJump { index: counter, before: b, after: a }), "{what}");
    }
    // A move of exactly 2^16 binds (the largest a sub-block's rows can make): only the proof,
    // of one fill, refuses it.
    let mut edge = s.clone();
    edge.outputs[counter_out].value = f(before + (1 << 16));
    assert_oods("a counter move of exactly 2^16", verify::<Blake>(&edge, &sw, &proof, &TEST));

    // Non-canonical values: a counter that is no u64 (any u64 is one: a cap in M31 let wash
    // fills stop a book for good), an unset (zero) config address, an order side that is
    // neither empty, buy nor sell.
    let bad_side = Felt::from(3u8) * Felt::TWO.pow(80u32) + Felt::from(50u8) * Felt::TWO.pow(64u32) + f(100);
    for (index, value) in [(counter, Felt::TWO.pow(64u32)), (quote, Felt::ZERO), (order, bad_side)] {
        let mut bad = s.clone();
        bad.inputs[index].value = value;
        assert_eq!(
            refusal(&bad, &sw, &proof),
            framework(SignedStatementError::BadValue { list: "input", index, value })
        );
    }
}

const VARIABLES: &str = "balances[owner], thread_keys[owner], orders[(owner, id)], fill_count, base_token or quote_token";

#[test]
fn a_market_whose_quote_token_is_swapped_in_the_config_does_not_verify() {
    // The book's configuration names QUOTE; a statement naming JUNK instead binds (a BASE/JUNK
    // book is a well-formed book: the registry's storage check is what ties the value to the
    // book), but the fill's Market tuple consumes D_QUOTE, which is not the tuple the
    // swapped statement's counter offers.
    let (w, changes) = honest();
    let (s, sw) = bind(&changes, w.auth.transactions);
    let proof = prove_statement::<Blake>(&s, &w, &TEST).expect("prove");
    verify::<Blake>(&s, &sw, &proof, &TEST).expect("the honest statement verifies");
    let mut swapped = s.clone();
    let quote = at(&s, BOOK, quote_token_key());
    assert_eq!(swapped.inputs[quote].value, f(QUOTE));
    swapped.inputs[quote].value = f(JUNK);
    assert!(zkthread_orderbook::bound_slots(&swapped, &sw).is_ok(), "the swapped statement binds");
    assert_oods("the honest proof under the swapped config", verify::<Blake>(&swapped, &sw, &proof, &TEST));
    // The same rows proven under the swapped statement's own felts (so the transcript
    // matches): only the boundary differs, and it refuses.
    let reproved = prove::<Blake>(&swapped.to_felts(), &w, &TEST).expect("prove");
    assert_oods("the rows proven under the swapped config", verify::<Blake>(&swapped, &sw, &reproved, &TEST));
    // The header alone changes nothing of this: the honest statement under another
    // sequence is another statement.
    let mut next = s.clone();
    next.sequence = header(w.auth.transactions).sequence + Felt::ONE;
    assert_oods("another sequence", verify::<Blake>(&next, &sw, &proof, &TEST));
}
