//! A `zkthread serve` API as the CLI meets it (`tx submit --server`, `tx resend`): the thread it
//! batches, the sender's next key and nonce there, and a post whose answer says whether the
//! server holds the message, refused it for good, refused it for now, or may hold it.
//!
//! The server is not trusted: its answers are read up to [`MAX_ANSWER_BYTES`], its reasons are
//! cut to one printable line, and redirects are not followed (a 307 would re-post the signed
//! request to any host).

use anyhow::{bail, Context, Result};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use zkthread_client::Felt;
use zkthread_service::wire::{felt_from_text, Accepted, ErrorBody, SenderView};
use zkthread_sig::KeyCommitment;
use zkthread_store::ThreadKey;

use crate::output::hex;
use crate::unsent::Posted;

/// How long the CLI waits for the service (its admission reads the chain: a few node calls).
const SERVER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
/// The longest answer read from a server (the service's own are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest reason of a server's shown.
const MAX_REASON_CHARS: usize = 300;

/// A `zkthread serve` API.
pub struct Server {
    base: String,
    http: reqwest::Client,
}

/// What a post came to.
pub enum PostAnswer {
    /// `202` (`200` for a duplicate) with the service's `Accepted` body: the server says it
    /// stored the message.
    Accepted(Accepted),
    /// The message itself is refused, for good (400, 409, 413, 422): the server's reason.
    Refused { status: StatusCode, reason: String },
    /// Refused for now, not stored (408, 429): the same request may be posted again later.
    NotNow { status: StatusCode, reason: String },
    /// Not known: no answer (a timeout, a reset), a 5xx, another status, or a body that is not
    /// the service's. The message may be stored.
    Unsettled(String),
}

/// A server's answer, read whole (up to [`MAX_ANSWER_BYTES`]).
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `{"error"}` reason, as one printable line of at most [`MAX_REASON_CHARS`].
    fn reason(&self) -> String {
        let reason = self.json::<ErrorBody>().map_or_else(|| "no reason given".to_owned(), |body| body.error);
        let line: String = reason.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_REASON_CHARS).collect();
        line.trim().to_owned()
    }
}

impl Server {
    pub fn new(url: &str) -> Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base).with_context(|| format!("--server: {url:?} is not a URL"))?;
        let http = reqwest::Client::builder()
            .timeout(SERVER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        Ok(Server { base, http })
    }

    /// The URL it was opened with, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The thread the server batches, from `GET /thread`.
    pub async fn thread(&self) -> Result<ThreadKey> {
        let view: serde_json::Value = self.get("/thread").await?;
        let registry = view["registry"].as_str().and_then(felt_from_text);
        match (registry, view["thread_id"].as_u64()) {
            (Some(registry), Some(thread_id)) => Ok(ThreadKey::new(registry, thread_id)),
            _ => bail!("the server {} did not say which thread it batches (`registry`, `thread_id` of GET /thread)", self.base),
        }
    }

    /// Why a message of `wanted` is not posted here, if the server batches another thread
    /// (`batches`, from [`Server::thread`]): it would refuse the signature for good (another
    /// domain), and the same token can run in several threads.
    pub fn other_thread(&self, batches: ThreadKey, wanted: ThreadKey) -> Option<String> {
        (batches != wanted).then(|| {
            format!(
                "the server {} batches thread {} of registry {}, not thread {} of {}",
                self.base,
                batches.thread_id,
                hex(batches.registry),
                wanted.thread_id,
                hex(wanted.registry)
            )
        })
    }

    /// The key and nonce the sender's next message is signed under, and what it has queued
    /// there (messages, transfers).
    pub async fn sender_state(&self, token: Felt, from: Felt) -> Result<((KeyCommitment, u32), (usize, Option<usize>))> {
        let view: SenderView = self.get(&format!("/senders/{}/{}", hex(token), hex(from))).await?;
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
        let answer = match self.send(request).await {
            Ok(answer) => answer,
            Err(why) => return PostAnswer::Unsettled(why),
        };
        let status = answer.status;
        match status.as_u16() {
            202 => match answer.json::<Accepted>() {
                Some(accepted) => PostAnswer::Accepted(accepted),
                None => PostAnswer::Unsettled(format!("the server {} answered {status} with an unreadable body", self.base)),
            },
            // A duplicate of a message the service stored before (a post whose answer was lost);
            // any other 200 is not the service's answer.
            200 => match answer.json::<Accepted>() {
                // Stored, then refused by the batcher before this post was answered.
                Some(accepted) if accepted.duplicate && accepted.status == "rejected" => PostAnswer::Refused {
                    status,
                    reason: format!("stored as message {}, then refused by the batcher (`GET /transfers/{}` says why)", accepted.id, accepted.id),
                },
                Some(accepted) if accepted.duplicate => PostAnswer::Accepted(accepted),
                _ => PostAnswer::Unsettled(format!("the server {} answered {status}: {}", self.base, answer.reason())),
            },
            400 | 409 | 413 | 422 => PostAnswer::Refused { status, reason: answer.reason() },
            408 | 429 => PostAnswer::NotNow { status, reason: answer.reason() },
            _ => PostAnswer::Unsettled(format!("the server {} answered {status}: {}", self.base, answer.reason())),
        }
    }

    /// A GET's JSON answer, or the server's reason as the error.
    async fn get<T: DeserializeOwned>(&self, route: &str) -> Result<T> {
        let answer = self.send(self.http.get(format!("{}{route}", self.base))).await.map_err(anyhow::Error::msg)?;
        let status = answer.status;
        if !status.is_success() {
            bail!("the server refused it ({status}): {}", answer.reason());
        }
        answer.json().with_context(|| format!("the server {} answered {status} with an unreadable body", self.base))
    }

    /// The status and body, the body cut off past [`MAX_ANSWER_BYTES`]; why not, as a line.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let no_answer = |error: reqwest::Error| format!("no answer from the server {}: {error}", self.base);
        let mut response = request.send().await.map_err(no_answer)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(no_answer)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(format!("the server {} answered {status} with a body over {MAX_ANSWER_BYTES} bytes", self.base));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }
}
