#!/usr/bin/env bash
# stock-notify --to mailto: against a local SMTP sink (aiosmtpd) that
# requires AUTH: mails arrive with the right To, Subject and body; the
# password comes from STOCKWATCH_SMTP_PASSWORD or --smtp-password-file, an
# OAuth 2.0 token from --smtp-oauth2-token-file (XOAUTH2); a wrong password
# gives a clear error, every alert in the dead letter and exit 77; a server
# without STARTTLS is refused unless --smtp-insecure (loopback only): exit 78;
# a password set for a server that offers no AUTH gets a warning.
source "$(dirname "$0")/../lib/common.sh"

printf 'correct horse\n' > "$T/pw"
printf 'ya29.test-token\n' > "$T/oauth"
$PY "$SW_SRC/tests/services/smtp_sink.py" --port-file "$T/smtp.port" --log "$T/smtp.log" \
  --auth-user bob@example.org --auth-password-file "$T/pw" --oauth2-token-file "$T/oauth" 2> "$T/smtp.err" &
on_exit "kill $!"
wait_for "the SMTP sink" 20 test -s "$T/smtp.port"
# The user name is in the URL (its @ percent-encoded), the password is not.
SMTP="smtp://bob%40example.org@127.0.0.1:$(cat "$T/smtp.port")"

alerts() {  # alerts PREFIX: two alerts with ids PREFIX1, PREFIX2
  echo "{\"type\":\"alert\",\"id\":\"${1}1\",\"email\":\"alice@example.com\",\"ticker\":\"AAPL\",\"condition\":\"below\",\"price\":189.52,\"threshold\":190,\"low\":190,\"high\":205,\"ts\":\"2025-06-13T14:15:00Z\"}"
  echo "{\"type\":\"alert\",\"id\":\"${1}2\",\"email\":\"carol@example.net\",\"ticker\":\"BTC-USD\",\"condition\":\"above\",\"price\":70100.5,\"threshold\":70000,\"high\":70000,\"ts\":\"2025-06-13T14:16:00Z\"}"
}
mail() { stock-notify --to mailto: --smtp "$SMTP" --smtp-insecure --mail-from "Stock Alerts <alerts@example.org>" "$@"; }

# --- the password from the environment --------------------------------------------
code=0
alerts a00000000000000 | STOCKWATCH_SMTP_PASSWORD="correct horse" mail > "$T/out1" 2> "$T/err1" || code=$?
expect_eq "env password: exit 0" 0 "$code"
expect_eq "env password: two sent records" "email sent
email sent" "$(jq -r '"\(.channel) \(.status)"' "$T/out1")"
expect_eq "To and envelope recipient: the alert's email; Subject: ticker and condition" \
  "alice@example.com alice@example.com AAPL below 190
carol@example.net carol@example.net BTC-USD above 70000" \
  "$(jq -r '"\(.to) \(.rcpt_tos | join(",")) \(.subject)"' "$T/smtp.log")"
expect_eq "the body: condition, price, threshold, band" \
  "AAPL is below your low of 190: price 189.52 at 2025-06-13T14:15:00Z.
Your band: [190, 205]." "$(jq -r 'select(.to == "alice@example.com") | .body' "$T/smtp.log" | tr -d '\r' | head -2)"
expect_eq "the sender authenticated as the URL's user" "bob@example.org" "$(jq -r .auth_user "$T/smtp.log" | sort -u)"
expect_eq "envelope sender is the --mail-from address" "alerts@example.org" "$(jq -r .mail_from "$T/smtp.log" | sort -u)"
check "a server that offers AUTH: no warning about it" bash -c "! grep -q 'offers no AUTH' '$T/err1'"

# --- the password from a file -------------------------------------------------------
code=0
alerts b00000000000000 | env -u STOCKWATCH_SMTP_PASSWORD stock-notify --to mailto: --smtp "$SMTP" --smtp-insecure \
  --mail-from alerts@example.org --smtp-password-file "$T/pw" > "$T/out2" 2> "$T/err2" || code=$?
expect_eq "password file: exit 0" 0 "$code"
expect_eq "password file: both delivered" 4 "$(wc -l < "$T/smtp.log")"

# --- XOAUTH2 ----------------------------------------------------------------------
code=0
alerts c00000000000000 | env -u STOCKWATCH_SMTP_PASSWORD stock-notify --to mailto: --smtp "$SMTP" --smtp-insecure \
  --mail-from alerts@example.org --smtp-oauth2-token-file "$T/oauth" > "$T/out3" 2> "$T/err3" || code=$?
expect_eq "XOAUTH2: exit 0" 0 "$code"
expect_eq "XOAUTH2: both delivered" 6 "$(wc -l < "$T/smtp.log")"

# --- a wrong password ------------------------------------------------------------------
code=0
{ alerts d00000000000000; alerts e00000000000000; } |
  STOCKWATCH_SMTP_PASSWORD="wrong staple" mail --dead-letter "$T/dead.jsonl" > "$T/out4" 2> "$T/err4" || code=$?
expect_eq "wrong password: exit 77" 77 "$code"
check "wrong password: a clear message naming the SMTP reply and where the password comes from" \
  grep -q "^stock-notify: email: authentication failed: .*(SMTP 535) (check the user in --smtp and STOCKWATCH_SMTP_PASSWORD" "$T/err4"
check "wrong password: the password is never printed" bash -c "! grep -q 'wrong staple' '$T/err4' '$T/dead.jsonl' '$T/out4'"
expect_eq "wrong password: every alert is in the dead letter, with its raw record" \
  "d000000000000001 d000000000000002 e000000000000001 e000000000000002" \
  "$(jq -r '.raw | fromjson | .id' "$T/dead.jsonl" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "wrong password: the reason in each" "1" \
  "$(jq -r .error "$T/dead.jsonl" | sed 's/: .*//' | sort -u | wc -l)"
check "wrong password: the reason is the authentication failure" grep -q '"error":"email: authentication failed' "$T/dead.jsonl"
expect_eq "wrong password: four failed records" "4 failed" "$(jq -r .status "$T/out4" | sort | uniq -c | awk '{print $1, $2}')"
expect_eq "wrong password: nothing was delivered" 6 "$(wc -l < "$T/smtp.log")"

# --- STARTTLS is required ------------------------------------------------------------
code=0
alerts f00000000000000 | STOCKWATCH_SMTP_PASSWORD="correct horse" stock-notify --to mailto: --smtp "$SMTP" \
  --mail-from alerts@example.org --dead-letter "$T/dead2.jsonl" > "$T/out5" 2> "$T/err5" || code=$?
expect_eq "no STARTTLS: exit 78" 78 "$code"
check "no STARTTLS: says so and what to do" grep -q "does not offer STARTTLS.*--smtp-insecure" "$T/err5"
expect_eq "no STARTTLS: both alerts in the dead letter" 2 "$(wc -l < "$T/dead2.jsonl")"
expect_eq "no STARTTLS: nothing sent in clear text" 6 "$(wc -l < "$T/smtp.log")"
code=0
stock-notify --to mailto: --smtp smtp://bob@mail.example.org:587 --smtp-insecure --mail-from alerts@example.org \
  < /dev/null 2> "$T/err6" || code=$?
expect_eq "--smtp-insecure to a remote host: exit 78" 78 "$code"
check "--smtp-insecure to a remote host: says why" grep -q "only allowed for localhost/127.0.0.1" "$T/err6"
expect_code "a password in the --smtp URL: exit 78" 78 \
  stock-notify --to mailto: --smtp "smtp://bob:$(cat "$T/pw" | tr -d ' ')@127.0.0.1:25" --mail-from alerts@example.org < /dev/null
expect_code "no --mail-from: exit 78" 78 stock-notify --to mailto: --smtp "$SMTP" < /dev/null

# --- a password, but the server offers no AUTH ---------------------------------------
$PY "$SW_SRC/tests/services/smtp_sink.py" --port-file "$T/open.port" --log "$T/open.log" 2> "$T/open.err" &
on_exit "kill $!"
wait_for "the SMTP sink without AUTH" 20 test -s "$T/open.port"
OPEN="smtp://bob%40example.org@127.0.0.1:$(cat "$T/open.port")"
code=0
alerts g00000000000000 | STOCKWATCH_SMTP_PASSWORD="correct horse" stock-notify --to mailto: --smtp "$OPEN" \
  --smtp-insecure --mail-from alerts@example.org > "$T/out7" 2> "$T/err7" || code=$?
expect_eq "no AUTH offered: the mail still goes out (exit 0)" "0 2" "$code $(wc -l < "$T/open.log")"
expect_eq "no AUTH offered: one warning that the password is not used" \
  "stock-notify: warning: email: $OPEN offers no AUTH: mail goes out without logging in and the SMTP password is not used (is --smtp the right server?)" \
  "$(cat "$T/err7")"
check "no AUTH offered: the password is never printed" bash -c "! grep -q 'correct horse' '$T/err7' '$T/out7'"
code=0
alerts h00000000000000 | env -u STOCKWATCH_SMTP_PASSWORD stock-notify --to mailto: --smtp "$OPEN" \
  --smtp-insecure --mail-from alerts@example.org > /dev/null 2> "$T/err8" || code=$?
expect_eq "no password, no AUTH: no warning" "0 " "$code $(cat "$T/err8")"
finish
