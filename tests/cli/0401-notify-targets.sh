#!/usr/bin/env bash
# stock-notify delivers to several targets at once (Telegram, webhook,
# e-mail, file) against local fakes: what each receives, the delivery
# records, records of other types passed through, a replay delivering
# nothing new (status duplicate), permanent Telegram errors (400 chat not
# found, 403 blocked) going to the dead letter with the raw alert, and the
# exit codes for bad targets and missing secrets.
source "$(dirname "$0")/../lib/common.sh"

# start NAME SCRIPT ARGS...: starts a fake; sets PORT.
start() {
  local name=$1 script=$2
  shift 2
  $PY "$SW_SRC/tests/services/$script" --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
    2> "$T/$name.err" &
  on_exit "kill $!"
  wait_for "$name" 20 test -s "$T/$name.port"
  PORT=$(cat "$T/$name.port")
}
start tg fake_telegram.py --unknown-chats 404404 --blocked-chats 403403
TG="http://127.0.0.1:$PORT"
start hook webhook_sink.py
HOOK="http://127.0.0.1:$PORT/alerts"
start smtp smtp_sink.py
SMTP="smtp://127.0.0.1:$PORT"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN

stockctl user add alice@example.com --telegram-id 111111111 > /dev/null
stockctl user add bob@example.com --telegram-id 222222222 > /dev/null

cat > "$T/in.jsonl" <<'EOF'
{"type":"alert","id":"a000000000000001","email":"alice@example.com","telegram_id":111111111,"ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"low":150,"high":200,"ts":"2026-11-27T14:30:00Z"}
{"type":"quote","ticker":"AAPL","price":201.5,"ts":"2026-11-27T14:30:00Z"}
{"type":"alert","id":"a000000000000002","email":"bob@example.com","telegram_id":222222222,"ticker":"BRK-B","condition":"below","price":399.99,"threshold":400,"low":400,"ts":"2026-11-27T14:31:00Z"}
{"type":"alert","id":"a000000000000003","email":"alice@example.com","telegram_id":111111111,"ticker":"^GSPC","condition":"below","price":4999,"threshold":5000,"low":5000,"high":6000,"ts":"2026-11-27T14:32:00Z"}
EOF
notify() {
  stock-notify --telegram-api "$TG" --to telegram: --to "$HOOK" --to mailto: \
    --smtp "$SMTP" --smtp-insecure --mail-from "Stock Alerts <alerts@example.org>" \
    --to "file:$T/alerts.txt" "$@"
}
code=0
notify < "$T/in.jsonl" > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "exit 0" 0 "$code"
expect_eq "nothing on stderr" "" "$(cat "$T/err")"
expect_eq "one sent record per alert and target" \
  "a000000000000001 email sent 1
a000000000000001 file sent 1
a000000000000001 telegram sent 1
a000000000000001 webhook sent 1
a000000000000002 email sent 1
a000000000000002 file sent 1
a000000000000002 telegram sent 1
a000000000000002 webhook sent 1
a000000000000003 email sent 1
a000000000000003 file sent 1
a000000000000003 telegram sent 1
a000000000000003 webhook sent 1" \
  "$(jq -r 'select(.type == "delivery") | "\(.alert_id) \(.channel) \(.status) \(.attempts)"' "$T/out.jsonl" | sort)"
expect_eq "the quote record passes through unchanged" \
  '{"type":"quote","ticker":"AAPL","price":201.5,"ts":"2026-11-27T14:30:00Z"}' \
  "$(grep '"type":"quote"' "$T/out.jsonl")"

# Telegram: the linked chats, HTML parse mode, escaped text.
expect_eq "telegram: one message per alert to the user's chat" \
  "111111111 <b>AAPL</b> 201.5 is above your high of 200 (band [150, 200])
222222222 <b>BRK-B</b> 399.99 is below your low of 400 (band [400, -])
111111111 <b>^GSPC</b> 4999 is below your low of 5000 (band [5000, 6000])" \
  "$(jq -r 'select(.kind == "message") | "\(.chat_id) \(.text)"' "$T/tg.log")"
expect_eq "telegram: HTML parse mode" "HTML" "$(jq -r 'select(.kind == "message") | .parse_mode' "$T/tg.log" | sort -u)"

# Webhook: the alert record itself, as JSON, with an idempotency key.
expect_eq "webhook: the alert JSON as received" "$(grep '"type":"alert"' "$T/in.jsonl" | jq -cS . | sort)" \
  "$(jq -cS 'select(.kind == "post") | .body' "$T/hook.log" | sort)"
expect_eq "webhook: Content-Type and Idempotency-Key" \
  "application/json a000000000000001
application/json a000000000000002
application/json a000000000000003" \
  "$(jq -r 'select(.kind == "post") | "\(.content_type) \(.idempotency_key)"' "$T/hook.log" | sort)"
expect_eq "webhook: the path of the URL" "/alerts" "$(jq -r .path "$T/hook.log" | sort -u)"

# E-mail: To the user, Subject the ticker and condition, the condition in the body.
expect_eq "email: envelope and headers" \
  "alice@example.com alice@example.com AAPL above 200
bob@example.com bob@example.com BRK-B below 400
alice@example.com alice@example.com ^GSPC below 5000" \
  "$(jq -r '"\(.rcpt_tos[0]) \(.to) \(.subject)"' "$T/smtp.log")"
check "email: the body names condition, price, threshold and band" \
  grep -q 'AAPL is above your high of 200: price 201.5 at 2026-11-27T14:30:00Z.\\r\\nYour band: \[150, 200\]' "$T/smtp.log"
expect_eq "email: From, MIME, charset, CRLF" \
  "Stock Alerts <alerts@example.org> alerts@example.org 1.0 text/plain; charset=\"utf-8\" true" \
  "$(jq -r '"\(.from) \(.mail_from) \(.mime_version) \(.content_type) \(.crlf)"' "$T/smtp.log" | sort -u)"
expect_eq "email: Message-ID from the alert id" "<a000000000000002.stockwatch@example.org>" \
  "$(jq -r 'select(.to == "bob@example.com") | .message_id' "$T/smtp.log")"
check "email: a Date header" grep -q '"date": "[A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] 20[0-9][0-9] ' "$T/smtp.log"

# File: one rendered line per alert.
expect_eq "file: one line per alert" \
  "2026-11-27T14:30:00Z alice@example.com AAPL above 200: price 201.5, band [150, 200]
2026-11-27T14:31:00Z bob@example.com BRK-B below 400: price 399.99, band [400, -]
2026-11-27T14:32:00Z alice@example.com ^GSPC below 5000: price 4999, band [5000, 6000]" \
  "$(cat "$T/alerts.txt")"

# --- a replay delivers nothing new --------------------------------------------
before="$(wc -l < "$T/tg.log") $(wc -l < "$T/hook.log") $(wc -l < "$T/smtp.log") $(wc -l < "$T/alerts.txt")"
code=0
notify < "$T/in.jsonl" > "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "replay: exit 0" 0 "$code"
expect_eq "replay: every alert and target is a duplicate" "12 duplicate" \
  "$(jq -r 'select(.type == "delivery") | .status' "$T/out2.jsonl" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "replay: the fakes got nothing new" "$before" \
  "$(wc -l < "$T/tg.log") $(wc -l < "$T/hook.log") $(wc -l < "$T/smtp.log") $(wc -l < "$T/alerts.txt")"

# --- permanent Telegram errors go to the dead letter at once -------------------
stockctl user add gone@example.com --telegram-id 404404 > /dev/null
stockctl user add blocker@example.com --telegram-id 403403 > /dev/null
cat > "$T/bad.jsonl" <<'EOF'
{"type":"alert","id":"b000000000000001","email":"gone@example.com","ticker":"AAPL","condition":"above","price":201,"threshold":200,"high":200,"ts":"2026-11-27T15:00:00Z"}
{"type":"alert","id":"b000000000000002","email":"blocker@example.com","ticker":"AAPL","condition":"above","price":201,"threshold":200,"high":200,"ts":"2026-11-27T15:00:00Z"}
{"type":"alert","id":"b000000000000003","email":"nochat@example.com","ticker":"AAPL","condition":"above","price":201,"threshold":200,"high":200,"ts":"2026-11-27T15:00:00Z"}
{"type":"alert","id":"b000000000000004","email":"alice@example.com","ticker":"AAPL","condition":"above","price":202,"threshold":200,"high":200,"ts":"2026-11-27T15:00:00Z"}
EOF
code=0
stock-notify --telegram-api "$TG" --to telegram: --dead-letter "$T/dead.jsonl" < "$T/bad.jsonl" \
  > "$T/out3.jsonl" 2> "$T/err3" || code=$?
expect_eq "dead letter: exit 0 (the failures are in the dead letter)" 0 "$code"
# (alice's chat may still be inside the fake's 1 message/s window from the
# first run: then her alert is retried after the 429's retry_after.)
expect_eq "dead letter: statuses" \
  "b000000000000001 failed 1
b000000000000002 failed 1
b000000000000003 failed 0
b000000000000004 sent" \
  "$(jq -r '"\(.alert_id) \(.status)" + (if .status == "failed" then " \(.attempts)" else "" end)' "$T/out3.jsonl" | sort)"
expect_eq "dead letter: rejected records with the reason" \
  "telegram: Bad Request: chat not found (400)
telegram: Forbidden: bot was blocked by the user (403)
telegram: nochat@example.com has no linked Telegram chat (link it with: stockctl user set nochat@example.com --telegram-id CHAT_ID)" \
  "$(jq -r '.error' "$T/dead.jsonl" | sort)"
expect_eq "dead letter: the raw alerts, unchanged" "$(head -3 "$T/bad.jsonl" | sort)" \
  "$(jq -r '.raw' "$T/dead.jsonl" | sort)"
expect_eq "dead letter: program, input, line" "stock-notify stdin 1 rejected" \
  "$(jq -r 'select(.raw | contains("b000000000000001")) | "\(.program) \(.input) \(.line) \(.type)"' "$T/dead.jsonl")"
expect_eq "dead letter: one attempt each for the permanent errors" "1 1" \
  "$(jq -r 'select(.kind == "400" or .kind == "403") | .chat_id' "$T/tg.log" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"

# Without a dead letter the alert goes to stderr and the exit code is 69.
code=0
stock-notify --telegram-api "$TG" --to telegram: < <(sed -n 1p "$T/bad.jsonl" | sed 's/b000000000000001/c000000000000001/') \
  > /dev/null 2> "$T/err4" || code=$?
expect_eq "no dead letter: exit 69" 69 "$code"
check "no dead letter: the reason and the raw alert on stderr" \
  grep -q '^stock-notify: stdin:1: not delivered: telegram: Bad Request: chat not found (400); alert: {"type":"alert","id":"c000000000000001"' "$T/err4"

# --- usage and configuration errors ---------------------------------------------
expect_code "no --to: usage" 64 stock-notify < /dev/null
expect_code "unknown target: usage" 64 stock-notify --to sms:+123 < /dev/null
expect_code "mailto with an address: usage" 64 stock-notify --to mailto:x@example.com < /dev/null
expect_code "a target twice: usage" 64 stock-notify --to telegram: --to telegram: < /dev/null
code=0
env -u STOCKWATCH_TELEGRAM_TOKEN stock-notify --to telegram: < /dev/null 2> "$T/err5" || code=$?
expect_eq "telegram without a token: exit 78" 78 "$code"
check "telegram without a token: says where the token comes from" grep -q STOCKWATCH_TELEGRAM_TOKEN "$T/err5"
echo "987654:FROM-FILE" > "$T/token"
code=0
env -u STOCKWATCH_TELEGRAM_TOKEN stock-notify --telegram-api "$TG" --telegram-token-file "$T/token" \
  --to telegram: < <(sed -n 4p "$T/bad.jsonl" | sed 's/b000000000000004/d000000000000004/') > "$T/out6" 2> "$T/err6" || code=$?
expect_eq "a token from --telegram-token-file is used (the fake refuses it: 401, exit 77)" 77 "$code"
check "token rejected: a clear message" grep -q "the bot token was rejected" "$T/err6"
check "the token never appears on stderr" bash -c "! grep -q FROM-FILE '$T/err6'"
expect_code "mailto without --smtp: configuration" 78 stock-notify --to mailto: --mail-from a@example.org < /dev/null
finish
