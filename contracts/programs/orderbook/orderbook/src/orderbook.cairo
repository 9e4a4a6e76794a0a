#[starknet::contract]
pub mod OrderBook {
    use orderbook::errors;
    use orderbook::interface::{IOrderBook, Order, SIDE_CANCELLED, SIDE_CANCELLED_ON_L2};
    use starknet::storage::{
        Map, StorageAsPointer, StorageMapReadAccess, StorageMapWriteAccess, StoragePathEntry,
        StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use starknet::storage_access::storage_address_from_base;
    use starknet::{ClassHash, ContractAddress, get_caller_address, get_contract_address};
    use thread::{ThreadKeysComponent, ThreadReadyComponent};

    component!(path: ThreadReadyComponent, storage: thread_ready, event: ThreadReadyEvent);
    component!(path: ThreadKeysComponent, storage: thread_keys, event: ThreadKeysEvent);

    #[abi(embed_v0)]
    impl ThreadReadyImpl = ThreadReadyComponent::ThreadReadyImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadConsentImpl = ThreadReadyComponent::ThreadConsentImpl<ContractState>;
    impl ThreadReadyInternalImpl = ThreadReadyComponent::InternalImpl<ContractState>;
    #[abi(embed_v0)]
    impl ThreadKeysImpl = ThreadKeysComponent::ThreadKeysImpl<ContractState>;

    /// 2^64: an order's price numerator starts at this bit of its slot.
    const PRICE_UNIT: u128 = 0x10000000000000000;
    /// 2^80: an order's price denominator starts at this bit of its slot.
    const DEN_UNIT: u128 = 0x100000000000000000000;
    /// 2^96: an order's side starts at this bit of its slot.
    const SIDE_UNIT: u128 = 0x1000000000000000000000000;

    // Names and types fix the slot keys the program's statement derives (crate docs); the
    // components' storage stays flat (`substorage(v0)`) for the same reason.
    #[storage]
    struct Storage {
        base_token: ContractAddress,
        quote_token: ContractAddress,
        fill_count: u64,
        orders: Map<(ContractAddress, u64), felt252>,
        #[substorage(v0)]
        thread_keys: ThreadKeysComponent::Storage,
        #[substorage(v0)]
        thread_ready: ThreadReadyComponent::Storage,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        OrderCancelled: OrderCancelled,
        #[flat]
        ThreadKeysEvent: ThreadKeysComponent::Event,
        #[flat]
        ThreadReadyEvent: ThreadReadyComponent::Event,
    }

    /// `owner` cancelled order `id` on L2; `remaining` base units were still open. (Thread
    /// settlements write order slots directly; the registry's events carry them.)
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct OrderCancelled {
        #[key]
        pub owner: ContractAddress,
        #[key]
        pub id: u64,
        pub remaining: u64,
    }

    /// `registry`, `owner`, `programs`: the thread component's (who settles, who chooses the
    /// accepted programs, the ones accepted from the start); `base_token` and `quote_token`:
    /// the two distinct thread-ready tokens this book trades, fixed for its lifetime.
    #[constructor]
    fn constructor(
        ref self: ContractState,
        registry: ContractAddress,
        owner: ContractAddress,
        programs: Span<ClassHash>,
        base_token: ContractAddress,
        quote_token: ContractAddress,
    ) {
        self.thread_ready.initializer(registry, owner, programs);
        let base: felt252 = base_token.into();
        let quote: felt252 = quote_token.into();
        assert(base != 0 && quote != 0, errors::ZERO_TOKEN);
        assert(base != quote, errors::SAME_TOKENS);
        let book: felt252 = get_contract_address().into();
        assert(base != book && quote != book, errors::SELF_TOKEN);
        self.base_token.write(base_token);
        self.quote_token.write(quote_token);
    }

    #[abi(embed_v0)]
    impl OrderBookImpl of IOrderBook<ContractState> {
        fn base_token(self: @ContractState) -> ContractAddress {
            self.base_token.read()
        }

        fn quote_token(self: @ContractState) -> ContractAddress {
            self.quote_token.read()
        }

        fn fill_count(self: @ContractState) -> u64 {
            self.fill_count.read()
        }

        fn order(self: @ContractState, owner: ContractAddress, id: u64) -> Order {
            unpack(self.orders.read((owner, id)))
        }

        // Taken from the storage path itself: whatever address the compiler gives the entry.
        fn order_slot(self: @ContractState, owner: ContractAddress, id: u64) -> felt252 {
            let base = self.orders.entry((owner, id)).as_ptr().__storage_pointer_address__;
            storage_address_from_base(base).into()
        }

        fn cancel(ref self: ContractState, id: u64) {
            let owner = get_caller_address();
            let order = unpack(self.orders.read((owner, id)));
            assert(order.side != 0, errors::NO_SUCH_ORDER);
            assert(order.side < SIDE_CANCELLED, errors::ALREADY_CANCELLED);
            self.orders.write((owner, id), pack(
                    Order {
                        side: SIDE_CANCELLED_ON_L2,
                        price_num: order.price_num,
                        price_den: order.price_den,
                        remaining: 0,
                    },
                ));
            self.emit(OrderCancelled { owner, id, remaining: order.remaining });
        }
    }

    /// `remaining + price_num * 2^64 + price_den * 2^80 + side * 2^96`.
    fn pack(order: Order) -> felt252 {
        let side: u128 = order.side.into();
        let num: u128 = order.price_num.into();
        let den: u128 = order.price_den.into();
        let remaining: u128 = order.remaining.into();
        (remaining + num * PRICE_UNIT + den * DEN_UNIT + side * SIDE_UNIT).into()
    }

    /// The order a slot holds. Only the program writes order slots, and its statement refuses
    /// any other value, so a slot that is not `pack` of an order means storage was corrupted.
    fn unpack(value: felt252) -> Order {
        let value: u256 = value.into();
        assert(value.high == 0, errors::BAD_ORDER_SLOT);
        let side = value.low / SIDE_UNIT;
        let last: u128 = SIDE_CANCELLED_ON_L2.into();
        assert(side <= last, errors::BAD_ORDER_SLOT);
        let rest = value.low % SIDE_UNIT;
        // Each below 2^16: `rest` is below 2^96.
        let den = rest / DEN_UNIT;
        let rest = rest % DEN_UNIT;
        Order {
            side: side.try_into().unwrap(),
            price_num: (rest / PRICE_UNIT).try_into().unwrap(),
            price_den: den.try_into().unwrap(),
            remaining: (rest % PRICE_UNIT).try_into().unwrap(),
        }
    }
}
