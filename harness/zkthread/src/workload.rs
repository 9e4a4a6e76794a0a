//! The demo's transfers: first the token holder distributes to every other account, then random
//! transfers between accounts from a seeded RNG, with some deliberate overspends mixed in that
//! the batcher must reject.
//!
//! The generator tracks balances itself so that its valid transfers are valid and its invalid
//! ones are overspends by construction; the batcher's verdict is then checked against that.

use std::collections::HashMap;

use zkthread_client::Felt;
use zkthread_prover::Transfer;

/// SplitMix64: small, fast and reproducible across platforms and crate versions, which is all
/// a demo workload needs (it is not used for anything secret).
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The generated transfers and how many were made invalid on purpose.
#[derive(Clone, Debug)]
pub struct Workload {
    pub transfers: Vec<Transfer>,
    /// Indices (into `transfers`) of the deliberate overspends.
    pub planted_overspends: Vec<usize>,
}

/// One in this many random transfers is a deliberate overspend.
const OVERSPEND_EVERY: u64 = 16;

/// `count` transfers of `token` among `accounts`; `accounts[0]` holds `supply` at the start and
/// every other account holds nothing.
pub fn generate(token: Felt, accounts: &[Felt], supply: u128, count: usize, seed: u64) -> Workload {
    let mut rng = SeededRng::new(seed);
    let mut balances: HashMap<Felt, u128> = accounts.iter().map(|a| (*a, 0)).collect();
    if let Some(holder) = accounts.first() {
        balances.insert(*holder, supply);
    }
    let mut transfers = Vec::with_capacity(count);
    let mut planted = Vec::new();
    let n = accounts.len();
    if n < 2 || supply == 0 {
        return Workload {
            transfers,
            planted_overspends: planted,
        };
    }
    // Distribution: the holder gives each other account a share (a few per cent of the supply).
    let share = (supply / (4 * n as u128)).max(1);
    for to in &accounts[1..] {
        if transfers.len() == count {
            break;
        }
        transfers.push(Transfer {
            token,
            from: accounts[0],
            to: *to,
            amount: share,
        });
        *balances.entry(accounts[0]).or_default() -= share;
        *balances.entry(*to).or_default() += share;
    }
    while transfers.len() < count {
        let from = accounts[rng.below(n as u64) as usize];
        let mut to = accounts[rng.below(n as u64) as usize];
        if to == from {
            to = accounts[(accounts.iter().position(|a| *a == from).unwrap_or(0) + 1) % n];
        }
        let balance = balances[&from];
        if rng.below(OVERSPEND_EVERY) == 0 {
            // More than the sender has at this point: the batcher must refuse it.
            let amount = balance + 1 + u128::from(rng.below(1_000));
            planted.push(transfers.len());
            transfers.push(Transfer {
                token,
                from,
                to,
                amount,
            });
            continue;
        }
        if balance == 0 {
            continue;
        }
        // Up to an eighth of the sender's balance, so accounts rarely run dry.
        let cap = (balance / 8).max(1);
        let amount = 1 + (u128::from(rng.next_u64()) % cap);
        *balances.get_mut(&from).expect("sender is an account") -= amount;
        *balances.get_mut(&to).expect("receiver is an account") += amount;
        transfers.push(Transfer {
            token,
            from,
            to,
            amount,
        });
    }
    Workload {
        transfers,
        planted_overspends: planted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use zkthread_prover::Batcher;

    fn accounts(n: u64) -> Vec<Felt> {
        (1..=n).map(|i| Felt::from(0x1000 + i)).collect()
    }

    #[test]
    fn batcher_rejects_exactly_the_planted_overspends() {
        let token = Felt::from(0xabcu32);
        let accts = accounts(10);
        let supply = 1_000_000_000u128;
        let work = generate(token, &accts, supply, 300, 7);
        assert_eq!(work.transfers.len(), 300);
        assert!(!work.planted_overspends.is_empty());
        let mut current = BTreeMap::new();
        for (i, a) in accts.iter().enumerate() {
            let value = if i == 0 { supply } else { 0 };
            current.insert(zkthread_prover::Slot::balance(token, *a), Felt::from(value));
        }
        let batch = Batcher::new([token])
            .batch(&work.transfers, |slot| current.get(slot).copied())
            .unwrap();
        assert_eq!(batch.rejected.len(), work.planted_overspends.len());
        for reason in &batch.rejected {
            assert!(
                matches!(reason, zkthread_prover::TransferRejected::Overspend { .. }),
                "{reason}"
            );
        }
        assert_eq!(
            batch.sub_block.transfers.len(),
            300 - work.planted_overspends.len()
        );
    }

    #[test]
    fn same_seed_same_workload() {
        let accts = accounts(4);
        let a = generate(Felt::ONE, &accts, 10_000, 50, 3);
        let b = generate(Felt::ONE, &accts, 10_000, 50, 3);
        let c = generate(Felt::ONE, &accts, 10_000, 50, 4);
        assert_eq!(a.transfers, b.transfers);
        assert_ne!(a.transfers, c.transfers);
    }
}
