# Sourced by every script: one environment for every build, so the cache is shared.
# RUSTC_BOOTSTRAP is also forced in .cargo/config.toml; keep both at "1".
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkthreads/target}"
# Where the extracted Cairo corelib and other set-up data are cached.
export ZKTHREAD_CACHE_DIR="${ZKTHREAD_CACHE_DIR:-$HOME/.cache/zkthreads}"
