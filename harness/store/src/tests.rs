//! The sub-block state machine, across reopening the database.

use super::*;
use std::collections::BTreeSet;

fn felt(n: u64) -> Felt {
    Felt::from(n)
}

fn thread(id: u64) -> ThreadKey {
    ThreadKey::new(felt(0xabc), id)
}

fn transfer(from: u64, to: u64, amount: u128) -> NewTransfer {
    NewTransfer {
        token: felt(7),
        from: felt(from),
        to: felt(to),
        amount,
        auth: Some(TransferAuth {
            nonce: from as u32,
            key: [1, 2, 3, 4],
            next_key: [5, 6, 7, 8],
            signature: vec![9; 263],
        }),
    }
}

fn slot(key: u64, value: u64) -> SlotEntry {
    SlotEntry {
        contract: felt(7),
        key: felt(key),
        value: felt(value),
    }
}

fn sub_block(sequence: u64, transfers: Vec<Transfer>) -> NewSubBlock {
    NewSubBlock {
        sequence,
        chain_id: felt(0x534e),
        os_version: felt(1),
        program_hash: felt(2),
        contract_set_commitment: felt(3),
        transactions: TxListRecord { count: transfers.len() as u32, commitment: felt(0x7c) },
        messages: transfers,
        inputs: vec![slot(1, 10), slot(2, 0)],
        outputs: vec![slot(1, 5), slot(2, 5)],
        parent_attempt: None,
        closed_block_at_build: Some(41),
    }
}

/// A sub-block built ahead on attempt `parent_attempt` of `sequence - 1`.
fn ahead(sequence: u64, parent_attempt: u32, transfers: Vec<Transfer>) -> NewSubBlock {
    NewSubBlock {
        parent_attempt: Some(parent_attempt),
        ..sub_block(sequence, transfers)
    }
}

fn ids(transfers: &[Transfer]) -> Vec<u64> {
    transfers.iter().map(|t| t.id).collect()
}

#[test]
fn pending_transfers_keep_submission_order_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for amount in 1..=3 {
            store.submit(thread(1), transfer(1, 2, amount)).unwrap();
        }
        store.submit(thread(2), transfer(3, 4, 9)).unwrap();
    }
    assert!(Store::exists(dir.path()));
    let store = Store::open(dir.path()).unwrap();
    let pending = store.pending(thread(1)).unwrap();
    assert_eq!(ids(&pending), [1, 2, 3]);
    assert_eq!(
        pending
            .iter()
            .map(|t| t.body.amount)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Threads (and registries) are separate scopes; ids stay global and increasing.
    assert_eq!(ids(&store.pending(thread(2)).unwrap()), [4]);
    let other_registry = ThreadKey::new(felt(0xdef), 1);
    assert!(store.pending(other_registry).unwrap().is_empty());
    assert_eq!(store.submit(thread(1), transfer(1, 2, 4)).unwrap().id, 5);
}

#[test]
fn a_batch_moves_transfers_out_of_pending_and_blocks_a_second_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(1, 2, 500)).unwrap();
    let c = store.submit(thread(1), transfer(2, 1, 1)).unwrap();
    let rejected = vec![Rejected {
        message: b.clone(),
        reason: "overspend".into(),
    }];
    // Another thread's pending message is not counted with this one's.
    store.submit(thread(2), transfer(1, 2, 9)).unwrap();
    let (built, still_pending) = store
        .record_batch_counted(thread(1), sub_block(0, vec![a.clone()]), rejected)
        .unwrap();
    assert_eq!(still_pending, 1, "c is left, counted in the write");
    assert_eq!(built.status, SubBlockStatus::Built);
    assert_eq!((built.sequence(), built.attempt), (0, 0));
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [c.id]);
    assert_eq!(store.rejected(thread(1)).unwrap()[0].message, b);
    assert_eq!(store.in_flight(thread(1)).unwrap(), Some(built));

    let second = store.record_batch(thread(1), sub_block(0, vec![c.clone()]), vec![]);
    assert!(
        matches!(second, Err(StoreError::InFlight { sequence: 0, .. })),
        "{second:?}"
    );
    // The refused batch changed nothing.
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [c.id]);
    assert_eq!(store.sub_blocks(thread(1)).unwrap().len(), 1);
}

#[test]
fn a_transfer_not_pending_cannot_enter_a_sub_block_and_the_batch_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let ghost = Transfer {
        id: 99,
        body: transfer(1, 2, 5),
    };
    let result = store.record_batch(thread(1), sub_block(0, vec![a.clone(), ghost]), vec![]);
    assert!(
        matches!(result, Err(StoreError::NotPending(99))),
        "{result:?}"
    );
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [a.id]);
    assert!(store.sub_blocks(thread(1)).unwrap().is_empty());
    // No message and no output: nothing to settle. (No message with outputs is an order
    // book's round of fills alone.)
    let nothing = NewSubBlock { outputs: vec![], ..sub_block(0, vec![]) };
    assert!(matches!(
        store.record_batch(thread(1), nothing, vec![]),
        Err(StoreError::EmptyBatch)
    ));
}

#[test]
fn settlement_walks_built_proven_sending_settled_and_refuses_skipped_steps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    store
        .record_batch(thread(1), sub_block(0, vec![a]), vec![])
        .unwrap();
    let early = store.record_sending(thread(1), 0, 0, felt(0x99), felt(4));
    assert!(
        matches!(
            early,
            Err(StoreError::WrongStatus {
                expected: "proven",
                ..
            })
        ),
        "{early:?}"
    );
    assert!(store
        .record_settled(thread(1), 0, 0, felt(0x99), 3, 5)
        .is_err());

    let proven = store
        .record_proof(thread(1), 0, 0, vec![felt(1), felt(2)])
        .unwrap();
    assert_eq!(proven.status, SubBlockStatus::Proven);
    assert!(store.record_proof(thread(1), 0, 0, vec![]).is_err());
    store
        .record_sending(thread(1), 0, 0, felt(0x99), felt(4))
        .unwrap();
    drop(store);

    // A process stopped after recording the send finds it on restart.
    let store = Store::open(dir.path()).unwrap();
    let sending = store.in_flight(thread(1)).unwrap().unwrap();
    assert_eq!(
        sending.status,
        SubBlockStatus::Sending {
            tx_hash: felt(0x99),
            nonce: felt(4)
        }
    );
    assert_eq!(sending.proof, Some(vec![felt(1), felt(2)]));
    let settled = store
        .record_settled(thread(1), 0, 0, felt(0x99), 12, 1_000_000_000_000_000_000_000)
        .unwrap();
    assert_eq!(
        settled.status,
        SubBlockStatus::Settled {
            tx_hash: felt(0x99),
            block: 12,
            fee_fri: Some(1_000_000_000_000_000_000_000)
        }
    );
    assert!(store.in_flight(thread(1)).unwrap().is_none());
    // Settled is final: it cannot be abandoned (its transfers are applied on-chain).
    assert!(store
        .record_abandoned(
            thread(1),
            0,
            0,
            SubBlockStatus::Superseded { next_sequence: 1 }
        )
        .is_err());
    assert!(store.pending(thread(1)).unwrap().is_empty());
}

#[test]
fn a_sub_block_its_twin_settled_is_settled_without_a_fee_and_its_transfers_applied() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(1, 3, 6)).unwrap();
    store
        .record_batch(thread(1), sub_block(0, vec![a.clone()]), vec![])
        .unwrap();
    let settled = store
        .record_settled_elsewhere(thread(1), 0, 0, felt(0x77), 8)
        .unwrap();
    assert_eq!(
        settled.status,
        SubBlockStatus::Settled {
            tx_hash: felt(0x77),
            block: 8,
            fee_fri: None
        }
    );
    assert_eq!(settled.proof, None, "proven elsewhere: no proof here");
    assert!(store.in_flight(thread(1)).unwrap().is_none());
    // Applied on-chain: nothing handed back, only the later transfer still pending.
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), ids(&[b.clone()]));
    // A proven one too (its twin sent it), keeping its proof; a settled one is final.
    store
        .record_batch(thread(1), sub_block(1, vec![b]), vec![])
        .unwrap();
    store.record_proof(thread(1), 1, 0, vec![felt(1)]).unwrap();
    let proven = store.record_settled_elsewhere(thread(1), 1, 0, felt(0x78), 9).unwrap();
    assert_eq!((proven.proof, proven.status.name()), (Some(vec![felt(1)]), "settled"));
    let again = store.record_settled_elsewhere(thread(1), 1, 0, felt(0x79), 10);
    assert!(
        matches!(again, Err(StoreError::WrongStatus { expected: "built, proven or sending", .. })),
        "{again:?}"
    );
}

#[test]
fn a_stale_sub_block_hands_its_transfers_back_in_their_original_order_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(2, 3, 1)).unwrap();
    store
        .record_batch(thread(1), sub_block(0, vec![a.clone(), b.clone()]), vec![])
        .unwrap();
    // Submitted while the sub-block was in flight: it must stay behind a and b.
    let c = store.submit(thread(1), transfer(3, 1, 1)).unwrap();
    store.record_proof(thread(1), 0, 0, vec![felt(1)]).unwrap();
    store
        .record_sending(thread(1), 0, 0, felt(0x51), felt(2))
        .unwrap();
    let stale = store
        .record_abandoned(
            thread(1),
            0,
            0,
            SubBlockStatus::Stale {
                tx_hash: Some(felt(0x51)),
                reason: "registry: stale input".into(),
            },
        )
        .unwrap();
    assert_eq!(stale.status.name(), "stale");
    assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(0));
    assert_eq!(store.settled_since_stale_revert(thread(2)).unwrap(), None, "per thread");
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let back = store.pending(thread(1)).unwrap();
    assert_eq!(ids(&back), [a.id, b.id, c.id]);
    // Handed back whole: the signatures travel with the transfers.
    assert_eq!(back[0], a);
    assert_eq!(back[1].body.auth, b.body.auth);
    assert!(store.in_flight(thread(1)).unwrap().is_none());
    // The rebuild of the same sequence is a new attempt; the stale record stays as history.
    let rebuilt = store
        .record_batch(thread(1), sub_block(0, vec![a, b, c]), vec![])
        .unwrap();
    assert_eq!((rebuilt.sequence(), rebuilt.attempt), (0, 1));
    let all = store.sub_blocks(thread(1)).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status.name(), "stale");
    assert!(store.pending(thread(1)).unwrap().is_empty());

    // Settlements count from the stale revert; a stale input found before sending does not
    // start the count again (it cost nothing).
    store.record_proof(thread(1), 0, 1, vec![felt(1)]).unwrap();
    store.record_sending(thread(1), 0, 1, felt(0x52), felt(3)).unwrap();
    store.record_settled(thread(1), 0, 1, felt(0x52), 4, 9).unwrap();
    assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(1));
    let d = store.submit(thread(1), transfer(1, 2, 1)).unwrap();
    store.record_batch(thread(1), sub_block(1, vec![d]), vec![]).unwrap();
    let found_before_sending = SubBlockStatus::Stale { tx_hash: None, reason: "1 input slot(s) changed".into() };
    store.record_abandoned(thread(1), 1, 0, found_before_sending).unwrap();
    assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(1));
}

#[test]
fn an_unmined_send_goes_back_to_proven_and_keeps_every_hash_it_was_sent_under() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    store
        .record_batch(thread(1), sub_block(0, vec![a]), vec![])
        .unwrap();
    store.record_proof(thread(1), 0, 0, vec![felt(1)]).unwrap();
    store
        .record_sending(thread(1), 0, 0, felt(0x1), felt(7))
        .unwrap();
    let back = store.record_not_sent(thread(1), 0, 0).unwrap();
    assert_eq!(back.status, SubBlockStatus::Proven);
    assert!(store.record_not_sent(thread(1), 0, 0).is_err());
    let again = store
        .record_sending(thread(1), 0, 0, felt(0x2), felt(7))
        .unwrap();
    assert_eq!(
        again.sends,
        [
            SendAttempt {
                tx_hash: felt(0x1),
                nonce: felt(7)
            },
            SendAttempt {
                tx_hash: felt(0x2),
                nonce: felt(7)
            }
        ]
    );
    // Nothing is pending while the sub-block is in flight: no transfer can be batched twice.
    assert!(store.pending(thread(1)).unwrap().is_empty());
}

#[test]
fn a_second_process_cannot_open_the_database_while_one_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path()).unwrap();
    let second = Store::open(dir.path());
    assert!(matches!(second, Err(StoreError::Open { .. })), "{second:?}");
}

#[test]
fn amounts_are_stored_as_decimal_strings() {
    let json = serde_json::to_string(&transfer(1, 2, u128::MAX)).unwrap();
    assert!(json.contains(&format!("\"{}\"", u128::MAX)), "{json}");
    let back: NewTransfer = serde_json::from_str(&json).unwrap();
    assert_eq!(back.amount, u128::MAX);
    assert_eq!(back, transfer(1, 2, u128::MAX));
    // A record written before transfers were signed reads back with no authorization.
    let unsigned = r#"{"token":"0x7","from":"0x1","to":"0x2","amount":"5"}"#;
    let back: NewTransfer = serde_json::from_str(unsigned).unwrap();
    assert_eq!(back.auth, None);
}

#[test]
fn rejected_transfers_leave_pending_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(1, 2, 6)).unwrap();
    store
        .record_rejected(
            thread(1),
            vec![Rejected {
                message: a.clone(),
                reason: "overspend".into(),
            }],
        )
        .unwrap();
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [b.id]);
    assert_eq!(store.rejected(thread(1)).unwrap()[0].reason, "overspend");
    // Rejecting it twice is refused.
    let again = store.record_rejected(
        thread(1),
        vec![Rejected {
            message: a,
            reason: "x".into(),
        }],
    );
    assert!(matches!(again, Err(StoreError::NotPending(_))));
}

#[test]
fn a_settled_record_written_before_fees_were_kept_still_reads() {
    let old = r#"{"status":"settled","tx_hash":"0x99","block":3}"#;
    let status: SubBlockStatus = serde_json::from_str(old).unwrap();
    assert_eq!(
        status,
        SubBlockStatus::Settled {
            tx_hash: felt(0x99),
            block: 3,
            fee_fri: None
        }
    );
    let new = SubBlockStatus::Settled {
        tx_hash: felt(0x99),
        block: 3,
        fee_fri: Some(u128::MAX),
    };
    let json = serde_json::to_string(&new).unwrap();
    assert!(json.contains(&format!("\"fee_fri\":\"{}\"", u128::MAX)), "{json}");
    assert_eq!(serde_json::from_str::<SubBlockStatus>(&json).unwrap(), new);
}

#[test]
fn a_transfer_is_placed_once_as_it_moves() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(2, 3, 5)).unwrap();
    assert_eq!(store.place(thread(1), a.id).unwrap(), Some(TransferPlace::Pending));
    store
        .record_batch(thread(1), sub_block(0, vec![a.clone()]), vec![Rejected { message: b.clone(), reason: "no".into() }])
        .unwrap();
    assert!(matches!(store.place(thread(1), a.id).unwrap(), Some(TransferPlace::SubBlock(s)) if s.sequence() == 0));
    assert_eq!(store.place(thread(1), b.id).unwrap(), Some(TransferPlace::Rejected { reason: "no".into() }));
    assert_eq!(store.place(thread(1), 999).unwrap(), None);
    // A stale sub-block hands its transfer back: pending again, not "in sub-block".
    store
        .record_abandoned(thread(1), 0, 0, SubBlockStatus::Stale { tx_hash: None, reason: "moved".into() })
        .unwrap();
    assert_eq!(store.place(thread(1), a.id).unwrap(), Some(TransferPlace::Pending));
    // Another thread's transfer is not this thread's.
    assert_eq!(store.place(thread(2), a.id).unwrap(), None);
}

#[test]
fn pending_counts_count_only_the_threads_pending_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.pending_count(thread(1)).unwrap(), 0);
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    store.submit(thread(1), transfer(2, 3, 5)).unwrap();
    store.submit(thread(2), transfer(2, 3, 5)).unwrap();
    assert_eq!(store.pending_count(thread(1)).unwrap(), 2);
    store.record_batch(thread(1), sub_block(0, vec![a]), vec![]).unwrap();
    assert_eq!(store.pending_count(thread(1)).unwrap(), 1);
    assert_eq!(store.pending_count(thread(2)).unwrap(), 1);
    // `submit_counted` counts in its own write: this thread's pending, the new one included.
    let (c, pending) = store.submit_counted(thread(1), transfer(3, 4, 5)).unwrap();
    assert_eq!(pending, 2);
    assert_eq!(store.pending(thread(1)).unwrap().last().map(|t| t.id), Some(c.id));
    assert_eq!(store.submit_counted(thread(2), transfer(3, 4, 5)).unwrap().1, 2);
}

#[test]
fn a_sub_block_is_built_ahead_only_on_a_proven_one_and_sent_only_after_it_settles() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = |amount| store.submit(thread(1), transfer(1, 2, amount)).unwrap();
    let (a, b, c) = (t(1), t(2), t(3));
    store.record_batch(thread(1), sub_block(4, vec![a]), vec![]).unwrap();
    // Not on a Built one: its proof may never come.
    let early = store.record_batch(thread(1), ahead(5, 0, vec![b.clone()]), vec![]);
    assert!(matches!(early, Err(StoreError::NotAhead { .. })), "{early:?}");
    store.record_proof(thread(1), 4, 0, vec![felt(1)]).unwrap();
    // Not on another sequence or attempt than the in-flight one.
    for wrong in [ahead(6, 0, vec![b.clone()]), ahead(5, 1, vec![b.clone()])] {
        let result = store.record_batch(thread(1), wrong, vec![]);
        assert!(matches!(result, Err(StoreError::NotAhead { .. })), "{result:?}");
    }
    let child = store.record_batch(thread(1), ahead(5, 0, vec![b]), vec![]).unwrap();
    assert_eq!(store.all_in_flight(thread(1)).unwrap().len(), 2);
    assert_eq!(store.in_flight(thread(1)).unwrap().unwrap().sequence(), 4);
    assert_eq!(store.built(thread(1)).unwrap(), Some(child.clone()));
    // Not a third, and not an ordinary batch beside them.
    for third in [ahead(6, 0, vec![c.clone()]), sub_block(6, vec![c.clone()])] {
        assert!(store.record_batch(thread(1), third, vec![]).is_err());
    }
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [c.id]);

    store.record_proof(thread(1), 5, 0, vec![felt(2)]).unwrap();
    // The child waits for its parent: not while it is proven, nor while it is being sent.
    for _ in 0..2 {
        let send = store.record_sending(thread(1), 5, 0, felt(0x55), felt(1));
        assert!(matches!(send, Err(StoreError::ParentNotSettled { parent: 4, .. })), "{send:?}");
        if store.in_flight(thread(1)).unwrap().unwrap().status == SubBlockStatus::Proven {
            store.record_sending(thread(1), 4, 0, felt(0x44), felt(0)).unwrap();
        }
    }
    store.record_settled(thread(1), 4, 0, felt(0x44), 9, 1).unwrap();
    assert_eq!(store.in_flight(thread(1)).unwrap().unwrap().sequence(), 5);
    store.record_sending(thread(1), 5, 0, felt(0x55), felt(1)).unwrap();
    store.record_settled(thread(1), 5, 0, felt(0x55), 10, 1).unwrap();
    assert!(store.all_in_flight(thread(1)).unwrap().is_empty());
}

#[test]
fn a_sub_block_built_ahead_ends_with_its_parent_and_both_hand_their_transfers_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = |amount| store.submit(thread(1), transfer(1, 2, amount)).unwrap();
    let (a, b, c, d) = (t(1), t(2), t(3), t(4));
    store.record_batch(thread(1), sub_block(0, vec![a.clone(), b.clone()]), vec![]).unwrap();
    store.record_proof(thread(1), 0, 0, vec![felt(1)]).unwrap();
    store.record_batch(thread(1), ahead(1, 0, vec![c.clone()]), vec![]).unwrap();
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [d.id]);

    let ended = store
        .record_abandoned(
            thread(1),
            0,
            0,
            SubBlockStatus::Stale {
                tx_hash: None,
                reason: "an input changed".into(),
            },
        )
        .unwrap();
    assert_eq!(ended.status.name(), "stale");
    let blocks = store.sub_blocks(thread(1)).unwrap();
    let child = blocks.iter().find(|s| s.sequence() == 1).unwrap();
    match &child.status {
        SubBlockStatus::Stale { tx_hash: None, reason } => {
            assert!(reason.contains("built on sub-block 0 (attempt 0), which ended stale"), "{reason}")
        }
        other => panic!("child not ended: {other:?}"),
    }
    assert!(store.all_in_flight(thread(1)).unwrap().is_empty());
    // Every transfer back, in submission order, each exactly once.
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [a.id, b.id, c.id, d.id]);
    assert_index_matches_a_scan(&store, thread(1));
    // Rebuilt: sequence 0 is attempt 1, and a child may be built ahead on that attempt only.
    // `next_attempt` says beforehand what each record gets.
    assert_eq!((store.next_attempt(thread(1), 0).unwrap(), store.next_attempt(thread(1), 2).unwrap()), (1, 0));
    let rebuilt = store.record_batch(thread(1), sub_block(0, vec![a]), vec![]).unwrap();
    assert_eq!(rebuilt.attempt, 1);
    assert_eq!(store.next_attempt(thread(1), 0).unwrap(), 2);
    store.record_proof(thread(1), 0, 1, vec![felt(1)]).unwrap();
    assert!(store.record_batch(thread(1), ahead(1, 0, vec![b.clone()]), vec![]).is_err());
    assert_eq!(store.next_attempt(thread(1), 1).unwrap(), 1);
    let child = store.record_batch(thread(1), ahead(1, 1, vec![b]), vec![]).unwrap();
    assert_eq!((child.sequence(), child.attempt), (1, 1));
    // A child ending alone leaves its parent in flight.
    store
        .record_abandoned(
            thread(1),
            1,
            1,
            SubBlockStatus::Stale {
                tx_hash: None,
                reason: "its own input changed".into(),
            },
        )
        .unwrap();
    let in_flight = store.all_in_flight(thread(1)).unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!((in_flight[0].sequence(), in_flight[0].attempt), (0, 1));
}

/// Where transfer `id` is, found by scanning every record: the newest sub-block holding it that
/// did not hand it back, else pending, else rejected.
fn scan_place(snapshot: &Snapshot, id: u64) -> Option<TransferPlace> {
    let holds = |s: &SubBlock| s.body.messages.iter().any(|t| t.id == id);
    if let Some(sub_block) = snapshot
        .sub_blocks
        .iter()
        .rev()
        .find(|s| !s.status.handed_back() && holds(s))
    {
        return Some(TransferPlace::SubBlock(Box::new(sub_block.clone())));
    }
    if snapshot.pending.iter().any(|t| t.id == id) {
        return Some(TransferPlace::Pending);
    }
    snapshot
        .rejected
        .iter()
        .find(|r| r.message.id == id)
        .map(|r| TransferPlace::Rejected {
            reason: r.reason.clone(),
        })
}

/// The indexes agree with a full scan: the in-flight sub-blocks, every transfer's place, the
/// counts and the newest sub-blocks.
fn assert_index_matches_a_scan(store: &Store, thread: ThreadKey) {
    let snapshot = store.snapshot(thread).unwrap();
    let scanned: Vec<SubBlock> = snapshot
        .sub_blocks
        .iter()
        .filter(|s| s.status.in_flight())
        .cloned()
        .collect();
    assert_eq!(store.all_in_flight(thread).unwrap(), scanned);
    let ids = snapshot
        .pending
        .iter()
        .map(|t| t.id)
        .chain(snapshot.rejected.iter().map(|r| r.message.id))
        .chain(snapshot.sub_blocks.iter().flat_map(|s| s.body.messages.iter().map(|t| t.id)));
    for id in ids.chain([9_999]) {
        assert_eq!(store.place(thread, id).unwrap(), scan_place(&snapshot, id), "transfer {id}");
    }
    let overview = store.overview(thread, 2).unwrap();
    assert_eq!(overview.pending, snapshot.pending.len());
    assert_eq!(overview.rejected, snapshot.rejected.len());
    let settled = snapshot
        .sub_blocks
        .iter()
        .filter(|s| matches!(s.status, SubBlockStatus::Settled { .. }))
        .count();
    assert_eq!(overview.settled_sub_blocks, settled);
    let newest: Vec<SubBlock> = snapshot.sub_blocks.iter().rev().take(2).cloned().collect();
    assert_eq!(overview.recent, newest);
    // Each sender's queue: its pending and in-flight signed transfers, by id.
    let mut queued: Vec<&Transfer> = snapshot
        .pending
        .iter()
        .chain(scanned.iter().flat_map(|s| s.body.messages.iter()))
        .collect();
    queued.sort_by_key(|t| t.id);
    let senders: BTreeSet<(Felt, Felt)> = snapshot
        .pending
        .iter()
        .chain(snapshot.rejected.iter().map(|r| &r.message))
        .chain(snapshot.sub_blocks.iter().flat_map(|s| s.body.messages.iter()))
        .map(|t| (t.body.token, t.body.from))
        .collect();
    for (token, from) in senders {
        let expected: Vec<QueuedAuth> = queued
            .iter()
            .filter(|t| (t.body.token, t.body.from) == (token, from))
            .map(|t| {
                let auth = t.body.auth.as_ref().unwrap();
                QueuedAuth {
                    id: t.id,
                    nonce: auth.nonce,
                    key: auth.key,
                    next_key: auth.next_key,
                    transfers: 1,
                }
            })
            .collect();
        assert_eq!(store.queued(thread, token, from).unwrap(), expected, "sender {from:#x}");
    }
}

#[test]
fn the_indexes_follow_every_transition_and_are_rebuilt_for_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let t = |amount| store.submit(thread(1), transfer(1, 2, amount)).unwrap();
        let (a, b, c) = (t(1), t(2), t(3));
        store.record_batch(thread(1), sub_block(0, vec![a]), vec![]).unwrap();
        assert_index_matches_a_scan(&store, thread(1));
        store.record_proof(thread(1), 0, 0, vec![felt(1)]).unwrap();
        store.record_batch(thread(1), ahead(1, 0, vec![b]), vec![]).unwrap();
        assert_index_matches_a_scan(&store, thread(1));
        store.record_sending(thread(1), 0, 0, felt(0x44), felt(0)).unwrap();
        store.record_not_sent(thread(1), 0, 0).unwrap();
        assert_index_matches_a_scan(&store, thread(1));
        // The parent ends: the child leaves the index with it.
        store
            .record_abandoned(thread(1), 0, 0, SubBlockStatus::Superseded { next_sequence: 1 })
            .unwrap();
        assert!(store.all_in_flight(thread(1)).unwrap().is_empty());
        assert_index_matches_a_scan(&store, thread(1));
        store.record_batch(thread(1), sub_block(1, vec![c]), vec![]).unwrap();
        assert_index_matches_a_scan(&store, thread(1));
        store.record_proof(thread(1), 1, 1, vec![felt(2)]).unwrap();
        store.record_sending(thread(1), 1, 1, felt(0x45), felt(1)).unwrap();
        store.record_settled(thread(1), 1, 1, felt(0x45), 3, 7).unwrap();
        let d = store.submit(thread(1), transfer(1, 2, 4)).unwrap();
        store.record_rejected(thread(1), vec![Rejected { message: d, reason: "overspend".into() }]).unwrap();
        store.submit(thread(1), transfer(1, 2, 5)).unwrap();
        store.record_batch(thread(1), sub_block(2, vec![store.pending(thread(1)).unwrap()[0].clone()]), vec![]).unwrap();
        assert_index_matches_a_scan(&store, thread(1));
        // As a database written before the indexes existed: no entries, no counters, no flag.
        let txn = store.db.begin_write().unwrap();
        {
            txn.open_table(IN_FLIGHT).unwrap().retain(|_, _| false).unwrap();
            txn.open_table(TRANSFER_HOME).unwrap().retain(|_, _| false).unwrap();
            txn.open_table(SENDER_QUEUE).unwrap().retain(|_, _| false).unwrap();
            txn.open_table(COUNTERS).unwrap().retain(|name, _| name == NEXT_TRANSFER_ID).unwrap();
        }
        txn.commit().unwrap();
        assert!(store.all_in_flight(thread(1)).unwrap().is_empty());
        assert_eq!(store.overview(thread(1), 1).unwrap().settled_sub_blocks, 0);
        assert!(store.queued(thread(1), felt(7), felt(1)).unwrap().is_empty());
    }
    let store = Store::open(dir.path()).unwrap();
    let in_flight = store.all_in_flight(thread(1)).unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0].sequence(), 2);
    assert_eq!(store.overview(thread(1), 1).unwrap().settled_sub_blocks, 1);
    assert_index_matches_a_scan(&store, thread(1));
}

#[test]
#[ignore = "measurement: cargo test -p zkthread-store --release -- --ignored --nocapture in_flight_cost"]
fn in_flight_cost_with_a_long_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let proof: Vec<Felt> = (0..3_000u64).map(|i| Felt::from(i) * Felt::from(0x1234_5678_9abc_def1u64)).collect();
    for sequence in 0..1_000 {
        let t = store.submit(thread(1), transfer(1, 2, 1)).unwrap();
        store.record_batch(thread(1), sub_block(sequence, vec![t]), vec![]).unwrap();
        store.record_proof(thread(1), sequence, 0, proof.clone()).unwrap();
        store.record_sending(thread(1), sequence, 0, felt(sequence), felt(sequence)).unwrap();
        store.record_settled(thread(1), sequence, 0, felt(sequence), sequence, 1).unwrap();
        if [9, 99, 999].contains(&sequence) {
            let t = store.submit(thread(1), transfer(1, 2, 1)).unwrap();
            store.record_batch(thread(1), sub_block(10_000 + sequence, vec![t]), vec![]).unwrap();
            let began = std::time::Instant::now();
            for _ in 0..10 {
                assert_eq!(store.all_in_flight(thread(1)).unwrap().len(), 1);
            }
            let in_flight = began.elapsed() / 10;
            let began = std::time::Instant::now();
            let t2 = store.submit(thread(1), transfer(1, 2, 1)).unwrap();
            let batch = store.record_batch(thread(1), sub_block(20_000 + sequence, vec![t2]), vec![]);
            assert!(batch.is_err());
            let refused_batch = began.elapsed();
            let began = std::time::Instant::now();
            assert!(matches!(store.place(thread(1), 1).unwrap(), Some(TransferPlace::SubBlock(_))));
            let place = began.elapsed();
            let began = std::time::Instant::now();
            assert_eq!(store.overview(thread(1), 20).unwrap().settled_sub_blocks, sequence as usize + 1);
            let overview = began.elapsed();
            let began = std::time::Instant::now();
            store.snapshot(thread(1)).unwrap();
            let snapshot = began.elapsed();
            println!(
                "{} settled sub-blocks: all_in_flight {in_flight:?}, a refused record_batch {refused_batch:?}, place {place:?}, overview(20) {overview:?}, snapshot {snapshot:?}",
                sequence + 1
            );
            store.record_abandoned(thread(1), 10_000 + sequence, 0, SubBlockStatus::Superseded { next_sequence: 0 }).unwrap();
            let pending: Vec<Transfer> = store.pending(thread(1)).unwrap();
            store.record_rejected(thread(1), pending.into_iter().map(|t| Rejected { message: t, reason: "x".into() }).collect()).unwrap();
        }
    }
}

/// A second program's message, for the store's program separation (test double).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OtherProgramTestMessage {
    note: String,
}

impl MessageBody for OtherProgramTestMessage {
    const PROGRAM: &'static str = "other-test";
    fn lane(&self) -> Option<(String, LaneAuth)> {
        None
    }
}

#[test]
fn a_thread_holds_one_programs_messages_and_refuses_another_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let other = store.program::<OtherProgramTestMessage>();
    store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let note = other.submit(thread(2), OtherProgramTestMessage { note: "hi".into() }).unwrap();
    assert_eq!(other.pending(thread(2)).unwrap(), vec![note]);
    assert_eq!(store.pending(thread(1)).unwrap().len(), 1);
    // Each thread refuses the other program's type, for reads and writes alike.
    for refused in [
        other.pending(thread(1)).err(),
        other.submit(thread(1), OtherProgramTestMessage { note: "no".into() }).err(),
        store.pending(thread(2)).err(),
        store.sub_blocks(thread(2)).err(),
        // A sender lane too: what a client signs against must not read as an empty queue.
        store.queued(thread(2), Felt::from(7u8), Felt::ONE).err(),
        other.submit_counted(thread(1), OtherProgramTestMessage { note: "no".into() }).err(),
    ] {
        assert!(matches!(refused, Some(StoreError::OtherProgram { .. })), "{refused:?}");
    }
    let message = store.pending(thread(2)).unwrap_err().to_string();
    assert_eq!(message, "thread 2 holds other-test messages, not token messages: use the other-test program's commands");
    // Nothing was written by the refused submit.
    assert_eq!(store.pending(thread(1)).unwrap().len(), 1);
}

/// A Built sub-block ended with its messages refused (the prover fails on its lone message):
/// in one transaction nothing goes back to pending, the message is rejected with the reason,
/// no longer queued for its sender, and the sub-block left the in-flight index; only a Built
/// or Proven sub-block (nothing sent: one too large to settle) can end so.
#[test]
fn a_built_sub_block_ends_with_its_messages_refused_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let b = store.submit(thread(1), transfer(3, 2, 5)).unwrap();
    store.record_batch(thread(1), sub_block(0, vec![a.clone()]), vec![]).unwrap();
    let stale = || SubBlockStatus::Stale { tx_hash: None, reason: "the prover failed on it".into() };
    let ended = store.record_refused(thread(1), 0, 0, stale(), "the prover failed on it alone").unwrap();
    assert_eq!(ended.status.name(), "stale");
    assert_eq!(ids(&store.pending(thread(1)).unwrap()), [b.id], "not pending again");
    let rejected = store.rejected(thread(1)).unwrap();
    assert_eq!((rejected.len(), rejected[0].message.id), (1, a.id));
    assert_eq!(rejected[0].reason, "the prover failed on it alone");
    assert!(store.queued(thread(1), felt(7), felt(1)).unwrap().is_empty());
    assert!(store.all_in_flight(thread(1)).unwrap().is_empty());
    assert_index_matches_a_scan(&store, thread(1));
    // One being sent is not refused so: its settlement may land.
    store.record_batch(thread(1), sub_block(0, vec![b.clone()]), vec![]).unwrap();
    store.record_proof(thread(1), 0, 1, vec![felt(1)]).unwrap();
    store.record_sending(thread(1), 0, 1, felt(0xabc), felt(4)).unwrap();
    assert!(store.record_refused(thread(1), 0, 1, stale(), "no").is_err());
    assert_eq!(store.rejected(thread(1)).unwrap().len(), 1);
}

/// A signed list is a message of the token's list program: its JSON keeps every amount as a
/// decimal string (u128 past 2^53 survives), it queues in its sender's lane like a single
/// transfer, and a thread of single transfers refuses it (and the other way round).
#[test]
fn a_signed_list_is_the_list_programs_message_and_queues_in_its_senders_lane() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lists = store.program::<NewTransferList>();
    let list = NewTransferList {
        token: felt(7),
        from: felt(1),
        transfers: vec![
            ListedTransfer { to: felt(2), amount: u128::MAX },
            ListedTransfer { to: felt(3), amount: 5 },
        ],
        auth: TransferAuth { nonce: 4, key: [1, 2, 3, 4], next_key: [5, 6, 7, 8], signature: vec![9; 263] },
    };
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json["transfers"][0]["amount"], serde_json::json!(u128::MAX.to_string()));
    assert_eq!(serde_json::from_value::<NewTransferList>(json).unwrap(), list);

    let stored = lists.submit(thread(3), list.clone()).unwrap();
    assert_eq!(lists.pending(thread(3)).unwrap(), vec![stored]);
    let lane = lists.queued_in_lane(thread(3), &sender_key(felt(7), felt(1))).unwrap();
    assert_eq!(lane.len(), 1);
    assert_eq!((lane[0].nonce, lane[0].key, lane[0].next_key), (4, [1, 2, 3, 4], [5, 6, 7, 8]));
    assert_eq!(lane[0].transfers, 2, "the lane records the list's length");
    // An entry written before the length was recorded reads as one transfer.
    let old: QueuedAuth = serde_json::from_str(r#"{"id":1,"nonce":4,"key":[1,2,3,4],"next_key":[5,6,7,8]}"#).unwrap();
    assert_eq!(old.transfers, 1);
    // One program per thread: single transfers and lists never share one.
    store.submit(thread(4), transfer(1, 2, 5)).unwrap();
    assert!(matches!(lists.submit(thread(4), list.clone()), Err(StoreError::OtherProgram { .. })));
    assert!(matches!(store.pending(thread(3)), Err(StoreError::OtherProgram { .. })));
    // Which program a thread holds, read without knowing it.
    assert_eq!(store.program_of(thread(3)).unwrap().as_deref(), Some("token-lists"));
    assert_eq!(lists.program_of(thread(4)).unwrap().as_deref(), Some("token"));
    assert_eq!(store.program_of(thread(5)).unwrap(), None);
}

/// `pending_weight` sums the pending messages' weights in submission order and stops reading
/// once the sum reaches what was asked for.
#[test]
fn pending_weight_stops_once_enough_waits() {
    let dir = tempfile::tempdir().unwrap();
    let lists = Store::open(dir.path()).unwrap().program::<NewTransferList>();
    let list = |from: u64, n: usize| NewTransferList {
        token: felt(7),
        from: felt(from),
        transfers: vec![ListedTransfer { to: felt(99), amount: 1 }; n],
        auth: TransferAuth { nonce: 0, key: [1, 2, 3, 4], next_key: [5, 6, 7, 8], signature: vec![9; 263] },
    };
    for (from, n) in [(1, 5), (2, 7), (3, 9)] {
        lists.submit(thread(6), list(from, n)).unwrap();
    }
    let length = |l: &NewTransferList| l.transfers.len();
    assert_eq!(lists.pending_weight(thread(6), 0, length).unwrap(), 5, "the first message is always read");
    assert_eq!(lists.pending_weight(thread(6), 5, length).unwrap(), 5, "the first list is enough");
    assert_eq!(lists.pending_weight(thread(6), 10, length).unwrap(), 12, "stops after the second");
    assert_eq!(lists.pending_weight(thread(6), 1_000, length).unwrap(), 21, "the whole queue");
    assert_eq!(lists.pending_weight(thread(7), 1_000, length).unwrap(), 0, "another thread's queue");
}

/// A lane's queue is its in-flight messages (in their sub-block's order), then its pending
/// ones in submission order, whatever the ids; another sender's messages and settled ones are
/// not in it, and a sub-block that ends hands its messages back to the lane's pending part.
/// A settled one is found among the thread's latest settled sub-blocks instead.
#[test]
fn a_lanes_queue_is_its_in_flight_then_its_pending_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alice = sender_key(felt(7), felt(1));
    let older = store.submit(thread(1), transfer(1, 2, 5)).unwrap();
    let a = store.submit(thread(1), transfer(1, 2, 6)).unwrap();
    let bob = store.submit(thread(1), transfer(3, 2, 7)).unwrap();
    // As a batcher that deferred `older` (it did not fit) and took what came after it.
    store.record_batch(thread(1), sub_block(0, vec![a.clone(), bob.clone()]), vec![]).unwrap();
    let newer = store.submit(thread(1), transfer(1, 3, 8)).unwrap();
    assert_eq!(ids(&store.lane_queue(thread(1), &alice).unwrap()), [a.id, older.id, newer.id]);
    assert_eq!(ids(&store.lane_queue(thread(1), &sender_key(felt(7), felt(3))).unwrap()), [bob.id]);
    assert!(store.lane_queue(thread(1), &sender_key(felt(8), felt(1))).unwrap().is_empty(), "another token's lane");
    assert!(store.lane_queue(thread(2), &alice).unwrap().is_empty(), "another thread");
    // The in-flight sub-block was decoded once, for every lane and every clone of the store.
    let cached = |store: &Store| store.cached_in_flight().keys().map(|(_, s, a)| (*s, *a)).collect::<Vec<_>>();
    assert_eq!(cached(&store.clone()), [(0, 0)]);
    // Ended: all pending again, in submission order.
    let stale = SubBlockStatus::Stale { tx_hash: None, reason: "input changed".into() };
    store.record_abandoned(thread(1), 0, 0, stale).unwrap();
    let queued = store.lane_queue(thread(1), &alice).unwrap();
    assert_eq!(ids(&queued), [older.id, a.id, newer.id]);
    assert_eq!(queued[1], a, "decoded whole");
    assert!(cached(&store).is_empty(), "an ended sub-block leaves the cache");
    // The next attempt of the same sequence holds other messages: read as they are.
    store.record_batch(thread(1), sub_block(0, vec![older.clone(), a.clone()]), vec![]).unwrap();
    let queued = store.lane_queue(thread(1), &alice).unwrap();
    assert_eq!(ids(&queued), [older.id, a.id, newer.id]);
    assert_eq!(queued[0], older, "decoded whole");
    assert!(store.lane_queue(thread(1), &sender_key(felt(7), felt(3))).unwrap().iter().all(|m| m.id == bob.id));
    assert_eq!(cached(&store), [(0, 1)]);
    // Settled: out of the queue.
    store.record_proof(thread(1), 0, 1, vec![felt(1)]).unwrap();
    store.record_sending(thread(1), 0, 1, felt(0x51), felt(2)).unwrap();
    store.record_settled(thread(1), 0, 1, felt(0x51), 9, 1).unwrap();
    assert_eq!(ids(&store.lane_queue(thread(1), &alice).unwrap()), [newer.id]);
    assert!(cached(&store).is_empty(), "a settled sub-block leaves the cache");
    // Settled, a message is found among the latest settled sub-blocks (not among the queued
    // ones); one pending or in flight, or one past the depth, is not.
    assert_eq!(store.queued_copy(thread(1), &older.body).unwrap(), None);
    assert_eq!(store.settled_copy(thread(1), &older.body, 1).unwrap(), Some(older.clone()));
    assert_eq!(store.settled_copy(thread(1), &newer.body, 20).unwrap(), None, "pending");
    assert_eq!(store.settled_copy(thread(2), &older.body, 20).unwrap(), None, "another thread");
    store.record_batch(thread(1), sub_block(1, vec![newer.clone()]), vec![]).unwrap();
    assert_eq!(store.settled_copy(thread(1), &older.body, 1).unwrap(), None, "past the depth");
    assert_eq!(store.settled_copy(thread(1), &older.body, 2).unwrap(), Some(older));
    assert_eq!(store.settled_copy(thread(1), &newer.body, 20).unwrap(), None, "in flight");
    assert_eq!(store.queued_copy(thread(1), &newer.body).unwrap(), Some(newer));
}

#[test]
#[ignore = "measurement: cargo test -p zkthread-store --release -- --ignored --nocapture queue_reads_cost"]
fn queue_reads_cost_with_a_long_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alice = sender_key(felt(7), felt(1));
    // A sub-block in flight, as while one settles: the first 200 messages (2 of them alice's),
    // which both reads must count too.
    let mut submitted = 0;
    let mut flying = Vec::new();
    while submitted < 200 {
        flying.push(store.submit(thread(1), transfer(1 + submitted % 100, 200, 1)).unwrap());
        submitted += 1;
    }
    store.record_batch(thread(1), sub_block(0, flying), vec![]).unwrap();
    for queue in [300, 1_200, 4_200] {
        // 100 senders in turn, alice (sender 1) among them: 1% of the queue is hers.
        while submitted < queue {
            store.submit(thread(1), transfer(1 + submitted % 100, 200, 1)).unwrap();
            submitted += 1;
        }
        let time = |f: &dyn Fn() -> usize| {
            let began = std::time::Instant::now();
            let n = (0..10).map(|_| f()).last().unwrap();
            (began.elapsed() / 10, n)
        };
        // What book admission did before `lane_queue`: decode every in-flight and pending
        // message, keep the sender's.
        let (whole, all) = time(&|| {
            let in_flight = store.all_in_flight(thread(1)).unwrap();
            let queued = in_flight.iter().flat_map(|sb| sb.body.messages.iter());
            let pending = store.pending(thread(1)).unwrap();
            queued.chain(pending.iter()).filter(|m| m.body.from == felt(1)).count()
        });
        let (lane, hers) = time(&|| store.lane_queue(thread(1), &alice).unwrap().len());
        assert_eq!(all, hers);
        assert_eq!(hers as u64, queue / 100, "her in-flight messages are counted");
        let (pending, _) = time(&|| store.pending(thread(1)).unwrap().len());
        let (within, taken) = time(&|| store.pending_within(thread(1), 64, |_| 1).unwrap().len());
        assert_eq!(taken, 64);
        println!(
            "{} pending + 200 in flight: one sender's {hers} by decoding the queue {whole:?}, by its lane {lane:?}; \
             the whole queue {pending:?}, the oldest 64 {within:?}",
            queue - 200
        );
    }
}

#[test]
fn a_stale_revert_is_counted_once_with_its_child_and_survives_a_reindex() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let t = |amount| store.submit(thread(1), transfer(1, 2, amount)).unwrap();
        let (a, b) = (t(1), t(2));
        store.record_batch(thread(1), sub_block(0, vec![a.clone()]), vec![]).unwrap();
        store.record_proof(thread(1), 0, 0, vec![felt(1)]).unwrap();
        store.record_batch(thread(1), ahead(1, 0, vec![b.clone()]), vec![]).unwrap();
        store.record_sending(thread(1), 0, 0, felt(0x60), felt(1)).unwrap();
        let reverted = SubBlockStatus::Stale { tx_hash: Some(felt(0x60)), reason: "registry: stale input".into() };
        store.record_abandoned(thread(1), 0, 0, reverted).unwrap();
        // The child built ahead ended with it (no transaction of its own): one revert.
        assert_eq!(store.sub_blocks(thread(1)).unwrap().iter().filter(|s| s.status.name() == "stale").count(), 2);
        assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(0));
        for (sequence, transfer) in [(0, a), (1, b)] {
            let attempt = store.next_attempt(thread(1), sequence).unwrap();
            store.record_batch(thread(1), sub_block(sequence, vec![transfer]), vec![]).unwrap();
            store.record_proof(thread(1), sequence, attempt, vec![felt(1)]).unwrap();
            store.record_sending(thread(1), sequence, attempt, felt(0x70 + sequence), felt(2)).unwrap();
            store.record_settled(thread(1), sequence, attempt, felt(0x70 + sequence), 5, 1).unwrap();
        }
        assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(2));
        assert_eq!(store.overview(thread(1), 1).unwrap().settled_since_stale_revert, Some(2));
        // As a database indexed by an earlier layout: the settled counters are rebuilt.
        let txn = store.db.begin_write().unwrap();
        txn.open_table(COUNTERS).unwrap().retain(|name, _| !name.starts_with("settled/") && name != INDEXED).unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.settled_since_stale_revert(thread(1)).unwrap(), Some(2));
}
