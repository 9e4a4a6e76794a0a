//! The signed token program: honest signed sub-blocks prove and verify; every forgery the
//! batcher refuses is also refused by the constraints when a modified prover builds the rows
//! itself (raw entry point `prove_signed`), with the public lists made consistent with the
//! forged effect so that only the authorization can fail.

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::{Slot, SlotValue, Transfer};
use zkthread_prover::params::StarkParams;
use zkthread_prover::signed::{
    prove_signed, verify_signed, SignedBatchError, SignedBatcher, SignedPublicInput, SignedRejection, SignedRow,
    SignedStatementError, SignedTransferTx, SignedVerifyError,
};
use zkthread_prover::{contract_set_commitment, Blake2sMerkleChannel};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::wots::{commitment, sign, KeyCommitment, KeySeed, Signature};
use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};

type Blake = Blake2sMerkleChannel;

/// Degree-5 constraints need `log_blowup >= 2`; few queries: tests only, far below 96 bits.
const TEST: StarkParams = StarkParams {
    log_blowup: 1,
    n_queries: 3,
    pow_bits: 1,
    log_last_layer_degree_bound: 1,
    fold_step: 1,
};

const TOKEN: u64 = 0x70c3;
const ALICE: u64 = 0xa11ce;
const BOB: u64 = 0xb0b;
const CAROL: u64 = 0xca201;
const MALLORY: u64 = 0x3a11;

fn seed(account: u64) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(account as u32 + 7 * i as u32 + 1)))
}

fn key(account: u64, index: u32) -> KeyCommitment {
    commitment(&seed(account), index).unwrap()
}

fn statement() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::from(2u8),
        program_hash: Felt::from(0x5167u64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::from(3u8),
        sequence: Felt::from(0u8),
        contract_set_commitment: contract_set_commitment(&[Felt::from(TOKEN)]),
        inputs: vec![],
        outputs: vec![],
    }
}

fn balance_slot(account: u64) -> Slot {
    Slot { contract: Felt::from(TOKEN), key: balance_slot_key(Felt::from(account)) }
}

fn key_slot(account: u64) -> Slot {
    Slot { contract: Felt::from(TOKEN), key: thread_key_slot_key(Felt::from(account)) }
}

/// Alice 1,000 (key 0, nonce 1), Bob 500 (key 0, nonce 1), Carol 0 (no key), Mallory 10 (key 0).
fn genesis() -> BTreeMap<Slot, Felt> {
    let mut state = BTreeMap::new();
    for (account, balance, registered) in
        [(ALICE, 1_000u64, true), (BOB, 500, true), (CAROL, 0, false), (MALLORY, 10, true)]
    {
        state.insert(balance_slot(account), Felt::from(balance));
        let slot = if registered { pack_key_slot(&key(account, 0), 1).unwrap() } else { Felt::ZERO };
        state.insert(key_slot(account), slot);
    }
    state
}

/// `from` signs a transfer with key `index` at `nonce`, rotating to key `index + 1`.
fn signed(from: u64, to: u64, amount: u128, index: u32, nonce: u32) -> SignedTransferTx {
    let transfer = Transfer {
        token: Felt::from(TOKEN),
        from: Felt::from(from),
        to: Felt::from(to),
        amount,
    };
    SignedTransferTx::sign(transfer, nonce, &seed(from), index, &statement()).unwrap()
}

fn batcher() -> SignedBatcher {
    SignedBatcher::new(statement(), [Felt::from(TOKEN)])
}

fn honest_txs() -> Vec<SignedTransferTx> {
    vec![signed(ALICE, BOB, 100, 0, 1), signed(BOB, CAROL, 50, 0, 1), signed(ALICE, CAROL, 200, 1, 2)]
}

/// The statement, owners and rows of a batch of `txs` on `genesis()`.
fn honest() -> (SignedPublicInput, Vec<Felt>, Vec<SignedRow>) {
    let state = genesis();
    let batch = batcher().batch(&honest_txs(), |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = SignedPublicInput { inputs: sb.inputs, outputs: sb.outputs, ..statement() };
    (pi, sb.owners, sb.rows)
}

fn set(list: &mut [SlotValue], slot: Slot, value: Felt) {
    list.iter_mut().find(|e| e.slot == slot).expect("slot in the list").value = value;
}

#[test]
fn honest_signed_sub_block_proves_and_verifies() {
    let (pi, owners, rows) = honest();
    // Alice, Bob, Carol: balances; Alice and Bob: key slots (Carol only received).
    assert_eq!(pi.inputs.len(), 5);
    let value = |slot: Slot| pi.outputs.iter().find(|e| e.slot == slot).unwrap().value;
    assert_eq!(value(balance_slot(ALICE)), Felt::from(700u64));
    assert_eq!(value(balance_slot(CAROL)), Felt::from(250u64));
    assert_eq!(value(key_slot(ALICE)), pack_key_slot(&key(ALICE, 2), 3).unwrap());
    let proof = prove_signed::<Blake>(&pi, &owners, &rows, &TEST).expect("prove");
    verify_signed::<Blake>(&pi, &proof, &TEST).expect("verify");
    // Calldata form: exact round trip; truncation refused.
    let felts = zkthread_prover::signed_proof_to_felts(&proof);
    let decoded = zkthread_prover::signed_proof_from_felts::<Blake>(&felts).expect("decode");
    assert_eq!(zkthread_prover::signed_proof_to_felts(&decoded), felts);
    verify_signed::<Blake>(&pi, &decoded, &TEST).expect("verify decoded");
    assert!(zkthread_prover::signed_proof_from_felts::<Blake>(&felts[..felts.len() - 1]).is_err());

    // The proof is for exactly this statement.
    let mut other = pi.clone();
    other.thread_id = Felt::from(4u8);
    assert!(verify_signed::<Blake>(&other, &proof, &TEST).is_err(), "another thread");
    let mut other = pi.clone();
    set(&mut other.outputs, balance_slot(CAROL), Felt::from(251u64));
    assert!(verify_signed::<Blake>(&other, &proof, &TEST).is_err(), "changed output");
    let mut bad = proof.clone();
    bad.slot_owners.swap(0, 1);
    assert!(matches!(
        verify_signed::<Blake>(&pi, &bad, &TEST),
        Err(SignedVerifyError::Statement(SignedStatementError::UnboundSlot { .. }))
    ));
}

#[test]
fn the_batcher_refuses_each_forgery_with_its_reason() {
    let state = genesis();
    let mut unsigned = signed(ALICE, MALLORY, 100, 0, 1);
    unsigned.signature = Signature { rho: [M31::ZERO; 3], pp: [M31::ZERO; 4], chains: [[M31::ZERO; 4]; 64] };
    let mut other_fields = signed(ALICE, MALLORY, 100, 0, 1);
    other_fields.amount = 999; // signed over 100
    let mut others_key = signed(MALLORY, MALLORY, 900, 0, 1); // Mallory's own signature...
    others_key.from = Felt::from(ALICE); // ... presented as Alice's
    others_key.to = Felt::from(MALLORY);
    let txs = vec![
        unsigned,
        other_fields,
        others_key,
        signed(CAROL, ALICE, 1, 0, 0),     // Carol has no key
        signed(ALICE, BOB, 10, 0, 1),      // accepted: rotates Alice to key 1, nonce 2
        signed(ALICE, BOB, 10, 0, 1),      // the same signed transfer again: replay
        signed(ALICE, BOB, 5_000, 1, 2),   // overspend
        signed(ALICE, ALICE, 1, 1, 2),     // self transfer
    ];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("one transfer accepted");
    assert_eq!(batch.sub_block.transfers.len(), 1);
    let reasons: Vec<String> = batch.rejected.iter().map(|r| r.to_string()).collect();
    assert!(matches!(batch.rejected[0], SignedRejection::BadSignature { index: 0, .. }), "{reasons:?}");
    assert!(matches!(batch.rejected[1], SignedRejection::BadSignature { index: 1, .. }), "{reasons:?}");
    assert!(matches!(batch.rejected[2], SignedRejection::WrongKey { index: 2 }), "{reasons:?}");
    assert!(matches!(batch.rejected[3], SignedRejection::NoKey { index: 3, .. }), "{reasons:?}");
    assert!(matches!(batch.rejected[4], SignedRejection::WrongNonce { index: 5, given: 1, current: 2 }), "{reasons:?}");
    assert!(matches!(batch.rejected[5], SignedRejection::Overspend { index: 6, .. }), "{reasons:?}");
    assert!(matches!(batch.rejected[6], SignedRejection::SelfTransfer { index: 7 }), "{reasons:?}");
    assert_eq!(batch.rejected.iter().map(SignedRejection::index).collect::<Vec<_>>(), [0, 1, 2, 3, 5, 6, 7]);
    assert_eq!(batch.rejected[3].reason(), format!("sender {CAROL:#x} has no thread key registered"));

    // Nothing accepted: the batcher still says why, for each transfer.
    let refused = batcher().batch(&txs[..4], |s| state.get(s).copied()).expect_err("nothing accepted");
    let SignedBatchError::Empty { rejected } = refused else { panic!("{refused:?}") };
    assert_eq!(rejected.iter().map(SignedRejection::index).collect::<Vec<_>>(), [0, 1, 2, 3]);
}

/// Proves `rows` for lists edited by `edit` from the honest ones, and expects verification to
/// fail (or the prover to refuse). `control`: the transfers the forged rows claim, had their
/// senders really signed them — they must batch into exactly these lists and verify, so the
/// forgery differs from an accepted sub-block only in its authorization.
fn assert_forgery_fails(
    what: &str,
    rows: Vec<SignedRow>,
    control: Option<Vec<SignedTransferTx>>,
    edit: impl FnOnce(&mut SignedPublicInput),
) {
    let (mut pi, mut owners, _) = honest();
    edit(&mut pi);
    if let Some(control) = control {
        let state = genesis();
        let sb = batcher().batch(&control, |s| state.get(s).copied()).expect("control").sub_block;
        assert_eq!((&sb.inputs, &sb.outputs), (&pi.inputs, &pi.outputs), "{what}: control lists");
        let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("control proves");
        verify_signed::<Blake>(&pi, &proof, &TEST).expect("the control verifies");
        owners = sb.owners;
    }
    match prove_signed::<Blake>(&pi, &owners, &rows, &TEST) {
        Err(e) => eprintln!("{what}: the prover refused ({e})"),
        Ok(proof) => {
            let result = verify_signed::<Blake>(&pi, &proof, &TEST);
            assert!(result.is_err(), "{what}: forged sub-block verified");
        }
    }
}

#[test]
fn a_row_whose_amount_differs_from_the_signed_one_does_not_verify() {
    let (_, _, mut rows) = honest();
    rows[0].amount = 700; // Alice signed 100 to Bob
    let control = vec![signed(ALICE, BOB, 700, 0, 1), signed(BOB, CAROL, 50, 0, 1), signed(ALICE, CAROL, 200, 1, 2)];
    assert_forgery_fails("amount", rows, Some(control), |pi| {
        set(&mut pi.outputs, balance_slot(ALICE), Felt::from(1_000u64 - 700 - 200));
        set(&mut pi.outputs, balance_slot(BOB), Felt::from(500u64 + 700 - 50));
    });
}

#[test]
fn a_row_sending_to_another_receiver_does_not_verify() {
    let (_, _, mut rows) = honest();
    // Alice signed 100 to Bob; the prover credits Mallory instead (lists made to match).
    rows[0].to = zkthread_sig::account_id(Felt::from(MALLORY));
    rows[0].to_old = 10;
    let control = vec![signed(ALICE, MALLORY, 100, 0, 1), signed(BOB, CAROL, 50, 0, 1), signed(ALICE, CAROL, 200, 1, 2)];
    assert_forgery_fails("receiver", rows, Some(control), |pi| {
        pi.inputs.push(SlotValue { slot: balance_slot(MALLORY), value: Felt::from(10u64) });
        pi.inputs.sort();
        pi.outputs.push(SlotValue { slot: balance_slot(MALLORY), value: Felt::from(110u64) });
        pi.outputs.sort();
        set(&mut pi.outputs, balance_slot(BOB), Felt::from(500u64 - 50));
    });
}

#[test]
fn theft_with_the_thiefs_own_key_does_not_verify() {
    // Mallory signs "Alice -> Mallory 900" with her own key and presents it as Alice's: the
    // row consumes Alice's key tuple with Mallory's key, which no input provides.
    let state = genesis();
    let mut theft = signed(MALLORY, MALLORY, 900, 0, 1);
    theft.from = Felt::from(ALICE);
    theft.signature = sign(&seed(MALLORY), 0, &theft.message(&statement())).unwrap();
    let honest_batch = batcher().batch(&[signed(MALLORY, BOB, 1, 0, 1)], |s| state.get(s).copied()).unwrap();
    let mut row = honest_batch.sub_block.rows[0].clone();
    row.from = zkthread_sig::account_id(Felt::from(ALICE));
    row.to = zkthread_sig::account_id(Felt::from(MALLORY));
    row.from_old = 1_000;
    row.to_old = 10;
    row.amount = 900;
    row.trace = zkthread_sig::wots::verify_trace(&theft.key, &theft.message(&statement()), &theft.signature).unwrap();
    row.signature = theft.signature.clone();
    let pi = SignedPublicInput {
        inputs: vec![
            SlotValue { slot: balance_slot(ALICE), value: Felt::from(1_000u64) },
            SlotValue { slot: key_slot(ALICE), value: state[&key_slot(ALICE)] },
            SlotValue { slot: balance_slot(MALLORY), value: Felt::from(10u64) },
        ],
        outputs: vec![
            SlotValue { slot: balance_slot(ALICE), value: Felt::from(100u64) },
            SlotValue { slot: key_slot(ALICE), value: pack_key_slot(&key(MALLORY, 1), 2).unwrap() },
            SlotValue { slot: balance_slot(MALLORY), value: Felt::from(910u64) },
        ],
        ..statement()
    };
    let mut sorted = pi.clone();
    let owners_of = |list: &mut Vec<SlotValue>| list.sort();
    owners_of(&mut sorted.inputs);
    owners_of(&mut sorted.outputs);
    let owners: Vec<Felt> = sorted
        .inputs
        .iter()
        .map(|e| if e.slot == balance_slot(MALLORY) { Felt::from(MALLORY) } else { Felt::from(ALICE) })
        .collect();
    match prove_signed::<Blake>(&sorted, &owners, &[row], &TEST) {
        Err(e) => eprintln!("theft: the prover refused ({e})"),
        Ok(proof) => assert!(verify_signed::<Blake>(&sorted, &proof, &TEST).is_err(), "theft verified"),
    }
}

#[test]
fn a_replayed_signature_does_not_verify() {
    // The first transfer again, right after itself: its key tuple (nonce 1, key 0) was already
    // consumed and rotated to (nonce 2, key 1).
    let (_, _, rows) = honest();
    let replay = vec![rows[0].clone(), rows[0].clone()];
    assert_forgery_fails("replay", replay, None, |pi| {
        set(&mut pi.outputs, balance_slot(ALICE), Felt::from(800u64));
        set(&mut pi.outputs, balance_slot(BOB), Felt::from(700u64));
        set(&mut pi.outputs, balance_slot(CAROL), Felt::from(0u64));
        set(&mut pi.outputs, key_slot(BOB), pack_key_slot(&key(BOB, 0), 1).unwrap());
        set(&mut pi.outputs, key_slot(ALICE), pack_key_slot(&key(ALICE, 1), 2).unwrap());
    });
}

#[test]
fn a_key_slot_not_rotated_does_not_verify() {
    // The prover keeps Alice's old key in the output (so her signatures could settle again).
    let (_, _, rows) = honest();
    assert_forgery_fails("no rotation", rows, None, |pi| {
        let genesis = genesis();
        set(&mut pi.outputs, key_slot(ALICE), genesis[&key_slot(ALICE)]);
    });
}

/// Every role's constraints, LogUp included, hold on honest rows (a fast check, no proof).
#[test]
fn honest_rows_satisfy_every_role() {
    use zkthread_prover::signed::role::{assert_role_constraints, Relations};
    use zkthread_prover::signed::roles::*;
    let (_, _, rows) = honest();
    let mut w = zkthread_prover::signed::SignedWitness::new();
    rows.iter().for_each(|r| w.push(r));
    assert_eq!(w.first_violation(), None);
    let r = Relations::dummy();
    assert_role_constraints::<TransferRole>(&w.transfers, &r);
    assert_role_constraints::<ChainStepRole>(&w.chain_steps, &r);
    assert_role_constraints::<DigestRole>(&w.digests, &r);
    assert_role_constraints::<KeySpongeRole>(&w.key_sponges, &r);
    // 88 chain steps, 4 digest blocks and 32 key-sponge blocks per signature.
    assert_eq!((w.chain_steps.len(), w.digests.len(), w.key_sponges.len()), (3 * 88, 3 * 4, 3 * 32));
    assert_eq!(w.permutations.len(), 3 * 124);
}

mod random {
    use super::*;
    use proptest::prelude::*;

    const ACCOUNTS: [u64; 4] = [ALICE, BOB, CAROL, MALLORY];

    /// Signs `(from, to, amount)` triples in order, each sender walking its own key indices
    /// and nonces from the genesis key slot (Carol signs nothing: she has no key).
    fn sign_all(plan: &[(usize, usize, u128)]) -> Vec<SignedTransferTx> {
        let mut next: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
        plan.iter()
            .filter(|(from, _, _)| ACCOUNTS[*from] != CAROL)
            .map(|(from, to, amount)| {
                let from = ACCOUNTS[*from];
                let (index, nonce) = next.entry(from).or_insert((0, 1));
                let tx = signed(from, ACCOUNTS[*to], *amount, *index, *nonce);
                *index += 1;
                *nonce += 1;
                tx
            })
            .collect()
    }

    pub fn sign_all_pub(plan: &[(usize, usize, u128)]) -> Vec<SignedTransferTx> {
        sign_all(plan)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

        /// Random signed sub-blocks (after the batcher drops what it must) prove and verify;
        /// any changed output is refused.
        #[test]
        fn random_signed_sub_blocks_prove_and_verify(
            plan in prop::collection::vec((0usize..4, 0usize..4, 1u128..400), 1..6),
        ) {
            let state = genesis();
            let txs = sign_all(&plan);
            let Ok(batch) = batcher().batch(&txs, |s| state.get(s).copied()) else {
                return Ok(()); // nothing valid to prove
            };
            let sb = batch.sub_block;
            let pi = SignedPublicInput { inputs: sb.inputs, outputs: sb.outputs, ..statement() };
            let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("prove");
            prop_assert!(verify_signed::<Blake>(&pi, &proof, &TEST).is_ok());
            let mut t = pi.clone();
            t.outputs[0].value += Felt::ONE;
            prop_assert!(verify_signed::<Blake>(&t, &proof, &TEST).is_err());
        }
    }
}

/// Prove time and proof size of signed sub-blocks on the real channel (Poseidon252) at three
/// 96-bit parameter sets: 2^2 x 40 + 16 (`StarkParams::DEFAULT`), 2^3 x 27 + 15 and the shipped
/// `SIGNED_PARAMS` (2^4 x 20 + 16). `cargo test -p zkthread-prover --test signed_transfers --
/// --ignored --nocapture timing` (dev profile: stwo, the prover, zkthread-sig and p3 are
/// opt-level 3).
#[test]
#[ignore = "timing: run with --ignored --nocapture"]
fn timing_signed_prove() {
    use std::time::Instant;
    use zkthread_prover::signed::SIGNED_PARAMS;
    use zkthread_prover::Poseidon252MerkleChannel;
    let wider = StarkParams { log_blowup: 3, n_queries: 27, pow_bits: 15, ..StarkParams::DEFAULT };
    eprintln!("| params | transfers | senders | sign (client) | batch | prove | verify | proof felts | calldata felts |");
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    for params in [StarkParams::DEFAULT, wider, SIGNED_PARAMS] {
        runs.extend([(params, 3usize, 2usize), (params, 64, 4)]);
    }
    for (params, n, senders) in runs {
        assert!(params.security_bits() >= 96);
        let t = Instant::now();
        let plan: Vec<(usize, usize, u128)> =
            (0..n).map(|i| ([0, 1, 3, 1][i % senders], [1, 0, 0, 3][i % senders], 1)).collect();
        let txs = random::sign_all_pub(&plan);
        let sign = t.elapsed();
        let state = genesis();
        let t = Instant::now();
        let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch");
        let batch_time = t.elapsed();
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        let sb = batch.sub_block;
        let pi = SignedPublicInput { inputs: sb.inputs, outputs: sb.outputs, ..statement() };
        let t = Instant::now();
        let proof = prove_signed::<Poseidon252MerkleChannel>(&pi, &sb.owners, &sb.rows, &params).expect("prove");
        let params = &params;
        let prove = t.elapsed();
        let t = Instant::now();
        verify_signed::<Poseidon252MerkleChannel>(&pi, &proof, params).expect("verify");
        let verify = t.elapsed();
        let felts = zkthread_prover::signed_proof_to_felts(&proof).len();
        // settle(thread, sequence, inputs, outputs, proof): 2 + 2 lengths + 3 per entry + proof.
        let calldata = 5 + 3 * (pi.inputs.len() + pi.outputs.len()) + felts;
        eprintln!(
            "| {}x{}+{} | {n} | {senders} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {felts} | {calldata} |",
            1u32 << params.log_blowup, params.n_queries, params.pow_bits, sign, batch_time, prove, verify
        );
    }
}
