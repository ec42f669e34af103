#!/usr/bin/env bash
# Percent-move alerts (condition up/down) through stock-notify: the words
# on Telegram, in the e-mail subject and body, in a file line and in a
# digest; the webhook gets the alert record with reference, change, move
# and within unchanged; an undeliverable move alert goes to the dead letter
# with its raw record, and one with a bad condition is rejected.
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
start tg fake_telegram.py --unknown-chats 404404
TG="http://127.0.0.1:$PORT"
start hook webhook_sink.py
HOOK="http://127.0.0.1:$PORT/alerts"
start smtp smtp_sink.py
SMTP="smtp://127.0.0.1:$PORT"
export STOCKWATCH_TELEGRAM_TOKEN=123456:TEST-TOKEN

stockctl user add alice@example.com --telegram-id 111111111 > /dev/null
stockctl user add bob@example.com --telegram-id 222222222 > /dev/null

# A day change (up 5.23% from the previous close) and a windowed move
# (down 3.1% within an hour, from the window's high).
cat > "$T/in.jsonl" <<'EOF'
{"type":"alert","id":"m000000000000001","email":"alice@example.com","ticker":"AAPL","condition":"up","price":210.45,"threshold":209.98950000000002,"reference":199.99,"change":5.23,"move":5,"ts":"2026-11-27T14:30:00Z"}
{"type":"alert","id":"m000000000000002","email":"bob@example.com","ticker":"BTC-USD","condition":"down","price":61000,"threshold":61061.5,"low":50000,"reference":62950,"change":-3.0977,"move":3,"within":3600,"ts":"2026-11-27T14:31:00Z"}
EOF
code=0
stock-notify --telegram-api "$TG" --to telegram: --to "$HOOK" --to mailto: \
  --smtp "$SMTP" --smtp-insecure --mail-from "Stock Alerts <alerts@example.org>" \
  --to "file:$T/alerts.txt" < "$T/in.jsonl" > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "exit 0" 0 "$code"
expect_eq "nothing on stderr" "" "$(cat "$T/err")"
expect_eq "sent on every target" "8 sent" \
  "$(jq -r 'select(.type == "delivery") | .status' "$T/out.jsonl" | sort | uniq -c | awk '{print $1, $2}')"

expect_eq "telegram: the move, the price, the reference and the watch's move" \
  "111111111 <b>AAPL</b> up 5.2% to 210.45 since the previous close (199.99); your move: 5%
222222222 <b>BTC-USD</b> down 3.1% to 61000 within 1h (from 62950); your move: 3%" \
  "$(jq -r 'select(.kind == "message") | "\(.chat_id) \(.text)"' "$T/tg.log")"

expect_eq "email: the subject says which way and how far" \
  "alice@example.com AAPL up 5.2% to 210.45
bob@example.com BTC-USD down 3.1% to 61000" \
  "$(jq -r '"\(.to) \(.subject)"' "$T/smtp.log")"
expect_eq "email: the body of a day change" \
  "AAPL up 5.2% to 210.45 since the previous close (199.99) at 2026-11-27T14:30:00Z.
Your move: 5%, reached at 209.9895." \
  "$(jq -r 'select(.to == "alice@example.com") | .body' "$T/smtp.log" | tr -d '\r' | head -2)"
expect_eq "email: the body of a windowed move, with the watch's band" \
  "BTC-USD down 3.1% to 61000 within 1h (from 62950) at 2026-11-27T14:31:00Z.
Your move: 3%, reached at 61061.5.
Your band: [50000, -]." \
  "$(jq -r 'select(.to == "bob@example.com") | .body' "$T/smtp.log" | tr -d '\r' | head -3)"

expect_eq "file: one line per move alert" \
  "2026-11-27T14:30:00Z alice@example.com AAPL up 5.2% to 210.45 since the previous close (199.99); your move: 5%
2026-11-27T14:31:00Z bob@example.com BTC-USD down 3.1% to 61000 within 1h (from 62950); your move: 3%" \
  "$(cat "$T/alerts.txt")"

expect_eq "webhook: the alert JSON as received, move fields included" "$(jq -cS . "$T/in.jsonl" | sort)" \
  "$(jq -cS 'select(.kind == "post") | .body' "$T/hook.log" | sort)"
expect_eq "webhook: reference, change, move and within survive" \
  "62950 -3.0977 3 3600" \
  "$(jq -r 'select(.kind == "post") | .body | select(.condition == "down") | "\(.reference) \(.change) \(.move) \(.within)"' "$T/hook.log")"

# --- a digest of move alerts ---------------------------------------------------------
stockctl user add carol@example.com --telegram-id 333333333 > /dev/null
stockctl user set carol@example.com --interval 1 > /dev/null
cat > "$T/digest.jsonl" <<'EOF'
{"type":"alert","id":"n000000000000001","email":"carol@example.com","ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"high":200,"ts":"2026-11-27T15:00:00Z"}
{"type":"alert","id":"n000000000000002","email":"carol@example.com","ticker":"TSLA","condition":"down","price":299.9,"threshold":313.6,"reference":320,"change":-6.28125,"move":2,"within":5400,"ts":"2026-11-27T15:01:00Z"}
{"type":"alert","id":"n000000000000003","email":"carol@example.com","ticker":"NVDA","condition":"up","price":150,"threshold":144.144,"reference":140,"change":7.142857,"move":2.96,"ts":"2026-11-27T15:02:00Z"}
EOF
code=0
stock-notify --telegram-api "$TG" --to telegram: --linger 30s < "$T/digest.jsonl" > "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "digest: exit 0" 0 "$code"
expect_eq "digest: the first sent at once, the two held then sent" \
  "n000000000000001 sent
n000000000000002 batched
n000000000000002 sent
n000000000000003 batched
n000000000000003 sent" "$(jq -r '"\(.alert_id) \(.status)"' "$T/out2.jsonl" | sort)"
expect_eq "digest: one message with both move alerts, each in its own words" \
  "<b>2 alerts</b> | <b>TSLA</b> down 6.3% to 299.9 within 90m (from 320); your move: 2% | <b>NVDA</b> up 7.1% to 150 since the previous close (140); your move: 2.96%" \
  "$(jq -r 'select(.kind == "message" and .chat_id == 333333333) | .text | gsub("\n"; " | ")' "$T/tg.log" | sed -n 2p)"

# --- the dead letter and rejected input -------------------------------------------------
stockctl user add gone@example.com --telegram-id 404404 > /dev/null
cat > "$T/bad.jsonl" <<'EOF'
{"type":"alert","id":"x000000000000001","email":"gone@example.com","ticker":"AAPL","condition":"down","price":190,"threshold":190.5,"reference":200,"change":-5,"move":4.75,"ts":"2026-11-27T16:00:00Z"}
{"type":"alert","id":"x000000000000002","email":"gone@example.com","ticker":"AAPL","condition":"sideways","price":190,"threshold":190.5,"ts":"2026-11-27T16:00:00Z"}
EOF
code=0
stock-notify --telegram-api "$TG" --to telegram: --dead-letter "$T/dead.jsonl" < "$T/bad.jsonl" \
  > "$T/out3.jsonl" 2> "$T/err3" || code=$?
expect_eq "dead letter: exit 0" 0 "$code"
expect_eq "dead letter: the undeliverable move alert failed" "x000000000000001 failed" \
  "$(jq -r 'select(.type == "delivery") | "\(.alert_id) \(.status)"' "$T/out3.jsonl")"
expect_eq "dead letter: the move alert's raw record unchanged, and the bad line" \
  "$(sort "$T/bad.jsonl")" "$(jq -r .raw "$T/dead.jsonl" | sort)"
expect_eq "dead letter: the reasons" \
  "x000000000000001 telegram: Bad Request: chat not found (400)
x000000000000002 condition: must be \"above\", \"below\", \"up\" or \"down\"" \
  "$(jq -r '"\(.raw | fromjson | .id) \(.error)"' "$T/dead.jsonl" | sort)"
check "a bad condition is named on stderr with its line" grep -q '^stock-notify: stdin:2: condition: ' "$T/err3"
finish
