#!/usr/bin/env bash
# A short outage loses nothing: with Telegram and a webhook refusing
# connections, alerts whose retries are spent stay in the store's outbox
# (status batched, the reason in "error") and the run exits 75; once the
# services are back, the next run (reading /dev/null) delivers each alert
# exactly once. A temporary failure older than --retry-for goes to the dead
# letter (the age of the first failure survives restarts).
source "$(dirname "$0")/../lib/common.sh"

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TG_PORT=$(free_port)
HOOK_PORT=$(free_port)
DOWN_PORT=$(free_port)
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN
stockctl user add alice@example.com --telegram-id 111111111 > /dev/null
stockctl user add bob@example.com --telegram-id 222222222 > /dev/null

alert() {  # alert ID EMAIL TICKER
  echo "{\"type\":\"alert\",\"id\":\"$1\",\"email\":\"$2\",\"ticker\":\"$3\",\"condition\":\"above\",\"price\":201,\"threshold\":200,\"high\":200,\"ts\":\"2026-11-27T14:30:00Z\"}"
}
{ alert o000000000000001 alice@example.com AAA; alert o000000000000002 bob@example.com BBB
  alert o000000000000003 alice@example.com CCC; } > "$T/in.jsonl"
notify() {
  stock-notify --telegram-api "http://127.0.0.1:$TG_PORT" --to telegram: \
    --to "http://127.0.0.1:$HOOK_PORT/hook" --retries 2 --retry-delay 20ms \
    --dead-letter "$T/dead.jsonl" "$@"
}

# --- the outage ------------------------------------------------------------------
code=0
notify < "$T/in.jsonl" > "$T/out1.jsonl" 2> "$T/err1" || code=$?
expect_eq "outage: exit 75 (temporary failure)" 75 "$code"
expect_eq "outage: nothing in the dead letter" 0 "$(cat "$T/dead.jsonl" 2> /dev/null | wc -l)"
expect_eq "outage: every alert batched on both targets" "6 batched" \
  "$(jq -r .status "$T/out1.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "outage: the first alert of each user says why (3 attempts)" \
  "o000000000000001 telegram 3 will retry
o000000000000001 webhook 3 will retry
o000000000000002 telegram 3 will retry
o000000000000002 webhook 3 will retry" \
  "$(jq -r 'select(.error != null) | "\(.alert_id) \(.channel) \(.attempts) \(.error | .[0:10])"' "$T/out1.jsonl" | sort)"
check "outage: stderr says the alerts are kept for a later run" grep -q "kept in the outbox" "$T/err1"

# --- the services are back: the next run delivers, whatever it reads ----------------
start() {
  local name=$1 script=$2 port=$3
  $PY "$SW_SRC/tests/services/$script" --port "$port" --port-file "$T/$name.port" --log "$T/$name.log" \
    2> "$T/$name.err" &
  on_exit "kill $!"
  wait_for "$name" 20 test -s "$T/$name.port"
}
start tg fake_telegram.py "$TG_PORT"
start hook webhook_sink.py "$HOOK_PORT"
code=0
notify < /dev/null > "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "recovery: exit 0" 0 "$code"
expect_eq "recovery: every alert sent on both targets" "6 sent" \
  "$(jq -r .status "$T/out2.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "recovery: the webhook got each alert once" \
  "o000000000000001
o000000000000002
o000000000000003" "$(jq -r 'select(.kind == "post") | .body.id' "$T/hook.log" | sort)"
expect_eq "recovery: Telegram got each alert once (alice's two as one digest)" "AAA 1 BBB 1 CCC 1" \
  "$(for t in AAA BBB CCC; do printf '%s %s ' $t "$(jq -r 'select(.kind == "message") | .text' "$T/tg.log" | grep -c "<b>$t</b>")"; done | sed 's/ $//')"
code=0
notify < "$T/in.jsonl" > "$T/out3.jsonl" 2> "$T/err3" || code=$?
expect_eq "replay: exit 0" 0 "$code"
expect_eq "replay: all duplicates" "6 duplicate" \
  "$(jq -r .status "$T/out3.jsonl" | sort | uniq -c | awk '{print $1, $2}')"

# --- too old: the dead letter, also when the age was reached in another run --------
down() {
  stock-notify --to "http://127.0.0.1:$DOWN_PORT/down" --retries 1 --retry-delay 20ms \
    --retry-for 2s --dead-letter "$T/dead2.jsonl" "$@"
}
code=0
alert o000000000000004 alice@example.com DDD | down > "$T/out4.jsonl" 2> "$T/err4" || code=$?
expect_eq "down: exit 75" 75 "$code"
expect_eq "down: batched" "batched" "$(jq -r .status "$T/out4.jsonl")"
sleep 2.5  # beyond --retry-for
code=0
down < /dev/null > "$T/out5.jsonl" 2> "$T/err5" || code=$?
expect_eq "too old: exit 0 (in the dead letter)" 0 "$code"
expect_eq "too old: failed" "o000000000000004 failed" "$(jq -r '"\(.alert_id) \(.status)"' "$T/out5.jsonl")"
# This run made one attempt (the retries were spent before): the count goes on.
check "too old: the attempts of both runs are counted" test "$(jq -r .attempts "$T/out5.jsonl")" -ge 3
check "too old: the dead letter says it gave up" \
  grep -Eq "gave up after [0-9]+ attempts in [0-9]+ s: " <(jq -r .error "$T/dead2.jsonl")
expect_eq "too old: the raw alert is in the dead letter" o000000000000004 "$(jq -r '.raw | fromjson | .id' "$T/dead2.jsonl")"

finish
