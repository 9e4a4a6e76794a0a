//! The service's HTTP front: what one client may hold of it (helper-81 F9, helper-88).
//!
//! Every route is public, so a client that opens connections and never finishes a request,
//! or never reads the answers, must not take the service away from wallets that do:
//! - at most [`HttpLimits::max_connections`] connections are served at once; one more waits in
//!   the listen backlog until one closes (the kernel queues it, the service never reads it);
//! - one peer (an IPv4 address, an IPv6 /64) holds at most
//!   [`HttpLimits::max_connections_per_peer`] of them: a connection past that is closed as soon
//!   as it is accepted (behind a reverse proxy every client shares the proxy's address: raise
//!   it there);
//! - a request's head must arrive within [`HttpLimits::header_timeout`], and a keep-alive
//!   connection that starts no request in that time is closed (hyper's header read timeout,
//!   which runs whenever a connection waits for a head);
//! - a request's body must arrive within [`HttpLimits::body_timeout`] of its head: a late body
//!   is refused with 408 and the connection closed. Handlers themselves run without a
//!   deadline, so a stored message is never answered with a timeout;
//! - a response the client takes nothing of for [`HttpLimits::write_timeout`] (it stopped
//!   reading: its socket buffers are full) ends the connection; hyper has no write timeout.
//!
//! On shutdown the service stops accepting, lets every connection finish the request it is in
//! (idle ones close at once) for at most [`SHUTDOWN_GRACE`], and returns.
//!
//! A client spread over many addresses can still hold every connection, each sending a small
//! request just inside the header timeout: that is a matter for the network in front of the
//! service (rate limits per address range), which sees more than one process can.
//!
//! `axum::serve` sets no timer, so neither timeout would run there: this module drives hyper's
//! HTTP/1 connection itself (HTTP/2 is not served).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::Router;
use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// How long a shutdown waits for the open connections to finish their requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What one client may hold of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: u32,
    /// Connections one peer address may hold at once.
    pub max_connections_per_peer: u32,
    /// Time to send a request's head; also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time to send a request's whole body once its head arrived (the body is at most
    /// [`crate::api::MAX_BODY_BYTES`]).
    pub body_timeout: Duration,
    /// Time a response may wait on a client that takes none of it.
    pub write_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 512,
            max_connections_per_peer: 64,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
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
/// once) for at most `grace` (the service's is [`SHUTDOWN_GRACE`]; a parameter so a test can
/// show a connection cut at its end without waiting 30 s), and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let body_timeout = limits.body_timeout;
    let router = router.layer(axum::middleware::map_request(move |request: Request| async move {
        with_body_deadline(request, body_timeout)
    }));
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let peers = Peers::default();
    let (closing, closing_seen) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: the listener itself is fine.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(peer_held) = peers.admit(peer_of(peer.ip()), limits.max_connections_per_peer) else {
            tracing::debug!(%peer, "closed: the peer holds its share of connections");
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let mut closing_seen = closing_seen.clone();
        tokio::spawn(async move {
            // Dropped in this order: the peer's count is down before the place it frees is taken.
            let _held = (peer_held, permit);
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let io = StallLimited { stream, stall: limits.write_timeout, stalled: None };
            let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
            let served = tokio::select! {
                served = connection.as_mut() => served,
                _ = closing_seen.changed() => {
                    connection.as_mut().graceful_shutdown();
                    match tokio::time::timeout(grace, connection).await {
                        Ok(served) => served,
                        Err(_) => return tracing::debug!("connection dropped at shutdown"),
                    }
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a permit until it ends, which is within the grace.
    let _all = connections.acquire_many(limits.max_connections).await;
    Ok(())
}

/// The peer a connection from `ip` counts against: an IPv4 address (also written as an
/// IPv4-mapped IPv6 one), or an IPv6 /64, which one host usually holds whole.
fn peer_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Connections held per peer ([`peer_of`]).
#[derive(Clone, Default)]
struct Peers(Arc<Mutex<HashMap<IpAddr, u32>>>);

impl Peers {
    /// One more connection of `peer`, unless it holds `cap` already.
    fn admit(&self, peer: IpAddr, cap: u32) -> Option<PeerHeld> {
        let mut held = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = held.entry(peer).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(PeerHeld { peers: self.clone(), peer })
    }
}

/// A connection of `peer`, counted until it is dropped.
struct PeerHeld {
    peers: Peers,
    peer: IpAddr,
}

impl Drop for PeerHeld {
    fn drop(&mut self) {
        let mut held = self.peers.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = held.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.peer);
            }
        }
    }
}

/// A client's stream whose writes fail once they make no progress for `stall`: a client that
/// stops reading fills its socket buffers and would hold the connection for ever.
struct StallLimited {
    stream: TcpStream,
    stall: Duration,
    /// When the pending write gives up, while one is pending.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallLimited {
    fn watch<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let stall = self.stall;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took none of the response in the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallLimited {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallLimited {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.watch(cx, polled)
    }
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
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::Json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::api::ApiError;

    /// A service of three routes: `GET /health`, `GET /big` (4 MiB), and `POST /echo`, whose
    /// JSON body is answered back (its rejections as the API's).
    fn router() -> Router {
        Router::new()
            .route("/health", get(|| async { "ok" }))
            .route("/big", get(|| async { vec![b'z'; 4 << 20] }))
            .route(
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
        start_serving(router(), limits, SHUTDOWN_GRACE).await
    }

    async fn start_serving(router: Router, limits: HttpLimits, grace: Duration) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(serve(listener, router, limits, grace, async {
            let _ = stopped.await;
        }));
        Running { addr, stop, served }
    }

    fn limits(header_ms: u64, body_ms: u64, max_connections: u32) -> HttpLimits {
        HttpLimits {
            max_connections,
            max_connections_per_peer: max_connections,
            header_timeout: Duration::from_millis(header_ms),
            body_timeout: Duration::from_millis(body_ms),
            write_timeout: Duration::from_secs(10),
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

    #[tokio::test]
    async fn a_peer_past_its_share_is_closed_and_its_earlier_connections_kept() {
        let running = start(HttpLimits { max_connections_per_peer: 1, ..limits(10_000, 10_000, 8) }).await;
        let mut first = TcpStream::connect(running.addr).await.unwrap();
        first.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut first, Duration::from_secs(5)).await.0.starts_with("HTTP/1.1 200 OK"));
        let mut second = TcpStream::connect(running.addr).await.unwrap();
        let _ = second.write_all(HEALTH).await;
        let (answer, closed) = read_response(&mut second, Duration::from_secs(5)).await;
        assert!(closed && answer.is_empty(), "closed unanswered: {answer:?}");
        // The first still serves; once it closes, the peer may connect again.
        first.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut first, Duration::from_secs(5)).await.0.starts_with("HTTP/1.1 200 OK"));
        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut third = TcpStream::connect(running.addr).await.unwrap();
        third.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut third, Duration::from_secs(5)).await.0.starts_with("HTTP/1.1 200 OK"));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_loses_its_connection_and_does_not_hold_shutdown() {
        let running = start(HttpLimits { write_timeout: Duration::from_millis(300), ..limits(10_000, 10_000, 1) }).await;
        // A small receive buffer and a large answer never read: the server's writes stall.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stuck = socket.connect(running.addr).await.unwrap();
        stuck.write_all(b"GET /big HTTP/1.1\r\nHost: zkthread\r\n\r\n").await.unwrap();
        // The only place is the stuck client's until its write times out; then another is served.
        let started = Instant::now();
        let mut next = TcpStream::connect(running.addr).await.unwrap();
        next.write_all(HEALTH).await.unwrap();
        let (answer, _) = read_response(&mut next, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "served once the stuck one is dropped: {answer:?}");
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());

        // Stuck again, then shut down: serve returns within the write timeout, not never.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        drop(next);
        let mut stuck_again = socket.connect(running.addr).await.unwrap();
        stuck_again.write_all(b"GET /big HTTP/1.1\r\nHost: zkthread\r\n\r\n").await.unwrap();
        // Served (its answer begun), then left unread.
        let mut head = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(5), stuck_again.read_exact(&mut head)).await.unwrap().unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        running.stop.send(()).unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(3), running.served).await;
        stopped.expect("serve returns once the stalled write times out").unwrap().unwrap();
        drop((stuck, stuck_again));
    }

    /// [`router`] and `POST /held`, which tells `entered` once a request reached its handler
    /// (its head read), then answers with the body it reads to the end.
    fn router_telling(entered: mpsc::UnboundedSender<()>) -> Router {
        router().route(
            "/held",
            post(move |body: Body| {
                let entered = entered.clone();
                async move {
                    let _ = entered.send(());
                    axum::body::to_bytes(body, 1024).await.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))
                }
            }),
        )
    }

    /// On shutdown, requests in flight hold the server for at most the grace: one whose body
    /// arrives well after the shutdown began is still answered; one whose body never comes is cut
    /// once the grace is over (closed unanswered) and `serve` returns, no sooner than the
    /// grace and long before the header and body timeouts (a minute) could end it. Would
    /// catch a grace not applied (serve held until the body timeout or for ever), in-flight
    /// requests cut at once, and a serve that returns before its connections end.
    #[tokio::test]
    async fn a_request_still_open_after_the_shutdown_grace_is_cut_and_serve_returns() {
        // Long enough that the body sent a fifth of it into the shutdown is answered on a
        // loaded machine, short enough for a unit test.
        const GRACE: Duration = Duration::from_secs(1);
        let (entered, mut reached) = mpsc::unbounded_channel();
        let running = start_serving(router_telling(entered), limits(60_000, 60_000, 8), GRACE).await;
        let head = "POST /held HTTP/1.1\r\nHost: zkthread\r\nContent-Length: 8\r\n\r\n";
        let mut held = TcpStream::connect(running.addr).await.unwrap();
        let mut finishing = TcpStream::connect(running.addr).await.unwrap();
        for stream in [&mut held, &mut finishing] {
            stream.write_all(format!("{head}{{\"a\"").as_bytes()).await.unwrap();
        }
        // Both requests are in their handlers, waiting for the rest of their bodies.
        for _ in 0..2 {
            tokio::time::timeout(Duration::from_secs(5), reached.recv()).await.expect("a request reaches its handler").unwrap();
        }

        let started = Instant::now();
        running.stop.send(()).unwrap();
        // The listener is closed once the shutdown began: new connections are refused.
        while TcpStream::connect(running.addr).await.is_ok() {
            assert!(started.elapsed() < Duration::from_secs(5), "the listener still accepts");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Well into the shutdown (a grace not applied would have cut it by now).
        tokio::time::sleep(GRACE / 5).await;
        finishing.write_all(b": 1}").await.unwrap();
        let (answer, _) = read_response(&mut finishing, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("{\"a\": 1}"), "{answer:?}");
        let (more, closed) = read_response(&mut finishing, Duration::from_secs(5)).await;
        assert!(closed && more.is_empty(), "answered, the connection closes: {more:?}");

        let (answer, closed) = read_response(&mut held, Duration::from_secs(10)).await;
        assert!(closed && answer.is_empty(), "cut unanswered: {answer:?}");
        let stopped = tokio::time::timeout(Duration::from_secs(10), running.served).await;
        stopped.expect("serve returns soon after the grace").unwrap().unwrap();
        let took = started.elapsed();
        assert!(took >= GRACE, "serve waited for the open request: {took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64_and_a_mapped_ipv4_address_as_itself() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(peer_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(peer_of(ip("2001:db8:1:2:bbbb::9")), peer_of(ip("2001:db8:1:2:aaaa::1")));
        assert_ne!(peer_of(ip("2001:db8:1:3::1")), peer_of(ip("2001:db8:1:2::1")));
        assert_eq!(peer_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(peer_of(ip("::ffff:192.0.2.7")), peer_of(ip("::ffff:192.0.2.8")));
    }
}
