//! Settlement fuzzing on the devnet with real proofs and the real on-chain verifier.
//!
//! Random interleavings of three kinds of step, against one world (registry, token, one thread
//! over the token) kept across cases, with a reference model of every balance and of the
//! thread's sequence:
//! - `Direct`: an L2 `transfer` signed by a devnet account (not through the thread);
//! - `Prove`: the batcher builds a sub-block from on-chain state, it is proven for the next
//!   sequence and kept (not sent) — skipped while a kept one would still settle, so no proof
//!   is wasted;
//! - `Settle`: a kept settlement is sent — the pending one or an older one (a replay once settled),
//!   honest or tampered: an input value changed, an output value changed, one proof
//!   felt changed, or the sequence moved.
//!
//! The model predicts each settlement's fate from the registry's rules, in the registry's
//! order (sequence, then the proof, valid only if untouched, then inputs against the model's
//! balances, made stale by `Direct` transfers): it must settle exactly when predicted, else
//! revert with the predicted reason,
//! charging the sender exactly the fee and changing no balance slot and not the sequence.
//! After every step every balance on chain equals the model. Each case closes by sending the
//! settlement still pending (if any) with an input off by one, with a proof felt changed, then
//! honestly.
//!
//! Cost bound: `PROPTEST_CASES` cases (default 3), at most [`MAX_PROOFS_PER_CASE`] = 2 proofs
//! per case (a `Prove` step over budget is skipped), 4..=8 steps plus <= 3 closing steps per
//! case; a proof takes 15-35 s and an honest settlement 5-10 s on devnet (a rejected one
//! 0.1-3 s), so the default run is at most 6 proofs and 6 honest settlements: measured 4.5 min
//! on the shared 2-core machine under load (13:10 UTC). No shrinking (each case costs real
//! proofs, and the shared world's state moves on between cases). The seed is fixed; set
//! `ZKTHREAD_FUZZ_SEED` (a u64) to explore others — the failing case and seed are printed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{anyhow, ensure, Result};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use zkthread_e2e::client::registry::Settlement;
use zkthread_e2e::client::{ChainClient, FeeMode, Felt};
use zkthread_e2e::settle::{
    assert_settle_reverts, batch_on_chain, prove_settlement, settle_and_check, settle_bounds,
    transfer, Ledger, Proven, Watched,
};
use zkthread_e2e::{init_tracing, ThreadWorld, SUPPLY};
use zkthread_prover::{Slot, Transfer};

/// Devnet accounts #0..N_ACCOUNTS take part (#0 holds the supply at the start).
const N_ACCOUNTS: usize = 4;
const MAX_PROOFS_PER_CASE: usize = 2;
const DEFAULT_CASES: u32 = 3;
const DEFAULT_SEED: u64 = 0x2a7e_5eed;

/// A share of the sender's current balance, in thousandths (1..=500: never all of it).
type PerMille = u16;

#[derive(Clone, Debug)]
enum Op {
    Direct {
        from: usize,
        to: usize,
        per_mille: PerMille,
    },
    Prove {
        transfers: Vec<(usize, usize, PerMille)>,
    },
    /// `older`: None = the proven settlement that would settle now if any, else the latest;
    /// Some(i) = proven settlement `i` modulo how many there are (settled ones: a replay).
    Settle {
        older: Option<usize>,
        tamper: Tamper,
    },
}

#[derive(Clone, Copy, Debug)]
enum Tamper {
    None,
    InputValue { index: usize, delta: u64 },
    OutputValue { index: usize, delta: u64 },
    ProofFelt { index: usize },
    Sequence { delta: u8 },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        4 => Just(Tamper::None),
        1 => (any::<usize>(), 1u64..1_000).prop_map(|(index, delta)| Tamper::InputValue { index, delta }),
        1 => (any::<usize>(), 1u64..1_000).prop_map(|(index, delta)| Tamper::OutputValue { index, delta }),
        1 => any::<usize>().prop_map(|index| Tamper::ProofFelt { index }),
        1 => (1u8..=2).prop_map(|delta| Tamper::Sequence { delta }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let share = || (0..N_ACCOUNTS, 0..N_ACCOUNTS, 1..=500 as PerMille);
    prop_oneof![
        3 => share().prop_map(|(from, to, per_mille)| Op::Direct { from, to, per_mille }),
        2 => prop::collection::vec(share(), 1..=4).prop_map(|transfers| Op::Prove { transfers }),
        4 => (prop::option::weighted(0.25, any::<usize>()), tamper())
            .prop_map(|(older, tamper)| Op::Settle { older, tamper }),
    ]
}

/// What the fuzz knows across cases: the model and every settlement proven so far.
struct Fuzz {
    ledger: Ledger,
    sequence: u64,
    proven: Vec<Proven>,
    /// Counts by outcome, for the summary.
    outcomes: BTreeMap<String, usize>,
}

struct Case<'a> {
    world: &'a ThreadWorld,
    clients: Vec<ChainClient>,
    accounts: Vec<Felt>,
    proofs: usize,
}

impl Case<'_> {
    fn token(&self) -> Felt {
        self.world.token.address
    }

    /// The `from`-th (modulo) account that has a balance, so generated senders can pay.
    fn sender(&self, ledger: &Ledger, from: usize) -> Option<usize> {
        let funded: Vec<usize> = (0..self.accounts.len())
            .filter(|i| ledger.balance(self.token(), self.accounts[*i]) > 0)
            .collect();
        (!funded.is_empty()).then(|| funded[from % funded.len()])
    }

    /// A transfer of `per_mille` of the sender's balance in `ledger`, with the sender's index;
    /// None if it would be degenerate (nobody funded, zero amount, self transfer).
    fn share(
        &self,
        ledger: &Ledger,
        from: usize,
        to: usize,
        per_mille: PerMille,
    ) -> Option<(usize, Transfer)> {
        let from = self.sender(ledger, from)?;
        let amount =
            ledger.balance(self.token(), self.accounts[from]) * u128::from(per_mille) / 1_000;
        (amount > 0 && from != to).then(|| {
            let t = transfer(self.token(), self.accounts[from], self.accounts[to], amount);
            (from, t)
        })
    }

    async fn step(&mut self, fuzz: &mut Fuzz, op: &Op) -> Result<String> {
        match op {
            Op::Direct {
                from,
                to,
                per_mille,
            } => {
                let Some((sender, t)) = self.share(&fuzz.ledger, *from, *to, *per_mille) else {
                    return Ok("direct: skipped (nothing to send)".into());
                };
                self.world
                    .token
                    .transfer(&self.clients[sender], t.to, t.amount, FeeMode::default())
                    .await?;
                fuzz.ledger.apply(&t)?;
                Ok(format!("direct: #{sender} -> #{to} {}", t.amount))
            }
            Op::Prove { transfers } => {
                if self.proofs == MAX_PROOFS_PER_CASE {
                    return Ok("prove: skipped (proof budget of the case spent)".into());
                }
                // A proof is the expensive step: none while a proven one would still settle.
                if let Some(i) = fuzz
                    .proven
                    .iter()
                    .position(|p| predict(fuzz, &p.settlement, true).is_none())
                {
                    return Ok(format!("prove: skipped (proven #{i} would settle)"));
                }
                // Amounts from a scratch copy of the model so each transfer is affordable.
                let mut scratch = fuzz.ledger.clone();
                let mut batch: Vec<Transfer> = Vec::new();
                for (from, to, per_mille) in transfers {
                    if let Some((_, t)) = self.share(&scratch, *from, *to, *per_mille) {
                        scratch.apply(&t)?;
                        batch.push(t);
                    }
                }
                if batch.is_empty() {
                    return Ok("prove: skipped (no transfer with a positive amount)".into());
                }
                let client = self.world.client();
                let sub_block = batch_on_chain(client, &[self.token()], &batch).await?;
                for input in &sub_block.inputs {
                    ensure!(
                        input.value == fuzz.ledger.value(&input.slot),
                        "batcher read a balance the model does not have"
                    );
                }
                let proven = prove_settlement(client, &self.world.thread(), sub_block).await?;
                ensure!(proven.settlement.sequence == fuzz.sequence);
                self.proofs += 1;
                fuzz.proven.push(proven);
                Ok(format!(
                    "prove: {} transfers for sequence {}",
                    batch.len(),
                    fuzz.sequence
                ))
            }
            Op::Settle { older, tamper } => {
                let Some(latest) = fuzz.proven.len().checked_sub(1) else {
                    return Ok("settle: skipped (nothing proven yet)".into());
                };
                // "The latest" is the one still settleable if there is one, so tampering
                // mostly hits a settlement that only the tampering can make fail.
                let pending = fuzz
                    .proven
                    .iter()
                    .rposition(|p| predict(fuzz, &p.settlement, true).is_none());
                let pick = older.map_or(pending.unwrap_or(latest), |i| i % fuzz.proven.len());
                let proven = fuzz.proven[pick].clone();
                let settlement = apply_tamper(&proven.settlement, *tamper);
                let untouched = settlement.inputs == proven.settlement.inputs
                    && settlement.outputs == proven.settlement.outputs
                    && settlement.proof == proven.settlement.proof
                    && settlement.sequence == proven.settlement.sequence;
                let what = format!(
                    "settle: proven #{pick} (sequence {}) {tamper:?}",
                    proven.settlement.sequence
                );
                let client = self.world.client();
                let registry = &self.world.registry;
                match predict(fuzz, &settlement, untouched) {
                    None => {
                        settle_and_check(registry, client, &settlement).await?;
                        fuzz.ledger.apply_all(&proven.sub_block.transfers)?;
                        fuzz.sequence += 1;
                        *fuzz.outcomes.entry("settled".into()).or_default() += 1;
                        Ok(format!("{what}: settled"))
                    }
                    Some(reason) => {
                        let watched = Watched::settlement(&settlement, &[self.world.thread_id]);
                        let bounds = settle_bounds(client).await?;
                        assert_settle_reverts(
                            registry,
                            client,
                            &settlement,
                            bounds,
                            reason,
                            &watched,
                        )
                        .await?;
                        *fuzz.outcomes.entry(reason.into()).or_default() += 1;
                        Ok(format!("{what}: reverted {reason}"))
                    }
                }
            }
        }
    }
}

fn apply_tamper(settlement: &Settlement, tamper: Tamper) -> Settlement {
    let mut s = settlement.clone();
    match tamper {
        Tamper::None => {}
        Tamper::InputValue { index, delta } => {
            let n = s.inputs.len();
            s.inputs[index % n].value += Felt::from(delta);
        }
        Tamper::OutputValue { index, delta } => {
            let n = s.outputs.len();
            s.outputs[index % n].value += Felt::from(delta);
        }
        Tamper::ProofFelt { index } => {
            let n = s.proof.len();
            s.proof[index % n] += Felt::ONE;
        }
        Tamper::Sequence { delta } => s.sequence += u64::from(delta),
    }
    s
}

/// The registry's verdict on `settlement` by the model, in the registry's order of checks;
/// `None` = it settles. The proof is valid only for the exact statement it was made for.
fn predict(fuzz: &Fuzz, settlement: &Settlement, untouched: bool) -> Option<&'static str> {
    if settlement.sequence != fuzz.sequence {
        return Some("registry: wrong sequence");
    }
    // The proof before the inputs: each contract's inputs are compared right before its
    // outputs are written.
    if !untouched {
        return Some("registry: invalid proof");
    }
    let stale = settlement.inputs.iter().any(|input| {
        let slot = Slot {
            contract: input.contract,
            key: input.key,
        };
        input.value != fuzz.ledger.value(&slot)
    });
    if stale {
        return Some("registry: stale input");
    }
    None
}

/// Runs `ops`, then closes the case: a proven settlement that would still settle is sent with
/// input `closing_felt` (modulo the count) off by one, then with proof felt `closing_felt`
/// changed — both must revert (`invalid proof`: an input off by one is another statement than
/// the one proven) — and then honestly, so every case ends with nothing pending and exercises
/// the verifier both ways; proven inputs turn stale through the cases' direct L2 transfers.
async fn run_case(
    world: &ThreadWorld,
    fuzz: &mut Fuzz,
    ops: &[Op],
    closing_felt: usize,
) -> Result<()> {
    let mut case = Case {
        world,
        clients: (0..N_ACCOUNTS)
            .map(|i| world.chain.client(i))
            .collect::<Result<_>>()?,
        accounts: world.accounts(N_ACCOUNTS),
        proofs: 0,
    };
    let closing = [
        Tamper::InputValue {
            index: closing_felt,
            delta: 1,
        },
        Tamper::ProofFelt {
            index: closing_felt,
        },
        Tamper::None,
    ]
    .map(|tamper| Op::Settle {
        older: None,
        tamper,
    });
    for (i, op) in ops.iter().chain(&closing).enumerate() {
        let closing_step = i >= ops.len();
        let pending = fuzz
            .proven
            .iter()
            .any(|p| predict(fuzz, &p.settlement, true).is_none());
        if closing_step && !pending {
            break;
        }
        let done = case
            .step(fuzz, op)
            .await
            .map_err(|e| anyhow!("step {i} {op:?}: {e:#}"))?;
        eprintln!(
            "  {}step {i}: {done}",
            if closing_step { "closing " } else { "" }
        );
        fuzz.ledger.assert_on_chain(world.client()).await?;
        let sequence = world
            .registry
            .next_sequence(world.client(), world.thread_id)
            .await?;
        ensure!(
            sequence == fuzz.sequence,
            "sequence {sequence} on chain, model {}",
            fuzz.sequence
        );
    }
    Ok(())
}

#[test]
fn random_settlements_transfers_and_tampering_keep_the_model() -> Result<()> {
    init_tracing();
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(text) => text
            .parse()
            .map_err(|_| anyhow!("PROPTEST_CASES={text:?} is not a count"))?,
        Err(_) => DEFAULT_CASES,
    };
    let seed = match std::env::var("ZKTHREAD_FUZZ_SEED") {
        Ok(text) => text
            .parse()
            .map_err(|_| anyhow!("ZKTHREAD_FUZZ_SEED={text:?} is not a u64"))?,
        Err(_) => DEFAULT_SEED,
    };
    eprintln!("settlement fuzz: {cases} cases, seed {seed}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let world = runtime.block_on(ThreadWorld::deploy_with_verifier())?;
    let ledger = Ledger::new(
        &[world.token.address],
        world.holder,
        SUPPLY,
        &world.accounts(N_ACCOUNTS),
    );
    let fuzz = Mutex::new(Fuzz {
        ledger,
        sequence: 0,
        proven: Vec::new(),
        outcomes: BTreeMap::new(),
    });

    let config = Config {
        cases,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    };
    let seed_bytes: Vec<u8> = seed.to_le_bytes().repeat(4);
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let case_number = Mutex::new(0usize);
    let strategy = (prop::collection::vec(op(), 4..=8), any::<usize>());
    let result = runner.run(&strategy, |(ops, closing_felt)| {
        let mut number = case_number
            .lock()
            .map_err(|_| TestCaseError::fail("poisoned"))?;
        *number += 1;
        eprintln!("case {}: {} steps", *number, ops.len());
        let mut fuzz = fuzz.lock().map_err(|_| TestCaseError::fail("poisoned"))?;
        runtime
            .block_on(run_case(&world, &mut fuzz, &ops, closing_felt))
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))
    });
    let fuzz = fuzz.lock().map_err(|_| anyhow!("poisoned"))?;
    eprintln!(
        "settlement fuzz: sequence {}, {} proofs, outcomes {:?}",
        fuzz.sequence,
        fuzz.proven.len(),
        fuzz.outcomes
    );
    result.map_err(|e| anyhow!("seed {seed}: {e}"))?;
    Ok(())
}
