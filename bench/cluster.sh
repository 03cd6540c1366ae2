#!/usr/bin/env bash
# The mini cluster's control plane: time from `weir start` to the first REST answer, idle RSS,
# and req/s with p50/p99 latency for /overview, /jobs/overview (100 finished + 10 running jobs)
# and /jobs/:id, measured with wrk -t2 -c16 -d10s (installed from Debian's packages if missing).
#   bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) \
    || { echo "needs wrk (apt-get install wrk)"; exit 1; }
fi
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir
OUT=bench/out/cluster
rm -rf "$OUT"; mkdir -p "$OUT"
PORT=${PORT:-18081}
URL=http://127.0.0.1:$PORT

now_ns() { date +%s%N; }
t0=$(now_ns)
"$WEIR" start --data-dir "$OUT/data" -D rest.port=$PORT -D taskmanager.numberOfTaskSlots=16 > "$OUT/start.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -s -o /dev/null "$URL/overview"; do sleep 0.002; done
t1=$(now_ns)
sleep 1
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
echo "# weir mini cluster benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"
awk -v ns=$((t1 - t0)) 'BEGIN { printf "time to first REST answer: %.1f ms (includes curl start-up per probe)\n", ns/1e6 }'
awk -v k="$rss_kib" 'BEGIN { printf "idle RSS: %.1f MiB\n", k/1024 }'

BATCH='source { FakeSource { row.num = 10, schema = { fields { id = bigint } } } }
sink { Blackhole {} }'
STREAM='env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }'
for i in $(seq 1 100); do curl -s -o /dev/null -X POST --data-binary "$BATCH" "$URL/jobs"; done
for i in $(seq 1 10); do curl -s -X POST --data-binary "$STREAM" "$URL/jobs" > "$OUT/last_stream.json"; done
JOB=$(sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/' "$OUT/last_stream.json")
until [ "$(curl -s "$URL/overview" | sed -E 's/.*"jobs-finished":([0-9]+).*/\1/')" = 100 ]; do sleep 0.1; done
echo "jobs: $(curl -s "$URL/overview" | sed -E 's/.*"jobs-running":([0-9]+),"jobs-finished":([0-9]+).*/\1 running, \2 finished/')"
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
awk -v k="$rss_kib" 'BEGIN { printf "RSS with 10 running jobs: %.1f MiB\n", k/1024 }'

bench() {
  local path=$1
  wrk -t2 -c16 -d10s --latency "$URL$path" > "$OUT/wrk.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")
  printf "%-40s %12s req/s   p50 %8s   p99 %8s\n" "GET $path" "$rps" "$p50" "$p99"
}
bench /overview
bench /jobs/overview
bench "/jobs/$JOB"
