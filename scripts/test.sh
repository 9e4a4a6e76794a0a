#!/usr/bin/env bash
# Runs every test: Cairo unit tests (cairo-lang-test-runner) and the Rust workspace, including
# the end-to-end tests against an embedded starknet-devnet. Installs what it needs first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$here/env.sh"
cd "$root"

bash "$here/setup.sh"
bash "$here/setup-chromium.sh"
bash "$here/setup-examples.sh"
frontend="$(bash "$here/build-frontend.sh" | tail -n 1)"

echo "== Cairo tests (contracts/)"
"$frontend" test --manifest "$root/Scarb.toml"

echo "== Rust tests (harness/, tests/)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
