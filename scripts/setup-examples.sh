#!/usr/bin/env bash
# The example clients' pinned packages (examples/README.md): starknet.js from npm into
# examples/javascript/node_modules, starknet-py from PyPI into examples/python/.venv. The
# service test runs both against its devnet. Idempotent and quiet; ~10 s warm, ~1 min cold.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
