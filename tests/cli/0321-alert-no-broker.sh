#!/usr/bin/env bash
# stock-alert reading a Kafka topic that no broker ever serves does not
# retry forever: after --broker-wait it exits 69 naming the brokers.
source "$(dirname "$0")/../lib/common.sh"

echo '{"type":"watch","email":"a@example.com","ticker":"AAPL","low":100,"high":200}' > "$T/watches.jsonl"
# Nothing listens on port 1.
stock-alert --watches "$T/watches.jsonl" -i kafka:stockwatch.quotes -b 127.0.0.1:1 \
  --broker-wait 2s > "$T/out" 2> "$T/err" &
pid=$!
if wait_for "stock-alert to give up on the brokers" 90 ended "$pid"; then
  rc=0; wait "$pid" || rc=$?
  expect_eq "no broker ever answered: exit 69" 69 "$rc"
  check "says no broker answered, and which" \
    grep -qF "stock-alert: kafka:stockwatch.quotes: no Kafka broker answered within --broker-wait (2000 ms): 127.0.0.1:1" "$T/err"
else
  kill -KILL "$pid"
fi
expect_code "--broker-wait must be a duration" 64 stock-alert --broker-wait soon --watches "$T/watches.jsonl"
finish
