#!/usr/bin/env bash
# Hostile HTTP peers cannot push the memory up: a price source answering
# with a 60 MB JSON array, a 50 MB chunked body or a body that never ends
# costs stock-collect at most --max-response per request (each such ticker
# gets its own error, the breaker counts a failure, nothing is retried), and
# a webhook answering 200 with an endless body is judged by its status while
# stock-notify reads only the first few KB. The peak memory (max RSS,
# /usr/bin/time -v) is checked against a bound far below what reading those
# bodies whole takes (hundreds of MB), and well above the programs' usual
# ~15-20 MB.
source "$(dirname "$0")/../lib/common.sh"
source "$SW_SRC/tests/lib/fake_quotes.sh"

BOUND_KB=$((120 * 1024))
max_rss_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
rss_below() {  # rss_below DESCRIPTION TIMEFILE
  local kb; kb=$(max_rss_kb "$2")
  check "$1: max RSS ${kb:-?} KB below $BOUND_KB KB" test "${kb:-999999999}" -lt "$BOUND_KB"
}

# --- the price source
start_fake --ticker BIG=huge:60 --ticker CHUNKED=chunked:50 --ticker ENDLESS=endless
collect() { /usr/bin/time -v -o "$T/time" stock-collect --no-store --source-url "$U" "$@"; }

rc=0; collect --tickers AAPL,BIG,CHUNKED,ENDLESS --no-batch -j 4 --retries 2 \
  -o "$T/quotes.jsonl" 2> "$T/err" || rc=$?
expect_eq "hostile answers: exit 69 (the source failed for some tickers)" 69 "$rc"
rss_below "stock-collect -j 4 against 60 MB, 50 MB chunked and endless answers" "$T/time"
check "the good ticker is quoted" grep -q '"ticker":"AAPL"' "$T/quotes.jsonl"
for t in BIG CHUNKED ENDLESS; do
  check "$t: its own clear error" grep -q "$t: .*answer larger than 4 MiB (--max-response)" "$T/err"
done
expect_eq "a too-large answer is not asked for again" '[1,1,1]' \
  "$(stats '[.by_ticker.BIG, .by_ticker.CHUNKED, .by_ticker.ENDLESS]')"

# In a spark batch too, with the default -j; and the limit can be set.
rc=0; collect --tickers AAPL,MSFT,BIG -o /dev/null 2> "$T/err" || rc=$?
expect_eq "a batch with a huge answer: exit 69" 69 "$rc"
rss_below "stock-collect, a batch answered with 60 MB" "$T/time"
check "the batch's tickers get the error" grep -q "MSFT: .*answer larger than 4 MiB" "$T/err"
rc=0; collect --tickers AAPL --max-response 1K -o /dev/null 2> "$T/err" || rc=$?
expect_eq "--max-response 1K: the recorded chart (1.8 KB) is too large" 69 "$rc"
check "--max-response 1K: the error names the limit" grep -q "AAPL: .*answer larger than 1 KiB" "$T/err"
expect_code "--max-response: a bad size is a usage error" 64 \
  stock-collect --no-store --source-url "$U" --tickers AAPL --max-response lots

# The breaker counts it as a failure: with --breaker-failures 1 it opens and
# the next ticker is not called.
rc=0; collect --tickers ENDLESS,AAPL --no-batch -j 1 --breaker-failures 1 -o /dev/null 2> "$T/err" || rc=$?
expect_eq "breaker: exit 69" 69 "$rc"
check "breaker: opened by the endless answer, AAPL not called" grep -q "AAPL: circuit open" "$T/err"

# --- a webhook that answers 200 and never ends its body
$PY "$SW_SRC/tests/services/webhook_sink.py" --port-file "$T/hook.port" --log "$T/hook.log" \
  --endless-body 2> "$T/hook.err" &
on_exit "kill $!"
wait_for "the webhook" 20 test -s "$T/hook.port"
HOOK="http://127.0.0.1:$(cat "$T/hook.port")/alerts"
for i in $(seq 1 16); do
  printf '{"type":"alert","id":"a%015d","email":"u%d@example.com","ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"low":150,"high":200,"ts":"2026-11-27T14:30:00Z"}\n' "$i" "$i"
done > "$T/alerts.jsonl"
rc=0; /usr/bin/time -v -o "$T/time" stock-notify --to "$HOOK" -i "$T/alerts.jsonl" \
  -o "$T/deliveries.jsonl" 2> "$T/err" || rc=$?
expect_eq "endless webhook body: exit 0" 0 "$rc"
rss_below "stock-notify, 16 alerts to a webhook with an endless body" "$T/time"
expect_eq "every alert delivered once, judged by the 200" "16 sent 1" \
  "$(jq -r 'select(.type == "delivery") | "\(.status) \(.attempts)"' "$T/deliveries.jsonl" | sort | uniq -c | sed 's/^ *//')"
expect_eq "the webhook got each alert once" 16 "$(grep -c '"kind": "post"' "$T/hook.log")"

finish
