#!/usr/bin/env bash
# Checkpoint benchmark (issue 5), against `weir start` (release build):
#  1. checkpoint completion -> visible in GET /jobs/:id/checkpoints (p50/p99/max over N
#     checkpoints, polled every 2 ms; a checkpoint "skipped" never showed as latest.completed);
#  2. server CPU of 200 dashboard polls per second on /jobs/:id/checkpoints (% of one core,
#     minus the same job's CPU without polling);
#  3. savepoint POST -> COMPLETED, with tiny state and with about 100 MB of GROUP BY state;
#  4. throughput of FakeSource -> Sql GROUP BY over 1 000 keys -> Blackhole with 1 s checkpoints.
#   bench/checkpoints.sh            (CHECKPOINTS=40 INTERVAL_MS=500 BIG_KEYS=2200000)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in curl python3; do
  command -v $tool >/dev/null || apt-get install -y $tool >/dev/null 2>&1 || { echo "needs $tool"; exit 1; }
done
OUT=bench/out/checkpoints
rm -rf "$OUT"; mkdir -p "$OUT"
CHECKPOINTS=${CHECKPOINTS:-40}
INTERVAL_MS=${INTERVAL_MS:-500}
BIG_KEYS=${BIG_KEYS:-2200000}
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir
PORT=${PORT:-18281}
URL=http://127.0.0.1:$PORT
"$WEIR" start --data-dir "$OUT/data" -D weir.sandbox.allowed-paths="$PWD/$OUT" -D rest.port=$PORT -D metrics.reporter.prom.port=0 \
  -D taskmanager.numberOfTaskSlots=8 > "$OUT/start.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -s -o /dev/null "$URL/overview"; do sleep 0.05; done
echo "# weir checkpoint benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"

python3 - "$URL" "$PID" "$CHECKPOINTS" "$INTERVAL_MS" "$BIG_KEYS" "$OUT" <<'PY'
import json, os, sys, time, urllib.request

url, pid, n_checkpoints, interval_ms, big_keys, out = sys.argv[1:7]
n_checkpoints, interval_ms, big_keys = int(n_checkpoints), int(interval_ms), int(big_keys)
tick = os.sysconf("SC_CLK_TCK")

def get(path):
    with urllib.request.urlopen(url + path) as r:
        return json.load(r)

def post(path, body, method="POST"):
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(req) as r:
        return json.load(r)

def submit(job):
    jid = post("/jobs", job)["jobUrl"].split("/")[-1]
    while True:
        j = get(f"/jobs/{jid}")
        if all(v["status"] == "RUNNING" for v in j["vertices"]):
            return jid
        time.sleep(0.05)

def cancel(jid):
    urllib.request.urlopen(urllib.request.Request(f"{url}/jobs/{jid}", method="PATCH")).read()

def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]

def group_by_job(keys_clause, rate, interval, extra=""):
    return f"""
env {{ job.mode = "STREAMING", parallelism = 1, checkpoint.interval = {interval} }}
source {{ FakeSource {{ plugin_output = t, unbounded = true, rows.per.second = {rate}, batch.size = 8192,
  {keys_clause} {extra} }} }}
transform {{ Sql {{ plugin_input = t, plugin_output = agg,
  query = "select k, count(*) as c, sum(v) as s, min(v) as lo, max(v) as hi, avg(v) as a from t group by k" }} }}
sink {{ Blackhole {{ plugin_input = agg }} }}
"""

# 1. Visibility of completed checkpoints.
job = submit(group_by_job("int.min = 0, int.max = 999, schema = { fields { k = int, v = int } }",
                          200000, interval_ms))
seen, lags = {}, []
deadline = time.time() + n_checkpoints * interval_ms / 1000 * 3 + 10
while len(seen) < n_checkpoints and time.time() < deadline:
    t = time.time() * 1000
    c = get(f"/jobs/{job}/checkpoints")["latest"]["completed"]
    if c and c["id"] not in seen:
        done_at = c["trigger_timestamp"] + c["end_to_end_duration"]
        seen[c["id"]] = t
        lags.append(max(0.0, t - done_at))
    time.sleep(0.002)
ids = sorted(seen)
skipped = sum(1 for i in range(ids[0], ids[-1] + 1) if i not in seen) if ids else 0
print(f"completion -> REST visibility over {len(lags)} checkpoints every {interval_ms} ms: "
      f"p50 {pct(lags, 0.5):.1f} ms, p99 {pct(lags, 0.99):.1f} ms, max {max(lags):.1f} ms, skipped {skipped}")

# 2. CPU of 200 dashboard polls per second.
def cpu_over(seconds, polls_per_second):
    start_cpu, start = cpu_seconds(), time.time()
    n = 0
    while time.time() - start < seconds:
        if polls_per_second:
            get(f"/jobs/{job}/checkpoints")
            n += 1
            next_at = start + n / polls_per_second
            time.sleep(max(0.0, next_at - time.time()))
        else:
            time.sleep(0.05)
    return (cpu_seconds() - start_cpu) / (time.time() - start), n
base, _ = cpu_over(10, 0)
polled, n = cpu_over(10, 200)
print(f"server CPU, job alone: {base * 100:.1f} % of a core; with {n / 10:.0f} polls/s on /checkpoints: "
      f"{polled * 100:.1f} %; cost of polling {max(0.0, polled - base) * 100:.2f} % of one core")

# 4 (on the same job). Throughput of the GROUP BY with checkpoints every 1 s, at full speed.
cancel(job)
job = submit(group_by_job("int.min = 0, int.max = 999, schema = { fields { k = int, v = int } }",
                          100000000, 1000))
def rows_in():
    j = get(f"/jobs/{job}")
    return j["vertices"][1]["metrics"]["read-records"]
time.sleep(2)
r0, c0, t0 = rows_in(), cpu_seconds(), time.time()
time.sleep(10)
r1, c1, t1 = rows_in(), cpu_seconds(), time.time()
rate, cores = (r1 - r0) / (t1 - t0), (c1 - c0) / (t1 - t0)
chk = get(f"/jobs/{job}/checkpoints")["counts"]["completed"]
print(f"GROUP BY over 1000 keys, 1 s checkpoints: {rate / 1e6:.2f} M rows/s using {cores:.2f} cores "
      f"= {rate / max(cores, 0.01) / 1e6:.2f} M rows/s per core ({chk} checkpoints completed)")
cancel(job)

# 3. Savepoint latency, tiny state then ~100 MB of state.
def savepoints(jid, n):
    lat, sizes = [], []
    for _ in range(n):
        t = time.time()
        trig = post(f"/jobs/{jid}/savepoints", {"target-directory": f"{out}/savepoints", "cancel-job": False})["request-id"]
        while True:
            s = get(f"/jobs/{jid}/savepoints/{trig}")
            if s["status"]["id"] == "COMPLETED":
                break
            time.sleep(0.0005)
        lat.append((time.time() - t) * 1000)
        sp = get(f"/jobs/{jid}/checkpoints")["latest"]["savepoint"]
        sizes.append(sp["state_size"] if sp else 0)
    return lat, sizes
small = submit("""
env { job.mode = "STREAMING", checkpoint.interval = 600000 }
source { FakeSource { unbounded = true, rows.per.second = 1000, schema = { fields { id = bigint } } } }
sink { Blackhole {} }""")
lat, sizes = savepoints(small, 20)
print(f"savepoint POST -> COMPLETED, tiny state ({max(sizes)} B): p50 {pct(lat, 0.5):.1f} ms, max {max(lat):.1f} ms (20 savepoints)")
cancel(small)
big = submit(group_by_job("schema = { fields { k = bigint, v = int } }", 500000, 600000))
while get(f"/jobs/{big}")["vertices"][1]["metrics"]["read-records"] < big_keys:
    time.sleep(0.2)
lat, sizes = savepoints(big, 5)
print(f"savepoint POST -> COMPLETED, {sizes[-1] / 1e6:.0f} MB of GROUP BY state ({big_keys} keys): "
      f"p50 {pct(lat, 0.5):.0f} ms, max {max(lat):.0f} ms (5 savepoints)")
cancel(big)
PY
