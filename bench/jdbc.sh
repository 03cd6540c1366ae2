#!/usr/bin/env bash
# Jdbc benchmark (issue 14), against a PostgreSQL started here in a temporary directory on a
# free port (Debian's PostgreSQL 15; scripts/install-db-servers.sh installs it):
#  1. read: a 5-column table of ROWS rows -> Blackhole by `weir run` (release build) at
#     parallelism 1 and 2 (partition_column = id), next to PostgreSQL's own
#     `COPY (SELECT * FROM t) TO STDOUT` of the same table, the physical limit here;
#  2. write: Jdbc source -> Jdbc sink (generated upserts by primary key) of WROWS rows, next to
#     `COPY t FROM STDIN` of the same number of rows;
#  3. exactly-once write (is_exactly_once = true, a streaming job checkpointing every second):
#     the time until all WROWS rows are committed and visible, upserting by key and appending.
#   bench/jdbc.sh            (ROWS=2000000 WROWS=500000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000000}
WROWS=${WROWS:-500000}
OUT=$PWD/bench/out/jdbc
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir
. bench/pg-server.sh
psql "$DB" -q -c "CREATE TABLE t (id bigint PRIMARY KEY, a integer, b double precision, c text, d timestamp);
  INSERT INTO t SELECT g, g % 1000, g / 7.0, 'name-' || g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second'
  FROM generate_series(1, $ROWS) g;"
psql "$DB" -q -c "VACUUM ANALYZE t"
echo "# weir Jdbc benchmark ($(nproc) cores, PostgreSQL $("$BIN/postgres" --version | awk '{print $3}'), $(date -u +%Y-%m-%d))"
echo
echo "| what | rows | seconds | rows/s | MB/s |"
echo "|---|---|---|---|---|"
t0=$(now); BYTES=$(psql "$DB" -c "\\copy (SELECT * FROM t) TO STDOUT" | wc -c); t1=$(now)
python3 -c "r=$ROWS; s=$t1-$t0; print(f'| COPY TO STDOUT (PostgreSQL, the limit) | {r} | {s:.2f} | {r/s:,.0f} | {$BYTES/s/1e6:.0f} |')"
for P in 1 2; do
  cat > "$OUT/read$P.conf" <<CONF
env { job.mode = "BATCH", parallelism = $P }
source { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  table_path = "public.t", partition_column = id, partition_num = $((P * 4)), fetch_size = 8192 } }
sink { Blackhole {} }
CONF
  t0=$(now); "$WEIR" run --data-dir "$OUT/data" "$OUT/read$P.conf" > "$OUT/read$P.log" 2>&1; t1=$(now)
  grep -q FINISHED "$OUT/read$P.log" || { cat "$OUT/read$P.log"; exit 1; }
  python3 -c "r=$ROWS; s=$t1-$t0; print(f'| Jdbc source -> Blackhole, parallelism $P (weir run, wall) | {r} | {s:.2f} | {r/s:,.0f} | {$BYTES/s/1e6:.0f} |')"
done
psql "$DB" -q -c "CREATE TABLE w (id bigint PRIMARY KEY, a integer, b double precision, c text, d timestamp)"
psql "$DB" -q -c "\\copy (SELECT * FROM t WHERE id <= $WROWS) TO '$OUT/w.csv' CSV"
t0=$(now); psql "$DB" -q -c "\\copy w FROM '$OUT/w.csv' CSV"; t1=$(now)
python3 -c "r=$WROWS; s=$t1-$t0; print(f'| COPY FROM STDIN (PostgreSQL, the limit) | {r} | {s:.2f} | {r/s:,.0f} | |')"
psql "$DB" -q -c "DROP TABLE w"
cat > "$OUT/write.conf" <<CONF
env { job.mode = "BATCH" }
source { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  query = "SELECT * FROM t", where_condition = "id <= $WROWS" } }
sink { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  generate_sink_sql = true, table = "public.w", primary_keys = [id], batch_size = 5000 } }
CONF
t0=$(now); "$WEIR" run --data-dir "$OUT/data" "$OUT/write.conf" > "$OUT/write.log" 2>&1 || true; t1=$(now)
if grep -q FINISHED "$OUT/write.log"; then
  N=$(psql "$DB" -Atc "SELECT count(*) FROM w")
  python3 -c "r=$N; s=$t1-$t0; print(f'| Jdbc source -> Jdbc sink, upserts by key (weir run, wall) | {r} | {s:.2f} | {r/s:,.0f} | |')"
else
  echo "(write run failed; see $OUT/write.log)"; tail -3 "$OUT/write.log"
fi
for KIND in upsert append; do
  psql "$DB" -q -c "DROP TABLE IF EXISTS w"
  KEYS=$([ "$KIND" = upsert ] && echo "primary_keys = [id]," || echo "")
  cat > "$OUT/write-eo-$KIND.conf" <<CONF
env { job.mode = "STREAMING", checkpoint.interval = 1000 }
source { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  query = "SELECT * FROM t", where_condition = "id <= $WROWS" } }
sink { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  generate_sink_sql = true, table = "public.w", $KEYS batch_size = 5000, is_exactly_once = true } }
CONF
  # A streaming job idles after its bounded source: the figure is the time until the last
  # checkpoint has committed every row.
  t0=$(now); "$WEIR" run --data-dir "$OUT/data" "$OUT/write-eo-$KIND.conf" > "$OUT/write-eo-$KIND.log" 2>&1 &
  PID=$!
  N=0
  until [ "$N" = "$WROWS" ] || ! kill -0 $PID 2>/dev/null; do
    sleep 0.1; N=$(psql "$DB" -Atc "SELECT count(*) FROM w" 2>/dev/null || echo 0)
  done
  t1=$(now); kill -INT $PID 2>/dev/null || true; wait $PID 2>/dev/null || true
  if [ "$N" = "$WROWS" ]; then
    python3 -c "r=$N; s=$t1-$t0; print(f'| Jdbc source -> Jdbc sink, exactly-once, $KIND (weir run, until all committed) | {r} | {s:.2f} | {r/s:,.0f} | |')"
  else
    echo "(exactly-once $KIND run ended early; see $OUT/write-eo-$KIND.log)"; tail -3 "$OUT/write-eo-$KIND.log"
  fi
done
