#!/usr/bin/env bash
# Throughput and peak memory of weir's runtime on the pipelines of BENCHMARKS.md.
#   bench/pipelines.sh            # default sizes (about a minute on 2 cores)
#   ROWS=20000000 bench/pipelines.sh
# Prints one line per run: rows/s, MB/s (Arrow bytes through the Sql transform, or file bytes
# read for the CSV run) and peak RSS. Needs GNU time (/usr/bin/time, Debian package 'time').
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-50000000}
CSV_ROWS=${CSV_ROWS:-5000000}
OUT=bench/out
mkdir -p "$OUT"
if ! [ -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null 2>&1 || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
fi
cargo build --release -p weir --quiet
WEIR=target/release/weir

# run NAME JOB [weir args...]: prints rows/s, MB/s and peak RSS of one run.
run() {
  local name=$1 job=$2; shift 2
  /usr/bin/time -f "%M" -o "$OUT/rss" "$WEIR" run --quiet "$job" "$@" 2> "$OUT/stderr" >/dev/null || { cat "$OUT/stderr"; exit 1; }
  local secs rows bytes rss
  secs=$(grep -oE 'FINISHED in [0-9.]+s' "$OUT/stderr" | grep -oE '[0-9.]+')
  rows=$(grep -E '^ +Sql:' "$OUT/stderr" | grep -oE 'rows in [0-9]+' | grep -oE '[0-9]+')
  bytes=$(grep -E '^ +Sql:' "$OUT/stderr" | grep -oE 'bytes in [0-9]+' | grep -oE '[0-9]+' || echo 0)
  rss=$(tail -1 "$OUT/rss")
  [ -n "${MB_BYTES:-}" ] && bytes=$MB_BYTES
  awk -v n="$name" -v r="$rows" -v s="$secs" -v b="$bytes" -v m="$rss" 'BEGIN {
    printf "%-48s %10d rows into Sql %7.3f s %8.2f M rows/s %8.1f MB/s  peak RSS %6.1f MiB\n", n, r, s, r/s/1e6, b/s/1e6, m/1024 }'
}

cat > "$OUT/fake_sql_blackhole.conf" <<'CONF'
env { job.mode = "BATCH" }
source {
  FakeSource {
    plugin_output = "gen"
    row.num = ${ROWS}
    seed = 1
    schema = { fields { id = bigint, name = string, score = double } }
    double.min = 0
    double.max = 1
  }
}
transform {
  Sql { plugin_input = "gen", plugin_output = "hot", query = "select id, name, score * 100 as pct from gen where score > 0.5" }
}
sink { Blackhole { plugin_input = "hot" } }
CONF

echo "# weir pipelines benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"
run "FakeSource -> Sql -> Blackhole, p=1" "$OUT/fake_sql_blackhole.conf" -p 1 -i ROWS="$ROWS"
run "FakeSource -> Sql -> Blackhole, p=2" "$OUT/fake_sql_blackhole.conf" -p 2 -i ROWS=$((ROWS / 2))

# CSV input written by weir itself, then CSV -> Sql -> Parquet.
rm -rf "$OUT/csv_in" "$OUT/parquet_out"
cat > "$OUT/make_csv.conf" <<CONF
source { FakeSource { plugin_output = "g", row.num = ${CSV_ROWS}, seed = 2, schema = { fields { id = bigint, name = string, score = double } }, double.min = 0, double.max = 1 } }
sink { LocalFile { plugin_input = "g", path = "$OUT/csv_in", file_format_type = "csv" } }
CONF
"$WEIR" run --quiet "$OUT/make_csv.conf" 2>/dev/null
cat > "$OUT/csv_sql_parquet.conf" <<CONF
source { LocalFile { plugin_output = "c", path = "$OUT/csv_in", file_format_type = "csv", schema = { fields { id = bigint, name = string, score = double } } } }
transform { Sql { plugin_input = "c", plugin_output = "f", query = "select id, upper(name) as name, score from c where score > 0.5" } }
sink { LocalFile { plugin_input = "f", path = "$OUT/parquet_out", file_format_type = "parquet" } }
CONF
MB_BYTES=$(du -sb "$OUT/csv_in" | cut -f1) run "LocalFile csv -> Sql -> LocalFile parquet, p=1" "$OUT/csv_sql_parquet.conf" -p 1
