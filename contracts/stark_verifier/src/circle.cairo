//! Points of the circle x^2 + y^2 = 1 over M31 and QM31, and the index arithmetic stwo uses
//! for the M31 circle group (order 2^31): `CirclePointIndex` and `Coset`.

use core::num::traits::{Zero, One};
use core::integer::{u64_safe_divmod, u128_safe_divmod};
use core::num::traits::WideMul;
use crate::fields::{M31, M31Trait, QM31, QM31Trait};
use crate::fields::cm31::P_SQUARED;
use crate::fields::qm31::reduce_coords;
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

/// (x, y) of j * 16^w * M31_CIRCLE_GEN at entry 16 w + j (w < 8, j < 16): the 4-bit windows
/// of `CirclePointIndex::to_point_windowed` (checked against the generator in tests). Build
/// it once per batch of conversions.
pub fn m31_gen_window_table() -> Span<(u32, u32)> {
    array![
        (1, 0), (2, 1268011823), (7, 777079998), (26, 1840308169), (97, 141701737), (362, 873982426), (1351, 1206744320), (5042, 1805511207), (18817, 1720333214), (70226, 780854355), (262087, 1403084206), (978122, 536515175), (3650401, 742976494), (13623482, 287907154), (50843527, 408652122), (189750626, 1346701334),
        (1, 0), (708158977, 683185920), (334835419, 1444967316), (1179671875, 1031913030), (2042371533, 1362265296), (251214192, 1557021428), (1827909629, 1836816527), (2110227055, 661472412), (212706801, 1223819887), (552528648, 1672522617), (352777635, 313115116), (1326093758, 824702110), (1343082982, 1656388718), (1397719779, 1280626794), (1497340852, 2054439268), (545370846, 562844461),
        (1, 0), (421007138, 256177860), (6346213, 905523693), (784830374, 912241638), (1022251061, 788094511), (1774187400, 1713497086), (999230472, 1852479283), (344093444, 1723950257), (1633461177, 574296567), (505774551, 1187398701), (1743980363, 345791924), (638925477, 1200786367), (2054061671, 949045631), (1399167609, 1906303117), (1309393381, 53742718), (2080156404, 1988869649),
        (1, 0), (595037635, 2111542451), (1799120754, 343598868), (1475016787, 1876816901), (438833264, 1327019128), (433600440, 167145119), (503318431, 730224775), (1124768046, 299494314), (1389168750, 838891026), (1421883301, 1767600112), (263253631, 1948074535), (1984370174, 548484416), (377761958, 572545120), (528497962, 2048433423), (347749121, 1576860820), (1168068815, 1631133982),
        (1, 0), (1543902459, 1632329423), (1330239767, 1446369578), (1338697498, 1881711368), (1420207432, 2023238517), (837291277, 535367851), (113986326, 1659849761), (1128628559, 487113817), (2015554631, 1088093947), (238192698, 21195821), (1801405099, 774845311), (57413392, 1672717428), (1720479643, 177413607), (1008640538, 1400738499), (1719877370, 1305056920), (36983955, 1951442989),
        (1, 0), (996212859, 1140996376), (1434706457, 1835793811), (497251457, 850319468), (13610297, 1064696601), (903851705, 1384342623), (609228044, 827893883), (1272801243, 632096738), (785043271, 1260750973), (608020784, 1658232706), (477465227, 1464821634), (1584592502, 821845974), (655387905, 752064346), (1616257580, 975311156), (1919800332, 1732277387), (947277864, 1089459781),
        (1, 0), (838195206, 1774253895), (579625837, 1690787918), (2013328190, 1108537731), (1179735656, 1241207368), (2140339328, 404685994), (1866536500, 1133522282), (1263730590, 350742286), (590768354, 978592373), (206059115, 212443077), (1952787376, 1580223790), (2079025011, 2137679949), (34602070, 732393395), (14530030, 228509164), (26164677, 505542828), (1885292596, 408478793),
        (1, 0), (32768, 2147450879), (0, 2147483646), (2147450879, 2147450879), (2147483646, 0), (2147450879, 32768), (0, 1), (32768, 32768), (1, 0), (32768, 2147450879), (0, 2147483646), (2147450879, 2147450879), (2147483646, 0), (2147450879, 32768), (0, 1), (32768, 32768),
    ]
        .span()
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

/// `point + into_secure(shift)`: a QM31 point plus an M31 point, with QM31 x M31 products (a
/// quarter of a QM31 product each). Out of line: a verifier adds a few such points per proof,
/// and each inlined sum would cost class size.
#[inline(never)]
pub fn add_m31_point(point: CirclePoint<QM31>, shift: CirclePoint<M31>) -> CirclePoint<QM31> {
    // x = x1 sx - y1 sy, y = x1 sy + y1 sx per coordinate, as integers (below 2 P^2).
    let sx: felt252 = shift.x.inner.into();
    let sy: felt252 = shift.y.inner.into();
    let (x0, x1, x2, x3) = felt_coords(point.x);
    let (y0, y1, y2, y3) = felt_coords(point.y);
    CirclePoint {
        x: reduce_coords(
            x0 * sx - y0 * sy + P_SQUARED,
            x1 * sx - y1 * sy + P_SQUARED,
            x2 * sx - y2 * sy + P_SQUARED,
            x3 * sx - y3 * sy + P_SQUARED,
        ),
        y: reduce_coords(x0 * sy + y0 * sx, x1 * sy + y1 * sx, x2 * sy + y2 * sx, x3 * sy + y3 * sx),
    }
}

#[inline(always)]
fn felt_coords(value: QM31) -> (felt252, felt252, felt252, felt252) {
    (value.a.a.inner.into(), value.a.b.inner.into(), value.b.a.inner.into(), value.b.b.inner.into())
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

/// `p + (x, y)` over M31 with felt252 products and one reduction per coordinate (the group
/// law, cheaper than four reduced M31 products).
#[inline]
fn add_m31_points(p: CirclePoint<M31>, x: u32, y: u32) -> CirclePoint<M31> {
    let (x0, y0): (felt252, felt252) = (p.x.inner.into(), p.y.inner.into());
    let (x1, y1): (felt252, felt252) = (x.into(), y.into());
    CirclePoint {
        x: M31Trait::reduce_felt(x0 * x1 - y0 * y1 + P_SQUARED),
        y: M31Trait::reduce_felt(x0 * y1 + y0 * x1),
    }
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
            // A zero bit goes straight to the next iteration (no padding to the adding
            // branch's cells: see `to_point_windowed`).
            if bit == 0 {
                rest = next;
                continue;
            }
            result = add_m31_points(result, x, y);
            rest = next;
        };
        result
    }

    /// `to_point` by 4-bit windows of the index: at most 8 additions of table points
    /// (`table` = `m31_gen_window_table()`).
    fn to_point_windowed(self: CirclePointIndex, table: Span<(u32, u32)>) -> CirclePoint<M31> {
        let mut result = CirclePoint { x: M31 { inner: 1 }, y: M31 { inner: 0 } };
        let mut rest = self.reduce().value;
        // The windows' rows popped 16 at a time: no u32 index arithmetic (each a range check).
        let mut windows = table;
        while rest != 0 {
            let (next, nibble) = core::integer::u32_safe_divmod(rest, 16);
            rest = next;
            let window = windows.multi_pop_front::<16>().expect('circle: short window table');
            // A zero nibble (domain indices end in several) goes straight to the next
            // iteration: were it to fall through to a point shared with the adding branch,
            // that branch's 36 cells would be padded onto it as memory holes.
            if nibble == 0 {
                continue;
            }
            let (x, y) = *window.as_snapshot().span()[nibble];
            result = add_m31_points(result, x, y);
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
