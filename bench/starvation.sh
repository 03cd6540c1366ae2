#!/usr/bin/env bash
# The control plane while jobs saturate every core: p50/p99 latency of /overview and /jobs/:id
# on an idle cluster and with unthrottled FakeSource -> Blackhole jobs at parallelism = cores
# (wrk -t1 -c4 -d10s, a client that waits for each answer), the time a cancel and a shutdown
# take, and the throughput cost of subtasks giving their worker back (rows/s of one unthrottled
# job, read from numRecordsOutPerSecond).
#   bench/starvation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) \
    || { echo "needs wrk (apt-get install wrk)"; exit 1; }
fi
# WEIR_BIN measures another build (say, one without cooperative yielding) with the same script.
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release -p weir --quiet; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
OUT=bench/out/starvation
rm -rf "$OUT"; mkdir -p "$OUT"
PORT=${PORT:-18091}
URL=http://127.0.0.1:$PORT
CORES=$(nproc)

"$WEIR" start --data-dir "$OUT/data" -D rest.port=$PORT -D metrics.reporter.prom.port=0 \
  -D seatunnel.engine.http.port=0 -D seatunnel.engine.rest-v1.port=0 > "$OUT/start.log" 2>&1 &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
until curl -s -o /dev/null "$URL/overview"; do sleep 0.01; done
echo "# control plane under saturation ($CORES cores, $(date -u +%Y-%m-%d))"

latency() {
  local label=$1 path=$2
  wrk -t1 -c4 -d10s --latency "$URL$path" > "$OUT/wrk.txt"
  printf "%-28s %-22s p50 %8s   p99 %8s   %10s req/s\n" "$label" "GET ${path:0:20}" \
    "$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")" "$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")" \
    "$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")"
}
submit() { curl -s -X POST --data-binary "$1" "$URL/jobs" | sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/'; }
busy_job() {
  printf 'env { job.mode = "STREAMING", parallelism = %s }\nsource { FakeSource { unbounded = true, schema = { fields { id = bigint, name = string } } } }\nsink { Blackhole {} }' "$1"
}

IDLE=$(submit 'env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 10, schema = { fields { id = bigint } } } }
sink { Blackhole {} }')
sleep 1
latency "idle cluster" /overview
latency "idle cluster" "/jobs/$IDLE"

# One unthrottled job at parallelism 1: its rate (the cost of yielding shows here), from the
# source's record counter over 10 s after a 2 s warm-up.
ONE=$(submit "$(busy_job 1)")
sleep 2
VID=$(curl -s "$URL/jobs/$ONE" | sed -E 's/.*"vertices":\[\{"id":"([0-9a-f]{32})".*/\1/')
count() {
  curl -s "$URL/jobs/$ONE/vertices/$VID/metrics?get=0.Source__FakeSource.numRecordsOut" \
    | sed -E 's/.*"value":"([0-9]+)".*/\1/'
}
c0=$(count); sleep 10; c1=$(count)
curl -s -o /dev/null -X PATCH "$URL/jobs/$ONE?mode=cancel"
awk -v a="$c0" -v b="$c1" 'BEGIN { printf "one unthrottled subtask: %.1f M rows/s\n", (b - a) / 10 / 1e6 }'
sleep 1

BUSY=$(submit "$(busy_job "$CORES")")
sleep 2
latency "$CORES cores saturated" /overview
latency "$CORES cores saturated" "/jobs/$BUSY"

t0=$(date +%s%N)
curl -s -o /dev/null -X PATCH "$URL/jobs/$BUSY?mode=cancel"
until curl -s "$URL/jobs/$BUSY/status" | grep -q CANCELED; do sleep 0.01; done
t1=$(date +%s%N)
awk -v ns=$((t1 - t0)) 'BEGIN { printf "cancel of the saturating job: %.0f ms to CANCELED\n", ns/1e6 }'

submit "$(busy_job "$CORES")" > /dev/null
sleep 2
t0=$(date +%s%N)
kill -TERM $PID
wait $PID || true
t1=$(date +%s%N)
awk -v ns=$((t1 - t0)) 'BEGIN { printf "SIGTERM with every core saturated: exited in %.0f ms\n", ns/1e6 }'
