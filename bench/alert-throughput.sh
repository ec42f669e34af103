#!/usr/bin/env bash
# stock-alert throughput: 2M quotes over 10k tickers against 100k watches,
# file in, file out; next to jq doing the same band test (the watches as a
# lookup object {ticker: [[low,high,email],...]}) and to a parse-only loop
# over the same file with the same reader and JSON parser (bench/parse_only).
#
#   bench/alert-throughput.sh [BIN_DIR]
#   env: RUNS (default 3, the median is shown), JQ_LINES (default 200000: jq
#   runs on that prefix, its rate is per line), BENCH_DIR (default /tmp/sw-bench-alert),
#   ALERT_ARGS (extra stock-alert flags, e.g. "--metrics /tmp/alert.prom" to
#   measure what the metrics cost)
# Prints a markdown table. Data is generated once into BENCH_DIR.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-alert}
RUNS=${RUNS:-3}
JQ_LINES=${JQ_LINES:-200000}
QUOTES=2000000 TICKERS=10000 WATCHES=100000
need_built stock-alert gen_alert_data parse_only
mkdir -p "$D/spread"
S=$D/spread
if [ ! -s "$S/quotes.jsonl" ] || [ "$(wc -l < "$S/quotes.jsonl")" -ne $QUOTES ]; then
  "$B/gen_alert_data" spread "$S" $QUOTES $TICKERS $WATCHES 1
fi
head -n "$JQ_LINES" "$S/quotes.jsonl" > "$S/quotes-jq.jsonl"
load0=$(load_now)  # after the data is made

# run NAME CMD...: RUNS runs; records the median wall time and max RSS, and
# the median in-loop time that stock-alert -v reports ("read for X s").
declare -A wall rss loop
run() {
  local name=$1; shift
  : > "$D/w"; : > "$D/r"; : > "$D/l"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$D/t" "$@" 2> "$D/err" > "$D/out" || { cat "$D/err" >&2; exit 1; }
    read -r w r < "$D/t"
    echo "$w" >> "$D/w"; echo "$r" >> "$D/r"
    read_secs "$D/err" >> "$D/l"
  done
  wall[$name]=$(median < "$D/w"); rss[$name]=$(median < "$D/r")
  loop[$name]=$( [ -s "$D/l" ] && median < "$D/l" || echo "")
}

run parse "$B/parse_only" "$S/quotes.jsonl"
parse_loop=$(awk '{print $3}' "$D/out")
# shellcheck disable=SC2086  # ALERT_ARGS is a list of flags
run edge "$B/stock-alert" -v ${ALERT_ARGS:-} --watches "$S/watches.jsonl" -i "$S/quotes.jsonl" -o "$S/alerts-edge.jsonl"
run hyst "$B/stock-alert" -v --watches "$S/watches.jsonl" --hysteresis 1 -i "$S/quotes.jsonl" -o "$S/alerts-hyst.jsonl"
run level "$B/stock-alert" -v --watches "$S/watches.jsonl" --mode level -i "$S/quotes.jsonl" -o "$S/alerts-level.jsonl"
# shellcheck disable=SC2016  # a jq program, not shell
JQ_FILTER='. as $q | $w[0][$q.ticker] // empty | .[]
  | if (.[1] != null and $q.price > .[1]) then
      {type:"alert", email:.[2], ticker:$q.ticker, condition:"above", price:$q.price, threshold:.[1], ts:$q.ts}
    elif (.[0] != null and $q.price < .[0]) then
      {type:"alert", email:.[2], ticker:$q.ticker, condition:"below", price:$q.price, threshold:.[0], ts:$q.ts}
    else empty end'
RUNS_SAVED=$RUNS; RUNS=1
run jq jq -c --slurpfile w "$S/watches-jq.json" "$JQ_FILTER" "$S/quotes-jq.jsonl"
RUNS=$RUNS_SAVED
jq_alerts=$(wc -l < "$D/out")
# The same band test by stock-alert on the prefix, for a sanity check of the jq filter.
sa_alerts=$("$B/stock-alert" -q --watches "$S/watches.jsonl" --mode level -i "$S/quotes-jq.jsonl" | wc -l)

rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.3f", n / t / 1e6; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
jq_rate=$(rate "$JQ_LINES" "${wall[jq]}")
parse_rate=$(rate $QUOTES "${wall[parse]}")
echo "2M quotes (10k tickers, $(du -m "$S/quotes.jsonl" | cut -f1) MB) against 100k watches; file in, file out;"
echo "median of $RUNS runs (jq: 1 run on the first $JQ_LINES lines); $(nproc) cores, load $load0 at the start, $(load_now) at the end."
echo
echo "| what | wall s | M quotes/s (wall) | M quotes/s (read loop) | alerts | max RSS MB | x jq | % of parse-only |"
echo "|---|---|---|---|---|---|---|---|"
printf "| parse only (RecordParser, same reader) | %s | %s | %s | - | %d | %s | 100 |\n" \
  "${wall[parse]}" "$parse_rate" "$(rate $QUOTES "$parse_loop")" $(( rss[parse] / 1024 )) \
  "$(ratio "$parse_rate" "$jq_rate")"
for m in edge hyst level; do
  case $m in edge) label="stock-alert (edge)";; hyst) label="stock-alert --hysteresis 1";; level) label="stock-alert --mode level";; esac
  r=$(rate $QUOTES "${wall[$m]}")
  printf "| %s | %s | %s | %s | %s | %d | %s | %s |\n" "$label" "${wall[$m]}" "$r" "$(rate $QUOTES "${loop[$m]}")" \
    "$(wc -l < "$S/alerts-$m.jsonl")" $(( rss[$m] / 1024 )) "$(ratio "$r" "$jq_rate")" \
    "$(awk -v a="$r" -v b="$parse_rate" 'BEGIN { printf "%.0f", 100 * a / b }')"
done
printf "| jq 1.6 (same band test, lookup object) | %s | %s | - | %s | %d | 1 | %s |\n" "${wall[jq]}" "$jq_rate" \
  "$jq_alerts" $(( rss[jq] / 1024 )) "$(awk -v a="$jq_rate" -v b="$parse_rate" 'BEGIN { printf "%.1f", 100 * a / b }')"
echo
echo "Wall time includes start-up (reading the 100k watches); the read-loop rate is what"
echo "stock-alert -v reports for the quote loop alone. jq and stock-alert --mode level agree"
echo "on the prefix: $jq_alerts and $sa_alerts alerts."
