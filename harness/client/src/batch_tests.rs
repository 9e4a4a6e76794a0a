//! `storage_many` / `call_many` against a scripted node on loopback: answers out of order are
//! put back in order, and a node that answers a batch short or refuses JSON arrays is read one
//! request at a time (and no longer sent batches).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use starknet::providers::jsonrpc::HttpTransport;
use starknet::providers::JsonRpcClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

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
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let counts = counts.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    // Headers, then a body of Content-Length bytes; keep-alive until closed.
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().expect("a length");
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.expect("the body");
                    let request: Value = serde_json::from_slice(&body).expect("JSON");
                    let reply = respond(&request, batches, &counts).to_string();
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", reply.len());
                    let stream = stream.get_mut();
                    stream.write_all(head.as_bytes()).await.expect("writes");
                    stream.write_all(reply.as_bytes()).await.expect("writes");
                }
            });
        }
    });
    let provider = Arc::new(JsonRpcClient::new(HttpTransport::new(url.parse::<url::Url>().expect("a URL"))));
    (ChainReader::from_parts(provider, Felt::ONE), seen)
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
