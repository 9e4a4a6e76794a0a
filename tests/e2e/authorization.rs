//! Authorization rules on a devnet, each attack failing with its own reason and nothing changed
//! (one devnet for the binary: every check runs on the same world, in order):
//! - a "balance" row aimed at another variable of the token (`total_supply`): a valid STARK
//!   whose statement names a slot the program does not declare — the registry reverts
//!   `registry: invalid proof`, the verifier's diagnostics name `statement: unbound slot`;
//! - a contract that did not accept the program cannot be put in a thread;
//! - thread keys: another account's `set_thread_key` only ever writes its own slot.

use anyhow::{ensure, Context, Result};
use starknet::core::utils::get_storage_var_address;
use zkthread_e2e::client::calldata::SlotValue as ChainSlotValue;
use zkthread_e2e::client::registry::{NewThread, Settlement};
use zkthread_e2e::client::token::balance_slot;
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::settle::{assert_settle_reverts, Watched};
use zkthread_e2e::{init_tracing, revert_bounds, ThreadWorld, SUPPLY};
use zkthread_prover::prover::prove_rows;
use zkthread_prover::trace::TransferRow;
use zkthread_prover::{
    proof_to_felts, verify, Poseidon252MerkleChannel, PublicInput, Slot, SlotValue, StarkParams,
    StatementError, VerifyError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_slots_unconsenting_contracts_and_foreign_keys_are_refused() -> Result<()> {
    init_tracing();
    let world = ThreadWorld::deploy_with_verifier().await?;
    balance_row_aimed_at_total_supply(&world).await?;
    contract_without_consent_cannot_join(&world).await?;
    only_the_account_sets_its_thread_key(&world).await?;
    Ok(())
}

/// The holder "transfers" 7 into the token's `total_supply` slot: the rows are a valid STARK
/// witness (the AIR sees slot indices only), the registry's precondition holds (both inputs are
/// current), and the verifier refuses the statement because that key is no `balances` entry.
async fn balance_row_aimed_at_total_supply(world: &ThreadWorld) -> Result<()> {
    let client = world.client();
    let token = world.token.address;
    let supply_key = get_storage_var_address("total_supply", &[])?;
    ensure!(client.storage_at(token, supply_key).await? == Felt::from(SUPPLY));
    let holder = Slot { contract: token, key: balance_slot(world.holder)? };
    let supply = Slot { contract: token, key: supply_key };
    let mut entries = [(holder, SUPPLY, SUPPLY - 7), (supply, SUPPLY, SUPPLY + 7)];
    entries.sort_by_key(|e| e.0);
    let info = world.registry.thread(client, world.thread_id).await?;
    let public_input = PublicInput {
        os_version: world.os_version,
        program_hash: world.program_hash,
        thread_id: Felt::from(world.thread_id),
        sequence: Felt::ZERO,
        contract_set_commitment: info.contract_set_commitment,
        inputs: entries.iter().map(|e| SlotValue::new(e.0, e.1)).collect(),
        outputs: entries.iter().map(|e| SlotValue::new(e.0, e.2)).collect(),
    };
    let index = |slot: Slot| entries.iter().position(|e| e.0 == slot).unwrap_or(0) as u32;
    let row = TransferRow {
        token: 0,
        from_slot: index(holder),
        to_slot: index(supply),
        from_old: SUPPLY,
        to_old: SUPPLY,
        amount: 7,
    };
    // The prover names the holder as the owner of both slots.
    let owners = vec![world.holder; 2];
    let (pi, params) = (public_input.clone(), StarkParams::DEFAULT);
    let proof = tokio::task::spawn_blocking(move || {
        prove_rows::<Poseidon252MerkleChannel>(&pi, &owners, &[row], &params)
    })
    .await?
    .context("a valid STARK for the forged statement")?;
    ensure!(matches!(
        verify::<Poseidon252MerkleChannel>(&public_input, &proof, &params),
        Err(VerifyError::Statement(StatementError::UnboundSlot { .. }))
    ));
    let chain = |list: &[SlotValue]| -> Vec<ChainSlotValue> {
        list.iter().map(|e| ChainSlotValue::new(e.slot.contract, e.slot.key, e.value)).collect()
    };
    let settlement = Settlement {
        thread_id: world.thread_id,
        sequence: 0,
        inputs: chain(&public_input.inputs),
        outputs: chain(&public_input.outputs),
        // The unsigned program proves no transaction list.
        transactions: Default::default(),
        proof: proof_to_felts(&proof),
    };
    ensure!(world.registry.public_input(client, &settlement).await? == public_input.to_felts());
    let watched = Watched { slots: vec![(token, holder.key), (token, supply_key)], threads: vec![world.thread_id] };
    let bounds = revert_bounds(client).await?;
    assert_settle_reverts(&world.registry, client, &settlement, bounds, "registry: invalid proof", &watched)
        .await?;
    // Why, in the verifier's words.
    let verifier = world.registry.program_verifier(client, world.program_hash).await?;
    let mut calldata = vec![Felt::from(public_input.to_felts().len() as u64)];
    calldata.extend(public_input.to_felts());
    calldata.push(Felt::from(settlement.proof.len() as u64));
    calldata.extend(settlement.proof.iter().copied());
    let reason = client.call(verifier, "rejection", calldata).await?;
    ensure!(
        reason == vec![Felt::from_bytes_be_slice(b"statement: unbound slot")],
        "the verifier's reason: {reason:?}"
    );
    ensure!(world.token.total_supply(client).await? == SUPPLY, "total supply changed");
    Ok(())
}

/// A token deployed without accepting the program cannot be put in a thread with it.
async fn contract_without_consent_cannot_join(world: &ThreadWorld) -> Result<()> {
    let client = world.client();
    let refusing = world
        .deploy_token_accepting(client, "NOPE", Felt::from(77u8), &[])
        .await
        .context("deploying a token that accepts no program")?;
    ensure!(!refusing.accepts_program(client, world.program_hash).await?);
    let before = world.registry.thread_count(client).await?;
    let thread = NewThread {
        os_version: world.os_version,
        program_hash: world.program_hash,
        contracts: vec![refusing.address],
        admin: world.holder,
        provers: vec![],
    };
    let bounds = revert_bounds(client).await?;
    let outcome = client
        .invoke(vec![world.registry.create_thread_call(&thread)?], FeeMode::Manual(bounds))
        .await?;
    let reason = outcome.revert_reason().unwrap_or_default().to_owned();
    ensure!(reason.contains("registry: program not accepted"), "reverted with: {reason}");
    ensure!(world.registry.thread_count(client).await? == before, "a thread was created");
    Ok(())
}

/// Account #1 calls `set_thread_key`: its own slot changes, the holder's does not (there is no
/// way to name another account's slot).
async fn only_the_account_sets_its_thread_key(world: &ThreadWorld) -> Result<()> {
    let holder_client = world.client();
    let other = world.chain.client(1)?;
    let token = &world.token;
    let mine = Felt::from(0x1234_5678u64);
    holder_client
        .invoke(vec![token.set_thread_key_call(mine)?], FeeMode::default())
        .await?
        .require_success("holder set_thread_key")?;
    let holder_slot = token.thread_key(holder_client, world.holder).await?;
    let attacker_key = Felt::from(0x0bad_0badu64);
    other
        .invoke(vec![token.set_thread_key_call(attacker_key)?], FeeMode::default())
        .await?
        .require_success("other set_thread_key")?;
    ensure!(token.thread_key(holder_client, world.holder).await? == holder_slot, "victim's key changed");
    let theirs = token.thread_key(holder_client, other.address()).await?;
    // Their own slot: the key in the low 124 bits, nonce 1 above.
    ensure!(theirs == attacker_key + Felt::TWO.pow(124u32), "other's slot: {theirs:#x}");
    Ok(())
}
