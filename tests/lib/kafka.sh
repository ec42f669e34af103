# shellcheck shell=bash
# Helpers for the tests over Kafka (the mock cluster of
# tests/services/with-services.sh): sources the harness, common.sh, then
# checks that a cluster and sw_cat are there. Source it instead of common.sh.
# shellcheck disable=SC2034  # variables used by the sourcing tests
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SW_CAT=$SW_BIN/sw_cat

# Fails (not skips) without a cluster: `make test` always provides one.
require_brokers() {
  if [ -z "${STOCKWATCH_TEST_BROKERS:-}" ]; then
    die "STOCKWATCH_TEST_BROKERS is not set (run through tests/services/with-services.sh, as make test does)"
  fi
  BROKERS=$STOCKWATCH_TEST_BROKERS
  [ -x "$SW_CAT" ] || die "$SW_CAT is not built"
}

# kill_on_exit PID: a background process is killed (SIGKILL) when the test ends.
kill_on_exit() { on_exit "kill -9 $1 2>/dev/null"; }

# A topic and group name no earlier run used (the cluster outlives tests).
unique_name() { echo "sw-test-$TEST_NAME-$1-$(date +%s%N)-$$-$RANDOM"; }

# Consumer settings the mock cluster needs: a short session so a killed
# member leaves the group quickly.
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
