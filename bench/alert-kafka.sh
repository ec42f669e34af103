#!/usr/bin/env bash
# stock-alert over Kafka as a new user would set it up, next to kcat on the
# same topic in the same run: a 3-broker mock cluster, topic `quotes` with 8
# partitions, quotes keyed by ticker and produced uncompressed with
# `kcat -P -K`, 100k watches from a file, `stock-alert -i kafka:quotes
# -o kafka:alerts -G GROUP -X auto.offset.reset=earliest --exit-at-eof`, in
# edge mode (with no state and with --state FILE) and in level mode.
#
# For each stock-alert run it reports three spans, timed from outside:
#   join   from the start of the process to "assigned partition(s)" on its
#          stderr: loading the watches and the group join (the broker's
#          initial rebalance delay, 3 s on the mock cluster, is most of it);
#   first  from the assignment to the first record (stock-alert -v logs it);
#   rate   quotes / (time of the last commit - time of the first record),
#          the last commit seen by `kafka_offsets --until N`, started before.
# kcat's rate is `kcat -C -e` on the same topic (no group, so no join), with
# its start-up inside the span: a bound the consumer cannot beat.
#
#   bench/alert-kafka.sh [BIN_DIR]
#   env: QUOTES (default 300000: the mock cluster keeps about 5 MB per
#   partition, and 8 x 5 MB holds ~350k of these lines), TICKERS (10000),
#   WATCHES (100000), RUNS (3: ranges and medians), BENCH_DIR
#   (default /tmp/sw-bench-alert-kafka)
# Prints a markdown table.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-alert-kafka}
QUOTES=${QUOTES:-300000} TICKERS=${TICKERS:-10000} WATCHES=${WATCHES:-100000} RUNS=${RUNS:-3}
PARTITIONS=8
need_built stock-alert mock_kafka kafka_offsets gen_alert_data
need_tools kcat

S=$D/data
keyed_quotes "$S" "$QUOTES" "$TICKERS" "$WATCHES"

start_mock --topic "quotes:$PARTITIONS"
kcat -P -b "$BS" -t quotes -K $'\t' <"$S/keyed.tsv" || die "kcat -P failed"
held=$("$B/kafka_offsets" -b "$BS" -t quotes --lag)
[ "$held" -eq "$QUOTES" ] || die "the topic holds $held of $QUOTES quotes (the mock keeps ~5 MB per partition: lower QUOTES)"

# Lines of stderr with the wall-clock time they arrived (bash's
# EPOCHREALTIME: no process per line).
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

: >"$W/kcat"
for _ in $(seq "$RUNS"); do
  a=$EPOCHREALTIME
  n=$(kcat -C -b "$BS" -t quotes -o beginning -e -q | wc -l)
  b=$EPOCHREALTIME
  [ "$n" -eq "$QUOTES" ] || die "kcat consumed $n of $QUOTES quotes"
  awk -v n="$n" -v a="$a" -v b="$b" 'BEGIN { printf "%.0f\n", n / (b - a) / 1000 }' >>"$W/kcat"
done

# one_run NAME RUN ARGS...: appends "join first rate cpu" to $W/NAME.
one_run() {
  local name=$1 r=$2 g="g-$1-$2" t0 t_assigned t_first t_end waiter
  shift 2
  rm -f "$W/state.json"
  "$B/kafka_offsets" -b "$BS" -t quotes -G "$g" --until "$QUOTES" --wait 120 >"$W/until" &
  waiter=$!
  pids=("$waiter")
  t0=$EPOCHREALTIME
  /usr/bin/time -f "%U %S" -o "$W/time" "$B/stock-alert" -v -i kafka:quotes -o "kafka:alerts-$g" \
    -b "$BS" -G "$g" -X auto.offset.reset=earliest --exit-at-eof --watches "$S/watches.jsonl" "$@" \
    2> >(stamp >"$W/err") || die "$name: stock-alert failed: $(tail -n 3 "$W/err")"
  wait "$waiter" || die "$name: not every quote was committed in 120 s"
  pids=()
  sleep 0.1  # the stamping reader finishes
  t_assigned=$(awk '/assigned partition/ { print $1; exit }' "$W/err")
  t_first=$(awk '/first record/ { print $1; exit }' "$W/err")
  [ -n "$t_assigned" ] && [ -n "$t_first" ] || die "$name: no assignment or first record in: $(cat "$W/err")"
  t_end=$(cat "$W/until")
  printf '%s %s %s %s\n' "$(span "$t0" "$t_assigned")" "$(span "$t_assigned" "$t_first")" \
    "$(awk -v n="$QUOTES" -v a="$t_first" -v b="$t_end" 'BEGIN { printf "%.0f", n / (b - a) / 1000 }')" \
    "$(awk '{ print $1 + $2 }' "$W/time")" >>"$W/$name"
}

configs=(edge edge-state level)
for c in "${configs[@]}"; do : >"$W/$c"; done
for r in $(seq "$RUNS"); do
  one_run edge "$r"
  one_run edge-state "$r" --state "$W/state.json"
  one_run level "$r" --mode level
done

kcat_med=$(median <"$W/kcat")
echo "$QUOTES quotes ($TICKERS tickers, key: ticker, uncompressed, kcat -P -K) on a topic of"
echo "$PARTITIONS partitions, 3-broker mock cluster; $WATCHES watches from a file; $RUNS runs each,"
echo "median (min-max); $(nproc) cores, load $load0 at the start, $(load_now) at the end."
echo
echo "| consumer | k quotes/s | % of kcat (medians) | start to assignment, s | assignment to first record, s | CPU s |"
echo "|---|---|---|---|---|---|"
printf "| kcat -C -e (no group; start-up included) | %s | 100 %% | - | - | - |\n" "$(range <"$W/kcat")"
for c in "${configs[@]}"; do
  label="stock-alert --mode ${c%%-*}"
  [ "$c" = edge-state ] && label="stock-alert --mode edge --state FILE"
  rate_med=$(awk '{ print $3 }' "$W/$c" | median)
  printf "| %s | %s | %s %% | %s | %s | %s |\n" "$label" "$(awk '{ print $3 }' "$W/$c" | range)" \
    "$(awk -v a="$rate_med" -v b="$kcat_med" 'BEGIN { printf "%.0f", 100 * a / b }')" \
    "$(awk '{ print $1 }' "$W/$c" | range)" "$(awk '{ print $2 }' "$W/$c" | range)" \
    "$(awk '{ print $4 }' "$W/$c" | range)"
done
echo
echo "stock-alert's rate runs from its first record to its last commit (every quote read, its"
echo "alerts produced and acknowledged, its state saved, its offset committed); the group join"
echo "and the loading of the watches are outside it and shown apart."
