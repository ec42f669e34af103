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
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SW_BIN=${SW_BIN:-$here/../build/bin}
SW_SRC=${SW_SRC:-$here/..}
n=${1:-20000}
users=${2:-50}
tmp=$(mktemp -d /tmp/sw-bench-notify-webhook.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
for tool in "$SW_BIN/stock-notify" "$SW_BIN/notify_sink"; do
  [ -x "$tool" ] || { echo "notify-webhook: $tool not built" >&2; exit 1; }
done
command -v hyperfine > /dev/null || { echo "notify-webhook: hyperfine not installed" >&2; exit 1; }

awk -v n="$n" -v u="$users" 'BEGIN { for (i = 0; i < n; i++) {
  printf "{\"type\":\"alert\",\"id\":\"w%015d\",\"email\":\"u%05d@example.com\",\"ticker\":\"T%d\",", i, i % u, i % 97
  printf "\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,\"ts\":\"2026-11-27T10:00:00Z\"}\n", 1000 + i } }' \
  > "$tmp/alerts.jsonl"

"$SW_BIN/notify_sink" "$tmp/sink.port" "$tmp/sink.count" &
sink=$!
pids+=("$sink")
for _ in $(seq 50); do [ -s "$tmp/sink.port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/sink.port")/hook"

cmds=()
for par in 1 4 16; do
  cmds+=(-n "parallel $par" "STOCKWATCH_DB=sqlite:$tmp/p$par.db $SW_BIN/stock-notify --parallel $par --to $url < $tmp/alerts.jsonl > $tmp/out$par.jsonl")
done
hyperfine --runs 3 --style none --prepare "rm -f $tmp/p*.db*" --export-json "$tmp/result.json" "${cmds[@]}" >&2
for par in 1 4 16; do
  sent=$(grep -c '"status":"sent"' "$tmp/out$par.jsonl")
  [ "$sent" -eq "$n" ] || { echo "notify-webhook: parallel $par: $sent sent, want $n" >&2; exit 1; }
done
kill -TERM "$sink"
wait "$sink" || true
read -r posts keys < "$tmp/sink.count"
[ "$posts" -eq $((9 * n)) ] && [ "$keys" -eq "$n" ] ||
  { echo "notify-webhook: the sink got $posts posts / $keys distinct ids, want $((9 * n)) / $n" >&2; exit 1; }

# Reference: the Python sink of the tests.
"${PY:-/usr/bin/python3}" "$SW_SRC/tests/services/webhook_sink.py" --port-file "$tmp/py.port" --log /dev/null --no-body &
pids+=("$!")
for _ in $(seq 50); do [ -s "$tmp/py.port" ] && break; sleep 0.1; done
head -5000 "$tmp/alerts.jsonl" > "$tmp/alerts5k.jsonl"
t0=$(date +%s.%N)
STOCKWATCH_DB="sqlite:$tmp/py.db" "$SW_BIN/stock-notify" --to "http://127.0.0.1:$(cat "$tmp/py.port")/hook" \
  < "$tmp/alerts5k.jsonl" > /dev/null
t1=$(date +%s.%N)

echo "Input: $n alerts over $users users; every alert delivered exactly once per run (checked at the sink)."
echo
echo "| sink | --parallel | alerts | median time | alerts/s |"
echo "|---|---|---|---|---|"
for par in 1 4 16; do
  jq -r --arg c "parallel $par" --argjson n "$n" \
    '.results[] | select(.command == $c) | "| notify_sink (C++, epoll) | \($c | ltrimstr("parallel ")) | \($n) | \(.median * 1000 | floor) ms | \($n / .median | floor) |"' \
    "$tmp/result.json"
done
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "| webhook_sink.py (Python, reference) | 16 | 5000 | %d ms | %d |\n", (b - a) * 1000, 5000 / (b - a) }'
