//! The signed token program: honest signed sub-blocks prove and verify; every forgery the
//! batcher refuses is also refused by the constraints when a modified prover builds the rows
//! itself (raw entry point `prove_signed`), with the public lists made consistent with the
//! forged effect so that only the authorization can fail.

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::{Slot, SlotValue, Transfer};
use zkthread_prover::params::StarkParams;
use zkthread_token::{
    prove_signed, prove_signed_witness, verify_signed, SignedBatchError, SignedProof,
    SignedProveError, SignedPublicInput, SignedRejection, SignedRow, SignedWitness, SignedStatementError,
    SignedTransferTx, SignedVerifyError,
};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::field::MODULUS;
use zkthread_sig::wots::{sign, verify_trace, KeyCommitment, Signature};
use zkthread_sig::{account_id_wide, AccountId, M31};
use zkthread_sig::TxListCommitment;
use zkthread_token::prover::SignedTokenProgram;

mod common;
use common::*;

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

fn honest_txs() -> Vec<SignedTransferTx> {
    vec![signed(ALICE, BOB, 100, 0, 1), signed(BOB, CAROL, 50, 0, 1), signed(ALICE, CAROL, 200, 1, 2)]
}

/// The statement, owners and rows of a batch of `txs` on `genesis()`.
fn honest() -> (SignedPublicInput, Vec<Felt>, Vec<SignedRow>) {
    let state = genesis();
    let batch = batcher().batch(&honest_txs(), |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    (pi, sb.owners, sb.rows)
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
    let felts = zkthread_token::signed_proof_to_felts(&proof);
    let decoded = zkthread_token::signed_proof_from_felts::<Blake>(&felts).expect("decode");
    assert_eq!(zkthread_token::signed_proof_to_felts(&decoded), felts);
    verify_signed::<Blake>(&pi, &decoded, &TEST).expect("verify decoded");
    assert!(zkthread_token::signed_proof_from_felts::<Blake>(&felts[..felts.len() - 1]).is_err());

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

/// A signed transfer adds `PERMUTATIONS_PER_TRANSFER` (125) rows to the Poseidon2 component,
/// the largest, whose rows are capped at `2^MAX_LOG_ROWS`: a proof holds
/// `MAX_TRANSFERS_PER_PROOF` (524) transfers, the cap the batchers and the CLI take, and a
/// sub-block of one more is refused before any work. The batcher itself cuts at the cap: the
/// rest comes back deferred, untouched, and batches next from the state the first left.
#[test]
fn a_proof_holds_at_most_max_transfers_per_proof() {
    use zkthread_prover::program::ProveError;
    use zkthread_prover::poseidon2::trace::log_rows_for;
    use zkthread_token::prover::MAX_LOG_ROWS;
    use zkthread_token::{MAX_TRANSFERS_PER_PROOF, PERMUTATIONS_PER_TRANSFER};
    assert_eq!((PERMUTATIONS_PER_TRANSFER, MAX_TRANSFERS_PER_PROOF), (125, 524));
    let (_, _, rows) = honest();
    let mut witness = SignedWitness::new();
    rows.iter().for_each(|r| witness.push(r));
    assert_eq!(witness.auth.permutations.len(), rows.len() * PERMUTATIONS_PER_TRANSFER);

    // Alice pays Bob 1, one more time than a proof holds, each with her next key; a replay
    // of her first transfer comes right after the cap: it would be refused, but is deferred
    // unchecked.
    let n = MAX_TRANSFERS_PER_PROOF as u32 + 1;
    let mut txs: Vec<_> = (0..n).map(|i| signed(ALICE, BOB, 1, i, i + 1)).collect();
    txs.insert(MAX_TRANSFERS_PER_PROOF, signed(ALICE, BOB, 1, 0, 1));
    let mut state = genesis();
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert_eq!(batch.deferred, txs[MAX_TRANSFERS_PER_PROOF..].to_vec(), "the rest, untouched, in order");
    let sb = batch.sub_block;
    assert_eq!(sb.rows.len(), MAX_TRANSFERS_PER_PROOF);
    let mut at_cap = SignedWitness::new();
    sb.rows.iter().for_each(|r| at_cap.push(r));
    assert_eq!(log_rows_for(at_cap.auth.permutations.len()), MAX_LOG_ROWS);

    // The deferred ones batch next, from the state the first sub-block left: the replay is
    // refused there, the last transfer accepted.
    for output in &sb.outputs {
        state.insert(output.slot, output.value);
    }
    let next = batcher().batch(&batch.deferred, |s| state.get(s).copied()).expect("the deferred");
    assert!(next.deferred.is_empty());
    assert!(
        matches!(next.rejected[..], [SignedRejection::WrongNonce { index: 0, given: 1, current: 525 }]),
        "{:?}",
        next.rejected
    );
    assert_eq!(next.sub_block.transfers, txs[MAX_TRANSFERS_PER_PROOF + 1..].to_vec());

    // One row more than the cap is refused by the prover before any work.
    let mut rows = sb.rows.clone();
    rows.push(next.sub_block.rows[0].clone());
    let pi = sb.statement(&statement());
    match prove_signed::<Blake>(&pi, &sb.owners, &rows, &TEST) {
        Err(SignedProveError::Program(ProveError::TooLarge)) => {}
        other => panic!("a sub-block past the cap must be refused as too large: {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_proof_binds_the_ordered_transaction_list() {
    let state = genesis();
    let txs = honest_txs();
    let sb = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch").sub_block;
    let pi = sb.statement(&statement());
    // A client recomputes the commitment from the published signed transfers alone.
    let d: Vec<_> = txs.iter().map(|t| t.digest(&statement()).expect("digest")).collect();
    assert_eq!(pi.transactions, TxListCommitment::of(&d));
    assert_eq!(pi.transactions.count, 3);
    let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("prove");
    verify_signed::<Blake>(&pi, &proof, &TEST).expect("verify");

    // The same proof under any other list does not verify.
    let fake = signed(MALLORY, ALICE, 1, 0, 1).digest(&statement()).expect("digest");
    let lists = [
        ("reordered", vec![d[1], d[0], d[2]]),
        ("one dropped", vec![d[0], d[1]]),
        ("one added", vec![d[0], d[1], d[2], fake]),
        ("one replaced", vec![d[0], fake, d[2]]),
        ("empty", vec![]),
    ];
    for (what, list) in &lists {
        let other = SignedPublicInput { transactions: TxListCommitment::of(list), ..pi.clone() };
        assert!(verify_signed::<Blake>(&other, &proof, &TEST).is_err(), "{what}: verified");
    }

    // A prover that proves the honest transfers but commits to another list (hand-built
    // tx-list rows, the statement carrying exactly the list they absorb): each `Tx(i, d)` it
    // consumes must be produced by the digest sponge of the transfer at position `i`.
    for (what, list) in &lists[..4] {
        let mut w = SignedWitness::new();
        sb.rows.iter().for_each(|r| w.push_signed_transfer(r));
        list.iter().for_each(|digest| w.auth.push_tx_list(digest));
        assert_eq!(w.first_violation(), None, "{what}: rows satisfy their own constraints");
        let forged = SignedPublicInput { transactions: w.auth.transactions, ..pi.clone() };
        match prove_signed_witness::<Blake>(&forged, &sb.owners, &w, &TEST) {
            Err(e) => eprintln!("{what}: the prover refused ({e})"),
            Ok(proof) => {
                assert!(verify_signed::<Blake>(&forged, &proof, &TEST).is_err(), "{what}: forged list verified")
            }
        }
    }
    // Control: the same raw path with the honest list verifies.
    let mut w = SignedWitness::new();
    sb.rows.iter().for_each(|r| w.push_signed_transfer(r));
    d.iter().for_each(|digest| w.auth.push_tx_list(digest));
    assert_eq!(w.auth.transactions, pi.transactions);
    let proof = prove_signed_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("control proves");
    verify_signed::<Blake>(&pi, &proof, &TEST).expect("the control verifies");
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
    // The forged rows' own transaction list: the attack must fail for what it forges, not for
    // a commitment left over from the honest sub-block.
    pi.transactions = TxListCommitment::of(rows.iter().map(|r| &r.trace.digest));
    if let Some(control) = control {
        let state = genesis();
        let sb = batcher().batch(&control, |s| state.get(s).copied()).expect("control").sub_block;
        assert_eq!((&sb.inputs, &sb.outputs), (&pi.inputs, &pi.outputs), "{what}: control lists");
        let control_pi = SignedPublicInput { transactions: sb.transactions, ..pi.clone() };
        let proof = prove_signed::<Blake>(&control_pi, &sb.owners, &sb.rows, &TEST).expect("control proves");
        verify_signed::<Blake>(&control_pi, &proof, &TEST).expect("the control verifies");
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
    rows[0].to = zkthread_sig::account_id_wide(Felt::from(MALLORY));
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

/// The credit side of an account-id collision (helper-82's review, session 49). Alice signs 100
/// to Bob. A prover owning an account `M` with `account_id(M) == account_id(Bob)` (the low 124
/// bits: a ~2^62 search over two addresses it chooses) credits `balances[M]` instead: Bob's
/// slot is never in the statement, so nothing else would notice. The collision is simulated:
/// Bob's balance slot is bound to `M`'s id, Bob's low words with Mallory's high ones. Neither
/// route verifies: the honest row (its credited `Balance` tuple carries Bob's high words, the
/// half of the fix in the tuple), nor a row crediting the tuple under `M`'s id with the lists
/// made to match (its high words are signed as Bob's: the half in the message). The control
/// (the honest row, Bob's own id) verifies.
#[test]
fn a_credit_to_an_owner_sharing_only_the_receivers_low_id_does_not_verify() {
    let state = genesis();
    let batch = batcher().batch(&[signed(ALICE, BOB, 100, 0, 1)], |s| state.get(s).copied()).expect("batch");
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    let (bob, twin) = (account_id_wide(Felt::from(BOB)), bobs_low_twin());
    assert_ne!(twin, bob);
    let (ids, twin_ids) = owner_ids_and_twins(&sb.owners);
    let crediting = |to: AccountId| {
        let mut row = sb.rows[0].clone();
        row.to = to;
        prove_raw(&pi, &[row])
    };
    let honest = crediting(bob);
    verify_raw::<SignedTokenProgram>(&pi, &honest, &rows_own_boundary(&pi, &ids)).expect("control: Bob credited verifies");
    assert!(
        verify_raw::<SignedTokenProgram>(&pi, &honest, &rows_own_boundary(&pi, &twin_ids)).is_err(),
        "Bob's credit must not stand for the id sharing only his low words"
    );
    assert!(
        verify_raw::<SignedTokenProgram>(&pi, &crediting(twin), &rows_own_boundary(&pi, &twin_ids)).is_err(),
        "a credit to the id sharing only Bob's low words must not verify"
    );
}

/// helper-83's route around the signed receiver (session 50): with `V`'s payment credited
/// inside the proof, an owner `M` sharing `V`'s low id signs a transfer of its own whose row
/// debits that very tuple, naming the sender's high words as `V`'s; the two tuples cancel,
/// `V`'s slot never shows, and `M`'s receiver keeps the payment. Here Alice signs 100 to Bob,
/// and Mallory's key slot is bound to `M` (Bob's low words, Mallory's high ones: the
/// collision simulated) and signs 100 to Carol with Bob's low id as its signer. The key tuple
/// carries the whole id, so the debit must name `M`, not Bob: the proof does not verify. The
/// control binds the same key slot to Bob's whole id and verifies: only the high words differ.
#[test]
fn a_debit_of_a_payment_credited_inside_the_proof_needs_the_key_owners_whole_id() {
    use zkthread_sig::wots::TransferMessage;
    let state = genesis();
    let batch = batcher().batch(&[signed(ALICE, BOB, 100, 0, 1)], |s| state.get(s).copied()).expect("batch");
    let alice_row = batch.sub_block.rows[0].clone();
    let (bob, carol, twin) = (account_id_wide(Felt::from(BOB)), account_id_wide(Felt::from(CAROL)), bobs_low_twin());
    let message = TransferMessage {
        domain: statement().domain(Felt::from(TOKEN)),
        from: twin.low,
        to: carol,
        amount: 100,
        nonce: 1,
        next_key: key(MALLORY, 1),
    };
    let signature = sign(&seed(MALLORY), 0, &message).unwrap();
    let trace = verify_trace(&key(MALLORY, 0), &message, &signature).expect("Mallory's own signature");
    let mallory_row = SignedRow {
        domain: message.domain,
        from: bob, // the debit names Bob's whole id: the tuple Alice's row produced
        to: carol,
        from_old: 600,
        to_old: 0,
        amount: 100,
        nonce: 1,
        key: key(MALLORY, 0),
        next_key: key(MALLORY, 1),
        signature,
        trace,
    };
    let rows = [alice_row, mallory_row];
    let pi = twin_debit_statement(TxListCommitment::of(rows.iter().map(|r| &r.trace.digest)));
    let parts = prove_raw(&pi, &rows);
    verify_raw::<SignedTokenProgram>(&pi, &parts, &twin_debit_boundary(&pi, bob)).expect("control: the key slot under Bob's whole id");
    assert!(
        verify_raw::<SignedTokenProgram>(&pi, &parts, &twin_debit_boundary(&pi, twin)).is_err(),
        "a debit naming Bob's high words under a key slot of another owner must not verify"
    );
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
    row.from = zkthread_sig::account_id_wide(Felt::from(ALICE));
    row.to = zkthread_sig::account_id_wide(Felt::from(MALLORY));
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
        transactions: TxListCommitment::of([&row.trace.digest]),
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

/// `genesis()` with Alice's key slot (key 0) at `nonce`.
fn genesis_at_nonce(nonce: u32) -> BTreeMap<Slot, Felt> {
    let mut state = genesis();
    state.insert(key_slot(ALICE), pack_key_slot(&key(ALICE, 0), nonce).unwrap());
    state
}

/// The key nonce bound (`zkthread_sig::KEY_NONCE_BOUND = 2^31 - 2`): 2^31 - 4 is the last
/// nonce a transfer consumes (its slot moves to 2^31 - 3, which the statement accepts, and the
/// sub-block proves and verifies); from 2^31 - 3 (the step writes 2^31 - 2) and from 2^31 - 2
/// (the AIR's step wraps to 0) the batcher refuses the transfer with its reason, and the rest of
/// the batch goes on.
#[test]
fn the_batcher_refuses_a_transfer_whose_key_nonce_cannot_move() {
    let last = MODULUS - 3;
    let state = genesis_at_nonce(last);
    let batch = batcher().batch(&[signed(ALICE, BOB, 100, 0, last)], |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let written = sb.outputs.iter().find(|e| e.slot == key_slot(ALICE)).expect("Alice's key slot").value;
    assert_eq!(written, pack_key_slot(&key(ALICE, 1), MODULUS - 2).unwrap());
    let pi = sb.statement(&statement());
    let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("the last step proves");
    verify_signed::<Blake>(&pi, &proof, &TEST).expect("the last step verifies");

    for nonce in [MODULUS - 2, MODULUS - 1] {
        let state = genesis_at_nonce(nonce);
        let txs = [signed(ALICE, BOB, 100, 0, nonce), signed(BOB, CAROL, 50, 0, 1)];
        let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("Bob's transfer is accepted");
        assert_eq!(batch.rejected, [SignedRejection::NonceExhausted { index: 0, nonce }]);
        assert_eq!(
            batch.rejected[0].reason(),
            format!("the sender's nonce {nonce} cannot move again (a key slot's nonce stays below 2^31 - 2)")
        );
        assert_eq!(batch.sub_block.transfers, [txs[1].clone()]);
        assert!(batch.sub_block.inputs.iter().all(|e| e.slot != key_slot(ALICE)), "Alice's slot untouched");
    }
}

/// A modified prover steps Alice's key slot past the bound with a really signed transfer:
/// 2^31 - 2 -> 0 (the wrap: her old nonces would verify again) and 2^31 - 3 -> 2^31 - 2. The
/// AIR accepts both (its nonce step is `+1` in M31): verified against the boundary of slots
/// read by `unpack_key_slot` alone, the rule before the bound, the proof passes. The statement
/// is the guard: the honest prover refuses to prove, and `verify_signed` refuses the proof,
/// each with `BadValue` on the slot past the bound (the input, resp. the output).
#[test]
fn a_key_nonce_stepping_past_the_bound_does_not_verify() {
    for (before, after, list) in [(MODULUS - 1, 0, "input"), (MODULUS - 2, MODULUS - 1, "output")] {
        let tx = signed(ALICE, BOB, 100, 0, before);
        let row = SignedRow {
            domain: statement().domain(Felt::from(TOKEN)),
            from: account_id_wide(Felt::from(ALICE)),
            to: account_id_wide(Felt::from(BOB)),
            from_old: 1_000,
            to_old: 500,
            amount: 100,
            nonce: before,
            key: key(ALICE, 0),
            next_key: key(ALICE, 1),
            trace: verify_trace(&tx.key, &tx.message(&statement()), &tx.signature).unwrap(),
            signature: tx.signature.clone(),
        };
        let (pi, owners) = alice_pays_bob(100, (before, after, 1), &[&row]);
        let refused = |e: &SignedStatementError| matches!(e, SignedStatementError::BadValue { list: l, .. } if *l == list);
        proven_past_the_statement_is_refused(&pi, owners, std::slice::from_ref(&row), refused, list);
    }
}

/// The statement of `rows`, Alice (1,000) paying Bob (500) `paid` in all, her key slot moving
/// from key 0 at nonce `before` to key `index` at nonce `after`, and its owners.
fn alice_pays_bob(paid: u128, (before, after, index): (u32, u32, u32), rows: &[&SignedRow]) -> (SignedPublicInput, Vec<Felt>) {
    let entry = |slot, value| SlotValue { slot, value };
    let balance = |v: u128| Felt::from(v);
    let mut pi = SignedPublicInput {
        inputs: vec![
            entry(balance_slot(ALICE), balance(1_000)),
            entry(key_slot(ALICE), pack_key_slot(&key(ALICE, 0), before).unwrap()),
            entry(balance_slot(BOB), balance(500)),
        ],
        outputs: vec![
            entry(balance_slot(ALICE), balance(1_000 - paid)),
            entry(key_slot(ALICE), pack_key_slot(&key(ALICE, index), after).unwrap()),
            entry(balance_slot(BOB), balance(500 + paid)),
        ],
        transactions: TxListCommitment::of(rows.iter().map(|r| &r.trace.digest)),
        ..statement()
    };
    pi.inputs.sort();
    pi.outputs.sort();
    let owner = |slot: Slot| if slot == balance_slot(BOB) { Felt::from(BOB) } else { Felt::from(ALICE) };
    let owners = pi.inputs.iter().map(|e| owner(e.slot)).collect();
    (pi, owners)
}

/// The raw driver (a modified prover: no statement check) over `rows`, each with its
/// transaction-list entry.
fn prove_raw(pi: &SignedPublicInput, rows: &[SignedRow]) -> zkthread_prover::program::ProvenParts<Blake> {
    use zkthread_prover::program::{self, ProofRows};
    let mut witness = SignedWitness::new();
    rows.iter().for_each(|row| witness.push(row));
    let proof_rows = ProofRows { program: vec![&witness.transfers], auth: &witness.auth };
    program::prove::<SignedTokenProgram, Blake>(&pi.to_felts(), &proof_rows, &TEST).expect("raw driver")
}

/// A statement the AIR proves but the statement's rules refuse (`refused` says with which
/// error): the honest prover refuses it; the raw driver (a modified prover, no statement
/// check) proves it, and the proof verifies against the rows' own boundary (every input slot
/// moved to its output, Alice's key slot read as one), so the AIR is not the guard; and
/// `verify_signed` refuses the proof for the statement.
fn proven_past_the_statement_is_refused(
    pi: &SignedPublicInput,
    owners: Vec<Felt>,
    rows: &[SignedRow],
    refused: impl Fn(&SignedStatementError) -> bool,
    what: &str,
) {
    match prove_signed::<Blake>(pi, &owners, rows, &TEST) {
        Err(SignedProveError::Statement(e)) => assert!(refused(&e), "{what}: {e}"),
        other => panic!("{what}: the prover did not refuse the statement: {:?}", other.err()),
    }

    let accounts: Vec<AccountId> = owners.iter().map(|o| account_id_wide(*o)).collect();
    let parts = prove_raw(pi, rows);
    verify_raw::<SignedTokenProgram>(pi, &parts, &rows_own_boundary(pi, &accounts))
        .unwrap_or_else(|e| panic!("{what}: the AIR refused the rows itself (then it is the guard): {e}"));

    let proof = SignedProof::<Blake> {
        slot_owners: owners,
        log_sizes: parts.log_sizes.try_into().unwrap(),
        claimed_sums: parts.claimed_sums.try_into().unwrap(),
        stark: parts.stark,
    };
    match verify_signed::<Blake>(pi, &proof, &TEST) {
        Err(SignedVerifyError::Statement(e)) => assert!(refused(&e), "{what}: {e}"),
        other => panic!("{what}: the statement did not refuse it: {other:?}"),
    }
}

/// Two of the owner's own messages at `2^31 - 3` and `2^31 - 2` in one proof step her key slot
/// `2^31 - 3 -> 2^31 - 2 -> 0`: both ends are below the statement's nonce bound, and the AIR
/// (which steps a nonce by one in M31) proves the wrap. The statement's key-step rule is the
/// guard: the honest prover refuses the statement, and the proof a modified prover builds
/// through the raw driver verifies against the rows' own boundary but not against the
/// statement (`NonceNotAdvanced`), so the slot never settles at 0 (helper-73's and helper-80's
/// reviews).
#[test]
fn a_key_nonce_wrapping_inside_one_proof_does_not_verify() {
    let (first, second) = (MODULUS - 2, MODULUS - 1);
    let txs = [signed(ALICE, BOB, 100, 0, first), signed(ALICE, BOB, 100, 1, second)];
    let row = |tx: &SignedTransferTx, from_old: u128, to_old: u128, nonce: u32, index: u32| SignedRow {
        domain: statement().domain(Felt::from(TOKEN)),
        from: account_id_wide(Felt::from(ALICE)),
        to: account_id_wide(Felt::from(BOB)),
        from_old,
        to_old,
        amount: 100,
        nonce,
        key: key(ALICE, index),
        next_key: key(ALICE, index + 1),
        trace: verify_trace(&tx.key, &tx.message(&statement()), &tx.signature).unwrap(),
        signature: tx.signature.clone(),
    };
    let rows = [row(&txs[0], 1_000, 500, first, 0), row(&txs[1], 900, 600, second, 1)];
    let (pi, owners) = alice_pays_bob(200, (first, 0, 2), &[&rows[0], &rows[1]]);
    let refused = |e: &SignedStatementError| {
        matches!(e, SignedStatementError::NonceNotAdvanced { before, after: 0, .. } if *before == first)
    };
    proven_past_the_statement_is_refused(&pi, owners, &rows, refused, "the wrap 2^31-3 -> 0");
}

/// Many queries over a small trace: the range table has the tallest component's height, so the
/// preprocessed tree's query positions are the FRI positions themselves (a shorter table's
/// projected positions come out unsorted, which stwo's lifted Merkle verifier refuses:
/// `RootMismatch` on honest proofs, see `signed::range`).
#[test]
fn many_queries_over_a_small_trace_verify() {
    let params = StarkParams { log_blowup: 1, n_queries: 60, pow_bits: 1, log_last_layer_degree_bound: 1, fold_step: 1 };
    for amount in 1..=4u128 {
        let state = genesis();
        let txs = vec![signed(ALICE, BOB, amount, 0, 1), signed(BOB, CAROL, 50, 0, 1), signed(ALICE, CAROL, 200, 1, 2)];
        let sb = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch").sub_block;
        let pi = sb.statement(&statement());
        let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &params).expect("prove");
        verify_signed::<Blake>(&pi, &proof, &params).expect("verify");
    }
}

/// Alice holds 1,100 (instead of 1,000) and Bob 500: the state on which Alice's 1,100 to Bob
/// and Bob's 200 back to her are a valid sub-block.
fn rich_genesis() -> BTreeMap<Slot, Felt> {
    let mut state = genesis();
    state.insert(balance_slot(ALICE), Felt::from(1_100u64));
    state
}

/// The `State` LogUp sum of the transfer rows equals the lists' boundary: the balances and
/// key tuples of `w` are exactly the lists' (so a refusal is not about them).
fn assert_state_balanced(pi: &SignedPublicInput, owners: &[Felt], w: &zkthread_token::SignedWitness) {
    use zkthread_token::role::relation_sums;
    use zkthread_token::roles::TransferRole;
    use zkthread_token::statement::boundary_sum;
    let r = random_relations();
    let slots = zkthread_token::bound_slots(pi, owners).expect("bound slots");
    assert_eq!(relation_sums::<TransferRole>(&w.transfers, &r)[0], boundary_sum(&slots, &r.state));
}

/// Overdraft within a sub-block: Alice (1,000) sends 1,100 to Bob, leaving the limb
/// `1,000 - 1,100 = p - 100` (no borrow: the limb equation holds mod p), then Bob's 200 brings
/// her back to a canonical 100. Both transfers are really signed, every constraint and the
/// `State` relation hold; only the 16-bit check of the written limb (two 8-bit look-ups, the
/// high one `(p - 100 - lo) / 2^8` outside the table) refuses it.
#[test]
fn an_out_of_range_limb_does_not_verify() {
    use zkthread_token::prove_signed_witness;
    use zkthread_token::range::low_byte;
    use zkthread_token::roles::transfer_cols::*;
    use zkthread_token::SignedWitness;
    let state = rich_genesis();
    let txs = vec![signed(ALICE, BOB, 1_100, 0, 1), signed(BOB, ALICE, 200, 0, 1)];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let honest_pi = sb.statement(&statement());
    let mut w = SignedWitness::new();
    sb.rows.iter().for_each(|r| w.push(r));
    // Control: on the rich state the same rows prove and verify.
    let proof = prove_signed_witness::<Blake>(&honest_pi, &sb.owners, &w, &TEST).expect("control proves");
    verify_signed::<Blake>(&honest_pi, &proof, &TEST).expect("the control verifies");
    assert_eq!(w.range_lookups(2).outside, 0);

    // Alice really holds 1,000 and ends with 100.
    let mut pi = honest_pi.clone();
    set(&mut pi.inputs, balance_slot(ALICE), Felt::from(1_000u64));
    set(&mut pi.outputs, balance_slot(ALICE), Felt::from(100u64));
    let minus_100 = (1u32 << 31) - 1 - 100;
    let lo = |limbs: &[u32]| -> Vec<u32> { limbs.iter().map(|v| low_byte(*v)).collect() };
    let (alice_old, alice_mid, alice_new) = ([1_000, 0, 0, 0, 0, 0, 0, 0], [minus_100, 0, 0, 0, 0, 0, 0, 0], [100, 0, 0, 0, 0, 0, 0, 0]);
    let send = &mut w.transfers[0];
    send[FROM_OLD].copy_from_slice(&alice_old);
    send[FROM_NEW].copy_from_slice(&alice_mid);
    send[BORROW].fill(0);
    send[LIMB_LO.start + 8..LIMB_LO.start + 16].copy_from_slice(&lo(&alice_mid));
    let back = &mut w.transfers[1];
    back[TO_OLD].copy_from_slice(&alice_mid);
    back[TO_NEW].copy_from_slice(&alice_new);
    back[CARRY].fill(0);
    back[LIMB_LO.start + 16..LIMB_LO.end].copy_from_slice(&lo(&alice_new));
    assert_eq!(w.first_violation(), None, "the forged rows satisfy every constraint");
    assert_state_balanced(&pi, &sb.owners, &w);
    assert_eq!(w.range_lookups(2).outside, 1, "one look-up misses the 8-bit table");
    let proof = prove_signed_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("the raw prover proves");
    assert!(verify_signed::<Blake>(&pi, &proof, &TEST).is_err(), "overdraft verified");
}

/// A one-time key the test holds whole (every chain value from arbitrary starts), so it can
/// sign any digits — also digits that are not the digest's.
struct OpenKey {
    pp: zkthread_sig::wots::Hash4,
    chains: Vec<[zkthread_sig::wots::Hash4; 4]>,
    key: KeyCommitment,
}

impl OpenKey {
    fn new(tag: u32) -> Self {
        Self::over(std::array::from_fn(|k| M31::reduce(tag * 17 + k as u32 + 1)), tag)
    }

    /// A key over a public parameter of the caller's choice (anybody else's too: `pp` is a
    /// hash tweak, not a secret), with chains of its own from `tag`.
    fn over(pp: zkthread_sig::wots::Hash4, tag: u32) -> Self {
        use zkthread_sig::wots::{chain_step, key_commitment_sponge, V};
        let chains: Vec<[zkthread_sig::wots::Hash4; 4]> = (0..V)
            .map(|i| {
                let mut c = [[M31::ZERO; 4]; 4];
                c[0] = std::array::from_fn(|k| M31::reduce(tag * 1_000 + 8 * i as u32 + k as u32 + 3));
                for j in 0..3 {
                    c[j + 1] = chain_step(&pp, i as u8, j as u8, &c[j]);
                }
                c
            })
            .collect();
        let ends = std::array::from_fn(|i| chains[i][3]);
        let key = key_commitment_sponge(&pp, &ends).0;
        OpenKey { pp, chains, key }
    }

    fn signature(&self, rho: [M31; 3], digits: &[u8; 64]) -> Signature {
        Signature { rho, pp: self.pp, chains: std::array::from_fn(|i| self.chains[i][digits[i] as usize]) }
    }

    /// The honest signature: the first `rho` whose digest reaches the target sum.
    fn sign(&self, msg: &zkthread_sig::wots::TransferMessage) -> Signature {
        use zkthread_sig::wots::{digest_in_range, digit_sum, digits, message_digest, TARGET_SUM};
        (0u32..)
            .find_map(|counter| {
                let rho = [M31::reduce(counter), M31::ZERO, M31::ZERO];
                let (digest, _) = message_digest(&self.key, &msg.blocks(&rho).unwrap());
                let x = digits(&digest);
                (digit_sum(&x) == TARGET_SUM && digest_in_range(&digest)).then(|| self.signature(rho, &x))
            })
            .unwrap()
    }

    /// The verification trace of a signature at `digits` (walked from them, not from the
    /// digest) over `honest`'s message.
    fn trace_at(&self, honest: &zkthread_sig::wots::VerificationTrace, digits: [u8; 64]) -> zkthread_sig::wots::VerificationTrace {
        use zkthread_sig::wots::{chain_step_input, ChainStep};
        let mut chain_steps = Vec::new();
        for (i, x) in digits.iter().enumerate() {
            for j in *x..3 {
                let input = self.chains[i][j as usize];
                chain_steps.push(ChainStep {
                    pp: self.pp,
                    chain: i as u8,
                    position: j,
                    input,
                    output: self.chains[i][j as usize + 1],
                    permutation_output: zkthread_sig::permute(chain_step_input(&self.pp, i as u8, j, &input)),
                });
            }
        }
        zkthread_sig::wots::VerificationTrace { digits, chain_steps, ..honest.clone() }
    }
}

/// Digits that are not the digest's: swapping two different digits of one digest element
/// keeps the target sum and every chain (the test holds the whole key), and the key sponge's
/// per-row equations `16 r' = r - x_a - 4 x_b` still have a solution in M31 — but the
/// element's high part `hi` is then no integer below 2^15 - 1, and its range checks (two 8-bit
/// look-ups each for `hi` and `hi + HI_SHIFT`) refuse the proof.
#[test]
fn digits_off_the_digest_split_do_not_verify() {
    use zkthread_token::{prove_signed_witness, SignedWitness};
    const EVE: u64 = 0xe7e;
    let (open, next) = (OpenKey::new(1), OpenKey::new(2));
    let mut state = genesis();
    state.insert(balance_slot(EVE), Felt::from(300u64));
    state.insert(key_slot(EVE), pack_key_slot(&open.key, 1).unwrap());
    let mut tx = signed(ALICE, EVE, 1, 0, 1); // any signed shape, re-signed below
    (tx.from, tx.to, tx.amount, tx.key, tx.next_key) = (Felt::from(EVE), Felt::from(BOB), 30, open.key, next.key);
    tx.signature = open.sign(&tx.message(&statement()));
    let batch = batcher().batch(&[tx.clone()], |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("control proves");
    verify_signed::<Blake>(&pi, &proof, &TEST).expect("the control verifies");

    let honest = &sb.rows[0].trace;
    let x = honest.digits;
    // The first element with two different digits: swap them.
    let (k, m) = (0..64)
        .flat_map(|k| (k + 1..8 * (k / 8 + 1)).map(move |m| (k, m)))
        .find(|(k, m)| x[*k] != x[*m])
        .expect("an element with two different digits");
    let mut forged = x;
    forged.swap(k, m);
    let mut row = sb.rows[0].clone();
    row.trace = open.trace_at(honest, forged);
    row.signature = open.signature(row.signature.rho, &forged);
    let mut w = SignedWitness::new();
    w.push(&row);
    assert_eq!(w.first_violation(), None, "the forged rows satisfy every constraint");
    assert_state_balanced(&pi, &sb.owners, &w);
    {
        use zkthread_token::role::relation_sums;
        use zkthread_token::roles::*;
        let r = random_relations();
        let link = relation_sums::<TransferRole>(&w.transfers, &r)[1]
            + relation_sums::<ChainStepRole>(&w.auth.chain_steps, &r)[1]
            + relation_sums::<DigestRole>(&w.auth.digests, &r)[1]
            + relation_sums::<KeySpongeRole>(&w.auth.key_sponges, &r)[1]
            + relation_sums::<TxListRole>(&w.auth.tx_list, &r)[1];
        let boundary = zkthread_token::statement::tx_list_boundary_sum(&w.auth.transactions, &r.link);
        assert_eq!(link, boundary, "the Link relation balances");
        // The element's last row carries the non-integer high part.
        let last = &w.auth.key_sponges[8 * (k / 8) / 2 + 3];
        assert_eq!(last[key_cols::LAST], 1);
        assert!(last[key_cols::REST] > (1 << 15) - 2, "hi {} is in range", last[key_cols::REST]);
    }
    assert!(w.range_lookups(4).outside >= 1, "a look-up misses the 8-bit table");
    let proof = prove_signed_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("the raw prover proves");
    assert!(verify_signed::<Blake>(&pi, &proof, &TEST).is_err(), "digits off the digest verified");
}

/// Two signatures over one `pp`. Anybody can build a key over a victim's public parameter (a
/// hash tweak) and register it for an account of their own. A modified prover holding Alice's
/// pending signature ("100 to Bob, rotate to key 1") writes two signed rows sharing her `pp`:
/// F, "Alice sends her 1,000 to Mallory and rotates to Mallory's key", whose first message
/// block is Alice's and the other three Mallory's, and H, "Mallory sends Bob 100", carrying
/// Alice's last three blocks. Alice's real signature digests B0 from F and B1..B3 from H,
/// Mallory's own signature the rest: with the link entries keyed by `pp` alone every relation
/// balanced, and Alice's balance and key slot were Mallory's. Keyed by the row's sub-block
/// position as well, each sponge must digest its own row's blocks, and the proof does not verify.
#[test]
fn crossed_signatures_over_one_pp_do_not_verify() {
    use zkthread_sig::wots::MessageBlocks;
    use zkthread_token::role::relation_sums;
    use zkthread_token::roles::*;
    let victim = signed(ALICE, BOB, 100, 0, 1);
    let pp = victim.signature.pp;
    let mallory_key = OpenKey::over(pp, 5);
    let evil = OpenKey::new(9).key;
    // Mallory's slot holds her key over Alice's pp at Alice's nonce (each `set_thread_key`
    // bumps the nonce, so she can reach any nonce at or above her own).
    let mut state = genesis();
    state.insert(key_slot(MALLORY), pack_key_slot(&mallory_key.key, 1).unwrap());
    // H: Mallory's transfer whose payload, nonce and next key are Alice's pending message's.
    let mut helper = signed(MALLORY, BOB, 100, 0, 1);
    (helper.key, helper.next_key) = (mallory_key.key, key(ALICE, 1));
    helper.signature = mallory_key.sign(&helper.message(&statement()));
    // The public lists of the forged effect come from an honest sub-block over the same slots.
    let txs = vec![signed(ALICE, MALLORY, 1_000, 0, 1), helper.clone()];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let mut pi = sb.statement(&statement());
    set(&mut pi.outputs, key_slot(ALICE), pack_key_slot(&evil, 2).unwrap());

    // F's message: to Mallory, 1,000, rotating Alice to `evil`; Mallory signs the same payload
    // as her own message (her block 0) to get the `rho` F carries.
    let mut forged = victim.clone();
    (forged.to, forged.amount, forged.next_key) = (Felt::from(MALLORY), 1_000, evil);
    let mut mallory_msg = forged.clone();
    (mallory_msg.from, mallory_msg.key) = (Felt::from(MALLORY), mallory_key.key);
    let mallory_msg = mallory_msg.message(&statement());
    let mallory_sig = mallory_key.sign(&mallory_msg);
    let mallory_trace = verify_trace(&mallory_key.key, &mallory_msg, &mallory_sig).expect("Mallory's signature");
    let victim_msg = victim.message(&statement());
    let victim_trace = verify_trace(&key(ALICE, 0), &victim_msg, &victim.signature).expect("Alice's signature");

    let mut row_f = sb.rows[0].clone();
    row_f.next_key = evil;
    row_f.signature = Signature { rho: mallory_sig.rho, pp, chains: victim.signature.chains };
    row_f.trace = victim_trace.clone();
    let mut row_h = sb.rows[1].clone();
    row_h.signature = Signature { rho: victim.signature.rho, pp, chains: mallory_sig.chains };
    row_h.trace = mallory_trace.clone();

    // The crossing is exact: the blocks the rows offer are, by index, the blocks the two real
    // signatures digest — only their owners are swapped.
    let offered = [
        forged.message(&statement()).blocks(&mallory_sig.rho).unwrap(),
        helper.message(&statement()).blocks(&victim.signature.rho).unwrap(),
    ];
    let indexed = |sets: &[&MessageBlocks]| -> Vec<(usize, Vec<u32>)> {
        let mut v: Vec<_> = sets
            .iter()
            .flat_map(|b| b.iter().enumerate().map(|(k, x)| (k, x.iter().map(|m| m.to_u32()).collect())))
            .collect();
        v.sort();
        v
    };
    let digested = [&victim_trace.message_blocks, &mallory_trace.message_blocks];
    assert_eq!(indexed(&[&offered[0], &offered[1]]), indexed(&digested), "the blocks cross");
    assert_ne!(offered[0], victim_trace.message_blocks, "F's own blocks are not Alice's message");

    let mut w = SignedWitness::new();
    w.push_signed_transfer(&row_f);
    w.push_signed_transfer(&row_h);
    w.auth.push_tx_list(&victim_trace.digest);
    w.auth.push_tx_list(&mallory_trace.digest);
    pi.transactions = w.auth.transactions;
    assert_eq!(w.first_violation(), None, "the forged rows satisfy every constraint");
    assert_state_balanced(&pi, &sb.owners, &w);
    let r = random_relations();
    let link = relation_sums::<TransferRole>(&w.transfers, &r)[1]
        + relation_sums::<ChainStepRole>(&w.auth.chain_steps, &r)[1]
        + relation_sums::<DigestRole>(&w.auth.digests, &r)[1]
        + relation_sums::<KeySpongeRole>(&w.auth.key_sponges, &r)[1]
        + relation_sums::<TxListRole>(&w.auth.tx_list, &r)[1];
    let boundary = zkthread_token::statement::tx_list_boundary_sum(&w.auth.transactions, &r.link);
    assert_ne!(link, boundary, "the crossed blocks balance the Link relation");
    let proof = prove_signed_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("the raw prover proves");
    assert!(verify_signed::<Blake>(&pi, &proof, &TEST).is_err(), "crossed signatures verified");
}

/// Every `Link` entry a signature's pieces exchange names the sub-block position `tx` of the
/// row it authorizes: on rows of an honest sub-block, each role's `Link` fractions change when
/// only its `tx` column does. An entry kind keyed without `tx` (the hole
/// `crossed_signatures_over_one_pp_do_not_verify` shows for message blocks; chain walks and key
/// sponges cross the same way) fails here by name, without a proof. `TxCap` alone is keyed by
/// the transaction list's own index.
#[test]
fn every_link_entry_of_a_signature_names_its_row() {
    use stwo::core::fields::m31::BaseField;
    use zkthread_prover::auth::link::*;
    use zkthread_token::role::{Rel, Role};
    use zkthread_token::roles::*;
    fn tags_keyed_by_tx<R: Role>(rows: &[Vec<u32>], tx_col: usize) -> BTreeMap<u32, usize> {
        let mut seen = BTreeMap::new();
        let picks = [0, rows.len() / 2, rows.len() - 1];
        for row in picks.iter().map(|&r| &rows[r]) {
            let cols: Vec<BaseField> = row.iter().map(|v| BaseField::from(*v)).collect();
            let mut moved = cols.clone();
            moved[tx_col] += BaseField::from(1u32);
            let (before, after) = (R::fractions(&cols), R::fractions(&moved));
            for (a, b) in before.iter().zip(&after).filter(|(a, _)| matches!(a.rel, Rel::Link)) {
                let tag = a.values[0].0;
                if tag == TAG_TX_CAP {
                    continue;
                }
                assert_ne!(a.values, b.values, "{}: a Link entry of tag {tag} ignores tx", R::NAME);
                *seen.entry(tag).or_insert(0) += 1;
            }
        }
        seen
    }
    let (_, _, rows) = honest();
    let mut w = zkthread_token::SignedWitness::new();
    rows.iter().for_each(|r| w.push(r));
    let mut seen = tags_keyed_by_tx::<TransferRole>(&w.transfers, transfer_cols::TX);
    for part in [
        tags_keyed_by_tx::<ChainStepRole>(&w.auth.chain_steps, chain_cols::TX),
        tags_keyed_by_tx::<DigestRole>(&w.auth.digests, digest_cols::TX),
        tags_keyed_by_tx::<KeySpongeRole>(&w.auth.key_sponges, key_cols::TX),
    ] {
        for (tag, n) in part {
            *seen.entry(tag).or_insert(0) += n;
        }
    }
    let kinds: Vec<u32> = seen.keys().copied().collect();
    assert_eq!(kinds, vec![TAG_CHAIN, TAG_BLOCK, TAG_DIGEST_CAP, TAG_KEY_CAP, TAG_KEY_OK, TAG_TX], "{seen:?}");
}

/// The range look-ups mean exactly the 16-bit checks they replace, on plain values: a
/// written limb passes iff it is < 2^16, a digest element's high part iff it is <= 2^15 - 2.
#[test]
fn split_range_checks_keep_their_meaning() {
    use zkthread_token::range::{low_byte, RangeLookups};
    use zkthread_token::role::Role;
    use zkthread_token::roles::*;
    let p = (1u32 << 31) - 1;
    let edges = [0, 1, 255, 256, (1 << 15) - 2, (1 << 15) - 1, 1 << 15, (1 << 16) - 1, 1 << 16, 1 << 20, p - 1];
    let values: Vec<u32> = (0..(1 << 16) + 300).step_by(7).chain(edges).collect();
    for v in values {
        let mut t = vec![0u32; TransferRole::N_COLUMNS];
        t[transfer_cols::FROM_NEW.start + 3] = v;
        t[transfer_cols::LIMB_LO.start + 8 + 3] = low_byte(v);
        let mut l = RangeLookups::default();
        l.add::<TransferRole>(&[t], 1);
        assert_eq!(l.outside == 0, v < 1 << 16, "limb {v}");

        let mut s = vec![0u32; KeySpongeRole::N_COLUMNS];
        s[key_cols::LAST] = 1;
        s[key_cols::REST] = v;
        s[key_cols::REST_LO] = low_byte(v);
        s[key_cols::SHIFTED_LO] = low_byte((v + HI_SHIFT) % p);
        let mut l = RangeLookups::default();
        l.add::<KeySpongeRole>(&[s.clone()], 1);
        assert_eq!(l.outside == 0, v <= (1 << 15) - 2, "hi {v}");
        // Not an element's last row: nothing is looked up.
        s[key_cols::LAST] = 0;
        let mut l = RangeLookups::default();
        l.add::<KeySpongeRole>(&[s], 1);
        assert_eq!((l.outside, l.multiplicity.iter().all(|m| m.0 == 0)), (0, true));
    }
}

/// Every role's constraints, LogUp included, hold on honest rows (a fast check, no proof).
#[test]
fn honest_rows_satisfy_every_role() {
    use zkthread_token::role::{assert_role_constraints, Relations};
    use zkthread_token::roles::*;
    let (_, _, rows) = honest();
    let mut w = zkthread_token::SignedWitness::new();
    rows.iter().for_each(|r| w.push(r));
    assert_eq!(w.first_violation(), None);
    let r = Relations::dummy();
    assert_role_constraints::<TransferRole>(&w.transfers, &r);
    assert_role_constraints::<ChainStepRole>(&w.auth.chain_steps, &r);
    assert_role_constraints::<DigestRole>(&w.auth.digests, &r);
    assert_role_constraints::<KeySpongeRole>(&w.auth.key_sponges, &r);
    assert_role_constraints::<TxListRole>(&w.auth.tx_list, &r);
    // 88 chain steps, 4 digest blocks and 32 key-sponge blocks per signature; one tx-list row
    // per transfer.
    assert_eq!((w.auth.chain_steps.len(), w.auth.digests.len(), w.auth.key_sponges.len()), (3 * 88, 3 * 4, 3 * 32));
    assert_eq!(w.auth.tx_list.len(), 3);
    assert_eq!(w.auth.permutations.len(), 3 * (124 + 1));
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
            let pi = sb.statement(&statement());
            let proof = prove_signed::<Blake>(&pi, &sb.owners, &sb.rows, &TEST).expect("prove");
            prop_assert!(verify_signed::<Blake>(&pi, &proof, &TEST).is_ok());
            let mut t = pi.clone();
            t.outputs[0].value += Felt::ONE;
            prop_assert!(verify_signed::<Blake>(&t, &proof, &TEST).is_err());
        }
    }
}

/// Prove time and proof size of signed sub-blocks on the real channel (Poseidon252) at 96-bit
/// parameter sets: 2^2 x 40 + 16 (`StarkParams::DEFAULT`), 2^3 x 27 + 15, 2^4 x 20 + 16 and the
/// shipped `SIGNED_PARAMS` (2^5 x 16 + 16 since issue 11). `cargo test -p zkthread-token --test signed_transfers --
/// --ignored --nocapture timing` (dev profile: stwo, the prover, zkthread-sig and p3 are
/// opt-level 3).
#[test]
#[ignore = "timing: run with --ignored --nocapture"]
fn timing_signed_prove() {
    use std::time::Instant;
    use zkthread_token::SIGNED_PARAMS;
    use zkthread_prover::Poseidon252MerkleChannel;
    let wider = StarkParams { log_blowup: 3, n_queries: 27, pow_bits: 15, ..StarkParams::DEFAULT };
    let wide = StarkParams { log_blowup: 4, n_queries: 20, pow_bits: 16, ..StarkParams::DEFAULT };
    eprintln!("| params | transfers | senders | sign (client) | batch | prove | verify | proof felts | calldata felts |");
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    for params in [StarkParams::DEFAULT, wider, wide, SIGNED_PARAMS] {
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
        let pi = sb.statement(&statement());
        let t = Instant::now();
        let proof = prove_signed::<Poseidon252MerkleChannel>(&pi, &sb.owners, &sb.rows, &params).expect("prove");
        let params = &params;
        let prove = t.elapsed();
        let t = Instant::now();
        verify_signed::<Poseidon252MerkleChannel>(&pi, &proof, params).expect("verify");
        let verify = t.elapsed();
        let felts = zkthread_token::signed_proof_to_felts(&proof).len();
        // settle(thread, sequence, inputs, outputs, proof): 2 + 2 lengths + 3 per entry + proof.
        let calldata = 5 + 3 * (pi.inputs.len() + pi.outputs.len()) + felts;
        eprintln!(
            "| 2^{} x {} + {} | {n} | {senders} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {felts} | {calldata} |",
            params.log_blowup, params.n_queries, params.pow_bits, sign, batch_time, prove, verify
        );
    }
}

/// Where a signed proof's time goes: proves `ZKTHREAD_PROFILE_TRANSFERS` (default 24) transfers
/// from 4 senders at `SIGNED_PARAMS` on the Poseidon252 channel with a subscriber that prints
/// every span's busy time when it closes (stwo's "Extension", "Merkle", "Composition",
/// "Grind", ... nest inside this crate's "signed: ..." phases). `RUST_LOG` selects the spans
/// (default `info`; `trace` adds stwo's FFT and Merkle-commit spans).
/// `cargo test -p zkthread-token --test signed_transfers -- --ignored --nocapture profile`
#[test]
#[ignore = "profile: run with --ignored --nocapture"]
fn profile_signed_prove() {
    use std::time::Instant;
    use tracing_subscriber::fmt::format::FmtSpan;
    use zkthread_token::SIGNED_PARAMS;
    use zkthread_prover::Poseidon252MerkleChannel;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .try_init();
    let n: usize = std::env::var("ZKTHREAD_PROFILE_TRANSFERS").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let senders = 4.min(n);
    let plan: Vec<(usize, usize, u128)> =
        (0..n).map(|i| ([0, 1, 3, 1][i % senders], [1, 0, 0, 3][i % senders], 1)).collect();
    let txs = random::sign_all_pub(&plan);
    let state = genesis();
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    // `ZKTHREAD_PROFILE_CHANNEL=stwo`: stwo's own Poseidon252 channel (the same proofs,
    // stwo's tree builder), for before/after comparisons.
    let stwo = std::env::var("ZKTHREAD_PROFILE_CHANNEL").is_ok_and(|c| c == "stwo");
    // `ZKTHREAD_PROFILE_REPEAT=2`: prove again in the same process (warm caches: the
    // preprocessed tree), timed on its own line.
    let repeat: usize = std::env::var("ZKTHREAD_PROFILE_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    for _ in 1..repeat {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        if stwo {
            use stwo::core::vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel as Stwo;
            prove_signed::<Stwo>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
        } else {
            prove_signed::<Poseidon252MerkleChannel>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
        }
        eprintln!("PROFILE (first of repeated proofs) prove={:.2?} cpu={:.1}s", t.elapsed(), cpu_seconds() - cpu);
    }
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let (log_sizes, felts) = if stwo {
        use stwo::core::vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel as Stwo;
        let proof = prove_signed::<Stwo>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
        (proof.log_sizes, zkthread_token::signed_proof_to_felts(&proof))
    } else {
        let proof =
            prove_signed::<Poseidon252MerkleChannel>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
        (proof.log_sizes, zkthread_token::signed_proof_to_felts(&proof))
    };
    let (prove, prove_cpu) = (t.elapsed(), cpu_seconds() - cpu);
    let proof = zkthread_token::signed_proof_from_felts::<Poseidon252MerkleChannel>(&felts).expect("decode");
    let t = Instant::now();
    verify_signed::<Poseidon252MerkleChannel>(&pi, &proof, &SIGNED_PARAMS).expect("verify");
    eprintln!(
        "PROFILE channel={} transfers={n} log_sizes={log_sizes:?} prove={prove:.2?} cpu={prove_cpu:.1}s verify={:.2?}",
        if stwo { "stwo" } else { "zkthread" },
        t.elapsed()
    );
}

/// The crate's Poseidon252 channel (its own, faster Merkle tree builder and proof-of-work
/// search) makes exactly the proofs of stwo's `Poseidon252MerkleChannel`: same felts, the
/// 16-bit nonce included, at the production parameters, on a
/// sub-block whose components have different heights (so trees are lifted). The Cairo
/// verifier reads these felts.
#[test]
fn poseidon252_channel_proofs_are_stwos() {
    use stwo::core::vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel as Stwo;
    use zkthread_token::SIGNED_PARAMS;
    use zkthread_prover::Poseidon252MerkleChannel as Ours;
    use zkthread_token::signed_proof_to_felts;
    let state = genesis();
    let batch = batcher().batch(&honest_txs(), |s| state.get(s).copied()).expect("batch");
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    let ours = prove_signed::<Ours>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
    let theirs = prove_signed::<Stwo>(&pi, &sb.owners, &sb.rows, &SIGNED_PARAMS).expect("prove");
    assert!(ours.log_sizes.iter().min() < ours.log_sizes.iter().max());
    assert_eq!(signed_proof_to_felts(&ours), signed_proof_to_felts(&theirs));
    verify_signed::<Ours>(&pi, &ours, &SIGNED_PARAMS).expect("verify");
}

/// The prover's cached preprocessed tree (one per process and height) gives the proof a fresh
/// commitment gives: a proof of another height in between replaces the cached tree, and the
/// proofs before and after it are the same felts.
#[test]
fn cached_preprocessed_tree_gives_the_same_proofs() {
    use zkthread_token::signed_proof_to_felts;
    let (pi, owners, rows) = honest();
    let first = prove_signed::<Blake>(&pi, &owners, &rows, &TEST).expect("prove");
    let again = prove_signed::<Blake>(&pi, &owners, &rows, &TEST).expect("prove");
    assert_eq!(signed_proof_to_felts(&first), signed_proof_to_felts(&again));
    // Taller components (more transfers): another table height.
    let state = genesis();
    let many: Vec<SignedTransferTx> = (0..6).map(|i| signed(ALICE, BOB, 1, i, i + 1)).collect();
    let batch = batcher().batch(&many, |s| state.get(s).copied()).expect("batch");
    let sb = batch.sub_block;
    let other_pi = sb.statement(&statement());
    let other = prove_signed::<Blake>(&other_pi, &sb.owners, &sb.rows, &TEST).expect("prove");
    assert_ne!(other.log_sizes.iter().max(), first.log_sizes.iter().max());
    verify_signed::<Blake>(&other_pi, &other, &TEST).expect("verify");
    let last = prove_signed::<Blake>(&pi, &owners, &rows, &TEST).expect("prove");
    assert_eq!(signed_proof_to_felts(&first), signed_proof_to_felts(&last));
    verify_signed::<Blake>(&pi, &last, &TEST).expect("verify");
}

/// The framework's driver, called directly: a wrong number of row sets is refused before any
/// work, a proof with a component missing is refused by shape, and the first role's sum is
/// really derived from the boundary the program gives (a wrong boundary fails stwo's check).
#[test]
fn the_driver_checks_row_sets_component_count_and_boundary() {
    use num_traits::Zero;
    use stwo::core::fields::qm31::SecureField;
    use zkthread_prover::program::{self, ProofRows, ProveError};
    use zkthread_prover::prover::VerifyError;
    use zkthread_token::prover::SignedTokenProgram;
    use zkthread_token::statement::boundary;

    let (pi, owners, rows) = honest();
    let mut w = SignedWitness::new();
    rows.iter().for_each(|r| w.push(r));
    let none = ProofRows { program: vec![], auth: &w.auth };
    let refused = program::prove::<SignedTokenProgram, Blake>(&pi.to_felts(), &none, &TEST);
    assert!(matches!(refused, Err(ProveError::RowSets { given: 0, roles: 1 })));

    let proof = prove_signed::<Blake>(&pi, &owners, &rows, &TEST).expect("prove");
    let slots = zkthread_token::bound_slots(&pi, &owners).expect("bound");
    let verify = |log: &[u32], sums: &[SecureField], right_boundary: bool| {
        program::verify::<SignedTokenProgram, Blake, SignedStatementError>(
            &pi.to_felts(),
            log,
            sums,
            &proof.stark,
            &TEST,
            |r| if right_boundary { boundary(&slots, &pi.transactions, r) } else { SecureField::zero() },
        )
    };
    verify(&proof.log_sizes, &proof.claimed_sums, true).expect("the driver verifies the token's proof");
    assert!(matches!(verify(&proof.log_sizes[..5], &proof.claimed_sums[..5], true), Err(VerifyError::Shape(_))));
    let wrong = verify(&proof.log_sizes, &proof.claimed_sums, false);
    assert!(matches!(wrong, Err(VerifyError::Stwo(_))), "a wrong boundary: {wrong:?}");
}
