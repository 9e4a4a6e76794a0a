#!/usr/bin/env bash
# Installs the Cairo corelib the front-end (cairo-lang-* =2.9.0-dev.0) compiles against:
# extracted from the pinned npm package wasm-cairo 0.10.2 (no crate ships a corelib), verified
# against a pinned tree checksum, then patched with scripts/corelib.patch.
# Idempotent: a stamp holding the checksum + patch digest skips the work on later runs.
# Prints the corelib `src` path on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

pkg="wasm-cairo@0.10.2"
tarball_name="wasm-cairo-0.10.2.tgz"
# npm's integrity for wasm-cairo 0.10.2 (sha512, base64).
pinned_integrity="sha512-EstsXzGx11dzg+77k8e4c1w/cGXnPsjMVwrp4VmjTxT3adfvBV9eKLHO9cU2tfB4XJKX6HVBjGWYjqZ+7WCCkA=="
pinned_tree="$(cut -d' ' -f1 "$here/corelib.sha256")"
patch_file="$here/corelib.patch"

die() { echo "error: $*" >&2; exit 1; }
for tool in npm python3 patch tar; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required to set up the Cairo corelib"
done

corelib="$ZKTHREAD_CACHE_DIR/corelib"
stamp="$corelib/.zkthread-stamp"
want_stamp="tree=$pinned_tree patch=$(sha256sum "$patch_file" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$corelib/src/lib.cairo" ]]; then
    echo "$corelib/src"
    exit 0
fi

npm_dir="$ZKTHREAD_CACHE_DIR/npm"
mkdir -p "$npm_dir"
tarball="$npm_dir/$tarball_name"
integrity_of() {
    python3 -c 'import sys,hashlib,base64; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}
if [[ ! -f "$tarball" || "$(integrity_of "$tarball")" != "$pinned_integrity" ]]; then
    rm -f "$tarball"
    (cd "$npm_dir" && npm pack "$pkg" --silent >/dev/null 2>&1) || die "npm pack $pkg failed"
fi
[[ "$(integrity_of "$tarball")" == "$pinned_integrity" ]] \
    || die "npm tarball $tarball does not match the pinned integrity $pinned_integrity"

work="$(mktemp -d "$ZKTHREAD_CACHE_DIR/.corelib-tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" package/wasm-cairo_bg.wasm
# The extractor prints its own one-line error and exits non-zero when the layout is not found.
python3 "$here/extract_corelib.py" "$work/package/wasm-cairo_bg.wasm" "$work/corelib/src"
got_tree="$(python3 "$here/extract_corelib.py" --checksum "$work/corelib/src")"
[[ "$got_tree" == "$pinned_tree" ]] \
    || die "extracted corelib checksum $got_tree does not match the pinned $pinned_tree (scripts/corelib.sha256)"
patch --quiet --forward -p1 -d "$work/corelib" < "$patch_file" >/dev/null \
    || die "scripts/corelib.patch does not apply to the extracted corelib"
cat > "$work/corelib/cairo_project.toml" <<'TOML'
# Written by scripts/setup-corelib.sh: lets cairo tooling open this corelib as a project.
[crate_roots]
core = "src"

[config.global]
edition = "2024_07"
TOML
echo "$want_stamp" > "$work/corelib/.zkthread-stamp"

# Swap in atomically: a reader sees either the old tree or the new one, never half of one.
if [[ -e "$corelib" ]]; then
    old="$ZKTHREAD_CACHE_DIR/.corelib-old.$$"
    mv "$corelib" "$old"
    mv "$work/corelib" "$corelib"
    rm -rf "$old"
else
    mv "$work/corelib" "$corelib"
fi
echo "$corelib/src"
