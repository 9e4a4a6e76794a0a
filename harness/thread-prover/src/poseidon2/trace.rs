//! Witness of the Poseidon2 component: rows computed round by round with p3's own layers, the
//! main trace and the LogUp interaction trace.

use std::sync::LazyLock;

use num_traits::Zero;
use p3_field::PrimeField32;
use p3_mersenne_31::{
    default_mersenne31_poseidon2_16, Mersenne31, Poseidon2ExternalLayerMersenne31,
    Poseidon2InternalLayerMersenne31, MERSENNE31_POSEIDON2_RC_16_EXTERNAL_FINAL,
    MERSENNE31_POSEIDON2_RC_16_EXTERNAL_INITIAL, MERSENNE31_POSEIDON2_RC_16_INTERNAL,
};
use p3_poseidon2::{
    add_rc_and_sbox_generic, ExternalLayer, ExternalLayerConstants, ExternalLayerConstructor,
    InternalLayer, InternalLayerConstructor,
};
use p3_symmetric::Permutation;
use stwo::core::fields::m31::BaseField;
use stwo::core::fields::qm31::SecureField;
use stwo::core::poly::circle::CanonicCoset;
use stwo::core::ColumnVec;
use stwo::prover::backend::simd::column::BaseColumn;
use stwo::prover::backend::simd::m31::{PackedM31, LOG_N_LANES};
use stwo::prover::backend::simd::qm31::PackedSecureField;
use stwo_constraint_framework::{LogupTraceGenerator, Relation};

use super::air::{
    Poseidon2Relation, INPUT_COLUMNS, MULTIPLICITY_COLUMN, N_COLUMNS, OUTPUT_COLUMNS, RELATION_SIZE,
};
use super::constants::{
    p3_external_linear_layer, P3State, HALF_FULL_ROUNDS, PARTIAL_ROUNDS, SBOX_DEGREE, WIDTH,
};
use crate::trace::TraceColumn;

/// A state as canonical M31 values.
pub type State = [u32; WIDTH];

/// One full round of a row: the squares of the S-box inputs `(s + rc)^2`, then the state after
/// the round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FullRound {
    pub square: State,
    pub state: State,
}

/// One partial round of a row: the square of the S-box input `(s[0] + rc)^2`, then the S-box
/// output `(s[0] + rc)^5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialRound {
    pub square: u32,
    pub sbox: u32,
}

/// One row: the multiplicity and every column value, in trace order. Values are M31 elements
/// as u32 (reduced mod `2^31 - 1` when the trace is built). [`Poseidon2Row::honest`] computes
/// a correct row; building one by hand (the raw entry point of [`main_trace`]) is how tests
/// show that the constraints, not the generator, reject a wrong permutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poseidon2Row {
    pub multiplicity: u32,
    pub input: State,
    pub initial: [FullRound; HALF_FULL_ROUNDS],
    pub partial: [PartialRound; PARTIAL_ROUNDS],
    /// The last one's state is the output.
    pub terminal: [FullRound; HALF_FULL_ROUNDS],
}

/// p3's permutation cut into single rounds, each a p3 layer object with one round's constants:
/// an external layer with constants `[rc_r]` applies exactly round `r` through
/// `permute_state_terminal` (p3's initial rounds are the same round function after the
/// initial linear layer), an internal layer with `[rc_k]` applies exactly partial round `k`.
pub struct P3Rounds {
    linear: Poseidon2ExternalLayerMersenne31<WIDTH>,
    initial: Vec<Poseidon2ExternalLayerMersenne31<WIDTH>>,
    partial: Vec<Poseidon2InternalLayerMersenne31>,
    terminal: Vec<Poseidon2ExternalLayerMersenne31<WIDTH>>,
}

fn one_full_round(rc: [Mersenne31; WIDTH]) -> Poseidon2ExternalLayerMersenne31<WIDTH> {
    ExternalLayerConstructor::new_from_constants(ExternalLayerConstants::new(vec![rc], vec![rc]))
}

fn one_partial_round(rc: Mersenne31) -> Poseidon2InternalLayerMersenne31 {
    InternalLayerConstructor::new_from_constants(vec![rc])
}

/// The rounds, built once per process.
pub static P3_ROUNDS: LazyLock<P3Rounds> = LazyLock::new(|| P3Rounds {
    linear: p3_external_linear_layer(),
    initial: MERSENNE31_POSEIDON2_RC_16_EXTERNAL_INITIAL
        .map(one_full_round)
        .to_vec(),
    partial: MERSENNE31_POSEIDON2_RC_16_INTERNAL
        .map(one_partial_round)
        .to_vec(),
    terminal: MERSENNE31_POSEIDON2_RC_16_EXTERNAL_FINAL
        .map(one_full_round)
        .to_vec(),
});

fn square(x: Mersenne31) -> u32 {
    (x * x).as_canonical_u32()
}

fn full_round(
    layer: &Poseidon2ExternalLayerMersenne31<WIDTH>,
    rc: &P3State,
    s: &mut P3State,
) -> FullRound {
    let square = std::array::from_fn(|i| self::square(s[i] + rc[i]));
    layer.permute_state_terminal(s);
    FullRound {
        square,
        state: to_u32s(s),
    }
}

impl P3Rounds {
    /// The initial linear layer.
    pub fn linear(&self, s: &mut P3State) {
        self.linear.permute_state_initial(s);
    }
    /// Initial full round `r`.
    pub fn initial(&self, r: usize, s: &mut P3State) -> FullRound {
        full_round(
            &self.initial[r],
            &MERSENNE31_POSEIDON2_RC_16_EXTERNAL_INITIAL[r],
            s,
        )
    }
    /// Partial round `k`.
    pub fn partial(&self, k: usize, s: &mut P3State) -> PartialRound {
        let rc = MERSENNE31_POSEIDON2_RC_16_INTERNAL[k];
        let mut sbox = s[0];
        add_rc_and_sbox_generic::<Mersenne31, Mersenne31, SBOX_DEGREE>(&mut sbox, rc);
        let square = square(s[0] + rc);
        self.partial[k].permute_state(s);
        PartialRound {
            square,
            sbox: sbox.as_canonical_u32(),
        }
    }
    /// Final full round `r`.
    pub fn terminal(&self, r: usize, s: &mut P3State) -> FullRound {
        full_round(
            &self.terminal[r],
            &MERSENNE31_POSEIDON2_RC_16_EXTERNAL_FINAL[r],
            s,
        )
    }
}

fn to_u32s(s: &P3State) -> State {
    s.map(|x| x.as_canonical_u32())
}

impl Poseidon2Row {
    /// The correct row for `input` (values reduced mod p), every round computed by p3.
    pub fn honest(input: State, multiplicity: u32) -> Self {
        let p3 = &*P3_ROUNDS;
        let mut s: P3State = input.map(Mersenne31::new);
        let input = to_u32s(&s);
        p3.linear(&mut s);
        let initial = std::array::from_fn(|r| p3.initial(r, &mut s));
        let partial = std::array::from_fn(|k| p3.partial(k, &mut s));
        let terminal = std::array::from_fn(|r| p3.terminal(r, &mut s));
        Poseidon2Row {
            multiplicity,
            input,
            initial,
            partial,
            terminal,
        }
    }

    /// The output state.
    pub fn output(&self) -> State {
        self.terminal[HALF_FULL_ROUNDS - 1].state
    }

    /// The row's values in column order.
    pub fn columns(&self) -> Vec<u32> {
        let full = |f: &FullRound| f.square.into_iter().chain(f.state);
        let mut out = vec![self.multiplicity];
        out.extend(self.input);
        self.initial.iter().for_each(|f| out.extend(full(f)));
        self.partial
            .iter()
            .for_each(|p| out.extend([p.square, p.sbox]));
        self.terminal.iter().for_each(|f| out.extend(full(f)));
        out
    }
}

/// `P(input)` with p3's complete permutation (`default_mersenne31_poseidon2_16().permute`).
pub fn p3_permute(input: State) -> State {
    static PERM: LazyLock<p3_mersenne_31::Poseidon2Mersenne31<WIDTH>> =
        LazyLock::new(default_mersenne31_poseidon2_16);
    to_u32s(&PERM.permute(input.map(Mersenne31::new)))
}

/// The values a consumer enters into [`Poseidon2Relation`] for `P(input) = output`.
pub fn relation_values(input: &State, output: &State) -> [BaseField; RELATION_SIZE] {
    std::array::from_fn(|i| {
        BaseField::from(if i < WIDTH {
            input[i]
        } else {
            output[i - WIDTH]
        })
    })
}

/// Honest rows for `(input, multiplicity)` pairs.
pub fn rows_for(permutations: &[(State, u32)]) -> Vec<Poseidon2Row> {
    permutations
        .iter()
        .map(|(input, m)| Poseidon2Row::honest(*input, *m))
        .collect()
}

/// Log2 of the rows for `n` permutations (at least one SIMD vector).
pub fn log_rows_for(n: usize) -> u32 {
    n.max(1).next_power_of_two().ilog2().max(LOG_N_LANES)
}

/// The padding row: the permutation of the zero state, offered 0 times.
pub fn padding_row() -> Poseidon2Row {
    static PADDING: LazyLock<Poseidon2Row> = LazyLock::new(|| Poseidon2Row::honest([0; WIDTH], 0));
    *PADDING
}

/// The main trace (raw entry point: rows are written as given, no check), padded to
/// `2^log_n_rows` rows with [`padding_row`]. Panics if the rows do not fit.
pub fn main_trace(rows: &[Poseidon2Row], log_n_rows: u32) -> Vec<TraceColumn> {
    let n = 1usize << log_n_rows;
    assert!(
        rows.len() <= n && log_n_rows >= LOG_N_LANES,
        "{} rows do not fit 2^{log_n_rows}",
        rows.len()
    );
    let mut cols = vec![vec![BaseField::zero(); n]; N_COLUMNS];
    let padding = padding_row();
    for r in 0..n {
        let row = rows.get(r).unwrap_or(&padding);
        for (col, v) in cols.iter_mut().zip(row.columns()) {
            col[r] = BaseField::from(v);
        }
    }
    let domain = CanonicCoset::new(log_n_rows).circle_domain();
    cols.into_iter()
        .map(|c| TraceColumn::new(domain, BaseColumn::from_iter(c)))
        .collect()
}

/// The LogUp interaction trace (one fraction per row: `multiplicity / d(input, output)`) and
/// its claimed sum.
pub fn interaction_trace(
    trace: &[TraceColumn],
    log_n_rows: u32,
    relation: &Poseidon2Relation,
) -> (ColumnVec<TraceColumn>, SecureField) {
    let packed = |c: usize, v: usize| -> PackedM31 { trace[c].values.data[v] };
    let mut gen = LogupTraceGenerator::new(log_n_rows);
    let mut col = gen.new_col();
    for v in 0..1usize << (log_n_rows - LOG_N_LANES) {
        let values: Vec<PackedM31> = INPUT_COLUMNS
            .chain(OUTPUT_COLUMNS)
            .map(|c| packed(c, v))
            .collect();
        let multiplicity = PackedSecureField::from(packed(MULTIPLICITY_COLUMN, v));
        col.write_frac(v, multiplicity, relation.combine(&values));
    }
    col.finalize_col();
    gen.finalize_last()
}
