//! The thread token (`contracts/token`, contract `ThreadToken`): deploy, balances, slot keys.

use starknet::core::types::Call;
use starknet::core::utils::get_storage_var_address;

use crate::calldata::{self, short_string};
use crate::{ChainClient, ClientError, Deployed, FeeMode, Felt, Result, TxOutcome};

/// Name of the token's balance map; its slot keys are what provers and clients derive.
pub const BALANCES_VAR: &str = "balances";

/// Constructor arguments: `(registry, name, symbol, initial_holder, supply: u128)`.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub registry: Felt,
    pub name: String,
    pub symbol: String,
    pub initial_holder: Felt,
    pub supply: u128,
}

impl TokenConfig {
    pub fn constructor_calldata(&self) -> Result<Vec<Felt>> {
        Ok(vec![
            self.registry,
            short_string(&self.name)?,
            short_string(&self.symbol)?,
            self.initial_holder,
            Felt::from(self.supply),
        ])
    }
}

/// Storage key of `balances[account]`.
pub fn balance_slot(account: Felt) -> Result<Felt> {
    get_storage_var_address(BALANCES_VAR, &[account])
        .map_err(|_| ClientError::Name(BALANCES_VAR.into()))
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

    pub async fn balance_of(&self, client: &ChainClient, account: Felt) -> Result<u128> {
        let words = client
            .call(self.address, "balance_of", vec![account])
            .await?;
        calldata::single(&words, "token balance_of")
    }

    pub async fn total_supply(&self, client: &ChainClient) -> Result<u128> {
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
    pub async fn balance_slot_value(&self, client: &ChainClient, account: Felt) -> Result<Felt> {
        client
            .storage_at(self.address, balance_slot(account)?)
            .await
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
