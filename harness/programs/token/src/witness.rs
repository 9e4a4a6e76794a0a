//! Rows of every component of a signed-transfer proof, from the transfers and the
//! verification traces of their signatures (`zkthread_sig::verify_trace`).

use zkthread_prover::air::{limbs, LIMB_BITS, N_LIMBS};
use zkthread_prover::auth::witness::{u32s, AuthWitness};
use zkthread_prover::range::{low_byte, RangeLookups};
use zkthread_prover::role::Role;
use zkthread_sig::wots::{Hash4, KeyCommitment, Signature, VerificationTrace};

use crate::transfer::{transfer_cols, TransferRole};

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

/// Rows of every component plus the permutations to prove: the transfer rows and the
/// framework's authorization rows. The range table's multiplicities are read off the rows when
/// proving ([`SignedWitness::range_lookups`]), so a test may edit rows freely.
#[derive(Clone, Debug, Default)]
pub struct SignedWitness {
    pub transfers: Vec<Vec<u32>>,
    /// Chain steps, digest and key sponges, the transaction list and every permutation.
    pub auth: AuthWitness,
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
        self.auth.add_range_lookups(&mut lookups);
        lookups
    }

    /// Adds every row one signed transfer needs, its digest last in the transaction list.
    pub fn push(&mut self, row: &SignedRow) {
        self.push_signed_transfer(row);
        self.auth.push_tx_list(&row.trace.digest);
    }

    /// The transfer row and its signature's verification rows, at position
    /// `transfers.len()`; no transaction-list entry (raw: a test pairs them as it likes).
    pub fn push_signed_transfer(&mut self, row: &SignedRow) {
        let tx = self.transfers.len() as u32;
        self.push_transfer(row, tx);
        self.auth.push_signature(tx, &row.signature, &row.trace);
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

    /// Checks every role row's constraints on plain values (no LogUp).
    pub fn first_violation(&self) -> Option<(&'static str, usize, usize)> {
        use zkthread_prover::role::first_violation;
        first_violation::<TransferRole>(&self.transfers)
            .map(|(r, c)| (TransferRole::NAME, r, c))
            .or_else(|| self.auth.first_violation())
    }
}
