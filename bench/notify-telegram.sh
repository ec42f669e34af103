#!/usr/bin/env bash
# Issue 6 benchmark: stock-notify to the fake Telegram Bot API with
# Telegram's limits enforced by the fake (30 messages in any second overall,
# one per second per chat): sustained messages/s and 429s received (target 0).
#
# N alerts (default 900) over U users/chats (default 60), one message each
# (no interval), default client limits (--telegram-rate 29,
# --telegram-chat-rate 1). Messages/s is measured at the fake, from its
# first to its last accepted message.
#
# Usage: bench/notify-telegram.sh [N] [USERS]   (SW_BIN: the build's bin dir)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
n=${1:-900}
users=${2:-60}
need_built stock-notify
need_tools jq

awk -v n="$n" -v u="$users" 'BEGIN { for (i = 0; i < n; i++) {
  printf "{\"type\":\"alert\",\"id\":\"t%015d\",\"email\":\"u%05d@example.com\",\"telegram_id\":%d,", i, i % u, 100000 + i % u
  printf "\"ticker\":\"T%d\",\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,", i % 97, 1000 + i
  printf "\"ts\":\"2026-11-27T10:00:00Z\"}\n" } }' > "$W/alerts.jsonl"

start_service "$W/tg.port" "$W/tg.err" "$PY" "$SW_SRC/tests/services/fake_telegram.py" \
  --port-file "$W/tg.port" --log "$W/tg.log" --rate 30 --chat-rate 1

t0=$(now)
STOCKWATCH_DB="sqlite:$W/db" STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN "$SW_BIN/stock-notify" \
  --telegram-api "http://127.0.0.1:$(cat "$W/tg.port")" --to telegram: < "$W/alerts.jsonl" > "$W/out.jsonl"
t1=$(now)
sent=$(grep -c '"status":"sent"' "$W/out.jsonl")
[ "$sent" -eq "$n" ] || die "$sent sent, want $n"

read -r msgs first last <<< "$(jq -r 'select(.kind == "message") | .t' "$W/tg.log" | sort -n |
  awk 'NR == 1 { f = $1 } { l = $1; c++ } END { print c, f, l }')"
r429=$(jq -r 'select(.kind == "429") | .why' "$W/tg.log" | wc -l)
# The busiest second at the fake (sliding, from message times).
peak=$(jq -r 'select(.kind == "message") | .t' "$W/tg.log" | sort -n |
  awk '{ t[NR] = $1 } END { j = 1; m = 0; for (i = 1; i <= NR; i++) { while (t[i] - t[j] >= 1) j++; if (i - j + 1 > m) m = i - j + 1 } print m }')

echo "Input: $n alerts over $users chats; fake limits 30 messages/s overall (any sliding second), 1/s per chat;"
echo "client defaults --telegram-rate 29 --telegram-chat-rate 1."
echo
echo "| messages | wall time | sustained messages/s (at the fake) | busiest second | 429s received |"
echo "|---|---|---|---|---|"
awk -v m="$msgs" -v f="$first" -v l="$last" -v a="$t0" -v b="$t1" -v r="$r429" -v p="$peak" \
  'BEGIN { printf "| %d | %.1f s | %.1f | %d | %d |\n", m, b - a, (m - 1) / (l - f), p, r }'
