#!/usr/bin/env bash
# A PostgreSQL server that accepts the connection and never answers: the
# connection attempt gives up after connect_timeout (5 s unless the URL says
# otherwise) with exit 69 naming the host, and SIGTERM ends a program at once
# while it connects, or once --stop-timeout has passed while a statement waits.
source "$(dirname "$0")/../lib/common.sh"

# start_silent MODE: a silent server on 127.0.0.1; sets PORT and LOG.
start_silent() {
  local dir="$T/$1"
  mkdir -p "$dir"
  LOG="$dir/log"
  : > "$LOG"
  $PY "$SW_SRC/tests/services/silent_pg.py" --mode "$1" --port-file "$dir/port" --log "$LOG" 2> "$dir/err" &
  on_exit "kill $!"
  wait_for "the silent server ($1)" 20 test -s "$dir/port"
  PORT=$(cat "$dir/port")
}
# ended PID: true once the process is gone.

start_silent accept
db="postgresql://sw@127.0.0.1:$PORT/stock"

# An explicit connect_timeout. `timeout` only keeps a hang from hanging the test.
rc=0; timeout -s KILL 60 stockctl --db "$db?connect_timeout=2" user ls > "$T/out" 2> "$T/err" || rc=$?
expect_eq "no answer within connect_timeout: exit 69" 69 "$rc"
check "names the URL" grep -qF "stockctl: database unavailable: $db?connect_timeout=2" "$T/err"
check "says which server did not answer, and the setting" grep -qF "no answer from 127.0.0.1:$PORT within 2 s (connect_timeout)" "$T/err"

# No connect_timeout in the URL: the default bounds the wait all the same.
rc=0; timeout -s KILL 60 stockctl --db "$db" user ls 2> "$T/err" || rc=$?
expect_eq "no connect_timeout in the URL: exit 69 all the same" 69 "$rc"
check "the default connect_timeout (5 s)" grep -qF "within 5 s (connect_timeout)" "$T/err"

# SIGTERM while connecting (connect_timeout=0: no limit of its own) ends it at once.
: > "$LOG"
stockctl --db "$db?connect_timeout=0" user ls 2> "$T/err" &
pid=$!
wait_for "the connection attempt" 20 grep -q accepted "$LOG"
kill -TERM "$pid"
if wait_for "stockctl to stop after SIGTERM while connecting" 30 ended "$pid"; then
  rc=0; wait "$pid" || rc=$?
  expect_eq "SIGTERM while connecting: exit 143" 143 "$rc"
  check "says it was stopped while connecting" grep -qF "stockctl: stopped by SIGTERM while connecting to $db?connect_timeout=0" "$T/err"
else
  kill -KILL "$pid"
fi

# A server that logs us in and then never answers a statement: the first
# SIGTERM ends it once --stop-timeout has passed.
start_silent login
db="postgresql://sw@127.0.0.1:$PORT/stock?sslmode=disable"
stockctl --db "$db" --stop-timeout 1s user ls 2> "$T/err" &
pid=$!
wait_for "the first statement" 20 grep -q query "$LOG"
kill -TERM "$pid"
if wait_for "stockctl to stop after SIGTERM while a statement waits" 30 ended "$pid"; then
  rc=0; wait "$pid" || rc=$?
  expect_eq "SIGTERM while a statement waits: exit 143" 143 "$rc"
  check "says it was stopped while waiting for the database" grep -qF "stockctl: stopped by SIGTERM while waiting for $db" "$T/err"
else
  kill -KILL "$pid"
fi

expect_code "--stop-timeout must be a duration" 64 stockctl --stop-timeout soon user ls
finish
