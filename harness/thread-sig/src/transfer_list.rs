//! Transfer lists: one signature for many transfers of one sender (issue 11, "amortized
//! signatures" in `docs/signed-transfers.md`).
//!
//! A sender with several transfers for one sub-block signs one [`TransferListMessage`]: the
//! framework's fields (domain, signer, nonce, next key) and, as payload, a commitment to the
//! ordered list of `(to, amount)` pairs. The AIR verifies that one signature (124
//! permutations) and opens the list with two permutations per transfer, instead of one
//! signature per transfer.
//!
//! The list commitment is an overwrite sponge (rate 8, capacity 8) over the transfers'
//! encodings, `[to.low, amount limbs, to.high]` (16 elements each, the order of a single
//! transfer's payload), concatenated:
//!
//! ```text
//! stream    = [to_0.low, amount_0[0..8], to_0.high, to_1.low, ...]
//! cap_0     = [TAG_TRANSFER_LIST, 0; 7]
//! cap_{k+1} = P(stream[8k..8k + 8] ++ cap_k)[8..16]
//! commitment = (n, cap_last)
//! ```
//!
//! so a transfer is exactly two blocks, `[to.low, amount[0..4]]` and `[amount[4..8],
//! to.high]`, and every receiver is named by its whole 248-bit id
//! ([`crate::domain::AccountId`]; session 51: the 12-element encoding of sessions 42-50 named
//! it by its low 124 bits, a ~2^62 collision search away from paying another owner). The
//! message's payload is `[cap, n, LIST_MARK, 0; 6]`. A single transfer's payload
//! (`TransferMessage`) has an amount limb below `2^16` where this one has [`LIST_MARK`]
//! (`2^16`; the AIR range-checks every amount limb), so no signature of one kind is a signature
//! of the other. With `n` signed the stream is unambiguous, and two lists share a commitment
//! only through a collision of the 248-bit capacity (~2^124 work, the assumption of every
//! sponge of the scheme).

use crate::field::M31;
use crate::hash::{permute, State, WIDTH};
use crate::domain::AccountId;
use crate::wots::{Hash4, KeyCommitment, Message, MessageError, TransferMessage, PAYLOAD_LEN, RATE};

/// Domain-separation tag of the list sponge (the scheme's other tags are 1..7).
pub const TAG_TRANSFER_LIST: M31 = M31::reduce(8);
/// Payload element 9 of a list message: `2^16`, where a single transfer has its amount's limb
/// 5, below `2^16` (a transfer's payload fills all 16 elements since its receiver is named by
/// 248 bits, `crate::domain::AccountId`, so the mark is a value no transfer can have there).
pub const LIST_MARK: M31 = M31::reduce(1 << 16);
/// Where the mark sits in the payload.
pub const LIST_MARK_AT: usize = 9;
/// Where the count sits in the payload.
pub const LIST_COUNT_AT: usize = 8;
/// Elements of one transfer's encoding: two blocks.
pub const TRANSFER_ELEMENTS: usize = 2 * RATE;

/// Blocks (permutations) the sponge absorbs for `n` transfers: two a transfer.
pub const fn list_blocks(n: usize) -> usize {
    (TRANSFER_ELEMENTS * n).div_ceil(RATE)
}

/// One transfer of a list: its receiver's account id and amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListedTransfer {
    /// The receiver's whole 248-bit id, as a single transfer names it.
    pub to: AccountId,
    pub amount: u128,
}

impl ListedTransfer {
    /// `[to.low, amount limbs, to.high]`: the transfer's 16 elements of the stream, in the order
    /// of a single transfer's payload.
    pub fn elements(&self) -> [M31; TRANSFER_ELEMENTS] {
        let a = TransferMessage::amount_limbs(self.amount);
        let (l, h) = (self.to.low, self.to.high);
        [l[0], l[1], l[2], l[3], a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], h[0], h[1], h[2], h[3]]
    }
}

/// The capacity before any transfer: `[TAG_TRANSFER_LIST, 0; 7]`.
pub fn list_initial_cap() -> [M31; RATE] {
    let mut cap = [M31::ZERO; RATE];
    cap[0] = TAG_TRANSFER_LIST;
    cap
}

/// `block ++ cap`: the permutation input that absorbs one block.
pub fn list_absorb_input(block: &[M31; RATE], cap: &[M31; RATE]) -> State {
    let mut s = [M31::ZERO; WIDTH];
    s[..RATE].copy_from_slice(block);
    s[RATE..].copy_from_slice(cap);
    s
}

/// One permutation of the list sponge: the block it absorbs, its input and output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListPermutation {
    pub input: State,
    pub output: State,
}

/// Every permutation of the list sponge over `items`, in order (`list_blocks(n)` of them):
/// what the AIR's item rows prove, transfer `j` the blocks `2j` and `2j + 1`.
pub fn list_permutations(items: &[ListedTransfer]) -> Vec<ListPermutation> {
    // Two whole blocks a transfer: the stream needs no padding.
    let stream: Vec<M31> = items.iter().flat_map(|i| i.elements()).collect();
    debug_assert_eq!(stream.len(), list_blocks(items.len()) * RATE);
    let mut cap = list_initial_cap();
    stream
        .chunks(RATE)
        .map(|block| {
            let block: [M31; RATE] = std::array::from_fn(|i| block[i]);
            let input = list_absorb_input(&block, &cap);
            let output = permute(input);
            cap.copy_from_slice(&output[RATE..]);
            ListPermutation { input, output }
        })
        .collect()
}

/// `(n, cap_n)`: the commitment to an ordered list of `n` transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransferListCommitment {
    pub count: u32,
    pub cap: [M31; RATE],
}

impl Default for TransferListCommitment {
    fn default() -> Self {
        TransferListCommitment { count: 0, cap: list_initial_cap() }
    }
}

impl TransferListCommitment {
    /// The commitment of `items`, in order.
    pub fn of(items: &[ListedTransfer]) -> Self {
        let mut cap = list_initial_cap();
        if let Some(last) = list_permutations(items).last() {
            cap.copy_from_slice(&last.output[RATE..]);
        }
        // A list is at most ~32,700 transfers (one proof's permutations); the signed count
        // itself is checked in `payload`.
        TransferListCommitment { count: u32::try_from(items.len()).unwrap_or(u32::MAX), cap }
    }
}

/// The signed fields of a transfer list (everything but `rho`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransferListMessage {
    /// The transfer domain `D` (chain, registry, thread, token).
    pub domain: Hash4,
    /// Account id of the sender of every transfer in the list.
    pub from: Hash4,
    /// The transfers, in the order they apply.
    pub transfers: Vec<ListedTransfer>,
    /// The sender's key-slot nonce the list consumes (one for the whole list).
    pub nonce: u32,
    /// The key commitment the list rotates the sender's key slot to.
    pub next_key: KeyCommitment,
}

impl TransferListMessage {
    /// The commitment the payload carries.
    pub fn commitment(&self) -> TransferListCommitment {
        TransferListCommitment::of(&self.transfers)
    }
}

/// A list's payload is `[cap_n, n, LIST_MARK, 0; 6]`.
impl Message for TransferListMessage {
    fn domain(&self) -> Hash4 {
        self.domain
    }

    fn signer(&self) -> Hash4 {
        self.from
    }

    fn nonce(&self) -> u32 {
        self.nonce
    }

    fn next_key(&self) -> KeyCommitment {
        self.next_key
    }

    fn set_next_key(&mut self, key: KeyCommitment) {
        self.next_key = key;
    }

    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError> {
        let count = u32::try_from(self.transfers.len())
            .ok()
            .and_then(|n| M31::from_u32(n).ok())
            .ok_or(MessageError::Field { field: "transfers", reason: "more than 2^31 - 2 transfers" })?;
        let c = self.commitment();
        let mut p = [M31::ZERO; PAYLOAD_LEN];
        p[..RATE].copy_from_slice(&c.cap);
        p[LIST_COUNT_AT] = count;
        p[LIST_MARK_AT] = LIST_MARK;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wots::{commitment, message_digest, sign, verify, KeySeed};

    fn h(b: u32) -> Hash4 {
        std::array::from_fn(|i| M31::reduce(b + i as u32))
    }

    fn wide(b: u32) -> AccountId {
        AccountId { low: h(b), high: h(b + 50) }
    }

    fn list(amounts: &[u128]) -> TransferListMessage {
        TransferListMessage {
            domain: h(10),
            from: h(20),
            transfers: amounts.iter().enumerate().map(|(i, a)| ListedTransfer { to: wide(100 + 10 * i as u32), amount: *a }).collect(),
            nonce: 7,
            next_key: KeyCommitment(h(80)),
        }
    }

    #[test]
    fn the_commitment_binds_every_transfer_its_order_and_the_count() {
        let base = list(&[5, 6, 7]).commitment();
        assert_eq!(base.count, 3);
        assert_ne!(list(&[5, 6, 8]).commitment(), base, "an amount");
        assert_ne!(list(&[5, 6, 7 + (1 << 70)]).commitment(), base, "a high limb (second block)");
        assert_ne!(list(&[5, 6]).commitment(), base, "shorter");
        assert_ne!(list(&[5, 6, 7, 0]).commitment(), base, "longer by a zero transfer");
        let mut swapped = list(&[5, 6, 7]);
        swapped.transfers.swap(0, 1);
        assert_ne!(swapped.commitment(), base, "order");
        let mut other = list(&[5, 6, 7]);
        other.transfers[2].to.low = h(999);
        assert_ne!(other.commitment(), base, "a receiver's low id");
        let mut twin = list(&[5, 6, 7]);
        twin.transfers[2].to.high[3] = M31::reduce(999);
        assert_ne!(twin.commitment(), base, "a receiver's high id alone (the last block)");
        assert_ne!(list(&[5, 6, 7 + (1 << 100)]).commitment(), base, "the last limbs (the last block)");
        assert_eq!(TransferListCommitment::of(&[]), TransferListCommitment::default());
        assert_eq!(list_permutations(&list(&[5, 6, 7]).transfers).len(), 6, "two blocks a transfer");
        assert_eq!(list_permutations(&list(&[5, 6]).transfers).len(), 4);
    }

    /// The payload puts the mark (`2^16`) where a single transfer has an amount limb (below
    /// `2^16`), so neither signature is the other's, even over equal fields.
    #[test]
    fn a_list_signature_is_not_a_transfer_signature() {
        let seed = KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(3 + i as u32)));
        let key = commitment(&seed, 0).unwrap();
        let msg = list(&[5, 6, 7]);
        let sig = sign(&seed, 0, &msg).unwrap();
        verify(&key, &msg, &sig).expect("the list verifies");
        let p = msg.payload().unwrap();
        assert_eq!(p[LIST_MARK_AT], LIST_MARK);
        assert_eq!(p[LIST_COUNT_AT], M31::reduce(3));
        // The transfer whose payload agrees with the list's everywhere it can.
        let single = TransferMessage {
            domain: msg.domain,
            from: msg.from,
            to: crate::domain::AccountId { low: [p[0], p[1], p[2], p[3]], high: [p[12], p[13], p[14], p[15]] },
            amount: (0..8).fold(0u128, |acc, i| acc | (u128::from(p[4 + i].to_u32() & 0xFFFF) << (16 * i))),
            nonce: msg.nonce,
            next_key: msg.next_key,
        };
        assert_eq!(single.payload().unwrap()[LIST_MARK_AT], M31::ZERO);
        assert!(verify(&key, &single, &sig).is_err());
        let rho = sig.rho;
        let d_list = message_digest(&key, &crate::wots::message_blocks(&msg, &rho).unwrap()).0;
        let d_single = message_digest(&key, &crate::wots::message_blocks(&single, &rho).unwrap()).0;
        assert_ne!(d_list, d_single);
        // Editing the list after signing breaks the signature.
        let mut edited = msg.clone();
        edited.transfers[1].amount = 60;
        assert!(verify(&key, &edited, &sig).is_err());
    }
}
