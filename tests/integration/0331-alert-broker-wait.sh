#!/usr/bin/env bash
# --broker-wait only gives up on brokers that never answered: with a live
# cluster, a short wait does not stop a consumer whose group join takes
# longer than it (the records are all read and alerted on).
# Needs STOCKWATCH_TEST_BROKERS (a mock cluster; `make test` starts one).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
BS=$STOCKWATCH_TEST_BROKERS
id="$(date +%s%N)-$$"
topic="sw-broker-wait-$id"

echo '{"type":"watch","email":"a@example.com","ticker":"AAPL","low":100,"high":200}' > "$T/watches.jsonl"
cat > "$T/quotes.jsonl" <<'Q'
{"type":"quote","ticker":"AAPL","price":150,"ts":"2026-11-27T10:00:00Z"}
{"type":"quote","ticker":"AAPL","price":250,"ts":"2026-11-27T10:00:01Z"}
Q
sw_cat -i "$T/quotes.jsonl" -o "kafka:$topic" -b "$BS" || fail "producing the quotes"
rc=0
timeout -s KILL 120 stock-alert --watches "$T/watches.jsonl" -i "kafka:$topic" -b "$BS" \
  -G "g-$id" --broker-wait 1s --exit-at-eof -o "$T/alerts.jsonl" 2> "$T/err" || rc=$?
expect_eq "a live cluster: exit 0 even with --broker-wait 1s" 0 "$rc"
expect_eq "the crossing alerted" 1 "$(grep -c '"condition":"above"' "$T/alerts.jsonl" || true)"
finish
