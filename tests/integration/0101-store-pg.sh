#!/usr/bin/env bash
# The store's unit tests (tests/unit/store_test.cc, every "Store: ..." case)
# against PostgreSQL as well as SQLite. Fails, never skips, without
# STOCKWATCH_TEST_PG.
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_PG

assertions() { sed -n 's/.*assertions: *\([0-9]*\) |.*/\1/p' "$1"; }

rc=0; "$SW_BIN/unit_tests" -tc='Store*' > "$T/both.log" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat "$T/both.log" >&2; fi
expect_eq "Store* on SQLite and PostgreSQL" 0 "$rc"
# The PostgreSQL half really ran: more assertions than SQLite alone.
rc=0; env -u STOCKWATCH_TEST_PG "$SW_BIN/unit_tests" -tc='Store*' > "$T/sqlite.log" 2>&1 || rc=$?
expect_eq "Store* on SQLite alone" 0 "$rc"
both=$(assertions "$T/both.log"); alone=$(assertions "$T/sqlite.log")
check "PostgreSQL cases ran ($both assertions vs $alone on SQLite alone)" test "${both:-0}" -gt "$(( ${alone:-0} + 100 ))"
finish
