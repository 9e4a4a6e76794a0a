//! The thread token (`contracts/programs/token/token`, contract `ThreadToken`, an ERC20): deploy, balances,
//! transfers and allowances, thread keys, slot keys, and the thread component's consent entry
//! points (which programs it accepts).
//!
//! The token's ABI is the standard ERC20 one (u256 amounts, ByteArray name and symbol); its
//! balances are u128 slots, so amounts here are `u128` and go out as `(low, 0)`. Allowances are
//! full `u256` (`U256::MAX` is an infinite allowance).

use starknet::core::types::{Call, U256};
use starknet::core::utils::get_storage_var_address;

use crate::calldata::{self, push_byte_array, push_felt_span, push_u256, u128_as_u256};
use crate::{ChainReader, ChainClient, ClientError, Deployed, FeeMode, Felt, Result, TxOutcome};

/// Name of the token's balance map; its slot keys are what provers and clients derive.
pub const BALANCES_VAR: &str = "balances";

/// Name of the token's thread-key map (`docs/signed-transfers.md`, "Thread keys").
pub const THREAD_KEYS_VAR: &str = "thread_keys";

/// Constructor arguments: `(registry, owner, programs: Span<ClassHash>, name: ByteArray,
/// symbol: ByteArray, initial_holder, supply: u256)`, the supply below 2^128 (here a `u128`).
/// `owner` chooses which thread programs may touch the token; `programs` are the ones it
/// accepts from the start (the verifier class hashes of the threads it may join).
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub registry: Felt,
    pub owner: Felt,
    /// Accepted beside any contract: never a program that reads authority from another
    /// member (the order book's; [`Token::accept_program_beside_call`] after deployment).
    pub programs: Vec<Felt>,
    pub name: String,
    pub symbol: String,
    pub initial_holder: Felt,
    pub supply: u128,
}

impl TokenConfig {
    pub fn constructor_calldata(&self) -> Result<Vec<Felt>> {
        let mut data = vec![self.registry, self.owner];
        push_felt_span(&mut data, &self.programs);
        push_byte_array(&mut data, &self.name);
        push_byte_array(&mut data, &self.symbol);
        data.push(self.initial_holder);
        push_u256(&mut data, U256::from(self.supply));
        Ok(data)
    }
}

/// Storage key of `balances[account]`.
pub fn balance_slot(account: Felt) -> Result<Felt> {
    get_storage_var_address(BALANCES_VAR, &[account])
        .map_err(|_| ClientError::Name(BALANCES_VAR.into()))
}

/// Storage key of `thread_keys[account]`.
pub fn thread_key_slot(account: Felt) -> Result<Felt> {
    get_storage_var_address(THREAD_KEYS_VAR, &[account])
        .map_err(|_| ClientError::Name(THREAD_KEYS_VAR.into()))
}

/// The storage keys of one account's thread-visible slots (the token's `thread_slots` view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSlots {
    /// Key of `balances[account]`.
    pub balance: Felt,
    /// Key of `thread_keys[account]`.
    pub thread_key: Felt,
}

/// Both slot keys of `account`, computed here (what the token's `thread_slots` returns).
pub fn thread_slots(account: Felt) -> Result<ThreadSlots> {
    Ok(ThreadSlots {
        balance: balance_slot(account)?,
        thread_key: thread_key_slot(account)?,
    })
}

/// A deployed thread token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub address: Felt,
}

impl Token {
    pub async fn deploy(
        client: &ChainClient,
        class_hash: Felt,
        config: &TokenConfig,
        salt: Felt,
    ) -> Result<(Self, Deployed)> {
        let deployed = client
            .deploy(class_hash, config.constructor_calldata()?, salt)
            .await?;
        Ok((
            Self {
                address: deployed.address,
            },
            deployed,
        ))
    }

    /// ERC20 `balance_of` (a u256 that a thread token keeps below 2^128).
    pub async fn balance_of(&self, client: &ChainReader, account: Felt) -> Result<u128> {
        let words = client
            .call(self.address, "balance_of", vec![account])
            .await?;
        calldata::u256_to_u128(&words, "token balance_of")
    }

    /// ERC20 `total_supply` (a u256 that a thread token keeps below 2^128).
    pub async fn total_supply(&self, client: &ChainReader) -> Result<u128> {
        let words = client.call(self.address, "total_supply", vec![]).await?;
        calldata::u256_to_u128(&words, "token total_supply")
    }

    /// ERC20 `name` (a ByteArray).
    pub async fn name(&self, client: &ChainReader) -> Result<String> {
        let words = client.call(self.address, "name", vec![]).await?;
        calldata::byte_array_to_string(&words, "token name")
    }

    /// ERC20 `symbol` (a ByteArray).
    pub async fn symbol(&self, client: &ChainReader) -> Result<String> {
        let words = client.call(self.address, "symbol", vec![]).await?;
        calldata::byte_array_to_string(&words, "token symbol")
    }

    /// ERC20 `allowance(owner, spender)`: what `spender` may still move out of `owner`'s
    /// balance with `transfer_from` (`U256::MAX`: infinite).
    pub async fn allowance(
        &self,
        client: &ChainReader,
        owner: Felt,
        spender: Felt,
    ) -> Result<U256> {
        let words = client
            .call(self.address, "allowance", vec![owner, spender])
            .await?;
        calldata::u256(&words, "token allowance")
    }

    /// A direct L2 `transfer(recipient, amount: u256)` from the signing account (not through
    /// a thread): the call to put in an invoke.
    pub fn transfer_call(&self, recipient: Felt, amount: u128) -> Result<Call> {
        let mut data = vec![recipient];
        data.extend(u128_as_u256(amount));
        crate::call(self.address, "transfer", data)
    }

    /// `approve(spender, amount: u256)`: sets the signing account's allowance for `spender`
    /// (`U256::MAX` never decreases).
    pub fn approve_call(&self, spender: Felt, amount: U256) -> Result<Call> {
        let mut data = vec![spender];
        push_u256(&mut data, amount);
        crate::call(self.address, "approve", data)
    }

    /// `transfer_from(sender, recipient, amount: u256)`: moves `amount` out of `sender`'s
    /// balance on the signing account's allowance from `sender`.
    pub fn transfer_from_call(&self, sender: Felt, recipient: Felt, amount: u128) -> Result<Call> {
        let mut data = vec![sender, recipient];
        data.extend(u128_as_u256(amount));
        crate::call(self.address, "transfer_from", data)
    }

    /// Sends a direct L2 `transfer` signed by `client`'s account and requires it to succeed.
    pub async fn transfer(
        &self,
        client: &ChainClient,
        recipient: Felt,
        amount: u128,
        fee: FeeMode,
    ) -> Result<TxOutcome> {
        client
            .invoke(vec![self.transfer_call(recipient, amount)?], fee)
            .await?
            .require_success("token transfer")
    }

    /// Raw value of `balances[account]` read from storage (what settle inputs must match).
    pub async fn balance_slot_value(&self, client: &ChainReader, account: Felt) -> Result<Felt> {
        client
            .storage_at(self.address, balance_slot(account)?)
            .await
    }

    /// `set_thread_key(key_commitment)`: the signing account registers its own thread key (the
    /// token bumps the account's key nonce). `key_commitment` is the packed 124-bit `K`
    /// (`zkthread_sig::pack_key_slot(K, 0)`); the token refuses 0, values >= 2^124 and limbs
    /// equal to 2^31 - 1.
    pub fn set_thread_key_call(&self, key_commitment: Felt) -> Result<Call> {
        crate::call(self.address, "set_thread_key", vec![key_commitment])
    }

    /// The raw key slot of `account`, `K + nonce * 2^124` (`zkthread_sig::unpack_key_slot`).
    pub async fn thread_key(&self, client: &ChainReader, account: Felt) -> Result<Felt> {
        let words = client
            .call(self.address, "thread_key", vec![account])
            .await?;
        calldata::single(&words, "token thread_key")
    }

    /// The token's `thread_slots(account)` view: the storage keys of `account`'s balance and
    /// thread-key slots, as the contract itself derives them (equal to [`thread_slots`]).
    pub async fn thread_slots(&self, client: &ChainReader, account: Felt) -> Result<ThreadSlots> {
        let words = client
            .call(self.address, "thread_slots", vec![account])
            .await?;
        match words.as_slice() {
            [balance, thread_key] => Ok(ThreadSlots {
                balance: *balance,
                thread_key: *thread_key,
            }),
            _ => Err(ClientError::Decode {
                what: "token thread_slots".into(),
                detail: format!("expected 2 felts, got {words:?}"),
            }),
        }
    }

    /// Whether the token lets threads running `program_hash` read and write it.
    pub async fn accepts_program(&self, client: &ChainReader, program_hash: Felt) -> Result<bool> {
        let words = client
            .call(self.address, "accepts_program", vec![program_hash])
            .await?;
        Ok(calldata::single::<u8>(&words, "accepts_program")? == 1)
    }

    /// `set_program_accepted(program_hash, accepted)`: only the token's thread owner may send it.
    pub fn set_program_accepted_call(&self, program_hash: Felt, accepted: bool) -> Result<Call> {
        crate::call(
            self.address,
            "set_program_accepted",
            vec![program_hash, Felt::from(u8::from(accepted))],
        )
    }

    /// Whether threads of `program_hash` may touch the token only beside listed peers.
    pub async fn peers_only(&self, client: &ChainReader, program_hash: Felt) -> Result<bool> {
        let words = client.call(self.address, "peers_only", vec![program_hash]).await?;
        Ok(calldata::single::<u8>(&words, "peers_only")? == 1)
    }

    /// Whether `peer` may share a thread of `program_hash` with the token when `peers_only`.
    pub async fn accepts_peer(&self, client: &ChainReader, program_hash: Felt, peer: Felt) -> Result<bool> {
        let words = client.call(self.address, "accepts_peer", vec![program_hash, peer]).await?;
        Ok(calldata::single::<u8>(&words, "accepts_peer")? == 1)
    }

    /// `set_peers_only(program_hash, peers_only)`: only the token's thread owner may send it.
    pub fn set_peers_only_call(&self, program_hash: Felt, peers_only: bool) -> Result<Call> {
        crate::call(self.address, "set_peers_only", vec![program_hash, Felt::from(u8::from(peers_only))])
    }

    /// `set_peer_accepted(program_hash, peer, accepted)`: only the token's thread owner may send it.
    pub fn set_peer_accepted_call(&self, program_hash: Felt, peer: Felt, accepted: bool) -> Result<Call> {
        crate::call(
            self.address,
            "set_peer_accepted",
            vec![program_hash, peer, Felt::from(u8::from(accepted))],
        )
    }

    /// `accept_program_beside(program_hash, peers)`: the token's owner accepts `program_hash`
    /// only beside `peers`, peers listed before the program is accepted, in one call (what a
    /// token must do for a program that reads authority from another member's storage, such as
    /// the order book's: `thread::interface::IThreadPeers`).
    pub fn accept_program_beside_call(&self, program_hash: Felt, peers: &[Felt]) -> Result<Call> {
        let mut calldata = vec![program_hash, Felt::from(peers.len())];
        calldata.extend_from_slice(peers);
        crate::call(self.address, "accept_program_beside", calldata)
    }

    /// Who chooses the programs the token accepts.
    pub async fn thread_owner(&self, client: &ChainReader) -> Result<Felt> {
        let words = client.call(self.address, "thread_owner", vec![]).await?;
        calldata::single(&words, "thread_owner")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calldata::short_string;

    #[test]
    fn balance_slots_differ_per_account_and_are_not_the_raw_address() {
        let a = balance_slot(Felt::from(1u8)).unwrap();
        let b = balance_slot(Felt::from(2u8)).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, Felt::from(1u8));
        // Same derivation as the plain storage variable address when no key is given.
        assert_ne!(a, get_storage_var_address(BALANCES_VAR, &[]).unwrap());
    }

    #[test]
    fn thread_key_slot_matches_the_cairo_known_answer() {
        // contracts/programs/token/token test_thread_key_slot_known_answer.
        assert_eq!(
            thread_key_slot(Felt::from(0x1234u16)).unwrap(),
            Felt::from_hex_unchecked(
                "0x3ef38c5a182484c838d96357de2a208343083199989bc432a5f5a446b5764eb"
            )
        );
        assert_ne!(
            thread_key_slot(Felt::ONE).unwrap(),
            balance_slot(Felt::ONE).unwrap()
        );
    }

    #[test]
    fn thread_slots_match_the_cairo_known_answers() {
        // contracts/programs/token/token test_thread_slots_known_answer.
        assert_eq!(
            thread_slots(Felt::from(0x1234u16)).unwrap(),
            ThreadSlots {
                balance: Felt::from_hex_unchecked(
                    "0x730784555874dce9495f6892fa28aba9abd33ebaec60b2dd4f2dc7f76a05e75"
                ),
                thread_key: Felt::from_hex_unchecked(
                    "0x3ef38c5a182484c838d96357de2a208343083199989bc432a5f5a446b5764eb"
                ),
            }
        );
    }

    #[test]
    fn constructor_calldata_names_owner_and_accepted_programs() {
        let config = TokenConfig {
            registry: Felt::from(1u8),
            owner: Felt::from(2u8),
            programs: vec![Felt::from(3u8), Felt::from(4u8)],
            name: "T".into(),
            symbol: "S".into(),
            initial_holder: Felt::from(5u8),
            supply: 6,
        };
        let data = config.constructor_calldata().unwrap();
        let t = short_string("T").unwrap();
        let s = short_string("S").unwrap();
        let expected: Vec<Felt> = vec![
            Felt::from(1u8),
            Felt::from(2u8),
            Felt::from(2u8),
            Felt::from(3u8),
            Felt::from(4u8),
            // name: ByteArray (no full word, pending "T", length 1)
            Felt::ZERO,
            t,
            Felt::ONE,
            // symbol: ByteArray
            Felt::ZERO,
            s,
            Felt::ONE,
            Felt::from(5u8),
            // supply: u256 (low, high)
            Felt::from(6u8),
            Felt::ZERO,
        ];
        assert_eq!(data, expected);
    }

    #[test]
    fn constructor_calldata_takes_names_longer_than_a_short_string() {
        let name = "A thread token whose name is longer than 31 bytes";
        let config = TokenConfig {
            registry: Felt::ONE,
            owner: Felt::TWO,
            programs: vec![],
            name: name.into(),
            symbol: "THR".into(),
            initial_holder: Felt::THREE,
            supply: u128::MAX,
        };
        let data = config.constructor_calldata().unwrap();
        // registry, owner, no programs, then the name: one full word + 18 pending bytes.
        assert_eq!(data[..4], [Felt::ONE, Felt::TWO, Felt::ZERO, Felt::ONE]);
        assert_eq!(data[4], short_string(&name[..31]).unwrap());
        assert_eq!(
            data[5..7],
            [short_string(&name[31..]).unwrap(), Felt::from(18u8)]
        );
        assert_eq!(
            calldata::byte_array_to_string(&data[3..7], "name").unwrap(),
            name
        );
        assert_eq!(
            data[7..],
            [
                Felt::ZERO,
                short_string("THR").unwrap(),
                Felt::THREE,
                Felt::THREE,
                Felt::from(u128::MAX),
                Felt::ZERO
            ]
        );
    }

    #[test]
    fn transfer_call_is_the_token_entry_point_with_recipient_and_u256_amount() {
        let token = Token {
            address: Felt::from(0x70u8),
        };
        let call = token.transfer_call(Felt::from(0xb0bu16), 1_234).unwrap();
        assert_eq!(call.to, token.address);
        assert_eq!(call.selector, crate::selector("transfer").unwrap());
        assert_eq!(
            call.calldata,
            vec![Felt::from(0xb0bu16), Felt::from(1_234u16), Felt::ZERO]
        );
    }

    #[test]
    fn approve_and_transfer_from_calls_carry_u256_amounts() {
        let token = Token {
            address: Felt::from(0x70u8),
        };
        let (alice, bob) = (Felt::from(0xa1u8), Felt::from(0xb0bu16));
        let approve = token.approve_call(bob, U256::from(500u16)).unwrap();
        assert_eq!(approve.to, token.address);
        assert_eq!(approve.selector, crate::selector("approve").unwrap());
        assert_eq!(approve.calldata, vec![bob, Felt::from(500u16), Felt::ZERO]);
        let infinite = token
            .approve_call(bob, U256::from_words(u128::MAX, u128::MAX))
            .unwrap();
        assert_eq!(
            infinite.calldata,
            vec![bob, Felt::from(u128::MAX), Felt::from(u128::MAX)]
        );
        let from = token.transfer_from_call(alice, bob, 7).unwrap();
        assert_eq!(from.selector, crate::selector("transfer_from").unwrap());
        assert_eq!(from.calldata, vec![alice, bob, Felt::from(7u8), Felt::ZERO]);
    }
}
