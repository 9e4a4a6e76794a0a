//! The service's HTTP front: what one client may hold of it (helper-81 F9).
//!
//! Every route is public, so a client that opens connections and never finishes a request
//! must not take the service away from wallets that do:
//! - at most [`HttpLimits::max_connections`] connections are served at once; one more waits in
//!   the listen backlog until one closes (the kernel queues it, the service never reads it);
//! - a request's head must arrive within [`HttpLimits::header_timeout`], and a keep-alive
//!   connection that starts no request in that time is closed (hyper's header read timeout,
//!   which runs whenever a connection waits for a head);
//! - a request's body must arrive within [`HttpLimits::body_timeout`] of its head: a late body
//!   is refused with 408 and the connection closed. Handlers themselves run without a
//!   deadline, so a stored message is never answered with a timeout.
//!
//! `axum::serve` sets no timer, so neither timeout would run there: this module drives hyper's
//! HTTP/1 connection itself (HTTP/2 is not served).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::Router;
use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// What one client may hold of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: u32,
    /// Time to send a request's head; also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time to send a request's whole body once its head arrived (the body is at most
    /// [`crate::api::MAX_BODY_BYTES`]).
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// A request body that did not arrive within [`HttpLimits::body_timeout`]; the API answers it
/// with 408 (see `api::ApiError`'s `From<JsonRejection>`).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets every open connection finish the request it is in (idle ones close at
/// once), and returns when the last one has closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let body_timeout = limits.body_timeout;
    let router = router.layer(axum::middleware::map_request(move |request: Request| async move {
        with_body_deadline(request, body_timeout)
    }));
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (closing, closing_seen) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: the listener itself is fine.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let mut closing_seen = closing_seen.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _held = permit;
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = closing_seen.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a permit until it ends.
    let _all = connections.acquire_many(limits.max_connections).await;
    Ok(())
}

/// `request` whose body fails with [`BodyTimedOut`] unless it ends within `timeout`.
fn with_body_deadline(request: Request, timeout: Duration) -> Request {
    let deadline = tokio::time::Instant::now() + timeout;
    request.map(|body| {
        let chunks = body.into_data_stream();
        Body::from_stream(futures_util::stream::unfold(Some(chunks), move |chunks| async move {
            let mut chunks = chunks?;
            match tokio::time::timeout_at(deadline, chunks.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(chunks))),
                Ok(None) => None,
                Err(_) => Some((Err::<Bytes, _>(axum::Error::new(BodyTimedOut(timeout))), None)),
            }
        }))
    })
}

/// The [`BodyTimedOut`] behind `error`, if a body that came too late caused it.
pub(crate) fn body_timed_out<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e BodyTimedOut> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(timed_out) = error.downcast_ref::<BodyTimedOut>() {
            return Some(timed_out);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use axum::extract::rejection::JsonRejection;
    use axum::routing::{get, post};
    use axum::Json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;

    use super::*;
    use crate::api::ApiError;

    /// A service of two routes: `GET /health`, and `POST /echo`, whose JSON body is answered
    /// back (its rejections as the API's).
    fn router() -> Router {
        Router::new().route("/health", get(|| async { "ok" })).route(
            "/echo",
            post(|body: Result<Json<serde_json::Value>, JsonRejection>| async move { body.map_err(ApiError::from) }),
        )
    }

    struct Running {
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        served: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start(limits: HttpLimits) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(serve(listener, router(), limits, async {
            let _ = stopped.await;
        }));
        Running { addr, stop, served }
    }

    fn limits(header_ms: u64, body_ms: u64, max_connections: u32) -> HttpLimits {
        HttpLimits {
            max_connections,
            header_timeout: Duration::from_millis(header_ms),
            body_timeout: Duration::from_millis(body_ms),
        }
    }

    /// What `stream` sends within `wait`: one whole response (head and `Content-Length` body),
    /// or what came before it closed (`closed` is then true) or the wait ended.
    async fn read_response(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
        let mut bytes = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if bytes.len() >= head_end + 4 + length {
                    return (text, false);
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (text, true),
                Ok(Ok(n)) => bytes.extend_from_slice(&chunk[..n]),
                Err(_) => return (text, false),
            }
        }
    }

    const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: zkthread\r\n\r\n";

    #[tokio::test]
    async fn a_head_that_never_ends_and_an_idle_connection_are_closed_after_the_header_timeout() {
        let running = start(limits(300, 10_000, 8)).await;
        // A head that stops halfway.
        let mut slow = TcpStream::connect(running.addr).await.unwrap();
        let started = Instant::now();
        slow.write_all(b"GET /health HTTP/1.1\r\nHost: zkt").await.unwrap();
        let (answer, closed) = read_response(&mut slow, Duration::from_secs(5)).await;
        assert!(closed, "the connection is closed: {answer:?}");
        assert!(!answer.contains("200 OK"), "{answer}");
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
        // A keep-alive connection is answered, then closed once it starts no new request.
        let mut idle = TcpStream::connect(running.addr).await.unwrap();
        idle.write_all(HEALTH).await.unwrap();
        let (answer, closed) = read_response(&mut idle, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("ok") && !closed, "{answer:?}");
        let (more, closed) = read_response(&mut idle, Duration::from_secs(5)).await;
        assert!(closed && more.is_empty(), "{more:?}");

        // Shutting down closes an idle connection at once and returns.
        let mut held = TcpStream::connect(running.addr).await.unwrap();
        held.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut held, Duration::from_secs(5)).await.0.starts_with("HTTP/1.1 200 OK"));
        running.stop.send(()).unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(2), running.served).await;
        stopped.expect("serve returns well before the header timeout").unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_body_that_comes_too_late_is_refused_with_408_and_its_reason() {
        let running = start(limits(10_000, 300, 8)).await;
        let head = "POST /echo HTTP/1.1\r\nHost: zkthread\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n";
        // The control: the same request sent whole is answered.
        let mut whole = TcpStream::connect(running.addr).await.unwrap();
        whole.write_all(format!("{head}{{\"a\": 1}}").as_bytes()).await.unwrap();
        let (answer, _) = read_response(&mut whole, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("{\"a\":1}"), "{answer:?}");

        let mut late = TcpStream::connect(running.addr).await.unwrap();
        let started = Instant::now();
        late.write_all(format!("{head}{{\"a\"").as_bytes()).await.unwrap();
        let (answer, _) = read_response(&mut late, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408 Request Timeout"), "{answer:?}");
        assert!(
            answer.ends_with("{\"error\":\"the request body did not arrive within 0.3 s\"}"),
            "{answer:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
        // Its body was never read whole: the connection ends with the answer.
        let (more, closed) = read_response(&mut late, Duration::from_secs(5)).await;
        assert!(closed && more.is_empty(), "{more:?}");
    }

    #[tokio::test]
    async fn a_connection_over_the_limit_waits_until_one_closes() {
        let running = start(limits(10_000, 10_000, 2)).await;
        let mut first = TcpStream::connect(running.addr).await.unwrap();
        let mut second = TcpStream::connect(running.addr).await.unwrap();
        // Both are served (so both hold a place).
        for held in [&mut first, &mut second] {
            held.write_all(HEALTH).await.unwrap();
            assert!(read_response(held, Duration::from_secs(5)).await.0.starts_with("HTTP/1.1 200 OK"));
        }
        let mut third = TcpStream::connect(running.addr).await.unwrap();
        third.write_all(HEALTH).await.unwrap();
        let (nothing, closed) = read_response(&mut third, Duration::from_millis(500)).await;
        assert!(nothing.is_empty() && !closed, "the third waits: {nothing:?}");
        drop(first);
        let (answer, _) = read_response(&mut third, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "served once a place is free: {answer:?}");
    }
}
