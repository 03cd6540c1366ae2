#!/usr/bin/env bash
# Installs schemathesis (PyPI), which the OpenAPI test (crates/weir/tests/suite/openapi_fuzz.rs)
# runs against a live cluster's /v1/openapi.json, in a virtualenv at target/api-fuzzer/py.
# Safe to run again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-venv.sh
py=target/api-fuzzer/py
version=4.32.5
if ! "$py/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  python_venv "$py" "schemathesis==$version"
fi
