#!/usr/bin/env bash
# A file target gets each alert exactly once across a crash between writing
# the lines and recording the deliveries. stock-notify records the
# deliveries of a batch in one transaction together with the file's size;
# here the store is locked by another process, so the lines of a batch are
# written but cannot be recorded, and stock-notify is killed (or gives up)
# right there. The next run (Kafka input: the alerts come again) cuts the
# unrecorded lines off, delivers them again, and the file holds every alert
# once. Needs the mock cluster of `make test` (STOCKWATCH_TEST_BROKERS).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
command -v sqlite3 >/dev/null || { echo "FAIL - sqlite3 is not installed (make deps)" >&2; exit 1; }
B=$STOCKWATCH_TEST_BROKERS
topic="sw-test-rollback-$$-$RANDOM"
group="sw-test-rollback-g-$$-$RANDOM"
DB=$T/notify.db
OUT=$T/alerts.txt
KX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X fetch.wait.max.ms=50)

# 300 alerts of 20 users, each line of the file distinct (its price).
awk 'BEGIN { for (i = 0; i < 300; i++) {
  printf "{\"type\":\"alert\",\"id\":\"r%015d\",\"email\":\"u%02d@example.com\",\"ticker\":\"T%d\",", i, i % 20, i % 7
  printf "\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,\"ts\":\"2026-11-27T10:00:00Z\"}\n", 1000 + i } }' \
  >"$T/all.jsonl"
head -n 100 "$T/all.jsonl" >"$T/first.jsonl"
tail -n 200 "$T/all.jsonl" >"$T/rest.jsonl"
# The lines a clean run writes (file input, a store of its own).
stock-notify --db "sqlite:$T/expected.db" --to "file:$T/expected.txt" <"$T/all.jsonl" >/dev/null 2>"$T/expected.err" ||
  fail "the reference run failed: $(cat "$T/expected.err")"
lines() { if [ -f "$OUT" ]; then wc -l <"$OUT"; else echo 0; fi; }

sw_cat -i "$T/first.jsonl" -o "kafka:$topic" -b "$B"
stock-notify -v -i "kafka:$topic" -b "$B" -G "$group" "${KX[@]}" --db "sqlite:$DB" --to "file:$OUT" \
  >"$T/run1.jsonl" 2>"$T/run1.err" &
pid=$!
on_exit "kill -9 $pid"
wait_for "run 1 to write the first 100 alerts" 60 bash -c "[ \$(wc -l <'$OUT' 2>/dev/null || echo 0) -ge 100 ]"
wait_for "run 1 to record them" 30 bash -c \
  "[ \"\$(sqlite3 '$DB' 'SELECT count(*) FROM deliveries' 2>/dev/null)\" = 100 ]"

# Another process takes the store's write lock and keeps it.
mkfifo "$T/locker.in"
sqlite3 "$DB" <"$T/locker.in" >"$T/locker.out" 2>&1 &
locker=$!
on_exit "kill $locker"
exec 7>"$T/locker.in"
on_exit "exec 7>&-"
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&7
wait_for "the locker to hold the store" 10 grep -q locked "$T/locker.out"

sw_cat -i "$T/rest.jsonl" -o "kafka:$topic" -b "$B"
wait_for "run 1 to write lines it cannot record" 30 bash -c "[ \$(wc -l <'$OUT') -gt 100 ]"
sleep 0.2
kill -9 "$pid" 2>/dev/null || true  # or it gave up on the locked store
wait "$pid" 2>/dev/null || true
at_kill=$(lines)
recorded=$(sqlite3 "$DB" 'SELECT count(*) FROM deliveries')
check "run 1 wrote lines it had not recorded ($at_kill lines, $recorded recorded)" test "$at_kill" -gt "$recorded"
echo "ROLLBACK;" >&7
exec 7>&-
wait "$locker" 2>/dev/null || true

code=0
timeout 120 stock-notify -i "kafka:$topic" -b "$B" -G "$group" "${KX[@]}" --db "sqlite:$DB" --to "file:$OUT" \
  --exit-at-eof >"$T/run2.jsonl" 2>"$T/run2.err" || code=$?
expect_eq "run 2 exits 0 at the end of the topic" 0 "$code"
check "run 2 says it cut the unrecorded lines" grep -q "cut the last [0-9]* byte" "$T/run2.err"
expect_eq "the file holds 300 lines" 300 "$(lines)"
expect_eq "no line twice" "" "$(sort "$OUT" | uniq -d | head -n 3)"
expect_eq "the file holds exactly the alerts (as a clean run writes them)" \
  "$(cut -d' ' -f2- "$T/expected.txt" | sort)" "$(cut -d' ' -f2- "$OUT" | sort)"
expect_eq "every alert is recorded once" 300 "$(sqlite3 "$DB" 'SELECT count(DISTINCT alert_id) FROM deliveries')"

# The same crash with a pipe for input cuts nothing: what the lines came
# from is not read again, so they stay.
printf 'stray line written by a crashed run\n' >>"$OUT"
stock-notify --db "sqlite:$DB" --to "file:$OUT" </dev/null >/dev/null 2>"$T/run3.err" ||
  fail "run 3 failed: $(cat "$T/run3.err")"
expect_eq "with a pipe for input the file is left as it is" 301 "$(lines)"
finish
