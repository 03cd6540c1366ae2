#!/usr/bin/env bash
# Postgres-CDC benchmark (issue 14): a change made in PostgreSQL -> visible in the sink table,
# p50/p99/max, at RATE changes/s for DURATION seconds. A plpgsql loop inserts RATE/100 rows every 10 ms
# (each with clock_timestamp()); `weir run` (release build) streams them with Postgres-CDC into
# a Jdbc sink on the same server, whose table stamps each row with clock_timestamp() as it is
# written; the latency is the difference, on one clock. A second round updates every row once.
#   bench/cdc.sh            (RATE=10000 DURATION=30)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-10000}
DURATION=${DURATION:-30}
OUT=$PWD/bench/out/cdc
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release -p weir --quiet
WEIR=$PWD/target/release/weir
. bench/pg-server.sh
psql "$DB" -q -c "CREATE TABLE ev (id bigint PRIMARY KEY, v text, made timestamptz);
  ALTER TABLE ev REPLICA IDENTITY FULL;
  CREATE TABLE ev_copy (id bigint PRIMARY KEY, v text, made timestamptz, seen timestamptz DEFAULT clock_timestamp());
  CREATE FUNCTION stamp() RETURNS trigger AS \$\$ BEGIN NEW.seen := clock_timestamp(); RETURN NEW; END \$\$ LANGUAGE plpgsql;
  CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON ev_copy FOR EACH ROW EXECUTE FUNCTION stamp();"
cat > "$OUT/cdc.conf" <<CONF
env { job.mode = "STREAMING", checkpoint.interval = 1000 }
source { Postgres-CDC { base-url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", username = weir, password = weir,
  table-names = ["postgres.public.ev"], slot.name = bench } }
sink { Jdbc { url = "jdbc:postgresql://127.0.0.1:$PORT/postgres", user = weir, password = weir,
  generate_sink_sql = true, table = "public.ev_copy", primary_keys = [id], batch_size = 1000 } }
CONF
"$WEIR" run -q --data-dir "$OUT/data" "$OUT/cdc.conf" > "$OUT/weir.log" 2>&1 &
PID=$!
until [ "$(psql "$DB" -Atc "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bench' AND active")" = 1 ]; do
  kill -0 $PID 2>/dev/null || { cat "$OUT/weir.log"; exit 1; }; sleep 0.1
done
TICKS=$((DURATION * 100)); PER=$((RATE / 100)); TOTAL=$((TICKS * PER))
echo "# weir Postgres-CDC benchmark ($(nproc) cores, PostgreSQL $("$BIN/postgres" --version | awk '{print $3}'), $(date -u +%Y-%m-%d))"
echo
echo "| what | changes | changes/s offered | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|---|"
round() { # $1: name, $2: SQL of one tick (uses i), $3: the sink's condition for "arrived"
  psql "$DB" -q -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
    FOR i IN 0..$((TICKS - 1)) LOOP
      $2;
      COMMIT;
      PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 + (i + 1) * interval '10 ms' - clock_timestamp())));
    END LOOP; END \$\$"
  local deadline=$(( $(date +%s) + 60 ))
  until [ "$(psql "$DB" -Atc "SELECT count(*) FROM ev_copy WHERE $3")" = "$TOTAL" ]; do
    [ "$(date +%s)" -lt $deadline ] || { echo "($1: not all changes arrived; see $OUT/weir.log)"; return; }
    sleep 0.2
  done
  psql "$DB" -Atc "SELECT '| $1 | ' || count(*) || ' | $RATE | '
      || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM seen - made) * 1000)::numeric, 1) || ' | '
      || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM seen - made) * 1000)::numeric, 1) || ' | '
      || round(max(extract(epoch FROM seen - made) * 1000)::numeric, 1) || ' |' FROM ev_copy WHERE $3"
}
round "INSERT -> visible in the Jdbc sink" \
  "INSERT INTO ev SELECT g, 'v' || g, clock_timestamp() FROM generate_series(i * $PER, i * $PER + $PER - 1) g" \
  "v NOT LIKE 'u%'"
round "UPDATE -> visible in the Jdbc sink" \
  "UPDATE ev SET v = 'u' || id, made = clock_timestamp() WHERE id BETWEEN i * $PER AND i * $PER + $PER - 1" \
  "v LIKE 'u%'"
kill -INT $PID 2>/dev/null || true; wait $PID 2>/dev/null || true
