use core::pedersen::pedersen;
use starknet::testing::{pop_log, pop_log_raw, set_contract_address};
use starknet::{ClassHash, ContractAddress, SyscallResultTrait, contract_address_const};
use thread::ThreadReadyComponent;
use thread::thread_keys::ThreadKeysComponent;
use thread::thread_keys::ThreadKeysComponent::ThreadKeySet;
use thread::interface::{
    IThreadConsentDispatcher, IThreadConsentDispatcherTrait, IThreadReadyDispatcher,
    IThreadReadyDispatcherTrait,
};
use token::ThreadToken;
use token::ThreadToken::Transfer;
use token::interface::{
    IThreadKeysDispatcher, IThreadKeysDispatcherTrait, IThreadKeysSafeDispatcher,
    IThreadKeysSafeDispatcherTrait, IThreadSlotsDispatcher, IThreadSlotsDispatcherTrait,
    IThreadTokenDispatcher, IThreadTokenDispatcherTrait, IThreadTokenSafeDispatcher,
    IThreadTokenSafeDispatcherTrait, ThreadSlots,
};

pub const SUPPLY: u128 = 1_000_000;
/// `SUPPLY` as the ERC20 ABI reports it.
pub const SUPPLY_U256: u256 = 1_000_000;
pub const THREAD: u64 = 1;
/// The program thread `THREAD` runs (a class hash; the token accepts it from deployment).
pub const PROGRAM: felt252 = 'token thread program';
/// 2^124: where a key slot's nonce starts.
const NONCE_UNIT: felt252 = 0x10000000000000000000000000000000;
/// 2^31 - 1: no limb of a key commitment may equal it.
const M31: felt252 = 0x7fffffff;
const LIMB: felt252 = 0x80000000;

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

pub fn alice() -> ContractAddress {
    contract_address_const::<'alice'>()
}

pub fn bob() -> ContractAddress {
    contract_address_const::<'bob'>()
}

pub fn owner() -> ContractAddress {
    contract_address_const::<'token owner'>()
}

pub fn name() -> ByteArray {
    "Thread Token"
}

pub fn symbol() -> ByteArray {
    "THR"
}

/// Constructor calldata: `(registry, owner, programs: [PROGRAM], name, symbol, holder,
/// supply: u256)`, name and symbol as ByteArray.
pub fn token_calldata(registry: ContractAddress, holder: felt252) -> Array<felt252> {
    token_calldata_with(registry, name(), symbol(), holder, SUPPLY.into())
}

pub fn token_calldata_with(
    registry: ContractAddress, name: ByteArray, symbol: ByteArray, holder: felt252, supply: u256,
) -> Array<felt252> {
    let mut calldata = array![registry.into(), owner().into(), 1, PROGRAM];
    name.serialize(ref calldata);
    symbol.serialize(ref calldata);
    calldata.append(holder);
    supply.serialize(ref calldata);
    calldata
}

pub fn deploy(class_hash: felt252, salt: felt252, calldata: Array<felt252>) -> ContractAddress {
    let (address, _) = starknet::syscalls::deploy_syscall(
        class_hash.try_into().unwrap(), salt, calldata.span(), false,
    )
        .unwrap_syscall();
    address
}

/// (registry stand-in, token with the whole supply held by alice)
pub fn setup() -> (ContractAddress, ContractAddress) {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let token = deploy(ThreadToken::TEST_CLASS_HASH, 2, token_calldata(registry, alice().into()));
    (registry, token)
}

/// The storage address of `balances[account]`, derived independently of the storage macros:
/// pedersen(sn_keccak("balances"), account) reduced below 2^251 - 256.
pub fn balance_slot(account: ContractAddress) -> felt252 {
    let hash: u256 = pedersen(selector!("balances"), account.into()).into();
    let bound: u256 = 0x800000000000000000000000000000000000000000000000000000000000000 - 256;
    let address = if hash >= bound {
        hash - bound
    } else {
        hash
    };
    address.try_into().unwrap()
}

#[test]
fn test_constructor_mints_supply_to_initial_holder() {
    let (registry, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.name(), name());
    assert_eq!(dispatcher.symbol(), symbol());
    assert_eq!(dispatcher.decimals(), 18);
    assert_eq!(dispatcher.total_supply(), SUPPLY_U256);
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY_U256);
    assert_eq!(dispatcher.balance_of(bob()), 0);
    assert_eq!(IThreadReadyDispatcher { contract_address: token }.thread_registry(), registry);
    let consent = IThreadConsentDispatcher { contract_address: token };
    assert_eq!(consent.thread_owner(), owner());
    assert!(consent.accepts_program(PROGRAM.try_into().unwrap()));
    assert!(!consent.accepts_program('another program'.try_into().unwrap()));
    let program_hash: ClassHash = PROGRAM.try_into().unwrap();
    assert_eq!(
        pop_log::<ThreadToken::Event>(token).unwrap(),
        ThreadToken::Event::ThreadReadyEvent(
            ThreadReadyComponent::Event::ProgramAcceptanceChanged(
                ThreadReadyComponent::ProgramAcceptanceChanged { program_hash, accepted: true },
            ),
        ),
    );
    let event = pop_log::<ThreadToken::Event>(token).unwrap();
    let expected = Transfer { from: 0.try_into().unwrap(), to: alice(), value: SUPPLY_U256 };
    assert_eq!(event, ThreadToken::Event::Transfer(expected));
}

#[test]
fn test_transfer_moves_balance_and_emits_event() {
    let (_, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    drain_events(token);
    set_contract_address(alice());
    assert!(dispatcher.transfer(bob(), 300));
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY_U256 - 300);
    assert_eq!(dispatcher.balance_of(bob()), 300);
    assert_eq!(dispatcher.total_supply(), SUPPLY_U256);
    let event = pop_log::<ThreadToken::Event>(token).unwrap();
    assert_eq!(event, ThreadToken::Event::Transfer(Transfer { from: alice(), to: bob(), value: 300 }));
}

#[test]
fn test_transfer_to_self_keeps_balance() {
    let (_, token) = setup();
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    set_contract_address(alice());
    dispatcher.transfer(alice(), 10);
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY_U256);
}

#[test]
#[feature("safe_dispatcher")]
fn test_overspend_is_rejected_and_balances_unchanged() {
    let (_, token) = setup();
    let safe = IThreadTokenSafeDispatcher { contract_address: token };
    set_contract_address(bob());
    match safe.transfer(alice(), 1) {
        Result::Ok(_) => panic!("bob spent what he does not have"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'ERC20: insufficient balance'),
    }
    set_contract_address(alice());
    match safe.transfer(bob(), SUPPLY_U256 + 1) {
        Result::Ok(_) => panic!("alice overspent"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'ERC20: insufficient balance'),
    }
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.balance_of(alice()), SUPPLY_U256);
    assert_eq!(dispatcher.balance_of(bob()), 0);
}

#[test]
#[feature("safe_dispatcher")]
fn test_transfer_to_zero_is_rejected() {
    let (_, token) = setup();
    set_contract_address(alice());
    let zero: ContractAddress = 0.try_into().unwrap();
    let safe = IThreadTokenSafeDispatcher { contract_address: token };
    match safe.transfer(zero, 1) {
        Result::Ok(_) => panic!("transferred to zero"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'ERC20: transfer to 0'),
    }
    assert_eq!(IThreadTokenDispatcher { contract_address: token }.balance_of(alice()), SUPPLY_U256);
}

#[test]
fn test_balance_slot_key_is_the_storage_var_address() {
    let (registry, token) = setup();
    set_contract_address(registry);
    let slots = IThreadReadyDispatcher { contract_address: token }
        .read_slots(THREAD, array![balance_slot(alice()), balance_slot(bob())].span());
    assert_eq!(slots, array![SUPPLY.into(), 0].span());
}

#[test]
fn test_registry_writes_balances_through_slots() {
    let (registry, token) = setup();
    set_contract_address(registry);
    IThreadReadyDispatcher { contract_address: token }
        .write_slots(
            THREAD, array![(balance_slot(alice()), 400), (balance_slot(bob()), 600)].span(),
        );
    let dispatcher = IThreadTokenDispatcher { contract_address: token };
    assert_eq!(dispatcher.balance_of(alice()), 400);
    assert_eq!(dispatcher.balance_of(bob()), 600);
}

#[test]
fn test_zero_initial_holder_is_rejected() {
    let registry = deploy(OpenMembershipTestDouble::TEST_CLASS_HASH, 1, array![]);
    let result = starknet::syscalls::deploy_syscall(
        ThreadToken::TEST_CLASS_HASH.try_into().unwrap(), 3, token_calldata(registry, 0).span(), false,
    );
    match result {
        Result::Ok(_) => panic!("minted to zero"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'ERC20: mint to 0'),
    }
}

#[test]
fn test_balance_slot_known_answer() {
    // Shared with the Rust side: get_storage_var_address("balances", [0x1234]).
    assert_eq!(
        balance_slot(0x1234.try_into().unwrap()),
        0x730784555874dce9495f6892fa28aba9abd33ebaec60b2dd4f2dc7f76a05e75,
    );
}

pub fn drain_events(address: ContractAddress) {
    while let Option::Some(_) = pop_log_raw(address) {};
}

// ---- thread keys ----

/// The storage address of `thread_keys[account]`: pedersen(sn_keccak("thread_keys"), account)
/// reduced below 2^251 - 256 (what starknet-rs `get_storage_var_address` computes).
pub fn thread_key_slot(account: ContractAddress) -> felt252 {
    let hash: u256 = pedersen(selector!("thread_keys"), account.into()).into();
    let bound: u256 = 0x800000000000000000000000000000000000000000000000000000000000000 - 256;
    let address = if hash >= bound {
        hash - bound
    } else {
        hash
    };
    address.try_into().unwrap()
}

/// `K0 + K1 * 2^31 + K2 * 2^62 + K3 * 2^93`.
fn pack(k0: felt252, k1: felt252, k2: felt252, k3: felt252) -> felt252 {
    k0 + LIMB * (k1 + LIMB * (k2 + LIMB * k3))
}

fn keys(token: ContractAddress) -> IThreadKeysDispatcher {
    IThreadKeysDispatcher { contract_address: token }
}

fn key_set_event(account: ContractAddress, key_commitment: felt252, nonce: u128) -> ThreadToken::Event {
    ThreadToken::Event::ThreadKeysEvent(
        ThreadKeysComponent::Event::ThreadKeySet(ThreadKeySet { account, key_commitment, nonce }),
    )
}

#[test]
fn test_account_sets_and_rotates_its_thread_key() {
    let (_, token) = setup();
    drain_events(token);
    assert_eq!(keys(token).thread_key(alice()), 0);
    let first = pack(1, 2, 3, 4);
    let second = pack(M31 - 1, 0, M31 - 1, 7);
    set_contract_address(alice());
    keys(token).set_thread_key(first);
    assert_eq!(keys(token).thread_key(alice()), first + NONCE_UNIT);
    assert_eq!(pop_log::<ThreadToken::Event>(token).unwrap(), key_set_event(alice(), first, 1));
    keys(token).set_thread_key(second);
    assert_eq!(keys(token).thread_key(alice()), second + 2 * NONCE_UNIT);
    assert_eq!(pop_log::<ThreadToken::Event>(token).unwrap(), key_set_event(alice(), second, 2));
    // Setting the same key again still rotates: the nonce moves on.
    keys(token).set_thread_key(second);
    assert_eq!(keys(token).thread_key(alice()), second + 3 * NONCE_UNIT);
    assert_eq!(pop_log::<ThreadToken::Event>(token).unwrap(), key_set_event(alice(), second, 3));
}

#[test]
fn test_set_thread_key_writes_only_the_callers_slot() {
    let (_, token) = setup();
    set_contract_address(alice());
    let alice_key = pack(11, 12, 13, 14);
    keys(token).set_thread_key(alice_key);
    let alice_slot = keys(token).thread_key(alice());
    drain_events(token);

    // Bob tries to put his key on alice's account: there is no argument naming the account,
    // so all he can change is his own slot.
    set_contract_address(bob());
    let bob_key = pack(21, 22, 23, 24);
    keys(token).set_thread_key(bob_key);
    assert_eq!(keys(token).thread_key(alice()), alice_slot);
    assert_eq!(keys(token).thread_key(bob()), bob_key + NONCE_UNIT);
    assert_eq!(pop_log::<ThreadToken::Event>(token).unwrap(), key_set_event(bob(), bob_key, 1));
    assert!(pop_log_raw(token).is_none());
}

#[test]
#[feature("safe_dispatcher")]
fn test_bad_thread_keys_are_refused() {
    let (_, token) = setup();
    set_contract_address(alice());
    let good = pack(1, 2, 3, 4);
    keys(token).set_thread_key(good);
    drain_events(token);
    let bad = array![
        // No key: nobody could sign for it.
        0,
        // 2^124 and above: not four limbs (it would reach into the nonce).
        NONCE_UNIT,
        NONCE_UNIT + 1,
        -1,
        // A limb equal to 2^31 - 1 is not a canonical M31 element.
        pack(M31, 0, 0, 0),
        pack(1, M31, 0, 0),
        pack(1, 1, M31, 0),
        pack(1, 1, 1, M31),
    ];
    let safe = IThreadKeysSafeDispatcher { contract_address: token };
    for key in bad {
        match safe.set_thread_key(key) {
            Result::Ok(_) => panic!("bad thread key {} accepted", key),
            Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: bad thread key'),
        }
    };
    assert_eq!(keys(token).thread_key(alice()), good + NONCE_UNIT);
    assert!(pop_log_raw(token).is_none());
    // The largest key (every limb 2^31 - 2) is fine.
    let largest = pack(M31 - 1, M31 - 1, M31 - 1, M31 - 1);
    keys(token).set_thread_key(largest);
    assert_eq!(keys(token).thread_key(alice()), largest + 2 * NONCE_UNIT);
}

#[test]
fn test_thread_key_slot_is_the_storage_var_address_and_threads_rotate_it() {
    let (registry, token) = setup();
    set_contract_address(alice());
    keys(token).set_thread_key(pack(1, 2, 3, 4));
    set_contract_address(registry);
    let ready = IThreadReadyDispatcher { contract_address: token };
    let slot = ready.read_slots(THREAD, array![thread_key_slot(alice())].span());
    assert_eq!(slot, array![keys(token).thread_key(alice())].span());
    // A settled signed transfer writes the next key and nonce through the thread.
    let rotated = pack(5, 6, 7, 8) + 2 * NONCE_UNIT;
    ready.write_slots(THREAD, array![(thread_key_slot(alice()), rotated)].span());
    assert_eq!(keys(token).thread_key(alice()), rotated);
    // And the account's next own rotation continues from that nonce.
    set_contract_address(alice());
    keys(token).set_thread_key(pack(9, 9, 9, 9));
    assert_eq!(keys(token).thread_key(alice()), pack(9, 9, 9, 9) + 3 * NONCE_UNIT);
}

#[test]
#[feature("safe_dispatcher")]
fn test_thread_key_nonce_stops_below_the_m31_modulus() {
    // 2^31 - 2 rotations later (here: a thread wrote the slot), the nonce cannot advance: the
    // AIR reads it as an M31 element.
    let (registry, token) = setup();
    let key = pack(1, 2, 3, 4);
    let ready = IThreadReadyDispatcher { contract_address: token };
    set_contract_address(registry);
    ready.write_slots(THREAD, array![(thread_key_slot(alice()), key + (M31 - 2) * NONCE_UNIT)].span());
    set_contract_address(alice());
    keys(token).set_thread_key(pack(5, 6, 7, 8));
    let last = pack(5, 6, 7, 8) + (M31 - 1) * NONCE_UNIT;
    assert_eq!(keys(token).thread_key(alice()), last);
    drain_events(token);
    let safe = IThreadKeysSafeDispatcher { contract_address: token };
    match safe.set_thread_key(pack(9, 9, 9, 9)) {
        Result::Ok(_) => panic!("the nonce passed 2^31 - 2"),
        Result::Err(reason) => assert_eq!(*reason.at(0), 'thread: key nonce spent'),
    }
    assert_eq!(keys(token).thread_key(alice()), last);
    assert!(pop_log_raw(token).is_none());
}

#[test]
fn test_thread_key_slot_known_answer() {
    // Shared with the Rust side: get_storage_var_address("thread_keys", [0x1234]).
    assert_eq!(
        thread_key_slot(0x1234.try_into().unwrap()),
        0x3ef38c5a182484c838d96357de2a208343083199989bc432a5f5a446b5764eb,
    );
}

// ---- thread slots ----

fn slots(token: ContractAddress) -> IThreadSlotsDispatcher {
    IThreadSlotsDispatcher { contract_address: token }
}

#[test]
fn test_thread_slots_are_the_storage_var_addresses() {
    let (_, token) = setup();
    let carol: ContractAddress = contract_address_const::<'carol'>();
    for account in array![alice(), bob(), carol, 0.try_into().unwrap()] {
        assert_eq!(
            slots(token).thread_slots(account),
            ThreadSlots { balance: balance_slot(account), thread_key: thread_key_slot(account) },
        );
    };
}

#[test]
fn test_thread_slots_known_answer() {
    // The same values as test_balance_slot_known_answer and test_thread_key_slot_known_answer,
    // what the Rust side's get_storage_var_address gives for account 0x1234.
    let (_, token) = setup();
    assert_eq!(
        slots(token).thread_slots(0x1234.try_into().unwrap()),
        ThreadSlots {
            balance: 0x730784555874dce9495f6892fa28aba9abd33ebaec60b2dd4f2dc7f76a05e75,
            thread_key: 0x3ef38c5a182484c838d96357de2a208343083199989bc432a5f5a446b5764eb,
        },
    );
}

#[test]
fn test_thread_slots_hold_the_balance_and_the_thread_key() {
    let (registry, token) = setup();
    set_contract_address(alice());
    keys(token).set_thread_key(pack(1, 2, 3, 4));
    let alice_slots = slots(token).thread_slots(alice());
    set_contract_address(registry);
    let values = IThreadReadyDispatcher { contract_address: token }
        .read_slots(THREAD, array![alice_slots.balance, alice_slots.thread_key].span());
    assert_eq!(values, array![SUPPLY.into(), keys(token).thread_key(alice())].span());
}

#[test]
fn test_thread_slots_abi_is_two_felts() {
    // What a client calling the entry point without the ABI gets: [balance key, thread key key].
    let (_, token) = setup();
    let reply = starknet::syscalls::call_contract_syscall(
        token, selector!("thread_slots"), array![alice().into()].span(),
    )
        .unwrap_syscall();
    assert_eq!(reply, array![balance_slot(alice()), thread_key_slot(alice())].span());
}
