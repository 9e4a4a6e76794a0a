//! `zkthread tx submit`: sign a transfer with the sender's thread key and hand it to the
//! thread's batcher: stored as pending in the data directory (nothing is sent on-chain until
//! `batch`, `prove`, `settle`), or with `--server URL` posted to a `zkthread serve`.
//!
//! The thread's program (its `program_hash` on-chain) says what is signed: on a thread of the
//! signed program one transfer; on a thread of the list program ONE list of every `--to` /
//! `--amount` pair given (one signature and one key step for all of them; a single pair is a
//! list of one).
//!
//! The signature covers every field of the transfer, the thread's domain (chain id, registry,
//! thread, token), the sender's key-slot nonce it consumes and the key the slot rotates to. The
//! nonce and the key it is signed under are the sender's key slot on-chain advanced by the
//! sender's transfers already queued in this data directory (or at the server), so several
//! transfers can be submitted before one batch. The key file spends one one-time key per
//! transfer. With `--server`, the chain id and the on-chain key slot still come from our own
//! node: the server only tells which queued nonce comes next, and a server that lies can make
//! a signature useless, never valid for anything but this transfer.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use zkthread_client::token::thread_key_slot;
use zkthread_client::{ChainReader, Felt};
use zkthread_client::registry::Registry;
use zkthread_engine::codec::new_transfer_list;
use zkthread_engine::program::TokenProgram;
use zkthread_engine::{check_receiver, queued_state, Refused, MAX_QUEUED_PER_SENDER, MAX_QUEUED_TRANSFERS_PER_SENDER};
use zkthread_sig::transfer_list::{ListedTransfer, TransferListMessage, LIST_AMOUNT_LIMIT};
use zkthread_token::list_batcher::SignedTransferListTx;
use zkthread_token::SignedTransferTx;
use zkthread_engine::batch::MAX_SLOTS_WITHIN_CALLDATA;
use zkthread_engine::token::TokenMessage;
use zkthread_service::api::MAX_BODY_BYTES;
use zkthread_service::wire::{ListedTransferRequest, TransferListRequest, TransferRequest};
use zkthread_sig::domain::{account_id, account_id_wide, transfer_domain, unpack_key_slot};
use zkthread_sig::{KeyCommitment, TransferDraft, Wallet};
use zkthread_store::{NewTransferList, Store, ThreadKey};

use crate::chain::{parse_felt, ChainArgs};
use crate::datadir::{new_transfer, open_store, ThreadArgs};
use crate::key::default_key_path;
use crate::delivery::{self, deliver};
use crate::output::{hex, print_json};
use crate::server::Server;
use crate::unsent::{self, Aside, Posted, UnsentRequest};

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Sign a token transfer with the sender's thread key and submit it to the thread's batcher (prints its id).
    Submit(SubmitArgs),
    /// Post again the signed requests a `tx submit --server` could not deliver (kept in `<data-dir>/unsent/`).
    Resend(delivery::ResendArgs),
}

/// Felts and the amount are taken as text and checked here, so a bad value is a one-line error.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    thread: ThreadArgs,
    #[command(flatten)]
    chain: ChainArgs,
    /// Token contract (must be in the thread's contract set, else the batcher rejects it).
    #[arg(long)]
    token: String,
    /// Sender account (default: the account of `--account-address`).
    #[arg(long)]
    from: Option<String>,
    /// Receiver account (repeat with `--amount` for a list, on a thread of the list program).
    #[arg(long, required = true)]
    to: Vec<String>,
    /// Amount in the token's base unit (a u128 above zero), one per `--to`, in order.
    #[arg(long, required = true, allow_hyphen_values = true)]
    amount: Vec<String>,
    /// The sender's key file (default: `<data-dir>/keys/<from>-<token>.json`, from `zkthread key new`).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Post the signed transfer to this `zkthread serve` (e.g. http://127.0.0.1:7070) instead
    /// of the local data directory.
    #[arg(long)]
    server: Option<String>,
}

#[derive(Serialize)]
struct Submitted {
    id: u64,
    thread_id: u64,
    /// The thread's token program: `signed` (one transfer) or `list`.
    program: TokenProgram,
    token: String,
    from: String,
    /// The transfer's receiver and amount (the signed program); `null` for a list.
    to: Option<String>,
    amount: Option<String>,
    /// Every transfer signed, in order (one for the signed program).
    transfers: Vec<TransferView>,
    /// The sender's key-slot nonce this transfer consumes.
    nonce: u32,
    /// The one-time key index it is signed with (spent in the key file).
    key_index: u32,
    pending: usize,
}

#[derive(Serialize)]
struct TransferView {
    to: String,
    amount: String,
}

/// A submission's fields, checked: its sender's transfers in order.
struct Fields {
    token: Felt,
    from: Felt,
    transfers: Vec<(Felt, u128)>,
}

pub async fn run(cmd: TxCommand, data_dir: &Path, json: bool) -> Result<()> {
    match cmd {
        TxCommand::Submit(args) => submit(args, data_dir, json).await,
        TxCommand::Resend(args) => delivery::resend(args, data_dir, json).await,
    }
}

async fn submit(args: SubmitArgs, data_dir: &Path, json: bool) -> Result<()> {
    let sender = match &args.from {
        Some(from) => Some(parse_felt("--from", from)?),
        None => args
            .chain
            .account_address
            .as_deref()
            .map(|a| parse_felt("--account-address", a))
            .transpose()?,
    };
    let Some(from) = sender else {
        bail!("no sender: pass --from (or --account-address / ZKTHREAD_ACCOUNT_ADDRESS)");
    };
    let fields = parse_transfer(&args, from)?;
    let key_file = match &args.key_file {
        Some(file) => file.clone(),
        None => default_key_path(data_dir, fields.from, fields.token),
    };
    let mut wallet = Wallet::open(&key_file)
        .with_context(|| format!("opening the sender's key file {} (create it with `zkthread key new`)", key_file.display()))?;
    let thread = args.thread.key();
    let client = args.chain.connect_read_only().await?;
    let (program, contracts) = thread_program(&client, thread).await?;
    // Before anything is signed: a transfer in a token outside the thread is never batched,
    // and its one-time key index would be spent for nothing.
    if !contracts.contains(&fields.token) {
        bail!("{}", Refused::ForeignToken(fields.token));
    }
    if program == TokenProgram::Signed && fields.transfers.len() > 1 {
        bail!(
            "thread {} runs the signed program (one transfer per signature): submit the {} transfers one by one, \
             or use a thread of the list program (`zkthread thread create --program list`)",
            thread.thread_id,
            fields.transfers.len()
        );
    }
    if program == TokenProgram::List {
        // Before anything is signed: a one-time key spent on a list that is then refused
        // leaves the key file behind the chain.
        check_list(&fields, args.server.is_some())?;
    }
    let on_chain = read_key_slot(&client, &fields).await?;
    // Before anything is signed: a request no server took holds the key file's last index.
    check_kept(data_dir, &fields, on_chain.1)?;
    // The store (or the server) first: a signature is only made once it has somewhere to go.
    let (destination, (key, nonce)) = match &args.server {
        Some(url) => {
            let server = Server::new(url)?;
            // Before anything is signed: a server of another thread would refuse it for good.
            if let Some(why) = server.other_thread(server.thread().await?, thread) {
                bail!("{why}");
            }
            let (next, queued) = server.sender_state(fields.token, fields.from).await?;
            // Before anything is signed: the service's caps on one sender's queue.
            check_queue(queued, program, fields.transfers.len())?;
            if next.1 < on_chain.1 {
                bail!(
                    "the server says nonce {} comes next, but the sender's key slot on-chain is already at {}",
                    next.1,
                    on_chain.1
                );
            }
            (Destination::Server(server), next)
        }
        None => {
            let store = open_store(data_dir)?;
            // The slot is read above already: only the queue is added here.
            let state = match program {
                TokenProgram::Signed => queued_state(&store, thread, fields.token, fields.from, on_chain)?,
                TokenProgram::List => {
                    queued_state(&store.program::<NewTransferList>(), thread, fields.token, fields.from, on_chain)?
                }
            };
            (Destination::Store(store), (state.key, state.nonce))
        }
    };
    let file_key = wallet.current_commitment().context("reading the key file")?;
    if file_key != key {
        bail!(
            "the key file's next key (index {}) is not the sender's current thread key at nonce {nonce}: \
             a transfer signed with this file was lost or refused, or another file signs for this account; \
             register the file's next key with `zkthread key register --token {}`",
            wallet.next_index(),
            hex(fields.token)
        );
    }
    let domain = transfer_domain(client.chain_id(), thread.registry, Felt::from(thread.thread_id), fields.token);
    let (id, pending, key_index) = match program {
        TokenProgram::Signed => {
            let (to, amount) = fields.transfers[0];
            let draft = TransferDraft { domain, from: account_id(fields.from), to: zkthread_sig::account_id_wide(to), amount, nonce };
            let signed = wallet.sign_transfer(&draft).context("signing the transfer")?;
            let tx = SignedTransferTx {
                token: fields.token,
                from: fields.from,
                to,
                amount,
                nonce,
                key: signed.key,
                next_key: signed.message.next_key,
                signature: signed.signature,
            };
            let (id, pending) = match destination {
                Destination::Store(store) => {
                    // Counted in the same write: once it commits, nothing may fail (a user told
                    // "error" would sign the transfer again at the next nonce and pay twice).
                    let (stored, pending) = store.submit_counted(thread, new_transfer(&tx))?;
                    (stored.id, pending)
                }
                Destination::Server(server) => {
                    let posted = Posted::Transfer(TransferRequest::from_tx(&tx));
                    let accepted = deliver(data_dir, &server, unsent_request(&server, thread, &fields, (nonce, signed.index), posted)).await?;
                    (accepted.id, accepted.pending)
                }
            };
            (id, pending, signed.index)
        }
        TokenProgram::List => {
            // Before the key index is spent: the list's stream carries amounts below 2^120.
            // The service's own refusal, word for word.
            if let Some((item, (_, amount))) = fields.transfers.iter().enumerate().find(|(_, (_, amount))| *amount >= LIST_AMOUNT_LIMIT) {
                bail!("{}", Refused::ListItem { item, reason: Box::new(Refused::ListAmountTooLarge(*amount)) });
            }
            let message = TransferListMessage {
                domain,
                from: account_id(fields.from),
                transfers: fields.transfers.iter().map(|(to, amount)| ListedTransfer { to: account_id_wide(*to), amount: *amount }).collect(),
                nonce,
                next_key: KeyCommitment::NONE,
            };
            let signed = wallet.sign_next(&message).context("signing the list")?;
            let tx = SignedTransferListTx {
                token: fields.token,
                from: fields.from,
                transfers: fields.transfers.clone(),
                nonce,
                key: signed.key,
                next_key: signed.message.next_key,
                signature: signed.signature,
            };
            let (id, pending) = match destination {
                Destination::Store(store) => {
                    let (stored, pending) =
                        store.program::<NewTransferList>().submit_counted(thread, new_transfer_list(&tx))?;
                    (stored.id, pending)
                }
                Destination::Server(server) => {
                    let posted = Posted::List(TransferListRequest::from_tx(&tx));
                    let accepted = deliver(data_dir, &server, unsent_request(&server, thread, &fields, (nonce, signed.index), posted)).await?;
                    (accepted.id, accepted.pending)
                }
            };
            (id, pending, signed.index)
        }
    };
    let single = (program == TokenProgram::Signed).then(|| fields.transfers[0]);
    let out = Submitted {
        id,
        thread_id: thread.thread_id,
        program,
        token: hex(fields.token),
        from: hex(fields.from),
        to: single.map(|(to, _)| hex(to)),
        amount: single.map(|(_, amount)| amount.to_string()),
        transfers: fields.transfers.iter().map(|(to, amount)| TransferView { to: hex(*to), amount: amount.to_string() }).collect(),
        nonce,
        key_index,
        pending,
    };
    if json {
        return print_json(&out);
    }
    let what = match program {
        TokenProgram::Signed => "transfer".to_owned(),
        TokenProgram::List => format!("list of {} transfer(s)", out.transfers.len()),
    };
    println!(
        "{what} {} signed (nonce {}, key index {}) and pending for thread {} ({} pending)",
        out.id, out.nonce, out.key_index, out.thread_id, out.pending
    );
    Ok(())
}

/// What a service refuses for the sender's queue there, whatever the signature (the same lines
/// as its refusals): a full message queue, or on a list thread more transfers queued in lists
/// than it takes from one sender.
/// `queued_transfers` is needed on a list thread only: without it a list is not signed.
fn check_queue((queued, queued_transfers): (usize, Option<usize>), program: TokenProgram, adding: usize) -> Result<()> {
    if queued >= MAX_QUEUED_PER_SENDER {
        bail!("{}", Refused::SenderQueueFull { queued });
    }
    if program == TokenProgram::List {
        let Some(queued_transfers) = queued_transfers else {
            bail!("the server did not say how many transfers the sender has queued (`queued_transfers` of GET /senders): a list is not signed without it");
        };
        // The count is the server's: one past any cap must not overflow.
        if queued_transfers.saturating_add(adding) > MAX_QUEUED_TRANSFERS_PER_SENDER {
            bail!("{}", Refused::SenderTransfersFull { queued: queued_transfers, adding });
        }
    }
    Ok(())
}

/// What would make a list refused whatever its signature: longer than one proof holds, more
/// slots than one settlement carries, or (posted) a body over the service's limit.
fn check_list(fields: &Fields, posted: bool) -> Result<()> {
    let max = NewTransferList::MAX_TRANSFERS_PER_PROOF;
    if fields.transfers.len() > max {
        bail!("a list of {} transfers does not fit one proof (at most {max})", fields.transfers.len());
    }
    if posted && fields.transfers.len() > MAX_QUEUED_TRANSFERS_PER_SENDER {
        // A service never queues it, whatever is settled first.
        bail!("{}", Refused::ListOverSenderCap { transfers: fields.transfers.len() });
    }
    let receivers: std::collections::BTreeSet<Felt> = fields.transfers.iter().map(|(to, _)| *to).collect();
    // The sender's balance and key slot, and each receiver's balance.
    let slots = receivers.len() + 2;
    if slots > MAX_SLOTS_WITHIN_CALLDATA {
        bail!(
            "the list pays {} accounts: {slots} slots, and one settlement carries at most {MAX_SLOTS_WITHIN_CALLDATA}; split it",
            receivers.len()
        );
    }
    if posted {
        // The widest words a signature can have: the posted body is at most this long.
        let widest = TransferListRequest {
            token: hex(fields.token),
            from: hex(fields.from),
            transfers: fields
                .transfers
                .iter()
                .map(|(to, amount)| ListedTransferRequest { to: hex(*to), amount: amount.to_string() })
                .collect(),
            nonce: u32::MAX,
            key: [u32::MAX; 4],
            next_key: [u32::MAX; 4],
            signature: vec![u32::MAX; zkthread_sig::wots::SIGNATURE_LEN],
        };
        let bytes = serde_json::to_vec(&widest)?.len();
        if bytes > MAX_BODY_BYTES {
            bail!("the list's request would be up to {bytes} bytes, over the service's {MAX_BODY_BYTES}: split it");
        }
    }
    Ok(())
}

/// The token program the thread runs, named by its `program_hash` on-chain, and its contract
/// set (both read in one round trip).
async fn thread_program(client: &ChainReader, thread: ThreadKey) -> Result<(TokenProgram, Vec<Felt>)> {
    let registry = Registry { address: thread.registry };
    let (info, contracts) = registry
        .thread_with_contracts(client, thread.thread_id)
        .await
        .with_context(|| format!("reading thread {} of registry {}", thread.thread_id, hex(thread.registry)))?;
    let program = TokenProgram::of(info.program_hash).with_context(|| {
        format!(
            "thread {} runs program {}, not one of the token's programs (signed or list): this CLI signs no message for it",
            thread.thread_id,
            hex(info.program_hash)
        )
    })?;
    Ok((program, contracts))
}

/// Where the signed transfer goes.
enum Destination {
    Store(Store),
    Server(Server),
}

/// The sender's (key, nonce) in its key slot on-chain; an error if it has no key.
async fn read_key_slot(client: &ChainReader, fields: &Fields) -> Result<(KeyCommitment, u32)> {
    let slot = client
        .storage_at(fields.token, thread_key_slot(fields.from)?)
        .await
        .context("reading the sender's thread key slot")?;
    let (key, nonce) = unpack_key_slot(&slot).map_err(|e| {
        anyhow::anyhow!("the sender's key slot in token {} holds no key: {e}", hex(fields.token))
    })?;
    if key.is_none() {
        bail!(
            "sender {} has no thread key in token {}: run `zkthread key register --token {}` from that account first",
            hex(fields.from),
            hex(fields.token),
            hex(fields.token)
        );
    }
    Ok((key, nonce))
}

/// The request signed for `server`, kept until the server answers ([`unsent`]).
fn unsent_request(server: &Server, thread: ThreadKey, fields: &Fields, (nonce, key_index): (u32, u32), posted: Posted) -> UnsentRequest {
    UnsentRequest {
        server: server.base().to_owned(),
        registry: thread.registry,
        thread_id: thread.thread_id,
        token: fields.token,
        from: fields.from,
        nonce,
        key_index,
        posted,
    }
}

/// The sender's kept requests in the token, whatever their thread (the key slot is the token's,
/// shared by every thread over it), against its key slot on chain (at `nonce`): one the slot is
/// past can never apply (set aside as spent), and accepted ones it is past are removed. Any
/// other refuses a new signature: it holds the key file's last index.
fn check_kept(data_dir: &Path, fields: &Fields, nonce: u32) -> Result<()> {
    unsent::prune_accepted(data_dir, fields.token, fields.from, nonce)?;
    for (path, kept) in unsent::kept_of(data_dir, fields.token, fields.from)? {
        if kept.nonce < nonce {
            let aside = unsent::set_aside(&path, Aside::Spent)?;
            tracing::warn!(nonce = kept.nonce, "the key slot is past this kept request's nonce: set aside in {}", aside.display());
            continue;
        }
        bail!(
            "the sender's request at nonce {} (key index {}) was signed but no server took it yet (kept in {}): \
             run `zkthread tx resend` first (it posts it again, or sets it aside if the server refuses it), \
             or move the file out of {} to abandon it",
            kept.nonce,
            kept.key_index,
            path.display(),
            unsent::dir(data_dir).display()
        );
    }
    Ok(())
}

fn parse_transfer(args: &SubmitArgs, from: Felt) -> Result<Fields> {
    let token = parse_felt("--token", &args.token)?;
    if args.to.len() != args.amount.len() {
        bail!(
            "--to and --amount pair up, one amount per receiver: {} --to and {} --amount given",
            args.to.len(),
            args.amount.len()
        );
    }
    let mut transfers = Vec::with_capacity(args.to.len());
    for (to, amount) in args.to.iter().zip(&args.amount) {
        let to = parse_felt("--to", to)?;
        let text = amount.trim();
        let amount: u128 = text
            .parse()
            .with_context(|| format!("--amount: {text:?} is not a whole number below 2^128"))?;
        if amount == 0 {
            bail!("--amount must be above zero");
        }
        if from == to {
            bail!(
                "--from and --to are the same account {}: a self-transfer changes nothing",
                hex(from)
            );
        }
        check_receiver(to).map_err(|refused| anyhow::anyhow!("--to: {refused}"))?;
        transfers.push((to, amount));
    }
    Ok(Fields { token, from, transfers })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept request blocks a new signature until the key slot on chain is past its nonce;
    /// then it is set aside as spent (and accepted ones past it are removed) by `tx submit`.
    #[test]
    fn a_kept_request_blocks_signing_until_the_key_slot_is_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let fields = Fields { token: Felt::from(0x70c3u64), from: Felt::from(0xau64), transfers: vec![] };
        let path = unsent::test_request("http://127.0.0.1:7070", 5, 0xa).keep(dir.path()).unwrap();
        let accepted = unsent::test_request("http://127.0.0.1:7070", 3, 0xa).keep(dir.path()).unwrap();
        unsent::set_aside(&accepted, Aside::Accepted).unwrap();
        let other_sender = Fields { token: fields.token, from: Felt::from(0xbu64), transfers: vec![] };
        check_kept(dir.path(), &other_sender, 0).unwrap();
        // Another thread over the same token shares the key slot: blocked too. The accepted
        // request at nonce 3 stays while the slot is not past it.
        let elsewhere = UnsentRequest { thread_id: 3, ..unsent::test_request("http://127.0.0.1:7070", 5, 0xa) };
        let elsewhere = elsewhere.keep(dir.path()).unwrap();
        let blocked = check_kept(dir.path(), &fields, 3).unwrap_err().to_string();
        assert!(blocked.contains("request at nonce 5 (key index 5)") && blocked.contains("run `zkthread tx resend` first"), "{blocked}");
        assert!(std::fs::read_dir(unsent::dir(dir.path()).join("accepted")).unwrap().next().is_some(), "not pruned at nonce 3");
        std::fs::remove_file(elsewhere).unwrap();
        check_kept(dir.path(), &fields, 5).unwrap_err();
        assert!(path.exists());
        check_kept(dir.path(), &fields, 6).unwrap();
        assert!(!path.exists() && unsent::dir(dir.path()).join("spent").join(path.file_name().unwrap()).exists());
        assert!(std::fs::read_dir(unsent::dir(dir.path()).join("accepted")).unwrap().next().is_none(), "pruned");
    }

    /// `tx submit --server` refuses what the service would for the sender's queue, with its
    /// line: the 65th queued message on either program, and on a list thread a list that takes
    /// the sender past 1,024 queued transfers (a signed thread has no such count, and needs none
    /// from the server).
    #[test]
    fn check_queue_refuses_what_the_service_would() {
        let refused = |counts, program, adding| check_queue(counts, program, adding).err().map(|e| e.to_string());
        let full = Some(Refused::SenderQueueFull { queued: MAX_QUEUED_PER_SENDER }.to_string());
        assert_eq!(refused((MAX_QUEUED_PER_SENDER, Some(0)), TokenProgram::Signed, 1), full);
        assert_eq!(refused((MAX_QUEUED_PER_SENDER, Some(0)), TokenProgram::List, 1), full);
        assert_eq!(refused((MAX_QUEUED_PER_SENDER - 1, Some(0)), TokenProgram::List, 1), None);
        let over = Some(Refused::SenderTransfersFull { queued: 1_000, adding: 25 }.to_string());
        assert_eq!(refused((1, Some(1_000)), TokenProgram::List, 25), over);
        assert_eq!(refused((1, Some(1_000)), TokenProgram::List, 24), None, "exactly 1,024");
        assert_eq!(refused((1, Some(1_000)), TokenProgram::Signed, 25), None);
        // A server that leaves the transfer count out: a signed thread does not need it, a
        // list is not signed without it.
        assert_eq!(refused((1, None), TokenProgram::Signed, 1), None);
        assert_eq!(refused((MAX_QUEUED_PER_SENDER, None), TokenProgram::Signed, 1), full);
        let unknown = refused((1, None), TokenProgram::List, 1).expect("refused");
        assert!(unknown.contains("queued_transfers"), "{unknown}");
    }
}
