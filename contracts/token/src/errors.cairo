//! Revert reasons of the thread token (short strings, at most 31 characters each).

pub const INSUFFICIENT_BALANCE: felt252 = 'token: insufficient balance';
pub const TRANSFER_TO_ZERO: felt252 = 'token: transfer to zero';
pub const MINT_TO_ZERO: felt252 = 'token: mint to zero';
pub const BAD_THREAD_KEY: felt252 = 'token: bad thread key';
pub const THREAD_KEY_NONCE_SPENT: felt252 = 'token: thread key nonce spent';
