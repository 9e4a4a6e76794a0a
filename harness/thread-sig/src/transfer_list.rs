//! Transfer lists: one signature for many transfers of one sender (issue 11, "amortized
//! signatures" in `docs/signed-transfers.md`).
//!
//! A sender with several transfers for one sub-block signs one [`TransferListMessage`]: the
//! framework's fields (domain, signer, nonce, next key) and, as payload, a commitment to the
//! ordered list of `(to, amount)` pairs. The AIR verifies that one signature (124
//! permutations) and opens the list with 1.5 permutations per transfer, instead of one
//! signature per transfer.
//!
//! The list commitment is an overwrite sponge (rate 8, capacity 8) over the transfers'
//! 12-element encodings, concatenated and zero-padded to whole blocks:
//!
//! ```text
//! transfer j, j even = [to.low, amount30, to.high]
//! transfer j, j odd  = [to.high, to.low, amount30]
//! stream    = transfer 0 ++ transfer 1 ++ ... ++ [0; 4 if n is odd]
//! cap_0     = [TAG_TRANSFER_LIST, 0; 7]
//! cap_{k+1} = P(stream[8k..8k + 8] ++ cap_k)[8..16]
//! commitment = (n, cap_last)
//! ```
//!
//! `amount30` is the amount's four 30-bit chunks, least significant first
//! ([`amount_elements`]), so a listed amount is below `2^120` ([`LIST_AMOUNT_LIMIT`]): each
//! chunk is below `2^30 < p`, which makes the encoding injective (31-bit chunks are not: the
//! chunk `2^31 - 1` is `p`, i.e. 0). A pair of transfers is three blocks, `[to_0.low,
//! amount30_0] [to_0.high, to_1.high] [to_1.low, amount30_1]`: an odd transfer's order is
//! chosen so that its own block has the same shape as an even transfer's first, and the block
//! the two share carries only receivers (the AIR hands `to_1.high` from the even item's row to
//! the odd one's). Every receiver is named by its whole 248-bit id
//! ([`crate::domain::AccountId`]). Version 4 (sessions 51-54) spent two whole blocks a
//! transfer, `[to.low, amount[0..4]] [amount[4..8], to.high]` with 16-bit limbs: 2 n
//! permutations, so one sender's 256 transfers needed 2^10 Poseidon2 rows; this encoding takes
//! `ceil(1.5 n)` ([`list_blocks`]), and 256 fit 2^9.
//!
//! The message's payload is `[cap, n, LIST_MARK, 0; 6]`. A single transfer's payload
//! (`TransferMessage`) has an amount limb below `2^16` where this one has [`LIST_MARK`]
//! (`2^16`; the AIR range-checks every amount limb), so no signature of one kind is a signature
//! of the other. With `n` signed the stream is unambiguous (the padding is fixed by `n`), and
//! two lists share a commitment only through a collision of the 248-bit capacity (~2^124
//! work, the assumption of every sponge of the scheme).

use crate::field::M31;
use crate::hash::{permute, State, WIDTH};
use crate::domain::AccountId;
use crate::wots::{Hash4, KeyCommitment, Message, MessageError, PAYLOAD_LEN, RATE};

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
/// Elements of one transfer's encoding: a receiver (8) and an amount (4), a block and a half.
pub const TRANSFER_ELEMENTS: usize = 12;
/// Bits of one amount element.
pub const AMOUNT_CHUNK_BITS: u32 = 30;
/// Elements of an amount.
pub const AMOUNT_ELEMENTS: usize = 4;
/// A listed amount is below this: `2^120` (four 30-bit elements). Larger amounts go as single
/// transfers (whose amount is any `u128`).
pub const LIST_AMOUNT_LIMIT: u128 = 1 << (AMOUNT_CHUNK_BITS * AMOUNT_ELEMENTS as u32);

/// Blocks (permutations) the sponge absorbs for `n` transfers: `ceil(12 n / 8)`, three a pair.
pub const fn list_blocks(n: usize) -> usize {
    (TRANSFER_ELEMENTS * n).div_ceil(RATE)
}

/// `amount`'s four 30-bit chunks, least significant first; `None` from [`LIST_AMOUNT_LIMIT`] up.
pub fn amount_elements(amount: u128) -> Option<[M31; AMOUNT_ELEMENTS]> {
    if amount >= LIST_AMOUNT_LIMIT {
        return None;
    }
    let mask = (1u128 << AMOUNT_CHUNK_BITS) - 1;
    Some(std::array::from_fn(|i| M31::reduce(((amount >> (AMOUNT_CHUNK_BITS * i as u32)) & mask) as u32)))
}

/// One transfer of a list: its receiver's account id and amount (below [`LIST_AMOUNT_LIMIT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListedTransfer {
    /// The receiver's whole 248-bit id, as a single transfer names it.
    pub to: AccountId,
    pub amount: u128,
}

impl ListedTransfer {
    /// The transfer's 12 elements of the stream at list position `index`: `[to.low, amount30,
    /// to.high]` at an even position, `[to.high, to.low, amount30]` at an odd one. `None` for an
    /// amount from [`LIST_AMOUNT_LIMIT`] up, which no list can carry.
    pub fn elements(&self, index: usize) -> Option<[M31; TRANSFER_ELEMENTS]> {
        let a = amount_elements(self.amount)?;
        let (l, h) = (self.to.low, self.to.high);
        let parts = if index % 2 == 0 { [l, a, h] } else { [h, l, a] };
        Some(std::array::from_fn(|i| parts[i / 4][i % 4]))
    }
}

/// The stream of `items`: their encodings in order, zero-padded to whole blocks; `None` if an
/// amount is too large for a list.
fn list_stream(items: &[ListedTransfer]) -> Option<Vec<M31>> {
    let mut stream = Vec::with_capacity(list_blocks(items.len()) * RATE);
    for (j, item) in items.iter().enumerate() {
        stream.extend(item.elements(j)?);
    }
    stream.resize(list_blocks(items.len()) * RATE, M31::ZERO);
    Some(stream)
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
/// what the AIR's item rows prove, the pair `(2m, 2m + 1)` the blocks `3m`, `3m + 1` (the
/// even item's) and `3m + 2` (the odd one's). `None` if an amount is too large for a list.
pub fn list_permutations(items: &[ListedTransfer]) -> Option<Vec<ListPermutation>> {
    let stream = list_stream(items)?;
    let mut cap = list_initial_cap();
    let perms = stream
        .chunks(RATE)
        .map(|block| {
            let block: [M31; RATE] = std::array::from_fn(|i| block[i]);
            let input = list_absorb_input(&block, &cap);
            let output = permute(input);
            cap.copy_from_slice(&output[RATE..]);
            ListPermutation { input, output }
        })
        .collect();
    Some(perms)
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
    /// The commitment of `items`, in order; an error if an amount is [`LIST_AMOUNT_LIMIT`] or
    /// more (no list can carry it).
    pub fn of(items: &[ListedTransfer]) -> Result<Self, MessageError> {
        let perms = list_permutations(items).ok_or(MessageError::Field {
            field: "transfers",
            reason: "an amount of 2^120 or more (a list carries amounts below 2^120; send it as a single transfer)",
        })?;
        let mut cap = list_initial_cap();
        if let Some(last) = perms.last() {
            cap.copy_from_slice(&last.output[RATE..]);
        }
        // A list is at most ~43,600 transfers (one proof's permutations); the signed count
        // itself is checked in `payload`.
        Ok(TransferListCommitment { count: u32::try_from(items.len()).unwrap_or(u32::MAX), cap })
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
    /// The commitment the payload carries (an error if an amount is too large for a list).
    pub fn commitment(&self) -> Result<TransferListCommitment, MessageError> {
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
        let c = self.commitment()?;
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
    use crate::wots::{commitment, message_digest, sign, verify, KeySeed, TransferMessage};

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
        let c = |amounts: &[u128]| list(amounts).commitment().unwrap();
        let base = c(&[5, 6, 7]);
        assert_eq!(base.count, 3);
        assert_ne!(c(&[5, 6, 8]), base, "an amount");
        assert_ne!(c(&[5, 6 + (1 << 70), 7]), base, "an odd transfer's high chunk (its own block)");
        assert_ne!(c(&[5, 6]), base, "shorter");
        assert_ne!(c(&[5, 6, 7, 0]), base, "longer by a zero transfer");
        let mut swapped = list(&[5, 6, 7]);
        swapped.transfers.swap(0, 1);
        assert_ne!(swapped.commitment().unwrap(), base, "order");
        let mut other = list(&[5, 6, 7]);
        other.transfers[2].to.low = h(999);
        assert_ne!(other.commitment().unwrap(), base, "a receiver's low id");
        let mut twin = list(&[5, 6, 7]);
        twin.transfers[2].to.high[3] = M31::reduce(999);
        assert_ne!(twin.commitment().unwrap(), base, "a receiver's high id alone (the padded last block)");
        let mut odd_high = list(&[5, 6, 7]);
        odd_high.transfers[1].to.high[0] = M31::reduce(999);
        assert_ne!(odd_high.commitment().unwrap(), base, "an odd receiver's high id (the shared block)");
        assert_ne!(c(&[5, 6, 7 + (1 << 100)]), base, "the top chunk");
        assert_eq!(TransferListCommitment::of(&[]).unwrap(), TransferListCommitment::default());
        let perms = |n: usize| list_permutations(&list(&vec![5; n]).transfers).unwrap().len();
        assert_eq!((perms(1), perms(2), perms(3), perms(4)), (2, 3, 5, 6), "a block and a half a transfer");
    }

    /// Each chunk is below `2^30`, so the encoding is injective; `2^120` and up is refused.
    #[test]
    fn amounts_are_four_30_bit_chunks_below_2_120() {
        let top = LIST_AMOUNT_LIMIT - 1;
        let chunk = M31::reduce((1 << 30) - 1);
        assert_eq!(amount_elements(top), Some([chunk; 4]));
        assert_eq!(amount_elements(1 << 30), Some([M31::ZERO, M31::ONE, M31::ZERO, M31::ZERO]));
        assert_eq!(amount_elements(LIST_AMOUNT_LIMIT), None);
        assert_eq!(amount_elements(u128::MAX), None);
        let big = list(&[5, LIST_AMOUNT_LIMIT]);
        assert!(matches!(big.commitment(), Err(MessageError::Field { field: "transfers", .. })));
        assert!(big.payload().is_err(), "no payload, so no signature, for an amount a list cannot carry");
        let t = list(&[top]).transfers[0];
        let (even, odd) = (t.elements(0).unwrap(), t.elements(1).unwrap());
        assert_eq!((&even[..4], &even[4..8], &even[8..]), (&t.to.low[..], &[chunk; 4][..], &t.to.high[..]));
        assert_eq!((&odd[..4], &odd[4..8], &odd[8..]), (&t.to.high[..], &t.to.low[..], &[chunk; 4][..]));
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
