/// `BalanceReader`: an ordinary L2 contract that reads a thread token's balance synchronously
/// (the ERC20 `balance_of` by `call_contract`) and records what it saw, as the u128 a thread
/// token's balance slot holds. It shows that state a thread
/// settled is canonical L2 state: the next transaction of any contract sees it, with no bridge
/// or proof of its own.
#[starknet::contract]
pub mod BalanceReader {
    use starknet::ContractAddress;
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use token::errors;
    use token::interface::{IBalanceReader, IERC20Dispatcher, IERC20DispatcherTrait};

    #[storage]
    struct Storage {
        /// The balance the last `record(token, account)` saw.
        seen: Map<(ContractAddress, ContractAddress), u128>,
        /// Number of `record` calls so far (tells "recorded 0" from "never recorded").
        record_count: u64,
    }

    #[event]
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub enum Event {
        BalanceSeen: BalanceSeen,
    }

    /// `record` read `balance` for `account` on `token`; `index` counts records from 1.
    #[derive(Drop, PartialEq, Debug, starknet::Event)]
    pub struct BalanceSeen {
        #[key]
        pub token: ContractAddress,
        #[key]
        pub account: ContractAddress,
        pub balance: u128,
        pub index: u64,
    }

    #[abi(embed_v0)]
    impl BalanceReaderImpl of IBalanceReader<ContractState> {
        fn record(ref self: ContractState, token: ContractAddress, account: ContractAddress) -> u128 {
            let balance = IERC20Dispatcher { contract_address: token }.balance_of(account);
            assert(balance.high == 0, errors::READ_ABOVE_U128);
            let balance = balance.low;
            let index = self.record_count.read() + 1;
            self.record_count.write(index);
            self.seen.write((token, account), balance);
            self.emit(BalanceSeen { token, account, balance, index });
            balance
        }

        fn last_seen(self: @ContractState, token: ContractAddress, account: ContractAddress) -> u128 {
            self.seen.read((token, account))
        }

        fn record_count(self: @ContractState) -> u64 {
            self.record_count.read()
        }
    }
}
