#!/usr/bin/env bash
# --db-retry: stock-alert keeps running through a PostgreSQL restart (its
# own throwaway server, stopped as a crash would stop it and started again
# a second later) and neither loses nor repeats an alert: the checkpoint
# that finds the database gone waits for it and saves the edge states then.
# With --db-retry 0 the same outage ends it with exit 69.
source "$(dirname "$0")/../lib/common.sh"
PGSH=$SW_SRC/tests/services/pg.sh
pgdir=$(mktemp -d /tmp/sw-pg-restart.XXXXXX)
on_exit "'$PGSH' stop '$pgdir'"
url=$("$PGSH" start "$pgdir") || { fail "PostgreSQL did not start"; finish; }

stockctl --db "$url" user add a@example.com >/dev/null
stockctl --db "$url" watch add a@example.com AAPL --high 200 >/dev/null
quote() { printf '{"type":"quote","ticker":"AAPL","price":%s,"ts":"2026-01-02T10:00:0%sZ"}\n' "$1" "$2"; }
# Without --db-retry stock-alert is gone before the last quotes: writing them
# must fail quietly, not kill the test.
trap '' PIPE
send() { quote "$@" >&3 2>/dev/null || true; }
lines() { [ -s "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

run_through_restart() {  # NAME DB_RETRY: quotes 1, restart, quotes 2 and 3
  local name=$1 retry=$2
  mkfifo "$T/$name.in"
  stock-alert -v --db "$url" --db-retry "$retry" -i "$T/$name.in" -o "$T/$name.out" \
    2>"$T/$name.err" &
  pid=$!
  exec 3>"$T/$name.in"
  quote 210 1 >&3  # above: alert 1
  wait_for "$name: the first alert" 30 has_lines "$T/$name.out" 1
  "$PGSH" restart "$pgdir" 1 3>&- &  # the server must not hold the input open
  restarter=$!
  sleep 0.3  # the server is down now
  send 150 2  # back inside: re-armed, a state to save while the server is down
  sleep 0.3
  send 220 3  # above again: alert 2
  wait "$restarter" || fail "$name: the server did not start again"
}

run_through_restart retry 30s
wait_for "retry: the second alert" 60 has_lines "$T/retry.out" 2
check "retry: stock-alert still runs after the restart" kill -0 "$pid"
exec 3>&-
rc=0; wait "$pid" || rc=$?
expect_eq "retry: exit status at the end of input" 0 "$rc"
expect_eq "retry: alerts (one per crossing, none repeated)" 2 "$(lines "$T/retry.out")"
expect_eq "retry: conditions" "above above" "$(sed -n 's/.*"condition":"\([a-z]*\)".*/\1/p' "$T/retry.out" | xargs)"
check "retry: it said it was waiting for the database" grep -q "db-retry" "$T/retry.err"
# The states were saved once the server was back: a restart over the same
# quotes repeats nothing.
stock-alert --db "$url" -o "$T/again.out" < <(quote 220 3) 2>"$T/again.err" || fail "rerun failed: $(cat "$T/again.err")"
expect_eq "retry: the saved state (above) holds across a restart" 0 "$(lines "$T/again.out")"

rm -f "$T/noretry.out"
stockctl --db "$url" watch set a@example.com AAPL --high 201 >/dev/null  # re-arm
run_through_restart noretry 0
rc=0; wait "$pid" || rc=$?
exec 3>&-
expect_eq "no retry: the outage ends stock-alert" 69 "$rc"
finish
