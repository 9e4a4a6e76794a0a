//! Per-slot cost of the order book's statement: `measure_book_statement_*` adds the context
//! to the registry's public input, binds and sums (state and transaction list) a statement of
//! the book's configuration and counter plus 3n written slots (n owners: a balance in the base
//! token, a thread key and an order in the book), `measure_book_statement_setup_*` builds the
//! same statement and reference without the measured calls. Run with `--profile --filter
//! measure_book_statement` and take per slot = ((run_2n - setup_2n) - (run_n - setup_n)) / 3n.

use stark_verifier::fields::{M31, QM31, QM31Trait};
use thread_verifier::lookup::LookupElementsTrait;
use thread_statement::header::{HEADER_LEN, tx_list, with_context};
use thread_statement::ids::{KeySlot, account_id, pack_key_slot, transfer_domain};
use signed_verifier::statement::{SlotState, balance_key, thread_key_key};
use crate::statement::{
    BookSlot, BoundSlot, MarketTokens, OrderState, base_token_key, bound_slots, fill_count_key,
    order_key, pack_order, state_values, statement_boundary_sum, quote_token_key,
};
use super::statement_vectors::{honest, link_relation, state_relation};

const BOOK: felt252 = 0xb00c0de;
const BASE: felt252 = 0x497d1c054cec40f64454b45deecdc83e0c7f7b961c63531eae03748abd95350;
const QUOTE: felt252 = 0x5a11d0c0ffee0000000000000000000000000000000000000000000000000b2;

#[derive(Drop, Copy)]
struct Slot {
    contract: felt252,
    key: felt252,
    owner: felt252,
    id: felt252,
    before: felt252,
    after: felt252,
    expected: BoundSlot,
}

fn lt(a: Slot, b: Slot) -> bool {
    let (ac, bc): (u256, u256) = (a.contract.into(), b.contract.into());
    if ac != bc {
        return ac < bc;
    }
    let (ak, bk): (u256, u256) = (a.key.into(), b.key.into());
    ak < bk
}

fn qm31s(values: Array<M31>) -> Span<QM31> {
    let mut out: Array<QM31> = array![];
    for v in values {
        out.append(QM31Trait::from_m31(v));
    };
    out.span()
}

fn encode(state: BookSlot) -> felt252 {
    match state {
        BookSlot::Token(token) => match token {
            SlotState::Balance(v) => v.into(),
            SlotState::Key(k) => pack_key_slot(k),
        },
        BookSlot::Order((_, o)) => pack_order(o),
        BookSlot::FillCount((n, _)) => n.into(),
        BookSlot::Config(a) => a,
    }
}

fn slot(
    contract: felt252,
    key: felt252,
    owner: felt252,
    id: felt252,
    domain: (u32, u32, u32, u32),
    before: BookSlot,
    after: BookSlot,
) -> Slot {
    Slot {
        contract,
        key,
        owner,
        id,
        before: encode(before),
        after: encode(after),
        expected: BoundSlot { domain, account: account_id(owner), before, after },
    }
}

fn run(n_owners: u32, measure: bool) {
    let mut cases = honest();
    let case = cases.pop_front().unwrap();
    let header = case.public_input.slice(0, HEADER_LEN);
    let (chain_id, registry, thread_id) = (*header[2], *header[3], *header[4]);
    let book = transfer_domain(chain_id, registry, thread_id, BOOK);
    let base = transfer_domain(chain_id, registry, thread_id, BASE);
    let quote = transfer_domain(chain_id, registry, thread_id, QUOTE);
    let market = Option::Some(MarketTokens { base, quote });
    let mut all: Array<Slot> = array![
        slot(BOOK, base_token_key(), 0, 0, book, BookSlot::Config(BASE), BookSlot::Config(BASE)),
        slot(BOOK, quote_token_key(), 0, 0, book, BookSlot::Config(QUOTE), BookSlot::Config(QUOTE)),
        slot(
            BOOK, fill_count_key(), 0, 0, book, BookSlot::FillCount((7, market)),
            BookSlot::FillCount((7 + n_owners.into(), market)),
        ),
    ];
    for i in 0..n_owners {
        let owner: felt252 = 0xa11ce000 + i.into();
        let i128: u128 = i.into();
        let id: u32 = 100 + i;
        all
            .append(
                slot(
                    BASE, balance_key(owner), owner, 0, base,
                    BookSlot::Token(SlotState::Balance(1000 + i128)),
                    BookSlot::Token(SlotState::Balance(900 + i128)),
                ),
            );
        all
            .append(
                slot(
                    BOOK, thread_key_key(owner), owner, 0, book,
                    BookSlot::Token(SlotState::Key(KeySlot { key: (i + 1, 2, 3, 4), nonce: i })),
                    BookSlot::Token(SlotState::Key(KeySlot { key: (i + 5, 6, 7, 8), nonce: i + 1 })),
                ),
            );
        all
            .append(
                slot(
                    BOOK, order_key(owner, id.into()), owner, id.into(), book,
                    BookSlot::Order((id, OrderState { side: 0, num: 0, den: 0, remaining: 0 })),
                    BookSlot::Order((id, OrderState { side: 2, num: 50 + i, den: 1, remaining: 1000 })),
                ),
            );
    };
    // Sorted by (contract, key) (insertion sort: setup only).
    let mut sorted: Array<Slot> = array![];
    for new in all {
        let mut next: Array<Slot> = array![];
        let mut placed = false;
        for s in sorted.span() {
            if !placed && lt(new, *s) {
                next.append(new);
                placed = true;
            }
            next.append(*s);
        };
        if !placed {
            next.append(new);
        }
        sorted = next;
    };
    let n = sorted.len();
    let mut pi: Array<felt252> = array![];
    pi.append_span(header);
    let mut witness: Array<felt252> = array![];
    let mut expected: Array<BoundSlot> = array![];
    let mut n_outputs: felt252 = 0;
    pi.append(n.into());
    for s in sorted.span() {
        pi.append(*s.contract);
        pi.append(*s.key);
        pi.append(*s.before);
        witness.append(*s.owner);
        witness.append(*s.id);
        expected.append(*s.expected);
        if *s.before != *s.after {
            n_outputs += 1;
        }
    };
    pi.append(n_outputs);
    for s in sorted.span() {
        if *s.before != *s.after {
            pi.append(*s.contract);
            pi.append(*s.key);
            pi.append(*s.after);
        }
    };
    // What the registry passes: without the chain id and registry.
    let mut registry_pi: Array<felt252> = array![*header[0], *header[1]];
    registry_pi.append_span(pi.span().slice(4, pi.len() - 4));
    // The definition: one combine and one inverse per denominator.
    let state = state_relation();
    let link = link_relation();
    let mut reference = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    for s in expected.span() {
        let s = *s;
        if s.before != s.after {
            reference = reference
                + state.combine(qm31s(state_values(s.domain, s.account, s.after))).inverse()
                - state.combine(qm31s(state_values(s.domain, s.account, s.before))).inverse();
        }
    };
    let (count, cap) = tx_list(case.public_input).unwrap();
    let tx_part = statement_boundary_sum(array![].span(), @state, count, cap, @link).unwrap();
    reference = reference + tx_part;
    if measure {
        let signed = with_context(registry_pi.span(), chain_id, registry);
        assert!(signed == pi.span(), "with_context");
        let bound = bound_slots(signed, witness.span()).unwrap();
        assert!(bound == expected, "bound slots");
        let (count, cap) = tx_list(signed).unwrap();
        let sum = statement_boundary_sum(bound.span(), @state, count, cap, @link).unwrap();
        assert_eq!(sum, reference);
    } else {
        // The same comparisons, against the expected values themselves.
        assert!(pi.span() == pi.span(), "with_context");
        let copy = expected.clone();
        assert!(copy == expected, "bound slots");
        assert_eq!(reference, reference);
    }
}

#[test]
#[available_gas(40000000000)]
fn measure_book_statement_12() {
    run(4, true);
}

#[test]
#[available_gas(40000000000)]
fn measure_book_statement_setup_12() {
    run(4, false);
}

#[test]
#[available_gas(40000000000)]
fn measure_book_statement_24() {
    run(8, true);
}

#[test]
#[available_gas(40000000000)]
fn measure_book_statement_setup_24() {
    run(8, false);
}
