#!/usr/bin/env python3
"""Recover the Cairo corelib that the npm package wasm-cairo embeds in its wasm module.

Why: no crate and no registry binary ships a corelib matching the cairo-lang-* 2.9 crates; the
wasm build of the compiler carries one as `include_str!` strings behind a
`match path { "array.cairo" => ..., }`.

Layout of that match in wasm-cairo 0.10.2 (found by inspecting the module):
  * the data section (id 11) holds the path strings back to back ("array.cairoboolean.cairo...");
  * the code section compares the requested path against each of them in order with
    `local.get; local.get; i32.const <path ptr>; i32.const <path len>; call <eq>`;
  * right after the last comparison come the match arms, each storing the file's length and
    pointer into the result struct (`local.get 1; i32.const LEN; i32.store offset=0x38;
    local.get 1; i32.const PTR; i32.store offset=0x34`). Because the chain is compiled as an
    `if` nested in `block`s, the first arm belongs to the last path, then the arms follow the
    paths from the first one on.
Every recovered file is checked (in range, UTF-8, non-empty) and the caller pins a checksum of
the whole tree, so a different layout fails loudly rather than producing a wrong corelib.

Usage: extract_corelib.py <wasm-cairo_bg.wasm> <out-dir>   (writes <out-dir>/<path> files)
       extract_corelib.py --checksum <src-dir>              (prints the tree checksum)
Standard library only.
"""
import hashlib
import os
import re
import sys

FIRST_PATHS = b"array.cairoboolean.cairo"
PATH_RUN = re.compile(rb"(?:[a-z0-9_/]+\.cairo)+")
# local.get 1; i32.const LEN; i32.store align=2 offset=0x38; local.get 1; i32.const PTR;
# i32.store align=2 offset=0x34
ARM = re.compile(
    rb"\x20\x01\x41([\x80-\xff]*[\x00-\x7f])\x36\x02\x38\x20\x01\x41([\x80-\xff]*[\x00-\x7f])\x36\x02\x34"
)


class ExtractError(Exception):
    pass


def uleb(buf, i):
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def sleb(buf, i):
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, i


def sleb_encode(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def sections(wasm):
    if wasm[:4] != b"\0asm":
        raise ExtractError("not a wasm module")
    found = {}
    i = 8
    while i < len(wasm):
        section_id = wasm[i]
        size, i = uleb(wasm, i + 1)
        found.setdefault(section_id, (i, size))
        i += size
    return found


def memory_image(wasm, data_section):
    """Lay the active data segments out as the module's initial linear memory."""
    start, _ = data_section
    count, i = uleb(wasm, start)
    segments = []
    for _ in range(count):
        kind, i = uleb(wasm, i)
        if kind != 0 or wasm[i] != 0x41:
            raise ExtractError("unexpected data segment kind %d" % kind)
        offset, i = sleb(wasm, i + 1)
        if wasm[i] != 0x0B:
            raise ExtractError("unexpected data segment offset expression")
        length, i = uleb(wasm, i + 1)
        segments.append((offset, wasm[i : i + length]))
        i += length
    image = bytearray(max(off + len(seg) for off, seg in segments))
    for off, seg in segments:
        image[off : off + len(seg)] = seg
    return image


def extract(wasm):
    """Return {relative path: file text} for every corelib file in the module."""
    secs = sections(wasm)
    if 10 not in secs or 11 not in secs:
        raise ExtractError("wasm module has no code or data section")
    image = memory_image(wasm, secs[11])
    start = image.find(FIRST_PATHS)
    if start < 0:
        raise ExtractError("corelib path table not found in the data section")
    run = PATH_RUN.match(image, start).group(0).decode()
    paths = [p + ".cairo" for p in run.split(".cairo")[:-1]]
    addresses = []
    pos = start
    for path in paths:
        addresses.append(pos)
        pos += len(path)

    code_start, code_size = secs[10]
    code = wasm[code_start : code_start + code_size]
    # The comparisons against the last path end the chain; the arms follow it.
    last_cmp = b"\x41" + sleb_encode(addresses[-1]) + b"\x41" + sleb_encode(len(paths[-1]))
    hits = [m.start() for m in re.finditer(re.escape(last_cmp), code)]
    if len(hits) != 1:
        raise ExtractError("expected one path comparison chain, found %d" % len(hits))
    arms = []
    for m in ARM.finditer(code, hits[0]):
        length, _ = sleb(m.group(1), 0)
        ptr, _ = sleb(m.group(2), 0)
        arms.append((ptr, length))
        if len(arms) == len(paths):
            break
    if len(arms) != len(paths):
        raise ExtractError("found %d match arms for %d paths" % (len(arms), len(paths)))
    owners = [paths[-1]] + paths[:-1]
    files = {}
    for path, (ptr, length) in zip(owners, arms):
        if length <= 0 or ptr < 0 or ptr + length > len(image):
            raise ExtractError("arm for %s points outside memory" % path)
        try:
            files[path] = bytes(image[ptr : ptr + length]).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ExtractError("content of %s is not UTF-8: %s" % (path, err)) from err
    if "mod array;" not in files.get("lib.cairo", "") and "pub mod array;" not in files.get("lib.cairo", ""):
        raise ExtractError("lib.cairo does not declare the array module: arm order is off")
    return files


def tree_checksum(src_dir):
    """SHA-256 over 'path NUL sha256(content) LF' for every file, paths sorted (POSIX '/')."""
    entries = []
    for root, _, names in os.walk(src_dir):
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, src_dir).replace(os.sep, "/")
            with open(full, "rb") as fh:
                entries.append((rel, hashlib.sha256(fh.read()).hexdigest()))
    outer = hashlib.sha256()
    for rel, digest in sorted(entries):
        outer.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    return outer.hexdigest()


def main(argv):
    if len(argv) == 3 and argv[1] == "--checksum":
        print(tree_checksum(argv[2]))
        return 0
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: extract_corelib.py <wasm> <out-dir> | --checksum <dir>", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as fh:
        wasm = fh.read()
    try:
        files = extract(wasm)
    except ExtractError as err:
        print("error: corelib extraction failed: %s" % err, file=sys.stderr)
        return 1
    for rel, text in files.items():
        target = os.path.join(argv[2], *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
