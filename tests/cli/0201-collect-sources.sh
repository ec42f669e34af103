#!/usr/bin/env bash
# stock-collect against a local fake Yahoo/Stooq (tests/services/fake_quotes.py):
# chart and spark payloads (both shapes) and Stooq CSV give the recorded
# prices and times; an unknown ticker is reported on its own line while the
# others are emitted (exit 65); connections are kept alive; tickers from
# stdin; the source URL from the environment.
source "$(dirname "$0")/../lib/common.sh"

source "$(dirname "$0")/../lib/fake_quotes.sh"
field() { jq -r "select(.ticker == \"$1\") | .$2" "$3"; }

start_fake --ticker ZZZZ=404
NVDA_PRICE=$($PY "$SW_SRC/tests/services/fake_quotes.py" --print-price NVDA)

# --- chart API, one request per ticker --------------------------------------
code=0
stock-collect --no-store --source-url "$U" --tickers AAPL,msft,ZZZZ,NVDA --no-batch -j 2 \
  > "$T/out" 2> "$T/err" || code=$?
expect_eq "chart: an unknown ticker makes the run exit 65" 65 "$code"
# With -j the quotes are written as the answers arrive (documented): compare as a set.
expect_eq "chart: the three known tickers are emitted, once each" "AAPL MSFT NVDA" \
  "$(jq -r .ticker "$T/out" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "chart: AAPL price is meta.regularMarketPrice" 197.48 "$(field AAPL price "$T/out")"
expect_eq "chart: AAPL ts is meta.regularMarketTime" 2025-06-13T14:15:37Z "$(field AAPL ts "$T/out")"
expect_eq "chart: currency, source, prev_close, volume" "USD yahoo 199.2 12889032" \
  "$(jq -r 'select(.ticker == "AAPL") | "\(.currency) \(.source) \(.prev_close) \(.volume)"' "$T/out")"
expect_eq "chart: MSFT price" 477.71 "$(field MSFT price "$T/out")"
expect_eq "chart: NVDA price" "$NVDA_PRICE" "$(field NVDA price "$T/out")"
expect_eq "chart: every line is a quote record" 3 "$(jq -c 'select(.type == "quote")' "$T/out" | wc -l)"
expect_eq "chart: the unknown ticker is reported on its own, and nothing else" \
  "stock-collect: ZZZZ: unknown ticker (yahoo: No data found, symbol may be delisted)" "$(cat "$T/err")"
expect_eq "chart: one chart request per ticker" 4 "$(stats .by_kind.chart)"
check "chart: -j 2 uses at most 2 (kept-alive) connections" test "$(stats .connections)" -le 2

# Many tickers over few connections: keep-alive.
reset
stock-collect --no-store --source-url "$U" --tickers A1,A2,A3,A4,A5,A6,A7,A8,A9,B1,B2,B3 \
  --no-batch -j 3 > "$T/out12" 2> "$T/err12"
expect_eq "keep-alive: 12 quotes" 12 "$(wc -l < "$T/out12")"
expect_eq "keep-alive: 12 requests" 12 "$(stats .requests)"
check "keep-alive: no more than 3 connections for 12 requests" test "$(stats .connections)" -le 3

# --- spark batches (default), flat shape ------------------------------------
reset
code=0
stock-collect --no-store --source-url "$U" --tickers AAPL,MSFT,ZZZZ,NVDA > "$T/out" 2> "$T/err" || code=$?
expect_eq "spark: exit 65 for the unknown ticker" 65 "$code"
expect_eq "spark: one batch request" 1 "$(stats .by_kind.spark)"
expect_eq "spark: the ticker the batch left out is asked through the chart API" \
  '{"ZZZZ":1}' "$(curl -s "$U/_stats" | jq -c '[.log[] | select(.kind == "chart") | .tickers[]] | group_by(.) | map({(.[0]): length}) | add')"
expect_eq "spark (flat): AAPL price is the last close" 197.48 "$(field AAPL price "$T/out")"
expect_eq "spark (flat): AAPL ts is that close's timestamp" 2025-06-13T14:15:00Z "$(field AAPL ts "$T/out")"
expect_eq "spark (flat): MSFT" "477.71 478.87" "$(jq -r 'select(.ticker == "MSFT") | "\(.price) \(.prev_close)"' "$T/out")"
expect_eq "spark: the unknown ticker is reported" \
  "stock-collect: ZZZZ: unknown ticker (yahoo: No data found, symbol may be delisted)" "$(cat "$T/err")"

# --- spark, v7 shape ---------------------------------------------------------
config '{"spark_shape": "v7"}'
stock-collect --no-store --source-url "$U" --tickers AAPL,MSFT > "$T/out" 2> "$T/err"
expect_eq "spark (v7): AAPL from meta" "197.48 2025-06-13T14:15:37Z USD" \
  "$(jq -r 'select(.ticker == "AAPL") | "\(.price) \(.ts) \(.currency)"' "$T/out")"
expect_eq "spark (v7): MSFT from meta" "477.71 3120441" \
  "$(jq -r 'select(.ticker == "MSFT") | "\(.price) \(.volume)"' "$T/out")"
config '{"spark_shape": "v8"}'

# --- Stooq CSV ---------------------------------------------------------------
reset
code=0
stock-collect --no-store --source stooq --source-url "$U" --tickers AAPL,MSFT,ZZZZ,NVDA \
  > "$T/out" 2> "$T/err" || code=$?
expect_eq "stooq: exit 65 for the unknown (N/D) ticker" 65 "$code"
expect_eq "stooq: one batched request" 1 "$(stats .by_kind.stooq)"
expect_eq "stooq: AAPL close, Warsaw time converted to UTC" "196.45 2025-06-13T20:00:10Z stooq 51447349" \
  "$(jq -r 'select(.ticker == "AAPL") | "\(.price) \(.ts) \(.source) \(.volume)"' "$T/out")"
expect_eq "stooq: MSFT" 474.96 "$(field MSFT price "$T/out")"
expect_eq "stooq: NVDA" "$NVDA_PRICE" "$(field NVDA price "$T/out")"
expect_eq "stooq: the N/D ticker is reported" \
  "stock-collect: ZZZZ: unknown ticker (stooq: no data for zzzz.us)" "$(cat "$T/err")"

# --- tickers from stdin, output to a file, URL from the environment ---------
reset
code=0
printf 'AAPL\n\n# a comment\nnot a ticker!\n  nvda  \nAAPL\n' |
  STOCKWATCH_SOURCE_URL="$U" stock-collect --no-store --tickers - -o "$T/file.jsonl" \
  > "$T/out" 2> "$T/err" || code=$?
expect_eq "stdin: a bad line makes the run exit 65" 65 "$code"
check "stdin: the bad line is named" grep -q '^stock-collect: stdin:4: ticker: ' "$T/err"
expect_eq "stdin: the good tickers are collected once each, into -o" "AAPL NVDA" \
  "$(jq -r .ticker "$T/file.jsonl" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "stdin: nothing on stdout with -o" 0 "$(wc -c < "$T/out")"
expect_eq "env: STOCKWATCH_SOURCE_URL reached the fake" 1 "$(stats .requests)"

# --- usage errors ------------------------------------------------------------
expect_code "no tickers with --no-store" 64 stock-collect --no-store --source-url "$U"
expect_code "an unknown source" 64 stock-collect --no-store --source nasdaq --tickers A
expect_code "a malformed duration" 64 stock-collect --no-store --tickers A --timeout 5parsecs
expect_code "--once and --every together" 64 stock-collect --no-store --tickers A --once --every 1m
expect_code "-i without replay" 64 stock-collect --no-store --tickers A -i x.jsonl
finish
