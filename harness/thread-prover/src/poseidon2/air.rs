//! [`Poseidon2Eval`]: one Poseidon2-M31-16 permutation per row (layout and constraints in the
//! [module docs](super)).

use std::ops::Range;

use stwo::core::fields::m31::BaseField;
use stwo_constraint_framework::{relation, EvalAtRow, FrameworkEval, RelationEntry};

use super::constants::{
    external_linear_layer, Poseidon2Constants, CONSTANTS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH,
};

/// Values of one `Poseidon2Relation` entry: `(input[16], output[16])`.
pub const RELATION_SIZE: usize = 2 * WIDTH;
relation!(Poseidon2Relation, RELATION_SIZE);

/// Columns of one full round: the squares of its 16 S-box inputs, then the state after it.
pub const FULL_ROUND_COLUMNS: usize = 2 * WIDTH;
/// Columns of one partial round: the square of its S-box input, then the S-box output.
pub const PARTIAL_ROUND_COLUMNS: usize = 2;

/// Column of the multiplicity.
pub const MULTIPLICITY_COLUMN: usize = 0;
/// Columns of the input state.
pub const INPUT_COLUMNS: Range<usize> = 1..1 + WIDTH;
const INITIAL_START: usize = 1 + WIDTH;
const PARTIAL_START: usize = INITIAL_START + HALF_FULL_ROUNDS * FULL_ROUND_COLUMNS;
const FINAL_START: usize = PARTIAL_START + PARTIAL_ROUNDS * PARTIAL_ROUND_COLUMNS;
/// Main-trace columns of the component: 1 + 16 + 4 * 32 + 14 * 2 + 4 * 32 = 301.
pub const N_COLUMNS: usize = FINAL_START + HALF_FULL_ROUNDS * FULL_ROUND_COLUMNS;
/// Columns of the output state (= the state after the last final full round).
pub const OUTPUT_COLUMNS: Range<usize> = final_round_state_columns(HALF_FULL_ROUNDS - 1);
/// Interaction columns: one LogUp fraction per row, one QM31 cumulative-sum column.
pub const N_INTERACTION_COLUMNS: usize = 4;
/// Constraints: 2 per S-box (8 * 16 + 14 of them), 1 LogUp.
pub const N_CONSTRAINTS: usize = 2 * (2 * HALF_FULL_ROUNDS * WIDTH + PARTIAL_ROUNDS) + 1;
/// `max_constraint_log_degree_bound - log_n_rows`. stwo 2.3 supports exactly 1: it splits the
/// composition polynomial in two halves of the largest trace size, so constraints must have
/// degree <= 3 (see the module docs).
pub const LOG_CONSTRAINT_EXPANSION: u32 = 1;
/// Highest constraint degree: `y - sq^2 * x` for an S-box `y = x^5` with `sq = x^2`.
pub const CONSTRAINT_DEGREE: usize = 3;

const fn full_round_start(first: usize, r: usize) -> usize {
    first + r * FULL_ROUND_COLUMNS
}

/// Columns of the S-box input squares of initial full round `r` (0..4).
pub const fn initial_round_square_columns(r: usize) -> Range<usize> {
    full_round_start(INITIAL_START, r)..full_round_start(INITIAL_START, r) + WIDTH
}

/// Columns of the state after initial full round `r` (0..4).
pub const fn initial_round_state_columns(r: usize) -> Range<usize> {
    full_round_start(INITIAL_START, r) + WIDTH..full_round_start(INITIAL_START, r + 1)
}

/// Column of the S-box input square of partial round `k` (0..14).
pub const fn partial_round_square_column(k: usize) -> usize {
    PARTIAL_START + k * PARTIAL_ROUND_COLUMNS
}

/// Column of the S-box output of partial round `k` (0..14).
pub const fn partial_round_sbox_column(k: usize) -> usize {
    PARTIAL_START + k * PARTIAL_ROUND_COLUMNS + 1
}

/// Columns of the S-box input squares of final full round `r` (0..4).
pub const fn final_round_square_columns(r: usize) -> Range<usize> {
    full_round_start(FINAL_START, r)..full_round_start(FINAL_START, r) + WIDTH
}

/// Columns of the state after final full round `r` (0..4).
pub const fn final_round_state_columns(r: usize) -> Range<usize> {
    full_round_start(FINAL_START, r) + WIDTH..full_round_start(FINAL_START, r + 1)
}

/// The Poseidon2 component: `2^log_n_rows` rows, one permutation each.
#[derive(Clone)]
pub struct Poseidon2Eval {
    pub log_n_rows: u32,
    pub relation: Poseidon2Relation,
}

impl FrameworkEval for Poseidon2Eval {
    fn log_size(&self) -> u32 {
        self.log_n_rows
    }

    fn max_constraint_log_degree_bound(&self) -> u32 {
        self.log_n_rows + LOG_CONSTRAINT_EXPANSION
    }

    fn evaluate<E: EvalAtRow>(&self, mut eval: E) -> E {
        let c = &*CONSTANTS;
        let multiplicity = eval.next_trace_mask();
        let input = read_state(&mut eval);
        let mut state = external_linear_layer(&input).map(|x| eval.add_intermediate(x));
        for rc in &c.external_initial {
            state = full_round(&mut eval, &state, rc);
        }
        state = partial_rounds(&mut eval, state, c);
        for rc in &c.external_final {
            state = full_round(&mut eval, &state, rc);
        }
        // `state` now holds the output columns themselves (the last round's masks).
        let values: Vec<E::F> = input.into_iter().chain(state).collect();
        eval.add_to_relation(RelationEntry::new(
            &self.relation,
            E::EF::from(multiplicity),
            &values,
        ));
        eval.finalize_logup();
        eval
    }
}

fn read_state<E: EvalAtRow>(eval: &mut E) -> [E::F; WIDTH] {
    std::array::from_fn(|_| eval.next_trace_mask())
}

/// `y = x^5` with the square as a column: adds `sq - x^2 = 0` (degree 2) and returns
/// `sq^2 * x` (degree 3) for the caller to constrain.
fn sbox_with_square<E: EvalAtRow>(eval: &mut E, x: E::F, sq: E::F) -> E::F {
    eval.add_constraint(sq.clone() - x.clone() * x.clone());
    sq.clone() * sq * x
}

/// A full round. Columns: `sq[16]` (squares of `x = prev + rc`), then `next[16]`.
/// Constraints: `sq[i] = x[i]^2`; `next = E(sq^2 * x)`. Returns `next`.
fn full_round<E: EvalAtRow>(
    eval: &mut E,
    prev: &[E::F; WIDTH],
    rc: &[BaseField; WIDTH],
) -> [E::F; WIDTH] {
    let sq = read_state(eval);
    let sboxed: [E::F; WIDTH] = std::array::from_fn(|i| {
        let mut x = prev[i].clone();
        x += rc[i];
        let y = sbox_with_square(eval, x, sq[i].clone());
        eval.add_intermediate(y)
    });
    let expected = external_linear_layer(&sboxed);
    let next = read_state(eval);
    for (n, e) in next.iter().zip(expected) {
        eval.add_constraint(n.clone() - e);
    }
    next
}

/// The 14 partial rounds. Columns per round: `sq_k`, `p_k`, with `sq_k = x_k^2` and
/// `p_k = sq_k^2 * x_k = x_k^5` for `x_k = s_k[0] + rc_k`, where `s_k[0]` (the element entering
/// round k) is a fixed linear form in the previous full round's state columns and
/// `p_0..p_{k-1}`. Returns the state after the last partial round (16 linear forms in the
/// same columns).
fn partial_rounds<E: EvalAtRow>(
    eval: &mut E,
    state: [E::F; WIDTH],
    c: &Poseidon2Constants,
) -> [E::F; WIDTH] {
    let cols: [[E::F; PARTIAL_ROUND_COLUMNS]; PARTIAL_ROUNDS] =
        std::array::from_fn(|_| std::array::from_fn(|_| eval.next_trace_mask()));
    let basis: Vec<E::F> = state
        .into_iter()
        .chain(cols.iter().map(|[_, p]| p.clone()))
        .collect();
    for (k, [sq, p]) in cols.iter().enumerate() {
        let mut x = eval.add_intermediate(c.partial_s0[k].eval(&basis));
        x += c.internal[k];
        let y = sbox_with_square(eval, x, sq.clone());
        eval.add_constraint(p.clone() - y);
    }
    std::array::from_fn(|i| eval.add_intermediate(c.partial_out[i].eval(&basis)))
}
