//! Signed requests no server has taken yet: `<data-dir>/unsent/`, one JSON file per request.
//!
//! `tx submit --server` writes the signed request here before it posts it. Once the server
//! answers, the file moves to a subdirectory ([`Aside`]): `accepted/` (the server says it stored
//! it), `refused/` (refused for good). A server that lies by either answer cannot make a signed
//! request vanish: the user may still post it elsewhere. A post whose answer is lost (a timeout,
//! a reset, a 5xx) or refused for now (429) leaves it here: its one-time key index is spent in
//! the key file, so signing the transfer again would need the next index, which the sender's
//! key slot does not name until this request is taken. `tx resend` posts it again; the service
//! answers a copy of a message it stored already as that message (`200`, a duplicate), so a
//! request the first post did deliver is set aside as accepted, not stored twice. Once the sender's key slot on chain is past a request's nonce, the
//! request can never apply: `tx submit` moves such kept requests to `spent/` and removes
//! accepted ones.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use zkthread_client::Felt;
use zkthread_service::wire::{TransferListRequest, TransferRequest};
use zkthread_store::ThreadKey;

/// The directory under the data directory.
const DIR: &str = "unsent";

/// Where a kept request goes once its fate is known (subdirectories of `unsent/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aside {
    /// The server answered that it stored it.
    Accepted,
    /// The server refused it for good.
    Refused,
    /// The sender's key slot on chain moved past its nonce: it can never apply.
    Spent,
}

impl Aside {
    fn dir(self) -> &'static str {
        match self {
            Aside::Accepted => "accepted",
            Aside::Refused => "refused",
            Aside::Spent => "spent",
        }
    }
}

/// The kept requests' directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}

/// A signed request and where it was going.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentRequest {
    /// The server it was posted to (`tx resend` posts there unless told otherwise).
    pub server: String,
    pub registry: Felt,
    pub thread_id: u64,
    pub token: Felt,
    pub from: Felt,
    /// The sender's key-slot nonce it consumes.
    pub nonce: u32,
    /// The one-time key index it is signed with (spent in the key file).
    pub key_index: u32,
    pub posted: Posted,
}

/// The body, as posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "route", content = "request", rename_all = "snake_case")]
pub enum Posted {
    /// `POST /transfers` (a thread of the signed program).
    Transfer(TransferRequest),
    /// `POST /lists` (a thread of the list program).
    List(TransferListRequest),
}

impl Posted {
    pub fn route(&self) -> &'static str {
        match self {
            Posted::Transfer(_) => "/transfers",
            Posted::List(_) => "/lists",
        }
    }
}

/// One sender's key slot, (token, sender): its messages must reach servers in nonce order,
/// whichever threads over the token carry them (they share the slot and its nonce).
pub type SenderLane = (Felt, Felt);

impl UnsentRequest {
    pub fn thread(&self) -> ThreadKey {
        ThreadKey::new(self.registry, self.thread_id)
    }

    /// (token, sender): the key slot whose nonce it spends.
    pub fn lane(&self) -> SenderLane {
        (self.token, self.from)
    }

    /// Its file: one per (thread, token, sender, nonce, key index). The key index is spent once
    /// (the key file's lock), so two processes signing for one sender never share a file.
    pub fn path(&self, data_dir: &Path) -> PathBuf {
        dir(data_dir).join(format!(
            "{:#x}-{}-{:#x}-{:#x}-{}-{}.json",
            self.registry, self.thread_id, self.token, self.from, self.nonce, self.key_index
        ))
    }

    /// Writes it (a temporary file renamed into place, synced first, then the directory: a
    /// crash leaves no file or the whole one) and returns its path.
    pub fn keep(&self, data_dir: &Path) -> Result<PathBuf> {
        let path = self.path(data_dir);
        let dir = dir(data_dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let temporary = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        };
        write().with_context(|| format!("keeping the signed request in {}", path.display()))?;
        Ok(path)
    }
}

/// Moves a kept request into its [`Aside`] subdirectory (out of `tx resend`'s way) and returns
/// where it went.
pub fn set_aside(path: &Path, aside: Aside) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(".")).join(aside.dir());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let aside = dir.join(path.file_name().unwrap_or_default());
    std::fs::rename(path, &aside).with_context(|| format!("moving {} to {}", path.display(), aside.display()))?;
    Ok(aside)
}

/// Removes the sender's accepted requests in `token` (any thread) whose nonce its key slot on
/// chain is past (`nonce`): each was consumed, by itself or by another message. Returns how many.
pub fn prune_accepted(data_dir: &Path, token: Felt, from: Felt, nonce: u32) -> Result<usize> {
    let accepted = dir(data_dir).join(Aside::Accepted.dir());
    let mut pruned = 0;
    for (path, request) in read_requests(&accepted)? {
        if request.token == token && request.from == from && request.nonce < nonce {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            pruned += 1;
        }
    }
    Ok(pruned)
}

/// Every kept request with its file, ordered by token, sender and nonce (the order the
/// sender's key slot takes them in, across the threads over the token). A file that is not a request is an error naming
/// it: nothing a user gave us is skipped silently.
pub fn kept(data_dir: &Path) -> Result<Vec<(PathBuf, UnsentRequest)>> {
    let mut requests = read_requests(&dir(data_dir))?;
    requests.sort_by_key(|(_, r)| (r.token, r.from, r.nonce, r.key_index, r.registry, r.thread_id));
    Ok(requests)
}

/// The requests in `dir` (none if it does not exist).
fn read_requests(dir: &Path) -> Result<Vec<(PathBuf, UnsentRequest)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", dir.display())),
    };
    let mut requests = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue; // a subdirectory, or a temporary file a crash left behind
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let request: UnsentRequest = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a kept signed request", path.display()))?;
        requests.push((path, request));
    }
    Ok(requests)
}

/// The kept requests of one sender in one token, in every thread over it (they share the
/// sender's key slot).
pub fn kept_of(data_dir: &Path, token: Felt, from: Felt) -> Result<Vec<(PathBuf, UnsentRequest)>> {
    let mut requests = kept(data_dir)?;
    requests.retain(|(_, r)| r.token == token && r.from == from);
    Ok(requests)
}

/// Test fixture: sender `from`'s request at `nonce` (key index `nonce`) for `server`, in
/// thread 2 of registry 0x99, token 0x70c3 (a transfer of 7 to 0x5, signature words made up).
#[cfg(test)]
pub fn test_request(server: &str, nonce: u32, from: u64) -> UnsentRequest {
    UnsentRequest {
        server: server.to_owned(),
        registry: Felt::from(0x99u64),
        thread_id: 2,
        token: Felt::from(0x70c3u64),
        from: Felt::from(from),
        nonce,
        key_index: nonce,
        posted: Posted::Transfer(TransferRequest {
            token: "0x70c3".into(),
            from: format!("{from:#x}"),
            to: "0x5".into(),
            amount: "7".into(),
            nonce,
            key: [1, 2, 3, 4],
            next_key: [5, 6, 7, 8],
            signature: vec![9; 3],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "http://127.0.0.1:7070";

    /// Kept requests read back as written, in nonce order per sender; one set aside is no longer
    /// kept and reads back whole; accepted ones are pruned once the key slot is past their nonce;
    /// a file that is not a request is named, a temporary one left by a crash is skipped.
    #[test]
    fn kept_requests_read_back_in_order_and_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        assert!(kept(dir.path()).unwrap().is_empty(), "no directory yet");
        let (late, early, other) = (test_request(SERVER, 6, 0xa), test_request(SERVER, 5, 0xa), test_request(SERVER, 0, 0xb));
        let late_path = late.keep(dir.path()).unwrap();
        let early_path = early.keep(dir.path()).unwrap();
        other.keep(dir.path()).unwrap();
        let read: Vec<UnsentRequest> = kept(dir.path()).unwrap().into_iter().map(|(_, r)| r).collect();
        assert_eq!(read, vec![early.clone(), late.clone(), other.clone()]);
        assert_eq!(kept_of(dir.path(), late.token, late.from).unwrap().len(), 2);
        assert!(kept_of(dir.path(), Felt::from(0x70c4u64), late.from).unwrap().is_empty(), "another token's key slot");
        // The same sender and nonce under another key index (a second process) is its own file.
        let twin = UnsentRequest { key_index: 9, ..late.clone() };
        assert_ne!(twin.path(dir.path()), late_path);
        let aside = set_aside(&late_path, Aside::Refused).unwrap();
        assert_eq!(serde_json::from_slice::<UnsentRequest>(&std::fs::read(&aside).unwrap()).unwrap(), late, "set aside whole");
        assert_eq!(kept_of(dir.path(), late.token, late.from).unwrap().len(), 1, "a request set aside is not kept");
        set_aside(&early_path, Aside::Accepted).unwrap();
        assert_eq!(prune_accepted(dir.path(), early.token, early.from, 5).unwrap(), 0, "nonce 5 not yet consumed");
        assert_eq!(prune_accepted(dir.path(), early.token, early.from, 6).unwrap(), 1);
        assert_eq!(kept(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join(DIR).join("x.json.tmp"), b"{").unwrap();
        assert_eq!(kept(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join(DIR).join("x.json"), b"{").unwrap();
        let error = format!("{:#}", kept(dir.path()).unwrap_err());
        assert!(error.contains("x.json is not a kept signed request"), "{error}");
    }
}
