#!/usr/bin/env bash
# Consumer lag per partition (stockwatch_consumer_lag{topic,partition}) of
# stock-alert over Kafka: read mid-way (the consumer held up by a reader that
# stops reading its output), every partition is listed and the lags add up to
# the records not yet processed; at the end of --exit-at-eof every partition
# reads 0. A restart in the same group that finds nothing new also reads 0
# (what earlier runs committed counts as consumed), and so does one that
# reads what was produced since.
# Needs STOCKWATCH_TEST_BROKERS (a mock cluster; `make test` starts one).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
command -v promtool > /dev/null || { fail "promtool is missing (make deps installs prometheus)"; finish; }
BS=$STOCKWATCH_TEST_BROKERS
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
id="$(date +%s%N)-$$"
topic="sw-lag-q-$id" group="sw-lag-g-$id"
N=3000 M=500

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

# --- mid-way: the output is a pipe read 300 lines at a steady pace, then not at all ---
mkfifo "$T/alerts"
$PY - "$T/alerts" "$T/alerts.out" "$T/paused" "$T/go" <<'PYEOF' &
import os, sys, time
fifo, out, paused, go = sys.argv[1:5]
n = 0
with open(fifo) as f, open(out, "w") as o:
    for line in f:
        o.write(line)
        n += 1
        if n < 300:
            time.sleep(0.005)  # several checkpoints publish the lag meanwhile
        elif n == 300:
            o.flush()
            open(paused, "w").close()
            while not os.path.exists(go):
                time.sleep(0.05)
PYEOF
reader=$!
on_exit "kill $reader 2> /dev/null"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
alert --exit-at-eof -o "$T/alerts" --metrics "$T/run1.prom" --metrics-listen "127.0.0.1:$port" \
  2> "$T/run1.err" &
pid=$!
on_exit "kill $pid 2> /dev/null"
scrape() { curl -sf "http://127.0.0.1:$port/metrics" > "$1"; }
# held_up: the reader paused, and two scrapes a second apart agree (the
# consumer is blocked on its output, its last checkpoint published).
held_up() {
  [ -e "$T/paused" ] && scrape "$T/m1.prom" && sleep 1 && scrape "$T/m2.prom" &&
    [ "$(lags "$T/m1.prom")" = "$(lags "$T/m2.prom")" ] &&
    [ "$(value "$T/m1.prom" 'stockwatch_records_in_total{type="quote"}')" = \
      "$(value "$T/m2.prom" 'stockwatch_records_in_total{type="quote"}')" ]
}
wait_for "the consumer held up by its reader" 90 held_up
check "mid-way: /metrics parses (promtool)" promcheck "$T/m2.prom"
done_in=$(value "$T/m2.prom" 'stockwatch_records_in_total{type="quote"}')
check "mid-way: some quotes processed, not all ($done_in of $N)" test "${done_in:-0}" -gt 0 -a "${done_in:-0}" -lt "$N"
expect_eq "mid-way: every partition listed" "$(cut -d' ' -f1 "$T/hi")" "$(lags "$T/m2.prom" | cut -d' ' -f1)"
expect_eq "mid-way: the lags add up to the quotes not yet processed" "$((N - ${done_in:-0}))" \
  "$(lags "$T/m2.prom" | awk '{ n += $2 } END { print n + 0 }')"
lags "$T/m2.prom" > "$T/midway"
expect_eq "mid-way: no partition lags by more than it holds, or by less than 0" "" \
  "$(join "$T/hi" "$T/midway" | awk '$3 < 0 || $3 > $2')"
touch "$T/go"
code=0
wait "$pid" || code=$?
expect_eq "run 1: exit 0 at the end of the topic" 0 "$code"
wait "$reader" || true
expect_eq "run 1: one alert per quote" "$N" "$(wc -l < "$T/alerts.out")"
check "run 1: the .prom file parses (promtool)" promcheck "$T/run1.prom"
expect_eq "run 1: all quotes in" "$N" "$(value "$T/run1.prom" 'stockwatch_records_in_total{type="quote"}')"
expect_eq "run 1: at the end, every partition lags by 0" "$zeros" "$(lags "$T/run1.prom")"

# --- a restart in the same group: nothing new ---------------------------------------------
code=0
alert --exit-at-eof -o /dev/null --metrics "$T/run2.prom" 2> "$T/run2.err" || code=$?
expect_eq "run 2: exit 0" 0 "$code"
expect_eq "run 2: no quote read again" 0 "$(value "$T/run2.prom" 'stockwatch_records_in_total{type="quote"}')"
expect_eq "run 2: every partition lags by 0 (committed by run 1)" "$zeros" "$(lags "$T/run2.prom")"

# --- more quotes, and a restart that reads them -------------------------------------------------
quotes "$N" "$M" | sw_cat --validate -i - -o "kafka:$topic" -b "$BS"
code=0
alert --exit-at-eof -o /dev/null --metrics "$T/run3.prom" 2> "$T/run3.err" || code=$?
expect_eq "run 3: exit 0" 0 "$code"
expect_eq "run 3: the new quotes in" "$M" "$(value "$T/run3.prom" 'stockwatch_records_in_total{type="quote"}')"
expect_eq "run 3: every partition lags by 0" "$zeros" "$(lags "$T/run3.prom")"
finish
