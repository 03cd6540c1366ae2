# Sourced by the Jdbc and CDC benchmarks: starts Debian's PostgreSQL in a temporary directory
# on a free port (user weir, password weir, wal_level=logical, prepared transactions on), stops
# it on exit, and sets BIN, PORT, DB (a psql connection string) and PGPASSWORD.
BIN=$(ls -d /usr/lib/postgresql/*/bin | head -1)
PGDIR=$(mktemp -d)
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
echo weir > "$PGDIR/pw"
run_pg "$BIN/initdb" -D "$PGDIR/data" -U weir -E UTF8 --no-sync --auth-local=trust \
  --auth-host=scram-sha-256 --pwfile="$PGDIR/pw" > "$OUT/initdb.log"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_pg "$BIN/postgres" -D "$PGDIR/data" -p "$PORT" -k "$PGDIR" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c synchronous_commit=off -c shared_buffers=256MB -c max_prepared_transactions=16 \
  -c wal_level=logical > "$OUT/postgres.log" 2>&1 &
trap 'kill -INT $(head -1 "$PGDIR/data/postmaster.pid" 2>/dev/null) 2>/dev/null || true; sleep 1; rm -rf "$PGDIR"' EXIT
export PGPASSWORD=weir
DB="postgresql://weir@127.0.0.1:$PORT/postgres"
until psql "$DB" -Atc 'select 1' >/dev/null 2>&1; do sleep 0.1; done
now() { python3 -c 'import time; print(time.time())'; }
