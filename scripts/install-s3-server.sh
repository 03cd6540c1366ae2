#!/usr/bin/env bash
# Installs the S3-compatible server the object-storage tests start: moto's server (PyPI's
# `moto[server]`, which speaks the S3 HTTP API with multipart uploads) in a virtualenv at
# target/s3-server/py. Each test starts it on a free port (`moto_server -p PORT`) and stops
# it at the end. Safe to run again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
py=target/s3-server/py
if ! "$py/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  if ! python3 -c 'import venv' >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1 \
      || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1; } \
      || { echo "cannot install python3-venv" >&2; exit 1; }
  fi
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' \
    || { echo "cannot install moto (pip install 'moto[server]==5.2.5')" >&2; exit 1; }
fi
