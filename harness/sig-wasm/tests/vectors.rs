//! The exported functions, called natively through their C ABI, against the key file's own
//! signer (`Wallet::sign_transfer`, `Wallet::commitment`), and the committed vector file
//! `examples/vectors/sign.json` the JavaScript and Python clients check their WebAssembly build
//! against (`--self-check`): same requests, byte-identical answers.
//!
//! The vector file is what this test computes; after an intended change of the answers,
//! rewrite it with `ZKTHREAD_BLESS_VECTORS=1 cargo test -p zkthread-sig-wasm`.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};
use starknet_types_core::felt::Felt;
use zkthread_sig::domain::{account_id, pack_key_slot, transfer_domain};
use zkthread_sig::{ListedTransfer, SignedMessage, TransferDraft, TransferListMessage, Wallet};
use zkthread_sig_wasm::{
    alloc, dealloc, zkthread_key, zkthread_sign_transfer, zkthread_sign_transfer_list,
    zkthread_unpack_key_slot,
};

const SEED_A: [u32; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const SEED_B: [u32; 8] = [
    0x7fff_fffe,
    0,
    123_456_789,
    0x4000_0000,
    987_654_321,
    1,
    0x7fff_fffd,
    42,
];
/// What the devnet's chain id and deployed addresses look like (arbitrary but realistic).
const CHAIN_ID: &str = "0x534e5f5345504f4c4941";
const REGISTRY: &str = "0x5da3b4e1d3bcbe4a2d0e3c9a3a5f3f6e9f3c5e0d1b2a39485766a5b4c3d2e1f";
const TOKEN: &str = "0x7425f0b0c4a81e2d6c5f7a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4";
const ALICE: &str = "0x64b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691";
const BOB: &str = "0x78662e7352d062084b0010068b99288486c2d8b914f6e2a55ce945f8792c8b1";
/// The largest contract address (2^251 - 1).
const MAX_ADDRESS: &str = "0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn vector_path() -> PathBuf {
    // The run-time CARGO_MANIFEST_DIR first: a target directory shared by two checkouts can
    // carry the other checkout's compile-time value over (cargo relocates without rebuilding).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../examples/vectors/sign.json")
}

/// Calls an exported function exactly as a WebAssembly host does: request into a buffer from
/// `alloc`, answer framed as `[len u32 LE][JSON]`, both freed with `dealloc`.
fn call(f: unsafe extern "C" fn(*const u8, usize) -> *mut u8, request: &Value) -> Value {
    let bytes = serde_json::to_vec(request).unwrap();
    let ptr = alloc(bytes.len());
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        let answer = f(ptr, bytes.len());
        dealloc(ptr, bytes.len());
        let len =
            u32::from_le_bytes(std::slice::from_raw_parts(answer, 4).try_into().unwrap()) as usize;
        let text = std::slice::from_raw_parts(answer.add(4), len).to_vec();
        dealloc(answer, 4 + len);
        let value: Value = serde_json::from_slice(&text).unwrap();
        // The answer's bytes are the compact form of its value with its keys sorted (the
        // struct fields are declared in that order), so a host can compare them with the file's
        // answer re-serialized compactly, whatever order its JSON library keeps.
        assert_eq!(String::from_utf8(text).unwrap(), value.to_string());
        assert_keys_sorted(&value);
        value
    }
}

/// Every object's keys in sorted order (holds by construction without serde_json's
/// `preserve_order`, which the workspace enables for some crates: then it checks the bytes).
fn assert_keys_sorted(value: &Value) {
    match value {
        Value::Object(map) => {
            let keys: Vec<&String> = map.keys().collect();
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "keys out of order: {keys:?}"
            );
            map.values().for_each(assert_keys_sorted);
        }
        Value::Array(items) => items.iter().for_each(assert_keys_sorted),
        _ => {}
    }
}

fn sign_request(
    seed: [u32; 8],
    index: u32,
    thread_id: u64,
    from: &str,
    to: &str,
    amount: &str,
    nonce: u32,
) -> Value {
    json!({
        "seed": seed, "index": index, "chain_id": CHAIN_ID, "registry": REGISTRY,
        "thread_id": thread_id, "token": TOKEN, "from": from, "to": to,
        "amount": amount, "nonce": nonce,
    })
}

fn list_request(
    seed: [u32; 8],
    index: u32,
    thread_id: u64,
    from: &str,
    transfers: &[(&str, &str)],
    nonce: u32,
) -> Value {
    let transfers: Vec<Value> = transfers
        .iter()
        .map(|(to, amount)| json!({"to": to, "amount": amount}))
        .collect();
    json!({
        "seed": seed, "index": index, "chain_id": CHAIN_ID, "registry": REGISTRY,
        "thread_id": thread_id, "token": TOKEN, "from": from, "transfers": transfers,
        "nonce": nonce,
    })
}

/// A key file holding `seed` at `next_index`, in the format `zkthread key new` writes.
fn wallet_at(dir: &tempfile::TempDir, seed: [u32; 8], next_index: u32) -> Wallet {
    use std::os::unix::fs::OpenOptionsExt;
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.path().join(format!("key-{n}.json"));
    let body = json!({
        "version": 1, "scheme": "zkthread-ts-wots-poseidon2-m31/v1", "seed": seed, "next_index": next_index,
    });
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap()
        .write_all(body.to_string().as_bytes())
        .unwrap();
    Wallet::open(&path).unwrap()
}

/// The reference wallet of a sign request: a key file holding its seed, its index next.
fn requested_wallet(dir: &tempfile::TempDir, request: &Value) -> (Wallet, u32) {
    let seed: [u32; 8] = serde_json::from_value(request["seed"].clone()).unwrap();
    let index = request["index"].as_u64().unwrap() as u32;
    (wallet_at(dir, seed, index), index)
}

/// The transfer domain a sign request names (every vector's chain, registry and token).
fn requested_domain(request: &Value) -> zkthread_sig::wots::Hash4 {
    transfer_domain(
        felt(CHAIN_ID),
        felt(REGISTRY),
        Felt::from(request["thread_id"].as_u64().unwrap()),
        felt(TOKEN),
    )
}

/// The signer's answer carries exactly the reference wallet's signature of key `index`.
fn assert_answer_is<M: zkthread_sig::wots::Message>(answer: &Value, index: u32, signed: &SignedMessage<M>) {
    assert_eq!(signed.index, index);
    assert_eq!(answer["index"], index);
    assert_eq!(words(&answer["key"]), signed.key.to_u32());
    assert_eq!(words(&answer["next_key"]), signed.message.next_key().to_u32());
    assert_eq!(words(&answer["signature"]), signed.signature.to_u32());
}

fn felt(text: &str) -> Felt {
    Felt::from_hex(text).unwrap()
}

fn words(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn exported_functions_agree_with_the_wallet_and_the_committed_vectors() {
    let dir = tempfile::tempdir().unwrap();

    // Keys: the wallet's commitment, packed as `set_thread_key` takes it.
    let key_requests = [
        json!({"seed": SEED_A, "index": 0}),
        json!({"seed": SEED_A, "index": 1}),
        json!({"seed": SEED_B, "index": 2_147_483_646u32}),
        // Refused: a non-canonical seed word, an index that is no M31 element.
        json!({"seed": [1, 2, 3, 4, 5, 6, 7, 0x7fff_ffffu32], "index": 0}),
        json!({"seed": SEED_A, "index": 0x7fff_ffffu32}),
    ];
    let mut keys = Vec::new();
    for request in key_requests {
        let answer = call(zkthread_key, &request);
        if answer.get("error").is_none() {
            let seed: [u32; 8] = serde_json::from_value(request["seed"].clone()).unwrap();
            let index = request["index"].as_u64().unwrap() as u32;
            let expect = wallet_at(&dir, seed, 0).commitment(index).unwrap();
            assert_eq!(words(&answer["key"]), expect.to_u32());
            assert_eq!(
                felt(answer["packed"].as_str().unwrap()),
                pack_key_slot(&expect, 0).unwrap()
            );
        }
        keys.push(json!({"request": request, "answer": answer}));
    }
    assert!(keys[3]["answer"]["error"]
        .as_str()
        .unwrap()
        .contains("seed"));
    assert!(keys[4]["answer"]["error"].is_string());

    // Transfers: the wallet at next index `index` signs the same draft.
    let sign_requests = [
        sign_request(SEED_A, 0, 1, ALICE, BOB, "100", 0),
        // The next transfer of the same key file: signed under the key the first installs.
        sign_request(SEED_A, 1, 1, ALICE, BOB, "7", 1),
        // Extremes: the largest amount, the last nonce a key slot consumes (2^31 - 4) and
        // the largest address, and the largest thread id a JavaScript number holds exactly
        // (the clients refuse larger ones).
        sign_request(
            SEED_B,
            41,
            (1 << 53) - 1,
            MAX_ADDRESS,
            ALICE,
            "340282366920938463463374607431768211455",
            0x7fff_fffc,
        ),
        // Refused: nonce 2^31 - 1, the two exhausted nonces 2^31 - 3 and 2^31 - 2
        // (`zkthread_sig::check_signable`), the last index (no next key), an amount of 2^128,
        // a felt above the field prime.
        sign_request(SEED_A, 2, 1, ALICE, BOB, "1", 0x7fff_ffff),
        sign_request(SEED_A, 2, 1, ALICE, BOB, "1", 0x7fff_fffd),
        sign_request(SEED_A, 2, 1, ALICE, BOB, "1", 0x7fff_fffe),
        sign_request(SEED_A, 0x7fff_fffe, 1, ALICE, BOB, "1", 0),
        sign_request(
            SEED_A,
            2,
            1,
            ALICE,
            BOB,
            "340282366920938463463374607431768211456",
            0,
        ),
        sign_request(
            SEED_A,
            2,
            1,
            "0x800000000000011000000000000000000000000000000000000000000000001",
            BOB,
            "1",
            0,
        ),
    ];
    let mut signatures = Vec::new();
    for request in sign_requests {
        let answer = call(zkthread_sign_transfer, &request);
        if answer.get("error").is_none() {
            let (mut wallet, index) = requested_wallet(&dir, &request);
            let signed = wallet
                .sign_transfer(&TransferDraft {
                    domain: requested_domain(&request),
                    from: account_id(felt(request["from"].as_str().unwrap())),
                    to: zkthread_sig::account_id_wide(felt(request["to"].as_str().unwrap())),
                    amount: request["amount"].as_str().unwrap().parse().unwrap(),
                    nonce: request["nonce"].as_u64().unwrap() as u32,
                })
                .unwrap();
            assert_answer_is(&answer, index, &signed);
            // Deterministic: the same request gives the same signature.
            assert_eq!(call(zkthread_sign_transfer, &request), answer);
        }
        signatures.push(json!({"request": request, "answer": answer}));
    }
    // Consecutive transfers chain: the second is signed under the key the first installs.
    assert_eq!(
        signatures[1]["answer"]["key"],
        signatures[0]["answer"]["next_key"]
    );
    assert_eq!(signatures[1]["answer"]["key"], keys[1]["answer"]["key"]);
    for refused in &signatures[3..] {
        assert!(refused["answer"]["error"].is_string(), "{refused}");
    }
    for exhausted in &signatures[4..6] {
        assert!(exhausted["answer"]["error"].as_str().unwrap().contains("is exhausted"), "{exhausted}");
    }

    // Lists: the wallet at next index `index` signs the same `TransferListMessage`.
    let list_requests = [
        // The key file's third signature, after the two transfers above: a list of three, one
        // receiver twice.
        list_request(SEED_A, 2, 1, ALICE, &[(BOB, "5"), (MAX_ADDRESS, "6"), (BOB, "7")], 2),
        // A list of one with the fields of the extreme transfer above, at the largest amount a
        // list carries (2^120 - 1; the transfer's is 2^128 - 1).
        list_request(
            SEED_B,
            41,
            (1 << 53) - 1,
            MAX_ADDRESS,
            &[(ALICE, "1329227995784915872903807060280344575")],
            0x7fff_fffc,
        ),
        // Refused: an exhausted nonce, an empty list, an item's amount of 2^128, one of 2^120
        // (a list's limit), an item's receiver above the field prime, the last index (no next
        // key).
        list_request(SEED_A, 3, 1, ALICE, &[(BOB, "1")], 0x7fff_fffd),
        list_request(SEED_A, 3, 1, ALICE, &[], 3),
        list_request(
            SEED_A,
            3,
            1,
            ALICE,
            &[(BOB, "1"), (BOB, "340282366920938463463374607431768211456")],
            3,
        ),
        list_request(SEED_A, 3, 1, ALICE, &[(BOB, "1329227995784915872903807060280344576")], 3),
        list_request(
            SEED_A,
            3,
            1,
            ALICE,
            &[("0x800000000000011000000000000000000000000000000000000000000000001", "1")],
            3,
        ),
        list_request(SEED_A, 0x7fff_fffe, 1, ALICE, &[(BOB, "1")], 3),
    ];
    let mut lists = Vec::new();
    for request in list_requests {
        let answer = call(zkthread_sign_transfer_list, &request);
        if answer.get("error").is_none() {
            let (mut wallet, index) = requested_wallet(&dir, &request);
            let transfers = request["transfers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| ListedTransfer {
                    to: zkthread_sig::account_id_wide(felt(t["to"].as_str().unwrap())),
                    amount: t["amount"].as_str().unwrap().parse().unwrap(),
                })
                .collect();
            let signed = wallet
                .sign_next(&TransferListMessage {
                    domain: requested_domain(&request),
                    from: account_id(felt(request["from"].as_str().unwrap())),
                    transfers,
                    nonce: request["nonce"].as_u64().unwrap() as u32,
                    next_key: zkthread_sig::KeyCommitment::NONE,
                })
                .unwrap();
            assert_answer_is(&answer, index, &signed);
            assert_eq!(call(zkthread_sign_transfer_list, &request), answer);
        }
        lists.push(json!({"request": request, "answer": answer}));
    }
    // The list chains on from the transfers (signed under the key the second one installs).
    assert_eq!(lists[0]["answer"]["key"], signatures[1]["answer"]["next_key"]);
    // A list of one is not the transfer with its fields (but the amount): same key, another
    // signature.
    assert_eq!(lists[1]["answer"]["key"], signatures[2]["answer"]["key"]);
    assert_ne!(lists[1]["answer"]["signature"], signatures[2]["answer"]["signature"]);
    let refusal = |n: usize| lists[n]["answer"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(refusal(2).contains("nonce 2147483645 is exhausted"), "{}", lists[2]);
    assert!(refusal(3).contains("empty list"), "{}", lists[3]);
    assert!(refusal(4).starts_with("transfers[1].amount"), "{}", lists[4]);
    assert_eq!(
        refusal(5),
        "transfers[0].amount: 1329227995784915872903807060280344576 is 2^120 or more, which a list cannot carry (sign it as a single transfer)"
    );
    assert!(refusal(6).starts_with("transfers[0].to"), "{}", lists[6]);
    assert!(refusal(7).contains("leaves no next key"), "{}", lists[7]);

    // Key slots as the token stores them.
    let slot_of = |key: &Value, nonce: u32| {
        let key = zkthread_sig::KeyCommitment::from_u32(words(key).try_into().unwrap()).unwrap();
        format!("{:#x}", pack_key_slot(&key, nonce).unwrap())
    };
    let slot_requests = [
        json!({"slot": "0x0"}),
        json!({"slot": slot_of(&keys[0]["answer"]["key"], 1)}),
        json!({"slot": slot_of(&keys[2]["answer"]["key"], 0x7fff_fffe)}),
        // Refused: a limb of all ones, a nonce of 2^31 - 1.
        json!({"slot": "0x7fffffff"}),
        json!({"slot": "0x7fffffff0000000000000000000000000000000"}),
    ];
    let mut slots = Vec::new();
    for request in slot_requests {
        let answer = call(zkthread_unpack_key_slot, &request);
        slots.push(json!({"request": request, "answer": answer}));
    }
    assert_eq!(slots[0]["answer"], json!({"key": [0, 0, 0, 0], "nonce": 0}));
    assert_eq!(
        slots[1]["answer"],
        json!({"key": keys[0]["answer"]["key"], "nonce": 1})
    );
    assert_eq!(slots[2]["answer"]["nonce"], 0x7fff_fffe);
    assert!(slots[3]["answer"]["error"].is_string() && slots[4]["answer"]["error"].is_string());

    let document = json!({
        "about": "Requests to the zkthread-sig WebAssembly signer (harness/sig-wasm) and its exact answers, \
                  checked against zkthread_sig::Wallet by harness/sig-wasm/tests/vectors.rs; \
                  the example clients' --self-check sends each request and compares the answer bytes.",
        "zkthread_key": keys,
        "zkthread_sign_transfer": signatures,
        "zkthread_sign_transfer_list": lists,
        "zkthread_unpack_key_slot": slots,
    });
    let text = format!("{}\n", serde_json::to_string_pretty(&document).unwrap());
    let path = vector_path();
    if std::env::var_os("ZKTHREAD_BLESS_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with ZKTHREAD_BLESS_VECTORS=1)",
            path.display()
        )
    });
    // As values (key order aside: see `assert_keys_sorted`); the answers' order is checked above.
    let committed: Value = serde_json::from_str(&committed).unwrap();
    assert!(
        committed == document,
        "{} differs from what the signer answers now",
        path.display()
    );
}

#[test]
fn malformed_requests_answer_an_error() {
    for bad in [
        json!("nope"),
        json!({"seed": SEED_A}),
        json!({"seed": SEED_A, "index": 0, "extra": 1}),
    ] {
        assert!(call(zkthread_key, &bad)["error"]
            .as_str()
            .unwrap()
            .starts_with("bad request"));
    }
    let answer = call(zkthread_sign_transfer, &json!({"seed": SEED_A, "index": 0}));
    assert!(
        answer["error"].as_str().unwrap().contains("chain_id"),
        "{answer}"
    );
}
