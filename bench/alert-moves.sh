#!/usr/bin/env bash
# stock-alert with percent-move watches.
#  1. 2M quotes over 10k tickers (file in, file out) against 100k band
#     watches alone, then against the same 100k band watches plus 100k move
#     watches (half the day's change, half windows of 5 min, 15 min, 1 h),
#     runs interleaved. The ratio of the two quote-loop rates is the cost of
#     the moves; also with --state (the windows saved) and in level mode.
#  2. One ticker with 1M move watches, then the first 1k of them, on the
#     same 100k quotes: a quote's cost follows the watches whose move state
#     changes, not the watches on its ticker.
#
#  3. The engine alone (bench/engine_only: the quotes parsed into memory
#     first), band-only and mixed (also with the loading steps stock-alert
#     takes ahead): what the moves cost without the reading, parsing and
#     writing that both share.
#
#   bench/alert-moves.sh [BIN_DIR]
#   env: RUNS (default 3: medians and ranges), BENCH_DIR (default /tmp/sw-bench-alert),
#        BASELINE (a stock-alert built before the move watches, e.g. from
#        9926c56: its band-only runs are interleaved with the others, and
#        the mixed runs are also given as a percentage of them)
# Prints markdown tables. Data is generated once into BENCH_DIR.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-alert}
RUNS=${RUNS:-3}
need_built stock-alert gen_alert_data engine_only
M=$D/moves
O=$D/one-moves
mkdir -p "$M" "$O"
if [ ! -s "$M/quotes.jsonl" ] || [ "$(wc -l < "$M/quotes.jsonl")" -ne 2000000 ]; then
  "$B/gen_alert_data" moves "$M" 2000000 10000 100000 100000 1
fi
if [ ! -s "$O/quotes.jsonl" ]; then
  "$B/gen_alert_data" one-moves "$O" 100000 1000000 1
  head -n 1000 "$O/watches.jsonl" > "$O/watches-1k.jsonl"
fi
: > "$O/empty.jsonl"
load0=$(load_now)

# One run of stock-alert -v (ALERT_BIN: another build); appends "rate wall
# rss alerts" to $D/NAME.runs.
one_run() {
  local name=$1; shift
  rm -f "$D/moves.state"
  /usr/bin/time -f "%e %M" -o "$D/t" "${ALERT_BIN:-$B/stock-alert}" -v "$@" -o "$D/alerts.jsonl" 2> "$D/err" ||
    { cat "$D/err" >&2; die "stock-alert failed"; }
  read -r w r < "$D/t"
  echo "$(read_rate "$D/err") $w $r $(wc -l < "$D/alerts.jsonl")" >> "$D/$name.runs"
}
col() { awk -v c="$2" '{ print $c }' "$D/$1.runs"; }

names=(band mixed state level-band level-mixed)
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || die "BASELINE: $BASELINE is not an executable"
  names+=(baseline-band)
fi
for n in "${names[@]}"; do : > "$D/$n.runs"; done
for _ in $(seq "$RUNS"); do
  if [ -n "${BASELINE:-}" ]; then
    ALERT_BIN=$BASELINE one_run baseline-band --watches "$M/watches-band.jsonl" -i "$M/quotes.jsonl"
  fi
  one_run band --watches "$M/watches-band.jsonl" -i "$M/quotes.jsonl"
  one_run mixed --watches "$M/watches.jsonl" -i "$M/quotes.jsonl"
  one_run state --watches "$M/watches.jsonl" --state "$D/moves.state" -i "$M/quotes.jsonl"
  one_run level-band --watches "$M/watches-band.jsonl" --mode level -i "$M/quotes.jsonl"
  one_run level-mixed --watches "$M/watches.jsonl" --mode level -i "$M/quotes.jsonl"
done
rm -f "$D/moves.state"
k() { awk '{ printf "%.0f\n", $1 / 1000 }'; }
band_med=$(col band 1 | median)
level_med=$(col level-band 1 | median)
echo "2M quotes (10k tickers, with prev_close) from a file; $RUNS runs each, interleaved;"
echo "median (min-max); $(nproc) cores, load $load0 at the start, $(load_now) at the end."
echo
echo "| watches | mode | k quotes/s (quote loop) | % of band-only | wall s | alerts | max RSS MB |"
echo "|---|---|---|---|---|---|---|"
for n in "${names[@]}"; do
  case $n in
    band) label="100k band"; mode=edge; base=$band_med ;;
    mixed) label="100k band + 100k move"; mode=edge; base=$band_med ;;
    state) label="100k band + 100k move, --state FILE"; mode=edge; base=$band_med ;;
    level-band) label="100k band"; mode=level; base=$level_med ;;
    level-mixed) label="100k band + 100k move"; mode=level; base=$level_med ;;
    baseline-band) label="100k band, BASELINE build"; mode=edge; base=$band_med ;;
  esac
  pct=$(col "$n" 1 | awk -v b="$base" '{ printf "%.0f\n", 100 * $1 / b }' | range)
  printf "| %s | %s | %s | %s | %s | %s | %d |\n" "$label" "$mode" "$(col "$n" 1 | k | range)" "$pct" \
    "$(col "$n" 2 | range)" "$(col "$n" 4 | median)" $(( $(col "$n" 3 | median) / 1024 ))
done
echo
echo "The rate is what stock-alert -v reports for the quote loop (from the first"
echo "record to the end; reading and indexing the watches is outside it); % of"
echo "band-only is each run against the median band-only run of the same mode."
# paired A B: each run of B against the run of A in the same round (a
# few seconds apart, so in the same phase of a machine whose speed drifts).
paired() { paste -d' ' <(col "$1" 1) <(col "$2" 1) | awk '{ printf "%.0f\n", 100 * $2 / $1 }' | range; }
# best A B: B's fastest run against A's fastest (each build at the machine's best).
best() { awk -v a="$(col "$1" 1 | sort -g | tail -1)" -v b="$(col "$2" 1 | sort -g | tail -1)" 'BEGIN { printf "%.0f", 100 * b / a }'; }
echo "Paired by round (each mixed edge run against the band-only run a few seconds"
echo "before it): $(paired band mixed) %. The fastest mixed edge run against the"
echo "fastest band-only run: $(best band mixed) %."
if [ -n "${BASELINE:-}" ]; then
  echo "Against the BASELINE build's median band-only run ($(col baseline-band 1 | median | k)k quotes/s),"
  echo "the mixed runs make $(col mixed 1 | awk -v b="$(col baseline-band 1 | median)" '{ printf "%.0f\n", 100 * $1 / b }' | range) %;"
  echo "paired by round with the BASELINE run: $(paired baseline-band mixed) %; fastest"
  echo "against fastest: $(best baseline-band mixed) %."
fi
echo

# The engine alone: each process parses the quotes into memory, then feeds
# them to a fresh engine 3 times and reports its fastest pass.
: > "$D/engine-band.runs"; : > "$D/engine-mixed.runs"; : > "$D/engine-ahead.runs"
for _ in $(seq "$RUNS"); do
  "$B/engine_only" "$M/watches-band.jsonl" "$M/quotes.jsonl" 3 | awk '{ print $3 }' >> "$D/engine-band.runs"
  "$B/engine_only" "$M/watches.jsonl" "$M/quotes.jsonl" 3 | awk '{ print $3 }' >> "$D/engine-mixed.runs"
  "$B/engine_only" "$M/watches.jsonl" "$M/quotes.jsonl" 3 ahead | awk '{ print $3 }' >> "$D/engine-ahead.runs"
done
echo "The engine alone (bench/engine_only: OnQuote over the 2M quotes held in memory,"
echo "best of 3 passes per process); $RUNS processes each, median (min-max)."
echo
echo "| watches | s per 2M quotes | ns per quote |"
echo "|---|---|---|"
for n in band mixed ahead; do
  case $n in
    band) label="100k band" ;;
    mixed) label="100k band + 100k move" ;;
    ahead) label="100k band + 100k move, loading ahead (as stock-alert does)" ;;
  esac
  printf "| %s | %s | %s |\n" "$label" "$(range < "$D/engine-$n.runs")" \
    "$(awk '{ printf "%.0f\n", $1 * 1e9 / 2e6 }' "$D/engine-$n.runs" | range)"
done
echo

for n in one-1m one-1k; do : > "$D/$n.runs"; : > "$D/$n-start.runs"; done
for _ in $(seq "$RUNS"); do
  one_run one-1m --watches "$O/watches.jsonl" -i "$O/quotes.jsonl"
  one_run one-1k --watches "$O/watches-1k.jsonl" -i "$O/quotes.jsonl"
  one_run one-1m-start --watches "$O/watches.jsonl" -i "$O/empty.jsonl"
done
echo "One ticker, 100k quotes; $RUNS runs each, median (min-max)."
echo
echo "| move watches | k quotes/s (quote loop) | alerts | alerts/quote | wall s | start-up s (empty input) |"
echo "|---|---|---|---|---|---|"
for n in one-1m one-1k; do
  a=$(col "$n" 4 | median)
  wf=$O/watches.jsonl
  [ "$n" = one-1k ] && wf=$O/watches-1k.jsonl
  printf "| %s | %s | %s | %s | %s | %s |\n" "$(wc -l < "$wf")" \
    "$(col "$n" 1 | k | range)" "$a" "$(awk -v a="$a" 'BEGIN { printf "%.2f", a / 100000 }')" \
    "$(col "$n" 2 | range)" "$([ "$n" = one-1m ] && col one-1m-start 2 | range || echo -)"
done
echo
echo "The first quote checks every watch once; after it, a quote visits only the"
echo "watches whose move crosses their threshold (alerts and re-arms)."
