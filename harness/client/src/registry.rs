//! The thread registry (`contracts/registry`): typed calls for OS versions, programs, threads,
//! and settlement.

use starknet::core::types::{Call, Event};
use starknet_crypto::poseidon_hash_many;

use crate::calldata::{self, push_felt_span, push_slot_span, SlotValue};
use crate::{call, selector, ChainClient, ClientError, Deployed, FeeMode, Felt, Result, TxOutcome};

/// Event the registry emits when a thread is created (carries the new thread id).
pub const THREAD_CREATED_EVENT: &str = "ThreadCreated";

/// Arguments of `create_thread`.
#[derive(Clone, Debug)]
pub struct NewThread {
    pub os_version: Felt,
    pub program_hash: Felt,
    /// Thread contract set; sent sorted ascending (the registry requires it).
    pub contracts: Vec<Felt>,
    pub admin: Felt,
    /// Prover allowlist; empty means anyone may settle.
    pub provers: Vec<Felt>,
}

/// Arguments of `settle`.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub thread_id: u64,
    pub sequence: u64,
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    pub proof: Vec<Felt>,
}

impl Settlement {
    /// `settle(thread_id: u64, sequence: u64, inputs: Span<(ContractAddress, felt252, felt252)>,
    /// outputs: Span<...>, proof: Span<felt252>)`.
    pub fn calldata(&self) -> Vec<Felt> {
        let mut out = vec![Felt::from(self.thread_id), Felt::from(self.sequence)];
        push_slot_span(&mut out, &self.inputs);
        push_slot_span(&mut out, &self.outputs);
        push_felt_span(&mut out, &self.proof);
        out
    }
}

/// The registry's view of a thread (`thread(thread_id)`, 8 felts in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    pub os_version: Felt,
    pub program_hash: Felt,
    pub admin: Felt,
    pub active: bool,
    /// Number of settled sub-blocks = the next sequence.
    pub sequence: u64,
    pub contract_set_commitment: Felt,
    pub contract_count: u32,
    pub allowlist_enabled: bool,
}

impl ThreadInfo {
    fn decode(words: &[Felt]) -> Result<Self> {
        let bad = |detail: String| ClientError::Decode {
            what: "thread()".into(),
            detail,
        };
        let [os_version, program_hash, admin, active, sequence, commitment, count, allowlist] =
            words
        else {
            return Err(bad(format!("expected 8 felts, got {}", words.len())));
        };
        let flag = |felt: &Felt| -> Result<bool> {
            match u8::try_from(*felt) {
                Ok(0) => Ok(false),
                Ok(1) => Ok(true),
                _ => Err(bad(format!("bool {felt:#x}"))),
            }
        };
        Ok(Self {
            os_version: *os_version,
            program_hash: *program_hash,
            admin: *admin,
            active: flag(active)?,
            sequence: calldata::single(std::slice::from_ref(sequence), "thread sequence")?,
            contract_set_commitment: *commitment,
            contract_count: calldata::single(std::slice::from_ref(count), "contract count")?,
            allowlist_enabled: flag(allowlist)?,
        })
    }
}

/// `poseidon_hash_span([n, c_1, ..., c_n])` over the ascending contract set, as the registry
/// commits to a thread's contracts in the public input.
pub fn contract_set_commitment(contracts: &[Felt]) -> Felt {
    let mut sorted = contracts.to_vec();
    sorted.sort();
    let mut words = Vec::with_capacity(sorted.len() + 1);
    words.push(Felt::from(sorted.len()));
    words.extend(sorted);
    poseidon_hash_many(&words)
}

/// The public input the verifier receives for a settlement, exactly as the registry builds it:
/// `[os_version, program_hash, thread_id, sequence, contract_set_commitment, n_inputs,
/// (contract, key, value)*, n_outputs, (contract, key, value)*]`.
pub fn public_input(
    os_version: Felt,
    program_hash: Felt,
    contracts: &[Felt],
    settlement: &Settlement,
) -> Vec<Felt> {
    let mut out = vec![
        os_version,
        program_hash,
        Felt::from(settlement.thread_id),
        Felt::from(settlement.sequence),
        contract_set_commitment(contracts),
    ];
    push_slot_span(&mut out, &settlement.inputs);
    push_slot_span(&mut out, &settlement.outputs);
    out
}

/// A deployed registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registry {
    pub address: Felt,
}

impl Registry {
    /// Deploys the registry with `owner` as its only constructor argument.
    pub async fn deploy(
        client: &ChainClient,
        class_hash: Felt,
        owner: Felt,
        salt: Felt,
    ) -> Result<(Self, Deployed)> {
        let deployed = client.deploy(class_hash, vec![owner], salt).await?;
        Ok((
            Self {
                address: deployed.address,
            },
            deployed,
        ))
    }

    pub fn register_os_version_call(&self, os_version: Felt) -> Result<Call> {
        call(self.address, "register_os_version", vec![os_version])
    }

    pub fn register_program_call(&self, os_version: Felt, program_hash: Felt) -> Result<Call> {
        call(
            self.address,
            "register_program",
            vec![os_version, program_hash],
        )
    }

    pub fn create_thread_call(&self, thread: &NewThread) -> Result<Call> {
        let mut contracts = thread.contracts.clone();
        contracts.sort();
        let mut data = vec![thread.os_version, thread.program_hash];
        push_felt_span(&mut data, &contracts);
        data.push(thread.admin);
        push_felt_span(&mut data, &thread.provers);
        call(self.address, "create_thread", data)
    }

    pub fn settle_call(&self, settlement: &Settlement) -> Result<Call> {
        call(self.address, "settle", settlement.calldata())
    }

    pub async fn register_os_version(
        &self,
        client: &ChainClient,
        os_version: Felt,
    ) -> Result<TxOutcome> {
        client
            .invoke(
                vec![self.register_os_version_call(os_version)?],
                FeeMode::default(),
            )
            .await?
            .require_success("register_os_version")
    }

    pub async fn register_program(
        &self,
        client: &ChainClient,
        os_version: Felt,
        program_hash: Felt,
    ) -> Result<TxOutcome> {
        client
            .invoke(
                vec![self.register_program_call(os_version, program_hash)?],
                FeeMode::default(),
            )
            .await?
            .require_success("register_program")
    }

    /// Creates a thread and returns its id (read from the `ThreadCreated` event).
    pub async fn create_thread(
        &self,
        client: &ChainClient,
        thread: &NewThread,
    ) -> Result<(u64, TxOutcome)> {
        let outcome = client
            .invoke(vec![self.create_thread_call(thread)?], FeeMode::default())
            .await?
            .require_success("create_thread")?;
        let thread_id = thread_created_id(self.address, &outcome.events)?;
        Ok((thread_id, outcome))
    }

    /// Sends `settle`. With [`FeeMode::Manual`] a failing settlement is mined as REVERTED (the
    /// outcome says why); with estimation it comes back as [`ClientError::Rejected`].
    pub async fn settle(
        &self,
        client: &ChainClient,
        settlement: &Settlement,
        fee: FeeMode,
    ) -> Result<TxOutcome> {
        client
            .invoke(vec![self.settle_call(settlement)?], fee)
            .await
    }

    /// The registry's record of `thread_id`.
    pub async fn thread(&self, client: &ChainClient, thread_id: u64) -> Result<ThreadInfo> {
        ThreadInfo::decode(
            &client
                .call(self.address, "thread", vec![Felt::from(thread_id)])
                .await?,
        )
    }

    /// Number of threads created so far (ids are 1..=count).
    pub async fn thread_count(&self, client: &ChainClient) -> Result<u64> {
        calldata::single(
            &client.call(self.address, "thread_count", vec![]).await?,
            "thread_count",
        )
    }

    /// The thread's contract set, ascending.
    pub async fn thread_contracts(
        &self,
        client: &ChainClient,
        thread_id: u64,
    ) -> Result<Vec<Felt>> {
        let words = client
            .call(
                self.address,
                "thread_contracts",
                vec![Felt::from(thread_id)],
            )
            .await?;
        match words.split_first() {
            Some((len, rest)) if Felt::from(rest.len()) == *len => Ok(rest.to_vec()),
            _ => Err(ClientError::Decode {
                what: "thread_contracts".into(),
                detail: format!("{words:?}"),
            }),
        }
    }

    /// The public input the registry would hand the verifier (view; for cross-checks).
    pub async fn public_input(
        &self,
        client: &ChainClient,
        settlement: &Settlement,
    ) -> Result<Vec<Felt>> {
        let mut data = vec![
            Felt::from(settlement.thread_id),
            Felt::from(settlement.sequence),
        ];
        push_slot_span(&mut data, &settlement.inputs);
        push_slot_span(&mut data, &settlement.outputs);
        let words = client.call(self.address, "public_input", data).await?;
        match words.split_first() {
            Some((len, rest)) if Felt::from(rest.len()) == *len => Ok(rest.to_vec()),
            _ => Err(ClientError::Decode {
                what: "public_input".into(),
                detail: format!("{} felts", words.len()),
            }),
        }
    }

    pub fn upgrade_thread_call(
        &self,
        thread_id: u64,
        os_version: Felt,
        program_hash: Felt,
    ) -> Result<Call> {
        call(
            self.address,
            "upgrade_thread",
            vec![Felt::from(thread_id), os_version, program_hash],
        )
    }

    pub fn set_provers_call(&self, thread_id: u64, provers: &[Felt]) -> Result<Call> {
        let mut data = vec![Felt::from(thread_id)];
        push_felt_span(&mut data, provers);
        call(self.address, "set_provers", data)
    }

    pub fn set_active_call(&self, thread_id: u64, active: bool) -> Result<Call> {
        call(
            self.address,
            "set_active",
            vec![Felt::from(thread_id), Felt::from(u8::from(active))],
        )
    }

    /// Whether the owner registered `os_version`.
    pub async fn is_os_version_registered(
        &self,
        client: &ChainClient,
        os_version: Felt,
    ) -> Result<bool> {
        let words = client
            .call(self.address, "is_os_version_registered", vec![os_version])
            .await?;
        Ok(calldata::single::<u8>(&words, "is_os_version_registered")? == 1)
    }

    /// The OS version `program_hash` is registered under, if any (`Option<felt252>`: tag 0 =
    /// Some(value), tag 1 = None).
    pub async fn program_os_version(
        &self,
        client: &ChainClient,
        program_hash: Felt,
    ) -> Result<Option<Felt>> {
        let words = client
            .call(self.address, "program_os_version", vec![program_hash])
            .await?;
        match words.as_slice() {
            [tag, value] if *tag == Felt::ZERO => Ok(Some(*value)),
            [tag] if *tag == Felt::ONE => Ok(None),
            _ => Err(ClientError::Decode {
                what: "program_os_version".into(),
                detail: format!("unexpected words {words:?}"),
            }),
        }
    }

    /// The whole set-up of a thread as its owner does it: registers `thread.os_version` and
    /// `thread.program_hash` under it (each only if the registry does not have it yet), then
    /// creates the thread. Returns the thread id and the fees paid. The signing account must be
    /// the registry owner unless both are registered already.
    pub async fn open_thread(&self, client: &ChainClient, thread: &NewThread) -> Result<(u64, u128)> {
        let mut fees = 0;
        if !self.is_os_version_registered(client, thread.os_version).await? {
            fees += self
                .register_os_version(client, thread.os_version)
                .await?
                .actual_fee;
        }
        match self.program_os_version(client, thread.program_hash).await? {
            Some(_) => {}
            None => {
                fees += self
                    .register_program(client, thread.os_version, thread.program_hash)
                    .await?
                    .actual_fee;
            }
        }
        let (thread_id, outcome) = self.create_thread(client, thread).await?;
        Ok((thread_id, fees + outcome.actual_fee))
    }

    /// The sequence number the next `settle` of `thread_id` must carry.
    pub async fn next_sequence(&self, client: &ChainClient, thread_id: u64) -> Result<u64> {
        let words = client
            .call(self.address, "next_sequence", vec![Felt::from(thread_id)])
            .await?;
        calldata::single(&words, "next_sequence")
    }
}

/// Thread id from the registry's `ThreadCreated` event: the first field after the selector
/// (it is the event's first `#[key]` member, or its first data member).
fn thread_created_id(registry: Felt, events: &[Event]) -> Result<u64> {
    let wanted = selector(THREAD_CREATED_EVENT)?;
    let event = events
        .iter()
        .find(|event| event.from_address == registry && event.keys.first() == Some(&wanted))
        .ok_or_else(|| ClientError::Decode {
            what: "create_thread receipt".into(),
            detail: format!("no {THREAD_CREATED_EVENT} event from the registry"),
        })?;
    let id = event
        .keys
        .get(1)
        .or_else(|| event.data.first())
        .ok_or_else(|| ClientError::Decode {
            what: THREAD_CREATED_EVENT.into(),
            detail: "event has no fields".into(),
        })?;
    calldata::single(std::slice::from_ref(id), "thread id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_calldata_layout() {
        let slot =
            |c: u8, k: u8, v: u8| SlotValue::new(Felt::from(c), Felt::from(k), Felt::from(v));
        let settlement = Settlement {
            thread_id: 3,
            sequence: 9,
            inputs: vec![slot(1, 2, 3)],
            outputs: vec![slot(1, 2, 4), slot(5, 6, 7)],
            proof: vec![Felt::from(42u8)],
        };
        let expected: Vec<Felt> = [3u8, 9, 1, 1, 2, 3, 2, 1, 2, 4, 5, 6, 7, 1, 42]
            .into_iter()
            .map(Felt::from)
            .collect();
        assert_eq!(settlement.calldata(), expected);
    }

    #[test]
    fn create_thread_sorts_the_contract_set() {
        let registry = Registry {
            address: Felt::from(100u8),
        };
        let thread = NewThread {
            os_version: Felt::from(1u8),
            program_hash: Felt::from(2u8),
            contracts: vec![Felt::from(30u8), Felt::from(10u8)],
            admin: Felt::from(7u8),
            provers: vec![],
        };
        let call = registry.create_thread_call(&thread).unwrap();
        let expected: Vec<Felt> = [1u8, 2, 2, 10, 30, 7, 0]
            .into_iter()
            .map(Felt::from)
            .collect();
        assert_eq!(call.calldata, expected);
        assert_eq!(call.to, registry.address);
    }

    #[test]
    fn thread_info_decodes_eight_felts_and_rejects_bad_bools() {
        let words: Vec<Felt> = [1u8, 2, 3, 1, 5, 6, 1, 0]
            .into_iter()
            .map(Felt::from)
            .collect();
        let info = ThreadInfo::decode(&words).unwrap();
        assert!(info.active && !info.allowlist_enabled);
        assert_eq!((info.sequence, info.contract_count), (5, 1));
        let mut bad = words.clone();
        bad[3] = Felt::from(2u8);
        assert!(ThreadInfo::decode(&bad).is_err());
        assert!(ThreadInfo::decode(&words[..7]).is_err());
    }

    #[test]
    fn commitment_ignores_the_given_order_but_not_the_members() {
        let (a, b) = (Felt::from(10u8), Felt::from(30u8));
        assert_eq!(
            contract_set_commitment(&[b, a]),
            contract_set_commitment(&[a, b])
        );
        assert_ne!(
            contract_set_commitment(&[a]),
            contract_set_commitment(&[a, b])
        );
        assert_eq!(
            contract_set_commitment(&[a]),
            poseidon_hash_many(&[Felt::ONE, a])
        );
    }

    #[test]
    fn thread_id_comes_from_the_registry_event_only() {
        let registry = Felt::from(100u8);
        let key = selector(THREAD_CREATED_EVENT).unwrap();
        let event = |from: Felt, id: u8| Event {
            from_address: from,
            keys: vec![key, Felt::from(id)],
            data: vec![],
        };
        assert_eq!(
            thread_created_id(registry, &[event(Felt::from(5u8), 1), event(registry, 4)]).unwrap(),
            4
        );
        assert!(thread_created_id(registry, &[event(Felt::from(5u8), 1)]).is_err());
    }
}
