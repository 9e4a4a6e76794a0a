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
    let slot = SlotEntry { contract: Felt::ONE, key: Felt::TWO, value: Felt::THREE };
    let body = NewSubBlock {
        sequence,
        chain_id: Felt::ONE,
        os_version: Felt::ONE,
        program_hash: Felt::TWO,
        contract_set_commitment: Felt::THREE,
        messages: messages.to_vec(),
        transactions: Default::default(),
        inputs: vec![slot; inputs],
        outputs: vec![slot; outputs],
        parent_attempt,
        closed_block_at_build: None,
    };
    store.record_batch(key, body, vec![])
}
