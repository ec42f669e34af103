#!/usr/bin/env bash
# stock-alert with 1M watches on one ticker: 100k quotes moving inside the
# bands and across some of them. Shows that a quote's cost follows the
# watches it changes, not the watches on its ticker: the same quotes against
# 1k watches, and a stream that crosses ten times as many thresholds.
#
#   bench/alert-one-ticker.sh [BIN_DIR]
#   env: RUNS (default 3, the median is shown), BENCH_DIR (default /tmp/sw-bench-alert)
# Prints a markdown table. Data is generated once into BENCH_DIR.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-alert}
RUNS=${RUNS:-3}
need_built stock-alert gen_alert_data
O=$D/one
mkdir -p "$O" "$O/steep"
if [ ! -s "$O/quotes.jsonl" ]; then
  "$B/gen_alert_data" one "$O" 100000 1000000 1
  head -n 1000 "$O/watches.jsonl" > "$O/watches-1k.jsonl"
fi
# Ten times the step and the jumps: ten times the crossings (same watches, same seed).
[ -s "$O/steep/quotes.jsonl" ] || "$B/gen_alert_data" one "$O/steep" 100000 1 1 0.0002 0.5
: > "$O/empty.jsonl"

# measure WATCHES QUOTES [ARGS...]: prints "wall loop rss alerts" (medians).
measure() {
  local watches=$1 quotes=$2; shift 2
  : > "$D/w"; : > "$D/l"; : > "$D/r"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$D/t" "$B/stock-alert" -v --watches "$watches" -i "$quotes" \
      -o "$D/alerts.jsonl" "$@" 2> "$D/err"
    read -r w r < "$D/t"
    echo "$w" >> "$D/w"; echo "$r" >> "$D/r"
    read_secs "$D/err" >> "$D/l"
  done
  echo "$(median < "$D/w") $(median < "$D/l") $(median < "$D/r") $(wc -l < "$D/alerts.jsonl")"
}
row() {  # row LABEL WATCHES QUOTES [ARGS...]
  local label=$1 watches=$2 quotes=$3; shift 3
  local n wall loop rss alerts start
  n=$(wc -l < "$quotes")
  read -r wall loop rss alerts < <(measure "$watches" "$quotes" "$@")
  read -r start _ _ _ < <(measure "$watches" "$O/empty.jsonl" "$@")
  awk -v l="$label" -v w="$(wc -l < "$watches")" -v n="$n" -v wall="$wall" -v loop="$loop" \
      -v start="$start" -v rss="$rss" -v a="$alerts" 'BEGIN {
    printf "| %s | %d | %d | %.2f | %.2f | %.3f | %.0f | %d | %.2f | %d |\n",
      l, w, n, start, wall, loop, (loop > 0 ? n / loop : 0), a, a / n, rss / 1024 }'
}
echo "One ticker; median of $RUNS runs; $(nproc) cores, load $(load_now) at the start."
echo
echo "| run | watches | quotes | start-up s | wall s | quote loop s | quotes/s (loop) | alerts | alerts/quote | max RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row "1M watches (edge)" "$O/watches.jsonl" "$O/quotes.jsonl"
row "1k watches, same quotes" "$O/watches-1k.jsonl" "$O/quotes.jsonl"
row "1M watches, --hysteresis 1" "$O/watches.jsonl" "$O/quotes.jsonl" --hysteresis 1
row "1M watches, 10x the crossings" "$O/watches.jsonl" "$O/steep/quotes.jsonl"
echo
echo "Start-up (reading and indexing the watches) is measured on an empty input; the"
echo "quote loop time is what stock-alert -v reports. The first quote checks all"
echo "watches once (the state of each is unknown); after that only those whose"
echo "thresholds the price crosses are visited."
