#!/usr/bin/env bash
# Metrics benchmark (issue 4):
#  1. cost of metrics on throughput: FakeSource -> Sql -> Blackhole rows/s with metrics vs. a
#     build with every data-path recording compiled out (feature metrics-off), best of 3 each;
#  2. freshness: age of the numbers REST serves (request time - the store's fetch time, which
#     Flink and weir both report as the backpressure endpoint's end-timestamp), p50/p99 over
#     reads at random moments, default metrics.fetcher.update-interval;
#  3. GET .../subtasks/metrics?agg=... latency on a parallelism-256 job while 50 clients poll it
#     (wrk -t2 -c50 -d10s --latency), and /overview latency measured at the same time.
#   bench/metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk curl python3; do
  command -v $tool >/dev/null || apt-get install -y $tool >/dev/null 2>&1 || { echo "needs $tool"; exit 1; }
done
OUT=bench/out/metrics
rm -rf "$OUT"; mkdir -p "$OUT"
ROWS=${ROWS:-30000000}

cargo build --release -p weir --quiet --features metrics-off
cp target/release/weir "$OUT/weir-metrics-off"
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir

cat > "$OUT/throughput.conf" <<JOB
env { parallelism = 1 }
source { FakeSource { row.num = $ROWS, batch.size = 4096, schema = { fields { id = bigint, name = string, age = int } } } }
transform { Sql { query = "select id, age + 1 as age from dual where age > 10" } }
sink { Blackhole {} }
JOB
best() {
  local bin=$1 best=0
  for _ in 1 2 3; do
    "$bin" run --quiet "$OUT/throughput.conf" 2> "$OUT/stderr" >/dev/null
    secs=$(grep -oE 'FINISHED in [0-9.]+s' "$OUT/stderr" | grep -oE '[0-9.]+')
    best=$(awk -v r="$ROWS" -v s="$secs" -v b="$best" 'BEGIN { x = r / s; print (x > b ? x : b) }')
  done
  echo "$best"
}
on=$(best "$WEIR")
off=$(best "$OUT/weir-metrics-off")
echo "# weir metrics benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"
awk -v on="$on" -v off="$off" 'BEGIN {
  printf "throughput with metrics:    %6.2f M rows/s\n", on / 1e6
  printf "throughput, metrics off:    %6.2f M rows/s\n", off / 1e6
  printf "cost of metrics:            %6.2f %%\n", (off - on) / off * 100 }'

PORT=${PORT:-18181}
URL=http://127.0.0.1:$PORT
"$WEIR" start --data-dir "$OUT/data" -D rest.port=$PORT -D metrics.reporter.prom.port=0 \
  -D taskmanager.numberOfTaskSlots=256 -D rest.flamegraph.enabled=false > "$OUT/start.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -s -o /dev/null "$URL/overview"; do sleep 0.05; done
JOB=$(curl -s -X POST --data-binary '
env { job.mode = "STREAMING", parallelism = 256 }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }' "$URL/jobs" | sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/')
until curl -s "$URL/jobs/$JOB" | grep -q '"RUNNING"'; do sleep 0.1; done
V=$(curl -s "$URL/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vertices"][0]["id"])')
sleep 2

python3 - "$URL" "$JOB" "$V" <<'PY'
import json, random, sys, time, urllib.request
url, job, v = sys.argv[1:4]
ages = []
for _ in range(300):
    time.sleep(random.uniform(0.0, 0.1))
    t = time.time() * 1000
    with urllib.request.urlopen(f"{url}/jobs/{job}/vertices/{v}/backpressure") as r:
        body = json.load(r)
    ages.append(t - body["end-timestamp"])
ages.sort()
p = lambda q: ages[min(len(ages) - 1, int(q * len(ages)))]
print(f"freshness (age of served metrics, 300 reads): p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {ages[-1]:.0f} ms")
PY

AGG="$URL/jobs/$JOB/vertices/$V/subtasks/metrics?get=numRecordsOut,busyTimeMsPerSecond,backPressuredTimeMsPerSecond&agg=min,max,sum,avg,skew"
n=$(curl -s "$AGG" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 3 ] || { echo "aggregate answered $n metrics, expected 3"; exit 1; }
wrk -t2 -c50 -d10s --latency "$AGG" > "$OUT/agg.txt" &
W=$!
sleep 3
wrk -t1 -c1 -d5s --latency "$URL/overview" > "$OUT/overview.txt"
wait $W
lat() { awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {printf "p50 %s, p99 %s, %s req/s", p50, p99, rps}' "$1"; }
echo "subtasks/metrics?agg (p=256, 50 clients): $(lat "$OUT/agg.txt")"
echo "/overview meanwhile (1 client):             $(lat "$OUT/overview.txt")"
