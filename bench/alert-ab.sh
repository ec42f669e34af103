#!/usr/bin/env bash
# stock-alert A/B: the same 2M quotes against 100k watches (file in, file
# out, as bench/alert-throughput.sh) run by two builds, or by one build with
# two sets of flags, interleaved run by run (A, B, A, B, ...) so that both
# sides see the same machine. Reports the quote loop's rate (what
# stock-alert -v says: from the first record to the end; start-up, reading
# the watches, is outside it) and the wall time, median (min-max).
#
#   bench/alert-ab.sh [A_BIN [B_BIN]]
#   env: A_ARGS, B_ARGS (extra stock-alert flags for each side), RUNS (5),
#   MODES ("edge level"), BENCH_DIR (default /tmp/sw-bench-alert, shared with
#   alert-throughput.sh)
# With no arguments (as in make bench) both sides are this build and B adds
# --metrics FILE: what the metrics cost.
SW_BIN=${1:-${SW_BIN:-}}
source "$(dirname "$0")/lib.sh"
A=$B
Bb=$(cd "${2:-$B}" && pwd)
need_built stock-alert gen_alert_data
[ -x "$Bb/stock-alert" ] || die "$Bb/stock-alert is not built"
RUNS=${RUNS:-5} MODES=${MODES:-edge level}
A_ARGS=${A_ARGS:-}
if [ $# -lt 2 ] && [ -z "${B_ARGS+x}" ]; then B_ARGS="--metrics $W/alert.prom"; fi
B_ARGS=${B_ARGS:-}
S=${BENCH_DIR:-/tmp/sw-bench-alert}/spread
mkdir -p "$S"
if [ ! -s "$S/quotes.jsonl" ] || [ "$(wc -l <"$S/quotes.jsonl")" -ne 2000000 ]; then
  "$B/gen_alert_data" spread "$S" 2000000 10000 100000 1 >&2
fi

# one SIDE MODE: appends "loop_rate wall" to $W/SIDE.MODE
one() {
  local side=$1 mode=$2 bin args
  if [ "$side" = a ]; then bin=$A args=$A_ARGS; else bin=$Bb args=$B_ARGS; fi
  # shellcheck disable=SC2086  # args is a list of flags
  /usr/bin/time -f "%e" -o "$W/t" "$bin/stock-alert" -v $args --mode "$mode" \
    --watches "$S/watches.jsonl" -i "$S/quotes.jsonl" -o "$W/alerts.jsonl" 2>"$W/err" ||
    { cat "$W/err" >&2; die "$side $mode failed"; }
  local loop
  loop=$(read_rate "$W/err")
  echo "$loop $(cat "$W/t")" >>"$W/$side.$mode"
}
for _ in $(seq "$RUNS"); do
  for m in $MODES; do one a "$m"; one b "$m"; done
done

k() { awk '{ printf "%.0f\n", $1 / 1000 }'; }
echo "A: \`$A/stock-alert ${A_ARGS}\`; B: \`$Bb/stock-alert ${B_ARGS}\`;"
echo "2M quotes, 100k watches from a file; $RUNS runs each, interleaved; median (min-max);"
echo "$(nproc) cores, load $load0 at the start, $(load_now) at the end."
echo
echo "| mode | A k quotes/s (loop) | B k quotes/s (loop) | B / A (medians) | A wall s | B wall s |"
echo "|---|---|---|---|---|---|"
for m in $MODES; do
  am=$(awk '{ print $1 }' "$W/a.$m" | median) bm=$(awk '{ print $1 }' "$W/b.$m" | median)
  printf "| %s | %s | %s | %s %% | %s | %s |\n" "$m" \
    "$(awk '{ print $1 }' "$W/a.$m" | k | range)" "$(awk '{ print $1 }' "$W/b.$m" | k | range)" \
    "$(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.1f", 100 * b / a }')" \
    "$(awk '{ print $2 }' "$W/a.$m" | range)" "$(awk '{ print $2 }' "$W/b.$m" | range)"
done
