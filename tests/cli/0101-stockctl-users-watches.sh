#!/usr/bin/env bash
# stockctl user/watch commands: tables and --json, options before or after
# the subcommand, field-named validation errors (exit 65), user rm removes
# everything of the user.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

expect_code "init" 0 stockctl init
check "init names the database" grep -Eq "^database ready: .* \(schema version [0-9]+\)$" <(stockctl init)

expect_code "user add with telegram id" 0 stockctl user add alice@example.com --telegram-id 111111111
# Options before and after the subcommand mean the same.
out1=$(stockctl --json user add bob@Example.COM)
expect_eq "user add --json prints the user record (domain lower-cased)" \
  '{"type":"user","email":"bob@example.com","interval":0}' "$out1"
expect_code "watch add, --json after the subcommand" 0 stockctl watch add alice@example.com aapl --low 150 --high 200 --json
expect_code "watch add, --json before" 0 stockctl --json watch add alice@example.com btc-usd --high 70000
expect_code "watch add index" 0 stockctl watch add bob@example.com '^gspc' --low 4000

# watch ls --json prints exactly the watch records stock-alert --watches reads.
stockctl watch ls --json > "$T/watches.jsonl"
expect_eq "watch ls --json" \
'{"type":"watch","email":"alice@example.com","ticker":"AAPL","low":150,"high":200,"telegram_id":111111111}
{"type":"watch","email":"alice@example.com","ticker":"BTC-USD","high":70000,"telegram_id":111111111}
{"type":"watch","email":"bob@example.com","ticker":"^GSPC","low":4000}' "$(cat "$T/watches.jsonl")"
expect_eq "--json before and after give the same" "$(stockctl --json watch ls)" "$(cat "$T/watches.jsonl")"
expect_eq "watch ls --ticker" "bob@example.com" "$(stockctl watch ls --ticker '^gspc' --json | jq -r .email)"
expect_eq "watch ls --email" "2" "$(stockctl watch ls --email alice@example.com --json | wc -l)"

# Human tables: a header and aligned columns.
stockctl watch ls > "$T/table"
expect_eq "watch ls table header" "EMAIL              TICKER    LOW   HIGH" "$(head -1 "$T/table")"
check "watch ls table row" grep -qE '^alice@example.com +BTC-USD +- +70000$' "$T/table"
stockctl user ls > "$T/users"
check "user ls shows the telegram id and watch count" grep -qE '^alice@example.com +111111111 +0 \(no limit\) +2$' "$T/users"
check "user show lists the watches" grep -qE '^AAPL +150 +200$' <(stockctl user show alice@example.com)
expect_eq "user show --json: the user, then the watches" 3 "$(stockctl user show alice@example.com --json | wc -l)"

# Changes.
expect_code "watch set --high" 0 stockctl watch set alice@example.com AAPL --high 250
expect_code "watch set --no-low" 0 stockctl watch set alice@example.com AAPL --no-low
expect_eq "band after set" '{"type":"watch","email":"alice@example.com","ticker":"AAPL","high":250,"telegram_id":111111111}' \
  "$(stockctl watch ls --email alice@example.com --ticker AAPL --json)"
expect_code "user set --interval 5m" 0 stockctl user set bob@example.com --interval 5m --telegram-id 222
expect_eq "user set result" '{"type":"user","email":"bob@example.com","telegram_id":222,"interval":300}' \
  "$(stockctl user ls --json | grep bob)"
expect_code "user set --no-telegram" 0 stockctl user set bob@example.com --no-telegram
expect_eq "unlinked" '{"type":"user","email":"bob@example.com","interval":300}' "$(stockctl user ls --json | grep bob)"

# Validation: exit 65 and the message names the field.
field_error() {  # DESCRIPTION FIELD COMMAND...
  local d=$1 field=$2; shift 2
  local rc=0
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  expect_eq "$d: exit 65" 65 "$rc"
  check "$d: names $field" grep -q "^stockctl: $field: " "$T/err"
  check "$d: nothing on stdout" test ! -s "$T/out"
}
field_error "bad email" email stockctl user add not-an-email
field_error "duplicate user" email stockctl user add alice@example.com
field_error "telegram id taken" telegram_id stockctl user add carol@example.com --telegram-id 111111111
field_error "telegram id not a number" telegram_id stockctl user add carol@example.com --telegram-id abc
field_error "bad ticker" ticker stockctl watch add alice@example.com 'AA PL' --low 1
field_error "low not a number" low stockctl watch add alice@example.com MSFT --low abc
field_error "low not finite" low stockctl watch add alice@example.com MSFT --low inf
field_error "high below low" high stockctl watch add alice@example.com MSFT --low 300 --high 200
field_error "high equal to low" high stockctl watch add alice@example.com MSFT --low 300 --high 300
field_error "set --low makes the band invalid: blames low" low stockctl watch set alice@example.com AAPL --low 300
field_error "watch for an unknown user" email stockctl watch add nobody@example.com MSFT --low 1
field_error "duplicate watch" ticker stockctl watch add alice@example.com AAPL --low 1
field_error "no such watch" ticker stockctl watch rm alice@example.com MSFT
field_error "bad interval" interval stockctl user set bob@example.com --interval soon
field_error "no such user" email stockctl user show nobody@example.com
expect_eq "nothing was added by the failures" 3 "$(stockctl watch ls --json | wc -l)"
expect_code "user set with nothing to change is a usage error" 64 stockctl user set bob@example.com
expect_code "--low with --no-low is a usage error" 64 stockctl watch set alice@example.com AAPL --low 1 --no-low
expect_code "unknown subcommand" 64 stockctl user frobnicate

# user rm removes the user and all related data.
expect_code "watch rm" 0 stockctl watch rm bob@example.com '^GSPC'
expect_eq "bob has no watches" "" "$(stockctl watch ls --email bob@example.com --json)"
out=$(stockctl user rm alice@example.com)
expect_eq "user rm says what went" "removed user alice@example.com and 2 watches" "$out"
expect_eq "alice's watches are gone" "" "$(stockctl watch ls --email alice@example.com --json)"
expect_code "alice is gone" 65 stockctl user show alice@example.com
expect_eq "the telegram id is free again" 0 "$(stockctl user add carol@example.com --telegram-id 111111111 >/dev/null; echo $?)"
expect_eq "users left" "bob@example.com carol@example.com" "$(stockctl user ls --json | jq -r .email | xargs)"
# Removing the same user again fails (65), changes nothing.
expect_code "user rm again" 65 stockctl user rm alice@example.com
finish
