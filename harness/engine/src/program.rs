//! The thread programs the engine proves for: the token's two programs ([`TokenProgram`]) on
//! the Poseidon252 channel with their only accepted parameters [`PARAMS`]. The signed program
//! (`zkthread_token`: every transfer signed by its sender's thread key, slots bound to
//! `balances` / `thread_keys`) is verified by the Cairo class `SignedVerifier` ([`VERIFIER`]);
//! the list program (one signature per list of a sender's transfers,
//! `zkthread_store::NewTransferList`) by `ListVerifier` ([`LIST_VERIFIER`]). A verifier class
//! is its program: a thread's `program_hash` is that class's hash, and
//! [`TokenProgram::of`] tells which program a thread runs. The engine's batch and prove take
//! either (`crate::token`), as do the CLI and the service.

use std::time::{Duration, Instant};

use zkthread_client::registry::ThreadInfo;
use zkthread_client::Felt;
use zkthread_token::list_prover::poseidon252 as list_poseidon252;
use zkthread_token::{poseidon252, SignedProveError, SignedPublicInput, SignedVerifyError};
use zkthread_prover::{Poseidon252MerkleChannel, StarkParams};
use zkthread_store::{MessageBody, NewTransfer, NewTransferList};

use crate::error::{EngineError, Result};
use crate::token::TokenMessage;

/// The Merkle channel of OS version 1 (Cairo has the Poseidon builtin).
pub type Channel = Poseidon252MerkleChannel;

/// OS version threads of this program are registered and proven for.
pub const OS_VERSION: u64 = 1;

/// Proof parameters of the signed program (the only ones `SignedVerifier` accepts).
pub const PARAMS: StarkParams = zkthread_token::SIGNED_PARAMS;

/// Which of a token program's accepted parameter sets a sub-block is proven at
/// ([`crate::token::TokenMessage::params_for`] decides where the program and the sub-block
/// allow it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofParams {
    /// [`PARAMS`], the only set `SignedVerifier` accepts: the smallest proof and the cheapest
    /// verification on chain.
    #[default]
    Compact,
    /// A list thread's second set (`zkthread_token::list_prover::LIST_FAST_PARAMS`, 2^4 x 20 +
    /// 16, also 96 bits): about half the proving time, for ~17% more verification gas and
    /// ~500 more proof felts. Taken only where the proof stays small enough to settle
    /// ([`FAST_PROOF_MAX_PERMUTATIONS`]; `crate::prove` checks the calldata and proves again
    /// at [`ProofParams::Compact`] if it would not fit); the signed program proves at
    /// [`PARAMS`] whatever the choice.
    Fast,
}

/// Poseidon2 permutations up to which a list sub-block is proven at [`ProofParams::Fast`]
/// (up to 2^10 rows: 1 x 256, 2 x 128 and 4 x 64 transfers prove in 1.6-3.8 s, about half the
/// time at [`PARAMS`], 2026-12-05); a taller proof at that set has ~5,000 felts (1 x 1,024 to
/// fresh receivers: 4,996) and could never settle within
/// [`crate::preflight::MAX_CALLDATA_FELTS`].
pub const FAST_PROOF_MAX_PERMUTATIONS: usize = 1 << 10;

/// The STARK part of a proof at [`ProofParams::Fast`] (its felts but the slot owners) that the
/// engine expects at most, up to 2^10 rows: measured 3,562-3,885 from 2^8 to 2^10 rows
/// (2026-12-05; it varies with how many queries share Merkle paths), rounded up. A sub-block whose settlement would not fit
/// [`crate::preflight::MAX_CALLDATA_FELTS`] with a proof this large is proven at [`PARAMS`]
/// at once; the proof's real size is checked after proving.
pub const FAST_PROOF_STARK_FELTS: usize = 4_000;

/// A parameter set as `2^blowup x queries + pow bits`, for progress lines.
pub fn describe_params(params: &StarkParams) -> String {
    format!("2^{} x {} + {}", params.log_blowup, params.n_queries, params.pow_bits)
}

/// The signed program's Cairo verifier (`contracts/programs/token/signed_verifier`): package and contract.
pub const VERIFIER: (&str, &str) = ("signed_verifier", "SignedVerifier");

/// A class a verifier library-calls, and where the verifier's source names its class hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LibraryClass {
    /// Scarb package and contract.
    pub class: (&'static str, &'static str),
    /// The verifier's generated Cairo file holding the class hash as
    /// `pub const {constant}: felt252 = 0x...;`, relative to the repository root.
    pub named_in: &'static str,
    /// The constant's name in that file.
    pub constant: &'static str,
}

/// The classes [`VERIFIER`] library-calls: the signed AIR's composition at the OODS point
/// (`contracts/programs/token/signed_air`'s `SignedAir`; a verifier core and a program's constraints do not fit
/// in one class). Their hashes are constants of the verifier's code (kept fresh by
/// `cargo test -p zkthread-air-codegen --test signed_air_class_fresh`), so declare them first.
pub const VERIFIER_LIBRARIES: &[LibraryClass] = &[LibraryClass {
    class: ("signed_air", "SignedAir"),
    named_in: "contracts/programs/token/signed_verifier/src/generated_air_class.cairo",
    constant: "SIGNED_AIR_CLASS_HASH",
}];

/// The token's list program (`zkthread_token::list_prover`: one signature per list of a
/// sender's transfers, the same statement and [`PARAMS`]): its Cairo verifier
/// (`contracts/programs/token/list_verifier`). The `bench` commands run it (`--program list`);
/// batch/prove/settle and the service still run [`VERIFIER`].
pub const LIST_VERIFIER: (&str, &str) = ("list_verifier", "ListVerifier");

/// The classes [`LIST_VERIFIER`] library-calls: the list AIR's composition (`ListAir`), named by
/// the constant `ZKTHREAD_WRITE_LIST_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test
/// list_classes` keeps fresh.
pub const LIST_VERIFIER_LIBRARIES: &[LibraryClass] = &[LibraryClass {
    class: ("list_air", "ListAir"),
    named_in: "contracts/programs/token/list_verifier/src/generated_air_class.cairo",
    constant: "LIST_AIR_CLASS_HASH",
}];

/// The token programs this batcher proves, each named on-chain by its verifier's class hash
/// (a thread's `program_hash`): the engine refuses to batch a thread of another program, and
/// the CLI picks a thread's message (one transfer or a list) by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenProgram {
    /// One signature per transfer ([`VERIFIER`]).
    Signed,
    /// One signature per list of a sender's transfers ([`LIST_VERIFIER`]).
    List,
}

impl TokenProgram {
    pub const ALL: [TokenProgram; 2] = [TokenProgram::Signed, TokenProgram::List];

    /// Its Cairo verifier: package and contract.
    pub fn verifier(self) -> (&'static str, &'static str) {
        match self {
            TokenProgram::Signed => VERIFIER,
            TokenProgram::List => LIST_VERIFIER,
        }
    }

    /// Its verifier's class hash: the `program_hash` of its threads (pinned in
    /// `generated_verifier_classes.rs`, kept fresh by the air-codegen size tests).
    pub fn program_hash(self) -> Felt {
        match self {
            TokenProgram::Signed => crate::generated_verifier_classes::SIGNED_VERIFIER_CLASS_HASH,
            TokenProgram::List => crate::generated_verifier_classes::LIST_VERIFIER_CLASS_HASH,
        }
    }

    /// The token program a thread's `program_hash` names, if it is one of these.
    pub fn of(program_hash: Felt) -> Option<TokenProgram> {
        Self::ALL.into_iter().find(|p| p.program_hash() == program_hash)
    }

    /// `signed` or `list`, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            TokenProgram::Signed => "signed",
            TokenProgram::List => "list",
        }
    }
}

impl std::fmt::Display for TokenProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The classes the order book's verifier (`crate::orderbook::ORDERBOOK_VERIFIER`)
/// library-calls: its AIR classes `OrderBookFillAir` and `OrderBookAir`
/// (`contracts/programs/orderbook/orderbook_air`: the compiled constraints take two classes), named by the
/// constants `ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test
/// orderbook_verifier_fresh` keeps fresh.
pub const ORDERBOOK_VERIFIER_LIBRARIES: &[LibraryClass] = &[
    LibraryClass {
        class: ("orderbook_air", "OrderBookFillAir"),
        named_in: "contracts/programs/orderbook/orderbook_verifier/src/generated_air_class.cairo",
        constant: "ORDERBOOK_FILL_AIR_CLASS_HASH",
    },
    LibraryClass {
        class: ("orderbook_air", "OrderBookAir"),
        named_in: "contracts/programs/orderbook/orderbook_verifier/src/generated_air_class.cairo",
        constant: "ORDERBOOK_AIR_CLASS_HASH",
    },
];

/// The classes the verifier class `verifier` library-calls ([`VERIFIER_LIBRARIES`] for
/// [`VERIFIER`], [`LIST_VERIFIER_LIBRARIES`] for [`LIST_VERIFIER`],
/// [`ORDERBOOK_VERIFIER_LIBRARIES`] for the order book's; none for a verifier that calls
/// nothing).
pub fn libraries_of(verifier: (&str, &str)) -> &'static [LibraryClass] {
    if verifier == VERIFIER {
        VERIFIER_LIBRARIES
    } else if verifier == LIST_VERIFIER {
        LIST_VERIFIER_LIBRARIES
    } else if verifier == crate::orderbook::ORDERBOOK_VERIFIER {
        ORDERBOOK_VERIFIER_LIBRARIES
    } else {
        &[]
    }
}

/// The class hash a generated constant file names as `constant` (`pub const {constant}:
/// felt252 = 0x...;`), if it names one.
pub fn named_class_hash(source: &str, constant: &str) -> Option<Felt> {
    let (_, rest) = source.split_once(&format!("pub const {constant}: felt252 = "))?;
    let (hex, _) = rest.split_once(';')?;
    Felt::from_hex(hex.trim()).ok()
}

/// A thread program as the engine's settle and reconcile drive it, named by its message type
/// (the store's record of one of its transactions): what settle checks off-chain before it
/// pays for a settlement. The token's [`NewTransfer`] is one; the order book's
/// `orderbook::StoredOrder` another.
pub trait ProgramMessage: MessageBody + Send + Sync + 'static {
    /// Decodes a stored proof (the program's proof felts) and verifies it off-chain against the
    /// sub-block's statement at the program's parameters: `Ok(false)` when it does not verify,
    /// an error when the stored felts are not a proof at all.
    fn verify_proof(statement: &SignedPublicInput, proof: &[Felt]) -> Result<bool>;
}

impl ProgramMessage for NewTransfer {
    fn verify_proof(statement: &SignedPublicInput, proof: &[Felt]) -> Result<bool> {
        let proof = poseidon252::from_felts(proof).map_err(EngineError::Decode)?;
        Ok(verified(poseidon252::verify(statement, &proof, &PARAMS), "the stored proof"))
    }
}

/// The token's list program: a thread of [`LIST_VERIFIER`] keeps [`NewTransferList`]s, and its
/// stored proofs are list proofs at either set `ListVerifier` accepts (the one each names).
impl ProgramMessage for NewTransferList {
    fn verify_proof(statement: &SignedPublicInput, proof: &[Felt]) -> Result<bool> {
        let proof = list_poseidon252::from_felts(proof).map_err(EngineError::Decode)?;
        Ok(verified(list_poseidon252::verify_accepted(statement, &proof), "the stored list proof"))
    }
}

/// Whether an off-chain verification passed; why it did not is logged, naming `what`.
fn verified(verdict: std::result::Result<(), SignedVerifyError>, what: &str) -> bool {
    match verdict {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "{what} does not verify off-chain");
            false
        }
    }
}

/// The statement of a thread's next sub-block before its slot lists are known: the thread's
/// record in the registry (OS version, program, contract set, next sequence) and where it
/// lives (chain, registry, thread id), which every signature's domain covers.
pub fn thread_statement(
    info: &ThreadInfo,
    chain_id: Felt,
    registry: Felt,
    thread_id: u64,
) -> SignedPublicInput {
    SignedPublicInput {
        os_version: info.os_version,
        program_hash: info.program_hash,
        chain_id,
        registry,
        thread_id: Felt::from(thread_id),
        sequence: Felt::from(info.sequence),
        contract_set_commitment: info.contract_set_commitment,
        transactions: Default::default(),
        inputs: vec![],
        outputs: vec![],
    }
}

/// A token sub-block proven by [`prove_program`].
pub struct ProvenSubBlock<Proof = poseidon252::Proof> {
    pub proof: Proof,
    /// Time the prover took.
    pub elapsed: Duration,
    /// Rows of the largest component (log2).
    pub log_rows: u32,
}

/// Proves a sub-block of the token program `M` at `params` (one of `M`'s accepted sets,
/// [`TokenMessage::params_for`]) on a blocking thread (proving takes seconds to minutes and
/// must not stall the async runtime).
pub async fn prove_program<M: TokenMessage>(
    statement: SignedPublicInput,
    owners: Vec<Felt>,
    witness: M::Witness,
    params: StarkParams,
) -> Result<ProvenSubBlock<M::Proof>> {
    let (proof, elapsed) = prove_blocking(move || M::prove(&statement, &owners, &witness, &params)).await?;
    let log_rows = M::log_rows(&proof);
    Ok(ProvenSubBlock { proof, elapsed, log_rows })
}

/// Runs `prove` on a blocking thread and times it.
async fn prove_blocking<P: Send + 'static>(
    prove: impl FnOnce() -> std::result::Result<P, SignedProveError> + Send + 'static,
) -> Result<(P, Duration)> {
    let (proof, elapsed) = tokio::task::spawn_blocking(move || {
        let began = Instant::now();
        prove().map(|proof| (proof, began.elapsed()))
    })
    .await
    .map_err(|error| EngineError::ProverTask(error.to_string()))?
    .map_err(EngineError::Prove)?;
    Ok((proof, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkthread_token::prover::signed_air_digest;
    use zkthread_prover::ThreadChannel;

    #[test]
    fn the_proven_parameters_are_secure_and_named_by_the_air_digest() {
        assert!(PARAMS.security_bits() >= 96);
        let other = StarkParams {
            n_queries: PARAMS.n_queries + 1,
            ..PARAMS
        };
        assert_ne!(
            signed_air_digest(&other, Channel::NAME),
            signed_air_digest(&PARAMS, Channel::NAME)
        );
    }

    /// A signed list goes through the store's form unchanged, its proof (a real one, at each
    /// of the list program's two parameter sets) is checked off-chain against the sub-block's
    /// statement: it verifies, one changed output does not, garbage is an error, the signed
    /// program's check does not take it, and neither does the list's at a third set.
    #[test]
    fn a_stored_list_round_trips_and_its_proof_is_checked_off_chain() {
        use std::collections::BTreeMap;
        use zkthread_prover::{contract_set_commitment, Slot};
        use zkthread_sig::domain::pack_key_slot;
        use zkthread_sig::wots::{commitment, KeySeed};
        use zkthread_sig::{balance_slot_key, thread_key_slot_key, M31};
        use zkthread_token::list_batcher::SignedTransferListTx;
        use zkthread_token::SignedBatcher;

        let (token, alice, bob) = (Felt::from(0x70c3a1_u64), Felt::from(0xa11ce_u64), Felt::from(0xb0b_u64));
        let seed = KeySeed::from_elements(std::array::from_fn(|i| M31::reduce(i as u32 + 11)));
        let statement = SignedPublicInput {
            os_version: Felt::ONE,
            program_hash: Felt::from(0x5eed_u64),
            chain_id: Felt::from_bytes_be_slice(b"SN_SEPOLIA"),
            registry: Felt::from(0x4e6_u64),
            thread_id: Felt::ONE,
            sequence: Felt::ZERO,
            contract_set_commitment: contract_set_commitment(&[token]),
            transactions: Default::default(),
            inputs: vec![],
            outputs: vec![],
        };
        let tx = SignedTransferListTx::sign(token, alice, vec![(bob, 300), (bob, 20)], 1, &seed, 0, &statement)
            .expect("signs");
        let stored = zkthread_store::Message { id: 9, body: crate::codec::new_transfer_list(&tx) };
        assert_eq!(crate::codec::signed_list(&stored).as_ref(), Some(&tx), "the store's form loses nothing");
        let mut bent = stored.clone();
        bent.body.auth.key[0] = (1 << 31) - 1;
        assert!(crate::codec::signed_list(&bent).is_none(), "a non-canonical word is no signed list");

        let slot = |key| Slot { contract: token, key };
        let state: BTreeMap<Slot, Felt> = [
            (slot(balance_slot_key(alice)), Felt::from(1_000_u64)),
            (slot(thread_key_slot_key(alice)), pack_key_slot(&commitment(&seed, 0).unwrap(), 1).unwrap()),
        ]
        .into_iter()
        .collect();
        let batch = SignedBatcher::new(statement.clone(), [token])
            .batch_lists(&[tx], |s| Some(state.get(s).copied().unwrap_or(Felt::ZERO)))
            .expect("batches");
        let sb = batch.sub_block;
        let pi = sb.statement(&statement);
        let proof = list_poseidon252::prove(&pi, &sb.owners, &sb.entries, &PARAMS).expect("proves");
        let felts = list_poseidon252::to_felts(&proof);
        assert!(NewTransferList::verify_proof(&pi, &felts).unwrap());
        let mut forged = pi.clone();
        forged.outputs[0].value += Felt::ONE;
        assert!(!NewTransferList::verify_proof(&forged, &felts).unwrap());
        assert!(matches!(NewTransferList::verify_proof(&pi, &felts[..7]), Err(EngineError::Decode(_))));
        assert!(!matches!(NewTransfer::verify_proof(&pi, &felts), Ok(true)), "not a signed-program proof");

        // The fast set: chosen for this small sub-block when asked for, never for the signed
        // program; its stored proof is checked at the set it names, and a proof at 96-bit
        // parameters `ListVerifier` does not accept is refused.
        use crate::token::TokenMessage;
        use zkthread_token::list_prover::LIST_FAST_PARAMS;
        assert_eq!(NewTransferList::params_for(ProofParams::Fast, &sb.entries), LIST_FAST_PARAMS);
        assert_eq!(NewTransferList::params_for(ProofParams::Compact, &sb.entries), PARAMS);
        assert_eq!(NewTransfer::params_for(ProofParams::Fast, &Vec::new()), PARAMS);
        let fast = list_poseidon252::prove(&pi, &sb.owners, &sb.entries, &LIST_FAST_PARAMS).expect("proves");
        let felts = list_poseidon252::to_felts(&fast);
        assert!(NewTransferList::verify_proof(&pi, &felts).unwrap());
        assert!(!NewTransferList::verify_proof(&forged, &felts).unwrap());
        let other = StarkParams { log_blowup: 3, n_queries: 27, pow_bits: 15, ..PARAMS };
        assert!(other.security_bits() >= 96);
        let unaccepted = list_poseidon252::prove(&pi, &sb.owners, &sb.entries, &other).expect("proves");
        assert!(!NewTransferList::verify_proof(&pi, &list_poseidon252::to_felts(&unaccepted)).unwrap());
        // Past 2^10 permutations the fast set's proof could not settle: the first set.
        let many = vec![sb.entries[0].clone(); FAST_PROOF_MAX_PERMUTATIONS / sb.entries[0].permutations() + 1];
        assert_eq!(NewTransferList::params_for(ProofParams::Fast, &many), PARAMS);
    }

    #[test]
    fn the_named_class_hash_is_read_from_the_generated_constant() {
        let source = "/// doc\npub const SIGNED_AIR_CLASS_HASH: felt252 = 0x35bb;\n";
        assert_eq!(named_class_hash(source, "SIGNED_AIR_CLASS_HASH"), Some(Felt::from(0x35bb_u64)));
        assert_eq!(named_class_hash("pub const X: felt252 = nope;", "X"), None);
        assert_eq!(named_class_hash("no constant", "X"), None);
        // Two constants in one file: each by its own name, not the first one's.
        let two = "pub const A_CLASS_HASH: felt252 = 0x1;\npub const B_CLASS_HASH: felt252 = 0x2;\n";
        assert_eq!(named_class_hash(two, "B_CLASS_HASH"), Some(Felt::from(2_u64)));
        assert_eq!(named_class_hash(two, "A_CLASS_HASH"), Some(Felt::from(1_u64)));
        assert_eq!(named_class_hash(two, "C_CLASS_HASH"), None);
        assert_eq!(libraries_of(VERIFIER), VERIFIER_LIBRARIES);
        assert_eq!(libraries_of(LIST_VERIFIER), LIST_VERIFIER_LIBRARIES);
        assert_eq!(libraries_of(crate::orderbook::ORDERBOOK_VERIFIER), ORDERBOOK_VERIFIER_LIBRARIES);
        assert!(libraries_of(("thread_verifier", "ThreadVerifier")).is_empty());
    }
}
