#!/usr/bin/env bash
# Instructions per REST request, counted by callgrind: repeatable to the instruction, where
# req/s from wrk swing ±20 % between runs on a shared 2-core VM (BENCHMARKS.md, issue 19).
# The release JobManager runs under `valgrind --tool=callgrind` with 100 finished and 10
# running jobs (as bench/cluster.sh); for each path the counters are zeroed, `wrk -t1 -c2
# -d20s` sends requests, and the dump's total is divided by the requests answered. The bare
# server (crates/rest/examples/bare_server.rs) answering /jobs/:id's bytes is the limit.
# Callgrind dumps stay in bench/out/rest_instructions for `callgrind_annotate --inclusive=yes`.
#   bench/rest_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/rest_jobs.sh
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release -p weir --quiet
cargo build --release -p weir-rest --example bare_server --quiet
OUT=bench/out/rest_instructions
rm -rf "$OUT"; mkdir -p "$OUT"
PORT=${PORT:-18095}
URL=http://127.0.0.1:$PORT

# Requests answered and instructions per request of $2 on pid $1; the dump goes to $3.
count() {
  local pid=$1 url=$2 name=$3
  callgrind_control -z "$pid" >/dev/null 2>&1
  wrk -t1 -c2 -d20s "$url" > "$OUT/$name.wrk"
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  local dump n total
  dump=$(ls -t "$OUT"/cg.out.* | head -1)
  mv "$dump" "$OUT/$name.callgrind"
  n=$(awk '/requests in/ {print $1}' "$OUT/$name.wrk")
  total=$(awk '/^summary:/ {print $2}' "$OUT/$name.callgrind")
  printf "%-16s %9d requests %9d instructions per request\n" "$name" "$n" $((total / n))
}

valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" target/release/weir start \
  --data-dir "$OUT/data" -D rest.port=$PORT -D taskmanager.numberOfTaskSlots=16 > "$OUT/weir.log" 2>&1 &
WEIR=$!
trap 'kill $WEIR 2>/dev/null || true; kill $BARE 2>/dev/null || true' EXIT
BARE=
until curl -s -o /dev/null "$URL/overview"; do sleep 0.5; done
load_rest_jobs "$URL" "$OUT"
sleep 5
echo "# instructions per REST request under callgrind ($(date -u +%Y-%m-%d); 100 finished, 10 running jobs)"
count $WEIR "$URL/overview" overview
count $WEIR "$URL/jobs/overview" jobs-overview
count $WEIR "$URL/jobs/$JOB" job-details
curl -s "$URL/jobs/$JOB" > "$OUT/answer.json"
kill $WEIR; wait $WEIR 2>/dev/null || true

valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
  target/release/examples/bare_server "$OUT/answer.json" > "$OUT/bare.txt" 2>"$OUT/bare.log" &
BARE=$!
until grep -q listening "$OUT/bare.txt" 2>/dev/null; do sleep 0.2; done
count $BARE "http://$(awk '{print $3}' "$OUT/bare.txt")/" bare
