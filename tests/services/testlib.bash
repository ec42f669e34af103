# Helpers for the Kafka integration tests (tests/integration/000[1-3]-*.sh).
# Source it after `set -euo pipefail`. Not a test itself (the integration
# glob only takes *.sh).
# shellcheck disable=SC2034  # variables used by the sourcing tests

SW_BIN=${SW_BIN:-$(dirname "${BASH_SOURCE[0]}")/../../build/bin}
SW_CAT=$SW_BIN/sw_cat
TEST_NAME=$(basename "$0" .sh)

fail() {
  echo "FAIL: $TEST_NAME: $*" >&2
  exit 1
}

step() { echo "== $TEST_NAME: $*"; }

# Fails (not skips) without a cluster: `make test` always provides one.
require_brokers() {
  if [ -z "${STOCKWATCH_TEST_BROKERS:-}" ]; then
    fail "STOCKWATCH_TEST_BROKERS is not set (run through tests/services/with-services.sh, as make test does)"
  fi
  BROKERS=$STOCKWATCH_TEST_BROKERS
  [ -x "$SW_CAT" ] || fail "$SW_CAT is not built"
}

# A temp dir removed on exit, and background processes killed on exit.
BG_PIDS=()
setup_tmp() {
  TMP=$(mktemp -d "/tmp/sw-$TEST_NAME.XXXXXX")
  trap cleanup EXIT
}
cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}

# A topic and group name no earlier run used (the cluster outlives tests).
unique_name() { echo "sw-test-$TEST_NAME-$1-$(date +%s%N)-$$-$RANDOM"; }

# Consumer settings the mock cluster needs (INFRA.md): a short session so a
# killed member leaves the group quickly.
GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

# gen_quotes N FILE: N distinct quote records over 97 tickers; "volume" is a
# running sequence number, so the order within a ticker can be checked.
gen_quotes() {
  awk -v n="$1" 'BEGIN {
    for (i = 1; i <= n; i++) {
      printf "{\"type\":\"quote\",\"ticker\":\"T%02d\",\"price\":%d.%02d,\"currency\":\"USD\",", i % 97, 100 + i % 900, i % 100
      printf "\"ts\":\"2026-11-27T%02d:%02d:%02dZ\",\"source\":\"test\",\"volume\":%d}\n", int(i / 3600) % 24, int(i / 60) % 60, i % 60, i
    }
  }' >"$2"
}

# check_key_order FILE: within every ticker, "volume" must increase.
check_key_order() {
  awk '{
    if (!match($0, /"ticker":"[^"]*"/)) { print "no ticker: " $0; bad = 1; exit 1 }
    t = substr($0, RSTART + 10, RLENGTH - 11)
    if (!match($0, /"volume":[0-9]+/)) { print "no volume: " $0; bad = 1; exit 1 }
    v = substr($0, RSTART + 9, RLENGTH - 9) + 0
    if (t in last && v <= last[t]) { printf "ticker %s: volume %d after %d\n", t, v, last[t]; bad = 1; exit 1 }
    last[t] = v
  } END { exit bad }' "$1"
}

# same_lines A B: A and B hold the same lines, as multisets.
same_lines() {
  if ! diff <(LC_ALL=C sort "$1") <(LC_ALL=C sort "$2") >"$TMP/diff.txt"; then
    echo "--- first differences (< $1, > $2):" >&2
    head -n 10 "$TMP/diff.txt" >&2
    return 1
  fi
}

# wait_lines FILE N PID: waits (60 s at most) until FILE has more than N lines.
wait_lines() {
  for _ in $(seq 600); do
    if [ -f "$1" ] && [ "$(wc -l <"$1")" -gt "$2" ]; then return 0; fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
