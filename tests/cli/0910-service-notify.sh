#!/usr/bin/env bash
# Running under systemd: the notify protocol (READY=1, WATCHDOG=1, STATUS=,
# STOPPING=1 on SIGTERM) against a fake NOTIFY_SOCKET, and priorities on
# each diagnostic line when stderr is the journal (JOURNAL_STREAM).
source "$(dirname "$0")/../lib/common.sh"
listen="$SW_SRC/tests/lib/notify_listen.py"

# in_order FILE PATTERN...: each pattern matches a line after the previous match.
in_order() {
  local file=$1; shift
  $PY - "$file" "$@" <<'PYEOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
i = 0
for pat in sys.argv[2:]:
    while i < len(lines) and not re.fullmatch(pat, lines[i]):
        i += 1
    if i == len(lines):
        sys.exit("no %r after the previous match in %r" % (pat, lines))
    i += 1
PYEOF
}

# watchdogs_after FILE REGEX: how many WATCHDOG=1 came more than 1 s after
# the first message matching REGEX in FILE (notify_listen.py --times
# lines); "missing" when no message matches.
watchdogs_after() {
  awk -v re="$2" '{ t = $1; m = substr($0, index($0, " ") + 1) }
    t0 == "" && m ~ re { t0 = t }
    m == "WATCHDOG=1" && t0 != "" && t > t0 + 1.0 { n++ }
    END { print t0 == "" ? "missing" : n + 0 }' "$1"
}

cat > "$T/watches.jsonl" <<'W'
{"type":"watch","email":"a@example.com","ticker":"AAPL","low":150,"high":200}
W
cat > "$T/quotes.jsonl" <<'Q'
{"type":"quote","ticker":"AAPL","price":170,"ts":"2026-11-27T14:30:00Z"}
{"type":"quote","ticker":"AAPL","price":210,"ts":"2026-11-27T14:31:00Z"}
Q

# stock-alert on a pipe that stays open: ready at once, the watchdog fed
# while it waits for input, a status line with the alert it emitted.
$PY "$listen" --stdin "$T/quotes.jsonl" --term-after-status "1 alerts" -- \
  stock-alert --watches "$T/watches.jsonl" -o "$T/alerts.jsonl" > "$T/alert.notify" 2> "$T/alert.err"
check "stock-alert: READY, WATCHDOG, STOPPING in order, exit 0" \
  in_order "$T/alert.notify" 'READY=1' 'WATCHDOG=1' 'STOPPING=1' 'exit 0'
check "stock-alert: after READY, a status line with the quote rate and the alert" \
  in_order "$T/alert.notify" 'READY=1' 'STATUS=[0-9.]+ quotes/s, 1 alerts' 'STOPPING=1'
check "stock-alert: nothing but the watchdog before READY" \
  bash -c '! sed "/^READY=1$/,\$d" "$1" | grep -qv "^WATCHDOG=1$"' _ "$T/alert.notify"
expect_eq "stock-alert: the alert was written" 1 "$(grep -c '"type":"alert"' "$T/alerts.jsonl")"

# stock-collect as a service (--every): ready once the output is open.
$PY "$listen" -- stock-collect --source sim --tickers AAPL --every 100ms --no-store \
  -o "$T/quotes.out" > "$T/collect.notify" 2> "$T/collect.err"
check "stock-collect --every: READY, WATCHDOG, STOPPING in order, exit 0" \
  in_order "$T/collect.notify" 'READY=1' 'WATCHDOG=1' 'STOPPING=1' 'exit 0'
check "stock-collect: a status line with its quote rate" grep -q '^STATUS=.*quotes/s' "$T/collect.notify"

# The watchdog stops when the main loop makes no progress: a collector
# stuck in a cycle (a source that never answers, a long timeout) is not fed.
$PY - > "$T/port" <<'PYEOF' &
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
end = time.time() + 20
while time.time() < end:
    s.settimeout(1)
    try:
        conns.append(s.accept()[0])   # accept, never answer
    except OSError:
        pass
PYEOF
silent=$!
on_exit "kill $silent"
wait_for "the silent server" 10 test -s "$T/port"
$PY "$listen" --for 3.5 --times -- stock-collect --source yahoo \
  --source-url "http://127.0.0.1:$(cat "$T/port")" --tickers AAPL --every 1s --timeout 5s \
  --no-store -o /dev/null > "$T/stuck.notify" 2> /dev/null
n=$(watchdogs_after "$T/stuck.notify" '^READY=1$')
{ [ "$n" = missing ] && echo "not ready" || echo ready; echo "late watchdogs: ${n/missing/0}"; } > "$T/stuck.out"
expect_eq "a collector stuck in a request is ready but no longer feeds the watchdog" \
  "ready
late watchdogs: 0" "$(cat "$T/stuck.out")"

# stock-alert idle on a pipe after a burst (its checkpoint came from the
# wait itself): the watchdog stays fed for as long as it waits.
$PY "$listen" --stdin "$T/quotes.jsonl" --for 3 --times -- \
  stock-alert --watches "$T/watches.jsonl" -o /dev/null > "$T/idle.notify" 2> /dev/null
n=$(watchdogs_after "$T/idle.notify" '^STATUS=.*1 alerts')
{ [ "$n" = missing ] && echo "no status" || echo status
  echo "watchdogs while idle: $([ "$n" != missing ] && [ "$n" -ge 3 ] && echo some || echo "${n/missing/0}")"
} > "$T/idle.out"
expect_eq "stock-alert idle on a pipe after a burst keeps feeding the watchdog" \
  "status
watchdogs while idle: some" "$(cat "$T/idle.out")"

# journald: with stderr on the journal's stream, every line has a priority.
jrun() {  # jrun OUTFILE ARGS...: stderr to OUTFILE, JOURNAL_STREAM naming it
  local out=$1; shift
  : > "$out"
  JOURNAL_STREAM="$(stat -c '%d:%i' "$out")" "$@" 2>> "$out"
}
printf '%s\n' '{"type":"quote","ticker":"AAPL","price":170,"ts":"2026-11-27T14:30:00Z"}' 'not json' \
  > "$T/bad.jsonl"
code=0
jrun "$T/j1.err" stock-alert -v --watches "$T/watches.jsonl" -i "$T/bad.jsonl" -o /dev/null \
  --dead-letter "$T/dl.jsonl" || code=$?
expect_eq "journal: stock-alert with a bad line exits 0" 0 "$code"
check "journal: the bad line is a warning (<4>)" grep -q '^<4>stock-alert: .*bad.jsonl:2: ' "$T/j1.err"
check "journal: -v information is <6>" grep -q '^<6>stock-alert: .*watch(es) on 1 ticker' "$T/j1.err"
check "journal: every line has a priority" bash -c '! grep -qv "^<[3-7]>stock-alert: " "$1"' _ "$T/j1.err"
code=0
jrun "$T/j2.err" stock-alert --watches "$T/missing.jsonl" -o /dev/null < /dev/null || code=$?
expect_eq "journal: a missing watches file exits 66" 66 "$code"
check "journal: the fatal error is <3>" grep -q '^<3>stock-alert: .*missing.jsonl' "$T/j2.err"
# JOURNAL_STREAM inherited while stderr went elsewhere: plain lines.
: > "$T/other"
code=0
JOURNAL_STREAM="$(stat -c '%d:%i' "$T/other")" stock-alert --watches "$T/missing.jsonl" \
  -o /dev/null < /dev/null 2> "$T/j3.err" || code=$?
check "not the journal: no priority prefix" grep -q '^stock-alert: .*missing.jsonl' "$T/j3.err"
finish
