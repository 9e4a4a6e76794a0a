//! The token's two programs as the engine's [`batch`](crate::batch) and
//! [`prove`](crate::prove) drive them, named by their stored message:
//!
//! - [`NewTransfer`]: the signed program (`SignedVerifier`), one signature per transfer;
//! - [`NewTransferList`]: the list program (`ListVerifier`), one signature per list of a
//!   sender's transfers (a key step per list, not per transfer).
//!
//! Both batch against the same ledger rules (`zkthread_token::SignedBatcher`), prove the same
//! statement (at [`PARAMS`], or a list sub-block at the fast set `ListVerifier` also accepts:
//! [`ProofParams`]), and settle the same way; only the message, its slots and the proof differ. A thread's store holds one program's messages (the store refuses the
//! other's), so a thread never mixes them.

use zkthread_client::Felt;
use zkthread_prover::{Slot, SlotValue, StarkParams};
use zkthread_sig::TxListCommitment;
use zkthread_store::{Message, NewTransfer, NewTransferList};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::list_prover::{poseidon252 as list_poseidon252, LIST_FAST_PARAMS};
use zkthread_token::witness::SignedListRow;
use zkthread_token::{
    poseidon252, SignedBatchError, SignedBatcher, SignedProveError, SignedPublicInput, SignedRejection, SignedRow,
    SignedTransferTx, SignedVerifyError,
};

use crate::batch::{list_slots_of, slots_of};
use crate::codec::{signed_list, signed_tx};
use crate::program::{ProgramMessage, ProofParams, TokenProgram, FAST_PROOF_MAX_PERMUTATIONS, PARAMS};

/// A sub-block as a token program's batcher built it: its lists, slot owners and the prover's
/// witness, with what it refused and how many messages it looked at.
#[derive(Clone, Debug)]
pub struct Batched<W> {
    pub inputs: Vec<SlotValue>,
    pub outputs: Vec<SlotValue>,
    /// Owner of each input slot, in input order.
    pub owners: Vec<Felt>,
    pub transactions: TxListCommitment,
    pub witness: W,
    pub rejected: Vec<SignedRejection>,
    /// Messages from the front that the batcher accepted or refused; the rest did not fit
    /// one proof and stay pending.
    pub taken: usize,
}

impl<W> Batched<W> {
    /// The public input of this sub-block in `thread`'s thread (its identity fields; the
    /// lists and the transaction list are this sub-block's).
    pub fn statement(&self, thread: &SignedPublicInput) -> SignedPublicInput {
        thread.with_lists(self.transactions, &self.inputs, &self.outputs)
    }
}

/// Transfers `messages` carry (a list counts each of its own).
pub fn transfers_in<M: TokenMessage>(messages: &[Message<M>]) -> usize {
    messages.iter().map(|m| m.body.transfer_count()).sum()
}

/// A token program's stored message, as the engine batches and proves it.
pub trait TokenMessage: ProgramMessage {
    /// The typed, signed message the batcher checks.
    type Tx: Clone + std::fmt::Debug + Send + Sync + 'static;
    /// The prover's rows of a sub-block (the signature traces are recomputed, never stored).
    type Witness: Clone + std::fmt::Debug + Send + 'static;
    type Proof: Send + 'static;

    /// The program whose verifier proves this message's threads.
    const TOKEN_PROGRAM: TokenProgram;
    /// What one message is called in progress lines ("signed transfer", "signed list").
    const NOUN: &'static str;
    /// The most transfers one proof holds (the batcher defers what does not fit).
    const MAX_TRANSFERS_PER_PROOF: usize;

    /// Transfers this message carries (what `Limits::max_transfers` counts).
    fn transfer_count(&self) -> usize;
    /// The stored message with its signature, typed; `None` for a record whose words are not
    /// canonical or that carries no signature.
    fn signed(stored: &Message<Self>) -> Option<Self::Tx>;
    fn token(tx: &Self::Tx) -> Felt;
    /// The account whose key signed it and whose balance pays.
    fn sender(tx: &Self::Tx) -> Felt;
    /// Transfers a typed message carries.
    fn tx_transfers(tx: &Self::Tx) -> usize;
    /// Every slot the message touches (its sender's balance and key slot, its receivers').
    fn slots(tx: &Self::Tx) -> Vec<Slot>;
    /// Batches `txs` in order against `current` (a slot's value now).
    fn batch(
        batcher: &SignedBatcher,
        txs: &[Self::Tx],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<Batched<Self::Witness>, SignedBatchError>;
    /// The parameters a sub-block with `witness` is proven at when `choice` is asked for: one
    /// of the sets the program's verifier accepts ([`PARAMS`] unless the program has another
    /// and the sub-block is small enough for it).
    fn params_for(choice: ProofParams, witness: &Self::Witness) -> StarkParams;
    /// Proves a sub-block at `params` (blocking: seconds to minutes).
    fn prove(
        statement: &SignedPublicInput,
        owners: &[Felt],
        witness: &Self::Witness,
        params: &StarkParams,
    ) -> Result<Self::Proof, SignedProveError>;
    /// Verifies a proof off-chain at the accepted set it was made at, as the program's verifier
    /// class does.
    fn verify(statement: &SignedPublicInput, proof: &Self::Proof) -> Result<(), SignedVerifyError>;
    /// The proof as the verifier's calldata.
    fn to_felts(proof: &Self::Proof) -> Vec<Felt>;
    /// Rows of the proof's largest component (log2).
    fn log_rows(proof: &Self::Proof) -> u32;
}

impl TokenMessage for NewTransfer {
    type Tx = SignedTransferTx;
    type Witness = Vec<SignedRow>;
    type Proof = poseidon252::Proof;

    const TOKEN_PROGRAM: TokenProgram = TokenProgram::Signed;
    const NOUN: &'static str = "signed transfer";
    const MAX_TRANSFERS_PER_PROOF: usize = zkthread_token::MAX_TRANSFERS_PER_PROOF;

    fn transfer_count(&self) -> usize {
        1
    }

    fn signed(stored: &Message<Self>) -> Option<SignedTransferTx> {
        signed_tx(stored)
    }

    fn token(tx: &SignedTransferTx) -> Felt {
        tx.token
    }

    fn sender(tx: &SignedTransferTx) -> Felt {
        tx.from
    }

    fn tx_transfers(_: &SignedTransferTx) -> usize {
        1
    }

    fn slots(tx: &SignedTransferTx) -> Vec<Slot> {
        slots_of(tx).to_vec()
    }

    fn batch(
        batcher: &SignedBatcher,
        txs: &[SignedTransferTx],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<Batched<Vec<SignedRow>>, SignedBatchError> {
        let batch = batcher.batch(txs, current)?;
        let sb = batch.sub_block;
        Ok(Batched {
            inputs: sb.inputs,
            outputs: sb.outputs,
            owners: sb.owners,
            transactions: sb.transactions,
            witness: sb.rows,
            rejected: batch.rejected,
            taken: txs.len() - batch.deferred.len(),
        })
    }

    /// `SignedVerifier` accepts one set.
    fn params_for(_: ProofParams, _: &Vec<SignedRow>) -> StarkParams {
        PARAMS
    }

    fn prove(
        statement: &SignedPublicInput,
        owners: &[Felt],
        rows: &Vec<SignedRow>,
        params: &StarkParams,
    ) -> Result<Self::Proof, SignedProveError> {
        poseidon252::prove(statement, owners, rows, params)
    }

    fn verify(statement: &SignedPublicInput, proof: &Self::Proof) -> Result<(), SignedVerifyError> {
        poseidon252::verify(statement, proof, &PARAMS)
    }

    fn to_felts(proof: &Self::Proof) -> Vec<Felt> {
        poseidon252::to_felts(proof)
    }

    fn log_rows(proof: &Self::Proof) -> u32 {
        proof.log_sizes.iter().copied().max().unwrap_or(0)
    }
}

impl TokenMessage for NewTransferList {
    type Tx = SignedTransferListTx;
    type Witness = Vec<SignedListRow>;
    type Proof = list_poseidon252::Proof;

    const TOKEN_PROGRAM: TokenProgram = TokenProgram::List;
    const NOUN: &'static str = "signed list";
    /// One list alone at the proof's permutation budget (`SignedRejection::ListTooLong`'s
    /// bound): several lists hold fewer, and the batcher defers the list that does not fit.
    const MAX_TRANSFERS_PER_PROOF: usize = zkthread_token::list_prover::MAX_LIST_TRANSFERS;

    fn transfer_count(&self) -> usize {
        self.transfers.len()
    }

    fn signed(stored: &Message<Self>) -> Option<SignedTransferListTx> {
        signed_list(stored)
    }

    fn token(tx: &SignedTransferListTx) -> Felt {
        tx.token
    }

    fn sender(tx: &SignedTransferListTx) -> Felt {
        tx.from
    }

    fn tx_transfers(tx: &SignedTransferListTx) -> usize {
        tx.transfers.len()
    }

    fn slots(tx: &SignedTransferListTx) -> Vec<Slot> {
        list_slots_of(tx)
    }

    fn batch(
        batcher: &SignedBatcher,
        txs: &[SignedTransferListTx],
        current: impl Fn(&Slot) -> Option<Felt>,
    ) -> Result<Batched<Vec<SignedListRow>>, SignedBatchError> {
        let batch = batcher.batch_lists(txs, current)?;
        let sb = batch.sub_block;
        Ok(Batched {
            inputs: sb.inputs,
            outputs: sb.outputs,
            owners: sb.owners,
            transactions: sb.transactions,
            witness: sb.entries,
            rejected: batch.rejected,
            taken: txs.len() - batch.deferred.len(),
        })
    }

    /// The fast set where the sub-block's permutations fit [`FAST_PROOF_MAX_PERMUTATIONS`].
    fn params_for(choice: ProofParams, lists: &Vec<SignedListRow>) -> StarkParams {
        let permutations: usize = lists.iter().map(SignedListRow::permutations).sum();
        match choice {
            ProofParams::Fast if permutations <= FAST_PROOF_MAX_PERMUTATIONS => LIST_FAST_PARAMS,
            _ => PARAMS,
        }
    }

    fn prove(
        statement: &SignedPublicInput,
        owners: &[Felt],
        lists: &Vec<SignedListRow>,
        params: &StarkParams,
    ) -> Result<Self::Proof, SignedProveError> {
        list_poseidon252::prove(statement, owners, lists, params)
    }

    fn verify(statement: &SignedPublicInput, proof: &Self::Proof) -> Result<(), SignedVerifyError> {
        list_poseidon252::verify_accepted(statement, proof)
    }

    fn to_felts(proof: &Self::Proof) -> Vec<Felt> {
        list_poseidon252::to_felts(proof)
    }

    fn log_rows(proof: &Self::Proof) -> u32 {
        proof.log_sizes.iter().copied().max().unwrap_or(0)
    }
}
