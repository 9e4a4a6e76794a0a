#!/usr/bin/env python3
"""Follows one zkThreads thread from the chain alone (starknet-py).

Reads the thread's record from the ThreadRegistry, fetches its SubBlockSettled /
SubBlockSettledSummary events, decodes them with the registry's ABI (fetched from the node),
reassembles each settlement's chunks and, for the accounts given, reports the balance each
settlement left them on the thread's token.

    python follow_thread.py --rpc-url URL --registry 0x.. --thread N [--accounts 0xa,0xb]
                            [--token 0x..] [--from-block N]

Prints one JSON document on stdout: felts as 0x hex strings, balances as decimal strings,
counters (thread id, sequence, block, slot counts) as JSON numbers. On an error it prints
{"error": "..."} on stdout, the same line on stderr, and exits 1 (2 for a usage error).
The output has the same shape as examples/javascript/follow-thread.mjs's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import urlparse

from starknet_py.abi.v2 import Abi
from starknet_py.contract import Contract
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_models import SierraContractClass
from starknet_py.net.full_node_client import FullNodeClient
from starknet_py.serialization import serializer_for_payload

USAGE = (
    "follow_thread.py --rpc-url URL --registry 0x.. --thread N [--accounts 0xa,0xb] "
    "[--token 0x..] [--from-block N]"
)
CHUNK_SIZE = 100  # events per starknet_getEvents page
ADDRESS_BOUND = 2**251  # contract addresses are below 2^251
U64_MAX = 2**64 - 1
SNAPSHOT_ATTEMPTS = 5  # retries when a block lands in the middle of the reads
LATEST = "latest"  # views are read at the latest accepted block (see at_one_block)
REGISTRY_VIEWS = ("thread", "thread_count", "thread_contracts", "thread_provers", "next_sequence")

T = TypeVar("T")


class UsageError(Exception):
    """A bad command line: exit code 2."""


class Failure(Exception):
    """Anything else that stops the report: exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}; usage: {USAGE}")


def parse_command_line(argv: List[str]) -> argparse.Namespace:
    parser = _Parser(prog="follow_thread.py", usage=USAGE, description=__doc__.splitlines()[0])
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--accounts")
    parser.add_argument("--token")
    parser.add_argument("--from-block")
    args = parser.parse_args(argv)

    url = urlparse(args.rpc_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"--rpc-url: not an http(s) URL: {json.dumps(args.rpc_url)}")
    args.thread = parse_uint(args.thread, "--thread", U64_MAX)
    if args.thread == 0:
        raise UsageError("--thread: thread ids start at 1")
    args.registry = parse_address(args.registry, "--registry")
    args.accounts = (
        [] if args.accounts is None
        else [parse_address(a.strip(), "--accounts") for a in args.accounts.split(",")]
    )
    args.token = None if args.token is None else parse_address(args.token, "--token")
    args.from_block = 0 if args.from_block is None else parse_uint(args.from_block, "--from-block", 2**53 - 1)
    return args


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


def felt(value: int) -> str:
    """0x hex, lowercase, no leading zeros (the JavaScript example's num.toHex)."""
    return hex(value)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


async def abi_at(client: FullNodeClient, address: int) -> List[Dict[str, Any]]:
    """The ABI of the contract deployed at `address`, from the node (starknet_getClassAt)."""
    try:
        contract_class = await client.get_class_at(address, block_number=LATEST)
    except Exception as error:  # the node's "contract not found", or a transport error
        raise Failure(f"no contract at {felt(address)}: {one_line(error)}") from error
    if not isinstance(contract_class, SierraContractClass):
        raise Failure(f"{felt(address)} is a Cairo 0 contract, not a zkThreads contract")
    abi = contract_class.abi
    return json.loads(abi) if isinstance(abi, str) else abi


def has_function(abi: List[Dict[str, Any]], name: str) -> bool:
    """Whether the ABI declares an external function `name` (in an interface or at top level)."""
    for entry in abi:
        if entry.get("type") == "function" and entry.get("name") == name:
            return True
        if entry.get("type") == "interface" and any(
            item.get("type") == "function" and item.get("name") == name for item in entry["items"]
        ):
            return True
    return False


class EventDecoder:
    """Decodes a registry event with the serializers starknet-py builds from the ABI: the
    event's key members from its keys (after the selector), its data members from its data."""

    def __init__(self, parsed: Abi, short_name: str):
        names = [n for n in parsed.events if n.endswith(f"::{short_name}")]
        if len(names) != 1:
            raise Failure(f"the registry's ABI has no event {short_name}: not a ThreadRegistry")
        event = parsed.events[names[0]]
        self.selector = get_selector_from_name(short_name)
        self.keys = serializer_for_payload({n: t for n, t in event.types.items() if n in event.keys})
        self.data = serializer_for_payload({n: t for n, t in event.types.items() if n not in event.keys})

    def decode(self, keys: List[int], data: List[int]) -> Dict[str, Any]:
        return {**self.keys.deserialize(keys[1:]).as_dict(), **self.data.deserialize(data).as_dict()}


async def at_one_block(client: FullNodeClient, read: Callable[[], Awaitable[T]]) -> Tuple[int, T]:
    """Runs `read` against the node's latest block until the block number is the same before
    and after it, so every view it calls saw one block. (Reading at an explicit older block
    needs a node that keeps historical state, which starknet-devnet does not by default.)"""
    for _ in range(SNAPSHOT_ATTEMPTS):
        before = await client.get_block_number()
        value = await read()
        after = await client.get_block_number()
        if before == after:
            return after, value
    raise Failure(f"the chain moved on during each of {SNAPSHOT_ATTEMPTS} reads; try again")


async def call(contract: Contract, name: str, *args: Any) -> Any:
    """A view at the latest block; starknet-py returns the outputs as a tuple of one here."""
    (result,) = await contract.functions[name].call(*args, block_number=LATEST)
    return result


async def pick_token(
    client: FullNodeClient, wanted: Optional[int], contracts: List[int]
) -> Tuple[int, List[Dict[str, Any]]]:
    """`--token` if given (it must be one of the thread's contracts), else the thread's only
    contract with the thread_slots and balance_of views."""
    if wanted is not None and wanted not in contracts:
        raise Failure(f"--token {felt(wanted)} is not a contract of the thread")
    tokens = []
    for address in contracts if wanted is None else [wanted]:
        abi = await abi_at(client, address)
        if has_function(abi, "thread_slots") and has_function(abi, "balance_of"):
            tokens.append((address, abi))
    if not tokens:
        raise Failure(
            "no contract of the thread has the thread_slots and balance_of views" if wanted is None
            else f"--token {felt(wanted)} has no thread_slots or balance_of view"
        )
    if len(tokens) > 1:
        listed = ", ".join(felt(a) for a, _ in tokens)
        raise Failure(f"the thread has {len(tokens)} tokens ({listed}): pick one with --token")
    return tokens[0]


async def read_thread(client: FullNodeClient, args: argparse.Namespace) -> Dict[str, Any]:
    """The registry's views of the thread and, with --accounts, each account's balance slot and
    current balance on the thread's token. Reads at the latest block."""
    registry_abi = await abi_at(client, args.registry)
    for view in REGISTRY_VIEWS:
        if not has_function(registry_abi, view):
            raise Failure(f"{felt(args.registry)} has no view {view}: not a ThreadRegistry")
    registry = Contract(address=args.registry, abi=registry_abi, provider=client, cairo_version=1)
    thread_count = await call(registry, "thread_count")
    if args.thread > thread_count:
        raise Failure(f"thread {args.thread} does not exist (the registry has {thread_count} thread(s))")
    info, contracts, provers, next_sequence = await asyncio.gather(
        call(registry, "thread", args.thread),
        call(registry, "thread_contracts", args.thread),
        call(registry, "thread_provers", args.thread),
        call(registry, "next_sequence", args.thread),
    )
    token = None
    if args.accounts:
        address, abi = await pick_token(client, args.token, contracts)
        token_contract = Contract(address=address, abi=abi, provider=client, cairo_version=1)
        accounts = []
        for account in args.accounts:
            slots = await call(token_contract, "thread_slots", account)
            now = await call(token_contract, "balance_of", account)  # u256, decoded by the ABI
            accounts.append({"account": felt(account), "slot": felt(slots["balance"]), "now": str(now)})
        token = {"address": felt(address), "accounts": accounts}
    return {
        # The ABI as starknet-py parsed it for the Contract (parsing is slow: reuse it).
        "registry_parsed_abi": registry.data.parsed_abi,
        "info": info,
        "contracts": contracts,
        "provers": provers,
        "next_sequence": next_sequence,
        "token": token,
    }


async def fetch_all_events(
    client: FullNodeClient, address: int, keys: List[List[int]], from_block: int, to_block: int
) -> list:
    """Every event of `address` matching `keys` in the block range, following the node's
    continuation tokens, in chain order."""
    events: list = []
    token: Optional[str] = None
    while True:
        page = await client.get_events(
            address=address,
            keys=keys,
            from_block_number=from_block,
            to_block_number=to_block,
            chunk_size=CHUNK_SIZE,
            continuation_token=token,
        )
        events.extend(page.events)
        token = page.continuation_token
        if not token:
            return events


async def follow_thread(args: argparse.Namespace) -> Dict[str, Any]:
    client = FullNodeClient(node_url=args.rpc_url)
    try:
        await client.get_block_number()
    except Exception as error:
        raise Failure(f"cannot reach the node at {args.rpc_url}: {one_line(error)}") from error

    # The registry's record of the thread, its views and (for --accounts) the token's, all at
    # one block; the events are then read up to that block, so they agree with the record.
    block, state = await at_one_block(client, lambda: read_thread(client, args))
    settled = EventDecoder(state["registry_parsed_abi"], "SubBlockSettled")
    summary_decoder = EventDecoder(state["registry_parsed_abi"], "SubBlockSettledSummary")
    token = state["token"]

    # The settlement events of this thread: key 0 is the event selector, key 1 the thread id.
    raw = await fetch_all_events(
        client,
        args.registry,
        [[settled.selector, summary_decoder.selector], [args.thread]],
        args.from_block,
        block,
    )

    # Group by sequence: the chunks (by chunk index) and the summary of each settlement.
    by_sequence: Dict[int, Dict[str, Any]] = {}
    for event in raw:
        selector = event.keys[0]
        decoder = settled if selector == settled.selector else summary_decoder
        if selector != decoder.selector:
            continue
        body = decoder.decode(event.keys, event.data)
        if body["thread_id"] != args.thread:
            continue
        sequence = body["sequence"]
        entry = by_sequence.setdefault(
            sequence,
            {"chunks": {}, "summary": None, "tx_hash": event.transaction_hash, "block": event.block_number},
        )
        if event.transaction_hash != entry["tx_hash"]:
            raise Failure(
                f"sequence {sequence} has events in two transactions "
                f"({felt(entry['tx_hash'])}, {felt(event.transaction_hash)})"
            )
        if decoder is settled:
            if body["chunk"] in entry["chunks"]:
                raise Failure(f"sequence {sequence}: chunk {body['chunk']} seen twice")
            entry["chunks"][body["chunk"]] = body
        else:
            if entry["summary"] is not None:
                raise Failure(f"sequence {sequence}: two summaries")
            entry["summary"] = body

    settlements = []
    for sequence in sorted(by_sequence):
        entry = by_sequence[sequence]
        summary, chunks = entry["summary"], entry["chunks"]
        if summary is None:
            raise Failure(f"sequence {sequence}: SubBlockSettled without its SubBlockSettledSummary")
        n_chunks = summary["n_chunks"]
        outputs = []
        for index in range(n_chunks):
            chunk = chunks.get(index)
            if chunk is None:
                raise Failure(f"sequence {sequence}: chunk {index} of {n_chunks} missing")
            if chunk["n_chunks"] != n_chunks:
                raise Failure(
                    f"sequence {sequence}: chunk {index} says {chunk['n_chunks']} chunks, the summary {n_chunks}"
                )
            for slot in chunk["outputs"]:
                outputs.append({"contract": felt(slot["contract"]), "key": felt(slot["key"]), "value": felt(slot["value"])})
        if len(chunks) != n_chunks:
            raise Failure(f"sequence {sequence}: {len(chunks)} chunks, the summary says {n_chunks}")
        if len(outputs) != summary["n_outputs"]:
            raise Failure(
                f"sequence {sequence}: {len(outputs)} outputs in the chunks, the summary says {summary['n_outputs']}"
            )
        # The balances this settlement wrote: an account whose balance slot is among the outputs.
        balances = {}
        if token is not None:
            written = {o["key"]: o["value"] for o in outputs if o["contract"] == token["address"]}
            for account in token["accounts"]:
                if account["slot"] in written:
                    balances[account["account"]] = str(int(written[account["slot"]], 16))
        settlements.append(
            {
                "sequence": sequence,
                "tx_hash": felt(entry["tx_hash"]),
                "block": entry["block"],
                "prover": felt(summary["prover"]),
                "n_inputs": summary["n_inputs"],
                "n_outputs": summary["n_outputs"],
                "n_chunks": n_chunks,
                "n_transactions": summary["n_transactions"],
                "transactions_commitment": felt(summary["transactions_commitment"]),
                "public_input_hash": felt(summary["public_input_hash"]),
                "outputs": outputs,
                "balances": balances,
            }
        )

    info = state["info"]
    return {
        "thread_id": args.thread,
        "registry": felt(args.registry),
        "at_block": block,
        "thread": {
            "os_version": felt(info["os_version"]),
            "program_hash": felt(info["program_hash"]),
            "admin": felt(info["admin"]),
            "active": bool(info["active"]),
            "sequence": info["sequence"],
            "contract_set_commitment": felt(info["contract_set_commitment"]),
            "contract_count": info["contract_count"],
            "allowlist_enabled": bool(info["allowlist_enabled"]),
        },
        "contracts": [felt(c) for c in state["contracts"]],
        "provers": [felt(p) for p in state["provers"]],
        "next_sequence": state["next_sequence"],
        "token": None if token is None else token["address"],
        "balances_now": {} if token is None else {a["account"]: a["now"] for a in token["accounts"]},
        "settlements": settlements,
    }


def fail(message: str, code: int) -> int:
    print(json.dumps({"error": message}, separators=(",", ":"), ensure_ascii=False))
    print(f"follow_thread: {message}", file=sys.stderr)
    return code


def main(argv: List[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(f"usage: {USAGE}")
        return 0
    try:
        args = parse_command_line(argv)
        report = asyncio.run(follow_thread(args))
    except UsageError as error:
        return fail(one_line(error), 2)
    except Failure as error:
        return fail(one_line(error), 1)
    except Exception as error:  # the node's or the library's: still one line
        return fail(f"{type(error).__name__}: {one_line(error)}", 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
