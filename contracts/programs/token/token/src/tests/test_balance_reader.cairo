use starknet::testing::{pop_log, set_contract_address};
use thread::interface::{IThreadReadyDispatcher, IThreadReadyDispatcherTrait};
use token::BalanceReader;
use token::BalanceReader::BalanceSeen;
use token::interface::{
    IBalanceReaderDispatcher, IBalanceReaderDispatcherTrait, IThreadTokenDispatcher,
    IThreadTokenDispatcherTrait,
};
use super::test_token::{SUPPLY, THREAD, alice, balance_slot, bob, deploy, setup};

fn deploy_reader() -> IBalanceReaderDispatcher {
    IBalanceReaderDispatcher {
        contract_address: deploy(BalanceReader::TEST_CLASS_HASH, 7, array![]),
    }
}

#[test]
fn test_record_stores_and_emits_the_current_balance() {
    let (_, token) = setup();
    let reader = deploy_reader();
    assert_eq!(reader.record_count(), 0);
    assert_eq!(reader.record(token, alice()), SUPPLY);
    assert_eq!(reader.last_seen(token, alice()), SUPPLY);
    assert_eq!(reader.last_seen(token, bob()), 0);
    assert_eq!(reader.record_count(), 1);
    let event = pop_log::<BalanceReader::Event>(reader.contract_address).unwrap();
    let expected = BalanceSeen { token, account: alice(), balance: SUPPLY, index: 1 };
    assert_eq!(event, BalanceReader::Event::BalanceSeen(expected));
}

#[test]
fn test_record_sees_a_transfer_and_a_registry_write() {
    let (registry, token) = setup();
    let reader = deploy_reader();
    assert_eq!(reader.record(token, bob()), 0);

    set_contract_address(alice());
    IThreadTokenDispatcher { contract_address: token }.transfer(bob(), 250);
    assert_eq!(reader.record(token, bob()), 250);

    // What a settlement does: the registry writes the raw balance slot.
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: token }
        .write_slots(THREAD, array![(balance_slot(bob()), 4_321)].span());
    assert_eq!(reader.record(token, bob()), 4_321);
    assert_eq!(reader.last_seen(token, bob()), 4_321);
    assert_eq!(reader.record_count(), 3);
}
