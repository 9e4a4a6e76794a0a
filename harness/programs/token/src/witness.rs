//! Rows of every component of a signed-transfer proof, from the transfers and the
//! verification traces of their signatures (`zkthread_sig::verify_trace`).

use zkthread_prover::air::{limbs, LIMB_BITS, N_LIMBS};
use zkthread_prover::auth::witness::{u32s, AuthWitness};
use zkthread_prover::range::{low_byte, RangeLookups};
use zkthread_prover::role::Role;
use zkthread_sig::domain::AccountId;
use zkthread_sig::wots::{Hash4, KeyCommitment, Signature, VerificationTrace};

use zkthread_sig::transfer_list::{list_blocks, list_permutations, ListedTransfer, TransferListCommitment};
use zkthread_sig::M31;

use crate::list::{list_head_cols, list_item_cols, ListHeadRole, ListItemRole};
use crate::transfer::{transfer_cols, TransferRole};

/// The [`balance_block`](crate::transfer::balance_block) of `from` paying `amount` to `to`
/// (wrapping: a dishonest witness may overdraw, and the range checks refuse it).
pub fn balance_block_values(from_old: u128, to_old: u128, amount: u128) -> Vec<u32> {
    let (a, t, x) = (limbs(from_old), limbs(to_old), limbs(amount));
    let fnew = limbs(from_old.wrapping_sub(amount));
    let tnew = limbs(to_old.wrapping_add(amount));
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
    let mut r = Vec::with_capacity(crate::transfer::balance_block::N);
    for group in [&a, &t, &x, &fnew, &tnew] {
        r.extend(group.iter().copied());
    }
    r.extend(borrow);
    r.extend(carry);
    r.extend(x.iter().chain(&fnew).chain(&tnew).map(|v| low_byte(*v)));
    debug_assert_eq!(r.len(), crate::transfer::balance_block::N);
    r
}

/// One signed transfer as the AIR sees it: identities as M31 limbs, the balances it reads, and
/// the signature with the trace of its verification.
#[derive(Clone, Debug)]
pub struct SignedRow {
    pub domain: Hash4,
    /// The sender's and the receiver's 248-bit ids (the signer field is `from.low`).
    pub from: AccountId,
    pub to: AccountId,
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
        let mut r = vec![1];
        r.extend(u32s(&row.domain));
        r.extend(u32s(&row.from.low));
        r.extend(u32s(&row.to.low));
        r.push(row.nonce);
        r.extend(u32s(&row.key.0));
        r.extend(u32s(&row.next_key.0));
        r.extend(u32s(&row.signature.pp));
        r.extend(u32s(&row.signature.rho));
        r.extend(balance_block_values(row.from_old, row.to_old, row.amount));
        r.push(tx);
        r.extend(u32s(&row.from.high));
        r.extend(u32s(&row.to.high));
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

/// One transfer of a signed list as the AIR sees it: the receiver and the balances it reads.
#[derive(Clone, Debug)]
pub struct SignedListItem {
    /// The receiver's 248-bit id, all of which the list signs.
    pub to: AccountId,
    pub from_old: u128,
    pub to_old: u128,
    pub amount: u128,
}

/// One signed transfer list (`zkthread_sig::TransferListMessage`) as the AIR sees it.
#[derive(Clone, Debug)]
pub struct SignedListRow {
    pub domain: Hash4,
    /// The sender's 248-bit id (the signer field is `from.low`).
    pub from: AccountId,
    pub nonce: u32,
    pub key: KeyCommitment,
    pub next_key: KeyCommitment,
    pub items: Vec<SignedListItem>,
    pub signature: Signature,
    /// The verification trace of `signature` over the list message.
    pub trace: VerificationTrace,
}

impl SignedListRow {
    /// The list of transfers the row signs (what its payload commits to).
    pub fn listed(&self) -> Vec<ListedTransfer> {
        self.items.iter().map(|i| ListedTransfer { to: i.to, amount: i.amount }).collect()
    }

    /// The message digest (the transaction list's entry).
    pub fn digest(&self) -> &zkthread_sig::TxDigest {
        &self.trace.digest
    }

    /// Poseidon2 permutations the list adds to a proof.
    pub fn permutations(&self) -> usize {
        message_permutations(Some(self.items.len()))
    }
}

/// Poseidon2 permutations a signed message adds to a proof: its signature's verification and
/// transaction-list entry, and for a list of `n` transfers its sponge's `ceil(1.5 n)`.
pub fn message_permutations(list_transfers: Option<usize>) -> usize {
    zkthread_sig::wots::VERIFY_PERMUTATIONS + 1 + list_transfers.map_or(0, list_blocks)
}

/// The eight split bits of a listed amount ([`crate::list::amount_chunks`]): the top two bits
/// of byte 3, the top four of byte 7, the low two of byte 11.
pub fn amount_split_bits(amount: u128) -> [u32; 8] {
    let byte = |i: u32| ((amount >> (8 * i)) & 0xff) as u32;
    let (b1, b3, a5) = (byte(3) >> 6, byte(7) >> 4, byte(11) & 3);
    [b1 & 1, b1 >> 1, b3 & 1, (b3 >> 1) & 1, (b3 >> 2) & 1, b3 >> 3, a5 & 1, a5 >> 1]
}

/// Rows of every component of a proof of the list program (`crate::list_prover`): the list
/// heads, their items and the authorization rows.
#[derive(Clone, Debug, Default)]
pub struct SignedListWitness {
    pub heads: Vec<Vec<u32>>,
    pub items: Vec<Vec<u32>>,
    /// Chain steps, digest and key sponges, the transaction list and every permutation.
    pub auth: AuthWitness,
}

impl SignedListWitness {
    pub fn new() -> Self {
        SignedListWitness::default()
    }

    /// The witness of `lists`, in sub-block order.
    pub fn of(lists: &[SignedListRow]) -> Self {
        let mut w = SignedListWitness::new();
        lists.iter().for_each(|l| w.push(l));
        w
    }

    /// The next sub-block position (every honest list adds one transaction-list entry).
    fn next_tx(&self) -> u32 {
        self.auth.tx_list.len() as u32
    }

    /// Adds every row of one signed list, its digest last in the transaction list.
    pub fn push(&mut self, list: &SignedListRow) {
        let tx = self.next_tx();
        self.push_signed_list_at(list, tx);
        self.auth.push_tx_list(list.digest());
    }

    /// A list's head and items and its signature's verification rows at position `tx`; no
    /// transaction-list entry (raw: a test pairs them as it likes).
    ///
    /// Panics if an amount is `2^120` or more, which no list can carry (the batcher refuses
    /// such a list before it builds a row).
    pub fn push_signed_list_at(&mut self, row: &SignedListRow, tx: u32) {
        let listed = row.listed();
        let too_large = "a list row's amounts are below 2^120 (SignedBatcher refuses larger ones)";
        let commitment = TransferListCommitment::of(&listed).expect(too_large);
        let mut head = vec![1];
        head.extend(u32s(&row.domain));
        head.extend(u32s(&row.from.low));
        head.push(row.nonce);
        head.extend(u32s(&row.key.0));
        head.extend(u32s(&row.next_key.0));
        head.extend(u32s(&row.signature.pp));
        head.extend(u32s(&row.signature.rho));
        head.extend(u32s(&commitment.cap));
        head.extend([commitment.count, tx, commitment.count % 2]);
        head.extend(u32s(&row.from.high));
        debug_assert_eq!(head.len(), list_head_cols::N);
        self.heads.push(head);
        self.auth.push_signature(tx, &row.signature, &row.trace);
        let perms = list_permutations(&listed).expect(too_large);
        let zeros = [M31::ZERO; 4];
        for (j, item) in row.items.iter().enumerate() {
            // A pair of items absorbs three blocks: the even one's two, then the odd one's.
            let (even, m) = (j % 2 == 0, 3 * (j / 2));
            let (first, second) = if even { (perms[m], Some(perms[m + 1])) } else { (perms[m + 2], None) };
            let next_to_high = if even { row.items.get(j + 1).map_or(zeros, |n| n.to.high) } else { zeros };
            let mut r = vec![u32::from(even), u32::from(!even)];
            r.extend(u32s(&row.domain));
            r.extend(u32s(&row.from.low));
            r.extend(u32s(&item.to.low));
            r.extend(u32s(&next_to_high));
            r.extend([tx, j as u32]);
            r.extend(first.input[8..].iter().map(|v| v.to_u32()));
            r.extend(u32s(&first.output));
            match second {
                Some(p) => r.extend(u32s(&p.output)),
                None => r.extend([0; 16]),
            }
            r.extend(balance_block_values(item.from_old, item.to_old, item.amount));
            r.extend(u32s(&row.from.high));
            r.extend(u32s(&item.to.high));
            r.extend(amount_split_bits(item.amount));
            debug_assert_eq!(r.len(), list_item_cols::N);
            self.items.push(r);
            for p in std::iter::once(first).chain(second) {
                self.auth.permutations.push((p.input.map(M31::to_u32), 1));
            }
        }
    }

    /// Checks every role row's constraints on plain values (no LogUp).
    pub fn first_violation(&self) -> Option<(&'static str, usize, usize)> {
        use zkthread_prover::role::first_violation;
        first_violation::<ListHeadRole>(&self.heads)
            .map(|(r, c)| (ListHeadRole::NAME, r, c))
            .or_else(|| first_violation::<ListItemRole>(&self.items).map(|(r, c)| (ListItemRole::NAME, r, c)))
            .or_else(|| self.auth.first_violation())
    }
}
