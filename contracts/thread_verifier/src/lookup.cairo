//! LogUp relation elements (stwo-constraint-framework's `LookupElements<N>`).

use stark_verifier::channel::{ChannelTrait, Poseidon252Channel};
use stark_verifier::fields::{QM31, QM31Trait};
use core::num::traits::One;

/// `z` and the powers `alpha^0 .. alpha^(n-1)` a relation combines its values with:
/// `combine(v) = sum_i alpha^i v_i - z`.
#[derive(Drop, Copy)]
pub struct LookupElements {
    pub z: QM31,
    pub alpha: QM31,
    pub alpha_powers: Span<QM31>,
}

#[generate_trait]
pub impl LookupElementsImpl of LookupElementsTrait {
    /// stwo's `LookupElements::<n>::draw`: `[z, alpha] = draw_secure_felts(2)`.
    fn draw(ref channel: Poseidon252Channel, n: u32) -> LookupElements {
        let drawn = channel.draw_secure_felts(2);
        let z = *drawn[0];
        let alpha = *drawn[1];
        let mut powers: Array<QM31> = array![];
        let mut current: QM31 = One::one();
        let mut i = 0;
        while i != n {
            powers.append(current);
            current = current * alpha;
            i += 1;
        };
        LookupElements { z, alpha, alpha_powers: powers.span() }
    }

    /// `draw` without the powers: `[z, alpha]` for a relation the caller only hands on (a
    /// program's AIR class derives the powers from `alpha` itself). `combine` refuses it.
    fn draw_unexpanded(ref channel: Poseidon252Channel) -> LookupElements {
        let drawn = channel.draw_secure_felts(2);
        LookupElements { z: *drawn[0], alpha: *drawn[1], alpha_powers: array![].span() }
    }

    /// Elements that combine nothing (a placeholder where only shapes matter).
    fn empty() -> LookupElements {
        let zero = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
        LookupElements { z: zero, alpha: zero, alpha_powers: array![].span() }
    }

    /// `sum_i alpha^i values_i - z` (values as M31 felts).
    fn combine(self: @LookupElements, values: Span<QM31>) -> QM31 {
        assert(values.len() <= (*self.alpha_powers).len(), 'lookup: too many values');
        let powers = *self.alpha_powers;
        let mut acc: QM31 = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
        let mut i = 0;
        while i != values.len() {
            acc = acc + *powers[i] * *values[i];
            i += 1;
        };
        acc - *self.z
    }
}
