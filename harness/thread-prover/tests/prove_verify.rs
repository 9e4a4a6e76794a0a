mod common;

use common::*;
use proptest::prelude::*;
use starknet_types_core::felt::Felt;
use zkthread_prover::params::StarkParams;
use zkthread_prover::prover::prove_rows;
use zkthread_prover::public_input::contract_set_commitment;
use zkthread_prover::trace::TransferRow;
use zkthread_prover::{
    proof_from_felts, proof_to_felts, prove, verify, Blake2sMerkleChannel, DecodeError,
    Poseidon252MerkleChannel, PublicInput, SlotValue, VerifyError,
};

type Poseidon = Poseidon252MerkleChannel;
type Blake = Blake2sMerkleChannel;
const TEST: StarkParams = StarkParams::INSECURE_TEST;

/// One Poseidon proof of the sample sub-block shared by the tests of this binary: Poseidon
/// Merkle commitments dominate proving time, so the other tests use Blake2s (the AIR and the
/// constraint checks do not depend on the channel).
fn shared_poseidon_proof() -> &'static (PublicInput, zkthread_prover::ThreadProof<Poseidon>) {
    static PROOF: std::sync::OnceLock<(PublicInput, zkthread_prover::ThreadProof<Poseidon>)> =
        std::sync::OnceLock::new();
    PROOF.get_or_init(|| {
        let sb = sample_sub_block();
        let pi = public_input_for(&sb, 3);
        let proof = prove::<Poseidon>(&pi, &sb, &TEST).expect("prove");
        (pi, proof)
    })
}

#[test]
fn valid_sub_block_proves_serializes_and_verifies() {
    let (pi, proof) = shared_poseidon_proof();
    let (pi, proof) = (pi.clone(), proof.clone());
    verify::<Poseidon>(&pi, &proof, &TEST).expect("verify");
    let felts = proof_to_felts(&proof);
    let decoded = proof_from_felts::<Poseidon>(&felts).expect("decode");
    assert_eq!(proof_to_felts(&decoded), felts, "round trip is exact");
    verify::<Poseidon>(&pi, &decoded, &TEST).expect("verify decoded");

    // Wrong parameters on the verifier side.
    let other = StarkParams { n_queries: TEST.n_queries + 1, ..TEST };
    assert!(matches!(verify::<Poseidon>(&pi, &proof, &other), Err(VerifyError::ParamsMismatch)));

    // Truncated / extended calldata never decodes.
    assert!(proof_from_felts::<Poseidon>(&felts[..felts.len() - 1]).is_err());
    let mut longer = felts.clone();
    longer.push(Felt::ONE);
    assert!(proof_from_felts::<Poseidon>(&longer).is_err());

    // Any single altered felt of the proof is rejected (decode or verify).
    for i in (0..felts.len()).step_by((felts.len() / 40).max(1)) {
        let mut bad = felts.clone();
        bad[i] += Felt::ONE;
        if let Ok(p) = proof_from_felts::<Poseidon>(&bad) {
            assert!(verify::<Poseidon>(&pi, &p, &TEST).is_err(), "altered felt {i} accepted");
        }
    }
}

/// M31 word `index` of a proof's packed stream (`[n_owners, owners, n_m31, packed, ...]`,
/// word j of a felt at bits 31 j) and the proof with that word replaced by `value`.
fn stream_word(felts: &[Felt], index: usize) -> u64 {
    let bytes = felts[packed_felt(felts, index)].to_bytes_le();
    let first = 31 * (index % 8);
    (0..31).map(|b| (((bytes[(first + b) / 8] >> ((first + b) % 8)) & 1) as u64) << b).sum()
}

/// Where M31 word `index` of the packed stream lives in the calldata.
fn packed_felt(felts: &[Felt], index: usize) -> usize {
    let n_owners: u64 = felts[0].try_into().expect("owner count");
    1 + n_owners as usize + 1 + index / 8
}

fn with_stream_word(felts: &[Felt], index: usize, value: u64) -> Vec<Felt> {
    let at = packed_felt(felts, index);
    let lane = Felt::from(2u8).pow((31 * (index % 8)) as u128);
    let old = Felt::from(stream_word(felts, index));
    let mut out = felts.to_vec();
    out[at] = out[at] + (Felt::from(value) - old) * lane;
    out
}

/// The Rust decoder refuses what the Cairo reader refuses in the sampled values' shapes: a
/// run without values (it would cost no word), a run with as many values per column as the
/// run before (a split run: one encoding a proof), and runs claiming more values than the
/// stream holds (refused before anything is allocated for them); and in a queried tree,
/// columns without rows or rows without columns.
#[test]
fn the_decoder_refuses_malformed_shapes() {
    let (_, proof) = shared_poseidon_proof();
    let felts = proof_to_felts(proof);
    // log_n_rows, the claimed sum (4), the config (6), the commitment count, then the tree
    // count and each tree's run count and runs.
    let trees = 12;
    assert_eq!(stream_word(&felts, trees), 4, "four trees");
    let mut at = trees + 1;
    let mut runs = Vec::new();
    for _ in 0..4 {
        let n_runs = stream_word(&felts, at) as usize;
        runs.push((at + 1, n_runs));
        at += 1 + 2 * n_runs;
    }
    let (main_runs, _) = runs[1];
    let no_values = with_stream_word(&felts, main_runs + 1, 0);
    assert_eq!(
        proof_from_felts::<Poseidon>(&no_values).err(),
        Some(DecodeError::OutOfRange("sampled run"))
    );
    let (interaction_runs, n) = runs[2];
    assert!(n >= 2, "the interaction tree has runs of one and two values");
    let first_values = stream_word(&felts, interaction_runs + 1);
    let split = with_stream_word(&felts, interaction_runs + 3, first_values);
    assert_eq!(proof_from_felts::<Poseidon>(&split).err(), Some(DecodeError::OutOfRange("sampled run")));
    let too_many = with_stream_word(&felts, main_runs, 1 << 24);
    assert_eq!(proof_from_felts::<Poseidon>(&too_many).err(), Some(DecodeError::Truncated));

    // Behind the shapes: the values (4 words each), the decommitments (a tree count, then a
    // hash count per tree: the hashes are in the felt stream), then the queried values (a
    // tree count, then per tree its column count and its row count). Rows of no column, or
    // columns of no row, are refused: they would cost no word.
    let values: u64 = runs
        .iter()
        .flat_map(|&(first, n)| (0..n).map(move |r| first + 2 * r))
        .map(|run| stream_word(&felts, run) * stream_word(&felts, run + 1))
        .sum();
    let decommitments = at + 4 * values as usize;
    assert_eq!(stream_word(&felts, decommitments), 4, "four decommitted trees");
    let queried = decommitments + 1 + 4;
    assert_eq!(stream_word(&felts, queried), 4, "four queried trees");
    let (columns, rows) = (queried + 1, queried + 2);
    assert!(stream_word(&felts, columns) > 0 && stream_word(&felts, rows) > 0, "a queried tree");
    for (word, what) in [(columns, "no column"), (rows, "no row")] {
        let empty = with_stream_word(&felts, word, 0);
        assert_eq!(
            proof_from_felts::<Poseidon>(&empty).err(),
            Some(DecodeError::OutOfRange("queried rows")),
            "{what}"
        );
    }
}

/// Every tampering of the public input is rejected by the verifier.
#[test]
fn every_tampered_public_input_is_rejected() {
    let (pi, proof) = shared_poseidon_proof();
    let (pi, proof) = (pi.clone(), proof.clone());
    verify::<Poseidon>(&pi, &proof, &TEST).expect("honest verify");

    let mut cases: Vec<(String, PublicInput)> = Vec::new();
    let bump = |f: &Felt| *f + Felt::ONE;
    let mut t = pi.clone();
    t.os_version = bump(&t.os_version);
    cases.push(("os_version".into(), t));
    let mut t = pi.clone();
    t.program_hash = bump(&t.program_hash);
    cases.push(("program_hash".into(), t));
    let mut t = pi.clone();
    t.thread_id = bump(&t.thread_id);
    cases.push(("thread_id".into(), t));
    let mut t = pi.clone();
    t.sequence = bump(&t.sequence);
    cases.push(("sequence".into(), t));
    let mut t = pi.clone();
    t.contract_set_commitment = contract_set_commitment(&[Felt::from(TOKEN_A)]);
    cases.push(("contract_set_commitment".into(), t));
    for (name, outputs) in [("inputs", false), ("outputs", true)] {
        let n = if outputs { pi.outputs.len() } else { pi.inputs.len() };
        for i in 0..n {
            for field in 0..3 {
                let mut t = pi.clone();
                let list = if outputs { &mut t.outputs } else { &mut t.inputs };
                let e: &mut SlotValue = &mut list[i];
                match field {
                    0 => e.slot.contract = bump(&e.slot.contract),
                    1 => e.slot.key = bump(&e.slot.key),
                    _ => e.value = bump(&e.value),
                }
                cases.push((format!("{name}[{i}].{}", ["contract", "key", "value"][field]), t));
            }
        }
        // Dropping an entry and duplicating one are rejected too.
        let mut t = pi.clone();
        if outputs { t.outputs.pop(); } else { t.inputs.pop(); }
        cases.push((format!("{name} without its last entry"), t));
        let mut t = pi.clone();
        let list = if outputs { &mut t.outputs } else { &mut t.inputs };
        list.insert(1, list[1]);
        cases.push((format!("{name} with a duplicate"), t));
    }
    // Moving value between two outputs of the same token (same total) is still rejected.
    let mut t = pi.clone();
    t.outputs[0].value = bump(&t.outputs[0].value);
    t.outputs[1].value -= Felt::ONE;
    cases.push(("outputs rebalanced".into(), t));
    assert!(cases.len() >= 40, "{}", cases.len());
    for (what, tampered) in cases {
        assert_ne!(tampered, pi);
        let result = verify::<Poseidon>(&tampered, &proof, &TEST);
        assert!(result.is_err(), "tampered {what} was accepted");
    }
}

/// The constraints, not the batcher, stop an overspend: a hand-built bad trace cannot be
/// proven into an accepted proof.
#[test]
fn invalid_witness_is_rejected() {
    let sb = sample_sub_block();
    let mut pi = public_input_for(&sb, 1);
    // Slot 0 has 1_000 - 300 ...; craft a single-row overspend: slot 0 -> slot 1 of amount
    // above slot 0's input balance, with outputs set to the wrapped (u128) results.
    let before: Vec<u128> = pi.inputs.iter().map(|e| u128::try_from(e.value).unwrap()).collect();
    let (from, to) = (0usize, 1usize);
    assert_eq!(pi.inputs[from].slot.contract, pi.inputs[to].slot.contract, "same token");
    let amount = before[from] + 1;
    let row = TransferRow {
        token: 0,
        from_slot: from as u32,
        to_slot: to as u32,
        from_old: before[from],
        to_old: before[to],
        amount,
    };
    pi.outputs = pi.inputs.clone();
    pi.outputs[from].value = Felt::from(before[from].wrapping_sub(amount));
    pi.outputs[to].value = Felt::from(before[to] + amount);
    let owners = sb.slot_owners().expect("owners");
    match prove_rows::<Blake>(&pi, &owners, &[row], &TEST) {
        Err(_) => {}
        Ok(proof) => assert!(verify::<Blake>(&pi, &proof, &TEST).is_err(), "overspend accepted"),
    }

    // A row that mints: consumes (to, b), produces (to, b + x) without debiting anyone.
    let mut pi2 = public_input_for(&sb, 1);
    pi2.outputs = pi2.inputs.clone();
    pi2.outputs[to].value = Felt::from(before[to] + 5);
    let mint = TransferRow { token: 0, from_slot: from as u32, to_slot: to as u32, from_old: before[from], to_old: before[to], amount: 5 };
    // The row debits `from` by 5, but the public output claims `from` unchanged.
    match prove_rows::<Blake>(&pi2, &owners, &[mint], &TEST) {
        Err(_) => {}
        Ok(proof) => assert!(verify::<Blake>(&pi2, &proof, &TEST).is_err(), "mint accepted"),
    }
}

/// A "balance" row aimed at another variable of the token (`total_supply`, `name`): the
/// transfer rows are a valid STARK witness (the AIR sees slot indices only), but the verifier
/// refuses a list entry that is not `balances[owner]` of its contract, whatever owner the
/// prover names.
#[test]
fn slot_outside_the_storage_layout_is_refused() {
    use starknet::core::utils::get_storage_var_address;
    use zkthread_prover::public_input::StatementError;
    use zkthread_prover::Slot;
    let token = Felt::from(TOKEN_A);
    let holder = Felt::from(1u8);
    for variable in ["total_supply", "name"] {
        let foreign = Slot { contract: token, key: get_storage_var_address(variable, &[]).unwrap() };
        let balance = Slot::balance(token, holder);
        let mut entries = [(balance, 1_000u128, 993u128), (foreign, 5, 12)];
        entries.sort_by_key(|e| e.0);
        let pi = PublicInput {
            inputs: entries.iter().map(|e| SlotValue::new(e.0, e.1)).collect(),
            outputs: entries.iter().map(|e| SlotValue::new(e.0, e.2)).collect(),
            ..public_input_for(&sample_sub_block(), 0)
        };
        let index = |slot: Slot| entries.iter().position(|e| e.0 == slot).unwrap() as u32;
        let row = TransferRow {
            token: 0,
            from_slot: index(balance),
            to_slot: index(foreign),
            from_old: 1_000,
            to_old: 5,
            amount: 7,
        };
        // Whatever account the prover names as the foreign slot's owner, it is not bound.
        for claimed in [holder, Felt::from(2u8), foreign.key] {
            let owners: Vec<Felt> =
                entries.iter().map(|e| if e.0 == balance { holder } else { claimed }).collect();
            let proof = prove_rows::<Blake>(&pi, &owners, &[row], &TEST).expect("a valid STARK");
            let foreign_index = index(foreign) as usize;
            match verify::<Blake>(&pi, &proof, &TEST) {
                Err(VerifyError::Statement(StatementError::UnboundSlot { index })) => {
                    assert_eq!(index, foreign_index, "{variable}")
                }
                other => panic!("{variable} row accepted or refused for another reason: {other:?}"),
            }
        }
    }
}

/// The slot owners travel with the proof: a proof whose owners were swapped no longer binds.
#[test]
fn swapped_slot_owners_are_refused() {
    let (pi, proof) = shared_poseidon_proof();
    let mut bad = proof.clone();
    bad.slot_owners.swap(0, 1);
    assert!(matches!(
        verify::<Poseidon>(pi, &bad, &TEST),
        Err(VerifyError::Statement(zkthread_prover::StatementError::UnboundSlot { index: 0 }))
    ));
    bad.slot_owners.pop();
    assert!(verify::<Poseidon>(pi, &bad, &TEST).is_err());
}

#[test]
fn blake2s_channel_proves_and_verifies_too() {
    let sb = sample_sub_block();
    let pi = public_input_for(&sb, 0);
    let proof = prove::<Blake2sMerkleChannel>(&pi, &sb, &TEST).expect("prove");
    verify::<Blake2sMerkleChannel>(&pi, &proof, &TEST).expect("verify");
    let felts = proof_to_felts(&proof);
    let decoded = proof_from_felts::<Blake2sMerkleChannel>(&felts).expect("decode");
    verify::<Blake2sMerkleChannel>(&pi, &decoded, &TEST).expect("verify decoded");
    // A Poseidon proof never passes as Blake2s and vice versa (different transcripts).
    let mut t = pi.clone();
    t.sequence += Felt::ONE;
    assert!(verify::<Blake2sMerkleChannel>(&t, &proof, &TEST).is_err());
}

#[test]
fn default_parameters_reach_96_bits_with_pow_at_most_16() {
    let p = StarkParams::DEFAULT;
    assert!(p.security_bits() >= 96, "{}", p.security_bits());
    assert!(p.pow_bits <= 16);
    assert_eq!(p.pcs_config().security_bits(), p.security_bits());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Random valid sub-blocks (after the batcher drops invalid transfers) prove and verify.
    #[test]
    fn random_sub_blocks_prove_and_verify(
        txs in prop::collection::vec((0u8..2, 1u64..6, 1u64..6, 1u128..400), 1..40),
        sequence in 0u64..1000,
    ) {
        let state = genesis(5, 500);
        let txs: Vec<_> = txs
            .into_iter()
            .map(|(t, f, to, a)| transfer(if t == 0 { TOKEN_A } else { TOKEN_B }, f, to, a))
            .collect();
        let batch = match batcher().batch(&txs, |s| state.get(s).copied()) {
            Ok(b) => b,
            Err(_) => return Ok(()), // every transfer invalid: nothing to prove
        };
        let sb = batch.sub_block;
        let pi = public_input_for(&sb, sequence);
        let proof = prove::<Blake>(&pi, &sb, &TEST).expect("prove");
        let decoded = proof_from_felts::<Blake>(&proof_to_felts(&proof)).expect("decode");
        prop_assert!(verify::<Blake>(&pi, &decoded, &TEST).is_ok());
        // Total supply per token is conserved by construction; a changed output value is not.
        let mut t = pi.clone();
        t.outputs[0].value += Felt::ONE;
        prop_assert!(verify::<Blake>(&t, &decoded, &TEST).is_err());
    }
}
