#!/usr/bin/env bash
# SIGTERM does not wait for Kafka brokers that are down: stock-collect waits
# for the acknowledgements at most --stop-timeout after the signal, then exits
# 75 saying how many records were not acknowledged (they were stored first).
source "$(dirname "$0")/../lib/common.sh"

# Nothing listens on port 1: no broker will ever acknowledge.
stock-collect --source sim --seed 7 --tickers AAPL,MSFT --count 1 \
  -o kafka:stockwatch.quotes -b 127.0.0.1:1 --stop-timeout 1s 2> "$T/err" &
pid=$!
# The quotes are stored before they are produced: once both are in the
# store, the program waits for the brokers.
wait_for "the quotes in the store" 60 bash -c 'stockctl quote last MSFT > /dev/null 2>&1'
kill -TERM "$pid"
if wait_for "stock-collect to stop after SIGTERM" 60 ended "$pid"; then
  rc=0; wait "$pid" || rc=$?
  expect_eq "stopped with records not acknowledged: exit 75" 75 "$rc"
  check "says how many records were not acknowledged, and that they are stored" \
    grep -qE "stock-collect: kafka:stockwatch.quotes: stopped by SIGTERM with 2 record\(s\) not acknowledged by the brokers within --stop-timeout \(1000 ms\); they are in the store" "$T/err"
else
  kill -KILL "$pid"
fi
check "both quotes are in the store" stockctl quote last AAPL
finish
