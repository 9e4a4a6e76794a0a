//! Isolating the message a sub-block's prover fails on (service review F6), for every program.
//!
//! The prover and the off-chain verifier see only what the store holds (a chain that moved ends
//! a round Stale before them), so a sub-block they fail on fails the same way every time:
//! retried, it would hold the thread's next sequence for good. The batcher checks what the AIR
//! does before it emits a row, so such a failure is a bug showing, and may be one an attacker
//! found. So the round ends with its messages pending again, and while any of them (the
//! *suspects*) is still pending, sub-blocks take at most half as many: the halves that prove
//! settle, the one that fails is halved again, and a lone message the prover fails on is
//! refused (its key is spent: its owner re-signs what follows), and the cap is lifted. It also
//! goes by itself once no suspect is pending (the halves proved), so a crash cannot leave it.
//!
//! A round whose failure a message cannot be blamed for alone is only ended, without a cap
//! (the caller says so): one built ahead on a sub-block not yet settled (it is rebuilt on chain
//! state once that one settles), and an order book's round that resumed a taker (the resume is
//! dropped first: the next round tells whether a message is at fault).

use serde::{Deserialize, Serialize};
use zkthread_store::{Message, MessageBody, Store, SubBlock, SubBlockStatus, ThreadKey};

use crate::error::{EngineError, Result};

/// The store note holding the [`Isolation`] under way (JSON `null` or absent: none).
const NOTE: &str = "isolation";

/// A cap on the messages of a sub-block while a suspect is pending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    pub cap: usize,
    /// The ids of the last failed round's messages.
    pub suspects: Vec<u64>,
}

impl Isolation {
    /// The thread's isolation under way, if any.
    pub fn read<M: MessageBody>(store: &Store<M>, key: ThreadKey) -> Result<Option<Isolation>> {
        let Some(json) = store.note(key, NOTE)? else {
            return Ok(None);
        };
        serde_json::from_str(&json).map_err(|e| EngineError::Corrupt(format!("the note {NOTE}: {e}")))
    }

    /// The cap for a round over `pending` (oldest first): in force while a suspect is pending.
    pub fn cap_for<M>(&self, pending: &[Message<M>]) -> Option<usize> {
        pending.iter().any(|m| self.suspects.contains(&m.id)).then_some(self.cap.max(1))
    }
}

/// The oldest of `pending` that a round may take under the thread's isolation, if one is under
/// way and a suspect is pending; `pending` unchanged otherwise.
pub fn cap_round<M: MessageBody>(store: &Store<M>, key: ThreadKey, mut pending: Vec<Message<M>>) -> Result<Vec<Message<M>>> {
    if let Some(cap) = Isolation::read(store, key)?.and_then(|i| i.cap_for(&pending)) {
        pending.truncate(cap);
    }
    Ok(pending)
}

/// What the caller knows of the failed round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// Its messages alone were proven against chain state: halve them, refuse one alone.
    Messages,
    /// Built ahead, or resuming an order-book taker: only end it.
    NotTheMessages,
}

/// Ends `sub_block`, Built, that the prover failed on (`error`), as the module docs say, and
/// says what was done.
pub fn end_unprovable<M: MessageBody>(
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
    error: &dyn std::fmt::Display,
    blame: Blame,
) -> Result<String> {
    end_failed(store, key, sub_block, format!("the prover failed on it ({error})"), blame)
}

/// Ends `sub_block`, Proven, whose settlement would carry `felts` calldata felts, above
/// Starknet's per-transaction limit: sent, it could only fail, and rebuilt from the same
/// messages it would be as large. The same halving as for a sub-block the prover fails on: its
/// messages are pending again while sub-blocks take half as many, and a lone message whose
/// settlement alone is too large (a long list paying many receivers) is refused with the reason.
pub fn end_oversized<M: MessageBody>(store: &Store<M>, key: ThreadKey, sub_block: &SubBlock<M>, felts: usize) -> Result<String> {
    let limit = crate::preflight::MAX_CALLDATA_FELTS;
    let reason = format!("its settle calldata is {felts} felts, above Starknet's {limit}");
    end_failed(store, key, sub_block, reason, Blame::Messages)
}

/// [`end_unprovable`] and [`end_oversized`]: ends `sub_block` for `reason`.
fn end_failed<M: MessageBody>(
    store: &Store<M>,
    key: ThreadKey,
    sub_block: &SubBlock<M>,
    reason: String,
    blame: Blame,
) -> Result<String> {
    let stale = SubBlockStatus::Stale { tx_hash: None, reason: reason.clone() };
    let (sequence, attempt) = (sub_block.sequence(), sub_block.attempt);
    let messages = sub_block.body.messages.len();
    let detail = match (blame, messages) {
        (Blame::Messages, 1) => {
            store.record_refused(key, sequence, attempt, stale, &format!("{reason} alone"))?;
            // Found: the other suspects go back to full rounds (a second one the prover fails
            // on is split out the same way). A crash before this write only keeps the cap
            // until they are settled.
            store.set_note(key, NOTE, "null")?;
            format!("{reason} with one message: refused")
        }
        (Blame::Messages, 2..) => {
            store.record_abandoned(key, sequence, attempt, stale)?;
            let isolation = Isolation { cap: messages / 2, suspects: sub_block.body.messages.iter().map(|m| m.id).collect() };
            let json = serde_json::to_string(&isolation).map_err(|e| EngineError::Corrupt(e.to_string()))?;
            store.set_note(key, NOTE, &json)?;
            format!("{reason}; its {messages} messages are pending again, and sub-blocks take at most {} while one of them is", isolation.cap)
        }
        _ => {
            store.record_abandoned(key, sequence, attempt, stale)?;
            format!("{reason}; its {messages} message(s) are pending again")
        }
    };
    tracing::error!(sequence, attempt, %detail, "a sub-block the batcher built cannot settle");
    Ok(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_store::fixtures::record_placeholder_sub_block;
    use zkthread_store::{Felt, NewTransfer};

    fn built(store: &Store, key: ThreadKey, messages: &[Message<NewTransfer>], parent_attempt: Option<u32>) -> SubBlock {
        record_placeholder_sub_block(store, key, 0, messages, (1, 1), parent_attempt).unwrap()
    }

    /// The halving: a failed round of 5 caps rounds at 2 while one of its messages is
    /// pending (a sixth, not a suspect, is not capped alone); the 2 fail in turn and are
    /// halved; the lone one is refused in one step and the cap lifted. A round not to blame
    /// only ends.
    #[test]
    fn a_failing_round_is_halved_until_its_message_is_refused_and_the_cap_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = ThreadKey::new(Felt::from(0xabcu64), 1);
        for from in 0..6u64 {
            let transfer = NewTransfer { token: Felt::ONE, from: Felt::from(10 + from), to: Felt::TWO, amount: 5, auth: None };
            store.submit(key, transfer).unwrap();
        }
        let all = store.pending(key).unwrap();
        let failure = "ConstraintsNotSatisfied";
        let first = built(&store, key, &all[..5], None);
        let detail = end_unprovable(&store, key, &first, &failure, Blame::Messages).unwrap();
        assert!(detail.contains("at most 2 while"), "{detail}");
        assert_eq!(store.pending(key).unwrap(), all, "pending again, in order");
        assert_eq!(cap_round(&store, key, all.clone()).unwrap(), all[..2]);
        // Without a suspect pending, no cap (the sixth message alone is not one).
        assert_eq!(cap_round(&store, key, all[5..].to_vec()).unwrap(), all[5..]);
        let status = &store.sub_blocks(key).unwrap()[0].status;
        assert!(matches!(status, SubBlockStatus::Stale { reason, .. } if reason.contains(failure)), "{status:?}");

        // Not to blame: ended, messages back, the cap unchanged.
        let ahead = built(&store, key, &all[..2], None);
        end_unprovable(&store, key, &ahead, &failure, Blame::NotTheMessages).unwrap();
        assert_eq!(Isolation::read(&store, key).unwrap().unwrap().cap, 2);
        assert_eq!(store.pending(key).unwrap(), all);

        // Halved again, then the lone one refused: the others go on, the cap goes with it.
        let two = built(&store, key, &all[..2], None);
        end_unprovable(&store, key, &two, &failure, Blame::Messages).unwrap();
        assert_eq!(cap_round(&store, key, all.clone()).unwrap(), all[..1]);
        let lone = built(&store, key, &all[..1], None);
        let detail = end_unprovable(&store, key, &lone, &failure, Blame::Messages).unwrap();
        assert!(detail.ends_with("refused"), "{detail}");
        let rejected = store.rejected(key).unwrap();
        assert_eq!((rejected.len(), &rejected[0].message), (1, &all[0]));
        assert!(rejected[0].reason.contains(failure) && rejected[0].reason.ends_with("alone"), "{}", rejected[0].reason);
        let rest = store.pending(key).unwrap();
        assert_eq!(rest, all[1..]);
        assert_eq!(cap_round(&store, key, rest.clone()).unwrap(), rest, "no suspect pending: no cap");
    }

    /// A proven sub-block too large to settle is split like one the prover fails on: its two
    /// messages are pending again under a cap of one, and the lone one still too large is
    /// refused with the size as its reason (nothing was sent for either).
    #[test]
    fn a_proven_sub_block_too_large_to_settle_is_halved_until_its_message_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = ThreadKey::new(Felt::from(0xabcu64), 1);
        for from in 0..2u64 {
            let transfer = NewTransfer { token: Felt::ONE, from: Felt::from(10 + from), to: Felt::TWO, amount: 5, auth: None };
            store.submit(key, transfer).unwrap();
        }
        let all = store.pending(key).unwrap();
        let proven = |messages: &[Message<NewTransfer>]| {
            let sb = built(&store, key, messages, None);
            store.record_proof(key, sb.sequence(), sb.attempt, vec![Felt::ONE]).unwrap()
        };
        let both = proven(&all);
        let detail = end_oversized(&store, key, &both, 5_130).unwrap();
        assert!(detail.starts_with("its settle calldata is 5130 felts, above Starknet's 5000") && detail.contains("at most 1 while"), "{detail}");
        assert_eq!(store.pending(key).unwrap(), all);
        let lone = proven(&cap_round(&store, key, all.clone()).unwrap());
        end_oversized(&store, key, &lone, 5_010).unwrap();
        let rejected = store.rejected(key).unwrap();
        assert_eq!((rejected.len(), &rejected[0].message), (1, &all[0]));
        assert!(rejected[0].reason.contains("5010 felts") && rejected[0].reason.ends_with("alone"), "{}", rejected[0].reason);
        assert_eq!(store.pending(key).unwrap(), all[1..]);
        assert!(store.sub_blocks(key).unwrap().iter().all(|sb| sb.sends.is_empty()), "nothing was sent");
    }

    /// A lone round not to blame (built ahead) is not refused.
    #[test]
    fn a_lone_round_not_to_blame_is_only_ended() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = ThreadKey::new(Felt::from(0xabcu64), 1);
        let transfer = NewTransfer { token: Felt::ONE, from: Felt::TWO, to: Felt::THREE, amount: 5, auth: None };
        store.submit(key, transfer).unwrap();
        let all = store.pending(key).unwrap();
        let lone = built(&store, key, &all, None);
        end_unprovable(&store, key, &lone, &"x", Blame::NotTheMessages).unwrap();
        assert!(store.rejected(key).unwrap().is_empty());
        assert_eq!(store.pending(key).unwrap(), all);
        assert_eq!(Isolation::read(&store, key).unwrap(), None);
    }
}
