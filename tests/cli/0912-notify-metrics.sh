#!/usr/bin/env bash
# stock-notify's metrics through an outage of rate limits: Telegram and a
# webhook answer every message with 429 (retry_after / Retry-After), so the
# alerts wait in the outbox; stockwatch_outbox_size{channel} shows them
# there, then shows the outbox drained once the services answer again;
# stockwatch_rate_limited_total{channel} counts exactly the 429s the fakes
# gave. /metrics and the .prom file written at exit parse (promtool).
source "$(dirname "$0")/../lib/common.sh"
command -v promtool > /dev/null || { fail "promtool is missing (make deps installs prometheus)"; finish; }

promcheck() { promtool check metrics < "$1" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; return 1; }; }
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
count429() { cat "$@" 2> /dev/null | jq -r 'select(.kind == "429") | .kind' | wc -l; }

TG_PORT=$(free_port)
HOOK_PORT=$(free_port)
M_PORT=$(free_port)
# start NAME SCRIPT PORT ARGS...: a fake on a fixed port (so that it can come back there).
start() {
  local name=$1 script=$2 port=$3
  shift 3
  rm -f "$T/$name.port"
  $PY "$SW_SRC/tests/services/$script" --port "$port" --port-file "$T/$name.port" --log "$T/$name.log" \
    "$@" 2> "$T/$name.err" 7>&- &  # not holding the input's write end open
  eval "${name}_pid=$!"
  on_exit "kill $! 2> /dev/null"
  wait_for "$name" 20 test -s "$T/$name.port"
}
stop() { local pid="${1}_pid"; kill "${!pid}"; wait "${!pid}" 2> /dev/null || true; }

export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN
stockctl user add alice@example.com --telegram-id 111111111 > /dev/null
stockctl user add bob@example.com --telegram-id 222222222 > /dev/null
alert() {  # alert ID EMAIL TICKER
  echo "{\"type\":\"alert\",\"id\":\"$1\",\"email\":\"$2\",\"ticker\":\"$3\",\"condition\":\"above\",\"price\":201,\"threshold\":200,\"high\":200,\"ts\":\"2026-11-27T14:30:00Z\"}"
}

# --- rate limited: every message is answered 429 ------------------------------------
start tg1 fake_telegram.py "$TG_PORT" --p429 1 --retry-after 2
start hook1 webhook_sink.py "$HOOK_PORT" --p429 1 --retry-after 2
mkfifo "$T/in"
stock-notify --telegram-api "http://127.0.0.1:$TG_PORT" --to telegram: \
  --to "http://127.0.0.1:$HOOK_PORT/hook" --retries 0 --retry-delay 100ms \
  --metrics "$T/notify.prom" --metrics-listen "127.0.0.1:$M_PORT" \
  < "$T/in" > "$T/out.jsonl" 2> "$T/err" &
pid=$!
on_exit "kill $pid 2> /dev/null"
exec 7> "$T/in"
{ alert m000000000000001 alice@example.com AAA; alert m000000000000002 bob@example.com BBB
  alert m000000000000003 alice@example.com CCC; } >&7

scrape() { curl -sf "http://127.0.0.1:$M_PORT/metrics" > "$T/scrape.prom"; }
# outbox CHANNEL N: /metrics shows N alerts in the outbox for CHANNEL.
outbox() { scrape && [ "$(value "$T/scrape.prom" "stockwatch_outbox_size{channel=\"$1\"}")" = "$2" ]; }
wait_for "3 alerts in the telegram outbox" 60 outbox telegram 3
wait_for "3 alerts in the webhook outbox" 60 outbox webhook 3
check "/metrics parses (promtool)" promcheck "$T/scrape.prom"
check "the fakes did answer 429" test "$(count429 "$T/tg1.log")" -gt 0 -a "$(count429 "$T/hook1.log")" -gt 0
rl_seen() {
  scrape && [ "$(value "$T/scrape.prom" "stockwatch_rate_limited_total{channel=\"$1\"}")" -gt 0 ] 2> /dev/null
}
wait_for "429s from telegram counted" 30 rl_seen telegram
wait_for "429s from the webhook counted" 30 rl_seen webhook
expect_eq "nothing sent yet" "" \
  "$(awk '$1 ~ /^stockwatch_deliveries_total/ && $1 ~ /outcome="sent"/ && $2 > 0' "$T/scrape.prom")"

# --- the services answer again: the outbox drains --------------------------------------
stop tg1
stop hook1
start tg2 fake_telegram.py "$TG_PORT"
start hook2 webhook_sink.py "$HOOK_PORT"
wait_for "the telegram outbox drained" 60 outbox telegram 0
wait_for "the webhook outbox drained" 60 outbox webhook 0
exec 7>&-
code=0
wait "$pid" || code=$?
expect_eq "stock-notify: exit 0 once everything is delivered" 0 "$code"
expect_eq "every alert sent on both targets" "6 sent" \
  "$(jq -r 'select(.status != "batched") | .status' "$T/out.jsonl" | sort | uniq -c | awk '{print $1, $2}')"

check "the .prom file parses (promtool)" promcheck "$T/notify.prom"
for ch in telegram webhook; do
  expect_eq "$ch: the outbox is empty at exit" 0 "$(value "$T/notify.prom" "stockwatch_outbox_size{channel=\"$ch\"}")"
  expect_eq "$ch: sent deliveries" 3 \
    "$(value "$T/notify.prom" "stockwatch_deliveries_total{channel=\"$ch\",outcome=\"sent\"}")"
done
expect_eq "telegram: every 429 of the fakes counted" "$(count429 "$T/tg1.log" "$T/tg2.log")" \
  "$(value "$T/notify.prom" 'stockwatch_rate_limited_total{channel="telegram"}')"
expect_eq "webhook: every 429 of the fakes counted" "$(count429 "$T/hook1.log" "$T/hook2.log")" \
  "$(value "$T/notify.prom" 'stockwatch_rate_limited_total{channel="webhook"}')"
check "the rate-limited counter is a counter" \
  grep -qx '# TYPE stockwatch_rate_limited_total counter' "$T/notify.prom"
check "the outbox size is a gauge" grep -qx '# TYPE stockwatch_outbox_size gauge' "$T/notify.prom"
finish
