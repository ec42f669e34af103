#!/usr/bin/env bash
# The stockctl CLI tests (users and watches, at-most-once with 8 racing
# processes, quotes, import/export, injection-shaped values, dead letters in
# stockctl status, percent-move watches; stock-alert's move states and
# windows across restarts) against
# PostgreSQL: each runs in a schema of its own on the STOCKWATCH_TEST_PG server.
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_PG

sep='?'; [[ "$STOCKWATCH_TEST_PG" == *\?* ]] && sep='&'
for script in 0101-stockctl-users-watches 0102-stockctl-at-most-once 0103-stockctl-quotes \
              0104-stockctl-import-export 0105-stockctl-injection \
              0113-stockctl-status-dead-letters 0114-stockctl-move-watches \
              0311-alert-move-restart; do
  schema="sw_$(echo "$script" | tr -c 'a-z0-9\n' '_')_$$"
  psql -q -X -v ON_ERROR_STOP=1 "$STOCKWATCH_TEST_PG" -c "CREATE SCHEMA $schema" ||
    { fail "$script: cannot create schema $schema"; continue; }
  on_exit "psql -q -X '$STOCKWATCH_TEST_PG' -c 'DROP SCHEMA IF EXISTS $schema CASCADE' >/dev/null 2>&1"
  url="$STOCKWATCH_TEST_PG${sep}options=-csearch_path%3D$schema"
  rc=0
  SW_STOCKCTL_DB="$url" bash "$SW_SRC/tests/cli/$script.sh" > "$T/$script.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then grep -E '^FAIL' "$T/$script.log" >&2 || tail -20 "$T/$script.log" >&2; fi
  expect_eq "$script on PostgreSQL" 0 "$rc"
  # It really used PostgreSQL: the schema has the tables and rows.
  n=$(psql -qAtX "$STOCKWATCH_TEST_PG" -c "SELECT count(*) FROM $schema.schema_version")
  expect_eq "$script wrote to schema $schema" 1 "$n"
done
finish
