#!/usr/bin/env bash
# Exit codes for what is not bad data: an unreachable database is 69 and
# names the URL with the password masked; a malformed URL is 78; bad usage is
# 64; the default database goes under $XDG_DATA_HOME.
source "$(dirname "$0")/../lib/common.sh"

rc=0; stockctl --db 'postgresql://bob:s3cret@127.0.0.1:1/stock?connect_timeout=3' user ls > "$T/out" 2> "$T/err" || rc=$?
expect_eq "unreachable PostgreSQL: exit 69" 69 "$rc"
check "names the URL, password masked" grep -qF 'stockctl: database unavailable: postgresql://bob:***@127.0.0.1:1/stock' "$T/err"
check "the password is not printed" bash -c "! grep -q s3cret '$T/err'"
rc=0; STOCKWATCH_DB='postgresql://bob@127.0.0.1:1/x?password=hunter2' stockctl user ls 2> "$T/err" || rc=$?
expect_eq "unreachable (from the environment): exit 69" 69 "$rc"
check "password parameter masked" grep -qF 'password=***' "$T/err"
check "password parameter not printed" bash -c "! grep -q hunter2 '$T/err'"

rc=0; stockctl --db "sqlite:/proc/nonexistent/dir/db.sqlite" user add a@example.com 2> "$T/err" || rc=$?
expect_eq "unopenable SQLite file: exit 69" 69 "$rc"
check "names the SQLite URL" grep -qF 'sqlite:/proc/nonexistent/dir/db.sqlite' "$T/err"
echo "not a database, just text, long enough to have a header......................................" > "$T/junk"
expect_code "a file that is not a database" 69 stockctl --db "sqlite:$T/junk" user ls

expect_code "unknown URL scheme" 78 stockctl --db "mysql://root@localhost/db" user ls
expect_code "no subcommand" 64 stockctl
expect_code "unknown flag" 64 stockctl user ls --no-such-flag
expect_code "missing argument" 64 stockctl watch add alice@example.com
expect_code "--help" 0 stockctl watch add --help

# The default database: $XDG_DATA_HOME/stockwatch/stockwatch.db, created with its directory.
unset STOCKWATCH_DB
expect_code "default database" 0 stockctl user add alice@example.com
check "created under XDG_DATA_HOME" test -s "$XDG_DATA_HOME/stockwatch/stockwatch.db"
check "init names it" grep -qxF "database ready: sqlite:$XDG_DATA_HOME/stockwatch/stockwatch.db (schema version $(sqlite3 "$XDG_DATA_HOME/stockwatch/stockwatch.db" 'SELECT max(version) FROM schema_version'))" <(stockctl init)
# The config file's db key is used when no flag or env says otherwise.
mkdir -p "$XDG_CONFIG_HOME/stockwatch"
echo "db = \"sqlite:$T/from-config.db\"" > "$XDG_CONFIG_HOME/stockwatch/config.toml"
expect_code "db from the config file" 0 stockctl user add bob@example.com
check "config db used" test -s "$T/from-config.db"
finish
