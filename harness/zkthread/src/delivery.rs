//! Getting a signed request to a `zkthread serve` without losing it: `tx submit --server` posts
//! through [`deliver`], `tx resend` posts the requests kept in `<data-dir>/unsent/` again
//! ([`crate::unsent`] holds the files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use zkthread_store::ThreadKey;
use zkthread_service::wire::Accepted;

use crate::output::{hex, print_json, Reported};
use crate::server::{PostAnswer, Server};
use crate::unsent::{self, Aside, UnsentRequest};

#[derive(Args, Debug)]
pub struct ResendArgs {
    /// Post to this `zkthread serve` instead of the server each request was first posted to
    /// (only requests of the thread it batches are posted there).
    #[arg(long)]
    server: Option<String>,
}

/// Posts a signed request, kept in the data directory first (a crash mid-post keeps it too) and
/// set aside once the server answered for it ([`Aside`]). Any other answer leaves it kept and
/// says how to post it again: its key index is spent, so signing again is no way out.
pub async fn deliver(data_dir: &Path, server: &Server, request: UnsentRequest) -> Result<Accepted> {
    let kept = match request.keep(data_dir) {
        Ok(path) => Some(path),
        Err(error) => {
            // Posting is still better than losing the signature outright.
            tracing::warn!("{error:#}: posting it without a copy");
            None
        }
    };
    let answer = server.post(&request.posted).await;
    let Some(path) = kept else {
        // No copy on disk: the line carries the request, the only copy left.
        return match answer {
            PostAnswer::Accepted(accepted) => Ok(accepted),
            other => bail!(
                "{}; the signed request could not be kept on disk, here it is: {}",
                refusal_line(&other),
                serde_json::to_string(&request).unwrap_or_default()
            ),
        };
    };
    match answer {
        PostAnswer::Accepted(accepted) => {
            // Stored: nothing may fail now (a user told "error" would sign it again).
            set_aside_or_warn(&path, Aside::Accepted);
            Ok(accepted)
        }
        PostAnswer::Refused { .. } => {
            let aside = set_aside_or_warn(&path, Aside::Refused).unwrap_or(path);
            bail!("{} (the signed request is set aside in {})", refusal_line(&answer), aside.display())
        }
        PostAnswer::NotNow { .. } | PostAnswer::Unsettled(_) => {
            bail!("{}; the signed request is kept in {}: `zkthread tx resend` posts it again", refusal_line(&answer), path.display())
        }
    }
}

/// What a post that stored nothing (as far as is known) came to, as a line.
fn refusal_line(answer: &PostAnswer) -> String {
    match answer {
        PostAnswer::Accepted(accepted) => format!("accepted as message {}", accepted.id),
        PostAnswer::Refused { status, reason } => format!("the server refused it ({status}): {reason}"),
        PostAnswer::NotNow { status, reason } => format!("the server refused it for now ({status}): {reason}"),
        PostAnswer::Unsettled(why) => format!("{why}: the message may be queued"),
    }
}

/// [`unsent::set_aside`], a failure logged: the server's answer is what the user must hear.
fn set_aside_or_warn(path: &Path, aside: Aside) -> Option<PathBuf> {
    unsent::set_aside(path, aside).map_err(|error| tracing::warn!("{error:#}")).ok()
}

/// What `tx resend` did with a kept request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// The server says it stored it (moved to `unsent/accepted/`).
    Accepted,
    /// Refused for good, e.g. its nonce was taken (moved to `unsent/refused/`).
    Dropped,
    /// No answer, refused for now, or not posted: still kept.
    Kept,
}

/// One kept request as `tx resend` left it.
#[derive(Serialize)]
struct Resent {
    file: String,
    thread_id: u64,
    token: String,
    from: String,
    nonce: u32,
    server: String,
    outcome: Outcome,
    id: Option<u64>,
    pending: Option<usize>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct ResendReport {
    resent: Vec<Resent>,
    /// Set when a request is still kept (the command then exits 1).
    error: Option<String>,
}

/// The servers `tx resend` posts to, each opened once with the thread it batches.
struct Servers {
    overridden: Option<String>,
    opened: BTreeMap<String, Result<(Server, ThreadKey), String>>,
}

impl Servers {
    /// The server for `request`, or why not: one that batches another thread would refuse the
    /// request for good (wrong domain), so it is not asked.
    async fn for_request(&mut self, request: &UnsentRequest) -> Result<&Server, String> {
        let url = self.overridden.clone().unwrap_or_else(|| request.server.clone());
        if !self.opened.contains_key(&url) {
            let opened = match Server::new(&url) {
                Ok(server) => server.thread().await.map(|thread| (server, thread)).map_err(|e| format!("{e:#}")),
                Err(error) => Err(format!("{error:#}")),
            };
            self.opened.insert(url.clone(), opened);
        }
        let (server, batches) = self.opened[&url].as_ref().map_err(Clone::clone)?;
        if let Some(why) = server.other_thread(*batches, request.thread()) {
            return Err(why);
        }
        Ok(server)
    }
}

/// `tx resend`: every kept request, oldest nonce first per sender's key slot. A sender's later
/// requests wait while an earlier one is still kept, in any thread over the token (the slot
/// and its nonce are the token's: a server would refuse them by nonce, for good).
pub async fn resend(args: ResendArgs, data_dir: &Path, json: bool) -> Result<()> {
    if let Some(url) = &args.server {
        Server::new(url)?;
    }
    let mut servers = Servers { overridden: args.server, opened: BTreeMap::new() };
    let mut waiting: Vec<(unsent::SenderLane, u32, u64)> = Vec::new();
    let mut resent = Vec::new();
    for (path, request) in unsent::kept(data_dir)? {
        let lane = request.lane();
        let earlier = waiting.iter().find(|(l, ..)| *l == lane).map(|(_, nonce, thread)| (*nonce, *thread));
        let one = match earlier {
            Some((nonce, thread)) => {
                let why = format!("the sender's request at nonce {nonce} (thread {thread}) is still kept, and the key slot takes nonces in order");
                kept_report(&path, &request, servers.overridden.as_deref(), why)
            }
            None => resend_one(&mut servers, &path, &request).await,
        };
        if one.outcome == Outcome::Kept && earlier.is_none() {
            waiting.push((lane, request.nonce, request.thread_id));
        }
        resent.push(one);
    }
    let still = resent.iter().filter(|r| r.outcome == Outcome::Kept).count();
    let error = (still > 0).then(|| {
        format!("{still} signed request(s) still kept in {}: run `zkthread tx resend` again", unsent::dir(data_dir).display())
    });
    let report = ResendReport { resent, error };
    if json {
        print_json(&report)?;
    } else {
        print_report(&report, data_dir);
    }
    match report.error {
        Some(error) if json => Err(Reported(error).into()),
        Some(error) => bail!("{error}"),
        None => Ok(()),
    }
}

/// Posts one kept request and sets it aside by the answer.
async fn resend_one(servers: &mut Servers, path: &Path, request: &UnsentRequest) -> Resent {
    let server = match servers.for_request(request).await {
        Ok(server) => server,
        Err(why) => return kept_report(path, request, servers.overridden.as_deref(), why),
    };
    let base = server.base().to_owned();
    let mut one = kept_report(path, request, Some(&base), String::new());
    one.reason = None;
    match server.post(&request.posted).await {
        PostAnswer::Accepted(accepted) => {
            if let Some(aside) = set_aside_or_warn(path, Aside::Accepted) {
                one.file = aside.display().to_string();
            }
            (one.outcome, one.id, one.pending) = (Outcome::Accepted, Some(accepted.id), Some(accepted.pending));
        }
        answer @ PostAnswer::Refused { .. } => {
            one.reason = Some(refusal_line(&answer));
            if let Some(aside) = set_aside_or_warn(path, Aside::Refused) {
                (one.outcome, one.file) = (Outcome::Dropped, aside.display().to_string());
            }
        }
        answer => one.reason = Some(refusal_line(&answer)),
    }
    one
}

/// `request` at `path`, still kept for `why`.
fn kept_report(path: &Path, request: &UnsentRequest, server: Option<&str>, why: String) -> Resent {
    Resent {
        file: path.display().to_string(),
        thread_id: request.thread_id,
        token: hex(request.token),
        from: hex(request.from),
        nonce: request.nonce,
        server: server.unwrap_or(&request.server).to_owned(),
        outcome: Outcome::Kept,
        id: None,
        pending: None,
        reason: Some(why),
    }
}

fn print_report(report: &ResendReport, data_dir: &Path) {
    if report.resent.is_empty() {
        println!("no signed request is kept in {}", unsent::dir(data_dir).display());
    }
    for r in &report.resent {
        let detail = match (r.outcome, r.id, &r.reason) {
            (Outcome::Accepted, Some(id), _) => format!("accepted as message {id} ({} pending)", r.pending.unwrap_or_default()),
            (Outcome::Dropped, _, Some(reason)) => format!("set aside in {}: {reason}", r.file),
            (_, _, Some(reason)) => format!("kept: {reason}"),
            (outcome, _, None) => format!("{outcome:?}"),
        };
        println!("sender {} nonce {} (thread {}) at {}: {detail}", r.from, r.nonce, r.thread_id, r.server);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::unsent::test_request;

    /// A test double of a service on a local port: `GET /thread` names thread 2 of registry
    /// 0x99; each POST takes the next canned (status, body) and is counted.
    struct CannedServiceDouble {
        url: String,
        posts: Arc<Mutex<usize>>,
    }

    impl CannedServiceDouble {
        fn start(answers: Vec<(u16, &'static str)>) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let posts = Arc::new(Mutex::new(0));
            let counted = posts.clone();
            // A redirect points back here: followed, it would be one more post counted.
            let location = format!("location: {url}/elsewhere\r\n");
            std::thread::spawn(move || {
                let mut answers = answers.into_iter();
                for mut stream in listener.incoming().flatten() {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap() <= 2 {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    reader.take(length).read_to_end(&mut Vec::new()).unwrap();
                    let (status, body) = if line.starts_with("GET /thread") {
                        (200, r#"{"registry": "0x99", "thread_id": 2}"#)
                    } else {
                        *counted.lock().unwrap() += 1;
                        answers.next().unwrap_or((500, r#"{"error": "no canned answer left"}"#))
                    };
                    let location = if status == 307 { location.as_str() } else { "" };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} -\r\ncontent-type: application/json\r\n{location}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            CannedServiceDouble { url, posts }
        }

        fn posts(&self) -> usize {
            *self.posts.lock().unwrap()
        }
    }

    /// Where `dir` holds JSON files: (kept, accepted, refused).
    fn files(data_dir: &Path) -> (usize, usize, usize) {
        let count = |dir: PathBuf| std::fs::read_dir(dir).map_or(0, |d| d.flatten().filter(|f| f.path().extension().is_some_and(|e| e == "json")).count());
        let dir = unsent::dir(data_dir);
        (count(dir.clone()), count(dir.join("accepted")), count(dir.join("refused")))
    }

    /// Each answer puts the request where it belongs: 202 accepted, and 200 for a duplicate;
    /// 422, 400, 409 and 413 refused (with the server's reason, cut to one line); 429, 408 and
    /// 503 kept; a redirect kept and not followed; a 200 that is not a duplicate's answer, a 202
    /// without the service's body and an answer over 64 KiB kept.
    #[tokio::test]
    async fn each_answer_sets_the_request_where_it_belongs() {
        let service = CannedServiceDouble::start(vec![
            (202, r#"{"id": 4, "status": "pending", "pending": 1}"#),
            (422, "{\"error\": \"nonce 1 is not the sender's next nonce 2\\n(replayed)\"}"),
            (429, r#"{"error": "queue full"}"#),
            (503, r#"{"error": "down"}"#),
            (307, r#"{}"#),
            (200, r#"{"id": 4, "status": "pending", "pending": 1}"#),
            (408, r#"{"error": "slow"}"#),
            (202, r#"{}"#),
            (500, Box::leak(format!("{{\"error\": \"{}\"}}", "x".repeat(70_000)).into_boxed_str())),
            (400, r#"{"error": "amount: not a number"}"#),
            (409, r#"{"error": "conflict"}"#),
            (413, r#"{"error": "too long"}"#),
            (200, r#"{"id": 9, "status": "in_sub_block", "pending": 0, "duplicate": true}"#),
        ]);
        let server = Server::new(&service.url).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let accepted = deliver(dir.path(), &server, test_request(&service.url, 0, 0xa)).await.unwrap();
        assert_eq!((accepted.id, files(dir.path())), (4, (0, 1, 0)));
        let refused = format!("{:#}", deliver(dir.path(), &server, test_request(&service.url, 1, 0xa)).await.unwrap_err());
        assert!(refused.contains("refused it (422 Unprocessable Entity): nonce 1 is not the sender's next nonce 2 (replayed) (the signed request is set aside in"), "{refused}");
        assert_eq!(files(dir.path()), (0, 1, 1));
        let kept_by = [
            (2, "refused it for now (429"),
            (3, "answered 503"),
            (4, "answered 307"),
            (5, "answered 200"),
            (6, "refused it for now (408"),
            (7, "answered 202 Accepted with an unreadable body"),
            (8, "with a body over 65536 bytes"),
        ];
        for (nonce, expected) in kept_by {
            let kept = format!("{:#}", deliver(dir.path(), &server, test_request(&service.url, nonce, 0xa)).await.unwrap_err());
            assert!(kept.contains(expected) && kept.contains("is kept in") && kept.contains("`zkthread tx resend`"), "{kept}");
            assert_eq!(files(dir.path()).0, nonce as usize - 1, "{kept}");
        }
        for (nonce, expected) in [(9, "refused it (400 Bad Request)"), (10, "refused it (409 Conflict)"), (11, "refused it (413 Payload Too Large)")] {
            let refused = format!("{:#}", deliver(dir.path(), &server, test_request(&service.url, nonce, 0xa)).await.unwrap_err());
            assert!(refused.contains(expected) && refused.contains("set aside in"), "{refused}");
        }
        assert_eq!(files(dir.path()), (7, 1, 4));
        // The service's answer to a message it stored before: accepted as that one.
        let duplicate = deliver(dir.path(), &server, test_request(&service.url, 12, 0xa)).await.unwrap();
        assert_eq!((duplicate.id, duplicate.duplicate, files(dir.path())), (9, true, (7, 2, 4)));
        assert_eq!(service.posts(), 13, "the redirect was not followed");
    }

    /// `tx resend` posts a sender's requests in nonce order and stops at the first still kept,
    /// across the threads over the token (one key slot); a server batching another thread is
    /// not asked.
    #[tokio::test]
    async fn resend_keeps_a_senders_later_requests_behind_an_earlier_one() {
        let accepted = r#"{"id": 7, "status": "pending", "pending": 1}"#;
        let service = CannedServiceDouble::start(vec![(503, r#"{"error": "down"}"#), (202, accepted), (202, accepted)]);
        let dir = tempfile::tempdir().unwrap();
        let other_thread = UnsentRequest { thread_id: 3, ..test_request(&service.url, 7, 0xa) };
        for kept in [test_request(&service.url, 5, 0xa), test_request(&service.url, 6, 0xa), other_thread] {
            kept.keep(dir.path()).unwrap();
        }
        let error = resend(ResendArgs { server: None }, dir.path(), true).await.unwrap_err();
        assert!(error.downcast_ref::<Reported>().is_some_and(|e| e.0.starts_with("3 signed request(s) still kept")), "{error:#}");
        assert_eq!(service.posts(), 1, "nonces 6 and 7 (thread 3) wait behind 5");
        // Once the server takes 5, 6 follows; thread 3's request is kept (not this server's).
        let error = resend(ResendArgs { server: None }, dir.path(), true).await.unwrap_err();
        assert!(error.downcast_ref::<Reported>().is_some_and(|e| e.0.starts_with("1 signed request(s) still kept")), "{error:#}");
        assert_eq!((service.posts(), files(dir.path())), (3, (1, 2, 0)));
        // Nonce 8 of this server's thread waits behind thread 3's 7: the key slot is the token's.
        test_request(&service.url, 8, 0xa).keep(dir.path()).unwrap();
        let error = resend(ResendArgs { server: None }, dir.path(), true).await.unwrap_err();
        assert!(error.downcast_ref::<Reported>().is_some_and(|e| e.0.starts_with("2 signed request(s) still kept")), "{error:#}");
        assert_eq!((service.posts(), files(dir.path())), (3, (2, 2, 0)), "nonce 8 was not posted");
    }
}
