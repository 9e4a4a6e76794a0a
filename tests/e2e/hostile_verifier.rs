//! A registered program cannot act as the registry, on devnet with real compiled classes.
//!
//! The registry owner registers `HostileVerifierTestDouble` (test-only package `tests/cairo`)
//! next to the real `ThreadVerifier`. An attacker deploys its own token accepting the hostile
//! program and opens a thread over it; its "proof" names an attack, which the hostile `verify`
//! tries while the registry settles the attacker's thread. Because the registry calls its
//! verifier instance (`call_contract`) instead of running the class as itself (`library_call`),
//! every attack is refused with the refusing check's own reason, the attacker pays the fee, and
//! no balance, sequence or thread record changes.

use anyhow::{ensure, Result};
use zkthread_e2e::client::calldata::short_string;
use zkthread_e2e::client::registry::{verifier_address, NewThread, Settlement};
use zkthread_e2e::client::token::balance_slot;
use zkthread_e2e::client::{FeeMode, Felt};
use zkthread_e2e::settle::{assert_settle_reverts, Watched};
use zkthread_e2e::{init_tracing, revert_bounds, test_double, ThreadWorld, HOSTILE_VERIFIER, SUPPLY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_hostile_verifier_cannot_act_as_the_registry() -> Result<()> {
    init_tracing();
    let hostile = test_double(HOSTILE_VERIFIER)?;
    // The victim: the world's thread (real ThreadVerifier) over its token; account #0 is the
    // registry owner, the thread admin and the holder of the whole supply.
    let world = ThreadWorld::deploy_with_verifier().await?;
    let owner = world.client();
    let registry = &world.registry;
    let victim_token = world.token.address;

    // The owner registers the hostile class by mistake: the registry deploys an instance of it
    // where anyone can recompute it.
    owner.declare(hostile).await?;
    registry
        .register_program(owner, world.os_version, hostile.class_hash)
        .await?;
    let instance = registry.program_verifier(owner, hostile.class_hash).await?;
    ensure!(instance == verifier_address(registry.address, hostile.class_hash));
    ensure!(instance != registry.address);

    // The attacker: its own token, which accepts the hostile program, and a thread over it.
    let attacker = world.chain.client(3)?;
    let bait = world
        .deploy_token_accepting(&attacker, "BAIT", Felt::THREE, &[hostile.class_hash])
        .await?;
    let (hostile_thread, _) = registry
        .create_thread(
            &attacker,
            &NewThread {
                os_version: world.os_version,
                program_hash: hostile.class_hash,
                contracts: vec![bait.address],
                admin: attacker.address(),
                provers: vec![],
            },
        )
        .await?;

    let victim_record = registry.thread(owner, world.thread_id).await?;
    let watched = Watched {
        slots: vec![
            (victim_token, balance_slot(world.holder)?),
            (victim_token, balance_slot(attacker.address())?),
        ],
        threads: vec![world.thread_id, hostile_thread],
    };
    let attack = |proof: Vec<Felt>| Settlement {
        thread_id: hostile_thread,
        sequence: 0,
        inputs: vec![],
        outputs: vec![],
        transactions: Default::default(),
        proof,
    };
    let mode = |name: &str| short_string(name);
    let victim_thread = Felt::from(world.thread_id);
    let bounds = revert_bounds(&attacker).await?;
    let attacks = [
        // (a) Give the attacker the victim token's supply through the victim's thread, which
        // includes the token (as the registry, this write would have gone through).
        (
            vec![
                mode("write_slots")?,
                victim_token,
                victim_thread,
                balance_slot(attacker.address())?,
                Felt::from(SUPPLY),
            ],
            "thread: caller not registry",
        ),
        // (b) Settle from inside the settlement.
        (
            vec![mode("settle")?, victim_thread, Felt::ZERO],
            "registry: reentrant settle",
        ),
        // (c) Administer the victim's thread, vet another program.
        (
            vec![mode("set_active")?, victim_thread],
            "registry: caller not admin",
        ),
        (
            vec![mode("register_program")?, world.os_version, Felt::from(0x5e771eu32)],
            "registry: caller not owner",
        ),
    ];
    for (proof, reason) in attacks {
        assert_settle_reverts(registry, &attacker, &attack(proof), bounds, reason, &watched)
            .await?;
    }
    ensure!(world.token.balance_of(owner, world.holder).await? == SUPPLY);
    ensure!(world.token.balance_of(owner, attacker.address()).await? == 0);
    ensure!(registry.thread(owner, world.thread_id).await? == victim_record);
    ensure!(registry.program_os_version(owner, Felt::from(0x5e771eu32)).await?.is_none());

    // All the program can do is judge its own thread: with no attack it accepts, and only the
    // attacker's thread moves on.
    let outcome = registry
        .settle(&attacker, &attack(vec![]), FeeMode::default())
        .await?
        .require_success("settle the hostile thread")?;
    eprintln!("hostile thread settled an empty sub-block, fee {}", outcome.actual_fee);
    ensure!(registry.next_sequence(owner, hostile_thread).await? == 1);
    ensure!(registry.next_sequence(owner, world.thread_id).await? == 0);
    Ok(())
}
