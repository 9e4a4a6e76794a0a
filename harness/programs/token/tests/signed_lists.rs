//! Signed transfer lists (one signature for a sender's transfers in a sub-block, the list
//! program `zkthread_token::list_prover`; a single transfer is a list of one): honest lists
//! prove and verify; the batcher refuses a list whole; and a modified prover that edits, drops or
//! re-attributes a list's transfers (hand-built rows through the raw entry point, with the
//! public lists made consistent with the forged effect) gets a proof that does not verify.

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::Slot;
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::transfer_list::{TransferListCommitment, LIST_AMOUNT_LIMIT};
use zkthread_sig::wots::verification_trace;
use zkthread_sig::{account_id_wide, TransferListMessage};
use zkthread_token::list::{list_head_cols, list_item_cols, ListHeadRole, ListItemRole};
use zkthread_token::list_batcher::{SignedListSubBlock, SignedTransferListTx};
use zkthread_token::list_prover::{
    list_proof_from_felts, list_proof_to_felts, prove_list, prove_list_witness, verify_list,
};
use zkthread_token::role::{assert_role_constraints, relation_sums};
use zkthread_token::witness::{SignedListItem, SignedListRow, SignedListWitness};
use zkthread_token::{SignedBatchError, SignedPublicInput, SignedRejection, SignedTransferTx};

mod common;
use common::*;

fn list(from: u64, transfers: &[(u64, u128)], index: u32, nonce: u32) -> SignedTransferListTx {
    let transfers = transfers.iter().map(|(to, a)| (Felt::from(*to), *a)).collect();
    SignedTransferListTx::sign(Felt::from(TOKEN), Felt::from(from), transfers, nonce, &seed(from), index, &statement())
        .expect("sign")
}

fn batch_on(state: &BTreeMap<Slot, Felt>, txs: &[SignedTransferListTx]) -> Result<zkthread_token::list_batcher::SignedListBatch, SignedBatchError> {
    batcher().batch_lists(txs, |s| Some(state.get(s).copied().unwrap_or(Felt::ZERO)))
}

/// Alice pays Bob 100, Carol 200 and Bob 50 in one signed list; Bob sends Carol 50 in a list
/// of one.
fn honest() -> (SignedPublicInput, SignedListSubBlock) {
    let txs = [list(ALICE, &[(BOB, 100), (CAROL, 200), (BOB, 50)], 0, 1), list(BOB, &[(CAROL, 50)], 0, 1)];
    let batch = batch_on(&genesis(), &txs).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    (batch.sub_block.statement(&statement()), batch.sub_block)
}

fn value(pi: &SignedPublicInput, slot: Slot) -> Felt {
    pi.outputs.iter().find(|e| e.slot == slot).expect("slot in the outputs").value
}

#[test]
fn honest_lists_and_a_list_of_one_prove_and_verify() {
    let (pi, sb) = honest();
    assert_eq!(sb.transfer_count(), 4);
    assert_eq!(pi.transactions.count, 2, "one transaction-list entry per signed message");
    assert_eq!(value(&pi, balance_slot(ALICE)), Felt::from(650u64));
    assert_eq!(value(&pi, balance_slot(BOB)), Felt::from(600u64));
    assert_eq!(value(&pi, balance_slot(CAROL)), Felt::from(250u64));
    // One key step for the whole list: Alice's slot moves to key 1 at nonce 2.
    assert_eq!(value(&pi, key_slot(ALICE)), pack_key_slot(&key(ALICE, 1), 2).unwrap());

    let w = SignedListWitness::of(&sb.entries);
    assert_eq!(w.first_violation(), None);
    let r = random_relations();
    assert_role_constraints::<ListHeadRole>(&w.heads, &r);
    assert_role_constraints::<ListItemRole>(&w.items, &r);

    let proof = prove_list::<Blake>(&pi, &sb.owners, &sb.entries, &TEST).expect("prove");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("verify");
    let felts = list_proof_to_felts(&proof);
    let decoded = list_proof_from_felts::<Blake>(&felts).expect("decode");
    verify_list::<Blake>(&pi, &decoded, &TEST).expect("verify decoded");

    let mut other = pi.clone();
    set(&mut other.outputs, balance_slot(CAROL), Felt::from(251u64));
    assert!(verify_list::<Blake>(&other, &proof, &TEST).is_err(), "changed output");
    let mut other = pi.clone();
    other.transactions = zkthread_sig::TxListCommitment::of(sb.entries.iter().rev().map(SignedListRow::digest));
    assert!(verify_list::<Blake>(&other, &proof, &TEST).is_err(), "reordered transaction list");
}

/// `ListVerifier` accepts two parameter sets, chosen per proof (`LIST_PARAM_SETS`): an honest
/// sub-block proven at each on the Poseidon252 channel (the on-chain one) verifies at the set
/// it names, also decoded from its felts, and not against the other set; a proof at 96-bit
/// parameters outside the two is sound at its own but refused as not accepted.
#[test]
fn a_list_proof_verifies_at_either_accepted_set_and_no_other() {
    use zkthread_prover::params::StarkParams;
    use zkthread_prover::VerifyError;
    use zkthread_token::list_prover::{accepted_params_of, poseidon252, LIST_FAST_PARAMS, LIST_PARAM_SETS};
    let (pi, sb) = honest();
    assert_ne!(LIST_PARAM_SETS[0], LIST_PARAM_SETS[1]);
    for params in LIST_PARAM_SETS {
        assert!(params.security_bits() >= 96);
        let proof = poseidon252::prove(&pi, &sb.owners, &sb.entries, &params).expect("prove");
        assert_eq!(accepted_params_of(&proof), Some(params));
        poseidon252::verify_accepted(&pi, &proof).expect("verifies at the set it names");
        let decoded = poseidon252::from_felts(&poseidon252::to_felts(&proof)).expect("decode");
        poseidon252::verify_accepted(&pi, &decoded).expect("verifies decoded");
        let other = LIST_PARAM_SETS.into_iter().find(|p| *p != params).expect("two sets");
        assert!(
            matches!(poseidon252::verify(&pi, &proof, &other), Err(VerifyError::ParamsMismatch)),
            "a proof at one set checked against the other"
        );
        let mut changed = pi.clone();
        set(&mut changed.outputs, balance_slot(CAROL), Felt::from(251u64));
        assert!(poseidon252::verify_accepted(&changed, &proof).is_err(), "changed output");
    }
    let outside = StarkParams { log_blowup: 3, n_queries: 27, pow_bits: 15, ..LIST_FAST_PARAMS };
    assert!(outside.security_bits() >= 96);
    let proof = poseidon252::prove(&pi, &sb.owners, &sb.entries, &outside).expect("prove");
    poseidon252::verify(&pi, &proof, &outside).expect("sound at its own parameters");
    assert_eq!(accepted_params_of(&proof), None);
    assert!(matches!(poseidon252::verify_accepted(&pi, &proof), Err(VerifyError::ParamsMismatch)));
}

const DAVE: u64 = 0xda7e;

/// Lists of one, two and three transfers prove and verify together (two blocks a transfer,
/// so six item rows and twelve list permutations).
#[test]
fn lists_of_one_two_and_three_prove_and_verify() {
    let txs = [
        list(ALICE, &[(BOB, 100)], 0, 1),
        list(BOB, &[(CAROL, 5), (ALICE, 5)], 0, 1),
        list(MALLORY, &[(ALICE, 1), (BOB, 2), (CAROL, 3)], 0, 1),
    ];
    let batch = batch_on(&genesis(), &txs).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(&statement());
    assert_eq!(value(&pi, balance_slot(ALICE)), Felt::from(1_000u64 - 100 + 5 + 1));
    assert_eq!(value(&pi, balance_slot(MALLORY)), Felt::from(4u64));
    let w = SignedListWitness::of(&sb.entries);
    assert_eq!(w.first_violation(), None);
    assert_eq!(w.items.len(), 6);
    let proof = prove_list::<Blake>(&pi, &sb.owners, &sb.entries, &TEST).expect("prove");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("verify");
}

#[test]
fn the_batcher_refuses_a_list_whole_with_its_reason() {
    // Dave holds almost all of u128: paying him 10 overflows.
    let mut state = genesis();
    state.insert(balance_slot(DAVE), Felt::from(u128::MAX - 5));
    let mut edited = list(ALICE, &[(BOB, 100), (CAROL, 200)], 0, 1);
    edited.transfers[1].1 = 201; // edited after signing
    let txs = [
        // Alice holds 1,000 and the list pays out 1,100.
        list(ALICE, &[(BOB, 100), (CAROL, 200), (BOB, 800)], 0, 1),
        edited,
        list(ALICE, &[], 0, 1),
        list(BOB, &[(CAROL, 5), (BOB, 5)], 0, 1),
        list(CAROL, &[(BOB, 1)], 0, 1),
        // Mallory is credited 7 before Dave's credit overflows: the list is undone whole.
        list(BOB, &[(MALLORY, 7), (DAVE, 10)], 0, 1),
        // Alice's key 0 at nonce 1 is still current: the refused lists changed nothing.
        list(ALICE, &[(BOB, 100), (CAROL, 200)], 0, 1),
        list(ALICE, &[(BOB, 1)], 0, 1),
    ];
    let batch = batch_on(&state, &txs).expect("batch");
    let reasons: Vec<String> = batch.rejected.iter().map(ToString::to_string).collect();
    assert!(matches!(batch.rejected[0], SignedRejection::ListOverspend { index: 0, balance: 1_000 }), "{reasons:?}");
    assert_eq!(reasons[0], "transfer #0: the list pays out more than the sender's balance 1000");
    assert!(matches!(batch.rejected[1], SignedRejection::BadSignature { index: 1, .. }), "{reasons:?}");
    assert!(matches!(batch.rejected[2], SignedRejection::EmptyList { index: 2 }), "{reasons:?}");
    assert!(
        matches!(&batch.rejected[3], SignedRejection::ListItem { index: 3, item: 1, reason }
            if matches!(**reason, SignedRejection::SelfTransfer { .. })),
        "{reasons:?}"
    );
    assert!(matches!(batch.rejected[4], SignedRejection::NoKey { index: 4, .. }), "{reasons:?}");
    assert!(
        matches!(&batch.rejected[5], SignedRejection::ListItem { index: 5, item: 1, reason }
            if matches!(**reason, SignedRejection::ReceiverOverflow { amount: 10, .. })),
        "{reasons:?}"
    );
    assert_eq!(reasons[5], format!("transfer #5: list item 1: receiver balance {} + 10 overflows u128", u128::MAX - 5));
    assert!(matches!(batch.rejected[6], SignedRejection::WrongNonce { index: 7, given: 1, current: 2 }), "{reasons:?}");
    assert_eq!(batch.rejected.len(), 7);
    let pi = batch.sub_block.statement(&statement());
    assert_eq!(value(&pi, balance_slot(ALICE)), Felt::from(700u64));
    assert_eq!(value(&pi, balance_slot(BOB)), Felt::from(600u64), "Bob's refused lists moved nothing");
    assert_eq!(value(&pi, balance_slot(CAROL)), Felt::from(200u64));
    // Slots only refused lists touched are in neither list: Mallory's credit was undone.
    for slot in [balance_slot(MALLORY), balance_slot(DAVE), key_slot(BOB)] {
        assert!(pi.inputs.iter().all(|e| e.slot != slot), "{slot:?} touched");
    }
}

/// A proof holds `MAX_PERMUTATIONS_PER_PROOF` (2^16) Poseidon2 permutations: a message that
/// would take the sub-block past them is deferred with everything after it, untouched, and
/// the next batch starts from the state the first left.
#[test]
fn a_message_past_the_permutation_budget_is_deferred() {
    use zkthread_token::list_prover::MAX_PERMUTATIONS_PER_PROOF;
    let mut state = genesis();
    state.insert(balance_slot(ALICE), Felt::from(1u128 << 100));
    // 125 + 1.5 x 43,600 = 65,525 permutations: room for no signature more.
    let long: Vec<(u64, u128)> = (0..43_600).map(|i| (if i % 2 == 0 { BOB } else { CAROL }, 1)).collect();
    // Junk that would not fit either (a list as long, never signed, its first amount 0) is
    // refused, not deferred: it cannot cut the sub-block short.
    let mut junk = list(BOB, &[(CAROL, 1)], 0, 1);
    junk.transfers = (0..43_600).map(|i| (Felt::from(CAROL), i as u128)).collect();
    let txs = [
        list(ALICE, &long, 0, 1),
        junk,
        list(BOB, &[(CAROL, 5)], 0, 1),
        list(ALICE, &[(BOB, 1)], 1, 2),
    ];
    assert_eq!(txs[0].permutations(), 65_525);
    assert!(txs[0].permutations() + txs[2].permutations() > MAX_PERMUTATIONS_PER_PROOF);
    let batch = batch_on(&state, &txs).expect("batch");
    assert!(
        matches!(&batch.rejected[..], [SignedRejection::ListItem { index: 1, item: 0, reason }]
            if matches!(**reason, SignedRejection::ZeroAmount { .. })),
        "{:?}",
        batch.rejected
    );
    assert_eq!(batch.sub_block.txs.len(), 1);
    assert_eq!(batch.deferred, txs[2..].to_vec());
    let pi = batch.sub_block.statement(&statement());
    assert_eq!(value(&pi, balance_slot(BOB)), Felt::from(500u64 + 21_800));
    // The next sub-block, on the state the first left, takes both.
    let mut next_state = state.clone();
    for e in &pi.outputs {
        next_state.insert(e.slot, e.value);
    }
    let next = batch_on(&next_state, &batch.deferred).expect("next batch");
    assert!(next.rejected.is_empty() && next.deferred.is_empty(), "{:?}", next.rejected);
    assert_eq!(next.sub_block.transfer_count(), 2);
}

/// Alice's list alone: its statement, sub-block and row.
fn honest_list() -> (SignedPublicInput, SignedListSubBlock, SignedListRow) {
    let batch = batch_on(&genesis(), &[list(ALICE, &[(BOB, 100), (CAROL, 200), (BOB, 50)], 0, 1)]).expect("batch");
    let row = batch.sub_block.entries[0].clone();
    (batch.sub_block.statement(&statement()), batch.sub_block, row)
}

/// The statement checks passed and stwo refused the proof: the relations do not balance (the
/// composition does not match at the out-of-domain point), not a malformed proof or statement.
fn assert_refused_by_the_air(what: &str, result: Result<(), zkthread_token::SignedVerifyError>) {
    use stwo::core::verifier::VerificationError;
    match result {
        Err(zkthread_token::SignedVerifyError::Stwo(VerificationError::OodsNotMatching)) => {}
        other => panic!("{what}: expected the AIR to refuse the proof, got {other:?}"),
    }
}

/// Either the prover cannot finish (a row constraint fails: stwo's prover checks the
/// composition, e.g. the digits of another message's digest do not sum to the target) or the
/// proof it makes is refused by the AIR.
fn assert_no_valid_proof(what: &str, pi: &SignedPublicInput, owners: &[Felt], entries: &[SignedListRow]) {
    use stwo::prover::ProvingError;
    use zkthread_prover::program::ProveError;
    match prove_list::<Blake>(pi, owners, entries, &TEST) {
        Ok(proof) => assert_refused_by_the_air(what, verify_list::<Blake>(pi, &proof, &TEST)),
        Err(zkthread_token::SignedProveError::Program(ProveError::Stwo(ProvingError::ConstraintsNotSatisfied))) => {}
        Err(e) => panic!("{what}: unexpected prover error {e}"),
    }
}

/// Recomputes the balances a list's items read, from genesis, as a modified prover would for
/// edited items; returns the statement whose outputs are the forged balances.
fn rechain(pi: &SignedPublicInput, row: &mut SignedListRow) -> SignedPublicInput {
    let accounts = [ALICE, BOB, CAROL, MALLORY];
    let id = |a: u64| account_id_wide(Felt::from(a));
    let mut balance: BTreeMap<u64, u128> = [(ALICE, 1_000), (BOB, 500), (CAROL, 0), (MALLORY, 10)].into();
    let from = *accounts.iter().find(|a| id(**a) == row.from).expect("a known sender");
    for item in &mut row.items {
        let to = *accounts.iter().find(|a| id(**a) == item.to).expect("a known receiver");
        item.from_old = balance[&from];
        item.to_old = balance[&to];
        *balance.get_mut(&from).unwrap() -= item.amount;
        *balance.get_mut(&to).unwrap() += item.amount;
    }
    let mut forged = pi.clone();
    for (account, b) in balance {
        if forged.outputs.iter().any(|e| e.slot == balance_slot(account)) {
            set(&mut forged.outputs, balance_slot(account), Felt::from(b));
        }
    }
    forged
}

/// Builds the rows of `row` as a modified prover would, then puts the honestly signed
/// commitment and count back into the head (so the signature verifies), checks that every
/// constraint and the `State` relation hold against `pi` (the lists made to match the forged
/// balances), and asserts that the proof does not verify.
fn assert_forged_list_fails(what: &str, row: &SignedListRow, signed: TransferListCommitment, pi: &SignedPublicInput, owners: &[Felt]) {
    let mut w = SignedListWitness::new();
    w.push_signed_list_at(row, 0);
    w.auth.push_tx_list(&row.trace.digest);
    w.heads[0][list_head_cols::COMMITMENT].copy_from_slice(&signed.cap.map(|v| v.to_u32()));
    w.heads[0][list_head_cols::COUNT] = signed.count;
    assert_eq!(w.first_violation(), None, "{what}: every row constraint holds");
    let r = random_relations();
    let slots = zkthread_token::bound_slots(pi, owners).expect("bound slots");
    let state = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
    assert_eq!(state, zkthread_token::statement::boundary_sum(&slots, &r.state), "{what}: balances match the lists");
    match prove_list_witness::<Blake>(pi, owners, &w, &TEST) {
        Ok(proof) => assert_refused_by_the_air(what, verify_list::<Blake>(pi, &proof, &TEST)),
        Err(e) => panic!("{what}: the prover should produce a (bad) proof: {e}"),
    }
}

#[test]
fn a_list_item_its_sender_did_not_sign_does_not_verify() {
    let (pi, sb, row) = honest_list();
    let signed = TransferListCommitment::of(&row.listed()).expect("a listable row");
    // Item 1 pays 250 to Carol instead of the signed 200.
    let mut forged = row.clone();
    forged.items[1].amount = 250;
    let fpi = rechain(&pi, &mut forged);
    assert_eq!(value(&fpi, balance_slot(ALICE)), Felt::from(600u64));
    assert_forged_list_fails("amount", &forged, signed, &fpi, &sb.owners);
    // Item 1 pays Bob instead of Carol.
    let mut forged = row.clone();
    forged.items[1].to = account_id_wide(Felt::from(BOB));
    let fpi = rechain(&pi, &mut forged);
    assert_eq!(value(&fpi, balance_slot(BOB)), Felt::from(850u64));
    assert_forged_list_fails("receiver", &forged, signed, &fpi, &sb.owners);
    // Items 0 and 1 swapped: the same transfers in another order.
    let mut forged = row.clone();
    forged.items.swap(0, 1);
    let fpi = rechain(&pi, &mut forged);
    assert_forged_list_fails("order", &forged, signed, &fpi, &sb.owners);
    // Control: the honest rows through the same path verify.
    let mut w = SignedListWitness::new();
    w.push_signed_list_at(&row, 0);
    w.auth.push_tx_list(&row.trace.digest);
    let proof = prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("control proves");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("the control verifies");
}

/// An item's blocks are its own `TO`, amount and `TO_HIGH` columns. A prover keeps every
/// permutation, capacity and the head exactly as signed and only changes item 1's receiver
/// (paying Bob instead of Carol, balances rechained): the item's `Poseidon2` look-ups then ask
/// for a block no permutation row absorbed, so this does not verify.
#[test]
fn an_item_paying_another_receiver_than_the_block_it_absorbs_does_not_verify() {
    use zkthread_token::list::list_item_cols::{BALANCES, TO, TO_HIGH};
    use zkthread_token::witness::balance_block_values;
    let (pi, sb, row) = honest_list();
    let mut forged = row.clone();
    forged.items[1].to = account_id_wide(Felt::from(BOB));
    let fpi = rechain(&pi, &mut forged);
    let mut w = SignedListWitness::new();
    w.push_signed_list_at(&row, 0);
    w.auth.push_tx_list(&row.trace.digest);
    w.items[1][TO].copy_from_slice(&forged.items[1].to.low.map(|v| v.to_u32()));
    w.items[1][TO_HIGH].copy_from_slice(&forged.items[1].to.high.map(|v| v.to_u32()));
    for (r, item) in w.items.iter_mut().zip(&forged.items) {
        r[BALANCES].copy_from_slice(&balance_block_values(item.from_old, item.to_old, item.amount));
    }
    assert_eq!(w.first_violation(), None, "every row constraint holds");
    let r = random_relations();
    let slots = zkthread_token::bound_slots(&fpi, &sb.owners).expect("bound slots");
    let state = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
    assert_eq!(state, zkthread_token::statement::boundary_sum(&slots, &r.state), "balances match the lists");
    let proof = prove_list_witness::<Blake>(&fpi, &sb.owners, &w, &TEST).expect("a (bad) proof");
    assert_refused_by_the_air("another receiver than the block", verify_list::<Blake>(&fpi, &proof, &TEST));
}

#[test]
fn dropping_or_adding_a_list_item_does_not_verify() {
    let (pi, sb, row) = honest_list();
    let signed = TransferListCommitment::of(&row.listed()).expect("a listable row");
    // Only the first two signed transfers applied: Alice keeps the last 50.
    let mut forged = row.clone();
    forged.items.pop();
    let fpi = rechain(&pi, &mut forged);
    assert_eq!(value(&fpi, balance_slot(ALICE)), Felt::from(700u64));
    assert_forged_list_fails("dropped", &forged, signed, &fpi, &sb.owners);
    // A fourth transfer the sender never signed: 10 more to Bob.
    let mut forged = row.clone();
    forged.items.push(SignedListItem { to: account_id_wide(Felt::from(BOB)), from_old: 0, to_old: 0, amount: 10 });
    let fpi = rechain(&pi, &mut forged);
    assert_eq!(value(&fpi, balance_slot(ALICE)), Felt::from(640u64));
    assert_forged_list_fails("added", &forged, signed, &fpi, &sb.owners);
}

/// Mallory really signs a list "500 to Carol" under her own key (she holds 10), and the
/// prover attaches it to an item debiting Alice 500: every balance and key tuple balances,
/// the signature and the list commitment are Mallory's real ones, but the item's list entries
/// name Alice, whom no head in the proof speaks for.
#[test]
fn an_item_debiting_someone_else_under_a_thiefs_list_does_not_verify() {
    let tx = list(MALLORY, &[(CAROL, 500)], 0, 1);
    let msg = tx.message(&statement());
    let trace = zkthread_sig::verify_trace(&tx.key, &msg, &tx.signature).expect("Mallory's signature is real");
    let row = SignedListRow {
        domain: msg.domain,
        from: account_id_wide(Felt::from(MALLORY)),
        nonce: 1,
        key: tx.key,
        next_key: tx.next_key,
        items: vec![SignedListItem { to: account_id_wide(Felt::from(CAROL)), from_old: 1_000, to_old: 0, amount: 500 }],
        signature: tx.signature.clone(),
        trace,
    };
    let mut w = SignedListWitness::new();
    w.push_signed_list_at(&row, 0);
    w.auth.push_tx_list(&row.trace.digest);
    // The item's sender is Alice, her whole id; the head stays Mallory's.
    let alice = account_id_wide(Felt::from(ALICE));
    w.items[0][zkthread_token::list::list_item_cols::FROM].copy_from_slice(&alice.low.map(|v| v.to_u32()));
    w.items[0][zkthread_token::list::list_item_cols::FROM_HIGH].copy_from_slice(&alice.high.map(|v| v.to_u32()));
    assert_eq!(w.first_violation(), None);
    // The lists: Alice 1,000 -> 500, Carol 0 -> 500, Mallory's key slot rotated.
    let mut entries = vec![
        (balance_slot(ALICE), 1_000u64.into(), 500u64.into(), ALICE),
        (balance_slot(CAROL), Felt::ZERO, 500u64.into(), CAROL),
        (key_slot(MALLORY), genesis()[&key_slot(MALLORY)], pack_key_slot(&key(MALLORY, 1), 2).unwrap(), MALLORY),
    ];
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut pi = statement();
    pi.transactions = zkthread_sig::TxListCommitment::of([&row.trace.digest]);
    pi.inputs = entries.iter().map(|e| zkthread_prover::model::SlotValue { slot: e.0, value: e.1 }).collect();
    pi.outputs = entries.iter().map(|e| zkthread_prover::model::SlotValue { slot: e.0, value: e.2 }).collect();
    let owners: Vec<Felt> = entries.iter().map(|e| Felt::from(e.3)).collect();
    let r = random_relations();
    let slots = zkthread_token::bound_slots(&pi, &owners).expect("bound slots");
    let state_sum = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
    assert_eq!(state_sum, zkthread_token::statement::boundary_sum(&slots, &r.state), "balances match the lists");
    let proof = prove_list_witness::<Blake>(&pi, &owners, &w, &TEST).expect("a (bad) proof");
    assert_refused_by_the_air("theft", verify_list::<Blake>(&pi, &proof, &TEST));
}

/// The list form of helper-83's route (session 50): Alice lists 100 to Bob, and an owner `M`
/// sharing Bob's low id (Mallory's key slot bound to Bob's low words and Mallory's high ones:
/// the collision simulated) lists 100 to Carol under its own key, its item debiting the
/// `Balance(Bob)` tuple Alice's item credited inside the proof (the tuples cancel; Bob's slot
/// never shows). The head's key tuple carries `M`'s whole id and hands it to the item through
/// `ListCap`, so an item naming Bob's high words does not verify. The control binds the same
/// key slot to Bob's whole id and verifies: only the high words differ.
#[test]
fn a_list_item_debits_only_its_key_owners_whole_id() {
    use zkthread_prover::program::{self, ProofRows};
    use zkthread_token::list_prover::SignedListProgram;
    let alice_row = {
        let batch = batch_on(&genesis(), &[list(ALICE, &[(BOB, 100)], 0, 1)]).expect("batch");
        batch.sub_block.entries[0].clone()
    };
    let (bob, carol, twin) = (account_id_wide(Felt::from(BOB)), account_id_wide(Felt::from(CAROL)), bobs_low_twin());
    let message = TransferListMessage {
        domain: statement().domain(Felt::from(TOKEN)),
        from: twin.low,
        transfers: vec![zkthread_sig::ListedTransfer { to: carol, amount: 100 }],
        nonce: 1,
        next_key: key(MALLORY, 1),
    };
    let signature = zkthread_sig::sign(&seed(MALLORY), 0, &message).unwrap();
    let trace = zkthread_sig::verify_trace(&key(MALLORY, 0), &message, &signature).expect("Mallory's own signature");
    let mallory_row = SignedListRow {
        domain: message.domain,
        from: bob, // head and item: the item debits the tuple Alice's item credited
        nonce: 1,
        key: key(MALLORY, 0),
        next_key: key(MALLORY, 1),
        items: vec![SignedListItem { to: carol, from_old: 600, to_old: 0, amount: 100 }],
        signature,
        trace,
    };
    let w = SignedListWitness::of(&[alice_row.clone(), mallory_row.clone()]);
    assert_eq!(w.first_violation(), None);
    let pi = twin_debit_statement(zkthread_sig::TxListCommitment::of([alice_row.digest(), mallory_row.digest()]));
    let rows = ProofRows { program: vec![&w.heads, &w.items], auth: &w.auth };
    let parts = program::prove::<SignedListProgram, Blake>(&pi.to_felts(), &rows, &TEST).expect("raw driver");
    verify_raw::<SignedListProgram>(&pi, &parts, &twin_debit_boundary(&pi, bob)).expect("control: the key slot under Bob's whole id");
    assert!(
        verify_raw::<SignedListProgram>(&pi, &parts, &twin_debit_boundary(&pi, twin)).is_err(),
        "an item debiting Bob's high words under another owner's key must not verify"
    );
}

/// The credit side of an account-id collision, for lists (list AIR version 4, session 51).
/// Alice lists 100 to Bob. A prover owning an account `M` with Bob's low 124-bit id (a ~2^62
/// search over two addresses it chooses) credits `M` instead: Bob's slot never shows. The
/// collision is simulated by binding Bob's balance slot to `M` (Bob's low words, Mallory's
/// high ones). Neither route verifies: the honest rows (the credited `Balance` tuple carries
/// Bob's high words), nor an item crediting `M` with the head's signed commitment kept. Bob is
/// listed at an even position (his high words are his item's second block, so the sponge ends
/// off the signed capacity) and at an odd one (version 5: his high words were absorbed by the
/// item before his and handed on as `ListCap`'s pending value, which `M`'s item does not
/// match). Until version 3 the list absorbed `[to.low, amount]` alone and the second route
/// verified. The control (the honest rows, Bob's own id) verifies.
#[test]
fn a_list_credit_to_an_owner_sharing_only_the_receivers_low_id_does_not_verify() {
    use zkthread_prover::program::{self, ProofRows};
    use zkthread_sig::AccountId;
    use zkthread_token::list_prover::SignedListProgram;
    for (bob_at, transfers) in [(0, vec![(BOB, 100)]), (1, vec![(CAROL, 5), (BOB, 100)])] {
        let batch = batch_on(&genesis(), &[list(ALICE, &transfers, 0, 1)]).expect("batch");
        let sb = batch.sub_block;
        let pi = sb.statement(&statement());
        let (bob, twin) = (account_id_wide(Felt::from(BOB)), bobs_low_twin());
        let (ids, twin_ids) = owner_ids_and_twins(&sb.owners);
        let signed = TransferListCommitment::of(&sb.entries[0].listed()).expect("a listable row");
        let crediting = |to: AccountId| {
            let mut w = if bob_at == 0 {
                let mut row = sb.entries[0].clone();
                row.items[0].to = to;
                SignedListWitness::of(&[row])
            } else {
                // Every block as signed (the even item before absorbed Bob's high words); only
                // the odd item's own high words change.
                let mut w = SignedListWitness::of(std::slice::from_ref(&sb.entries[0]));
                w.items[1][list_item_cols::TO_HIGH].copy_from_slice(&to.high.map(|v| v.to_u32()));
                w
            };
            w.heads[0][list_head_cols::COMMITMENT].copy_from_slice(&signed.cap.map(|v| v.to_u32()));
            assert_eq!(w.first_violation(), None);
            let rows = ProofRows { program: vec![&w.heads, &w.items], auth: &w.auth };
            program::prove::<SignedListProgram, Blake>(&pi.to_felts(), &rows, &TEST).expect("raw driver")
        };
        let honest = crediting(bob);
        verify_raw::<SignedListProgram>(&pi, &honest, &rows_own_boundary(&pi, &ids)).expect("control: Bob credited verifies");
        assert!(
            verify_raw::<SignedListProgram>(&pi, &honest, &rows_own_boundary(&pi, &twin_ids)).is_err(),
            "item {bob_at}: Bob's credit must not stand for the id sharing only his low words"
        );
        assert!(
            verify_raw::<SignedListProgram>(&pi, &crediting(twin), &rows_own_boundary(&pi, &twin_ids)).is_err(),
            "item {bob_at}: a list item crediting the id sharing only Bob's low words must not verify"
        );
    }
}

/// A listed amount is four 30-bit elements, so a list carries amounts below 2^120: the batcher
/// refuses a larger one before it checks the signature (no signer makes one), and the
/// prover's entry point refuses a row carrying one.
#[test]
fn a_listed_amount_of_2_120_or_more_is_refused() {
    let mut state = genesis();
    state.insert(balance_slot(ALICE), Felt::from(u128::MAX));
    let mut big = list(ALICE, &[(BOB, 100), (CAROL, 5)], 0, 1);
    big.transfers[0].1 = LIST_AMOUNT_LIMIT;
    let batch = batch_on(&state, &[big, list(ALICE, &[(BOB, LIST_AMOUNT_LIMIT - 1)], 0, 1)]).expect("batch");
    assert!(
        matches!(&batch.rejected[..], [SignedRejection::ListItem { index: 0, item: 0, reason }]
            if matches!(**reason, SignedRejection::ListAmountTooLarge { amount: LIST_AMOUNT_LIMIT, .. })),
        "{:?}",
        batch.rejected
    );
    assert_eq!(batch.rejected[0].reason(), format!("list item 0: amount {LIST_AMOUNT_LIMIT} is 2^120 or more, which a list cannot carry (send it as a single transfer)"));
    let pi = batch.sub_block.statement(&statement());
    assert_eq!(value(&pi, balance_slot(BOB)), Felt::from(500 + LIST_AMOUNT_LIMIT - 1), "the largest listed amount settles");
    prove_list::<Blake>(&pi, &batch.sub_block.owners, &batch.sub_block.entries, &TEST).expect("it proves");
    // A row the batcher would never build is refused by the prover's entry point, not a panic.
    let mut rows = batch.sub_block.entries.clone();
    rows[0].items[0].amount = LIST_AMOUNT_LIMIT;
    let refused = prove_list::<Blake>(&pi, &batch.sub_block.owners, &rows, &TEST).map(|_| ()).unwrap_err();
    assert_eq!(refused.to_string(), format!("list 0, item 0: amount {LIST_AMOUNT_LIMIT} is 2^120 or more, which a list cannot carry"));
}

/// The top limb's high byte is zero (`l7 = L7`), and the AIR is the only guard: Alice signs
/// 2^90 + 100 to Bob, and a prover credits Bob 2^121 + 100 instead. The two amounts have
/// equal elements mod p (the top chunk `2^22 l7` of the forged one is `2^22 x 2^9 = 2^31 = 1`,
/// the bit 90 the signed one has), so every look-up of the list sponge holds; the balances are
/// rechained and every other constraint holds. Only the item's `l7 = L7` fails, and no proof
/// verifies.
#[test]
fn an_item_amount_aliasing_the_signed_one_mod_p_does_not_verify() {
    use zkthread_token::list::{amount_chunks, list_item_cols::{BALANCES, SPLIT}};
    use zkthread_token::witness::{amount_split_bits, balance_block_values};
    let (signed, forged) = ((1u128 << 90) + 100, (1u128 << 121) + 100);
    let mut state = genesis();
    let alice = 1u128 << 122;
    state.insert(balance_slot(ALICE), Felt::from(alice));
    let batch = batch_on(&state, &[list(ALICE, &[(BOB, signed)], 0, 1)]).expect("batch");
    let sb = batch.sub_block;
    let row = &sb.entries[0];
    let mut w = SignedListWitness::of(std::slice::from_ref(row));
    let item = &mut w.items[0];
    item[BALANCES].copy_from_slice(&balance_block_values(alice, 500, forged));
    assert_eq!(amount_split_bits(forged), amount_split_bits(signed), "the same split bits");
    // The forged row's elements are the signed ones (the field sees no difference).
    let field = |r: &[u32]| r.iter().map(|v| stwo::core::fields::m31::BaseField::from(*v)).collect::<Vec<_>>();
    let mut honest_row = item.clone();
    honest_row[BALANCES].copy_from_slice(&balance_block_values(alice, 500, signed));
    let chunks = |r: &[u32]| amount_chunks(&field(&r[BALANCES]), &field(&r[SPLIT])).0;
    assert_eq!(chunks(item), chunks(&honest_row));
    let mut pi = sb.statement(&statement());
    set(&mut pi.outputs, balance_slot(ALICE), Felt::from(alice - forged));
    set(&mut pi.outputs, balance_slot(BOB), Felt::from(500 + forged));
    let violation = w.first_violation().expect("the top byte's constraint fails");
    assert_eq!((violation.0, violation.1), ("signed_list_item", 0));
    let r = random_relations();
    let slots = zkthread_token::bound_slots(&pi, &sb.owners).expect("bound slots");
    let state_sum = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
    assert_eq!(state_sum, zkthread_token::statement::boundary_sum(&slots, &r.state), "balances match the forged lists");
    match prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST) {
        Ok(proof) => assert_refused_by_the_air("aliased amount", verify_list::<Blake>(&pi, &proof, &TEST)),
        Err(e) => assert!(e.to_string().contains("onstraint"), "unexpected prover error {e}"),
    }
}

/// The head signs exactly `zkthread_sig::TransferListMessage`'s blocks: a list signed by the
/// client verifies natively, and its trace is the one the honest head row proves with.
#[test]
fn the_head_signs_the_clients_list_message() {
    let (_, _, row) = honest_list();
    let msg = TransferListMessage {
        domain: row.domain,
        from: row.from.low,
        transfers: row.listed(),
        nonce: row.nonce,
        next_key: row.next_key,
    };
    let trace = verification_trace(&row.key, &msg, &row.signature).expect("trace");
    trace.check().expect("the client's list message verifies under the row's signature");
    assert_eq!(trace.digest, row.trace.digest);
}

/// Proving lists: `senders` accounts each paying `per_sender` fresh receivers in one signed
/// list, at `SIGNED_PARAMS` on the Poseidon252 channel (the on-chain one), one proof per row.
/// Prints a table (wall and CPU; on a 2-core machine CPU is the number to compare when other
/// work shares it). Single signed transfers for comparison: `timing_signed_prove` and
/// `docs/signed-transfers.md` ("Cost").
/// `cargo test -p zkthread-token --test signed_lists -- --ignored --nocapture timing`
/// (`ZKTHREAD_LIST_TIMING=senders x per_sender,...` picks the rows,
/// `ZKTHREAD_LIST_PARAMS=log_blowup,queries,pow_bits` other parameters of at least 96 bits;
/// `ZKTHREAD_LIST_PROFILE=1` prints every prover span's time as it closes).
#[test]
#[ignore = "timing: run with --ignored --nocapture"]
fn timing_list_prove() {
    use std::time::Instant;
    use zkthread_prover::Poseidon252MerkleChannel as MC;
    let params = match std::env::var("ZKTHREAD_LIST_PARAMS") {
        Ok(p) => {
            let v: Vec<u32> = p.split(',').map(|x| x.trim().parse().expect("a number")).collect();
            zkthread_prover::params::StarkParams {
                log_blowup: v[0],
                n_queries: v[1],
                pow_bits: v[2],
                ..zkthread_token::SIGNED_PARAMS
            }
        }
        Err(_) => zkthread_token::SIGNED_PARAMS,
    };
    assert!(params.security_bits() >= 96, "parameters below 96 bits");
    if std::env::var("ZKTHREAD_LIST_PROFILE").is_ok_and(|v| v == "1") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .try_init();
    }
    eprintln!("params: 2^{} x {} + {}", params.log_blowup, params.n_queries, params.pow_bits);
    let rows: Vec<(u64, u64)> = std::env::var("ZKTHREAD_LIST_TIMING")
        .unwrap_or_else(|_| "1x256,4x64,16x16,64x4,1x1024,1x4096".into())
        .split(',')
        .map(|r| {
            let (s, n) = r.split_once('x').expect("senders x per_sender");
            (s.trim().parse().expect("senders"), n.trim().parse().expect("per_sender"))
        })
        .collect();
    eprintln!("| transfers | senders x per sender | sign (client) | batch | prove wall | prove CPU | transfers/min (wall) | verify | proof felts | log rows (Poseidon2) |");
    eprintln!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (senders, per) in rows {
        let sender = |s: u64| 0x5e00_0000 + s;
        let receiver = |s: u64, j: u64| 0x7e00_0000 + s * 100_000 + j;
        let mut state = genesis();
        for s in 0..senders {
            state.insert(balance_slot(sender(s)), Felt::from(1u128 << 100));
            state.insert(key_slot(sender(s)), pack_key_slot(&key(sender(s), 0), 1).unwrap());
        }
        let t = Instant::now();
        let txs: Vec<SignedTransferListTx> = (0..senders)
            .map(|s| {
                let to: Vec<(u64, u128)> = (0..per).map(|j| (receiver(s, j), 1 + j as u128)).collect();
                list(sender(s), &to, 0, 1)
            })
            .collect();
        let sign = t.elapsed();
        let t = Instant::now();
        let batch = batch_on(&state, &txs).expect("batch");
        let batch_time = t.elapsed();
        assert!(batch.rejected.is_empty() && batch.deferred.is_empty());
        let sb = batch.sub_block;
        let pi = sb.statement(&statement());
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let proof = prove_list::<MC>(&pi, &sb.owners, &sb.entries, &params).expect("prove");
        let (prove, prove_cpu) = (t.elapsed(), cpu_seconds() - cpu);
        let t = Instant::now();
        verify_list::<MC>(&pi, &proof, &params).expect("verify");
        let verify = t.elapsed();
        let felts = list_proof_to_felts(&proof).len();
        let n = sb.transfer_count();
        eprintln!(
            "| {n} | {senders} x {per} | {sign:.2?} | {batch_time:.2?} | {prove:.2?} | {prove_cpu:.1} s | {:.0} | {verify:.2?} | {felts} | {} |",
            n as f64 * 60.0 / prove.as_secs_f64(),
            proof.log_sizes[zkthread_token::list_prover::LIST_SIZED_COMPONENTS - 1]
        );
    }
}

/// A list's signature is good for one application: a prover that puts the same signed list
/// in twice (two heads, two transaction-list entries, the balances moved twice) cannot make
/// the second head's key step balance (the list consumed the key tuple already).
#[test]
fn a_list_applied_twice_does_not_verify() {
    let (pi, sb, row) = honest_list();
    let mut again = row.clone();
    let (mut alice, mut bob, mut carol) = (650u128, 650u128, 200u128);
    for item in &mut again.items {
        let to = if item.to == account_id_wide(Felt::from(BOB)) { &mut bob } else { &mut carol };
        (item.from_old, item.to_old) = (alice, *to);
        alice -= item.amount;
        *to += item.amount;
    }
    let entries = [row.clone(), again];
    let mut twice = pi.clone();
    set(&mut twice.outputs, balance_slot(ALICE), Felt::from(alice));
    set(&mut twice.outputs, balance_slot(BOB), Felt::from(bob));
    set(&mut twice.outputs, balance_slot(CAROL), Felt::from(carol));
    twice.transactions = zkthread_sig::TxListCommitment::of(entries.iter().map(SignedListRow::digest));
    let w = SignedListWitness::of(&entries);
    assert_eq!(w.first_violation(), None);
    let proof = prove_list_witness::<Blake>(&twice, &sb.owners, &w, &TEST).expect("a (bad) proof");
    assert_refused_by_the_air("replayed list", verify_list::<Blake>(&twice, &proof, &TEST));
}

/// A signature of one kind does not authorize a row of the other, even when both say "Alice
/// pays Bob 100" (the payloads differ in the mark element, so the digest, its digits and the
/// chain walks differ). Both directions matter although the list program has no transfer row:
/// the signing domain names the thread, not its program, and a thread's admin may move it
/// between the token's two programs (`upgrade_thread`) while a signed message is pending, so
/// a list signature could be offered to the signed program's `TransferRole` and a transfer
/// signature to a list head. Rows built with the other kind's real signature, the lists
/// matching their effect, do not verify.
#[test]
fn a_signature_of_one_kind_does_not_authorize_the_other() {
    use zkthread_sig::wots::TransferMessage;
    use zkthread_token::SignedRow;
    let listed = list(ALICE, &[(BOB, 100)], 0, 1);
    let transfer = zkthread_prover::model::Transfer {
        token: Felt::from(TOKEN),
        from: Felt::from(ALICE),
        to: Felt::from(BOB),
        amount: 100,
    };
    let single_tx = SignedTransferTx::sign(transfer, 1, &seed(ALICE), 0, &statement()).expect("sign");
    // The honest effect of either message: Alice 900, Bob 600, Alice's key slot rotated.
    let batch = batch_on(&genesis(), &[listed.clone()]).expect("batch");
    let sb = batch.sub_block;
    let list_msg = listed.message(&statement());
    let single_msg: TransferMessage = single_tx.message(&statement());
    assert_eq!((list_msg.domain, list_msg.from), (single_msg.domain, single_msg.from));
    assert_eq!(single_tx.key, listed.key, "one key, two kinds of message");

    // A list head under the transfer's signature (the list program).
    let trace = verification_trace(&single_tx.key, &list_msg, &single_tx.signature).expect("a trace");
    assert!(trace.check().is_err(), "natively it does not verify either");
    let row = SignedListRow { signature: single_tx.signature.clone(), trace, ..sb.entries[0].clone() };
    let mut pi = sb.statement(&statement());
    pi.transactions = zkthread_sig::TxListCommitment::of([row.digest()]);
    assert_no_valid_proof("list head, transfer signature", &pi, &sb.owners, &[row]);

    // A transfer row under the list's signature (the signed program, `prove_signed`).
    let trace = verification_trace(&listed.key, &single_msg, &listed.signature).expect("a trace");
    assert!(trace.check().is_err(), "natively it does not verify either");
    let row = SignedRow {
        domain: single_msg.domain,
        from: account_id_wide(Felt::from(ALICE)),
        to: account_id_wide(Felt::from(BOB)),
        from_old: 1_000,
        to_old: 500,
        amount: 100,
        nonce: 1,
        key: listed.key,
        next_key: listed.next_key,
        signature: listed.signature.clone(),
        trace,
    };
    let mut pi = sb.statement(&statement());
    pi.transactions = zkthread_sig::TxListCommitment::of([&row.trace.digest]);
    use stwo::prover::ProvingError;
    use zkthread_prover::program::ProveError;
    match zkthread_token::prove_signed::<Blake>(&pi, &sb.owners, &[row], &TEST) {
        Ok(proof) => assert_refused_by_the_air(
            "transfer row, list signature",
            zkthread_token::verify_signed::<Blake>(&pi, &proof, &TEST),
        ),
        Err(zkthread_token::SignedProveError::Program(ProveError::Stwo(ProvingError::ConstraintsNotSatisfied))) => {}
        Err(e) => panic!("transfer row, list signature: unexpected prover error {e}"),
    }
}

/// An item row is even or odd, never both (`EVEN * ODD = 0`): with both set its multiplicity
/// `EVEN + ODD` would be 2, and the one signed transfer would move its balances twice. The row
/// constraint names it (the assertion on `first_violation` fails without it); it is defence in
/// depth, as the row would also take two `ListCap` entries at one index, one of each phase
/// (the path allows one), and double its balance moves and look-ups. No proof of it verifies.
#[test]
fn an_item_row_both_even_and_odd_does_not_prove() {
    use stwo::prover::ProvingError;
    use zkthread_prover::program::ProveError;
    let (pi, sb, row) = honest_list();
    let mut w = SignedListWitness::of(std::slice::from_ref(&row));
    assert_eq!(w.first_violation(), None, "control: the honest rows");
    assert_eq!((w.items[0][list_item_cols::EVEN], w.items[0][list_item_cols::ODD]), (1, 0));
    w.items[0][list_item_cols::ODD] = 1;
    // Constraints 0 and 1 are the flags' booleans, 2 is `EVEN * ODD`.
    assert_eq!(w.first_violation(), Some(("signed_list_item", 0, 2)));
    match prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST) {
        Ok(proof) => assert_refused_by_the_air("even and odd", verify_list::<Blake>(&pi, &proof, &TEST)),
        Err(zkthread_token::SignedProveError::Program(ProveError::Stwo(ProvingError::ConstraintsNotSatisfied))) => {}
        Err(e) => panic!("even and odd: unexpected prover error {e}"),
    }
}

/// A written limb of `p - 100` between two lists of one sub-block: Alice (1,000) lists 1,100 to
/// Bob, her item writing the limb `1,000 - 1,100 = p - 100` (no borrow: the limb equation holds
/// mod p), and Bob's list of 200 to her brings her back to a canonical 100. Both lists are
/// really signed (on a state where Alice holds 1,100), every row constraint and the `State`
/// relation hold against the statement (Alice 1,000 -> 100); only the 16-bit check of the limb
/// her item writes (two 8-bit look-ups, the high one `(p - 100 - lo) / 2^8` outside the table)
/// refuses it, and the test fails with that look-up disabled. The statement itself is not an
/// overdraft: balance moves carry no order, and the same lists with Bob's credit applied first
/// (Alice 1,000 -> 1,200 -> 100) prove it (the control). The list item's balance block is the
/// signed transfer's (`an_out_of_range_limb_does_not_verify` there).
#[test]
fn an_out_of_range_limb_between_two_lists_does_not_verify() {
    use std::ops::Range;
    use zkthread_token::list::list_item_cols::BALANCES;
    use zkthread_token::range::low_byte;
    use zkthread_token::transfer::balance_block::{BORROW, CARRY, FROM_NEW, FROM_OLD, LIMB_LO, TO_NEW, TO_OLD};
    let mut rich = genesis();
    rich.insert(balance_slot(ALICE), Felt::from(1_100u64));
    let batch = batch_on(&rich, &[list(ALICE, &[(BOB, 1_100)], 0, 1), list(BOB, &[(ALICE, 200)], 0, 1)]).expect("batch");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let sb = batch.sub_block;
    let honest_pi = sb.statement(&statement());
    let mut w = SignedListWitness::of(&sb.entries);
    // Control: on the rich state the same rows prove and verify.
    let proof = prove_list_witness::<Blake>(&honest_pi, &sb.owners, &w, &TEST).expect("control proves");
    verify_list::<Blake>(&honest_pi, &proof, &TEST).expect("the control verifies");

    // Alice really holds 1,000 and ends with 100.
    let mut pi = honest_pi.clone();
    set(&mut pi.inputs, balance_slot(ALICE), Felt::from(1_000u64));
    set(&mut pi.outputs, balance_slot(ALICE), Felt::from(100u64));
    let minus_100 = (1u32 << 31) - 1 - 100;
    let (alice_old, alice_mid, alice_new) = ([1_000, 0, 0, 0, 0, 0, 0, 0], [minus_100, 0, 0, 0, 0, 0, 0, 0], [100, 0, 0, 0, 0, 0, 0, 0]);
    let lo = |limbs: &[u32]| -> Vec<u32> { limbs.iter().map(|v| low_byte(*v)).collect() };
    let at = |r: Range<usize>| BALANCES.start + r.start..BALANCES.start + r.end;
    // The low bytes are of `amount`, `from_new`, `to_new`, in that order (8 limbs each).
    let (from_new_lo, to_new_lo) = (at(LIMB_LO.start + 8..LIMB_LO.start + 16), at(LIMB_LO.start + 16..LIMB_LO.end));
    assert_eq!(&w.items[0][at(FROM_OLD)], &[1_100, 0, 0, 0, 0, 0, 0, 0], "item 0 is Alice's debit");
    assert_eq!(&w.items[1][at(TO_OLD)], &[0, 0, 0, 0, 0, 0, 0, 0], "item 1 credits Alice's 0 left");
    let send = &mut w.items[0];
    send[at(FROM_OLD)].copy_from_slice(&alice_old);
    send[at(FROM_NEW)].copy_from_slice(&alice_mid);
    send[at(BORROW)].fill(0);
    send[from_new_lo].copy_from_slice(&lo(&alice_mid));
    let back = &mut w.items[1];
    back[at(TO_OLD)].copy_from_slice(&alice_mid);
    back[at(TO_NEW)].copy_from_slice(&alice_new);
    back[at(CARRY)].fill(0);
    back[to_new_lo].copy_from_slice(&lo(&alice_new));
    assert_eq!(w.first_violation(), None, "the forged rows satisfy every constraint");
    let r = random_relations();
    let slots = zkthread_token::bound_slots(&pi, &sb.owners).expect("bound slots");
    let state = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
    assert_eq!(state, zkthread_token::statement::boundary_sum(&slots, &r.state), "balances match the forged lists");
    // The written limb's high byte is no 8-bit value: its look-up misses the table.
    assert!((minus_100 - low_byte(minus_100)) >> 8 >= 1 << 8);
    let proof = prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("the raw prover proves");
    assert_refused_by_the_air("a limb of p - 100 between two lists", verify_list::<Blake>(&pi, &proof, &TEST));

    // Control: the same statement with Bob's list applied first (Alice 1,000 -> 1,200 -> 100,
    // Bob 500 -> 300 -> 1,400), every limb canonical, verifies.
    use zkthread_token::witness::balance_block_values;
    let mut reordered = SignedListWitness::of(&sb.entries);
    reordered.items[0][BALANCES].copy_from_slice(&balance_block_values(1_200, 300, 1_100));
    reordered.items[1][BALANCES].copy_from_slice(&balance_block_values(500, 1_000, 200));
    assert_eq!(reordered.first_violation(), None);
    let proof = prove_list_witness::<Blake>(&pi, &sb.owners, &reordered, &TEST).expect("the control proves");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("the same statement, Bob's credit first, verifies");
}

/// A list head steps its signer's key nonce by one: it consumes `Key(A, K, nonce)` and
/// produces `Key(A, K_next, nonce + 1)` (the framework's `signed_transaction`). Alice's list
/// at nonce 1, with her key slot written at nonce 1 (stepped by 0) or 3 (by 2):
/// - by 0, the statement's rule refuses it (`NonceNotAdvanced`: the honest prover), and the
///   AIR too (the raw driver's proof fails against the rows' own boundary);
/// - by 2, a forward step the statement accepts, the AIR is the guard: the proof of the honest
///   rows does not verify.
#[test]
fn a_list_heads_key_step_other_than_one_does_not_verify() {
    use zkthread_prover::program::{self, ProofRows};
    use zkthread_token::list_prover::SignedListProgram;
    use zkthread_token::SignedStatementError;
    let (pi, sb, row) = honest_list();
    assert_eq!(value(&pi, key_slot(ALICE)), pack_key_slot(&key(ALICE, 1), 2).unwrap(), "control: one step");
    let mut by_0 = pi.clone();
    set(&mut by_0.outputs, key_slot(ALICE), pack_key_slot(&key(ALICE, 1), 1).unwrap());
    match prove_list::<Blake>(&by_0, &sb.owners, std::slice::from_ref(&row), &TEST) {
        Err(zkthread_token::SignedProveError::Statement(SignedStatementError::NonceNotAdvanced { before: 1, after: 1, .. })) => {}
        other => panic!("stepped by 0: the prover did not refuse the statement: {:?}", other.err()),
    }
    let w = SignedListWitness::of(std::slice::from_ref(&row));
    let rows = ProofRows { program: vec![&w.heads, &w.items], auth: &w.auth };
    let ids: Vec<zkthread_sig::AccountId> = sb.owners.iter().map(|o| account_id_wide(*o)).collect();
    // Control: the same raw path and boundary for the honest statement verify.
    let honest = program::prove::<SignedListProgram, Blake>(&pi.to_felts(), &rows, &TEST).expect("raw driver");
    verify_raw::<SignedListProgram>(&pi, &honest, &rows_own_boundary(&pi, &ids)).expect("control: one step verifies");
    let parts = program::prove::<SignedListProgram, Blake>(&by_0.to_felts(), &rows, &TEST).expect("raw driver");
    assert!(
        verify_raw::<SignedListProgram>(&by_0, &parts, &rows_own_boundary(&by_0, &ids)).is_err(),
        "stepped by 0: the AIR accepted a key slot the head did not step"
    );

    let mut by_2 = pi.clone();
    set(&mut by_2.outputs, key_slot(ALICE), pack_key_slot(&key(ALICE, 1), 3).unwrap());
    let proof = prove_list::<Blake>(&by_2, &sb.owners, std::slice::from_ref(&row), &TEST).expect("the statement accepts a forward step");
    assert_refused_by_the_air("stepped by 2", verify_list::<Blake>(&by_2, &proof, &TEST));
}

/// The transaction list a list proof binds is the lists' digests in sub-block order, each at
/// its head's position: the proof of Alice's and Bob's lists verifies under no other list
/// (reordered, one dropped, one added, one replaced, empty), and a prover that proves the
/// honest lists but commits to another list (hand-built transaction-list rows, the statement
/// carrying exactly the list they absorb) gets no proof that verifies: each `Tx(i, d)` it
/// consumes must be produced by the digest of the list whose head sits at position `i`.
#[test]
fn a_list_proof_binds_the_ordered_transaction_list() {
    use zkthread_sig::TxListCommitment;
    let (pi, sb) = honest();
    let d: Vec<zkthread_sig::TxDigest> = sb.entries.iter().map(|r| *r.digest()).collect();
    let from_clients: Vec<_> =
        [list(ALICE, &[(BOB, 100), (CAROL, 200), (BOB, 50)], 0, 1), list(BOB, &[(CAROL, 50)], 0, 1)]
            .iter()
            .map(|t| t.digest(&statement()).expect("digest"))
            .collect();
    assert_eq!(d, from_clients, "a client recomputes the list from the signed messages alone");
    assert_eq!(pi.transactions, TxListCommitment::of(&d));
    let proof = prove_list::<Blake>(&pi, &sb.owners, &sb.entries, &TEST).expect("prove");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("verify");

    let fake = list(MALLORY, &[(ALICE, 1)], 0, 1).digest(&statement()).expect("digest");
    let lists = [
        ("reordered", vec![d[1], d[0]]),
        ("one dropped", vec![d[0]]),
        ("one added", vec![d[0], d[1], fake]),
        ("one replaced", vec![d[0], fake]),
        ("empty", vec![]),
    ];
    for (what, list) in &lists {
        let other = SignedPublicInput { transactions: TxListCommitment::of(list), ..pi.clone() };
        assert!(verify_list::<Blake>(&other, &proof, &TEST).is_err(), "{what}: verified");
    }
    for (what, list) in &lists[..4] {
        let mut w = SignedListWitness::new();
        sb.entries.iter().enumerate().for_each(|(i, r)| w.push_signed_list_at(r, i as u32));
        list.iter().for_each(|digest| w.auth.push_tx_list(digest));
        assert_eq!(w.first_violation(), None, "{what}: rows satisfy their own constraints");
        let forged = SignedPublicInput { transactions: w.auth.transactions, ..pi.clone() };
        match prove_list_witness::<Blake>(&forged, &sb.owners, &w, &TEST) {
            Ok(proof) => assert_refused_by_the_air(what, verify_list::<Blake>(&forged, &proof, &TEST)),
            Err(e) => panic!("{what}: the prover should produce a (bad) proof: {e}"),
        }
    }
    // Control: the same raw path with the honest list verifies.
    let mut w = SignedListWitness::new();
    sb.entries.iter().enumerate().for_each(|(i, r)| w.push_signed_list_at(r, i as u32));
    d.iter().for_each(|digest| w.auth.push_tx_list(digest));
    assert_eq!(w.auth.transactions, pi.transactions);
    let proof = prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("control proves");
    verify_list::<Blake>(&pi, &proof, &TEST).expect("the control verifies");
}

/// A list payload built by hand, `[cap, count, LIST_MARK, 0; 6]` with any capacity and count
/// (no wallet signs one whose capacity is not its transfers'): test-only.
struct HandBuiltListPayload {
    domain: zkthread_sig::wots::Hash4,
    from: zkthread_sig::wots::Hash4,
    nonce: u32,
    next_key: zkthread_sig::wots::KeyCommitment,
    cap: [zkthread_sig::M31; 8],
    count: u32,
}

impl zkthread_sig::wots::Message for HandBuiltListPayload {
    fn domain(&self) -> zkthread_sig::wots::Hash4 {
        self.domain
    }
    fn signer(&self) -> zkthread_sig::wots::Hash4 {
        self.from
    }
    fn nonce(&self) -> u32 {
        self.nonce
    }
    fn next_key(&self) -> zkthread_sig::wots::KeyCommitment {
        self.next_key
    }
    fn set_next_key(&mut self, key: zkthread_sig::wots::KeyCommitment) {
        self.next_key = key;
    }
    fn payload(&self) -> Result<[zkthread_sig::M31; zkthread_sig::PAYLOAD_LEN], zkthread_sig::wots::MessageError> {
        use zkthread_sig::transfer_list::{LIST_COUNT_AT, LIST_MARK, LIST_MARK_AT};
        let mut p = [zkthread_sig::M31::ZERO; zkthread_sig::PAYLOAD_LEN];
        p[..8].copy_from_slice(&self.cap);
        p[LIST_COUNT_AT] = zkthread_sig::M31::reduce(self.count);
        p[LIST_MARK_AT] = LIST_MARK;
        Ok(p)
    }
}

/// A head's count is the length of its items' path: it takes the `ListCap` entry at index
/// `n` with the signed capacity, and the path from the initial capacity at index 0 only
/// rises. Alice really signs the payload of an empty list (`n = 0`) whose capacity is that of
/// `[100 to Bob]`, built by hand: neither a prover paying Bob 100 under it (the items' path
/// ends at index 1, the head takes index 0) nor the head alone (no items: at index 0 the
/// capacity must be the initial one) gets a proof that verifies. The control, the head alone
/// under a signed empty list with the initial capacity, verifies: an empty list is only a key
/// step (every signer and the batcher refuse to make one).
#[test]
fn an_empty_list_with_a_non_initial_commitment_does_not_verify() {
    use zkthread_sig::transfer_list::list_initial_cap;
    let batch = batch_on(&genesis(), &[list(ALICE, &[(BOB, 100)], 0, 1)]).expect("batch");
    let (sb, row) = (batch.sub_block.clone(), batch.sub_block.entries[0].clone());
    let pi = sb.statement(&statement());
    let to_bob = TransferListCommitment::of(&row.listed()).expect("a listable row").cap;
    let initial = list_initial_cap();
    assert_ne!(to_bob, initial);
    // Alice's real signature over `[cap, 0, LIST_MARK, 0; 6]`.
    let signed_empty = |cap: [zkthread_sig::M31; 8]| {
        let msg = HandBuiltListPayload { domain: row.domain, from: row.from.low, nonce: row.nonce, next_key: row.next_key, cap, count: 0 };
        let signature = zkthread_sig::sign(&seed(ALICE), 0, &msg).expect("Alice signs it");
        let trace = zkthread_sig::verify_trace(&row.key, &msg, &signature).expect("her signature is real");
        SignedListRow { signature, trace, ..row.clone() }
    };
    // The head of `head` (its count 0 and capacity `cap`, as signed) over `items`.
    let prove_empty = |head: &SignedListRow, cap: [zkthread_sig::M31; 8], items: Vec<SignedListItem>, pi: &SignedPublicInput| {
        let mut w = SignedListWitness::new();
        w.push_signed_list_at(&SignedListRow { items, ..head.clone() }, 0);
        w.auth.push_tx_list(head.digest());
        w.heads[0][list_head_cols::COMMITMENT].copy_from_slice(&cap.map(|v| v.to_u32()));
        w.heads[0][list_head_cols::COUNT] = 0;
        w.heads[0][list_head_cols::COUNT_ODD] = 0;
        assert_eq!(w.first_violation(), None);
        let pi = SignedPublicInput { transactions: zkthread_sig::TxListCommitment::of([head.digest()]), ..pi.clone() };
        let r = random_relations();
        let slots = zkthread_token::bound_slots(&pi, &sb.owners).expect("bound slots");
        let state = relation_sums::<ListHeadRole>(&w.heads, &r)[0] + relation_sums::<ListItemRole>(&w.items, &r)[0];
        assert_eq!(state, zkthread_token::statement::boundary_sum(&slots, &r.state), "balances match the lists");
        let proof = prove_list_witness::<Blake>(&pi, &sb.owners, &w, &TEST).expect("a proof");
        verify_list::<Blake>(&pi, &proof, &TEST)
    };
    let empty_to_bob = signed_empty(to_bob);
    // Bob paid 100 under it.
    assert_refused_by_the_air("an empty list's head over an item", prove_empty(&empty_to_bob, to_bob, row.items.clone(), &pi));
    // The head alone: only Alice's key slot moves.
    let mut key_step = pi.clone();
    for account in [ALICE, BOB] {
        let before = pi.inputs.iter().find(|e| e.slot == balance_slot(account)).expect("read").value;
        set(&mut key_step.outputs, balance_slot(account), before);
    }
    assert_refused_by_the_air("an empty list's head alone", prove_empty(&empty_to_bob, to_bob, vec![], &key_step));
    // Control: an empty list signed with the initial capacity is a key step.
    prove_empty(&signed_empty(initial), initial, vec![], &key_step)
        .expect("control: an empty list with the initial capacity verifies");
}
