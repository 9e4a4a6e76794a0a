#!/usr/bin/env bash
# The example clients' pinned packages (examples/README.md): starknet.js from npm into
# examples/javascript/node_modules, starknet-py and wasmtime from PyPI into
# examples/python/.venv; and the thread-key signer (harness/sig-wasm) built for WebAssembly into
# examples/wasm/zkthread_sig.wasm, which the submitting clients load. The service test runs
# them against its devnet. Idempotent and quiet; ~10 s warm, ~2 min cold.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
js="$root/examples/javascript"
py="$root/examples/python"
# npm ci wipes node_modules: only when the lock file changed since the last install.
if ! cmp -s "$js/package-lock.json" "$js/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$js/package-lock.json" "$js/node_modules/.package-lock.json.installed"
fi
if ! cmp -s "$py/requirements.txt" "$py/.venv/requirements.installed" 2>/dev/null; then
  python3 -m venv "$py/.venv"
  "$py/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$py/requirements.txt"
  cp "$py/requirements.txt" "$py/.venv/requirements.installed"
fi
# The signer: cargo decides whether anything changed (a no-op build takes well under a second).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown >/dev/null
fi
(cd "$root" && cargo build --quiet --release --target wasm32-unknown-unknown -p zkthread-sig-wasm)
mkdir -p "$root/examples/wasm"
built="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/zkthread_sig_wasm.wasm"
if ! cmp -s "$built" "$root/examples/wasm/zkthread_sig.wasm"; then
  cp "$built" "$root/examples/wasm/zkthread_sig.wasm.tmp"
  mv "$root/examples/wasm/zkthread_sig.wasm.tmp" "$root/examples/wasm/zkthread_sig.wasm"
fi
