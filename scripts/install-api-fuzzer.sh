#!/usr/bin/env bash
# Installs schemathesis (PyPI), which the OpenAPI test (crates/weir/tests/suite/openapi_fuzz.rs)
# runs against a live cluster's /v1/openapi.json, in a virtualenv at target/api-fuzzer/py.
# Safe to run again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
py=target/api-fuzzer/py
version=4.32.5
if ! "$py/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  if ! python3 -c 'import venv' >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1 \
      || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1; } \
      || { echo "cannot install python3-venv" >&2; exit 1; }
  fi
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" \
    || { echo "cannot install schemathesis (pip install schemathesis==$version)" >&2; exit 1; }
fi
