//! Cairo serialization of the values zkthreads passes to its contracts.
//!
//! A `Span<T>` / `Array<T>` is its length followed by each element's serialization; a tuple is
//! its members in order; `u256` is (low: u128, high: u128); `u64`/`u128`/`ContractAddress`/
//! `ClassHash` are one felt each; a `ByteArray` is the number of its full 31-byte words, those
//! words, the pending word (the last 0..30 bytes) and the pending word's length in bytes.

use starknet::core::codec::{Decode, Encode};
use starknet::core::types::{ByteArray, Felt, U256};
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

/// Appends `text` as a Cairo `ByteArray` (e.g. an ERC20 name), any length.
pub fn push_byte_array(out: &mut Vec<Felt>, text: &str) {
    ByteArray::from(text)
        .encode(out)
        .expect("writing a ByteArray into a Vec cannot fail");
}

/// Appends a `u256`: low word, then high word.
pub fn push_u256(out: &mut Vec<Felt>, value: U256) {
    out.extend([Felt::from(value.low()), Felt::from(value.high())]);
}

/// A `u128` amount as the `u256` (low, high) an ERC20 entry point takes.
pub fn u128_as_u256(value: u128) -> [Felt; 2] {
    [Felt::from(value), Felt::ZERO]
}

/// A `ByteArray` result (the whole of `words`) as UTF-8 text.
pub fn byte_array_to_string(words: &[Felt], what: &str) -> Result<String> {
    let error = |detail: String| ClientError::Decode {
        what: what.to_owned(),
        detail,
    };
    // Check the shape first: the decoder trusts the pending length.
    let full_words = match words.first().map(|n| usize::try_from(*n)) {
        Some(Ok(n)) if words.len() == n.saturating_add(3) => n,
        _ => return Err(error(format!("not a ByteArray: {words:?}"))),
    };
    if !matches!(u8::try_from(words[full_words + 2]), Ok(len) if len < 31) {
        return Err(error(format!(
            "pending word length {:#x}",
            words[full_words + 2]
        )));
    }
    let bytes = ByteArray::decode(words).map_err(|e| error(e.to_string()))?;
    String::try_from(bytes).map_err(|e| error(e.to_string()))
}

/// A `u256` result `(low, high)`.
pub fn u256(words: &[Felt], what: &str) -> Result<U256> {
    match words {
        [_, _] => U256::decode(words).map_err(|e| ClientError::Decode {
            what: what.to_owned(),
            detail: e.to_string(),
        }),
        other => Err(ClientError::Decode {
            what: what.to_owned(),
            detail: format!("expected a u256 (2 felts), got {}", other.len()),
        }),
    }
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
    fn byte_arrays_are_full_words_pending_word_and_its_length() {
        let encode = |text: &str| {
            let mut out = Vec::new();
            push_byte_array(&mut out, text);
            out
        };
        assert_eq!(encode(""), vec![Felt::ZERO, Felt::ZERO, Felt::ZERO]);
        assert_eq!(
            encode("THR"),
            vec![Felt::ZERO, short_string("THR").unwrap(), Felt::THREE]
        );
        // 31 bytes fill one word and leave an empty pending word; 33 leave two bytes pending.
        let word = "abcdefghijklmnopqrstuvwxyz01234";
        let full = short_string(word).unwrap();
        assert_eq!(encode(word), vec![Felt::ONE, full, Felt::ZERO, Felt::ZERO]);
        let long = format!("{word}56");
        let encoded = encode(&long);
        assert_eq!(
            encoded,
            vec![Felt::ONE, full, short_string("56").unwrap(), Felt::TWO]
        );
        assert_eq!(byte_array_to_string(&encoded, "name").unwrap(), long);
        assert_eq!(byte_array_to_string(&encode(""), "name").unwrap(), "");
        // Wrong shapes are errors, not panics.
        assert!(byte_array_to_string(&[], "name").is_err());
        assert!(byte_array_to_string(&[Felt::ONE, full, Felt::ZERO], "name").is_err());
        assert!(byte_array_to_string(&[Felt::ZERO, Felt::ZERO, Felt::from(40u8)], "name").is_err());
    }

    #[test]
    fn u256_words_are_low_then_high() {
        let mut out = Vec::new();
        push_u256(&mut out, U256::from_words(5, 7));
        assert_eq!(out, vec![Felt::from(5u8), Felt::from(7u8)]);
        assert_eq!(u128_as_u256(9), [Felt::from(9u8), Felt::ZERO]);
        assert_eq!(u256(&out, "a").unwrap(), U256::from_words(5, 7));
        assert!(u256(&[Felt::ONE], "a").is_err());
        assert!(u256(&[Felt::from(u128::MAX) + Felt::ONE, Felt::ZERO], "a").is_err());
    }

    #[test]
    fn short_strings_encode_ascii_and_reject_long_text() {
        assert_eq!(short_string("A").unwrap(), Felt::from(0x41u8));
        assert!(short_string(&"x".repeat(32)).is_err());
    }
}
