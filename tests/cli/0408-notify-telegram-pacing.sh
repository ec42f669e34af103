#!/usr/bin/env bash
# Telegram's per-chat limit is kept with a margin, on the server's clock:
# against a strict fake (it measures the spacing of each chat's messages
# itself, with no tolerance, and answers 429 with retry_after to a message
# that comes too early), 4 chats x 8 alerts at the same per-chat rate as
# the fake's provoke no 429 at all.
source "$(dirname "$0")/../lib/common.sh"

$PY "$SW_SRC/tests/services/fake_telegram.py" --port-file "$T/tg.port" --log "$T/tg.log" \
  --chat-rate 5 --tolerance 0 2> "$T/tg.err" &
on_exit "kill $!"
wait_for "the fake Bot API" 20 test -s "$T/tg.port"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN STOCKWATCH_TELEGRAM_API="http://127.0.0.1:$(cat "$T/tg.port")"

for k in 1 2 3 4; do stockctl user add "u$k@example.com" --telegram-id "10$k" > /dev/null; done
awk 'BEGIN { for (i = 0; i < 32; i++) { k = i % 4 + 1
  printf "{\"type\":\"alert\",\"id\":\"p%015d\",\"email\":\"u%d@example.com\",\"ticker\":\"T%d\",", i, k, i
  printf "\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,\"ts\":\"2026-11-27T14:30:00Z\"}\n", 200 + i } }' \
  > "$T/in.jsonl"
code=0
stock-notify --to telegram: --telegram-chat-rate 5 < "$T/in.jsonl" > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "exit 0" 0 "$code"
expect_eq "32 alerts sent" "32 sent" "$(jq -r .status "$T/out.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "32 messages, 8 per chat" "8 101 8 102 8 103 8 104" \
  "$(jq -r 'select(.kind == "message") | .chat_id' "$T/tg.log" | sort | uniq -c | awk '{printf "%s %s ", $1, $2}' | sed 's/ $//')"
expect_eq "no 429 provoked" 0 "$(jq -r 'select(.kind == "429") | .why' "$T/tg.log" | wc -l)"
finish
