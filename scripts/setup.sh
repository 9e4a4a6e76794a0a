#!/usr/bin/env bash
# Idempotent set-up for a fresh machine of this kind: everything the build needs that cargo
# does not fetch by itself. Safe to run again; each step skips work that is already done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required ($2)" >&2; exit 2; }; }
need cargo "install Rust with rustup"
need npm "the Cairo corelib comes from the npm package wasm-cairo"
need python3 "extracts the corelib from the npm package"

# 1. The Cairo corelib, out of the pinned npm package (checksum-verified, patched).
bash "$here/setup-corelib.sh" >/dev/null
# 2. The Cairo front-end binary (cairo-lang-* =2.9.0-dev.0, its own Cargo workspace).
bash "$here/build-frontend.sh" >/dev/null
