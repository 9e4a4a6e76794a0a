//! The benchmarks' transfers: senders are accounts that can sign (so the same transfers can also
//! be sent as direct L2 transactions); receivers are either a few fixed accounts or a fresh
//! address per transfer.

use serde::Serialize;
use zkthread_client::Felt;
use zkthread_prover::Transfer;

use crate::workload::SeededRng;

/// How many distinct accounts a sub-block touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountSpread {
    /// Senders and receivers among `participants` accounts: the net state diff stays small
    /// however many transfers there are.
    Few { participants: usize },
    /// A fresh receiver per transfer: the state diff grows with the transfer count.
    Many,
}

impl AccountSpread {
    pub fn name(self) -> &'static str {
        match self {
            AccountSpread::Few { .. } => "few",
            AccountSpread::Many => "many",
        }
    }
}

/// Addresses no one used before in this run: `poseidon(domain, i)` cut to 250 bits (below
/// Starknet's address bound 2^251 - 256). Thread transfers need no signature from a receiver.
#[derive(Clone, Debug)]
pub struct FreshAddresses {
    domain: Felt,
    next: u64,
}

impl FreshAddresses {
    pub fn new(domain: u64) -> Self {
        FreshAddresses {
            domain: Felt::from(domain),
            next: 0,
        }
    }

    pub fn next_address(&mut self) -> Felt {
        let hash = starknet_crypto::poseidon_hash_many(&[self.domain, Felt::from(self.next)]);
        self.next += 1;
        let mut bytes = hash.to_bytes_be();
        bytes[0] &= 0x03;
        Felt::from_bytes_be(&bytes)
    }
}

/// `count` transfers of `token`: senders round-robin over `senders` (non-empty), amounts 1..=1000.
/// With [`AccountSpread::Few`], receivers are the other participants: `senders` first, then fresh
/// addresses if there are fewer senders than participants.
pub fn generate(
    token: Felt,
    senders: &[Felt],
    spread: AccountSpread,
    count: usize,
    fresh: &mut FreshAddresses,
    seed: u64,
) -> Vec<Transfer> {
    if senders.is_empty() {
        return Vec::new();
    }
    let mut rng = SeededRng::new(seed);
    let participants: Vec<Felt> = match spread {
        AccountSpread::Few { participants } => {
            let mut list: Vec<Felt> = senders.iter().copied().take(participants.max(2)).collect();
            while list.len() < participants.max(2) {
                list.push(fresh.next_address());
            }
            list
        }
        AccountSpread::Many => Vec::new(),
    };
    // Only accounts that can sign send (a fresh participant has no key).
    let signing: &[Felt] = match spread {
        AccountSpread::Few { participants } => &senders[..senders.len().min(participants.max(2))],
        AccountSpread::Many => senders,
    };
    (0..count)
        .map(|i| {
            let from = signing[i % signing.len()];
            let to = match spread {
                AccountSpread::Few { .. } => loop {
                    let pick = participants[rng.below(participants.len() as u64) as usize];
                    if pick != from {
                        break pick;
                    }
                },
                AccountSpread::Many => fresh.next_address(),
            };
            Transfer {
                token,
                from,
                to,
                amount: u128::from(rng.below(1_000) + 1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn accounts(n: u64) -> Vec<Felt> {
        (1..=n).map(|i| Felt::from(0x100 + i)).collect()
    }

    #[test]
    fn few_stays_among_the_participants_and_never_self_transfers() {
        let senders = accounts(6);
        let mut fresh = FreshAddresses::new(1);
        let transfers = generate(
            Felt::ONE,
            &senders,
            AccountSpread::Few { participants: 4 },
            500,
            &mut fresh,
            7,
        );
        assert_eq!(transfers.len(), 500);
        let touched: BTreeSet<Felt> = transfers.iter().flat_map(|t| [t.from, t.to]).collect();
        assert_eq!(touched, senders[..4].iter().copied().collect());
        assert!(transfers
            .iter()
            .all(|t| t.from != t.to && (1..=1000).contains(&t.amount)));
    }

    #[test]
    fn few_with_one_signer_pads_with_fresh_receivers() {
        let senders = accounts(1);
        let mut fresh = FreshAddresses::new(1);
        let transfers = generate(
            Felt::ONE,
            &senders,
            AccountSpread::Few { participants: 4 },
            100,
            &mut fresh,
            7,
        );
        assert!(transfers.iter().all(|t| t.from == senders[0]));
        let receivers: BTreeSet<Felt> = transfers.iter().map(|t| t.to).collect();
        assert_eq!(receivers.len(), 3);
    }

    #[test]
    fn many_has_a_fresh_receiver_per_transfer_across_calls() {
        let senders = accounts(4);
        let mut fresh = FreshAddresses::new(9);
        let a = generate(Felt::ONE, &senders, AccountSpread::Many, 300, &mut fresh, 1);
        let b = generate(Felt::ONE, &senders, AccountSpread::Many, 300, &mut fresh, 1);
        let receivers: BTreeSet<Felt> = a.iter().chain(&b).map(|t| t.to).collect();
        assert_eq!(receivers.len(), 600);
        assert!(receivers
            .iter()
            .all(|r| *r < Felt::from(2u8).pow(250u32) && !senders.contains(r)));
        let from: BTreeSet<Felt> = a.iter().map(|t| t.from).collect();
        assert_eq!(from.len(), 4);
    }
}
