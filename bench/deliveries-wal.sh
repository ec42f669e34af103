#!/usr/bin/env bash
# Write-ahead log per delivery on a large delivery log (stock-notify records
# every delivery in the store's `deliveries` table for de-duplication).
#
# For each backend and run: a fresh store with EXISTING deliveries already
# recorded (default 1,000,000; random 16-hex alert ids, as stock-alert's ids
# are, over 1000 users, on the webhook target used below), then stock-notify
# --parallel 16 delivers NEW alerts (default 10,000, over the same 1000 users)
# to bench/notify_sink: the real code path, each batch of deliveries recorded
# in one transaction. Measured:
#   SQLite: the -wal file's size after the run. A reader holds a transaction
#     open from before the run, so no checkpoint can reset the log: the file
#     holds every frame the run wrote (a frame is a page + 24 bytes).
#   PostgreSQL: pg_wal_lsn_diff of pg_current_wal_lsn() after and before the
#     run, with a CHECKPOINT just before it (so each page's first change
#     writes a full-page image, as it does after every checkpoint).
# Every alert is checked to be delivered exactly once. RUNS runs (default 3);
# the table gives the range.
#
# Usage: bench/deliveries-wal.sh [EXISTING] [NEW] [RUNS]
#   SW_BIN: the build's bin dir. BENCH_PG: a postgresql:// URL of a server
#   this may create databases on (default: a throwaway server from
#   tests/services/pg.sh). BENCH_BACKENDS: "sqlite postgresql" (default).
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
existing=${1:-1000000}
new=${2:-10000}
runs=${3:-3}
backends=${BENCH_BACKENDS:-sqlite postgresql}
users=1000
need_built stock-notify stockctl notify_sink
need_tools sqlite3 psql

# NEW alerts with random ids over the users.
awk -v n="$new" -v u="$users" 'BEGIN { srand(7); for (i = 0; i < n; i++) {
  printf "{\"type\":\"alert\",\"id\":\"%08x%08x\",\"email\":\"u%04d@example.com\",\"ticker\":\"T%d\",", \
    int(rand() * 4294967296), int(rand() * 4294967296), i % u, i % 97
  printf "\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,\"ts\":\"2026-11-27T10:00:00Z\"}\n", 1000 + i } }' \
  > "$W/alerts.jsonl"

start_service "$W/sink.port" "$W/sink.err" "$B/notify_sink" "$W/sink.port"
url="http://127.0.0.1:$(cat "$W/sink.port")/hook"
channel="webhook:$url"
ts0=1795000000000

# Delivers the alerts with stock-notify into the store at $1; checks each
# was sent once.
notify() {
  STOCKWATCH_DB="$1" "$B/stock-notify" --parallel 16 --to "$url" \
    < "$W/alerts.jsonl" > "$W/out.jsonl"
  local sent
  sent=$(grep -c '"status":"sent"' "$W/out.jsonl" || true)
  [ "$sent" -eq "$new" ] || die "$sent sent, want $new"
}

sqlite_run() {
  local db="$W/s.db"
  rm -f "$db" "$db-wal" "$db-shm"
  "$B/stockctl" --db "sqlite:$db" init > /dev/null
  sqlite3 "$db" "PRAGMA synchronous=OFF" "BEGIN" \
    "WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < $existing - 1)
     INSERT INTO deliveries(alert_id, channel, email, ts)
     SELECT lower(hex(randomblob(8))), '$channel', printf('u%04d@example.com', x % $users),
            $ts0 + x * 100 FROM i" \
    "COMMIT" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
  [ "$(stat -c %s "$db-wal" 2>/dev/null || echo 0)" -eq 0 ] ||
    die "the -wal file is not empty before the run"
  # The reader: its open transaction keeps every frame in the log.
  coproc READER { sqlite3 "$db"; }
  echo "BEGIN; SELECT count(*) FROM deliveries;" >&"${READER[1]}"
  local count
  read -r count <&"${READER[0]}"
  [ "$count" -eq "$existing" ] || die "$count rows, want $existing"
  notify "sqlite:$db"
  local wal
  wal=$(stat -c %s "$db-wal")
  echo "COMMIT;" >&"${READER[1]}"
  exec {READER[1]}>&-
  wait "$READER_PID" 2>/dev/null || true
  echo "$wal"
}

pg_run() {
  local name="sw_bench_wal_$1" base=$2
  psql -qX -v ON_ERROR_STOP=1 "$base" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" > /dev/null
  local db
  db=$(echo "$base" | sed -E "s#^(postgres(ql)?://[^/?]*)/[^?]*#\\1/$name#")
  [[ "$db" == *"/$name"* ]] || die "cannot name a database in $base"
  "$B/stockctl" --db "$db" init > /dev/null
  psql -qX -v ON_ERROR_STOP=1 "$db" > /dev/null <<SQL
SET synchronous_commit = off;
INSERT INTO deliveries(alert_id, channel, email, ts)
SELECT substr(md5(random()::text), 1, 16), '$channel', 'u' || lpad((x % $users)::text, 4, '0') || '@example.com',
       $ts0 + x::bigint * 100
FROM generate_series(0, $existing - 1) x;
VACUUM ANALYZE deliveries;
CHECKPOINT;
SQL
  local lsn0 lsn1
  lsn0=$(psql -qAtX "$db" -c "SELECT pg_current_wal_lsn()")
  notify "$db"
  lsn1=$(psql -qAtX "$db" -c "SELECT pg_current_wal_lsn()")
  psql -qAtX "$db" -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint"
  psql -qX "$base" -c "DROP DATABASE $name" > /dev/null
}

# min max of the numbers on stdin
range() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }'; }

rows=()
for backend in $backends; do
  results=()
  if [ "$backend" == sqlite ]; then
    for r in $(seq "$runs"); do
      v=$(sqlite_run)
      results+=("$v")
      echo "deliveries-wal: sqlite run $r: ${results[-1]} bytes" >&2
    done
  else
    bench_pg
    for r in $(seq "$runs"); do
      v=$(pg_run "$r" "$pg")
      results+=("$v")
      echo "deliveries-wal: postgresql run $r: ${results[-1]} bytes" >&2
    done
  fi
  read -r lo hi < <(printf '%s\n' "${results[@]}" | range)
  rows+=("$(awk -v b="$backend" -v lo="$lo" -v hi="$hi" -v n="$new" -v r="$runs" \
    'BEGIN { printf "| %s | %d | %.1f-%.1f MB | %.0f-%.0f |\n", b, r, lo / 1048576, hi / 1048576, lo / n, hi / n }')")
done

echo "$existing deliveries recorded before each run; stock-notify --parallel 16 then delivers $new"
echo "alerts over $users users to a local webhook sink (bench/notify_sink). SQLite: size of the -wal"
echo "file (no checkpoint during the run); PostgreSQL: WAL bytes between pg_current_wal_lsn()"
echo "before and after, from a CHECKPOINT (full-page images count). Range over the runs."
echo
echo "| backend | runs | WAL for $new deliveries | WAL bytes per delivery |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
