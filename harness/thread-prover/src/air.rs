//! The token-transfer AIR: one transfer per row, balances as 8 limbs of 16 bits.
//!
//! Two components share the proof:
//! - [`TransferEval`] (`2^log_n_rows` rows): the transfer rows.
//! - [`RangeTableEval`] (`2^16` rows): the 16-bit range-check table, a preprocessed column
//!   `0..2^16` with a multiplicity column.
//!
//! Transfer row columns, in trace order ([`TRANSFER_COLUMNS`] = 58):
//! `enabled, token, from_slot, to_slot, from_old[8], to_old[8], amount[8], from_new[8],
//! to_new[8], borrow[7], carry[7]` (limbs little-endian).
//!
//! Constraints (all degree <= 3):
//! - `enabled` is boolean; every `borrow`/`carry` is boolean.
//! - `from_old_k - amount_k - borrow_{k-1} + 2^16 borrow_k - from_new_k = 0` with
//!   `borrow_{-1} = borrow_7 = 0` (no underflow: the top borrow does not exist);
//! - `to_old_k + amount_k + carry_{k-1} - 2^16 carry_k - to_new_k = 0` with
//!   `carry_{-1} = carry_7 = 0` (no overflow).
//! - LogUp, relation `TokenState(slot, token, limb_0..limb_7)`: `-enabled` for
//!   `(from_slot, token, from_old)`, `+enabled` for `(from_slot, token, from_new)`, `-enabled`
//!   for `(to_slot, token, to_old)`, `+enabled` for `(to_slot, token, to_new)`.
//! - LogUp, relation `RangeCheck16(x)`: `+1` for each limb of `amount`, `from_new`, `to_new`
//!   (padding rows are all zero, so they look up 0, which is in the table); the table yields
//!   `-multiplicity` per value.
//! Fractions are batched in pairs in the order listed (state entries first).

use num_traits::One;
use stwo::core::fields::m31::BaseField;
use stwo_constraint_framework::preprocessed_columns::PreProcessedColumnId;
use stwo_constraint_framework::{relation, EvalAtRow, FrameworkEval, RelationEntry};

/// Bits per balance limb.
pub const LIMB_BITS: u32 = 16;
/// Limbs per u128 balance.
pub const N_LIMBS: usize = 8;
/// Log size of the range-check table (one entry per limb value).
pub const RANGE_LOG_SIZE: u32 = LIMB_BITS;
/// Columns of the transfer component's main trace.
pub const TRANSFER_COLUMNS: usize = 4 + 5 * N_LIMBS + 2 * (N_LIMBS - 1);
/// LogUp fractions per transfer row: 4 state entries and 3 * 8 range checks.
pub const TRANSFER_FRACTIONS: usize = 4 + 3 * N_LIMBS;
/// Interaction columns (4 M31 per secure column, one per pair of fractions).
pub const TRANSFER_INTERACTION_COLUMNS: usize = 4 * TRANSFER_FRACTIONS.div_ceil(2);
/// Values in one `TokenState` tuple: slot, token, limbs.
pub const STATE_TUPLE: usize = 2 + N_LIMBS;
/// Name of the preprocessed range-table column.
pub const RANGE_TABLE_COLUMN: &str = "zkthread_range16";

relation!(TokenStateRelation, STATE_TUPLE);
relation!(RangeCheckRelation, 1);

/// Splits a u128 into little-endian 16-bit limbs.
pub fn limbs(value: u128) -> [u32; N_LIMBS] {
    std::array::from_fn(|k| ((value >> (LIMB_BITS as usize * k)) & 0xffff) as u32)
}

/// The `TokenState` tuple of a slot holding `value`.
pub fn state_tuple(slot: u32, token: u32, value: u128) -> [BaseField; STATE_TUPLE] {
    let l = limbs(value);
    std::array::from_fn(|i| match i {
        0 => BaseField::from(slot),
        1 => BaseField::from(token),
        _ => BaseField::from(l[i - 2]),
    })
}

/// Constraints of the transfer rows.
#[derive(Clone)]
pub struct TransferEval {
    pub log_n_rows: u32,
    pub state: TokenStateRelation,
    pub range: RangeCheckRelation,
}

impl FrameworkEval for TransferEval {
    fn log_size(&self) -> u32 {
        self.log_n_rows
    }

    fn max_constraint_log_degree_bound(&self) -> u32 {
        // Degree-3 constraints (pair-batched LogUp): composition degree 2n.
        self.log_n_rows + 1
    }

    fn evaluate<E: EvalAtRow>(&self, mut eval: E) -> E {
        let one = E::F::from(BaseField::one());
        let base = E::F::from(BaseField::from(1u32 << LIMB_BITS));
        let enabled = eval.next_trace_mask();
        let token = eval.next_trace_mask();
        let from_slot = eval.next_trace_mask();
        let to_slot = eval.next_trace_mask();
        let read8 = |eval: &mut E| -> [E::F; N_LIMBS] { std::array::from_fn(|_| eval.next_trace_mask()) };
        let from_old = read8(&mut eval);
        let to_old = read8(&mut eval);
        let amount = read8(&mut eval);
        let from_new = read8(&mut eval);
        let to_new = read8(&mut eval);
        let borrow: [E::F; N_LIMBS - 1] = std::array::from_fn(|_| eval.next_trace_mask());
        let carry: [E::F; N_LIMBS - 1] = std::array::from_fn(|_| eval.next_trace_mask());

        eval.add_constraint(enabled.clone() * (enabled.clone() - one.clone()));
        for b in borrow.iter().chain(carry.iter()) {
            eval.add_constraint(b.clone() * (b.clone() - one.clone()));
        }
        for k in 0..N_LIMBS {
            // Sender: old - amount = new, limb by limb with borrows; no borrow out of the top.
            let mut sub = from_old[k].clone() - amount[k].clone() - from_new[k].clone();
            if k > 0 {
                sub = sub - borrow[k - 1].clone();
            }
            if k < N_LIMBS - 1 {
                sub = sub + borrow[k].clone() * base.clone();
            }
            eval.add_constraint(sub);
            // Receiver: old + amount = new, limb by limb with carries; no carry out of the top.
            let mut add = to_old[k].clone() + amount[k].clone() - to_new[k].clone();
            if k > 0 {
                add = add + carry[k - 1].clone();
            }
            if k < N_LIMBS - 1 {
                add = add - carry[k].clone() * base.clone();
            }
            eval.add_constraint(add);
        }

        let tuple = |slot: &E::F, value: &[E::F; N_LIMBS]| -> Vec<E::F> {
            let mut t = Vec::with_capacity(STATE_TUPLE);
            t.push(slot.clone());
            t.push(token.clone());
            t.extend(value.iter().cloned());
            t
        };
        let consume = E::EF::from(-enabled.clone());
        let produce = E::EF::from(enabled.clone());
        let entries = [
            (consume.clone(), tuple(&from_slot, &from_old)),
            (produce.clone(), tuple(&from_slot, &from_new)),
            (consume, tuple(&to_slot, &to_old)),
            (produce, tuple(&to_slot, &to_new)),
        ];
        for (multiplicity, values) in entries.iter() {
            eval.add_to_relation(RelationEntry::new(&self.state, multiplicity.clone(), values));
        }
        for limb in amount.iter().chain(from_new.iter()).chain(to_new.iter()) {
            eval.add_to_relation(RelationEntry::new(
                &self.range,
                E::EF::one(),
                std::slice::from_ref(limb),
            ));
        }
        eval.finalize_logup_in_pairs();
        eval
    }
}

/// The 16-bit range-check table.
#[derive(Clone)]
pub struct RangeTableEval {
    pub range: RangeCheckRelation,
}

impl FrameworkEval for RangeTableEval {
    fn log_size(&self) -> u32 {
        RANGE_LOG_SIZE
    }

    fn max_constraint_log_degree_bound(&self) -> u32 {
        RANGE_LOG_SIZE + 1
    }

    fn evaluate<E: EvalAtRow>(&self, mut eval: E) -> E {
        let value = eval.get_preprocessed_column(range_table_column_id());
        let multiplicity = eval.next_trace_mask();
        eval.add_to_relation(RelationEntry::new(
            &self.range,
            E::EF::from(-multiplicity),
            &[value],
        ));
        eval.finalize_logup();
        eval
    }
}

pub fn range_table_column_id() -> PreProcessedColumnId {
    PreProcessedColumnId { id: RANGE_TABLE_COLUMN.to_string() }
}
