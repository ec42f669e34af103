#!/usr/bin/env bash
# stock-collect with the store: by default it collects every
# ticker some watch follows; each quote is stored (command side) before it is
# emitted; an unknown ticker is reported and not stored; --no-store stores
# nothing; the breaker's state outlives a cron run (a second run while it is
# open fails fast without calling the source). With STOCKWATCH_TEST_PG set
# (make test), the same on PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"

source "$(dirname "$0")/../lib/fake_quotes.sh"
lines() { jq -r "$1" "$2" | tr '\n' ' ' | sed 's/ $//'; }

start_fake --ticker ZZZZ=404
export STOCKWATCH_SOURCE_URL="$U"

# Every emitted line must already be in the store when a reader sees it.
# Reads quote lines and, for each, looks for it in the stored history.
check_stored_before_emitted() {
  local db=$1 bad=0 line t p ts
  while IFS= read -r line; do
    if [ "$(jq -r .type <<< "$line")" != quote ]; then echo "$line"; continue; fi
    t=$(jq -r .ticker <<< "$line"); p=$(jq -r .price <<< "$line"); ts=$(jq -r .ts <<< "$line")
    stockctl --db "$db" quote history "$t" --json |
      jq -e --argjson p "$p" --arg ts "$ts" 'select(.price == $p and .ts == $ts)' > /dev/null || bad=$((bad + 1))
    echo "$line"
  done
  echo "{\"type\":\"check\",\"not_stored_yet\":$bad}"
}

run_store_checks() {
  local db=$1 name=$2
  export STOCKWATCH_DB="$db"
  stockctl user add alice@example.com > /dev/null
  stockctl user add bob@example.com > /dev/null
  stockctl watch add alice@example.com AAPL --high 200 > /dev/null
  stockctl watch add alice@example.com ZZZZ --low 1 > /dev/null
  stockctl watch add bob@example.com MSFT --low 400 > /dev/null
  stockctl watch add bob@example.com AAPL --low 150 > /dev/null

  reset
  local code=0
  { stock-collect --no-batch -j 1 2> "$T/err" || echo "{\"type\":\"exit\",\"code\":$?}"; } |
    check_stored_before_emitted "$db" > "$T/out"
  expect_eq "$name: the watched tickers, each once (sorted)" "AAPL MSFT" \
    "$(lines 'select(.type == "quote") | .ticker' "$T/out")"
  expect_eq "$name: exit 65 for the unknown watched ticker" 65 "$(lines 'select(.type == "exit") | .code' "$T/out")"
  expect_eq "$name: every quote was stored before it was emitted" 0 \
    "$(lines 'select(.type == "check") | .not_stored_yet' "$T/out")"
  expect_eq "$name: the unknown ticker is reported" \
    "stock-collect: ZZZZ: unknown ticker (yahoo: No data found, symbol may be delisted)" "$(cat "$T/err")"
  expect_eq "$name: the source was asked for the three watched tickers only" '["AAPL","MSFT","ZZZZ"]' \
    "$(stats '.by_ticker | keys')"
  expect_eq "$name: quote last AAPL (from the store)" "197.48 2025-06-13T14:15:37Z yahoo USD" \
    "$(stockctl quote last AAPL --json | jq -r '"\(.price) \(.ts) \(.source) \(.currency)"')"
  expect_eq "$name: quote last MSFT" 477.71 "$(stockctl quote last MSFT --json | jq -r .price)"
  expect_code "$name: nothing stored for the unknown ticker" 65 stockctl quote last ZZZZ

  # A watch added later is picked up by the next cycle of a running service.
  stock-collect --source sim --every 200ms --sim-start 2030-01-01T00:00:00Z > "$T/svc.out" 2> "$T/svc.err" &
  local svc=$!
  wait_for "$name: the service's first quotes" 20 grep -q '"ticker":"MSFT"' "$T/svc.out"
  stockctl watch add bob@example.com NVDA --high 1 > /dev/null
  wait_for "$name: the new watch's ticker is collected" 20 grep -q '"ticker":"NVDA"' "$T/svc.out"
  kill -TERM $svc
  code=0
  wait $svc || code=$?
  expect_eq "$name: the service stops with exit 0 on SIGTERM" 0 "$code"
  check "$name: the sim quotes were stored" bash -c "stockctl quote last NVDA > /dev/null"

  # --no-store: neither reads the watches nor stores.
  stockctl watch add bob@example.com AMD --high 1 > /dev/null
  stock-collect --no-store --tickers AMD > /dev/null
  expect_code "$name: --no-store stored nothing" 65 stockctl quote last AMD
}

run_store_checks "sqlite:$T/collect.db" sqlite
if [ -n "${STOCKWATCH_TEST_PG:-}" ]; then
  # A schema of its own, so tests running at the same time do not meet.
  schema="collect_$$"
  psql "$STOCKWATCH_TEST_PG" -qc "create schema $schema" > /dev/null
  on_exit "psql '$STOCKWATCH_TEST_PG' -qc 'drop schema $schema cascade' > /dev/null"
  sep='?'; case "$STOCKWATCH_TEST_PG" in *\?*) sep='&';; esac
  run_store_checks "${STOCKWATCH_TEST_PG}${sep}options=-csearch_path%3D$schema" postgresql
fi

# --- the breaker's state between cron runs ---------------------------------------
export STOCKWATCH_DB="sqlite:$T/breaker.db"
cron=(stock-collect --tickers A,B,C --no-batch -j 1 --retries 0 --breaker-failures 2 --breaker-cooldown 2s)
reset
config '{"default": "500"}'
code=0
"${cron[@]}" > /dev/null 2> "$T/err1" || code=$?
expect_eq "cron 1: 500s: exit 69" 69 "$code"
expect_eq "cron 1: 2 requests, then the breaker opened" 2 "$(stats .requests)"
code=0
"${cron[@]}" -v > /dev/null 2> "$T/err2" || code=$?
expect_eq "cron 2 (right after): exit 75, the breaker is still open" 75 "$code"
expect_eq "cron 2: not a single request" 2 "$(stats .requests)"
check "cron 2: it says the state came from the earlier run" grep -q "circuit open (kept from an earlier run)" "$T/err2"
expect_eq "cron 2: every ticker failed fast" 3 "$(grep -c 'circuit open (yahoo): not called' "$T/err2")"
config '{"default": "ok"}'
sleep 2.2
code=0
"${cron[@]}" -v > "$T/out3" 2> "$T/err3" || code=$?
expect_eq "cron 3 (after the cool-down, source back): exit 0" 0 "$code"
check "cron 3: one probe closed the breaker" grep -q "circuit closed: the probe succeeded" "$T/err3"
expect_eq "cron 3: all three quoted" "A B C" "$(lines .ticker "$T/out3")"
expect_eq "cron 3: 3 more requests" 5 "$(stats .requests)"
finish
