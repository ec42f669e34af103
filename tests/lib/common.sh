# Shared helpers for the shell tests (source it). Every test runs in its own
# temp dir that is removed on exit.
set -euo pipefail
: "${SW_BIN:?SW_BIN must point at the bin directory of a build}"
: "${SW_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PATH="$SW_BIN:$PATH"
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/sw-test.XXXXXX")
_cleanups=()
cleanup() { local c; for c in "${_cleanups[@]}"; do eval "$c" || true; done; rm -rf "$T"; }
trap cleanup EXIT
on_exit() { _cleanups+=("$1"); }
export STOCKWATCH_DB="sqlite:$T/test.db"
export XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
unset STOCKWATCH_CONFIG STOCKWATCH_BROKERS STOCKWATCH_REQUEST_ID

fails=0
pass() { echo "ok - $*"; }
fail() { echo "FAIL - $*" >&2; fails=$((fails + 1)); }
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
    if [ -z "${!v:-}" ]; then echo "FAIL - $v is not set: run through 'make test'" >&2; exit 1; fi
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
# ended PID: true once the process is gone (for wait_for).
ended() { ! kill -0 "$1" 2>/dev/null; }
finish() {
  if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
