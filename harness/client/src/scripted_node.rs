//! A JSON-RPC node on loopback that answers each request body (a request, or a batch of them)
//! with what a test's script says: the test double the client's unit tests, and other crates'
//! (feature `test-node`), read through.

use std::sync::Arc;

use serde_json::Value;
use starknet::providers::jsonrpc::HttpTransport;
use starknet::providers::JsonRpcClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::{ChainReader, Felt};

/// A reader (chain id 1) of a node that answers every request body with `script(body)`.
pub async fn scripted_reader(script: impl Fn(&Value) -> Value + Send + Sync + 'static) -> ChainReader {
    let url = scripted_url(script).await;
    let provider = Arc::new(JsonRpcClient::new(HttpTransport::new(url)));
    ChainReader::from_parts(provider, Felt::ONE)
}

/// The URL of a node that answers every request body with `script(body)`: for a test that
/// needs a `ChainClient` on it (`ChainClient::with_chain_id`), not only a reader.
pub async fn scripted_url(script: impl Fn(&Value) -> Value + Send + Sync + 'static) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let script = Arc::new(script);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let script = script.clone();
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
                    let reply = script(&request).to_string();
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", reply.len());
                    let stream = stream.get_mut();
                    stream.write_all(head.as_bytes()).await.expect("writes");
                    stream.write_all(reply.as_bytes()).await.expect("writes");
                }
            });
        }
    });
    url.parse().expect("a URL")
}
