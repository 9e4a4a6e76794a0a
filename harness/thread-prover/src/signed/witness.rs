//! Rows of every component of a signed-transfer proof, from the transfers and the
//! verification traces of their signatures (`zkthread_sig::verify_trace`).

use zkthread_sig::wots::{Hash4, KeyCommitment, Signature, VerificationTrace, V};
use zkthread_sig::M31;

use stwo::core::fields::m31::BaseField;

use super::range::{low_byte, RangeLookups};
use zkthread_sig::tx_list::{absorb_input, TxDigest, TxListCommitment};
use zkthread_sig::permute;

use super::roles::{chain_cols, digest_cols, key_cols, transfer_cols, tx_list_cols, HI_SHIFT, KEY_BLOCKS};
use super::role::Role;
use super::roles::{ChainStepRole, DigestRole, KeySpongeRole, TransferRole, TxListRole};
use crate::air::{limbs, LIMB_BITS, N_LIMBS};
use crate::poseidon2::trace::State as PermState;

/// One signed transfer as the AIR sees it: identities as M31 limbs, the balances it reads, and
/// the signature with the trace of its verification.
#[derive(Clone, Debug)]
pub struct SignedRow {
    pub domain: Hash4,
    pub from: Hash4,
    pub to: Hash4,
    pub from_old: u128,
    pub to_old: u128,
    pub amount: u128,
    pub nonce: u32,
    pub key: KeyCommitment,
    pub next_key: KeyCommitment,
    pub signature: Signature,
    /// The verification trace of `signature` over this row's message (honest rows: from
    /// `zkthread_sig::verify_trace`; a test may hand in any trace).
    pub trace: VerificationTrace,
}

/// Rows of every component plus the permutations to prove. The range table's multiplicities
/// are read off the rows when proving ([`SignedWitness::range_lookups`]), so a test may edit
/// rows freely.
#[derive(Clone, Debug, Default)]
pub struct SignedWitness {
    pub transfers: Vec<Vec<u32>>,
    pub chain_steps: Vec<Vec<u32>>,
    pub digests: Vec<Vec<u32>>,
    pub key_sponges: Vec<Vec<u32>>,
    pub tx_list: Vec<Vec<u32>>,
    pub permutations: Vec<(PermState, u32)>,
    /// The transaction list so far (its capacity is the next tx-list row's input).
    pub transactions: TxListCommitment,
}

fn u32s<const N: usize>(x: &[M31; N]) -> impl Iterator<Item = u32> + '_ {
    x.iter().map(|v| v.to_u32())
}

fn state_u32(s: &[M31; 16]) -> PermState {
    std::array::from_fn(|i| s[i].to_u32())
}

impl SignedWitness {
    pub fn new() -> Self {
        SignedWitness::default()
    }

    /// The 8-bit range look-ups of the role rows, padding rows included: transfer rows padded
    /// to `2^log_transfer_rows` (each all-zero padding row looks up 0 48 times); padding
    /// key-sponge rows look nothing up.
    pub fn range_lookups(&self, log_transfer_rows: u32) -> RangeLookups {
        let mut lookups = RangeLookups::default();
        lookups.add::<TransferRole>(&self.transfers, 1);
        let padding = (1usize << log_transfer_rows).saturating_sub(self.transfers.len());
        lookups.add::<TransferRole>(&[vec![0; TransferRole::N_COLUMNS]], padding as u32);
        lookups.add::<KeySpongeRole>(&self.key_sponges, 1);
        lookups
    }

    /// Adds every row one signed transfer needs, its digest last in the transaction list.
    pub fn push(&mut self, row: &SignedRow) {
        self.push_signed_transfer(row);
        self.push_tx_list(&row.trace.digest);
    }

    /// The transfer row and its signature's verification rows, at position
    /// `transfers.len()`; no transaction-list entry (raw: a test pairs them as it likes).
    pub fn push_signed_transfer(&mut self, row: &SignedRow) {
        let tx = self.transfers.len() as u32;
        self.push_transfer(row, tx);
        let t = &row.trace;
        let pp = row.signature.pp;
        for step in &t.chain_steps {
            let mut r = vec![1];
            r.extend(u32s(&pp));
            r.extend([u32::from(step.chain), u32::from(step.position)]);
            r.extend(u32s(&step.input));
            r.extend(u32s(&step.permutation_output));
            debug_assert_eq!(r.len(), chain_cols::N);
            self.permutations.push((state_u32(&step.permutation_input()), 1));
            self.chain_steps.push(r);
        }
        for (index, block) in t.message_blocks.iter().enumerate() {
            let before = &t.digest_states[index];
            let after = &t.digest_states[index + 1];
            let mut r = vec![1];
            r.extend(u32s(&pp));
            r.extend([index as u32, u32::from(index + 1 == t.message_blocks.len())]);
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
        self.push_key_sponge(row);
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

    fn push_transfer(&mut self, row: &SignedRow, tx: u32) {
        let (a, t, x) = (limbs(row.from_old), limbs(row.to_old), limbs(row.amount));
        let fnew = limbs(row.from_old.wrapping_sub(row.amount));
        let tnew = limbs(row.to_old.wrapping_add(row.amount));
        let (mut borrow, mut carry) = (Vec::new(), Vec::new());
        let (mut bin, mut cin) = (0i64, 0i64);
        for l in 0..N_LIMBS - 1 {
            let d = i64::from(a[l]) - i64::from(x[l]) - bin;
            bin = i64::from(d < 0);
            borrow.push(bin as u32);
            let s = i64::from(t[l]) + i64::from(x[l]) + cin;
            cin = i64::from(s >= 1 << LIMB_BITS);
            carry.push(cin as u32);
        }
        let mut r = vec![1];
        r.extend(u32s(&row.domain));
        r.extend(u32s(&row.from));
        r.extend(u32s(&row.to));
        r.push(row.nonce);
        r.extend(u32s(&row.key.0));
        r.extend(u32s(&row.next_key.0));
        r.extend(u32s(&row.signature.pp));
        r.extend(u32s(&row.signature.rho));
        for group in [&a, &t, &x, &fnew, &tnew] {
            r.extend(group.iter().copied());
        }
        r.extend(borrow);
        r.extend(carry);
        r.extend(x.iter().chain(&fnew).chain(&tnew).map(|v| low_byte(*v)));
        r.push(tx);
        debug_assert_eq!(r.len(), transfer_cols::N);
        self.transfers.push(r);
    }

    fn push_key_sponge(&mut self, row: &SignedRow) {
        let t = &row.trace;
        let pp = row.signature.pp;
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
            r.extend(u32s(&row.signature.chains[2 * b]));
            r.extend(u32s(&row.signature.chains[2 * b + 1]));
            r.extend(u32s(after));
            r.push(u32::from(last));
            let shifted = (BaseField::from(rest) + BaseField::from(HI_SHIFT)).0;
            r.extend([low_byte(rest), low_byte(shifted)]);
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

    /// Checks every role row's constraints on plain values (no LogUp).
    pub fn first_violation(&self) -> Option<(&'static str, usize, usize)> {
        use super::role::first_violation;
        let named = |name, v: Option<(usize, usize)>| v.map(|(r, c)| (name, r, c));
        named(TransferRole::NAME, first_violation::<TransferRole>(&self.transfers))
            .or_else(|| named(ChainStepRole::NAME, first_violation::<ChainStepRole>(&self.chain_steps)))
            .or_else(|| named(DigestRole::NAME, first_violation::<DigestRole>(&self.digests)))
            .or_else(|| named(KeySpongeRole::NAME, first_violation::<KeySpongeRole>(&self.key_sponges)))
            .or_else(|| named(TxListRole::NAME, first_violation::<TxListRole>(&self.tx_list)))
    }
}
