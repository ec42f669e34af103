#!/usr/bin/env bash
# With several webhook targets, delivery records and dead letters name the
# target that answered (the URL without credentials or query values), so
# that one can tell which one failed; the secrets never show.
source "$(dirname "$0")/../lib/common.sh"

start() {
  local name=$1
  shift
  $PY "$SW_SRC/tests/services/webhook_sink.py" --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
    2> "$T/$name.err" &
  on_exit "kill $!"
  wait_for "$name" 20 test -s "$T/$name.port"
  PORT=$(cat "$T/$name.port")
}
start good
GOOD="http://127.0.0.1:$PORT/good"
start gone --status 410
GONE_PORT=$PORT
GONE="http://hookuser:pa55word@127.0.0.1:$PORT/gone?token=s3cr3t&v=2"
SHOWN_GONE="http://127.0.0.1:$PORT/gone?token=***&v=***"

cat > "$T/in.jsonl" <<'JSON'
{"type":"alert","id":"w000000000000001","email":"alice@example.com","ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"high":200,"ts":"2026-11-27T14:30:00Z"}
{"type":"alert","id":"w000000000000002","email":"bob@example.com","ticker":"MSFT","condition":"below","price":99,"threshold":100,"low":100,"ts":"2026-11-27T14:31:00Z"}
JSON
code=0
stock-notify --to "$GOOD" --to "$GONE" --dead-letter "$T/dead.jsonl" < "$T/in.jsonl" \
  > "$T/out.jsonl" 2> "$T/err" || code=$?
expect_eq "a webhook that is gone: exit 78" 78 "$code"
expect_eq "the records name each webhook" \
  "$(printf '%s\n' "w000000000000001 webhook $GOOD sent" "w000000000000001 webhook $SHOWN_GONE failed" \
     "w000000000000002 webhook $GOOD sent" "w000000000000002 webhook $SHOWN_GONE failed" | sort)" \
  "$(jq -r '"\(.alert_id) \(.channel) \(.target) \(.status)"' "$T/out.jsonl" | sort)"
expect_eq "the failed records' error names the webhook" \
  "webhook $SHOWN_GONE: HTTP 410: no webhook at this URL" \
  "$(jq -r 'select(.status == "failed") | .error' "$T/out.jsonl" | sort -u)"
expect_eq "the dead letters name the webhook" \
  "webhook $SHOWN_GONE: HTTP 410: no webhook at this URL" \
  "$(jq -r '.error' "$T/dead.jsonl" | sort -u)"
check "stderr names the webhook" grep -q "webhook http://127.0.0.1:$GONE_PORT/gone?token=\*\*\*&v=\*\*\*: HTTP 410" "$T/err"
check "the good webhook got both alerts" test "$(grep -c '"kind": "post"' "$T/good.log")" -eq 2
for secret in pa55word hookuser s3cr3t; do
  check "no '$secret' in the records, dead letters or stderr" \
    bash -c "! grep -q '$secret' '$T/out.jsonl' '$T/dead.jsonl' '$T/err'"
done
finish
