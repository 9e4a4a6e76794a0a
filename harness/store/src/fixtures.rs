//! Test fixtures (feature `test-fixtures`: only the workspace's dev-dependencies turn it on, so
//! nothing shipped builds this module).

use crate::{Felt, Message, MessageBody, NewSubBlock, Result, SlotEntry, Store, SubBlock, ThreadKey};

/// Records `messages` as a Built sub-block `sequence` whose body is a placeholder: small
/// constants for the chain, OS version, program and contract set, and `inputs` / `outputs`
/// copies of one slot. No prover accepts it and the batcher would never build it: it is what
/// the tests of a sub-block the prover fails on start from.
pub fn record_placeholder_sub_block<M: MessageBody>(
    store: &Store<M>,
    key: ThreadKey,
    sequence: u64,
    messages: &[Message<M>],
    (inputs, outputs): (usize, usize),
    parent_attempt: Option<u32>,
) -> Result<SubBlock<M>>
where
    Message<M>: Clone,
{
    let body = NewSubBlock {
        inputs: vec![PLACEHOLDER_SLOT; inputs],
        outputs: vec![PLACEHOLDER_SLOT; outputs],
        parent_attempt,
        ..placeholder_body(sequence, messages.to_vec())
    };
    store.record_batch(key, body, vec![])
}

/// The slot of a placeholder body: contract 1, key 2, value 3.
pub const PLACEHOLDER_SLOT: SlotEntry = SlotEntry { contract: Felt::ONE, key: Felt::TWO, value: Felt::THREE };

/// The body [`record_placeholder_sub_block`] records (chain and OS version 1, program 2,
/// contract set 3), with one input and one output [`PLACEHOLDER_SLOT`], for a test to change
/// before recording it.
pub fn placeholder_body<M>(sequence: u64, messages: Vec<Message<M>>) -> NewSubBlock<M> {
    NewSubBlock {
        sequence,
        chain_id: Felt::ONE,
        os_version: Felt::ONE,
        program_hash: Felt::TWO,
        contract_set_commitment: Felt::THREE,
        messages,
        transactions: Default::default(),
        inputs: vec![PLACEHOLDER_SLOT],
        outputs: vec![PLACEHOLDER_SLOT],
        parent_attempt: None,
        closed_block_at_build: None,
    }
}
