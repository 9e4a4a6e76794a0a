//! What the thread prover needs from a Merkle channel: mixing felt252 data and writing its
//! hashes as felts.

use starknet_crypto::poseidon_hash_many;
use starknet_types_core::felt::Felt;
use stwo::core::channel::{Channel, MerkleChannel, Poseidon252Channel};
use stwo::core::vcs::blake2_hash::Blake2sHash;
use stwo::core::vcs_lifted::blake2_merkle::Blake2sMerkleChannel;
use stwo::core::vcs_lifted::merkle_hasher::MerkleHasherLifted;
use stwo::core::vcs_lifted::poseidon252_merkle::Poseidon252MerkleChannel;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;

use crate::poseidon252_channel::ThreadPoseidon252Channel;
use crate::poseidon252_merkle::Poseidon252MerkleChannel as FastPoseidon252MerkleChannel;

pub type HashOf<MC> = <<MC as MerkleChannel>::H as MerkleHasherLifted>::Hash;

/// A Merkle channel usable for thread proofs.
pub trait ThreadChannel: MerkleChannel + 'static
where
    SimdBackend: BackendForChannel<Self>,
{
    /// Channel tag in the AIR descriptor.
    const NAME: &'static str;
    /// Mixes felt252 values into the channel.
    fn mix_felt252s(channel: &mut Self::C, felts: &[Felt]);
    /// Appends a Merkle hash as felts.
    fn hash_to_felts(hash: &HashOf<Self>, out: &mut Vec<Felt>);
    /// Reads a Merkle hash back.
    fn hash_from_felts(it: &mut dyn Iterator<Item = Felt>) -> Option<HashOf<Self>>;
}

type StwoFelt252 = HashOf<Poseidon252MerkleChannel>;

pub(crate) fn to_stwo(f: &Felt) -> StwoFelt252 {
    // Both are canonical 252-bit field elements of the same prime: bytes convert exactly.
    StwoFelt252::from_bytes_be(&f.to_bytes_be()).expect("a Felt is below the Stark prime")
}

pub(crate) fn from_stwo(f: &StwoFelt252) -> Felt {
    Felt::from_bytes_be(&f.to_bytes_be())
}

/// `digest <- poseidon_hash_many([digest, felts...])` (Cairo: `poseidon_hash_span`), the same
/// shape stwo uses for `mix_u32s`.
fn poseidon_mix_felt252s(channel: &mut impl AsStwoChannel, felts: &[Felt]) {
    let channel = channel.stwo_channel();
    let mut data = Vec::with_capacity(felts.len() + 1);
    data.push(from_stwo(&channel.digest()));
    data.extend_from_slice(felts);
    channel.update_digest(to_stwo(&poseidon_hash_many(&data)));
}

/// stwo's Poseidon252 channel, whose digest the felt252 mixing reads and replaces: itself, or
/// the one inside [`ThreadPoseidon252Channel`].
trait AsStwoChannel {
    fn stwo_channel(&mut self) -> &mut Poseidon252Channel;
}

impl AsStwoChannel for Poseidon252Channel {
    fn stwo_channel(&mut self) -> &mut Poseidon252Channel {
        self
    }
}

impl AsStwoChannel for ThreadPoseidon252Channel {
    fn stwo_channel(&mut self) -> &mut Poseidon252Channel {
        &mut self.0
    }
}

/// [`ThreadChannel`] for a Poseidon252 Merkle channel: stwo's, and this crate's faster one (the
/// same transcript, hash type and proofs).
macro_rules! poseidon252_thread_channel {
    ($channel:ty) => {
        impl ThreadChannel for $channel {
            const NAME: &'static str = "poseidon252";

            fn mix_felt252s(channel: &mut Self::C, felts: &[Felt]) {
                poseidon_mix_felt252s(channel, felts)
            }

            fn hash_to_felts(hash: &HashOf<Self>, out: &mut Vec<Felt>) {
                out.push(from_stwo(hash));
            }

            fn hash_from_felts(it: &mut dyn Iterator<Item = Felt>) -> Option<HashOf<Self>> {
                it.next().map(|f| to_stwo(&f))
            }
        }
    };
}

// stwo's: kept so that tests can check this crate's faster [`crate::Poseidon252MerkleChannel`]
// against it proof for proof.
poseidon252_thread_channel!(Poseidon252MerkleChannel);
// The channel of thread proofs.
poseidon252_thread_channel!(FastPoseidon252MerkleChannel);

impl ThreadChannel for Blake2sMerkleChannel {
    const NAME: &'static str = "blake2s";

    /// Each felt as 8 big-endian u32 words through `mix_u32s`.
    fn mix_felt252s(channel: &mut Self::C, felts: &[Felt]) {
        let words: Vec<u32> = felts
            .iter()
            .flat_map(|f| {
                let b = f.to_bytes_be();
                (0..8).map(move |i| u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]))
            })
            .collect();
        channel.mix_u32s(&words);
    }

    /// Two felts of 16 bytes each.
    fn hash_to_felts(hash: &HashOf<Self>, out: &mut Vec<Felt>) {
        out.push(Felt::from_bytes_be_slice(&hash.0[..16]));
        out.push(Felt::from_bytes_be_slice(&hash.0[16..]));
    }

    fn hash_from_felts(it: &mut dyn Iterator<Item = Felt>) -> Option<HashOf<Self>> {
        let mut bytes = [0u8; 32];
        for half in 0..2 {
            let b = it.next()?.to_bytes_be();
            if b[..16].iter().any(|x| *x != 0) {
                return None;
            }
            bytes[16 * half..16 * (half + 1)].copy_from_slice(&b[16..]);
        }
        Some(Blake2sHash(bytes))
    }
}
