#!/usr/bin/env bash
# SQLite paths: a query (user ls, watch ls, quote last, export, status, ...)
# opens the store read-only and creates nothing; a command creates it.
# Permission problems exit 77 naming the file, a missing store on a query 66.
# Files here are made by root and read by an unprivileged user (nobody).
source "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" != 0 ] || ! id nobody > /dev/null 2>&1; then
  echo "FAIL - this test runs as root (it makes files another user then reads)" >&2
  exit 1
fi
chmod 755 "$T"  # nobody may reach what is below
# nobody runs its own copy: the build may sit below a directory only root
# may enter (a clone in /root, or a private temporary directory).
mkdir -m 755 "$T/bin"
install -m 755 "$SW_BIN/stockctl" "$T/bin/stockctl"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
ctl_nobody() { as_nobody env HOME="$T/nobody-home" "$T/bin/stockctl" "$@"; }

# A query on a store that does not exist: 66, nothing created.
expect_code "query on a missing store" 66 \
  stockctl --db "sqlite:$T/nonexistent/dir/x.db" user ls 2> "$T/err"
check "it says there is no store, naming the path" \
  grep -q "no store at $T/nonexistent/dir/x.db" "$T/err"
check "nothing was created" test ! -e "$T/nonexistent"
for q in "watch ls" "quote last AAA" "export" "status"; do
  # shellcheck disable=SC2086
  expect_code "$q on a missing store" 66 stockctl --db "sqlite:$T/none.db" $q 2> /dev/null
done
check "no file was created by the queries" test ! -e "$T/none.db"
# A command creates it (0700 directory, 0600 file).
stockctl --db "sqlite:$T/nonexistent/dir/x.db" user add ann@example.com > /dev/null
expect_eq "a command creates the directory 0700" 700 "$(stat -c %a "$T/nonexistent/dir")"
expect_eq "and the store 0600" 600 "$(stat -c %a "$T/nonexistent/dir/x.db")"
stockctl --db "sqlite:$T/nonexistent/dir/x.db" user ls > "$T/out"
check "a query then reads it" grep -q ann@example.com "$T/out"

# Another user's database, readable by all, in a directory only its owner
# may write, and that no program has open (no -wal/-shm file).
mkdir -m 755 "$T/public"
db="$T/public/s.db"
stockctl --db "sqlite:$db" user add bob@example.com > /dev/null
stockctl --db "sqlite:$db" watch add bob@example.com AAA --low 1 > /dev/null
chmod 644 "$db"
check "no -wal file once the programs ended" test ! -e "$db-wal"
expect_code "another user's readable store: user ls" 0 \
  ctl_nobody --db "sqlite:$db" user ls > "$T/out" 2> "$T/err"
check "user ls lists the users" grep -q bob@example.com "$T/out"
expect_code "watch ls" 0 ctl_nobody --db "sqlite:$db" watch ls --json > "$T/out" 2> "$T/err"
check "watch ls lists the watch" grep -q '"ticker":"AAA"' "$T/out"
check "the reader left no file behind" test "$(ls "$T/public")" == s.db
# While a program has it open (-wal and -shm exist, readable by all).
mkfifo "$T/q.fifo"
stock-alert --db "sqlite:$db" -i "$T/q.fifo" -o /dev/null 2> "$T/alert.err" &
pid=$!
on_exit "kill $pid 2>/dev/null"
exec 3> "$T/q.fifo"
echo '{"type":"quote","ticker":"AAA","price":100,"ts":"2026-11-27T10:00:00Z"}' >&3
if wait_for "the -wal and -shm files" 30 test -e "$db-wal" -a -e "$db-shm"; then
  chmod 644 "$db-wal" "$db-shm"
  expect_code "a store another program has open" 0 \
    ctl_nobody --db "sqlite:$db" user ls > "$T/out" 2> "$T/err"
  check "it is read through the -wal" grep -q bob@example.com "$T/out"
  chmod 600 "$db-shm"
  expect_code "a -shm file this user may not read" 77 \
    ctl_nobody --db "sqlite:$db" user ls 2> "$T/err"
  check "the message names the -shm file" grep -q "$db-shm: permission denied" "$T/err"
  chmod 644 "$db-shm"
fi
exec 3>&-
wait "$pid" || fail "stock-alert on the store: exit $? ($(cat "$T/alert.err"))"
# A command on it is a permission problem.
expect_code "a command on another user's store" 77 \
  ctl_nobody --db "sqlite:$db" user add eve@example.com 2> "$T/err"
check "the message names the store" grep -q "$db" "$T/err"

# A 0600 store of another user: 77 naming it (not 69 "unable to open").
chmod 600 "$db"
expect_code "another user's private store (query)" 77 \
  ctl_nobody --db "sqlite:$db" user ls 2> "$T/err"
check "the message names the file" grep -q "$db: permission denied" "$T/err"
expect_code "another user's private store (command)" 77 \
  ctl_nobody --db "sqlite:$db" user add eve@example.com 2> "$T/err"
check "the message names the file" grep -q "$db: permission denied" "$T/err"
# A directory this user may not enter.
chmod 700 "$T/public"
expect_code "a store in a directory this user may not enter" 77 \
  ctl_nobody --db "sqlite:$db" user ls 2> "$T/err"
check "the message names the path" grep -q "$db" "$T/err"
chmod 755 "$T/public"
chmod 644 "$db"

# An older schema that this user may not upgrade: 77 with what to do.
old="$T/public/old.db"
current=$(stockctl --db "sqlite:$old" --json init | jq .schema_version)
sqlite3 "$old" "UPDATE schema_version SET version = 2; ALTER TABLE outbox DROP COLUMN first_try; ALTER TABLE outbox DROP COLUMN attempts;
  DROP TABLE dead_letters; DROP TABLE deliveries;
  CREATE TABLE deliveries(alert_id TEXT NOT NULL, channel TEXT NOT NULL, email TEXT,
    ts INTEGER NOT NULL, PRIMARY KEY(alert_id, channel)) WITHOUT ROWID;
  CREATE INDEX deliveries_by_email ON deliveries(email);
  ALTER TABLE watches DROP COLUMN move; ALTER TABLE watches DROP COLUMN within_s;
  ALTER TABLE watches DROP COLUMN direction; ALTER TABLE watch_states DROP COLUMN move;
  ALTER TABLE watch_states DROP COLUMN move_ref; DROP TABLE move_windows;"
chmod 644 "$old"
expect_code "an older schema, read-only for this user" 77 \
  ctl_nobody --db "sqlite:$old" user ls 2> "$T/err"
check "the message says to upgrade it as its owner" grep -q "stockctl init as its owner" "$T/err"
# Its owner's query upgrades it.
expect_code "an older schema, for its owner" 0 stockctl --db "sqlite:$old" user ls > /dev/null
expect_eq "the owner's query upgraded it" "$current" "$(sqlite3 "$old" 'SELECT version FROM schema_version')"

finish
