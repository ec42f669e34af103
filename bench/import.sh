#!/usr/bin/env bash
# Issue 3 benchmark: `stockctl import` of 10k users and 100k watches (JSON
# lines) into an empty database, next to the bulk-load limit of each backend:
# `psql \copy` of the same rows (CSV) into the same tables on PostgreSQL, and
# the sqlite3 shell's `.import` (one transaction) on SQLite. Each figure is
# the median of RUNS runs (default 3), each into a fresh schema / file.
# Target: stockctl >= 30% of \copy on PostgreSQL.
#
# Usage: bench/import.sh [USERS] [WATCHES_PER_USER]
#   SW_BIN: the build's bin dir. BENCH_PG: a postgresql:// URL to use
#   (default: a throwaway server from tests/services/pg.sh).
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
users=${1:-10000}
per_user=${2:-10}
runs=${RUNS:-3}
need_built stockctl
need_tools sqlite3 psql

"$PY" - "$W" "$users" "$per_user" <<'PY'
import sys
work, users, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tickers = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK-B", "JPM", "V",
           "BTC-USD", "ETH-USD", "^GSPC", "^IXIC", "EURUSD=X", "GC=F", "XOM", "UNH", "LLY", "AVGO"]
with open(f"{work}/in.jsonl", "w") as j, open(f"{work}/users.csv", "w") as u, open(f"{work}/watches.csv", "w") as w:
    for i in range(users):
        email = f"user{i:06d}@example.com"
        tg = 100000000 + i
        j.write(f'{{"type":"user","email":"{email}","telegram_id":{tg},"interval":0}}\n')
        u.write(f"{email},{tg},0\n")
    for i in range(users):
        email = f"user{i:06d}@example.com"
        for k in range(per):
            t = tickers[(i + k) % len(tickers)] if per <= len(tickers) else f"T{k:04d}"
            low, high = 100 + (i % 50), 200 + (i % 70)
            j.write(f'{{"type":"watch","email":"{email}","ticker":"{t}","low":{low},"high":{high}}}\n')
            w.write(f"{email},{t},{low},{high}\n")
PY
rows=$((users + users * per_user))

# ---- SQLite
sqlite_stockctl=() sqlite_shell=()
for r in $(seq "$runs"); do
  db="$W/s$r.db"
  "$SW_BIN/stockctl" --db "sqlite:$db" init > /dev/null
  t0=$(now); "$SW_BIN/stockctl" --db "sqlite:$db" import "$W/in.jsonl" > "$W/out"; t1=$(now)
  grep -q "imported $users users and $((users * per_user)) watches" "$W/out" || { cat "$W/out" >&2; exit 1; }
  sqlite_stockctl+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  db="$W/r$r.db"
  "$SW_BIN/stockctl" --db "sqlite:$db" init > /dev/null
  t0=$(now)
  # watches has more columns than the CSV (the move's, with their defaults):
  # .import fills a temporary table of the CSV's four, copied over in the
  # same transaction.
  sqlite3 "$db" "PRAGMA foreign_keys=ON" "BEGIN" ".import --csv $W/users.csv users" \
    "CREATE TEMP TABLE w(email TEXT, ticker TEXT, low REAL, high REAL)" \
    ".import --csv $W/watches.csv w" \
    "INSERT INTO watches(email, ticker, low, high) SELECT email, ticker, low, high FROM w" "COMMIT"
  t1=$(now)
  [ "$(sqlite3 "$db" 'SELECT count(*) FROM watches')" = $((users * per_user)) ] || die "sqlite3 .import lost rows"
  sqlite_shell+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
done

# ---- PostgreSQL
bench_pg
pg_stockctl=() pg_copy=()
for r in $(seq "$runs"); do
  for kind in s c; do
    psql -qX "$pg" -c "DROP SCHEMA IF EXISTS bench_import_$kind CASCADE" -c "CREATE SCHEMA bench_import_$kind" 2>/dev/null
  done
  url_s="$pg${sep}options=-csearch_path%3Dbench_import_s"
  url_c="$pg${sep}options=-csearch_path%3Dbench_import_c"
  "$SW_BIN/stockctl" --db "$url_s" init > /dev/null
  "$SW_BIN/stockctl" --db "$url_c" init > /dev/null
  psql -qX "$pg" -c "CHECKPOINT" > /dev/null
  t0=$(now); "$SW_BIN/stockctl" --db "$url_s" import "$W/in.jsonl" > "$W/out"; t1=$(now)
  grep -q "imported $users users and $((users * per_user)) watches" "$W/out" || { cat "$W/out" >&2; exit 1; }
  pg_stockctl+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  psql -qX "$pg" -c "CHECKPOINT" > /dev/null
  t0=$(now)
  PGOPTIONS="-c search_path=bench_import_c" psql -qX -v ON_ERROR_STOP=1 "$pg" \
    -c "\\copy users(email, telegram_id, interval_s) FROM '$W/users.csv' WITH (FORMAT csv)" \
    -c "\\copy watches(email, ticker, low, high) FROM '$W/watches.csv' WITH (FORMAT csv)"
  t1=$(now)
  [ "$(psql -qAtX "$pg" -c 'SELECT count(*) FROM bench_import_c.watches')" = $((users * per_user)) ] || die "\\copy lost rows"
  pg_copy+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
done
for kind in s c; do psql -qX "$pg" -c "DROP SCHEMA IF EXISTS bench_import_$kind CASCADE" 2>/dev/null; done

row() {  # LABEL SECONDS REFERENCE_SECONDS
  awk -v l="$1" -v s="$2" -v ref="$3" -v n="$rows" 'BEGIN {
    printf "| %s | %.3f | %.0f | %s |\n", l, s, n / s, (ref == "" ? "limit" : sprintf("%.0f%%", 100 * ref / s)) }'
}
s_st=$(printf '%s\n' "${sqlite_stockctl[@]}" | median)
s_sh=$(printf '%s\n' "${sqlite_shell[@]}" | median)
p_st=$(printf '%s\n' "${pg_stockctl[@]}" | median)
p_cp=$(printf '%s\n' "${pg_copy[@]}" | median)
echo "$users users + $((users * per_user)) watches = $rows rows into empty tables; median of $runs runs."
echo
echo "| what | seconds | rows/s | vs the limit |"
echo "|---|---|---|---|"
row "SQLite: \`stockctl import\` (JSON lines)" "$s_st" "$s_sh"
row "SQLite: sqlite3 \`.import --csv\`, one transaction" "$s_sh" ""
row "PostgreSQL: \`stockctl import\` (JSON lines)" "$p_st" "$p_cp"
row "PostgreSQL: \`psql \\copy\` (CSV)" "$p_cp" ""
