#!/usr/bin/env bash
# The shell pipelines in examples/ run as documented.
source "$(dirname "$0")/../lib/common.sh"
ex="$SW_SRC/examples"

# Store-less: replayed day + watches file -> alert messages in a file.
code=0
"$ex/pipelines/store-less.sh" "$ex/quotes-sample.jsonl" "$ex/watches-sample.jsonl" "$T/state" "$T/msgs" \
  > "$T/deliveries" 2> "$T/err" || code=$?
expect_eq "store-less pipeline exits 0" 0 "$code"
expect_eq "store-less: one message per crossing (AAPL x4, BTC-USD x1)" 5 "$(wc -l < "$T/msgs")"
check "store-less: messages name user, ticker and condition" grep -q "alice@example.com BTC-USD above 68500" "$T/msgs"
expect_eq "store-less: every delivery is 'sent'" 5 "$(jq -r 'select(.status=="sent")' "$T/deliveries" | jq -s length)"
check "store-less: no database was made in the default place" test ! -e "$T/data/stockwatch"
# Rerun: the state file remembers the crossings: nothing new.
"$ex/pipelines/store-less.sh" "$ex/quotes-sample.jsonl" "$ex/watches-sample.jsonl" "$T/state" "$T/msgs" > "$T/deliveries2" 2>&1
expect_eq "store-less rerun sends nothing twice" 5 "$(wc -l < "$T/msgs")"

# The cron job on a replayed source with the default SQLite store.
stockctl user add alice@example.com > /dev/null
stockctl watch add alice@example.com AAPL --low 226 --high 229 > /dev/null
code=0
SOURCE="replay:$ex/quotes-sample.jsonl" TARGETS="file:$T/cron-msgs" LOCK="$T/lock" \
  "$ex/pipelines/cron-job.sh" > "$T/cron-out" 2> "$T/cron-err" || code=$?
expect_eq "cron job exits 0" 0 "$code"
expect_eq "cron job: alice's four AAPL crossings" 4 "$(grep -c 'alice@example.com AAPL above 229' "$T/cron-msgs")"
expect_eq "cron job stored the day" "227.85" "$(stockctl --json quote last AAPL | jq -r .price)"
# A second run while the first holds the lock exits 75 (try later).
exec 9> "$T/lock"
flock 9
code=0
SOURCE="replay:$ex/quotes-sample.jsonl" TARGETS="file:$T/cron-msgs" LOCK="$T/lock" \
  "$ex/pipelines/cron-job.sh" > /dev/null 2>&1 || code=$?
expect_eq "an overlapping cron run exits 75" 75 "$code"
exec 9>&-
finish
