#!/usr/bin/env bash
# The cost of authentication and TLS on the REST API (issue 16): req/s and p50/p99 of
# /overview and /jobs/:id (one running streaming job each) with wrk -t2 -c16 (keep-alive) on four
# mini clusters up at once: plain HTTP, bearer-token auth, TLS, TLS with auth. The clusters are
# measured in turn, ROUNDS times over (default 5, 5 s each), and each figure is the median of its
# rounds, so the machine's drift over the run falls on every mode alike. Target: auth and TLS each
# within 10 % of plain.
# wrk shares this machine's two cores with the server, and a TLS client spends on crypto about what
# the server does, so req/s understates a TLS server that has its cores to itself. The server's own
# CPU per request (utime+stime from /proc over the wrk run) does not depend on where the client
# runs: "cpu vs plain" is plain's CPU per request over this mode's, the share of plain's
# throughput a CPU-bound server keeps. With two cores or more the servers are pinned to core 0 and
# wrk to core 1, so neither steals the other's CPU. Where perf is installed, the last line is the
# share of the TLS server's CPU samples spent in TLS's own code (rustls, ring, tokio-rustls) under
# /jobs/:id load, the one figure this machine's noise (±20 % between identical runs) cannot blur.
#   bench/rest_security.sh        (WEIR_BIN=path skips the build; ROUNDS=n, SECONDS_PER_RUN=n)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) \
    || { echo "needs wrk (apt-get install wrk)"; exit 1; }
fi
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release -p weir --quiet; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
ROUNDS=${ROUNDS:-5}
RUN_SECONDS=${SECONDS_PER_RUN:-5}
OUT=$PWD/bench/out/rest_security
rm -rf "$OUT"; mkdir -p "$OUT"
TOKEN=bench-operator-token-5f0c2b9e7d1a
(cd "$OUT" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null)
echo "operator token $TOKEN" > "$OUT/credentials"; chmod 600 "$OUT/credentials"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{v[NR] = $1} END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
MODES=(plain auth tls tls+auth)
SERVER_CPUS=(); CLIENT_CPUS=()
if [ "$(nproc)" -ge 2 ]; then SERVER_CPUS=(taskset -c 0); CLIENT_CPUS=(taskset -c 1); fi
declare -A PID URL HEADER JOB
trap 'for p in "${PID[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

for mode in "${MODES[@]}"; do
  port=$(free_port)
  args=(-D rest.port="$port" -D metrics.reporters= -D seatunnel.engine.http.enable-http=false -D seatunnel.engine.rest-v1.enabled=false)
  scheme=http; HEADER[$mode]=""
  case $mode in
    *auth*) args+=(-D rest.auth.credentials-file="$OUT/credentials"); HEADER[$mode]="Authorization: Bearer $TOKEN" ;;
  esac
  case $mode in
    tls*) args+=(-D security.ssl.rest.enabled=true -D security.ssl.rest.certificate="$OUT/cert.pem" -D security.ssl.rest.private-key="$OUT/key.pem"); scheme=https ;;
  esac
  URL[$mode]=$scheme://127.0.0.1:$port
  "${SERVER_CPUS[@]}" "$WEIR" start --data-dir "$OUT/data-$mode" "${args[@]}" > "$OUT/$mode.log" 2>&1 &
  PID[$mode]=$!
done
for mode in "${MODES[@]}"; do
  header=(); [ -n "${HEADER[$mode]}" ] && header=(-H "${HEADER[$mode]}")
  until curl -sk -o /dev/null "${header[@]}" "${URL[$mode]}/overview"; do sleep 0.02; done
  JOB[$mode]=$(curl -sk "${header[@]}" -X POST --data-binary 'env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }' "${URL[$mode]}/jobs" | sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/')
done
sleep 1

for round in $(seq "$ROUNDS"); do
  for mode in "${MODES[@]}"; do
    header=(); [ -n "${HEADER[$mode]}" ] && header=(-H "${HEADER[$mode]}")
    for key in overview job; do
      path=/overview; [ $key = job ] && path=/jobs/${JOB[$mode]}
      before=$(cpu_ticks "${PID[$mode]}")
      "${CLIENT_CPUS[@]}" wrk -t2 -c16 -d"${RUN_SECONDS}s" --latency "${header[@]}" "${URL[$mode]}$path" > "$OUT/wrk.txt"
      after=$(cpu_ticks "${PID[$mode]}")
      errors=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt")
      [ -n "$errors" ] && { echo "$mode $path: $errors non-2xx answers"; cat "$OUT/wrk.txt"; exit 1; }
      requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
      awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" \
        '/Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
         END { printf "%s %s %s %.2f\n", rps, p50, p99, t / hz * 1e6 / n }' "$OUT/wrk.txt" >> "$OUT/$mode-$key.txt"
    done
  done
done

pinned=""; [ ${#SERVER_CPUS[@]} -gt 0 ] && pinned=", servers on core 0 and wrk on core 1"
echo "# REST with authentication and TLS ($(nproc) cores, $(date -u +%Y-%m-%d)), wrk -t2 -c16, keep-alive, median of $ROUNDS interleaved ${RUN_SECONDS} s runs$pinned"
printf "%-10s %-10s %10s %9s %9s %9s %14s %13s\n" "listener" "GET" "req/s" "vs plain" "p50" "p99" "server µs/req" "cpu vs plain"
declare -A BASE BASE_CPU
for mode in "${MODES[@]}"; do
  for key in overview job; do
    f=$OUT/$mode-$key.txt
    rps=$(awk '{print $1}' "$f" | median)
    cpu=$(awk '{print $4}' "$f" | median)
    p50=$(awk '{print $2}' "$f" | sed 's/us$//' | median)
    p99=$(awk '{print $3}' "$f" | sed -E 's/([0-9.]+)ms$/\1e3/; s/us$//' | median)
    [ "$mode" = plain ] && { BASE[$key]=$rps; BASE_CPU[$key]=$cpu; }
    label=/overview; [ $key = job ] && label=/jobs/:id
    printf "%-10s %-10s %10.0f %8.0f %% %7.0fus %7.0fus %14.1f %11.0f %%\n" "$mode" "$label" "$rps" \
      "$(awk -v a="$rps" -v b="${BASE[$key]}" 'BEGIN { print 100 * a / b }')" "$p50" "$p99" "$cpu" \
      "$(awk -v a="$cpu" -v b="${BASE_CPU[$key]}" 'BEGIN { print 100 * b / a }')"
  done
done

if command -v perf >/dev/null && perf record -o /dev/null -q true 2>/dev/null; then
  "${CLIENT_CPUS[@]}" wrk -t2 -c16 -d8s -H "${HEADER[tls]:-X-Bench: 1}" "${URL[tls]}/jobs/${JOB[tls]}" > /dev/null &
  load=$!
  sleep 1
  perf record -q -F 999 -p "${PID[tls]}" -o "$OUT/tls.perf" -- sleep 6 2>/dev/null
  wait "$load"
  perf report -i "$OUT/tls.perf" --no-children --sort symbol -g none 2>/dev/null | grep -v '^#' | grep '%' |
    awk '{p = $1; sub("%", "", p); all += p; if ($0 ~ /rustls|ring_core|ring::|tokio_rustls/) tls += p}
         END { printf "TLS code (rustls, ring, tokio-rustls) in the TLS server'"'"'s CPU samples on /jobs/:id: %.1f %%\n", 100 * tls / all }'
fi
