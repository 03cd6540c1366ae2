#!/usr/bin/env bash
# S3File benchmark (issue 15): FakeSource -> S3File parquet by `weir run` (release build,
# batch mode, wall time including start-up) against moto's S3 server (the one the tests use,
# scripts/install-s3-server.sh), next to the same job writing LocalFile parquet to local disk,
# FakeSource -> Blackhole (what generating the rows costs), and the server's own limit: one
# plain PUT of an object as large as the job's output.
#   bench/s3file.sh            (ROWS=2000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000000}
OUT=$PWD/bench/out/s3file
rm -rf "$OUT"; mkdir -p "$OUT"
scripts/install-s3-server.sh
cargo build --release --quiet -p weir
WEIR=$PWD/target/release/weir
now() { python3 -c 'import time; print(time.time())'; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP=http://127.0.0.1:$PORT
target/s3-server/py/bin/moto_server -H 127.0.0.1 -p "$PORT" > "$OUT/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
until (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do sleep 0.1; done
curl -s -o /dev/null -f -X PUT "$EP/bench"

S3="bucket = \"s3a://bench\", fs.s3a.endpoint = \"$EP\", access_key = weir, secret_key = weir-secret"
SRC="FakeSource { row.num = $ROWS, batch.size = 8192, string.length = 24,
  schema = { fields { id = bigint, name = string, score = double, ts = bigint, ok = boolean } } }"
job() { # $1: name, $2: parallelism, $3: sink
  cat > "$OUT/$1.conf" <<CONF
env { job.mode = "BATCH", parallelism = $2 }
source { $SRC }
sink { $3 }
CONF
}
bytes_under() { # $1: prefix in the bucket
  python3 - "$EP" "$1" <<'PY'
import sys, urllib.request, re
ep, prefix = sys.argv[1], sys.argv[2]
body = urllib.request.urlopen(f"{ep}/bench?list-type=2&prefix={prefix}").read().decode()
print(sum(int(s) for s in re.findall(r"<Size>(\d+)</Size>", body)))
PY
}

echo "# weir S3File benchmark ($(nproc) cores, moto $(target/s3-server/py/bin/python -c 'import moto; print(moto.__version__)'), $(date -u +%Y-%m-%d))"
echo
echo "| what | rows | seconds | rows/s | output MB | MB/s |"
echo "|---|---|---|---|---|---|"
row() { python3 -c "r=$2; s=$3; b=$4; print(f'| $1 | {r:,} | {s:.2f} | {r/s:,.0f} | {b/1e6:.1f} | {b/s/1e6:.1f} |')"; }
run() { # $1: name; prints seconds
  local t0 t1
  t0=$(now); "$WEIR" run "$OUT/$1.conf" > "$OUT/$1.log" 2>&1; t1=$(now)
  python3 -c "print($t1-$t0)"
}
for P in 1 2; do
  R=$((ROWS * P))
  job "blackhole$P" $P "Blackhole { }"
  s=$(run "blackhole$P"); row "FakeSource -> Blackhole, parallelism $P" $R "$s" 0
  job "local$P" $P "LocalFile { path = \"$OUT/local$P\", file_format_type = parquet }"
  s=$(run "local$P"); b=$(du -sb "$OUT/local$P" | cut -f1)
  row "FakeSource -> LocalFile parquet, parallelism $P" $R "$s" "$b"
  job "s3$P" $P "S3File { $S3, path = \"/p$P\", file_format_type = parquet }"
  s=$(run "s3$P"); b=$(bytes_under "p$P/")
  row "FakeSource -> S3File parquet (moto), parallelism $P" $R "$s" "$b"
done
# The server alone: one PUT of as many bytes as the parallelism-1 job wrote.
B=$(bytes_under p1/)
head -c "$B" /dev/urandom > "$OUT/blob"
t0=$(now)
curl -s -o /dev/null -f -T "$OUT/blob" "$EP/bench/blob"
t1=$(now)
row "plain PUT of the same bytes (the server alone)" 0 "$(python3 -c "print($t1-$t0)")" "$B"
rm -f "$OUT/blob"
