#!/usr/bin/env bash
# The cluster over processes (issue 18), release build, loopback:
#  - TaskManager start -> registered: from spawning `weir taskmanager` until /taskmanagers
#    lists it (polled every 2 ms), over RUNS starts;
#  - kill -9 of the TaskManager running a streaming job -> the job's subtasks RUNNING again on
#    the other TaskManager (with heartbeat.timeout at 60 s, so only the broken connection can
#    tell, and a restart delay of 0 so the figure is the cluster's, not the strategy's;
#    Flink's default exponential-delay would add its 1 s initial backoff), over RUNS kills.
#   bench/taskmanagers.sh            (RUNS=5; WEIR_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=$PWD/bench/out/taskmanagers
rm -rf "$OUT"; mkdir -p "$OUT"
# WEIR_BIN: an already built binary (skips the build).
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release --quiet -p weir; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
$WEIR jobmanager --data-dir "$OUT/jm" -D rest.port=0 -D jobmanager.rpc.port=0 \
  -D seatunnel.engine.http.enable-http=false -D seatunnel.engine.rest-v1.enabled=false \
  -D heartbeat.interval=1s -D heartbeat.timeout=60s \
  -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=1000 \
  -D restart-strategy.fixed-delay.delay=0s > "$OUT/jm.out" 2>&1 &
JM=$!
PIDS=("$JM")
trap 'kill -9 "${PIDS[@]}" 2>/dev/null || true' EXIT
until grep -q "TaskManagers join" "$OUT/jm.out"; do sleep 0.05; done
REST=$(grep -o "http://[0-9.:]*" "$OUT/jm.out" | head -1)
RPC=$(grep -o "jobmanager [0-9.:]*" "$OUT/jm.out" | awk '{print $2}')

python3 - "$WEIR" "$REST" "$RPC" "$OUT" "$RUNS" <<'PY'
import json, os, signal, statistics, subprocess, sys, time, urllib.request
weir, rest, rpc, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def get(path):
    with urllib.request.urlopen(rest + path, timeout=10) as r:
        return json.load(r)
def tm_ids():
    return {t["id"] for t in get("/taskmanagers")["taskmanagers"]}
def start_tm(name):
    return subprocess.Popen([weir, "taskmanager", "--jobmanager", rpc, "--data-dir", f"{out}/{name}",
                             "-D", f"taskmanager.resource-id={name}", "-D", "taskmanager.numberOfTaskSlots=2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def wait(pred, limit=30):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.002)
    raise SystemExit("timed out")

registered = []
procs = {}
for i in range(runs):
    name = f"tm-reg-{i}"
    t0 = time.time()
    p = start_tm(name)
    wait(lambda: name in tm_ids())
    registered.append((time.time() - t0) * 1000)
    procs[name] = p
for p in procs.values():
    p.kill(); p.wait()
print(f"TaskManager start -> registered (listed by /taskmanagers), {runs} starts: "
      f"median {statistics.median(registered):.0f} ms, max {max(registered):.0f} ms (target <= 200 ms)")

job = "env { job.mode = STREAMING, checkpoint.interval = 500 }\nsource { FakeSource { unbounded = true, rows.per.second = 1000, schema = { fields { id = bigint } } } }\nsink { Blackhole {} }\n"
live = {"tm-a": start_tm("tm-a"), "tm-b": start_tm("tm-b")}
wait(lambda: {"tm-a", "tm-b"} <= tm_ids())
req = urllib.request.Request(rest + "/jobs", data=job.encode(), method="POST")
jid = json.load(urllib.request.urlopen(req))["jobUrl"].split("/")[-1]
def where():
    d = get(f"/jobs/{jid}")
    v = d["vertices"][0]["id"]
    tms = get(f"/jobs/{jid}/vertices/{v}/taskmanagers")["taskmanagers"]
    if d["state"] == "RUNNING" and tms and tms[0]["status"] == "RUNNING":
        return tms[0]["taskmanager-id"]
    return None
recovery = []
for i in range(runs):
    wait(lambda: where() is not None)
    wait(lambda: get(f"/jobs/{jid}/checkpoints")["counts"]["completed"] >= 1)
    on = where()
    other = [n for n in live if n != on][0]
    t0 = time.time()
    live[on].send_signal(signal.SIGKILL); live[on].wait()
    wait(lambda: where() == other)
    recovery.append((time.time() - t0) * 1000)
    name = f"tm-{i}"
    live.pop(on)
    live[name] = start_tm(name)
    wait(lambda: name in tm_ids())
for p in live.values():
    p.kill(); p.wait()
print(f"kill -9 of the TaskManager running a streaming job -> RUNNING again on another, {runs} kills: "
      f"median {statistics.median(recovery):.0f} ms, max {max(recovery):.0f} ms (target <= 2000 ms; heartbeat.timeout 60 s, restart delay 0)")
PY
