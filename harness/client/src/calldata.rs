//! Cairo serialization of the values zkthreads passes to its contracts.
//!
//! A `Span<T>` / `Array<T>` is its length followed by each element's serialization; a tuple is
//! its members in order; `u256` is (low: u128, high: u128); `u64`/`u128`/`ContractAddress`/
//! `ClassHash` are one felt each.

use starknet::core::types::Felt;
use starknet::core::utils::cairo_short_string_to_felt;

use crate::{ClientError, Result};

/// One storage slot of a thread contract and its value: the element type of the registry's
/// settle input and output lists, `(ContractAddress, felt252, felt252)` in Cairo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotValue {
    pub contract: Felt,
    pub key: Felt,
    pub value: Felt,
}

impl SlotValue {
    pub fn new(contract: Felt, key: Felt, value: Felt) -> Self {
        Self {
            contract,
            key,
            value,
        }
    }
}

/// Appends a `Span<felt252>`-like list: length, then the felts.
pub fn push_felt_span(out: &mut Vec<Felt>, items: &[Felt]) {
    out.push(Felt::from(items.len()));
    out.extend_from_slice(items);
}

/// Appends a `Span<(ContractAddress, felt252, felt252)>`: length, then each triple flattened.
pub fn push_slot_span(out: &mut Vec<Felt>, slots: &[SlotValue]) {
    out.push(Felt::from(slots.len()));
    for slot in slots {
        out.extend_from_slice(&[slot.contract, slot.key, slot.value]);
    }
}

/// A Cairo short string (<= 31 ASCII bytes) as a felt, e.g. a token name.
pub fn short_string(text: &str) -> Result<Felt> {
    cairo_short_string_to_felt(text).map_err(|_| ClientError::Name(text.to_owned()))
}

/// Reads a single felt result as `T` (u64, u128, ...).
pub fn single<T: TryFrom<Felt>>(words: &[Felt], what: &str) -> Result<T> {
    match words {
        [word] => T::try_from(*word).map_err(|_| ClientError::Decode {
            what: what.to_owned(),
            detail: format!("{word:#x} out of range"),
        }),
        other => Err(ClientError::Decode {
            what: what.to_owned(),
            detail: format!("expected 1 felt, got {}", other.len()),
        }),
    }
}

/// A `u256` result `(low, high)` that must fit in `u128`.
pub fn u256_to_u128(words: &[Felt], what: &str) -> Result<u128> {
    match words {
        [low, high] if *high == Felt::ZERO => {
            u128::try_from(*low).map_err(|_| ClientError::Decode {
                what: what.to_owned(),
                detail: format!("low word {low:#x} exceeds u128"),
            })
        }
        other => Err(ClientError::Decode {
            what: what.to_owned(),
            detail: format!("expected a u256 below 2^128, got {other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_span_is_length_then_flattened_triples() {
        let mut out = vec![Felt::from(7u8)];
        push_slot_span(
            &mut out,
            &[
                SlotValue::new(Felt::from(1u8), Felt::from(2u8), Felt::from(3u8)),
                SlotValue::new(Felt::from(4u8), Felt::from(5u8), Felt::from(6u8)),
            ],
        );
        let expected: Vec<Felt> = [7u8, 2, 1, 2, 3, 4, 5, 6]
            .into_iter()
            .map(Felt::from)
            .collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn empty_span_is_just_zero() {
        let mut out = Vec::new();
        push_felt_span(&mut out, &[]);
        assert_eq!(out, vec![Felt::ZERO]);
    }

    #[test]
    fn u256_results_decode_and_reject_high_words() {
        assert_eq!(
            u256_to_u128(&[Felt::from(5u8), Felt::ZERO], "b").unwrap(),
            5
        );
        assert!(u256_to_u128(&[Felt::from(5u8), Felt::ONE], "b").is_err());
        assert!(u256_to_u128(&[Felt::from(5u8)], "b").is_err());
        assert!(single::<u64>(&[Felt::from(u128::MAX)], "n").is_err());
        assert_eq!(single::<u64>(&[Felt::from(9u8)], "n").unwrap(), 9);
    }

    #[test]
    fn short_strings_encode_ascii_and_reject_long_text() {
        assert_eq!(short_string("A").unwrap(), Felt::from(0x41u8));
        assert!(short_string(&"x".repeat(32)).is_err());
    }
}
