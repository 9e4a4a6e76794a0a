//! The thread key file: a seed and the next unused key index.
//!
//! The one rule of a one-time signature scheme — never sign two messages with one key — is
//! enforced here, not by callers: [`Wallet`] hands out key indices only through
//! [`Wallet::sign_transfer`] / [`Wallet::sign_message`], and persists `next_index + 1` (write to
//! a temporary file, fsync, rename, fsync the directory) *before* computing the signature, under
//! an exclusive lock on a sibling `.lock` file, re-reading the file under that lock. So:
//! - a crash after the write loses at most one index (skipped, never reused);
//! - two processes (or two `Wallet`s) on one file never get the same index;
//! - a file whose index went backwards (restored from a backup, edited) is refused: the
//!   wallet remembers the highest index it has seen, and signing refuses a file below it.
//!   A *process-external* rollback (restoring a backup before any wallet opens it) cannot be
//!   detected from the file alone: never restore or copy a key file; if the counter is lost,
//!   generate a new seed and register its key with `set_thread_key`.
//!
//! File format (JSON): `{"version": 1, "scheme": "zkthread-ts-wots-poseidon2-m31/v1",
//! "seed": [8 x u32 < 2^31 - 1], "next_index": u32}`. On unix the file is created with mode
//! 0600 and refused if group or others have any permission bit.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::wots::{
    check_signable, commitment, sign, Hash4, KeyCommitment, KeySeed, Message, MessageError,
    SignError, Signature, TransferMessage, MAX_KEY_INDEX, SEED_LEN,
};

pub const KEY_FILE_VERSION: u32 = 1;
pub const KEY_FILE_SCHEME: &str = "zkthread-ts-wots-poseidon2-m31/v1";

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: a key file already exists (refusing to overwrite a seed)")]
    Exists(PathBuf),
    #[error("{path}: mode {mode:o} lets group or others access the seed (chmod 600 it)")]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{0}: not a regular file")]
    NotAFile(PathBuf),
    #[error("{path}: not a thread key file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: unsupported key file version {version} / scheme {scheme:?}")]
    Unsupported {
        path: PathBuf,
        version: u32,
        scheme: String,
    },
    #[error("{path}: invalid seed: {source}")]
    InvalidSeed {
        path: PathBuf,
        source: crate::field::NotCanonical,
    },
    #[error("{path}: next_index {index} out of range (max {MAX_KEY_INDEX})")]
    IndexOutOfRange { path: PathBuf, index: u32 },
    #[error("{0}: the file now holds another seed than the one this wallet opened")]
    SeedChanged(PathBuf),
    #[error("{path}: next_index went backwards ({on_disk} < {seen}): restored or edited key file; refusing to sign")]
    IndexWentBackwards {
        path: PathBuf,
        on_disk: u32,
        seen: u32,
    },
    #[error("all key indices of this seed are used: generate a new seed")]
    Exhausted,
    #[error("operating system randomness failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// What a transfer signs, before the wallet fills in the next key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransferDraft {
    pub domain: Hash4,
    pub from: Hash4,
    /// The receiver's 248-bit id.
    pub to: crate::domain::AccountId,
    pub amount: u128,
    /// The sender's current key-slot nonce.
    pub nonce: u32,
}

impl TransferDraft {
    /// The message this draft signs, with `next_key` still to be filled in (`NONE`).
    pub fn message(&self) -> TransferMessage {
        TransferMessage {
            domain: self.domain,
            from: self.from,
            to: self.to,
            amount: self.amount,
            nonce: self.nonce,
            next_key: KeyCommitment::NONE,
        }
    }
}

/// A signature with what a batcher needs to check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedMessage<M> {
    /// The key index used (spent).
    pub index: u32,
    /// The key commitment the signature verifies against (must be in the signer's key slot).
    pub key: KeyCommitment,
    pub message: M,
    pub signature: Signature,
}

/// A signed thread transfer.
pub type SignedTransfer = SignedMessage<TransferMessage>;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    scheme: String,
    seed: [u32; SEED_LEN],
    next_index: u32,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

/// A thread key file opened for signing.
pub struct Wallet {
    path: PathBuf,
    seed: KeySeed,
    /// The highest `next_index` this wallet has read or written.
    next_index: u32,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("path", &self.path)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeystoreError + '_ {
    move |source| KeystoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `<dir>/<name><suffix>`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Options for a new private file: create_new, and on unix mode 0600 from the start (no
/// window where the seed is readable by others).
fn private_create_new() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Holds the exclusive lock on `<path>.lock` until dropped.
struct Lock(File);

impl Lock {
    fn acquire(path: &Path) -> Result<Lock, KeystoreError> {
        let lock_path = sibling(path, ".lock");
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&lock_path).map_err(io_err(&lock_path))?;
        file.lock().map_err(io_err(&lock_path))?;
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the handle releases the lock as well; unlock explicitly for clarity.
        let _ = self.0.unlock();
    }
}

fn check_permissions(path: &Path, file: &File) -> Result<(), KeystoreError> {
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(KeystoreError::NotAFile(path.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeystoreError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Reads and validates the key file (permissions checked on the open handle, so the file
/// checked is the file read).
fn read_key_file(path: &Path) -> Result<(KeySeed, u32), KeystoreError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    check_permissions(path, &file)?;
    let mut text = Vec::new();
    let read = file.read_to_end(&mut text).map_err(io_err(path));
    let parsed = read.and_then(|_| {
        serde_json::from_slice::<KeyFile>(&text).map_err(|source| KeystoreError::Parse {
            path: path.to_path_buf(),
            source,
        })
    });
    text.zeroize();
    let kf = parsed?;
    if kf.version != KEY_FILE_VERSION || kf.scheme != KEY_FILE_SCHEME {
        return Err(KeystoreError::Unsupported {
            path: path.to_path_buf(),
            version: kf.version,
            scheme: kf.scheme.clone(),
        });
    }
    let seed = KeySeed::from_u32(kf.seed).map_err(|source| KeystoreError::InvalidSeed {
        path: path.to_path_buf(),
        source,
    })?;
    if kf.next_index > MAX_KEY_INDEX {
        return Err(KeystoreError::IndexOutOfRange {
            path: path.to_path_buf(),
            index: kf.next_index,
        });
    }
    Ok((seed, kf.next_index))
}

/// Writes the key file atomically: temp file (0600) + fsync + rename (or, for a new file, a
/// hard link, which fails instead of replacing an existing seed) + fsync of the directory.
/// Callers hold the lock.
fn write_key_file(
    path: &Path,
    seed: &KeySeed,
    next_index: u32,
    create: bool,
) -> Result<(), KeystoreError> {
    let kf = KeyFile {
        version: KEY_FILE_VERSION,
        scheme: KEY_FILE_SCHEME.to_string(),
        seed: seed.expose_u32(),
        next_index,
    };
    let mut text = serde_json::to_vec_pretty(&kf).map_err(|source| KeystoreError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    text.push(b'\n');
    let tmp = sibling(path, ".tmp");
    // A stale temp file is from a crashed writer (we hold the lock): it never became the key
    // file, so it is safe to discard.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&tmp)(e)),
    }
    let written = (|| {
        let mut f = private_create_new().open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()
    })();
    text.zeroize();
    written.map_err(io_err(&tmp))?;
    if create {
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(KeystoreError::Exists(path.to_path_buf()))
            }
            Err(e) => return Err(io_err(path)(e)),
        }
    } else {
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
    }
    sync_parent(path)
}

/// fsync the directory so the rename itself survives a crash.
fn sync_parent(path: &Path) -> Result<(), KeystoreError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Wallet {
    /// Creates a new key file at `path` with a fresh seed and `next_index = 0`. Refuses to
    /// overwrite an existing file.
    pub fn create(path: impl AsRef<Path>) -> Result<Wallet, KeystoreError> {
        let path = path.as_ref().to_path_buf();
        let seed = KeySeed::generate().map_err(KeystoreError::Random)?;
        let _lock = Lock::acquire(&path)?;
        write_key_file(&path, &seed, 0, true)?;
        Ok(Wallet {
            path,
            seed,
            next_index: 0,
        })
    }

    /// Opens an existing key file (refused if group/others can access it on unix).
    pub fn open(path: impl AsRef<Path>) -> Result<Wallet, KeystoreError> {
        let path = path.as_ref().to_path_buf();
        let (seed, next_index) = read_key_file(&path)?;
        Ok(Wallet {
            path,
            seed,
            next_index,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next unused key index (as last read or written by this wallet).
    pub fn next_index(&self) -> u32 {
        self.next_index
    }

    /// The key commitment of any index of this seed (public).
    pub fn commitment(&self, index: u32) -> Result<KeyCommitment, KeystoreError> {
        Ok(commitment(&self.seed, index)?)
    }

    /// The commitment of the next unused index: the key to register with `set_thread_key`
    /// (it has never signed anything), and the key the next signature will use.
    pub fn current_commitment(&self) -> Result<KeyCommitment, KeystoreError> {
        self.commitment(self.next_index)
    }

    /// Signs a transfer with the next unused index `n`, rotating to the key of index `n + 1`
    /// (`next_key = commitment(n + 1)`), so consecutive transfers chain: the `k`-th signature
    /// verifies against the key the `(k-1)`-th one installed.
    pub fn sign_transfer(
        &mut self,
        draft: &TransferDraft,
    ) -> Result<SignedTransfer, KeystoreError> {
        // `sign_next` installs the next key (and validates before spending an index).
        self.sign_next(&draft.message())
    }

    /// Signs an arbitrary message (e.g. rotating to a key of another seed) with the next
    /// unused index.
    pub fn sign_message(
        &mut self,
        message: &TransferMessage,
    ) -> Result<SignedTransfer, KeystoreError> {
        check_signable(message)?;
        let index = self.reserve_index()?;
        self.sign_reserved(index, *message)
    }

    /// Signs a program's message with the next unused index `n`, rotating to the key of
    /// index `n + 1` (the message's next key is set to `commitment(n + 1)`), as
    /// [`Wallet::sign_transfer`] does for a transfer.
    pub fn sign_next<M: Message + Clone>(
        &mut self,
        message: &M,
    ) -> Result<SignedMessage<M>, KeystoreError> {
        // Validate before spending an index.
        check_signable(message)?;
        let index = self.reserve_index()?;
        let mut message = message.clone();
        message.set_next_key(commitment(&self.seed, index + 1)?);
        self.sign_reserved(index, message)
    }

    fn sign_reserved<M: Message>(
        &self,
        index: u32,
        message: M,
    ) -> Result<SignedMessage<M>, KeystoreError> {
        let signature = sign(&self.seed, index, &message)?;
        Ok(SignedMessage {
            index,
            key: commitment(&self.seed, index)?,
            message,
            signature,
        })
    }

    /// Spends one index: under the lock, re-reads the file, persists `n + 1`, returns `n`.
    /// `n + 1` must itself be a valid index (it is the next key).
    fn reserve_index(&mut self) -> Result<u32, KeystoreError> {
        let _lock = Lock::acquire(&self.path)?;
        let (seed, on_disk) = read_key_file(&self.path)?;
        if seed != self.seed {
            return Err(KeystoreError::SeedChanged(self.path.clone()));
        }
        if on_disk < self.next_index {
            return Err(KeystoreError::IndexWentBackwards {
                path: self.path.clone(),
                on_disk,
                seen: self.next_index,
            });
        }
        if on_disk >= MAX_KEY_INDEX {
            return Err(KeystoreError::Exhausted);
        }
        write_key_file(&self.path, &self.seed, on_disk + 1, false)?;
        self.next_index = on_disk + 1;
        Ok(on_disk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wots::verify;

    fn draft(amount: u128, nonce: u32) -> TransferDraft {
        let h = |v: u32| [crate::field::M31::reduce(v); 4];
        TransferDraft {
            domain: h(1),
            from: h(2),
            to: crate::domain::AccountId { low: h(3), high: h(4) },
            amount,
            nonce,
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_sign_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut w = Wallet::create(&path).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let k0 = w.current_commitment().unwrap();
        let s0 = w.sign_transfer(&draft(5, 0)).unwrap();
        assert_eq!((s0.index, s0.key), (0, k0));
        verify(&k0, &s0.message, &s0.signature).unwrap();
        // Persisted before the signature was returned.
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 1);
        // Chained: the second signature verifies against the key the first installed.
        let s1 = w.sign_transfer(&draft(6, 1)).unwrap();
        assert_eq!(s1.key, s0.message.next_key);
        verify(&s0.message.next_key, &s1.message, &s1.signature).unwrap();
        assert_eq!(
            Wallet::open(&path).unwrap().current_commitment().unwrap(),
            s1.message.next_key
        );
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert!(!sibling(&path, ".tmp").exists());
    }

    #[test]
    fn sign_next_rotates_a_program_message_to_the_next_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut w = Wallet::create(&path).unwrap();
        let s0 = w.sign_transfer(&draft(5, 0)).unwrap();
        // Any `Message` (a transfer here, built by hand with a stale next key) gets the next
        // index's successor installed, so it chains after the transfer above.
        let message = TransferMessage { nonce: 1, next_key: KeyCommitment::NONE, ..s0.message };
        let s1 = w.sign_next(&message).unwrap();
        assert_eq!((s1.index, s1.key), (1, s0.message.next_key));
        assert_eq!(s1.message.next_key, w.commitment(2).unwrap());
        verify(&s1.key, &s1.message, &s1.signature).unwrap();
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 2);
        // An unencodable message spends no index.
        let bad = TransferMessage { nonce: crate::field::MODULUS, ..message };
        assert!(matches!(w.sign_next(&bad), Err(KeystoreError::Message(_))));
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 2);
    }

    /// The last two nonces below the key slot's bound (`2^31 - 3`, `2^31 - 2`) are never
    /// signed, by any of the wallet's entry points, and spend no index: chained in one proof
    /// they would wrap the slot's nonce to 0 (`wots::check_signable`). `2^31 - 4`, the last
    /// nonce a slot can consume, is signed.
    #[test]
    fn the_last_nonces_below_the_bound_are_never_signed() {
        use crate::domain::KEY_NONCE_BOUND;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut w = Wallet::create(&path).unwrap();
        for nonce in [KEY_NONCE_BOUND - 1, KEY_NONCE_BOUND] {
            let exhausted = |e| matches!(e, KeystoreError::Message(MessageError::NonceExhausted(n)) if n == nonce);
            assert!(exhausted(w.sign_transfer(&draft(5, nonce)).unwrap_err()), "nonce {nonce}");
            let message = draft(5, nonce).message();
            assert!(exhausted(w.sign_message(&message).unwrap_err()), "nonce {nonce}");
            assert!(exhausted(w.sign_next(&message).unwrap_err()), "nonce {nonce}");
            assert_eq!(Wallet::open(&path).unwrap().next_index(), 0, "nonce {nonce}: an index spent");
        }
        let last = w.sign_transfer(&draft(5, KEY_NONCE_BOUND - 2)).unwrap();
        verify(&last.key, &last.message, &last.signature).unwrap();
    }

    /// A transfer list is one message: one index for the whole list, chained like a transfer.
    #[test]
    fn a_transfer_list_takes_one_index() {
        use crate::transfer_list::{ListedTransfer, TransferListMessage};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut w = Wallet::create(&path).unwrap();
        let d = draft(5, 0);
        let list = TransferListMessage {
            domain: d.domain,
            from: d.from,
            transfers: (0..100).map(|i| ListedTransfer { to: crate::domain::account_id_wide(starknet_types_core::felt::Felt::from(10 + i)), amount: 7 }).collect(),
            nonce: 0,
            next_key: KeyCommitment::NONE,
        };
        let s0 = w.sign_next(&list).unwrap();
        assert_eq!((s0.index, s0.message.next_key), (0, w.commitment(1).unwrap()));
        verify(&s0.key, &s0.message, &s0.signature).unwrap();
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 1);
        let s1 = w.sign_transfer(&draft(6, 1)).unwrap();
        verify(&s0.message.next_key, &s1.message, &s1.signature).unwrap();
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let w = Wallet::create(&path).unwrap();
        assert!(matches!(
            Wallet::create(&path),
            Err(KeystoreError::Exists(_))
        ));
        // The original seed is intact.
        assert_eq!(
            Wallet::open(&path).unwrap().current_commitment().unwrap(),
            w.current_commitment().unwrap()
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        Wallet::create(&path).unwrap();
        for m in [0o644, 0o640, 0o604, 0o620, 0o601] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
            assert!(
                matches!(
                    Wallet::open(&path),
                    Err(KeystoreError::InsecurePermissions { .. })
                ),
                "mode {m:o}"
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        Wallet::open(&path).unwrap();
    }

    #[test]
    fn index_never_goes_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut a = Wallet::create(&path).unwrap();
        let mut b = Wallet::open(&path).unwrap();
        // Two wallets on one file interleave: indices strictly increase, never repeat.
        let mut seen = Vec::new();
        for k in 0..6 {
            let w = if k % 2 == 0 { &mut a } else { &mut b };
            seen.push(w.sign_transfer(&draft(k, k as u32)).unwrap().index);
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        // Roll the file back (a restored backup): the wallet that saw index 6 refuses.
        let backup_seed = Wallet::open(&path).unwrap().seed.expose_u32();
        let _ = std::fs::remove_file(&path);
        {
            let kf = KeyFile {
                version: KEY_FILE_VERSION,
                scheme: KEY_FILE_SCHEME.into(),
                seed: backup_seed,
                next_index: 2,
            };
            let mut f = private_create_new().open(&path).unwrap();
            f.write_all(&serde_json::to_vec(&kf).unwrap()).unwrap();
        }
        assert!(matches!(
            a.sign_transfer(&draft(1, 1)),
            Err(KeystoreError::IndexWentBackwards {
                on_disk: 2,
                seen: 5,
                ..
            })
        ));
    }

    #[test]
    fn concurrent_wallets_never_share_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        Wallet::create(&path).unwrap();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut w = Wallet::open(&path).unwrap();
                    (0..3)
                        .map(|k| w.sign_transfer(&draft(t * 10 + k, 0)).unwrap().index)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u32> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, (0..12).collect::<Vec<_>>());
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 12);
    }

    #[test]
    fn rejects_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| {
            let p = dir.path().join(name);
            private_create_new()
                .open(&p)
                .unwrap()
                .write_all(body.as_bytes())
                .unwrap();
            p
        };
        let ok_seed = "[1,2,3,4,5,6,7,8]";
        let p = write("a", "not json");
        assert!(matches!(Wallet::open(&p), Err(KeystoreError::Parse { .. })));
        let p = write(
            "b",
            &format!(
                r#"{{"version":2,"scheme":"{KEY_FILE_SCHEME}","seed":{ok_seed},"next_index":0}}"#
            ),
        );
        assert!(matches!(
            Wallet::open(&p),
            Err(KeystoreError::Unsupported { .. })
        ));
        let p = write(
            "c",
            &format!(
                r#"{{"version":1,"scheme":"{KEY_FILE_SCHEME}","seed":[1,2,3,4,5,6,7,2147483647],"next_index":0}}"#
            ),
        );
        assert!(matches!(
            Wallet::open(&p),
            Err(KeystoreError::InvalidSeed { .. })
        ));
        let p = write(
            "d",
            &format!(
                r#"{{"version":1,"scheme":"{KEY_FILE_SCHEME}","seed":{ok_seed},"next_index":2147483647}}"#
            ),
        );
        assert!(matches!(
            Wallet::open(&p),
            Err(KeystoreError::IndexOutOfRange { .. })
        ));
        let p = write(
            "e",
            &format!(
                r#"{{"version":1,"scheme":"{KEY_FILE_SCHEME}","seed":{ok_seed},"next_index":2147483646}}"#
            ),
        );
        let mut w = Wallet::open(&p).unwrap();
        assert!(matches!(
            w.sign_transfer(&draft(1, 0)),
            Err(KeystoreError::Exhausted)
        ));
        let p = write(
            "f",
            &format!(
                r#"{{"version":1,"scheme":"{KEY_FILE_SCHEME}","seed":{ok_seed},"next_index":0,"extra":1}}"#
            ),
        );
        assert!(matches!(Wallet::open(&p), Err(KeystoreError::Parse { .. })));
        assert!(matches!(
            Wallet::open(dir.path().join("missing")),
            Err(KeystoreError::Io { .. })
        ));
    }

    #[test]
    fn invalid_message_spends_no_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.key");
        let mut w = Wallet::create(&path).unwrap();
        assert!(matches!(
            w.sign_transfer(&draft(1, u32::MAX)),
            Err(KeystoreError::Message(_))
        ));
        assert_eq!(Wallet::open(&path).unwrap().next_index(), 0);
    }

    #[test]
    fn debug_does_not_print_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallet::create(dir.path().join("k")).unwrap();
        assert_eq!(format!("{:?}", w.seed), "KeySeed(<secret>)");
        assert!(!format!("{w:?}").contains("seed"));
    }
}
