//! Witness: transfer rows, the main trace and the LogUp interaction trace.

use std::collections::BTreeMap;

use num_traits::{One, Zero};
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::ColumnVec;
use stwo::prover::backend::simd::column::BaseColumn;
use stwo::prover::backend::simd::m31::{PackedM31, LOG_N_LANES};
use stwo::prover::backend::simd::qm31::PackedSecureField;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::poly::circle::CircleEvaluation;
use stwo::prover::poly::BitReversedOrder;
use stwo_constraint_framework::{LogupTraceGenerator, Relation};

use crate::air::{
    limbs, RangeCheckRelation, TokenStateRelation, LIMB_BITS, N_LIMBS, RANGE_LOG_SIZE,
    STATE_TUPLE, TRANSFER_COLUMNS,
};
use crate::model::SubBlock;
use crate::public_input::StatementSlot;

pub type TraceColumn = CircleEvaluation<SimdBackend, BaseField, BitReversedOrder>;

/// One transfer as the AIR sees it: slot and token indices and the balances it reads.
/// The written balances, borrows and carries are derived (wrapping, so an invalid row is
/// representable and must be caught by the constraints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRow {
    pub token: u32,
    pub from_slot: u32,
    pub to_slot: u32,
    pub from_old: u128,
    pub to_old: u128,
    pub amount: u128,
}

/// Why a sub-block cannot be turned into rows for its public input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("transfer #{0} touches a slot missing from the input list")]
    SlotNotInInputs(usize),
    #[error("transfer #{0} is invalid (overspend, overflow, zero amount or self transfer)")]
    InvalidTransfer(usize),
    #[error("slot #{0}: replaying the transfers does not give the output list's value")]
    OutputMismatch(usize),
    #[error("transfer #{0}: sender and receiver are slots of different tokens")]
    CrossToken(usize),
    #[error("too many transfers: {0}")]
    TooManyTransfers(usize),
}

/// Replays `sub_block` over the statement slots and returns its rows.
pub fn rows_for(
    sub_block: &SubBlock,
    slots: &[StatementSlot],
    slot_index: &BTreeMap<crate::model::Slot, u32>,
) -> Result<Vec<TransferRow>, WitnessError> {
    let mut balance: Vec<u128> = slots.iter().map(|s| s.before).collect();
    let mut rows = Vec::with_capacity(sub_block.transfers.len());
    for (i, tx) in sub_block.transfers.iter().enumerate() {
        let from = *slot_index.get(&tx.from_slot()).ok_or(WitnessError::SlotNotInInputs(i))?;
        let to = *slot_index.get(&tx.to_slot()).ok_or(WitnessError::SlotNotInInputs(i))?;
        let (fs, ts) = (&slots[from as usize], &slots[to as usize]);
        if fs.token != ts.token {
            return Err(WitnessError::CrossToken(i));
        }
        let (from_old, to_old) = (balance[from as usize], balance[to as usize]);
        if tx.amount == 0 || from == to || from_old < tx.amount {
            return Err(WitnessError::InvalidTransfer(i));
        }
        let to_new = to_old.checked_add(tx.amount).ok_or(WitnessError::InvalidTransfer(i))?;
        balance[from as usize] = from_old - tx.amount;
        balance[to as usize] = to_new;
        rows.push(TransferRow {
            token: fs.token,
            from_slot: from,
            to_slot: to,
            from_old,
            to_old,
            amount: tx.amount,
        });
    }
    for (s, b) in slots.iter().zip(&balance) {
        if s.after != *b {
            return Err(WitnessError::OutputMismatch(s.index as usize));
        }
    }
    Ok(rows)
}

/// Log2 of the transfer component's rows for `n` transfers (at least one SIMD vector).
pub fn log_rows_for(n: usize) -> u32 {
    n.max(1).next_power_of_two().ilog2().max(LOG_N_LANES)
}

/// The main trace of the transfer component (see [`crate::air`] for the column order) and the
/// range-check multiplicities it causes.
pub fn transfer_trace(rows: &[TransferRow], log_n_rows: u32) -> (Vec<TraceColumn>, Vec<u32>) {
    let n = 1usize << log_n_rows;
    let mut cols = vec![vec![BaseField::zero(); n]; TRANSFER_COLUMNS];
    let mut multiplicity = vec![0u32; 1 << RANGE_LOG_SIZE];
    let base = 1i64 << LIMB_BITS;
    for (r, row) in rows.iter().enumerate() {
        let (a, t, x) = (limbs(row.from_old), limbs(row.to_old), limbs(row.amount));
        let (fnew, tnew) = (limbs(row.from_old.wrapping_sub(row.amount)), limbs(row.to_old.wrapping_add(row.amount)));
        let mut borrow = [0u32; N_LIMBS];
        let mut carry = [0u32; N_LIMBS];
        let (mut bin, mut cin) = (0i64, 0i64);
        for k in 0..N_LIMBS {
            let d = a[k] as i64 - x[k] as i64 - bin;
            bin = i64::from(d < 0);
            borrow[k] = bin as u32;
            let s = t[k] as i64 + x[k] as i64 + cin;
            cin = i64::from(s >= base);
            carry[k] = cin as u32;
        }
        let mut c = 0;
        let mut put = |v: u32| {
            cols[c][r] = BaseField::from(v);
            c += 1;
        };
        put(1);
        put(row.token);
        put(row.from_slot);
        put(row.to_slot);
        for group in [&a, &t, &x, &fnew, &tnew] {
            group.iter().for_each(|v| put(*v));
        }
        borrow[..N_LIMBS - 1].iter().for_each(|v| put(*v));
        carry[..N_LIMBS - 1].iter().for_each(|v| put(*v));
        for v in x.iter().chain(&fnew).chain(&tnew) {
            multiplicity[*v as usize] += 1;
        }
    }
    // Padding rows are all zero: 24 look-ups of 0 each.
    multiplicity[0] += (3 * N_LIMBS * (n - rows.len())) as u32;
    let domain = CanonicCoset::new(log_n_rows).circle_domain();
    let trace = cols
        .into_iter()
        .map(|c| CircleEvaluation::new(domain, BaseColumn::from_iter(c)))
        .collect();
    (trace, multiplicity)
}

/// The preprocessed range table: the values `0..2^16`.
pub fn range_table_column() -> TraceColumn {
    let domain = CanonicCoset::new(RANGE_LOG_SIZE).circle_domain();
    CircleEvaluation::new(domain, (0..1u32 << RANGE_LOG_SIZE).map(BaseField::from).collect())
}

/// The range table's multiplicity column (aligned with [`range_table_column`]).
pub fn range_multiplicity_column(multiplicity: &[u32]) -> TraceColumn {
    let domain = CanonicCoset::new(RANGE_LOG_SIZE).circle_domain();
    CircleEvaluation::new(domain, multiplicity.iter().map(|m| BaseField::from(*m)).collect())
}

fn packed(col: &TraceColumn, vec_row: usize) -> PackedM31 {
    col.values.data[vec_row]
}

/// LogUp interaction trace of the transfer component, in the AIR's fraction order; returns the
/// columns and their claimed sum.
pub fn transfer_interaction(
    trace: &[TraceColumn],
    log_n_rows: u32,
    state: &TokenStateRelation,
    range: &RangeCheckRelation,
) -> (ColumnVec<TraceColumn>, SecureField) {
    let n_vecs = 1usize << (log_n_rows - LOG_N_LANES);
    // Per vector row, the 28 fractions (numerator, denominator) in AIR order.
    let fractions = |vec_row: usize| -> Vec<(PackedSecureField, PackedSecureField)> {
        let col = |i: usize| packed(&trace[i], vec_row);
        let enabled = PackedSecureField::from(col(0));
        let token = col(1);
        let group = |g: usize| -> Vec<PackedM31> { (0..N_LIMBS).map(|k| col(4 + g * N_LIMBS + k)).collect() };
        let (from_old, to_old, amount, from_new, to_new) = (group(0), group(1), group(2), group(3), group(4));
        let tuple = |slot: PackedM31, value: &[PackedM31]| -> PackedSecureField {
            let mut t = Vec::with_capacity(STATE_TUPLE);
            t.push(slot);
            t.push(token);
            t.extend_from_slice(value);
            state.combine(&t)
        };
        let mut out = vec![
            (-enabled, tuple(col(2), &from_old)),
            (enabled, tuple(col(2), &from_new)),
            (-enabled, tuple(col(3), &to_old)),
            (enabled, tuple(col(3), &to_new)),
        ];
        for limb in amount.iter().chain(&from_new).chain(&to_new) {
            out.push((PackedSecureField::one(), range.combine(&[*limb])));
        }
        out
    };
    let all: Vec<Vec<_>> = (0..n_vecs).map(fractions).collect();
    let mut gen = LogupTraceGenerator::new(log_n_rows);
    let n_fracs = all[0].len();
    for pair in (0..n_fracs).step_by(2) {
        let mut col = gen.new_col();
        for (vec_row, fr) in all.iter().enumerate() {
            let (n0, d0) = fr[pair];
            let (num, den) = match fr.get(pair + 1) {
                Some(&(n1, d1)) => (n0 * d1 + n1 * d0, d0 * d1),
                None => (n0, d0),
            };
            col.write_frac(vec_row, num, den);
        }
        col.finalize_col();
    }
    gen.finalize_last()
}

/// LogUp interaction trace of the range table.
pub fn range_interaction(
    table: &TraceColumn,
    multiplicity: &TraceColumn,
    range: &RangeCheckRelation,
) -> (ColumnVec<TraceColumn>, SecureField) {
    let mut gen = LogupTraceGenerator::new(RANGE_LOG_SIZE);
    let mut col = gen.new_col();
    for vec_row in 0..1usize << (RANGE_LOG_SIZE - LOG_N_LANES) {
        let m = PackedSecureField::from(packed(multiplicity, vec_row));
        col.write_frac(vec_row, -m, range.combine(&[packed(table, vec_row)]));
    }
    col.finalize_col();
    gen.finalize_last()
}
