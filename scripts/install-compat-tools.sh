#!/usr/bin/env bash
# Installs what the compatibility tier (crates/weir/tests/suite/flink_compat.rs) needs: Debian's
# Chromium, Java for Flink's CLI, playwright-core from npm (compat/package-lock.json), and
# Flink 2.3.0's dashboard and CLI from its PyPI wheels (scripts/flink-dist.sh), under
# target/compat. Safe to run again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } \
    || { echo "cannot install $* (apt-get install $*)" >&2; exit 1; }
}
command -v chromium >/dev/null || apt_install chromium
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v unzip >/dev/null || apt_install unzip
if [ ! -d compat/node_modules/playwright-core ]; then
  (cd compat && npm ci --no-audit --no-fund --silent)
fi
scripts/flink-dist.sh target/compat >/dev/null
