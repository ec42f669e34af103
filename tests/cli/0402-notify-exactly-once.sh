#!/usr/bin/env bash
# 1,000 alerts over 50 users reach Telegram, a webhook and e-mail exactly
# once per alert and target, in order per user, while the fakes inject 429s
# (with retry_after / Retry-After), 500s and dropped connections and the
# Telegram fake enforces its rate limits; replaying the stream delivers
# nothing new.
source "$(dirname "$0")/../lib/common.sh"

start() {
  local name=$1 script=$2
  shift 2
  $PY "$SW_SRC/tests/services/$script" --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
    2> "$T/$name.err" &
  on_exit "kill $!"
  wait_for "$name" 20 test -s "$T/$name.port"
  PORT=$(cat "$T/$name.port")
}
FAULTS=(--p429 0.05 --retry-after 1 --p500 0.05 --p-drop 0.05 --seed 7)
# Limits scaled up from Telegram's 30/s and 1/s per chat so the test is
# quick; the client is told the same limits, a little lower.
start tg fake_telegram.py "${FAULTS[@]}" --rate 200 --chat-rate 10
TG="http://127.0.0.1:$PORT"
start hook webhook_sink.py "${FAULTS[@]}"
HOOK="http://127.0.0.1:$PORT/hook"
start smtp smtp_sink.py --p451 0.05
SMTP="smtp://127.0.0.1:$PORT"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN

# 50 users (chat 100000+k), 1,000 alerts: user i % 50, a unique price per alert.
awk 'BEGIN { for (k = 0; k < 50; k++)
  printf "{\"type\":\"user\",\"email\":\"u%02d@example.com\",\"telegram_id\":%d,\"interval\":0}\n", k, 100000 + k }' \
  > "$T/users.jsonl"
stockctl import "$T/users.jsonl" > /dev/null
expect_eq "50 users registered" 50 "$(stockctl --json user ls | wc -l)"
awk 'BEGIN { for (i = 0; i < 1000; i++) {
  k = i % 50; s = 36000 + i
  printf "{\"type\":\"alert\",\"id\":\"e%015d\",\"email\":\"u%02d@example.com\",\"telegram_id\":%d,", i, k, 100000 + k
  printf "\"ticker\":\"T%d\",\"condition\":\"above\",\"price\":%d,\"threshold\":100,\"high\":100,", i % 13, 1000 + i
  printf "\"ts\":\"2026-11-27T%02d:%02d:%02dZ\"}\n", int(s / 3600), int(s / 60) % 60, s % 60 } }' > "$T/alerts.jsonl"

notify() {
  stock-notify --telegram-api "$TG" --telegram-rate 180 --telegram-chat-rate 9 \
    --to telegram: --to "$HOOK" --to mailto: --smtp "$SMTP" --smtp-insecure \
    --mail-from alerts@example.org --retries 12 --retry-delay 20ms --dead-letter "$T/dead.jsonl" "$@"
}
code=0
notify < "$T/alerts.jsonl" > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "exit 0" 0 "$code"
expect_eq "no dead letters" 0 "$(cat "$T/dead.jsonl" 2>/dev/null | wc -l)"
expect_eq "3,000 sent records (1,000 alerts x 3 targets)" "3000 sent" \
  "$(jq -r .status "$T/out.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "one record per alert and target" 3000 "$(jq -r '"\(.alert_id) \(.channel)"' "$T/out.jsonl" | sort -u | wc -l)"

# The faults did happen (else this test proves little).
for kind in 429 500 drop; do
  check "telegram fake injected $kind" test "$(jq -r "select(.kind == \"$kind\") | .kind" "$T/tg.log" | wc -l)" -gt 5
  check "webhook fake injected $kind" test "$(jq -r "select(.kind == \"$kind\") | .kind" "$T/hook.log" | wc -l)" -gt 5
done
check "retries are counted in the records" test "$(jq -r 'select(.attempts > 1) | .alert_id' "$T/out.jsonl" | wc -l)" -gt 50

# expected: "email id" for every alert, in input order.
jq -r '"\(.email) \(.id)"' "$T/alerts.jsonl" > "$T/want"
sort "$T/want" > "$T/want.sorted"
# Telegram: chat -> user, price -> alert (1000 + i).
jq -r 'select(.kind == "message") | "\(.chat_id) \(.text | capture("</b> (?<p>[0-9]+) ").p)"' "$T/tg.log" |
  awk '{ printf "u%02d@example.com e%015d\n", $1 - 100000, $2 - 1000 }' > "$T/got.tg"
jq -r 'select(.kind == "post") | "\(.body.email) \(.body.id)"' "$T/hook.log" > "$T/got.hook"
jq -r '"\(.rcpt_tos[0]) \(.alert_ids)"' "$T/smtp.log" > "$T/got.mail"
for target in tg hook mail; do
  expect_eq "$target: every alert exactly once" "" "$(sort "$T/got.$target" | diff - "$T/want.sorted" | head -5)"
  # In order per user: the arrivals, filtered by user, are the input order.
  bad=""
  for u in u00 u17 u31 u49; do
    if ! diff <(grep "^$u@" "$T/want") <(grep "^$u@" "$T/got.$target") > /dev/null; then bad="$bad $u"; fi
  done
  expect_eq "$target: in order per user (u00 u17 u31 u49)" "" "$bad"
  expect_eq "$target: in order for every user" 0 \
    "$(awk '{ split($2, a, "e"); n = a[2] + 0; if ($1 in last && n <= last[$1]) bad++; last[$1] = n } END { print bad + 0 }' "$T/got.$target")"
done
expect_eq "telegram: HTML accepted by the fake (no 400)" 0 "$(jq -r 'select(.kind == "400") | .kind' "$T/tg.log" | wc -l)"

# --- replay: nothing new ------------------------------------------------------
sizes() { echo "$(wc -l < "$T/got.tg") $(jq -r 'select(.kind == "post")' "$T/hook.log" | grep -c '"kind"') $(wc -l < "$T/smtp.log")"; }
before=$(sizes)
code=0
notify < "$T/alerts.jsonl" > "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "replay: exit 0" 0 "$code"
expect_eq "replay: 3,000 duplicates" "3000 duplicate" \
  "$(jq -r .status "$T/out2.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
jq -r 'select(.kind == "message") | .chat_id' "$T/tg.log" > "$T/got.tg"
expect_eq "replay: the fakes received nothing new" "$before" "$(sizes)"
finish
