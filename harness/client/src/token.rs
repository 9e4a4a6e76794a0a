//! The thread token (`contracts/token`, contract `ThreadToken`): deploy, balances, thread keys,
//! slot keys, and the thread component's consent entry points (which programs it accepts).

use starknet::core::types::Call;
use starknet::core::utils::get_storage_var_address;

use crate::calldata::{self, push_felt_span, short_string};
use crate::{ChainReader, ChainClient, ClientError, Deployed, FeeMode, Felt, Result, TxOutcome};

/// Name of the token's balance map; its slot keys are what provers and clients derive.
pub const BALANCES_VAR: &str = "balances";

/// Name of the token's thread-key map (`docs/signed-transfers.md`, "Thread keys").
pub const THREAD_KEYS_VAR: &str = "thread_keys";

/// Constructor arguments: `(registry, owner, programs: Span<ClassHash>, name, symbol,
/// initial_holder, supply: u128)`. `owner` chooses which thread programs may touch the token;
/// `programs` are the ones it accepts from the start (the verifier class hashes of the threads
/// it may join).
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub registry: Felt,
    pub owner: Felt,
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
        data.extend([
            short_string(&self.name)?,
            short_string(&self.symbol)?,
            self.initial_holder,
            Felt::from(self.supply),
        ]);
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

    pub async fn balance_of(&self, client: &ChainReader, account: Felt) -> Result<u128> {
        let words = client
            .call(self.address, "balance_of", vec![account])
            .await?;
        calldata::single(&words, "token balance_of")
    }

    pub async fn total_supply(&self, client: &ChainReader) -> Result<u128> {
        let words = client.call(self.address, "total_supply", vec![]).await?;
        calldata::single(&words, "token total_supply")
    }

    /// A direct L2 `transfer(recipient, amount)` from the signing account (not through a
    /// thread): the call to put in an invoke.
    pub fn transfer_call(&self, recipient: Felt, amount: u128) -> Result<Call> {
        crate::call(
            self.address,
            "transfer",
            vec![recipient, Felt::from(amount)],
        )
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

    /// Who chooses the programs the token accepts.
    pub async fn thread_owner(&self, client: &ChainReader) -> Result<Felt> {
        let words = client.call(self.address, "thread_owner", vec![]).await?;
        calldata::single(&words, "thread_owner")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // contracts/token test_thread_key_slot_known_answer.
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
            t,
            s,
            Felt::from(5u8),
            Felt::from(6u8),
        ];
        assert_eq!(data, expected);
    }

    #[test]
    fn transfer_call_is_the_token_entry_point_with_recipient_and_u128_amount() {
        let token = Token {
            address: Felt::from(0x70u8),
        };
        let call = token.transfer_call(Felt::from(0xb0bu16), 1_234).unwrap();
        assert_eq!(call.to, token.address);
        assert_eq!(call.selector, crate::selector("transfer").unwrap());
        assert_eq!(
            call.calldata,
            vec![Felt::from(0xb0bu16), Felt::from(1_234u16)]
        );
    }
}
