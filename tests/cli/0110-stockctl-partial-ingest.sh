#!/usr/bin/env bash
# stockctl quote ingest stores batch by batch: when a batch cannot be written
# (a full disk; here a trigger the test adds fails every insert of one ticker,
# deterministically, in the second batch), the batches before it stay stored
# and the error says how many quotes that was and where the first one not
# stored is, so the rest can be ingested from there.
source "$(dirname "$0")/../lib/common.sh"
db="sqlite:$T/q.db"
stockctl --db "$db" init >/dev/null
awk 'BEGIN { for (i = 1; i <= 12000; i++) {
  t = (i == 7500) ? "FULL" : "AAPL"
  printf "{\"type\":\"quote\",\"ticker\":\"%s\",\"price\":%d,\"ts\":\"2025-01-01T00:00:00Z\"}\n", t, 100 + i % 50 } }' |
  awk '{ s = NR; sub(/00:00:00Z/, sprintf("%02d:%02d:%02dZ", int(s / 3600), int(s / 60) % 60, s % 60)); print }' \
  >"$T/quotes.jsonl"
sqlite3 "$T/q.db" "CREATE TRIGGER disk_full BEFORE INSERT ON quotes WHEN NEW.ticker = 'FULL'
  BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"

code=0
stockctl --db "$db" quote ingest "$T/quotes.jsonl" >"$T/out" 2>"$T/err" || code=$?
check "the failed ingest exits non-zero" test "$code" -ne 0
check "it says how many were stored before the failure" \
  grep -q "stored 5000 quotes before the failure" "$T/err"
check "and where the first quote not stored is" \
  grep -q "the first quote not stored is at $T/quotes.jsonl:5001\$" "$T/err"
expect_eq "the quotes before that line are in the store" 5000 \
  "$(sqlite3 "$T/q.db" "SELECT count(*) FROM quotes")"
expect_eq "the last one stored is line 5000's" "$(sed -n 5000p "$T/quotes.jsonl" | sed 's/.*"ts":"\([^"]*\)".*/\1/')" \
  "$(stockctl --db "$db" quote last AAPL --json | sed 's/.*"ts":"\([^"]*\)".*/\1/')"

# The rest, from the line named, once the disk has room again.
sqlite3 "$T/q.db" "DROP TRIGGER disk_full"
tail -n +5001 "$T/quotes.jsonl" | stockctl --db "$db" quote ingest >/dev/null
expect_eq "after ingesting the rest, every quote is stored" 12000 \
  "$(sqlite3 "$T/q.db" "SELECT count(*) FROM quotes")"
finish
