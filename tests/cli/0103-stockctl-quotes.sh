#!/usr/bin/env bash
# quote ingest / last / avg / history / --plot: the values come from the
# store (never a live fetch), a ticker without data is exit 65 with a
# clear message, bad lines are rejected per the bad-input policy.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi
sample="$SW_SRC/examples/quotes-sample.jsonl"
# No network in tests anyway; make sure nothing could be fetched.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 STOCKWATCH_SOURCE_URL=http://127.0.0.1:9

# No data yet (a store without quotes; a query on no store at all is 66):
# exit 65, the message names the ticker.
stockctl init > /dev/null
rc=0; stockctl quote last AAPL > "$T/out" 2> "$T/err" || rc=$?
expect_eq "quote last without data: exit 65" 65 "$rc"
check "quote last without data: clear message" grep -q "^stockctl: ticker: no stored quotes for AAPL" "$T/err"
expect_code "quote avg without data" 65 stockctl quote avg AAPL
expect_code "quote history without data" 65 stockctl quote history AAPL
expect_code "quote last of a bad ticker" 65 stockctl quote last "'; DROP TABLE quotes; --"

lines=$(wc -l < "$sample")
out=$(stockctl quote ingest "$sample")
expect_eq "ingest says how many" "stored $lines quotes" "$out"

# last: the newest stored AAPL record, exactly.
want=$(jq -c 'select(.ticker=="AAPL")' "$sample" | tail -1)
expect_eq "quote last --json is the stored record" "$want" "$(stockctl quote last aapl --json)"
check "quote last table" grep -qE "^AAPL +$(jq -r .price <<< "$want") +USD +$(jq -r .ts <<< "$want") +yahoo$" <(stockctl quote last AAPL)

# avg -n 5 / -n 1000 (fewer stored): the mean of the stored prices.
near() {  # DESCRIPTION EXPECTED ACTUAL
  if jq -en --argjson a "$2" --argjson b "$3" '(($a - $b) | fabs) < 1e-9' > /dev/null; then pass "$1"; else fail "$1: expected $2, got $3"; fi
}
for t in AAPL MSFT BTC-USD ^GSPC; do
  for n in 1 5 10 1000; do
    want=$(jq -s --arg t "$t" --argjson n "$n" '[.[] | select(.ticker==$t)] | sort_by(.ts) | .[-$n:] | map(.price) | add / length' "$sample")
    count=$(jq -s --arg t "$t" --argjson n "$n" '[.[] | select(.ticker==$t)] | .[-$n:] | length' "$sample")
    got=$(stockctl quote avg "$t" -n "$n" --json)
    near "avg $t -n $n" "$want" "$(jq .average <<< "$got")"
    expect_eq "avg $t -n $n count" "$count" "$(jq .count <<< "$got")"
  done
done
check "avg table says when fewer values than asked" grep -q "79 (of 1000 asked)" <(stockctl quote avg AAPL -n 1000)
expect_code "avg -n 0 is a usage error" 64 stockctl quote avg AAPL -n 0
check "avg -n 0 says why" grep -q "positive integer" <(stockctl quote avg AAPL -n 0 2>&1)

# history: the last N, oldest first.
want=$(jq -c 'select(.ticker=="MSFT")' "$sample" | tail -3)
expect_eq "history --limit 3 --json" "$want" "$(stockctl quote history MSFT --limit 3 --json)"
expect_eq "history default: 20 rows + header" 21 "$(stockctl quote history MSFT | wc -l)"

# Ingesting the same records again stores nothing twice.
stockctl quote ingest < "$sample" > /dev/null
expect_eq "replayed ingest: still 79 AAPL values" 79 "$(stockctl quote avg AAPL -n 1000 --json | jq .count)"

# A newer quote moves last; an older one arriving late does not.
echo '{"type":"quote","ticker":"AAPL","price":250.5,"ts":"2026-11-25T14:30:00Z"}' | stockctl quote ingest > /dev/null
echo '{"type":"quote","ticker":"AAPL","price":1.5,"ts":"2026-11-20T14:30:00Z","source":"late"}' | stockctl quote ingest > /dev/null
expect_eq "last after a newer and a late older quote" 250.5 "$(stockctl quote last AAPL --json | jq .price)"

# Bad lines: reported with input:line, counted, the rest stored, exit 65.
printf '%s\n' \
  '{"type":"quote","ticker":"NVDA","price":140.1,"ts":"2026-11-24T15:00:00Z"}' \
  '{"type":"quote","ticker":"NVDA","price":"high","ts":"2026-11-24T15:05:00Z"}' \
  'garbage' \
  '{"type":"note","text":"not a quote"}' \
  '{"type":"quote","ticker":"NVDA","price":141.2,"ts":"2026-11-24T15:10:00Z"}' > "$T/bad.jsonl"
rc=0; stockctl quote ingest "$T/bad.jsonl" > "$T/out" 2> "$T/err" || rc=$?
expect_eq "ingest with bad lines: exit 65" 65 "$rc"
check "line 2 named" grep -q "^stockctl: $T/bad.jsonl:2: price: " "$T/err"
check "line 3 named" grep -q "^stockctl: $T/bad.jsonl:3: " "$T/err"
expect_eq "good lines stored" 2 "$(stockctl quote avg NVDA -n 10 --json | jq .count)"
check "summary counts" grep -q "stored 2 quotes, skipped 1 record of other types, rejected 2 lines" "$T/out"
expect_code "ingest --strict stops at the first bad line" 65 stockctl quote ingest --strict "$T/bad.jsonl"
expect_code "ingest with a dead letter exits 0" 0 stockctl quote ingest --dead-letter "$T/dl.jsonl" "$T/bad.jsonl"
expect_eq "dead letter has the 2 rejected lines" "2 3" "$(jq -r .line "$T/dl.jsonl" | xargs)"
expect_code "ingest of a missing file" 66 stockctl quote ingest "$T/nope.jsonl"

# --plot: a braille chart as wide as $COLUMNS.
COLUMNS=60 stockctl quote history BTC-USD --plot > "$T/plot"
check "plot title" grep -q "^BTC-USD  last" "$T/plot"
check "plot uses braille" grep -q $'\xe2\xa0' "$T/plot"
width=$(sed -n 2p "$T/plot" | wc -m)
expect_eq "plot rows are \$COLUMNS wide" 61 "$width"   # + the newline
check "plot x axis has the first timestamp" grep -q "2026-11-24T00:00:00Z" "$T/plot"
expect_eq "plot height" 12 "$(grep -c $'[\u2524\u2502]' "$T/plot")"
COLUMNS=100 stockctl quote history BTC-USD --plot --height 6 > "$T/plot2"
expect_eq "plot --height" 6 "$(grep -c $'[\u2524\u2502]' "$T/plot2")"
expect_eq "wider terminal, wider plot" 101 "$(sed -n 2p "$T/plot2" | wc -m)"

# --plot marks the references of the ticker's move watches: the newest
# previous close for a day change, the lowest price of the last 30 minutes
# (13:40..14:10) for an up move within 30m, with a legend line each, top
# to bottom.
q() { echo "{\"type\":\"quote\",\"ticker\":\"PLOTME\",\"price\":$2,\"prev_close\":$3,\"ts\":\"2026-11-24T$1:00Z\"}"; }
{ q 13:00 100 96; q 13:10 104 96; q 13:20 98.5 96; q 13:30 101 96
  q 13:40 105 97; q 13:50 109 97; q 14:00 100.5 97; q 14:10 106 97; } > "$T/plotme.jsonl"
stockctl quote ingest "$T/plotme.jsonl" > /dev/null
printf '%s\n' '{"type":"user","email":"plot@example.com"}' '{"type":"user","email":"plot2@example.com"}' \
  '{"type":"watch","email":"plot@example.com","ticker":"PLOTME","move":5}' \
  '{"type":"watch","email":"plot2@example.com","ticker":"PLOTME","move":2,"within":1800,"direction":"up"}' |
  stockctl import > /dev/null
COLUMNS=60 stockctl quote history PLOTME --plot > "$T/plot3"
expect_eq "plot: a legend line per move reference" \
  "┈ 100.5  lowest of the last 30m: the reference of up moves within 30m (2%)
┈ 97.0  previous close: the reference of day-change watches (±5%)" \
  "$(grep $'^\u2508' "$T/plot3")"
check "plot: the previous close (under every price) is the bottom row" grep -q $'^ 97.0 \u2524' "$T/plot3"
check "plot: the window's low labels its row" grep -q $'^100.5 \u2524' "$T/plot3"
expect_eq "plot: with marks, rows still \$COLUMNS wide" 61 "$(sed -n 2p "$T/plot3" | wc -m)"

# SIGTERM ends an ingest in batches cleanly: every quote read is stored,
# exit 0 (as the stream programs stop); with --request-id (one transaction)
# nothing is stored and it exits 143.
quote() { echo "{\"type\":\"quote\",\"ticker\":\"$1\",\"price\":12.5,\"ts\":\"2026-11-24T10:00:00Z\"}"; }
term_while_reading "$T/ingest.fifo" "$(quote TERMED)" stockctl quote ingest "$T/ingest.fifo"
expect_eq "ingest stopped by SIGTERM: exit 0" 0 "$rc"
expect_eq "ingest stopped by SIGTERM: its summary" "stored 1 quote" "$(cat "$T/out")"
expect_eq "the quote read before the stop is stored" 12.5 \
  "$(stockctl quote last TERMED --json | jq -r .price)"
term_while_reading "$T/ingest-tx.fifo" "$(quote TERMEDTX)" \
  stockctl quote ingest --request-id ingest-term-1 "$T/ingest-tx.fifo"
expect_eq "ingest --request-id stopped by SIGTERM: exit 143" 143 "$rc"
check "it says nothing was stored" grep -q "stopped by SIGTERM while reading .*: nothing was stored" "$T/err"
check "the quote read before the stop is not stored" \
  sh -c '! stockctl quote last TERMEDTX > /dev/null 2>&1'
finish
