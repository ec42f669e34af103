#!/usr/bin/env bash
# Prometheus metrics: --metrics FILE (rewritten atomically, last at exit)
# and --metrics-listen HOST:PORT (GET /metrics). Both parse (promtool check
# metrics) and their counters match the records the run moved.
source "$(dirname "$0")/../lib/common.sh"
command -v promtool > /dev/null || { fail "promtool is missing (make deps installs prometheus)"; finish; }

# promcheck FILE: promtool accepts it (lint problems are only warnings).
promcheck() { promtool check metrics < "$1" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; return 1; }; }
# value FILE SERIES: the value of one exact series line.
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }

cat > "$T/watches.jsonl" <<'W'
{"type":"watch","email":"a@example.com","ticker":"AAPL","low":150,"high":200}
{"type":"watch","email":"b@example.com","ticker":"MSFT","low":300,"high":500}
W
{
  for i in $(seq 1 50); do
    printf '{"type":"quote","ticker":"AAPL","price":%s,"ts":"2026-11-27T14:%02d:00Z"}\n' \
      "$([ $((i % 2)) = 0 ] && echo 210 || echo 140)" "$i"
  done
  printf '{"type":"quote","ticker":"MSFT","price":%s,"ts":"2026-11-27T15:00:00Z"}\n' 600
  printf '{"type":"quote","ticker":"XYZ","price":1,"ts":"2026-11-27T15:00:00Z"}\n'
  printf '%s\n' 'not json' '{"type":"user","email":"c@example.com"}'
} > "$T/quotes.jsonl"

stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$T/alerts.jsonl" \
  --dead-letter "$T/dl.jsonl" --metrics "$T/alert.prom" 2> "$T/alert.err"
check "--metrics: the file parses (promtool)" promcheck "$T/alert.prom"
above=$(grep -c '"condition":"above"' "$T/alerts.jsonl")
below=$(grep -c '"condition":"below"' "$T/alerts.jsonl")
expect_eq "alerts above: file and output agree" "$above" "$(value "$T/alert.prom" 'stockwatch_alerts_total{condition="above"}')"
expect_eq "alerts below: file and output agree" "$below" "$(value "$T/alert.prom" 'stockwatch_alerts_total{condition="below"}')"
expect_eq "quotes in" 52 "$(value "$T/alert.prom" 'stockwatch_records_in_total{type="quote"}')"
expect_eq "other records in" 1 "$(value "$T/alert.prom" 'stockwatch_records_in_total{type="other"}')"
expect_eq "alerts out" "$(wc -l < "$T/alerts.jsonl" | awk '{print $1 - 1}')" \
  "$(value "$T/alert.prom" 'stockwatch_records_out_total{type="alert"}')"
expect_eq "rejected" "$(wc -l < "$T/dl.jsonl")" "$(value "$T/alert.prom" 'stockwatch_records_rejected_total')"
expect_eq "unwatched" 1 "$(value "$T/alert.prom" 'stockwatch_quotes_unwatched_total')"
check "no temporary file left beside it" bash -c '[ "$(ls "$1" | grep -c alert.prom)" = 1 ]' _ "$T"
code=0
stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o /dev/null \
  --metrics "$T/no/such/dir/x.prom" 2> "$T/bad.err" || code=$?
expect_eq "--metrics in a missing directory: exit 74" 74 "$code"

# stock-collect: quotes out, requests, latency histogram, breaker per source.
stock-collect --source sim --tickers AAPL,MSFT --count 3 --no-store -o "$T/sim.jsonl" \
  --metrics "$T/collect.prom"
check "collect: the file parses" promcheck "$T/collect.prom"
expect_eq "collect: quotes out" "$(wc -l < "$T/sim.jsonl")" "$(value "$T/collect.prom" 'stockwatch_records_out_total{type="quote"}')"
check "collect: age of the newest quote" grep -q '^stockwatch_newest_quote_age_seconds{source="sim"} ' "$T/collect.prom"

# /metrics while it runs: stock-alert on a pipe that stays open.
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkfifo "$T/in"
stock-alert --watches "$T/watches.jsonl" -i "$T/in" -o "$T/live.jsonl" \
  --metrics-listen "127.0.0.1:$port" 2> "$T/live.err" &
pid=$!
on_exit "kill $pid"
exec 7> "$T/in"
head -n 20 "$T/quotes.jsonl" >&7
scrape() { curl -sf "http://127.0.0.1:$port/metrics" > "$T/scrape.prom"; }
quotes_in() { scrape && [ "$(value "$T/scrape.prom" 'stockwatch_records_in_total{type="quote"}')" = 20 ]; }
wait_for "the 20 quotes in /metrics" 30 quotes_in
check "/metrics parses (promtool)" promcheck "$T/scrape.prom"
check "/metrics: content type of the text format" bash -c \
  'curl -sfI "http://127.0.0.1:$1/metrics" -X GET | grep -qi "^content-type: text/plain; version=0.0.4"' _ "$port"
expect_eq "/metrics: alerts match the output" "$(grep -c '"type":"alert"' "$T/live.jsonl")" \
  "$(awk '$1 ~ /^stockwatch_alerts_total/ { n += $2 } END { print n }' "$T/scrape.prom")"
exec 7>&-
code=0
wait "$pid" || code=$?
expect_eq "stock-alert ends at the end of its input (exit 0)" 0 "$code"
code=0
stock-alert --watches "$T/watches.jsonl" -i /dev/null --metrics-listen nonsense 2> "$T/usage.err" || code=$?
expect_eq "--metrics-listen without a port: exit 64" 64 "$code"
finish
