//! Proving a thread's built sub-block with Stwo (the signed program: every signature, nonce
//! and balance move in the AIR), verifying it off-chain and storing the proof felts
//! (Built → Proven). Needs no node: everything is in the store.

use std::time::{Duration, Instant};

use zkthread_token::poseidon252;
use zkthread_prover::ThreadChannel;
use zkthread_store::{Rejected, Store, SubBlock, SubBlockStatus, ThreadKey};

use crate::codec::{rebuild, statement};
use crate::error::{EngineError, Result};
use crate::program::{self, Channel, ProvenSubBlock, PARAMS};
use crate::Observer;

/// What [`prove`] did.
#[derive(Debug)]
pub enum ProveOutcome {
    /// The thread has no sub-block in flight.
    NothingBuilt,
    /// No sub-block is Built: the oldest in-flight one was proven before (it may be on its
    /// way to settle).
    AlreadyProven(SubBlock),
    Proved(Proved),
}

/// A sub-block proven now and recorded as Proven.
#[derive(Debug)]
pub struct Proved {
    pub sub_block: SubBlock,
    pub proof_felts: usize,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
    pub prove_time: Duration,
    pub verify_time: Duration,
}

/// Proves the thread's Built sub-block (there is at most one; it may have been built ahead on
/// a proven one: its statement names its own sequence and inputs). A proof that does not verify off-chain is never
/// stored: settling it would pay for a doomed transaction.
pub async fn prove(store: &Store, key: ThreadKey, observer: &dyn Observer) -> Result<ProveOutcome> {
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
    observer.step(&format!(
        "proving sub-block {} ({} signed transfers, {} slots) with Stwo ({}, {} bits)",
        sub_block.sequence(),
        witness.transfers.len(),
        witness.outputs.len(),
        Channel::NAME,
        PARAMS.security_bits()
    ));
    let proven = match program::prove(statement.clone(), witness.owners, witness.rows).await {
        Err(error @ EngineError::Prove(_)) => return Err(end_unprovable(store, key, &sub_block, &error)?),
        other => other?,
    };
    let ProvenSubBlock {
        proof,
        elapsed: prove_time,
        log_rows,
    } = proven;
    observer.done(&format!("largest component 2^{log_rows} rows"));
    observer.step("verifying the proof off-chain");
    let began = Instant::now();
    if let Err(source) = poseidon252::verify(&statement, &proof, &PARAMS) {
        let error = EngineError::Verify { what: "the new proof", source };
        return Err(end_unprovable(store, key, &sub_block, &error)?);
    }
    let verify_time = began.elapsed();
    let felts = poseidon252::to_felts(&proof);
    let proof_felts = felts.len();
    observer.done(&format!(
        "{:.0} ms, {proof_felts} proof felts",
        verify_time.as_secs_f64() * 1e3
    ));
    let sub_block = store.record_proof(key, sub_block.sequence(), sub_block.attempt, felts)?;
    Ok(ProveOutcome::Proved(Proved {
        sub_block,
        proof_felts,
        log_rows,
        prove_time,
        verify_time,
    }))
}

/// The store note holding the thread's round cap while a sub-block the prover failed on is
/// being split (JSON `null` or absent: no cap).
const ROUND_CAP_NOTE: &str = "transfer_round_cap";

/// The most pending transfers one sub-block takes while [`end_unprovable`] isolates a transfer
/// the prover fails on (`None`: no cap).
pub fn round_cap(store: &Store, key: ThreadKey) -> Result<Option<usize>> {
    let Some(json) = store.note(key, ROUND_CAP_NOTE)? else {
        return Ok(None);
    };
    let cap: Option<usize> = serde_json::from_str(&json)
        .map_err(|e| EngineError::Corrupt(format!("the store's round cap {json:?}: {e}")))?;
    Ok(cap.map(|c| c.max(1)))
}

fn set_round_cap(store: &Store, key: ThreadKey, cap: Option<usize>) -> Result<()> {
    let json = serde_json::to_string(&cap).map_err(|e| EngineError::Corrupt(e.to_string()))?;
    store.set_note(key, ROUND_CAP_NOTE, &json)?;
    Ok(())
}

/// Ends `sub_block`, Built, that the prover or the off-chain verifier failed on (`error`).
/// Both see only what the store holds, so proving it again fails again: retried, it would hold
/// the thread's next sequence for good (service review F6). Its transfers go back to pending,
/// and the round cap halves to their half, so the next sub-blocks split them until the one
/// the prover fails on is alone; that one is refused with the prover's reason and the cap is
/// lifted. The batcher checks what the AIR does before it emits a row, so this is a bug
/// showing: it is logged as an error. Returns [`EngineError::Unprovable`] saying what was done.
pub fn end_unprovable(store: &Store, key: ThreadKey, sub_block: &SubBlock, error: &EngineError) -> Result<EngineError> {
    let reason = format!("the prover failed on it ({error})");
    let ended = store.record_abandoned(
        key,
        sub_block.sequence(),
        sub_block.attempt,
        SubBlockStatus::Stale { tx_hash: None, reason: reason.clone() },
    )?;
    let transfers = ended.body.messages.len();
    let detail = if transfers > 1 {
        let cap = transfers / 2;
        set_round_cap(store, key, Some(cap))?;
        format!("{reason}; its {transfers} transfers are pending again, sub-blocks now take at most {cap}")
    } else {
        let refused = ended.body.messages.iter().map(|m| Rejected { message: m.clone(), reason: format!("{reason} alone") });
        store.record_rejected(key, refused.collect())?;
        set_round_cap(store, key, None)?;
        format!("{reason} with one transfer: refused")
    };
    tracing::error!(sequence = ended.sequence(), %detail, "the prover failed on a sub-block the batcher built");
    Ok(EngineError::Unprovable { sequence: ended.sequence(), detail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Logged;
    use zkthread_store::{Felt, NewSubBlock, NewTransfer, SlotEntry};

    /// Service review F6 for transfers: a Built sub-block the prover side fails on, every time
    /// (here one that does not batch again: its transfers carry no signature record, which
    /// only a bug or a tampered store puts in a sub-block), is not retried forever. It ends
    /// with its transfers pending again in order; the cap halves until the transfer it fails
    /// on is alone, which is refused with the reason; the cap is then lifted.
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
        let slot = SlotEntry { contract: Felt::ONE, key: Felt::TWO, value: Felt::THREE };
        let build = |messages: &[zkthread_store::Transfer]| {
            let body = NewSubBlock {
                sequence: 0,
                chain_id: Felt::ONE,
                os_version: Felt::ONE,
                program_hash: Felt::TWO,
                contract_set_commitment: Felt::THREE,
                messages: messages.to_vec(),
                transactions: Default::default(),
                inputs: vec![slot],
                outputs: vec![slot],
                parent_attempt: None,
            };
            store.record_batch(key, body, vec![]).unwrap();
        };
        build(&all);
        let ended = prove(&store, key, &Logged).await.unwrap_err();
        assert!(
            matches!(&ended, EngineError::Unprovable { sequence: 0, detail } if detail.contains("sub-blocks now take at most 1")),
            "{ended}"
        );
        assert_eq!(store.pending(key).unwrap(), all, "pending again, in order");
        assert_eq!(round_cap(&store, key).unwrap(), Some(1));
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
        assert_eq!(round_cap(&store, key).unwrap(), None, "lifted");
        assert_eq!(store.pending(key).unwrap(), all[1..], "the others go on");
    }
}
