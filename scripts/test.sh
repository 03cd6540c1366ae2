#!/usr/bin/env bash
# weir's test command: formatting, lints, and every test of the workspace.
# Needs only the Rust toolchain; nothing else is installed for the current suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast
