//! A settlement is recorded on a receipt in a closed block only (helper-81 F10): against a
//! scripted node whose receipt sits in its pre-confirmed block, `wait_for_receipt` and
//! `lookup_transaction` wait for the block to close, and fail with `NotClosed` if it does not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::scripted_node::scripted_reader;
use super::{ChainReader, ClientError, Felt, Finality, TxLookup, TxStatus};

const HASH: u64 = 0x5e771e;

/// The settle receipt, pre-confirmed or in closed block 7.
fn receipt(closed: bool) -> Value {
    let mut receipt = json!({
        "type": "INVOKE",
        "transaction_hash": format!("{HASH:#x}"),
        "actual_fee": {"amount": "0x10", "unit": "FRI"},
        "execution_status": "SUCCEEDED",
        "finality_status": if closed { "ACCEPTED_ON_L2" } else { "PRE_CONFIRMED" },
        "messages_sent": [],
        "events": [],
        "execution_resources": {"l1_gas": 1, "l1_data_gas": 2, "l2_gas": 3},
        "block_number": 7
    });
    if closed {
        receipt["block_hash"] = json!("0xb10c");
    }
    receipt
}

/// A node whose receipt of [`HASH`] is pre-confirmed for its first `pre_confirmed` answers,
/// then in a closed block; and how many receipts it was asked for.
async fn node(pre_confirmed: usize) -> (ChainReader, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    let mut reader = scripted_reader(move |request| {
        let result = match request["method"].as_str() {
            Some("starknet_getTransactionStatus") => json!({"finality_status": "PRE_CONFIRMED", "execution_status": "SUCCEEDED"}),
            Some("starknet_getTransactionReceipt") => receipt(count.fetch_add(1, Ordering::SeqCst) >= pre_confirmed),
            other => panic!("unexpected method {other:?}"),
        };
        json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
    })
    .await;
    reader.set_receipt_timeout(Duration::from_millis(400));
    (reader, asked)
}

#[tokio::test]
async fn a_receipt_is_taken_once_its_block_closes() {
    let (reader, asked) = node(3).await;
    let outcome = reader.wait_for_receipt(Felt::from(HASH)).await.expect("closed after three polls");
    assert_eq!((outcome.status, outcome.block_number), (TxStatus::Succeeded, 7));
    assert_eq!(asked.load(Ordering::SeqCst), 4, "the three pre-confirmed answers were not taken");

    let (reader, asked) = node(2).await;
    match reader.lookup_transaction(Felt::from(HASH)).await.expect("a lookup") {
        TxLookup::Known(outcome) => assert_eq!(outcome.block_number, 7),
        TxLookup::NotFound => panic!("the node knows it"),
    }
    assert_eq!(asked.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_receipt_only_ever_pre_confirmed_is_not_final() {
    let (reader, _) = node(usize::MAX).await;
    for waited in [
        reader.wait_for_receipt(Felt::from(HASH)).await,
        reader.lookup_transaction(Felt::from(HASH)).await.map(|_| panic!("not known as final")),
    ] {
        match waited {
            Err(ClientError::NotClosed { block_number: 7, waited, .. }) => assert!(waited >= Duration::from_millis(400)),
            other => panic!("expected NotClosed: {other:?}"),
        }
    }
    // A step that only reads the state it leaves (a deployment, a key registration) takes it.
    let outcome = reader
        .wait_for_receipt_since(Felt::from(HASH), Instant::now(), Finality::PreConfirmed)
        .await
        .expect("pre-confirmed is enough here");
    assert_eq!(outcome.block_number, 7);
}
