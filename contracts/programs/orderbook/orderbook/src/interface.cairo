//! The order book's own interface (its thread interfaces are the `thread` package's).

use starknet::ContractAddress;

/// `buy`: the owner pays quote for base.
pub const SIDE_BUY: u8 = 1;
/// `sell`: the owner sells base for quote.
pub const SIDE_SELL: u8 = 2;
/// A cancelled order (either side), with nothing remaining: by its owner's signed cancel in a
/// thread.
pub const SIDE_CANCELLED: u8 = 3;
/// An order its owner cancelled on L2 ([`IOrderBook::cancel`]), with nothing remaining. It
/// never trades again; a signed cancel of it still queued in a batcher may settle, once, and
/// moves it to [`SIDE_CANCELLED`].
pub const SIDE_CANCELLED_ON_L2: u8 = 4;

/// One order slot, decoded. An unused id is all zero.
#[derive(Copy, Drop, Serde, PartialEq, Debug)]
pub struct Order {
    /// 0 (unused id), [`SIDE_BUY`], [`SIDE_SELL`], [`SIDE_CANCELLED`] or
    /// [`SIDE_CANCELLED_ON_L2`].
    pub side: u8,
    /// The limit price `price_num / price_den` quote units per base unit; both parts in
    /// `1..2^14` for a placed order.
    pub price_num: u16,
    pub price_den: u16,
    /// Base units still to trade; 0 once filled or cancelled.
    pub remaining: u64,
}

#[starknet::interface]
pub trait IOrderBook<TContractState> {
    /// The token sold by asks and bought by bids.
    fn base_token(self: @TContractState) -> ContractAddress;
    /// The token asks are paid in.
    fn quote_token(self: @TContractState) -> ContractAddress;
    /// Fills settled so far.
    fn fill_count(self: @TContractState) -> u64;
    /// `owner`'s order `id`.
    fn order(self: @TContractState, owner: ContractAddress, id: u64) -> Order;
    /// The storage key of `orders[(owner, id)]`: what an indexer needs to map a settlement's
    /// `(contract, key, value)` entries back to orders.
    fn order_slot(self: @TContractState, owner: ContractAddress, id: u64) -> felt252;
    /// Cancels the caller's order `id` (side [`SIDE_CANCELLED_ON_L2`], remaining 0), on L2,
    /// whatever any batcher does. Reverts for an id the caller never placed or already
    /// cancelled (on L2 or by a signed cancel).
    fn cancel(ref self: TContractState, id: u64);
}
