#!/usr/bin/env bash
# Issue 3 benchmark: query latency with many stored quotes. Loads QUOTES
# quotes (default 10M) over TICKERS tickers (default 1000; one quote a minute
# each) straight into the store's tables, on SQLite (one transaction through
# the sqlite3 shell) and on PostgreSQL (generate_series, the primary key
# built after the load), then runs bench/store_latency.cc: `quote last`
# (the latest_quotes read model) and `quote avg -n 100` (the last 100 quotes
# through the (ticker, ts) primary key), 20000 random tickers each, inside
# one process. Target: p99 < 2 ms on PostgreSQL.
#
# Usage: bench/store-latency.sh [QUOTES] [TICKERS]
#   SW_BIN: the build's bin dir. BENCH_PG: a postgresql:// URL to use
#   (default: a throwaway server from tests/services/pg.sh).
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
quotes=${1:-10000000}
tickers=${2:-1000}
per=$((quotes / tickers))
need_built stockctl store_latency
need_tools sqlite3 psql
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
t0_ms=1700000000000
last_ts=$((t0_ms + (per - 1) * 60000))

# ---- SQLite
db="$W/quotes.db"
"$SW_BIN/stockctl" --db "sqlite:$db" init > /dev/null
t=$(now)
sqlite3 "$db" "PRAGMA synchronous=OFF" "BEGIN" \
  "WITH RECURSIVE t(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM t WHERE x < $tickers - 1),
        i(y) AS (SELECT 0 UNION ALL SELECT y + 1 FROM i WHERE y < $per - 1)
   INSERT INTO quotes(ticker, ts, price, currency, source)
   SELECT printf('T%04d', x), $t0_ms + y * 60000, 100 + (x % 50) + (abs(random()) % 10000) / 1000.0,
          'USD', 'bench'
   FROM t CROSS JOIN i" \
  "INSERT INTO latest_quotes(ticker, ts, price, currency, source)
   SELECT ticker, ts, price, currency, source FROM quotes WHERE ts = $last_ts" \
  "COMMIT" "ANALYZE"
sqlite_load=$(since "$t")
sqlite_size=$(du -m "$db" | cut -f1)

# ---- PostgreSQL
bench_pg
schema=bench_latency
psql -qX "$pg" -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
url="$pg${sep}options=-csearch_path%3D$schema"
"$SW_BIN/stockctl" --db "$url" init > /dev/null
t=$(now)
PGOPTIONS="-c search_path=$schema -c maintenance_work_mem=512MB -c synchronous_commit=off" \
psql -qX -v ON_ERROR_STOP=1 "$pg" <<SQL
ALTER TABLE quotes DROP CONSTRAINT quotes_pkey;
INSERT INTO quotes(ticker, ts, price, currency, source)
SELECT 'T' || lpad(x::text, 4, '0'), $t0_ms + y::bigint * 60000, 100 + (x % 50) + random() * 10, 'USD', 'bench'
FROM generate_series(0, $tickers - 1) x, generate_series(0, $per - 1) y;
ALTER TABLE quotes ADD PRIMARY KEY (ticker, ts);
INSERT INTO latest_quotes(ticker, ts, price, currency, source)
SELECT ticker, ts, price, currency, source FROM quotes WHERE ts = $last_ts;
VACUUM ANALYZE quotes;
VACUUM ANALYZE latest_quotes;
SQL
pg_load=$(since "$t")
pg_size=$(psql -qAtX "$pg" -c "SELECT pg_total_relation_size('$schema.quotes') / 1048576")

echo "$quotes quotes over $tickers tickers ($per each). Load: SQLite ${sqlite_load} s (${sqlite_size} MB), PostgreSQL ${pg_load} s (${pg_size} MB with the index)."
echo "20000 queries of each kind after 1000 warm-up ones, random tickers, one process, times in microseconds."
echo
echo "| backend | query | p50 µs | p99 µs | max µs | queries/s |"
echo "|---|---|---|---|---|---|"
"$SW_BIN/store_latency" --db "sqlite:$db" --tickers "$tickers" -n 100 --label SQLite
"$SW_BIN/store_latency" --db "$url" --tickers "$tickers" -n 100 --label PostgreSQL
psql -qX "$pg" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
