#!/usr/bin/env python3
"""Checks the two examples' reports against each other and against the CLI's own view.

    python3 check_outputs.py JS.json PY.json STATUS.json SUB_BLOCK.json [SUB_BLOCK.json ...]

JS.json / PY.json: the stdout of follow-thread.mjs and follow_thread.py for one thread;
STATUS.json: `zkthread status --json` (with --registry, so it lists the registry's threads);
SUB_BLOCK.json: `zkthread sub-block show --thread N --sequence S --json`, one per settled
sub-block. Standard library only. Prints one line per check and "N passed, 0 failed";
exits 1 on the first mismatch.
"""

import json
import sys


def fail(message: str) -> None:
    print(f"FAILED: {message}")
    sys.exit(1)


def main(argv: list) -> int:
    if len(argv) < 4:
        print(__doc__.strip())
        return 2
    js_path, py_path, status_path, *sub_block_paths = argv
    with open(js_path, "rb") as f:
        js_bytes = f.read()
    with open(py_path, "rb") as f:
        py_bytes = f.read()
    passed = 0

    if js_bytes != py_bytes:
        fail(f"{js_path} and {py_path} differ")
    print("ok: the JavaScript and Python reports are byte-identical")
    passed += 1

    report = json.loads(js_bytes)
    with open(status_path) as f:
        status = json.load(f)
    threads = [t for t in status["registry"]["threads"] if t["thread_id"] == report["thread_id"]]
    if len(threads) != 1:
        fail(f"status lists thread {report['thread_id']} {len(threads)} times")
    thread = threads[0]
    for field in ("os_version", "program_hash", "admin", "active", "sequence", "contract_set_commitment", "allowlist_enabled"):
        if report["thread"][field] != thread[field]:
            fail(f"thread.{field}: report {report['thread'][field]!r}, status {thread[field]!r}")
    if report["contracts"] != thread["contracts"]:
        fail(f"contracts: report {report['contracts']}, status {thread['contracts']}")
    if report["next_sequence"] != thread["sequence"]:
        fail(f"next_sequence: report {report['next_sequence']}, status sequence {thread['sequence']}")
    if report["registry"] != status["registry"]["address"]:
        fail(f"registry: report {report['registry']}, status {status['registry']['address']}")
    print(f"ok: thread record, contracts and next_sequence ({report['next_sequence']}) match `zkthread status`")
    passed += 1

    batcher = [b for b in status["registry"].get("batcher", []) if b["thread_id"] == report["thread_id"]]
    settled = sorted(s["sequence"] for b in batcher for s in b["sub_blocks"] if s["status"] == "settled")
    sequences = [s["sequence"] for s in report["settlements"]]
    if sequences != list(range(report["next_sequence"])):
        fail(f"settlement sequences {sequences}, expected 0..{report['next_sequence'] - 1}")
    if batcher and sequences != settled:
        fail(f"settlement sequences {sequences}, status's settled sub-blocks {settled}")
    print(f"ok: one settlement per sequence 0..{report['next_sequence'] - 1}, as status's settled sub-blocks")
    passed += 1

    by_sequence = {s["sequence"]: s for s in report["settlements"]}
    for path in sub_block_paths:
        with open(path) as f:
            sub_block = json.load(f)
        s = by_sequence.get(sub_block["sequence"])
        if s is None:
            fail(f"{path}: sequence {sub_block['sequence']} is not in the report")
        if sub_block["thread_id"] != report["thread_id"] or sub_block["status"] != "settled":
            fail(f"{path}: thread {sub_block['thread_id']}, status {sub_block['status']}")
        if s["outputs"] != sub_block["outputs"]:
            fail(f"sequence {s['sequence']}: outputs from events differ from the sub-block's outputs")
        if s["n_outputs"] != len(sub_block["outputs"]) or s["n_inputs"] != len(sub_block["inputs"]):
            fail(f"sequence {s['sequence']}: n_inputs/n_outputs {s['n_inputs']}/{s['n_outputs']}, "
                 f"sub-block {len(sub_block['inputs'])}/{len(sub_block['outputs'])}")
        if s["tx_hash"] not in sub_block["settle_txs"]:
            fail(f"sequence {s['sequence']}: tx {s['tx_hash']} is not one of {sub_block['settle_txs']}")
        if s["n_chunks"] != max(1, -(-len(sub_block["outputs"]) // 96)):
            fail(f"sequence {s['sequence']}: {s['n_chunks']} chunks for {len(sub_block['outputs'])} outputs")
        written = {o["key"]: int(o["value"], 16) for o in s["outputs"] if o["contract"] == report["token"]}
        for account, balance in s["balances"].items():
            if int(balance) not in written.values():
                fail(f"sequence {s['sequence']}: balance {balance} of {account} is not among the outputs")
        print(f"ok: sequence {s['sequence']}: {len(s['outputs'])} outputs in {s['n_chunks']} chunk(s) equal "
              f"`sub-block show`'s, tx {s['tx_hash']}, {len(s['balances'])} balance(s)")
        passed += 1

    print(f"{passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
