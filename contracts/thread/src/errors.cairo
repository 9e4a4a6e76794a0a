//! Revert reasons of the thread component (short strings, at most 31 characters each).

pub const CALLER_NOT_REGISTRY: felt252 = 'thread: caller not registry';
pub const NOT_IN_THREAD: felt252 = 'thread: not in thread';
pub const PROGRAM_NOT_ACCEPTED: felt252 = 'thread: program not accepted';
pub const KEY_OUT_OF_RANGE: felt252 = 'thread: key out of range';
pub const PROTECTED_SLOT: felt252 = 'thread: protected slot';
pub const ZERO_REGISTRY: felt252 = 'thread: zero registry';
pub const ZERO_OWNER: felt252 = 'thread: zero owner';
pub const CALLER_NOT_OWNER: felt252 = 'thread: caller not owner';
