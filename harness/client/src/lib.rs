//! Starknet JSON-RPC client for zkthreads (starknet-rs 0.17): one signing account, declare,
//! deploy through the UDC, invoke with estimated or hand-set resource bounds, receipts, views,
//! storage reads, fee-token balances; plus typed helpers for the registry and token contracts.
//!
//! Hand-set resource bounds matter for settlement: a `settle` that reverts (stale input, wrong
//! sequence, ...) fails fee *estimation*, so only a transaction sent with explicit bounds is
//! mined and shows its revert reason and the fee the prover paid.

#[cfg(test)]
mod batch_tests;
pub mod calldata;
#[cfg(test)]
mod finality_tests;
pub mod orderbook;
pub mod registry;
#[cfg(any(test, feature = "test-node"))]
pub mod scripted_node;
pub mod token;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use starknet::accounts::{
    Account, AccountError, ConnectedAccount, ExecutionEncoding, SingleOwnerAccount,
};
use starknet::contract::{ContractFactory, UdcSelector};
pub use starknet::core::types::Felt;
use starknet::core::types::requests::{CallRequest, GetStorageAtRequest};
use starknet::core::types::{
    BlockId, BlockTag, Call, Event, ExecuteInvocation, ExecutionResult, FunctionCall,
    StarknetError, TransactionFinalityStatus, TransactionReceipt, TransactionReceiptWithBlockInfo, TransactionTrace,
};
use starknet::core::utils::get_selector_from_name;
use starknet::providers::jsonrpc::HttpTransport;
use starknet::providers::{JsonRpcClient, Provider, ProviderError, ProviderRequestData, ProviderResponseData};
use starknet::signers::{LocalWallet, SigningKey};
pub use url::Url;
use zkthread_cairo_build::ContractArtifact;

/// STRK, the v3 fee token (same address on devnet and Starknet networks).
pub const STRK_FEE_TOKEN_ADDRESS: Felt =
    Felt::from_hex_unchecked("0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d");

/// Reads [`ChainReader::storage_many`] and [`ChainReader::call_many`] put in one JSON-RPC batch
/// (one HTTP round trip); longer lists take several batches, one after the other.
pub const READS_PER_BATCH: usize = 256;

pub type RpcProvider = Arc<JsonRpcClient<HttpTransport>>;
type SigningAccount = SingleOwnerAccount<RpcProvider, LocalWallet>;

/// How long one JSON-RPC request may wait for the node's answer. Without a bound a hung
/// connection (half-open TCP, a stuck gateway) would hold a service's admissions and pipeline
/// forever; the bound is generous because a node compiles a declared class before it answers.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(300);

/// The JSON-RPC provider of `url`, every request bounded by [`NODE_TIMEOUT`].
fn provider_of(url: Url) -> RpcProvider {
    let client = reqwest::Client::builder().timeout(NODE_TIMEOUT).build();
    let transport = match client {
        Ok(client) => HttpTransport::new_with_client(url, client),
        // Building a client fails only if the TLS backend cannot start; starknet-rs's own
        // default client would fail the same way on its first request.
        Err(error) => {
            tracing::warn!(%error, "no HTTP client with a timeout: the node's requests are unbounded");
            HttpTransport::new(url)
        }
    };
    Arc::new(JsonRpcClient::new(transport))
}

/// `text` with the `url (...)` of an HTTP error cut to the URL's scheme, host and port.
/// reqwest names the whole URL in its errors, and a node URL's path, query or user part often
/// holds an API key; a service shows these errors to its clients and in `GET /thread`. A URL
/// may itself hold `)`, so everything from the first `url (` to the text's last `)` is taken as
/// the URL: a second URL or a parenthesis after it is cut too (over-cut, never a leak).
pub fn redact_urls(text: &str) -> String {
    const MARK: &str = "url (";
    let Some(at) = text.find(MARK) else {
        return text.to_string();
    };
    let (head, tail) = text.split_at(at + MARK.len());
    match tail.rfind(')') {
        Some(end) => format!("{head}{}{}", origin_of(&tail[..end]), &tail[end..]),
        None => format!("{head}{}", origin_of(tail)),
    }
}

/// `scheme://host[:port]` of `url`, `/...` marking a cut path or query; anything that does not
/// parse as a URL is withheld whole.
fn origin_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("");
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            let cut = parsed.path() != "/" || parsed.query().is_some() || !parsed.username().is_empty();
            format!("{}://{host}{port}{}", parsed.scheme(), if cut { "/..." } else { "" })
        }
        Err(_) => "...".to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node's answer or the transport's error, any URL in it cut to its origin
    /// ([`redact_urls`]). Not the error's `source()`: a chain of causes printed whole (the
    /// CLI's one-line errors walk it) would show the URL the message cut.
    #[error("JSON-RPC: {}", redact_urls(&.0.to_string()))]
    Provider(ProviderError),
    /// The node refused the transaction before mining it (fee estimation or validation);
    /// `reason` carries the node's execution error, e.g. a contract's revert reason.
    #[error("{action} rejected by the node: {reason}")]
    Rejected { action: String, reason: String },
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("no receipt for transaction {hash:#x} after {waited:?}")]
    ReceiptTimeout { hash: Felt, waited: Duration },
    /// The receipt is only in the node's pre-confirmed block, which a sequencer may still drop
    /// or replay differently: not final on L2 yet (helper-81 F10).
    #[error("transaction {hash:#x} is still only in pre-confirmed block {block_number} after {waited:?} (not final on L2 yet; try again once the block closes)")]
    NotClosed { hash: Felt, block_number: u64, waited: Duration },
    #[error("{action}: transaction {hash:#x} reverted: {reason}")]
    Reverted {
        action: String,
        hash: Felt,
        reason: String,
    },
    #[error("invalid name {0:?} (selectors and storage names must be ASCII)")]
    Name(String),
    #[error("class {class_hash:#x}: node declared it as {declared:#x}")]
    ClassHashMismatch { class_hash: Felt, declared: Felt },
    #[error("unexpected result of {what}: {detail}")]
    Decode { what: String, detail: String },
}

impl From<ProviderError> for ClientError {
    fn from(error: ProviderError) -> Self {
        ClientError::Provider(error)
    }
}

impl ClientError {
    /// Whether the node answered that it has no such block (JSON-RPC error 24): for a read
    /// pinned to a block this reader was told is closed, a node behind the one that told it
    /// (two nodes behind one URL), not a failure of the read's own.
    pub fn is_block_not_found(&self) -> bool {
        matches!(self, ClientError::Provider(ProviderError::StarknetError(StarknetError::BlockNotFound)))
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Explicit v3 resource bounds: max amounts and max prices (in FRI) of each resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceBounds {
    pub l1_gas: u64,
    pub l1_gas_price: u128,
    pub l2_gas: u64,
    pub l2_gas_price: u128,
    pub l1_data_gas: u64,
    pub l1_data_gas_price: u128,
}

impl ResourceBounds {
    /// Upper bound of the fee these bounds allow (what the account must be able to pay).
    pub fn max_fee(&self) -> u128 {
        u128::from(self.l1_gas) * self.l1_gas_price
            + u128::from(self.l2_gas) * self.l2_gas_price
            + u128::from(self.l1_data_gas) * self.l1_data_gas_price
    }
}

/// How to pay for an invoke.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FeeMode {
    /// Estimate (a failing execution is reported as [`ClientError::Rejected`], nothing mined);
    /// gas amounts and prices are scaled by the multipliers.
    Estimate {
        gas_multiplier: f64,
        price_multiplier: f64,
    },
    /// Send with these bounds without estimating: a failing execution is mined as REVERTED and
    /// its fee charged.
    Manual(ResourceBounds),
}

impl Default for FeeMode {
    fn default() -> Self {
        FeeMode::Estimate {
            gas_multiplier: 1.5,
            price_multiplier: 1.5,
        }
    }
}

/// How a mined transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    Succeeded,
    Reverted { reason: String },
}

/// A mined transaction.
#[derive(Clone, Debug)]
pub struct TxOutcome {
    pub hash: Felt,
    pub status: TxStatus,
    /// Actual fee charged, in the fee token's base unit (FRI for v3).
    pub actual_fee: u128,
    pub block_number: u64,
    pub events: Vec<Event>,
    /// Submission to receipt, as the client saw it.
    pub latency: Duration,
}

impl TxOutcome {
    pub fn is_reverted(&self) -> bool {
        matches!(self.status, TxStatus::Reverted { .. })
    }

    pub fn revert_reason(&self) -> Option<&str> {
        match &self.status {
            TxStatus::Reverted { reason } => Some(reason),
            TxStatus::Succeeded => None,
        }
    }

    /// `Ok(self)` if it succeeded, else [`ClientError::Reverted`].
    pub fn require_success(self, action: &str) -> Result<Self> {
        match &self.status {
            TxStatus::Succeeded => Ok(self),
            TxStatus::Reverted { reason } => Err(ClientError::Reverted {
                action: action.to_owned(),
                hash: self.hash,
                reason: reason.clone(),
            }),
        }
    }
}

/// An invoke whose nonce and resource bounds are fixed, so its hash is known before sending
/// ([`ChainClient::prepare_invoke`]).
#[derive(Clone, Debug)]
pub struct PreparedInvoke {
    pub calls: Vec<Call>,
    pub nonce: Felt,
    pub bounds: ResourceBounds,
    pub hash: Felt,
}

/// Result of [`ChainClient::lookup_transaction`].
#[derive(Clone, Debug)]
pub enum TxLookup {
    /// The node has never seen the transaction.
    NotFound,
    /// The node knows it; it was mined with this outcome, in a closed block.
    Known(TxOutcome),
}

/// Result of [`ChainClient::declare`].
#[derive(Clone, Debug)]
pub struct Declared {
    pub class_hash: Felt,
    /// `None` if the class was declared already (nothing sent).
    pub outcome: Option<TxOutcome>,
}

/// Result of [`ChainClient::deploy`].
#[derive(Clone, Debug)]
pub struct Deployed {
    pub address: Felt,
    pub outcome: TxOutcome,
}

/// A node, read-only: views, storage, receipts and prices. What `status` and `thread show`
/// need, so they run without an account or private key.
#[derive(Clone)]
pub struct ChainReader {
    provider: RpcProvider,
    chain_id: Felt,
    receipt_timeout: Duration,
    poll_interval: Duration,
    /// Set once the node failed a batched read that one-by-one reads answered (shared by
    /// clones): batched reads then go one request at a time.
    batches_refused: Arc<AtomicBool>,
    /// The highest closed block number a node has answered (shared by clones): a node behind
    /// a load balancer that is behind cannot move [`ChainReader::latest_closed_block`] back.
    closed_high: Arc<AtomicU64>,
}

impl std::fmt::Debug for ChainReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainReader").field("chain_id", &self.chain_id).finish()
    }
}

/// A node plus one account that signs everything this client sends; every read of
/// [`ChainReader`] is available on it too (`Deref`). A clone signs as the same account: two
/// clones sending at once race for its nonce.
#[derive(Clone)]
pub struct ChainClient {
    reader: ChainReader,
    account: SigningAccount,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("account", &self.account.address())
            .finish()
    }
}

impl std::ops::Deref for ChainClient {
    type Target = ChainReader;
    fn deref(&self) -> &ChainReader {
        &self.reader
    }
}

impl ChainReader {
    /// Connects, asking the node for its chain id.
    pub async fn connect(url: Url) -> Result<Self> {
        let provider = provider_of(url);
        let chain_id = provider.chain_id().await?;
        Ok(Self::from_parts(provider, chain_id))
    }

    fn from_parts(provider: RpcProvider, chain_id: Felt) -> Self {
        Self {
            provider,
            chain_id,
            receipt_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(50),
            batches_refused: Arc::new(AtomicBool::new(false)),
            closed_high: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How long [`ChainReader::wait_for_receipt`] polls.
    pub fn set_receipt_timeout(&mut self, timeout: Duration) {
        self.receipt_timeout = timeout;
    }

    pub fn chain_id(&self) -> Felt {
        self.chain_id
    }

    pub fn provider(&self) -> &JsonRpcClient<HttpTransport> {
        &self.provider
    }

    /// Whether the node knows `class_hash`.
    pub async fn is_declared(&self, class_hash: Felt) -> Result<bool> {
        match self
            .provider
            .get_class(BlockId::Tag(BlockTag::PreConfirmed), class_hash)
            .await
        {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ClassHashNotFound)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Bounds with the given gas amounts at the current block's prices times `price_multiplier`
    /// (prices may move between blocks; the account is charged actual prices, not the bound).
    pub async fn bounds_at_current_prices(
        &self,
        l1_gas: u64,
        l2_gas: u64,
        l1_data_gas: u64,
        price_multiplier: u128,
    ) -> Result<ResourceBounds> {
        let block = self
            .provider
            .get_block_with_tx_hashes(BlockId::Tag(BlockTag::Latest))
            .await?;
        let price = |felt: Felt, what: &str| -> Result<u128> {
            u128::try_from(felt)
                .map(|p| p.saturating_mul(price_multiplier))
                .map_err(|_| ClientError::Decode {
                    what: what.into(),
                    detail: format!("{felt:#x}"),
                })
        };
        Ok(ResourceBounds {
            l1_gas,
            l1_gas_price: price(block.l1_gas_price().price_in_fri, "l1 gas price")?,
            l2_gas,
            l2_gas_price: price(block.l2_gas_price().price_in_fri, "l2 gas price")?,
            l1_data_gas,
            l1_data_gas_price: price(block.l1_data_gas_price().price_in_fri, "l1 data gas price")?,
        })
    }

    /// Polls until the node has a receipt for `hash` in a closed block: a receipt in the
    /// pre-confirmed block is not final (a sequencer may drop that block or replay its
    /// transactions differently), so what is recorded on it, a settlement above all, waits
    /// until the block closes ([`ClientError::NotClosed`] after the receipt timeout).
    pub async fn wait_for_receipt(&self, hash: Felt) -> Result<TxOutcome> {
        self.wait_for_receipt_since(hash, Instant::now(), Finality::Closed).await
    }

    pub(crate) async fn wait_for_receipt_since(&self, hash: Felt, started: Instant, finality: Finality) -> Result<TxOutcome> {
        let mut pre_confirmed_in = None;
        loop {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(receipt) if finality == Finality::PreConfirmed || is_closed(&receipt) => {
                    return outcome_from_receipt(receipt, started.elapsed())
                }
                Ok(receipt) => pre_confirmed_in = Some(receipt.block.block_number()),
                Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => {}
                Err(error) => return Err(error.into()),
            }
            if started.elapsed() > self.receipt_timeout {
                let waited = started.elapsed();
                return Err(match pre_confirmed_in {
                    Some(block_number) => ClientError::NotClosed { hash, block_number, waited },
                    None => ClientError::ReceiptTimeout { hash, waited },
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// Calls a view function by name against the latest state.
    pub async fn call(
        &self,
        contract: Felt,
        function: &str,
        calldata: Vec<Felt>,
    ) -> Result<Vec<Felt>> {
        self.call_in(contract, function, calldata, BlockId::Tag(BlockTag::PreConfirmed)).await
    }

    /// [`ChainReader::call`] against the state after closed block `block`: reads pinned to
    /// one block number see one state, whichever node behind a load balancer answers each.
    pub async fn call_at(&self, contract: Felt, function: &str, calldata: Vec<Felt>, block: u64) -> Result<Vec<Felt>> {
        self.call_in(contract, function, calldata, BlockId::Number(block)).await
    }

    async fn call_in(&self, contract: Felt, function: &str, calldata: Vec<Felt>, block: BlockId) -> Result<Vec<Felt>> {
        let call = FunctionCall {
            contract_address: contract,
            entry_point_selector: selector(function)?,
            calldata,
        };
        Ok(self.provider.call(call, block).await?)
    }

    /// The number of the latest closed block (ACCEPTED_ON_L2 or later), the newest one a
    /// read can be pinned to: the highest this reader has been answered, so it never moves
    /// back.
    pub async fn latest_closed_block(&self) -> Result<u64> {
        let answered = self.provider.block_number().await?;
        Ok(self.closed_high.fetch_max(answered, Ordering::Relaxed).max(answered))
    }

    /// Raw storage value of `contract` at `key` (latest state).
    pub async fn storage_at(&self, contract: Felt, key: Felt) -> Result<Felt> {
        Ok(self
            .provider
            .get_storage_at(contract, key, BlockId::Tag(BlockTag::PreConfirmed))
            .await?)
    }

    /// Raw storage values of `slots` (`(contract, key)`, latest state), in their order: one
    /// JSON-RPC batch per [`READS_PER_BATCH`] slots instead of one round trip per slot (what
    /// a batcher reading a sub-block's slots, or a book's orders, waits for).
    pub async fn storage_many(&self, slots: &[(Felt, Felt)]) -> Result<Vec<Felt>> {
        self.storage_many_in(slots, BlockId::Tag(BlockTag::PreConfirmed)).await
    }

    /// [`ChainReader::storage_many`] in the state after closed block `block` (see
    /// [`ChainReader::call_at`]).
    pub async fn storage_many_at(&self, slots: &[(Felt, Felt)], block: u64) -> Result<Vec<Felt>> {
        self.storage_many_in(slots, BlockId::Number(block)).await
    }

    async fn storage_many_in(&self, slots: &[(Felt, Felt)], block_id: BlockId) -> Result<Vec<Felt>> {
        let requests = slots.iter().map(|&(contract_address, key)| {
            ProviderRequestData::GetStorageAt(GetStorageAtRequest { contract_address, key, block_id })
        });
        self.batched(requests.collect(), "a batched storage read", |response| match response {
            ProviderResponseData::GetStorageAt(value) => Ok(value),
            other => Err(other),
        })
        .await
    }

    /// [`ChainReader::call`] of each `(contract, function, calldata)` (latest state), in
    /// their order, [`READS_PER_BATCH`] calls per JSON-RPC batch. A call that fails fails the
    /// whole read.
    pub async fn call_many(&self, calls: &[(Felt, &str, Vec<Felt>)]) -> Result<Vec<Vec<Felt>>> {
        let mut requests = Vec::with_capacity(calls.len());
        for (contract_address, function, calldata) in calls {
            requests.push(ProviderRequestData::Call(CallRequest {
                request: FunctionCall {
                    contract_address: *contract_address,
                    entry_point_selector: selector(function)?,
                    calldata: calldata.clone(),
                },
                block_id: BlockId::Tag(BlockTag::PreConfirmed),
            }));
        }
        self.batched(requests, "a batched call", |response| match response {
            ProviderResponseData::Call(words) => Ok(words),
            other => Err(other),
        })
        .await
    }

    /// Sends `requests` in batches of [`READS_PER_BATCH`] and takes each answer with `take`
    /// (which hands back an answer of another kind). The transport drops an answer the node
    /// left out, so a short batch is never paired up: like a batch the node refused (some
    /// endpoints turn JSON arrays away or cap their length), it is read again one request at a
    /// time, and once one-by-one reads succeed where a batch did not, this reader stops
    /// batching. A read the node answered with a Starknet error fails the whole read.
    async fn batched<T>(
        &self,
        requests: Vec<ProviderRequestData>,
        what: &str,
        take: impl Fn(ProviderResponseData) -> std::result::Result<T, ProviderResponseData>,
    ) -> Result<Vec<T>> {
        let mut answers = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(READS_PER_BATCH) {
            let batch = match self.batches_refused.load(Ordering::Relaxed) {
                true => None,
                false => Some(self.provider.batch_requests(chunk).await),
            };
            let responses = match batch {
                Some(Ok(responses)) if responses.len() == chunk.len() => responses,
                Some(Err(ProviderError::StarknetError(error))) => return Err(ProviderError::StarknetError(error).into()),
                Some(failed) => {
                    let why = match failed {
                        Ok(short) => format!("{} answers to {} requests", short.len(), chunk.len()),
                        Err(error) => redact_urls(&error.to_string()),
                    };
                    let responses = self.one_by_one(chunk).await?;
                    tracing::warn!(what, why, "the node failed a batched read that one-by-one reads answer: reading one request at a time from now on");
                    self.batches_refused.store(true, Ordering::Relaxed);
                    responses
                }
                None => self.one_by_one(chunk).await?,
            };
            for response in responses {
                let answer = take(response).map_err(|other| ClientError::Decode {
                    what: what.into(),
                    detail: format!("{other:?}"),
                })?;
                answers.push(answer);
            }
        }
        Ok(answers)
    }

    /// Each of `requests` as a request of its own (the kinds [`ChainReader::batched`] sends).
    async fn one_by_one(&self, requests: &[ProviderRequestData]) -> Result<Vec<ProviderResponseData>> {
        let mut responses = Vec::with_capacity(requests.len());
        for request in requests {
            responses.push(match request {
                ProviderRequestData::GetStorageAt(read) => ProviderResponseData::GetStorageAt(
                    self.provider.get_storage_at(read.contract_address, read.key, read.block_id).await?,
                ),
                ProviderRequestData::Call(call) => {
                    ProviderResponseData::Call(self.provider.call(&call.request, call.block_id).await?)
                }
                other => {
                    return Err(ClientError::Decode { what: "a batched read".into(), detail: format!("unexpected request {other:?}") })
                }
            });
        }
        Ok(responses)
    }

    /// STRK balance of `owner` in FRI (what v3 fees are paid in).
    pub async fn fee_token_balance(&self, owner: Felt) -> Result<u128> {
        let words = self
            .call(STRK_FEE_TOKEN_ADDRESS, "balance_of", vec![owner])
            .await?;
        calldata::u256_to_u128(&words, "STRK balance_of")
    }

    /// What the node knows of `hash` right now: unknown, or mined with its outcome in a closed
    /// block (one the node has received, or holds only in its pre-confirmed block, is waited
    /// for up to the receipt timeout: [`ChainReader::wait_for_receipt`]).
    pub async fn lookup_transaction(&self, hash: Felt) -> Result<TxLookup> {
        match self.provider.get_transaction_status(hash).await {
            Ok(_) => Ok(TxLookup::Known(self.wait_for_receipt(hash).await?)),
            Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => {
                Ok(TxLookup::NotFound)
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl ChainClient {
    /// Connects, asking the node for its chain id.
    pub async fn connect(url: Url, account_address: Felt, private_key: Felt) -> Result<Self> {
        let reader = ChainReader::connect(url).await?;
        Ok(Self::with_reader(reader, account_address, private_key))
    }

    /// Connects with a known chain id (no request).
    pub fn with_chain_id(
        url: Url,
        account_address: Felt,
        private_key: Felt,
        chain_id: Felt,
    ) -> Self {
        let provider = provider_of(url);
        let reader = ChainReader::from_parts(provider, chain_id);
        Self::with_reader(reader, account_address, private_key)
    }

    /// The account `address` signing with `private_key` on `reader`'s node and chain.
    fn with_reader(reader: ChainReader, address: Felt, private_key: Felt) -> Self {
        let signer = LocalWallet::from(SigningKey::from_secret_scalar(private_key));
        // OpenZeppelin and current Argent accounts use the Cairo 1 `__execute__` encoding.
        let mut account = SingleOwnerAccount::new(
            reader.provider.clone(),
            signer,
            address,
            reader.chain_id,
            ExecutionEncoding::New,
        );
        // Nonces and estimates against the newest state, including a pre-confirmed block when
        // the node runs with block generation on demand.
        account.set_block_id(BlockId::Tag(BlockTag::PreConfirmed));
        Self { reader, account }
    }

    /// How long [`ChainReader::wait_for_receipt`] polls.
    pub fn set_receipt_timeout(&mut self, timeout: Duration) {
        self.reader.set_receipt_timeout(timeout);
    }

    /// The read-only side (also reachable through `Deref`).
    pub fn reader(&self) -> &ChainReader {
        &self.reader
    }

    pub fn address(&self) -> Felt {
        self.account.address()
    }

    /// Declares the artifact's class unless the node has it already.
    pub async fn declare(&self, artifact: &ContractArtifact) -> Result<Declared> {
        if self.is_declared(artifact.class_hash).await? {
            tracing::debug!(contract = %artifact.id(), "already declared");
            return Ok(Declared {
                class_hash: artifact.class_hash,
                outcome: None,
            });
        }
        let action = format!("declare {}", artifact.id());
        let started = Instant::now();
        let sent = self
            .account
            .declare_v3(artifact.sierra.clone(), artifact.casm_hash)
            .send()
            .await
            .map_err(|error| account_error(&action, error))?;
        if sent.class_hash != artifact.class_hash {
            return Err(ClientError::ClassHashMismatch {
                class_hash: artifact.class_hash,
                declared: sent.class_hash,
            });
        }
        let outcome = self
            .wait_for_receipt_since(sent.transaction_hash, started, Finality::PreConfirmed)
            .await?
            .require_success(&action)?;
        tracing::info!(contract = %artifact.id(), class_hash = %format!("{:#x}", sent.class_hash), fee = outcome.actual_fee, latency_ms = outcome.latency.as_millis() as u64, "declared");
        Ok(Declared {
            class_hash: sent.class_hash,
            outcome: Some(outcome),
        })
    }

    /// Deploys `class_hash` through the (new) Universal Deployer Contract with a fixed salt, not
    /// unique to the deployer, so addresses are reproducible for a given salt.
    pub async fn deploy(
        &self,
        class_hash: Felt,
        constructor_calldata: Vec<Felt>,
        salt: Felt,
    ) -> Result<Deployed> {
        let action = format!("deploy class {class_hash:#x}");
        let factory = ContractFactory::new_with_udc(class_hash, &self.account, UdcSelector::New);
        let deployment = factory.deploy_v3(constructor_calldata, salt, false);
        let address = deployment.deployed_address();
        let started = Instant::now();
        let sent = deployment
            .send()
            .await
            .map_err(|error| account_error(&action, error))?;
        let outcome = self
            .wait_for_receipt_since(sent.transaction_hash, started, Finality::PreConfirmed)
            .await?
            .require_success(&action)?;
        tracing::info!(address = %format!("{address:#x}"), fee = outcome.actual_fee, latency_ms = outcome.latency.as_millis() as u64, "deployed");
        Ok(Deployed { address, outcome })
    }

    /// Sends `calls` as one v3 invoke and waits for the receipt. A REVERTED receipt is an
    /// `Ok` outcome (check [`TxOutcome::status`]); only a transaction that was never mined is
    /// an error.
    pub async fn invoke(&self, calls: Vec<Call>, fee: FeeMode) -> Result<TxOutcome> {
        self.invoke_until(calls, fee, Finality::PreConfirmed).await
    }

    /// [`ChainClient::invoke`], waiting for the receipt until it is as final as `finality`.
    pub(crate) async fn invoke_until(&self, calls: Vec<Call>, fee: FeeMode, finality: Finality) -> Result<TxOutcome> {
        let action = describe_calls(&calls);
        let execution = self.account.execute_v3(calls);
        let execution = match fee {
            FeeMode::Estimate {
                gas_multiplier,
                price_multiplier,
            } => execution
                .gas_estimate_multiplier(gas_multiplier)
                .gas_price_estimate_multiplier(price_multiplier),
            FeeMode::Manual(bounds) => execution
                .l1_gas(bounds.l1_gas)
                .l1_gas_price(bounds.l1_gas_price)
                .l2_gas(bounds.l2_gas)
                .l2_gas_price(bounds.l2_gas_price)
                .l1_data_gas(bounds.l1_data_gas)
                .l1_data_gas_price(bounds.l1_data_gas_price),
        };
        let started = Instant::now();
        let sent = execution
            .send()
            .await
            .map_err(|error| account_error(&action, error))?;
        let outcome = self.wait_for_receipt_since(sent.transaction_hash, started, finality).await?;
        tracing::debug!(%action, hash = %format!("{:#x}", outcome.hash), status = ?outcome.status, fee = outcome.actual_fee, "invoked");
        Ok(outcome)
    }

    /// The account's current nonce.
    pub async fn nonce(&self) -> Result<Felt> {
        Ok(self.account.get_nonce().await?)
    }

    /// Fixes the nonce (the account's current one) and `bounds` of an invoke of `calls`, so
    /// its transaction hash is known before it is broadcast: a caller can record the hash
    /// durably first and, after a crash, look the transaction up instead of sending it again.
    pub async fn prepare_invoke(
        &self,
        calls: Vec<Call>,
        bounds: ResourceBounds,
    ) -> Result<PreparedInvoke> {
        let nonce = self.nonce().await?;
        let prepared = PreparedInvoke {
            calls,
            nonce,
            bounds,
            hash: Felt::ZERO,
        };
        let hash = self.prepared_execution(&prepared)?.transaction_hash(false);
        Ok(PreparedInvoke { hash, ..prepared })
    }

    fn prepared_execution(
        &self,
        prepared: &PreparedInvoke,
    ) -> Result<starknet::accounts::PreparedExecutionV3<'_, SigningAccount>> {
        let b = prepared.bounds;
        self.account
            .execute_v3(prepared.calls.clone())
            .nonce(prepared.nonce)
            .l1_gas(b.l1_gas)
            .l1_gas_price(b.l1_gas_price)
            .l2_gas(b.l2_gas)
            .l2_gas_price(b.l2_gas_price)
            .l1_data_gas(b.l1_data_gas)
            .l1_data_gas_price(b.l1_data_gas_price)
            .tip(0)
            .prepared()
            .map_err(|_| ClientError::Signing("invoke not fully prepared".into()))
    }

    /// Executes `calls` with `bounds` on the node's pre-confirmed state without mining anything
    /// (`starknet_simulateTransactions`, with validation and fee charge): `None` if the execute
    /// phase succeeds, else its revert reason. Lets a caller probe the same settlement many times.
    pub async fn simulate(
        &self,
        calls: Vec<Call>,
        bounds: ResourceBounds,
    ) -> Result<Option<String>> {
        let action = describe_calls(&calls);
        let simulated = self
            .account
            .execute_v3(calls)
            .l1_gas(bounds.l1_gas)
            .l1_gas_price(bounds.l1_gas_price)
            .l2_gas(bounds.l2_gas)
            .l2_gas_price(bounds.l2_gas_price)
            .l1_data_gas(bounds.l1_data_gas)
            .l1_data_gas_price(bounds.l1_data_gas_price)
            .simulate(false, false)
            .await
            .map_err(|error| account_error(&action, error))?;
        match simulated.transaction_trace {
            TransactionTrace::Invoke(trace) => Ok(match trace.execute_invocation {
                ExecuteInvocation::Success(_) => None,
                ExecuteInvocation::Reverted(reverted) => Some(reverted.revert_reason),
            }),
            _ => Err(ClientError::Decode {
                what: format!("simulation of {action}"),
                detail: "not an invoke trace".into(),
            }),
        }
    }

    /// Signs and broadcasts a prepared invoke (does not wait for the receipt).
    pub async fn broadcast(&self, prepared: &PreparedInvoke) -> Result<()> {
        let action = describe_calls(&prepared.calls);
        let sent = self
            .prepared_execution(prepared)?
            .send()
            .await
            .map_err(|error| account_error(&action, error))?;
        if sent.transaction_hash != prepared.hash {
            return Err(ClientError::Decode {
                what: "transaction hash".into(),
                detail: format!(
                    "node accepted {:#x}, computed {:#x}",
                    sent.transaction_hash, prepared.hash
                ),
            });
        }
        Ok(())
    }
}

/// Entry point selector of `name`.
pub fn selector(name: &str) -> Result<Felt> {
    get_selector_from_name(name).map_err(|_| ClientError::Name(name.to_owned()))
}

/// A call to `contract.function(calldata)`.
pub fn call(contract: Felt, function: &str, calldata: Vec<Felt>) -> Result<Call> {
    Ok(Call {
        to: contract,
        selector: selector(function)?,
        calldata,
    })
}

fn describe_calls(calls: &[Call]) -> String {
    match calls {
        [single] => format!("invoke {:#x}/{:#x}", single.to, single.selector),
        many => format!("invoke of {} calls", many.len()),
    }
}

fn account_error<S: std::fmt::Display>(action: &str, error: AccountError<S>) -> ClientError {
    match error {
        AccountError::Provider(ProviderError::StarknetError(error)) => ClientError::Rejected {
            action: action.to_owned(),
            reason: error.to_string(),
        },
        AccountError::Provider(error) => ClientError::Provider(error),
        AccountError::Signing(error) => ClientError::Signing(error.to_string()),
        other => ClientError::Rejected {
            action: action.to_owned(),
            reason: other.to_string(),
        },
    }
}

/// How final a receipt [`ChainReader::wait_for_receipt_since`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finality {
    /// Executed in the node's pre-confirmed block: enough for a step whose effect the next
    /// step reads from that same state (a deployment, a key registration).
    PreConfirmed,
    /// In a closed block (ACCEPTED_ON_L2 or later): what a settlement is recorded on, since a
    /// pre-confirmed block may still be dropped or its transactions replayed differently.
    Closed,
}

/// Whether `receipt` is in a closed block, accepted on L2 or later.
fn is_closed(receipt: &TransactionReceiptWithBlockInfo) -> bool {
    receipt.block.is_block() && receipt.receipt.finality_status() != &TransactionFinalityStatus::PreConfirmed
}

fn outcome_from_receipt(
    with_block: TransactionReceiptWithBlockInfo,
    latency: Duration,
) -> Result<TxOutcome> {
    let receipt = &with_block.receipt;
    let fee = match receipt {
        TransactionReceipt::Invoke(r) => &r.actual_fee,
        TransactionReceipt::L1Handler(r) => &r.actual_fee,
        TransactionReceipt::Declare(r) => &r.actual_fee,
        TransactionReceipt::Deploy(r) => &r.actual_fee,
        TransactionReceipt::DeployAccount(r) => &r.actual_fee,
    };
    let actual_fee = u128::try_from(fee.amount).map_err(|_| ClientError::Decode {
        what: "actual fee".into(),
        detail: format!("{:#x}", fee.amount),
    })?;
    let status = match receipt.execution_result() {
        ExecutionResult::Succeeded => TxStatus::Succeeded,
        ExecutionResult::Reverted { reason } => TxStatus::Reverted {
            reason: reason.clone(),
        },
    };
    Ok(TxOutcome {
        hash: *receipt.transaction_hash(),
        status,
        actual_fee,
        block_number: with_block.block.block_number(),
        events: receipt.events().to_vec(),
        latency,
    })
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn urls_in_errors_keep_only_their_origin() {
        assert_eq!(
            redact_urls("error sending request for url (https://rpc.example:8443/v3/KEY?token=T)"),
            "error sending request for url (https://rpc.example:8443/...)"
        );
        assert_eq!(redact_urls("for url (http://user:pw@node/)"), "for url (http://node/...)");
        assert_eq!(redact_urls("for url (http://127.0.0.1:5050/)"), "for url (http://127.0.0.1:5050)");
        // A `)` inside the URL, and a second URL: cut from the first `url (` to the last `)`.
        assert_eq!(redact_urls("for url (http://h/a)SECRET)"), "for url (http://h/...)");
        assert_eq!(redact_urls("url (http://h/K1) and url (http://h/K2)"), "url (http://h/...)");
        assert_eq!(redact_urls("url (not a url KEY"), "url (...");
        assert_eq!(redact_urls("no URL here"), "no URL here");
    }

    /// A node that cannot be reached: the transport's own error names the URL, and the key in
    /// its path must not reach the error a service shows its clients.
    #[tokio::test]
    async fn an_unreachable_node_error_does_not_show_the_urls_key() {
        let url: Url = "http://127.0.0.1:9/v3/SECRET-API-KEY".parse().expect("a URL");
        let error = ChainReader::connect(url).await.err().expect("nothing listens on port 9");
        let text = error.to_string();
        assert!(text.contains("127.0.0.1:9") && !text.contains("SECRET-API-KEY"), "{text}");
        // Nor through its chain of causes, which a CLI prints whole.
        let mut cause: Option<&dyn std::error::Error> = Some(&error);
        while let Some(e) = cause {
            assert!(!e.to_string().contains("SECRET-API-KEY"), "a cause shows the key: {e}");
            cause = e.source();
        }
    }
}
