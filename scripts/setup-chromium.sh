#!/usr/bin/env bash
# Debian's Chromium, for the test that renders the service's status page headless. Idempotent:
# does nothing when `chromium` is already on PATH.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: chromium is missing and installing it needs root (apt-get install chromium)" >&2; exit 2; }
  sudo="sudo"
fi
install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null; }
echo "installing Debian's chromium (apt)" >&2
install || { $sudo apt-get update -q >/dev/null && install; }
