//! Per-slot cost of the signed statement: `measure_statement_*` adds the context to the
//! registry's public input, binds and sums a statement of 2n written slots (n owners, a balance
//! and a key slot each), `measure_statement_setup_*`
//! builds the same statement and reference without the measured calls. Run with `--profile
//! --filter measure_statement` and take per slot = ((run_2n - setup_2n) - (run_n - setup_n))
//! / 2n.

use stark_verifier::fields::{M31, QM31, QM31Trait};
use thread_verifier::lookup::LookupElementsTrait;
use crate::statement::{
    BoundSlot, HEADER_LEN, KeySlot, SlotState, account_id_wide, balance_key, bound_slots,
    boundary_sum, pack_key_slot, state_values, thread_key_key, transfer_domain, with_context,
};
use super::statement_vectors::{public_input, state_relation};

const CONTRACT: felt252 = 0x497d1c054cec40f64454b45deecdc83e0c7f7b961c63531eae03748abd95350;

#[derive(Drop, Copy)]
struct Slot {
    key: felt252,
    owner: felt252,
    before: SlotState,
    after: SlotState,
}

fn key_lt(a: felt252, b: felt252) -> bool {
    let a: u256 = a.into();
    let b: u256 = b.into();
    a < b
}

fn encode(state: SlotState) -> felt252 {
    match state {
        SlotState::Balance(v) => v.into(),
        SlotState::Key(slot) => pack_key_slot(slot),
    }
}

fn qm31s(values: Array<M31>) -> Span<QM31> {
    let mut out: Array<QM31> = array![];
    for v in values {
        out.append(QM31Trait::from_m31(v));
    };
    out.span()
}

fn run(n_owners: u32, measure: bool) {
    let header = public_input().slice(0, HEADER_LEN);
    let chain_id = *header[2];
    let registry = *header[3];
    let thread_id = *header[4];
    // The slots in key order (insertion sort: setup only).
    let mut sorted: Array<Slot> = array![];
    for i in 0..n_owners {
        let owner: felt252 = 0xa11ce000 + i.into();
        let i128: u128 = i.into();
        let i32 = i;
        let balance = Slot {
            key: balance_key(owner),
            owner,
            before: SlotState::Balance(1000 + i128),
            after: SlotState::Balance(900 + i128),
        };
        let key = Slot {
            key: thread_key_key(owner),
            owner,
            before: SlotState::Key(KeySlot { key: (i32 + 1, 2, 3, 4), nonce: i32 }),
            after: SlotState::Key(KeySlot { key: (i32 + 5, 6, 7, 8), nonce: i32 + 1 }),
        };
        for new in array![balance, key] {
            let mut next: Array<Slot> = array![];
            let mut placed = false;
            for s in sorted.span() {
                if !placed && key_lt(new.key, *s.key) {
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
    };
    let n = sorted.len();
    let mut pi: Array<felt252> = array![];
    pi.append_span(header);
    let mut owners: Array<felt252> = array![];
    let mut expected: Array<BoundSlot> = array![];
    let domain = transfer_domain(chain_id, registry, thread_id, CONTRACT);
    pi.append(n.into());
    for s in sorted.span() {
        pi.append(CONTRACT);
        pi.append(*s.key);
        pi.append(encode(*s.before));
        owners.append(*s.owner);
        let (account, account_high) = account_id_wide(*s.owner);
        expected.append(BoundSlot { domain, account, account_high, before: *s.before, after: *s.after });
    };
    pi.append(n.into());
    for s in sorted.span() {
        pi.append(CONTRACT);
        pi.append(*s.key);
        pi.append(encode(*s.after));
    };
    // What the registry passes: without the chain id and registry.
    let mut registry_pi: Array<felt252> = array![*header[0], *header[1]];
    registry_pi.append_span(pi.span().slice(4, pi.len() - 4));
    // The definition: one combine and one inverse per denominator.
    let state = state_relation();
    let mut reference = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    for s in expected.span() {
        let s = *s;
        reference = reference
            + state.combine(qm31s(state_values(s.domain, s.account, s.account_high, s.after))).inverse()
            - state.combine(qm31s(state_values(s.domain, s.account, s.account_high, s.before))).inverse();
    };
    if measure {
        let signed = with_context(registry_pi.span(), chain_id, registry);
        assert!(signed == pi.span(), "with_context");
        let bound = bound_slots(signed, owners.span()).unwrap();
        assert!(bound == expected, "bound slots");
        let sum = boundary_sum(bound.span(), @state).unwrap();
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
fn measure_statement_8() {
    run(4, true);
}

#[test]
#[available_gas(40000000000)]
fn measure_statement_setup_8() {
    run(4, false);
}

#[test]
#[available_gas(40000000000)]
fn measure_statement_16() {
    run(8, true);
}

#[test]
#[available_gas(40000000000)]
fn measure_statement_setup_16() {
    run(8, false);
}
