//! Checks before sending `settle`, so that a prover never pays for a doomed settlement:
//! the proof verifies off-chain, every input slot still holds its input value on-chain, the
//! thread's next sequence is the one proven, and a verifier class is declared under the
//! thread's program hash (the registry cannot have deployed a verifier instance otherwise).

use serde::Serialize;
use zkthread_client::registry::Registry;
use zkthread_client::{ChainReader, Felt};
use zkthread_prover::SlotValue;

use crate::error::{ChainContext, Result};
use crate::hex;

/// Starknet's per-transaction calldata limit (felts).
pub const MAX_CALLDATA_FELTS: usize = 5_000;

/// The result of every check, and whether `settle` should be sent.
#[derive(Clone, Debug, Serialize)]
pub struct Preflight {
    pub proof_verifies: bool,
    /// Input slots whose on-chain value differs from the input list.
    pub stale_inputs: usize,
    pub sequence_matches: bool,
    pub verifier_declared: bool,
    pub calldata_felts: usize,
    /// Why `settle` must not be sent; `None` when every check passed.
    pub blocked_by: Option<String>,
}

impl Preflight {
    pub fn ok(&self) -> bool {
        self.blocked_by.is_none()
    }

    /// The settle calldata's felts when it is the only check that failed: the sub-block is
    /// sound and current, but too large for one transaction.
    pub fn oversize(&self) -> Option<usize> {
        let only_size = self.proof_verifies
            && self.stale_inputs == 0
            && self.sequence_matches
            && self.verifier_declared
            && self.calldata_felts > MAX_CALLDATA_FELTS;
        only_size.then_some(self.calldata_felts)
    }
}

/// What a settlement claims, for the checks: the thread, the sequence proven, the program,
/// the input list, whether the proof verified off-chain (the caller verifies it: the check is
/// the same for every program) and the settle calldata size.
pub struct Claim<'a> {
    pub thread_id: u64,
    pub sequence: u64,
    pub program_hash: Felt,
    pub inputs: &'a [SlotValue],
    pub proof_verifies: bool,
    pub calldata_felts: usize,
}

/// Runs every check for settling `claim` on `registry`.
pub async fn check(client: &ChainReader, registry: &Registry, claim: &Claim<'_>) -> Result<Preflight> {
    let Claim { thread_id, sequence, program_hash, inputs, proof_verifies, calldata_felts } = *claim;
    let mut stale_inputs = 0;
    for entry in inputs {
        let on_chain = client
            .storage_at(entry.slot.contract, entry.slot.key)
            .await
            .chain("reading an input slot")?;
        if on_chain != entry.value {
            tracing::info!(contract = %hex(entry.slot.contract), key = %hex(entry.slot.key), "input slot changed on-chain");
            stale_inputs += 1;
        }
    }
    let sequence_matches = registry
        .next_sequence(client, thread_id)
        .await
        .chain("reading the thread's next sequence")?
        == sequence;
    let verifier_declared = client
        .is_declared(program_hash)
        .await
        .chain("asking whether the verifier class is declared")?;

    let blocked_by = if !proof_verifies {
        Some("the proof does not verify off-chain".to_owned())
    } else if stale_inputs > 0 {
        Some(format!(
            "{stale_inputs} input slot(s) changed on-chain since batching (stale)"
        ))
    } else if !sequence_matches {
        Some("the thread's next sequence on-chain is not the one proven".to_owned())
    } else if !verifier_declared {
        Some(format!(
            "no verifier class is declared under program hash {}, so the registry has no verifier for it",
            hex(program_hash)
        ))
    } else if calldata_felts > MAX_CALLDATA_FELTS {
        Some(format!(
            "settle calldata is {calldata_felts} felts, above Starknet's {MAX_CALLDATA_FELTS}-felt limit"
        ))
    } else {
        None
    };
    Ok(Preflight {
        proof_verifies,
        stale_inputs,
        sequence_matches,
        verifier_declared,
        calldata_felts,
        blocked_by,
    })
}
