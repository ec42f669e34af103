#!/usr/bin/env bash
# Injection-shaped values ('; DROP TABLE users; --, quotes, backslashes, NUL,
# 10 kB strings) as email or ticker, from argv and from JSON input, are
# rejected by validation (exit 65, field named) or stored verbatim; nothing
# is executed and every table is intact afterwards.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

stockctl user add victim@example.com > /dev/null
stockctl watch add victim@example.com AAPL --low 1 > /dev/null
printf '{"type":"quote","ticker":"AAPL","price":197.48,"ts":"2026-11-24T15:00:00Z"}\n' | stockctl quote ingest > /dev/null
big=$(printf 'x%.0s' $(seq 10000))

values=(
  "'; DROP TABLE users; --"
  "x'); DELETE FROM watches; --@example.com"
  "robert'--@example.com"
  '"quoted"@example.com'
  'back\slash@example.com'
  "a\\\\'b@example.com"
  "$big@example.com"
  "${big}"
  "AAPL'; DROP TABLE quotes;--"
  "AAPL\\"
  "%s%n\$1?"
)
# rejected_or_verbatim DESCRIPTION FIELD KIND VALUE COMMAND...
# Either exit 65 naming FIELD, or exit 0 and the value is stored byte for byte.
rejected_or_verbatim() {
  local d=$1 field=$2 kind=$3 value=$4; shift 4
  local rc=0
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  if [ "$rc" = 65 ]; then
    check "$d: rejected naming $field" grep -qE "^stockctl: ([^ ]*:[0-9]+: )?$field: " "$T/err"
  elif [ "$rc" = 0 ]; then
    local stored
    if [ "$kind" = email ]; then
      stored=$(stockctl user ls --json | jq -r --arg v "$value" 'select(.email == $v) | .email')
    else
      stored=$(stockctl watch ls --json | jq -r --arg v "$value" 'select(.ticker == $v) | .ticker')
    fi
    expect_eq "$d: stored verbatim" "$value" "$stored"
  else
    fail "$d: exit $rc (want 65 or 0): $(head -c 300 "$T/err")"
  fi
}
i=0
for v in "${values[@]}"; do
  i=$((i + 1))
  rejected_or_verbatim "argv email #$i" email email "$v" stockctl user add "$v"
  rejected_or_verbatim "argv ticker #$i" ticker ticker "$v" stockctl watch add victim@example.com "$v" --low 1
  expect_code "quote last #$i" 65 stockctl quote last "$v"
  # As a filter: rejected, or it matches only itself (never every row).
  rc=0; stockctl watch ls --json --email "$v" > "$T/out" 2>/dev/null || rc=$?
  if [ "$rc" = 0 ]; then
    expect_eq "watch ls --email #$i matches only itself" "" "$(jq -r --arg v "$v" 'select(.email != $v) | .email' "$T/out")"
  else
    expect_eq "watch ls --email #$i" 65 "$rc"
  fi
  # The same values inside JSON records.
  jq -cn --arg v "$v" '{type:"user", email:$v}' > "$T/u.jsonl"
  rejected_or_verbatim "json email #$i" email email "$v" stockctl import --strict "$T/u.jsonl"
  jq -cn --arg v "$v" '{type:"watch", email:"victim@example.com", ticker:$v, low:1}' > "$T/w.jsonl"
  rejected_or_verbatim "json ticker #$i" ticker ticker "$v" stockctl import --strict "$T/w.jsonl"
done
# The quote (a valid address) was stored as typed.
expect_eq "a quote in an address is data" "robert'--@example.com" \
  "$(stockctl user ls --json | jq -r 'select(.email | startswith("robert")) | .email')"

# NUL bytes can only come through JSON (\u0000).
printf '%s\n' '{"type":"user","email":"nul\u0000@example.com"}' > "$T/nul.jsonl"
expect_code "NUL in an email" 65 stockctl import --strict "$T/nul.jsonl"
printf '%s\n' '{"type":"watch","email":"victim@example.com","ticker":"AA\u0000PL","low":1}' > "$T/nul2.jsonl"
expect_code "NUL in a ticker" 65 stockctl import --strict "$T/nul2.jsonl"
printf '%s\n' '{"type":"quote","ticker":"AAPL","price":1,"ts":"2026-11-24T16:00:00Z","source":"a\u0000b"}' > "$T/nul3.jsonl"
rc=0; stockctl quote ingest --strict "$T/nul3.jsonl" > /dev/null 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
  expect_eq "NUL in a source: stored verbatim" '"a\u0000b"' "$(stockctl quote last AAPL --json | jq .source)"
else
  expect_eq "NUL in a source: rejected" 65 "$rc"
fi

# Everything is still there.
expect_eq "users table intact" 1 "$(stockctl user ls --json | grep -c victim@example.com)"
expect_eq "watches table intact" "AAPL" "$(stockctl watch ls --email victim@example.com --ticker AAPL --json | jq -r .ticker)"
check "quotes intact" test -n "$(stockctl quote last AAPL --json)"
expect_code "schema intact" 0 stockctl init
finish
