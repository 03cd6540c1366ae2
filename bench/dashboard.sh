#!/usr/bin/env bash
# The cost of weir's dashboard (issue 17): the first meaningful paint of a job page on a job with
# 20 vertices at parallelism 64 (target ≤ 1 s), the JobManager CPU one open dashboard costs on
# that job (target ≤ 2 % of one core), and the bytes it moves per minute. The job: ten
# FakeSource → GROUP BY → Blackhole pipelines at parallelism 64 (a source vertex and an
# aggregate vertex each, joined by a hash edge), slow sources so the job itself is quiet. The CPU
# figure prices the requests the open page makes (see below).
#   bench/dashboard.sh        (WEIR_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh >/dev/null
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release -p weir --quiet; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
OUT=$PWD/bench/out/dashboard
rm -rf "$OUT"; mkdir -p "$OUT"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$WEIR" start --data-dir "$OUT/data" -D rest.port="$port" -D taskmanager.numberOfTaskSlots=64 -D metrics.reporters= \
  -D seatunnel.engine.http.enable-http=false -D seatunnel.engine.rest-v1.enabled=false > "$OUT/weir.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
base=http://127.0.0.1:$port
until curl -s -o /dev/null "$base/overview"; do sleep 0.05; done
{
  echo 'env { job.name = "dashboard-bench-20-vertices", job.mode = "STREAMING", parallelism = 64, checkpoint.interval = 10000 }'
  echo 'source {'
  for i in $(seq 0 9); do echo "  FakeSource { plugin_output = s$i, unbounded = true, rows.per.second = 64, int.min = 0, int.max = 99, schema = { fields { k = int } } }"; done
  echo '}'
  echo 'transform {'
  for i in $(seq 0 9); do echo "  Sql { plugin_input = s$i, plugin_output = a$i, query = \"select k, count(*) as c from s$i group by k\" }"; done
  echo '}'
  echo 'sink {'
  for i in $(seq 0 9); do echo "  Blackhole { plugin_input = a$i }"; done
  echo '}'
} > "$OUT/job.conf"
job=$(curl -s -X POST --data-binary @"$OUT/job.conf" "$base/jobs" | sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/')
until [[ "$(curl -s "$base/jobs/$job")" == *'"state":"RUNNING"'* ]]; do sleep 0.2; done
vertices=$(curl -s "$base/jobs/$job" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["vertices"]))')
subtasks=$(curl -s "$base/jobs/$job" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(v["parallelism"] for v in d["vertices"]))')
sleep 5
echo "# weir's dashboard ($(nproc) cores, $(date -u +%Y-%m-%d)): a job of $vertices vertices, $subtasks subtasks"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
# The job's own CPU (seconds per second), to take off what wrk measures below.
idle_before=$(cpu_ticks); sleep 10; idle_after=$(cpu_ticks)
idle=$(awk -v t=$((idle_after - idle_before)) -v hz="$hz" 'BEGIN { print t / hz / 10 }')
echo "the job itself: $(awk -v i="$idle" 'BEGIN { printf "%.0f", 100 * i }') % of a core"
OPEN_SECONDS=${OPEN_SECONDS:-60} node web/bench/dashboard.mjs "$base" "$job" "$vertices" 5 > "$OUT/page.txt"
grep -v '^OPEN_\|^PATH ' "$OUT/page.txt"
# What the open page costs the JobManager: each path it polled, served alone under wrk
# (one connection) for its CPU per request, times how often the page asked for it. The job's own
# CPU on this machine drifts by more than the page costs, so subtracting two idle minutes
# cannot show it; this prices the page's requests themselves.
total=0
printf "%-48s %10s %14s %12s\n" "path the page polls" "per minute" "server µs/req" "% of a core"
while read -r _ per_minute path; do
  before=$(cpu_ticks)
  wrk -t1 -c1 -d5s "$base$path" > "$OUT/wrk.txt"
  after=$(cpu_ticks)
  n=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
  # The job's own CPU during the 5 s is taken off at the rate of the idle minute measured before.
  line=$(awk -v t=$((after - before)) -v idle="$idle" -v n="$n" -v pm="$per_minute" -v hz="$hz" -v p="$path" 'BEGIN {
    us = (t / hz - idle * 5) * 1e6 / n; if (us < 0) us = 0
    printf "%-48s %10.1f %14.1f %12.4f\n", (length(p) > 48 ? substr(p, 1, 45) "..." : p), pm, us, 100 * pm * us / 60e6
  }')
  echo "$line"
  total=$(awk -v a="$total" -v b="$(echo "$line" | awk '{print $NF}')" 'BEGIN { print a + b }')
done < <(grep '^PATH ' "$OUT/page.txt")
echo "one open dashboard costs the JobManager ${total} % of one core (target <= 2 %)"
