//! Points of the circle x^2 + y^2 = 1 over M31 and QM31, and the index arithmetic stwo uses
//! for the M31 circle group (order 2^31): `CirclePointIndex` and `Coset`.

use core::num::traits::{Zero, One};
use core::integer::{u64_safe_divmod, u128_safe_divmod};
use core::num::traits::WideMul;
use crate::fields::{M31, QM31, QM31Trait};
use crate::channel::{Poseidon252Channel, ChannelTrait};

pub const M31_CIRCLE_LOG_ORDER: u32 = 31;
/// 2^31, the order of the M31 circle group.
const CIRCLE_ORDER: u32 = 0x80000000;
const CIRCLE_ORDER_U64_NZ: NonZero<u64> = 0x80000000;

#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct CirclePoint<F> {
    pub x: F,
    pub y: F,
}

/// The group law: (x0, y0) + (x1, y1) = (x0 x1 - y0 y1, x0 y1 + y0 x1).
pub impl CirclePointAdd<
    F, +Add<F>, +Sub<F>, +Mul<F>, +Copy<F>, +Drop<F>,
> of Add<CirclePoint<F>> {
    #[inline]
    fn add(lhs: CirclePoint<F>, rhs: CirclePoint<F>) -> CirclePoint<F> {
        CirclePoint { x: lhs.x * rhs.x - lhs.y * rhs.y, y: lhs.x * rhs.y + lhs.y * rhs.x }
    }
}

/// The group inverse is the conjugate (x, -y).
pub impl CirclePointNeg<F, +Neg<F>, +Copy<F>, +Drop<F>> of Neg<CirclePoint<F>> {
    #[inline]
    fn neg(a: CirclePoint<F>) -> CirclePoint<F> {
        CirclePoint { x: a.x, y: -a.y }
    }
}

pub impl CirclePointSub<
    F, +Add<F>, +Sub<F>, +Mul<F>, +Neg<F>, +Copy<F>, +Drop<F>,
> of Sub<CirclePoint<F>> {
    #[inline]
    fn sub(lhs: CirclePoint<F>, rhs: CirclePoint<F>) -> CirclePoint<F> {
        lhs + (-rhs)
    }
}

#[generate_trait]
pub impl CirclePointImpl<
    F, +Add<F>, +Sub<F>, +Mul<F>, +Neg<F>, +Copy<F>, +Drop<F>, +Zero<F>, +One<F>,
> of CirclePointTrait<F> {
    /// The identity (1, 0).
    #[inline]
    fn identity() -> CirclePoint<F> {
        CirclePoint { x: One::one(), y: Zero::zero() }
    }

    #[inline]
    fn double(self: CirclePoint<F>) -> CirclePoint<F> {
        self + self
    }

    /// x-coordinate of the double of a point with x-coordinate `x`: 2 x^2 - 1.
    #[inline]
    fn double_x(x: F) -> F {
        let sx = x * x;
        sx + sx - One::one()
    }

    fn repeated_double(self: CirclePoint<F>, n: u32) -> CirclePoint<F> {
        let mut result = self;
        let mut i = 0;
        while i != n {
            result = result + result;
            i += 1;
        };
        result
    }

    /// `scalar * self` by double and add (stwo's `CirclePoint::mul`).
    fn mul(self: CirclePoint<F>, scalar: u128) -> CirclePoint<F> {
        let mut result = Self::identity();
        let mut current = self;
        let mut rest = scalar;
        while rest != 0 {
            let (half, bit) = u128_safe_divmod(rest, 2);
            if bit == 1 {
                result = result + current;
            }
            current = current + current;
            rest = half;
        };
        result
    }

    #[inline]
    fn conjugate(self: CirclePoint<F>) -> CirclePoint<F> {
        CirclePoint { x: self.x, y: -self.y }
    }

    #[inline]
    fn antipode(self: CirclePoint<F>) -> CirclePoint<F> {
        CirclePoint { x: -self.x, y: -self.y }
    }
}

/// stwo's `M31_CIRCLE_GEN`, a generator of the order-2^31 circle group over M31.
#[inline]
pub fn m31_circle_gen() -> CirclePoint<M31> {
    CirclePoint { x: M31 { inner: 2 }, y: M31 { inner: 1268011823 } }
}

/// (x, y) of 2^k * M31_CIRCLE_GEN for k = 0..30 (checked against repeated doubling in tests).
pub fn m31_gen_doublings() -> Span<(u32, u32)> {
    array![(2, 1268011823), (7, 777079998), (97, 141701737), (18817, 1720333214), (708158977, 683185920), (334835419, 1444967316), (2042371533, 1362265296), (212706801, 1223819887), (421007138, 256177860), (6346213, 905523693), (1022251061, 788094511), (1633461177, 574296567), (595037635, 2111542451), (1799120754, 343598868), (438833264, 1327019128), (1389168750, 838891026), (1543902459, 1632329423), (1330239767, 1446369578), (1420207432, 2023238517), (2015554631, 1088093947), (996212859, 1140996376), (1434706457, 1835793811), (13610297, 1064696601), (785043271, 1260750973), (838195206, 1774253895), (579625837, 1690787918), (1179735656, 1241207368), (590768354, 978592373), (32768, 2147450879), (0, 2147483646), (2147483646, 0)].span()
}

/// stwo's `SECURE_FIELD_CIRCLE_GEN`, a generator of the circle group over QM31.
#[inline]
pub fn secure_field_circle_gen() -> CirclePoint<QM31> {
    CirclePoint {
        x: QM31Trait::from_u32_unchecked(1, 0, 478637715, 513582971),
        y: QM31Trait::from_u32_unchecked(992285211, 649143431, 740191619, 1186584352),
    }
}

/// Lifts an M31 point into the secure field.
#[inline]
pub fn into_secure(p: CirclePoint<M31>) -> CirclePoint<QM31> {
    CirclePoint { x: QM31Trait::from_m31(p.x), y: QM31Trait::from_m31(p.y) }
}

/// A random point on the QM31 circle from one channel draw t: ((1 - t^2), 2t) / (1 + t^2)
/// (stwo's `CirclePoint::<SecureField>::get_random_point`, used for the OODS point).
pub fn get_random_point(ref channel: Poseidon252Channel) -> CirclePoint<QM31> {
    let t = channel.draw_secure_felt();
    let t_square = t * t;
    let one: QM31 = One::one();
    let inverse = (t_square + one).inverse();
    CirclePoint { x: (one - t_square) * inverse, y: (t + t) * inverse }
}

/// 2^n for n < 32.
pub fn pow2_u32(n: u32) -> u32 {
    assert(n < 32, 'pow2: exponent too large');
    let mut result: u32 = 1;
    let mut i = 0;
    while i != n {
        result = result * 2;
        i += 1;
    };
    result
}

/// An element of Z / 2^31, standing for the point `index * M31_CIRCLE_GEN`.
#[derive(Copy, Drop, Debug, PartialEq, Serde)]
pub struct CirclePointIndex {
    pub value: u32,
}

#[generate_trait]
pub impl CirclePointIndexImpl of CirclePointIndexTrait {
    #[inline]
    fn new(value: u32) -> CirclePointIndex {
        CirclePointIndex { value }.reduce()
    }

    #[inline]
    fn zero() -> CirclePointIndex {
        CirclePointIndex { value: 0 }
    }

    #[inline]
    fn generator() -> CirclePointIndex {
        CirclePointIndex { value: 1 }
    }

    /// Keeps the low 31 bits.
    #[inline]
    fn reduce(self: CirclePointIndex) -> CirclePointIndex {
        if self.value >= CIRCLE_ORDER {
            CirclePointIndex { value: self.value - CIRCLE_ORDER }
        } else {
            self
        }
    }

    /// The index of a generator of the subgroup of size 2^log_size.
    fn subgroup_gen(log_size: u32) -> CirclePointIndex {
        assert(log_size <= M31_CIRCLE_LOG_ORDER, 'circle: log size too large');
        CirclePointIndex { value: pow2_u32(M31_CIRCLE_LOG_ORDER - log_size) }
    }

    /// `value * M31_CIRCLE_GEN`, adding the precomputed 2^k multiples for the set bits
    /// (no doublings at run time).
    fn to_point(self: CirclePointIndex) -> CirclePoint<M31> {
        let mut result = CirclePoint { x: M31 { inner: 1 }, y: M31 { inner: 0 } };
        let mut table = m31_gen_doublings();
        // The generator has order 2^31: an unreduced index (subgroup_gen(0) = 2^31) wraps.
        let mut rest = self.reduce().value;
        while rest != 0 {
            let (x, y) = *table.pop_front().unwrap();
            let (next, bit) = core::integer::u32_safe_divmod(rest, 2);
            if bit == 1 {
                result = result + CirclePoint { x: M31 { inner: x }, y: M31 { inner: y } };
            }
            rest = next;
        };
        result
    }

    fn half(self: CirclePointIndex) -> CirclePointIndex {
        let (half, bit) = core::integer::u32_safe_divmod(self.value, 2);
        assert(bit == 0, 'circle: odd index has no half');
        CirclePointIndex { value: half }
    }

    /// `self * factor` modulo 2^31 (stwo multiplies with wrapping, then keeps 31 bits).
    fn mul(self: CirclePointIndex, factor: u32) -> CirclePointIndex {
        let (_, low) = u64_safe_divmod(self.value.wide_mul(factor), CIRCLE_ORDER_U64_NZ);
        CirclePointIndex { value: low.try_into().unwrap() }
    }
}

impl CirclePointIndexAdd of Add<CirclePointIndex> {
    #[inline]
    fn add(lhs: CirclePointIndex, rhs: CirclePointIndex) -> CirclePointIndex {
        CirclePointIndex { value: lhs.value + rhs.value }.reduce()
    }
}

impl CirclePointIndexSub of Sub<CirclePointIndex> {
    #[inline]
    fn sub(lhs: CirclePointIndex, rhs: CirclePointIndex) -> CirclePointIndex {
        CirclePointIndex { value: lhs.value + (CIRCLE_ORDER - rhs.value) }.reduce()
    }
}

impl CirclePointIndexNeg of Neg<CirclePointIndex> {
    #[inline]
    fn neg(a: CirclePointIndex) -> CirclePointIndex {
        CirclePointIndex { value: CIRCLE_ORDER - a.value }.reduce()
    }
}

/// The coset `initial + <step>` of size 2^log_size (stwo's `Coset`).
#[derive(Copy, Drop, Debug, PartialEq)]
pub struct Coset {
    pub initial_index: CirclePointIndex,
    pub initial: CirclePoint<M31>,
    pub step_size: CirclePointIndex,
    pub step: CirclePoint<M31>,
    pub log_size: u32,
}

#[generate_trait]
pub impl CosetImpl of CosetTrait {
    fn new(initial_index: CirclePointIndex, log_size: u32) -> Coset {
        let step_size = CirclePointIndexTrait::subgroup_gen(log_size);
        Coset {
            initial_index,
            initial: initial_index.to_point(),
            step_size,
            step: step_size.to_point(),
            log_size,
        }
    }

    /// The subgroup of size 2^log_size.
    fn subgroup(log_size: u32) -> Coset {
        Self::new(CirclePointIndexTrait::zero(), log_size)
    }

    /// G_{2n} + <G_n>: the odd elements of the subgroup of size 2^(log_size + 1).
    fn odds(log_size: u32) -> Coset {
        Self::new(CirclePointIndexTrait::subgroup_gen(log_size + 1), log_size)
    }

    /// G_{4n} + <G_n> (the canonic cosets' half).
    fn half_odds(log_size: u32) -> Coset {
        Self::new(CirclePointIndexTrait::subgroup_gen(log_size + 2), log_size)
    }

    #[inline]
    fn size(self: @Coset) -> u32 {
        pow2_u32(*self.log_size)
    }

    /// The coset of the doubled points (half the size).
    fn double(self: Coset) -> Coset {
        assert(self.log_size > 0, 'circle: cannot double size 1');
        Coset {
            initial_index: self.initial_index.mul(2),
            initial: self.initial.double(),
            step_size: self.step_size.mul(2),
            step: self.step.double(),
            log_size: self.log_size - 1,
        }
    }

    fn repeated_double(self: Coset, n_doubles: u32) -> Coset {
        let mut coset = self;
        let mut i = 0;
        while i != n_doubles {
            coset = coset.double();
            i += 1;
        };
        coset
    }

    #[inline]
    fn index_at(self: @Coset, index: u32) -> CirclePointIndex {
        *self.initial_index + (*self.step_size).mul(index)
    }

    /// initial + index * step. Small indexes (the FRI folding cosets) walk from the stored
    /// points instead of converting the index to a point.
    fn at(self: @Coset, index: u32) -> CirclePoint<M31> {
        if index < 8 {
            let mut point = *self.initial;
            let step = *self.step;
            let mut k = 0;
            while k != index {
                point = point + step;
                k += 1;
            };
            point
        } else {
            self.index_at(index).to_point()
        }
    }

    fn shift(self: Coset, shift_size: CirclePointIndex) -> Coset {
        let initial_index = self.initial_index + shift_size;
        Coset { initial_index, initial: initial_index.to_point(), ..self }
    }

    fn conjugate(self: Coset) -> Coset {
        let initial_index = -self.initial_index;
        let step_size = -self.step_size;
        Coset {
            initial_index,
            initial: initial_index.to_point(),
            step_size,
            step: step_size.to_point(),
            log_size: self.log_size,
        }
    }
}
