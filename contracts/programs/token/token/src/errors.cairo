//! Revert reasons of the thread token (short strings, at most 31 characters each).

// ERC20, worded as OpenZeppelin's ERC20 words them so clients recognise them.
pub const INSUFFICIENT_BALANCE: felt252 = 'ERC20: insufficient balance';
pub const INSUFFICIENT_ALLOWANCE: felt252 = 'ERC20: insufficient allowance';
pub const TRANSFER_FROM_ZERO: felt252 = 'ERC20: transfer from 0';
pub const TRANSFER_TO_ZERO: felt252 = 'ERC20: transfer to 0';
pub const APPROVE_FROM_ZERO: felt252 = 'ERC20: approve from 0';
pub const APPROVE_TO_ZERO: felt252 = 'ERC20: approve to 0';
pub const MINT_TO_ZERO: felt252 = 'ERC20: mint to 0';

// The u128 balance slots behind the u256 ABI.
/// A transferred amount that does not fit the u128 a balance slot holds.
pub const AMOUNT_ABOVE_U128: felt252 = 'ERC20: amount above u128';
/// A constructor supply that does not fit u128 (the total supply stays a u128).
pub const SUPPLY_ABOVE_U128: felt252 = 'ERC20: supply above u128';
/// A recipient balance that would leave u128 (only reachable after a thread wrote balances).
pub const BALANCE_ABOVE_U128: felt252 = 'ERC20: balance above u128';

// BalanceReader.
/// `balance_of` answered more than a u128 (no thread token does).
pub const READ_ABOVE_U128: felt252 = 'reader: balance above u128';
