#!/usr/bin/env bash
# Messages that say what is wrong: an unknown subcommand is named, a zero
# duration must be positive, a huge number is out of range, a band is blamed
# on the bound just set, a secret on the command line is never echoed; blank
# input lines are skipped by every program; an alert without an id is bad
# input (dead letter); a secret file others can read gets a warning.
source "$(dirname "$0")/../lib/common.sh"

# err COMMAND...: runs COMMAND, prints "CODE: its stderr".
err() { local code=0; "$@" > /dev/null 2> "$T/stderr" || code=$?; echo "$code: $(cat "$T/stderr")"; }

# --- usage errors --------------------------------------------------------------
expect_eq "an unknown subcommand is named, with the ones there are" \
  '64: stockctl: user: unknown subcommand "frob" (one of add, set, rm, ls or show; see stockctl user --help)' \
  "$(err stockctl user frob)"
expect_eq "an unknown command is named" \
  '64: stockctl: unknown command "frob" (one of init, user, watch, quote, import, export or status; see stockctl --help)' \
  "$(err stockctl frob)"
expect_eq "a missing subcommand: which ones there are" \
  '64: stockctl: watch: a subcommand is required (one of add, set, rm or ls; see stockctl watch --help)' \
  "$(err stockctl watch)"
expect_eq "--every 0: must be positive" \
  '64: stock-collect: --every: must be positive: "0" (e.g. 500ms, 30s, 5m, 1h)' \
  "$(err stock-collect --every 0 --no-store --tickers AAPL)"
expect_eq "--every soon: not a duration" \
  '64: stock-collect: --every: not a duration: "soon" (e.g. 500ms, 30s, 5m, 1h)' \
  "$(err stock-collect --every soon --no-store --tickers AAPL)"

# --- stockctl data errors ------------------------------------------------------------
stockctl user add alice@example.com > /dev/null
expect_eq "--low 1e400: out of range, not 'not a number'" \
  '65: stockctl: low: out of range: 1e400' "$(err stockctl watch add alice@example.com AAPL --low 1e400)"
expect_eq "--telegram-id too big: out of range" \
  '65: stockctl: telegram_id: out of range: 99999999999999999999' \
  "$(err stockctl user set alice@example.com --telegram-id 99999999999999999999)"
expect_eq "--low abc: not a number" \
  '65: stockctl: low: not a number: abc' "$(err stockctl watch add alice@example.com AAPL --low abc)"
stockctl watch add alice@example.com AAPL --low 150 --high 200 > /dev/null
expect_eq "watch set --low above high blames low" \
  '65: stockctl: low: must be less than high (250 >= 200)' \
  "$(err stockctl watch set alice@example.com AAPL --low 250)"
expect_eq "watch set --high below low blames high" \
  '65: stockctl: high: must be greater than low (100 <= 150)' \
  "$(err stockctl watch set alice@example.com AAPL --high 100)"
expect_eq "watch add with both out of order blames high" \
  '65: stockctl: high: must be greater than low (100 <= 150)' \
  "$(err stockctl watch add alice@example.com MSFT --low 150 --high 100)"

# --- a secret on the command line is never echoed --------------------------------------
TOKEN=123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0
for args in "--telegram-token $TOKEN" "--telegram-token=$TOKEN" "--smtp-password $TOKEN" "--to file:/dev/null $TOKEN"; do
  # shellcheck disable=SC2086  # split on purpose
  out=$(err stock-notify $args < /dev/null)
  expect_eq "stock-notify $(sed "s/$TOKEN/TOKEN/" <<<"$args"): exit 64" 64 "${out%%:*}"
  check "stock-notify $(sed "s/$TOKEN/TOKEN/" <<<"$args"): the token is not echoed" \
    bash -c "! grep -qF -e '$TOKEN' -e 'AAHfiqks' '$T/stderr'"
done
out=$(err stock-notify --telegram-token 123:abc)
check "a short token is not echoed either" bash -c "! grep -qF 123:abc '$T/stderr'"
check "...and the message says where secrets come from" grep -q "use the environment or a --\*-file option" "$T/stderr"
out=$(err stock-notify --to file:/dev/null --webhook-format bogus)
check "other usage errors still show what was typed" grep -q "bogus" "$T/stderr"

# --- blank lines are skipped everywhere ------------------------------------------------
Q='{"type":"quote","ticker":"AAPL","price":210,"ts":"2026-11-27T14:30:00Z"}'
W='{"type":"watch","email":"bob@example.com","ticker":"AAPL","low":150,"high":200}'
printf '\n%s\n \t\r\n\n' "$W" > "$T/watches.jsonl"
printf '\n%s\n\n   \n' "$Q" > "$T/quotes.jsonl"
code=0
stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" > "$T/alerts.jsonl" 2> "$T/alert.err" || code=$?
expect_eq "stock-alert: blank lines are no error (exit 0 without a dead letter)" "0: " "$code: $(cat "$T/alert.err")"
expect_eq "stock-alert: the quote between blank lines makes its alert" "above" "$(jq -r .condition "$T/alerts.jsonl")"
{ echo; cat "$T/alerts.jsonl"; printf '\n\n'; } > "$T/alerts-blank.jsonl"
code=0
stock-notify --to "file:$T/delivered.jsonl" -i "$T/alerts-blank.jsonl" > "$T/deliveries" 2> "$T/notify.err" || code=$?
expect_eq "stock-notify: blank lines are no error" "0: " "$code: $(cat "$T/notify.err")"
expect_eq "stock-notify: the alert between them is delivered" "sent" "$(jq -r .status "$T/deliveries")"
code=0
printf '\n%s\n\n' "$Q" | stockctl quote ingest > /dev/null 2> "$T/ingest.err" || code=$?
expect_eq "stockctl quote ingest: blank lines are no error" "0: " "$code: $(cat "$T/ingest.err")"
code=0
printf '\n\n' | stock-collect --source replay --no-store > /dev/null 2> "$T/replay.err" || code=$?
expect_eq "stock-collect --source replay: blank lines are no error" "0: " "$code: $(cat "$T/replay.err")"

# --- an alert without an id is bad input -------------------------------------------------
jq -c 'del(.id)' "$T/alerts.jsonl" > "$T/no-id.jsonl"
code=0
stock-notify --to "file:$T/delivered2.jsonl" -i "$T/no-id.jsonl" --dead-letter "$T/dead.jsonl" \
  > "$T/deliveries2" 2> "$T/noid.err" || code=$?
expect_eq "alert without id: with a dead letter, exit 0" 0 "$code"
check "alert without id: the error names the field and line" grep -q "^stock-notify: $T/no-id.jsonl:1: id: missing" "$T/noid.err"
expect_eq "alert without id: kept in the dead letter" "$(cat "$T/no-id.jsonl")" "$(jq -r .raw "$T/dead.jsonl")"
expect_eq "alert without id: nothing delivered" 0 "$(cat "$T/delivered2.jsonl" 2> /dev/null | wc -l)"
expect_code "alert without id: without a dead letter, exit 65" 65 \
  stock-notify --to "file:$T/delivered3.jsonl" -i "$T/no-id.jsonl" -q 2> /dev/null

# --- a secret file others can read gets a warning, as ssh gives ---------------------
printf 'x\n' > "$T/secret"
for f in token password; do
  chmod 644 "$T/secret"
  code=0
  stock-notify --to "file:$T/d-$f" --"$( [ $f = token ] && echo telegram-token-file || echo smtp-password-file )" "$T/secret" \
    < /dev/null > /dev/null 2> "$T/perm.err" || code=$?
  expect_eq "world-readable $f file: still runs" 0 "$code"
  check "world-readable $f file: a warning naming the file and mode" \
    grep -q "^stock-notify: warning: $T/secret: the secret file can be read by any user (mode 0644); chmod 600 $T/secret\$" "$T/perm.err"
  chmod 600 "$T/secret"
  stock-notify --to "file:$T/d-$f" --"$( [ $f = token ] && echo telegram-token-file || echo smtp-password-file )" "$T/secret" \
    < /dev/null > /dev/null 2> "$T/perm2.err"
  expect_eq "a $f file only its owner can read: no warning" "" "$(cat "$T/perm2.err")"
done
chmod 602 "$T/secret"
stock-notify --to "file:$T/d" --smtp-password-file "$T/secret" < /dev/null > /dev/null 2> "$T/perm3.err"
check "a secret file others can write: a warning too" grep -q "can be changed by any user (mode 0602)" "$T/perm3.err"
finish
