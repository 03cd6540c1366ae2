#!/usr/bin/env bash
# Data between TaskManager processes (issue 18), release build, loopback, 2 cores:
#  1. the exchange alone (crates/runtime/examples/exchange_bench.rs): one hop's latency p50/p99
#     and throughput, next to an in-process channel and a plain loopback TCP copy of the same
#     bytes (the limit);
#  2. a batch job with a hash edge at parallelism 2x2 (FakeSource k,v -> Sql GROUP BY k ->
#     Blackhole), once spread over two TaskManager processes (every row crosses or stays by its
#     key's hash) and once in one TaskManager process: rows/s of each;
#  3. JobManager kill -9 -> restart on the same data dir -> the streaming job RUNNING again.
#   bench/shuffle.sh     (ROWS=rows per source subtask, default 5000000; WEIR_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-5000000}
OUT=$PWD/bench/out/shuffle
rm -rf "$OUT"; mkdir -p "$OUT"
echo "== the exchange alone"
cargo run --release --quiet -p weir-runtime --example exchange_bench
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release --quiet -p weir; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
PIDS=()
trap 'kill -9 "${PIDS[@]}" 2>/dev/null || true' EXIT

start_jm() { # data-dir rpc-port log
  $WEIR jobmanager --data-dir "$1" -D rest.port=0 -D jobmanager.rpc.port="$2" \
    -D seatunnel.engine.http.enable-http=false -D seatunnel.engine.rest-v1.enabled=false \
    -D cluster.evenly-spread-out-slots=true -D heartbeat.interval=1s -D heartbeat.timeout=60s > "$3" 2>&1 &
  PIDS+=("$!")
  until grep -q "TaskManagers join" "$3"; do sleep 0.02; done
}
start_tm() { # rpc name slots
  $WEIR taskmanager --jobmanager "$1" --data-dir "$OUT/$2" -D taskmanager.resource-id="$2" \
    -D taskmanager.numberOfTaskSlots="$3" > "$OUT/$2.out" 2>&1 &
  PIDS+=("$!")
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_job() { # rest label
  python3 - "$1" "$2" "$ROWS" <<'PY'
import json, sys, time, urllib.request
rest, label, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(path, body=None):
    req = urllib.request.Request(rest + path, data=body, method="POST" if body else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
job = f"""env {{ job.mode = BATCH, parallelism = 2 }}
source {{ FakeSource {{ plugin_output = rows, row.num = {rows}, batch.size = 8192, seed = 3, int.min = 0, int.max = 999, schema = {{ fields {{ k = int, v = int }} }} }} }}
transform {{ Sql {{ plugin_input = rows, plugin_output = agg, query = "select k, count(*) as c, sum(v) as s from rows group by k" }} }}
sink {{ Blackhole {{ plugin_input = agg }} }}"""
jid = call("/jobs", job.encode())["jobUrl"].rsplit("/", 1)[-1]
while True:
    j = call(f"/jobs/{jid}")
    if j["state"] in ("FINISHED", "FAILED", "CANCELED"):
        break
    time.sleep(0.05)
assert j["state"] == "FINISHED", j
secs = j["duration"] / 1000
moved = sum(v["metrics"]["read-bytes"] for v in j["vertices"][1:])
total = 2 * rows
print(f"  {label:<34} {total / secs / 1e6:6.2f} M rows/s  ({total} rows in {secs:.2f} s, {moved / 1e6:.0f} MB into the GROUP BY)")
PY
}

echo "== a hash edge at parallelism 2x2 (FakeSource -> GROUP BY k -> Blackhole), $((2 * ROWS)) rows"
RPC1=$(free_port)
start_jm "$OUT/jm-spread" "$RPC1" "$OUT/jm-spread.out"
REST1=$(grep -o "http://[0-9.:]*" "$OUT/jm-spread.out" | head -1)
start_tm "127.0.0.1:$RPC1" tm-a 1; start_tm "127.0.0.1:$RPC1" tm-b 1
until [ "$(curl -s "$REST1/taskmanagers" | grep -o '"id"' | wc -l)" = 2 ]; do sleep 0.05; done
run_job "$REST1" "two TaskManager processes"
run_job "$REST1" "two TaskManager processes (again)"
RPC2=$(free_port)
start_jm "$OUT/jm-one" "$RPC2" "$OUT/jm-one.out"
REST2=$(grep -o "http://[0-9.:]*" "$OUT/jm-one.out" | head -1)
start_tm "127.0.0.1:$RPC2" tm-one 2
until [ "$(curl -s "$REST2/taskmanagers" | grep -o '"id"' | wc -l)" = 1 ]; do sleep 0.05; done
run_job "$REST2" "one TaskManager process"
run_job "$REST2" "one TaskManager process (again)"

echo "== JobManager kill -9 -> restart -> job RUNNING again (spread over two TaskManagers)"
python3 - "$WEIR" "$REST1" "$RPC1" "$OUT" "${PIDS[0]}" <<'PY'
import json, os, signal, subprocess, sys, time, urllib.request
weir, rest, rpc_port, out, jm_pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def call(base, path, body=None):
    req = urllib.request.Request(base + path, data=body, method="POST" if body else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
job = """env { job.mode = STREAMING, checkpoint.interval = 200, parallelism = 2 }
source { FakeSource { plugin_output = rows, unbounded = true, rows.per.second = 1000, int.min = 0, int.max = 99, schema = { fields { k = int } } } }
transform { Sql { plugin_input = rows, plugin_output = agg, query = "select k, count(*) as c from rows group by k" } }
sink { Blackhole { plugin_input = agg } }"""
jid = call(rest, "/jobs", job.encode())["jobUrl"].rsplit("/", 1)[-1]
def running(base):
    try:
        j = call(base, f"/jobs/{jid}")
    except Exception:
        return False
    return j["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in j["vertices"])
while not (running(rest) and call(rest, f"/jobs/{jid}/checkpoints")["counts"]["completed"] >= 1):
    time.sleep(0.05)
os.kill(jm_pid, signal.SIGKILL)
time.sleep(0.2)
t0 = time.time()
log = open(f"{out}/jm-restarted.out", "w")
p = subprocess.Popen([weir, "jobmanager", "--data-dir", f"{out}/jm-spread", "-D", "rest.port=0",
                      "-D", f"jobmanager.rpc.port={rpc_port}", "-D", "seatunnel.engine.http.enable-http=false",
                      "-D", "seatunnel.engine.rest-v1.enabled=false", "-D", "cluster.evenly-spread-out-slots=true",
                      "-D", "heartbeat.interval=1s", "-D", "heartbeat.timeout=60s"], stdout=log, stderr=log)
try:
    base = None
    while base is None:
        text = open(f"{out}/jm-restarted.out").read()
        for word in text.split():
            if word.startswith("http://"):
                base = word.split("/v1")[0]
                break
        time.sleep(0.01)
    while not running(base):
        time.sleep(0.01)
    print(f"  JobManager process started -> job RUNNING on both TaskManagers: {(time.time() - t0) * 1000:.0f} ms")
finally:
    p.kill()
PY
