//! TS-WOTS over Poseidon2-M31: exactly the scheme of `docs/signed-transfers.md`.
//!
//! Layouts (indices into the 16-element permutation state; unnamed positions are 0):
//!
//! | hash            | 0..4        | 4..8      | 8     | 9     | 10           | 11..16 |
//! |-----------------|-------------|-----------|-------|-------|--------------|--------|
//! | chain start     | seed[0..4]  | seed[4..8]| n     | i     | TAG_SECRET=4 | 0      |
//! | pp              | seed[0..4]  | seed[4..8]| n     | 0     | TAG_PARAM=5  | 0      |
//! | rho key (client)| seed[0..4]  | seed[4..8]| n     | 0     | TAG_RHO=6    | 0      |
//! | chain step      | c[i][j]     | pp        | i     | j     | TAG_CHAIN=1  | 0      |
//!
//! each `compress`ed (`P(x) + x`), keeping `[0..4]` (`[0..8]` for the rho key). Sponges are
//! overwrite sponges without feed-forward: `s = P(block ++ s[8..16])`, initial capacity
//! `s[8..16]` = `[pp; 4] ++ [TAG_PK, 0, 0, 0]` (key commitment, 32 blocks `[e[2b]; 4] ++
//! [e[2b+1]; 4]`, output `s[0..4]`) or `[K; 4] ++ [TAG_MSG, 0, 0, 0]` (digest, 4 message
//! blocks, output `s[0..8]`); the initial rate `s[0..8]` is zero and never enters a
//! permutation (it is overwritten by the first block).

use crate::field::{M31, MODULUS};
use crate::hash::{compress, permute, State, WIDTH};

/// Number of chains.
pub const V: usize = 64;
/// Positions per chain: digits are `0..W`, the chain end is position `W - 1`.
pub const W: usize = 4;
/// Position of the chain end.
pub const CHAIN_END: u8 = (W - 1) as u8;
/// Required digit sum.
pub const TARGET_SUM: u32 = 104;
/// Elements of a chain value, a key commitment and `pp`.
pub const HASH_LEN: usize = 4;
/// Sponge rate (elements absorbed per permutation).
pub const RATE: usize = 8;
/// Elements of the seed.
pub const SEED_LEN: usize = 8;
/// Elements of `rho`.
pub const RHO_LEN: usize = 3;
/// Message blocks absorbed by the digest sponge.
pub const MESSAGE_BLOCKS: usize = 4;
/// Blocks absorbed by the key-commitment sponge (two chain ends per block).
pub const KEY_BLOCKS: usize = V / 2;
/// Chain steps a verifier walks: `V * (W - 1) - TARGET_SUM`.
pub const VERIFY_CHAIN_STEPS: usize = V * (W - 1) - TARGET_SUM as usize;
/// Permutations in one verification (chain steps + key sponge + digest sponge) = 124.
pub const VERIFY_PERMUTATIONS: usize = VERIFY_CHAIN_STEPS + KEY_BLOCKS + MESSAGE_BLOCKS;
/// Elements of a serialized signature: `rho ++ pp ++ chains`.
pub const SIGNATURE_LEN: usize = RHO_LEN + HASH_LEN + V * HASH_LEN;

pub const TAG_CHAIN: M31 = M31::reduce(1);
pub const TAG_PK: M31 = M31::reduce(2);
pub const TAG_MSG: M31 = M31::reduce(3);
pub const TAG_SECRET: M31 = M31::reduce(4);
pub const TAG_PARAM: M31 = M31::reduce(5);
/// Client-only: keys the PRF that derives `rho`. A verifier never sees it (any `rho` is
/// accepted), but it keeps the PRF's inputs disjoint from every public hash.
pub const TAG_RHO: M31 = M31::reduce(6);

/// Upper bound on `rho` draws. `P[sum == T]` is ~2.99%, so failing 4096 draws in a row has
/// probability ~2^-179: reaching the bound means a broken hash, not bad luck.
pub const MAX_SIGN_TRIES: u32 = 4096;

/// Key indices are M31 elements: `0..2^31 - 1`.
pub const MAX_KEY_INDEX: u32 = MODULUS - 1;

/// A chain value / `pp` / key commitment width value.
pub type Hash4 = [M31; HASH_LEN];

/// The wallet's 248-bit secret. Wiped on drop; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySeed([M31; SEED_LEN]);

impl KeySeed {
    pub fn from_elements(elements: [M31; SEED_LEN]) -> KeySeed {
        KeySeed(elements)
    }

    /// From canonical u32 values (e.g. a key file); refuses `>= 2^31 - 1`.
    pub fn from_u32(values: [u32; SEED_LEN]) -> Result<KeySeed, crate::field::NotCanonical> {
        Ok(KeySeed(M31::array_from_u32(values)?))
    }

    /// A fresh uniform seed from the operating system's CSPRNG: each element is a uniform
    /// 31-bit draw with the one non-canonical value (`2^31 - 1`) rejected, so the seed is
    /// uniform over `M31^8` (log2 = 247.99 bits).
    #[cfg(feature = "keystore")]
    pub fn generate() -> Result<KeySeed, getrandom::Error> {
        let mut out = [M31::ZERO; SEED_LEN];
        let mut buf = [0u8; 4];
        for slot in out.iter_mut() {
            *slot = loop {
                getrandom::fill(&mut buf)?;
                let v = u32::from_le_bytes(buf) & MODULUS;
                if let Ok(x) = M31::from_u32(v) {
                    break x;
                }
            };
        }
        zeroize::Zeroize::zeroize(&mut buf);
        Ok(KeySeed(out))
    }

    /// The raw elements, for persisting the seed. Handle as secret.
    pub fn expose_u32(&self) -> [u32; SEED_LEN] {
        M31::array_to_u32(self.0)
    }

    fn elements(&self) -> &[M31; SEED_LEN] {
        &self.0
    }
}

impl Drop for KeySeed {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(M31::wipe);
    }
}

impl std::fmt::Debug for KeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySeed(<secret>)")
    }
}

/// A key commitment `K` (the value registered in the key slot). `[0; 4]` means "no key".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyCommitment(pub Hash4);

impl KeyCommitment {
    /// The "no key" value: nobody can sign for it.
    pub const NONE: KeyCommitment = KeyCommitment([M31::ZERO; HASH_LEN]);

    pub fn is_none(&self) -> bool {
        *self == KeyCommitment::NONE
    }

    pub fn to_u32(&self) -> [u32; HASH_LEN] {
        M31::array_to_u32(self.0)
    }

    pub fn from_u32(values: [u32; HASH_LEN]) -> Result<KeyCommitment, crate::field::NotCanonical> {
        Ok(KeyCommitment(M31::array_from_u32(values)?))
    }
}

/// The four rate-8 blocks a message digest absorbs.
pub type MessageBlocks = [[M31; RATE]; MESSAGE_BLOCKS];

/// Elements of a message that are its program's own (the rest is the framework's layout).
pub const PAYLOAD_LEN: usize = 16;

/// A message a thread key signs: the framework's fields (domain, signer, nonce, next key) and
/// the program's [`PAYLOAD_LEN`] payload elements, laid out by [`message_blocks`] — the layout
/// the AIR's `signed_message` reads, so every program signs the same way.
///
/// A program with several message types (an order and its cancel, say) must tag them with a
/// payload element no other type has at that place: the signature covers elements, not types,
/// so untagged types with equal elements are one message. Programs need no tag against each
/// other: the domain names the contract and the thread.
pub trait Message {
    /// The domain `D` (chain, registry, thread, contract): [`crate::domain::transfer_domain`].
    fn domain(&self) -> Hash4;
    /// Account id of the signer (whose key slot the message moves): [`crate::domain::account_id`].
    fn signer(&self) -> Hash4;
    /// The signer's key-slot nonce the message consumes (must be `< 2^31 - 1`).
    fn nonce(&self) -> u32;
    /// The key commitment the message rotates the signer's key slot to.
    fn next_key(&self) -> KeyCommitment;
    /// Sets the next key (a wallet installs the commitment of its next index).
    fn set_next_key(&mut self, key: KeyCommitment);
    /// The program's payload elements.
    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError>;
}

/// What a wallet checks before it signs `msg` (and a service before it stores a signed one):
/// the message encodes ([`message_blocks`]) and its nonce is one a settlement can consume,
/// below `KEY_NONCE_BOUND - 1` (`2^31 - 3`).
///
/// Why: the AIR steps a key nonce by one in M31, and only the statement's input and output
/// key slots are held below `KEY_NONCE_BOUND` (`2^31 - 2`), not the key tuples a sub-block
/// passes between one sender's messages. Two of them at `2^31 - 3` and `2^31 - 2` chained in
/// one proof would step the slot `2^31 - 3 -> 2^31 - 2 -> 0` (helper-73's review), which the
/// statement refuses since session 49 (a written key slot's nonce moves forward); a message at
/// `2^31 - 3` could only settle that way (its own step writes `2^31 - 2`, refused as an
/// output). So no honest signer signs either: neither signature could ever settle.
pub fn check_signable<M: Message + ?Sized>(msg: &M) -> Result<(), MessageError> {
    message_blocks(msg, &[M31::ZERO; RHO_LEN])?;
    check_consumable_nonce(msg.nonce())
}

/// The nonce rule of [`check_signable`] alone: `nonce < KEY_NONCE_BOUND - 1`.
pub fn check_consumable_nonce(nonce: u32) -> Result<(), MessageError> {
    if nonce >= crate::domain::KEY_NONCE_BOUND - 1 {
        return Err(MessageError::NonceExhausted(nonce));
    }
    Ok(())
}

/// The blocks of `msg` with `rho`:
/// `[D, A] [p[0..8]] [p[8..12], nonce, K_next[0..3]] [K_next[3], rho, p[12..16]]`.
pub fn message_blocks<M: Message + ?Sized>(
    msg: &M,
    rho: &[M31; RHO_LEN],
) -> Result<MessageBlocks, MessageError> {
    let nonce = msg.nonce();
    let nonce = M31::from_u32(nonce).map_err(|_| MessageError::NonceOutOfRange(nonce))?;
    let p = msg.payload()?;
    let k = msg.next_key().0;
    let (d, a) = (msg.domain(), msg.signer());
    Ok([
        [d[0], d[1], d[2], d[3], a[0], a[1], a[2], a[3]],
        [p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]],
        [p[8], p[9], p[10], p[11], nonce, k[0], k[1], k[2]],
        [k[3], rho[0], rho[1], rho[2], p[12], p[13], p[14], p[15]],
    ])
}

/// Where `rho` sits in [`message_blocks`]: block 3, elements 1..4.
const RHO_BLOCK: usize = MESSAGE_BLOCKS - 1;
const RHO_AT: usize = 1;

/// The signed fields of a thread transfer (everything but `rho`, which the signer draws).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransferMessage {
    /// The transfer domain `D` (chain, registry, thread, token): [`crate::domain::transfer_domain`].
    pub domain: Hash4,
    /// Account id of the sender: [`crate::domain::account_id`].
    pub from: Hash4,
    /// The recipient's 248-bit account id ([`crate::domain::account_id_wide`]): the AIR
    /// credits the `Balance` tuple carrying all of it.
    pub to: crate::domain::AccountId,
    pub amount: u128,
    /// The sender's key-slot nonce this transfer consumes (must be `< 2^31 - 1`).
    pub nonce: u32,
    /// The key commitment the transfer rotates the sender's key slot to.
    pub next_key: KeyCommitment,
}

/// A message field that has no M31 encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("nonce {0} is not an M31 element (must be < 2^31 - 1)")]
    NonceOutOfRange(u32),
    /// A nonce no settlement can consume ([`check_signable`]).
    #[error("nonce {0} is exhausted: the last nonce a key slot can consume is 2^31 - 4 (a new key does not reset it: this account can send no more here)")]
    NonceExhausted(u32),
    /// A program's payload field out of its range.
    #[error("message field {field}: {reason}")]
    Field { field: &'static str, reason: &'static str },
}

impl TransferMessage {
    /// `amount` as 8 little-endian 16-bit limbs (the AIR's balance limbs).
    pub fn amount_limbs(amount: u128) -> [M31; 8] {
        std::array::from_fn(|k| M31::reduce(((amount >> (16 * k)) & 0xFFFF) as u32))
    }

    /// The four rate-8 blocks the digest absorbs ([`message_blocks`]):
    /// `[D, from] [to.low, amount[0..4]] [amount[4..8], nonce, K_next[0..3]] [K_next[3], rho, to.high]`.
    pub fn blocks(&self, rho: &[M31; RHO_LEN]) -> Result<MessageBlocks, MessageError> {
        message_blocks(self, rho)
    }
}

/// A transfer's payload is `[to.low, amount limbs, to.high]`: every element is used, and limb 5
/// of the amount (below `2^16`) is where a list message has its mark
/// ([`crate::transfer_list::LIST_MARK`]).
impl Message for TransferMessage {
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
        let a = Self::amount_limbs(self.amount);
        let mut p = [M31::ZERO; PAYLOAD_LEN];
        p[..4].copy_from_slice(&self.to.low);
        p[4..12].copy_from_slice(&a);
        p[12..].copy_from_slice(&self.to.high);
        Ok(p)
    }
}

/// A one-time signature: `(rho, pp, s[i] = c[i][x[i]])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub rho: [M31; RHO_LEN],
    pub pp: Hash4,
    pub chains: [Hash4; V],
}

/// A serialized signature of the wrong length or with a non-canonical element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFormatError {
    #[error("a signature has {expected} elements, got {got}")]
    Length { expected: usize, got: usize },
    #[error(transparent)]
    NotCanonical(#[from] crate::field::NotCanonical),
}

impl Signature {
    /// `rho ++ pp ++ chains[0] ++ ... ++ chains[63]` (263 elements).
    pub fn to_elements(&self) -> Vec<M31> {
        let mut out = Vec::with_capacity(SIGNATURE_LEN);
        out.extend_from_slice(&self.rho);
        out.extend_from_slice(&self.pp);
        self.chains.iter().for_each(|c| out.extend_from_slice(c));
        out
    }

    /// Inverse of [`Signature::to_elements`].
    pub fn from_elements(elements: &[M31]) -> Result<Signature, SignatureFormatError> {
        if elements.len() != SIGNATURE_LEN {
            return Err(SignatureFormatError::Length {
                expected: SIGNATURE_LEN,
                got: elements.len(),
            });
        }
        let at = |k: usize| elements[k];
        let rho = std::array::from_fn(at);
        let pp = std::array::from_fn(|k| at(RHO_LEN + k));
        let chains = std::array::from_fn(|i| {
            std::array::from_fn(|k| at(RHO_LEN + HASH_LEN + HASH_LEN * i + k))
        });
        Ok(Signature { rho, pp, chains })
    }

    pub fn to_u32(&self) -> Vec<u32> {
        self.to_elements().into_iter().map(M31::to_u32).collect()
    }

    /// From canonical u32 values (untrusted input: lengths and values are checked).
    pub fn from_u32(values: &[u32]) -> Result<Signature, SignatureFormatError> {
        let elements = values
            .iter()
            .map(|&v| M31::from_u32(v))
            .collect::<Result<Vec<_>, _>>()?;
        Signature::from_elements(&elements)
    }
}

/// Why signing failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("key index {0} out of range (must be <= {MAX_KEY_INDEX})")]
    IndexOutOfRange(u32),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error("no rho reached the target sum in {0} tries (the hash is broken)")]
    TargetSumNotReached(u32),
}

/// Why a signature was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error("the key slot holds no key (K = 0)")]
    NoKey,
    #[error("digest digits sum to {sum}, not the target {TARGET_SUM}")]
    TargetSum { sum: u32 },
    #[error("a digest element is not below 2^31 - 2^16 (the AIR cannot split it uniquely)")]
    DigestOutOfRange,
    #[error("the signature's chains and pp do not open the key commitment")]
    KeyMismatch,
}

fn key_index(index: u32) -> Result<M31, SignError> {
    M31::from_u32(index).map_err(|_| SignError::IndexOutOfRange(index))
}

/// `[seed; 8] ++ [n, i, tag, 0; 5]`: the input of every seed-keyed derivation.
fn seed_input(seed: &KeySeed, n: M31, i: M31, tag: M31) -> State {
    let mut s = [M31::ZERO; WIDTH];
    s[..SEED_LEN].copy_from_slice(seed.elements());
    s[8] = n;
    s[9] = i;
    s[10] = tag;
    s
}

fn take4(s: &State) -> Hash4 {
    [s[0], s[1], s[2], s[3]]
}

/// The permutation input of the chain step `c[i][j] -> c[i][j+1]`:
/// `[c[i][j]; 4] ++ [pp; 4] ++ [i, j, TAG_CHAIN, 0; 5]`.
pub fn chain_step_input(pp: &Hash4, chain: u8, position: u8, value: &Hash4) -> State {
    let mut s = [M31::ZERO; WIDTH];
    s[0..4].copy_from_slice(value);
    s[4..8].copy_from_slice(pp);
    s[8] = M31::reduce(chain as u32);
    s[9] = M31::reduce(position as u32);
    s[10] = TAG_CHAIN;
    s
}

/// `c[i][j+1] = compress(chain_step_input(pp, i, j, c[i][j]))[0..4]`.
pub fn chain_step(pp: &Hash4, chain: u8, position: u8, value: &Hash4) -> Hash4 {
    take4(&compress(chain_step_input(pp, chain, position, value)))
}

/// The key-commitment sponge over the 64 chain ends; returns `K` and the 33 sponge states
/// (initial state, then the state after each of the 32 permutations).
pub fn key_commitment_sponge(
    pp: &Hash4,
    ends: &[Hash4; V],
) -> (KeyCommitment, [State; KEY_BLOCKS + 1]) {
    let mut states = [[M31::ZERO; WIDTH]; KEY_BLOCKS + 1];
    states[0][8..12].copy_from_slice(pp);
    states[0][12] = TAG_PK;
    for b in 0..KEY_BLOCKS {
        let mut input = states[b];
        input[0..4].copy_from_slice(&ends[2 * b]);
        input[4..8].copy_from_slice(&ends[2 * b + 1]);
        states[b + 1] = permute(input);
    }
    (KeyCommitment(take4(&states[KEY_BLOCKS])), states)
}

/// Initial digest-sponge state `[0; 8] ++ [K; 4] ++ [TAG_MSG, 0, 0, 0]`.
fn digest_initial(key: &KeyCommitment) -> State {
    let mut s = [M31::ZERO; WIDTH];
    s[8..12].copy_from_slice(&key.0);
    s[12] = TAG_MSG;
    s
}

/// `s' = P(block ++ s[8..16])`.
fn absorb(state: &State, block: &[M31; RATE]) -> State {
    let mut input = *state;
    input[..RATE].copy_from_slice(block);
    permute(input)
}

/// The digest sponge: `d = s[0..8]` and the 5 states (initial, after each block).
pub fn message_digest(
    key: &KeyCommitment,
    blocks: &[[M31; RATE]; MESSAGE_BLOCKS],
) -> ([M31; RATE], [State; MESSAGE_BLOCKS + 1]) {
    let mut states = [digest_initial(key); MESSAGE_BLOCKS + 1];
    for b in 0..MESSAGE_BLOCKS {
        states[b + 1] = absorb(&states[b], &blocks[b]);
    }
    let last = &states[MESSAGE_BLOCKS];
    (std::array::from_fn(|k| last[k]), states)
}

/// The 64 digits: `d[e] mod 2^16` in base 4, little-endian: `x[8e + k] = (d[e] >> 2k) & 3`.
pub fn digits(digest: &[M31; RATE]) -> [u8; V] {
    std::array::from_fn(|t| ((digest[t / 8].to_u32() >> (2 * (t % 8))) & 3) as u8)
}

/// Digest elements must be below `2^31 - 2^16`: the AIR splits each element as
/// `hi * 2^16 + lo` with `hi <= 2^15 - 2`, which excludes the one pair `(2^15 - 1, 2^16 - 1)`
/// that equals `P = 0` (a prover could otherwise read "all digits 3" out of a 0 element).
/// A signer retries `rho` when an element is out of range (probability ~2^-12 per digest).
pub const DIGEST_ELEMENT_BOUND: u32 = (1 << 31) - (1 << 16);

/// Whether every digest element is below [`DIGEST_ELEMENT_BOUND`].
pub fn digest_in_range(digest: &[M31; RATE]) -> bool {
    digest.iter().all(|d| d.to_u32() < DIGEST_ELEMENT_BOUND)
}

pub fn digit_sum(x: &[u8; V]) -> u32 {
    x.iter().map(|&d| d as u32).sum()
}

/// The secret half of the key at index `n`: `pp` and the 64 chain starts. Wiped on drop.
#[derive(Clone)]
pub struct OneTimeKey {
    index: u32,
    pp: Hash4,
    chain_starts: [Hash4; V],
}

impl Drop for OneTimeKey {
    fn drop(&mut self) {
        self.chain_starts.iter_mut().flatten().for_each(M31::wipe);
    }
}

impl std::fmt::Debug for OneTimeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeKey")
            .field("index", &self.index)
            .field("pp", &self.pp)
            .finish_non_exhaustive()
    }
}

impl OneTimeKey {
    /// `c[i][0] = compress(seed, n, i, TAG_SECRET)[0..4]`, `pp = compress(seed, n, 0, TAG_PARAM)[0..4]`.
    pub fn derive(seed: &KeySeed, index: u32) -> Result<OneTimeKey, SignError> {
        let n = key_index(index)?;
        let pp = take4(&compress(seed_input(seed, n, M31::ZERO, TAG_PARAM)));
        let chain_starts = std::array::from_fn(|i| {
            take4(&compress(seed_input(
                seed,
                n,
                M31::reduce(i as u32),
                TAG_SECRET,
            )))
        });
        Ok(OneTimeKey {
            index,
            pp,
            chain_starts,
        })
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// The public parameter (revealed in every signature).
    pub fn pp(&self) -> Hash4 {
        self.pp
    }

    /// Every chain: `chains[i][j] = c[i][j]` for positions 0..=3 (192 chain steps).
    fn chains(&self) -> [[Hash4; W]; V] {
        std::array::from_fn(|i| {
            let mut c = [self.chain_starts[i]; W];
            for j in 0..W - 1 {
                c[j + 1] = chain_step(&self.pp, i as u8, j as u8, &c[j]);
            }
            c
        })
    }

    /// The key commitment `K` (what `set_thread_key` registers).
    pub fn commitment(&self) -> KeyCommitment {
        let chains = self.chains();
        let ends = std::array::from_fn(|i| chains[i][W - 1]);
        key_commitment_sponge(&self.pp, &ends).0
    }
}

/// The key commitment of `(seed, index)`.
pub fn commitment(seed: &KeySeed, index: u32) -> Result<KeyCommitment, SignError> {
    Ok(OneTimeKey::derive(seed, index)?.commitment())
}

/// Signs `msg` with key `index`. Deterministic: `rho` is the first output of a PRF keyed by
/// `(seed, index)` over `(msg, counter)` whose digits reach the target sum, so signing the same
/// message twice with one index yields the same signature (it reveals nothing new), and no RNG
/// failure can bias `rho`. Signing two *different* messages with one index breaks the scheme:
/// use [`crate::keystore::Wallet`], which never hands out an index twice.
pub fn sign<M: Message + ?Sized>(seed: &KeySeed, index: u32, msg: &M) -> Result<Signature, SignError> {
    sign_counting(seed, index, msg).map(|(sig, _)| sig)
}

/// [`sign`], also returning how many `rho` draws it took (>= 1).
pub(crate) fn sign_counting<M: Message + ?Sized>(
    seed: &KeySeed,
    index: u32,
    msg: &M,
) -> Result<(Signature, u32), SignError> {
    let key = OneTimeKey::derive(seed, index)?;
    let chains = key.chains();
    let ends: [Hash4; V] = std::array::from_fn(|i| chains[i][W - 1]);
    let (k, _) = key_commitment_sponge(&key.pp, &ends);
    let mut blocks = message_blocks(msg, &[M31::ZERO; RHO_LEN])?;

    // The blocks before rho's do not contain it: absorb them once.
    let mut prefix = digest_initial(&k);
    for block in &blocks[..RHO_BLOCK] {
        prefix = absorb(&prefix, block);
    }

    // PRF: capacity = compress(seed, n, 0, TAG_RHO)[0..8] (248 secret bits), absorb the
    // message with rho = 0, then squeeze rho_c = P([c, 0; 7] ++ s[8..16])[0..3].
    let n = key_index(index)?;
    let rho_key = compress(seed_input(seed, n, M31::ZERO, TAG_RHO));
    let mut prf = [M31::ZERO; WIDTH];
    prf[8..16].copy_from_slice(&rho_key[0..8]);
    for block in &blocks {
        prf = absorb(&prf, block);
    }

    for counter in 0..MAX_SIGN_TRIES {
        let mut counter_block = [M31::ZERO; RATE];
        counter_block[0] = M31::reduce(counter);
        let out = absorb(&prf, &counter_block);
        let rho = [out[0], out[1], out[2]];
        blocks[RHO_BLOCK][RHO_AT..RHO_AT + RHO_LEN].copy_from_slice(&rho);
        let last = absorb(&prefix, &blocks[RHO_BLOCK]);
        let digest = std::array::from_fn(|e| last[e]);
        let x = digits(&digest);
        if digit_sum(&x) == TARGET_SUM && digest_in_range(&digest) {
            let sig = Signature {
                rho,
                pp: key.pp,
                chains: std::array::from_fn(|i| chains[i][x[i] as usize]),
            };
            return Ok((sig, counter + 1));
        }
    }
    Err(SignError::TargetSumNotReached(MAX_SIGN_TRIES))
}

/// One chain step of a verification, as an AIR row sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainStep {
    pub pp: Hash4,
    /// Chain index `i` (0..64).
    pub chain: u8,
    /// Input position `j` (0..3): the step maps `c[i][j]` to `c[i][j+1]`.
    pub position: u8,
    pub input: Hash4,
    /// `compress(...)[0..4] = P(x)[0..4] + input`.
    pub output: Hash4,
    /// `P(x)` for the full permutation input `x = chain_step_input(pp, chain, position, input)`
    /// (before the feed-forward).
    pub permutation_output: State,
}

impl ChainStep {
    pub fn permutation_input(&self) -> State {
        chain_step_input(&self.pp, self.chain, self.position, &self.input)
    }
}

/// What a permutation in a verification is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermutationRole {
    /// A compression (the output is fed forward): chain `chain`, input position `position`.
    ChainStep { chain: u8, position: u8 },
    /// Key-commitment sponge, absorbing ends `2 * block` and `2 * block + 1`.
    KeySponge { block: u8 },
    /// Digest sponge, absorbing message block `block`.
    MessageDigest { block: u8 },
}

/// One permutation: `output = P(input)` (no feed-forward).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermutationCall {
    pub role: PermutationRole,
    pub input: State,
    pub output: State,
}

/// Every intermediate value of a verification, for building AIR rows without recomputing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationTrace {
    /// The key commitment verified against.
    pub key: KeyCommitment,
    pub message_blocks: [[M31; RATE]; MESSAGE_BLOCKS],
    /// Digest sponge: initial state, then the state after each block.
    pub digest_states: [State; MESSAGE_BLOCKS + 1],
    pub digest: [M31; RATE],
    pub digits: [u8; V],
    pub digit_sum: u32,
    /// The walk from each `s[i]` at `x[i]` to the end, chain by chain, position ascending
    /// (`3 - x[i]` steps for chain `i`; 88 in all when the sum is the target).
    pub chain_steps: Vec<ChainStep>,
    pub chain_ends: [Hash4; V],
    /// Key sponge: initial state, then the state after each of the 32 blocks.
    pub key_states: [State; KEY_BLOCKS + 1],
    /// `K'` recomputed from `pp` and the ends.
    pub recomputed_key: KeyCommitment,
}

impl VerificationTrace {
    /// Every permutation, in order: chain steps, key sponge, digest sponge (124 for a valid
    /// signature).
    pub fn permutations(&self) -> Vec<PermutationCall> {
        let mut out = Vec::with_capacity(VERIFY_PERMUTATIONS);
        out.extend(self.chain_steps.iter().map(|s| PermutationCall {
            role: PermutationRole::ChainStep {
                chain: s.chain,
                position: s.position,
            },
            input: s.permutation_input(),
            output: s.permutation_output,
        }));
        for b in 0..KEY_BLOCKS {
            let mut input = self.key_states[b];
            input[0..4].copy_from_slice(&self.chain_ends[2 * b]);
            input[4..8].copy_from_slice(&self.chain_ends[2 * b + 1]);
            out.push(PermutationCall {
                role: PermutationRole::KeySponge { block: b as u8 },
                input,
                output: self.key_states[b + 1],
            });
        }
        for b in 0..MESSAGE_BLOCKS {
            let mut input = self.digest_states[b];
            input[..RATE].copy_from_slice(&self.message_blocks[b]);
            out.push(PermutationCall {
                role: PermutationRole::MessageDigest { block: b as u8 },
                input,
                output: self.digest_states[b + 1],
            });
        }
        out
    }

    /// The verdict on this trace, in the order a verifier checks.
    pub fn check(&self) -> Result<(), SignatureError> {
        if self.key.is_none() {
            return Err(SignatureError::NoKey);
        }
        if self.digit_sum != TARGET_SUM {
            return Err(SignatureError::TargetSum {
                sum: self.digit_sum,
            });
        }
        if !digest_in_range(&self.digest) {
            return Err(SignatureError::DigestOutOfRange);
        }
        if self.recomputed_key != self.key {
            return Err(SignatureError::KeyMismatch);
        }
        Ok(())
    }
}

/// Computes every intermediate value of verifying `sig` on `msg` against `key`, whatever the
/// verdict (chains are walked from the digits even when their sum is off). Fails only when
/// the message has no encoding.
pub fn verification_trace<M: Message + ?Sized>(
    key: &KeyCommitment,
    msg: &M,
    sig: &Signature,
) -> Result<VerificationTrace, SignatureError> {
    let message_blocks = message_blocks(msg, &sig.rho)?;
    let (digest, digest_states) = message_digest(key, &message_blocks);
    let x = digits(&digest);
    let mut chain_steps = Vec::with_capacity(VERIFY_CHAIN_STEPS);
    let chain_ends = std::array::from_fn(|i| {
        let mut value = sig.chains[i];
        for j in x[i]..CHAIN_END {
            let input = chain_step_input(&sig.pp, i as u8, j, &value);
            let permutation_output = permute(input);
            let output = std::array::from_fn(|k| permutation_output[k] + value[k]);
            chain_steps.push(ChainStep {
                pp: sig.pp,
                chain: i as u8,
                position: j,
                input: value,
                output,
                permutation_output,
            });
            value = output;
        }
        value
    });
    let (recomputed_key, key_states) = key_commitment_sponge(&sig.pp, &chain_ends);
    Ok(VerificationTrace {
        key: *key,
        message_blocks,
        digest_states,
        digest,
        digits: x,
        digit_sum: digit_sum(&x),
        chain_steps,
        chain_ends,
        key_states,
        recomputed_key,
    })
}

/// Verifies and, on success, returns the trace an AIR witness is built from.
pub fn verify_trace<M: Message + ?Sized>(
    key: &KeyCommitment,
    msg: &M,
    sig: &Signature,
) -> Result<VerificationTrace, SignatureError> {
    let trace = verification_trace(key, msg, sig)?;
    trace.check()?;
    Ok(trace)
}

/// Accepts iff `sig` is a signature on `msg` under the one-time key committed to by `key`.
pub fn verify<M: Message + ?Sized>(
    key: &KeyCommitment,
    msg: &M,
    sig: &Signature,
) -> Result<(), SignatureError> {
    // Cheap refusals first: no key, then the digest's digit sum (4 permutations).
    if key.is_none() {
        return Err(SignatureError::NoKey);
    }
    let blocks = message_blocks(msg, &sig.rho)?;
    let (digest, _) = message_digest(key, &blocks);
    let x = digits(&digest);
    let sum = digit_sum(&x);
    if sum != TARGET_SUM {
        return Err(SignatureError::TargetSum { sum });
    }
    if !digest_in_range(&digest) {
        return Err(SignatureError::DigestOutOfRange);
    }
    let ends = std::array::from_fn(|i| {
        let mut value = sig.chains[i];
        for j in x[i]..CHAIN_END {
            value = chain_step(&sig.pp, i as u8, j, &value);
        }
        value
    });
    if key_commitment_sponge(&sig.pp, &ends).0 != *key {
        return Err(SignatureError::KeyMismatch);
    }
    Ok(())
}
