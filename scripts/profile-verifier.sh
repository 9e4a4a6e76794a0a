#!/usr/bin/env bash
# Profiles the Cairo signed verifier at production cost: proves the signed proof vector's
# scenario (2 signed transfers) under the shipped SIGNED_PARAMS, swaps that proof in for the
# committed light-parameter vector, runs `real_signed_proof_verifies` under the Cairo test
# runner's profiler (`zkthread-cairo test --profile`) and restores the committed vector.
# Prints a call tree of inclusive Cairo steps (the verifier's phases and what they call).
# The composition at the OODS point runs in the library-called class `SignedAir`: its steps and
# builtins are in the resources line (the runner adds a called class's resources) but not in
# the tree, which ends at `air_composition`; Starknet's fixed cost of the call (879 steps, 18
# range checks in 0.14) is in neither.
# Usage: bash scripts/profile-verifier.sh [--profile-depth N] [--profile-min-percent P]
#        [--profile-libfuncs N]   (also the heaviest (function, libfunc) pairs and the memory
#                                  holes of branch padding by function)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$here/env.sh"
cd "$root"

bash "$here/setup.sh" >/dev/null
frontend="$(bash "$here/build-frontend.sh" | tail -n 1)"
# ZKTHREAD_PROFILE_PROGRAM=list profiles the token list program's verifier (`ListVerifier`,
# `real_list_proof_verifies`) instead: two signed lists, or one list of N transfers;
# ZKTHREAD_PROFILE_PROGRAM=orderbook the order book's (`OrderBookVerifier`,
# `real_orderbook_proof_verifies`: the book's vector scenario, signed places and fills).
# ZKTHREAD_MEASURE_PARAMS=log_blowup,queries,pow_bits proves under other parameters (>= 96 bits).
case "${ZKTHREAD_PROFILE_PROGRAM:-signed}" in
    signed) package=signed_verifier; flag=--measure-signed; test=real_signed_proof_verifies
            vector="contracts/programs/token/signed_verifier/src/tests/signed_proof_vector.cairo" ;;
    list) package=list_verifier; flag=--measure-list; test=real_list_proof_verifies
          vector="contracts/programs/token/list_verifier/src/tests/list_proof_vector.cairo" ;;
    orderbook) package=orderbook_verifier; flag=--measure-orderbook; test=real_orderbook_proof_verifies
               vector="contracts/programs/orderbook/orderbook_verifier/src/tests/orderbook_proof_vector.cairo"
               if [ -n "${ZKTHREAD_PROFILE_TRANSFERS:-}" ]; then
                   echo "ZKTHREAD_PROFILE_TRANSFERS applies to signed and list only (the book's scenario is fixed)" >&2; exit 2
               fi ;;
    *) echo "ZKTHREAD_PROFILE_PROGRAM must be signed, list or orderbook" >&2; exit 2 ;;
esac
backup="$(mktemp)"
cp "$vector" "$backup"
trap 'cp "$backup" "$vector"; rm -f "$backup"' EXIT

echo "== proving the scenario under SIGNED_PARAMS" >&2
# ZKTHREAD_PROFILE_TRANSFERS=N proves N transfers from one sender instead (a taller trace: the
# demo's sub-blocks are 24-32 transfers, 2^12 Poseidon2 rows, where the vector's 2 have 2^8).
cargo run -q -p zkthread-air-codegen -- "$flag" "$root/$vector" \
    ${ZKTHREAD_PROFILE_TRANSFERS:+"$ZKTHREAD_PROFILE_TRANSFERS"} >/dev/null
echo "== profiling the Cairo verifier" >&2
"$frontend" test --manifest "$root/Scarb.toml" --package "$package" \
    --filter "$test" --profile "$@"
