# shellcheck shell=bash disable=SC2034  # variables used by the sourcing tests
# The shell test harness (source it): every test under tests/cli and
# tests/integration runs in its own temp dir $T, removed on exit. Two ways to
# fail: `fail` (and check, expect_eq, ...) counts a failed check and goes on,
# `finish` reports them at the end; `die` stops the test at once, for a step
# the rest depends on. tests/lib/kafka.sh adds the Kafka helpers.
set -euo pipefail
: "${SW_BIN:?SW_BIN must point at the bin directory of a build}"
: "${SW_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PATH="$SW_BIN:$PATH"
PY=/usr/bin/python3
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/sw-test.XXXXXX")
_cleanups=()
_keep_tmp=0
# On exit: the on_exit commands in order (they see the exit status as
# $exit_status), then $T is removed (unless keep_tmp was called).
cleanup() {
  exit_status=$?
  local c
  for c in "${_cleanups[@]}"; do eval "$c" || true; done
  if [ "$_keep_tmp" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
on_exit() { _cleanups+=("$1"); }
# keep_tmp: leave $T in place at exit (for a look at a failed run).
keep_tmp() { _keep_tmp=1; }
export STOCKWATCH_DB="sqlite:$T/test.db"
export XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
unset STOCKWATCH_CONFIG STOCKWATCH_BROKERS STOCKWATCH_REQUEST_ID

fails=0
pass() { echo "ok - $*"; }
fail() { echo "FAIL - $*" >&2; fails=$((fails + 1)); }
# die MESSAGE: fails the test and stops it now.
die() { echo "FAIL - $TEST_NAME: $*" >&2; exit 1; }
# step MESSAGE: says what the test does next.
step() { echo "== $TEST_NAME: $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# expect_code DESCRIPTION CODE COMMAND...: runs COMMAND, compares its exit code.
expect_code() {
  local d=$1 want=$2; shift 2
  local got=0; "$@" || got=$?
  expect_eq "$d (exit code)" "$want" "$got"
}
require_env() {
  local v
  for v in "$@"; do
    if [ -z "${!v:-}" ]; then die "$v is not set: run through 'make test'"; fi
  done
}
# wait_for DESCRIPTION SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local d=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@"; do
    if [ $SECONDS -ge $end ]; then fail "timed out waiting for $d"; return 1; fi
    sleep 0.1
  done
}
# term_while_reading FIFO LINE COMMAND...: runs COMMAND (stdout to $T/out,
# stderr to $T/err), which reads the new FIFO, writes LINE into it, and sends
# SIGTERM once COMMAND waits for more; sets rc to COMMAND's exit code.
term_while_reading() {
  local fifo=$1 line=$2; shift 2
  mkfifo "$fifo"
  "$@" > "$T/out" 2> "$T/err" &
  local pid=$!
  on_exit "kill $pid 2>/dev/null"
  exec 3> "$fifo"
  echo "$line" >&3
  wait_for "$1 to wait for input" 30 grep -q pipe_read "/proc/$pid/wchan"
  kill -TERM "$pid"
  rc=0; wait "$pid" || rc=$?
  exec 3>&-
}
# ended PID: true once the process is gone (for wait_for).
ended() { ! kill -0 "$1" 2>/dev/null; }
# wait_lines FILE N PID: waits (60 s at most) until FILE has more than N
# lines; false at once if PID ends first.
wait_lines() {
  for _ in $(seq 600); do
    if [ -f "$1" ] && [ "$(wc -l <"$1")" -gt "$2" ]; then return 0; fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# same_lines A B: A and B hold the same lines, as multisets (else the first
# differences on stderr).
same_lines() {
  if ! diff <(LC_ALL=C sort "$1") <(LC_ALL=C sort "$2") >"$T/diff.txt"; then
    echo "--- first differences (< $1, > $2):" >&2
    head -n 10 "$T/diff.txt" >&2
    return 1
  fi
}
finish() {
  if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
