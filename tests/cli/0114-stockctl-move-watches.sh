#!/usr/bin/env bash
# stockctl percent-move watches: watch add/set --move, --within, --up/--down
# (--both, --no-move on set), watch ls (table and --json), user show,
# export | import of the move, the usage (64) and data (65) errors, and
# --request-id on these commands. Runs on SQLite; tests/integration/
# 0102-stockctl-pg.sh runs it again against PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

stockctl user add alice@example.com --telegram-id 111 > /dev/null
stockctl user add bob@example.com > /dev/null

# watch add: a day's change, a windowed move with a direction, both with a band.
expect_eq "add --move 5%" "alice@example.com now watches AAPL (move 5% day)" \
  "$(stockctl watch add alice@example.com aapl --move 5%)"
expect_eq "add --move 3% --within 1h --up with a low" \
  "alice@example.com now watches MSFT (low 300, no high, move 3% 1h up)" \
  "$(stockctl watch add alice@example.com MSFT --low 300 --move 3% --within 1h --up)"
expect_eq "add --json: the watch record" \
  '{"type":"watch","email":"bob@example.com","ticker":"IBM","move":2.5,"within":90,"direction":"down"}' \
  "$(stockctl --json watch add bob@example.com IBM --move 2.5 --within 90s --down)"
expect_code "add a band only" 0 stockctl watch add bob@example.com BAND --low 1 --high 2

expect_eq "watch ls --json" \
'{"type":"watch","email":"alice@example.com","ticker":"AAPL","telegram_id":111,"move":5}
{"type":"watch","email":"alice@example.com","ticker":"MSFT","low":300,"telegram_id":111,"move":3,"within":3600,"direction":"up"}
{"type":"watch","email":"bob@example.com","ticker":"BAND","low":1,"high":2}
{"type":"watch","email":"bob@example.com","ticker":"IBM","move":2.5,"within":90,"direction":"down"}' \
  "$(stockctl watch ls --json)"
expect_eq "watch ls: a MOVE column" \
"EMAIL              TICKER  LOW  HIGH  MOVE
alice@example.com  AAPL      -     -  5% day
alice@example.com  MSFT    300     -  3% 1h up
bob@example.com    BAND      1     2  -
bob@example.com    IBM       -     -  2.5% 1m30s down" "$(stockctl watch ls)"
expect_eq "watch ls of bands only: no MOVE column" \
"EMAIL            TICKER  LOW  HIGH
bob@example.com  BAND      1     2" "$(stockctl watch ls --ticker BAND)"
check "user show lists the move" grep -qE '^MSFT +300 +- +3% 1h up$' \
  <(stockctl user show alice@example.com)

# watch set: only what is given changes; --no-move clears the move.
expect_eq "set --within 15m keeps the move" "alice@example.com watches AAPL (move 5% 15m)" \
  "$(stockctl watch set alice@example.com AAPL --within 15m)"
expect_eq "set --down" "alice@example.com watches AAPL (move 5% 15m down)" \
  "$(stockctl watch set alice@example.com AAPL --down)"
expect_eq "set --move 7 keeps the window and direction" \
  "alice@example.com watches AAPL (move 7% 15m down)" \
  "$(stockctl watch set alice@example.com AAPL --move 7)"
expect_eq "set --both --within day" "alice@example.com watches AAPL (move 7% day)" \
  "$(stockctl watch set alice@example.com AAPL --both --within day)"
expect_eq "set --move on a band" "bob@example.com watches BAND (low 1, high 2, move 4% day)" \
  "$(stockctl watch set bob@example.com BAND --move 4%)"
expect_eq "set --no-move" \
  '{"type":"watch","email":"bob@example.com","ticker":"BAND","low":1,"high":2}' \
  "$(stockctl watch set bob@example.com BAND --no-move --json)"
expect_eq "set --no-move on a move-only watch" "bob@example.com watches IBM (no bounds)" \
  "$(stockctl watch set bob@example.com IBM --no-move)"
expect_eq "set --no-move reset the window and direction" \
  '{"type":"watch","email":"bob@example.com","ticker":"IBM"}' \
  "$(stockctl watch ls --ticker IBM --json)"

# Usage errors: 64, with what is wrong.
usage_error() {  # DESCRIPTION MESSAGE COMMAND...
  local d=$1 msg=$2; shift 2
  local rc=0
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  expect_eq "$d: exit 64" 64 "$rc"
  check "$d: says $msg" grep -qF "stockctl: $msg" "$T/err"
}
usage_error "add --within without --move" "--within requires --move" \
  stockctl watch add bob@example.com X --within 1h
usage_error "add --up without --move" "--up requires --move" stockctl watch add bob@example.com X --up
usage_error "add --down without --move" "--down requires --move" \
  stockctl watch add bob@example.com X --low 1 --down
usage_error "add --up --down" "--up excludes --down" \
  stockctl watch add bob@example.com X --move 5 --up --down
usage_error "set --up --down" "--up excludes --down" \
  stockctl watch set alice@example.com MSFT --up --down
usage_error "set --no-move --within" "--within excludes --no-move" \
  stockctl watch set alice@example.com MSFT --no-move --within 1h
usage_error "set --move --no-move" "--move excludes --no-move" \
  stockctl watch set alice@example.com MSFT --move 1 --no-move
usage_error "set with nothing to change" "watch set: nothing to change" \
  stockctl watch set alice@example.com MSFT

# Bad values: 65, naming the field; nothing changes.
field_error() {  # DESCRIPTION FIELD COMMAND...
  local d=$1 field=$2; shift 2
  local rc=0
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  expect_eq "$d: exit 65" 65 "$rc"
  check "$d: names $field" grep -q "^stockctl: $field: " "$T/err"
  check "$d: nothing on stdout" test ! -s "$T/out"
}
field_error "move not a number" move stockctl watch add bob@example.com X --move abc
field_error "move 5%%" move stockctl watch add bob@example.com X --move 5%%
field_error "move 0" move stockctl watch add bob@example.com X --move 0
field_error "move negative" move stockctl watch add bob@example.com X --move -5%
field_error "a fall of 100% or more" move stockctl watch add bob@example.com X --move 100 --down
field_error "within not a duration" within stockctl watch add bob@example.com X --move 5 --within soon
field_error "within over 7 days" within stockctl watch add bob@example.com X --move 5 --within 8d
field_error "within not whole seconds" within stockctl watch add bob@example.com X --move 5 --within 1500ms
field_error "set --within on a watch without a move" within \
  stockctl watch set bob@example.com IBM --within 1h
field_error "set --up on a watch without a move" direction stockctl watch set bob@example.com IBM --up
expect_eq "nothing was added by the failures" 4 "$(stockctl watch ls --json | wc -l)"
expect_eq "MSFT unchanged by the failures" '3 3600 up' \
  "$(stockctl watch ls --ticker MSFT --json | jq -r '"\(.move) \(.within) \(.direction)"')"

# export | import keeps the move; an import replaces it.
stockctl export > "$T/export.jsonl"
check "export has the move" grep -qF '"ticker":"MSFT","low":300,"telegram_id":111,"move":3,"within":3600,"direction":"up"' \
  "$T/export.jsonl"
if [[ "$STOCKWATCH_DB" == sqlite:* ]]; then
  stockctl export | stockctl --db "sqlite:$T/copy.db" import > /dev/null
  expect_eq "export | import into another store" "$(stockctl export)" \
    "$(stockctl --db "sqlite:$T/copy.db" export)"
fi
echo '{"type":"watch","email":"alice@example.com","ticker":"MSFT","move":2,"direction":"down"}' |
  stockctl import > /dev/null
expect_eq "import replaced the band and the move" \
  '{"type":"watch","email":"alice@example.com","ticker":"MSFT","telegram_id":111,"move":2,"direction":"down"}' \
  "$(stockctl watch ls --ticker MSFT --json)"
stockctl import "$T/export.jsonl" > /dev/null
expect_eq "re-importing the export restores it" "$(cat "$T/export.jsonl")" "$(stockctl export)"

# Bad moves in a file: FILE:LINE: field: ..., exit 65, the good lines imported.
cat > "$T/bad.jsonl" <<'JSON'
{"type":"watch","email":"bob@example.com","ticker":"GOOD","move":1.5,"within":600}
{"type":"watch","email":"bob@example.com","ticker":"NEG","move":-1}
{"type":"watch","email":"bob@example.com","ticker":"WIN","within":3600}
{"type":"watch","email":"bob@example.com","ticker":"DIR","move":5,"direction":"sideways"}
{"type":"watch","email":"bob@example.com","ticker":"LONG","move":5,"within":700000}
{"type":"watch","email":"bob@example.com","ticker":"STR","move":"5%"}
JSON
rc=0; stockctl import "$T/bad.jsonl" > "$T/out" 2> "$T/err" || rc=$?
expect_eq "import with bad moves: exit 65" 65 "$rc"
expect_eq "import summary" "imported 0 users and 1 watch, rejected 5 lines" "$(cat "$T/out")"
check "line 2: move" grep -q "^stockctl: $T/bad.jsonl:2: move: " "$T/err"
check "line 3: within without a move" grep -q "^stockctl: $T/bad.jsonl:3: within: " "$T/err"
check "line 4: direction" grep -q "^stockctl: $T/bad.jsonl:4: direction: " "$T/err"
check "line 5: within too long" grep -q "^stockctl: $T/bad.jsonl:5: within: " "$T/err"
check "line 6: move not a number" grep -q "^stockctl: $T/bad.jsonl:6: move: " "$T/err"
expect_eq "the good line imported" "1.5 600" \
  "$(stockctl watch ls --ticker GOOD --json | jq -r '"\(.move) \(.within)"')"

# --request-id: a repeat prints the first outcome and changes nothing; the
# same id with another move is refused.
run() {  # NAME ARGS...
  local name=$1; shift
  local rc=0
  stockctl "$@" > "$T/$name.out" 2> "$T/$name.err" || rc=$?
  echo "$rc" > "$T/$name.rc"
}
run r1 --request-id mv-1 watch add bob@example.com TSLA --move 4% --within 30m --up
stockctl watch set bob@example.com TSLA --move 9 > /dev/null
run r2 --request-id mv-1 watch add bob@example.com TSLA --move 4% --within 30m --up
expect_eq "repeat: same stdout" "$(cat "$T/r1.out")" "$(cat "$T/r2.out")"
expect_eq "repeat: exit 0" "0 0" "$(cat "$T/r1.rc") $(cat "$T/r2.rc")"
expect_eq "repeat: changed nothing" 9 "$(stockctl watch ls --ticker TSLA --json | jq .move)"
run r3 --request-id mv-1 watch add bob@example.com TSLA --move 5% --within 30m --up
expect_eq "same id, another move: 65" 65 "$(cat "$T/r3.rc")"
check "same id, another move: says so" grep -q "was used for a different request" "$T/r3.err"
i=0
for other in "--within 1h" "--down" "--no-move" "--both"; do
  i=$((i + 1))
  run s1 --request-id "set-$i" watch set bob@example.com TSLA $other
  run s2 --request-id "set-$i" watch set bob@example.com TSLA --move 1
  expect_eq "set $other, then --move 1 under its id: 65" 65 "$(cat "$T/s2.rc")"
  check "set $other, then --move 1 under its id: refused" \
    grep -q "was used for a different request" "$T/s2.err"
done
# A request without the move flags has the fingerprint an older stockctl
# gave it, so an id it stored still answers its repeat after an upgrade.
if [[ "$STOCKWATCH_DB" == sqlite:* ]]; then
  stockctl --request-id old-fp watch add alice@example.com FP --low 1 > /dev/null
  expect_eq "fingerprint of a request without move flags is unchanged" \
    "sha256:$(printf '%s' 'command=9:watch add;email=17:alice@example.com;ticker=2:FP;telegram_id=0:;no_telegram=0:;interval=0:;low=1:1;high=0:;no_low=0:;no_high=0:;filter_email=0:;filter_ticker=0:;n=2:10;limit=1:0;plot=0:;strict=0:;dead_letter=0:;' | sha256sum | cut -d' ' -f1)" \
    "$(sqlite3 "${STOCKWATCH_DB#sqlite:}" "SELECT fingerprint FROM requests WHERE id = 'old-fp'")"
fi
finish
