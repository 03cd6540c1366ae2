#!/usr/bin/env bash
# Installs what the test suite needs besides Rust: promtool (Debian's `prometheus` package),
# PostgreSQL and MariaDB for the Jdbc tests (scripts/install-db-servers.sh), the file-format
# tools the interop tests check weir's files with (scripts/install-format-tools.sh:
# the `lzop` command and pyarrow's ORC reader), and the compatibility tier's Chromium, Java, playwright-core and Flink 2.3.0 dashboard and CLI
# (scripts/install-compat-tools.sh), moto's S3-compatible server (scripts/install-s3-server.sh),
# the Kafka-protocol broker with its independent test client (scripts/install-kafka-server.sh),
# and schemathesis for the OpenAPI fuzz test (scripts/install-api-fuzzer.sh).
set -euo pipefail
"$(dirname "$0")/install-compat-tools.sh"
"$(dirname "$0")/install-format-tools.sh"
"$(dirname "$0")/install-db-servers.sh"
"$(dirname "$0")/install-s3-server.sh"
"$(dirname "$0")/install-kafka-server.sh"
"$(dirname "$0")/install-api-fuzzer.sh"
# weir's own dashboard: built before cargo compiles weir-rest, which embeds it; its
# end-to-end test (crates/weir/tests/suite/dashboard.rs) drives it with web/'s playwright-core.
"$(dirname "$0")/build-web.sh" >/dev/null
if command -v promtool >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; } \
  || { echo "cannot install promtool (apt-get install prometheus)" >&2; exit 1; }
command -v promtool >/dev/null
