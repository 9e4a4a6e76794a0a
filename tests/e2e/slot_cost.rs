//! What one distinct written slot costs a settlement on devnet 0.10.1, split by cause (issue 11).
//!
//! A benchmark, not a check: `#[ignore]`d, it prints a table. Run it with
//! `cargo nextest run -p zkthread-e2e --test slot_cost --run-ignored only --no-capture`
//! (sizes: `ZKTHREAD_SLOT_COST_SIZES=1,64`, receivers per sub-block; add the test name
//! `signed_per_slot_settle_cost_split_by_cause` for the signed program only, sizes
//! `ZKTHREAD_SLOT_COST_SIGNED_SIZES=1,32`).
//!
//! Two programs: the unsigned token program at DEFAULT params (`ThreadVerifier`) and the signed
//! one, the production program (`SignedVerifier` at `SIGNED_PARAMS`, every transfer signed by
//! the holder's thread key, whose key slot each sub-block also writes).
//! For each size `n` the holder pays `n` receivers, twice: round `fresh` writes `n` empty
//! balance slots (zero -> non-zero: Starknet 0.14's storage allocation charge), round `funded`
//! writes the same slots again. Every sub-block of a program has the same number of transfers
//! (the largest size, round-robin over the `n` receivers), so its proofs have one trace and only the slot count changes (proof size still wiggles
//! by some tens of felts: queries sharing Merkle paths).
//!
//! The receipt gives the settlement's L2 gas; its parts are recomputed from the transaction,
//! its trace and the 0.14.4 versioned constants devnet 0.10.1 charges by (blockifier
//! `archival_data_gas_costs`, `allocation_cost`, `vm_resource_fee_cost`):
//! - calldata + signature: 5,120 L2 gas per felt;
//! - events: 5,120 per data felt, 2 x 5,120 per key;
//! - allocations: 402,000 per storage key going from zero to non-zero;
//! - execution: per call, `40,000 x max(0.0025 (steps + holes), 0.04 range checks, ...)`
//!   rounded up to whole L1 gas (40,000 L2 gas), syscalls included as their fixed OS cost
//!   (`storage_read` 240 steps, `storage_write` 599, `call_contract` 901 + 18 range checks,
//!   `emit_event` 47); the trace reports each call's figure including its inner calls.
//! What is left (`rest`) is the account's validation and fee transfer, the per-transaction OS
//! overhead (4,779 steps + 5.5 per calldata felt; with KZG data availability, per state-diff
//! felt 113 steps + 17 range checks + Poseidon hashing: `compute_os_kzg_commitment_info`, two
//! felts per written slot) and the rounding of the max per call. The transaction pays only its
//! heaviest resource (blockifier `get_extended_vm_resources_cost`): a call priced on its own
//! (the trace's figure) can cost more than it adds to a transaction another resource prices.

use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context, Result};
use starknet::core::types::{
    ExecuteInvocation, FunctionInvocation, Transaction, TransactionReceipt, TransactionTrace,
};
use starknet::core::utils::get_selector_from_name;
use starknet::providers::Provider;
use zkthread_e2e::client::registry::{Settlement, TransactionList};
use zkthread_e2e::client::token::{balance_slot, thread_key_slot};
use zkthread_e2e::client::FeeMode;
use zkthread_e2e::client::{ChainClient, Felt, TxOutcome};
use zkthread_e2e::settle::{
    batch_on_chain, bracket_steps, prove_settlement, read_slots, settle_and_check_with, to_chain_slots,
    transfer, SETTLE_L2_GAS,
};
use zkthread_e2e::{artifact, init_tracing, ThreadWorld, SIGNED_VERIFIER};
use zkthread_prover::Slot;
use zkthread_sig::domain::{pack_key_slot, unpack_key_slot};
use zkthread_sig::wots::{commitment, KeySeed};
use zkthread_sig::M31;
use zkthread_token::{poseidon252, SignedBatcher, SignedPublicInput, SignedTransferTx, SIGNED_PARAMS};

/// L2 gas per calldata, signature or event-data felt (`archival_data_gas_costs`).
const GAS_PER_FELT: u64 = 5_120;
/// L1 data gas bound of a settlement here: 576 + 96 per fresh slot fits up to ~200 slots.
const SETTLE_L1_DATA_GAS: u64 = 20_000;
/// L2 gas per storage key allocated (zero -> non-zero) by the transaction (`allocation_cost`).
const GAS_PER_ALLOCATION: u64 = 402_000;

/// One settlement's L2 gas, split by cause.
#[derive(Clone, Debug, Default)]
struct Split {
    slots_in: usize,
    slots_out: usize,
    proof_felts: usize,
    calldata_felts: u64,
    allocations: u64,
    total: u64,
    l1_data_gas: u64,
    calldata: u64,
    events: u64,
    event_felts: u64,
    allocation: u64,
    /// The settle call's L2 gas less its inner calls' (each priced on its own, so negative
    /// when the whole call's heaviest resource absorbs the inner calls' lighter ones).
    registry: i64,
    /// L2 gas of the registry's `settle` call, inner calls included.
    settle: u64,
    verifier: u64,
    read_slots: u64,
    write_slots: u64,
    rest: u64,
    /// L2 gas of the account's `__execute__` call (the settlement's whole execution).
    execute: u64,
    /// Cairo steps of the execute phase, bracketed `(low, high]` by simulations (opt-in).
    steps: Option<(u64, u64)>,
}

impl Split {
    fn columns(&self) -> [i64; 13] {
        [
            self.total as i64,
            self.calldata as i64,
            self.events as i64,
            self.allocation as i64,
            self.registry,
            self.verifier as i64,
            self.read_slots as i64,
            self.write_slots as i64,
            self.rest as i64,
            self.calldata_felts as i64,
            self.event_felts as i64,
            self.allocations as i64,
            self.l1_data_gas as i64,
        ]
    }
}

const HEADER: &str = "| L2 gas | calldata | events | allocations | registry settle (own) | \
verifier | token read_slots | token write_slots | rest | calldata felts | event felts | allocated keys | L1 data gas |";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints the per-slot settle cost table"]
async fn per_slot_settle_cost_split_by_cause() -> Result<()> {
    init_tracing();
    let sizes = sizes_from("ZKTHREAD_SLOT_COST_SIZES", "1,64")?;
    let world = ThreadWorld::deploy_with_verifier().await?;
    let client = world.client();
    let token = world.token.address;
    let transfers_per_sub_block = *sizes.last().context("no sizes")?;
    let mut rows: Vec<(usize, &str, Split)> = Vec::new();
    for (round, &n) in sizes.iter().enumerate() {
        let receivers = receivers(0x5107_0000_u64, round, n);
        for kind in ["fresh", "funded"] {
            // The same number of transfers at every size (the largest), spread over the `n`
            // receivers: one trace size, only the slot count differs.
            let transfers: Vec<_> = (0..transfers_per_sub_block)
                .map(|j| transfer(token, world.holder, receivers[j % n], 1))
                .collect();
            let sub_block = batch_on_chain(client, &[token], &transfers).await?;
            let proven = prove_settlement(client, &world.thread(), sub_block).await?;
            let settlement = &proven.settlement;
            let allocations = if kind == "fresh" { n as u64 } else { 0 };
            let split = settle_and_split(&world, settlement, allocations).await?;
            rows.push((n, kind, split));
        }
    }
    print_table(&rows);
    Ok(())
}

/// The signed program (`SignedVerifier`, `SIGNED_PARAMS`): the holder, the only sender, signs
/// every transfer with its thread key (one WOTS key per transfer, rotated in its key slot), so
/// each sub-block writes the holder's balance and key slots plus `n` receivers' balances.
/// Sizes: `ZKTHREAD_SLOT_COST_SIGNED_SIZES` (default `1,32`); every sub-block has as many
/// signed transfers as the largest size (~125 Poseidon2 rows each: one trace height).
/// `ZKTHREAD_SLOT_COST_STEPS=<resolution>` (e.g. `50000`) also brackets the Cairo steps of the
/// first and the last settlement by simulations (log2(10M / resolution) each, a few seconds
/// each) to tell which resource prices them.
///
/// Measured 2026-12-01 (32 transfers, 2^12 Poseidon2 rows, ~45 s a proof at load 3-4): the
/// settlement is range-check-priced (execute VM steps 1.94M at 3 slots, 1.99M at 34, against
/// 2.24M-2.28M priced step-equivalents); a funded slot ~276k L2 gas (fit), a fresh one
/// +402,000; the proof-size wiggle (up to ~100 felts, ~40k L2 gas each) makes the
/// largest-minus-smallest rows low by ~50k per slot at 31 slots: read the fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints the per-slot settle cost table of the signed program"]
async fn signed_per_slot_settle_cost_split_by_cause() -> Result<()> {
    init_tracing();
    let sizes = sizes_from("ZKTHREAD_SLOT_COST_SIGNED_SIZES", "1,32")?;
    let world =
        ThreadWorld::deploy_with_program(artifact(SIGNED_VERIFIER.0, SIGNED_VERIFIER.1)?).await?;
    let mut signer = Signer::register(&world, 0x5107_c057).await?;
    let transfers_per_sub_block = *sizes.last().context("no sizes")?;
    let steps_resolution = steps_resolution()?;
    let mut rows: Vec<(usize, &str, Split)> = Vec::new();
    for (round, &n) in sizes.iter().enumerate() {
        let receivers = receivers(0x5197_0000_u64, round, n);
        for kind in ["fresh", "funded"] {
            let statement = world.next_statement().await?;
            let recipients: Vec<Felt> =
                (0..transfers_per_sub_block).map(|j| receivers[j % n]).collect();
            let txs = signer.sign_to(&world, &statement, &recipients)?;
            let settlement = prove_signed_settlement(&world, &statement, &txs).await?;
            // The first and the last settlement only (a bracket is a dozen simulations).
            let ends = (round, kind) == (0, "fresh")
                || (round + 1, kind) == (sizes.len(), "funded");
            let steps = if let (Some(resolution), true) = (steps_resolution, ends) {
                let call = world.registry.settle_call(&settlement)?;
                Some(bracket_steps(world.client(), &call, resolution).await?)
            } else {
                None
            };
            let allocations = if kind == "fresh" { n as u64 } else { 0 };
            let mut split = settle_and_split(&world, &settlement, allocations).await?;
            split.steps = steps;
            rows.push((n, kind, split));
        }
    }
    ensure!(
        world.token.thread_key(world.client(), world.holder).await? == signer.key_slot()?,
        "the holder's key slot did not rotate once per signed transfer"
    );
    print_table(&rows);
    Ok(())
}

/// The holder signing with its thread key: the next one-time key index and key-slot nonce.
struct Signer {
    seed: KeySeed,
    index: u32,
    nonce: u32,
}

impl Signer {
    /// Registers the holder's thread key (index 0 of the seed `seed_id` names) in the token.
    async fn register(world: &ThreadWorld, seed_id: u32) -> Result<Self> {
        let seed = KeySeed::from_elements(std::array::from_fn(|i| {
            M31::reduce(seed_id.wrapping_add(7 * i as u32 + 1))
        }));
        let key = commitment(&seed, 0).context("key commitment")?;
        let packed = pack_key_slot(&key, 0).context("packing the key")?;
        world
            .client()
            .invoke(vec![world.token.set_thread_key_call(packed)?], FeeMode::default())
            .await?
            .require_success("set_thread_key")?;
        let slot = world.token.thread_key(world.client(), world.holder).await?;
        let (stored, nonce) = unpack_key_slot(&slot).map_err(|e| anyhow!("{e:?}"))?;
        ensure!(stored == key, "the stored thread key differs");
        Ok(Self { seed, index: 0, nonce })
    }

    /// One signed transfer of 1 from the holder to each of `recipients`, in order.
    fn sign_to(
        &mut self,
        world: &ThreadWorld,
        statement: &SignedPublicInput,
        recipients: &[Felt],
    ) -> Result<Vec<SignedTransferTx>> {
        let mut txs = Vec::with_capacity(recipients.len());
        for &to in recipients {
            let transfer = transfer(world.token.address, world.holder, to, 1);
            txs.push(
                SignedTransferTx::sign(transfer, self.nonce, &self.seed, self.index, statement)
                    .context("signing")?,
            );
            self.index += 1;
            self.nonce += 1;
        }
        Ok(txs)
    }

    /// The key slot the token must hold after every signed transfer so far settled.
    fn key_slot(&self) -> Result<Felt> {
        let key = commitment(&self.seed, self.index).context("key commitment")?;
        Ok(pack_key_slot(&key, self.nonce)?)
    }
}

/// Batches `txs` (all must be accepted) against on-chain values, proves the sub-block at
/// `SIGNED_PARAMS`, checks the proof off-chain and the registry's encoding of its statement.
async fn prove_signed_settlement(
    world: &ThreadWorld,
    statement: &SignedPublicInput,
    txs: &[SignedTransferTx],
) -> Result<Settlement> {
    let client = world.client();
    let token = world.token.address;
    let mut slots = vec![Slot { contract: token, key: thread_key_slot(world.holder)? }];
    for tx in txs {
        for account in [tx.from, tx.to] {
            slots.push(Slot { contract: token, key: balance_slot(account)? });
        }
    }
    let current = read_slots(client, slots).await?;
    let batch = SignedBatcher::new(statement.clone(), [token])
        .batch(txs, |s| current.get(s).copied())
        .context("batching")?;
    ensure!(batch.rejected.is_empty(), "rejected: {:?}", batch.rejected);
    let sb = batch.sub_block;
    let pi = sb.statement(statement);
    let mut settlement = Settlement {
        thread_id: world.thread_id,
        sequence: felt_to_u64(statement.sequence)?,
        inputs: to_chain_slots(&sb.inputs),
        outputs: to_chain_slots(&sb.outputs),
        transactions: TransactionList {
            count: pi.transactions.count,
            commitment: pi.transactions.cap_felt(),
        },
        proof: Vec::new(),
    };
    // The registry's public input with (chain id, caller) inserted is the prover's statement.
    let mut onchain = world.registry.public_input(client, &settlement).await?;
    onchain.splice(2..2, [statement.chain_id, world.registry.address]);
    ensure!(onchain == pi.to_felts(), "registry public input differs from the prover's");
    let began = Instant::now();
    let (p, owners, rows) = (pi.clone(), sb.owners.clone(), sb.rows.clone());
    let proof = tokio::task::spawn_blocking(move || {
        poseidon252::prove(&p, &owners, &rows, &SIGNED_PARAMS)
    })
    .await?
    .map_err(|e| anyhow!("proving: {e:?}"))?;
    let prove_time = began.elapsed();
    poseidon252::verify(&pi, &proof, &SIGNED_PARAMS)
        .map_err(|e| anyhow!("off-chain verify: {e:?}"))?;
    settlement.proof = poseidon252::to_felts(&proof);
    eprintln!(
        "proved signed sequence {}: {} transfers, {} slots, log sizes {:?}, in {:.1} s, {} proof felts",
        settlement.sequence,
        sb.transfers.len(),
        sb.outputs.len(),
        proof.log_sizes,
        prove_time.as_secs_f64(),
        settlement.proof.len()
    );
    Ok(settlement)
}

fn felt_to_u64(value: Felt) -> Result<u64> {
    u64::try_from(value).map_err(|_| anyhow!("{value:#x} is not a u64"))
}

/// Settles `settlement` (bounds for up to ~200 fresh slots), checks that every output landed
/// and that exactly `expected_allocations` keys went from zero to non-zero, and splits the
/// settlement's L2 gas by cause.
async fn settle_and_split(
    world: &ThreadWorld,
    settlement: &Settlement,
    expected_allocations: u64,
) -> Result<Split> {
    let client = world.client();
    // A fresh slot costs 96 L1 data gas (its diff and its allocation): more than the e2e
    // tests' settle bound allows at 128 receivers.
    let bounds = client
        .bounds_at_current_prices(0, SETTLE_L2_GAS, SETTLE_L1_DATA_GAS, 2)
        .await?;
    let outcome = settle_and_check_with(&world.registry, client, settlement, bounds).await?;
    // Keys this settlement takes from zero to non-zero (its outputs are its inputs).
    let allocations = settlement
        .outputs
        .iter()
        .filter(|o| {
            o.value != Felt::ZERO
                && settlement
                    .inputs
                    .iter()
                    .any(|i| (i.contract, i.key) == (o.contract, o.key) && i.value == Felt::ZERO)
        })
        .count() as u64;
    ensure!(
        allocations == expected_allocations,
        "{allocations} allocations, expected {expected_allocations}"
    );
    let mut split = split_of(
        client,
        &outcome,
        world.registry.address,
        world.token.address,
        allocations,
    )
    .await?;
    split.slots_in = settlement.inputs.len();
    split.slots_out = settlement.outputs.len();
    split.proof_felts = settlement.proof.len();
    Ok(split)
}

/// Round `round`'s `n` receivers: fresh accounts of their own (`base` keeps the two programs'
/// apart), so round `fresh` writes empty slots.
fn receivers(base: u64, round: usize, n: usize) -> Vec<Felt> {
    (0..n).map(|i| Felt::from(base + (round as u64) * 0x1_0000 + i as u64)).collect()
}

/// Receivers per sub-block from the variable `name` (else `default`): at least two sizes,
/// ascending.
fn sizes_from(name: &str, default: &str) -> Result<Vec<usize>> {
    let sizes = zkthread_e2e::sizes_from_env(name, default)?;
    ensure!(
        sizes.len() >= 2 && sizes.windows(2).all(|w| w[0] < w[1]) && sizes[0] > 0,
        "{name} must be two or more ascending positive sizes"
    );
    Ok(sizes)
}

/// The settlement's receipt, transaction and trace, split into [`Split`]'s causes.
async fn split_of(
    client: &ChainClient,
    outcome: &TxOutcome,
    registry: Felt,
    token: Felt,
    allocations: u64,
) -> Result<Split> {
    let provider = client.provider();
    let receipt = provider.get_transaction_receipt(outcome.hash).await?;
    let TransactionReceipt::Invoke(receipt) = receipt.receipt else {
        bail!("not an invoke receipt");
    };
    let (calldata_felts, signature_felts) = match provider.get_transaction_by_hash(outcome.hash).await? {
        Transaction::Invoke(starknet::core::types::InvokeTransaction::V3(tx)) => {
            (tx.calldata.len() as u64, tx.signature.len() as u64)
        }
        other => bail!("not an invoke v3: {other:?}"),
    };
    let TransactionTrace::Invoke(trace) = provider.trace_transaction(outcome.hash).await? else {
        bail!("not an invoke trace");
    };
    let ExecuteInvocation::Success(execute) = &trace.execute_invocation else {
        bail!("the settlement reverted");
    };
    let settle = find_call(execute, registry, "settle").context("no settle call in the trace")?;
    let verify_selector = get_selector_from_name("verify")?;
    let verify = settle
        .calls
        .iter()
        .find(|c| c.entry_point_selector == verify_selector)
        .context("no verify call")?;
    let token_calls = |name: &str| -> Result<u64> {
        let selector = get_selector_from_name(name)?;
        Ok(settle
            .calls
            .iter()
            .filter(|c| c.contract_address == token && c.entry_point_selector == selector)
            .map(|c| c.execution_resources.l2_gas)
            .sum())
    };
    let (mut keys, mut data) = (0u64, 0u64);
    walk_events(execute, &mut keys, &mut data);
    let read_slots = token_calls("read_slots")?;
    let write_slots = token_calls("write_slots")?;
    let verifier = verify.execution_resources.l2_gas;
    let settle_gas = settle.execution_resources.l2_gas;
    let mut split = Split {
        calldata_felts,
        allocations,
        total: receipt.execution_resources.l2_gas,
        l1_data_gas: receipt.execution_resources.l1_data_gas,
        calldata: GAS_PER_FELT * (calldata_felts + signature_felts),
        events: GAS_PER_FELT * (2 * keys + data),
        event_felts: keys + data,
        allocation: GAS_PER_ALLOCATION * allocations,
        // Any other inner call (none today) stays in the registry's share.
        registry: settle_gas as i64 - (verifier + read_slots + write_slots) as i64,
        settle: settle_gas,
        verifier,
        read_slots,
        write_slots,
        execute: execute.execution_resources.l2_gas,
        ..Split::default()
    };
    let explained = split.calldata + split.events + split.allocation + settle_gas;
    split.rest = split.total.saturating_sub(explained);
    Ok(split)
}

/// The first call to `entry_point` of `contract` in `call`'s tree (depth first).
fn find_call<'a>(
    call: &'a FunctionInvocation,
    contract: Felt,
    entry_point: &str,
) -> Option<&'a FunctionInvocation> {
    let selector = get_selector_from_name(entry_point).ok()?;
    if call.contract_address == contract && call.entry_point_selector == selector {
        return Some(call);
    }
    call.calls.iter().find_map(|c| find_call(c, contract, entry_point))
}

/// Event keys and data felts emitted anywhere in `call`'s tree.
fn walk_events(call: &FunctionInvocation, keys: &mut u64, data: &mut u64) {
    for event in &call.events {
        *keys += event.keys.len() as u64;
        *data += event.data.len() as u64;
    }
    for inner in &call.calls {
        walk_events(inner, keys, data);
    }
}

fn print_table(rows: &[(usize, &str, Split)]) {
    println!("\nper settlement (L2 gas unless named):\n");
    println!("| receivers | round | slots in/out | proof felts | {}", &HEADER[2..]);
    println!("|---:|---|---:|---:|{}", "---:|".repeat(13));
    for (n, kind, s) in rows {
        let cells: Vec<String> = s.columns().iter().map(|v| group(*v)).collect();
        println!(
            "| {n} | {kind} | {}/{} | {} | {} |",
            s.slots_in,
            s.slots_out,
            s.proof_felts,
            cells.join(" | ")
        );
    }
    println!("\nper written slot (largest size minus smallest, same round):\n");
    println!("| round | slots added | {}", &HEADER[2..]);
    println!("|---|---:|{}", "---:|".repeat(13));
    for kind in ["fresh", "funded"] {
        let of_kind: Vec<&Split> = rows.iter().filter(|r| r.1 == kind).map(|r| &r.2).collect();
        let (Some(small), Some(large)) = (of_kind.first(), of_kind.last()) else {
            continue;
        };
        let added = (large.slots_out - small.slots_out) as i64;
        let cells: Vec<String> = large
            .columns()
            .iter()
            .zip(small.columns())
            .map(|(l, s)| group((l - s) / added.max(1)))
            .collect();
        println!("| {kind} | {added} | {} |", cells.join(" | "));
    }
    print_pricing(rows);
    println!("\nfitted over every settlement (least squares over slots and proof felts):\n");
    println!("| share | per written slot | per proof felt |");
    println!("|---|---:|---:|");
    let shares: [(&str, fn(&Split) -> i64); 4] = [
        ("total less allocations", |s| (s.total - s.allocation) as i64),
        ("verifier", |s| s.verifier as i64),
        ("registry + token component", |s| s.registry + (s.read_slots + s.write_slots) as i64),
        ("rest", |s| s.rest as i64),
    ];
    for (name, share) in shares {
        if let Some((per_slot, per_felt)) = fit(rows, share) {
            println!(
                "| {name} | {} | {} |",
                group(per_slot.round() as i64),
                group(per_felt.round() as i64)
            );
        }
    }
}

/// `ZKTHREAD_SLOT_COST_STEPS`: the resolution of the Cairo-steps bracket, if any.
fn steps_resolution() -> Result<Option<u64>> {
    match std::env::var("ZKTHREAD_SLOT_COST_STEPS") {
        Err(_) => Ok(None),
        Ok(raw) => {
            let resolution: u64 = raw.trim().parse().context("ZKTHREAD_SLOT_COST_STEPS")?;
            ensure!(resolution >= 1_000, "ZKTHREAD_SLOT_COST_STEPS: a resolution of at least 1000 steps");
            Ok(Some(resolution))
        }
    }
}

/// Which resource prices each settlement: its execution's L2 gas / 100 is the step-equivalents
/// devnet charged (`max(steps + holes, 16 range checks, ...)`, per call); when they clearly exceed the
/// Cairo steps (bracketed by simulation), a builtin, not steps, sets the price.
fn print_pricing(rows: &[(usize, &str, Split)]) {
    println!("\nwhat prices the execution (step-equivalents = L2 gas / 100):\n");
    println!(
        "| receivers | round | execute step-equivalents | settle | verifier | Cairo steps (bracket) | steps / step-equivalents |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for (n, kind, s) in rows {
        let verifier = s.verifier / 100;
        let settle = s.settle / 100;
        let (bracket, ratio) = match s.steps {
            Some((low, high)) => (
                format!("{}..{}", group(low as i64), group(high as i64)),
                format!("{:.2}..{:.2}", low as f64 * 100.0 / s.execute as f64, high as f64 * 100.0 / s.execute as f64),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {n} | {kind} | {} | {} | {} | {bracket} | {ratio} |",
            group((s.execute / 100) as i64),
            group(settle as i64),
            group(verifier as i64)
        );
    }
}

/// A share's L2 gas per written slot and per proof felt: least squares of
/// `share = a + b slots + c proof_felts` over every settlement (proof size wiggles by up to
/// ~250 felts between proofs of one trace, ~60k L2 gas each: more than the slots' difference
/// at a few dozen slots). `None` when the rows do not determine the fit.
fn fit(rows: &[(usize, &str, Split)], share: fn(&Split) -> i64) -> Option<(f64, f64)> {
    let points: Vec<[f64; 3]> = rows
        .iter()
        .map(|(_, _, s)| [s.slots_out as f64, s.proof_felts as f64, share(s) as f64])
        .collect();
    let n = points.len() as f64;
    let mean = |k: usize| points.iter().map(|p| p[k]).sum::<f64>() / n;
    let (mx, my, mz) = (mean(0), mean(1), mean(2));
    let cov = |a: usize, ma: f64, b: usize, mb: f64| {
        points.iter().map(|p| (p[a] - ma) * (p[b] - mb)).sum::<f64>()
    };
    let (sxx, syy, sxy) = (cov(0, mx, 0, mx), cov(1, my, 1, my), cov(0, mx, 1, my));
    let (sxz, syz) = (cov(0, mx, 2, mz), cov(1, my, 2, mz));
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-9 {
        return None;
    }
    Some(((sxz * syy - syz * sxy) / det, (syz * sxx - sxz * sxy) / det))
}

/// `1234567` -> `1,234,567`.
fn group(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}
