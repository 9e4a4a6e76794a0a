mod common;

use common::*;
use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;
use zkthread_prover::public_input::StatementError;
use zkthread_prover::{contract_set_commitment, PublicInput};

#[test]
fn encoding_is_the_documented_layout_and_round_trips() {
    let sb = sample_sub_block();
    let pi = public_input_for(&sb, 9);
    let felts = pi.to_felts();
    assert_eq!(felts[0], pi.os_version);
    assert_eq!(felts[3], Felt::from(9u8));
    // The unsigned program's empty transaction list, then the lists.
    assert_eq!(&felts[5..7], &[Felt::ZERO, Felt::ZERO]);
    assert_eq!(felts[7], Felt::from(pi.inputs.len() as u64));
    let out_at = 8 + 3 * pi.inputs.len();
    assert_eq!(felts[out_at], Felt::from(pi.outputs.len() as u64));
    assert_eq!(felts[out_at + 1], pi.outputs[0].slot.contract);
    assert_eq!(felts.len(), out_at + 1 + 3 * pi.outputs.len());
    assert_eq!(PublicInput::from_felts(&felts).unwrap(), pi);
    assert!(PublicInput::from_felts(&felts[..felts.len() - 1]).is_err());
    // A transaction list is never ignored: the unsigned program proves none.
    let mut named = felts.clone();
    named[5] = Felt::ONE;
    assert!(PublicInput::from_felts(&named).is_err());
}

#[test]
fn contract_set_commitment_is_poseidon_over_count_and_sorted_set() {
    let (a, b) = (Felt::from(5u8), Felt::from(3u8));
    let expected = poseidon_hash_many(&[Felt::TWO, b, a]);
    assert_eq!(contract_set_commitment(&[a, b]), expected);
    assert_eq!(contract_set_commitment(&[b, a]), expected);
    assert_ne!(contract_set_commitment(&[a]), expected);
}

#[test]
fn statement_rejects_unsorted_non_balance_and_unread_outputs() {
    let sb = sample_sub_block();
    let pi = public_input_for(&sb, 0);
    let slots = pi.statement_slots().unwrap();
    assert_eq!(slots.len(), pi.inputs.len());
    // Token indices follow the distinct contracts of the sorted input list.
    assert_eq!(slots.first().unwrap().token, 0);
    assert_eq!(slots.last().unwrap().token, 1);

    let mut t = pi.clone();
    t.inputs.swap(0, 1);
    assert!(matches!(t.statement_slots(), Err(StatementError::NotSorted { list: "input", .. })));
    let mut t = pi.clone();
    t.outputs[0].value = Felt::from(u128::MAX) + Felt::ONE;
    assert!(matches!(t.statement_slots(), Err(StatementError::NotABalance { list: "output", .. })));
    let mut t = pi.clone();
    t.inputs.remove(0);
    assert!(matches!(t.statement_slots(), Err(StatementError::OutputNotRead { index: 0 })));
    // A slot read but not written keeps its value: the outputs may omit it.
    let mut t = pi.clone();
    t.outputs.remove(0);
    let s = t.statement_slots().unwrap();
    assert_eq!(s[0].after, s[0].before);
}
