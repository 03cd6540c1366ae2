#!/usr/bin/env bash
# Installs what the Kafka tests start and talk to:
# - the broker: Nisshi 0.7.0 (formerly Tansu), a Kafka-protocol broker from crates.io with
#   transactions and read_committed fetches, built into target/kafka-server/nisshi. It needs
#   rustc 1.96, newer than this machine's stable toolchain, so it is built with the nightly
#   toolchain when stable is too old. Apache Kafka itself cannot be installed here (Maven
#   Central is out of reach).
# - an independent client to set the broker up and check what weir wrote: confluent-kafka
#   (librdkafka) in a virtualenv at target/kafka-server/py.
# Each test binary starts its brokers on free ports and stops them. Safe to run again: what
# is there is kept. The broker build is slow (~10 minutes on 2 cores), so it is done once.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-venv.sh
dir=target/kafka-server
version=0.7.0
py=$dir/py
if ! "$py/bin/python" -c 'import confluent_kafka' >/dev/null 2>&1; then
  python_venv "$py" 'confluent-kafka==2.16.1'
fi
if [ -x "$dir/nisshi/bin/nisshi" ] && [ -f "$dir/nisshi/.version-$version" ]; then
  exit 0
fi
toolchain=""
minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "${minor:-0}" -lt 96 ]; then
  if cargo +nightly --version >/dev/null 2>&1; then
    toolchain="+nightly"
  else
    echo "the Kafka broker (nisshi $version) needs rustc 1.96 or a nightly toolchain; this has $(rustc --version)" >&2
    exit 1
  fi
fi
echo "building the Kafka broker for the tests (nisshi $version; once, ~10 minutes)" >&2
rm -rf "$dir/nisshi"
CARGO_PROFILE_DEV_DEBUG=0 cargo $toolchain install nisshi --version "$version" --locked --debug \
  --no-default-features --features dynostore \
  --root "$dir/nisshi" --target-dir "$dir/build" >"$dir/install.log" 2>&1 \
  || { tail -20 "$dir/install.log" >&2; echo "cannot build nisshi $version (see $dir/install.log)" >&2; exit 1; }
rm -rf "$dir/build"
touch "$dir/nisshi/.version-$version"
