//! The parameters of Plonky3's Poseidon2-M31 width-16 permutation, as stwo field elements, and
//! the linear layers written once for every field-like type (stwo's `M31`, the packed values
//! and the symbolic expressions the AIR is evaluated on).
//!
//! Nothing here is ours: the round constants are p3's `MERSENNE31_POSEIDON2_RC_16_*`; the
//! 4x4 block `M4` of the external matrix and the internal diagonal are *read off p3's own
//! production layers* ([`Poseidon2ExternalLayerMersenne31`], [`Poseidon2InternalLayerMersenne31`])
//! by applying them to unit vectors, and [`Poseidon2Constants::from_p3`] refuses to build if
//! those layers do not have the Poseidon2 shape the AIR relies on:
//! - external: `E = [[2 M4, M4, M4, M4], [M4, 2 M4, M4, M4], ...]` (16 x 16, blocks of 4);
//! - internal: `I = J + diag(D)` (`J` the all-ones matrix).

use std::ops::{Add, Mul};
use std::sync::LazyLock;

use num_traits::{One, Zero};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_mersenne_31::{
    Mersenne31, Poseidon2ExternalLayerMersenne31, Poseidon2InternalLayerMersenne31,
    MERSENNE31_POSEIDON2_HALF_FULL_ROUNDS, MERSENNE31_POSEIDON2_PARTIAL_ROUNDS_16,
    MERSENNE31_POSEIDON2_RC_16_EXTERNAL_FINAL, MERSENNE31_POSEIDON2_RC_16_EXTERNAL_INITIAL,
    MERSENNE31_POSEIDON2_RC_16_INTERNAL, MERSENNE31_S_BOX_DEGREE,
};
use p3_poseidon2::{
    ExternalLayer, ExternalLayerConstants, ExternalLayerConstructor, InternalLayer,
    InternalLayerConstructor,
};
use stwo::core::fields::m31::BaseField;

/// State width.
pub const WIDTH: usize = 16;
/// Full rounds before (and after) the partial rounds.
pub const HALF_FULL_ROUNDS: usize = MERSENNE31_POSEIDON2_HALF_FULL_ROUNDS;
/// Partial rounds.
pub const PARTIAL_ROUNDS: usize = MERSENNE31_POSEIDON2_PARTIAL_ROUNDS_16;
/// The S-box is `x -> x^SBOX_DEGREE` (the AIR splits it as `sq = x^2`, `y = sq^2 * x`).
pub const SBOX_DEGREE: u64 = MERSENNE31_S_BOX_DEGREE;
const _: () = assert!(SBOX_DEGREE == 5 && HALF_FULL_ROUNDS == 4 && PARTIAL_ROUNDS == 14);

/// A p3 state.
pub type P3State = [Mersenne31; WIDTH];

/// p3's Poseidon2-M31-16 parameters in stwo's field, and the linear forms of the partial rounds
/// derived from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poseidon2Constants {
    /// Round constants of the 4 initial full rounds.
    pub external_initial: [[BaseField; WIDTH]; HALF_FULL_ROUNDS],
    /// Round constants of the 14 partial rounds (added to element 0 only).
    pub internal: [BaseField; PARTIAL_ROUNDS],
    /// Round constants of the 4 final full rounds.
    pub external_final: [[BaseField; WIDTH]; HALF_FULL_ROUNDS],
    /// `M4`, row-major: `M4(x)[r] = sum_c mat4[r][c] * x[c]`.
    pub mat4: [[BaseField; 4]; 4],
    /// `D`: the internal matrix is `J + diag(D)`.
    pub internal_diag: [BaseField; WIDTH],
    /// `s[0]` entering partial round `k`, as a form over the [`PARTIAL_BASIS`] columns.
    pub partial_s0: [LinearForm; PARTIAL_ROUNDS],
    /// The state after the last partial round, as forms over the [`PARTIAL_BASIS`] columns.
    pub partial_out: [LinearForm; WIDTH],
}

/// What the partial rounds are linear in: the state after the last initial full round (16
/// columns), then the S-box outputs of the 14 partial rounds.
pub const PARTIAL_BASIS: usize = WIDTH + PARTIAL_ROUNDS;

/// A linear form `sum_j coeffs[j] * basis[j]` over the [`PARTIAL_BASIS`] columns. Running the
/// internal linear layer on unit forms gives every partial-round state as an explicit
/// combination of columns, so the constraints never chain one partial round into the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearForm(pub [BaseField; PARTIAL_BASIS]);

impl LinearForm {
    /// The form selecting `basis[j]`.
    pub fn unit(j: usize) -> Self {
        LinearForm(std::array::from_fn(|i| {
            if i == j {
                BaseField::one()
            } else {
                BaseField::zero()
            }
        }))
    }

    /// `sum_j coeffs[j] * basis[j]` (zero coefficients skipped). Panics on the zero form
    /// (none of the derived forms is zero: each contains the S-box output or state it
    /// descends from).
    pub fn eval<F: LinearOps>(&self, basis: &[F]) -> F {
        let terms = self.0.iter().zip(basis).filter(|(c, _)| !c.is_zero());
        terms
            .map(|(c, x)| scale(x, *c))
            .reduce(|acc, t| acc + t)
            .expect("a zero linear form")
    }
}

impl Add for LinearForm {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        LinearForm(std::array::from_fn(|i| self.0[i] + rhs.0[i]))
    }
}

impl Mul<BaseField> for LinearForm {
    type Output = Self;
    fn mul(self, rhs: BaseField) -> Self {
        LinearForm(self.0.map(|c| c * rhs))
    }
}

/// The partial rounds as forms: `(s[0] entering each round, state after the last)`.
fn partial_forms(diag: &[BaseField; WIDTH]) -> ([LinearForm; PARTIAL_ROUNDS], [LinearForm; WIDTH]) {
    let mut state: [LinearForm; WIDTH] = std::array::from_fn(LinearForm::unit);
    let mut s0 = [LinearForm::unit(0); PARTIAL_ROUNDS];
    for (k, form) in s0.iter_mut().enumerate() {
        *form = state[0];
        state[0] = LinearForm::unit(WIDTH + k);
        state = internal_layer_with(&state, &state_sum(&state), diag);
    }
    (s0, state)
}

/// The constants, computed (and checked against p3's layers) once per process.
pub static CONSTANTS: LazyLock<Poseidon2Constants> = LazyLock::new(Poseidon2Constants::from_p3);

/// A p3 element as a stwo element (both are canonical representatives mod `2^31 - 1`).
pub fn from_p3(x: Mersenne31) -> BaseField {
    BaseField::from_u32_unchecked(x.as_canonical_u32())
}

/// A stwo element as a p3 element.
pub fn to_p3(x: BaseField) -> Mersenne31 {
    Mersenne31::new(x.0)
}

fn unit(j: usize) -> P3State {
    std::array::from_fn(|i| {
        if i == j {
            Mersenne31::ONE
        } else {
            Mersenne31::ZERO
        }
    })
}

/// Column `j` of a linear map given as a state transformation is its image of `e_j`.
fn probe(map: impl Fn(&mut P3State)) -> [[Mersenne31; WIDTH]; WIDTH] {
    let columns: [P3State; WIDTH] = std::array::from_fn(|j| {
        let mut s = unit(j);
        map(&mut s);
        s
    });
    std::array::from_fn(|r| std::array::from_fn(|c| columns[c][r]))
}

/// p3's external linear layer alone: an external layer with no rounds, whose
/// `permute_state_initial` is exactly the initial linear layer of the permutation.
pub fn p3_external_linear_layer() -> Poseidon2ExternalLayerMersenne31<WIDTH> {
    ExternalLayerConstructor::new_from_constants(ExternalLayerConstants::new(vec![], vec![]))
}

/// p3's 16 x 16 external matrix.
pub fn p3_external_matrix() -> [[Mersenne31; WIDTH]; WIDTH] {
    let layer = p3_external_linear_layer();
    probe(|s| layer.permute_state_initial(s))
}

/// p3's 16 x 16 internal matrix: one partial round with round constant 0 maps `e_j` to column
/// `j` of the matrix (the S-box fixes 0 and 1).
pub fn p3_internal_matrix() -> [[Mersenne31; WIDTH]; WIDTH] {
    let layer: Poseidon2InternalLayerMersenne31 =
        InternalLayerConstructor::new_from_constants(vec![Mersenne31::ZERO]);
    probe(|s| layer.permute_state(s))
}

impl Poseidon2Constants {
    /// Reads the constants off p3. Panics if p3's layers lost the shape the AIR assumes (a p3
    /// upgrade that changes them must not silently produce a different AIR).
    pub fn from_p3() -> Self {
        let ext = p3_external_matrix();
        let mat4: [[BaseField; 4]; 4] =
            std::array::from_fn(|r| std::array::from_fn(|c| from_p3(ext[r][4 + c])));
        for (r, row) in ext.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let block = mat4[r % 4][c % 4];
                let want = if r / 4 == c / 4 { block + block } else { block };
                assert_eq!(
                    from_p3(*v),
                    want,
                    "p3 external matrix is not [[2M4, M4..]..] at ({r},{c})"
                );
            }
        }
        let int = p3_internal_matrix();
        let internal_diag: [BaseField; WIDTH] =
            std::array::from_fn(|i| from_p3(int[i][i] - Mersenne31::ONE));
        for (r, row) in int.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!(
                    r == c || *v == Mersenne31::ONE,
                    "p3 internal matrix is not J + diag at ({r},{c})"
                );
            }
        }
        let (partial_s0, partial_out) = partial_forms(&internal_diag);
        Poseidon2Constants {
            external_initial: MERSENNE31_POSEIDON2_RC_16_EXTERNAL_INITIAL.map(|r| r.map(from_p3)),
            internal: MERSENNE31_POSEIDON2_RC_16_INTERNAL.map(from_p3),
            external_final: MERSENNE31_POSEIDON2_RC_16_EXTERNAL_FINAL.map(|r| r.map(from_p3)),
            mat4,
            internal_diag,
            partial_s0,
            partial_out,
        }
    }
}

/// What the linear layers need: additions and products by constants.
pub trait LinearOps: Clone + Add<Output = Self> + Mul<BaseField, Output = Self> {}
impl<T: Clone + Add<Output = T> + Mul<BaseField, Output = T>> LinearOps for T {}

/// `c * x`, skipping the product when `c = 1`.
fn scale<F: LinearOps>(x: &F, c: BaseField) -> F {
    if c.is_one() {
        x.clone()
    } else {
        x.clone() * c
    }
}

fn sum<F: LinearOps>(xs: &[F]) -> F {
    xs[1..].iter().fold(xs[0].clone(), |acc, x| acc + x.clone())
}

/// `M4` applied to 4 elements.
fn apply_mat4<F: LinearOps>(x: &[F], mat4: &[[BaseField; 4]; 4]) -> [F; 4] {
    std::array::from_fn(|r| {
        sum(&std::array::from_fn::<F, 4, _>(|c| {
            scale(&x[c], mat4[r][c])
        }))
    })
}

/// The external linear layer `E x`: `M4` on each block of 4, then every output gets the sum of
/// the same-position outputs of all blocks (so its own block counts twice).
pub fn external_linear_layer<F: LinearOps>(x: &[F; WIDTH]) -> [F; WIDTH] {
    let mat4 = &CONSTANTS.mat4;
    let blocks: [[F; 4]; 4] = std::array::from_fn(|b| apply_mat4(&x[4 * b..4 * b + 4], mat4));
    let sums: [F; 4] =
        std::array::from_fn(|k| sum(&std::array::from_fn::<F, 4, _>(|b| blocks[b][k].clone())));
    std::array::from_fn(|i| blocks[i / 4][i % 4].clone() + sums[i % 4].clone())
}

/// The sum of a state (what the internal layer adds to every element).
pub fn state_sum<F: LinearOps>(x: &[F; WIDTH]) -> F {
    sum(x)
}

fn internal_layer_with<F: LinearOps>(
    x: &[F; WIDTH],
    total: &F,
    diag: &[BaseField; WIDTH],
) -> [F; WIDTH] {
    std::array::from_fn(|i| total.clone() + scale(&x[i], diag[i]))
}

/// The internal linear layer `(J + diag(D)) x`.
pub fn internal_linear_layer<F: LinearOps>(x: &[F; WIDTH]) -> [F; WIDTH] {
    internal_layer_with(x, &state_sum(x), &CONSTANTS.internal_diag)
}

/// The S-box `x^5` (reference; the AIR uses a square column instead).
pub fn sbox<F: Clone + Mul<Output = F>>(x: F) -> F {
    let x2 = x.clone() * x.clone();
    let x4 = x2.clone() * x2;
    x4 * x
}
