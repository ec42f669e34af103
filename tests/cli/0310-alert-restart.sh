#!/usr/bin/env bash
# stock-alert stopped mid-stream (SIGTERM while it reads a fifo) and started
# again on the rest of the stream: together the two runs write exactly the
# alerts of one uninterrupted run (no repeat, no miss), with the edge states
# kept in the store (SQLite; PostgreSQL too when STOCKWATCH_TEST_PG is set,
# as `make test` does) and in a --state file.
source "$(dirname "$0")/../lib/common.sh"

# 400 quotes on three tickers (random walks that cross the bands many times)
# and six watches: two users per ticker, both sides, hysteresis-free.
$PY - "$T" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(7)
p = {"AAA": 100.0, "BBB": 50.0, "CCC": 10.0}
with open(d + "/quotes.jsonl", "w") as f:
    for i in range(400):
        t = random.choice(sorted(p))
        p[t] = max(0.5, p[t] * (1 + random.gauss(0, 0.02)))
        f.write('{"type":"quote","ticker":"%s","price":%.2f,"ts":"2026-11-27T%02d:%02d:%02dZ"}\n'
                % (t, p[t], 10 + i // 3600, i // 60 % 60, i % 60))
with open(d + "/watches.jsonl", "w") as f:
    f.write('{"type":"watch","email":"ann@example.com","ticker":"AAA","low":95,"high":105,"telegram_id":1}\n')
    f.write('{"type":"watch","email":"bob@example.com","ticker":"AAA","high":102}\n')
    f.write('{"type":"watch","email":"ann@example.com","ticker":"BBB","low":48,"high":52,"telegram_id":1}\n')
    f.write('{"type":"watch","email":"bob@example.com","ticker":"BBB","low":49}\n')
    f.write('{"type":"watch","email":"ann@example.com","ticker":"CCC","low":9.5,"high":10.5,"telegram_id":1}\n')
    f.write('{"type":"watch","email":"bob@example.com","ticker":"CCC","low":9,"high":11}\n')
PY
head -n 170 "$T/quotes.jsonl" > "$T/part1.jsonl"
tail -n +171 "$T/quotes.jsonl" > "$T/part2.jsonl"

# The reference: one run over everything.
stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$T/expected.jsonl"
n_expected=$(wc -l < "$T/expected.jsonl")
check "the reference run alerts many times ($n_expected)" test "$n_expected" -ge 20
check "the reference run alerts after the restart point too" \
  test "$(stock-alert --watches "$T/watches.jsonl" -i "$T/part1.jsonl" | wc -l)" -lt "$n_expected"

seed_store() {  # seed_store DB_URL: the same watches, through stockctl
  local db=$1
  stockctl --db "$db" init > /dev/null
  stockctl --db "$db" user add ann@example.com --telegram-id 1 > /dev/null
  stockctl --db "$db" user add bob@example.com > /dev/null
  stockctl --db "$db" watch add ann@example.com AAA --low 95 --high 105 > /dev/null
  stockctl --db "$db" watch add bob@example.com AAA --high 102 > /dev/null
  stockctl --db "$db" watch add ann@example.com BBB --low 48 --high 52 > /dev/null
  stockctl --db "$db" watch add bob@example.com BBB --low 49 > /dev/null
  stockctl --db "$db" watch add ann@example.com CCC --low 9.5 --high 10.5 > /dev/null
  stockctl --db "$db" watch add bob@example.com CCC --low 9 --high 11 > /dev/null
}

has_lines() { [ "$(wc -l < "$1")" -ge "$2" ]; }  # re-evaluated by each wait_for try

# restarted LABEL ARGS...: part 1 through a fifo, SIGTERM once it is all
# read and its alerts are out, then part 2 in a new process.
restarted() {
  local label=$1; shift
  local out="$T/$label.out" fifo="$T/$label.fifo"
  rm -f "$fifo"; mkfifo "$fifo"
  : > "$out.1"
  stock-alert "$@" -i "$fifo" -o "$out.1" 2> "$T/$label.err1" &
  local pid=$!
  exec 3> "$fifo"
  cat "$T/part1.jsonl" >&3
  # Part 1's alerts are flushed once the input is idle; wait for all of them.
  local want1
  want1=$(stock-alert --watches "$T/watches.jsonl" -i "$T/part1.jsonl" | wc -l)
  wait_for "$label: part 1's $want1 alerts" 20 has_lines "$out.1" "$want1" || true
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  exec 3>&-
  expect_eq "$label: SIGTERM mid-stream exits 0" 0 "$code"
  code=0
  stock-alert "$@" -i "$T/part2.jsonl" -o "$out.2" 2> "$T/$label.err2" || code=$?
  expect_eq "$label: the second run exits 0" 0 "$code"
  cat "$out.1" "$out.2" > "$out"
  if cmp -s "$T/expected.jsonl" "$out"; then
    pass "$label: the two runs wrote exactly the alerts of one run ($n_expected)"
  else
    fail "$label: alerts differ from an uninterrupted run:"
    diff "$T/expected.jsonl" "$out" >&2 || true
  fi
}

seed_store "sqlite:$T/a.db"
restarted sqlite --db "sqlite:$T/a.db"
check "sqlite: the states are in the store's watch_states" \
  test "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM watch_states')" -ge 1
restarted state-file --watches "$T/watches.jsonl" --state "$T/alert.state"
check "state-file: the state file holds watch_state records" \
  grep -q '"type":"watch_state","email":"ann@example.com","ticker":"AAA"' "$T/alert.state"

# A crash (SIGKILL) once part 1's states are saved, then the whole stream
# replayed (as Kafka redelivers what was not committed): the quotes of part 1
# are older than the saved states or change nothing, so only part 2 alerts.
stock-alert --watches "$T/watches.jsonl" --state "$T/ref.state" -i "$T/part1.jsonl" -o "$T/ref1.jsonl"
want1=$(wc -l < "$T/ref1.jsonl")
state_names='{"inside":0,"above":1,"below":2}'
ref_states=$(jq -r --argjson s "$state_names" \
  '"\(.email) \(.ticker) \($s[.state]) \(.ts | fromdateiso8601 * 1000)"' "$T/ref.state" | sort)
check "part 1 leaves states to save" test -n "$ref_states"
file_states() { [ -s "$1" ] && jq -r --argjson s "$state_names" \
  '"\(.email) \(.ticker) \($s[.state]) \(.ts | fromdateiso8601 * 1000)"' "$1" | sort; }
db_states() { sqlite3 -separator ' ' "$1" 'SELECT email, ticker, state, ts FROM watch_states' | sort; }
states_are() { [ "$("$@")" == "$ref_states" ]; }  # states_are CMD...: CMD prints the reference states
crashed() {  # crashed LABEL STATES-CMD -- ARGS...
  local label=$1; shift
  local probe=()
  while [ "$1" != -- ]; do probe+=("$1"); shift; done
  shift
  local fifo="$T/$label.fifo"
  rm -f "$fifo"; mkfifo "$fifo"
  stock-alert "$@" -i "$fifo" -o "$T/$label.out1" 2> "$T/$label.err1" &
  local pid=$!
  exec 3> "$fifo"
  cat "$T/part1.jsonl" >&3
  wait_for "$label: part 1's states saved" 20 states_are "${probe[@]}" || true
  kill -KILL "$pid"
  wait "$pid" 2> /dev/null || true
  exec 3>&-
  expect_eq "$label: part 1's alerts were out before the crash" "$want1" "$(wc -l < "$T/$label.out1")"
  stock-alert "$@" -i "$T/quotes.jsonl" -o "$T/$label.out2" 2> "$T/$label.err2"
  if cmp -s <(tail -n +$((want1 + 1)) "$T/expected.jsonl") "$T/$label.out2"; then
    pass "$label: the replay after the crash wrote exactly part 2's alerts"
  else
    fail "$label: the replay after the crash differs from part 2's alerts:"
    diff <(tail -n +$((want1 + 1)) "$T/expected.jsonl") "$T/$label.out2" >&2 || true
  fi
}
crashed crash-state-file file_states "$T/crash.state" -- --watches "$T/watches.jsonl" --state "$T/crash.state"
seed_store "sqlite:$T/crash.db"
crashed crash-sqlite db_states "$T/crash.db" -- --db "sqlite:$T/crash.db"

# Without a place for the states, a restart repeats alerts (what the above prevents).
stock-alert --watches "$T/watches.jsonl" -i "$T/part1.jsonl" > "$T/nostate.out"
stock-alert --watches "$T/watches.jsonl" -i "$T/part2.jsonl" >> "$T/nostate.out"
check "without saved states the restart would have repeated alerts" \
  test "$(wc -l < "$T/nostate.out")" -gt "$n_expected"

if [ -n "${STOCKWATCH_TEST_PG:-}" ]; then
  # A schema of our own on the shared throwaway server.
  pg="$STOCKWATCH_TEST_PG"
  schema="alert_restart_$$"
  psql -q -X -v ON_ERROR_STOP=1 "$pg" -c "CREATE SCHEMA $schema" || fail "cannot create schema $schema"
  on_exit "psql -q -X '$pg' -c 'DROP SCHEMA IF EXISTS $schema CASCADE' > /dev/null 2>&1"
  sep='?'; [[ "$pg" == *\?* ]] && sep='&'
  pgs="${pg}${sep}options=-csearch_path%3D${schema}"
  seed_store "$pgs"
  restarted postgresql --db "$pgs"
  check "postgresql: the states are in the store's watch_states" \
    test "$(psql -qAtX "$pg" -c "SELECT count(*) FROM $schema.watch_states")" -ge 1
else
  echo "# STOCKWATCH_TEST_PG is not set: the PostgreSQL run is left to make test"
fi
finish
