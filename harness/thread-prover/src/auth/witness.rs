//! Rows of the authorization components (chain steps, digest sponge, key sponge, transaction
//! list) and the Poseidon2 permutations they look up, from a signature's verification trace
//! (`zkthread_sig::verify_trace`). A program's witness holds one [`AuthWitness`] beside its
//! own rows.

use stwo::core::fields::m31::BaseField;
use zkthread_sig::permute;
use zkthread_sig::tx_list::{absorb_input, TxDigest, TxListCommitment};
use zkthread_sig::wots::{Signature, VerificationTrace, V};
use zkthread_sig::M31;

use super::roles::{chain_cols, digest_cols, key_cols, tx_list_cols, HI_SHIFT, KEY_BLOCKS};
use super::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};
use crate::poseidon2::trace::State as PermState;
use crate::range::{low_byte, RangeLookups};
use crate::role::Role;

/// Rows of the authorization components plus the permutations to prove (the program's rows'
/// permutations too, if it has any).
#[derive(Clone, Debug, Default)]
pub struct AuthWitness {
    pub chain_steps: Vec<Vec<u32>>,
    pub digests: Vec<Vec<u32>>,
    pub key_sponges: Vec<Vec<u32>>,
    pub tx_list: Vec<Vec<u32>>,
    pub permutations: Vec<(PermState, u32)>,
    /// The transaction list so far (its capacity is the next tx-list row's input).
    pub transactions: TxListCommitment,
}

/// A hash or block as row values.
pub fn u32s<const N: usize>(x: &[M31; N]) -> impl Iterator<Item = u32> + '_ {
    x.iter().map(|v| v.to_u32())
}

fn state_u32(s: &[M31; 16]) -> PermState {
    std::array::from_fn(|i| s[i].to_u32())
}

impl AuthWitness {
    /// The verification rows of `signature` (chain steps, digest sponge, key sponge) for the
    /// signed row at sub-block position `tx`; no transaction-list entry (raw: a test pairs
    /// them as it likes).
    pub fn push_signature(&mut self, tx: u32, signature: &Signature, trace: &VerificationTrace) {
        let pp = signature.pp;
        for step in &trace.chain_steps {
            let mut r = vec![1];
            r.extend(u32s(&pp));
            r.extend([u32::from(step.chain), u32::from(step.position)]);
            r.extend(u32s(&step.input));
            r.extend(u32s(&step.permutation_output));
            r.push(tx);
            debug_assert_eq!(r.len(), chain_cols::N);
            self.permutations.push((state_u32(&step.permutation_input()), 1));
            self.chain_steps.push(r);
        }
        for (index, block) in trace.message_blocks.iter().enumerate() {
            let before = &trace.digest_states[index];
            let after = &trace.digest_states[index + 1];
            let mut r = vec![1];
            r.extend(u32s(&pp));
            r.extend([index as u32, u32::from(index + 1 == trace.message_blocks.len())]);
            r.extend(u32s(block));
            r.extend(before[8..16].iter().map(|v| v.to_u32()));
            r.extend(u32s(after));
            r.push(tx);
            debug_assert_eq!(r.len(), digest_cols::N);
            let mut input = [0u32; 16];
            input[..8].copy_from_slice(&block.map(M31::to_u32));
            input[8..].copy_from_slice(&state_u32(before)[8..]);
            self.permutations.push((input, 1));
            self.digests.push(r);
        }
        self.push_key_sponge(tx, signature, trace);
    }

    /// Absorbs `digest` as entry `tx_list.len()` of the transaction list (raw: nothing checks
    /// that a transfer at that position has this digest; the `Tx` look-up does).
    pub fn push_tx_list(&mut self, digest: &TxDigest) {
        let tx = self.tx_list.len() as u32;
        let input = absorb_input(digest, &self.transactions.cap);
        let output = permute(input);
        let mut r = vec![1, tx];
        r.extend(u32s(digest));
        r.extend(u32s(&self.transactions.cap));
        r.extend(u32s(&output));
        debug_assert_eq!(r.len(), tx_list_cols::N);
        self.permutations.push((state_u32(&input), 1));
        self.tx_list.push(r);
        self.transactions.absorb(digest);
    }

    fn push_key_sponge(&mut self, tx: u32, signature: &Signature, trace: &VerificationTrace) {
        let t = trace;
        let pp = signature.pp;
        let mut queue: Vec<u32> = t.digest.iter().map(|d| d.to_u32()).collect();
        let mut sigma = 0u32;
        for b in 0..KEY_BLOCKS as usize {
            let (phase, last) = (b % 4, b % 4 == 3);
            let (xa, xb) = (u32::from(t.digits[2 * b]), u32::from(t.digits[2 * b + 1]));
            // `rest = (head - x_a - 4 x_b) / 16` in M31: for honest digits (the head's two low
            // base-4 digits) the integer quotient; for any other digits the constraint's only
            // solution, which the range checks of the element's last rest then refuse.
            let rest = ((BaseField::from(queue[0]) - BaseField::from(xa + 4 * xb))
                * BaseField::from(16).inverse())
            .0;
            let before = &t.key_states[b];
            let after = &t.key_states[b + 1];
            let mut r = vec![1];
            r.extend(u32s(&pp));
            r.extend([b as u32, u32::from(b + 1 == KEY_BLOCKS as usize)]);
            r.extend([phase as u32 & 1, phase as u32 >> 1, sigma]);
            r.extend(before[8..16].iter().map(|v| v.to_u32()));
            r.extend(queue.iter().copied());
            r.extend([xa, xb, rest]);
            r.extend(u32s(&t.chain_ends[2 * b]));
            r.extend(u32s(&t.chain_ends[2 * b + 1]));
            r.extend(u32s(&signature.chains[2 * b]));
            r.extend(u32s(&signature.chains[2 * b + 1]));
            r.extend(u32s(after));
            r.push(u32::from(last));
            let shifted = (BaseField::from(rest) + BaseField::from(HI_SHIFT)).0;
            r.extend([low_byte(rest), low_byte(shifted)]);
            r.push(tx);
            debug_assert_eq!(r.len(), key_cols::N);
            let mut input = [0u32; 16];
            input[..4].copy_from_slice(&t.chain_ends[2 * b].map(M31::to_u32));
            input[4..8].copy_from_slice(&t.chain_ends[2 * b + 1].map(M31::to_u32));
            input[8..].copy_from_slice(&state_u32(before)[8..]);
            self.permutations.push((input, 1));
            self.key_sponges.push(r);
            if last {
                queue.remove(0);
                queue.push(0);
            } else {
                queue[0] = rest;
            }
            sigma += xa + xb;
        }
        debug_assert_eq!(2 * KEY_BLOCKS as usize, V);
    }

    /// The 8-bit range look-ups of the key-sponge rows (padding key-sponge rows look nothing up).
    pub fn add_range_lookups(&self, lookups: &mut RangeLookups) {
        lookups.add::<KeySpongeRole>(&self.key_sponges, 1);
    }

    /// Checks every authorization row's constraints on plain values (no LogUp).
    pub fn first_violation(&self) -> Option<(&'static str, usize, usize)> {
        use crate::role::first_violation;
        let named = |name, v: Option<(usize, usize)>| v.map(|(r, c)| (name, r, c));
        named(ChainStepRole::NAME, first_violation::<ChainStepRole>(&self.chain_steps))
            .or_else(|| named(DigestRole::NAME, first_violation::<DigestRole>(&self.digests)))
            .or_else(|| named(KeySpongeRole::NAME, first_violation::<KeySpongeRole>(&self.key_sponges)))
            .or_else(|| named(TxListRole::NAME, first_violation::<TxListRole>(&self.tx_list)))
    }
}
