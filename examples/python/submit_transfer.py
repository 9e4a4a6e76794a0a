#!/usr/bin/env python3
"""A zkThreads wallet in Python (starknet-py): thread key file, key registration, signed transfers.

Creates a thread key file, registers its key in a token's key slot, and signs a transfer and
submits it to a `zkthread serve` (on a thread of the list program, one signed list of every
--to/--amount pair given). The one-time signatures are made by the same Rust code as the
`zkthread` CLI's, compiled to WebAssembly (harness/sig-wasm; scripts/setup-examples.sh builds
examples/wasm/zkthread_sig.wasm) and run by wasmtime: nothing of the signature scheme is
re-implemented here.

    python submit_transfer.py key-new --key-file F
    python submit_transfer.py key-register --key-file F --token 0x..              (+ account options)
    python submit_transfer.py submit --key-file F --server URL --registry 0x.. --thread N
                                     --token 0x.. --to 0x.. --amount N [--to 0x.. --amount N ...]
                                     [--wait]                                    (+ account options)
    python submit_transfer.py resend --key-file F [--server URL]
    python submit_transfer.py --self-check [--vectors PATH]

Account options (or their environment variables, as for the zkthread CLI): --rpc-url
(ZKTHREAD_RPC_URL), --account-address (ZKTHREAD_ACCOUNT_ADDRESS), --private-key
(ZKTHREAD_PRIVATE_KEY; key-register only), --registry (ZKTHREAD_REGISTRY). --wasm PATH loads
another build of the signer.

Key files have exactly the format of `zkthread key new` (interchangeable with the CLI): JSON
{version, scheme, seed: [8 M31 words], next_index}, mode 0600. A key index signs once: the
advanced next_index is written (temporary file, fsync, rename, fsync of the directory) under an
exclusive flock(2) of `<file>.lock` (the lock the Rust keystore takes) before the signature is
computed.

A signed request is written to `<key file>.unsent.json` before it is posted, removed once the
server stored it, and moved to `<key file>.refused.json` if the server refuses it for good. A
post whose answer is lost (no answer, a 5xx, a 408 or 429) leaves it there: its key index is
spent, so `submit` refuses to sign until `resend` has posted it again (a copy of a message the
server stored already is answered 200 as that message, a duplicate: set aside as accepted).

Prints one JSON document on stdout; on an error {"error": "..."} on stdout, the same line on
stderr, exit 1 (2 for a usage error). Same options and output bytes as
examples/javascript/submit-transfer.mjs.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import re
import secrets
import stat
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, NamedTuple, Optional
from urllib.parse import urlparse

import wasmtime

# starknet-py (~1.5 s to import) is imported by the commands that talk to a node, so key-new
# and --self-check start at once.
if TYPE_CHECKING:
    from starknet_py.net.full_node_client import FullNodeClient

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WASM = os.path.join(HERE, "..", "wasm", "zkthread_sig.wasm")
DEFAULT_VECTORS = os.path.join(HERE, "..", "vectors", "sign.json")
USAGE = (
    "usage: submit-transfer.mjs key-new --key-file F | key-register --key-file F --token 0x.. | "
    "submit --key-file F --server URL --registry 0x.. --thread N --token 0x.. --to 0x.. --amount N [--to 0x.. --amount N ...] [--wait] | "
    "resend --key-file F [--server URL] | "
    "--self-check [--vectors PATH]; account: --rpc-url URL --account-address 0x.. [--private-key 0x..]; [--wasm PATH]"
).replace("submit-transfer.mjs", "submit_transfer.py")

# The key file zkthread_sig::keystore writes.
KEY_FILE_VERSION = 1
KEY_FILE_SCHEME = "zkthread-ts-wots-poseidon2-m31/v1"
KEY_FILE_FIELDS = {"version", "scheme", "seed", "next_index"}
MODULUS = 2**31 - 1  # M31: seed words, key words and indices are below it
MAX_KEY_INDEX = MODULUS - 1  # the last index has no next key to rotate to
ADDRESS_BOUND = 2**251
SERVER_TIMEOUT_S = 60  # how long a request waits for the server's answer (as the JavaScript wallet)
FELT_PRIME = 2**251 + 17 * 2**192 + 1
U128_BOUND = 2**128
MAX_THREAD_ID = 2**53 - 1  # as the JavaScript client (thread ids go to the signer as JSON numbers)
POLL_SECONDS = 0.5  # --wait: how often to ask the server about the transfer
WAIT_LIMIT_SECONDS = 600
RECEIPT_POLL_SECONDS = 0.25  # how often to ask the node for a receipt
MAX_SLOTS_PER_SETTLEMENT = 147  # slots one settlement carries (the engine's MAX_SLOTS_WITHIN_CALLDATA)
MAX_BODY_BYTES = 64 * 1024  # the largest request body the service reads (its MAX_BODY_BYTES)
MAX_QUEUED_PER_SENDER = 64  # messages one sender may have queued at the service (the engine's)
MAX_QUEUED_TRANSFERS_PER_SENDER = 1024  # transfers one sender may have queued in lists (the engine's)
LIST_AMOUNT_LIMIT = 2**120  # a listed amount is four 30-bit elements (zkthread_sig::transfer_list)
SIGNATURE_WORDS = 263  # rho, pp, then the 64 chains


class UsageError(Exception):
    """A bad command line: exit code 2."""


class Failure(Exception):
    """Anything else: exit code 1."""


# ---- Command line ----


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}; {USAGE}")


def parse_command_line(argv: List[str]) -> argparse.Namespace:
    parser = _Parser(prog="submit_transfer.py", usage=USAGE[len("usage: "):], add_help=True)
    parser.add_argument("command", nargs="?")
    for name in ("key-file", "token", "server", "registry", "thread", "rpc-url",
                 "account-address", "private-key", "wasm", "vectors"):
        parser.add_argument(f"--{name}")
    for name in ("to", "amount"):
        parser.add_argument(f"--{name}", action="append")
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--self-check", action="store_true")
    values = parser.parse_args(argv)

    def env(value: Optional[str], variable: str) -> Optional[str]:
        return value if value is not None else os.environ.get(variable)

    command = "self-check" if values.self_check else values.command
    if values.self_check and values.command is not None:
        raise UsageError(f"unexpected argument {json.dumps(values.command)}; {USAGE}")

    def need(name: str, value: Any) -> Any:
        if value is None:
            raise UsageError(f"{command} needs --{name}; {USAGE}")
        return value

    args = argparse.Namespace(command=command, wasm=values.wasm or DEFAULT_WASM)
    if command == "self-check":
        args.vectors = values.vectors or DEFAULT_VECTORS
    elif command == "key-new":
        args.key_file = need("key-file", values.key_file)
    elif command == "resend":
        args.key_file = need("key-file", values.key_file)
        args.server = None if values.server is None else parse_url(values.server, "--server").rstrip("/")
    elif command == "key-register":
        args.key_file = need("key-file", values.key_file)
        args.token = parse_address(need("token", values.token), "--token")
        args.rpc_url = parse_url(need("rpc-url", env(values.rpc_url, "ZKTHREAD_RPC_URL")), "--rpc-url")
        args.account = parse_address(
            need("account-address", env(values.account_address, "ZKTHREAD_ACCOUNT_ADDRESS")), "--account-address")
        args.private_key = parse_felt(
            need("private-key", env(values.private_key, "ZKTHREAD_PRIVATE_KEY")), "--private-key")
    elif command == "submit":
        args.sender = parse_address(
            need("account-address", env(values.account_address, "ZKTHREAD_ACCOUNT_ADDRESS")), "--account-address")
        args.transfers = parse_pairs(args.sender, need("to", values.to), need("amount", values.amount))
        args.thread = parse_uint(need("thread", values.thread), "--thread", MAX_THREAD_ID)
        if args.thread == 0:
            raise UsageError("--thread: thread ids start at 1")
        args.key_file = need("key-file", values.key_file)
        args.server = parse_url(need("server", values.server), "--server").rstrip("/")
        args.registry = parse_address(need("registry", env(values.registry, "ZKTHREAD_REGISTRY")), "--registry")
        args.token = parse_address(need("token", values.token), "--token")
        args.rpc_url = parse_url(need("rpc-url", env(values.rpc_url, "ZKTHREAD_RPC_URL")), "--rpc-url")
        args.wait = values.wait
    elif command is None:
        raise UsageError(f"no command; {USAGE}")
    else:
        raise UsageError(f"unknown command {json.dumps(command)}; {USAGE}")
    return args


def parse_url(text: str, flag: str) -> str:
    url = urlparse(text)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"{flag}: not an http(s) URL: {json.dumps(text)}")
    return text


def parse_uint(text: str, flag: str, maximum: int) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise UsageError(f"{flag}: not a non-negative integer: {json.dumps(text)}")
    value = int(text)
    if value > maximum:
        raise UsageError(f"{flag}: {text} is too large")
    return value


def parse_address(text: str, flag: str) -> int:
    """A contract address: 0x hex below 2^251."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{1,64}", text):
        raise UsageError(f"{flag}: not a 0x hex address: {json.dumps(text)}")
    value = int(text, 16)
    if value >= ADDRESS_BOUND:
        raise UsageError(f"{flag}: {text} is not below 2^251")
    return value


def parse_felt(text: str, flag: str) -> int:
    """A felt: 0x hex below the field prime (not echoed: it may be a secret)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{1,64}", text) or int(text, 16) >= FELT_PRIME:
        raise UsageError(f"{flag}: not a 0x hex felt")
    return int(text, 16)


def parse_amount(text: str) -> int:
    """A token amount: a whole number above zero and below 2^128 (the thread's balances)."""
    if not re.fullmatch(r"[0-9]+", text) or int(text) >= U128_BOUND:
        raise UsageError(f"--amount: {json.dumps(text)} is not a whole number below 2^128")
    if int(text) == 0:
        raise UsageError("--amount must be above zero")
    return int(text)


def parse_pairs(sender: int, tos: List[str], amounts: List[str]) -> List[Dict[str, int]]:
    """The transfers of `--to`/`--amount` pairs, in order: each receiver is not the sender and each
    amount is above zero (what the service refuses a list item for)."""
    if len(tos) != len(amounts):
        raise UsageError(f"--to and --amount come in pairs: {len(tos)} --to, {len(amounts)} --amount")
    transfers = []
    for text, amount in zip(tos, amounts):
        to = parse_address(text, "--to")
        if to == sender:
            raise UsageError(f"--to is the sender {hex(sender)}: a self-transfer changes nothing")
        transfers.append({"to": to, "amount": parse_amount(amount)})
    return transfers


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def os_reason(error: BaseException) -> str:
    """An operating-system error in the C library's wording, lower case ("no such file or
    directory", as the JavaScript client prints it); anything else as its message. aiohttp and
    urllib wrap the socket's error: look down the chain."""
    cause: Optional[BaseException] = error
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
            reason = os.strerror(cause.errno)
            return reason[:1].lower() + reason[1:]
        cause = (getattr(cause, "os_error", None) or getattr(cause, "reason", None)
                 or cause.__cause__ or cause.__context__)
        if not isinstance(cause, BaseException):
            break
    return one_line(error)


def server_reason(error: BaseException) -> str:
    """Why a request to the server failed, worded as the JavaScript wallet words it: a timeout
    (urllib raises it bare, or wrapped in a URLError) as the wait it gave up after."""
    cause: Optional[BaseException] = error
    for _ in range(5):
        if isinstance(cause, TimeoutError):
            return f"no answer within {SERVER_TIMEOUT_S} s"
        nxt = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if not isinstance(nxt, BaseException):
            break
        cause = nxt
    return os_reason(error)


def os_error(path: str, error: BaseException) -> Failure:
    """`path: reason`, the reason as os_reason words it."""
    return Failure(f"{path}: {os_reason(error)}")


# ---- The signer (WebAssembly) ----


class Signer:
    """harness/sig-wasm's module: JSON requests in linear memory, answers framed as
    [length u32 LE][JSON]; every buffer is handed back with dealloc (which zeroes it: requests
    carry the seed)."""

    def __init__(self, path: str):
        # Compiled at every start (~0.1 s on 2 cores): wasmtime's on-disk cache would save that
        # but write under ~/.cache, and this wallet writes nothing but its key file.
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        try:
            with open(path, "rb") as f:
                module = wasmtime.Module(engine, f.read())
        except OSError as error:
            raise Failure(
                f"cannot load the signer {path}: {os_reason(error)} (scripts/setup-examples.sh builds it)"
            ) from error
        except Exception as error:
            raise Failure(f"cannot load the signer {path}: {one_line(error)}") from error
        self.exports = wasmtime.Instance(self.store, module, []).exports(self.store)
        self.memory = self.exports["memory"]

    def call_text(self, name: str, request: str) -> str:
        """Sends `request` (a JSON text) to the exported function `name`; returns the answer."""
        data = bytearray(request.encode())
        ptr = self.exports["alloc"](self.store, len(data)) & 0xFFFFFFFF
        self.memory.write(self.store, bytes(data), ptr)
        answer = self.exports[name](self.store, ptr, len(data)) & 0xFFFFFFFF
        data[:] = bytes(len(data))
        self.exports["dealloc"](self.store, ptr, len(data))
        length = int.from_bytes(self.memory.read(self.store, answer, answer + 4), "little")
        text = bytes(self.memory.read(self.store, answer + 4, answer + 4 + length)).decode()
        self.exports["dealloc"](self.store, answer, 4 + length)
        return text

    def call(self, name: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """Like call_text with objects; the signer's {"error"} becomes an exception."""
        answer = json.loads(self.call_text(name, json.dumps(request, separators=(",", ":"))))
        if isinstance(answer.get("error"), str):
            raise Failure(answer["error"])
        return answer

    def key(self, seed: List[int], index: int) -> Dict[str, Any]:
        """The key commitment of (seed, index): {index, key: [4 words], packed: "0x.."}."""
        return self.call("zkthread_key", {"seed": seed, "index": index})

    def unpack_slot(self, slot: int) -> Dict[str, Any]:
        """(key words, nonce) of a key-slot value."""
        return self.call("zkthread_unpack_key_slot", {"slot": hex(slot)})


# ---- The key file (zkthread_sig::keystore's format and rules) ----


def fresh_seed() -> List[int]:
    """8 uniform M31 words from the OS CSPRNG: 31-bit draws, the one non-canonical value redrawn."""
    seed: List[int] = []
    while len(seed) < 8:
        value = secrets.randbits(31)
        if value < MODULUS:
            seed.append(value)
    return seed


@contextmanager
def locked(path: str) -> Iterator[None]:
    """Holds the exclusive flock of `<path>.lock` (created 0600, as the keystore does)."""
    lock_path = path + ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise os_error(lock_path, error) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def is_word(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


def read_key_file(path: str) -> Dict[str, Any]:
    """Reads and checks a key file: {seed, next_index}. Permissions are checked on the open handle."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise Failure(f"{path}: not a regular file")
            if info.st_mode & 0o077:
                raise Failure(
                    f"{path}: mode {format(info.st_mode & 0o7777, 'o')} lets group or others access the seed (chmod 600 it)"
                )
            text = f.read()
    except OSError as error:
        raise os_error(path, error) from error
    try:
        kf = json.loads(text)
    except ValueError:
        raise Failure(f"{path}: not a thread key file") from None
    if (
        not isinstance(kf, dict)
        or set(kf) != KEY_FILE_FIELDS
        or not is_word(kf["version"])
        or not isinstance(kf["scheme"], str)
        or not isinstance(kf["seed"], list)
        or len(kf["seed"]) != 8
        or not all(is_word(w) for w in kf["seed"])
        or not is_word(kf["next_index"])
    ):
        raise Failure(f"{path}: not a thread key file")
    if kf["version"] != KEY_FILE_VERSION or kf["scheme"] != KEY_FILE_SCHEME:
        raise Failure(f"{path}: unsupported key file version {kf['version']} / scheme {json.dumps(kf['scheme'])}")
    if not all(w < MODULUS for w in kf["seed"]):
        raise Failure(f"{path}: invalid seed")
    if kf["next_index"] > MAX_KEY_INDEX:
        raise Failure(f"{path}: next_index {kf['next_index']} out of range (max {MAX_KEY_INDEX})")
    return {"seed": kf["seed"], "next_index": kf["next_index"]}


def write_key_file(path: str, seed: List[int], next_index: int, create: bool) -> None:
    """Writes the key file as the keystore does: `<path>.tmp` (created 0600, fsynced), then a hard
    link for a new file (fails instead of replacing a seed) or a rename, then an fsync of the
    directory so the rename survives a crash. Callers hold the lock."""
    body = {"version": KEY_FILE_VERSION, "scheme": KEY_FILE_SCHEME, "seed": seed, "next_index": next_index}
    text = json.dumps(body, indent=2) + "\n"
    tmp = path + ".tmp"
    try:
        # A stale temporary file is from a writer that crashed (we hold the lock): never the key file.
        if os.path.lexists(tmp):
            os.remove(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if create:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise Failure(f"{path}: a key file already exists (refusing to overwrite a seed)") from None
            finally:
                os.remove(tmp)
        else:
            os.rename(tmp, path)
        directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        raise os_error(path, error) from error


def reserve_index(path: str, opened: Dict[str, Any]) -> int:
    """Spends one key index (the keystore's reserve_index): under the lock, re-reads the file,
    checks it is the seed we read and that its index did not go backwards, and persists index + 1.
    Returns the index, which no other signature will ever use."""
    with locked(path):
        now = read_key_file(path)
        if now["seed"] != opened["seed"]:
            raise Failure(f"{path}: the file now holds another seed than the one this wallet opened")
        if now["next_index"] < opened["next_index"]:
            raise Failure(
                f"{path}: next_index went backwards ({now['next_index']} < {opened['next_index']}): "
                "restored or edited key file; refusing to sign"
            )
        if now["next_index"] >= MAX_KEY_INDEX:
            raise Failure("all key indices of this seed are used: generate a new seed")
        write_key_file(path, now["seed"], now["next_index"] + 1, False)
        return now["next_index"]


def key_report(signer: Signer, path: str, opened: Dict[str, Any]) -> Dict[str, Any]:
    """The `zkthread key` report of a key file: its next index and that index's packed key."""
    return {
        "file": path,
        "next_index": opened["next_index"],
        "commitment": signer.key(opened["seed"], opened["next_index"])["packed"],
    }


# ---- Commands ----


async def key_new(signer: Signer, args: argparse.Namespace) -> Dict[str, Any]:
    seed = fresh_seed()
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.key_file)), exist_ok=True)
    except OSError as error:
        raise os_error(args.key_file, error) from error
    with locked(args.key_file):
        write_key_file(args.key_file, seed, 0, True)
    return key_report(signer, args.key_file, {"seed": seed, "next_index": 0})


async def key_register(signer: Signer, args: argparse.Namespace) -> Dict[str, Any]:
    """`set_thread_key(K)` from the account itself, K the key of the file's next unused index (a
    key that never signed); then the slot is read back and must hold K."""
    from starknet_py.hash.selector import get_selector_from_name
    from starknet_py.net.account.account import Account
    from starknet_py.net.client_models import Call
    from starknet_py.net.signer.key_pair import KeyPair

    opened = read_key_file(args.key_file)
    report = key_report(signer, args.key_file, opened)
    client = await connect(args.rpc_url)
    chain_id = int(await client.get_chain_id(), 16)
    account = Account(
        address=args.account, client=client, key_pair=KeyPair.from_private_key(args.private_key), chain=chain_id
    )
    call = Call(to_addr=args.token, selector=get_selector_from_name("set_thread_key"),
                calldata=[int(report["commitment"], 16)])
    sent = await account.execute_v3(calls=[call], auto_estimate=True)
    try:
        await client.wait_for_tx(sent.transaction_hash, check_interval=RECEIPT_POLL_SECONDS)
    except Exception as error:  # starknet-py raises on a reverted or rejected transaction
        raise Failure(f"set_thread_key reverted: {one_line(error)}") from error
    slot = await read_key_slot(signer, client, args.token, args.account)
    if slot["key"] != signer.key(opened["seed"], opened["next_index"])["key"]:
        raise Failure(f"the key slot of {hex(args.account)} holds another key after set_thread_key")
    return {**report, "registered_in": hex(args.token), "transaction": hex(sent.transaction_hash)}


async def submit(signer: Signer, args: argparse.Namespace) -> Dict[str, Any]:
    """Signs a transfer with the key file's next index and posts it to the server; on a thread of
    the list program, one list of every pair given (one signature, one nonce). The chain id and
    the sender's key slot come from our own node; the server only says which queued nonce (and
    key) comes next and which program the thread runs, so a lying server can make a signature
    useless, never valid for anything but these transfers."""
    opened = read_key_file(args.key_file)
    # Before anything is signed: a request no server took holds the key file's last index.
    if os.path.exists(unsent_path(args.key_file)):
        raise Failure(
            f"a signed request of this key file is kept in {unsent_path(args.key_file)} (no server took it yet): "
            f"run resend --key-file {args.key_file} first, or move the file away to abandon it"
        )
    client = await connect(args.rpc_url)
    chain_id = int(await client.get_chain_id(), 16)
    on_chain = await read_key_slot(signer, client, args.token, args.sender)
    if all(w == 0 for w in on_chain["key"]):
        raise Failure(
            f"sender {hex(args.sender)} has no thread key in token {hex(args.token)}: run key-register from that account first"
        )
    prune_accepted(args.key_file, on_chain["nonce"])
    thread = server_request(args.server, "/thread")
    if int(thread["registry"], 16) != args.registry or thread["thread_id"] != args.thread or int(thread["chain_id"], 16) != chain_id:
        raise Failure(
            f"the server batches thread {thread['thread_id']} of registry {thread['registry']} on chain {thread['chain_id']}, "
            f"not thread {args.thread} of {hex(args.registry)} on {hex(chain_id)}"
        )
    program = PROGRAMS.get(thread.get("program")) if isinstance(thread.get("program"), str) else None
    if program is None:
        raise Failure(f"the server's thread runs a program this wallet does not know: {json.dumps(thread.get('program'))}")
    if program.name == "signed" and len(args.transfers) > 1:
        raise Failure(f"thread {args.thread} runs the signed program (one transfer per signature): give one --to/--amount pair")
    nxt = server_request(args.server, f"/senders/{hex(args.token)}/{hex(args.sender)}")
    # Checked before an index is spent (the wallet's rule): a nonce the signer would refuse.
    if not is_word(nxt["nonce"]) or nxt["nonce"] >= MODULUS:
        raise Failure(f"the server's next nonce {json.dumps(nxt['nonce'])} is not an M31 element")
    if nxt["nonce"] < on_chain["nonce"]:
        raise Failure(
            f"the server says nonce {nxt['nonce']} comes next, but the sender's key slot on-chain is already at {on_chain['nonce']}"
        )
    if nxt["nonce"] == on_chain["nonce"] and nxt["key"] != on_chain["key"]:
        raise Failure(f"the server's key for nonce {nxt['nonce']} is not the key in the sender's slot on-chain")
    if signer.key(opened["seed"], opened["next_index"])["key"] != nxt["key"]:
        raise Failure(
            f"the key file's next key (index {opened['next_index']}) is not the sender's current thread key at nonce {nxt['nonce']}: "
            "a transfer signed with this file was lost or refused, or another file signs for this account; "
            f"register the file's next key with key-register --token {hex(args.token)}"
        )
    # The message as signed, posted and reported (in this key order in all three).
    message = program.message(args, nxt["nonce"])
    program.check(message)
    check_queue(nxt, program, message)
    # The index is spent on disk before any signature exists.
    index = reserve_index(args.key_file, opened)
    if index != opened["next_index"]:
        raise Failure(
            f"{args.key_file}: another process signed with index {opened['next_index']} meanwhile; index {index} is skipped unused"
        )
    signed = signer.call(program.signer, {
        "seed": opened["seed"],
        "index": index,
        "chain_id": hex(chain_id),
        "registry": hex(args.registry),
        "thread_id": args.thread,
        **message,
    })
    accepted = deliver(args.key_file, args.server, program.route, {"registry": hex(args.registry), "thread_id": args.thread}, {
        **message,
        "key": signed["key"],
        "next_key": signed["next_key"],
        "signature": signed["signature"],
    })
    report = {
        "id": accepted["id"],
        "status": accepted["status"],
        "program": program.name,
        "thread_id": args.thread,
        **message,
        "key_index": index,
        "pending": accepted["pending"],
    }
    if not args.wait:
        return report
    began = time.monotonic()
    while True:
        status = server_request(args.server, f"{program.route}/{accepted['id']}")
        if status["status"] == "rejected":
            raise Failure(f"{program.noun} {accepted['id']} was rejected: {status['reason']}")
        if status["status"] == "settled":
            return {**report, "status": "settled", "sequence": status["sequence"], "tx_hash": status["tx_hash"],
                    "block": status["block"]}
        if time.monotonic() - began > WAIT_LIMIT_SECONDS:
            raise Failure(
                f"{program.noun} {accepted['id']} not settled after {WAIT_LIMIT_SECONDS} s (status {status['status']})")
        time.sleep(POLL_SECONDS)


class Program(NamedTuple):
    """A token program a thread runs (the `program` of the server's GET /thread): what a sender
    signs for it, where it is posted, and what is checked before a key index is spent."""
    name: str
    noun: str
    signer: str
    route: str
    message: Callable[[argparse.Namespace, int], Dict[str, Any]]
    check: Callable[[Dict[str, Any]], None]


def signed_message(args: argparse.Namespace, nonce: int) -> Dict[str, Any]:
    (transfer,) = args.transfers
    return {"token": hex(args.token), "from": hex(args.sender), "to": hex(transfer["to"]),
            "amount": str(transfer["amount"]), "nonce": nonce}


def list_message(args: argparse.Namespace, nonce: int) -> Dict[str, Any]:
    return {"token": hex(args.token), "from": hex(args.sender),
            "transfers": [{"to": hex(t["to"]), "amount": str(t["amount"])} for t in args.transfers], "nonce": nonce}


def check_list(message: Dict[str, Any]) -> None:
    """What the service would refuse a list for by its size alone: an amount a list cannot carry
    (2^120 or more), more slots than one settlement carries (the sender's balance and key slot,
    and each receiver's balance), or a request body over its limit with the widest signature
    words, or more transfers than one sender may have queued."""
    for item, transfer in enumerate(message["transfers"]):
        if int(transfer["amount"]) >= LIST_AMOUNT_LIMIT:
            raise Failure(
                f"list item {item}: amount {transfer['amount']} is 2^120 or more, which a list cannot carry: "
                "send it as a single transfer")
    count = len(message["transfers"])
    if count > MAX_QUEUED_TRANSFERS_PER_SENDER:
        raise Failure(
            f"a list of {count} transfers is longer than one sender may have queued here "
            f"(at most {MAX_QUEUED_TRANSFERS_PER_SENDER}): split it")
    receivers = len({t["to"] for t in message["transfers"]})
    slots = receivers + 2
    if slots > MAX_SLOTS_PER_SETTLEMENT:
        raise Failure(
            f"the list pays {receivers} accounts: {slots} slots, and one settlement carries at most "
            f"{MAX_SLOTS_PER_SETTLEMENT}; split it")
    word = 2**32 - 1
    widest = {**message, "nonce": word, "key": [word] * 4, "next_key": [word] * 4, "signature": [word] * SIGNATURE_WORDS}
    size = len(compact(widest).encode())
    if size > MAX_BODY_BYTES:
        raise Failure(f"the list's request would be up to {size} bytes, over the service's {MAX_BODY_BYTES}: split it")


def check_queue(nxt: Dict[str, Any], program: "Program", message: Dict[str, Any]) -> None:
    """What the service would refuse for the sender's queue there (GET /senders): a full message
    queue, or, on a list thread, more transfers queued in lists than it takes from one sender."""
    # `queued_transfers` counts only on a list thread: a signed one caps messages, not transfers.
    fields = ("queued", "queued_transfers") if program.name == "list" else ("queued",)
    for field in fields:
        count = nxt.get(field)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise Failure(f"the server's {field} {compact(count)} is not a count")
    if nxt["queued"] >= MAX_QUEUED_PER_SENDER:
        raise Failure(
            f"the sender already has {nxt['queued']} transfers queued here (at most {MAX_QUEUED_PER_SENDER}): "
            "post again after the next settlement")
    adding = len(message.get("transfers", [None]))
    if program.name == "list" and nxt["queued_transfers"] + adding > MAX_QUEUED_TRANSFERS_PER_SENDER:
        raise Failure(
            f"the sender already has {nxt['queued_transfers']} transfers queued here in lists; with these {adding} "
            f"it would pass {MAX_QUEUED_TRANSFERS_PER_SENDER}: post again after the next settlement")


PROGRAMS = {
    "signed": Program("signed", "transfer", "zkthread_sign_transfer", "/transfers", signed_message, lambda _: None),
    "list": Program("list", "list", "zkthread_sign_transfer_list", "/lists", list_message, check_list),
}


def compact(value: Any) -> str:
    """JSON as the JavaScript wallet's JSON.stringify writes it (what the server is sent)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def self_check(signer: Signer, args: argparse.Namespace) -> Dict[str, Any]:
    """Sends every request of the vector file and compares the answers' bytes."""
    with open(args.vectors, encoding="utf-8") as f:
        vectors = json.load(f)
    checked = 0
    for name in ("zkthread_key", "zkthread_sign_transfer", "zkthread_sign_transfer_list", "zkthread_unpack_key_slot"):
        for n, case in enumerate(vectors[name]):
            got = signer.call_text(name, json.dumps(case["request"], separators=(",", ":")))
            if got != json.dumps(case["answer"], separators=(",", ":")):
                raise Failure(f"{name} vector {n}: the signer answers {got[:120]}...")
            checked += 1
    return {"self_check": "ok", "vectors": checked}


# ---- Node and server ----


async def connect(rpc_url: str) -> FullNodeClient:
    from starknet_py.net.full_node_client import FullNodeClient

    client = FullNodeClient(node_url=rpc_url)
    try:
        await client.get_block_number()
    except Exception as error:
        raise Failure(f"cannot reach the node at {rpc_url}: {os_reason(error)}") from error
    return client


async def read_key_slot(signer: Signer, client: FullNodeClient, token: int, account: int) -> Dict[str, Any]:
    """The (key words, nonce) in `account`'s key slot of `token` (its `thread_key` view)."""
    from starknet_py.hash.selector import get_selector_from_name
    from starknet_py.net.client_models import Call

    call = Call(to_addr=token, selector=get_selector_from_name("thread_key"), calldata=[account])
    (slot,) = await client.call_contract(call, block_number="latest")
    return signer.unpack_slot(slot)


def server_request(server: str, route: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """GET (or POST `body`) to the server; its JSON answer, or its {"error"} as the failure."""
    data = None if body is None else compact(body).encode()
    request = urllib.request.Request(f"{server}{route}", data=data, method="GET" if body is None else "POST")
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT_S) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise Failure(f"cannot reach the server {server}: {server_reason(error)}") from error
    try:
        answer = json.loads(text)
    except ValueError:
        raise Failure(f"unexpected answer from the server {server} ({status})") from None
    if not 200 <= status < 300:
        raise Failure(f"the server refused it ({status}): {answer.get('error', 'no reason given')}")
    return answer


# ---- Signed requests no server has taken yet ----


def unsent_path(key_file: str) -> str:
    return key_file + ".unsent.json"


def aside_path(key_file: str, fate: str, nonce: int) -> str:
    """Where a request goes once the server answered for it: `accepted` or `refused`, by nonce."""
    return f"{key_file}.{fate}-{nonce}.json"


def deliver(key_file: str, server: str, route: str, thread: Dict[str, Any], request: Dict[str, Any]) -> Dict[str, Any]:
    """Keeps the signed request (temporary file, fsync, rename) with the thread it is for, then
    posts it (post_kept). If it cannot be kept, it is not posted: the error carries it."""
    path = unsent_path(key_file)
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (json.dumps({"server": server, "route": route, **thread, "request": request}, indent=2,
                                     ensure_ascii=False) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as error:
        raise Failure(f"{path}: {os_reason(error)}; the signed request was not posted, here it is: {compact(request)}") from error
    return post_kept(key_file, server, route, request)


def reason_of(body: Any) -> str:
    """The server's reason as one line of at most 300 characters."""
    error = body.get("error") if isinstance(body, dict) else None
    text = error if isinstance(error, str) else "no reason given"
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text)[:300].strip()


def is_accepted(body: Any) -> bool:
    """Whether `body` is the service's 202 answer (or 200, for a duplicate)."""
    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**53 - 1
    return isinstance(body, dict) and count(body.get("id")) and isinstance(body.get("status"), str) and count(body.get("pending"))


def post_kept(key_file: str, server: str, route: str, request: Dict[str, Any]) -> Dict[str, Any]:
    """Posts the request kept for `key_file`: the service's 202 (200 for a duplicate) sets it aside as accepted; refused
    for good (400, 409, 413, 422) as refused (`<key file>.accepted-<nonce>.json`,
    `.refused-<nonce>.json`); anything else keeps it."""
    path = unsent_path(key_file)

    def kept(why: str) -> Failure:
        return Failure(f"{why}; the signed request is kept in {path}: resend --key-file {key_file} posts it again")

    post = urllib.request.Request(f"{server}{route}", data=compact(request).encode(), method="POST")
    post.add_header("content-type", "application/json")
    try:
        try:
            with _NO_REDIRECTS.open(post, timeout=SERVER_TIMEOUT_S) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
    except Exception as error:  # pylint: disable=broad-except
        raise kept(f"cannot reach the server {server}: {server_reason(error)}: the message may be queued") from error
    try:
        body: Any = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        body = None
    # 200 answers a duplicate: the same signed request, stored by an earlier post whose answer
    # was lost.
    duplicate = status == 200 and isinstance(body, dict) and body.get("duplicate") is True and body.get("status") != "rejected"
    if (status == 202 or duplicate) and is_accepted(body):
        os.rename(path, aside_path(key_file, "accepted", request["nonce"]))
        return body
    if body is None or status == 202:
        raise kept(f"unexpected answer from the server {server} ({status}): the message may be queued")
    if status in (400, 409, 413, 422):
        aside = aside_path(key_file, "refused", request["nonce"])
        os.rename(path, aside)
        raise Failure(f"the server refused it ({status}): {reason_of(body)} (the signed request is set aside in {aside})")
    if status in (408, 429):
        raise kept(f"the server refused it for now ({status}): {reason_of(body)}")
    raise kept(f"the server answered {status}: {reason_of(body)}: the message may be queued")


def _no_constant(name: str) -> Any:
    """JSON has no NaN or Infinity (JavaScript's parser refuses them too)."""
    raise ValueError(name)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as its status: following a 307 would post the signed request to
    whatever host the server names."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


_NO_REDIRECTS = urllib.request.build_opener(_NoRedirect)


def prune_accepted(key_file: str, nonce: int) -> None:
    """Removes the key file's accepted requests whose nonce the key slot on chain is past."""
    directory = os.path.dirname(key_file) or "."
    prefix = os.path.basename(key_file) + ".accepted-"
    for name in os.listdir(directory):
        match = re.fullmatch(r"([0-9]+)\.json", name[len(prefix):]) if name.startswith(prefix) else None
        if match and int(match.group(1)) < nonce:
            try:
                os.remove(os.path.join(directory, name))
            except FileNotFoundError:
                pass


async def resend(_signer: Signer, args: argparse.Namespace) -> Dict[str, Any]:
    """Posts again the request kept for the key file (to --server, or where it was first posted),
    once the server says it batches the request's thread."""
    path = unsent_path(args.key_file)
    try:
        with open(path, encoding="utf-8") as file:
            kept = json.load(file)
    except FileNotFoundError:
        raise Failure(f"no signed request is kept in {path}") from None
    except ValueError:
        raise Failure(f"{path}: not a kept signed request") from None
    except OSError as error:
        raise os_error(path, error) from error
    server = args.server if args.server is not None else kept["server"]
    thread = server_request(server, "/thread")
    if thread.get("registry") != kept["registry"] or thread.get("thread_id") != kept["thread_id"]:
        raise Failure(
            f"the server {server} batches thread {thread.get('thread_id')} of registry {thread.get('registry')}, "
            f"not this request's thread {kept['thread_id']} of {kept['registry']}"
        )
    accepted = post_kept(args.key_file, server, kept["route"], kept["request"])
    return {"id": accepted["id"], "status": accepted["status"], "route": kept["route"], "server": server,
            "nonce": kept["request"]["nonce"], "pending": accepted["pending"]}


def fail(message: str, code: int) -> int:
    print(json.dumps({"error": message}, separators=(",", ":"), ensure_ascii=False))
    print(f"submit_transfer: {message}", file=sys.stderr)
    return code


def main(argv: List[str]) -> int:
    try:
        args = parse_command_line(argv)
        signer = Signer(args.wasm)
        run = {"self-check": self_check, "key-new": key_new, "key-register": key_register, "submit": submit,
               "resend": resend}
        report = asyncio.run(run[args.command](signer, args))
    except UsageError as error:
        return fail(one_line(error), 2)
    except Exception as error:  # pylint: disable=broad-except
        return fail(one_line(error), 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
