#!/usr/bin/env bash
# Consumer lag per partition (stockwatch_consumer_lag{topic,partition}) of
# stock-alert over Kafka: read mid-way (the consumer held up by a reader that
# stops reading its output), every partition is listed and the lags add up to
# the records not yet processed; at the end of --exit-at-eof every partition
# reads 0. A restart in the same group that finds nothing new also reads 0
# (what earlier runs committed counts as consumed); one that reads what was
# produced since lags, mid-way, by the new records it has not processed.
# Needs STOCKWATCH_TEST_BROKERS (a mock cluster; `make test` starts one).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
command -v promtool > /dev/null || { fail "promtool is missing (make deps installs prometheus)"; finish; }
BS=$STOCKWATCH_TEST_BROKERS
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
id="$(date +%s%N)-$$"
topic="sw-lag-q-$id" group="sw-lag-g-$id"
N=3000 M=4000

promcheck() { promtool check metrics < "$1" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; return 1; }; }
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }
# lags FILE: "PARTITION LAG" per line, sorted, for our topic.
lags() {
  awk -v t="stockwatch_consumer_lag{topic=\"$topic\",partition=\"" 'index($1, t) == 1 {
    p = substr($1, length(t) + 1); sub(/"}$/, "", p); print p, $2 }' "$1" | sort -n
}
# quotes FROM COUNT: quotes over 8 tickers whose price crosses the watches
# every time, so that each quote gives one alert.
quotes() {
  awk -v from="$1" -v n="$2" 'BEGIN { for (i = from; i < from + n; i++) { t = i % 8; k = int(i / 8)
    printf "{\"type\":\"quote\",\"ticker\":\"T%d\",\"price\":%d,\"ts\":\"2026-11-27T%02d:%02d:%02dZ\"}\n",
      t, k % 2 ? 210 : 140, 10 + int(i / 3600), int(i / 60) % 60, i % 60 } }'
}
for t in 0 1 2 3 4 5 6 7; do
  echo "{\"type\":\"watch\",\"email\":\"u@example.com\",\"ticker\":\"T$t\",\"low\":150,\"high\":200}"
done > "$T/watches.jsonl"
alert() { stock-alert --watches "$T/watches.jsonl" -i "kafka:$topic" -b "$BS" -G "$group" "${GX[@]}" "$@"; }

quotes 0 "$N" > "$T/q1.jsonl"
sw_cat --validate -i "$T/q1.jsonl" -o "kafka:$topic" -b "$BS"
# Records per partition, as the topic holds them (the high watermarks).
kcat -C -b "$BS" -t "$topic" -o beginning -e -q -f '%p\n' | sort -n | uniq -c | awk '{ print $2, $1 }' > "$T/hi"
P=$(wc -l < "$T/hi")
check "the quotes are spread over several partitions ($P)" test "$P" -ge 2
zeros=$(awk '{ print $1, 0 }' "$T/hi")

# held_run RUN NEW: stock-alert --exit-at-eof in the group, its output a pipe
# read 300 lines at a steady pace (several checkpoints publish the lag), then
# not at all until the checks of the lag mid-way are done; NEW lists the
# records per partition the group has not processed yet ("PARTITION COUNT").
held_run() {
  local run=$1 new=$2 total reader pid code done_in
  total=$(awk '{ n += $2 } END { print n }' "$new")
  rm -f "$T/alerts" "$T/paused" "$T/go"
  mkfifo "$T/alerts"
  $PY - "$T/alerts" "$T/$run.out" "$T/paused" "$T/go" <<'PYEOF' &
import os, sys, time
fifo, out, paused, go = sys.argv[1:5]
n = 0
with open(fifo) as f, open(out, "w") as o:
    for line in f:
        o.write(line)
        n += 1
        if n < 300:
            time.sleep(0.005)
        elif n == 300:
            o.flush()
            open(paused, "w").close()
            while not os.path.exists(go):
                time.sleep(0.05)
PYEOF
  reader=$!
  on_exit "kill $reader 2> /dev/null"
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  alert --exit-at-eof -o "$T/alerts" --metrics "$T/$run.prom" --metrics-listen "127.0.0.1:$port" \
    2> "$T/$run.err" &
  pid=$!
  on_exit "kill $pid 2> /dev/null"
  wait_for "$run: the consumer held up by its reader" 90 held_up
  check "$run mid-way: /metrics parses (promtool)" promcheck "$T/m2.prom"
  done_in=$(value "$T/m2.prom" 'stockwatch_records_in_total{type="quote"}')
  check "$run mid-way: some quotes processed, not all (${done_in:-none} of $total)" \
    test "${done_in:-0}" -gt 0 -a "${done_in:-0}" -lt "$total"
  lags "$T/m2.prom" > "$T/midway"
  expect_eq "$run mid-way: every partition listed" "$(cut -d' ' -f1 "$new")" "$(cut -d' ' -f1 "$T/midway")"
  expect_eq "$run mid-way: the lags add up to the quotes not yet processed" "$((total - ${done_in:-0}))" \
    "$(awk '{ n += $2 } END { print n + 0 }' "$T/midway")"
  expect_eq "$run mid-way: no partition lags by more than its new records, or by less than 0" "" \
    "$(join "$new" "$T/midway" | awk '$3 < 0 || $3 > $2')"
  touch "$T/go"
  code=0
  wait "$pid" || code=$?
  expect_eq "$run: exit 0 at the end of the topic" 0 "$code"
  wait "$reader" || true
  expect_eq "$run: one alert per quote" "$total" "$(wc -l < "$T/$run.out")"
  check "$run: the .prom file parses (promtool)" promcheck "$T/$run.prom"
  expect_eq "$run: all new quotes in" "$total" "$(value "$T/$run.prom" 'stockwatch_records_in_total{type="quote"}')"
  expect_eq "$run: at the end, every partition lags by 0" "$zeros" "$(lags "$T/$run.prom")"
}
scrape() { curl -sf "http://127.0.0.1:$port/metrics" > "$1"; }
# held_up: the reader paused, and two scrapes a second apart agree (the
# consumer is blocked on its output, its last checkpoint published).
held_up() {
  [ -e "$T/paused" ] && scrape "$T/m1.prom" && sleep 1 && scrape "$T/m2.prom" &&
    [ "$(lags "$T/m1.prom")" = "$(lags "$T/m2.prom")" ] &&
    [ "$(value "$T/m1.prom" 'stockwatch_records_in_total{type="quote"}')" = \
      "$(value "$T/m2.prom" 'stockwatch_records_in_total{type="quote"}')" ]
}

# --- a new group: every record is new -------------------------------------------------------
held_run run1 "$T/hi"

# --- a restart in the same group: nothing new ---------------------------------------------
code=0
alert --exit-at-eof -o /dev/null --metrics "$T/run2.prom" 2> "$T/run2.err" || code=$?
expect_eq "run 2: exit 0" 0 "$code"
expect_eq "run 2: no quote read again" 0 "$(value "$T/run2.prom" 'stockwatch_records_in_total{type="quote"}')"
expect_eq "run 2: every partition lags by 0 (committed by run 1)" "$zeros" "$(lags "$T/run2.prom")"

# --- more quotes: a restart starts from what run 1 committed --------------------------------
quotes "$N" "$M" | sw_cat --validate -i - -o "kafka:$topic" -b "$BS"
kcat -C -b "$BS" -t "$topic" -o beginning -e -q -f '%p\n' | sort -n | uniq -c | awk '{ print $2, $1 }' > "$T/hi3"
join "$T/hi3" "$T/hi" | awk '{ print $1, $2 - $3 }' > "$T/new3"
held_run run3 "$T/new3"
finish
