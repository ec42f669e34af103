#!/usr/bin/env bash
# stock-collect --max-rate N/PERIOD: a token bucket in the store caps the
# requests to the source across runs (a cron job started again and again);
# tickers that do not fit wait, the oldest stored quote first, and the run
# says how many it deferred; a batch (spark, Stooq) counts as one request;
# each source has its own budget. With
# STOCKWATCH_TEST_PG set (make test), the same on PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/fake_quotes.sh"

start_fake
export STOCKWATCH_SOURCE_URL="$U"

run_checks() {  # run_checks LABEL DB
  local label=$1 db=$2 rc
  stockctl --db "$db" init > /dev/null
  stockctl --db "$db" user add ann@example.com > /dev/null
  for t in $(seq -f 'B%02g' 1 12); do stockctl --db "$db" watch add ann@example.com "$t" --high 1000 > /dev/null; done
  reset
  # 5 requests a minute, one ticker each (--no-batch): 5 of 12, 7 deferred.
  rc=0; stock-collect --db "$db" --no-batch --max-rate 5/min > "$T/q1" 2> "$T/e1" || rc=$?
  expect_eq "$label: run 1 exits 0" 0 "$rc"
  expect_eq "$label: run 1 made 5 requests" 5 "$(stats .requests)"
  expect_eq "$label: run 1 emitted 5 quotes" 5 "$(wc -l < "$T/q1")"
  check "$label: run 1 says 7 of 12 were deferred" \
    grep -q 'stock-collect: --max-rate 5/min: 7 of 12 ticker(s) deferred to the next cycle' "$T/e1"
  # At once again: the budget is spent, across processes.
  rc=0; stock-collect --db "$db" --no-batch --max-rate 5/min > "$T/q2" 2> "$T/e2" || rc=$?
  expect_eq "$label: run 2 exits 0" 0 "$rc"
  expect_eq "$label: run 2 made no request" 5 "$(stats .requests)"
  check "$label: run 2 deferred all 12" grep -q '12 of 12 ticker(s) deferred' "$T/e2"
  # A budget that refills fast: the tickers never asked for come next.
  sleep 1.2
  rc=0; stock-collect --db "$db" --no-batch --max-rate 5/1s > "$T/q3" 2> "$T/e3" || rc=$?
  expect_eq "$label: run 3 exits 0" 0 "$rc"
  check "$label: run 3 asked for tickers run 1 had not" \
    test -z "$(comm -12 <(jq -r .ticker "$T/q1" | sort) <(jq -r .ticker "$T/q3" | sort))"
  expect_eq "$label: run 3: 5 quotes" 5 "$(wc -l < "$T/q3")"
  # Batches: one request carries up to --batch-size tickers. (Stooq: each
  # source has a budget of its own; yahoo's is spent.)
  reset
  rc=0; stock-collect --db "$db" --source stooq --batch-size 5 --max-rate 2/h > "$T/q4" 2> "$T/e4" || rc=$?
  expect_eq "$label: batches: exit 0" 0 "$rc"
  expect_eq "$label: batches: 2 requests" 2 "$(stats .requests)"
  expect_eq "$label: batches: 10 quotes" 10 "$(wc -l < "$T/q4")"
  check "$label: batches: 2 deferred" grep -q '2 of 12 ticker(s) deferred' "$T/e4"
}

run_checks sqlite "sqlite:$T/store.db"
if [ -n "${STOCKWATCH_TEST_PG:-}" ]; then
  schema="budget_$$_$RANDOM"
  psql "$STOCKWATCH_TEST_PG" -qc "CREATE SCHEMA $schema" > /dev/null
  on_exit "psql '$STOCKWATCH_TEST_PG' -qc 'DROP SCHEMA $schema CASCADE' > /dev/null 2>&1"
  sep='?'; [[ "$STOCKWATCH_TEST_PG" == *\?* ]] && sep='&'
  run_checks postgresql "$STOCKWATCH_TEST_PG${sep}options=-csearch_path%3D$schema"
fi

for bad in 0/min 5 5/fortnight x/min; do
  rc=0; stock-collect --no-store --tickers AAPL --max-rate "$bad" > /dev/null 2> "$T/err" || rc=$?
  expect_eq "--max-rate '$bad': exit 64" 64 "$rc"
  check "--max-rate '$bad': the message names it" grep -q "stock-collect: --max-rate: not N/PERIOD" "$T/err"
done
rc=0; stock-collect --no-store --source sim --tickers AAPL --max-rate 5/min > /dev/null 2> "$T/err" || rc=$?
expect_eq "--max-rate with the simulator: exit 64" 64 "$rc"
finish
