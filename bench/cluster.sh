#!/usr/bin/env bash
# The mini cluster's control plane: time from `weir start` to the first REST answer, idle RSS,
# and req/s with p50/p99 latency for /overview, /jobs/overview (100 finished + 10 running jobs)
# and /jobs/:id, measured with wrk -t2 -c16 -d10s (installed from Debian's packages if missing).
# Each REST figure is printed next to its limit, a bare HTTP server on the same stack answering
# the same bytes under the same wrk (crates/rest/examples/bare_server.rs), and next to Flink
# 2.3.0's figure from the side-by-side run of issue 19.
#   bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/rest_jobs.sh
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) \
    || { echo "needs wrk (apt-get install wrk)"; exit 1; }
fi
cargo build --release -p weir --quiet
cargo build --release -p weir-rest --example bare_server --quiet
BARE=$PWD/target/release/examples/bare_server
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

load_rest_jobs "$URL" "$OUT"
echo "jobs: $(curl -s "$URL/overview" | sed -E 's/.*"jobs-running":([0-9]+),"jobs-finished":([0-9]+).*/\1 running, \2 finished/')"
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
awk -v k="$rss_kib" 'BEGIN { printf "RSS with 10 running jobs: %.1f MiB\n", k/1024 }'

# req/s of wrk on $1 (its full report stays in $OUT/wrk.txt).
rps() {
  wrk -t2 -c16 -d10s --latency "$1" > "$OUT/wrk.txt"
  awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt"
}
# The same bytes from the bare server: what HTTP alone costs on this machine.
bare_rps() {
  curl -s "$URL$1" > "$OUT/answer.json"
  "$BARE" "$OUT/answer.json" > "$OUT/bare.txt" &
  local bare=$!
  until grep -q listening "$OUT/bare.txt" 2>/dev/null; do sleep 0.01; done
  local addr
  addr=$(awk '{print $3}' "$OUT/bare.txt")
  rps "http://$addr/"
  kill $bare; wait $bare 2>/dev/null || true
}
printf "%-22s %9s %9s %9s %10s %10s %9s %7s\n" "path" "bytes" "weir" "p50" "p99" "bare" "of bare" "Flink"
bench() {
  local label=$1 path=$2 flink=$3 weir bare bytes
  weir=$(rps "$URL$path")
  local p50 p99
  p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")
  bare=$(bare_rps "$path")
  bytes=$(wc -c < "$OUT/answer.json")
  printf "%-22s %9s %9.0f %9s %10s %10.0f %8.0f%% %7s\n" "$label" "$bytes" "$weir" "$p50" "$p99" "$bare" "$(awk -v a="$weir" -v b="$bare" 'BEGIN { print 100 * a / b }')" "$flink"
}
bench /overview /overview 8700
bench /jobs/overview /jobs/overview 7900
bench /jobs/:id "/jobs/$JOB" 40000
