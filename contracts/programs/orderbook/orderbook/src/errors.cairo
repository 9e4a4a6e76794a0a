//! Revert reasons of the order book (short strings, at most 31 characters each).

pub const ZERO_TOKEN: felt252 = 'book: zero token';
pub const SAME_TOKENS: felt252 = 'book: base is quote';
pub const SELF_TOKEN: felt252 = 'book: book as token';
/// `cancel` of an id the caller never placed.
pub const NO_SUCH_ORDER: felt252 = 'book: no such order';
/// `cancel` of an order already cancelled.
pub const ALREADY_CANCELLED: felt252 = 'book: order cancelled';
/// An order slot whose value the program could never have written.
pub const BAD_ORDER_SLOT: felt252 = 'book: bad order slot';
