//! Which registry entry point a long-running batcher settles with: `settle` while nothing
//! races its thread, `settle_checking_inputs_first` for a while after a stale revert.
//!
//! The two entry points differ only in what a stale input costs the prover
//! ([`InputCheck`]). `settle` compares each input right before its contract's writes, after
//! the on-chain verification: a stale input reverts there, and the prover pays the whole
//! verification (the demo's 18-slot sub-block: 1.497e8 L2 gas, session 56). The other entry
//! also compares every input before the verification (2.338e7 for the same revert, 6.4x
//! less), and every settlement pays for that early pass: 103 Cairo steps and a
//! `storage_read` a slot (~10k + ~24k L2 gas of a funded slot's ~400k), ~800 steps once and
//! a ~90k call per member contract (README, "Settlement, precisely"; `docs/cost-history.md`,
//! "Session 56").
//!
//! A stale revert needs an L2 write to an input slot after the batcher's pre-flight and
//! before the settlement is mined: any holder can credit a receiver of a proven sub-block.
//! One is evidence that someone does. With the figures above, the early pass costs an 18-slot
//! settlement of one contract ~18 x 34k + 1.7e5 = ~7.8e5 L2 gas against ~1.26e8 saved per
//! stale revert, so it pays for itself once more than ~1 settlement in ~160 would revert
//! stale; a 100-slot one (~3.6e6) above ~1 in 35. So after
//! a stale revert the policy settles the next [`CALM_SETTLEMENTS`] sub-blocks with the inputs
//! first, and starts counting again at every further stale revert (refused early or not); a
//! thread quiet for that long goes back to the cheaper `settle`. A stale input caught by the
//! pre-flight, before anything is sent, cost nothing and does not count.
//!
//! The count lives in the store (`Store::settled_since_stale_revert`, written in the same
//! transaction as the revert and every settlement), so a restarted service resumes it where
//! it was, and nothing is counted twice or missed whichever path (a send, or reconciliation
//! after a crash; `zkthread settle` on the same data directory too) recorded the revert or the
//! settlement. A data directory written before the count existed starts without a revert.
//! The entry point is chosen before `settle` reconciles: a settlement reconciliation finds
//! right then is counted from the next one (at the window's edge, one more early check).

use zkthread_store::{MessageBody, Store, ThreadKey};

use crate::error::Result;
use crate::settle::InputCheck;

/// Settlements sent with the inputs first after a stale revert, before going back to
/// `settle`.
pub const CALM_SETTLEMENTS: u32 = 64;

/// The entry point a service settles with ([`crate::adaptive`]): a fixed one, or `settle`
/// until a stale revert and the early check for [`CALM_SETTLEMENTS`] settlements after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveInputCheck {
    /// What the operator asked for: `First` always checks the inputs first, `BeforeWrites`
    /// adapts.
    configured: InputCheck,
    /// Settlements still to send with the inputs first (0: `configured`).
    first_for: u32,
}

impl AdaptiveInputCheck {
    /// `configured`, given how many sub-blocks settled since the thread's last stale revert
    /// (`None`: none recorded).
    pub fn after(configured: InputCheck, settled_since_stale_revert: Option<u64>) -> Self {
        let first_for = match settled_since_stale_revert {
            Some(settled) if settled < u64::from(CALM_SETTLEMENTS) => CALM_SETTLEMENTS - settled as u32,
            _ => 0,
        };
        AdaptiveInputCheck { configured, first_for }
    }

    /// The entry point for the thread's next settlement, from its store.
    pub fn of_thread<M: MessageBody>(configured: InputCheck, store: &Store<M>, key: ThreadKey) -> Result<Self> {
        Ok(Self::after(configured, store.settled_since_stale_revert(key)?))
    }

    /// The entry point of the next settlement.
    pub fn current(&self) -> InputCheck {
        if self.first_for > 0 {
            InputCheck::First
        } else {
            self.configured
        }
    }

    /// Settlements the early check still has after a stale revert; `None` when the
    /// configured entry point is in use (or is the early check itself).
    pub fn inputs_first_left(&self) -> Option<u32> {
        (self.configured == InputCheck::BeforeWrites && self.first_for > 0).then_some(self.first_for)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_revert_switches_to_the_early_check_for_a_while() {
        let adaptive = |since| AdaptiveInputCheck::after(InputCheck::BeforeWrites, since);
        assert_eq!((adaptive(None).current(), adaptive(None).inputs_first_left()), (InputCheck::BeforeWrites, None));
        assert_eq!((adaptive(Some(0)).current(), adaptive(Some(0)).inputs_first_left()), (InputCheck::First, Some(CALM_SETTLEMENTS)));
        let last = Some(u64::from(CALM_SETTLEMENTS) - 1);
        assert_eq!((adaptive(last).current(), adaptive(last).inputs_first_left()), (InputCheck::First, Some(1)));
        for calm in [u64::from(CALM_SETTLEMENTS), u64::MAX] {
            assert_eq!((adaptive(Some(calm)).current(), adaptive(Some(calm)).inputs_first_left()), (InputCheck::BeforeWrites, None));
        }
    }

    #[test]
    fn a_configured_early_check_stays_and_reports_no_window() {
        for since in [None, Some(0), Some(u64::from(CALM_SETTLEMENTS))] {
            let policy = AdaptiveInputCheck::after(InputCheck::First, since);
            assert_eq!((policy.current(), policy.inputs_first_left()), (InputCheck::First, None));
        }
    }
}
