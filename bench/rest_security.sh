#!/usr/bin/env bash
# The cost of authentication and TLS on the REST API (issue 16): req/s and p50/p99 of
# /overview and /jobs/:id (one running streaming job) with wrk -t2 -c16 -d10s (keep-alive), on
# five mini clusters started in turn: plain HTTP, bearer-token auth, TLS, TLS with auth, and
# plain again (the drift). Each figure is shown next to plain HTTP's. Target: auth and TLS each within 10 %.
#   bench/rest_security.sh        (WEIR_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)) \
    || { echo "needs wrk (apt-get install wrk)"; exit 1; }
fi
if [ -z "${WEIR_BIN:-}" ]; then cargo build --release -p weir --quiet; fi
WEIR=${WEIR_BIN:-$PWD/target/release/weir}
OUT=$PWD/bench/out/rest_security
rm -rf "$OUT"; mkdir -p "$OUT"
TOKEN=bench-operator-token-5f0c2b9e7d1a
(cd "$OUT" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null)
echo "operator token $TOKEN" > "$OUT/credentials"; chmod 600 "$OUT/credentials"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT

declare -A BASE
echo "# REST with authentication and TLS ($(nproc) cores, $(date -u +%Y-%m-%d)), wrk -t2 -c16 -d10s, keep-alive"
printf "%-28s %-22s %12s %9s %9s %9s\n" "listener" "GET" "req/s" "vs plain" "p50" "p99"
# A second plain run last shows how far the machine drifted meanwhile.
for mode in plain auth tls tls+auth plain-again; do
  port=$(free_port)
  args=(-D rest.port="$port" -D metrics.reporters= -D seatunnel.engine.http.enable-http=false -D seatunnel.engine.rest-v1.enabled=false)
  scheme=http; header=()
  case $mode in
    *auth*) args+=(-D rest.auth.credentials-file="$OUT/credentials"); header=(-H "Authorization: Bearer $TOKEN") ;;
  esac
  case $mode in
    tls*) args+=(-D security.ssl.rest.enabled=true -D security.ssl.rest.certificate="$OUT/cert.pem" -D security.ssl.rest.private-key="$OUT/key.pem"); scheme=https ;;
  esac
  url=$scheme://127.0.0.1:$port
  "$WEIR" start --data-dir "$OUT/data-$mode" "${args[@]}" > "$OUT/$mode.log" 2>&1 &
  PID=$!
  until curl -sk -o /dev/null "${header[@]}" "$url/overview"; do sleep 0.02; done
  job=$(curl -sk "${header[@]}" -X POST --data-binary 'env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }' "$url/jobs" | sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/')
  sleep 1
  for path in /overview "/jobs/$job"; do
    wrk -t2 -c16 -d10s --latency "${header[@]}" "$url$path" > "$OUT/wrk.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")
    errors=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt")
    [ -n "$errors" ] && { echo "$mode $path: $errors non-2xx answers"; cat "$OUT/wrk.txt"; exit 1; }
    key=${path%%/[0-9a-f]*}
    [ "$mode" = plain ] && BASE[$key]=$rps
    ratio=$(awk -v a="$rps" -v b="${BASE[$key]}" 'BEGIN { printf "%.0f %%", 100 * a / b }')
    label=$path; [ "$key" != /overview ] && label="/jobs/:id"
    printf "%-28s %-22s %12s %9s %9s %9s\n" "$mode" "$label" "$rps" "$ratio" "$p50" "$p99"
  done
  kill $PID; wait $PID 2>/dev/null || true; PID=
done
