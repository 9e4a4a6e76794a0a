//! Transfer lists: one signature for many transfers of one sender (issue 11, "amortized
//! signatures" in `docs/signed-transfers.md`).
//!
//! A sender with several transfers for one sub-block signs one [`TransferListMessage`]: the
//! framework's fields (domain, signer, nonce, next key) and, as payload, a commitment to the
//! ordered list of `(to, amount)` pairs. The AIR verifies that one signature (124
//! permutations) and opens the list with two permutations per transfer, instead of one
//! signature per transfer.
//!
//! The list commitment is an overwrite sponge (rate 8, capacity 8) over two blocks per
//! transfer:
//!
//! ```text
//! cap_0     = [TAG_TRANSFER_LIST, 0; 7]
//! mid_j     = P([to_j, amount_j[0..4]] ++ cap_j)
//! cap_{j+1} = P([amount_j[4..8], 0; 4] ++ mid_j[8..16])[8..16]
//! commitment = (n, cap_n)
//! ```
//!
//! and the message's payload is `[cap_n, n, 0, 0, 0, LIST_MARK, 0, 0, 0]`. A single
//! transfer's payload (`TransferMessage`) has `0` where this one has [`LIST_MARK`], so no
//! signature of one kind is a signature of the other. Two lists of one length share a
//! commitment only through a collision of the 248-bit capacity (~2^124 work, the assumption of
//! every sponge of the scheme); the count is signed beside it.

use crate::field::M31;
use crate::hash::{permute, State, WIDTH};
use crate::wots::{Hash4, KeyCommitment, Message, MessageError, TransferMessage, PAYLOAD_LEN, RATE};

/// Domain-separation tag of the list sponge (the scheme's other tags are 1..7).
pub const TAG_TRANSFER_LIST: M31 = M31::reduce(8);
/// Payload element 12 of a list message (a single transfer's is 0).
pub const LIST_MARK: M31 = M31::reduce(1);
/// Where the mark sits in the payload.
pub const LIST_MARK_AT: usize = 12;
/// Where the count sits in the payload.
pub const LIST_COUNT_AT: usize = 8;
/// Blocks (permutations) the sponge absorbs per transfer.
pub const BLOCKS_PER_TRANSFER: usize = 2;

/// One transfer of a list: its receiver's account id and amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListedTransfer {
    pub to: Hash4,
    pub amount: u128,
}

impl ListedTransfer {
    /// The two rate-8 blocks of this transfer: `[to, amount[0..4]]`, `[amount[4..8], 0; 4]`.
    pub fn blocks(&self) -> [[M31; RATE]; BLOCKS_PER_TRANSFER] {
        let a = TransferMessage::amount_limbs(self.amount);
        let t = self.to;
        [
            [t[0], t[1], t[2], t[3], a[0], a[1], a[2], a[3]],
            [a[4], a[5], a[6], a[7], M31::ZERO, M31::ZERO, M31::ZERO, M31::ZERO],
        ]
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

/// The two permutations one transfer's absorption makes, as `(input, output)`: what the AIR's
/// list-item row proves.
pub fn list_item_permutations(item: &ListedTransfer, cap: &[M31; RATE]) -> [(State, State); 2] {
    let [b0, b1] = item.blocks();
    let in0 = list_absorb_input(&b0, cap);
    let out0 = permute(in0);
    let mid: [M31; RATE] = std::array::from_fn(|i| out0[RATE + i]);
    let in1 = list_absorb_input(&b1, &mid);
    [(in0, out0), (in1, permute(in1))]
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
    /// Appends one transfer.
    pub fn absorb(&mut self, item: &ListedTransfer) {
        let [_, (_, out)] = list_item_permutations(item, &self.cap);
        self.cap.copy_from_slice(&out[RATE..]);
        self.count += 1;
    }

    /// The commitment of `items`, in order.
    pub fn of<'a>(items: impl IntoIterator<Item = &'a ListedTransfer>) -> Self {
        let mut c = Self::default();
        for item in items {
            c.absorb(item);
        }
        c
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

/// A list's payload is `[cap_n, n, 0, 0, 0, LIST_MARK, 0, 0, 0]`.
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

    fn list(amounts: &[u128]) -> TransferListMessage {
        TransferListMessage {
            domain: h(10),
            from: h(20),
            transfers: amounts.iter().enumerate().map(|(i, a)| ListedTransfer { to: h(100 + 10 * i as u32), amount: *a }).collect(),
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
        other.transfers[2].to = h(999);
        assert_ne!(other.commitment(), base, "a receiver");
        assert_eq!(TransferListCommitment::of(&[]), TransferListCommitment::default());
    }

    /// The payload puts the mark where a single transfer has 0, so neither signature is the
    /// other's, even over equal fields.
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
            to: [p[0], p[1], p[2], p[3]],
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
