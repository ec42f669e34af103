#!/usr/bin/env bash
# with-services.sh: runs a command next to a mock Kafka cluster (3 brokers)
# and a throwaway PostgreSQL server, then stops both.
#
#   with-services.sh [--mock-kafka PATH] CMD [ARGS...]
#
# CMD sees STOCKWATCH_TEST_BROKERS (the cluster's bootstrap servers) and
# STOCKWATCH_TEST_PG (a postgresql:// URL). The exit status is CMD's (130
# after Ctrl-C). mock_kafka is taken from --mock-kafka, else $SW_BIN, else
# build/bin of this checkout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mock=""
if [ "${1:-}" = --mock-kafka ]; then
  [ $# -ge 2 ] || { echo "with-services.sh: --mock-kafka needs a path" >&2; exit 64; }
  mock=$2
  shift 2
fi
[ $# -ge 1 ] || { echo "usage: with-services.sh [--mock-kafka PATH] CMD [ARGS...]" >&2; exit 64; }
if [ -z "$mock" ]; then
  mock=${SW_BIN:-$here/../../build/bin}/mock_kafka
fi
[ -x "$mock" ] || { echo "with-services.sh: $mock: not built (cmake --build build --target mock_kafka)" >&2; exit 69; }

work=$(mktemp -d /tmp/sw-services.XXXXXX)
# Its own top-level directory: the postgres user must be able to reach it.
pgdir=$(mktemp -d /tmp/sw-pg.XXXXXX)
mock_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$mock_pid" ]; then
    kill -TERM "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  if [ -e "$pgdir/.stockwatch-test-pg" ]; then
    "$here/pg.sh" stop "$pgdir" || true
  else
    rmdir "$pgdir" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$mock" --brokers 3 --die-with-parent --bootstrap-file "$work/bootstrap" 2>"$work/mock_kafka.log" &
mock_pid=$!
for _ in $(seq 100); do
  [ -s "$work/bootstrap" ] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then
    cat "$work/mock_kafka.log" >&2
    echo "with-services.sh: mock_kafka exited early" >&2
    exit 69
  fi
  sleep 0.1
done
[ -s "$work/bootstrap" ] || { echo "with-services.sh: mock_kafka did not start in 10 s" >&2; exit 69; }

pg_url=$("$here/pg.sh" start "$pgdir") || { echo "with-services.sh: PostgreSQL did not start" >&2; exit 69; }

STOCKWATCH_TEST_BROKERS=$(cat "$work/bootstrap")
STOCKWATCH_TEST_PG=$pg_url
export STOCKWATCH_TEST_BROKERS STOCKWATCH_TEST_PG
echo "with-services.sh: kafka at $STOCKWATCH_TEST_BROKERS, postgresql at $STOCKWATCH_TEST_PG" >&2

# Not exec: the EXIT trap must run afterwards. In the foreground, so CMD
# gets Ctrl-C from the terminal itself (a background job would have SIGINT
# ignored); our INT trap then runs once CMD has exited.
set +e
"$@"
rc=$?
set -e
exit "$rc"
