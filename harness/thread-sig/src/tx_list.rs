//! The transaction-list commitment: what a sub-block's proof says about *which* signed
//! transfers it applied, in which order.
//!
//! Each transfer is named by its **message digest** `d = message_digest(K, blocks(m, rho))`
//! (8 elements): the value its signature check reads digits from, so it covers the domain,
//! both accounts, the amount, the nonce, the next key, `rho` and (as the sponge's capacity)
//! the key `K` the signature is under. The list is an overwrite sponge over the digests in
//! sub-block order:
//!
//! ```text
//! cap_0 = [TAG_TX_LIST, 0; 7]
//! cap_{i+1} = P(d_i ++ cap_i)[8..16]
//! commitment = (n, cap_n)
//! ```
//!
//! The count is committed beside the capacity (the AIR threads `TxCap(i, cap_i)` from `i = 0`
//! to `n`), so no two lists of different lengths share a commitment by construction, and two
//! lists of one length share one only through a collision of the 248-bit capacity (~2^124
//! work, the same assumption as the signature's sponges).
//!
//! A client checks a batcher's published sub-block by recomputing [`TxListCommitment::of`]
//! from the published signed transfers ([`transfer_digest`]) and comparing it with the
//! commitment the registry emitted for that sequence: equal means exactly these transfers, in
//! this order, were proven.

use starknet_types_core::felt::Felt;

use crate::field::{M31, MODULUS};
use crate::hash::{permute, State, WIDTH};
use crate::wots::{message_digest, KeyCommitment, MessageError, Signature, TransferMessage, RATE};

/// Domain-separation tag of the transaction-list sponge (the other tags are 1..6).
pub const TAG_TX_LIST: M31 = M31::reduce(7);

/// One transfer's message digest.
pub type TxDigest = [M31; RATE];

/// The capacity before any transfer: `[TAG_TX_LIST, 0; 7]`.
pub fn initial_cap() -> [M31; RATE] {
    let mut cap = [M31::ZERO; RATE];
    cap[0] = TAG_TX_LIST;
    cap
}

/// The permutation input that absorbs `digest` into `cap`: `digest ++ cap`.
pub fn absorb_input(digest: &TxDigest, cap: &[M31; RATE]) -> State {
    let mut s = [M31::ZERO; WIDTH];
    s[..RATE].copy_from_slice(digest);
    s[RATE..].copy_from_slice(cap);
    s
}

/// The digest of a signed transfer: `message`'s digest under `key` with the signature's `rho`.
pub fn transfer_digest(
    key: &KeyCommitment,
    message: &TransferMessage,
    signature: &Signature,
) -> Result<TxDigest, MessageError> {
    Ok(message_digest(key, &message.blocks(&signature.rho)?).0)
}

/// The digest of any signed message (a transfer, a transfer list, an order): its digest under
/// `key` with the signature's `rho`.
pub fn signed_message_digest<M: crate::wots::Message + ?Sized>(
    key: &KeyCommitment,
    message: &M,
    signature: &Signature,
) -> Result<TxDigest, MessageError> {
    Ok(message_digest(key, &crate::wots::message_blocks(message, &signature.rho)?).0)
}

/// `(n, cap_n)`: the commitment to a list of `n` transfer digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxListCommitment {
    pub count: u32,
    pub cap: [M31; RATE],
}

/// A felt that is not a packed capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxListError {
    #[error("transaction-list commitment {0:#x} is not 8 canonical 31-bit words")]
    NotPacked(Felt),
    #[error("transaction count {0:#x} is not below 2^31 - 1")]
    Count(Felt),
}

impl Default for TxListCommitment {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl TxListCommitment {
    /// The commitment of the empty list.
    pub const EMPTY: TxListCommitment = TxListCommitment {
        count: 0,
        cap: [TAG_TX_LIST, M31::ZERO, M31::ZERO, M31::ZERO, M31::ZERO, M31::ZERO, M31::ZERO, M31::ZERO],
    };

    /// Appends one transfer's digest.
    pub fn absorb(&mut self, digest: &TxDigest) {
        let out = permute(absorb_input(digest, &self.cap));
        self.cap.copy_from_slice(&out[RATE..]);
        self.count += 1;
    }

    /// The commitment of `digests`, in order.
    pub fn of<'a>(digests: impl IntoIterator<Item = &'a TxDigest>) -> Self {
        let mut c = Self::EMPTY;
        for d in digests {
            c.absorb(d);
        }
        c
    }

    /// The capacity as one felt: `sum cap[i] * 2^(31 i)` (< 2^248).
    pub fn cap_felt(&self) -> Felt {
        self.cap.iter().rev().fold(Felt::ZERO, |acc, w| acc * Felt::from(1u64 << 31) + Felt::from(w.to_u32()))
    }

    /// `(count, cap_felt)` as they travel in `settle` and the registry's events.
    pub fn to_felts(&self) -> [Felt; 2] {
        [Felt::from(self.count), self.cap_felt()]
    }

    /// Inverse of [`Self::to_felts`]; refuses anything at or above 2^248 and any word equal
    /// to `2^31 - 1`, so each commitment has exactly one encoding.
    pub fn from_felts(count: Felt, cap: Felt) -> Result<Self, TxListError> {
        let count = u32::try_from(count)
            .ok()
            .filter(|n| *n < MODULUS)
            .ok_or(TxListError::Count(count))?;
        let bytes = cap.to_bytes_le();
        if bytes[31] != 0 {
            return Err(TxListError::NotPacked(cap));
        }
        let mut wide = [0u8; 32];
        wide.copy_from_slice(&bytes);
        let mut words = [M31::ZERO; RATE];
        for (i, w) in words.iter_mut().enumerate() {
            let mut v: u64 = 0;
            for b in 0..31 {
                let bit = 31 * i + b;
                v |= u64::from((wide[bit / 8] >> (bit % 8)) & 1) << b;
            }
            let v = v as u32;
            if v >= MODULUS {
                return Err(TxListError::NotPacked(cap));
            }
            *w = M31::reduce(v);
        }
        Ok(TxListCommitment { count, cap: words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(seed: u32) -> TxDigest {
        std::array::from_fn(|k| M31::reduce(seed.wrapping_mul(2_654_435_761).wrapping_add(k as u32)))
    }

    #[test]
    fn felts_round_trip_and_refuse_non_canonical_words() {
        let c = TxListCommitment::of(&[digest(1), digest(2), digest(3)]);
        assert_eq!(c.count, 3);
        let [n, cap] = c.to_felts();
        assert_eq!(TxListCommitment::from_felts(n, cap), Ok(c));
        assert_eq!(TxListCommitment::from_felts(n, TxListCommitment::EMPTY.cap_felt()).unwrap().cap, initial_cap());
        // A word of 2^31 - 1 and a felt at bit 248 have no capacity.
        let all_ones = Felt::from((1u64 << 31) - 1);
        assert!(TxListCommitment::from_felts(n, all_ones).is_err());
        assert!(TxListCommitment::from_felts(n, Felt::TWO.pow(248u32)).is_err());
        assert!(TxListCommitment::from_felts(Felt::from(1u64 << 32), cap).is_err());
    }

    #[test]
    fn order_count_and_content_all_change_the_commitment() {
        let (a, b) = (digest(7), digest(8));
        let ab = TxListCommitment::of(&[a, b]);
        assert_ne!(ab, TxListCommitment::of(&[b, a]));
        assert_ne!(ab, TxListCommitment::of(&[a]));
        assert_ne!(ab.cap, TxListCommitment::of(&[a, b, a]).cap);
        let mut c = b;
        c[7] = c[7] + M31::ONE;
        assert_ne!(ab, TxListCommitment::of(&[a, c]));
        assert_eq!(TxListCommitment::of(std::iter::empty()), TxListCommitment::EMPTY);
        assert_eq!(TxListCommitment::EMPTY.cap, initial_cap());
    }
}
