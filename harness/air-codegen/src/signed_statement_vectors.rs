//! Cairo test vectors for `contracts/programs/token/signed_verifier/src/statement.cairo`: a fixed signed
//! statement (two tokens, four accounts, balance and key slots, some written, some not) with
//! what `zkthread_token::statement` computes for it — the bound slots (domains,
//! account ids, values before / after), each slot's `StateRelation` values and the boundary
//! sum for relation elements drawn from a fixed channel — plus statements it refuses, each
//! with the refusal's Cairo reason.
//!
//! Storage keys: `balances` keys come from the prover (`Slot::balance`); `thread_keys` keys are
//! built here the same way (Pedersen of `sn_keccak("thread_keys")`, reduced mod 2^251 - 256),
//! and the prover's `bound_slots` accepting them checks that.

use std::fmt::Write;

use starknet_types_core::felt::Felt;
use starknet_types_core::hash::{Pedersen, StarkHash};
use stwo::core::channel::{Channel, Poseidon252Channel};
use stwo::core::fields::qm31::SecureField;
use stwo_constraint_framework::logup::LookupElements;
use zkthread_token::role::{LinkRelation, StateRelation, LINK_RELATION_SIZE, STATE_RELATION_SIZE};
use zkthread_token::statement::{boundary_sum, state_values, tx_list_boundary_sum};
use zkthread_sig::{TxDigest, TxListCommitment, M31};
use zkthread_token::{SignedPublicInput, SignedStatementError, SlotState};
use zkthread_prover::{Slot, SlotValue};

/// The generated vectors, relative to the workspace root.
pub const SIGNED_STATEMENT_VECTORS_RELATIVE_PATH: &str =
    "contracts/programs/token/signed_verifier/src/tests/statement_vectors.cairo";

pub fn signed_statement_vectors_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_STATEMENT_VECTORS_RELATIVE_PATH)
}

/// `sn_keccak("thread_keys")`.
const THREAD_KEYS_BASE: &str = "0x37e87cbe2d02893cb3542d34248232dd53990b81820994f123500072474cd56";
/// `sn_keccak("balances")` (only to check the Pedersen path against `Slot::balance`).
const BALANCES_BASE: &str = "0x25b1ef8ee6544359221f3cf316f768360e83448109193bdcef77f52a79d95c4";
/// `sn_keccak("total_supply")`: the storage key of the token's `total_supply` (a plain variable).
const TOTAL_SUPPLY_KEY: &str = "0x1557182e4359a1f0c6301278e8f5b35a776ab58d39892581e357578fb287836";

/// Seed of the channel the fixed `StateRelation` elements are drawn from.
const RELATION_SEED: u64 = 0x7369_676e_6564_5354;

const M31_P: u64 = (1 << 31) - 1;

fn felt(hex: &str) -> Felt {
    Felt::from_hex_unchecked(hex)
}

/// `pedersen(base, account) mod (2^251 - 256)`, as Cairo's storage `Map` derives a key.
fn map_key(base: Felt, account: Felt) -> Felt {
    let raw = Pedersen::hash(&base, &account);
    let bound = Felt::TWO.pow(251u32) - Felt::from(256u16);
    if raw >= bound {
        raw - bound
    } else {
        raw
    }
}

fn balance(token: Felt, owner: Felt) -> Slot {
    let slot = Slot::balance(token, owner);
    assert_eq!(
        slot.key,
        map_key(felt(BALANCES_BASE), owner),
        "Pedersen path"
    );
    slot
}

fn thread_key(token: Felt, owner: Felt) -> Slot {
    Slot {
        contract: token,
        key: map_key(felt(THREAD_KEYS_BASE), owner),
    }
}

/// `K0 + K1 2^31 + K2 2^62 + K3 2^93 + nonce 2^124`, unchecked (so refusals can hold words of
/// 2^31 - 1 or a nonce of 2^31 - 1).
fn key_value(key: [u64; 4], nonce: u64) -> Felt {
    let base = Felt::from(1u64 << 31);
    let mut v = Felt::from(nonce);
    for k in key.iter().rev() {
        v = v * base + Felt::from(*k);
    }
    v
}

fn entry(slot: Slot, value: Felt) -> (SlotValue, Felt) {
    (SlotValue { slot, value }, Felt::ZERO)
}

/// The fixed statement's pieces, before sorting: (input, owner) pairs and outputs.
struct Fixture {
    statement: SignedPublicInput,
    inputs: Vec<(SlotValue, Felt)>,
    outputs: Vec<SlotValue>,
}

const CHAIN_ID: &str = "0x534e5f5345504f4c4941";
const REGISTRY: &str = "0x3c2f1a9e0b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918070";
const TOKEN_A: &str = "0x497d1c054cec40f64454b45deecdc83e0c7f7b961c63531eae03748abd95350";
const TOKEN_B: &str = "0x5a11d0c0ffee0000000000000000000000000000000000000000000000000b2";
const ALICE: &str = "0xa11ce";
const BOB: &str = "0xb0b";
const CAROL: &str = "0xca401";
const DAVE: &str = "0x4a5e0c1f3b2d";

fn fixture() -> Fixture {
    let (a, b) = (felt(TOKEN_A), felt(TOKEN_B));
    let (alice, bob, carol, dave) = (felt(ALICE), felt(BOB), felt(CAROL), felt(DAVE));
    let big: u128 = (1 << 127) + 5;
    let with_owner = |(v, _): (SlotValue, Felt), owner: Felt| (v, owner);
    let k_alice = [M31_P - 1, 12345, 0, 987_654_321];
    let k_alice_next = [1, 2_000_000_000, 3, 4];
    let k_bob = [9, 8, 7, 6];
    let k_bob_next = [0x1234_5678, 0, 0x7654_3210, 11];
    let inputs = vec![
        with_owner(entry(balance(a, alice), Felt::from(1000u64)), alice),
        with_owner(entry(thread_key(a, alice), key_value(k_alice, 5)), alice),
        with_owner(entry(balance(a, bob), Felt::from(50u64)), bob),
        with_owner(entry(balance(a, carol), Felt::from(77u64)), carol),
        with_owner(entry(thread_key(a, carol), Felt::ZERO), carol),
        with_owner(entry(balance(b, bob), Felt::from(big)), bob),
        with_owner(entry(thread_key(b, bob), key_value(k_bob, M31_P - 3)), bob),
        with_owner(entry(balance(b, dave), Felt::ZERO), dave),
    ];
    let outputs = vec![
        SlotValue {
            slot: balance(a, alice),
            value: Felt::from(700u64),
        },
        SlotValue {
            slot: thread_key(a, alice),
            value: key_value(k_alice_next, 6),
        },
        SlotValue {
            slot: balance(a, bob),
            value: Felt::from(350u64),
        },
        // Written with its old value: in the outputs, not changed.
        SlotValue {
            slot: thread_key(a, carol),
            value: Felt::ZERO,
        },
        SlotValue {
            slot: balance(b, bob),
            value: Felt::from(big - 1000),
        },
        SlotValue {
            slot: thread_key(b, bob),
            value: key_value(k_bob_next, M31_P - 2),
        },
        SlotValue {
            slot: balance(b, dave),
            value: Felt::from(1000u64),
        },
    ];
    let statement = SignedPublicInput {
        os_version: Felt::ONE,
        program_hash: felt("0x7e57ab1e0000000000000000000000000000000000000000000000000000001"),
        chain_id: felt(CHAIN_ID),
        registry: felt(REGISTRY),
        thread_id: Felt::from(3u8),
        sequence: Felt::from(17u8),
        contract_set_commitment: felt("0x2c0ffee"),
        transactions: fixture_transactions(),
        inputs: vec![],
        outputs: vec![],
    };
    Fixture {
        statement,
        inputs,
        outputs,
    }
}

/// The statement with sorted lists, and its owners in input order.
fn sorted(
    statement: &SignedPublicInput,
    mut inputs: Vec<(SlotValue, Felt)>,
    mut outputs: Vec<SlotValue>,
) -> (SignedPublicInput, Vec<Felt>) {
    inputs.sort_by_key(|(v, _)| v.slot);
    outputs.sort_by_key(|v| v.slot);
    let mut s = statement.clone();
    s.inputs = inputs.iter().map(|(v, _)| *v).collect();
    s.outputs = outputs;
    (s, inputs.iter().map(|(_, o)| *o).collect())
}

/// The Cairo reason of a Rust refusal.
fn reason(e: &SignedStatementError) -> &'static str {
    match e {
        SignedStatementError::NotSorted { .. } => "statement: unsorted list",
        SignedStatementError::OutputNotRead { .. } => "statement: output not read",
        SignedStatementError::NoInputs => "statement: no inputs",
        SignedStatementError::OwnerCount { .. } => "statement: owner count",
        SignedStatementError::UnboundSlot { .. } => "statement: unbound slot",
        SignedStatementError::BadValue { .. } => "statement: bad value",
        SignedStatementError::TxCount(_) => "statement: tx count",
        SignedStatementError::NonceNotAdvanced { .. } => "statement: nonce not advanced",
            SignedStatementError::DomainClash { .. } => "statement: domain clash",
            SignedStatementError::AccountClash { .. } => "statement: account id clash",
    }
}

/// A three-transfer list of fixed digests (any 8-word values serve the statement's checks).
fn fixture_transactions() -> TxListCommitment {
    let digest = |seed: u32| -> TxDigest {
        std::array::from_fn(|k| M31::reduce(seed.wrapping_mul(0x9e37_79b9).wrapping_add(k as u32 * 0x01f3_d5b1)))
    };
    TxListCommitment::of(&[digest(1), digest(2), digest(3)])
}

/// Statements the prover refuses: (name, statement, owners), each refused by Rust.
fn refusals(f: &Fixture) -> Vec<(&'static str, SignedPublicInput, Vec<Felt>)> {
    let (good, owners) = sorted(&f.statement, f.inputs.clone(), f.outputs.clone());
    let mut out = vec![];

    let mut wrapped = good.clone();
    wrapped.transactions.count += zkthread_sig::field::MODULUS;
    out.push(("tx count wraps", wrapped, owners.clone()));

    let mut swapped = owners.clone();
    swapped.swap(0, 1);
    out.push(("swapped owner", good.clone(), swapped));

    let mut inputs = f.inputs.clone();
    let supply = Slot {
        contract: felt(TOKEN_A),
        key: felt(TOTAL_SUPPLY_KEY),
    };
    inputs.push((
        SlotValue {
            slot: supply,
            value: Felt::from(1u8),
        },
        felt(ALICE),
    ));
    let (s, o) = sorted(&f.statement, inputs, f.outputs.clone());
    out.push(("total supply", s, o));

    let mut outputs = f.outputs.clone();
    outputs.push(SlotValue {
        slot: balance(felt(TOKEN_B), felt(CAROL)),
        value: Felt::ONE,
    });
    let (s, o) = sorted(&f.statement, f.inputs.clone(), outputs);
    out.push(("output not read", s, o));

    let mut s = good.clone();
    let mut o = owners.clone();
    s.inputs.swap(2, 3);
    o.swap(2, 3);
    out.push(("unsorted inputs", s, o));

    let mut s = good.clone();
    s.outputs.swap(0, 1);
    out.push(("unsorted outputs", s, owners.clone()));

    let mut s = good.clone();
    let mut o = owners.clone();
    s.inputs.insert(1, s.inputs[1]);
    o.insert(1, o[1]);
    out.push(("duplicate input", s, o));

    let alice_key = |value: Felt| {
        let mut inputs = f.inputs.clone();
        inputs[1].0.value = value;
        sorted(&f.statement, inputs, f.outputs.clone())
    };
    let (s, o) = alice_key(key_value([1, 2, M31_P, 4], 5));
    out.push(("key limb 2^31-1", s, o));
    let (s, o) = alice_key(key_value([1, 2, 3, M31_P], 5));
    out.push(("top key limb 2^31-1", s, o));
    let (s, o) = alice_key(key_value([1, 2, 3, 4], M31_P));
    out.push(("nonce 2^31-1", s, o));
    let (s, o) = alice_key(Felt::TWO.pow(155u32));
    out.push(("bit 155", s, o));
    let (s, o) = alice_key(Felt::ZERO - Felt::ONE);
    out.push(("key value -1", s, o));

    let mut s = good.clone();
    let at = s
        .outputs
        .iter()
        .position(|v| v.slot == thread_key(felt(TOKEN_B), felt(BOB)))
        .unwrap();
    s.outputs[at].value = key_value([1, 2, 3, 4], M31_P);
    out.push(("output nonce 2^31-1", s, owners.clone()));

    // The key nonce bound 2^31 - 2 (`zkthread_sig::KEY_NONCE_BOUND`). The fixture's Bob steps
    // 2^31 - 4 -> 2^31 - 3, the last accepted step. Refused: an input at 2^31 - 2 (the AIR
    // steps it to 0), the wrap itself (2^31 - 2 -> 0, what a proof with that input matches),
    // and the step 2^31 - 3 -> 2^31 - 2 (its output refused).
    let (s, o) = alice_key(key_value([1, 2, 3, 4], M31_P - 1));
    out.push(("nonce 2^31-2", s, o));
    let bob_key_step = |before: u64, after: u64| {
        let mut inputs = f.inputs.clone();
        let mut outputs = f.outputs.clone();
        let bob_b = thread_key(felt(TOKEN_B), felt(BOB));
        inputs.iter_mut().find(|(v, _)| v.slot == bob_b).unwrap().0.value = key_value([9, 8, 7, 6], before);
        outputs.iter_mut().find(|v| v.slot == bob_b).unwrap().value = key_value([5, 5, 5, 5], after);
        sorted(&f.statement, inputs, outputs)
    };
    let (s, o) = bob_key_step(M31_P - 1, 0);
    out.push(("nonce wraps 2^31-2 -> 0", s, o));
    let (s, o) = bob_key_step(M31_P - 2, M31_P - 1);
    out.push(("output nonce 2^31-2", s, o));
    // A written key slot moves forward: two messages at 2^31 - 3 and 2^31 - 2 in one proof
    // step 2^31 - 3 -> 2^31 - 2 -> 0, both ends below the bound; refused as a step back, as
    // is any output at or below its input with another key.
    let (s, o) = bob_key_step(M31_P - 2, 0);
    out.push(("nonce wraps 2^31-3 -> 0", s, o));
    let (s, o) = bob_key_step(9, 9);
    out.push(("nonce kept with a new key", s, o));
    let (s, o) = bob_key_step(9, 8);
    out.push(("nonce steps back", s, o));

    let mut s = good.clone();
    let at = s
        .inputs
        .iter()
        .position(|v| v.slot == balance(felt(TOKEN_A), felt(BOB)))
        .unwrap();
    s.inputs[at].value = Felt::TWO.pow(128u32);
    out.push(("balance 2^128", s, owners.clone()));

    let mut s = good.clone();
    let at = s
        .outputs
        .iter()
        .position(|v| v.slot == balance(felt(TOKEN_A), felt(ALICE)))
        .unwrap();
    s.outputs[at].value = Felt::TWO.pow(128u32);
    out.push(("output balance 2^128", s, owners.clone()));

    let mut fewer = owners.clone();
    fewer.pop();
    out.push(("owner count", good.clone(), fewer));
    let mut more = owners.clone();
    more.push(felt(ALICE));
    out.push(("owner count above", good.clone(), more));

    let mut s = good.clone();
    s.inputs.clear();
    s.outputs.clear();
    out.push(("no inputs", s, vec![]));
    out
}

fn q(v: SecureField) -> String {
    let [a, b, c, d] = v.to_m31_array();
    format!("q({}, {}, {}, {})", a.0, b.0, c.0, d.0)
}

fn felts(values: &[Felt]) -> String {
    let v: Vec<String> = values.iter().map(|f| format!("{f:#x}")).collect();
    format!("array![{}].span()", v.join(", "))
}

fn hash4(h: &[impl Copy + Into<u32>]) -> String {
    let v: Vec<String> = h.iter().map(|x| (*x).into().to_string()).collect();
    format!("({})", v.join(", "))
}

fn state(s: &SlotState) -> String {
    match s {
        SlotState::Balance(v) => format!("SlotState::Balance({v})"),
        SlotState::Key { key, nonce } => {
            let k: Vec<u32> = key.0.iter().map(|x| x.to_u32()).collect();
            format!(
                "SlotState::Key(KeySlot {{ key: {}, nonce: {nonce} }})",
                hash4(&k)
            )
        }
    }
}

/// A Cairo function `name() -> LookupElements` returning `elements`, documented by `doc`.
fn lookup_elements_fn<const N: usize>(out: &mut String, doc: &str, name: &str, elements: &LookupElements<N>) {
    let powers: Vec<String> = elements.alpha_powers.iter().map(|p| q(*p)).collect();
    let _ = writeln!(
        out,
        "/// {doc}\npub fn {name}() -> LookupElements {{\n    LookupElements {{\n        z: {},\n        alpha: {},\n        alpha_powers: array![\n            {},\n        ]\n            .span(),\n    }}\n}}\n",
        q(elements.z),
        q(elements.alpha),
        powers.join(",\n            ")
    );
}

/// The generated Cairo vector file.
pub fn render_signed_statement_vectors() -> String {
    let f = fixture();
    let (statement, owners) = sorted(&f.statement, f.inputs.clone(), f.outputs.clone());
    let slots = statement
        .bind(&zkthread_token::TokenLayout, &owners)
        .expect("the fixed statement binds");
    assert!(
        slots.iter().any(|s| s.before == s.after),
        "an unchanged slot"
    );
    assert!(slots
        .iter()
        .any(|s| matches!(s.before, SlotState::Key { .. }) && s.before != s.after));
    // The last step the key nonce bound allows: 2^31 - 4 -> 2^31 - 3.
    assert!(slots.iter().any(|s| matches!(s.after, SlotState::Key { nonce, .. } if u64::from(nonce) == M31_P - 2)));
    let felts_all = statement.to_felts();
    // What the registry passes: without chain_id and registry.
    let mut registry_input = felts_all.clone();
    registry_input.drain(2..4);

    let mut channel = Poseidon252Channel::default();
    channel.mix_u64(RELATION_SEED);
    let mut twin = channel.clone();
    let elements = LookupElements::<STATE_RELATION_SIZE>::draw(&mut twin);
    let relation = StateRelation::draw(&mut channel);
    let sum = boundary_sum(&slots, &relation);
    let link_elements = LookupElements::<LINK_RELATION_SIZE>::draw(&mut twin);
    let link = LinkRelation::draw(&mut channel);
    let tx_sum = tx_list_boundary_sum(&statement.transactions, &link);

    let mut out = String::from(
        "// @generated by `cargo run -p zkthread-air-codegen` (harness/air-codegen/src/\n\
         // signed_statement_vectors.rs): expected values computed by zkthread_token::statement.\n\
         // Do not edit.\n\
         use stark_verifier::fields::{QM31, QM31Trait};\n\
         use thread_verifier::lookup::LookupElements;\n\
         use crate::statement::{BoundSlot, KeySlot, SlotState};\n\n\
         fn q(a: u32, b: u32, c: u32, d: u32) -> QM31 {\n    QM31Trait::from_u32_unchecked(a, b, c, d)\n}\n\n",
    );
    let _ = writeln!(out, "pub const CHAIN_ID: felt252 = {CHAIN_ID};");
    let _ = writeln!(out, "pub const REGISTRY: felt252 = {REGISTRY};");
    let _ = writeln!(
        out,
        "/// `sn_keccak(\"total_supply\")`, the key one refusal uses."
    );
    let _ = writeln!(
        out,
        "pub const TOTAL_SUPPLY_KEY: felt252 = {TOTAL_SUPPLY_KEY};\n"
    );
    let _ = writeln!(
        out,
        "/// The fixed statement's public input ({} inputs, {} outputs).\npub fn public_input() -> Span<felt252> {{\n    {}\n}}\n",
        statement.inputs.len(),
        statement.outputs.len(),
        felts(&felts_all)
    );
    let _ = writeln!(
        out,
        "/// What the registry passes (no chain id, no registry).\npub fn registry_public_input() -> Span<felt252> {{\n    {}\n}}\n",
        felts(&registry_input)
    );
    let _ = writeln!(
        out,
        "/// Input slot owners, in input order.\npub fn owners() -> Span<felt252> {{\n    {}\n}}\n",
        felts(&owners)
    );
    let _ = writeln!(out, "/// `bound_slots` of the fixed statement.\npub fn slots() -> Array<BoundSlot> {{\n    array![");
    for s in &slots {
        let d: Vec<u32> = s.domain.iter().map(|x| x.to_u32()).collect();
        let a: Vec<u32> = s.account.low.iter().map(|x| x.to_u32()).collect();
        let a_high: Vec<u32> = s.account.high.iter().map(|x| x.to_u32()).collect();
        let _ = writeln!(
            out,
            "        BoundSlot {{\n            domain: {},\n            account: {},\n            account_high: {},\n            before: {},\n            after: {},\n        }},",
            hash4(&d),
            hash4(&a),
            hash4(&a_high),
            state(&s.before),
            state(&s.after)
        );
    }
    out.push_str("    ]\n}\n\n");
    let _ = writeln!(
        out,
        "/// `state_values` of each slot before, then after (M31 values).\npub fn state_values() -> Array<(Span<u32>, Span<u32>)> {{\n    array!["
    );
    for s in &slots {
        let v = |st: &SlotState| -> String {
            let w: Vec<String> = state_values(&s.domain, &s.account, st)
                .iter()
                .map(|x| x.0.to_string())
                .collect();
            format!("array![{}].span()", w.join(", "))
        };
        let _ = writeln!(
            out,
            "        (\n            {},\n            {},\n        ),",
            v(&s.before),
            v(&s.after)
        );
    }
    out.push_str("    ]\n}\n\n");
    let doc = format!("`StateRelation` elements drawn from a channel seeded {RELATION_SEED:#x}.");
    lookup_elements_fn(&mut out, &doc, "state_relation", &elements);
    let _ = writeln!(
        out,
        "/// `boundary_sum(slots, state_relation)`.\npub fn expected_boundary_sum() -> QM31 {{\n    {}\n}}\n",
        q(sum)
    );
    lookup_elements_fn(
        &mut out,
        "`LinkRelation` elements drawn right after `state_relation` from the same channel.",
        "link_relation",
        &link_elements,
    );
    let cap: Vec<String> = statement.transactions.cap.iter().map(|w| w.to_u32().to_string()).collect();
    let _ = writeln!(
        out,
        "/// The fixed statement's transaction list: count and capacity words.\npub fn tx_count() -> u32 {{\n    {}\n}}\n\npub fn tx_cap() -> Span<u32> {{\n    array![{}].span()\n}}\n",
        statement.transactions.count,
        cap.join(", ")
    );
    let _ = writeln!(
        out,
        "/// `tx_list_boundary_sum(transactions, link_relation)`.\npub fn expected_tx_list_boundary_sum() -> QM31 {{\n    {}\n}}\n",
        q(tx_sum)
    );
    out.push_str(
        "/// A statement the prover refuses, and the reason.\n#[derive(Drop)]\npub struct Refusal {\n    pub name: felt252,\n    pub public_input: Span<felt252>,\n    pub owners: Span<felt252>,\n    pub reason: felt252,\n}\n\n",
    );
    out.push_str("pub fn refusals() -> Array<Refusal> {\n    array![\n");
    for (name, s, o) in refusals(&f) {
        let e = s.bind(&zkthread_token::TokenLayout, &o).expect_err(name);
        let _ = writeln!(
            out,
            "        Refusal {{\n            name: '{name}',\n            public_input: {},\n            owners: {},\n            reason: '{}',\n        }},",
            felts(&s.to_felts()),
            felts(&o),
            reason(&e)
        );
    }
    out.push_str("    ]\n}\n");
    out
}
