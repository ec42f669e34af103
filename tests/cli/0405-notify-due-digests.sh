#!/usr/bin/env bash
# Held digests go out on the next run that finds them due, whatever it
# reads: three alerts for a user with a 2 s interval (one sent, two held),
# then, once the window is over, `stock-notify < /dev/null` sends the two
# held alerts as one digest and leaves nothing in the outbox.
source "$(dirname "$0")/../lib/common.sh"

$PY "$SW_SRC/tests/services/fake_telegram.py" --port-file "$T/tg.port" --log "$T/tg.log" 2> "$T/tg.err" &
on_exit "kill $!"
wait_for "the fake Bot API" 20 test -s "$T/tg.port"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN STOCKWATCH_TELEGRAM_API="http://127.0.0.1:$(cat "$T/tg.port")"
stockctl user add alice@example.com --telegram-id 111111111 > /dev/null
stockctl user set alice@example.com --interval 2 > /dev/null

for i in 1 2 3; do
  echo "{\"type\":\"alert\",\"id\":\"d00000000000000$i\",\"email\":\"alice@example.com\",\"ticker\":\"T$i\",\"condition\":\"above\",\"price\":20$i,\"threshold\":200,\"high\":200,\"ts\":\"2026-11-27T14:3$i:00Z\"}"
done > "$T/in.jsonl"
messages() { jq -r 'select(.kind == "message") | .text | gsub("\n"; " | ")' "$T/tg.log"; }

code=0
stock-notify --to telegram: < "$T/in.jsonl" > "$T/out1.jsonl" 2> "$T/err1" || code=$?
expect_eq "first run: exit 0" 0 "$code"
expect_eq "first run: one sent, two held" "d000000000000001 sent
d000000000000002 batched
d000000000000003 batched" "$(jq -r '"\(.alert_id) \(.status)"' "$T/out1.jsonl" | sort)"
expect_eq "first run: one message" 1 "$(messages | wc -l)"

# The window ends 2 s after the first message; wait until it surely has.
sleep 3
code=0
stock-notify --to telegram: < /dev/null > "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "a run reading /dev/null: exit 0" 0 "$code"
expect_eq "a run reading /dev/null: sends the due digest" "d000000000000002 sent
d000000000000003 sent" "$(jq -r '"\(.alert_id) \(.status)"' "$T/out2.jsonl" | sort)"
expect_eq "the digest is one message with both alerts, oldest first" \
  "<b>2 alerts</b> | <b>T2</b> 202 is above your high of 200 (band [-, 200]) | <b>T3</b> 203 is above your high of 200 (band [-, 200])" \
  "$(messages | sed -n 2p)"

# Nothing is left: a third run (the window is long over) sends nothing.
sleep 2.5
code=0
stock-notify --to telegram: < /dev/null > "$T/out3.jsonl" 2> "$T/err3" || code=$?
expect_eq "third run: exit 0" 0 "$code"
expect_eq "third run: nothing left in the outbox to send" "" "$(cat "$T/out3.jsonl")"
expect_eq "two messages in all" 2 "$(messages | wc -l)"
finish
