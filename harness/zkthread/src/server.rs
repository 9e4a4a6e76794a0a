//! A `zkthread serve` API as the CLI meets it (`tx submit --server`, `tx resend`): the sender's
//! next key and nonce there, and a post whose answer says whether the server holds the
//! message, refused it for good, or may still take it.

use anyhow::{Context, Result};
use reqwest::StatusCode;
use zkthread_client::Felt;
use zkthread_service::wire::{Accepted, ErrorBody, SenderView};
use zkthread_sig::KeyCommitment;

use crate::output::hex;
use crate::unsent::Posted;

/// How long the CLI waits for the service (its admission reads the chain: a few node calls).
const SERVER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A `zkthread serve` API.
pub struct Server {
    base: String,
    http: reqwest::Client,
}

/// What a post came to.
pub enum PostAnswer {
    /// The server stored the message (`202`).
    Accepted(Accepted),
    /// The server will never take it (a 4xx other than 408 and 429): its reason.
    Refused { status: StatusCode, reason: String },
    /// Not known, or not now: no answer (a timeout, a reset), a 5xx, a 408 or 429, or a success
    /// status whose body is not `Accepted`. The message may be stored, or may be taken later.
    Unsettled(String),
}

impl Server {
    pub fn new(url: &str) -> Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base).with_context(|| format!("--server: {url:?} is not a URL"))?;
        Ok(Server {
            base,
            http: reqwest::Client::builder().timeout(SERVER_TIMEOUT).build().context("building the HTTP client")?,
        })
    }

    /// The URL it was opened with, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The key and nonce the sender's next message is signed under, and what it has queued
    /// there (messages, transfers).
    pub async fn sender_state(&self, token: Felt, from: Felt) -> Result<((KeyCommitment, u32), (usize, Option<usize>))> {
        let url = format!("{}/senders/{}/{}", self.base, hex(token), hex(from));
        let response = self.http.get(&url).send().await.with_context(|| format!("no answer from the server {}", self.base))?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!("the server refused it ({status}): {}", reason(response).await);
        }
        let view: SenderView = response
            .json()
            .await
            .with_context(|| format!("the server {} answered {status} with an unreadable body", self.base))?;
        let key = KeyCommitment::from_u32(view.key)
            .map_err(|_| anyhow::anyhow!("the server's key for the sender is not canonical M31 words"))?;
        Ok(((key, view.nonce), (view.queued, view.queued_transfers)))
    }

    /// Posts a signed message to its route.
    pub async fn post(&self, posted: &Posted) -> PostAnswer {
        let request = self.http.post(format!("{}{}", self.base, posted.route()));
        let request = match posted {
            Posted::Transfer(body) => request.json(body),
            Posted::List(body) => request.json(body),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return PostAnswer::Unsettled(format!("no answer from the server {}: {error}", self.base)),
        };
        let status = response.status();
        if status.is_success() {
            return match response.json::<Accepted>().await {
                Ok(accepted) => PostAnswer::Accepted(accepted),
                Err(error) => PostAnswer::Unsettled(format!("the server {} answered {status} with an unreadable body: {error}", self.base)),
            };
        }
        let reason = reason(response).await;
        if status.is_client_error() && status != StatusCode::REQUEST_TIMEOUT && status != StatusCode::TOO_MANY_REQUESTS {
            PostAnswer::Refused { status, reason }
        } else {
            PostAnswer::Unsettled(format!("the server {} answered {status}: {reason}", self.base))
        }
    }
}

/// The `{"error"}` reason of a refusal.
async fn reason(response: reqwest::Response) -> String {
    match response.json::<ErrorBody>().await {
        Ok(body) => body.error,
        Err(_) => "no reason given".to_owned(),
    }
}
