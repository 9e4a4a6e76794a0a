//! Proving a thread's built sub-block with Stwo (either token program, `crate::token`: every
//! signature, nonce and balance move in the AIR), verifying it off-chain and storing the proof felts
//! (Built → Proven). Needs no node: everything is in the store.

use std::time::{Duration, Instant};

use zkthread_prover::{StarkParams, ThreadChannel};
use zkthread_store::{Felt, NewTransfer, Store, SubBlock, ThreadKey};
use zkthread_token::SignedPublicInput;

use crate::codec::{rebuild, settlement, statement};
use crate::error::{EngineError, Result};
use crate::isolation::{self, Blame};
use crate::preflight::MAX_CALLDATA_FELTS;
use crate::program::{self, describe_params, Channel, ProofParams, ProvenSubBlock, FAST_PROOF_STARK_FELTS, PARAMS};
use crate::token::{Batched, TokenMessage};
use crate::Observer;

/// What [`prove`] did.
#[derive(Debug)]
pub enum ProveOutcome<M = NewTransfer> {
    /// The thread has no sub-block in flight.
    NothingBuilt,
    /// No sub-block is Built: the oldest in-flight one was proven before (it may be on its
    /// way to settle).
    AlreadyProven(SubBlock<M>),
    Proved(Proved<M>),
}

/// A sub-block proven now and recorded as Proven.
#[derive(Debug)]
pub struct Proved<M = NewTransfer> {
    pub sub_block: SubBlock<M>,
    /// The parameter set the proof was made at.
    pub params: StarkParams,
    pub proof_felts: usize,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
    pub prove_time: Duration,
    pub verify_time: Duration,
}

/// Proves the thread's Built sub-block (there is at most one; it may have been built ahead on
/// a proven one: its statement names its own sequence and inputs), for the thread's token
/// program `M` (`crate::token`), at the program's first parameter set ([`prove_at`] chooses).
/// A proof that does not verify off-chain is never stored: settling it would pay for a
/// doomed transaction.
pub async fn prove<M: TokenMessage>(store: &Store<M>, key: ThreadKey, observer: &dyn Observer) -> Result<ProveOutcome<M>> {
    prove_at(store, key, ProofParams::Compact, observer).await
}

/// [`prove`] at the parameter set `choice` asks for, where the program and the sub-block allow
/// it ([`TokenMessage::params_for`]). A proof at another set than [`PARAMS`] whose settlement
/// would exceed [`MAX_CALLDATA_FELTS`] is not kept: the sub-block is proven again at
/// [`PARAMS`] (a settlement that cannot be sent would hold the thread's next sequence).
pub async fn prove_at<M: TokenMessage>(
    store: &Store<M>,
    key: ThreadKey,
    choice: ProofParams,
    observer: &dyn Observer,
) -> Result<ProveOutcome<M>> {
    let Some(sub_block) = store.built(key)? else {
        return Ok(match store.in_flight(key)? {
            Some(proven) => ProveOutcome::AlreadyProven(proven),
            None => ProveOutcome::NothingBuilt,
        });
    };
    // Both read only the stored sub-block: failing once, they fail every time.
    let (statement, witness) = match statement(&sub_block, key.registry).and_then(|s| Ok((s, rebuild(&sub_block, key.registry)?))) {
        Ok(both) => both,
        Err(error @ EngineError::Corrupt(_)) => return Err(end_unprovable(store, key, &sub_block, &error)?),
        Err(other) => return Err(other),
    };
    let job = ProveJob { store, key, sub_block: &sub_block, statement: &statement, observer };
    let Fitting { proof, params, prove_time, log_rows, felts } = job.fitting(witness, choice).await?;
    observer.done(&format!("largest component 2^{log_rows} rows"));
    observer.step("verifying the proof off-chain");
    let began = Instant::now();
    if let Err(source) = M::verify(&statement, &proof) {
        let error = EngineError::Verify { what: "the new proof", source };
        return Err(end_unprovable(store, key, &sub_block, &error)?);
    }
    let verify_time = began.elapsed();
    let proof_felts = felts.len();
    observer.done(&format!(
        "{:.0} ms, {proof_felts} proof felts",
        verify_time.as_secs_f64() * 1e3
    ));
    let sub_block = store.record_proof(key, sub_block.sequence(), sub_block.attempt, felts)?;
    Ok(ProveOutcome::Proved(Proved {
        sub_block,
        params,
        proof_felts,
        log_rows,
        prove_time,
        verify_time,
    }))
}

/// A proof [`ProveJob::fitting`] keeps, with its felts.
struct Fitting<P> {
    proof: P,
    params: StarkParams,
    prove_time: Duration,
    log_rows: u32,
    felts: Vec<Felt>,
}

/// One Built sub-block being proven: what every proving step reads, and what a prover
/// failure ends.
struct ProveJob<'a, M: TokenMessage> {
    store: &'a Store<M>,
    key: ThreadKey,
    sub_block: &'a SubBlock<M>,
    statement: &'a SignedPublicInput,
    observer: &'a dyn Observer,
}

impl<M: TokenMessage> ProveJob<'_, M> {
    /// Proves the sub-block at the set `choice` asks for ([`TokenMessage::params_for`]), where
    /// its settlement can fit [`MAX_CALLDATA_FELTS`]: a set other than [`PARAMS`] is not tried
    /// when its typical proof ([`FAST_PROOF_STARK_FELTS`]) would not fit, and a proof at it
    /// that does not fit after all is dropped for one at [`PARAMS`] (a settlement that cannot
    /// be sent would hold the thread's next sequence). A prover failure ends the sub-block
    /// ([`end_unprovable`]).
    async fn fitting(&self, witness: Batched<M::Witness>, choice: ProofParams) -> Result<Fitting<M::Proof>> {
        // The settlement's calldata but for the proof's felts (a Built sub-block has no proof);
        // those are the slot owners, their count and the STARK proof.
        let settle_felts = settlement(self.sub_block).calldata().len();
        let expected = settle_felts + witness.owners.len() + 1 + FAST_PROOF_STARK_FELTS;
        let params = M::params_for(choice, &witness.witness);
        if params != PARAMS && expected <= MAX_CALLDATA_FELTS {
            let attempt = self.once(witness.clone(), params).await?;
            let calldata = settle_felts + attempt.felts.len();
            if calldata <= MAX_CALLDATA_FELTS {
                return Ok(attempt);
            }
            self.observer.done(&format!(
                "its settlement would be {calldata} calldata felts, over {MAX_CALLDATA_FELTS}: proving at {} instead",
                describe_params(&PARAMS)
            ));
        }
        self.once(witness, PARAMS).await
    }

    /// One proof of the sub-block at `params`, with its felts.
    async fn once(&self, witness: Batched<M::Witness>, params: StarkParams) -> Result<Fitting<M::Proof>> {
        let sub_block = self.sub_block;
        self.observer.step(&format!(
            "proving sub-block {} ({} {}(s), {} transfer(s), {} slots) with Stwo ({}, {}, {} bits)",
            sub_block.sequence(),
            sub_block.body.messages.len(),
            M::NOUN,
            crate::token::transfers_in(&sub_block.body.messages),
            witness.outputs.len(),
            Channel::NAME,
            describe_params(&params),
            params.security_bits()
        ));
        let proven = program::prove_program::<M>(self.statement.clone(), witness.owners, witness.witness, params).await;
        let ProvenSubBlock { proof, elapsed, log_rows } = match proven {
            Err(error @ EngineError::Prove(_)) => return Err(end_unprovable(self.store, self.key, sub_block, &error)?),
            other => other?,
        };
        let felts = M::to_felts(&proof);
        Ok(Fitting { proof, params, prove_time: elapsed, log_rows, felts })
    }
}

/// Ends `sub_block`, Built, that the prover side failed on (`error`): proving it again would
/// fail the same way (`crate::isolation`). One built ahead on a sub-block not yet settled is
/// only ended (it is rebuilt on chain state); otherwise its messages are split until the one
/// the prover fails on is refused. Returns [`EngineError::Unprovable`] saying what was done.
fn end_unprovable<M: TokenMessage>(store: &Store<M>, key: ThreadKey, sub_block: &SubBlock<M>, error: &EngineError) -> Result<EngineError> {
    let blame = if sub_block.body.parent_attempt.is_some() { Blame::NotTheMessages } else { Blame::Messages };
    let detail = isolation::end_unprovable(store, key, sub_block, error, blame)?;
    Ok(EngineError::Unprovable { sequence: sub_block.sequence(), detail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Logged;
    use zkthread_store::fixtures::record_placeholder_sub_block;
    use zkthread_store::{Felt, NewTransfer, SubBlockStatus};

    /// Service review F6 for transfers: a Built sub-block the prover side fails on, every time
    /// (here one that does not batch again: its transfers carry no signature record, which
    /// only a bug or a tampered store puts in a sub-block), is not retried forever. It ends
    /// with its transfers pending again in order; the cap halves until the transfer it fails
    /// on is alone, which is refused with the reason; the cap goes with the last suspect.
    #[tokio::test]
    async fn a_sub_block_the_prover_fails_on_is_split_until_its_transfer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = ThreadKey::new(Felt::from(0xabcu64), 1);
        for from in 0..3u64 {
            let unsigned = NewTransfer { token: Felt::ONE, from: Felt::from(10 + from), to: Felt::TWO, amount: 5, auth: None };
            store.submit(key, unsigned).unwrap();
        }
        let all = store.pending(key).unwrap();
        let build = |messages: &[zkthread_store::Transfer]| {
            record_placeholder_sub_block(&store, key, 0, messages, (1, 1), None).unwrap();
        };
        build(&all);
        let ended = prove(&store, key, &Logged).await.unwrap_err();
        assert!(
            matches!(&ended, EngineError::Unprovable { sequence: 0, detail } if detail.contains("take at most 1 while")),
            "{ended}"
        );
        assert_eq!(store.pending(key).unwrap(), all, "pending again, in order");
        assert_eq!(isolation::cap_round(&store, key, all.clone()).unwrap(), all[..1], "sub-blocks take one");
        assert!(store.built(key).unwrap().is_none() && store.in_flight(key).unwrap().is_none());
        let status = &store.sub_blocks(key).unwrap()[0].status;
        assert!(matches!(status, SubBlockStatus::Stale { reason, .. } if reason.contains("the prover failed on it")), "{status:?}");
        build(&all[..1]);
        let ended = prove(&store, key, &Logged).await.unwrap_err();
        assert!(matches!(&ended, EngineError::Unprovable { detail, .. } if detail.ends_with("refused")), "{ended}");
        let rejected = store.rejected(key).unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].message, all[0]);
        assert!(rejected[0].reason.contains("without a valid signature record") && rejected[0].reason.ends_with("alone"), "{}", rejected[0].reason);
        let rest = store.pending(key).unwrap();
        assert_eq!(rest, all[1..], "the others go on");
        assert_eq!(isolation::cap_round(&store, key, rest.clone()).unwrap(), rest, "no cap: no suspect pending");
    }
}
