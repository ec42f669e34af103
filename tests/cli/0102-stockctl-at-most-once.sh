#!/usr/bin/env bash
# --request-id: a repeat prints the same output and exit code and
# changes nothing; 8 processes racing with one id make exactly one effect and
# 8 identical outcomes. Runs on SQLite; tests/integration/0102-stockctl-pg.sh
# runs it again with SW_STOCKCTL_DB pointing at PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

# run NAME ARGS...: stdout to $T/NAME.out, stderr to $T/NAME.err, code to $T/NAME.rc
run() {
  local name=$1; shift
  local rc=0
  stockctl "$@" > "$T/$name.out" 2> "$T/$name.err" || rc=$?
  echo "$rc" > "$T/$name.rc"
}
same_outcome() {  # DESCRIPTION A B
  expect_eq "$1: same stdout" "$(cat "$T/$2.out")" "$(cat "$T/$3.out")"
  expect_eq "$1: same stderr" "$(cat "$T/$2.err")" "$(cat "$T/$3.err")"
  expect_eq "$1: same exit code" "$(cat "$T/$2.rc")" "$(cat "$T/$3.rc")"
}

stockctl init > /dev/null

# Twice in a row: one user, the same output.
run a1 user add alice@example.com --request-id add-alice
run a2 user add alice@example.com --request-id add-alice
same_outcome "user add repeated" a1 a2
expect_eq "first add succeeded" 0 "$(cat "$T/a1.rc")"
expect_eq "the output is the first one" "added user alice@example.com" "$(cat "$T/a2.out")"
expect_eq "one user" 1 "$(stockctl user ls --json | wc -l)"
# Without the id the same command is a new request: it fails (65).
expect_code "user add without the id" 65 stockctl user add alice@example.com

# The id from the environment; --json on the repeat does not change the
# stored output.
STOCKWATCH_REQUEST_ID=watch-1 run w1 watch add alice@example.com AAPL --low 150 --high 200
STOCKWATCH_REQUEST_ID=watch-1 run w2 --json watch add alice@example.com AAPL --low 150 --high 200
same_outcome "watch add repeated (env id)" w1 w2
expect_eq "one watch" 1 "$(stockctl watch ls --json | wc -l)"

# An update repeated after another change does not undo that change.
run s1 --request-id set-1 watch set alice@example.com AAPL --high 210
stockctl watch set alice@example.com AAPL --high 220 > /dev/null
run s2 --request-id set-1 watch set alice@example.com AAPL --high 210
same_outcome "watch set repeated" s1 s2
expect_eq "the later change stays" 220 "$(stockctl watch ls --json | jq .high)"

# A failure is an outcome too: repeated, it fails the same way, even when
# it would succeed now.
run f1 --request-id add-bob-bad user add bob@example.com --telegram-id nope
run f2 --request-id add-bob-bad user add bob@example.com --telegram-id 5
same_outcome "failed request repeated" f1 f2
expect_eq "the failure is 65" 65 "$(cat "$T/f1.rc")"
check "the failure names the field" grep -q "telegram_id" "$T/f2.err"
expect_eq "bob was not added" "" "$(stockctl user ls --json | jq -r 'select(.email=="bob@example.com") | .email')"

# user rm repeated after the user came back: the second rm does nothing.
run r1 --request-id rm-alice user rm alice@example.com
stockctl user add alice@example.com > /dev/null
run r2 --request-id rm-alice user rm alice@example.com
same_outcome "user rm repeated" r1 r2
expect_eq "alice (re-added) is still there" 1 "$(stockctl user ls --json | grep -c alice)"

# 8 processes at once with one id: one effect, 8 identical outcomes.
for i in 1 2 3 4 5 6 7 8; do
  run "race$i" --request-id race-1 --json user add dave@example.com --telegram-id 4242 &
done
wait
for i in 2 3 4 5 6 7 8; do same_outcome "racer $i" race1 "race$i"; done
expect_eq "the race succeeded" 0 "$(cat "$T/race1.rc")"
expect_eq "the race's output is the record" '{"type":"user","email":"dave@example.com","telegram_id":4242,"interval":0}' \
  "$(cat "$T/race1.out")"
expect_eq "exactly one dave" 1 "$(stockctl user ls --json | grep -c dave)"

# 8 processes with 8 ids adding watches for the same user at once: each is
# its own request, all succeed (no lost writes, no busy errors).
for i in 1 2 3 4 5 6 7 8; do
  run "many$i" --request-id "many-$i" watch add dave@example.com "T$i" --low "$i" &
done
wait
for i in 1 2 3 4 5 6 7 8; do expect_eq "concurrent request $i" 0 "$(cat "$T/many$i.rc")"; done
expect_eq "8 watches" 8 "$(stockctl watch ls --email dave@example.com --json | wc -l)"

# Queries take an id too: the repeat prints the first answer.
run q1 --request-id q-1 watch ls --email dave@example.com
stockctl watch rm dave@example.com T1 > /dev/null
run q2 --request-id q-1 watch ls --email dave@example.com
same_outcome "query repeated" q1 q2
expect_code "an over-long request id is a usage error" 64 stockctl --request-id "$(printf 'x%.0s' $(seq 300))" user ls
finish
