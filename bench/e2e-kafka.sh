#!/usr/bin/env bash
# End to end over Kafka: quotes/s through
#
#   stock-collect --source sim -o kafka:quotes   (1000 tickers, back-to-back cycles)
#   stock-alert -i kafka:quotes -o kafka:alerts  (2000 watches, --watches: no store)
#   stock-notify -i kafka:alerts --to file:      (SQLite store for de-duplication)
#
# on a fresh 3-broker mock cluster (build/bin/mock_kafka, started here; topics
# of 16 partitions), from the collector's start until both consumer groups
# have committed everything (two kafka_offsets --until, started beforehand,
# poll the groups' commits every 10 ms); next to kcat producing the same quote messages
# (same keys) while a kcat consumer reads them, through the same cluster in
# the same run: the transport's limit for one hop. Twice: with librdkafka's
# default fetch.wait.max.ms for every consumer, and with 20 ms (see the notes).
#
#   bench/e2e-kafka.sh [BIN_DIR]
#   env: TICKERS (default 1000), CYCLES (400), RUNS (3: medians and ranges),
#   BENCH_DIR (default /tmp/sw-bench-e2e-kafka), CONSUMER_X (more "-X k=v ..."
#   for stock-alert and stock-notify)
# Prints a markdown table.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-e2e-kafka}
TICKERS=${TICKERS:-1000} CYCLES=${CYCLES:-400} RUNS=${RUNS:-3}
QUOTES=$((TICKERS * CYCLES))
PARTITIONS=16
need_built stock-collect stock-alert stock-notify mock_kafka kafka_offsets
need_tools kcat
mkdir -p "$D"
export XDG_CONFIG_HOME=$W/config XDG_DATA_HOME=$W/data
unset STOCKWATCH_DB STOCKWATCH_CONFIG STOCKWATCH_BROKERS

# ---------------------------------------------------------------- data
TLIST=$(awk -v n="$TICKERS" 'BEGIN { for (i = 0; i < n; i++) printf "%sT%04d", (i ? "," : ""), i }')
SIM=(--no-store --source sim --seed 1 --tickers "$TLIST" --sim-start 2026-01-01T00:00:00Z)
if [ ! -s "$D/keyed.tsv" ] || [ "$(wc -l <"$D/keyed.tsv")" -ne "$QUOTES" ]; then
  "$B/stock-collect" "${SIM[@]}" --count 1 >"$D/first.jsonl"
  # Two watches per ticker, 3 % and 6 % around the walk's first price.
  jq -r '"\(.ticker) \(.price)"' "$D/first.jsonl" | awk '{
    printf "{\"type\":\"watch\",\"email\":\"a%d@example.com\",\"ticker\":\"%s\",\"low\":%.2f,\"high\":%.2f}\n", NR % 50, $1, $2 * 0.97, $2 * 1.03
    printf "{\"type\":\"watch\",\"email\":\"b%d@example.com\",\"ticker\":\"%s\",\"low\":%.2f,\"high\":%.2f}\n", NR % 50, $1, $2 * 0.94, $2 * 1.06
  }' >"$D/watches.jsonl"
  "$B/stock-collect" "${SIM[@]}" --count "$CYCLES" >"$D/quotes.jsonl"
  awk '{ match($0, /"ticker":"[^"]*"/); print substr($0, RSTART + 10, RLENGTH - 11) "\t" $0 }' \
    "$D/quotes.jsonl" >"$D/keyed.tsv"
fi
[ "$(wc -l <"$D/keyed.tsv")" -eq "$QUOTES" ] || die "expected $QUOTES quotes"
# The alerts the pipeline must deliver (quotes keyed by ticker keep each
# ticker's order, so Kafka gives the same as the file run).
NALERTS=$("$B/stock-alert" --watches "$D/watches.jsonl" <"$D/quotes.jsonl" 2>/dev/null | wc -l)

# ---------------------------------------------------------------- cluster
MODES=(default wait20)
topics=()
for m in "${MODES[@]}"; do
  for r in $(seq "$RUNS"); do
    for t in quotes alerts kcat; do topics+=(--topic "$t-$m-$r:$PARTITIONS"); done
  done
done
start_mock "${topics[@]}"
read -r -a extra_x <<<"${CONSUMER_X:-}"
size() { "$B/kafka_offsets" -b "$BS" -t "$1" --lag; }
rate() { awk -v n="$QUOTES" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", n / (b - a) }'; }
cpu_of() { awk '{ print $1 + $2 }' "$1"; }

# one_run MODE RUN: kcat one hop, then the pipeline; appends to $W/*.MODE.
one_run() {
  local m=$1 r=$2 kc notify alert a0 n0 t0 tc t1 nalerts
  local -a fetch_x=() group_x
  # The mock holds a fetch that finds no data for the whole fetch.wait.max.ms
  # (500 ms by default) even when data arrives meanwhile; a real broker
  # answers at once.
  [ "$m" = wait20 ] && fetch_x=(-X fetch.wait.max.ms=20)
  group_x=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 "${fetch_x[@]}" "${extra_x[@]}")

  # kcat: a consumer of all partitions waits, then kcat produces.
  /usr/bin/time -f "%U %S" -o "$W/kcat-c.time" \
    kcat -C -b "$BS" -t "kcat-$m-$r" -o beginning -c "$QUOTES" -q -f '%s\n' "${fetch_x[@]}" >"$W/kcat.out" &
  kc=$!
  pids=("$kc")
  sleep 1  # its metadata and offsets
  t0=$(now)
  /usr/bin/time -f "%U %S" -o "$W/kcat-p.time" kcat -P -b "$BS" -t "kcat-$m-$r" -K $'\t' <"$D/keyed.tsv" ||
    die "kcat -P failed"
  wait "$kc" || die "kcat -C failed"
  t1=$(now)
  pids=()
  [ "$(wc -l <"$W/kcat.out")" -eq "$QUOTES" ] || die "kcat consumed $(wc -l <"$W/kcat.out") of $QUOTES"
  rate "$t0" "$t1" >>"$W/kcat.$m"
  awk '{ s += $1 + $2 } END { print s }' "$W/kcat-p.time" "$W/kcat-c.time" >>"$W/cpu-kcat.$m"

  # The pipeline: consumers first (group joins), then the collector.
  rm -f "$W/alerts.txt" "$W/notify.db"
  "$B/stock-notify" -v -i "kafka:alerts-$m-$r" -b "$BS" -G "gn-$m-$r" "${group_x[@]}" \
    --db "sqlite:$W/notify.db" --to "file:$W/alerts.txt" >/dev/null 2>"$W/notify.err" &
  notify=$!
  "$B/stock-alert" -v -i "kafka:quotes-$m-$r" -o "kafka:alerts-$m-$r" -b "$BS" -G "ga-$m-$r" \
    "${group_x[@]}" --watches "$D/watches.jsonl" 2>"$W/alert.err" &
  alert=$!
  pids=("$notify" "$alert")
  for _ in $(seq 300); do
    grep -q 'assigned partition' "$W/notify.err" && grep -q 'assigned partition' "$W/alert.err" && break
    sleep 0.1
  done
  grep -q 'assigned partition' "$W/alert.err" || die "stock-alert got no partitions in 30 s"
  grep -q 'assigned partition' "$W/notify.err" || die "stock-notify got no partitions in 30 s"
  # The watchers poll the groups' commits from before the start, so their
  # own start-up is not timed.
  "$B/kafka_offsets" -b "$BS" -t "quotes-$m-$r" -G "ga-$m-$r" --until "$QUOTES" --wait 90 \
    >"$W/quotes.done" 2>"$W/quotes.watch.err" &
  qw=$!
  "$B/kafka_offsets" -b "$BS" -t "alerts-$m-$r" -G "gn-$m-$r" --until "$NALERTS" --wait 90 \
    >"$W/alerts.done" 2>"$W/alerts.watch.err" &
  aw=$!
  pids=("$notify" "$alert" "$qw" "$aw")
  sleep 0.5
  a0=$(cpu "$alert")
  n0=$(cpu "$notify")
  t0=$(now)
  /usr/bin/time -f "%U %S %M" -o "$W/collect.time" \
    "$B/stock-collect" "${SIM[@]}" --count "$CYCLES" -o "kafka:quotes-$m-$r" -b "$BS" 2>"$W/collect.err" ||
    die "stock-collect failed: $(tail -n 3 "$W/collect.err")"
  tc=$(now)
  wait "$qw" || die "stock-alert did not commit every quote: $(cat "$W/quotes.watch.err")"
  wait "$aw" || die "stock-notify did not commit every alert: $(cat "$W/alerts.watch.err")"
  # Once every quote is committed, every alert is on the alerts topic.
  t1=$(sort -g "$W/quotes.done" "$W/alerts.done" | tail -n 1)
  awk -v a="$a0" -v b="$(cpu "$alert")" -v c="$n0" -v d="$(cpu "$notify")" -v e="$(cpu_of "$W/collect.time")" \
    'BEGIN { print e + b - a + d - c, e, b - a, d - c }' >>"$W/cpu-e2e.$m"
  # Peak RSS (MB) of collect, alert, notify.
  awk -v c="$(awk '{ print $3 }' "$W/collect.time")" \
    -v a="$(awk '/^VmHWM:/ { print $2 }' "/proc/$alert/status")" \
    -v n="$(awk '/^VmHWM:/ { print $2 }' "/proc/$notify/status")" \
    'BEGIN { printf "%d %d %d\n", c / 1024, a / 1024, n / 1024 }' >>"$W/rss.$m"
  kill -TERM "$alert" "$notify"
  wait "$alert" || die "stock-alert exited $? on SIGTERM"
  wait "$notify" || die "stock-notify exited $? on SIGTERM"
  pids=()
  [ "$(size "quotes-$m-$r")" -eq "$QUOTES" ] || die "quotes-$m-$r holds $(size "quotes-$m-$r") quotes"
  nalerts=$(size "alerts-$m-$r")
  [ "$nalerts" -eq "$NALERTS" ] || die "the alerts topic holds $nalerts alerts, not $NALERTS"
  [ "$(wc -l <"$W/alerts.txt")" -eq "$nalerts" ] ||
    die "the file target has $(wc -l <"$W/alerts.txt") lines for $nalerts alerts"
  echo "$nalerts" >"$W/nalerts"
  rate "$t0" "$t1" >>"$W/e2e.$m"
  rate "$t0" "$tc" >>"$W/collect.$m"
}

for m in "${MODES[@]}"; do
  for f in kcat e2e collect cpu-kcat cpu-e2e rss; do : >"$W/$f.$m"; done
  for r in $(seq "$RUNS"); do one_run "$m" "$r"; done
done

# ---------------------------------------------------------------- report
k() { awk -v r="$1" 'BEGIN { printf "%.0f k", r / 1000 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
col() { awk -v c="$1" '{ print $c }' "$2" | median; }
krange() { awk '{ printf "%.0f\n", $1 / 1000 }' "$1" | range; echo " k"; }  # median (min-max), thousands
echo "$QUOTES quotes ($TICKERS tickers x $CYCLES sim cycles, key: ticker) against $(wc -l <"$D/watches.jsonl") watches:"
echo "$(cat "$W/nalerts") alerts. Topics of $PARTITIONS partitions on a 3-broker mock cluster (one process on"
echo "this machine); $RUNS runs: median (min-max), % of kcat from the medians; $(nproc) cores, load $load0 at the start,"
echo "$(load_now) at the end."
echo
echo "| consumers' fetch.wait.max.ms | what | quotes/s | % of kcat | CPU s | max RSS MB |"
echo "|---|---|---|---|---|---|"
for m in "${MODES[@]}"; do
  label="500 (default)"
  [ "$m" = wait20 ] && label=20
  kr=$(median <"$W/kcat.$m")
  er=$(median <"$W/e2e.$m")
  cr=$(median <"$W/collect.$m")
  printf "| %s | kcat -P while kcat -C reads (one hop: the transport) | %s | 100 %% | %s | - |\n" \
    "$label" "$(krange "$W/kcat.$m" | tr -d '\n')" "$(median <"$W/cpu-kcat.$m")"
  printf "| %s | stock-collect --source sim -o kafka: (while the others run) | %s | %s | %s | %s |\n" \
    "$label" "$(k "$cr")" "$(pct "$cr" "$kr")" "$(col 2 "$W/cpu-e2e.$m")" "$(col 1 "$W/rss.$m")"
  printf "| %s | **end to end**: collect, alert, notify (file target), all committed | **%s** | **%s** | %s (alert %s, notify %s) | alert %s, notify %s |\n" \
    "$label" "$(krange "$W/e2e.$m" | tr -d '\n')" "$(pct "$er" "$kr")" "$(col 1 "$W/cpu-e2e.$m")" "$(col 3 "$W/cpu-e2e.$m")" \
    "$(col 4 "$W/cpu-e2e.$m")" "$(col 2 "$W/rss.$m")" "$(col 3 "$W/rss.$m")"
done
echo
echo "End to end: from the collector's start until stock-alert has committed every quote and"
echo "stock-notify every alert (each alert written to the file target and recorded in SQLite"
echo "first), as seen by two watchers polling the groups' commits every 10 ms. The mock holds a fetch that finds no data for the whole fetch.wait.max.ms, even when"
echo "data arrives meanwhile (a real broker answers at once), so with librdkafka's default every"
echo "consumer that catches up waits up to 500 ms; the second set gives every consumer, kcat's"
echo "too, 20 ms. CPU s: user + system of the programs (kcat: producer + consumer)."
