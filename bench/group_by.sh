#!/usr/bin/env bash
# GROUP BY on one core against its limit (issue 19): weir's streaming Sql GROUP BY operator, the
# same operator in batch mode, and DataFusion's own hash aggregate, over the same pre-generated
# batches (8 192 rows of k in 0..KEYS and v; COUNT, SUM, MIN, MAX, AVG). Target: 20 M rows/s
# per core; Flink 2.3.0 did 1.24 M on this machine class (issue 19). The end-to-end figure of a
# running job (source, shuffle and checkpoints included) is bench/checkpoints.sh's.
#   bench/group_by.sh            (BATCHES=1000 KEYS=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p weir-sql --example group_by_limit --quiet
target/release/examples/group_by_limit "${BATCHES:-1000}" "${KEYS:-1000}"
