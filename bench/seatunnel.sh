#!/usr/bin/env bash
# SeaTunnel REST API benchmark (issue 6), against `weir start` (release build), over API v2:
#  1. POST /submit-job -> the job RUNNING in /job-info (p50/p99 over N submissions);
#  2. GET /job-info/:id of a running streaming job (DAG + metrics): latency p50/p99 over 1000
#     requests on one connection;
#  3. GET /running-jobs with 50 jobs running: latency p50/p99;
#  4. POST /stop-job with isStopWithSavePoint -> SAVEPOINT_DONE in /finished-jobs, then
#     resubmit with isStartWithSavePoint -> RUNNING (p50 over N rounds);
#  5. resident memory of the cluster with 50 streaming jobs running.
#   bench/seatunnel.sh            (ROUNDS=20 JOBS=50)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in curl python3; do
  command -v $tool >/dev/null || apt-get install -y $tool >/dev/null 2>&1 || { echo "needs $tool"; exit 1; }
done
OUT=bench/out/seatunnel
rm -rf "$OUT"; mkdir -p "$OUT"
ROUNDS=${ROUNDS:-20}
JOBS=${JOBS:-50}
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir
PORT=${PORT:-18381}
V2PORT=${V2PORT:-18382}
"$WEIR" start --data-dir "$OUT/data" -D weir.sandbox.allowed-paths="$PWD/$OUT" -D rest.port=$PORT -D metrics.reporter.prom.port=0 \
  -D seatunnel.engine.http.port=$V2PORT -D seatunnel.engine.rest-v1.enabled=false \
  -D taskmanager.numberOfTaskSlots=64 > "$OUT/start.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$V2PORT/overview"; do sleep 0.05; done
echo "# weir SeaTunnel REST benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"

python3 - "$V2PORT" "$PID" "$ROUNDS" "$JOBS" "$OUT" <<'PY'
import http.client, json, os, sys, time

port, pid, rounds, jobs, out = sys.argv[1:6]
rounds, jobs = int(rounds), int(jobs)
conn = http.client.HTTPConnection("127.0.0.1", int(port))

def call(method, path, body=None):
    conn.request(method, path, body=body)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]

def ms(x):
    return f"{x * 1000:.2f} ms"

def job(out_dir):
    return f'''
env {{ job.mode = "STREAMING", checkpoint.interval = 1000 }}
source {{ FakeSource {{ plugin_output = fake, row.num = 100000000, split.num = 1000000, split.read-interval = 10,
  schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ LocalFile {{ plugin_input = fake, path = "{out_dir}", file_format_type = csv }} }}
'''

def wait_status(jid, status):
    while True:
        _, info = call("GET", f"/job-info/{jid}")
        if info.get("jobStatus") == status:
            return info
        time.sleep(0.001)

# 1. submit -> RUNNING
times = []
for i in range(rounds):
    t0 = time.perf_counter()
    _, r = call("POST", f"/submit-job?format=hocon&jobId={1000 + i}", job(f"{out}/o{i}"))
    wait_status(r["jobId"], "RUNNING")
    times.append(time.perf_counter() - t0)
print(f"submit-job -> RUNNING:            p50 {ms(pct(times, 50))}, p99 {ms(pct(times, 99))} ({rounds} jobs)")
for i in range(rounds, jobs):
    call("POST", f"/submit-job?format=hocon&jobId={1000 + i}", job(f"{out}/o{i}"))
time.sleep(2)

# 2. job-info of a running job
times = []
for _ in range(1000):
    t0 = time.perf_counter()
    status, info = call("GET", "/job-info/1000")
    times.append(time.perf_counter() - t0)
    assert status == 200 and info["jobStatus"] == "RUNNING"
print(f"GET /job-info/:id (running):      p50 {ms(pct(times, 50))}, p99 {ms(pct(times, 99))}")

# 3. running-jobs with all jobs running
times = []
for _ in range(200):
    t0 = time.perf_counter()
    status, listed = call("GET", "/running-jobs")
    times.append(time.perf_counter() - t0)
    assert status == 200 and len(listed) == jobs, len(listed)
print(f"GET /running-jobs ({jobs} jobs):     p50 {ms(pct(times, 50))}, p99 {ms(pct(times, 99))}")
with open(f"/proc/{pid}/status") as f:
    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
print(f"resident memory with {jobs} streaming jobs: {rss / 1024:.0f} MiB")

# 4. stop with savepoint -> SAVEPOINT_DONE, resume -> RUNNING
stops, resumes = [], []
for i in range(rounds):
    jid = str(1000 + i)
    t0 = time.perf_counter()
    call("POST", "/stop-job", json.dumps({"jobId": jid, "isStopWithSavePoint": True}))
    wait_status(jid, "SAVEPOINT_DONE")
    t1 = time.perf_counter()
    call("POST", f"/submit-job?format=hocon&jobId={jid}&isStartWithSavePoint=true", job(f"{out}/o{i}"))
    wait_status(jid, "RUNNING")
    stops.append(t1 - t0)
    resumes.append(time.perf_counter() - t1)
print(f"stop-job with savepoint -> SAVEPOINT_DONE: p50 {ms(pct(stops, 50))}, p99 {ms(pct(stops, 99))}")
print(f"submit isStartWithSavePoint -> RUNNING:    p50 {ms(pct(resumes, 50))}, p99 {ms(pct(resumes, 99))}")
PY
