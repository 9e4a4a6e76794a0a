use core::pedersen::pedersen;
use orderbook::OrderBook;
use orderbook::OrderBook::OrderCancelled;
use orderbook::interface::{
    IOrderBookDispatcher, IOrderBookDispatcherTrait, IOrderBookSafeDispatcher,
    IOrderBookSafeDispatcherTrait, Order, SIDE_BUY, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2, SIDE_SELL,
};
use starknet::testing::{pop_log, set_contract_address};
use starknet::{ContractAddress, SyscallResultTrait, contract_address_const};
use thread::interface::{
    IThreadKeysDispatcher, IThreadKeysDispatcherTrait, IThreadReadyDispatcher,
    IThreadReadyDispatcherTrait,
};

const THREAD: u64 = 1;
/// The program thread `THREAD` runs (a class hash; the book accepts it from deployment).
const PROGRAM: felt252 = 'orderbook program';
/// 2^64, 2^80 and 2^96: where an order slot's price numerator, denominator and side start.
const PRICE_UNIT: felt252 = 0x10000000000000000;
const DEN_UNIT: felt252 = 0x100000000000000000000;
const SIDE_UNIT: felt252 = 0x1000000000000000000000000;
/// `orders[('alice', 7)]` as the program's Rust layout computes it.
const ORDER_KEY_ALICE_7: felt252 = 0x557b69fd55c255fc9cc578bffa2da81af46ce873efc98be25bf8cecc0fd86e7;

/// Stands in for the thread registry: every contract is in thread `THREAD`, which runs
/// `PROGRAM`. Test code only.
#[starknet::contract]
pub mod OpenMembershipTestDouble {
    use starknet::{ClassHash, ContractAddress};
    use thread::interface::IThreadMembership;

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl MembershipImpl of IThreadMembership<ContractState> {
        fn thread_includes(self: @ContractState, thread_id: u64, contract: ContractAddress) -> bool {
            thread_id == super::THREAD
        }

        fn thread_program(self: @ContractState, thread_id: u64) -> ClassHash {
            super::PROGRAM.try_into().unwrap()
        }
    }
}

fn alice() -> ContractAddress {
    contract_address_const::<'alice'>()
}

fn bob() -> ContractAddress {
    contract_address_const::<'bob'>()
}

fn base() -> ContractAddress {
    contract_address_const::<'base token'>()
}

fn quote() -> ContractAddress {
    contract_address_const::<'quote token'>()
}

fn deploy_book(registry: ContractAddress, base: felt252, quote: felt252) -> Result<ContractAddress, Array<felt252>> {
    let calldata = array![registry.into(), 'book owner', 1, PROGRAM, base, quote];
    match starknet::syscalls::deploy_syscall(
        OrderBook::TEST_CLASS_HASH.try_into().unwrap(), 2, calldata.span(), false,
    ) {
        Result::Ok((address, _)) => Result::Ok(address),
        Result::Err(reason) => Result::Err(reason),
    }
}

/// (registry stand-in, a book trading `base()` for `quote()`)
fn setup() -> (ContractAddress, ContractAddress) {
    let (registry, _) = starknet::syscalls::deploy_syscall(
        OpenMembershipTestDouble::TEST_CLASS_HASH.try_into().unwrap(), 1, array![].span(), false,
    )
        .unwrap_syscall();
    let book = deploy_book(registry, base().into(), quote().into()).unwrap();
    (registry, book)
}

fn book(address: ContractAddress) -> IOrderBookDispatcher {
    IOrderBookDispatcher { contract_address: address }
}

/// Reduces a Pedersen output into `[0, 2^251 - 256)`, as storage addresses are.
fn address_of(hash: felt252) -> felt252 {
    let hash: u256 = hash.into();
    let bound: u256 = 0x800000000000000000000000000000000000000000000000000000000000000 - 256;
    let address = if hash >= bound {
        hash - bound
    } else {
        hash
    };
    address.try_into().unwrap()
}

/// `orders[(owner, id)]` derived independently of the storage macros: Pedersen chained from
/// sn_keccak("orders") over the tuple's elements.
fn order_key(owner: ContractAddress, id: u64) -> felt252 {
    address_of(pedersen(pedersen(selector!("orders"), owner.into()), id.into()))
}

/// Writes raw slots as the registry does when it settles.
fn settle(registry: ContractAddress, book: ContractAddress, slots: Array<(felt252, felt252)>) {
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: book }.write_slots(THREAD, slots.span());
}

fn read(registry: ContractAddress, book: ContractAddress, key: felt252) -> felt252 {
    set_contract_address(registry);
    *IThreadReadyDispatcher { contract_address: book }.read_slots(THREAD, array![key].span()).at(0)
}

#[test]
fn the_configuration_is_at_the_keys_the_program_reads() {
    let (registry, address) = setup();
    assert_eq!(book(address).base_token(), base());
    assert_eq!(book(address).quote_token(), quote());
    assert_eq!(book(address).fill_count(), 0);
    // Plain variables sit at sn_keccak(name): what the program's layout binds (its Rust test
    // `storage_keys_are_the_contracts` has the same `fill_count` key).
    assert_eq!(selector!("fill_count"), 0xc822d167b820c62c17d1c5e89dfab5acf2cbb760774e847f446857167623b9);
    assert_eq!(read(registry, address, selector!("base_token")), base().into());
    assert_eq!(read(registry, address, selector!("quote_token")), quote().into());
    settle(registry, address, array![(selector!("fill_count"), 7)]);
    assert_eq!(book(address).fill_count(), 7);
}

#[test]
fn a_book_needs_two_distinct_nonzero_tokens() {
    let registry = contract_address_const::<'registry'>();
    let refused = array![(0, quote().into()), (base().into(), 0), (base().into(), base().into())];
    let reasons = array!['book: zero token', 'book: zero token', 'book: base is quote'];
    for i in 0..refused.len() {
        let (b, q) = *refused.at(i);
        match deploy_book(registry, b, q) {
            Result::Ok(_) => panic!("book {} accepted", i),
            Result::Err(reason) => assert_eq!(*reason.at(0), *reasons.at(i)),
        }
    };
}

#[test]
fn order_slots_are_the_programs_keys_and_decode() {
    let (registry, address) = setup();
    let key = order_key(alice(), 7);
    assert_eq!(book(address).order_slot(alice(), 7), key);
    // The program's Rust layout derives the same key (`zkthread_orderbook::statement::
    // order_slot_key`, test `storage_keys_are_the_contracts`).
    assert_eq!(key, ORDER_KEY_ALICE_7);
    assert_ne!(book(address).order_slot(alice(), 8), key);
    assert_ne!(book(address).order_slot(bob(), 7), key);
    assert_eq!(
        book(address).order(alice(), 7), Order { side: 0, price_num: 0, price_den: 0, remaining: 0 },
    );
    // A sell of 1,000 at 501/2 and a bid of 2^64 - 1 at the largest parts, as a settlement
    // writes them.
    let sell = 1000 + 501 * PRICE_UNIT + 2 * DEN_UNIT + 2 * SIDE_UNIT;
    let bid = 0xffffffffffffffff + 0x3fff * PRICE_UNIT + 0x3fff * DEN_UNIT + 1 * SIDE_UNIT;
    settle(registry, address, array![(key, sell), (order_key(bob(), 1), bid)]);
    assert_eq!(
        book(address).order(alice(), 7),
        Order { side: SIDE_SELL, price_num: 501, price_den: 2, remaining: 1000 },
    );
    assert_eq!(
        book(address).order(bob(), 1),
        Order { side: SIDE_BUY, price_num: 0x3fff, price_den: 0x3fff, remaining: 0xffffffffffffffff },
    );
}

#[test]
#[feature("safe_dispatcher")]
fn a_slot_no_program_could_write_is_refused_by_the_view() {
    let (registry, address) = setup();
    let safe = IOrderBookSafeDispatcher { contract_address: address };
    for value in array![5 * SIDE_UNIT, 0x1000000000000000000000000000000000] {
        settle(registry, address, array![(order_key(alice(), 1), value)]);
        match safe.order(alice(), 1) {
            Result::Ok(order) => panic!("slot {} decoded as {:?}", value, order),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'book: bad order slot'),
        }
    };
}

#[test]
#[feature("safe_dispatcher")]
fn an_owner_cancels_its_own_order_on_l2() {
    let (registry, address) = setup();
    let sell = 1000 + 250 * PRICE_UNIT + 1 * DEN_UNIT + 2 * SIDE_UNIT;
    settle(registry, address, array![(order_key(alice(), 7), sell), (order_key(bob(), 7), sell)]);
    while pop_log::<OrderBook::Event>(address).is_some() {};
    set_contract_address(alice());
    book(address).cancel(7);
    assert_eq!(
        book(address).order(alice(), 7),
        Order { side: SIDE_CANCELLED_ON_L2, price_num: 250, price_den: 1, remaining: 0 },
    );
    assert_eq!(
        read(registry, address, order_key(alice(), 7)), 250 * PRICE_UNIT + DEN_UNIT + 4 * SIDE_UNIT,
    );
    assert_eq!(
        pop_log::<OrderBook::Event>(address).unwrap(),
        OrderBook::Event::OrderCancelled(OrderCancelled { owner: alice(), id: 7, remaining: 1000 }),
    );
    // Bob's order with the same id is his own slot: untouched.
    assert_eq!(book(address).order(bob(), 7).remaining, 1000);
    // An id the caller never placed.
    set_contract_address(alice());
    let safe = IOrderBookSafeDispatcher { contract_address: address };
    match safe.cancel(8) {
        Result::Ok(_) => panic!("cancel of an unused id accepted"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'book: no such order'),
    }
    // A second cancel of one order.
    match safe.cancel(7) {
        Result::Ok(_) => panic!("a second cancel accepted"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'book: order cancelled'),
    }
    // An order a thread's signed cancel closed (side 3) is not cancelled on L2 again.
    let cancelled = 250 * PRICE_UNIT + DEN_UNIT + 3 * SIDE_UNIT;
    settle(registry, address, array![(order_key(alice(), 9), cancelled)]);
    assert_eq!(book(address).order(alice(), 9).side, SIDE_CANCELLED);
    set_contract_address(alice());
    match safe.cancel(9) {
        Result::Ok(_) => panic!("an L2 cancel of a cancelled order accepted"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'book: order cancelled'),
    }
    assert_eq!(read(registry, address, order_key(alice(), 9)), cancelled);
}

#[test]
fn thread_keys_live_in_the_book() {
    let (registry, address) = setup();
    set_contract_address(alice());
    let keys = IThreadKeysDispatcher { contract_address: address };
    keys.set_thread_key(1 + 2 * 0x80000000);
    let slot = keys.thread_key(alice());
    assert_eq!(slot, 1 + 2 * 0x80000000 + 0x10000000000000000000000000000000);
    let key = address_of(pedersen(selector!("thread_keys"), alice().into()));
    assert_eq!(read(registry, address, key), slot);
}
