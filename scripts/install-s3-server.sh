#!/usr/bin/env bash
# Installs the S3-compatible server the object-storage tests start: moto's server (PyPI's
# `moto[server]`, which speaks the S3 HTTP API with multipart uploads) in a virtualenv at
# target/s3-server/py. Each test starts it on a free port (`moto_server -p PORT`) and stops
# it at the end. Safe to run again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-venv.sh
py=target/s3-server/py
if ! "$py/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  python_venv "$py" 'moto[server]==5.2.5'
fi
