#!/usr/bin/env bash
# The main job: the whole zkthreads loop on an embedded starknet-devnet (`zkthread demo`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$here/env.sh"
cd "$root"
bash "$here/setup.sh"
cargo run -q -p zkthread -- demo "$@"
