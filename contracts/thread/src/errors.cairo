//! Revert reasons of the thread component (short strings, at most 31 characters each).

pub const CALLER_NOT_REGISTRY: felt252 = 'thread: caller not registry';
pub const NOT_IN_THREAD: felt252 = 'thread: not in thread';
pub const PROGRAM_NOT_ACCEPTED: felt252 = 'thread: program not accepted';
pub const KEY_OUT_OF_RANGE: felt252 = 'thread: key out of range';
pub const PROTECTED_SLOT: felt252 = 'thread: protected slot';
pub const ZERO_REGISTRY: felt252 = 'thread: zero registry';
pub const ZERO_OWNER: felt252 = 'thread: zero owner';
pub const CALLER_NOT_OWNER: felt252 = 'thread: caller not owner';
/// The thread holds a contract this one does not accept beside it under the thread's program.
pub const PEER_NOT_ACCEPTED: felt252 = 'thread: peer not accepted';

// Thread keys (`ThreadKeysComponent`).
/// A key commitment that is zero, not below 2^124, or has a limb equal to 2^31 - 1.
pub const BAD_THREAD_KEY: felt252 = 'thread: bad thread key';
/// The account's key nonce reached 2^31 - 2, the last M31 element the AIR counts to.
pub const THREAD_KEY_NONCE_SPENT: felt252 = 'thread: key nonce spent';
