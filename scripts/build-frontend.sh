#!/usr/bin/env bash
# Builds the Cairo front-end binary `zkthread-cairo` (harness/cairo-frontend, its own Cargo
# workspace: cairo-lang-* =2.9.0-dev.0 cannot share a graph with devnet's 2.19.4 crates).
#
# cairo-lang-runner 2.9.0-dev.0 needs cairo-vm ^1.0.1, and every 1.0.x calls
# `usize::is_multiple_of(&n)` (num-integer's trait method), which the inherent method stabilised
# in Rust 1.87 now shadows -> E0308 on Rust 1.95. No 1.0.x release fixes it, so the build uses
# cairo-vm 1.0.2 from crates.io (checksum-verified) with a two-line patch
# (harness/cairo-frontend/patches/cairo-vm-1.0.2.patch), wired in with `--config patch...`.
#
# Own target dir under $CARGO_TARGET_DIR so it never waits on the main workspace's build lock.
# Release profile: Cairo tests run in cairo-vm, 10x+ slower unoptimised.
# Idempotent (cargo skips an up-to-date build); prints the binary path on its last line.
# `--test` also runs the crate's own tests (unit + CLI tests on a fixture workspace; they need the
# corelib from scripts/setup-corelib.sh) before printing the path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
repo="$(cd "$here/.." && pwd)"
frontend="$repo/harness/cairo-frontend"
target="$CARGO_TARGET_DIR/cairo-frontend"
die() { echo "error: $*" >&2; exit 1; }

# --- cairo-vm 1.0.2, patched -------------------------------------------------------------
vm_version="1.0.2"
vm_sha256="7fa8b4b56ee66cebcade4d85128e55b2bfdf046502187aeaa8c2768a427684dc"  # crates.io checksum
vm_patch="$frontend/patches/cairo-vm-$vm_version.patch"
vm_dir="$ZKTHREAD_CACHE_DIR/patched/cairo-vm-$vm_version"
vm_stamp="$vm_dir/.zkthread-stamp"
want_stamp="crate=$vm_sha256 patch=$(sha256sum "$vm_patch" | cut -d' ' -f1)"
if [[ ! -f "$vm_stamp" || "$(cat "$vm_stamp")" != "$want_stamp" ]]; then
    # Let cargo download the crate through the registry (a throwaway manifest that only
    # depends on it), then take the verified .crate from cargo's cache.
    fetch="$ZKTHREAD_CACHE_DIR/patched/.fetch-cairo-vm"
    mkdir -p "$fetch/src"
    printf '[package]\nname = "fetch-cairo-vm"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ncairo-vm = { version = "=%s", default-features = false }\n[workspace]\n' \
        "$vm_version" > "$fetch/Cargo.toml"
    : > "$fetch/src/lib.rs"
    cargo fetch --manifest-path "$fetch/Cargo.toml" >&2 || die "could not fetch cairo-vm $vm_version"
    crate_file="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/cairo-vm-$vm_version.crate 2>/dev/null | head -1)"
    [[ -n "$crate_file" ]] || die "cairo-vm-$vm_version.crate not found in cargo's cache"
    [[ "$(sha256sum "$crate_file" | cut -d' ' -f1)" == "$vm_sha256" ]] \
        || die "$crate_file does not match the pinned sha256 $vm_sha256"
    work="$(mktemp -d "$ZKTHREAD_CACHE_DIR/patched/.tmp.XXXXXX")"
    tar -xzf "$crate_file" -C "$work"
    patch --quiet --forward -p1 -d "$work/cairo-vm-$vm_version" < "$vm_patch" >/dev/null \
        || die "$vm_patch does not apply to cairo-vm $vm_version"
    echo "$want_stamp" > "$work/cairo-vm-$vm_version/.zkthread-stamp"
    rm -rf "$vm_dir"
    mv "$work/cairo-vm-$vm_version" "$vm_dir"
    rm -rf "$work"
fi

# --- the binary --------------------------------------------------------------------------
cargo_frontend() {
    CARGO_TARGET_DIR="$target" cargo "$1" --locked --release \
        --manifest-path "$frontend/Cargo.toml" \
        --config "patch.crates-io.cairo-vm.path=\"$vm_dir\"" "${@:2}"
}
cargo_frontend build >&2
if [[ "${1:-}" == "--test" ]]; then
    cargo_frontend test >&2
fi
bin="$target/release/zkthread-cairo"
[[ -x "$bin" ]] || die "$bin was not produced"
echo "$bin"
