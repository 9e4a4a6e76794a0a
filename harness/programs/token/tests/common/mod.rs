//! Fixtures shared by the token program's integration tests: a thread, a token, four
//! accounts with keys, test-only proof parameters.
#![allow(dead_code)]

use std::collections::BTreeMap;

use starknet_types_core::felt::Felt;
use zkthread_prover::model::{Slot, SlotValue};
use zkthread_prover::params::StarkParams;
use zkthread_prover::{contract_set_commitment, Blake2sMerkleChannel};
use zkthread_sig::domain::pack_key_slot;
use zkthread_sig::wots::{commitment, KeyCommitment, KeySeed};
use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};
use zkthread_prover::program::{ProvenParts, ThreadProgram};
use zkthread_prover::prover::VerifyError;
use zkthread_sig::AccountId;
use zkthread_token::{BoundSlot, SignedBatcher, SignedPublicInput, SignedStatementError, SlotState};

pub type Blake = Blake2sMerkleChannel;

/// Degree-5 constraints need `log_blowup >= 2`; few queries: tests only, far below 96 bits.
pub const TEST: StarkParams = StarkParams {
    log_blowup: 1,
    n_queries: 3,
    pow_bits: 1,
    log_last_layer_degree_bound: 1,
    fold_step: 1,
};

pub const TOKEN: u64 = 0x70c3;
pub const ALICE: u64 = 0xa11ce;
pub const BOB: u64 = 0xb0b;
pub const CAROL: u64 = 0xca201;
pub const MALLORY: u64 = 0x3a11;

pub fn seed(account: u64) -> KeySeed {
    KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(account as u32 + 7 * i as u32 + 1)))
}

pub fn key(account: u64, index: u32) -> KeyCommitment {
    commitment(&seed(account), index).unwrap()
}

pub fn statement() -> SignedPublicInput {
    SignedPublicInput {
        os_version: Felt::from(2u8),
        program_hash: Felt::from(0x5167u64),
        chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
        registry: Felt::from(0x4e6u64),
        thread_id: Felt::from(3u8),
        sequence: Felt::from(0u8),
        contract_set_commitment: contract_set_commitment(&[Felt::from(TOKEN)]),
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    }
}

pub fn balance_slot(account: u64) -> Slot {
    Slot { contract: Felt::from(TOKEN), key: balance_slot_key(Felt::from(account)) }
}

pub fn key_slot(account: u64) -> Slot {
    Slot { contract: Felt::from(TOKEN), key: thread_key_slot_key(Felt::from(account)) }
}

/// Alice 1,000 (key 0, nonce 1), Bob 500 (key 0, nonce 1), Carol 0 (no key), Mallory 10 (key 0).
pub fn genesis() -> BTreeMap<Slot, Felt> {
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

pub fn batcher() -> SignedBatcher {
    SignedBatcher::new(statement(), [Felt::from(TOKEN)])
}

pub fn set(list: &mut [SlotValue], slot: Slot, value: Felt) {
    list.iter_mut().find(|e| e.slot == slot).expect("slot in the list").value = value;
}

pub fn random_relations() -> zkthread_token::role::Relations {
    use stwo::core::channel::Channel;
    let mut channel = stwo::core::channel::Blake2sChannel::default();
    channel.mix_u64(0x7261_6e67_6538);
    zkthread_token::role::Relations::draw(&mut channel)
}


/// Verifies a raw-driver proof of program `P` against the boundary of `slots` as given, not as
/// the statement binds them (a test's hand-made boundary: a simulated id collision, say).
pub fn verify_raw<P: ThreadProgram>(
    pi: &SignedPublicInput,
    parts: &ProvenParts<Blake>,
    slots: &[BoundSlot],
) -> Result<(), VerifyError<SignedStatementError>> {
    zkthread_prover::program::verify::<P, Blake, SignedStatementError>(
        &pi.to_felts(),
        &parts.log_sizes,
        &parts.claimed_sums,
        &parts.stark,
        &TEST,
        |r| zkthread_token::statement::boundary(slots, &pi.transactions, r),
    )
}

/// The rows' own boundary: every input slot of `pi` moved to its output (unchanged if it has
/// none), owned by `accounts[i]` (given, not derived from a witness); key slots are the users'
/// `thread_keys`.
pub fn rows_own_boundary(pi: &SignedPublicInput, accounts: &[AccountId]) -> Vec<BoundSlot> {
    let key_slots = [ALICE, BOB, CAROL, MALLORY].map(key_slot);
    let read = |value: &Felt, slot: Slot| match zkthread_sig::unpack_key_slot(value) {
        Ok((key, nonce)) if key_slots.contains(&slot) => SlotState::Key { key, nonce },
        _ => SlotState::Balance(zkthread_prover::model::felt_to_u128(value).unwrap()),
    };
    pi.inputs
        .iter()
        .zip(accounts)
        .map(|(i, account)| BoundSlot {
            domain: statement().domain(i.slot.contract),
            account: *account,
            before: read(&i.value, i.slot),
            after: pi.outputs.iter().find(|o| o.slot == i.slot).map_or(read(&i.value, i.slot), |o| read(&o.value, o.slot)),
        })
        .collect()
}

/// The id of an owner `M` sharing Bob's low 124 bits, as a ~2^62 collision search would give
/// one (a real one cannot be built): Bob's low words, Mallory's high ones. The account-id
/// collision tests bind a slot to it.
pub fn bobs_low_twin() -> AccountId {
    let bob = zkthread_sig::account_id_wide(Felt::from(BOB));
    AccountId { low: bob.low, high: zkthread_sig::account_id_wide(Felt::from(MALLORY)).high }
}

/// The whole ids of `owners`, and the same with Bob's replaced by [`bobs_low_twin`] (his slots
/// bound to the simulated collision).
pub fn owner_ids_and_twins(owners: &[Felt]) -> (Vec<AccountId>, Vec<AccountId>) {
    let bob = zkthread_sig::account_id_wide(Felt::from(BOB));
    let ids: Vec<AccountId> = owners.iter().map(|o| zkthread_sig::account_id_wide(*o)).collect();
    let twins = ids.iter().map(|id| if *id == bob { bobs_low_twin() } else { *id }).collect();
    (ids, twins)
}

/// The statement of the tests of a debit of a payment credited inside the proof (one per
/// program): Alice 1,000 -> 900 and her key step, Mallory's key step (key 0 at nonce 1 to key
/// 1), Carol 0 -> 100, under the rows' transaction list. Bob's slot is in neither list.
pub fn twin_debit_statement(transactions: zkthread_sig::TxListCommitment) -> SignedPublicInput {
    let key_value = |who: u64, index: u32| pack_key_slot(&key(who, index), index + 1).unwrap();
    let mut entries = vec![
        (balance_slot(ALICE), Felt::from(1_000u64), Felt::from(900u64)),
        (key_slot(ALICE), key_value(ALICE, 0), key_value(ALICE, 1)),
        (key_slot(MALLORY), key_value(MALLORY, 0), key_value(MALLORY, 1)),
        (balance_slot(CAROL), Felt::ZERO, Felt::from(100u64)),
    ];
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut pi = statement();
    pi.transactions = transactions;
    pi.inputs = entries.iter().map(|e| SlotValue { slot: e.0, value: e.1 }).collect();
    pi.outputs = entries.iter().map(|e| SlotValue { slot: e.0, value: e.2 }).collect();
    pi
}

/// [`twin_debit_statement`]'s boundary with Mallory's key slot owned by `mallory` (the
/// collision a test simulates) and every other slot by its real owner.
pub fn twin_debit_boundary(pi: &SignedPublicInput, mallory: AccountId) -> Vec<BoundSlot> {
    let owner_of = |slot: Slot| match slot {
        s if s == key_slot(MALLORY) => mallory,
        s if s == balance_slot(CAROL) => zkthread_sig::account_id_wide(Felt::from(CAROL)),
        _ => zkthread_sig::account_id_wide(Felt::from(ALICE)),
    };
    let ids: Vec<AccountId> = pi.inputs.iter().map(|i| owner_of(i.slot)).collect();
    rows_own_boundary(pi, &ids)
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |k: usize| fields.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

