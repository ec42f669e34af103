#!/usr/bin/env bash
# stockctl status counts dead letters per channel over the last hour and day
# from the store: stock-notify records each alert it gives up on (here a
# webhook that answers 400). One in the last hour makes the status degraded
# (exit 1); older ones are only counted. Webhook URLs show without their
# credentials or query values. Removing the user removes them. Also run on
# PostgreSQL by tests/integration/0102-stockctl-pg.sh (SW_STOCKCTL_DB).
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi
sql() {
  if [ -n "${SW_STOCKCTL_DB:-}" ]; then psql -qAtX -v ON_ERROR_STOP=1 "$SW_STOCKCTL_DB" -c "$1"
  else sqlite3 "${STOCKWATCH_DB#sqlite:}" "$1"; fi
}

stockctl user add alice@example.com > /dev/null
code=0
stockctl status > "$T/ok.txt" || code=$?
expect_eq "nothing wrong yet: exit 0" 0 "$code"
check "no dead letters yet" grep -q '^dead letters: last hour: none; last day: none$' "$T/ok.txt"

$PY "$SW_SRC/tests/services/webhook_sink.py" --port-file "$T/bad.port" --log "$T/bad.log" \
  --status 400 2> "$T/bad.err" &
on_exit "kill $!"
wait_for "the webhook sink" 20 test -s "$T/bad.port"
PORT=$(cat "$T/bad.port")
URL="http://hookuser:pa55word@127.0.0.1:$PORT/hook?token=s3cr3t"
SHOWN="webhook:http://127.0.0.1:$PORT/hook?token=***"

cat > "$T/in.jsonl" <<'JSON'
{"type":"alert","id":"d000000000000001","email":"alice@example.com","ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"high":200,"ts":"2026-11-27T14:30:00Z"}
{"type":"alert","id":"d000000000000002","email":"alice@example.com","ticker":"MSFT","condition":"below","price":99,"threshold":100,"low":100,"ts":"2026-11-27T14:31:00Z"}
JSON
stock-notify --to "$URL" --dead-letter "$T/dead.jsonl" < "$T/in.jsonl" > "$T/out.jsonl" \
  2> "$T/notify.err" || true
expect_eq "the webhook answered 400: both alerts in the dead letter" 2 "$(wc -l < "$T/dead.jsonl")"
expect_eq "the store has both dead letters" 2 "$(sql "SELECT count(*) FROM dead_letters")"

code=0
stockctl status > "$T/bad.txt" || code=$?
expect_eq "dead letters in the last hour: exit 1" 1 "$code"
check "they are counted per channel, last hour and day" \
  grep -qxF "dead letters: last hour: $SHOWN 2; last day: $SHOWN 2" "$T/bad.txt"
check "the reason" grep -q '^status: *degraded: 2 dead letter(s) in the last hour$' "$T/bad.txt"
check "no delivery was counted" grep -q '^deliveries: *last hour: none; last day: none$' "$T/bad.txt"
code=0
stockctl --json status > "$T/bad.json" || code=$?
expect_eq "--json: exit 1 too" 1 "$code"
expect_eq "--json: counts and the reason" \
  "false 2 2 2 dead letter(s) in the last hour" \
  "$(jq -r '"\(.healthy) \(.dead_letters_last_hour["'"$SHOWN"'"]) \(.dead_letters_last_day["'"$SHOWN"'"]) \(.problems | join(","))"' "$T/bad.json")"
for secret in pa55word hookuser s3cr3t; do
  check "no '$secret' in the status" bash -c "! grep -q '$secret' '$T/bad.txt' '$T/bad.json'"
done

# Two hours later they are only counted.
sql "UPDATE dead_letters SET ts = ts - 7200000"
code=0
stockctl status > "$T/old.txt" || code=$?
expect_eq "dead letters older than an hour: exit 0" 0 "$code"
check "counted in the last day only" \
  grep -qxF "dead letters: last hour: none; last day: $SHOWN 2" "$T/old.txt"

stockctl user rm alice@example.com > /dev/null
expect_eq "removing the user removes their dead letters" 0 "$(sql "SELECT count(*) FROM dead_letters")"
finish
