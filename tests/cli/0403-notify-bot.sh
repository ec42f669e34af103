#!/usr/bin/env bash
# stock-notify bot against the fake Bot API: /start tells a chat its id and
# link, /set N changes the linked user's interval (an unlinked chat changes
# nothing), the update offset survives restarts (SIGTERM and kill -9 in the
# middle of a conversation) so no update is handled twice; then alerts for
# that user are batched into one digest per window and only the linked chat
# gets them; /stop holds alerts and /start releases them as one digest.
source "$(dirname "$0")/../lib/common.sh"

$PY "$SW_SRC/tests/services/fake_telegram.py" --port-file "$T/tg.port" --log "$T/tg.log" \
  --updates "$T/updates.jsonl" 2> "$T/tg.err" &
on_exit "kill $!"
wait_for "the fake Bot API" 20 test -s "$T/tg.port"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN STOCKWATCH_TELEGRAM_API="http://127.0.0.1:$(cat "$T/tg.port")"
ALICE=111111111 OTHER=222222222

stockctl user add alice@example.com --telegram-id $ALICE > /dev/null
stockctl watch add alice@example.com AAPL --low 150 --high 200 > /dev/null

update() { echo "{\"update_id\":$1,\"chat_id\":$2,\"text\":\"$3\"}" >> "$T/updates.jsonl"; }
# One line per reply (newlines in a reply shown as \n).
replies() { jq -r "select(.kind == \"message\" and .chat_id == $1) | .text | gsub(\"\n\"; \"\\\\n\")" "$T/tg.log"; }
nreplies() { replies "$1" | grep -c . || true; }
has_replies() { [ "$(nreplies "$1")" -ge "$2" ]; }

# --- /start, /set from a linked and an unlinked chat; --once --------------------
update 1 $ALICE "/start"
update 2 $ALICE "/set 2"
update 3 $OTHER "/set 5"
update 4 $OTHER "/start"
expect_code "bot --once handles the pending updates and exits" 0 stock-notify bot --once
expect_eq "/start (linked): the chat id and the user" 1 \
  "$(replies $ALICE | sed -n 1p | grep -c "chat (id <code>$ALICE</code>) is linked to alice@example.com")"
expect_eq "/set 2: confirmed" "OK: at most one message every 2 s; alerts in between arrive together as one digest." \
  "$(replies $ALICE | sed -n 2p)"
expect_eq "/set 2: the interval is stored" 2 "$(stockctl --json user show alice@example.com | jq -r 'select(.type == "user") | .interval')"
check "/set from an unlinked chat: nothing changed, how to link" \
  grep -q "Nothing changed. This chat (id <code>$OTHER</code>) is not linked.*stockctl user set YOUR-EMAIL --telegram-id $OTHER" <(replies $OTHER | sed -n 1p)
check "/start from an unlinked chat: its id and how to link" \
  grep -q "Hello! This chat (id <code>$OTHER</code>) is not linked" <(replies $OTHER | sed -n 2p)
expect_eq "the offset is kept in the store: a second run handles nothing again" 0 \
  "$(stock-notify bot --once; jq -r 'select(.kind == "message")' "$T/tg.log" | grep -c '"kind"' | awk '{print $1 - 4}')"
expect_eq "the second run asked from offset 5" 5 \
  "$(jq -r 'select(.kind == "getUpdates") | .offset' "$T/tg.log" | tail -1)"

# --- restarts in the middle of a conversation ------------------------------------
stock-notify bot --poll-timeout 1s 2> "$T/bot1.err" &
bot=$!
update 5 $ALICE "/status"
wait_for "the /status reply" 30 has_replies $ALICE 3
kill -TERM $bot
code=0; wait $bot || code=$?
expect_eq "SIGTERM: the bot exits 0" 0 "$code"
check "/status lists the watch and the interval" grep -q "<b>AAPL</b> \[150, 200\]" <(replies $ALICE | sed -n 3p)

update 6 $ALICE "/stop"
stock-notify bot --poll-timeout 1s 2> "$T/bot2.err" &
bot=$!
wait_for "the /stop reply" 30 has_replies $ALICE 4
kill -9 $bot
wait $bot 2> /dev/null || true
update 7 $ALICE "/start"
stock-notify bot --poll-timeout 1s 2> "$T/bot3.err" &
bot=$!
wait_for "the /start reply" 30 has_replies $ALICE 5
sleep 1.5  # one more long poll: a replay of an update would show up now
kill -TERM $bot
wait $bot || true
expect_eq "every update was answered exactly once across three runs" "5 2" "$(nreplies $ALICE) $(nreplies $OTHER)"
expect_eq "the replies follow the commands" "start set status stop start" \
  "$(replies $ALICE | sed -E 's/^This chat .* is linked to .*/start/; s/^OK: .*/set/; s/^Linked to .*/status/; s/^Paused\..*/stop/' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the offsets asked for never go back" "" \
  "$(jq -r 'select(.kind == "getUpdates") | .offset' "$T/tg.log" | awk 'NR > 1 && $1 < last { print "back: " last " -> " $1 } { last = $1 }')"
check "/start after /stop says held alerts follow" grep -q "held while paused follow as one digest" <(replies $ALICE | sed -n 5p)

# --- alerts: one digest per window, only to the linked chat -----------------------
alert() {  # alert ID PRICE [TELEGRAM_ID]
  echo "{\"type\":\"alert\",\"id\":\"$1\",\"email\":\"alice@example.com\",\"telegram_id\":${3:-$ALICE},\"ticker\":\"AAPL\",\"condition\":\"above\",\"price\":$2,\"threshold\":200,\"low\":150,\"high\":200,\"ts\":\"2026-11-27T14:30:00Z\"}"
}
{ alert f000000000000001 201; alert f000000000000002 202 $OTHER; alert f000000000000003 203; } > "$T/part1"
{ alert f000000000000004 204; alert f000000000000005 205; } > "$T/part2"
before=$(jq -r 'select(.kind == "message") | .t' "$T/tg.log" | wc -l)
code=0
{ cat "$T/part1"; sleep 3; cat "$T/part2"; } | stock-notify --to telegram: --linger 10s > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "notify: exit 0" 0 "$code"
jq -c "select(.kind == \"message\")" "$T/tg.log" | tail -n +$((before + 1)) > "$T/alerts.log"
expect_eq "the other chat got no alert (the store's link wins over the alert's copy)" 0 \
  "$(jq -r "select(.chat_id == $OTHER) | .text" "$T/alerts.log" | wc -l)"
expect_eq "all five alerts reached alice's chat, each once, in order" "201 202 203 204 205" \
  "$(jq -r .text "$T/alerts.log" | grep -oE '</b> 20[0-9]' | sed 's/<\/b> //' | tr '\n' ' ' | sed 's/ $//')"
nmsg=$(wc -l < "$T/alerts.log")
check "batched: fewer messages ($nmsg) than alerts" test "$nmsg" -lt 5
check "batched: at least two messages (the first at once, then digests)" test "$nmsg" -ge 2
expect_eq "the first alert went out at once, alone" 1 "$(jq -r .text "$T/alerts.log" | head -1 | grep -c '^<b>AAPL</b> 201 ')"
check "a digest carries several alerts" grep -q '<b>[2-9] alerts</b>' <(jq -r .text "$T/alerts.log")
expect_eq "at most one message per 2 s window" "" \
  "$(jq -r .t "$T/alerts.log" | awk 'NR > 1 && $1 - last < 1.9 { print "gap " $1 - last } { last = $1 }')"
expect_eq "records: five sent, the held ones reported batched first" "5 $((5 - 1))" \
  "$(jq -r 'select(.status == "sent") | .alert_id' "$T/out.jsonl" | wc -l) $(jq -r 'select(.status == "batched") | .alert_id' "$T/out.jsonl" | wc -l)"

# --- /stop holds alerts; /start releases them as one digest -----------------------
update 8 $ALICE "/stop"
stock-notify bot --once
before=$(jq -r 'select(.kind == "message" and .chat_id == '$ALICE')' "$T/tg.log" | grep -c '"kind"')
{ alert f000000000000006 206; alert f000000000000007 207; } | stock-notify --to telegram: > "$T/out2.jsonl"
expect_eq "paused: both alerts held (batched), none sent" "batched batched" \
  "$(jq -r .status "$T/out2.jsonl" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "paused: nothing reached the chat" "$before" \
  "$(jq -r 'select(.kind == "message" and .chat_id == '$ALICE')' "$T/tg.log" | grep -c '"kind"')"
update 9 $ALICE "/start"
stock-notify bot --once
stock-notify --to telegram: --linger 10s < /dev/null > "$T/out3.jsonl"
expect_eq "after /start: the held alerts went out as one digest" "<b>2 alerts</b>" \
  "$(replies $ALICE | tail -1 | grep -oE '^<b>2 alerts</b>')"
check "the digest holds both, in order" grep -q '</b> 206 .*</b> 207 ' <(replies $ALICE | tail -1)
expect_eq "records: both sent" "sent sent" "$(jq -r .status "$T/out3.jsonl" | tr '\n' ' ' | sed 's/ $//')"
finish
