mod common;

use common::*;
use starknet_types_core::felt::Felt;
use zkthread_prover::{BatchError, Slot, SlotValue, StrictBatchError, TransferRejected};

#[test]
fn overspend_is_rejected_with_its_message_and_later_transfers_still_apply() {
    let state = genesis(3, 100);
    let txs = [transfer(TOKEN_A, 1, 2, 101), transfer(TOKEN_A, 1, 2, 60)];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).unwrap();
    assert_eq!(batch.rejected.len(), 1);
    let msg = batch.rejected[0].to_string();
    assert!(msg.contains("overspend") && msg.contains("balance 100") && msg.contains("needs 101"), "{msg}");
    assert_eq!(batch.sub_block.transfers, vec![txs[1]]);
    let strict = batcher().batch_strict(&txs, |s| state.get(s).copied());
    assert!(matches!(strict, Err(StrictBatchError::Rejected(TransferRejected::Overspend { index: 0, .. }))));
}

#[test]
fn overspend_counts_earlier_transfers_in_submission_order() {
    let state = genesis(3, 100);
    // 1 -> 2 (100) empties 1, so 1 -> 3 (1) must fail: order is kept, not optimized.
    let txs = [transfer(TOKEN_A, 1, 2, 100), transfer(TOKEN_A, 1, 3, 1), transfer(TOKEN_A, 2, 1, 5)];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).unwrap();
    assert!(matches!(batch.rejected[..], [TransferRejected::Overspend { index: 1, balance: 0, amount: 1, .. }]));
    assert_eq!(batch.sub_block.transfers, vec![txs[0], txs[2]]);
}

#[test]
fn zero_self_foreign_and_overflow_are_rejected() {
    let mut state = genesis(2, 10);
    state.insert(Slot::balance(Felt::from(TOKEN_B), Felt::from(2u8)), Felt::from(u128::MAX));
    let txs = [
        transfer(TOKEN_A, 1, 2, 0),
        transfer(TOKEN_A, 1, 1, 5),
        transfer(0xdead, 1, 2, 5),
        transfer(TOKEN_B, 1, 2, 1),
        transfer(TOKEN_A, 1, 2, 1),
    ];
    let batch = batcher().batch(&txs, |s| state.get(s).copied()).unwrap();
    assert!(matches!(batch.rejected[0], TransferRejected::ZeroAmount { index: 0 }));
    assert!(matches!(batch.rejected[1], TransferRejected::SelfTransfer { index: 1, .. }));
    assert!(matches!(batch.rejected[2], TransferRejected::ForeignToken { index: 2, .. }));
    assert!(matches!(batch.rejected[3], TransferRejected::ReceiverOverflow { index: 3, .. }));
    assert_eq!(batch.sub_block.transfers, vec![txs[4]]);
}

#[test]
fn missing_state_and_empty_batches_are_caller_errors() {
    let state = genesis(1, 10);
    let err = batcher().batch(&[transfer(TOKEN_A, 1, 9, 1)], |s| state.get(s).copied()).unwrap_err();
    assert!(matches!(err, BatchError::MissingSlotValue(_)));
    let err = batcher().batch(&[transfer(TOKEN_A, 1, 1, 1)], |s| state.get(s).copied()).unwrap_err();
    assert_eq!(err, BatchError::Empty);
}

#[test]
fn lists_are_sorted_unique_and_keep_slots_written_back_to_their_old_value() {
    let state = genesis(3, 50);
    let txs = [transfer(TOKEN_B, 1, 2, 20), transfer(TOKEN_B, 2, 1, 20), transfer(TOKEN_A, 3, 1, 5)];
    let sb = batcher().batch_strict(&txs, |s| state.get(s).copied()).unwrap();
    for list in [&sb.inputs, &sb.outputs] {
        assert!(list.windows(2).all(|w| w[0].slot < w[1].slot), "sorted, no duplicates");
        assert_eq!(list.len(), 4);
    }
    let b1 = Slot::balance(Felt::from(TOKEN_B), Felt::from(1u8));
    assert!(sb.outputs.contains(&SlotValue::new(b1, 50)), "written back to 50, still listed");
    let a1 = Slot::balance(Felt::from(TOKEN_A), Felt::from(1u8));
    assert!(sb.outputs.contains(&SlotValue::new(a1, 55)));
    assert!(sb.inputs.contains(&SlotValue::new(a1, 50)));
}

#[test]
fn balance_slot_key_is_the_cairo_map_address() {
    // Cairo: key = pedersen(sn_keccak("balances"), account) mod (2^251 - 256) for a Map at top
    // level; starknet-rs's helper must agree with this independent computation.
    let account = Felt::from_hex_unchecked("0x64b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691");
    let base = starknet::core::utils::starknet_keccak(b"balances");
    let h = starknet_crypto::pedersen_hash(&base, &account);
    let bound = Felt::from_hex_unchecked("0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00");
    let expected = if h >= bound { h - bound } else { h };
    assert_eq!(Slot::balance(Felt::from(TOKEN_A), account).key, expected);
    assert_ne!(Slot::balance(Felt::from(TOKEN_A), account).key, Slot::balance(Felt::from(TOKEN_A), Felt::ONE).key);
}
