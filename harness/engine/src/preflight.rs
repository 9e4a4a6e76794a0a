//! Checks before sending `settle`, so that a prover never pays for a doomed settlement:
//! the proof verifies off-chain, the thread is active and still runs the OS version, program
//! and contract set the sub-block was proven for (`upgrade_thread` between batch and settle
//! makes a proof useless), every input slot still holds its input value on-chain, the
//! thread's next sequence is the one proven, and a verifier class is declared under the
//! thread's program hash (the registry cannot have deployed a verifier instance otherwise).

use serde::Serialize;
use zkthread_client::registry::{Registry, ThreadInfo};
use zkthread_client::{ChainReader, Felt};
use zkthread_prover::SlotValue;
use zkthread_store::NewSubBlock;

use crate::error::{ChainContext, Result};
use crate::hex;

/// Starknet's per-transaction calldata limit (felts).
pub const MAX_CALLDATA_FELTS: usize = 5_000;

/// The result of every check, and whether `settle` should be sent.
#[derive(Clone, Debug, Serialize)]
pub struct Preflight {
    pub proof_verifies: bool,
    /// The thread is active on-chain (an admin may pause it: the sub-block waits).
    pub thread_active: bool,
    /// The thread's OS version, program hash and contract set commitment on-chain are the
    /// ones proven (else the sub-block can never settle: its messages are rebuilt).
    pub thread_current: bool,
    /// Input slots whose on-chain value differs from the input list.
    pub stale_inputs: usize,
    pub sequence_matches: bool,
    pub verifier_declared: bool,
    /// The settling account may settle the thread: no prover allowlist, or one naming it
    /// (`set_provers`). A settle from another account reverts, and the fee is still paid.
    pub prover_allowed: bool,
    pub calldata_felts: usize,
    /// Why `settle` must not be sent; `None` when every check passed.
    pub blocked_by: Option<String>,
}

impl Preflight {
    pub fn ok(&self) -> bool {
        self.blocked_by.is_none()
    }

    /// Every check but the calldata size passed: the sub-block is sound and current, and this
    /// account may settle it (it may still be too large for one transaction).
    pub fn sound(&self) -> bool {
        self.proof_verifies
            && self.thread_active
            && self.thread_current
            && self.stale_inputs == 0
            && self.sequence_matches
            && self.verifier_declared
            && self.prover_allowed
    }

    /// The settle calldata's felts when it is the only check that failed: the sub-block is
    /// sound and current, but too large for one transaction.
    pub fn oversize(&self) -> Option<usize> {
        (self.sound() && self.calldata_felts > MAX_CALLDATA_FELTS).then_some(self.calldata_felts)
    }
}

/// The thread fields a proof binds when its sub-block is batched: the registry rebuilds the
/// public input from the thread as it is when `settle` runs, so a proof for other values never
/// verifies there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadBinding {
    pub os_version: Felt,
    pub program_hash: Felt,
    pub contract_set_commitment: Felt,
}

impl ThreadBinding {
    /// The binding of the thread as `info` reads it.
    pub fn of(info: &ThreadInfo) -> Self {
        ThreadBinding {
            os_version: info.os_version,
            program_hash: info.program_hash,
            contract_set_commitment: info.contract_set_commitment,
        }
    }

    /// The binding a stored sub-block was batched (and proven) with.
    pub fn of_sub_block<M>(body: &NewSubBlock<M>) -> Self {
        ThreadBinding {
            os_version: body.os_version,
            program_hash: body.program_hash,
            contract_set_commitment: body.contract_set_commitment,
        }
    }

    /// Why a sub-block proven for `self` can never settle on the thread as `now` reads it
    /// (`upgrade_thread` moved it to another OS version or program), or `None`.
    pub fn changed_in(&self, now: &ThreadInfo) -> Option<String> {
        if now.program_hash != self.program_hash {
            Some(format!(
                "the thread now runs program {}, not the {} it was proven for (upgrade_thread)",
                hex(now.program_hash),
                hex(self.program_hash)
            ))
        } else if now.os_version != self.os_version {
            Some(format!(
                "the thread's OS version is now {}, not the {} it was proven for (upgrade_thread)",
                hex(now.os_version),
                hex(self.os_version)
            ))
        } else if now.contract_set_commitment != self.contract_set_commitment {
            Some("the thread's contract set changed since it was proven".to_owned())
        } else {
            None
        }
    }
}

/// What a settlement claims, for the checks: the thread and the fields the proof binds of it,
/// the sequence proven, the input list, whether the proof verified off-chain (the caller
/// verifies it: the check is the same for every program) and the settle calldata size.
pub struct Claim<'a> {
    pub thread_id: u64,
    pub sequence: u64,
    pub thread: ThreadBinding,
    pub inputs: &'a [SlotValue],
    pub proof_verifies: bool,
    pub calldata_felts: usize,
    /// The account that would send `settle`.
    pub prover: Felt,
}

/// Runs every check for settling `claim` on `registry`.
pub async fn check(client: &ChainReader, registry: &Registry, claim: &Claim<'_>) -> Result<Preflight> {
    let Claim { thread_id, sequence, thread, inputs, proof_verifies, calldata_felts, prover } = *claim;
    let program_hash = thread.program_hash;
    let now = registry.thread(client, thread_id).await.chain("reading the thread")?;
    let changed = thread.changed_in(&now);
    let keys: Vec<(Felt, Felt)> = inputs.iter().map(|entry| (entry.slot.contract, entry.slot.key)).collect();
    let on_chain = client.storage_many(&keys).await.chain("reading the input slots")?;
    let mut stale_inputs = 0;
    for (entry, on_chain) in inputs.iter().zip(on_chain) {
        if on_chain != entry.value {
            tracing::info!(contract = %hex(entry.slot.contract), key = %hex(entry.slot.key), "input slot changed on-chain");
            stale_inputs += 1;
        }
    }
    let sequence_matches = now.sequence == sequence;
    let verifier_declared = client
        .is_declared(program_hash)
        .await
        .chain("asking whether the verifier class is declared")?;
    let prover_allowed = !now.allowlist_enabled
        || registry
            .is_prover_allowed(client, thread_id, prover)
            .await
            .chain("asking whether this account may settle the thread")?;

    let blocked_by = if !proof_verifies {
        Some("the proof does not verify off-chain".to_owned())
    } else if let Some(why) = &changed {
        Some(why.clone())
    } else if !now.active {
        Some(format!("thread {thread_id} is inactive on-chain (set_active): it settles once an admin resumes it"))
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
    } else if !prover_allowed {
        Some(format!(
            "account {} is not on thread {thread_id}'s prover allowlist (set_provers): its settle would revert; it settles once the thread's admin allows it",
            hex(prover)
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
        thread_active: now.active,
        thread_current: changed.is_none(),
        stale_inputs,
        sequence_matches,
        verifier_declared,
        prover_allowed,
        calldata_felts,
        blocked_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(os_version: u64, program_hash: u64, contract_set_commitment: u64) -> ThreadInfo {
        ThreadInfo {
            os_version: Felt::from(os_version),
            program_hash: Felt::from(program_hash),
            admin: Felt::ONE,
            active: true,
            sequence: 3,
            contract_set_commitment: Felt::from(contract_set_commitment),
            contract_count: 1,
            allowlist_enabled: false,
        }
    }

    /// Each field a proof binds, changed on its own, names itself; the same thread is current
    /// whatever else (sequence, activity) moved.
    #[test]
    fn a_thread_changed_since_batching_is_named_by_what_changed() {
        let proven = ThreadBinding::of(&info(1, 0xaa, 0xcc));
        assert_eq!(proven.changed_in(&ThreadInfo { active: false, sequence: 9, ..info(1, 0xaa, 0xcc) }), None);
        let program = proven.changed_in(&info(2, 0xbb, 0xcc)).unwrap();
        assert_eq!(program, "the thread now runs program 0xbb, not the 0xaa it was proven for (upgrade_thread)");
        let os = proven.changed_in(&info(2, 0xaa, 0xcc)).unwrap();
        assert!(os.starts_with("the thread's OS version is now 0x2, not the 0x1"), "{os}");
        let set = proven.changed_in(&info(1, 0xaa, 0xcd)).unwrap();
        assert_eq!(set, "the thread's contract set changed since it was proven");
    }
}
