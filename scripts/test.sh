#!/usr/bin/env bash
# weir's test command: formatting, lints, and every test of the workspace.
# Needs the Rust toolchain; installs what the tests use first (scripts/install-test-tools.sh:
# promtool for the Prometheus test, and Chromium, Java, playwright-core and Flink 2.3.0's
# dashboard and CLI for the compatibility tier in crates/weir/tests/suite/flink_compat.rs; and
# weir's own dashboard, built by scripts/build-web.sh so the binary embeds it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A clean build gains nothing from incremental state: it only costs time and gigabytes.
export CARGO_INCREMENTAL=0
scripts/install-test-tools.sh
export WEIR_REQUIRE_PROMTOOL=1
export WEIR_REQUIRE_COMPAT=1
export WEIR_REQUIRE_FORMAT_TOOLS=1
export WEIR_REQUIRE_DATABASES=1
export WEIR_REQUIRE_S3=1
export WEIR_REQUIRE_KAFKA=1
export WEIR_REQUIRE_API_FUZZER=1
export WEIR_REQUIRE_DASHBOARD=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --no-fail-fast --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -aoE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -aoE '; [0-9]+ failed;' "$log" | awk '{s += $2} END {print s + 0}')
echo "$passed passed, $failed failed"
exit "$status"
