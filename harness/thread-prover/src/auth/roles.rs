//! The four authorization roles every signed thread program shares (columns, constraints,
//! fractions): chain step, digest sponge, key sponge, transaction list. A program's signed
//! transaction role joins them through [`signed_transaction`] ([`key_step`] and
//! [`signed_message`] over the framework's message layout, [`message_blocks`]). The
//! `Poseidon2` component (`crate::poseidon2`) proves every permutation they look up, and the
//! 8-bit range table ([`crate::range::Range8TableEval`]) every range check: a 16-bit check of
//! `v` is two 8-bit look-ups, of a low-byte column `lo` and of `(v - lo) / 2^8`
//! ([`crate::range::split16`]), which together mean exactly `v < 2^16`.

use zkthread_sig::wots::{TAG_CHAIN, TAG_MSG, TAG_PK, TARGET_SUM};

use super::link;
use crate::range::split16;
use crate::role::{boolean, k, neg, one_minus, slice, Frac, Lane, Rel, Role};

/// Lifts a tag constant to a lane value.
fn tag<T: Lane>(t: zkthread_sig::M31) -> T {
    k(t.to_u32())
}

/// The `State` fractions of a signed row's replay state, multiplicity `e`: it consumes the
/// signer's key tuple `Key(D, A, nonce, K, A_high)` and produces `Key(D, A, nonce + 1, K_next,
/// A_high)` (`account`: the whole 248-bit id), so an account's signed rows form one path from
/// its input key slot, each key used once.
pub fn key_step<T: Lane>(
    e: &T,
    domain: &[T],
    account: &[T],
    nonce: T,
    key: &[T],
    next_key: &[T],
) -> [Frac<T>; 2] {
    [
        Frac::new(Rel::State, neg(e), link::key(domain, account, nonce.clone(), key)),
        Frac::new(Rel::State, e.clone(), link::key(domain, account, nonce + k(1), next_key)),
    ]
}

/// The `Link` fractions that make a row *signed*, multiplicity `e`: the row starts the digest
/// sponge of its message (capacity `[K, TAG_MSG, 0, 0, 0]`, for sub-block position `tx`),
/// offers the message's [`MESSAGE_BLOCKS`] blocks (its own columns: the signature is over
/// exactly what the row does) and consumes `KeyOk(pp, tx, K)`, which only a key sponge whose
/// chains start at this digest's digits and end at `K` produces. The digest sponge's final
/// row puts the digest at position `tx` of the transaction list. Every entry carries `tx`,
/// which the list makes unique, so no other signed row's blocks, chains or key can stand in
/// (`pp` alone would not do: it is a tweak anyone can reuse for a key of their own).
pub fn signed_message<T: Lane>(
    e: &T,
    tx: T,
    pp: &[T],
    key: &[T],
    blocks: &[Vec<T>; MESSAGE_BLOCKS as usize],
) -> Vec<Frac<T>> {
    let mut cap = key.to_vec();
    cap.extend([tag(TAG_MSG), k(0), k(0), k(0)]);
    let mut f = vec![Frac::new(Rel::Link, e.clone(), link::digest_cap(pp, tx.clone(), k(0), &cap))];
    for (i, b) in blocks.iter().enumerate() {
        f.push(Frac::new(Rel::Link, e.clone(), link::block(pp, tx.clone(), k(i as u32), b)));
    }
    f.push(Frac::new(Rel::Link, neg(e), link::key_ok(pp, tx, key)));
    f
}

/// What a signed row exposes to the framework, as expressions over its columns. The message
/// it signs is [`message_blocks`] of these: the layout of `zkthread_sig::message_blocks`, so a
/// program's client signs with `zkthread_sig::sign` on its own `zkthread_sig::Message`.
pub struct SignedFields<T> {
    /// The row's position in the sub-block (its digest's place in the transaction list).
    pub tx: T,
    /// The signature's public parameter.
    pub pp: Vec<T>,
    /// The key the row consumes and the one it installs.
    pub key: Vec<T>,
    pub next_key: Vec<T>,
    pub nonce: T,
    /// The domain of the signer's key slot and the signer's account id `A` (signed).
    pub domain: Vec<T>,
    pub signer: Vec<T>,
    /// The signer's id bits 124..248 (`zkthread_sig::domain::AccountId::high`), which its key
    /// tuple carries after `A` (not signed: the key slot's owner fixes them, [`link::key`]).
    /// The row's debits must name the signer by [`SignedFields::signer_id`]. A program whose
    /// tuples name owners by `A` alone passes zeros.
    pub signer_high: Vec<T>,
    pub rho: Vec<T>,
    /// The program's `PAYLOAD_LEN` (16) elements.
    pub payload: Vec<T>,
}

impl<T: Clone> SignedFields<T> {
    /// `signer ++ signer_high`: the signer's whole id, as its key tuple names it. A role builds
    /// every debit it authorizes from this (helper-84's review, session 50): a debit named by
    /// other columns than the key tuple's would let an owner sharing the signer's low id spend
    /// a balance credited inside the proof under the other owner's high words.
    pub fn signer_id(&self) -> Vec<T> {
        [&self.signer[..], &self.signer_high[..]].concat()
    }
}

/// The four message blocks of a signed row:
/// `[D, A] [p[0..8]] [p[8..12], nonce, K_next[0..3]] [K_next[3], rho, p[12..16]]`.
pub fn message_blocks<T: Clone>(s: &SignedFields<T>) -> [Vec<T>; MESSAGE_BLOCKS as usize] {
    let (p, n) = (&s.payload, &s.next_key);
    assert_eq!(p.len(), zkthread_sig::wots::PAYLOAD_LEN, "a payload has 16 elements");
    [
        [&s.domain[..], &s.signer[..]].concat(),
        p[0..8].to_vec(),
        [&p[8..12], std::slice::from_ref(&s.nonce), &n[0..3]].concat(),
        [&n[3..4], &s.rho[..], &p[12..16]].concat(),
    ]
}

/// Every authorization fraction of a signed row, multiplicity `e`: its replay state
/// ([`key_step`]) and its signature over [`message_blocks`] ([`signed_message`]).
pub fn signed_transaction<T: Lane>(e: &T, s: &SignedFields<T>) -> Vec<Frac<T>> {
    let mut f = Vec::from(key_step(e, &s.domain, &s.signer_id(), s.nonce.clone(), &s.key, &s.next_key));
    f.extend(signed_message(e, s.tx.clone(), &s.pp, &s.key, &message_blocks(s)));
    f
}

/// One chain step per row: `c' = P([c, pp, i, j, TAG_CHAIN, 0; 5])[0..4] + c`, on the walk of
/// the signature of the row at sub-block position `tx`.
#[derive(Clone)]
pub struct ChainStepRole;

pub mod chain_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const PP: Range<usize> = 1..5;
    pub const CHAIN: usize = 5;
    pub const POSITION: usize = 6;
    pub const INPUT: Range<usize> = 7..11;
    pub const OUT: Range<usize> = 11..27;
    /// Sub-block position of the signed row whose chain this step walks.
    pub const TX: usize = 27;
    pub const N: usize = 28;
}

impl Role for ChainStepRole {
    const NAME: &'static str = "chain_step";
    const N_COLUMNS: usize = chain_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use chain_cols::*;
        let j = c[POSITION].clone();
        // A step leaves positions 0, 1, 2 only: chains end at 3, and a start at a digit
        // outside 0..3 can then never be consumed.
        vec![boolean(&c[ENABLED]), j.clone() * (j.clone() - k(1)) * (j - k(2))]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use chain_cols::*;
        let e = c[ENABLED].clone();
        let (pp, input, out) = (slice(c, PP), slice(c, INPUT), slice(c, OUT));
        let (i, j, tx) = (c[CHAIN].clone(), c[POSITION].clone(), c[TX].clone());
        let mut perm = [input.clone(), pp.clone(), vec![i.clone(), j.clone(), tag(TAG_CHAIN)]].concat();
        perm.extend((0..5).map(|_| k::<T>(0)));
        perm.extend(out.iter().cloned());
        let next: Vec<T> = (0..4).map(|x| out[x].clone() + input[x].clone()).collect();
        vec![
            Frac::new(Rel::Poseidon2, neg(&e), perm),
            Frac::new(Rel::Link, neg(&e), link::chain(&pp, tx.clone(), i.clone(), j.clone(), &input)),
            Frac::new(Rel::Link, e, link::chain(&pp, tx, i, j + k(1), &next)),
        ]
    }

    fn batching() -> Vec<usize> {
        vec![0, 0, 1]
    }
}

/// One block of the message digest per row (overwrite sponge, rate 8).
#[derive(Clone)]
pub struct DigestRole;

pub mod digest_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const PP: Range<usize> = 1..5;
    pub const INDEX: usize = 5;
    pub const FINAL: usize = 6;
    pub const BLOCK: Range<usize> = 7..15;
    pub const CAP: Range<usize> = 15..23;
    pub const OUT: Range<usize> = 23..39;
    /// Position in the sub-block of the transfer whose message this sponge digests.
    pub const TX: usize = 39;
    pub const N: usize = 40;
}

/// Blocks of a message.
pub const MESSAGE_BLOCKS: u32 = 4;

impl Role for DigestRole {
    const NAME: &'static str = "digest_sponge";
    const N_COLUMNS: usize = digest_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use digest_cols::*;
        let (e, f) = (c[ENABLED].clone(), c[FINAL].clone());
        vec![
            boolean(&e),
            boolean(&f),
            // The digest is read after exactly the four blocks the transfer row offers.
            f.clone() * (c[INDEX].clone() - k(MESSAGE_BLOCKS - 1)),
            f * one_minus(&e),
        ]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use digest_cols::*;
        let (e, f) = (c[ENABLED].clone(), c[FINAL].clone());
        let (pp, block, cap, out) = (slice(c, PP), slice(c, BLOCK), slice(c, CAP), slice(c, OUT));
        let (index, tx) = (c[INDEX].clone(), c[TX].clone());
        let perm = [block.clone(), cap.clone(), out.clone()].concat();
        let mut key_cap = pp.clone();
        key_cap.extend([tag(TAG_PK), k(0), k(0), k(0)]);
        vec![
            Frac::new(Rel::Poseidon2, neg(&e), perm),
            Frac::new(Rel::Link, neg(&e), link::digest_cap(&pp, tx.clone(), index.clone(), &cap)),
            Frac::new(Rel::Link, neg(&e), link::block(&pp, tx.clone(), index.clone(), &block)),
            Frac::new(
                Rel::Link,
                e - f.clone(),
                link::digest_cap(&pp, tx.clone(), index + k(1), &out[8..16]),
            ),
            // The digest becomes the key sponge's digit queue, and the transaction list's
            // entry for the transfer that started this sponge.
            Frac::new(
                Rel::Link,
                f.clone(),
                link::key_cap(&pp, tx.clone(), k(0), &key_cap, &out[0..8], k(0), k(0)),
            ),
            Frac::new(Rel::Link, f, link::tx(tx, &out[0..8])),
        ]
    }

    fn batching() -> Vec<usize> {
        vec![0, 0, 1, 1, 2, 2]
    }
}

/// One block of the key-commitment sponge per row: absorbs the ends of chains `2b, 2b+1`,
/// offers their starts at this row's two digits, reads the digits off the digest queue.
#[derive(Clone)]
pub struct KeySpongeRole;

pub mod key_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const PP: Range<usize> = 1..5;
    pub const BLOCK: usize = 5;
    pub const FINAL: usize = 6;
    /// The position in the current digest element, `phase = PHASE_LO + 2 PHASE_HI`.
    pub const PHASE_LO: usize = 7;
    pub const PHASE_HI: usize = 8;
    pub const SIGMA: usize = 9;
    pub const CAP: Range<usize> = 10..18;
    pub const QUEUE: Range<usize> = 18..26;
    pub const DIGIT_A: usize = 26;
    pub const DIGIT_B: usize = 27;
    pub const REST: usize = 28;
    pub const END_A: Range<usize> = 29..33;
    pub const END_B: Range<usize> = 33..37;
    pub const START_A: Range<usize> = 37..41;
    pub const START_B: Range<usize> = 41..45;
    pub const OUT: Range<usize> = 45..61;
    /// `phase == 3`: this row ends a digest element (`LAST = PHASE_LO * PHASE_HI`).
    pub const LAST: usize = 61;
    /// Low bytes of `REST` and of `REST + HI_SHIFT` (their 16-bit checks on a last row).
    pub const REST_LO: usize = 62;
    pub const SHIFTED_LO: usize = 63;
    /// Sub-block position of the signed row whose key this sponge opens.
    pub const TX: usize = 64;
    pub const N: usize = 65;
}

/// The row ends a digest element (a column, so the next-KeyCap entry stays degree 2).
fn last<T: Lane>(c: &[T]) -> T {
    c[key_cols::LAST].clone()
}

/// Blocks of the key sponge (two chains each).
pub const KEY_BLOCKS: u32 = 32;
/// `hi <= 2^15 - 2` as 16-bit range checks of `hi` and `hi + HI_SHIFT` (each two 8-bit
/// look-ups, [`split16`]).
pub const HI_SHIFT: u32 = (1 << 16) - ((1 << 15) - 1);

impl Role for KeySpongeRole {
    const NAME: &'static str = "key_sponge";
    const N_COLUMNS: usize = key_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        use key_cols::*;
        let (e, f) = (c[ENABLED].clone(), c[FINAL].clone());
        let digits = c[DIGIT_A].clone() + c[DIGIT_B].clone() * k::<T>(4);
        vec![
            boolean(&e),
            boolean(&f),
            // Four rows per digest element: phase 0..3 in two bits, the last at phase 3.
            boolean(&c[PHASE_LO]),
            boolean(&c[PHASE_HI]),
            c[LAST].clone() - c[PHASE_LO].clone() * c[PHASE_HI].clone(),
            // The queue's head loses two base-4 digits per row.
            c[REST].clone() * k::<T>(16) - (c[QUEUE.start].clone() - digits),
            // The key is read after exactly 32 blocks (phase 3 of the last element), with the
            // digits summing to T.
            f.clone() * (c[BLOCK].clone() - k::<T>(KEY_BLOCKS - 1)),
            f.clone()
                * (c[SIGMA].clone() + c[DIGIT_A].clone() + c[DIGIT_B].clone() - k(TARGET_SUM)),
            f.clone() * one_minus(&e),
            f * one_minus(&last(c)),
        ]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use key_cols::*;
        let (e, f, l) = (c[ENABLED].clone(), c[FINAL].clone(), last(c));
        let phase = c[PHASE_LO].clone() + c[PHASE_HI].clone() * k::<T>(2);
        let (pp, cap, queue, out) = (slice(c, PP), slice(c, CAP), slice(c, QUEUE), slice(c, OUT));
        let (end_a, end_b) = (slice(c, END_A), slice(c, END_B));
        let (b, tx) = (c[BLOCK].clone(), c[TX].clone());
        let (xa, xb, rest) = (c[DIGIT_A].clone(), c[DIGIT_B].clone(), c[REST].clone());
        let chain_a = b.clone() * k::<T>(2);
        let chain_b = chain_a.clone() + k(1);
        let not_last = one_minus(&l);
        // Not last: [rest, queue[1..8]]; last: [queue[1..8], 0] (the element is done).
        let next_queue: Vec<T> = (0..8)
            .map(|i| {
                let stay = if i == 0 { rest.clone() } else { queue[i].clone() };
                let shift = if i < 7 { queue[i + 1].clone() } else { k(0) };
                l.clone() * shift + not_last.clone() * stay
            })
            .collect();
        let next_phase = not_last * (phase.clone() + k(1));
        let next_sigma = c[SIGMA].clone() + xa.clone() + xb.clone();
        let perm = [end_a.clone(), end_b.clone(), cap.clone(), out.clone()].concat();
        let three = || k::<T>(3);
        let mut fracs = vec![
            Frac::new(Rel::Poseidon2, neg(&e), perm),
            Frac::new(
                Rel::Link,
                neg(&e),
                link::key_cap(&pp, tx.clone(), b.clone(), &cap, &queue, phase, c[SIGMA].clone()),
            ),
            Frac::new(
                Rel::Link,
                e.clone(),
                link::chain(&pp, tx.clone(), chain_a.clone(), xa, &slice(c, START_A)),
            ),
            Frac::new(
                Rel::Link,
                e.clone(),
                link::chain(&pp, tx.clone(), chain_b.clone(), xb, &slice(c, START_B)),
            ),
            Frac::new(
                Rel::Link,
                e.clone() - f.clone(),
                link::key_cap(&pp, tx.clone(), b + k(1), &out[8..16], &next_queue, next_phase, next_sigma),
            ),
            Frac::new(Rel::Link, neg(&e), link::chain(&pp, tx.clone(), chain_a, three(), &end_a)),
            Frac::new(Rel::Link, neg(&e), link::chain(&pp, tx.clone(), chain_b, three(), &end_b)),
        ];
        // At an element's end the rest is its high part: hi < 2^16 and hi + HI_SHIFT < 2^16,
        // i.e. hi <= 2^15 - 2, so `hi * 2^16 + lo` cannot wrap around p. Each 16-bit check is
        // two 8-bit look-ups: `REST = 256 a + REST_LO` and `REST + HI_SHIFT = 256 b +
        // SHIFTED_LO` with `a, b, REST_LO, SHIFTED_LO < 2^8`.
        let shifted = rest.clone() + k(HI_SHIFT);
        fracs.extend(split16(l.clone(), rest, c[REST_LO].clone()));
        fracs.extend(split16(l, shifted, c[SHIFTED_LO].clone()));
        fracs.push(Frac::new(Rel::Link, f, link::key_ok(&pp, tx, &out[0..4])));
        fracs
    }

    fn batching() -> Vec<usize> {
        // Pairs of linear entries; the next-KeyCap entry (degree-2 values) alone.
        vec![0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6]
    }
}

/// One transfer digest absorbed into the transaction-list sponge per row
/// (`zkthread_sig::tx_list`): consumes `TxCap(i, cap)` and `Tx(i, d)`, produces
/// `TxCap(i + 1, P(d ++ cap)[8..16])`. The boundary offers `TxCap(0, initial)` and takes
/// `TxCap(n, committed)`, so the enabled rows are one path `0 -> n` (the index rises by one
/// per row) and every `Tx(i, d)` the digest sponges produce, `i` in `0..n`, is absorbed once,
/// in order.
#[derive(Clone)]
pub struct TxListRole;

pub mod tx_list_cols {
    use std::ops::Range;
    pub const ENABLED: usize = 0;
    pub const INDEX: usize = 1;
    pub const DIGEST: Range<usize> = 2..10;
    pub const CAP: Range<usize> = 10..18;
    pub const OUT: Range<usize> = 18..34;
    pub const N: usize = 34;
}

impl Role for TxListRole {
    const NAME: &'static str = "tx_list";
    const N_COLUMNS: usize = tx_list_cols::N;

    fn constraints<T: Lane>(c: &[T]) -> Vec<T> {
        vec![boolean(&c[tx_list_cols::ENABLED])]
    }

    fn fractions<T: Lane>(c: &[T]) -> Vec<Frac<T>> {
        use tx_list_cols::*;
        let e = c[ENABLED].clone();
        let (digest, cap, out) = (slice(c, DIGEST), slice(c, CAP), slice(c, OUT));
        let i = c[INDEX].clone();
        vec![
            Frac::new(Rel::Poseidon2, neg(&e), [digest.clone(), cap.clone(), out.clone()].concat()),
            Frac::new(Rel::Link, neg(&e), link::tx(i.clone(), &digest)),
            Frac::new(Rel::Link, neg(&e), link::tx_cap(i.clone(), &cap)),
            Frac::new(Rel::Link, e, link::tx_cap(i + k(1), &out[8..16])),
        ]
    }

    fn batching() -> Vec<usize> {
        vec![0, 0, 1, 1]
    }
}

#[cfg(test)]
mod tests {
    use zkthread_sig::wots::{message_blocks as signed_blocks, KeyCommitment, TransferMessage};
    use zkthread_sig::M31;

    use super::*;

    /// The AIR's message layout is the client's, element for element.
    #[test]
    fn message_blocks_are_the_clients() {
        let h = |b: u32| -> [M31; 4] { std::array::from_fn(|i| M31::reduce(b + i as u32)) };
        let msg = TransferMessage {
            domain: h(10),
            from: h(20),
            to: zkthread_sig::AccountId { low: h(30), high: h(40) },
            amount: 0x0008_0007_0006_0005_0004_0003_0002_0001,
            nonce: 77,
            next_key: KeyCommitment(h(80)),
        };
        let rho = [M31::reduce(91), M31::reduce(92), M31::reduce(93)];
        let v = |x: &[M31]| -> Vec<u32> { x.iter().map(|m| m.to_u32()).collect() };
        let fields = SignedFields {
            tx: 0u32,
            pp: vec![0; 4],
            key: vec![0; 4],
            next_key: v(&msg.next_key.0),
            nonce: msg.nonce,
            domain: v(&msg.domain),
            signer: v(&msg.from),
            signer_high: vec![0; 4],
            rho: v(&rho),
            payload: v(&zkthread_sig::Message::payload(&msg).unwrap()),
        };
        let expected = signed_blocks(&msg, &rho).unwrap().map(|b| v(&b));
        assert_eq!(message_blocks(&fields).to_vec(), expected.to_vec());
    }
}
