//! The demo's signed transfers: first the token holder distributes to every other account,
//! then random transfers between accounts from a seeded RNG, each signed by its sender's
//! thread key in order (key index and nonce advance per sender). Then the attacks, planted on
//! purpose, that the batcher must refuse, each with its own reason:
//! - a relayed transfer whose amount the batcher raised (bad signature), placed right before
//!   the honest original, which must still be accepted;
//! - a transfer out of another account, signed by the thief's own key (wrong key; no key if
//!   the victim never registered one);
//! - an accepted transfer submitted again (replay: its nonce is spent);
//! - a sender's last transfer spending more than it holds (overspend).
//!
//! The generator tracks balances and key states itself, so its valid transfers are valid and
//! its attacks fail by construction; the batcher's verdict is then checked against that.

use std::collections::HashMap;

use zkthread_client::Felt;
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::{SignedPublicInput, SignedTransferTx};
use zkthread_prover::Transfer;
use zkthread_sig::wots::{SignError, KeySeed};

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

/// A trader: its address and, if it registered a thread key, the key's seed and its key
/// slot's state (the next one-time key index to sign with and the slot's nonce).
pub struct Trader {
    pub address: Felt,
    pub key: Option<TraderKey>,
}

pub struct TraderKey {
    pub seed: KeySeed,
    pub index: u32,
    pub nonce: u32,
}

/// An attack the generator planted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attack {
    /// Amount changed after signing.
    TamperedAmount,
    /// Out of another account, signed with the thief's key.
    ForeignKey,
    /// A transfer accepted earlier in the sub-block, submitted again.
    Replay,
    /// More than the sender holds.
    Overspend,
}

/// The generated messages (transfers, or lists of them) and the attacks among them.
pub struct Workload<T> {
    pub txs: Vec<T>,
    /// Position in `txs` of each planted attack.
    pub attacks: Vec<(usize, Attack)>,
}

/// The signed program's workload: one message per transfer.
pub type SignedWorkload = Workload<SignedTransferTx>;

/// Key index far past any the demo reaches: the thief's forging key, never otherwise used.
const THIEF_KEY_INDEX: u32 = 1 << 20;

/// `count` valid signed transfers of `token` among `traders` (only those with a key send;
/// `traders[0]` holds `supply`, the others nothing), followed by the attacks.
pub fn generate_signed(
    statement: &SignedPublicInput,
    token: Felt,
    traders: &mut [Trader],
    supply: u128,
    count: usize,
    seed: u64,
) -> Result<SignedWorkload, SignError> {
    let mut rng = SeededRng::new(seed);
    let n = traders.len();
    let mut balances: HashMap<usize, u128> = (0..n).map(|i| (i, 0)).collect();
    balances.insert(0, supply);
    let senders: Vec<usize> = (0..n).filter(|i| traders[*i].key.is_some()).collect();
    let mut plan: Vec<(usize, usize, u128)> = Vec::with_capacity(count);
    if n < 2 || supply == 0 || senders.is_empty() {
        return Ok(SignedWorkload { txs: vec![], attacks: vec![] });
    }
    // Distribution: the holder gives each other account a share (a few per cent of the supply).
    let share = (supply / (4 * n as u128)).max(1);
    for to in 1..n {
        if plan.len() == count {
            break;
        }
        plan.push((0, to, share));
        *balances.get_mut(&0).expect("holder") -= share;
        *balances.get_mut(&to).expect("trader") += share;
    }
    while plan.len() < count {
        let from = senders[rng.below(senders.len() as u64) as usize];
        let to = (from + 1 + rng.below(n as u64 - 1) as usize) % n;
        let balance = balances[&from];
        if balance == 0 {
            continue;
        }
        // Up to an eighth of the sender's balance, so accounts rarely run dry.
        let amount = 1 + (u128::from(rng.next_u64()) % (balance / 8).max(1));
        *balances.get_mut(&from).expect("sender") -= amount;
        *balances.get_mut(&to).expect("receiver") += amount;
        plan.push((from, to, amount));
    }

    let mut txs = Vec::with_capacity(plan.len() + 4);
    let mut attacks = Vec::new();
    // The tampered copy goes right before the honest transfer it copies (the middle one).
    let tamper_at = plan.len() / 2;
    for (i, (from, to, amount)) in plan.into_iter().enumerate() {
        let tx = sign_next(statement, token, traders, from, traders[to].address, amount)?;
        if i == tamper_at {
            let mut tampered = tx.clone();
            tampered.amount += 1;
            attacks.push((txs.len(), Attack::TamperedAmount));
            txs.push(tampered);
        }
        txs.push(tx);
    }

    // A thief (the last sender) moves a victim's balance to itself with its own key.
    let thief = *senders.last().expect("a sender");
    let victim = (0..n).find(|i| *i != thief && balances[i] > 0).unwrap_or((thief + 1) % n);
    let victim_nonce = traders[victim].key.as_ref().map_or(0, |k| k.nonce);
    let thief_key = traders[thief].key.as_ref().expect("the thief has a key");
    let stolen = Transfer { token, from: traders[victim].address, to: traders[thief].address, amount: 1 };
    attacks.push((txs.len(), Attack::ForeignKey));
    txs.push(SignedTransferTx::sign(stolen, victim_nonce, &thief_key.seed, THIEF_KEY_INDEX, statement)?);

    // A replay of the first accepted transfer.
    attacks.push((txs.len(), Attack::Replay));
    txs.push(txs.iter().find(|t| t.amount == share).unwrap_or(&txs[0]).clone());

    // Overspend: a sender's last transfer, more than it holds.
    let spender = senders[0];
    let to = traders[(spender + 1) % n].address;
    let too_much = balances[&spender] + 1;
    attacks.push((txs.len(), Attack::Overspend));
    txs.push(sign_next(statement, token, traders, spender, to, too_much)?);
    Ok(SignedWorkload { txs, attacks })
}

/// The most transfers in one of the demo's lists.
pub const MAX_LIST_LEN: usize = 16;

/// The list program's workload: `count` valid transfers of `token` among `traders` in signed
/// lists, followed by the attacks (the same four, on lists). The holder first pays every
/// other account in ONE list; then rounds in which each sender with a key and a balance signs
/// one list of random transfers (the round's share of what is left to plan, at most
/// [`MAX_LIST_LEN`]), each at most a `1/(8 MAX_LIST_LEN)` share of its balance at the round's
/// start. A list spends only what its sender held when the
/// round began, so every list is valid wherever the round's other lists fall.
pub fn generate_lists(
    statement: &SignedPublicInput,
    token: Felt,
    traders: &mut [Trader],
    supply: u128,
    count: usize,
    seed: u64,
) -> Result<Workload<SignedTransferListTx>, SignError> {
    let mut rng = SeededRng::new(seed);
    let n = traders.len();
    let senders: Vec<usize> = (0..n).filter(|i| traders[*i].key.is_some()).collect();
    if n < 2 || supply == 0 || senders.is_empty() || count == 0 {
        return Ok(Workload { txs: vec![], attacks: vec![] });
    }
    let mut balances = vec![0u128; n];
    balances[0] = supply;
    let share = (supply / (4 * n as u128)).max(1);
    let distribution: Vec<(usize, u128)> = (1..n).take(count).map(|to| (to, share)).collect();
    let mut lists: Vec<(usize, Vec<(usize, u128)>)> = vec![(0, distribution)];
    let mut planned = lists[0].1.len();
    apply(&mut balances, &lists[0]);
    while planned < count {
        let start = balances.clone();
        let before = planned;
        let funded: Vec<usize> = senders.iter().copied().filter(|s| start[*s] >= 8 * MAX_LIST_LEN as u128).collect();
        // The round's transfers spread over every funded sender (so a small demo still has
        // several senders), at most MAX_LIST_LEN a list.
        let per_sender = (count - planned).div_ceil(funded.len().max(1)).clamp(1, MAX_LIST_LEN);
        for &from in &funded {
            if planned == count {
                break;
            }
            let len = per_sender.min(count - planned);
            let list: Vec<(usize, u128)> = (0..len)
                .map(|_| {
                    let to = (from + 1 + rng.below(n as u64 - 1) as usize) % n;
                    (to, 1 + u128::from(rng.next_u64()) % (start[from] / (8 * MAX_LIST_LEN as u128)))
                })
                .collect();
            planned += len;
            apply(&mut balances, &(from, list.clone()));
            lists.push((from, list));
        }
        if planned == before {
            break; // nobody holds enough to send: fewer transfers than asked
        }
    }

    let mut txs = Vec::with_capacity(lists.len() + 4);
    let mut attacks = Vec::new();
    // The tampered copy goes right before the honest list it copies (the middle one).
    let tamper_at = lists.len() / 2;
    for (i, (from, list)) in lists.into_iter().enumerate() {
        let transfers = list.iter().map(|(to, amount)| (traders[*to].address, *amount)).collect();
        let tx = sign_next_list(statement, token, traders, from, transfers)?;
        if i == tamper_at {
            let mut tampered = tx.clone();
            tampered.transfers[0].1 += 1;
            attacks.push((txs.len(), Attack::TamperedAmount));
            txs.push(tampered);
        }
        txs.push(tx);
    }
    // A thief (the last sender) pays itself out of a victim's balance with its own key.
    let thief = *senders.last().expect("a sender");
    let victim = (0..n).find(|i| *i != thief && balances[*i] > 0).unwrap_or((thief + 1) % n);
    let victim_nonce = traders[victim].key.as_ref().map_or(0, |k| k.nonce);
    let thief_key = traders[thief].key.as_ref().expect("the thief has a key");
    let stolen = vec![(traders[thief].address, 1)];
    attacks.push((txs.len(), Attack::ForeignKey));
    txs.push(SignedTransferListTx::sign(
        token,
        traders[victim].address,
        stolen,
        victim_nonce,
        &thief_key.seed,
        THIEF_KEY_INDEX,
        statement,
    )?);
    // The holder's distribution list again.
    attacks.push((txs.len(), Attack::Replay));
    txs.push(txs[0].clone());
    // A list paying out one more than its sender holds after all its lists.
    let spender = senders[0];
    let to = traders[(spender + 1) % n].address;
    attacks.push((txs.len(), Attack::Overspend));
    txs.push(sign_next_list(statement, token, traders, spender, vec![(to, balances[spender] + 1)])?);
    Ok(Workload { txs, attacks })
}

/// `list`'s sender pays each receiver.
fn apply(balances: &mut [u128], (from, list): &(usize, Vec<(usize, u128)>)) {
    for (to, amount) in list {
        balances[*from] -= amount;
        balances[*to] += amount;
    }
}

/// `traders[from]` signs `transfers` as one list with its next one-time key; advances its key
/// state (one step for the whole list).
fn sign_next_list(
    statement: &SignedPublicInput,
    token: Felt,
    traders: &mut [Trader],
    from: usize,
    transfers: Vec<(Felt, u128)>,
) -> Result<SignedTransferListTx, SignError> {
    let address = traders[from].address;
    let key = traders[from].key.as_mut().ok_or(SignError::IndexOutOfRange(u32::MAX))?;
    let tx = SignedTransferListTx::sign(token, address, transfers, key.nonce, &key.seed, key.index, statement)?;
    key.index += 1;
    key.nonce += 1;
    Ok(tx)
}

/// `traders[from]` signs a transfer with its next one-time key at its slot's nonce, rotating
/// to the following key; advances its key state.
fn sign_next(
    statement: &SignedPublicInput,
    token: Felt,
    traders: &mut [Trader],
    from: usize,
    to: Felt,
    amount: u128,
) -> Result<SignedTransferTx, SignError> {
    let address = traders[from].address;
    let key = traders[from].key.as_mut().ok_or(SignError::IndexOutOfRange(u32::MAX))?;
    let transfer = Transfer { token, from: address, to, amount };
    let tx = SignedTransferTx::sign(transfer, key.nonce, &key.seed, key.index, statement)?;
    key.index += 1;
    key.nonce += 1;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use zkthread_token::{SignedBatcher, SignedRejection};
    use zkthread_prover::Slot;
    use zkthread_sig::domain::pack_key_slot;
    use zkthread_sig::wots::commitment;
    use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};

    fn statement() -> SignedPublicInput {
        SignedPublicInput {
            os_version: Felt::ONE,
            program_hash: Felt::TWO,
            chain_id: Felt::THREE,
            registry: Felt::from(4u8),
            thread_id: Felt::from(5u8),
            sequence: Felt::ZERO,
            contract_set_commitment: Felt::from(6u8),
            transactions: Default::default(),
            inputs: vec![],
            outputs: vec![],
        }
    }

    /// `n` traders, the first `keyed` with keys registered at nonce 1.
    fn traders(n: u64, keyed: u64) -> Vec<Trader> {
        (0..n)
            .map(|i| Trader {
                address: Felt::from(0x1000 + i),
                key: (i < keyed).then(|| TraderKey {
                    seed: KeySeed::from_elements(std::array::from_fn(|j| M31::reduce((i * 8 + j as u64 + 1) as u32))),
                    index: 0,
                    nonce: 1,
                }),
            })
            .collect()
    }

    fn genesis(token: Felt, traders: &[Trader], supply: u128) -> BTreeMap<Slot, Felt> {
        let mut state = BTreeMap::new();
        for (i, t) in traders.iter().enumerate() {
            let value = if i == 0 { supply } else { 0 };
            state.insert(Slot { contract: token, key: balance_slot_key(t.address) }, Felt::from(value));
            let key = t.key.as_ref().map_or(Felt::ZERO, |k| {
                pack_key_slot(&commitment(&k.seed, k.index).unwrap(), k.nonce).unwrap()
            });
            state.insert(Slot { contract: token, key: thread_key_slot_key(t.address) }, key);
        }
        state
    }

    fn check(n: u64, keyed: u64, count: usize) {
        let token = Felt::from(0xabcu32);
        let mut ts = traders(n, keyed);
        let state = genesis(token, &ts, 1_000_000_000);
        let work = generate_signed(&statement(), token, &mut ts, 1_000_000_000, count, 7).unwrap();
        assert_eq!(work.txs.len(), count + 4);
        let batch = SignedBatcher::new(statement(), [token]).batch(&work.txs, |s| state.get(s).copied()).unwrap();
        assert_eq!(batch.sub_block.transfers.len(), count);
        let got: Vec<usize> = batch.rejected.iter().map(SignedRejection::index).collect();
        let want: Vec<usize> = work.attacks.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, want, "{:?}", batch.rejected);
        for (reason, (_, attack)) in batch.rejected.iter().zip(&work.attacks) {
            let expected = match attack {
                Attack::TamperedAmount => matches!(reason, SignedRejection::BadSignature { .. }),
                Attack::ForeignKey if keyed == n => matches!(reason, SignedRejection::WrongKey { .. }),
                Attack::ForeignKey => matches!(reason, SignedRejection::NoKey { .. }),
                Attack::Replay => matches!(reason, SignedRejection::WrongNonce { .. }),
                Attack::Overspend => matches!(reason, SignedRejection::Overspend { .. }),
            };
            assert!(expected, "{attack:?}: {reason}");
        }
    }

    #[test]
    fn the_batcher_accepts_every_valid_transfer_and_refuses_each_planted_attack() {
        check(5, 5, 24);
        // An external node: only the signer has a key; the others only receive.
        check(4, 1, 12);
    }

    /// The list workload: every valid list accepted (the asked transfers in all, senders
    /// signing several lists), each planted attack refused for its own reason.
    #[test]
    fn the_list_batcher_accepts_every_valid_list_and_refuses_each_planted_attack() {
        let token = Felt::from(0xabcu32);
        let mut ts = traders(6, 6);
        let state = genesis(token, &ts, 1_000_000_000);
        let work = generate_lists(&statement(), token, &mut ts, 1_000_000_000, 100, 7).unwrap();
        let batch = SignedBatcher::new(statement(), [token]).batch_lists(&work.txs, |s| state.get(s).copied()).unwrap();
        assert_eq!(batch.sub_block.transfer_count(), 100);
        assert!(batch.sub_block.txs.len() < 30, "{} lists for 100 transfers", batch.sub_block.txs.len());
        let got: Vec<usize> = batch.rejected.iter().map(SignedRejection::index).collect();
        let want: Vec<usize> = work.attacks.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, want, "{:?}", batch.rejected);
        for (reason, (_, attack)) in batch.rejected.iter().zip(&work.attacks) {
            let expected = match attack {
                Attack::TamperedAmount => matches!(reason, SignedRejection::BadSignature { .. }),
                Attack::ForeignKey => matches!(reason, SignedRejection::WrongKey { .. }),
                Attack::Replay => matches!(reason, SignedRejection::WrongNonce { .. }),
                Attack::Overspend => matches!(reason, SignedRejection::ListOverspend { .. }),
            };
            assert!(expected, "{attack:?}: {reason}");
        }
    }

    #[test]
    fn same_seed_same_workload() {
        let token = Felt::ONE;
        let run = |seed| {
            let mut ts = traders(4, 4);
            generate_signed(&statement(), token, &mut ts, 10_000, 20, seed).unwrap().txs
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
