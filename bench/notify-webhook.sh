#!/usr/bin/env bash
# Issue 6 benchmark: stock-notify to a local webhook, alerts/s (target >= 2,000/s).
#
# N alerts (default 20,000) over U users (default 50) are delivered to
# bench/notify_sink (a small C++ epoll HTTP/1.1 keep-alive sink: the Python
# webhook_sink tops out near 1,500 requests/s and would measure itself) with
# --parallel 1, 4 and 16 (concurrent requests to different users; each user's
# alerts stay in order), each a fresh SQLite store (every delivery is recorded
# for de-duplication). hyperfine, median of 3. For reference, 5,000 alerts to
# the Python tests/services/webhook_sink.py, once.
#
# Usage: bench/notify-webhook.sh [N] [USERS]   (SW_BIN: the build's bin dir)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
n=${1:-20000}
users=${2:-50}
need_built stock-notify notify_sink
need_tools hyperfine jq

awk -v n="$n" -v u="$users" 'BEGIN { for (i = 0; i < n; i++) {
  printf "{\"type\":\"alert\",\"id\":\"w%015d\",\"email\":\"u%05d@example.com\",\"ticker\":\"T%d\",", i, i % u, i % 97
  printf "\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,\"ts\":\"2026-11-27T10:00:00Z\"}\n", 1000 + i } }' \
  > "$W/alerts.jsonl"

start_service "$W/sink.port" "$W/sink.err" "$SW_BIN/notify_sink" "$W/sink.port" "$W/sink.count"
sink=$!
url="http://127.0.0.1:$(cat "$W/sink.port")/hook"

cmds=()
for par in 1 4 16; do
  cmds+=(-n "parallel $par" "STOCKWATCH_DB=sqlite:$W/p$par.db $SW_BIN/stock-notify --parallel $par --to $url < $W/alerts.jsonl > $W/out$par.jsonl")
done
hyperfine --runs 3 --style none --prepare "rm -f $W/p*.db*" --export-json "$W/result.json" "${cmds[@]}" >&2
for par in 1 4 16; do
  sent=$(grep -c '"status":"sent"' "$W/out$par.jsonl")
  [ "$sent" -eq "$n" ] || die "parallel $par: $sent sent, want $n"
done
kill -TERM "$sink"
wait "$sink" || true
read -r posts keys < "$W/sink.count"
[ "$posts" -eq $((9 * n)) ] && [ "$keys" -eq "$n" ] ||
  die "the sink got $posts posts / $keys distinct ids, want $((9 * n)) / $n"

# Reference: the Python sink of the tests.
start_service "$W/py.port" "$W/py.err" \
  "$PY" "$SW_SRC/tests/services/webhook_sink.py" --port-file "$W/py.port" --log /dev/null --no-body
head -5000 "$W/alerts.jsonl" > "$W/alerts5k.jsonl"
t0=$(now)
STOCKWATCH_DB="sqlite:$W/py.db" "$SW_BIN/stock-notify" --to "http://127.0.0.1:$(cat "$W/py.port")/hook" \
  < "$W/alerts5k.jsonl" > /dev/null
t1=$(now)

echo "Input: $n alerts over $users users; every alert delivered exactly once per run (checked at the sink)."
echo
echo "| sink | --parallel | alerts | median time | alerts/s |"
echo "|---|---|---|---|---|"
for par in 1 4 16; do
  jq -r --arg c "parallel $par" --argjson n "$n" \
    '.results[] | select(.command == $c) | "| notify_sink (C++, epoll) | \($c | ltrimstr("parallel ")) | \($n) | \(.median * 1000 | floor) ms | \($n / .median | floor) |"' \
    "$W/result.json"
done
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "| webhook_sink.py (Python, reference) | 16 | 5000 | %d ms | %d |\n", (b - a) * 1000, 5000 / (b - a) }'
