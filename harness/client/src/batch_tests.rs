//! `storage_many` / `call_many` against a scripted node on loopback: answers out of order are
//! put back in order, and a node that answers a batch short or refuses JSON arrays is read one
//! request at a time (and no longer sent batches).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::scripted_node::scripted_reader;
use super::{ChainReader, Felt};

/// How the scripted node answers a JSON-RPC batch (single requests are always answered).
#[derive(Clone, Copy)]
enum Batches {
    /// Every answer, in reverse order.
    Reversed,
    /// Every answer but the last.
    Short,
    /// One error object instead of an array, as endpoints without batch support answer.
    Refused,
}

#[derive(Default)]
struct Seen {
    batches: AtomicUsize,
    singles: AtomicUsize,
}

/// A read's answer: storage `key` holds `3 key + 1`; a call answers `[2 calldata[0]]`.
fn answer(request: &Value) -> Value {
    let felt = |v: &Value| Felt::from_hex(v.as_str().expect("a hex felt")).expect("a felt");
    let result = match request["method"].as_str() {
        Some("starknet_getStorageAt") => json!(format!("{:#x}", felt(&request["params"]["key"]) * Felt::THREE + Felt::ONE)),
        Some("starknet_call") => json!([format!("{:#x}", felt(&request["params"]["request"]["calldata"][0]) * Felt::TWO)]),
        other => panic!("unexpected method {other:?}"),
    };
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
}

fn respond(body: &Value, batches: Batches, seen: &Seen) -> Value {
    match body {
        Value::Array(requests) => {
            seen.batches.fetch_add(1, Ordering::SeqCst);
            let mut answers: Vec<Value> = requests.iter().map(answer).collect();
            match batches {
                Batches::Reversed => answers.reverse(),
                Batches::Short => {
                    answers.pop();
                }
                Batches::Refused => {
                    return json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "batch requests are not supported"}})
                }
            }
            Value::Array(answers)
        }
        single => {
            seen.singles.fetch_add(1, Ordering::SeqCst);
            answer(single)
        }
    }
}

/// A node on loopback answering as `batches` says; its URL and what it was sent.
async fn scripted_node(batches: Batches) -> (ChainReader, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    let reader = scripted_reader(move |request| respond(request, batches, &counts)).await;
    (reader, seen)
}

fn slots(n: u64) -> Vec<(Felt, Felt)> {
    (0..n).map(|i| (Felt::from(0x1234u64), Felt::from(1_000 + i))).collect()
}

fn expected(slots: &[(Felt, Felt)]) -> Vec<Felt> {
    slots.iter().map(|(_, key)| *key * Felt::THREE + Felt::ONE).collect()
}

#[tokio::test]
async fn answers_out_of_order_come_back_in_request_order() {
    let (reader, seen) = scripted_node(Batches::Reversed).await;
    // Two batches and a part of one.
    let asked = slots(2 * super::READS_PER_BATCH as u64 + 3);
    assert_eq!(reader.storage_many(&asked).await.expect("reads"), expected(&asked));
    let calls: Vec<_> = (1..=5u64).map(|i| (Felt::from(9u64), "balance_of", vec![Felt::from(i)])).collect();
    let answers = reader.call_many(&calls).await.expect("calls");
    assert_eq!(answers, (1..=5u64).map(|i| vec![Felt::from(2 * i)]).collect::<Vec<_>>());
    assert_eq!((seen.batches.load(Ordering::SeqCst), seen.singles.load(Ordering::SeqCst)), (4, 0));
}

#[tokio::test]
async fn a_short_or_refused_batch_is_read_one_request_at_a_time() {
    for batches in [Batches::Short, Batches::Refused] {
        let (reader, seen) = scripted_node(batches).await;
        let asked = slots(10);
        assert_eq!(reader.storage_many(&asked).await.expect("reads"), expected(&asked), "never paired wrongly");
        assert_eq!((seen.batches.load(Ordering::SeqCst), seen.singles.load(Ordering::SeqCst)), (1, 10));
        // From then on (clones too) one request at a time, without trying a batch.
        let again = slots(4);
        assert_eq!(reader.clone().storage_many(&again).await.expect("reads"), expected(&again));
        assert_eq!((seen.batches.load(Ordering::SeqCst), seen.singles.load(Ordering::SeqCst)), (1, 14));
    }
}
